"""Runs and the sync log: every run with its trigger and counts, every failed record with
Xero's own message and a hint a person can act on.

Every part of the engine (imports, pulls, pushes, webhook fetches) records what it did
through these functions, so the log reads the same whatever produced it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from ledgerbridge.db import Database, utcnow
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.jobs.registry import current_job_id
from ledgerbridge.logging import get_logger
from ledgerbridge.sync.models import RecordType, RunStatus, SyncIssue, SyncRun

log = get_logger(__name__)

UNFINISHED = (RunStatus.QUEUED, RunStatus.RUNNING)
"""A run in one of these states has not ended; every run must leave them."""

HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"account code .* (is not a valid|does not exist|not .*valid)|Account code '.*'", re.I),
        "Xero does not know this account code. Import the chart of accounts, then choose "
        "an account that exists in Settings (revenue or expense account).",
    ),
    (
        re.compile(r"account code must be specified", re.I),
        "A line has no account. Choose a revenue and an expense account in the "
        "organisation's Settings (lines without one take them), or give each line its own.",
    ),
    (
        re.compile(r"TaxType|tax type|tax rate", re.I),
        "The tax rate is missing or not valid for this account. Import tax rates and set "
        "a default tax rate in Settings.",
    ),
    (
        re.compile(r"currency", re.I),
        "This currency is not enabled in the Xero organisation. Add it under Xero's "
        "Settings > Currencies, or change the document's currency.",
    ),
    (
        re.compile(
            r"contact name .* already (assigned|exists)|must be unique across all active contacts", re.I
        ),
        "A Xero contact already has this name. Link the client to that contact on the "
        "matching page instead of creating a second one.",
    ),
    (
        re.compile(r"period.*(lock|closed)|lock date|end of year lock", re.I),
        "The document's date is inside a period locked in Xero. Change the date or ask "
        "your accountant to move the lock date.",
    ),
    (
        re.compile(r"pay period|payroll calendar", re.I),
        "The timesheet's dates are not a pay period of the employee's payroll calendar. "
        "Send it for the calendar's period.",
    ),
    (
        re.compile(r"archived", re.I),
        "The contact is archived in Xero. Restore it in Xero, or pick another contact.",
    ),
    (
        re.compile(r"not of valid status for modification|cannot be edited", re.I),
        "Xero no longer allows changes to this document (it is paid, voided or has "
        "payments). Make the change in Xero, or void and send a new one.",
    ),
)


def hint_for(message: str) -> str | None:
    """A plain-language next step for a Xero message, where one is known."""
    for pattern, hint in HINTS:
        if pattern.search(message):
            return hint
    return None


def start_run(
    session: Session,
    workspace_id: str,
    connection_id: str | None,
    trigger: str,
    record_types: Iterable[RecordType],
    dry_run: bool = False,
    job_id: str | None = None,
) -> SyncRun:
    """A running run. Started inside a job's handler it names that job (``job_id``
    defaults to the runner's ``current_job_id``), so it is closed if the job's worker stops."""
    run = SyncRun(
        workspace_id=workspace_id,
        connection_id=connection_id,
        trigger=trigger,
        record_types=[str(t) for t in record_types],
        dry_run=dry_run,
        status=RunStatus.RUNNING,
        started_at=utcnow(),
        counts={},
        progress={},
        preview=[],
        job_id=job_id or current_job_id.get(),
    )
    session.add(run)
    session.flush()
    return run


def begin_run(run: SyncRun) -> SyncRun:
    """A queued run starts now, under the job running it (its own, or a retry's)."""
    run.status, run.started_at, run.finished_at, run.error = RunStatus.RUNNING, utcnow(), None, None
    run.job_id = current_job_id.get() or run.job_id
    return run


def stopped_by(error: BaseException) -> str:
    """What the log says about a run that an exception stopped, in words a person can read."""
    if isinstance(error, asyncio.CancelledError):
        return (
            "The run was cancelled before it finished (its worker stopped or its request was "
            "abandoned). What it had done is kept; the next sync carries on from there."
        )
    detail = str(error).strip() or "no details"
    return f"The run stopped on an unexpected error ({type(error).__name__}: {detail[:500]})."


def close_run(database: Database, run_id: str, error: str, calls: int = 0) -> None:
    """Close a run that stopped early as failed, in a transaction of its own (the caller's
    may be the one that failed). Never raises: the caller is already handling an error,
    and a run this cannot close is closed later by ``close_orphaned_runs``."""
    try:
        with database.session() as session:
            run = session.get(SyncRun, run_id)
            if run is not None and run.status in UNFINISHED:
                finish_run(run, calls, error)
    except Exception as exc:  # the database may be what failed
        log.warning("sync.run_not_closed", run_id=run_id, error=repr(exc))


def close_runs_of_jobs(
    session: Session, job_ids: Sequence[str], reason: str, *, running_only: bool = False
) -> int:
    """Close the unfinished runs of these jobs as failed with ``reason`` (the job runner:
    a job reclaimed from a stopped worker, or given up). ``running_only`` leaves a queued
    run for the job's next attempt to start."""
    if not job_ids:
        return 0
    statuses = (RunStatus.RUNNING,) if running_only else UNFINISHED
    closed = session.execute(
        update(SyncRun)
        .where(SyncRun.job_id.in_(list(job_ids)), SyncRun.status.in_(statuses))
        .values(status=RunStatus.FAILED, error=reason, finished_at=utcnow())
        .returning(SyncRun.id)
        .execution_options(synchronize_session=False)
    )
    return len(closed.all())


def close_orphaned_runs(session: Session, now: datetime) -> int:
    """Close every unfinished run whose job can no longer finish it: the job is gone, done
    or failed, its worker's lease ran out, or it waits for a retry while the run says
    running. Runs at start-up and on each poll of the job runner."""
    live = exists(
        select(Job.id).where(
            Job.id == SyncRun.job_id,
            or_(
                and_(Job.status == JobStatus.RUNNING, Job.locked_until >= now),
                and_(Job.status == JobStatus.QUEUED, SyncRun.status == RunStatus.QUEUED),
            ),
        )
    )
    closed = session.execute(
        update(SyncRun)
        .where(SyncRun.job_id.is_not(None), SyncRun.status.in_(UNFINISHED), ~live)
        .values(
            status=RunStatus.FAILED,
            error="The job running this sync stopped before the run finished (its worker was "
            "stopped or restarted). Nothing is lost: the next sync carries on from here.",
            finished_at=now,
        )
        .returning(SyncRun.id)
        .execution_options(synchronize_session=False)
    )
    ids = [row[0] for row in closed.all()]
    if ids:
        log.warning("sync.orphaned_runs_closed", run_ids=ids)
    return len(ids)


def count(run: SyncRun, outcome: str, n: int = 1) -> None:
    """Add to one of the run's counters (created, updated, skipped, failed, calls ...).
    A new dict each time: the column is plain JSON, so only an assignment is seen."""
    counts = run.counts or {}  # None until a new run's first flush
    run.counts = {**counts, outcome: counts.get(outcome, 0) + n}


def record_issue(
    session: Session,
    run: SyncRun,
    record_type: RecordType,
    direction: str,
    message: str,
    local_id: str | None = None,
    xero_id: str | None = None,
    from_xero: bool = False,
) -> SyncIssue:
    """Log a failed record. A record failing again for the same reason keeps its one open
    issue (moved to this run) rather than adding a second; the run counts it either way.
    ``from_xero``: the message is Xero's own words, not ours."""
    if local_id is not None or xero_id is not None:
        with session.no_autoflush:
            same = session.scalar(
                select(SyncIssue).where(
                    SyncIssue.connection_id == run.connection_id,
                    SyncIssue.record_type == record_type,
                    SyncIssue.direction == direction,
                    SyncIssue.local_id.is_(None) if local_id is None else SyncIssue.local_id == local_id,
                    SyncIssue.xero_id.is_(None) if xero_id is None else SyncIssue.xero_id == xero_id,
                    SyncIssue.message == message,
                    SyncIssue.resolved_at.is_(None),
                )
            )
        if same is not None:
            same.run_id = run.id
            count(run, "failed")
            return same
    issue = SyncIssue(
        workspace_id=run.workspace_id,
        run_id=run.id,
        connection_id=run.connection_id,
        record_type=record_type,
        direction=direction,
        local_id=local_id,
        xero_id=xero_id,
        message=message,
        from_xero=from_xero,
        hint=hint_for(message),
    )
    session.add(issue)
    count(run, "failed")
    return issue


def resolve_issues(
    session: Session,
    connection_id: str,
    record_type: RecordType,
    local_ids: Sequence[str],
    direction: str = "push",
    message: str | None = None,
) -> None:
    """These records reached Xero: their open issues there are over (an old error must not
    stay in the log after a later success); with ``message``, only that one cause is over
    (one part of a record arrived, as one allocation of a credit note)."""
    if not local_ids:
        return
    session.execute(
        update(SyncIssue)
        .where(
            SyncIssue.connection_id == connection_id,
            SyncIssue.record_type == record_type,
            SyncIssue.direction == direction,
            SyncIssue.local_id.in_(list(local_ids)),
            SyncIssue.resolved_at.is_(None),
            *([] if message is None else [SyncIssue.message == message]),
        )
        .values(resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def finish_run(run: SyncRun, calls: int = 0, error: str | None = None) -> SyncRun:
    """Close a run: failed if it stopped early, partial if some records failed."""
    if calls:
        count(run, "calls", calls)
    run.finished_at = utcnow()
    if error is not None:
        run.status, run.error = RunStatus.FAILED, error
    elif run.counts.get("failed"):
        run.status = RunStatus.PARTIAL
    else:
        run.status = RunStatus.SUCCEEDED
    return run
