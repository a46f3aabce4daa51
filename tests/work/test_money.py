"""Property tests of Xero's rounding rules in ``ledgerbridge.money``.

The expected figures are computed independently, with integer arithmetic on the digits of
the string inputs, so a shared mistake in Decimal handling cannot make both sides agree.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerbridge.money import (
    LineAmountType,
    PricedLine,
    document_totals,
    line_amount,
    line_tax,
)

EXAMPLES = settings(max_examples=200, deadline=None)


def _fixed(value: int, places: int) -> str:
    """An integer count of 10^-places units as a plain decimal string: 12345, 4 -> '1.2345'."""
    sign = "-" if value < 0 else ""
    digits = str(abs(value)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def _units(text: str, places: int) -> int:
    """'1.2345', 4 -> 12345: parse the string back without Decimal."""
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("-").partition(".")
    return sign * int(whole + frac.ljust(places, "0"))


def _round_half_away(value: Fraction) -> int:
    """The nearest integer, ties away from zero."""
    magnitude = abs(value)
    rounded = int(magnitude + Fraction(1, 2))  # int() floors a non-negative fraction
    return rounded if value >= 0 else -rounded


def _cents(count: int) -> Decimal:
    return Decimal(_fixed(count, 2))


quantities = st.integers(-10**10, 10**10).map(lambda n: _fixed(n, 4))  # up to 1,000,000.0000
unit_amounts = st.integers(-10**10, 10**10).map(lambda n: _fixed(n, 4))
discounts = st.one_of(st.none(), st.integers(0, 10000).map(lambda n: _fixed(n, 2)))
rates = st.one_of(
    st.sampled_from(["0", "10", "15", "12.5", "20", "7.6923"]),
    st.integers(0, 1_000_000).map(lambda n: _fixed(n, 4)),
)


def _expected_amount_cents(quantity: str, unit: str, discount: str | None) -> int:
    exact = Fraction(_units(quantity, 4), 10**4) * Fraction(_units(unit, 4), 10**4)
    if discount is not None:
        exact = exact * (100 - Fraction(_units(discount, 2), 100)) / 100
    return _round_half_away(exact * 100)


def _expected_tax_cents(amount_cents: int, rate: str, kind: LineAmountType) -> int:
    rate_fraction = Fraction(_units(rate, 4), 10**4)
    if kind is LineAmountType.NO_TAX:
        return 0
    if kind is LineAmountType.EXCLUSIVE:
        return _round_half_away(amount_cents * rate_fraction / 100)
    return _round_half_away(amount_cents * rate_fraction / (100 + rate_fraction))


@EXAMPLES
@given(quantities, unit_amounts, discounts)
def test_line_amount_rounds_half_away_from_zero(quantity: str, unit: str, discount: str | None) -> None:
    amount = line_amount(Decimal(quantity), Decimal(unit), None if discount is None else Decimal(discount))
    assert amount == _cents(_expected_amount_cents(quantity, unit, discount))
    assert amount.as_tuple().exponent == -2


@EXAMPLES
@given(st.integers(-10**9, 10**9), rates, st.sampled_from(list(LineAmountType)))
def test_line_tax_rounds_half_away_from_zero(amount_cents: int, rate: str, kind: LineAmountType) -> None:
    tax = line_tax(_cents(amount_cents), Decimal(rate), kind)
    assert tax == _cents(_expected_tax_cents(amount_cents, rate, kind))


@pytest.mark.parametrize(
    ("quantity", "unit", "expected"),
    [
        ("1", "0.005", "0.01"), ("1", "-0.005", "-0.01"), ("3", "33.3333", "100.00"),
        ("1", "19.995", "20.00"), ("-1", "19.995", "-20.00"), ("1", "0.0049", "0.00"),
    ],
)
def test_known_ties_and_near_ties(quantity: str, unit: str, expected: str) -> None:
    assert line_amount(Decimal(quantity), Decimal(unit)) == Decimal(expected)


Lines = list[tuple[str, str, str, str | None]]
line_inputs = st.tuples(quantities, unit_amounts, rates, discounts)
documents = st.lists(line_inputs, min_size=0, max_size=12)


def _priced(lines: Lines) -> list[PricedLine]:
    return [
        PricedLine(Decimal(q), Decimal(u), Decimal(r), None if d is None else Decimal(d))
        for q, u, r, d in lines
    ]


def _expected_lines(lines: Lines, kind: LineAmountType) -> tuple[list[int], list[int]]:
    """Independently computed (line amount cents, tax cents) of each line."""
    amounts = [_expected_amount_cents(q, u, d) for q, u, _, d in lines]
    taxes = [_expected_tax_cents(a, line[2], kind) for a, line in zip(amounts, lines, strict=True)]
    return amounts, taxes


@EXAMPLES
@given(documents)
def test_exclusive_total_is_sub_total_plus_tax(lines: Lines) -> None:
    totals = document_totals(_priced(lines), LineAmountType.EXCLUSIVE)
    amounts, taxes = _expected_lines(lines, LineAmountType.EXCLUSIVE)
    assert totals.sub_total == _cents(sum(amounts))
    assert totals.total_tax == _cents(sum(taxes))
    assert totals.total == totals.sub_total + totals.total_tax


@EXAMPLES
@given(documents)
def test_inclusive_total_is_the_sum_of_line_amounts(lines: Lines) -> None:
    totals = document_totals(_priced(lines), LineAmountType.INCLUSIVE)
    amounts, taxes = _expected_lines(lines, LineAmountType.INCLUSIVE)
    assert totals.total == _cents(sum(amounts))
    assert totals.total_tax == _cents(sum(taxes))
    assert totals.sub_total + totals.total_tax == totals.total


@EXAMPLES
@given(documents)
def test_no_tax_documents_carry_no_tax(lines: Lines) -> None:
    totals = document_totals(_priced(lines), LineAmountType.NO_TAX)
    assert totals.total_tax == 0
    assert totals.total == totals.sub_total


@EXAMPLES
@given(
    documents.flatmap(lambda ls: st.tuples(st.just(ls), st.permutations(ls))),
    st.sampled_from(list(LineAmountType)),
)
def test_totals_do_not_depend_on_line_order(
    pair: tuple[Lines, Lines],
    kind: LineAmountType,
) -> None:
    original, shuffled = pair
    assert document_totals(_priced(original), kind) == document_totals(_priced(shuffled), kind)


@EXAMPLES
@given(documents, st.sampled_from(list(LineAmountType)))
def test_amounts_are_always_decimal_cents(lines: Lines, kind: LineAmountType) -> None:
    totals = document_totals(_priced(lines), kind)
    for value in (totals.sub_total, totals.total_tax, totals.total):
        assert type(value) is Decimal
        assert value.as_tuple().exponent == -2


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        line_amount(0.1, Decimal("3"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        line_tax(Decimal("10.00"), 10.0, LineAmountType.EXCLUSIVE)  # type: ignore[arg-type]
