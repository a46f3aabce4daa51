"""Timesheets to Xero Payroll AU: build, check, send, and remember what was sent.

**Build.** For a chosen date (or date range) and a set of members, each mapped member's
employee gets the pay period of their own payroll calendar that holds the date
(``periods``). Their time entries in that period become ``TimesheetLines``: one line per
earnings rate (the work type's mapping; an entry without a work type uses the employee's
ordinary earnings rate) and tracking option (the task's mapping, else its project's), with
``NumberOfUnits`` holding the hours of each day of the period (index 0 is the first day).
Hours are worked minutes / 60, to 2 places.

**Check**, before anything is sent, each problem named with who and what it concerns:
a member with no employee (``unmapped_member``), an employee Xero no longer has or who is
terminated (``unknown_employee``), an employee without a payroll calendar
(``no_payroll_calendar``), hours whose work type has no earnings rate
(``missing_earnings_rate``), hours in the chosen range but outside the employee's pay
period (``outside_period``), a timesheet Xero already holds for the employee and period
(``existing_timesheet``: a warning, since sending updates it by its ``TimesheetID`` rather
than making a second one; ``PROCESSED`` ones cannot change and are an error). Existing
timesheets are found with one ``GET /Timesheets`` per distinct period.

**Send.** Each employee without errors is written on their own (``POST /Timesheets``, or
``POST /Timesheets/{id}`` to update), as ``DRAFT`` or ``APPROVED``: Payroll AU has no
per-element outcomes, so one refused timesheet must not hide what happened to the others.
Before the call the ``TimesheetExport`` row for that employee and period is committed as
*sending* with the payload's hash and an ``Idempotency-Key`` derived from the row and its
attempt, so a send cut short after Xero answered replays under the same key. Xero's answer
then lands on that row: its ``TimesheetID``, or (refused) Xero's own message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.errors import XeroError, XeroValidationError, invalid
from ledgerbridge.logging import get_logger
from ledgerbridge.payroll import mappings
from ledgerbridge.payroll.models import ExportStatus, MappingKind, TimesheetExport
from ledgerbridge.payroll.periods import Period, calendar_anchor, period_containing
from ledgerbridge.sync.links import content_hash
from ledgerbridge.sync.models import RecordType, XeroReference
from ledgerbridge.work.models import Member, MemberKind, Task, TimeEntry
from ledgerbridge.work.repository import scoped
from ledgerbridge.xero.client import PAYROLL_AU, Organisation, XeroClient, derived_idempotency_key
from ledgerbridge.xero.connections import get_connection
from ledgerbridge.xero.dates import parse_date
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection
from ledgerbridge.xero.services import XeroServices

__all__ = [
    "EmployeeTimesheet",
    "PeriodChoice",
    "Preview",
    "Problem",
    "SendOutcome",
    "SendResult",
    "history",
    "preview",
    "send",
]

log = get_logger(__name__)

TIMESHEETS = f"{PAYROLL_AU}/Timesheets"
DRAFT, APPROVED, PROCESSED = "DRAFT", "APPROVED", "PROCESSED"
ERROR, WARNING = "error", "warning"
HOUR = Decimal(60)
CENT = Decimal("0.01")
PAGE_SIZE = 100


# -- what a preview says -------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodChoice:
    """The pay period of each employee that holds ``period_containing`` (or ``start_date``);
    with ``start_date`` and ``end_date``, hours in that range but outside an employee's
    period are named as a problem instead of being left out silently."""

    period_containing: date | None = None
    start_date: date | None = None
    end_date: date | None = None

    def __post_init__(self) -> None:
        if self.period_containing is None and self.start_date is None:
            raise invalid("period_containing", "give a date, or start_date and end_date")
        if self.period_containing is not None and self.start_date is not None:
            raise invalid("start_date", "give either period_containing or start_date and end_date")
        if self.end_date is not None and self.start_date is None:
            raise invalid("start_date", "give start_date with end_date (or only period_containing)")
        if self.start_date is not None and (self.end_date is None or self.end_date < self.start_date):
            raise invalid("end_date", "give an end_date on or after start_date")

    @property
    def day(self) -> date:
        return self.period_containing or self.start_date  # type: ignore[return-value]

    @property
    def window(self) -> Period | None:
        if self.start_date is None or self.end_date is None:
            return None
        return Period(self.start_date, self.end_date)


@dataclass(frozen=True)
class Problem:
    code: str
    severity: str
    message: str
    member_id: str | None = None
    employee_id: str | None = None
    work_type_id: str | None = None


@dataclass
class Line:
    earnings_rate_id: str
    earnings_rate_name: str
    tracking_item_id: str | None
    tracking_name: str | None
    units: list[Decimal]

    @property
    def hours(self) -> Decimal:
        return sum(self.units, Decimal("0"))

    def payload(self) -> dict[str, Any]:
        line: dict[str, Any] = {"EarningsRateID": self.earnings_rate_id}
        if self.tracking_item_id:
            line["TrackingItemID"] = self.tracking_item_id
        line["NumberOfUnits"] = [float(unit) for unit in self.units]
        return line


@dataclass
class EmployeeTimesheet:
    """One employee's timesheet for one pay period, as it would be sent."""

    employee_id: str
    employee_name: str
    member_id: str
    member_name: str
    period: Period | None
    lines: list[Line] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    existing_timesheet_id: str | None = None
    existing_status: str | None = None

    @property
    def hours(self) -> Decimal:
        return sum((line.hours for line in self.lines), Decimal("0"))

    @property
    def ready(self) -> bool:
        """Nothing stops it, and there is something to send."""
        return (
            self.period is not None
            and bool(self.lines)
            and not any(p.severity == ERROR for p in self.problems)
        )

    def payload(self, status: str) -> dict[str, Any]:
        assert self.period is not None
        return {
            "EmployeeID": self.employee_id,
            "StartDate": _ms_date(self.period.start),
            "EndDate": _ms_date(self.period.end),
            "Status": status,
            "TimesheetLines": [line.payload() for line in self.lines],
        }


