"""Signing in and out, the caller's identity, workspace users and API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response
from pydantic import Field
from sqlalchemy import select

from ledgerbridge.db import utcnow
from ledgerbridge.errors import Conflict, FieldError, NotAuthenticated
from ledgerbridge.web.api.crud import Input, Output, check_lengths
from ledgerbridge.web.api.types import Email, Name
from ledgerbridge.web.deps import SESSION_COOKIE, ActorDep, ManagerDep, SessionDep, SettingsDep
from ledgerbridge.work import users as user_service
from ledgerbridge.work.models import ApiToken, Role, User
from ledgerbridge.work.repository import get_scoped

router = APIRouter(tags=["Accounts"])


class LoginIn(Input):
    email: Email
    password: str = Field(min_length=1)
    workspace_id: str | None = Field(None, description="Which workspace to act in; default: the first.")


class MeOut(Output):
    user_id: str
    email: str
    name: str
    workspace_id: str
    role: Role


@router.post("/auth/login", response_model=MeOut)
def login(body: LoginIn, response: Response, session: SessionDep, settings: SettingsDep) -> MeOut:
    user = user_service.authenticate(session, body.email, body.password)
    membership = user_service.membership(session, user.id, body.workspace_id)
    token = user_service.open_web_session(
        session, user.id, membership.workspace_id, timedelta(days=settings.session_days)
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return MeOut(
        user_id=user.id,
        email=user.email,
        name=user.name,
        workspace_id=membership.workspace_id,
        role=membership.role,
    )


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, session: SessionDep, _actor: ActorDep) -> Response:
    """Ends this browser's sign-in only; other devices stay signed in."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        user_service.close_web_session(session, cookie)
    response.delete_cookie(SESSION_COOKIE)
    response.status_code = 204
    return response


@router.get("/me", response_model=MeOut)
def me(session: SessionDep, actor: ActorDep) -> MeOut:
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotAuthenticated()
    return MeOut(
        user_id=user.id,
        email=user.email,
        name=user.name,
        workspace_id=actor.workspace_id,
        role=actor.role,
    )


class WorkspaceUserIn(Input):
    email: Email
    name: Name
    role: Role = Role.MEMBER
    password: str | None = Field(None, min_length=8, description="Leave out to let them sign in later.")


class WorkspaceUserRoleIn(Input):
    role: Role


class WorkspaceUserOut(Output):
    user_id: str
    email: str
    name: str
    role: Role


@router.get("/users", response_model=list[WorkspaceUserOut])
def list_users(session: SessionDep, actor: ActorDep) -> list[WorkspaceUserOut]:
    return [
        WorkspaceUserOut(user_id=u.id, email=u.email, name=u.name, role=role)
        for u, role in user_service.workspace_users(session, actor.workspace_id)
    ]


@router.post("/users", response_model=WorkspaceUserOut, status_code=201)
def add_user(body: WorkspaceUserIn, session: SessionDep, actor: ManagerDep) -> WorkspaceUserOut:
    """Admins add admins and members; only an owner adds an owner (403 otherwise)."""
    check_lengths(User, body.model_dump(include={"email", "name"}))
    user = user_service.add_to_workspace(
        session, actor.workspace_id, body.email, body.name, body.role, body.password, by=actor.role
    )
    return WorkspaceUserOut(user_id=user.id, email=user.email, name=user.name, role=body.role)


@router.patch("/users/{user_id}", response_model=WorkspaceUserOut)
def change_role(
    user_id: str, body: WorkspaceUserRoleIn, session: SessionDep, actor: ManagerDep
) -> WorkspaceUserOut:
    """An admin never makes, changes or removes an owner (403); the last owner stays (409)."""
    user, link = user_service.change_role(session, actor.workspace_id, user_id, body.role, by=actor.role)
    return WorkspaceUserOut(user_id=user.id, email=user.email, name=user.name, role=link.role)


@router.delete("/users/{user_id}", status_code=204)
def remove_user(user_id: str, session: SessionDep, actor: ManagerDep) -> Response:
    """Take a user out of this workspace (their sign-ins here end); the same rules as a
    role change: an admin never removes an owner (403), the last owner stays (409)."""
    user_service.remove_from_workspace(session, actor.workspace_id, user_id, by=actor.role)
    return Response(status_code=204)


class TokenIn(Input):
    name: Name
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class TokenOut(Output):
    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="Shown once. Store it now; only its hash is kept.")


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: SessionDep, actor: ManagerDep) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.workspace_id == actor.workspace_id).order_by(ApiToken.created_at)
        )
    )


@router.post("/tokens", response_model=NewTokenOut, status_code=201)
def create_token(body: TokenIn, session: SessionDep, actor: ManagerDep) -> NewTokenOut:
    check_lengths(ApiToken, body.model_dump(include={"name"}))
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    api_token, token = user_service.create_api_token(
        session, actor.workspace_id, actor.user_id, body.name, expires
    )
    return NewTokenOut(**TokenOut.model_validate(api_token).model_dump(), token=token)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, session: SessionDep, actor: ManagerDep) -> Response:
    api_token = get_scoped(session, ApiToken, actor.workspace_id, token_id)
    if api_token.revoked_at is not None:
        raise Conflict("This token is already revoked.", [FieldError("token_id", "already revoked")])
    api_token.revoked_at = utcnow()
    return Response(status_code=204)


__all__ = ["router"]
