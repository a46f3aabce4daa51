"""Runs in a separate process: an InProcessRunner over the shared database, whose handler
writes "start"/"end" lines to one append-only file so the parent can see every overlap."""

from __future__ import annotations

import asyncio
import os
from multiprocessing.synchronize import Barrier
from typing import Any

from sqlalchemy import select

from ledgerbridge.clock import SystemClock
from ledgerbridge.db import Database
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.jobs.registry import JobContext, job
from ledgerbridge.jobs.runner import InProcessRunner
from ledgerbridge.settings import Settings
from ledgerbridge.xero.services import XeroServices

KIND = "test.multiprocess"
EVENTS = os.environ.get("LB_TEST_JOB_EVENTS", "")


def _write(line: str) -> None:
    # O_APPEND writes of one short line are atomic, so the file is one global order of events.
    fd = os.open(EVENTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@job(KIND)
async def handler(ctx: JobContext, n: int, key: str | None) -> None:
    _write(f"start {ctx.job_id} {key or '-'} {os.getpid()}")
    await asyncio.sleep(0.002)
    _write(f"end {ctx.job_id} {key or '-'} {os.getpid()}")


def _unfinished(database: Database) -> bool:
    with database.session() as session:
        waiting = select(Job.id).where(Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
        return session.scalar(waiting.limit(1)) is not None


async def _drain(settings: Settings) -> int:
    database = Database.from_url(settings.resolved_database_url)
    xero = XeroServices.build(settings, database)
    runner = InProcessRunner(database, xero, SystemClock(), f"proc-{os.getpid()}", 4, schedule=False)
    try:
        total = 0
        while _unfinished(database):  # jobs blocked by a lock key held elsewhere wait for it
            ran = await runner.run_until_idle()
            total += ran
            if ran == 0:
                await asyncio.sleep(0.005)
        return total
    finally:
        await xero.aclose()
        database.engine.dispose()


def run(settings_json: str, events: str, barrier: Barrier, results: Any) -> None:
    global EVENTS
    EVENTS = events
    settings = Settings.model_validate_json(settings_json)
    barrier.wait(timeout=60)
    try:
        results.put(("ok", asyncio.run(_drain(settings))))
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put(("error", f"{type(exc).__name__}: {exc}"))
