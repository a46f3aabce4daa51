"""The in-process runner: runs each job once, respects lock keys, retries with backoff,
reclaims the jobs of a worker that stopped, and runs in the background until stopped."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from ledgerbridge.clock import ManualClock
from ledgerbridge.db import Database
from ledgerbridge.errors import NotFound, XeroRateLimited
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.jobs.queue import enqueue
from ledgerbridge.jobs.registry import Handler, JobContext
from ledgerbridge.jobs.runner import InProcessRunner
from tests.jobs.conftest import START

pytestmark = pytest.mark.anyio

Register = Callable[[str, Handler], None]
MakeRunner = Callable[..., InProcessRunner]


def _queue(database: Database, kind: str, count: int, **options: Any) -> list[str]:
    options.setdefault("run_at", START)  # the manual clock's time, not the wall clock's
    with database.session() as session:
        return [enqueue(session, kind, {"n": n}, **options).id for n in range(count)]


def _job(database: Database, job_id: str) -> Job:
    with database.session() as session:
        return session.get_one(Job, job_id)


async def test_runs_a_job_with_its_args_and_context(
    database: Database, handlers: Register, make_runner: MakeRunner, clock: ManualClock
) -> None:
    seen: list[tuple[str, int, str | None, dict[str, Any]]] = []

    async def handler(ctx: JobContext, **args: Any) -> None:
        seen.append((ctx.job_id, ctx.attempt, ctx.workspace_id, args))

    handlers("test.record", handler)
    with database.session() as session:
        job_id = enqueue(session, "test.record", {"connection_id": "c1"}, workspace_id="w1", run_at=START).id

    assert await make_runner().run_until_idle() == 1

    assert seen == [(job_id, 1, "w1", {"connection_id": "c1"})]
    job = _job(database, job_id)
    assert (job.status, job.attempts, job.finished_at, job.locked_until) == (
        JobStatus.DONE,
        1,
        clock.utcnow(),
        None,
    )


async def test_jobs_due_later_wait_for_their_time(
    database: Database, handlers: Register, make_runner: MakeRunner, clock: ManualClock
) -> None:
    ran: list[int] = []

    async def handler(ctx: JobContext, n: int) -> None:
        ran.append(n)

    handlers("test.later", handler)
    _queue(database, "test.later", 1, run_at=clock.utcnow() + timedelta(minutes=5))
    runner = make_runner()
    assert await runner.run_until_idle() == 0
    clock.advance(300)
    assert await runner.run_until_idle() == 1
    assert ran == [0]


async def test_kinds_without_a_handler_here_are_left_queued(
    database: Database, make_runner: MakeRunner
) -> None:
    [job_id] = _queue(database, "elsewhere.only", 1)
    assert await make_runner().run_until_idle() == 0
    assert _job(database, job_id).status is JobStatus.QUEUED


async def test_two_runners_never_run_a_job_twice(
    database: Database, handlers: Register, make_runner: MakeRunner
) -> None:
    runs: Counter[str] = Counter()

    async def handler(ctx: JobContext, n: int) -> None:
        runs[ctx.job_id] += 1
        await asyncio.sleep(0)

    handlers("test.once", handler)
    job_ids = _queue(database, "test.once", 30)
    first, second = make_runner("worker-a", 3), make_runner("worker-b", 3)

    counts = await asyncio.gather(first.run_until_idle(), second.run_until_idle())

    assert sum(counts) == 30
    assert runs == Counter(dict.fromkeys(job_ids, 1))
    with database.session() as session:
        assert set(session.scalars(select(Job.status))) == {JobStatus.DONE}


async def test_jobs_sharing_a_lock_key_never_overlap(
    database: Database, handlers: Register, make_runner: MakeRunner
) -> None:
    active: Counter[str] = Counter()
    overlaps: list[str] = []
    done: list[str] = []

    async def handler(ctx: JobContext, n: int, key: str) -> None:
        active[key] += 1
        if active[key] > 1:
            overlaps.append(key)
        with ctx.database.session() as session:
            running = session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.lock_key == key, Job.status == JobStatus.RUNNING)
            )
        if running != 1:
            overlaps.append(f"{key}: {running} running in the table")
        await asyncio.sleep(0.005)
        active[key] -= 1
        done.append(ctx.job_id)

    handlers("test.locked", handler)
    with database.session() as session:
        for n in range(12):
            key = f"sync:org-{n % 2}"
            enqueue(session, "test.locked", {"n": n, "key": key}, lock_key=key, run_at=START)
    first, second = make_runner("worker-a", 4), make_runner("worker-b", 4)

    for _ in range(20):  # a blocked job is claimed by a later pass, once its key is free
        await asyncio.gather(first.run_until_idle(), second.run_until_idle())
        if len(done) == 12:
            break

    assert overlaps == []
    assert len(done) == len(set(done)) == 12


async def test_failures_retry_with_backoff_then_fail_with_the_error(
    database: Database, handlers: Register, make_runner: MakeRunner, clock: ManualClock
) -> None:
    async def handler(ctx: JobContext, n: int) -> None:
        raise RuntimeError(f"boom on attempt {ctx.attempt}")

    handlers("test.flaky", handler)
    [job_id] = _queue(database, "test.flaky", 1, max_attempts=3)
    runner = make_runner()

    await runner.run_until_idle()
    job = _job(database, job_id)
    assert (job.status, job.attempts, job.last_error) == (
        JobStatus.QUEUED,
        1,
        "RuntimeError: boom on attempt 1",
    )
    assert job.run_at == clock.utcnow() + timedelta(seconds=15)
    assert job.locked_by is None

    assert await runner.run_until_idle() == 0, "not before its backoff has passed"
    clock.advance(15)
    await runner.run_until_idle()
    job = _job(database, job_id)
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 2)
    assert job.run_at == clock.utcnow() + timedelta(seconds=30), "the wait doubles"

    clock.advance(30)
    await runner.run_until_idle()
    job = _job(database, job_id)
    assert (job.status, job.attempts, job.last_error) == (
        JobStatus.FAILED,
        3,
        "RuntimeError: boom on attempt 3",
    )
    assert job.finished_at == clock.utcnow()


async def test_errors_no_retry_can_fix_fail_at_once(
    database: Database, handlers: Register, make_runner: MakeRunner
) -> None:
    async def handler(ctx: JobContext, n: int) -> None:
        raise NotFound("The connection was deleted.")

    handlers("test.gone", handler)
    [job_id] = _queue(database, "test.gone", 1)
    await make_runner().run_until_idle()
    job = _job(database, job_id)
    assert (job.status, job.attempts, job.last_error) == (
        JobStatus.FAILED,
        1,
        "NotFound: The connection was deleted.",
    )


async def test_rate_limits_wait_as_long_as_xero_asks(
    database: Database, handlers: Register, make_runner: MakeRunner, clock: ManualClock
) -> None:
    async def handler(ctx: JobContext, n: int) -> None:
        raise XeroRateLimited("minute", 42)

    handlers("test.limited", handler)
    [job_id] = _queue(database, "test.limited", 1)
    await make_runner().run_until_idle()
    job = _job(database, job_id)
    assert job.status is JobStatus.QUEUED
    assert job.run_at == clock.utcnow() + timedelta(seconds=42)


async def test_a_retry_gives_way_to_a_newer_queued_job_with_its_dedupe_key(
    database: Database, handlers: Register, make_runner: MakeRunner
) -> None:
    async def handler(ctx: JobContext, n: int) -> None:
        if n == 0:
            with ctx.database.session() as session:  # the same work is asked for meanwhile
                ctx.enqueue(session, "test.dedupe", {"n": 1}, dedupe_key="same", run_at=START)
            raise RuntimeError("first attempt failed")

    handlers("test.dedupe", handler)
    [first] = _queue(database, "test.dedupe", 1, dedupe_key="same")
    await make_runner(concurrency=1).run_until_idle()
    job = _job(database, first)
    assert job.status is JobStatus.FAILED
    assert job.last_error is not None and "newer job with the same dedupe key" in job.last_error
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.status == JobStatus.DONE)) == 1


def _crashed(database: Database, clock: ManualClock, attempts: int, max_attempts: int = 5) -> str:
    """A job left running by a worker that died: its lease ran out a second ago."""
    [job_id] = _queue(database, "test.crash", 1, max_attempts=max_attempts)
    with database.session() as session:
        job = session.get_one(Job, job_id)
        job.status, job.locked_by, job.attempts = JobStatus.RUNNING, "dead-worker", attempts
        job.locked_until = clock.utcnow() - timedelta(seconds=1)
    return job_id


async def test_a_job_whose_worker_died_is_reclaimed(
    database: Database, handlers: Register, make_runner: MakeRunner, clock: ManualClock
) -> None:
    ran: list[int] = []

    async def handler(ctx: JobContext, n: int) -> None:
        ran.append(ctx.attempt)

    handlers("test.crash", handler)
    job_id = _crashed(database, clock, attempts=1)
    [alive] = _queue(database, "test.crash", 1)
    with database.session() as session:  # a job under a live lease is left alone
        live = session.get_one(Job, alive)
        live.status, live.locked_by, live.locked_until = (
            JobStatus.RUNNING,
            "busy",
            clock.utcnow() + timedelta(minutes=1),
        )

    assert await make_runner().run_until_idle() == 1

    assert ran == [2]
    job = _job(database, job_id)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.DONE, 2, "worker-a")
    assert _job(database, alive).locked_by == "busy"


async def test_a_reclaimed_job_on_its_last_attempt_fails(
    database: Database, handlers: Register, make_runner: MakeRunner, clock: ManualClock
) -> None:
    ran: list[int] = []

    async def handler(ctx: JobContext, n: int) -> None:
        ran.append(n)

    handlers("test.crash", handler)
    job_id = _crashed(database, clock, attempts=3, max_attempts=3)
    await make_runner().run_until_idle()
    assert ran == []
    assert _job(database, job_id).status is JobStatus.FAILED


async def test_background_runner_runs_submitted_jobs_until_stopped(
    database: Database, handlers: Register, make_runner: MakeRunner
) -> None:
    finished = asyncio.Event()

    async def handler(ctx: JobContext, n: int) -> None:
        finished.set()

    handlers("test.background", handler)
    runner = make_runner()
    runner.poll_interval = 60  # the submit wakes it; no polling needed
    await runner.start()
    assert runner.running
    job_id = runner.submit("test.background", {"n": 1})
    await asyncio.wait_for(finished.wait(), timeout=10)
    await runner.stop()
    assert not runner.running
    for _ in range(100):  # the outcome is written just after the handler returns
        if _job(database, job_id).status is JobStatus.DONE:
            break
        await asyncio.sleep(0.01)
    assert _job(database, job_id).status is JobStatus.DONE


async def test_stop_hands_unfinished_jobs_back_at_once(
    database: Database, handlers: Register, make_runner: MakeRunner, clock: ManualClock
) -> None:
    started = asyncio.Event()

    async def handler(ctx: JobContext, n: int) -> None:
        started.set()
        await asyncio.Event().wait()  # never finishes by itself

    handlers("test.stuck", handler)
    [job_id] = _queue(database, "test.stuck", 1)
    runner = make_runner()
    await runner.start()
    await asyncio.wait_for(started.wait(), timeout=10)
    await runner.stop(grace=0.01)

    job = _job(database, job_id)
    assert (job.status, job.locked_until) == (JobStatus.RUNNING, clock.utcnow())
    clock.advance(1)
    with database.session() as session:
        session.get_one(Job, job_id).kind = "test.record"  # let another worker finish it quickly
    finished: list[str] = []

    async def quick(ctx: JobContext, n: int) -> None:
        finished.append(ctx.job_id)

    handlers("test.record", quick)
    assert await make_runner("worker-b").run_until_idle() == 1
    assert finished == [job_id]
