"""The world the model test walks: our real app and its database, the in-process sandbox
as Xero, and a second app on the sandbox that edits records the way another Xero app (or
a bookkeeper in Xero) would.

Everything goes through the public surfaces: our API as the owner, the sandbox's API for
the other app, webhooks signed and delivered by the sandbox, jobs run by the in-process
runner. Nothing here reaches into our sync code, so the invariants judge what a user would
see.
"""

from __future__ import annotations

import asyncio
import base64
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from ledgerbridge.db import Base, Database
from ledgerbridge.jobs.runner import DEFAULT_LEASE, InProcessRunner
from ledgerbridge.sandbox.app import create_sandbox_app
from ledgerbridge.sandbox.clock import ClientClock
from ledgerbridge.sandbox.extensions import default_extensions
from ledgerbridge.sandbox.models import FaultConfig
from ledgerbridge.sandbox.seeding import (
    DEMO_APP_CLIENT_ID,
    DEMO_APP_CLIENT_SECRET,
    DEMO_APP_WEBHOOK_KEY,
    demo_tenant_id,
    seed_demo,
)
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sandbox.webhooks import sign
from ledgerbridge.settings import Settings
from ledgerbridge.web.app import create_app
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices
from tests.factories import PASSWORD, Seeded, seed_workspace
from tests.xero.conftest import give_consent

SANDBOX_URL = "http://sandbox.test"
OUR_URL = "http://ledgerbridge.test"
AU = "Demo Company (AU)"
NZ = "Demo Company (NZ)"
ACCOUNTING = "/api.xro/2.0"
SIZES = {"contacts": 12, "invoices": 10, "credit_notes": 2, "purchase_orders": 2}
"""A small organisation: each walk starts with a first import, so it must be quick."""


class ServerError(AssertionError):
    """Invariant 7: our API or a page answered 5xx."""


@dataclass
class OtherApp:
    """A custom-connection app on the sandbox: another Xero app in the same organisation
    (or a bookkeeper working in Xero). Its calls never pass through our client."""

    http: httpx.AsyncClient
    tenant_id: str
    state: SandboxState
    token: str = ""
    writes: int = 0

    async def connect(self, sandbox: TestClient) -> None:
        created = sandbox.post(
            "/_sandbox/apps",
            json={
                "name": f"Other app {self.tenant_id[:8]}",
                "custom_connection_tenant_id": self.tenant_id,
                "custom_connection_scopes": ["accounting.transactions", "accounting.contacts"],
            },
        )
        assert created.status_code == 201, created.text
        app = created.json()
        basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
        answer = sandbox.post(
            "/connect/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Xero-tenant-id": self.tenant_id}

    async def post(self, collection: str, key: str, element: dict[str, Any]) -> httpx.Response:
        return await self._write("POST", collection, key, element)

    async def put(self, collection: str, key: str, element: dict[str, Any]) -> httpx.Response:
        return await self._write("PUT", collection, key, element)

    async def put_at(self, path: str, key: str, element: dict[str, Any]) -> httpx.Response:
        """A PUT to a sub-resource (``CreditNotes/{id}/Allocations``)."""
        return await self._write("PUT", path, key, element)

    async def _write(self, method: str, collection: str, key: str, element: dict[str, Any]) -> httpx.Response:
        """The faults a walk injects are meant for our calls: a person working in Xero
        does not see them, so they are set aside for this one call."""
        self.writes += 1
        org = self.state.orgs[self.tenant_id]
        faults, org.faults = org.faults, FaultConfig()
        try:
            return await self.http.request(
                method,
                f"{ACCOUNTING}/{collection}",
                json={key: [element]},
                headers={**self._headers(), "Idempotency-Key": f"other-{self.tenant_id[:8]}-{self.writes}"},
            )
        finally:
            org.faults = faults


@dataclass
class Organisation:
    """One connected sandbox organisation, as the walk sees it."""

    name: str
    tenant_id: str
    connection_id: str
    other: OtherApp
    seeded: dict[str, set[str]] = field(default_factory=dict)
    """Ids of what the sandbox held before we connected, per collection."""
    made_by_other: dict[str, set[str]] = field(default_factory=dict)
    """Ids of records the other app created."""


