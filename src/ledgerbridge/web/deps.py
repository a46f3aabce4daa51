"""Request dependencies: the unit of work and the acting user.

Every endpoint receives its session from ``get_session`` (commit on success, rollback on
any error, so a failed request writes nothing) and its ``Actor`` from ``get_actor``, which
is the only place that decides who is calling and in which workspace.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.db import Database, utcnow
from ledgerbridge.errors import NotAuthenticated
from ledgerbridge.settings import Settings
from ledgerbridge.work.auth import Actor, hash_token
from ledgerbridge.work.models import ApiToken, User, WebSession, WorkspaceUser

SESSION_COOKIE = "lb_session"


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    with database.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""The request's unit of work, committed when the endpoint returns and before the response
is sent ("function" scope): a client told 200 can rely on the change being stored, and its
next request sees it (a sign-in's session, a record it just created)."""
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _actor_for(session: Session, user_id: str, workspace_id: str) -> Actor:
    row = session.execute(
        select(WorkspaceUser.role)
        .join(User, User.id == WorkspaceUser.user_id)
        .where(
            WorkspaceUser.user_id == user_id,
            WorkspaceUser.workspace_id == workspace_id,
            User.active.is_(True),
        )
    ).first()
    if row is None:
        raise NotAuthenticated("This credential no longer has access to its workspace.")
    return Actor(user_id=user_id, workspace_id=workspace_id, role=row.role)


def _actor_from_token(session: Session, token: str) -> Actor:
    api_token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    now = utcnow()
    if (
        api_token is None
        or api_token.revoked_at is not None
        or (api_token.expires_at is not None and api_token.expires_at <= now)
    ):
        raise NotAuthenticated("The API token is unknown, revoked or expired. Create a new one.")
    api_token.last_used_at = now
    return _actor_for(session, api_token.user_id, api_token.workspace_id)


def _actor_from_cookie(session: Session, token: str) -> Actor:
    web_session = session.scalar(select(WebSession).where(WebSession.token_hash == hash_token(token)))
    if web_session is None or web_session.expires_at <= utcnow():
        raise NotAuthenticated("Your sign-in has expired. Sign in again.")
    return _actor_for(session, web_session.user_id, web_session.workspace_id)


def get_actor(request: Request, session: SessionDep) -> Actor:
    token = _bearer(request)
    if token is not None:
        return _actor_from_token(session, token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return _actor_from_cookie(session, cookie)
    raise NotAuthenticated()


ActorDep = Annotated[Actor, Depends(get_actor)]


def get_manager(actor: ActorDep) -> Actor:
    actor.require_manager()
    return actor


ManagerDep = Annotated[Actor, Depends(get_manager)]
