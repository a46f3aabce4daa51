"""Document lines and headers <-> Xero ``LineItems`` and header fields (pure: no I/O).

Shared by the credit note and purchase order mappings. The compared form is JSON-native
(decimals and dates as text), so the values kept on a link compare exactly with fresh ones.
``unit_places`` is how many places Xero shows unit amounts with on that collection: 4 where
``unitdp=4`` is honoured (credit notes), 2 where it is not (purchase orders), so a unit
amount is compared only as precisely as Xero can report it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ledgerbridge.money import LineAmountType, round_unit
from ledgerbridge.sync.mapping.values import text, to_decimal, wire_number
from ledgerbridge.work.documents import Line, LineSpec
from ledgerbridge.xero.dates import parse_date

LINE_AMOUNT_TYPES = {
    LineAmountType.EXCLUSIVE: "Exclusive",
    LineAmountType.INCLUSIVE: "Inclusive",
    LineAmountType.NO_TAX: "NoTax",
}
_FROM_XERO = {label.lower(): kind for kind, label in LINE_AMOUNT_TYPES.items()}


def _places(value: Decimal, places: int) -> str:
    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def line_amount_type(value: object) -> str:
    """Xero's ``LineAmountTypes`` (any case) as the local value; Exclusive when absent."""
    return _FROM_XERO.get(str(value or "Exclusive").lower(), LineAmountType.EXCLUSIVE).value


def iso_date(value: object) -> str | None:
    """A Xero date field as ``YYYY-MM-DD``."""
    day = parse_date(str(value)) if value else None
    return day.isoformat() if day else None


def local_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _tracking_from_xero(tags: object) -> list[dict[str, str]]:
    found = [
        {"category": str(t.get("Name") or ""), "option": str(t.get("Option") or "")}
        for t in (tags if isinstance(tags, list) else [])
        if isinstance(t, dict)
    ]
    return sorted(found, key=lambda t: t["category"].casefold())


def _tracking_local(tags: Sequence[dict[str, Any]] | None) -> list[dict[str, str]]:
    found = [
        {"category": str(t.get("category") or ""), "option": str(t.get("option") or "")} for t in tags or []
    ]
    return sorted(found, key=lambda t: t["category"].casefold())


def lines_from_xero(items: object, unit_places: int) -> list[dict[str, Any]]:
    """Xero ``LineItems`` in the compared form, in Xero's order."""
    lines = []
    for raw in items if isinstance(items, list) else []:
        quantity = to_decimal(raw.get("Quantity"))
        unit = to_decimal(raw.get("UnitAmount"))
        lines.append(
            {
                "description": str(raw.get("Description") or ""),
                "quantity": _places(quantity if quantity is not None else Decimal(1), 4),
                "unit_amount": _places(unit if unit is not None else Decimal(0), unit_places),
                "item_code": text(raw.get("ItemCode"), 30),
                "account_code": text(raw.get("AccountCode"), 10),
                "tax_type": text(raw.get("TaxType"), 50),
                "tracking": _tracking_from_xero(raw.get("Tracking")),
            }
        )
    return lines


def lines_local(lines: Sequence[Line], unit_places: int) -> list[dict[str, Any]]:
    """Local lines in the same form."""
    return [
        {
            "description": line.description,
            "quantity": _places(Decimal(line.quantity), 4),
            "unit_amount": _places(Decimal(line.unit_amount), unit_places),
            "item_code": line.item_code,
            "account_code": line.account_code,
            "tax_type": line.tax_type,
            "tracking": _tracking_local(line.tracking),
        }
        for line in lines
    ]


def line_specs(lines: Sequence[dict[str, Any]]) -> list[LineSpec]:
    """Compared lines as the specs ``work.documents`` builds rows from."""
    return [
        LineSpec(
            description=line["description"],
            quantity=Decimal(line["quantity"]),
            unit_amount=Decimal(line["unit_amount"]),
            item_code=line.get("item_code"),
            account_code=line.get("account_code"),
            tax_type=line.get("tax_type"),
            tracking=[dict(t) for t in line.get("tracking") or []],
        )
        for line in lines
    ]


def line_items(
    lines: Sequence[Line], account_code: str | None = None, tax_type: str | None = None
) -> list[dict[str, Any]]:
    """Local lines as Xero ``LineItems`` (the whole set: Xero replaces lines on update).
    ``account_code`` and ``tax_type`` are the organisation's defaults (its sync settings)
    for a line that has none: Xero refuses an approved document whose line has no account."""
    items = []
    for line in lines:
        item: dict[str, Any] = {
            "Description": line.description,
            "Quantity": wire_number(round_unit(Decimal(line.quantity))),
            "UnitAmount": wire_number(round_unit(Decimal(line.unit_amount))),
        }
        if line.item_code:
            item["ItemCode"] = line.item_code
        if line.account_code or account_code:
            item["AccountCode"] = line.account_code or account_code
        if line.tax_type or tax_type:
            item["TaxType"] = line.tax_type or tax_type
        if line.tracking:
            item["Tracking"] = [{"Name": t["category"], "Option": t["option"]} for t in line.tracking]
        items.append(item)
    return items


def contact_id(record: dict[str, Any]) -> str | None:
    """The document's Xero contact id, as the contacts sync keeps it on the client's link."""
    contact = record.get("Contact") or {}
    value = contact.get("ContactID") if isinstance(contact, dict) else None
    return str(value) if value else None


def keep_precision(specs: list[LineSpec], current: Sequence[Line], unit_places: int) -> list[LineSpec]:
    """Lines from a collection that shows unit amounts with fewer places than are kept here
    (purchase orders: 2) keep the local unit amount where it shows as the same figure, so a
    sync never rounds away the 4 places Xero itself holds (``41.3333`` stays, not ``41.33``)."""
    kept = []
    for index, spec in enumerate(specs):
        line = current[index] if index < len(current) else None
        if line is not None and _places(Decimal(line.unit_amount), unit_places) == _places(
            spec.unit_amount, unit_places
        ):
            spec = replace(spec, unit_amount=Decimal(line.unit_amount))
        kept.append(spec)
    return kept


def continued_lines(old: Sequence[str], new: Sequence[str]) -> list[int | None]:
    """For each of Xero's lines (by description), the index of the line here it continues,
    or None for a line new in Xero.

    What a line here carries (the time entries it charges) follows it through what a
    bookkeeper does in Xero: lines added or removed around it, a move (it keeps its
    description), or a reword where it stands (it keeps its place). So a line is matched by
    its description first, in order, then by its place. Each line here is continued at most
    once, so nothing it carries can end up on two lines; a line removed in Xero is continued
    by none, and what it carried is free again, as it is no longer on the document."""
    continued: list[int | None] = [None] * len(new)
    waiting: dict[str, list[int]] = {}
    for index, description in enumerate(old):
        waiting.setdefault(description, []).append(index)
    taken: set[int] = set()
    for index, description in enumerate(new):
        if waiting.get(description):
            match = waiting[description].pop(0)
            continued[index] = match
            taken.add(match)
    reworded = set(old) - set(new)
    for index in range(min(len(old), len(new))):
        if continued[index] is None and index not in taken and old[index] in reworded:
            continued[index] = index
            taken.add(index)
    return continued
