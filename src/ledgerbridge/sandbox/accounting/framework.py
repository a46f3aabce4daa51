"""The machinery every Accounting resource shares: list queries, batch writes,
``summarizeErrors``, ``Idempotency-Key``, and the bookkeeping of a record change.

A resource module describes itself with a ``Resource`` and supplies one function per
write (``apply(element) -> record``) that validates everything first and raises
``ElementError`` before touching state, so an element either commits whole or not at all.
``write_batch`` then gives Xero's batch semantics (XERO_API_NOTES 3.7): valid elements
commit even when others fail; by default one failure turns the answer into a 400
``ValidationException`` listing the failing elements; with ``summarizeErrors=false`` the
answer is 200 and every element carries ``StatusAttributeString`` and its
``ValidationErrors``.

Idempotency (XERO_API_NOTES 3.8): the first response to a write with an
``Idempotency-Key`` is stored per app and organisation for 24 hours of sandbox time, keyed
by the key and fingerprinted by method, path, query and body. The same key with the same
request replays the stored status and body without writing. The same key with a
different request is a 400. Xero's body for that case is reported both with no usable
``Message`` (pyxero prints "None") and with the text "Idempotency Key: <key> is used with a
different request."; the spec types every Accounting 400 as the ``Error`` schema (``Type``
a string), so the sandbox sends that schema with the reported text:
``{"ErrorNumber":10,"Type":"ValidationException","Message":"Idempotency Key: <key> is used
with a different request."}`` (no ``Elements``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ledgerbridge.sandbox.accounting import wire
from ledgerbridge.sandbox.errors import XeroApiException, not_found
from ledgerbridge.sandbox.guard import ApiContext
from ledgerbridge.sandbox.models import Organisation, Record

__all__ = [
    "ElementError",
    "ListQuery",
    "Resource",
    "idempotent",
    "list_response",
    "new_id",
    "now_ms",
    "public",
    "query_param",
    "read_elements",
    "ref",
    "single_response",
    "write_batch",
    "write_endpoint",
]

IDEMPOTENCY_COLLECTION = "_IdempotencyKeys"
IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
MAX_IDEMPOTENCY_KEY = 128
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class ElementError(Exception):
    """One batch element failed validation; ``messages`` are Xero's texts."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


@dataclass(frozen=True)
class Resource:
    """What the shared handlers need to know about one Accounting collection."""

    collection: str
    """Store collection and envelope key, e.g. ``Contacts``."""
    id_field: str
    type_name: str
    """The model name Xero names in query errors, e.g. ``Contact``."""
    fields: frozenset[str]
    error_flag: str | None = "HasValidationErrors"
    """``HasErrors`` on Invoices and CreditNotes, ``HasValidationErrors`` on Contacts and
    Payments, ``None`` where the schema has no such flag."""
    pageable: bool = False
    status_attribute: bool = True
    """Whether the schema has ``StatusAttributeString`` (batch results carry it)."""


def new_id() -> str:
    return str(uuid.uuid4())