@dataclass
class Preview:
    connection_id: str
    timesheets: list[EmployeeTimesheet]
    problems: list[Problem]
    """Problems of members with no employee (the others sit on their timesheet)."""

    @property
    def all_problems(self) -> list[Problem]:
        return [*self.problems, *(p for sheet in self.timesheets for p in sheet.problems)]


def _ms_date(day: date) -> str:
    """Payroll AU's date form: midnight UTC as ``/Date(ms+0000)/``."""
    epoch_ms = int(datetime.combine(day, time(0), tzinfo=UTC).timestamp() * 1000)
    return f"/Date({epoch_ms}+0000)/"


def _hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / HOUR).quantize(CENT, rounding=ROUND_HALF_UP)


def _fmt(hours: Decimal) -> str:
    return f"{hours.normalize():f}"


# -- building ----------------------------------------------------------------------------------


@dataclass
class _Refs:
    """The imported Xero records a preview reads, by id."""

    employees: dict[str, XeroReference]
    calendars: dict[str, XeroReference]
    rates: dict[str, XeroReference]
    options: dict[str, str]


def _refs(session: Session, connection_id: str) -> _Refs:
    def rows(record_type: RecordType) -> dict[str, XeroReference]:
        return {
            r.xero_id.lower(): r
            for r in session.scalars(
                select(XeroReference).where(
                    XeroReference.connection_id == connection_id, XeroReference.record_type == record_type
                )
            )
        }

    options = {c.xero_id: c.name for c in mappings.tracking_options(session, connection_id)}
    return _Refs(
        rows(RecordType.EMPLOYEE), rows(RecordType.PAYROLL_CALENDAR), rows(RecordType.EARNINGS_RATE), options
    )


