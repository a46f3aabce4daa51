"""CSRF tokens and flash messages for the pages, both signed with the service's key.

CSRF is a signed double-submit token: the browser holds a random nonce in a cookie
(``lb_csrf``, HttpOnly), and every form carries ``HMAC(key, session cookie ! nonce)``. A
POST is accepted only when its form token matches the token computed from the cookies it
came with, so another site, which can make the browser send our cookies but can neither
read them nor compute the HMAC, cannot forge a form. Binding the token to the session
cookie means a token from before sign-in is worthless after it.

The key is derived from the secret key file (``ledgerbridge.keys``) for this purpose
only, so it is never the key that seals Xero tokens, and it is never rendered.

Flash messages (one request's "Disconnected successfully") travel in a signed cookie
rather than the URL, so no link can make the page say something we did not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

from fastapi import Request, Response

from ledgerbridge.keys import load_or_create_key
from ledgerbridge.settings import Settings
from ledgerbridge.web.deps import SESSION_COOKIE

CSRF_COOKIE = "lb_csrf"
CSRF_FIELD = "csrf_token"
FLASH_COOKIE = "lb_flash"
_KEY_CONTEXT = b"ledgerbridge.web.pages v1"
_KINDS = {"success", "info", "error"}


class CsrfRefused(Exception):
    """A form POST whose CSRF token is missing or wrong; answered with 403."""


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _key(request: Request) -> bytes:
    """The pages' signing key, derived once per app from the secret key file."""
    state = request.app.state
    key: bytes | None = getattr(state, "pages_signing_key", None)
    if key is None:
        root = load_or_create_key(_settings(request).resolved_secret_key_file)
        key = hmac.new(root, _KEY_CONTEXT, hashlib.sha256).digest()
        state.pages_signing_key = key
    return key


def _sign(request: Request, purpose: str, value: str) -> str:
    mac = hmac.new(_key(request), f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=_settings(request).secure_cookies,
    )


# ------------------------------------------------------------------------------ CSRF


def _nonce(request: Request) -> str:
    """This browser's nonce: its cookie, or a new one that ``remember_nonce`` sets."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if cookie:
        return cookie
    fresh: str | None = getattr(request.state, "csrf_nonce", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.csrf_nonce = fresh
    return fresh


def _expected(request: Request, nonce: str) -> str:
    return _sign(request, "csrf", f"{request.cookies.get(SESSION_COOKIE, '')}!{nonce}")


def csrf_token(request: Request) -> str:
    """The token this page's forms carry."""
    return _expected(request, _nonce(request))


def remember_nonce(request: Request, response: Response) -> None:
    """Set the nonce cookie when this response's forms used a new one."""
    fresh = getattr(request.state, "csrf_nonce", None)
    if fresh is not None and CSRF_COOKIE not in request.cookies:
        set_cookie(request, response, CSRF_COOKIE, fresh, max_age=None)


async def require_csrf(request: Request) -> None:
    """Dependency for every page POST: refuse it unless its form token matches."""
    form = await request.form()
    submitted = form.get(CSRF_FIELD)
    nonce = request.cookies.get(CSRF_COOKIE)
    if (
        not isinstance(submitted, str)
        or not nonce
        or not hmac.compare_digest(submitted.encode(), _expected(request, nonce).encode())
    ):
        raise CsrfRefused()


# ------------------------------------------------------------------------------ flash


def flash(request: Request, response: Response, message: str, kind: str = "info") -> None:
    """Show ``message`` on the next page this browser renders."""
    payload = base64.urlsafe_b64encode(json.dumps([kind, message]).encode()).decode()
    set_cookie(request, response, FLASH_COOKIE, f"{payload}.{_sign(request, 'flash', payload)}", max_age=300)


def take_flash(request: Request) -> tuple[str, str] | None:
    """The pending message (kind, text), if its signature holds; the caller clears it."""
    cookie = request.cookies.get(FLASH_COOKIE)
    if not cookie or "." not in cookie:
        return None
    payload, _, signature = cookie.rpartition(".")
    if not hmac.compare_digest(signature.encode(), _sign(request, "flash", payload).encode()):
        return None
    try:
        kind, message = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, TypeError):
        return None
    if kind not in _KINDS or not isinstance(message, str):
        return None
    return kind, message


__all__ = [
    "CSRF_FIELD",
    "CsrfRefused",
    "csrf_token",
    "flash",
    "remember_nonce",
    "require_csrf",
    "take_flash",
]
