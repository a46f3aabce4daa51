"""Refresh tokens are single use: concurrent callers in several processes refresh once."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from ledgerbridge.db import Database, make_engine, utcnow
from ledgerbridge.errors import XeroAuthError
from ledgerbridge.sandbox.config import SandboxConfig
from ledgerbridge.sandbox.seeding import DEMO_APP_CLIENT_SECRET
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.settings import Settings
from ledgerbridge.xero.models import ConnectionStatus, GrantStatus, XeroConnection, XeroGrant
from ledgerbridge.xero.services import XeroServices
from tests.servers import serve
from tests.xero import refresh_worker
from tests.xero.conftest import give_consent

PROCESSES = 4
CALLERS_PER_PROCESS = 5


@pytest.fixture
def sandbox_state() -> SandboxState:
    """Inside the grace period every reuse of an old refresh token mints a *new* pair, so a
    second refresh cannot hide behind Xero's replay of the first one's answer."""
    return SandboxState(SandboxConfig(grace_replay="new"))


@pytest.fixture
def live_sandbox(sandbox_app: FastAPI) -> Iterator[str]:
    """The same sandbox, also on a loopback port, for other processes to reach."""
    with serve(sandbox_app) as url:
        yield url


def _connected_grant(admin_browser: TestClient, xero_browser: TestClient, database: Database) -> str:
    authorize_url = admin_browser.post("/api/v1/xero/connect").json()["authorize_url"]
    admin_browser.get(give_consent(xero_browser, authorize_url, ["Demo Company (AU)"]).callback)
    with database.session() as session:
        grant = session.scalars(select(XeroGrant)).one()
        grant.access_expires_at = utcnow() - timedelta(minutes=1)  # due for refresh
        return grant.id


def _refreshes_served(sandbox_state: SandboxState) -> int:
    """Refresh tokens the sandbox issued beyond the one from the code exchange."""
    return len(sandbox_state.refresh_tokens) - 1


def test_twenty_callers_in_four_processes_refresh_once(
    admin_browser: TestClient,
    xero_browser: TestClient,
    xero_settings: Settings,
    database: Database,
    sandbox_state: SandboxState,
    live_sandbox: str,
) -> None:
    grant_id = _connected_grant(admin_browser, xero_browser, database)
    assert _refreshes_served(sandbox_state) == 0
    settings_json = xero_settings.model_copy(update={"xero_sandbox_url": live_sandbox}).model_dump_json()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(
            target=refresh_worker.run,
            args=(settings_json, DEMO_APP_CLIENT_SECRET, grant_id, CALLERS_PER_PROCESS, barrier, results),
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)

    errors = [detail for status, detail in outcomes if status == "error"]
    assert errors == []
    tokens = {token for _, batch in outcomes for token in batch}
    assert len(tokens) == 1, "every caller must end up with the one new access token"
    assert _refreshes_served(sandbox_state) == 1, "the sandbox saw exactly one refresh"
    with database.session() as session:
        grant = session.get(XeroGrant, grant_id)
        assert grant is not None
        assert grant.refresh_count == 1
        assert grant.status is GrantStatus.ACTIVE
        assert grant.access_expires_at > utcnow() + timedelta(minutes=25)


@pytest.mark.anyio
async def test_revoked_grant_needs_reconnect_instead_of_retrying(
    admin_browser: TestClient,
    xero_browser: TestClient,
    xero_services: XeroServices,
    database: Database,
    sandbox_state: SandboxState,
) -> None:
    grant_id = _connected_grant(admin_browser, xero_browser, database)
    for token in sandbox_state.refresh_tokens.values():
        token.revoked = True  # as if the user disconnected the app inside Xero
    with pytest.raises(XeroAuthError):
        await xero_services.tokens.access_token(grant_id)
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        assert connection.status is ConnectionStatus.NEEDS_RECONNECT
        assert "Reconnect" in (connection.status_reason or "")
    with pytest.raises(XeroAuthError):  # and it is not tried again
        await xero_services.tokens.access_token(grant_id)
    assert _refreshes_served(sandbox_state) == 0


@pytest.mark.anyio
async def test_a_fresh_stored_token_is_read_without_locking_the_grant(
    admin_browser: TestClient,
    xero_browser: TestClient,
    xero_services: XeroServices,
    database: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading a token that needs no refresh writes nothing, so another unit of work on the
    event loop may write meanwhile: on SQLite the grant's lock is the database's one write
    lock, and a sync job writing while another job's token read held it waited out the
    busy timeout and failed ("database is locked")."""
    authorize_url = admin_browser.post("/api/v1/xero/connect").json()["authorize_url"]
    admin_browser.get(give_consent(xero_browser, authorize_url, ["Demo Company (AU)"]).callback)
    with database.session() as session:
        grant = session.scalars(select(XeroGrant)).one()
        grant_id, lock_version, sealed = grant.id, grant.lock_version, grant.access_token_sealed
    other = make_engine(database_url)  # another job's unit of work, which will not wait
    if database_url.startswith("sqlite"):
        event.listen(other, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA busy_timeout=0"))
    vault = xero_services.tokens.vault
    opened = vault.open

    def open_while_another_job_writes(value: str) -> str:
        with other.begin() as connection:
            connection.execute(update(XeroGrant).where(XeroGrant.id == "none").values(lock_version=0))
        return opened(value)

    monkeypatch.setattr(vault, "open", open_while_another_job_writes)
    xero_services.tokens.forget(grant_id)  # nothing cached: this process reads it first
    try:
        token = await xero_services.tokens.access_token(grant_id)
    finally:
        other.dispose()
    assert token == opened(sealed)
    with database.session() as session:
        grant = session.get_one(XeroGrant, grant_id)
        assert (grant.lock_version, grant.refresh_count) == (lock_version, 0), "nothing was written"
