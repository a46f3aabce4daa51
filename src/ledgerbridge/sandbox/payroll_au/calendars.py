"""``/PayrollCalendars``: list, read and create (XERO_API_NOTES 5.4).

A calendar is a type and the start of its upcoming period; ``periods`` derives the rest.
Creating one requires ``Name``, ``CalendarType``, ``StartDate`` and ``PaymentDate``; the
payment date may not precede the start date. Xero's exact messages for these are not
documented; the sandbox's name the field.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ledgerbridge.sandbox.accounting import framework
from ledgerbridge.sandbox.errors import not_found
from ledgerbridge.sandbox.guard import ApiContext, require_resource
from ledgerbridge.sandbox.models import Record
from ledgerbridge.sandbox.payroll_au.common import (
    ElementError,
    Resource,
    compact,
    enum_value,
    find,
    list_response,
    optional_date,
    optional_id,
    require_text,
    required_date,
    respond,
    write,
)
from ledgerbridge.sandbox.payroll_au.periods import CALENDAR_TYPES

__all__ = ["CALENDARS", "payroll_calendar", "router"]

router = APIRouter()

CALENDARS = "PayrollCalendars"
RESOURCE = Resource(
    collection=CALENDARS,
    id_field="PayrollCalendarID",
    type_name="PayrollCalendar",
    fields=frozenset({"PayrollCalendarID", "Name", "CalendarType", "StartDate", "PaymentDate",
                      "ReferenceDate", "UpdatedDateUTC"}),
)


def payroll_calendar(name: str, calendar_type: str, start: date, payment: date, *,
                     updated: datetime, calendar_id: str | None = None,
                     reference: date | None = None) -> Record:
    """A stored calendar (the seeder and ``POST`` both build them here)."""
    return {
        "PayrollCalendarID": calendar_id or str(uuid.uuid4()),
        "Name": name,
        "CalendarType": calendar_type,
        "StartDate": start,
        "PaymentDate": payment,
        "ReferenceDate": reference,
        "UpdatedDateUTC": updated,
    }


@router.get("/PayrollCalendars")
def list_calendars(
    request: Request, ctx: ApiContext = Depends(require_resource("PayrollCalendars"))
) -> Response:
    return list_response(ctx, request, RESOURCE, compact, default_order="Name")


@router.get("/PayrollCalendars/{calendar_id}")
def get_calendar(
    calendar_id: str, ctx: ApiContext = Depends(require_resource("PayrollCalendars"))
) -> Response:
    record = find(ctx.org, CALENDARS, calendar_id)
    if record is None:
        raise not_found()
    return respond(ctx, CALENDARS, [compact(record)])


def _apply(ctx: ApiContext, element: dict[str, Any]) -> dict[str, Any]:
    name = require_text(element, "Name", "Name is required")
    calendar_type = enum_value(element, "CalendarType", CALENDAR_TYPES)
    if calendar_type is None:
        raise ElementError("CalendarType is required")
    start = required_date(element, "StartDate", "StartDate is required")
    payment = required_date(element, "PaymentDate", "PaymentDate is required")
    if payment < start:
        raise ElementError("PaymentDate must be on or after StartDate")
    if any(c["Name"].lower() == name.lower() for c in ctx.org.iter_records(CALENDARS)):
        raise ElementError(f"A payroll calendar with the name '{name}' already exists")
    record = payroll_calendar(name, calendar_type, start, payment, updated=framework.now_ms(ctx),
                              calendar_id=optional_id(element, "PayrollCalendarID"),
                              reference=optional_date(element, "ReferenceDate"))
    ctx.org.put_record(CALENDARS, record["PayrollCalendarID"], record)
    return compact(record)


@router.post("/PayrollCalendars")
async def create_calendars(
    request: Request, ctx: ApiContext = Depends(require_resource("PayrollCalendars"))
) -> Response:
    raw = await request.body()
    return write(ctx, request, raw, RESOURCE, lambda e: _apply(ctx, e))