def _members(
    session: Session, workspace_id: str, member_ids: Sequence[str] | None, mapped: Mapping[str, str]
) -> list[Member]:
    if member_ids is not None:
        found = {
            m.id: m for m in session.scalars(scoped(Member, workspace_id).where(Member.id.in_(member_ids)))
        }
        for index, member_id in enumerate(member_ids):
            if member_id not in found:
                raise invalid(
                    f"member_ids[{index}]", f"no member with id '{member_id}' exists in this workspace"
                )
        return [found[m] for m in dict.fromkeys(member_ids)]
    return list(
        session.scalars(scoped(Member, workspace_id).where(Member.active.is_(True)).order_by(Member.name))
    )


def _period_of(refs: _Refs, employee: XeroReference, day: date) -> Period | None:
    calendar = refs.calendars.get(str(employee.data.get("PayrollCalendarID") or "").lower())
    anchor = calendar_anchor(calendar.data) if calendar is not None else None
    if anchor is None:
        return None
    return period_containing(anchor[0], anchor[1], day)


def _entries(
    session: Session, workspace_id: str, member_ids: Iterable[str], span: Period
) -> dict[str, list[tuple[TimeEntry, str]]]:
    """Each member's time entries in the span, with the project of the entry's task."""
    found: dict[str, list[tuple[TimeEntry, str]]] = defaultdict(list)
    ids = list(member_ids)
    if not ids:
        return found
    rows = session.execute(
        select(TimeEntry, Task.project_id)
        .join(Task, Task.id == TimeEntry.task_id)
        .where(
            TimeEntry.workspace_id == workspace_id,
            TimeEntry.member_id.in_(ids),
            TimeEntry.date >= span.start,
            TimeEntry.date <= span.end,
        )
        .order_by(TimeEntry.date, TimeEntry.id)
    )
    for entry, project_id in rows:
        found[entry.member_id].append((entry, project_id))
    return found


def _span(periods: Iterable[Period | None], choice: PeriodChoice) -> Period:
    """Every day a preview reads entries for: all periods and the chosen range."""
    known = [p for p in periods if p is not None]
    if choice.window is not None:
        known.append(choice.window)
    if not known:  # nobody has a period: look at the week (Monday to Sunday) of the date
        monday = choice.day - timedelta(days=choice.day.weekday())
        known.append(Period(monday, monday + timedelta(days=6)))
    return Period(min(p.start for p in known), max(p.end for p in known))


def _build(
    session: Session,
    workspace_id: str,
    connection: XeroConnection,
    choice: PeriodChoice,
    member_ids: Sequence[str] | None,
) -> Preview:
    mapped = mappings.current(session, connection.id)
    refs = _refs(session, connection.id)
    members = _members(session, workspace_id, member_ids, mapped[MappingKind.MEMBER])
    chosen = member_ids is not None
    sheets: dict[str, EmployeeTimesheet] = {}
    unmapped: list[Member] = []
    for member in members:
        employee_id = mapped[MappingKind.MEMBER].get(member.id)
        if employee_id is None:
            unmapped.append(member)
            continue
        sheets[member.id] = _sheet(refs, member, employee_id, choice.day)
    span = _span((s.period for s in sheets.values()), choice)
    entries = _entries(session, workspace_id, [m.id for m in members], span)
    problems = [
        _unmapped(member, entries.get(member.id, []), span)
        for member in unmapped
        if chosen or (member.kind is MemberKind.EMPLOYEE and entries.get(member.id))
    ]
    for member_id, sheet in sheets.items():
        _fill(sheet, entries.get(member_id, []), refs, mapped, choice.window)
    # Everyone chosen; else whoever has hours to send, or hours that a problem holds back.
    kept = [
        s
        for s in sheets.values()
        if chosen or s.lines or (entries.get(s.member_id) and any(p.severity == ERROR for p in s.problems))
    ]
    for sheet in kept:
        if sheet.period is not None and not sheet.lines and not sheet.problems:
            sheet.problems.append(
                Problem(
                    "no_hours",
                    WARNING,
                    f"{sheet.member_name} has no hours from {sheet.period}; nothing will be sent.",
                    sheet.member_id,
                    sheet.employee_id,
                )
            )
    return Preview(connection.id, kept, problems)


