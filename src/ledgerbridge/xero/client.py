"""The one client through which every Xero call passes.

It adds the bearer token and tenant header, spends the call budget before each request and
corrects it from each response, retries by the one table in ``retry``, refreshes a refused
token once, refuses any write without an ``Idempotency-Key`` (that key is what makes a
retried write safe), pages at the largest page size, sends batches with
``summarizeErrors=false`` and returns one result per element, and counts every call per
organisation and endpoint.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from ledgerbridge import __version__
from ledgerbridge.clock import Clock, SystemClock
from ledgerbridge.errors import (
    XeroAuthError,
    XeroError,
    XeroForbidden,
    XeroRateLimited,
    XeroValidationError,
)
from ledgerbridge.logging import get_logger
from ledgerbridge.xero.limits import Budget
from ledgerbridge.xero.retry import Action, Decision, classify_exception, classify_response
from ledgerbridge.xero.tokens import TokenManager

ACCOUNTING = "/api.xro/2.0"
PAYROLL_AU = "/payroll.xro/1.0"
PAYROLL_AU_V2 = "/payroll.xro/2.0"
PROJECTS = "/projects.xro/2.0"

MAX_PAGE_SIZE = 1000
BATCH_SIZE = 50
"""Xero recommends about 50 elements per write."""
IDS_PER_REQUEST = 50
"""More than ~52 GUIDs in ``IDs=`` has been seen to fail at Xero's gateway."""
WRITE_METHODS = frozenset({"PUT", "POST", "PATCH"})
USER_AGENT = f"ledgerbridge/{__version__}"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)

log = get_logger(__name__)


@dataclass(frozen=True)
class Organisation:
    """What a call needs to know about the organisation it is for."""

    grant_id: str
    tenant_id: str


AccessLost = Callable[[Organisation, XeroError], Awaitable[None]]
"""Told when Xero refuses an organisation (403) or its token for good, so the connection
can show "needs reconnect" with the reason instead of failing every job silently."""


@dataclass(frozen=True)
class ElementResult:
    """The outcome of one element of a batched write."""

    index: int
    ok: bool
    record: dict[str, Any]
    messages: list[str] = field(default_factory=list)

    def xero_id(self, id_field: str) -> str | None:
        value = self.record.get(id_field)
        return str(value) if value and self.ok else None


@dataclass
class CallTally:
    """The calls one piece of work made (a sync run, one type of an import), counted in
    its own task and the tasks and threads it starts. A difference of the process-wide
    counts would also take in the calls of work running beside it on the same
    organisation (a webhook fetch beside a sync, two workspaces on one tenant)."""

    total: int = 0


_tallies: ContextVar[tuple[CallTally, ...]] = ContextVar("xero_call_tallies", default=())


@contextmanager
def counting_calls() -> Iterator[CallTally]:
    """Count the calls made inside this block (by this task and those it starts). Blocks
    nest: a call counts in each enclosing tally."""
    tally = CallTally()
    token = _tallies.set((*_tallies.get(), tally))
    try:
        yield tally
    finally:
        _tallies.reset(token)


