"""Reading single values out of Xero payloads, shared by the mapping modules."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def to_decimal(value: object) -> Decimal | None:
    """A number from a Xero payload as an exact ``Decimal``.

    The client hands payloads over as parsed JSON, where numbers are floats; ``str`` of a
    float is its shortest round-trip form, which for Xero's values (at most 4 decimal
    places, well under 15 significant digits) is exactly the text Xero sent. Going through
    ``str`` keeps binary noise out of every amount and rate.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float | str | Decimal):
        return Decimal(str(value))
    raise TypeError(f"not a number: {value!r}")


def text(value: object, limit: int | None = None) -> str | None:
    """A Xero text field trimmed to the local column's length (``None`` when empty)."""
    if value is None:
        return None
    result = str(value).strip()
    if not result:
        return None
    return result[:limit] if limit else result


def wire_number(value: Decimal) -> float:
    """A ``Decimal`` as the JSON number Xero expects in a request body.

    Only at the wire: no arithmetic ever happens on the result. Xero's amounts have at most
    4 decimal places and far fewer than 15 significant digits, so the float's shortest
    text form (what JSON encoding writes) is exactly the decimal's digits.
    """
    return float(value)


def listed(record: Mapping[str, Any], name: str) -> list[Any] | None:
    """A list field of a Xero record, or None when the record does not carry it.

    Xero leaves detail out of summary reads (``LineItems`` from an unpaged list,
    ``Allocations``, ``Phones`` and ``Addresses`` with ``summaryOnly``), so a missing list
    means "not read", never "none": a mapping leaves its compared field out rather than
    saying it is empty, and the engine never writes what it did not read.
    """
    value = record.get(name)
    return value if isinstance(value, list) else None