def _unmapped(member: Member, entries: Sequence[tuple[TimeEntry, str]], span: Period) -> Problem:
    minutes = sum(entry.worked_minutes for entry, _ in entries)
    hours = f" has {_fmt(_hours(minutes))} h from {span} but" if minutes else ""
    return Problem(
        "unmapped_member",
        ERROR,
        f"{member.name}{hours} is not mapped to a Xero employee; map them in the timesheet mappings.",
        member.id,
    )


def _sheet(refs: _Refs, member: Member, employee_id: str, day: date) -> EmployeeTimesheet:
    employee = refs.employees.get(employee_id)
    name = employee.name if employee is not None else employee_id
    sheet = EmployeeTimesheet(employee_id, name, member.id, member.name, None)
    if employee is None or employee.status in ("DELETED", "TERMINATED"):
        state = "no longer in Xero" if employee is None or employee.status == "DELETED" else "terminated"
        sheet.problems.append(
            Problem(
                "unknown_employee",
                ERROR,
                f"{member.name} is mapped to employee {name}, who is {state}; map them again.",
                member.id,
                employee_id,
            )
        )
        return sheet
    sheet.period = _period_of(refs, employee, day)
    if sheet.period is None:
        sheet.problems.append(
            Problem(
                "no_payroll_calendar",
                ERROR,
                f"Employee {name} has no payroll calendar in Xero (or it was not imported); give them "
                "one in Xero, then import payroll data again.",
                member.id,
                employee_id,
            )
        )
    return sheet


def _rate_for(
    entry: TimeEntry,
    employee: XeroReference | None,
    refs: _Refs,
    mapped: Mapping[MappingKind, dict[str, str]],
) -> str | None:
    if entry.work_type_id is None:
        ordinary = employee.data.get("OrdinaryEarningsRateID") if employee is not None else None
        rate_id = str(ordinary).lower() if ordinary else None
    else:
        rate_id = mapped[MappingKind.WORK_TYPE].get(entry.work_type_id)
    row = refs.rates.get(rate_id) if rate_id else None
    return rate_id if row is not None and row.status != "DELETED" else None


def _fill(
    sheet: EmployeeTimesheet,
    entries: Sequence[tuple[TimeEntry, str]],
    refs: _Refs,
    mapped: Mapping[MappingKind, dict[str, str]],
    window: Period | None,
) -> None:
    """Lines from the entries in the period; each entry that cannot be sent is a problem."""
    period = sheet.period
    if period is None:
        return
    employee = refs.employees.get(sheet.employee_id)
    minutes: dict[tuple[str, str | None], dict[date, int]] = defaultdict(lambda: defaultdict(int))
    missing: dict[str | None, int] = defaultdict(int)
    outside: dict[date, int] = defaultdict(int)
    for entry, project_id in entries:
        if entry.date not in period:
            if window is not None and entry.date in window:
                outside[entry.date] += entry.worked_minutes
            continue
        rate_id = _rate_for(entry, employee, refs, mapped)
        if rate_id is None:
            missing[entry.work_type_id] += entry.worked_minutes
            continue
        option = mapped[MappingKind.TASK].get(entry.task_id) or mapped[MappingKind.PROJECT].get(project_id)
        if option is not None and option not in refs.options:
            option = None  # the option is gone from Xero: the hours still count, untracked
        minutes[(rate_id, option)][entry.date] += entry.worked_minutes
    for (rate_id, option), per_day in sorted(
        minutes.items(), key=lambda item: (item[0][0], item[0][1] or "")
    ):
        units = [_hours(per_day.get(day, 0)) for day in period.days]
        if any(units):
            sheet.lines.append(
                Line(
                    rate_id,
                    refs.rates[rate_id].name,
                    option,
                    refs.options.get(option) if option else None,
                    units,
                )
            )
    for work_type_id, lost in missing.items():
        sheet.problems.append(_missing_rate(sheet, work_type_id, lost))
    if outside:
        days = ", ".join(day.isoformat() for day in sorted(outside))
        sheet.problems.append(
            Problem(
                "outside_period",
                ERROR,
                f"{sheet.member_name} has {_fmt(_hours(sum(outside.values())))} h on {days}, outside "
                f"{sheet.employee_name}'s pay period {period}; send that period separately.",
                sheet.member_id,
                sheet.employee_id,
            )
        )


