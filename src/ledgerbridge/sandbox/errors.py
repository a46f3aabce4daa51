"""Errors shaped exactly as Xero sends them (XERO_API_NOTES sections 1.3, 1.10, 3.9).

Handlers raise these; ``install_error_handlers`` renders them. API families should raise
them too rather than build responses by hand, so every 401, 403, 404, 429, 500 and 503 has
one shape across the sandbox.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

__all__ = [
    "NOT_FOUND_TEXT",
    "OAuthError",
    "XeroApiException",
    "XeroProblem",
    "XeroTextError",
    "forbidden",
    "install_error_handlers",
    "not_found",
    "unauthorized",
]

JSON_TYPE = "application/json; charset=utf-8"
NOT_FOUND_TEXT = "The resource you're looking for cannot be found"


class XeroProblem(Exception):
    """Xero's problem-details body, used for 401, 403 and 429:
    ``{"Type":null,"Title":"Forbidden","Status":403,"Detail":"...","Instance":"<uuid>",
    "Extensions":{}}``."""

    def __init__(
        self, status: int, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "Type": None,
            "Title": self.title,
            "Status": self.status,
            "Detail": self.detail,
            "Instance": str(uuid.uuid4()),
            "Extensions": {},
        }


def unauthorized(detail: str = "AuthenticationUnsuccessful") -> XeroProblem:
    return XeroProblem(401, "Unauthorized", detail)


def forbidden(detail: str = "AuthenticationUnsuccessful") -> XeroProblem:
    return XeroProblem(403, "Forbidden", detail)


class XeroTextError(Exception):
    """A plain-text error body, as Xero sends for 404, 500 and 503."""

    def __init__(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(text)
        self.status, self.text = status, text
        self.headers = headers or {}


def not_found() -> XeroTextError:
    """Xero's 404 for an unknown id or route (plain text, not JSON)."""
    return XeroTextError(404, NOT_FOUND_TEXT)


class XeroApiException(Exception):
    """Xero's Accounting ``ApiException`` body (400 validation, 400 query parse...).

    ``elements`` are echoes of the failing elements, each with ``ValidationErrors``.
    """

    def __init__(
        self,
        message: str,
        *,
        error_number: int = 10,
        error_type: str = "ValidationException",
        elements: list[dict[str, Any]] | None = None,
        status: int = 400,
    ) -> None:
        super().__init__(message)
        self.message, self.error_number, self.error_type = message, error_number, error_type
        self.elements = elements or []
        self.status = status

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ErrorNumber": self.error_number,
            "Type": self.error_type,
            "Message": self.message,
        }
        if self.elements:
            body["Elements"] = self.elements
        return body


class OAuthError(Exception):
    """An RFC 6749 error from the identity endpoints: ``{"error": "invalid_grant"}``."""

    def __init__(self, error: str, description: str | None = None, status: int = 400) -> None:
        super().__init__(description or error)
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


async def _problem(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, XeroProblem)
    return JSONResponse(exc.body(), exc.status, headers=exc.headers, media_type=JSON_TYPE)


async def _text(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, XeroTextError)
    return PlainTextResponse(
        exc.text, exc.status, headers=exc.headers, media_type="text/html; charset=utf-8"
    )


async def _api_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, XeroApiException)
    return JSONResponse(exc.body(), exc.status, media_type=JSON_TYPE)


async def _oauth(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    return JSONResponse(exc.body(), exc.status, headers=headers, media_type=JSON_TYPE)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(XeroProblem, _problem)
    app.add_exception_handler(XeroTextError, _text)
    app.add_exception_handler(XeroApiException, _api_exception)
    app.add_exception_handler(OAuthError, _oauth)
