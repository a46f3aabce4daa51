"""Xero tax rates -> the work side's ``TaxRate`` fields (pure: no I/O).

The rate that prices a line is ``EffectiveRate``: what Xero computes tax with, compound
components included. ``DisplayTaxRate`` is the fallback, then the sum of the components.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ledgerbridge.sync.mapping.values import text, to_decimal

NAME_LIMIT = 100


def rate_percent(record: dict[str, Any]) -> Decimal:
    """The percentage a line is taxed at under this Xero tax rate."""
    for name in ("EffectiveRate", "DisplayTaxRate"):
        value = to_decimal(record.get(name))
        if value is not None:
            return value
    components = record.get("TaxComponents") or []
    return sum((to_decimal(c.get("Rate")) or Decimal(0) for c in components), Decimal(0))


def local_fields(record: dict[str, Any]) -> dict[str, Any]:
    """name, rate_percent and archived of the local tax rate for this ``TaxType``."""
    tax_type = text(record.get("TaxType"), 50) or ""
    return {
        "name": text(record.get("Name"), NAME_LIMIT) or tax_type,
        "rate_percent": rate_percent(record),
        "archived": str(record.get("Status") or "ACTIVE").upper() != "ACTIVE",
    }
