"""Payroll AU 2.0 ``/Timesheets`` (``/payroll.xro/2.0``), over the 1.0 timesheets' records.

There is one store: the 1.0 ``Timesheets`` collection. A timesheet created here is the same
record 1.0 reads, and the reverse; the same rules apply (employee with a calendar, period
matching that calendar, one timesheet per employee and period), with the same texts.

The mapping (also in docs/sandbox.md):

* 1.0 holds lines per earnings rate (and tracking item) with ``NumberOfUnits``, one number
  per day of the period. 2.0 holds one line per date: every non-zero day of a 1.0 line is a
  2.0 line ``{date, earningsRateID, trackingItemID, numberOfUnits}``; zero days are not
  lines. Lines come back ordered by date, then by 1.0 line.
* 2.0 line ids are kept on the 1.0 line under the internal ``_V2IDs`` (one per day; 1.0
  never shows ``_`` keys). A line written through 1.0 has none until 2.0 changes the
  timesheet; until then its ids are derived from the timesheet id, the line's position and
  the day (``uuid5``), so they are stable between reads.
* A 2.0 write rebuilds the 1.0 lines: each 2.0 line goes into the first 1.0 line of the same
  rate and tracking item whose day is still empty, else into a new 1.0 line, so two 2.0
  lines on one date and rate (Xero allows it) stay two lines.
* Status: 1.0 ``DRAFT``, ``REQUESTED`` and ``REJECTED`` read as ``Draft``, ``APPROVED`` as
  ``Approved``, ``PROCESSED`` as ``Completed`` (the spec's three values). Approve writes
  ``APPROVED``, RevertToDraft writes ``DRAFT``; a Completed timesheet cannot change.
* ``payrollCalendarID`` is the employee's calendar; a create naming another is refused.

Wire: camelCase, dates ``YYYY-MM-DD``, ``updatedDateUTC`` ISO 8601 in UTC, the envelope
``{id, providerName, dateTimeUTC, httpStatusCode, pagination, <payload>}`` (``problem``
only on errors: the spec's ``Problem`` is not nullable). A 400 is the envelope with
``httpStatusCode: "BadRequest"`` and ``problem`` (the spec's ``Problem``, with
``invalidFields``), the shape the SDK's Payroll ``BadRequestException`` reads. Unknown ids
answer Xero's plain-text 404. Lists page at 100 with a ``pagination`` object.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ledgerbridge.sandbox.accounting import framework, wire
from ledgerbridge.sandbox.errors import not_found
from ledgerbridge.sandbox.guard import ApiContext, require_resource
from ledgerbridge.sandbox.models import Organisation, Record
from ledgerbridge.sandbox.payroll_au.common import ElementError, find
from ledgerbridge.sandbox.payroll_au.employees import EMPLOYEES
from ledgerbridge.sandbox.payroll_au.pay_items import EARNINGS_RATES
from ledgerbridge.sandbox.payroll_au.timesheets import (
    DUPLICATE,
    TIMESHEETS,
    check_period,
    is_duplicate,
    timesheet,
)

__all__ = ["PAGE_SIZE", "V2_STATUS", "router", "v2_lines"]

router = APIRouter()
guard = require_resource("Timesheets")

PAGE_SIZE = 100
V2_STATUS = {"DRAFT": "Draft", "REQUESTED": "Draft", "REJECTED": "Draft",
             "APPROVED": "Approved", "PROCESSED": "Completed"}
COMPLETED = "A completed timesheet cannot be changed"
_LINE_NAMESPACE = uuid.UUID("6f2d8c4e-1b7a-4c55-9e0f-3a9d2b7c1e48")


class Problem(Exception):
    """A 400 in the Payroll 2.0 shape; ``fields`` are ``(name, reason)`` pairs."""

    def __init__(self, *fields: tuple[str, str]) -> None:
        super().__init__("; ".join(reason for _, reason in fields))
        self.fields = list(fields)


# -- wire ---------------------------------------------------------------------------------------


def _day(value: date) -> str:
    return value.isoformat()


def _moment(value: datetime) -> str:
    moment = value.astimezone(UTC) if value.tzinfo else value
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _envelope(ctx: ApiContext, status: str = "OK") -> dict[str, Any]:
    now = ctx.state.clock.now()
    return {
        "id": str(uuid.uuid4()),
        "providerName": ctx.app.name,
        "dateTimeUTC": (now.astimezone(UTC) if now.tzinfo else now).replace(tzinfo=None)
        .isoformat(),
        "httpStatusCode": status,
        "pagination": None,
    }


def _ok(ctx: ApiContext, **payload: Any) -> Response:
    body = _envelope(ctx)
    body.update(payload)
    return wire.XeroJSONResponse(body)


def _problem(ctx: ApiContext, exc: Problem) -> Response:
    body = _envelope(ctx, "BadRequest")
    body["problem"] = {
        "type": "application/problem+json",
        "title": "BadRequest",
        "status": "400",
        "detail": "Validation error occurred.",
        "invalidFields": [{"name": name, "reason": reason} for name, reason in exc.fields],
    }
    return wire.XeroJSONResponse(body, status_code=400)


# -- the 1.0 record seen as 2.0 -----------------------------------------------------------------


@dataclass
class Line:
    line_id: str
    day: date
    rate_id: str
    tracking_id: str | None
    units: Decimal

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {"timesheetLineID": self.line_id, "date": _day(self.day),
                               "earningsRateID": self.rate_id}
        if self.tracking_id:
            out["trackingItemID"] = self.tracking_id
        out["numberOfUnits"] = self.units
        return out


def v2_lines(record: Record) -> list[Line]:
    """Every non-zero day of every 1.0 line, as 2.0 lines ordered by date then 1.0 line."""
    found: list[tuple[date, int, Line]] = []
    for index, line in enumerate(record.get("TimesheetLines", [])):
        ids = line.get("_V2IDs") or []
        for offset, units in enumerate(line["NumberOfUnits"]):
            if not units:
                continue
            line_id = ids[offset] if offset < len(ids) and ids[offset] else str(
                uuid.uuid5(_LINE_NAMESPACE, f"{record['TimesheetID']}/{index}/{offset}"))
            day = record["StartDate"] + timedelta(days=offset)
            found.append((day, index, Line(line_id, day, line["EarningsRateID"],
                                           line.get("TrackingItemID"), units)))
    found.sort(key=lambda item: (item[0], item[1]))
    return [line for _, _, line in found]


def _v1_lines(record: Record, lines: list[Line], now: datetime) -> list[Record]:
    """2.0 lines back to 1.0 lines (see the module docstring)."""
    days = (record["EndDate"] - record["StartDate"]).days + 1
    out: list[Record] = []
    for line in lines:
        offset = (line.day - record["StartDate"]).days
        slot = next((v1 for v1 in out if v1["EarningsRateID"] == line.rate_id
                     and v1.get("TrackingItemID") == line.tracking_id
                     and v1["_V2IDs"][offset] is None), None)
        if slot is None:
            slot = {"EarningsRateID": line.rate_id, "TrackingItemID": line.tracking_id,
                    "NumberOfUnits": [Decimal("0")] * days, "UpdatedDateUTC": now,
                    "_V2IDs": [None] * days}
            out.append(slot)
        slot["NumberOfUnits"][offset] = line.units
        slot["_V2IDs"][offset] = line.line_id
    return out


def _calendar_id(org: Organisation, record: Record) -> str | None:
    employee = find(org, EMPLOYEES, record["EmployeeID"]) or {}
    calendar_id = employee.get("PayrollCalendarID")
    return str(calendar_id) if calendar_id else None


def render(org: Organisation, record: Record, *, lines: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"timesheetID": record["TimesheetID"]}
    calendar_id = _calendar_id(org, record)
    if calendar_id:
        out["payrollCalendarID"] = calendar_id
    out.update({
        "employeeID": record["EmployeeID"],
        "startDate": _day(record["StartDate"]),
        "endDate": _day(record["EndDate"]),
        "status": V2_STATUS.get(record["Status"], "Draft"),
        "totalHours": record["Hours"],
        "updatedDateUTC": _moment(record["UpdatedDateUTC"]),
    })
    if lines:
        out["timesheetLines"] = [line.render() for line in v2_lines(record)]
    return out


# -- reading ------------------------------------------------------------------------------------


def _timesheet(org: Organisation, timesheet_id: str) -> Record:
    record = find(org, TIMESHEETS, timesheet_id)
    if record is None:
        raise not_found()
    return record


def _query_date(request: Request, name: str) -> date | None:
    value = framework.query_param(request, name)
    if not value:
        return None
    try:
        return wire.parse_date(value)
    except wire.WireError as exc:
        raise Problem((name, f"{name} must be a date (YYYY-MM-DD)")) from exc


def _filters(request: Request) -> dict[str, str]:
    """``filter=employeeId==<id>,payrollCalendarId==<id>``."""
    raw = framework.query_param(request, "filter") or ""
    wanted: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        name, sep, value = part.partition("==")
        key = name.strip().lower()
        if not sep or key not in ("employeeid", "payrollcalendarid"):
            raise Problem(("filter", "filter accepts employeeId==<id> and payrollCalendarId==<id>"))
        try:
            wanted[key] = str(uuid.UUID(value.strip()))
        except ValueError as exc:
            raise Problem(("filter", f"{name.strip()} must be a valid GUID")) from exc
    return wanted


def _select(org: Organisation, request: Request) -> tuple[list[Record], int]:
    try:
        page = int(framework.query_param(request, "page") or 1)
    except ValueError as exc:
        raise Problem(("page", "page must be a whole number")) from exc
    if page < 1:
        raise Problem(("page", "page must be greater than 0"))
    wanted = _filters(request)
    status = (framework.query_param(request, "status") or "").strip().lower()
    start = _query_date(request, "startDate")
    end = _query_date(request, "endDate")

    def keep(record: Record) -> bool:
        if "employeeid" in wanted and record["EmployeeID"] != wanted["employeeid"]:
            return False
        if "payrollcalendarid" in wanted and _calendar_id(org, record) != wanted["payrollcalendarid"]:
            return False
        if status and V2_STATUS.get(record["Status"], "Draft").lower() != status:
            return False
        if start is not None and record["StartDate"] < start:
            return False
        return end is None or record["EndDate"] <= end

    chosen = [record for record in org.iter_records(TIMESHEETS) if keep(record)]
    if (framework.query_param(request, "sort") or "").strip().lower() == "startdate":
        chosen.sort(key=lambda record: record["StartDate"], reverse=True)
    return chosen, page


@router.get("/Timesheets")
def list_timesheets(request: Request, ctx: ApiContext = Depends(guard)) -> Response:
    try:
        chosen, page = _select(ctx.org, request)
    except Problem as exc:
        return _problem(ctx, exc)
    items = chosen[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    body = _envelope(ctx)
    body["pagination"] = {"page": page, "pageSize": PAGE_SIZE,
                          "pageCount": math.ceil(len(chosen) / PAGE_SIZE),
                          "itemCount": len(chosen)}
    body["timesheets"] = [render(ctx.org, record, lines=False) for record in items]
    return wire.XeroJSONResponse(body)


@router.get("/Timesheets/{timesheet_id}")
def get_timesheet(timesheet_id: str, ctx: ApiContext = Depends(guard)) -> Response:
    return _ok(ctx, timesheet=render(ctx.org, _timesheet(ctx.org, timesheet_id)))


# -- writing ------------------------------------------------------------------------------------


async def _write(ctx: ApiContext, request: Request,
                 handle: Callable[[dict[str, Any]], Response], *, body: bool = True) -> Response:
    """Parse the JSON object body, run ``handle`` under the state lock, honour
    ``Idempotency-Key``, and render problems."""
    raw = await request.body()

    def produce() -> Response:
        try:
            parsed = wire.read_json(raw) if body else {}
            if not isinstance(parsed, dict):
                raise Problem(("body", "The request body must be a JSON object"))
            with ctx.state.transaction():
                return handle(parsed)
        except Problem as exc:
            return _problem(ctx, exc)
        except ElementError as exc:
            return _problem(ctx, Problem(*(("timesheet", m) for m in exc.messages)))
        except wire.WireError as exc:
            return _problem(ctx, Problem(("body", str(exc))))

    return framework.idempotent(ctx, request, raw, produce)


def _guid(element: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = element.get(name)
    if value is None or value == "":
        if required:
            raise Problem((name, f"{name} is required"))
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise Problem((name, f"{name} must be a valid GUID")) from exc


def _date(element: Mapping[str, Any], name: str) -> date:
    value = element.get(name)
    if value is None or value == "":
        raise Problem((name, f"{name} is required"))
    try:
        return wire.parse_date(value)
    except wire.WireError as exc:
        raise Problem((name, f"{name} must be a date (YYYY-MM-DD)")) from exc


def _line(org: Organisation, record: Record, element: Any, line_id: str | None = None) -> Line:
    """One 2.0 line from a body, checked against the timesheet's period."""
    if not isinstance(element, Mapping):
        raise Problem(("timesheetLines", "Each timesheet line must be an object"))
    day = _date(element, "date")
    if not record["StartDate"] <= day <= record["EndDate"]:
        raise Problem(("date", "The date must fall within the timesheet period"))
    rate_id = _guid(element, "earningsRateID")
    assert rate_id is not None
    if find(org, EARNINGS_RATES, rate_id) is None:
        raise Problem(("earningsRateID", f"Earnings rate '{rate_id}' does not exist"))
    tracking_id = _guid(element, "trackingItemID", required=False)
    if element.get("numberOfUnits") is None:
        raise Problem(("numberOfUnits", "numberOfUnits is required"))
    units = wire.parse_decimal(element["numberOfUnits"], "numberOfUnits")
    if units <= 0:
        raise Problem(("numberOfUnits", "numberOfUnits must be greater than 0"))
    return Line(line_id or str(uuid.uuid4()), day, rate_id, tracking_id, units)


