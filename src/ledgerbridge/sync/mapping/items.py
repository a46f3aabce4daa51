"""Xero items <-> the work side's ``Item`` fields (pure: no I/O).

Prices stay exact decimals; a detail Xero leaves out (an item not sold, say) clears the
matching local fields, as Xero clears them when ``IsSold`` or ``IsPurchased`` is false.

``shared`` and ``shared_local`` give the one canonical form both sides are compared and
hashed in (the import and the two-way sync both link with it, so an imported item is not
seen as changed). It leaves ``archived`` out: Xero has no archive for items, so neither
side's archive state can make an item look changed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ledgerbridge.money import round_unit
from ledgerbridge.sync.mapping.values import text, to_decimal, wire_number
from ledgerbridge.work.models import Item

SHARED_FIELDS = (
    "code",
    "name",
    "description",
    "is_sold",
    "is_purchased",
    "sale_unit_price",
    "sale_account_code",
    "sale_tax_type",
    "purchase_unit_price",
    "purchase_account_code",
    "purchase_tax_type",
)
_SALE = ("sale_unit_price", "sale_account_code", "sale_tax_type")
_PURCHASE = ("purchase_unit_price", "purchase_account_code", "purchase_tax_type")
_PRICES = ("sale_unit_price", "purchase_unit_price")


def local_fields(record: dict[str, Any]) -> dict[str, Any]:
    """Every ``Item`` column a Xero item determines."""
    sales = record.get("SalesDetails") or {}
    purchases = record.get("PurchaseDetails") or {}
    return {
        "code": text(record.get("Code"), 30),
        "name": text(record.get("Name"), 50),
        "description": text(record.get("Description")),
        "is_sold": bool(record.get("IsSold", True)),
        "is_purchased": bool(record.get("IsPurchased", True)),
        "sale_unit_price": to_decimal(sales.get("UnitPrice")),
        "sale_account_code": text(sales.get("AccountCode"), 10),
        "sale_tax_type": text(sales.get("TaxType"), 50),
        "purchase_unit_price": to_decimal(purchases.get("UnitPrice")),
        "purchase_account_code": text(purchases.get("AccountCode"), 10),
        "purchase_tax_type": text(purchases.get("TaxType"), 50),
        "archived": False,
    }


def _canonical(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-native and normalised: prices as 4-place text (``12.5`` and ``12.5000`` are one
    price), and the details of a side the item is not on cleared, as Xero clears them."""
    shared = {name: values.get(name) for name in SHARED_FIELDS}
    for flag, names in (("is_sold", _SALE), ("is_purchased", _PURCHASE)):
        if not shared[flag]:
            shared.update(dict.fromkeys(names))
    for name in _PRICES:
        price = shared[name]
        shared[name] = None if price is None else str(round_unit(Decimal(price)))
    return shared


def shared(record: dict[str, Any]) -> dict[str, Any]:
    """A Xero item in the canonical compared form."""
    return _canonical(local_fields(record))


def shared_local(item: Item) -> dict[str, Any]:
    """A local item in the same form."""
    return _canonical({name: getattr(item, name) for name in SHARED_FIELDS})


def column_values(fields: dict[str, Any]) -> dict[str, Any]:
    """Canonical fields (all or some) back into column values: prices as ``Decimal``."""
    return {
        name: (Decimal(value) if name in _PRICES and value is not None else value)
        for name, value in fields.items()
        if name in SHARED_FIELDS
    }


def _details(price: Decimal | None, account: str | None, tax_type: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if price is not None:
        details["UnitPrice"] = wire_number(round_unit(price))
    if account:
        details["AccountCode"] = account
    if tax_type:
        details["TaxType"] = tax_type
    return details


def to_xero(item: Item, xero_id: str | None) -> dict[str, Any]:
    """The payload creating or updating the item. Empty texts are sent as "" so a field
    cleared here is cleared in Xero too."""
    payload: dict[str, Any] = {
        "Code": item.code,
        "Name": item.name or "",
        "Description": item.description or "",
        "IsSold": item.is_sold,
        "IsPurchased": item.is_purchased,
    }
    if xero_id:
        payload["ItemID"] = xero_id
    if item.is_sold:
        payload["SalesDetails"] = _details(item.sale_unit_price, item.sale_account_code, item.sale_tax_type)
    if item.is_purchased:
        payload["PurchaseDetails"] = _details(
            item.purchase_unit_price, item.purchase_account_code, item.purchase_tax_type
        )
    return payload
