"""Sign in and sign out, through the same rules as the API (``work.users``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse

from ledgerbridge.errors import LedgerbridgeError, NotAuthenticated
from ledgerbridge.web.deps import SESSION_COOKIE, SessionDep, SettingsDep
from ledgerbridge.web.pages._common import optional_actor, redirect, render, safe_next
from ledgerbridge.web.pages._security import require_csrf, set_cookie
from ledgerbridge.work import users as user_service

router = APIRouter(include_in_schema=False)
WRONG_CREDENTIALS = "Wrong email or password. Check both and try again."
ENTER_PASSWORD = "Enter your password."  # noqa: S105 - a message, not a password


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, session: SessionDep, next: str | None = None) -> Response:
    if optional_actor(request, session) is not None:
        return redirect(request, safe_next(next))
    return render(request, "sign_in.html", {"next": safe_next(next), "email": "", "errors": {}})


@router.post("/sign-in", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    target = safe_next(next)
    errors: dict[str, str] = {}
    if not email.strip():
        errors["email"] = "Enter the email address you sign in with."
    if not password:
        errors["password"] = ENTER_PASSWORD
    if not errors:
        try:
            user = user_service.authenticate(session, email, password)
        except NotAuthenticated:
            errors["password"] = WRONG_CREDENTIALS
    if not errors:
        try:
            link = user_service.membership(session, user.id, None)
        except LedgerbridgeError as exc:
            errors["form"] = exc.detail
    if errors:
        context = {"next": target, "email": email, "errors": errors}
        refused = errors.get("password") == WRONG_CREDENTIALS
        return render(request, "sign_in.html", context, status_code=401 if refused else 400)
    token = user_service.open_web_session(
        session, user.id, link.workspace_id, timedelta(days=settings.session_days)
    )
    response = redirect(request, target, f"Signed in as {user.name}.", "success")
    set_cookie(request, response, SESSION_COOKIE, token, max_age=settings.session_days * 86400)
    return response


@router.post("/sign-out", dependencies=[Depends(require_csrf)])
def sign_out(request: Request, session: SessionDep) -> Response:
    """Ends this browser's sign-in only; other devices stay signed in."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        user_service.close_web_session(session, cookie)
    response = redirect(request, "/sign-in", "You are signed out.", "info")
    response.delete_cookie(SESSION_COOKIE)
    return response


__all__ = ["router"]
