"""Workspaces, users, roles and credentials: the rules shared by the API and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ledgerbridge.db import utcnow
from ledgerbridge.errors import Conflict, FieldError, NotAuthenticated, NotFound, PermissionDenied, invalid
from ledgerbridge.work.auth import hash_password, hash_token, new_token, verify_password
from ledgerbridge.work.models import ApiToken, Role, User, WebSession, Workspace, WorkspaceUser


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_workspace(session: Session, name: str, currency: str = "AUD") -> Workspace:
    workspace = Workspace(name=name, default_currency=currency)
    session.add(workspace)
    session.flush()
    return workspace


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def check_may_assign(by: Role | None, current: Role | None, role: Role | None) -> None:
    """Owners manage everyone; an admin manages admins and members but never an owner:
    it may not make anyone an owner, nor change or remove an owner. ``by`` None: the
    CLI or a caller that checked already. ``role`` None: removing from the workspace.
    A refusal is a permission matter (403), whatever the input looked like."""
    if by is None or by is Role.OWNER:
        return
    if role is Role.OWNER:
        raise PermissionDenied("Not allowed: only an owner may make someone an owner.")
    if current is Role.OWNER:
        raise PermissionDenied("Not allowed: only an owner may change or remove an owner.")


def add_to_workspace(
    session: Session,
    workspace_id: str,
    email: str,
    name: str,
    role: Role,
    password: str | None,
    *,
    by: Role | None = None,
) -> User:
    """Create the user if new, then give them ``role`` in the workspace (once). ``by``:
    the adding user's role, held to ``check_may_assign``."""
    check_may_assign(by, None, role)
    user = find_user(session, email)
    if user is None:
        user = User(
            email=normalise_email(email),
            name=name,
            password_hash=hash_password(password) if password else None,
        )
        session.add(user)
        session.flush()
    elif password:
        raise invalid("password", "this user already exists; they keep their own password")
    exists = session.scalar(
        select(WorkspaceUser.id).where(
            WorkspaceUser.workspace_id == workspace_id, WorkspaceUser.user_id == user.id
        )
    )
    if exists is not None:
        raise Conflict(
            f"{user.email} is already in this workspace.",
            [FieldError("email", "already a user of this workspace; change their role instead")],
        )
    session.add(WorkspaceUser(workspace_id=workspace_id, user_id=user.id, role=role))
    session.flush()
    return user


def workspace_users(session: Session, workspace_id: str) -> Sequence[tuple[User, Role]]:
    rows = session.execute(
        select(User, WorkspaceUser.role)
        .join(WorkspaceUser, WorkspaceUser.user_id == User.id)
        .where(WorkspaceUser.workspace_id == workspace_id)
        .order_by(User.email)
    ).all()
    return [(row[0], row[1]) for row in rows]


def _workspace_user(session: Session, workspace_id: str, user_id: str) -> tuple[User, WorkspaceUser]:
    link = session.scalar(
        select(WorkspaceUser).where(
            WorkspaceUser.workspace_id == workspace_id, WorkspaceUser.user_id == user_id
        )
    )
    user = session.get(User, user_id)
    if link is None or user is None:
        raise NotFound(f"No user with id '{user_id}' in this workspace.")
    return user, link


def _keep_an_owner(session: Session, workspace_id: str, link: WorkspaceUser, what: str) -> None:
    """A workspace always has an owner: the last one can be neither demoted nor removed."""
    if link.role is not Role.OWNER:
        return
    owners = session.scalar(
        select(func.count()).where(
            WorkspaceUser.workspace_id == workspace_id, WorkspaceUser.role == Role.OWNER
        )
    )
    if (owners or 0) <= 1:
        message = f"a workspace needs at least one owner; make someone else owner before {what}"
        raise Conflict(f"role: {message}", [FieldError("role", message)])


