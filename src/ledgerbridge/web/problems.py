"""RFC 9457 problem JSON for every error the API returns.

Each invalid field is named in ``errors`` with a message that says how to fix it, so an
API client can attach the message to the right input.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledgerbridge.errors import FieldError, LedgerbridgeError

PROBLEM_TYPE = "application/problem+json"


def problem_response(
    status: int,
    title: str,
    detail: str,
    code: str,
    errors: list[FieldError] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://ledgerbridge.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = [e.as_dict() for e in errors]
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE)


def _field_path(loc: tuple[Any, ...]) -> str:
    """('body', 'lines', 0, 'quantity') -> 'lines[0].quantity'; query params keep their name."""
    parts = [p for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _fix_hint(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field; remove it"
    message = str(error.get("msg", "is invalid"))
    return message[0].lower() + message[1:] if message else "is invalid"


async def _validation_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [FieldError(_field_path(tuple(e["loc"])), _fix_hint(e)) for e in exc.errors()]
    detail = "; ".join(f"{e.field} {e.message}" for e in errors)
    return problem_response(422, "Invalid input", detail, "validation_failed", errors)


async def _domain_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LedgerbridgeError)
    return problem_response(exc.status, exc.title, exc.detail, exc.code, exc.errors, **exc.extra)


async def _http_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return problem_response(exc.status_code, str(exc.detail), str(exc.detail), code)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(LedgerbridgeError, _domain_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