def _missing_rate(sheet: EmployeeTimesheet, work_type_id: str | None, minutes: int) -> Problem:
    hours = _fmt(_hours(minutes))
    if work_type_id is None:
        message = (
            f"{sheet.member_name} has {hours} h without a work type, and employee "
            f"{sheet.employee_name} has no ordinary earnings rate in Xero; give the entries a work "
            "type that is mapped to an earnings rate."
        )
    else:
        message = (
            f"{sheet.member_name} has {hours} h of a work type with no earnings rate; map the work "
            "type to an earnings rate."
        )
    return Problem("missing_earnings_rate", ERROR, message, sheet.member_id, sheet.employee_id, work_type_id)


# -- Xero's side -------------------------------------------------------------------------------


def _organisation(connection: XeroConnection) -> Organisation:
    if connection.grant_id is None or connection.status is not ConnectionStatus.CONNECTED:
        raise XeroError(
            f"{connection.tenant_name} is not connected ({connection.status}); reconnect it first.",
            409,
            "xero_not_connected",
        )
    return Organisation(connection.grant_id, connection.tenant_id)


def _where(period: Period) -> str:
    def literal(day: date) -> str:
        return f"DateTime({day.year},{day.month:02d},{day.day:02d})"

    return f"StartDate=={literal(period.start)} AND EndDate=={literal(period.end)}"


async def _existing(client: XeroClient, org: Organisation, preview: Preview) -> None:
    """Mark each timesheet Xero already holds for the employee and period (one read per
    distinct period, whatever the number of employees)."""
    by_period: dict[Period, list[EmployeeTimesheet]] = defaultdict(list)
    for sheet in preview.timesheets:
        if sheet.period is not None:
            by_period[sheet.period].append(sheet)
    for period, sheets in sorted(by_period.items()):
        held: dict[str, dict[str, Any]] = {}
        pages = client.pages(
            org, TIMESHEETS, "Timesheets", params={"where": _where(period)}, page_size=PAGE_SIZE
        )
        async for page in pages:
            for record in page:
                start, end = parse_date(record.get("StartDate")), parse_date(record.get("EndDate"))
                if (start, end) == (period.start, period.end):
                    held[str(record.get("EmployeeID", "")).lower()] = record
        for sheet in sheets:
            found = held.get(sheet.employee_id)
            if found is None:
                continue
            record = found
            sheet.existing_timesheet_id = str(record["TimesheetID"]).lower()
            sheet.existing_status = str(record.get("Status") or "")
            if sheet.existing_status == PROCESSED:
                sheet.problems.append(
                    Problem(
                        "processed_timesheet",
                        ERROR,
                        f"Xero has already paid {sheet.employee_name}'s timesheet for {period} in a pay "
                        "run (PROCESSED); it cannot be changed.",
                        sheet.member_id,
                        sheet.employee_id,
                    )
                )
            else:
                sheet.problems.append(
                    Problem(
                        "existing_timesheet",
                        WARNING,
                        f"Xero already has a {sheet.existing_status} timesheet for {sheet.employee_name} "
                        f"for {period}; sending updates it rather than adding a second one.",
                        sheet.member_id,
                        sheet.employee_id,
                    )
                )


