"""``/Employees``: list (where, order, If-Modified-Since, 100 a page), read, create, update.

``POST /Employees`` creates, or updates an element carrying an existing ``EmployeeID``;
``POST /Employees/{id}`` updates that employee. Updates merge: fields left out keep their
values, as Xero's POST does. Validated (XERO_API_NOTES 5.2 and the spec's schemas):

* ``FirstName``, ``LastName`` and ``DateOfBirth`` (the ``Employee`` schema's required list),
  and on create a ``HomeAddress`` with ``AddressLine1`` (the ``HomeAddress`` schema
  requires it, and Xero needs an address to pay an employee);
* ``Region`` one of the AU states, ``Gender``, ``Status``, ``EmploymentType`` from the
  spec's enums, so the SDK can read the record back;
* ``PayrollCalendarID`` and ``OrdinaryEarningsRateID`` name records that exist.

Xero's wording for these failures is not documented; the messages name the field.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ledgerbridge.sandbox.accounting import framework
from ledgerbridge.sandbox.errors import not_found
from ledgerbridge.sandbox.guard import ApiContext, require_resource
from ledgerbridge.sandbox.models import Record
from ledgerbridge.sandbox.payroll_au.calendars import CALENDARS
from ledgerbridge.sandbox.payroll_au.common import (
    ElementError,
    Resource,
    boolean,
    compact,
    enum_value,
    find,
    list_response,
    optional_date,
    optional_id,
    respond,
    write,
)
from ledgerbridge.sandbox.payroll_au.pay_items import EARNINGS_RATES

__all__ = ["EMPLOYEES", "router"]

router = APIRouter()

EMPLOYEES = "Employees"
STATES = ("ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA")
GENDERS = ("N", "M", "F", "I")
_TEXT = ("Title", "FirstName", "MiddleNames", "LastName", "Email", "Phone", "Mobile",
         "TwitterUserName", "JobTitle", "Classification", "EmployeeGroupName")
_DATES = ("DateOfBirth", "StartDate", "TerminationDate")
_PASS_THROUGH = ("PayTemplate", "OpeningBalances", "TaxDeclaration", "BankAccounts",
                 "SuperMemberships", "LeaveBalances", "IncomeType", "CountryOfResidence")
_ADDRESS = ("AddressLine1", "AddressLine2", "City", "Region", "PostalCode", "Country")

RESOURCE = Resource(
    collection=EMPLOYEES,
    id_field="EmployeeID",
    type_name="Employee",
    fields=frozenset({"EmployeeID", *(_TEXT), *(_DATES), "Gender", "Status", "HomeAddress",
                      "PayrollCalendarID", "OrdinaryEarningsRateID", "UpdatedDateUTC",
                      "EmploymentType", "IsAuthorisedToApproveLeave",
                      "IsAuthorisedToApproveTimesheets", "IsSTP2Qualified"}),
)


@router.get("/Employees")
def list_employees(
    request: Request, ctx: ApiContext = Depends(require_resource("Employees"))
) -> Response:
    return list_response(ctx, request, RESOURCE, compact, default_order="LastName, FirstName")


@router.get("/Employees/{employee_id}")
def get_employee(
    employee_id: str, ctx: ApiContext = Depends(require_resource("Employees"))
) -> Response:
    record = find(ctx.org, EMPLOYEES, employee_id)
    if record is None:
        raise not_found()
    return respond(ctx, EMPLOYEES, [compact(record)])


def _address(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ElementError("HomeAddress must be an object")
    address = {key: value.get(key) for key in _ADDRESS if value.get(key) not in (None, "")}
    if not str(address.get("AddressLine1", "")).strip():
        raise ElementError("HomeAddress.AddressLine1 is required")
    region = enum_value(address, "Region", STATES)
    if region is not None:
        address["Region"] = region
    if "PostalCode" in address:
        address["PostalCode"] = str(address["PostalCode"])
    return address


def _references(ctx: ApiContext, element: Mapping[str, Any], record: Record) -> None:
    for field, collection in (("PayrollCalendarID", CALENDARS),
                              ("OrdinaryEarningsRateID", EARNINGS_RATES)):
        if field not in element:
            continue
        ident = optional_id(element, field)
        if ident is not None and find(ctx.org, collection, ident) is None:
            raise ElementError(f"{field} '{ident}' does not exist")
        record[field] = ident


def _merge(ctx: ApiContext, element: Mapping[str, Any], record: Record) -> None:
    """Copy what the element sends onto ``record``, checking each field."""
    for field in _TEXT:
        if field in element:
            record[field] = None if element[field] is None else str(element[field]).strip()
    for field in _DATES:
        if field in element:
            record[field] = optional_date(element, field)
    for field, allowed in (("Gender", GENDERS), ("EmploymentType", ("EMPLOYEE", "CONTRACTOR"))):
        if field in element:
            record[field] = enum_value(element, field, allowed)
    for flag in ("IsAuthorisedToApproveLeave", "IsAuthorisedToApproveTimesheets"):
        if flag in element:
            record[flag] = boolean(element, flag)
    if element.get("HomeAddress") is not None:
        record["HomeAddress"] = _address(element["HomeAddress"])
    for field in _PASS_THROUGH:
        if field in element:
            record[field] = element[field]
    _references(ctx, element, record)


def _status(element: Mapping[str, Any], record: Record) -> None:
    """A termination date makes the employee TERMINATED (the enum's own definition)."""
    asked = enum_value(element, "Status", ("ACTIVE", "TERMINATED"))
    terminated = record.get("TerminationDate") is not None or asked == "TERMINATED"
    if asked == "TERMINATED" and record.get("TerminationDate") is None:
        raise ElementError("TerminationDate is required to terminate an employee")
    record["Status"] = "TERMINATED" if terminated else "ACTIVE"


def _require(record: Record, creating: bool) -> None:
    missing = [f"{field} is required" for field in ("FirstName", "LastName", "DateOfBirth")
               if not record.get(field)]
    if creating and not record.get("HomeAddress"):
        missing.append("HomeAddress is required")
    if missing:
        raise ElementError(*missing)


def _apply(ctx: ApiContext, element: dict[str, Any], path_id: str | None) -> dict[str, Any]:
    ident = path_id or optional_id(element, "EmployeeID")
    existing = find(ctx.org, EMPLOYEES, ident)
    if ident is not None and existing is None and path_id is not None:
        raise not_found()
    if ident is not None and existing is None:
        raise ElementError(f"Employee '{ident}' does not exist")
    record: Record = dict(existing) if existing else {"EmployeeID": str(uuid.uuid4()),
                                                      "IsSTP2Qualified": False}
    _merge(ctx, element, record)
    _require(record, creating=existing is None)
    _status(element, record)
    record["UpdatedDateUTC"] = framework.now_ms(ctx)
    ctx.org.put_record(EMPLOYEES, record["EmployeeID"], record)
    return compact(record)


@router.post("/Employees")
async def create_employees(
    request: Request, ctx: ApiContext = Depends(require_resource("Employees"))
) -> Response:
    raw = await request.body()
    return write(ctx, request, raw, RESOURCE, lambda e: _apply(ctx, e, None))


@router.post("/Employees/{employee_id}")
async def update_employee(
    employee_id: str, request: Request, ctx: ApiContext = Depends(require_resource("Employees"))
) -> Response:
    raw = await request.body()
    if find(ctx.org, EMPLOYEES, employee_id) is None:
        raise not_found()
    ident = employee_id.lower()
    return write(ctx, request, raw, RESOURCE,
                                    lambda e: _apply(ctx, e, ident))