class World:
    """One walk's app, database and sandbox; ``reset`` starts a new walk on the same
    database (emptied) with a new sandbox."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.data_dir = Path(tempfile.mkdtemp(prefix="lb-model-"))
        self.database = Database.from_url(database_url)
        self._stack: list[Any] = []

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._empty_database()
        self.state = SandboxState()
        seed_demo(self.state, default_extensions(), SIZES)
        self.sandbox_app = create_sandbox_app(self.state, seed=False)
        self.clock = ClientClock(self.state.clock)
        settings = Settings(
            data_dir=self.data_dir,
            database_url=self.database_url,
            log_level="WARNING",
            run_jobs_in_web=False,
            base_url="http://127.0.0.1:8000",
            xero_sandbox_url=SANDBOX_URL,
            xero_client_id=DEMO_APP_CLIENT_ID,
            xero_client_secret=SecretStr(DEMO_APP_CLIENT_SECRET),
            xero_webhook_key=SecretStr(DEMO_APP_WEBHOOK_KEY),
        )
        self.crashes = _Crashing(httpx.ASGITransport(app=self.sandbox_app))
        self.sandbox_http = httpx.AsyncClient(transport=self.crashes, base_url=SANDBOX_URL)
        self.xero = XeroServices.build(settings, self.database, http=self.sandbox_http, clock=self.clock)
        self.app = TestClient(create_app(settings, self.database, xero=self.xero), base_url=OUR_URL)
        self.app.__enter__()
        self.sandbox = TestClient(self.sandbox_app, base_url=SANDBOX_URL, follow_redirects=False)
        self.sandbox.__enter__()
        with self.database.session() as session:
            self.seeded: Seeded = seed_workspace(session, "Harbour Digital Pty Ltd")
        login = self.app.post(
            "/api/v1/auth/login", json={"email": self.seeded.owner_email, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        self.orgs: dict[str, Organisation] = {}
        self.delivered: list[bytes] = []
        self._webhooks()

    def stop(self) -> None:
        self.call(self.sandbox_http.aclose)
        self.app.__exit__(None, None, None)
        self.sandbox.__exit__(None, None, None)

    def dispose(self) -> None:
        """Leave the database empty, as the suite's other tests expect to find it."""
        self._empty_database()
        self.database.engine.dispose()

    def _empty_database(self) -> None:
        with self.database.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())

    def _webhooks(self) -> None:
        """Xero's webhooks for our app point at our service, as an admin sets them up."""
        hook = self.state.apps[DEMO_APP_CLIENT_ID].webhook
        hook.url = f"{OUR_URL}/webhooks/xero"
        self.state.webhooks.transport = _Recording(httpx.ASGITransport(app=self.app.app), self.delivered)
        self.call(self.state.webhooks.intent_to_receive, DEMO_APP_CLIENT_ID)
        assert hook.status == "ACTIVE"

    # -- doing things ---------------------------------------------------------------------

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a coroutine function on the app's own event loop (as its jobs run)."""
        return self.app.portal.call(lambda: fn(*args, **kwargs))  # type: ignore[union-attr]

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Our API as the signed-in owner; a 5xx is a violation wherever it happens."""
        response = self.app.request(method, f"/api/v1{path}", **kwargs)
        if response.status_code >= 500:
            raise ServerError(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return response

    def form(self, page: str, action: str, **fields: str) -> httpx.Response:
        """Post a form on ``page`` as its button does, with the page's CSRF token."""
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.page(page).text)
        assert token is not None, f"no form on {page}"
        response = self.app.post(
            action, data={"csrf_token": token.group(1), **fields}, follow_redirects=False
        )
        if response.status_code >= 500:
            raise ServerError(f"POST {action} answered {response.status_code}: {response.text[:500]}")
        return response

    def page(self, path: str) -> httpx.Response:
        response = self.app.get(path, follow_redirects=False)
        if response.status_code >= 500:
            raise ServerError(f"GET {path} answered {response.status_code}: {response.text[:500]}")
        return response

    def run_jobs(self) -> int:
        runner = InProcessRunner(self.database, self.xero, self.clock, "model-worker", schedule=False)
        ran: int = self.call(runner.run_until_idle)
        return ran

    def crash_worker(self, calls: int, when: str) -> bool:
        """A worker's process dies at its ``calls``-th call to Xero (``before`` it leaves,
        or ``after`` Xero answered and before the worker reads it), with every job it was
        running; its leases run out and a new worker takes over, as after a deploy or the
        OOM killer. True if it died (there was that much work to do)."""
        crashed: bool = self.call(self._run_until_crash, calls, when)
        if crashed:
            self.state.clock.advance(DEFAULT_LEASE.total_seconds() + 60)
            self.run_jobs()
        return crashed

    async def _run_until_crash(self, calls: int, when: str) -> bool:
        runner = InProcessRunner(self.database, self.xero, self.clock, "doomed-worker", schedule=False)
        worker = asyncio.ensure_future(runner.run_until_idle())
        self.crashes.armed = (calls, when, worker)
        try:
            await asyncio.wait({worker})
        finally:
            self.crashes.armed = None
        return worker.cancelled()

    def concurrently(self, request: Callable[[], httpx.Response], workers: int = 2) -> httpx.Response:
        """``workers`` job runners work the queue while ``request`` (an API call) is made:
        they interleave on the app's event loop at every await (each call to Xero)."""
        runners = [
            InProcessRunner(self.database, self.xero, self.clock, f"worker-{n}", schedule=False)
            for n in range(1, workers + 1)
        ]
        portal = self.app.portal
        assert portal is not None
        running = [portal.start_task_soon(r.run_until_idle) for r in runners]
        try:
            return request()
        finally:
            for future in running:
                future.result(timeout=120)

    def today(self) -> date:
        return self.clock.utcnow().date()

    def connect(self, name: str) -> Organisation:
        """Connect an organisation through the real consent flow, as an admin would."""
        authorize = self.api("POST", "/xero/connect")
        assert authorize.status_code == 200, authorize.text
        consent = give_consent(self.sandbox, authorize.json()["authorize_url"], [name])
        landed = self.app.get(consent.callback, follow_redirects=False)
        assert landed.status_code in (302, 303), landed.text
        tenant_id = demo_tenant_id(name)
        with self.database.session() as session:
            connection = session.scalars(
                select(XeroConnection).where(XeroConnection.tenant_id == tenant_id)
            ).one()
            connection_id = connection.id
        org = self.state.orgs[tenant_id]
        seeded = {
            c: {self._id(c, r) for r in org.iter_records(c)} for c in ("Contacts", "Invoices", "Payments")
        }
        other = OtherApp(self.sandbox_http, tenant_id, self.state)
        self.call(other.connect, self.sandbox)
        made = {"Contacts": set[str](), "Invoices": set[str](), "Payments": set[str]()}
        self.orgs[name] = Organisation(name, tenant_id, connection_id, other, seeded, made)
        return self.orgs[name]

    @staticmethod
    def _id(collection: str, record: dict[str, Any]) -> str:
        return str(
            record[{"Contacts": "ContactID", "Invoices": "InvoiceID", "Payments": "PaymentID"}[collection]]
        )

    def xero_records(self, org: Organisation, collection: str) -> list[dict[str, Any]]:
        return list(self.state.orgs[org.tenant_id].iter_records(collection))

    def xero_record(self, org: Organisation, collection: str, record_id: str) -> dict[str, Any] | None:
        record: dict[str, Any] | None = self.state.orgs[org.tenant_id].get_record(collection, record_id)
        return record

    # -- webhooks -------------------------------------------------------------------------

    def deliver_webhooks(self) -> list[dict[str, Any]]:
        delivered: list[dict[str, Any]] = self.call(self.state.webhooks.deliver_pending, ignore_schedule=True)
        return delivered

    def lose_webhooks(self) -> int:
        """Xero gave up on these events (or they never came): the schedule must catch up."""
        with self.state.lock:
            hook = self.state.apps[DEMO_APP_CLIENT_ID].webhook
            lost = len(hook.pending)
            hook.pending.clear()
        return lost

    def redeliver(self, body: bytes) -> int:
        """The same signed batch again, as Xero does when it saw no answer in time."""
        response = self.app.post(
            "/webhooks/xero",
            content=body,
            headers={
                "x-xero-signature": sign(body, DEMO_APP_WEBHOOK_KEY),
                "content-type": "application/json",
            },
        )
        if response.status_code >= 500:
            raise ServerError(f"webhook redelivery answered {response.status_code}")
        return response.status_code

    # -- faults ---------------------------------------------------------------------------

    def set_faults(self, org: Organisation, **faults: Any) -> None:
        answer = self.sandbox.put(f"/_sandbox/organisations/{org.tenant_id}/faults", json=faults)
        assert answer.status_code == 200, answer.text

    def clear_faults(self) -> None:
        for org in self.orgs.values():
            answer = self.sandbox.delete(f"/_sandbox/organisations/{org.tenant_id}/faults")
            assert answer.status_code == 200, answer.text


