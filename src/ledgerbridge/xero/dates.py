"""Xero's date forms: ``/Date(ms+hhmm)/`` in responses, ISO dates in requests."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_datetime(value: str | None) -> datetime | None:
    """A Xero timestamp (MS JSON or ISO 8601) as an aware UTC datetime."""
    if not value:
        return None
    match = _MS_DATE.match(value.replace("\\/", "/"))
    if match:
        moment = datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
        return moment
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_date(value: str | None) -> date | None:
    """A date-only field (Xero sends midnight UTC of the calendar day)."""
    moment = parse_datetime(value)
    return moment.date() if moment else None


def format_date(value: date) -> str:
    return value.isoformat()


__all__ = ["format_date", "parse_date", "parse_datetime"]
