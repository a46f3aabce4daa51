"""``/PayItems``: earnings rates, deduction types, leave types and reimbursement types.

``GET /PayItems`` answers one *object* (not an array) holding four lists
(XERO_API_NOTES 5.3). ``POST /PayItems`` takes that same object and adds earnings rates;
the other three kinds are read-only here because nothing this project syncs writes them.

Rules applied to a new earnings rate: ``Name``, ``EarningsType``, ``RateType`` and
``IsQualifyingEarnings`` are required, ``IsQualifyingEarnings`` cannot be true when
``IsExemptFromSuper`` is (both from the spec's 400 description), names are unique,
``RATEPERUNIT`` needs ``TypeOfUnits`` and ``MULTIPLE`` needs ``Multiplier``.
``RatePerUnit`` is a *string* in the spec and the SDK model, so it is sent as one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ledgerbridge.sandbox.accounting import framework, wire
from ledgerbridge.sandbox.errors import XeroApiException
from ledgerbridge.sandbox.guard import ApiContext, require_resource
from ledgerbridge.sandbox.models import Organisation, Record
from ledgerbridge.sandbox.payroll_au.common import (
    ElementError,
    boolean,
    compact,
    decimal,
    enum_value,
    optional_id,
    require_text,
    respond,
)

__all__ = ["EARNINGS_RATES", "PAY_ITEM_KINDS", "earnings_rate", "router"]

router = APIRouter()

EARNINGS_RATES = "EarningsRates"
PAY_ITEM_KINDS = ("EarningsRates", "DeductionTypes", "LeaveTypes", "ReimbursementTypes")
EARNINGS_TYPES = (
    "FIXED", "ORDINARYTIMEEARNINGS", "OVERTIMEEARNINGS", "ALLOWANCE", "LUMPSUMD",
    "EMPLOYMENTTERMINATIONPAYMENT", "LUMPSUMA", "LUMPSUMB", "BONUSESANDCOMMISSIONS",
    "LUMPSUME", "LUMPSUMW", "DIRECTORSFEES", "PAIDPARENTALLEAVE", "WORKERSCOMPENSATION",
)
RATE_TYPES = ("FIXEDAMOUNT", "MULTIPLE", "RATEPERUNIT")
ALLOWANCE_TYPES = ("CAR", "TRANSPORT", "LAUNDRY", "MEALS", "TRAVEL", "OTHER", "TOOLS", "TASKS",
                   "QUALIFICATIONS")
_FLAGS = ("IsExemptFromTax", "IsExemptFromSuper", "IsReportableAsW1",
          "AllowanceContributesToAnnualLeaveRate", "AllowanceContributesToOvertimeRate")


def earnings_rate(
    name: str,
    earnings_type: str,
    rate_type: str,
    *,
    updated: datetime,
    account_code: str = "477",
    type_of_units: str | None = "Hours",
    rate_per_unit: Decimal | None = None,
    multiplier: Decimal | None = None,
    amount: Decimal | None = None,
    exempt_from_super: bool = False,
    qualifying: bool = True,
    rate_id: str | None = None,
    allowance_type: str | None = None,
) -> Record:
    """A stored earnings rate (seeders and ``POST /PayItems`` both build them here)."""
    return {
        "EarningsRateID": rate_id or str(uuid.uuid4()),
        "Name": name,
        "EarningsType": earnings_type,
        "RateType": rate_type,
        "AccountCode": account_code,
        "TypeOfUnits": type_of_units if rate_type != "FIXEDAMOUNT" else None,
        "RatePerUnit": rate_per_unit,
        "Multiplier": multiplier,
        "Amount": amount,
        "IsExemptFromTax": False,
        "IsExemptFromSuper": exempt_from_super,
        "IsReportableAsW1": False,
        "IsQualifyingEarnings": qualifying and not exempt_from_super,
        "AllowanceContributesToAnnualLeaveRate": False,
        "AllowanceContributesToOvertimeRate": False,
        "AllowanceType": allowance_type,
        "UpdatedDateUTC": updated,
        "CurrentRecord": True,
    }


def render_earnings_rate(record: Record) -> dict[str, Any]:
    out = compact(record)
    if isinstance(out.get("RatePerUnit"), Decimal):
        out["RatePerUnit"] = str(out["RatePerUnit"])
    return out


def _render(kind: str, record: Record) -> dict[str, Any]:
    return render_earnings_rate(record) if kind == EARNINGS_RATES else compact(record)


def _pay_items(org: Organisation) -> dict[str, list[dict[str, Any]]]:
    return {
        kind: [_render(kind, r) for r in sorted(org.iter_records(kind), key=lambda r: r["Name"])]
        for kind in PAY_ITEM_KINDS
    }


@router.get("/PayItems")
def get_pay_items(ctx: ApiContext = Depends(require_resource("PayItems"))) -> Response:
    return respond(ctx, "PayItems", _pay_items(ctx.org))


def _validated_rate(ctx: ApiContext, element: dict[str, Any]) -> Record:
    """Check one new earnings rate completely before anything is stored."""
    name = require_text(element, "Name", "Name is required")
    if len(name) > 100:
        raise ElementError("Name must be 100 characters or fewer")
    if any(r["Name"].lower() == name.lower() for r in ctx.org.iter_records(EARNINGS_RATES)):
        raise ElementError(f"An earnings rate with the name '{name}' already exists")
    earnings_type = enum_value(element, "EarningsType", EARNINGS_TYPES)
    rate_type = enum_value(element, "RateType", RATE_TYPES)
    if earnings_type is None or rate_type is None:
        raise ElementError("EarningsType and RateType are required")
    qualifying = boolean(element, "IsQualifyingEarnings")
    if qualifying is None:
        raise ElementError("IsQualifyingEarnings is required")
    exempt = bool(boolean(element, "IsExemptFromSuper", False))
    if qualifying and exempt:
        raise ElementError("IsQualifyingEarnings cannot be true when IsExemptFromSuper is true")
    type_of_units = element.get("TypeOfUnits")
    if rate_type == "RATEPERUNIT" and not type_of_units:
        raise ElementError("TypeOfUnits is required for a RATEPERUNIT earnings rate")
    multiplier = decimal(element, "Multiplier")
    if rate_type == "MULTIPLE" and multiplier is None:
        raise ElementError("Multiplier is required for a MULTIPLE earnings rate")
    record = earnings_rate(
        name, earnings_type, rate_type, updated=framework.now_ms(ctx),
        account_code=str(element.get("AccountCode") or "477"),
        type_of_units=str(type_of_units) if type_of_units else None,
        rate_per_unit=decimal(element, "RatePerUnit"), multiplier=multiplier,
        amount=decimal(element, "Amount"), exempt_from_super=exempt, qualifying=qualifying,
        rate_id=optional_id(element, "EarningsRateID"),
        allowance_type=enum_value(element, "AllowanceType", ALLOWANCE_TYPES),
    )
    for flag in _FLAGS:
        record[flag] = bool(boolean(element, flag, False))
    return record


def _new_rates(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise XeroApiException("The request body must be a PayItem object")
    rates: Any = next((v for k, v in body.items() if k.lower() == "earningsrates"), [])
    if not isinstance(rates, list) or not all(isinstance(r, dict) for r in rates):
        raise XeroApiException("EarningsRates must be a list of objects")
    return rates


@router.post("/PayItems")
async def create_pay_item(
    request: Request, ctx: ApiContext = Depends(require_resource("PayItems"))
) -> Response:
    """Add earnings rates. Every rate is checked first; one bad rate refuses the request
    (a ``PayItem`` is one object, so there is no partial batch to report)."""
    raw = await request.body()

    def produce() -> Response:
        elements = _new_rates(wire.read_json(raw))
        records: list[Record] = []
        failures: list[dict[str, Any]] = []
        for element in elements:
            try:
                records.append(_validated_rate(ctx, element))
            except (ElementError, wire.WireError) as exc:
                messages = exc.messages if isinstance(exc, ElementError) else [str(exc)]
                failures.append(wire.element_errors(element, messages))
        if failures:
            raise wire.validation_exception(failures)
        with ctx.state.transaction():
            for record in records:
                ctx.org.put_record(EARNINGS_RATES, record["EarningsRateID"], record)
        return respond(ctx, "PayItems", {EARNINGS_RATES: [render_earnings_rate(r) for r in records]})

    try:
        return framework.idempotent(ctx, request, raw, produce)
    except XeroApiException as exc:  # rendered here: the echo may hold Decimals
        return wire.XeroJSONResponse(exc.body(), status_code=exc.status)