async def preview(
    services: XeroServices,
    workspace_id: str,
    connection_id: str,
    choice: PeriodChoice,
    member_ids: Sequence[str] | None = None,
) -> Preview:
    """What would be sent for the period, and every problem, without writing anything."""
    with services.database.session() as session:
        connection = get_connection(session, workspace_id, connection_id)
        org = _organisation(connection)
        built = _build(session, workspace_id, connection, choice, member_ids)
    await _existing(services.client, org, built)
    return built


# -- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendOutcome:
    employee_id: str
    employee_name: str
    member_id: str
    period: Period | None
    outcome: str
    """created, updated, failed (Xero refused or could not be reached) or skipped (a problem
    stopped it before sending, or there was nothing to send)."""
    hours: Decimal
    timesheet_id: str | None = None
    status: str | None = None
    error: str | None = None
    export_id: str | None = None


@dataclass
class SendResult:
    preview: Preview
    outcomes: list[SendOutcome]
    error: str | None = None
    """Why the send stopped early (the connection was lost, Xero was unavailable)."""


def _prepare(
    services: XeroServices,
    workspace_id: str,
    connection_id: str,
    sheet: EmployeeTimesheet,
    payload: dict[str, Any],
) -> tuple[str, str]:
    """Commit the export row as *sending* before the call: (its id, the key to send with).

    A row still *sending* with the same request (a send cut short) keeps its key, so Xero
    replays its first answer; anything else is a new attempt with a new key. (A create that
    landed before the cut is found by the next preview, so that send is an update.)"""
    assert sheet.period is not None
    path, element = _request(sheet, payload)
    digest = content_hash({"path": path, "element": element})
    with services.database.session() as session:
        export = session.scalar(
            select(TimesheetExport).where(
                TimesheetExport.connection_id == connection_id,
                TimesheetExport.employee_id == sheet.employee_id,
                TimesheetExport.period_start == sheet.period.start,
                TimesheetExport.period_end == sheet.period.end,
            )
        )
        if export is None:
            export = TimesheetExport(
                workspace_id=workspace_id,
                connection_id=connection_id,
                employee_id=sheet.employee_id,
                period_start=sheet.period.start,
                period_end=sheet.period.end,
                employee_name=sheet.employee_name,
                xero_status=payload["Status"],
                hours=sheet.hours,
                attempts=0,
            )
            session.add(export)
            session.flush()
        resumed = export.status is ExportStatus.SENDING and export.payload_hash == digest and export.attempts
        if not resumed:
            export.attempts += 1
            export.idempotency_key = derived_idempotency_key("timesheet", export.id, export.attempts)
        export.status, export.payload_hash, export.error = ExportStatus.SENDING, digest, None
        export.employee_name, export.member_id = sheet.employee_name, sheet.member_id
        export.xero_status, export.hours = payload["Status"], sheet.hours
        export.lines = payload["TimesheetLines"]
        assert export.idempotency_key is not None
        return export.id, export.idempotency_key


def _finish(
    services: XeroServices, export_id: str, *, timesheet_id: str | None = None, error: str | None = None
) -> TimesheetExport:
    with services.database.session() as session:
        export = session.get(TimesheetExport, export_id)
        assert export is not None
        if error is None:
            export.status, export.timesheet_id, export.sent_at = (
                ExportStatus.SENT,
                timesheet_id,
                services.clock.utcnow(),
            )
        else:
            export.status, export.error = ExportStatus.FAILED, error
        return export


