"""Pay periods of a Xero payroll calendar, as Xero checks a timesheet's dates.

A calendar is stored as its type and the first day of its upcoming period (``StartDate``,
XERO_API_NOTES 5.4); every other period follows by stepping from that day, forwards or
backwards. A timesheet must cover exactly one such period (5.5), so this is what decides
a timesheet's ``StartDate`` and ``EndDate`` before Xero is asked.

Steps: WEEKLY 7 days, FORTNIGHTLY 14, FOURWEEKLY 28; MONTHLY one month and QUARTERLY three
(keeping the anchor's day of the month, or the month's last day when it is shorter);
TWICEMONTHLY two periods a month, starting on the anchor's day and 15 days later. Xero
documents a ``ReferenceDate`` for twice-monthly calendars without saying how it is used;
the anchor alone decides here, as it does in the sandbox.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ledgerbridge.xero.dates import parse_date

__all__ = ["CALENDAR_TYPES", "Period", "calendar_anchor", "period_containing"]

CALENDAR_TYPES = ("WEEKLY", "FORTNIGHTLY", "FOURWEEKLY", "MONTHLY", "TWICEMONTHLY", "QUARTERLY")
_DAYS = {"WEEKLY": 7, "FORTNIGHTLY": 14, "FOURWEEKLY": 28}
_MONTHS = {"MONTHLY": 1, "QUARTERLY": 3, "TWICEMONTHLY": 1}


@dataclass(frozen=True, order=True)
class Period:
    """First and last day of a pay period, both inclusive."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        """Every day of the period in order: index 0 is ``NumberOfUnits[0]``."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


def _shift_months(anchor: date, months: int) -> date:
    """The anchor's day, ``months`` later (or earlier), clamped to the month's length."""
    year, month0 = divmod(anchor.year * 12 + anchor.month - 1 + months, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(anchor.day, last_day))


def _starts_in_step(anchor: date, step: int, twice: bool) -> list[date]:
    first = _shift_months(anchor, step)
    return [first, first + timedelta(days=15)] if twice else [first]


def period_containing(calendar_type: str, anchor: date, day: date) -> Period:
    """The period of a calendar (its type and upcoming-period start) that holds ``day``."""
    kind = calendar_type.upper()
    if kind in _DAYS:
        length = _DAYS[kind]
        start = anchor + timedelta(days=(day - anchor).days // length * length)
        return Period(start, start + timedelta(days=length - 1))
    if kind not in _MONTHS:
        raise ValueError(f"unknown payroll calendar type '{calendar_type}'")
    months, twice = _MONTHS[kind], kind == "TWICEMONTHLY"
    near = ((day.year - anchor.year) * 12 + day.month - anchor.month) // months
    starts = sorted(
        start for k in range(near - 2, near + 3) for start in _starts_in_step(anchor, k * months, twice)
    )
    for current, following in itertools.pairwise(starts):
        if current <= day < following:
            return Period(current, following - timedelta(days=1))
    raise AssertionError("the starts around a day always bracket it")  # pragma: no cover


def calendar_anchor(data: Mapping[str, Any]) -> tuple[str, date] | None:
    """(type, upcoming-period start) of an imported ``PayrollCalendar``, if it has both."""
    kind = str(data.get("CalendarType") or "").upper()
    start = data.get("StartDate")
    anchor = parse_date(start) if isinstance(start, str) else None
    if kind not in CALENDAR_TYPES or anchor is None:
        return None
    return kind, anchor
