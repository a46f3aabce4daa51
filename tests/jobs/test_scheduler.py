"""The scheduler: one auto-sync per interval per organisation, Force sync at once, the
daily refresh of idle grants, and invoice sending on each organisation's cadence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from ledgerbridge.clock import ManualClock
from ledgerbridge.db import Database
from ledgerbridge.errors import Conflict, NotFound, ValidationFailed
from ledgerbridge.jobs import registry, scheduler
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.jobs.registry import Handler, JobContext
from ledgerbridge.jobs.runner import InProcessRunner
from ledgerbridge.sync.models import RunStatus, SyncRun, SyncSettings
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection
from tests.factories import Seeded
from tests.jobs.conftest import START, connect_organisation

Register = Callable[[str, Handler | None], None]
MakeRunner = Callable[..., InProcessRunner]


async def _noop(ctx: JobContext, **args: Any) -> None:
    return None


def _jobs(database: Database, kind: str) -> list[Job]:
    with database.session() as session:
        return list(session.scalars(select(Job).where(Job.kind == kind).order_by(Job.run_at)))


def _tick(database: Database, now: datetime) -> list[Job]:
    with database.session() as session:
        return scheduler.schedule_due(session, now)


def test_due_organisations_get_one_auto_sync_per_interval(
    database: Database, seeded: Seeded, handlers: Register
) -> None:
    handlers(scheduler.SYNC_AUTO, _noop)
    connection_id = connect_organisation(database, seeded.workspace_id)

    [job] = _tick(database, START)  # never synced: due at once, settings created with defaults
    assert (job.kind, job.args, job.run_at) == ("sync.auto", {"connection_id": connection_id}, START)
    assert (job.lock_key, job.workspace_id) == (f"sync:{connection_id}", seeded.workspace_id)
    with database.session() as session:
        settings = session.scalars(select(SyncSettings)).one()
        assert settings.next_sync_at == START + timedelta(minutes=60)

    assert _tick(database, START) == []
    assert _tick(database, START + timedelta(minutes=59)) == []
    [again] = _tick(database, START + timedelta(minutes=60))
    assert again.id == job.id, "still waiting: the second request coalesces"
    assert len(_jobs(database, "sync.auto")) == 1


def test_each_interval_after_a_run_queues_the_next_sync(
    database: Database, seeded: Seeded, handlers: Register
) -> None:
    handlers(scheduler.SYNC_AUTO, _noop)
    connect_organisation(database, seeded.workspace_id)
    with database.session() as session:
        session.add(
            SyncSettings(
                workspace_id=seeded.workspace_id,
                connection_id=session.scalars(select(XeroConnection.id)).one(),
                interval_minutes=15,
            )
        )
    [first] = _tick(database, START)
    with database.session() as session:
        session.get_one(Job, first.id).status = JobStatus.DONE
    assert _tick(database, START + timedelta(minutes=14)) == []
    [second] = _tick(database, START + timedelta(minutes=15))
    assert second.id != first.id


def test_only_connected_organisations_with_a_sync_handler_are_scheduled(
    database: Database, seeded: Seeded, handlers: Register
) -> None:
    connection_id = connect_organisation(database, seeded.workspace_id)
    real = registry.handler_for(scheduler.SYNC_AUTO)  # registered once the sync engine is imported
    registry.unregister(scheduler.SYNC_AUTO)
    try:
        assert _tick(database, START) == [], "no process can run sync.auto yet"
    finally:
        if real is not None:
            registry.job(scheduler.SYNC_AUTO)(real)
    handlers(scheduler.SYNC_AUTO, _noop)
    with database.session() as session:
        session.get_one(XeroConnection, connection_id).status = ConnectionStatus.NEEDS_RECONNECT
    assert _tick(database, START) == []


@pytest.mark.anyio
async def test_force_sync_runs_at_once(
    database: Database, seeded: Seeded, handlers: Register, make_runner: MakeRunner, clock: ManualClock
) -> None:
    ran: list[dict[str, Any]] = []

    async def manual(ctx: JobContext, **args: Any) -> None:
        ran.append(args)

    handlers(scheduler.SYNC_MANUAL, manual)
    connection_id = connect_organisation(database, seeded.workspace_id)
    with database.session() as session:
        job = scheduler.force_sync(session, connection_id, ["invoice", "contact"], now=clock.utcnow())
        same = scheduler.force_sync(session, connection_id, ["contact", "invoice"], now=clock.utcnow())
    assert same.id == job.id
    assert job.run_at == clock.utcnow()
    run_id = job.args["run_id"]  # the run to follow, queued with its job (one for both asks)
    with database.session() as session:
        queued = session.get_one(SyncRun, run_id)
        assert (queued.status, queued.job_id, queued.trigger) == (RunStatus.QUEUED, job.id, "manual")
        assert session.scalar(select(func.count()).select_from(SyncRun)) == 1

    assert await make_runner().run_until_idle() == 1
    assert ran == [{"connection_id": connection_id, "record_types": ["contact", "invoice"], "run_id": run_id}]
    with database.session() as session:  # this handler never ran it: the run still ends
        left = session.get_one(SyncRun, run_id)
        assert left.status is RunStatus.FAILED and left.error == "The job ended without finishing this run."


def test_force_sync_refuses_unknown_and_disconnected_organisations(
    database: Database, seeded: Seeded, clock: ManualClock
) -> None:
    connection_id = connect_organisation(database, seeded.workspace_id)
    with database.session() as session:
        session.get_one(XeroConnection, connection_id).status = ConnectionStatus.DISCONNECTED
    with database.session() as session, pytest.raises(NotFound):
        scheduler.force_sync(session, "no-such-id", now=clock.utcnow())
    with database.session() as session, pytest.raises(Conflict):
        scheduler.force_sync(session, connection_id, now=clock.utcnow())


@pytest.mark.anyio
async def test_idle_grants_are_refreshed_daily(
    database: Database, make_runner: MakeRunner, clock: ManualClock
) -> None:
    runner = make_runner(schedule=True)  # registers xero.refresh_idle (jobs.maintenance)

    await runner.run_until_idle()
    [first] = _jobs(database, "xero.refresh_idle")[:1]
    assert (first.status, first.run_at) == (JobStatus.DONE, START)

    clock.advance(6 * 3600)
    assert await runner.run_until_idle() == 0, "nothing more until a day has passed"
    clock.advance(18 * 3600)
    await runner.run_until_idle()
    runs = _jobs(database, "xero.refresh_idle")
    assert [(job.status, job.run_at) for job in runs] == [
        (JobStatus.DONE, START),
        (JobStatus.DONE, START + timedelta(days=1)),
        (JobStatus.QUEUED, START + timedelta(days=2)),
    ]


SYDNEY = "Australia/Sydney"  # UTC+11 in March (daylight saving), UTC+10 in June


@pytest.mark.parametrize(
    ("now", "cadence", "expected"),
    [
        (datetime(2026, 3, 4, 9, 0, tzinfo=UTC), "immediately", datetime(2026, 3, 4, 9, 0, tzinfo=UTC)),
        # Wednesday 20:00 in Sydney -> Monday 9 March 06:00 there = Sunday 19:00 UTC
        (datetime(2026, 3, 4, 9, 0, tzinfo=UTC), "weekly", datetime(2026, 3, 8, 19, 0, tzinfo=UTC)),
        # Monday 05:00 in Sydney -> the same morning at 06:00
        (datetime(2026, 3, 8, 18, 0, tzinfo=UTC), "weekly", datetime(2026, 3, 8, 19, 0, tzinfo=UTC)),
        # Monday 06:00 exactly -> strictly after: the Monday after
        (datetime(2026, 3, 8, 19, 0, tzinfo=UTC), "weekly", datetime(2026, 3, 15, 19, 0, tzinfo=UTC)),
        # mid-March -> 1 April 06:00, which is still daylight saving time (ends 5 April)
        (datetime(2026, 3, 4, 9, 0, tzinfo=UTC), "monthly", datetime(2026, 3, 31, 19, 0, tzinfo=UTC)),
        # mid-June (standard time) -> 1 July 06:00 = 20:00 UTC on 30 June
        (datetime(2026, 6, 15, 0, 0, tzinfo=UTC), "monthly", datetime(2026, 6, 30, 20, 0, tzinfo=UTC)),
        # December -> January of the next year
        (datetime(2026, 12, 10, 0, 0, tzinfo=UTC), "monthly", datetime(2026, 12, 31, 19, 0, tzinfo=UTC)),
    ],
)
def test_next_invoice_send(now: datetime, cadence: str, expected: datetime) -> None:
    assert scheduler.next_invoice_send(now, cadence, SYDNEY) == expected


def test_an_unknown_cadence_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        scheduler.next_invoice_send(START, "fortnightly")


def test_weekly_invoice_sending_is_kept_queued_once_a_handler_exists(
    database: Database, seeded: Seeded, handlers: Register
) -> None:
    handlers(scheduler.SEND_INVOICES, None)  # the real one is set aside: none in this process
    connection_id = connect_organisation(database, seeded.workspace_id)
    with database.session() as session:
        session.add(
            SyncSettings(
                workspace_id=seeded.workspace_id, connection_id=connection_id, invoice_sending="weekly"
            )
        )
    with database.session() as session:
        assert scheduler.schedule_invoice_sending(session, START) == []
        assert scheduler.request_invoice_sending(session, connection_id, START) is None
    handlers(scheduler.SEND_INVOICES, _noop)
    for _ in range(2):
        with database.session() as session:
            scheduler.schedule_invoice_sending(session, START)
    [job] = _jobs(database, "invoices.send_due")
    assert job.run_at == datetime(2026, 3, 8, 19, 0, tzinfo=UTC)  # Monday 06:00 in Sydney
    with database.session() as session:
        assert scheduler.request_invoice_sending(session, connection_id, START).id == job.id  # type: ignore[union-attr]


def test_immediate_invoice_sending_runs_when_requested(
    database: Database, seeded: Seeded, handlers: Register
) -> None:
    handlers(scheduler.SEND_INVOICES, _noop)
    connection_id = connect_organisation(database, seeded.workspace_id)
    with database.session() as session:
        assert scheduler.schedule_invoice_sending(session, START) == [], "immediately: nothing to plan"
        job = scheduler.request_invoice_sending(session, connection_id, START)
    assert job is not None and job.run_at == START
