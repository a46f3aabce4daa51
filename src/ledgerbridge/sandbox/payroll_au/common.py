"""What every Payroll AU 1.0 resource shares: ids, the envelope, lists and field checks.

Payroll AU 1.0 speaks the Accounting dialect (PascalCase, MS dates, the ``Id``/``Status``/
``ProviderName``/``DateTimeUTC`` envelope, ``ApiException`` errors), so this module leans on
the Accounting family's ``wire`` and ``framework`` instead of re-implementing them. What
differs is small and lives here: lists page at a fixed 100 with no ``pageSize`` and no
``pagination`` object (XERO_API_NOTES 3.4, 5.1; the spec's list schemas have neither), and
write bodies are bare arrays (``framework.read_elements`` accepts those).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ledgerbridge.sandbox.accounting import framework, wire
from ledgerbridge.sandbox.accounting.framework import ElementError, ListQuery, Resource
from ledgerbridge.sandbox.errors import XeroApiException
from ledgerbridge.sandbox.guard import ApiContext
from ledgerbridge.sandbox.models import Organisation, Record

__all__ = [
    "PAGE_SIZE",
    "ElementError",
    "Resource",
    "enum_value",
    "list_response",
    "optional_date",
    "optional_id",
    "require_text",
    "required_date",
    "respond",
    "write",
]

PAGE_SIZE = 100
"""Payroll AU 1.0 pages hold up to 100 records; the API takes no ``pageSize``."""


def respond(ctx: ApiContext, key: str, payload: Any) -> Response:
    """The envelope with ``payload`` under ``key``: a list for plural keys, an object for
    ``PayItems`` and the singular ``Timesheet`` (the spec's ``TimesheetObject``)."""
    body = wire.envelope(key, [], provider_name=ctx.app.name, now=ctx.state.clock.now())
    body[key] = payload
    return wire.XeroJSONResponse(body)


def list_response(
    ctx: ApiContext,
    request: Request,
    resource: Resource,
    render: Callable[[Record], dict[str, Any]],
    *,
    default_order: str | None = None,
) -> Response:
    """``If-Modified-Since``, ``where``, ``order`` and ``page`` (100 a page) over a collection.

    Without ``page`` every record comes back, as Xero does for these endpoints."""
    query = ListQuery.parse(request)
    query.page_size = PAGE_SIZE
    query.ids = []  # Payroll 1.0 has no IDs parameter; ignore one sent by mistake
    chosen = framework.select(resource, ctx.org.iter_records(resource.collection), query,
                              default_order=default_order)
    if query.page is not None:
        chosen = wire.paginate(chosen, query.page, PAGE_SIZE).items
    return respond(ctx, resource.collection, [render(record) for record in chosen])


def write(ctx: ApiContext, request: Request, raw: bytes, resource: Resource,
          apply: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
    """``framework.write_endpoint`` with validation errors rendered by ``wire``.

    The sandbox's shared ``XeroApiException`` handler renders with the standard JSON
    encoder, which cannot write the ``Decimal`` numbers a failing element echoes back
    (``NumberOfUnits``, ``RatePerUnit``...), so the 400 is rendered here instead."""
    try:
        return framework.write_endpoint(ctx, request, raw, resource, apply)
    except XeroApiException as exc:
        return wire.XeroJSONResponse(exc.body(), status_code=exc.status)


def find(org: Organisation, collection: str, ident: str | None) -> Record | None:
    """A record by id, whatever the case of the id the client sent."""
    if not ident:
        return None
    return org.get_record(collection, str(ident).lower())


def optional_id(element: Mapping[str, Any], field: str) -> str | None:
    """A GUID field, lower-cased; a malformed one is a validation error naming the field."""
    value = element.get(field)
    if value is None or value == "":
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise ElementError(f"{field} must be a valid GUID") from exc


def require_text(element: Mapping[str, Any], field: str, message: str) -> str:
    value = element.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ElementError(message)
    return value.strip()


def required_date(element: Mapping[str, Any], field: str, message: str) -> date:
    value = element.get(field)
    if value is None or value == "":
        raise ElementError(message)
    return wire.parse_date(value)


def optional_date(element: Mapping[str, Any], field: str) -> date | None:
    value = element.get(field)
    if value is None or value == "":
        return None
    return wire.parse_date(value)


def enum_value(element: Mapping[str, Any], field: str, allowed: Iterable[str],
               default: str | None = None) -> str | None:
    """An enum field in Xero's upper case; values the SDK would not accept are refused
    here, because the SDK raises on unknown enum values when it reads them back."""
    value = element.get(field)
    if value is None or value == "":
        return default
    text = str(value).strip().upper()
    choices = tuple(allowed)
    if text not in choices:
        raise ElementError(f"{field} must be one of {', '.join(choices)}")
    return text


def boolean(element: Mapping[str, Any], field: str, default: bool | None = None) -> bool | None:
    """A JSON boolean (or the strings ``true``/``false`` older clients send)."""
    value = element.get(field)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise ElementError(f"{field} must be true or false")


def decimal(element: Mapping[str, Any], field: str) -> Decimal | None:
    value = element.get(field)
    if value is None or value == "":
        return None
    return wire.parse_decimal(value, field)


def compact(record: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record as sent: without ``None`` fields (Xero omits empty ones) and without
    internal ``_`` keys."""
    return {k: v for k, v in framework.public(record).items() if v is not None}

