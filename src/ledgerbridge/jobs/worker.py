"""``ledgerbridge worker``: the runner and the scheduler in a process of their own.

Use it when the web app runs with ``LEDGERBRIDGE_RUN_JOBS_IN_WEB=false``, or beside the
web app for more throughput: both share the queue table safely.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from ledgerbridge.db import Database
from ledgerbridge.jobs.runner import InProcessRunner
from ledgerbridge.settings import Settings
from ledgerbridge.xero.services import XeroServices


async def run_worker(
    settings: Settings,
    database: Database,
    *,
    concurrency: int = 4,
    poll_interval: float = 1.0,
    stop: asyncio.Event | None = None,
) -> None:
    """Run jobs until ``stop`` is set, or SIGINT/SIGTERM arrives; then finish or hand back
    the running jobs and close the Xero client."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    xero = XeroServices.build(settings, database)
    runner = InProcessRunner(database, xero, xero.clock, concurrency=concurrency, poll_interval=poll_interval)
    try:
        await runner.start()
        await stop.wait()
    finally:
        await runner.stop()
        await xero.aclose()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)