def _request(sheet: EmployeeTimesheet, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Where and what to send: an update of Xero's timesheet by its id, or a create."""
    if sheet.existing_timesheet_id:
        return f"{TIMESHEETS}/{sheet.existing_timesheet_id}", {
            "TimesheetID": sheet.existing_timesheet_id,
            **payload,
        }
    return TIMESHEETS, payload


async def _write(client: XeroClient, org: Organisation, path: str, element: dict[str, Any], key: str) -> str:
    """Xero's ``TimesheetID`` for the timesheet written, or Xero's refusal raised."""
    (result,) = await client.write_array(org, path, "Timesheets", [element], key)
    if not result.ok:
        raise XeroValidationError(result.messages or ["Xero did not accept the timesheet."])
    timesheet_id = result.xero_id("TimesheetID")
    if timesheet_id is None:
        raise XeroValidationError(["Xero answered without a TimesheetID."])
    return timesheet_id.lower()


def _skipped(sheet: EmployeeTimesheet) -> SendOutcome:
    errors = [p.message for p in sheet.problems if p.severity == ERROR]
    reason = "; ".join(errors) or "No hours to send."
    return SendOutcome(
        sheet.employee_id,
        sheet.employee_name,
        sheet.member_id,
        sheet.period,
        "skipped",
        sheet.hours,
        error=reason,
    )


async def send(
    services: XeroServices,
    workspace_id: str,
    connection_id: str,
    choice: PeriodChoice,
    member_ids: Sequence[str] | None = None,
    approve: bool = False,
) -> SendResult:
    """Check, then create or update each ready employee's timesheet in Xero."""
    checked = await preview(services, workspace_id, connection_id, choice, member_ids)
    with services.database.session() as session:
        org = _organisation(get_connection(session, workspace_id, connection_id))
    status = APPROVED if approve else DRAFT
    result = SendResult(checked, [])
    for sheet in checked.timesheets:
        if not sheet.ready or result.error is not None:
            result.outcomes.append(
                _skipped(sheet)
                if result.error is None
                else SendOutcome(
                    sheet.employee_id,
                    sheet.employee_name,
                    sheet.member_id,
                    sheet.period,
                    "skipped",
                    sheet.hours,
                    error=result.error,
                )
            )
            continue
        payload = sheet.payload(status)
        export_id, key = _prepare(services, workspace_id, connection_id, sheet, payload)
        outcome = "updated" if sheet.existing_timesheet_id else "created"
        timesheet_id: str | None = None
        error: str | None = None
        try:
            timesheet_id = await _write(services.client, org, *_request(sheet, payload), key)
        except XeroValidationError as exc:
            _finish(services, export_id, error=exc.detail)
            outcome, timesheet_id, error = "failed", None, exc.detail
        except XeroError as exc:
            # Not about this timesheet: the rest would fail the same way. Whether this one
            # landed is unknown; the next send finds it in Xero and updates it.
            log.warning("payroll.timesheet.send_stopped", employee_id=sheet.employee_id, error=exc.code)
            _finish(services, export_id, error=exc.detail)
            outcome, timesheet_id, error = "failed", None, exc.detail
            result.error = exc.detail
        else:
            _finish(services, export_id, timesheet_id=timesheet_id)
        result.outcomes.append(
            SendOutcome(
                sheet.employee_id,
                sheet.employee_name,
                sheet.member_id,
                sheet.period,
                outcome,
                sheet.hours,
                timesheet_id,
                status,
                error,
                export_id,
            )
        )
    return result


def history(
    session: Session,
    workspace_id: str,
    connection_id: str,
    employee_id: str | None = None,
    period_containing: date | None = None,
) -> list[TimesheetExport]:
    """What was sent, newest period first, per employee and period."""
    connection = get_connection(session, workspace_id, connection_id)
    statement = select(TimesheetExport).where(
        TimesheetExport.workspace_id == workspace_id, TimesheetExport.connection_id == connection.id
    )
    if employee_id:
        statement = statement.where(TimesheetExport.employee_id == employee_id.lower())
    if period_containing:
        statement = statement.where(
            TimesheetExport.period_start <= period_containing, TimesheetExport.period_end >= period_containing
        )
    return list(
        session.scalars(
            statement.order_by(
                TimesheetExport.period_start.desc(), TimesheetExport.employee_name, TimesheetExport.id
            )
        )
    )
