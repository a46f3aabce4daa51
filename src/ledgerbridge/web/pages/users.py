"""Users and roles: who is in this workspace and with which role; add a user (with an
initial password shown once), change a role, remove someone from the workspace.

Owners and admins manage; the rules (the last owner stays, an admin never makes or
changes an owner) are ``work.users``'s, the same the API and the CLI go through.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, refusal_page, render
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.work import users as user_service
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Role, User

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PAGE = "/users"
PAGE_SIZE = 50
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ROLES = {
    Role.OWNER: "Owner: everything, including other owners",
    Role.ADMIN: "Admin: manages users, Xero and settings (not owners)",
    Role.MEMBER: "Member: records time and works with records",
}
FIELD_NAMES = {"email": "Email", "name": "Name", "role": "Role", "password": "Password"}


def _refused(request: Request, session: Session, actor: Actor) -> HTMLResponse:
    return refusal_page(
        request,
        "Only owners and admins manage users",
        "Ask an owner or admin of this workspace to add people or change roles.",
        403,
        session=session,
        actor=actor,
    )


def _roles_for(actor: Actor) -> dict[Role, str]:
    """The roles this user may give: an admin never makes an owner."""
    return {r: label for r, label in ROLES.items() if actor.role is Role.OWNER or r is not Role.OWNER}


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    page: int = 1,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    created: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    everyone = user_service.workspace_users(session, actor.workspace_id)
    pages = max((len(everyone) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(page, 1), pages)
    context: dict[str, Any] = {
        "rows": everyone[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        "total": len(everyone),
        "page": page,
        "pages": pages,
        "owners": sum(1 for _, role in everyone if role is Role.OWNER),
        "roles": ROLES,
        "assignable": _roles_for(actor),
        "form": form or {"email": "", "name": "", "role": Role.MEMBER.value, "password": ""},
        "errors": errors or {},
        "created": created,
        "is_owner": actor.role is Role.OWNER,
    }
    return render(request, "admin/users.html", context, session=session, actor=actor, status_code=status_code)


@router.get(PAGE, response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, page: int = 1) -> HTMLResponse:
    actor = page_actor(request, session)
    if not actor.role.manages:
        return _refused(request, session, actor)
    return _page(request, session, actor, page=page)


def _check_new_user(email: str, name: str, role: str, password: str) -> dict[str, str]:
    """The form's own checks, before the rules of ``work.users`` run."""
    errors: dict[str, str] = {}
    if not EMAIL.match(email.strip()):
        errors["email"] = "Email: enter an address like name@example.com."
    if not name.strip():
        errors["name"] = "Name: enter the person's name as colleagues know it."
    if role not in {r.value for r in Role}:
        errors["role"] = "Role: choose owner, admin or member."
    if password and len(password) < 8:
        errors["password"] = "Password: use at least 8 characters, or leave it empty to get one made."  # noqa: S105
    return errors


def _field_errors(exc: LedgerbridgeError) -> dict[str, str]:
    if not exc.errors:
        return {"form": exc.detail}
    return {e.field: f"{FIELD_NAMES.get(e.field, e.field.title())}: {e.message}." for e in exc.errors}


@router.post(PAGE, response_class=HTMLResponse, dependencies=CSRF)
def add_user(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = Role.MEMBER.value,
    password: Annotated[str, Form()] = "",
) -> Response:
    """Add someone. A new person without a password typed in gets one made here, shown
    once on the answer page (never stored in plain, never in a URL or a cookie)."""
    actor = page_actor(request, session)
    if not actor.role.manages:
        return _refused(request, session, actor)
    form = {"email": email, "name": name, "role": role, "password": ""}
    errors = _check_new_user(email, name, role, password)
    if not errors:
        existing = user_service.find_user(session, email)
        initial = password or (secrets.token_urlsafe(12) if existing is None else "")
        try:
            user = user_service.add_to_workspace(
                session, actor.workspace_id, email, name.strip(), Role(role), initial or None, by=actor.role
            )
        except LedgerbridgeError as exc:
            session.rollback()
            errors = _field_errors(exc)
    if errors:
        return _page(request, session, actor, form=form, errors=errors, status_code=422)
    created = {"name": user.name, "email": user.email, "role": role}
    if existing is None and not password:
        created["password"] = initial
    return _page(request, session, actor, created=created)


@router.post(PAGE + "/{user_id}/role", dependencies=CSRF)
def change_role(
    user_id: str, request: Request, session: SessionDep, role: Annotated[str, Form()] = ""
) -> Response:
    actor = page_actor(request, session)
    if not actor.role.manages:
        return _refused(request, session, actor)
    if role not in {r.value for r in Role}:
        return redirect(request, PAGE, "Role: choose owner, admin or member.", "error")
    try:
        user, link = user_service.change_role(session, actor.workspace_id, user_id, Role(role), by=actor.role)
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, PAGE, _message(exc), "error")
    return redirect(request, PAGE, f"{user.name} is now {link.role.value} in this workspace.", "success")


def _message(exc: LedgerbridgeError) -> str:
    """One sentence for a flash: the rule that refused, in the field's words."""
    if exc.errors:
        return "Not changed: " + "; ".join(e.message for e in exc.errors) + "."
    return exc.detail


def _member(session: Session, actor: Actor, user_id: str) -> tuple[User, Role] | None:
    for user, role in user_service.workspace_users(session, actor.workspace_id):
        if user.id == user_id:
            return user, role
    return None


@router.get(PAGE + "/{user_id}/remove", response_class=HTMLResponse)
def confirm_remove(user_id: str, request: Request, session: SessionDep) -> Response:
    """The confirmation step before someone loses access to this workspace."""
    actor = page_actor(request, session)
    if not actor.role.manages:
        return _refused(request, session, actor)
    found = _member(session, actor, user_id)
    if found is None:
        return refusal_page(
            request,
            "No such user here",
            "That person is not a user of this workspace.",
            404,
            session=session,
            actor=actor,
        )
    user, role = found
    return render(
        request,
        "admin/user_remove.html",
        {"person": user, "person_role": role, "is_self": user.id == actor.user_id},
        session=session,
        actor=actor,
    )


@router.post(PAGE + "/{user_id}/remove", dependencies=CSRF)
def remove(user_id: str, request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    if not actor.role.manages:
        return _refused(request, session, actor)
    try:
        user = user_service.remove_from_workspace(session, actor.workspace_id, user_id, by=actor.role)
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, PAGE, _message(exc), "error")
    if user.id == actor.user_id:
        return redirect(request, "/sign-in", "You left the workspace.", "info")
    return redirect(request, PAGE, f"{user.name} no longer has access to this workspace.", "success")


__all__ = ["router"]
