"""What every page shares: the templates, rendering with the layout's context (who is
signed in, the CSRF token, a flash message), the signed-in actor, and safe redirects."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.web.deps import get_actor
from ledgerbridge.web.pages._security import FLASH_COOKIE, csrf_token, flash, remember_nonce, take_flash
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import User

WEB_DIR = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
STATIC_DIR = WEB_DIR / "static"


class SignInRequired(Exception):
    """The page needs a signed-in user; answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def _when(value: datetime | None) -> str:
    """A time as a bookkeeper reads it: "2026-11-20 14:05 UTC"."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "—"


def _number(value: int | None) -> str:
    return f"{value:,}" if value is not None else "—"


templates.env.filters["when"] = _when
templates.env.filters["number"] = _number


def safe_next(target: str | None, default: str = "/integrations") -> str:
    """Only a path on this site: never another host ("//evil", "https://...", "/\\evil")."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target


def page_actor(request: Request, session: Session) -> Actor:
    """The signed-in user (session cookie), or a redirect to sign in and come back."""
    try:
        return get_actor(request, session)
    except LedgerbridgeError:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path) from None


def optional_actor(request: Request, session: Session) -> Actor | None:
    try:
        return get_actor(request, session)
    except LedgerbridgeError:
        return None


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    session: Session | None = None,
    actor: Actor | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page in the layout: the nav for ``actor``, this browser's CSRF token, and the
    pending flash message (shown once, then cleared)."""
    user = session.get(User, actor.user_id) if session is not None and actor is not None else None
    message = take_flash(request)
    response = templates.TemplateResponse(
        request,
        template,
        {
            **context,
            "actor": actor,
            "user": user,
            "csrf_token": csrf_token(request),
            "flash": message,
            "current_path": request.url.path,
        },
        status_code=status_code,
    )
    remember_nonce(request, response)
    if message is not None or FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def refusal_page(
    request: Request,
    title: str,
    detail: str,
    status_code: int,
    *,
    session: Session | None = None,
    actor: Actor | None = None,
) -> HTMLResponse:
    """The one page for anything refused or not there: what happened, what to do about it,
    and the status that says which (403, 404, ...)."""
    context = {"title": title, "detail": detail}
    return render(request, "refused.html", context, session=session, actor=actor, status_code=status_code)


def refused(request: Request, session: Session, actor: Actor, detail: str, status_code: int) -> HTMLResponse:
    """``refusal_page`` titled by its status: "Not found" (404) or "Not allowed" (403)."""
    title = {403: "Not allowed", 404: "Not found"}.get(status_code, "This page cannot be shown")
    return refusal_page(request, title, detail, status_code, session=session, actor=actor)


def redirect(request: Request, path: str, message: str | None = None, kind: str = "info") -> RedirectResponse:
    """303 to ``path`` (after a POST the browser GETs it), with a flash message."""
    response = RedirectResponse(path, status_code=303)
    if message:
        flash(request, response, message, kind)
    return response


def sign_in_url(next_path: str) -> str:
    return "/sign-in?" + urlencode({"next": next_path})


__all__ = [
    "STATIC_DIR",
    "SignInRequired",
    "optional_actor",
    "page_actor",
    "redirect",
    "render",
    "safe_next",
    "sign_in_url",
    "templates",
]