def change_role(
    session: Session, workspace_id: str, user_id: str, role: Role, *, by: Role | None = None
) -> tuple[User, WorkspaceUser]:
    """Give a user another role here. ``by``: the changing user's role (``check_may_assign``)."""
    user, link = _workspace_user(session, workspace_id, user_id)
    check_may_assign(by, link.role, role)
    if role is not Role.OWNER:
        _keep_an_owner(session, workspace_id, link, "changing this one")
    link.role = role
    session.flush()
    return user, link


def remove_from_workspace(
    session: Session, workspace_id: str, user_id: str, *, by: Role | None = None
) -> User:
    """Take a user out of this workspace (the account stays, for their other workspaces);
    their sign-ins in this workspace end at once."""
    user, link = _workspace_user(session, workspace_id, user_id)
    check_may_assign(by, link.role, None)
    _keep_an_owner(session, workspace_id, link, "removing this one")
    session.delete(link)
    session.execute(
        delete(WebSession).where(WebSession.user_id == user_id, WebSession.workspace_id == workspace_id)
    )
    session.flush()
    return user


def user_workspaces(session: Session, user_id: str) -> Sequence[tuple[Workspace, Role]]:
    """Every workspace the user belongs to, with their role there, by name."""
    rows = session.execute(
        select(Workspace, WorkspaceUser.role)
        .join(WorkspaceUser, WorkspaceUser.workspace_id == Workspace.id)
        .where(WorkspaceUser.user_id == user_id)
        .order_by(Workspace.name, Workspace.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def switch_web_session(session: Session, token: str, workspace_id: str) -> WorkspaceUser:
    """Move a browser's sign-in to another workspace, only one its user belongs to."""
    web_session = session.scalar(select(WebSession).where(WebSession.token_hash == hash_token(token)))
    if web_session is None or web_session.expires_at <= utcnow():
        raise NotAuthenticated("Your sign-in has expired. Sign in again.")
    link = membership(session, web_session.user_id, workspace_id)
    web_session.workspace_id = link.workspace_id
    session.flush()
    return link


def set_password(session: Session, user: User, password: str) -> None:
    if len(password) < 8:
        raise invalid("password", "use at least 8 characters")
    user.password_hash = hash_password(password)


def authenticate(session: Session, email: str, password: str) -> User:
    user = find_user(session, email)
    if user is None or not user.active or not verify_password(password, user.password_hash):
        raise NotAuthenticated("Wrong email or password.")
    return user


def membership(session: Session, user_id: str, workspace_id: str | None) -> WorkspaceUser:
    """The workspace a sign-in acts in: the one asked for, else the user's oldest."""
    statement = select(WorkspaceUser).where(WorkspaceUser.user_id == user_id)
    if workspace_id is not None:
        statement = statement.where(WorkspaceUser.workspace_id == workspace_id)
    link = session.scalar(statement.order_by(WorkspaceUser.created_at).limit(1))
    if link is None:
        if workspace_id is not None:
            raise invalid("workspace_id", "you are not a user of that workspace")
        raise NotAuthenticated("This user belongs to no workspace yet; ask an owner to add you.")
    return link


def open_web_session(session: Session, user_id: str, workspace_id: str, lifetime: timedelta) -> str:
    token, token_hash = new_token()
    session.add(
        WebSession(
            token_hash=token_hash,
            user_id=user_id,
            workspace_id=workspace_id,
            expires_at=utcnow() + lifetime,
        )
    )
    session.flush()
    return token


def close_web_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))


def create_api_token(
    session: Session, workspace_id: str, user_id: str, name: str, expires_at: datetime | None
) -> tuple[ApiToken, str]:
    """A new token; the plain value is returned once and never stored."""
    token, token_hash = new_token()
    api_token = ApiToken(
        workspace_id=workspace_id,
        user_id=user_id,
        name=name,
        token_hash=token_hash,
        prefix=token[:10],
        expires_at=expires_at,
    )
    session.add(api_token)
    session.flush()
    return api_token, token
