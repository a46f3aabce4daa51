"""The mapping wizard: members to employees, work types to earnings rates, projects and
tasks to tracking options, per organisation.

Xero's side comes from the reference import (``sync.imports``: employees, earnings rates,
payroll calendars, tracking categories with their options), so reading the wizard costs
no call to Xero. Suggestions, for what is not mapped yet:

- a member -> the employee with the same email (case ignored), else the same name
  (normalised: accents, case, punctuation and word order ignored), when exactly one
  employee not already mapped to someone else matches;
- a work type -> the earnings rate of the same normalised name; a project or task -> the
  tracking option of the same normalised name (again only a unique match).

A suggestion is only a proposal: ``accept_suggestions`` takes them all, ``set_mappings``
sets or removes any mapping. An employee maps to at most one member, or one timesheet
would be written twice for the same period.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ledgerbridge.errors import Conflict, FieldError, ValidationFailed
from ledgerbridge.payroll.models import MappingKind, PayrollMapping
from ledgerbridge.sync.models import RecordType, XeroReference
from ledgerbridge.work.models import Member, Project, Task, WorkType
from ledgerbridge.work.repository import scoped
from ledgerbridge.xero.connections import get_connection

__all__ = [
    "Choice",
    "LocalRow",
    "MappingChange",
    "Suggestion",
    "Wizard",
    "accept_suggestions",
    "current",
    "name_key",
    "set_mappings",
    "tracking_options",
    "wizard",
]

DELETED = "DELETED"
_WORD = re.compile(r"[^\w\s]+")
_KIND_LABEL: dict[
    MappingKind, tuple[str, type[Member] | type[WorkType] | type[Project] | type[Task], str]
] = {
    MappingKind.MEMBER: ("member", Member, "employee"),
    MappingKind.WORK_TYPE: ("work type", WorkType, "earnings rate"),
    MappingKind.PROJECT: ("project", Project, "tracking option"),
    MappingKind.TASK: ("task", Task, "tracking option"),
}


def name_key(value: str | None) -> str:
    """'Chén, Mia ' and 'mia chen' give the same key: accents, case, punctuation and word
    order do not matter."""
    if not value:
        return ""
    plain = unicodedata.normalize("NFKD", value)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    return " ".join(sorted(_WORD.sub(" ", plain).split()))


def _email_key(value: Any) -> str:
    return str(value).strip().casefold() if value else ""


@dataclass(frozen=True)
class Choice:
    """A Xero record the wizard offers (an employee, an earnings rate, a tracking option)."""

    xero_id: str
    name: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suggestion:
    xero_id: str
    name: str
    reason: str
    """email or name"""


@dataclass
class LocalRow:
    """One local record in the wizard, its mapping (if any) and a suggestion (if unmapped)."""

    local_id: str
    name: str
    xero_id: str | None = None
    xero_name: str | None = None
    suggestion: Suggestion | None = None
    email: str | None = None
    project_id: str | None = None


@dataclass
class Wizard:
    connection_id: str
    members: list[LocalRow]
    work_types: list[LocalRow]
    projects: list[LocalRow]
    tasks: list[LocalRow]
    employees: list[Choice]
    earnings_rates: list[Choice]
    tracking_options: list[Choice]


@dataclass(frozen=True)
class MappingChange:
    kind: MappingKind
    local_id: str
    xero_id: str | None
    """``None`` removes the mapping."""
    field: str
    """Where it came from in the request, for an error naming it (``members[0]``)."""


# -- reading ------------------------------------------------------------------------------------


def _references(session: Session, connection_id: str, record_type: RecordType) -> list[XeroReference]:
    return list(
        session.scalars(
            select(XeroReference)
            .where(
                XeroReference.connection_id == connection_id,
                XeroReference.record_type == record_type,
                or_(XeroReference.status.is_(None), XeroReference.status != DELETED),
            )
            .order_by(XeroReference.name, XeroReference.xero_id)
        )
    )


def employees(session: Session, connection_id: str) -> list[Choice]:
    """Imported employees with what the wizard and the periods need."""
    calendars = {r.xero_id: r for r in _references(session, connection_id, RecordType.PAYROLL_CALENDAR)}
    found = []
    for row in _references(session, connection_id, RecordType.EMPLOYEE):
        calendar = calendars.get(str(row.data.get("PayrollCalendarID") or "").lower())
        found.append(
            Choice(
                row.xero_id,
                row.name,
                {
                    "email": row.data.get("Email"),
                    "status": row.status,
                    "payroll_calendar_id": row.data.get("PayrollCalendarID"),
                    "payroll_calendar": calendar.name if calendar else None,
                    "ordinary_earnings_rate_id": row.data.get("OrdinaryEarningsRateID"),
                },
            )
        )
    return found


def earnings_rates(session: Session, connection_id: str) -> list[Choice]:
    return [
        Choice(
            row.xero_id,
            row.name,
            {
                "earnings_type": row.data.get("EarningsType"),
                "rate_type": row.data.get("RateType"),
                "type_of_units": row.data.get("TypeOfUnits"),
            },
        )
        for row in _references(session, connection_id, RecordType.EARNINGS_RATE)
    ]


def tracking_options(session: Session, connection_id: str) -> list[Choice]:
    """Every active option of every active tracking category (a timesheet's
    ``TrackingItemID`` is an option of the category chosen in Xero's payroll settings)."""
    found = []
    for category in _references(session, connection_id, RecordType.TRACKING_CATEGORY):
        if category.status not in (None, "ACTIVE"):
            continue
        for option in category.data.get("Options") or []:
            option_id = option.get("TrackingOptionID")
            if option_id and option.get("Status", "ACTIVE") == "ACTIVE":
                found.append(
                    Choice(
                        str(option_id).lower(),
                        str(option.get("Name") or option_id),
                        {"category_id": category.xero_id, "category": category.name},
                    )
                )
    return found


def current(session: Session, connection_id: str) -> dict[MappingKind, dict[str, str]]:
    """kind -> local id -> Xero id, for this organisation."""
    mapped: dict[MappingKind, dict[str, str]] = {kind: {} for kind in MappingKind}
    for row in session.scalars(select(PayrollMapping).where(PayrollMapping.connection_id == connection_id)):
        mapped[row.kind][row.local_id] = row.xero_id
    return mapped


def _unique(matches: Sequence[Choice]) -> Choice | None:
    return matches[0] if len(matches) == 1 else None


class _Index:
    """Choices grouped by a key (normalised name or email), built once per wizard, so a
    suggestion for each of hundreds of records is a lookup rather than a scan of every
    choice (which normalised every choice's name again for every record)."""

    def __init__(self, choices: Sequence[Choice], key: Any) -> None:
        self.groups: dict[str, list[Choice]] = {}
        for choice in choices:
            value = key(choice)
            if value:
                self.groups.setdefault(value, []).append(choice)

    def unique(self, value: str) -> Choice | None:
        return _unique(self.groups.get(value, [])) if value else None


def _employee_suggester(free: Sequence[Choice]) -> Any:
    """A member -> the free employee of the same email, else of the same name (each only
    when exactly one matches)."""
    by_email = _Index(free, lambda e: _email_key(e.detail.get("email")))
    by_name = _Index(free, lambda e: name_key(e.name))

    def suggest(member: Member) -> Suggestion | None:
        found = by_email.unique(_email_key(member.email))
        if found is not None:
            return Suggestion(found.xero_id, found.name, "email")
        found = by_name.unique(name_key(member.name))
        return Suggestion(found.xero_id, found.name, "name") if found is not None else None

    return suggest


def _name_suggester(choices: Sequence[Choice]) -> Any:
    """A record -> the choice of the same normalised name, when exactly one has it."""
    by_name = _Index(choices, lambda c: name_key(c.name))

    def suggest(record: Any) -> Suggestion | None:
        found = by_name.unique(name_key(record.name))
        return Suggestion(found.xero_id, found.name, "name") if found is not None else None

    return suggest


def _rows(
    records: Iterable[Any],
    mapped: Mapping[str, str],
    choices: Sequence[Choice],
    suggest: Any,
) -> list[LocalRow]:
    names = {c.xero_id: c.name for c in choices}
    rows = []
    for record in records:
        xero_id = mapped.get(record.id)
        rows.append(
            LocalRow(
                local_id=record.id,
                name=record.name,
                xero_id=xero_id,
                xero_name=names.get(xero_id) if xero_id else None,
                suggestion=None if xero_id else suggest(record),
                email=getattr(record, "email", None),
                project_id=getattr(record, "project_id", None),
            )
        )
    return rows


def wizard(session: Session, workspace_id: str, connection_id: str) -> Wizard:
    """Everything the mapping wizard shows, with a suggestion for each unmapped record."""
    connection = get_connection(session, workspace_id, connection_id)
    mapped = current(session, connection.id)
    staff, rates, options = (
        employees(session, connection.id),
        earnings_rates(session, connection.id),
        tracking_options(session, connection.id),
    )
    taken = set(mapped[MappingKind.MEMBER].values())
    free = [e for e in staff if e.xero_id not in taken and e.detail.get("status") != "TERMINATED"]
    members = session.scalars(
        scoped(Member, workspace_id).where(Member.active.is_(True)).order_by(Member.name, Member.id)
    )
    work_types = session.scalars(
        scoped(WorkType, workspace_id).where(WorkType.archived.is_(False)).order_by(WorkType.name)
    )
    projects = session.scalars(
        scoped(Project, workspace_id).where(Project.archived.is_(False)).order_by(Project.name)
    )
    tasks = session.scalars(
        scoped(Task, workspace_id).where(Task.archived.is_(False)).order_by(Task.project_id, Task.name)
    )
    by_option = _name_suggester(options)
    return Wizard(
        connection_id=connection.id,
        members=_rows(members, mapped[MappingKind.MEMBER], staff, _employee_suggester(free)),
        work_types=_rows(work_types, mapped[MappingKind.WORK_TYPE], rates, _name_suggester(rates)),
        projects=_rows(projects, mapped[MappingKind.PROJECT], options, by_option),
        tasks=_rows(tasks, mapped[MappingKind.TASK], options, by_option),
        employees=staff,
        earnings_rates=rates,
        tracking_options=options,
    )


# -- writing ------------------------------------------------------------------------------------


def _check(
    session: Session, workspace_id: str, connection_id: str, changes: Sequence[MappingChange]
) -> list[FieldError]:
    """Every unknown local record or Xero record, each error naming its field."""
    choices = {
        MappingKind.MEMBER: {c.xero_id for c in employees(session, connection_id)},
        MappingKind.WORK_TYPE: {c.xero_id for c in earnings_rates(session, connection_id)},
        MappingKind.PROJECT: {c.xero_id for c in tracking_options(session, connection_id)},
    }
    choices[MappingKind.TASK] = choices[MappingKind.PROJECT]
    errors = []
    for change in changes:
        label, model, xero_label = _KIND_LABEL[change.kind]
        local_workspace = session.scalar(select(model.workspace_id).where(model.id == change.local_id))
        if local_workspace != workspace_id:
            errors.append(
                FieldError(
                    f"{change.field}.{change.kind}_id",
                    f"no {label} with id '{change.local_id}' exists in this workspace",
                )
            )
        if change.xero_id is not None and change.xero_id not in choices[change.kind]:
            errors.append(
                FieldError(
                    f"{change.field}.{_xero_field(change.kind)}",
                    f"no {xero_label} with id '{change.xero_id}' was imported from this organisation; "
                    "import payroll data (and tracking categories) first",
                )
            )
    return errors


def _xero_field(kind: MappingKind) -> str:
    return {
        MappingKind.MEMBER: "employee_id",
        MappingKind.WORK_TYPE: "earnings_rate_id",
    }.get(kind, "tracking_option_id")


def set_mappings(
    session: Session, workspace_id: str, connection_id: str, changes: Sequence[MappingChange]
) -> None:
    """Set (or, with no Xero id, remove) each mapping; nothing is written if one is wrong."""
    connection = get_connection(session, workspace_id, connection_id)
    changes = [
        MappingChange(c.kind, c.local_id, c.xero_id.lower() if c.xero_id else None, c.field) for c in changes
    ]
    errors = _check(session, workspace_id, connection.id, changes)
    if errors:
        raise ValidationFailed("Some mappings name records that do not exist.", errors)
    rows = {
        (row.kind, row.local_id): row
        for row in session.scalars(
            select(PayrollMapping).where(PayrollMapping.connection_id == connection.id)
        )
    }
    for change in changes:
        row = rows.get((change.kind, change.local_id))
        if change.xero_id is None:
            if row is not None:
                session.delete(row)
                del rows[(change.kind, change.local_id)]
            continue
        if row is None:
            row = PayrollMapping(
                workspace_id=workspace_id,
                connection_id=connection.id,
                kind=change.kind,
                local_id=change.local_id,
            )
            session.add(row)
            rows[(change.kind, change.local_id)] = row
        row.xero_id = change.xero_id
    _one_member_per_employee(rows.values(), changes)
    session.flush()


def _one_member_per_employee(rows: Iterable[PayrollMapping], changes: Sequence[MappingChange]) -> None:
    holders: dict[str, list[str]] = {}
    for row in rows:
        if row.kind is MappingKind.MEMBER:
            holders.setdefault(row.xero_id, []).append(row.local_id)
    for change in reversed(changes):  # the later of two in one request is the one refused
        if change.kind is MappingKind.MEMBER and change.xero_id and len(holders[change.xero_id]) > 1:
            message = "this employee is already mapped to another member; unmap that member first"
            raise Conflict(
                f"Employee '{change.xero_id}' would be mapped to more than one member.",
                [FieldError(f"{change.field}.employee_id", message)],
            )


def accept_suggestions(session: Session, workspace_id: str, connection_id: str) -> int:
    """Map every unmapped record that has a suggestion; how many mappings were made."""
    state = wizard(session, workspace_id, connection_id)
    changes = [
        MappingChange(kind, row.local_id, row.suggestion.xero_id, f"{kind}s[{index}]")
        for kind, rows in (
            (MappingKind.MEMBER, state.members),
            (MappingKind.WORK_TYPE, state.work_types),
            (MappingKind.PROJECT, state.projects),
            (MappingKind.TASK, state.tasks),
        )
        for index, row in enumerate(rows)
        if row.suggestion is not None
    ]
    set_mappings(session, workspace_id, connection_id, changes)
    return len(changes)
