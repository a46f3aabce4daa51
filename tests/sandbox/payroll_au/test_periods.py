"""Pay-period arithmetic, forwards and backwards from a calendar's upcoming period."""

from __future__ import annotations

from datetime import date

import pytest

from ledgerbridge.sandbox.payroll_au.periods import period_containing, period_of


@pytest.mark.parametrize(("kind", "anchor", "day", "expected"), [
    ("WEEKLY", date(2026, 11, 16), date(2026, 11, 18), (date(2026, 11, 16), date(2026, 11, 22))),
    ("WEEKLY", date(2026, 11, 16), date(2026, 11, 15), (date(2026, 11, 9), date(2026, 11, 15))),
    ("FORTNIGHTLY", date(2026, 11, 16), date(2026, 10, 20), (date(2026, 10, 19), date(2026, 11, 1))),
    ("FOURWEEKLY", date(2026, 11, 16), date(2026, 12, 14), (date(2026, 12, 14), date(2027, 1, 10))),
    ("MONTHLY", date(2026, 1, 1), date(2026, 2, 14), (date(2026, 2, 1), date(2026, 2, 28))),
    ("MONTHLY", date(2026, 1, 1), date(2025, 12, 31), (date(2025, 12, 1), date(2025, 12, 31))),
    ("MONTHLY", date(2026, 1, 31), date(2026, 3, 1), (date(2026, 2, 28), date(2026, 3, 30))),
    ("TWICEMONTHLY", date(2026, 1, 1), date(2026, 2, 20), (date(2026, 2, 16), date(2026, 2, 28))),
    ("TWICEMONTHLY", date(2026, 1, 1), date(2026, 2, 3), (date(2026, 2, 1), date(2026, 2, 15))),
    ("QUARTERLY", date(2026, 1, 1), date(2026, 8, 9), (date(2026, 7, 1), date(2026, 9, 30))),
])
def test_period_containing(kind: str, anchor: date, day: date, expected: tuple[date, date]) -> None:
    assert period_containing(kind, anchor, day) == expected


def test_upcoming_period_starts_on_the_anchor() -> None:
    assert period_of("FORTNIGHTLY", date(2026, 11, 16)) == (date(2026, 11, 16), date(2026, 11, 29))
