"""What the Accounting API looks like on the wire: dates, numbers, envelopes, errors.

Records are kept in Xero's JSON shape but with Python values (``Decimal`` money, ``date``
for date-only fields, aware ``datetime`` for timestamps). This module is the one place
that turns them into Xero's text and back (XERO_API_NOTES 3.2, 3.3, 3.7, 3.9):

* dates out as Microsoft JSON dates, because xero-python *raises* on ISO strings in any
  ``x-is-msdate`` field; date-only values sit at midnight UTC;
* money out as JSON numbers written from the ``Decimal`` itself (never through ``float``),
  so ``40.00`` stays ``40.00`` and a client parsing with ``Decimal`` gets exact cents;
* the envelope every response has (``Id``, ``Status``, ``ProviderName``, ``DateTimeUTC``
  and the plural key);
* every input date form clients send (``YYYY-MM-DD``, ISO datetimes, ``/Date(ms)/``,
  ``/Date(ms+hhmm)/``) and the ``If-Modified-Since`` forms (ISO and RFC 1123).

The ``where``/``order`` language and paging live in ``query``; they are re-exported here so
other API families can import one module.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

from fastapi.responses import Response

from ledgerbridge.sandbox.accounting.query import (
    Page,
    QueryError,
    apply_order,
    compile_where,
    paginate,
    parse_order,
)
from ledgerbridge.sandbox.errors import XeroApiException

__all__ = [
    "JSON_TYPE",
    "Page",
    "QueryError",
    "WireError",
    "XeroJSONResponse",
    "apply_order",
    "compile_where",
    "dumps",
    "element_errors",
    "envelope",
    "envelope_time",
    "ms_date",
    "ms_timestamp",
    "paginate",
    "parse_bool",
    "parse_csv",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_if_modified_since",
    "parse_order",
    "query_parse_error",
    "read_json",
    "render",
    "validation_exception",
]

JSON_TYPE = "application/json; charset=utf-8"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{2,4})?\)/$")
_YEAR_MONTH = re.compile(r"^\d{4}-\d{2}$")


class WireError(ValueError):
    """A value a client sent that Xero would not accept; the message is user-facing."""


# -- dates out --------------------------------------------------------------------------------


def _epoch_ms(moment: datetime) -> int:
    """Whole milliseconds since the epoch; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def ms_timestamp(moment: datetime) -> str:
    """``/Date(1552327126117+0000)/``: Xero's form for ``x-is-msdate-time`` fields."""
    return f"/Date({_epoch_ms(moment)}+0000)/"


def ms_date(day: date) -> str:
    """A date-only field (``Date``, ``DueDate``...): midnight UTC of the calendar date."""
    return ms_timestamp(datetime.combine(day, time(0), tzinfo=UTC))


def envelope_time(moment: datetime) -> str:
    """The envelope's ``DateTimeUTC`` carries no offset: ``/Date(1552327126164)/``."""
    return f"/Date({_epoch_ms(moment)})/"


# -- dates in ---------------------------------------------------------------------------------


def _from_ms(match: re.Match[str]) -> datetime:
    """``/Date(ms±hhmm)/``: the milliseconds are UTC; the offset only says where the
    writer was, so the instant is the milliseconds alone (as .NET reads it)."""
    return _EPOCH + timedelta(milliseconds=int(match.group(1)))


def parse_datetime(value: Any) -> datetime:
    """Any date form Xero accepts, as an aware UTC datetime (naive ISO means UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        raise WireError(f"'{value}' is not a valid date")
    text = value.strip()
    match = _MS_DATE.match(text.replace("\\/", "/"))
    if match:
        return _from_ms(match)
    if _YEAR_MONTH.match(text):
        text += "-01"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise WireError(f"'{value}' is not a valid date") from exc
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: Any) -> date:
    """A date-only field from any accepted form. ISO datetimes keep their calendar date as
    written (``2024-05-01T23:00:00+10:00`` is 1 May: the client meant that day), MS dates
    use their UTC date (xero-python sends midnight UTC)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip().replace("\\/", "/")
        match = _MS_DATE.match(text)
        if match:
            return _from_ms(match).date()
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            pass
    raise WireError(f"'{value}' is not a valid date")


def parse_if_modified_since(header: str | None) -> datetime | None:
    """``If-Modified-Since`` as ISO 8601 (with or without offset, naive = UTC) or RFC 1123.

    An unparseable header is ignored, as HTTP caches do, rather than failing the call."""
    if not header or not header.strip():
        return None
    try:
        return parse_datetime(header)
    except WireError:
        pass
    try:
        parsed = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- scalars in -------------------------------------------------------------------------------