class CallCounter:
    """Calls per (tenant, endpoint), for benchmarks and the doctor; the sync log counts a
    run's own calls with ``counting_calls``."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.statuses: Counter[int] = Counter()
        """Responses by HTTP status (0: no response), e.g. to report 429s received."""

    def count(self, tenant_id: str, endpoint: str, status: int) -> None:
        self.calls[(tenant_id, endpoint)] += 1
        self.statuses[status] += 1
        for tally in _tallies.get():
            tally.total += 1

    def total(self, tenant_id: str | None = None) -> int:
        return sum(n for (tenant, _), n in self.calls.items() if tenant_id in (None, tenant))


_GUID = re.compile(r"/[0-9a-fA-F-]{36}(?=/|$)")


def endpoint_name(method: str, path: str) -> str:
    """'GET /api.xro/2.0/Invoices/<id>' -> 'GET /api.xro/2.0/Invoices/{id}' for counting."""
    return f"{method} {_GUID.sub('/{id}', path)}"


def if_modified_since(value: datetime) -> str:
    """Xero's form: a UTC timestamp without offset, ``yyyy-mm-ddThh:mm:ss``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class XeroClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        api_base: str,
        tokens: TokenManager,
        budget: Budget,
        clock: Clock | None = None,
        counter: CallCounter | None = None,
        on_access_lost: AccessLost | None = None,
    ) -> None:
        self.on_access_lost = on_access_lost
        self.http = http
        self.api_base = api_base.rstrip("/")
        self.tokens = tokens
        self.budget = budget
        self.clock = clock or SystemClock()
        self.counter = counter or CallCounter()

    async def request(
        self,
        org: Organisation,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """One call, with budget, retries and one refresh; 2xx and 400 are returned."""
        method = method.upper()
        if method in WRITE_METHODS and not idempotency_key:
            raise ValueError("every write to Xero must carry an Idempotency-Key")
        extra = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        attempt, refreshed, stale = 0, False, None
        while True:
            attempt += 1
            token = await self.tokens.access_token(org.grant_id, stale)
            response, decision = await self._attempt(
                org, method, path, params, json, {**(headers or {}), **extra}, token, attempt, refreshed
            )
            if decision.action is Action.RETURN:
                assert response is not None
                return response
            if decision.action is Action.FAIL:
                assert decision.error is not None
                if isinstance(decision.error, XeroForbidden | XeroAuthError) and self.on_access_lost:
                    await self.on_access_lost(org, decision.error)
                raise decision.error
            if decision.action is Action.REFRESH_AND_RETRY:
                refreshed, stale = True, token
                continue
            log.info(
                "xero.request.retry", tenant_id=org.tenant_id, path=path, attempt=attempt, wait=decision.wait
            )
            if response is None or response.status_code != 429:
                await self.clock.sleep(decision.wait)

    async def _attempt(
        self,
        org: Organisation,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: dict[str, str],
        token: str,
        attempt: int,
        refreshed: bool,
    ) -> tuple[httpx.Response | None, Decision]:
        await self.budget.acquire(org.tenant_id)
        try:
            response = await self.http.request(
                method,
                f"{self.api_base}{path}",
                params=params,
                json=json,
                headers={
                    "Authorization": f"Bearer {token}",
                    "xero-tenant-id": org.tenant_id,
                    "Accept": "application/json",
                    "User-Agent": USER_AGENT,
                    **headers,
                },
                timeout=TIMEOUT,
            )
        except httpx.HTTPError as exc:
            self.counter.count(org.tenant_id, endpoint_name(method, path), 0)
            return None, classify_exception(exc, attempt)
        finally:
            self.budget.release(org.tenant_id)
        self.counter.count(org.tenant_id, endpoint_name(method, path), response.status_code)
        decision = classify_response(
            response.status_code, response.headers, attempt, refreshed, response.text
        )
        if response.status_code != 429:
            self.budget.observe(org.tenant_id, response.headers)
        else:  # Retry-After says exactly when; the zero-remaining headers would only blur it
            limit = response.headers.get("x-rate-limit-problem", "minute").lower()
            self.budget.refused(org.tenant_id, limit, decision.wait)
            if isinstance(decision.error, XeroRateLimited):
                decision.error.tenant_id = org.tenant_id
        return response, decision

    async def get(
        self,
        org: Organisation,
        path: str,
        params: Mapping[str, Any] | None = None,
        modified_since: datetime | None = None,
    ) -> dict[str, Any]:
        headers = {"If-Modified-Since": if_modified_since(modified_since)} if modified_since else None
        response = await self.request(org, "GET", path, params=params, headers=headers)
        if response.status_code == 304:
            return {}
        _raise_for_validation(response)
        body: dict[str, Any] = response.json()
        return body

    async def pages(
        self,
        org: Organisation,
        path: str,
        key: str,
        *,
        params: Mapping[str, Any] | None = None,
        modified_since: datetime | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a paged collection, at the largest page size, until a short page
        or the last page Xero's ``pagination`` names (which saves the empty extra call when
        the total is a multiple of the page size)."""
        page, previous_first = 1, None
        while True:
            body = await self.get(
                org, path, {**(params or {}), "page": page, "pageSize": page_size}, modified_since
            )
            records: list[dict[str, Any]] = body.get(key, [])
            if records and previous_first is not None and records[0] == previous_first:
                raise XeroError(f"Xero returned page {page} of {path} twice; stopping to avoid a loop.")
            if records:
                yield records
            page_count = (body.get("pagination") or {}).get("pageCount")
            if len(records) < page_size or (isinstance(page_count, int) and page >= page_count):
                return
            previous_first, page = records[0], page + 1

    async def by_ids(
        self,
        org: Organisation,
        path: str,
        key: str,
        ids: Sequence[str],
        id_param: str | None = "IDs",
        params: Mapping[str, Any] | None = None,
        id_field: str | None = None,
    ) -> list[dict[str, Any]]:
        """Fetch records by id, in chunks Xero's gateway accepts, as paged reads.

        Xero answers an unpaged list with summaries: no ``LineItems`` on invoices and
        credit notes (XERO_API_NOTES 3.4), which a pull must never read as "no lines". A
        chunk (at most ``IDS_PER_REQUEST`` ids) fits one page, so each chunk is still one
        call; an endpoint that does not page ignores ``page`` and answers the same.

        Endpoints without an ``IDs`` parameter (credit notes, items, payments) take a
        ``where`` filter on ``id_field`` instead: pass ``id_param=None`` and the field.
        """
        if id_param is None and id_field is None:
            raise ValueError("by_ids needs id_param or, for a where filter, id_field")
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), IDS_PER_REQUEST):
            chunk = ids[start : start + IDS_PER_REQUEST]
            if id_param is not None:
                query = {**(params or {}), id_param: ",".join(chunk)}
            else:
                query = {**(params or {}), "where": " OR ".join(f'{id_field}==Guid("{i}")' for i in chunk)}
            async for records in self.pages(org, path, key, params=query):
                found.extend(records)
        return found

    async def write_batch(
        self,
        org: Organisation,
        method: str,
        path: str,
        key: str,
        elements: Sequence[dict[str, Any]],
        idempotency_key: str,
    ) -> list[ElementResult]:
        """One batched write with per-element outcomes (``summarizeErrors=false``).

        The caller chunks (``BATCH_SIZE``) and derives one key per chunk, so a retried chunk
        replays rather than writing twice.
        """
        response = await self.request(
            org,
            method,
            path,
            params={"summarizeErrors": "false"},
            json={key: list(elements)},
            idempotency_key=idempotency_key,
        )
        _raise_for_validation(response)
        returned: list[dict[str, Any]] = response.json().get(key, [])
        return [_element_result(index, record) for index, record in enumerate(returned)]

    async def write_array(
        self,
        org: Organisation,
        path: str,
        key: str,
        elements: Sequence[dict[str, Any]],
        idempotency_key: str,
    ) -> list[ElementResult]:
        """A Payroll AU 1.0 write: ``POST`` with a bare JSON array as the body (that API's
        form, XERO_API_NOTES 5.1; it has no ``summarizeErrors``). A refusal raises
        ``XeroValidationError`` with Xero's own messages; send one element when each needs
        its own outcome, since a refused batch does not say what was saved."""
        response = await self.request(org, "POST", path, json=list(elements), idempotency_key=idempotency_key)
        _raise_for_validation(response)
        returned: list[dict[str, Any]] = response.json().get(key, [])
        return [_element_result(index, record) for index, record in enumerate(returned)]

    async def write_batches(
        self,
        org: Organisation,
        method: str,
        path: str,
        key: str,
        elements: Sequence[dict[str, Any]],
        idempotency_key: str,
        batch_size: int = BATCH_SIZE,
    ) -> list[ElementResult]:
        """Any number of elements, in chunks of ``batch_size``, results in input order.

        Each chunk's key is derived from ``idempotency_key`` and the chunk's position, so
        re-running the same logical write (after a crash, say) replays every chunk that
        already landed instead of writing it again.
        """
        results: list[ElementResult] = []
        for start in range(0, len(elements), batch_size):
            chunk = elements[start : start + batch_size]
            chunk_key = chunk_idempotency_key(idempotency_key, start // batch_size)
            for result in await self.write_batch(org, method, path, key, chunk, chunk_key):
                results.append(ElementResult(start + result.index, result.ok, result.record, result.messages))
        return results


def derived_idempotency_key(*parts: object) -> str:
    """A stable Idempotency-Key from what identifies one attempt at one write (e.g. the
    record kind, organisation, record id and attempt number), within Xero's 128-character
    limit: the same attempt always sends the same key, so a resend is replayed."""
    return hashlib.sha256(":".join(["ledgerbridge", *map(str, parts)]).encode()).hexdigest()


def chunk_idempotency_key(base: str, chunk: int) -> str:
    """A stable key per chunk, within Xero's 128-character limit."""
    return hashlib.sha256(f"{base}:{chunk}".encode()).hexdigest()


def _element_result(index: int, record: dict[str, Any]) -> ElementResult:
    messages = [str(e.get("Message", "")) for e in record.get("ValidationErrors") or []]
    failed = (
        record.get("StatusAttributeString") == "ERROR"
        or bool(record.get("HasErrors"))
        or bool(record.get("HasValidationErrors"))
        or bool(messages)
    )
    return ElementResult(index=index, ok=not failed, record=record, messages=messages)


def _raise_for_validation(response: httpx.Response) -> None:
    """A 400 carries Xero's own messages; surface them as they are."""
    if response.status_code != 400:
        return
    try:
        body = response.json()
    except ValueError:
        raise XeroValidationError([response.text.strip()[:500] or "Xero rejected the request."]) from None
    elements = body.get("Elements") or []
    messages = [
        str(error.get("Message"))
        for element in elements
        for error in element.get("ValidationErrors") or []
        if error.get("Message")
    ]
    raise XeroValidationError(
        messages or [str(body.get("Message") or body.get("Detail") or "Invalid request")], elements
    )
