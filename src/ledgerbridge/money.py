"""Money arithmetic the way Xero does it.

Xero rounds each line to 2 decimal places (half away from zero) and adds the rounded lines;
tax is computed per line and rounded per line. Unit amounts may carry 4 places, quantities
4 places. Totals are always derived from lines by these functions, never stored.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
UNIT_PLACES = Decimal("0.0001")
ZERO = Decimal("0.00")


class LineAmountType(enum.StrEnum):
    """Whether line amounts exclude tax, include it, or carry none (Xero's LineAmountTypes)."""

    EXCLUSIVE = "exclusive"
    INCLUSIVE = "inclusive"
    NO_TAX = "no_tax"


def round_money(value: Decimal) -> Decimal:
    """Round to cents, half away from zero (ROUND_HALF_UP acts on the magnitude)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round_unit(value: Decimal) -> Decimal:
    """Unit amounts and quantities keep up to 4 places."""
    return value.quantize(UNIT_PLACES, rounding=ROUND_HALF_UP)


def line_amount(quantity: Decimal, unit_amount: Decimal, discount_rate: Decimal | None = None) -> Decimal:
    """Quantity x unit amount, less a percentage discount, rounded once to cents."""
    gross = quantity * unit_amount
    if discount_rate:
        gross = gross * (Decimal(100) - discount_rate) / Decimal(100)
    return round_money(gross)


def line_tax(amount: Decimal, rate_percent: Decimal, kind: LineAmountType) -> Decimal:
    """Tax on one line: added on top (exclusive) or contained within (inclusive)."""
    if kind is LineAmountType.NO_TAX or not rate_percent:
        return ZERO
    if kind is LineAmountType.EXCLUSIVE:
        return round_money(amount * rate_percent / Decimal(100))
    return round_money(amount * rate_percent / (Decimal(100) + rate_percent))


@dataclass(frozen=True)
class PricedLine:
    """The inputs of one line that matter for totals."""

    quantity: Decimal
    unit_amount: Decimal
    tax_rate_percent: Decimal
    discount_rate: Decimal | None = None


@dataclass(frozen=True)
class Totals:
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal


def document_totals(lines: Iterable[PricedLine], kind: LineAmountType) -> Totals:
    """Sub-total, tax and total of a document from its lines, as Xero derives them.

    For inclusive lines the line amounts already contain the tax, so the sub-total is the
    sum of lines less the tax.
    """
    amounts = Decimal(0)
    tax = Decimal(0)
    for line in lines:
        amount = line_amount(line.quantity, line.unit_amount, line.discount_rate)
        amounts += amount
        tax += line_tax(amount, line.tax_rate_percent, kind)
    amounts, tax = round_money(amounts), round_money(tax)
    if kind is LineAmountType.INCLUSIVE:
        return Totals(sub_total=amounts - tax, total_tax=tax, total=amounts)
    return Totals(sub_total=amounts, total_tax=tax, total=amounts + tax)