def _store(ctx: ApiContext, record: Record, lines: list[Line], status: str) -> Record:
    now = framework.now_ms(ctx)
    stored = timesheet(record["EmployeeID"], record["StartDate"], record["EndDate"], status,
                       _v1_lines(record, lines, now), updated=now,
                       timesheet_id=record["TimesheetID"])
    ctx.org.put_record(TIMESHEETS, stored["TimesheetID"], stored)
    return stored


def _editable(record: Record) -> None:
    if record["Status"] == "PROCESSED":
        raise Problem(("status", COMPLETED))


@router.post("/Timesheets")
async def create_timesheet(request: Request, ctx: ApiContext = Depends(guard)) -> Response:
    def handle(body: dict[str, Any]) -> Response:
        org = ctx.org
        employee_id = _guid(body, "employeeID")
        calendar_id = _guid(body, "payrollCalendarID")
        start, end = _date(body, "startDate"), _date(body, "endDate")
        employee = find(org, EMPLOYEES, employee_id)
        if employee is None:
            raise Problem(("employeeID", f"Employee '{employee_id}' does not exist"))
        if str(employee.get("PayrollCalendarID") or "").lower() != calendar_id:
            raise Problem(("payrollCalendarID",
                           "The payroll calendar is not the employee's payroll calendar"))
        try:
            check_period(org, employee, start, end)
        except ElementError as exc:
            raise Problem(*(("startDate", m) for m in exc.messages)) from exc
        assert employee_id is not None
        if is_duplicate(org, employee_id, start, end, None):
            raise Problem(("timesheet", DUPLICATE))
        draft = timesheet(employee_id, start, end, "DRAFT", [], updated=framework.now_ms(ctx))
        raw_lines = body.get("timesheetLines") or []
        if not isinstance(raw_lines, list):
            raise Problem(("timesheetLines", "timesheetLines must be a list"))
        lines = [_line(org, draft, element) for element in raw_lines]
        stored = _store(ctx, draft, lines, "DRAFT")
        return _ok(ctx, timesheet=render(org, stored))

    return await _write(ctx, request, handle)


