"""Pay periods agree with the sandbox's (which checks timesheets as Xero does)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ledgerbridge.payroll.periods import CALENDAR_TYPES, Period, calendar_anchor, period_containing
from ledgerbridge.sandbox.payroll_au import periods as xero_periods


@pytest.mark.parametrize("calendar_type", CALENDAR_TYPES)
@pytest.mark.parametrize("anchor", [date(2026, 11, 16), date(2026, 1, 31), date(2024, 2, 29)])
def test_every_day_falls_in_the_period_xero_expects(calendar_type: str, anchor: date) -> None:
    for offset in range(-400, 400, 3):
        day = anchor + timedelta(days=offset)
        period = period_containing(calendar_type, anchor, day)
        assert day in period
        assert (period.start, period.end) == xero_periods.period_containing(calendar_type, anchor, day)


def test_weekly_and_fortnightly_periods_and_their_days() -> None:
    monday = date(2026, 11, 16)
    assert period_containing("WEEKLY", monday, date(2026, 11, 25)) == Period(
        date(2026, 11, 23), date(2026, 11, 29)
    )
    assert period_containing("WEEKLY", monday, date(2026, 11, 15)) == Period(
        date(2026, 11, 9), date(2026, 11, 15)
    )
    fortnight = period_containing("FORTNIGHTLY", monday, date(2026, 11, 29))
    assert fortnight == Period(monday, date(2026, 11, 29))
    assert len(fortnight.days) == 14 and fortnight.days[0] == monday
    assert period_containing("MONTHLY", date(2026, 1, 31), date(2026, 2, 28)) == Period(
        date(2026, 2, 28), date(2026, 3, 30)
    )


def test_calendar_anchor_reads_xeros_dates() -> None:
    data = {"CalendarType": "WEEKLY", "StartDate": "/Date(1763251200000+0000)/"}
    assert calendar_anchor(data) == ("WEEKLY", date(2025, 11, 16))
    assert calendar_anchor({"CalendarType": "WEEKLY"}) is None
    assert calendar_anchor({"CalendarType": "YEARLY", "StartDate": "2026-01-01"}) is None
