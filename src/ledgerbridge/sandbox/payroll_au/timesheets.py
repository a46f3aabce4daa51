"""``/Timesheets``: list, read, create, update and approve (XERO_API_NOTES 5.5).

Rules, checked in this order for every element, before anything is stored:

1. ``EmployeeID``, ``StartDate`` and ``EndDate`` are required (the spec's ``Timesheet``).
2. The employee exists and has a payroll calendar.
3. ``StartDate``..``EndDate`` is exactly one pay period of that calendar. Xero's answer
   when it is not is "Provided period doesn't correspond with a pay period" (seen in a
   real response quoted in calcinai/xero-php#371).
4. One timesheet per employee and period: a second create is refused with Xero's
   "This timesheet already exists, please provide the timesheet ID" (Xero-NetStandard#60),
   i.e. Xero does *not* update the existing one; send its ``TimesheetID`` to update it.
5. Each line's ``EarningsRateID`` exists; ``NumberOfUnits`` has one non-negative number
   per day of the period (index 0 is ``StartDate``); ``TrackingItemID`` is a GUID.
6. ``Status``: clients may write ``DRAFT``, ``APPROVED``, ``REJECTED`` or ``REQUESTED``;
   ``PROCESSED`` is set by a pay run, and a PROCESSED timesheet cannot be changed.

Approval: the 1.0 API has no approve endpoint (the spec has none), so a client approves
by posting the timesheet with ``"Status": "APPROVED"`` to ``POST /Timesheets/{id}``.

``Hours`` is the total of every line's units. ``GET /Timesheets/{id}`` answers the
singular ``{"Timesheet": {...}}`` (the spec's ``TimesheetObject``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ledgerbridge.sandbox.accounting import framework, wire
from ledgerbridge.sandbox.errors import not_found
from ledgerbridge.sandbox.guard import ApiContext, require_resource
from ledgerbridge.sandbox.models import Organisation, Record
from ledgerbridge.sandbox.payroll_au.calendars import CALENDARS
from ledgerbridge.sandbox.payroll_au.common import (
    ElementError,
    Resource,
    compact,
    enum_value,
    find,
    list_response,
    optional_id,
    required_date,
    respond,
    write,
)
from ledgerbridge.sandbox.payroll_au.employees import EMPLOYEES
from ledgerbridge.sandbox.payroll_au.pay_items import EARNINGS_RATES
from ledgerbridge.sandbox.payroll_au.periods import period_containing

__all__ = [
    "DUPLICATE",
    "PERIOD_MISMATCH",
    "TIMESHEETS",
    "check_period",
    "is_duplicate",
    "router",
    "timesheet",
]

router = APIRouter()

TIMESHEETS = "Timesheets"
PERIOD_MISMATCH = "Provided period doesn't correspond with a pay period"
DUPLICATE = "This timesheet already exists, please provide the timesheet ID"
NO_CALENDAR = "The employee must have a payroll calendar to have a timesheet"
WRITABLE_STATUSES = ("DRAFT", "APPROVED", "REJECTED", "REQUESTED")

RESOURCE = Resource(
    collection=TIMESHEETS,
    id_field="TimesheetID",
    type_name="Timesheet",
    fields=frozenset({"TimesheetID", "EmployeeID", "StartDate", "EndDate", "Status", "Hours",
                      "UpdatedDateUTC", "TimesheetLines"}),
)


def _line(line: Record) -> dict[str, Any]:
    """A line as 1.0 shows it: without empty fields and without the internal ``_V2IDs``
    (the Payroll 2.0 line ids, see ``timesheets_v2``)."""
    return {k: v for k, v in line.items() if v is not None and not k.startswith("_")}


def render(record: Record) -> dict[str, Any]:
    out = compact(record)
    out["TimesheetLines"] = [_line(line) for line in record.get("TimesheetLines", [])]
    return out


def timesheet(employee_id: str, start: date, end: date, status: str,
              lines: list[Record], *, updated: datetime,
              timesheet_id: str | None = None) -> Record:
    """A stored timesheet with its derived ``Hours`` (seeders and the API share this)."""
    hours = sum((unit for line in lines for unit in line["NumberOfUnits"]), Decimal("0"))
    return {
        "TimesheetID": timesheet_id or str(uuid.uuid4()),
        "EmployeeID": employee_id,
        "StartDate": start,
        "EndDate": end,
        "Status": status,
        "Hours": hours,
        "TimesheetLines": lines,
        "UpdatedDateUTC": updated,
    }


@router.get("/Timesheets")
def list_timesheets(
    request: Request, ctx: ApiContext = Depends(require_resource("Timesheets"))
) -> Response:
    return list_response(ctx, request, RESOURCE, render, default_order="StartDate")


@router.get("/Timesheets/{timesheet_id}")
def get_timesheet(
    timesheet_id: str, ctx: ApiContext = Depends(require_resource("Timesheets"))
) -> Response:
    record = find(ctx.org, TIMESHEETS, timesheet_id)
    if record is None:
        raise not_found()
    return respond(ctx, "Timesheet", render(record))


# -- validation -------------------------------------------------------------------------------


def check_period(org: Organisation, employee: Record, start: date, end: date) -> None:
    calendar = find(org, CALENDARS, employee.get("PayrollCalendarID"))
    if calendar is None:
        raise ElementError(NO_CALENDAR)
    period = period_containing(calendar["CalendarType"], calendar["StartDate"], start)
    if period != (start, end):
        raise ElementError(PERIOD_MISMATCH)


def _units(value: Any, days: int) -> list[Decimal]:
    if not isinstance(value, list):
        raise ElementError("NumberOfUnits must be a list with one number per day")
    if len(value) != days:
        raise ElementError(
            f"NumberOfUnits must have {days} entries, one for each day of the timesheet period")
    units = [wire.parse_decimal(unit, "NumberOfUnits") for unit in value]
    if any(unit < 0 for unit in units):
        raise ElementError("NumberOfUnits cannot be negative")
    return units


def _lines(org: Organisation, element: Mapping[str, Any], days: int,
           now: datetime) -> list[Record]:
    raw = element.get("TimesheetLines") or []
    if not isinstance(raw, list) or not all(isinstance(line, Mapping) for line in raw):
        raise ElementError("TimesheetLines must be a list of objects")
    lines = []
    for line in raw:
        rate_id = optional_id(line, "EarningsRateID")
        if rate_id is None:
            raise ElementError("EarningsRateID is required on every timesheet line")
        if find(org, EARNINGS_RATES, rate_id) is None:
            raise ElementError(f"Earnings rate '{rate_id}' does not exist")
        lines.append({
            "EarningsRateID": rate_id,
            "TrackingItemID": optional_id(line, "TrackingItemID"),
            "NumberOfUnits": _units(line.get("NumberOfUnits"), days),
            "UpdatedDateUTC": now,
        })
    return lines


def is_duplicate(org: Organisation, employee_id: str, start: date, end: date,
               own_id: str | None) -> bool:
    return any(
        other["EmployeeID"] == employee_id and other["StartDate"] == start
        and other["EndDate"] == end and other["TimesheetID"] != own_id
        for other in org.iter_records(TIMESHEETS)
    )


def _status(element: Mapping[str, Any], existing: Record | None) -> str:
    if existing is not None and existing["Status"] == "PROCESSED":
        raise ElementError("A processed timesheet cannot be changed")
    asked = enum_value(element, "Status", (*WRITABLE_STATUSES, "PROCESSED"))
    if asked == "PROCESSED":
        raise ElementError("A timesheet becomes PROCESSED only through a pay run")
    return asked or (existing["Status"] if existing else "DRAFT")


def _apply(ctx: ApiContext, element: dict[str, Any], path_id: str | None) -> dict[str, Any]:
    """Validate one timesheet element completely, then store it."""
    org = ctx.org
    ident = path_id or optional_id(element, "TimesheetID")
    existing = find(org, TIMESHEETS, ident)
    if ident is not None and existing is None:
        raise ElementError(f"Timesheet '{ident}' does not exist")
    employee_id = optional_id(element, "EmployeeID") or (existing or {}).get("EmployeeID")
    if employee_id is None:
        raise ElementError("EmployeeID is required")
    start = required_date(element, "StartDate", "StartDate is required") \
        if existing is None or "StartDate" in element else existing["StartDate"]
    end = required_date(element, "EndDate", "EndDate is required") \
        if existing is None or "EndDate" in element else existing["EndDate"]
    employee = find(org, EMPLOYEES, employee_id)
    if employee is None:
        raise ElementError(f"Employee '{employee_id}' does not exist")
    status = _status(element, existing)
    check_period(org, employee, start, end)
    if is_duplicate(org, employee_id, start, end, ident):
        raise ElementError(DUPLICATE)
    now = framework.now_ms(ctx)
    same_period = existing is not None and (existing["StartDate"], existing["EndDate"]) == (start, end)
    if "TimesheetLines" in element or not same_period:
        lines = _lines(org, element, (end - start).days + 1, now)
    else:
        assert existing is not None
        lines = existing["TimesheetLines"]
    record = timesheet(employee_id, start, end, status, lines, updated=now,
                       timesheet_id=existing["TimesheetID"] if existing else None)
    org.put_record(TIMESHEETS, record["TimesheetID"], record)
    return render(record)


@router.post("/Timesheets")
async def create_timesheets(
    request: Request, ctx: ApiContext = Depends(require_resource("Timesheets"))
) -> Response:
    raw = await request.body()
    return write(ctx, request, raw, RESOURCE, lambda e: _apply(ctx, e, None))


@router.post("/Timesheets/{timesheet_id}")
async def update_timesheet(
    timesheet_id: str, request: Request, ctx: ApiContext = Depends(require_resource("Timesheets"))
) -> Response:
    raw = await request.body()
    if find(ctx.org, TIMESHEETS, timesheet_id) is None:
        raise not_found()
    ident = timesheet_id.lower()
    return write(ctx, request, raw, RESOURCE,
                                    lambda e: _apply(ctx, e, ident))
