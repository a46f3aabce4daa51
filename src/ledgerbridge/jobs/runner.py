"""Running queued jobs: the ``Runner`` interface and the in-process runner.

The queue is the ``jobs`` table, so work survives a restart and several processes (the
web app, ``ledgerbridge worker``) can run jobs from it together; ``claims`` makes sure
none runs a job twice at once or overlaps two jobs with one lock key.

Handlers must be idempotent: a job is run again when its worker stops after the work
but before the job is marked done, and when it is retried after a failure.

``InProcessRunner`` runs handlers on this process's event loop, with the database work
of the queue in a thread so the loop (and the web app on it) is never blocked. A Celery
runner would implement the same protocol: claim in a dispatcher, and run
``execute(claimed)`` inside its task; handlers take ids, so nothing else changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from ledgerbridge.clock import Clock
from ledgerbridge.db import Database
from ledgerbridge.jobs import claims, registry, scheduler
from ledgerbridge.jobs.claims import Claimed
from ledgerbridge.jobs.queue import enqueue
from ledgerbridge.jobs.retry import RetryPolicy
from ledgerbridge.logging import get_logger

if TYPE_CHECKING:
    from ledgerbridge.xero.services import XeroServices

log = get_logger(__name__)

DEFAULT_LEASE = timedelta(minutes=5)


class Runner(Protocol):
    """What the app and the command line need from whatever runs jobs."""

    def submit(
        self,
        kind: str,
        args: dict[str, Any],
        *,
        workspace_id: str | None = None,
        lock_key: str | None = None,
        dedupe_key: str | None = None,
    ) -> str:
        """Queue a job in a transaction of its own and return its id. Code that changes
        data should call ``queue.enqueue`` in its own transaction instead."""
        ...

    async def run_until_idle(self) -> int:
        """Run due jobs until none is left that this runner may run; returns how many ran."""
        ...

    async def start(self) -> None:
        """Keep running jobs in the background until ``stop``."""
        ...

    async def stop(self) -> None: ...


def default_worker_id() -> str:
    """host:pid:random, so a log line or a ``locked_by`` names the process that ran it."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class InProcessRunner:
    """Runs jobs on the current event loop, ``concurrency`` at a time.

    Each poll (every ``poll_interval`` seconds, or sooner when a job finishes or one is
    submitted here) it runs the scheduler, then claims as many due jobs as it has free
    slots. Only kinds with a handler registered in this process are claimed; others wait
    for a process that has one.
    """

    def __init__(
        self,
        database: Database,
        xero: XeroServices,
        clock: Clock,
        worker_id: str | None = None,
        concurrency: int = 4,
        *,
        poll_interval: float = 1.0,
        lease: timedelta = DEFAULT_LEASE,
        retry: RetryPolicy | None = None,
        schedule: bool = True,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        registry.load_handlers()
        self.database = database
        self.xero = xero
        self.clock = clock
        self.worker_id = worker_id or default_worker_id()
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease = lease
        self.retry = retry or RetryPolicy()
        self.schedule = schedule
        self._running: dict[asyncio.Task[None], str] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._event_loop: asyncio.AbstractEventLoop | None = None

    # ---------------------------------------------------------------- public interface

    def submit(
        self,
        kind: str,
        args: dict[str, Any],
        *,
        workspace_id: str | None = None,
        lock_key: str | None = None,
        dedupe_key: str | None = None,
    ) -> str:
        with self.database.session() as session:
            job = enqueue(
                session, kind, args, workspace_id=workspace_id, lock_key=lock_key,
                dedupe_key=dedupe_key, run_at=self.clock.utcnow(),
            )
            job_id = job.id
        if self._event_loop is not None and self.running:  # may be called from another thread
            self._event_loop.call_soon_threadsafe(self._wake.set)
        return job_id

    async def run_until_idle(self) -> int:
        ran = 0
        await self._close_orphaned_runs()
        while True:
            await self._schedule()
            batch = await self._claim(self.concurrency)
            if not batch:
                return ran
            await asyncio.gather(*(self.execute(job) for job in batch))
            ran += len(batch)

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._event_loop = asyncio.get_running_loop()
        await self._close_orphaned_runs()  # runs a previous process left behind
        self._loop_task = asyncio.create_task(self._loop(), name=f"jobs-runner-{self.worker_id}")
        log.info("jobs.runner_started", worker_id=self.worker_id, concurrency=self.concurrency)

    async def stop(self, grace: float = 30.0) -> None:
        """Stop claiming, give running jobs ``grace`` seconds, then cancel the rest and end
        their leases so another worker picks them up straight away."""
        if self._loop_task is None:
            return
        self._stopping.set()
        self._wake.set()
        await self._loop_task
        self._loop_task = None
        if self._running:
            _, unfinished = await asyncio.wait(set(self._running), timeout=grace)
            cut_short = [self._running[task] for task in unfinished]
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
            now = self.clock.utcnow()
            await asyncio.to_thread(claims.release, self.database, cut_short, self.worker_id, now)
        log.info("jobs.runner_stopped", worker_id=self.worker_id)

    # ---------------------------------------------------------------- one job

    async def execute(self, job: Claimed) -> None:
        """Run one claimed job's handler and record the outcome."""
        handler = registry.handler_for(job.kind)
        bound = log.bind(job_id=job.id, kind=job.kind, attempt=job.attempt)
        if handler is None:  # claimed by a runner that had it; unregistered since
            await self._finish_failed(job, f"no handler is registered for {job.kind!r}", None)
            return
        context = registry.JobContext(
            self.database, self.xero, self.clock, job.id, job.kind, job.attempt, job.workspace_id
        )
        heartbeat = asyncio.create_task(self._keep_lease(job.id))
        job_token = registry.current_job_id.set(job.id)
        try:
            await handler(context, **job.args)
        except Exception as error:
            now = self.clock.utcnow()
            retry_at = self.retry.next_run(error, job.attempt, job.max_attempts, now)
            bound.warning("jobs.failed", error=repr(error), retry_at=retry_at and retry_at.isoformat())
            await self._finish_failed(job, f"{type(error).__name__}: {error}", retry_at)
        else:
            now = self.clock.utcnow()
            await asyncio.to_thread(claims.complete, self.database, job.id, self.worker_id, now)
            bound.debug("jobs.done")
        finally:
            registry.current_job_id.reset(job_token)
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)

    async def _finish_failed(self, job: Claimed, error: str, retry_at: datetime | None) -> None:
        await asyncio.to_thread(
            claims.fail, self.database, job, self.worker_id, self.clock.utcnow(), error, retry_at
        )

    async def _keep_lease(self, job_id: str) -> None:
        """Renew the lease at a third of its length while the handler runs. The wait is in
        real seconds (a test's manual clock must not be pushed forward by it)."""
        interval = max(self.lease.total_seconds() / 3, 0.01)
        while True:
            await asyncio.sleep(interval)
            until = self.clock.utcnow() + self.lease
            if not await asyncio.to_thread(claims.renew, self.database, job_id, self.worker_id, until):
                log.warning("jobs.lease_lost", job_id=job_id, worker_id=self.worker_id)
                return

    # ---------------------------------------------------------------- the loop

    async def _schedule(self) -> None:
        if not self.schedule:
            return
        try:
            await asyncio.to_thread(scheduler.tick_in, self.database, self.clock.utcnow())
        except Exception as error:  # a bad tick must not stop the jobs already queued
            log.exception("jobs.schedule_failed", error=repr(error))

    async def _close_orphaned_runs(self) -> None:
        """Close sync runs whose job can no longer finish them (a worker killed mid-run, a
        process restarted): at start-up and on every poll, so none stays "running"."""
        try:
            await asyncio.to_thread(claims.close_orphaned_runs, self.database, self.clock.utcnow())
        except Exception as error:  # must not stop the jobs already queued
            log.exception("jobs.close_orphaned_runs_failed", error=repr(error))

    async def _claim(self, limit: int) -> list[Claimed]:
        kinds = registry.registered_kinds()
        return await asyncio.to_thread(
            claims.claim, self.database, kinds, self.worker_id, self.clock.utcnow(), self.lease, limit
        )

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self._tick()
            except Exception as error:  # the database may be briefly unreachable: try next poll
                log.exception("jobs.poll_failed", error=repr(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)

    async def _tick(self) -> None:
        await self._schedule()
        await self._close_orphaned_runs()
        free = self.concurrency - len(self._running)
        if free <= 0 or self._stopping.is_set():
            return
        for job in await self._claim(free):
            task = asyncio.create_task(self.execute(job), name=f"job-{job.kind}-{job.id}")
            self._running[task] = job.id
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("jobs.runner_error", error=repr(task.exception()))
        self._wake.set()