class _Crashing(httpx.AsyncBaseTransport):
    """Our calls to the sandbox; armed by ``World.crash_worker``, it kills the worker task
    at the chosen call (cancelling it, and every job it runs, as a dead process would)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.armed: tuple[int, str, asyncio.Future[int]] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.armed is None:
            return await self.inner.handle_async_request(request)
        left, when, worker = self.armed
        if left > 0:
            self.armed = (left - 1, when, worker)
            return await self.inner.handle_async_request(request)
        self.armed = None
        if when == "after":
            response = await self.inner.handle_async_request(request)
            await response.aread()
        worker.cancel()
        raise asyncio.CancelledError("the worker's process died")

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Recording(httpx.AsyncBaseTransport):
    """Passes the sandbox's webhook deliveries on to our app and keeps each body, so a
    walk can deliver one again."""

    def __init__(self, inner: httpx.AsyncBaseTransport, bodies: list[bytes]) -> None:
        self.inner, self.bodies = inner, bodies

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self.inner.handle_async_request(request)
        if response.status_code == 200:
            self.bodies.append(body)
        return response


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def days_ago(today: date, n: int) -> date:
    return today - timedelta(days=n)


@contextmanager
def world(database_url: str) -> Iterator[World]:
    w = World(database_url)
    try:
        yield w
    finally:
        w.dispose()
