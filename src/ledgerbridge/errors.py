"""The one error hierarchy.

Every expected failure is a ``LedgerbridgeError`` carrying an HTTP status and a stable
``code``; the web layer renders them as RFC 9457 problem JSON and the CLI prints them.
Anything else is a bug and surfaces as a 500.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One invalid field: where it is (a JSON-pointer-like path) and how to fix it."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class LedgerbridgeError(Exception):
    """Base of every expected error."""

    detail: str
    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.errors:
            return self.detail
        fields = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
        return f"{self.detail} ({fields})"


class ValidationFailed(LedgerbridgeError):
    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail, 422, "validation_failed", "Invalid input", errors or [])


class NotFound(LedgerbridgeError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, 404, "not_found", "Not found")


class NotAuthenticated(LedgerbridgeError):
    def __init__(
        self, detail: str = "Sign in, or send an API token as 'Authorization: Bearer <token>'."
    ) -> None:
        super().__init__(detail, 401, "not_authenticated", "Not authenticated")


class PermissionDenied(LedgerbridgeError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, 403, "permission_denied", "Permission denied")


class Conflict(LedgerbridgeError):
    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail, 409, "conflict", "Conflict", errors or [])


def invalid(field_path: str, message: str) -> ValidationFailed:
    """Shorthand for the common case: one field is wrong."""
    return ValidationFailed(f"{field_path}: {message}", [FieldError(field_path, message)])


# -- Xero ---------------------------------------------------------------------------------
# What went wrong when talking to Xero, typed so that the sync engine can decide what to do
# (retry later, stop this organisation, ask for a reconnect, attach a message to a record)
# without parsing strings.


class XeroError(LedgerbridgeError):
    """Base of every failure that came from (or on the way to) Xero."""

    def __init__(self, detail: str, status: int = 502, code: str = "xero_error", **extra: Any) -> None:
        super().__init__(detail, status, code, "Xero error", [], extra)


class XeroValidationError(XeroError):
    """Xero refused the request's content (HTTP 400); ``messages`` are Xero's own words."""

    def __init__(self, messages: list[str], elements: list[dict[str, Any]] | None = None) -> None:
        detail = "; ".join(messages) or "Xero rejected the request."
        super().__init__(detail, 422, "xero_validation", messages=messages)
        self.messages = messages
        self.elements = elements or []


class XeroAuthError(XeroError):
    """The connection cannot be used until someone reconnects it (revoked, expired, removed)."""

    def __init__(self, detail: str, reason: str = "reconnect_needed") -> None:
        super().__init__(detail, 409, "xero_reconnect_needed", reason=reason)
        self.reason = reason


class XeroForbidden(XeroError):
    """Xero answered 403: a missing scope, or the organisation was disconnected on Xero's side."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, 409, "xero_forbidden")


class XeroRateLimited(XeroError):
    """A Xero limit is spent. ``limit`` is minute, day, concurrent or appminute."""

    def __init__(self, limit: str, retry_after: float, tenant_id: str | None = None) -> None:
        super().__init__(
            f"Xero's {limit} call limit is used up; it allows calls again in {retry_after:.0f} s.",
            429,
            "xero_rate_limited",
            limit=limit,
            retry_after=retry_after,
        )
        self.limit = limit
        self.retry_after = retry_after
        self.tenant_id = tenant_id


class XeroUnavailable(XeroError):
    """Xero (or the organisation) is down, or the network failed, after the retries allowed."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, 503, "xero_unavailable")


class XeroNotFound(XeroError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, 404, "xero_not_found")
