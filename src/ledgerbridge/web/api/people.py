"""Members (the people who work) and work types (the kinds of hours they work)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from ledgerbridge.errors import invalid
from ledgerbridge.sync.members import new_member_hook
from ledgerbridge.web.api.crud import Input, ListQuery, Output, Resource
from ledgerbridge.web.api.types import Email, Name, Rate
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Member, MemberKind, WorkType

OLDEST_BIRTH_YEAR = 1900


def _born_in_the_past(value: date | None) -> date | None:
    """A date of birth is a day before today, and not before 1900 (a typo, not a person)."""
    if value is None:
        return value
    if value >= date.today():
        raise ValueError("a date of birth must be in the past")
    if value.year < OLDEST_BIRTH_YEAR:
        raise ValueError(f"a date of birth before {OLDEST_BIRTH_YEAR} is not plausible; check the year")
    return value


BirthDate = Annotated[date, AfterValidator(_born_in_the_past)]
AddressLine = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Place = Annotated[str, StringConstraints(min_length=1, max_length=255)]
PostalCode = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Country = Annotated[str, StringConstraints(min_length=1, max_length=100)]
ADDRESS_PARTS = ("address_line2", "city", "region", "postal_code", "country")


class MemberFields(Input):
    email: Email | None = None
    kind: MemberKind = MemberKind.EMPLOYEE
    cost_rate: Rate | None = None
    bill_rate: Rate | None = None
    start_date: date | None = None
    active: bool = True
    # Personal details Xero Payroll requires of an employee; kept so auto-sync can send one.
    date_of_birth: BirthDate | None = Field(None, description="Required by Xero Payroll for an employee.")
    address_line1: AddressLine | None = Field(None, description="Home address, first line (Xero Payroll).")
    address_line2: AddressLine | None = None
    city: Place | None = None
    region: Place | None = Field(None, description="Xero Payroll AU: ACT, NSW, NT, QLD, SA, TAS, VIC, WA.")
    postal_code: PostalCode | None = None
    country: Country | None = None


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
    date_of_birth: date | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None
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


def _validate(session: Session, actor: Actor, member: Member) -> None:
    """The rest of a home address only with its first line (Xero Payroll needs that line)."""
    if not member.address_line1 and any(getattr(member, part) for part in ADDRESS_PARTS):
        raise invalid("address_line1", "give the first line of the home address with the rest of it")


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
    validate=_validate,
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
