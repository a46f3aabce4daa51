"""Fixtures for the job queue: a manual clock, the process's Xero services, runners, and
throwaway handlers that are unregistered after each test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from ledgerbridge.clock import ManualClock
from ledgerbridge.db import Database
from ledgerbridge.jobs import registry
from ledgerbridge.jobs.registry import Handler
from ledgerbridge.jobs.runner import InProcessRunner
from ledgerbridge.settings import Settings
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices

START = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=START)


@pytest.fixture
def xero(settings: Settings, database: Database, clock: ManualClock) -> Iterator[XeroServices]:
    services = XeroServices.build(settings, database, clock=clock)
    yield services
    asyncio.run(services.aclose())


@pytest.fixture
def handlers() -> Iterator[Callable[[str, Handler | None], None]]:
    """``handlers(kind, fn)`` registers ``fn`` for this test only; a real handler of that
    kind (e.g. the sync engine's "sync.auto") is set aside and put back afterwards.
    ``handlers(kind, None)``: no handler for that kind in this test."""
    added: list[tuple[str, Handler | None]] = []

    def register(kind: str, handler: Handler | None) -> None:
        previous = registry.handler_for(kind)
        registry.unregister(kind)
        if handler is not None:
            registry.job(kind)(handler)
        added.append((kind, previous))

    yield register
    for kind, previous in reversed(added):
        registry.unregister(kind)
        if previous is not None:
            registry.job(kind)(previous)


@pytest.fixture
def make_runner(database: Database, xero: XeroServices, clock: ManualClock) -> Callable[..., InProcessRunner]:
    """Runners without the scheduler unless asked, so a test sees only its own jobs."""

    def make(worker_id: str = "worker-a", concurrency: int = 4, schedule: bool = False) -> InProcessRunner:
        return InProcessRunner(database, xero, clock, worker_id, concurrency, schedule=schedule)

    return make


def connect_organisation(database: Database, workspace_id: str, name: str = "Harbour Digital") -> str:
    """A connected Xero organisation row (the scheduler needs nothing more)."""
    with database.session() as session:
        connection = XeroConnection(workspace_id=workspace_id, tenant_id=f"tenant-{name}", tenant_name=name)
        session.add(connection)
        session.flush()
        return connection.id