@router.delete("/Timesheets/{timesheet_id}")
async def delete_timesheet(timesheet_id: str, request: Request,
                           ctx: ApiContext = Depends(guard)) -> Response:
    record = _timesheet(ctx.org, timesheet_id)

    def handle(_body: dict[str, Any]) -> Response:
        _editable(record)
        ctx.org.delete_record(TIMESHEETS, record["TimesheetID"])
        return _ok(ctx)

    return await _write(ctx, request, handle, body=False)


def _transition(status: str, allowed_from: tuple[str, ...]) -> Callable[..., Any]:
    async def endpoint(timesheet_id: str, request: Request,
                       ctx: ApiContext = Depends(guard)) -> Response:
        record = _timesheet(ctx.org, timesheet_id)

        def handle(_body: dict[str, Any]) -> Response:
            _editable(record)
            if record["Status"] not in allowed_from:
                raise Problem(("status", f"A timesheet that is "
                               f"{V2_STATUS[record['Status']]} cannot become "
                               f"{V2_STATUS[status]}"))
            stored = _store(ctx, record, v2_lines(record), status)
            return _ok(ctx, timesheet=render(ctx.org, stored))

        return await _write(ctx, request, handle, body=False)

    return endpoint


router.add_api_route("/Timesheets/{timesheet_id}/Approve",
                     _transition("APPROVED", ("DRAFT", "REQUESTED", "REJECTED", "APPROVED")),
                     methods=["POST"], name="approve_timesheet")
