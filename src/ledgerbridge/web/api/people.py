"""Members (the people who work) and work types (the kinds of hours they work)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from ledgerbridge.sync.members import new_member_hook
from ledgerbridge.web.api.crud import Input, ListQuery, Output, Resource
from ledgerbridge.web.api.types import Email, Name, Rate
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Member, MemberKind, WorkType


class MemberFields(Input):
    email: Email | None = None
    kind: MemberKind = MemberKind.EMPLOYEE
    cost_rate: Rate | None = None
    bill_rate: Rate | None = None
    start_date: date | None = None
    active: bool = True


class MemberCreate(MemberFields):
    name: Name


class MemberUpdate(MemberFields):
    name: Name | None = None


class MemberRead(Output):
    id: str
    name: str
    email: str | None
    kind: MemberKind
    cost_rate: Rate | None
    bill_rate: Rate | None
    start_date: date | None
    active: bool
    created_at: datetime
    updated_at: datetime


class MemberQuery(ListQuery):
    kind: MemberKind | None = None
    active: bool | None = None


_CREATED = "ledgerbridge.web.api.people.created_members"


def _apply(session: Session, actor: Actor, member: Member, values: dict[str, Any]) -> None:
    if inspect(member).transient:  # being created, not updated
        session.info.setdefault(_CREATED, []).append(member)
    for key, value in values.items():
        setattr(member, key, value)


def _after_write(session: Session, actor: Actor, member: Member) -> None:
    """A new member goes to Xero when the organisation auto-syncs new members."""
    created = session.info.get(_CREATED, [])
    new_member_hook(session, member, any(m is member for m in created))


members = Resource(
    path="/members",
    model=Member,
    read=MemberRead,
    create=MemberCreate,
    update=MemberUpdate,
    query=MemberQuery,
    unique=("email",),
    search=("name", "email"),
    order_by=("name",),
    retire=("active", False),
    managers_only=True,
    apply=_apply,
    after_write=_after_write,
)


class WorkTypeCreate(Input):
    name: Name
    archived: bool = False


class WorkTypeUpdate(Input):
    name: Name | None = None
    archived: bool | None = None


class WorkTypeRead(Output):
    id: str
    name: str
    archived: bool


class WorkTypeQuery(ListQuery):
    archived: bool | None = None


work_types = Resource(
    path="/work-types",
    model=WorkType,
    read=WorkTypeRead,
    create=WorkTypeCreate,
    update=WorkTypeUpdate,
    query=WorkTypeQuery,
    unique=("name",),
    search=("name",),
    order_by=("name",),
    managers_only=True,
)
