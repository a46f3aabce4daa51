"""Members (the people who work) and work types (the kinds of hours they work)."""

from __future__ import annotations

from datetime import date, datetime

from ledgerbridge.web.api.crud import Input, ListQuery, Output, Resource
from ledgerbridge.web.api.types import Email, Name, Rate
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
