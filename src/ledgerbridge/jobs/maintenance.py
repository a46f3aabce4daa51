"""Handlers for the daily jobs the scheduler keeps queued."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import delete

from ledgerbridge.db import Database
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.jobs.registry import JobContext, job
from ledgerbridge.logging import get_logger

log = get_logger(__name__)

KEEP_DONE = timedelta(days=30)


@job("xero.refresh_idle")
async def refresh_idle(ctx: JobContext) -> None:
    """Xero refresh tokens lapse after 60 days unused; refreshing grants idle for two
    weeks keeps quiet organisations connected. Safe to repeat: a grant refreshed by
    anyone since is skipped."""
    refreshed = await ctx.xero.tokens.refresh_idle()
    log.info("jobs.refresh_idle", grants_renewed=refreshed)  # "refresh" in a key is redacted as secret


@job("jobs.prune")
async def prune(ctx: JobContext) -> None:
    """Delete done jobs older than 30 days so the queue table stays small; failed jobs
    are kept, since someone may still need to read why they failed."""
    removed = await asyncio.to_thread(prune_done, ctx.database, ctx.clock.utcnow() - KEEP_DONE)
    log.info("jobs.pruned", removed=removed)


def prune_done(database: Database, before: datetime) -> int:
    with database.session() as session:
        result = session.execute(
            delete(Job)
            .where(Job.status == JobStatus.DONE, Job.finished_at < before)
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        )
        return len(result.all())
