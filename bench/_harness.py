"""Shared set-up for the benchmarks: a sandbox in this process, a migrated SQLite database,
a workspace, and an organisation connected through the real OAuth exchange.

The sandbox clock is frozen and moved only by our client's waits (``ClientClock``), so the
sandbox time a run takes is exactly the time the rate limits forced it to wait.
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import SecretStr
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.logging import configure_logging
from ledgerbridge.migrations import upgrade
from ledgerbridge.sandbox import oauth as sandbox_oauth
from ledgerbridge.sandbox.app import create_sandbox_app
from ledgerbridge.sandbox.clock import ClientClock
from ledgerbridge.sandbox.config import SandboxConfig
from ledgerbridge.sandbox.extensions import default_extensions
from ledgerbridge.sandbox.seeding import (
    DEMO_APP_CLIENT_ID,
    DEMO_APP_CLIENT_SECRET,
    DEMO_EMAIL,
    OrganisationSpec,
    seed,
    seed_demo,
)
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.settings import Settings
from ledgerbridge.work import users
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Role
from ledgerbridge.xero import connections
from ledgerbridge.xero.client import Organisation
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices

SANDBOX_URL = "http://sandbox.bench"


@dataclass
class Bench:
    state: SandboxState
    services: XeroServices
    clock: ClientClock
    org: Organisation
    seconds_to_seed: float


@contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as t: ...`` then ``t[0]`` is the elapsed wall time in seconds."""
    box: list[float] = []
    start = time.perf_counter()
    yield box
    box.append(time.perf_counter() - start)


def build(sizes: dict[str, int]) -> Bench:
    configure_logging("WARNING")
    state = SandboxState(SandboxConfig())
    state.clock.set_speed(0)
    extensions = default_extensions()
    app = create_sandbox_app(state, extensions=extensions, seed=False)
    seed_demo(state, extensions, sizes={"contacts": 5, "invoices": 0, "employees": 1})
    with timed() as seeding:
        (org,) = seed(state, extensions, [OrganisationSpec("Bench Company (AU)", "AU", "AUD")], sizes)
    workdir = Path(tempfile.mkdtemp(prefix="ledgerbridge-bench-"))
    settings = Settings(
        data_dir=workdir,
        base_url="http://127.0.0.1:8000",
        xero_sandbox_url=SANDBOX_URL,
        xero_client_id=DEMO_APP_CLIENT_ID,
        xero_client_secret=SecretStr(DEMO_APP_CLIENT_SECRET),
        log_level="WARNING",
    )
    upgrade(settings.resolved_database_url)
    database = Database.from_url(settings.resolved_database_url)
    clock = ClientClock(state.clock)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SANDBOX_URL)
    services = XeroServices.build(settings, database, http=http, clock=clock)
    connected = asyncio.run(_connect(state, services, database, org.tenant_id))
    _set_aside_seeded_data()
    return Bench(state, services, clock, connected, seeding[0])


def _set_aside_seeded_data() -> None:
    """Move what exists so far (above all the seeded sandbox: millions of objects, the
    organisation's records) out of reach of Python's garbage collector. Xero's records are
    not in our process in real use; here, every full collection during a run would walk
    them all and bill that to the engine (about a third of its time at 50,000 contacts)."""
    gc.collect()
    gc.freeze()


async def _connect(
    state: SandboxState, services: XeroServices, database: Database, tenant_id: str
) -> Organisation:
    with database.session() as session:
        workspace = users.create_workspace(session, "Bench Pty Ltd")
        owner = users.add_to_workspace(
            session, workspace.id, "owner@bench.example", "Owner", Role.OWNER, None
        )
        actor = Actor(owner.id, workspace.id, Role.OWNER)
        query = {
            k: v[0] for k, v in parse_qs(urlsplit(connections.start(services, session, actor)).query).items()
        }
    user = state.user_by_email(DEMO_EMAIL)
    app = state.apps[DEMO_APP_CLIENT_ID]
    assert user is not None
    scopes = query["scope"].split()
    grant, event = sandbox_oauth.connect(state, app, user, scopes, [tenant_id])
    with state.lock:
        code = sandbox_oauth.issue_code(
            state,
            grant=grant,
            user=user,
            redirect_uri=query["redirect_uri"],
            scopes=scopes,
            auth_event_id=event,
            code_challenge=query["code_challenge"],
            nonce=None,
        )
    with database.session() as session:
        await connections.complete(services, session, actor, query["state"], code, None)
        connection = session.scalars(
            select(XeroConnection).where(XeroConnection.tenant_id == tenant_id)
        ).one()
        assert connection.grant_id is not None
        return Organisation(connection.grant_id, connection.tenant_id)


def minute_bound(calls: int, per_minute: int = 60) -> float:
    """The least time ``calls`` calls can take under a per-minute limit (fixed windows)."""
    return ((calls - 1) // per_minute) * 60.0 if calls else 0.0