def now_ms(ctx_or_org_clock: ApiContext) -> datetime:
    """The sandbox time truncated to milliseconds, the precision ``UpdatedDateUTC`` has on
    the wire, so a client echoing it back in ``If-Modified-Since`` gets the record."""
    moment = ctx_or_org_clock.state.clock.now()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def public(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record without its internal ``_`` keys (bookkeeping that Xero never shows)."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


def query_param(request: Request, name: str) -> str | None:
    """A query parameter by name, case-insensitively (Xero ignores the case)."""
    value = request.query_params.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, item in request.query_params.items():
        if key.lower() == lowered:
            return item
    return None


# -- reading ------------------------------------------------------------------------------------


@dataclass
class ListQuery:
    """The common list parameters, parsed once."""

    where: str | None = None
    order: str | None = None
    page: int | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    modified_since: datetime | None = None
    ids: list[str] = field(default_factory=list)
    include_archived: bool = False
    summary_only: bool = False
    unitdp: int = 2

    @classmethod
    def parse(cls, request: Request) -> ListQuery:
        def integer(name: str) -> int | None:
            raw = query_param(request, name)
            if raw is None or not raw.strip():
                return None
            try:
                return int(raw)
            except ValueError as exc:
                raise wire.query_parse_error(f"'{raw}' is not a valid value for {name}") from exc

        size = integer("pageSize")
        unitdp = integer("unitdp")
        return cls(
            where=query_param(request, "where"),
            order=query_param(request, "order"),
            page=integer("page"),
            page_size=min(max(size, 1), MAX_PAGE_SIZE) if size is not None else DEFAULT_PAGE_SIZE,
            modified_since=wire.parse_if_modified_since(request.headers.get("if-modified-since")),
            ids=[i.lower() for i in wire.parse_csv(query_param(request, "IDs"))],
            include_archived=wire.parse_bool(query_param(request, "includeArchived")),
            summary_only=wire.parse_bool(query_param(request, "summaryOnly")),
            unitdp=4 if unitdp == 4 else 2,
        )


def select(
    resource: Resource,
    records: Iterable[Record],
    query: ListQuery,
    *,
    default_order: str | None = None,
    extra: Callable[[Record], bool] | None = None,
    use_where: bool = True,
) -> list[Record]:
    """Filter (``IDs``, ``If-Modified-Since``, the caller's ``extra``, ``where``) and order."""
    try:
        predicate = wire.compile_where(query.where, resource.fields, resource.type_name) \
            if use_where and query.where and query.where.strip() else None
        order = wire.parse_order(query.order or default_order, resource.fields, resource.type_name)
    except wire.QueryError as exc:
        raise wire.query_parse_error(str(exc)) from exc
    ids = set(query.ids)
    chosen = []
    for record in records:
        if ids and str(record.get(resource.id_field, "")).lower() not in ids:
            continue
        if query.modified_since is not None:
            updated = record.get("UpdatedDateUTC")
            if not isinstance(updated, datetime) or updated < query.modified_since:
                continue
        if extra is not None and not extra(record):
            continue
        if predicate is not None and not predicate(record):
            continue
        chosen.append(record)
    wire.apply_order(chosen, order)
    return chosen


def list_response(
    ctx: ApiContext,
    resource: Resource,
    records: list[Record],
    query: ListQuery,
    render: Callable[[Record], dict[str, Any]],
) -> Response:
    """Page (when asked and the resource pages) and wrap in the envelope."""
    pagination = None
    if resource.pageable and query.page is not None:
        page = wire.paginate(records, query.page, query.page_size)
        records, pagination = page.items, page.pagination
    body = wire.envelope(
        resource.collection,
        [render(record) for record in records],
        provider_name=ctx.app.name,
        now=ctx.state.clock.now(),
        pagination=pagination,
    )
    return wire.XeroJSONResponse(body)


def single_response(ctx: ApiContext, key: str, items: Sequence[Mapping[str, Any]]) -> Response:
    return wire.XeroJSONResponse(
        wire.envelope(key, items, provider_name=ctx.app.name, now=ctx.state.clock.now())
    )


def find_one(org: Organisation, resource: Resource, ident: str,
             number_field: str | None = None) -> Record:
    """A record by id, or by its number (``InvoiceNumber``...) where Xero allows; else 404."""
    record = org.get_record(resource.collection, ident.lower())
    if record is not None:
        return record
    if number_field:
        for candidate in org.iter_records(resource.collection):
            if candidate.get(number_field) == ident:
                return candidate
    raise not_found()


# -- writing ------------------------------------------------------------------------------------


def read_elements(body: Any, key: str) -> list[dict[str, Any]]:
    """The elements of a write body: the plural wrapper ``{"Contacts":[...]}``, a bare
    object (what the SDK sends for some calls), or a bare array."""
    if isinstance(body, dict) and key in body:
        items = body[key]
    elif isinstance(body, dict) and any(k.lower() == key.lower() for k in body):
        items = next(v for k, v in body.items() if k.lower() == key.lower())
    elif isinstance(body, dict):
        items = [body]
    elif isinstance(body, list):
        items = body
    else:
        raise XeroApiException("A validation exception occurred", elements=[
            {"ValidationErrors": [{"Message": f"The request body must contain {key}"}]}
        ])
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise XeroApiException("A validation exception occurred", elements=[
            {"ValidationErrors": [{"Message": f"{key} must be a list of objects"}]}
        ])
    return items


Apply = Callable[[dict[str, Any]], dict[str, Any]]
"""Validate and commit one element; return the rendered record. Raise ``ElementError``."""


def write_batch(
    ctx: ApiContext,
    request: Request,
    resource: Resource,
    elements: Sequence[dict[str, Any]],
    apply: Apply,
    *,
    key: str | None = None,
) -> Response:
    """Apply each element in order inside one state transaction; see the module docstring
    for how failures are reported."""
    summarize = wire.parse_bool(query_param(request, "summarizeErrors"), default=True)
    results: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    with ctx.state.transaction():
        for element in elements:
            try:
                rendered = apply(element)
            except (ElementError, wire.WireError) as exc:
                messages = exc.messages if isinstance(exc, ElementError) else [str(exc)]
                echo = wire.element_errors(element, messages)
                failures.append(echo)
                results.append(_flagged(resource, echo, ok=False))
                continue
            results.append(_flagged(resource, rendered, ok=True))
    if failures and summarize:
        # Rendered here, not raised: the echoed elements hold Decimals, which only
        # ``wire.dumps`` writes exactly.
        error = wire.validation_exception(failures)
        return wire.XeroJSONResponse(error.body(), status_code=error.status)
    return wire.XeroJSONResponse(
        wire.envelope(key or resource.collection, results, provider_name=ctx.app.name,
                      now=ctx.state.clock.now())
    )


def _flagged(resource: Resource, element: dict[str, Any], *, ok: bool) -> dict[str, Any]:
    """A batch result with the per-element status fields its schema has."""
    flagged = dict(element)
    if resource.status_attribute:
        flagged["StatusAttributeString"] = "OK" if ok else "ERROR"
    if resource.error_flag and not ok:
        flagged[resource.error_flag] = True
    return flagged


# -- idempotency --------------------------------------------------------------------------------


def _fingerprint(request: Request, raw: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.upper().encode())
    digest.update(b"\0" + request.url.path.lower().encode())
    query = sorted((k.lower(), v) for k, v in request.query_params.multi_items())
    digest.update(b"\0" + repr(query).encode())
    digest.update(b"\0" + raw)
    return digest.hexdigest()


def idempotent(
    ctx: ApiContext, request: Request, raw: bytes, produce: Callable[[], Response]
) -> Response:
    """Run a write once per ``Idempotency-Key`` (see the module docstring)."""
    key = request.headers.get("idempotency-key")
    if not key:
        return produce()
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise XeroApiException("A validation exception occurred", elements=[{
            "ValidationErrors": [{"Message": "Idempotency-Key must be at most 128 characters"}]
        }])
    org = ctx.org
    slot = hashlib.sha256(f"{ctx.app.client_id}\0{key}".encode()).hexdigest()
    fingerprint = _fingerprint(request, raw)
    now = ctx.state.clock.time()
    with ctx.state.transaction():
        stored = org.get_record(IDEMPOTENCY_COLLECTION, slot)
        if stored is not None and stored["expires_at"] > now:
            if stored["fingerprint"] != fingerprint:
                raise XeroApiException(f"Idempotency Key: {key} is used with a different request.")
            return Response(
                content=stored["body"].encode("utf-8"),
                status_code=stored["status"],
                media_type=stored["media_type"],
            )
        try:
            response = produce()
        except XeroApiException as exc:
            response = wire.XeroJSONResponse(exc.body(), status_code=exc.status)
        if response.status_code < 500:
            _forget_expired(org, now)
            org.put_record(IDEMPOTENCY_COLLECTION, slot, {
                "fingerprint": fingerprint,
                "status": response.status_code,
                "body": bytes(response.body).decode("utf-8"),
                "media_type": response.media_type or wire.JSON_TYPE,
                "expires_at": now + IDEMPOTENCY_TTL_SECONDS,
            })
        return response


def _forget_expired(org: Organisation, now: float) -> None:
    for slot, stored in list(org.records(IDEMPOTENCY_COLLECTION).items()):
        if stored["expires_at"] <= now:
            org.delete_record(IDEMPOTENCY_COLLECTION, slot)


def write_endpoint(
    ctx: ApiContext,
    request: Request,
    raw: bytes,
    resource: Resource,
    apply: Apply,
    *,
    key: str | None = None,
) -> Response:
    """The whole of a PUT/POST: parse the body, run the batch, honour Idempotency-Key."""

    def produce() -> Response:
        elements = read_elements(wire.read_json(raw), key or resource.collection)
        return write_batch(ctx, request, resource, elements, apply, key=key)

    return idempotent(ctx, request, raw, produce)


def ref(element: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A nested reference object (``Invoice``, ``Account``...) or an empty one."""
    value = element.get(name)
    return value if isinstance(value, dict) else {}