def parse_bool(value: str | bool | None, default: bool = False) -> bool:
    """Query booleans: xero-python sends ``True``/``False``, others ``true``/``false``."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no", ""}:
        return False
    return default


def parse_csv(value: str | None) -> list[str]:
    """A comma-separated list parameter (``IDs``, ``Statuses``...), blanks dropped."""
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_decimal(value: Any, field: str) -> Decimal:
    """A number from a body: JSON numbers arrive as ``Decimal`` (``read_json``), and old
    clients send numeric strings; both are accepted, floats never reach here."""
    if isinstance(value, bool):
        raise WireError(f"{field} must be a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation as exc:
            raise WireError(f"{field} must be a number") from exc
        if parsed.is_finite():
            return parsed
    raise WireError(f"{field} must be a number")


def read_json(raw: bytes) -> Any:
    """A request body with every JSON number as ``Decimal``, so money never meets float.

    Malformed JSON is Xero's ``PostDataInvalidException`` (ErrorNumber 11)."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise XeroApiException(
            "The request body could not be parsed as JSON",
            error_number=11,
            error_type="PostDataInvalidException",
        ) from exc


# -- JSON out ---------------------------------------------------------------------------------


def render(value: Any) -> Any:
    """Stored values to wire values: dates and datetimes become MS dates; ``Decimal``
    stays ``Decimal`` (``dumps`` writes it exactly). Datetimes are timestamps, plain
    dates are date-only fields, so the record's own types decide the format."""
    if isinstance(value, dict):
        return {key: render(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render(item) for item in value]
    if isinstance(value, datetime):
        return ms_timestamp(value)
    if isinstance(value, date):
        return ms_date(value)
    return value


_NUMBER_TAG = "\u0000" + secrets.token_hex(8)
"""Marks a Decimal rendered as text inside the C encoder's output. The per-process random
part means no client string can forge it (and a NUL is always escaped in JSON)."""
_TAGGED = re.compile(r'"\\u0000' + _NUMBER_TAG[1:] + r'(-?[0-9.]+)"')


def _decimal_text(value: Decimal) -> str:
    """A Decimal as a JSON number literal with its own scale (``40.00`` stays ``40.00``)."""
    if not value.is_finite():
        raise ValueError("money must be finite")
    text = format(value, "f")
    return text[1:] if text.startswith("-") and value == 0 else text


def _tag(value: Any) -> Any:
    """Copy ``value`` with Decimals as tagged strings and dates as MS dates, ready for the C
    JSON encoder; ``dumps`` then strips the tags so the numbers come out bare."""
    if isinstance(value, dict):
        return {key: _tag(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_tag(item) for item in value]
    if isinstance(value, Decimal):
        return _NUMBER_TAG + _decimal_text(value)
    if isinstance(value, datetime):
        return ms_timestamp(value)
    if isinstance(value, date):
        return ms_date(value)
    return value


def dumps(value: Any) -> str:
    """Compact JSON with ``Decimal`` written exactly (never via float) and dates as MS dates."""
    text = json.dumps(_tag(value), ensure_ascii=False, separators=(",", ":"))
    return _TAGGED.sub(r"\1", text)


class XeroJSONResponse(Response):
    """``application/json; charset=utf-8`` rendered by ``dumps`` (exact Decimals)."""

    media_type = JSON_TYPE

    def render(self, content: Any) -> bytes:
        return dumps(content).encode("utf-8")


def envelope(
    key: str,
    items: Sequence[Mapping[str, Any]],
    *,
    provider_name: str,
    now: datetime,
    pagination: Mapping[str, int] | None = None,
    warnings: Iterable[str] = (),
) -> dict[str, Any]:
    """The Accounting envelope; a single-record GET uses the same plural key."""
    body: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": provider_name,
        "DateTimeUTC": envelope_time(now),
    }
    if pagination is not None:
        body["pagination"] = dict(pagination)
    notes = [{"Message": message} for message in warnings]
    if notes:
        body["Warnings"] = notes
    body[key] = list(items)
    return body


# -- errors -----------------------------------------------------------------------------------


def element_errors(element: Mapping[str, Any], messages: Iterable[str]) -> dict[str, Any]:
    """An echo of a failing element with its ``ValidationErrors`` (Xero's shape)."""
    echoed = dict(element)
    echoed["ValidationErrors"] = [{"Message": message} for message in messages]
    return echoed


def validation_exception(elements: list[dict[str, Any]]) -> XeroApiException:
    """400 ``ValidationException`` (ErrorNumber 10) listing the failing elements."""
    return XeroApiException("A validation exception occurred", elements=elements)


def query_parse_error(message: str) -> XeroApiException:
    """400 ``QueryParseException`` (ErrorNumber 16): a bad ``where`` or ``order``."""
    return XeroApiException(message, error_number=16, error_type="QueryParseException")