router.add_api_route("/Timesheets/{timesheet_id}/RevertToDraft",
                     _transition("DRAFT", ("DRAFT", "REQUESTED", "REJECTED", "APPROVED")),
                     methods=["POST"], name="revert_timesheet")


@router.post("/Timesheets/{timesheet_id}/Lines")
async def create_line(timesheet_id: str, request: Request,
                      ctx: ApiContext = Depends(guard)) -> Response:
    record = _timesheet(ctx.org, timesheet_id)

    def handle(body: dict[str, Any]) -> Response:
        _editable(record)
        line = _line(ctx.org, record, body)
        _store(ctx, record, [*v2_lines(record), line], record["Status"])
        return _ok(ctx, timesheetLine=line.render())

    return await _write(ctx, request, handle)


def _existing_line(record: Record, line_id: str) -> Line:
    wanted = line_id.lower()
    for line in v2_lines(record):
        if line.line_id == wanted:
            return line
    raise not_found()


@router.put("/Timesheets/{timesheet_id}/Lines/{line_id}")
async def update_line(timesheet_id: str, line_id: str, request: Request,
                      ctx: ApiContext = Depends(guard)) -> Response:
    record = _timesheet(ctx.org, timesheet_id)
    existing = _existing_line(record, line_id)

    def handle(body: dict[str, Any]) -> Response:
        _editable(record)
        line = _line(ctx.org, record, body, existing.line_id)
        lines = [line if other.line_id == existing.line_id else other
                 for other in v2_lines(record)]
        _store(ctx, record, lines, record["Status"])
        return _ok(ctx, timesheetLine=line.render())

    return await _write(ctx, request, handle)


@router.delete("/Timesheets/{timesheet_id}/Lines/{line_id}")
async def delete_line(timesheet_id: str, line_id: str, request: Request,
                      ctx: ApiContext = Depends(guard)) -> Response:
    record = _timesheet(ctx.org, timesheet_id)
    existing = _existing_line(record, line_id)

    def handle(_body: dict[str, Any]) -> Response:
        _editable(record)
        lines = [other for other in v2_lines(record) if other.line_id != existing.line_id]
        _store(ctx, record, lines, record["Status"])
        return _ok(ctx)

    return await _write(ctx, request, handle, body=False)
