"""Pay periods of a payroll calendar: which dates a timesheet may start and end on.

A calendar stores only the start of its upcoming period and its type (XERO_API_NOTES 5.4);
every other period follows by stepping forwards or backwards from that anchor. Timesheets
are checked against these periods (5.5), so the arithmetic sits apart from the HTTP code.

Steps: WEEKLY 7 days, FORTNIGHTLY 14, FOURWEEKLY 28, MONTHLY 1 month, QUARTERLY 3 months
(a month step keeps the anchor's day, clamped to the month's length), TWICEMONTHLY two
periods a month starting on the anchor's day and 15 days after it. Xero also uses a
``ReferenceDate`` for twice-monthly calendars; how exactly is undocumented, so the sandbox
uses the anchor alone.
"""

from __future__ import annotations

import calendar
import itertools
from datetime import date, timedelta

__all__ = ["CALENDAR_TYPES", "Period", "period_containing", "period_of"]

CALENDAR_TYPES = ("WEEKLY", "FORTNIGHTLY", "FOURWEEKLY", "MONTHLY", "TWICEMONTHLY", "QUARTERLY")
_DAY_STEPS = {"WEEKLY": 7, "FORTNIGHTLY": 14, "FOURWEEKLY": 28}
_MONTH_STEPS = {"MONTHLY": 1, "QUARTERLY": 3}

Period = tuple[date, date]
"""First and last day of a pay period, both inclusive."""


def _add_months(anchor: date, months: int) -> date:
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(anchor.day, last))


def _day_period(anchor: date, step: int, day: date) -> Period:
    start = anchor + timedelta(days=((day - anchor).days // step) * step)
    return start, start + timedelta(days=step - 1)


def _starts_for_month_offset(anchor: date, offset: int, twice: bool) -> list[date]:
    first = _add_months(anchor, offset)
    return [first, first + timedelta(days=15)] if twice else [first]


def _month_period(anchor: date, months: int, day: date, twice: bool) -> Period:
    """Walk period starts around the month of ``day`` and take the one holding it."""
    offset = ((day.year - anchor.year) * 12 + day.month - anchor.month) // months * months
    starts: list[date] = []
    for k in (offset - 2 * months, offset - months, offset, offset + months, offset + 2 * months):
        starts.extend(_starts_for_month_offset(anchor, k, twice))
    starts.sort()
    for current, following in itertools.pairwise(starts):
        if current <= day < following:
            return current, following - timedelta(days=1)
    raise AssertionError("a period always holds the day")  # pragma: no cover


def period_containing(calendar_type: str, anchor: date, day: date) -> Period:
    """The pay period of a calendar (type and upcoming-period start) that holds ``day``."""
    if calendar_type in _DAY_STEPS:
        return _day_period(anchor, _DAY_STEPS[calendar_type], day)
    if calendar_type == "TWICEMONTHLY":
        return _month_period(anchor, 1, day, twice=True)
    return _month_period(anchor, _MONTH_STEPS.get(calendar_type, 1), day, twice=False)


def period_of(calendar_type: str, anchor: date) -> Period:
    """The upcoming period itself (the one starting on the anchor)."""
    return period_containing(calendar_type, anchor, anchor)
