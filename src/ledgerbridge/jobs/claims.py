"""A job's life in the table: claimed, renewed, done, retried, failed or released.

Each transition is one short transaction guarded by a conditional UPDATE, so several
processes can share the queue:

- claiming sets ``running`` only WHERE the job is still claimable, so of two workers
  that pick the same job, exactly one UPDATE matches;
- a job with a ``lock_key`` is claimed only WHERE no live running job holds the same key.
  On SQLite the UPDATE holds the database's write lock, so the check and the claim are
  one step for every process; on PostgreSQL a transaction-level advisory lock on the key
  is taken first, so the check in the UPDATE sees every earlier claim of that key;
- a running job holds a lease (``locked_until``) that its worker renews; a job whose
  lease ran out belongs to a worker that stopped, and is claimed again (its attempt
  counts), so work is never stuck on a dead process;
- finishing updates only WHERE this worker still holds the job: a worker that lost its
  lease cannot overwrite the outcome of the one that took over.

These functions are what any runner does with the table; the in-process runner calls
them from a thread, and a Celery runner would call the same ones around its tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ledgerbridge.db import Database
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.logging import get_logger
from ledgerbridge.sync import runs
from ledgerbridge.sync.runs import close_runs_of_jobs

log = get_logger(__name__)

MAX_ERROR_CHARS = 4000
STOPPED_RUN = "The worker running this job stopped before the run finished."
ABANDONED_RUN = "The job ended without finishing this run."


@dataclass(frozen=True)
class Claimed:
    """A job this worker now holds: what the handler needs, copied out of the session."""

    id: str
    kind: str
    args: dict[str, Any]
    workspace_id: str | None
    attempt: int
    max_attempts: int
    dedupe_key: str | None


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Due and queued, or running under a lease that has run out (its worker stopped)."""
    return or_(
        and_(Job.status == JobStatus.QUEUED, Job.run_at <= now),
        and_(Job.status == JobStatus.RUNNING, Job.locked_until < now),
    )


def _lock_free(now: datetime) -> ColumnElement[bool]:
    """No other job with the same lock key is running under a live lease."""
    other = aliased(Job)
    held = exists(
        select(other.id).where(
            other.lock_key == Job.lock_key,
            other.id != Job.id,
            other.status == JobStatus.RUNNING,
            other.locked_until >= now,
        )
    )
    return or_(Job.lock_key.is_(None), ~held)


def candidates(session: Session, kinds: list[str], now: datetime, limit: int) -> list[tuple[str, str | None]]:
    """(id, lock_key) of jobs worth trying to claim, oldest due first; only a hint, since
    another worker may claim them first (the claim itself re-checks everything)."""
    if not kinds:
        return []
    rows = session.execute(
        select(Job.id, Job.lock_key)
        .where(_claimable(now), Job.kind.in_(kinds))
        .order_by(Job.run_at, Job.created_at)
        .limit(limit)
    )
    return [(row.id, row.lock_key) for row in rows]


def _serialise_lock_key(session: Session, lock_key: str) -> None:
    """On PostgreSQL, wait for any other transaction claiming a job with this key."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(lock_key, 0))))


def claim_one(
    session: Session, job_id: str, lock_key: str | None, worker_id: str, now: datetime, lease: timedelta
) -> Claimed | None:
    """Take ``job_id`` for ``worker_id`` if it is still claimable and its lock key is free."""
    if lock_key is not None:
        _serialise_lock_key(session, lock_key)
    taken = session.scalar(
        update(Job)
        .where(Job.id == job_id, _claimable(now), _lock_free(now))
        .values(
            status=JobStatus.RUNNING,
            locked_by=worker_id,
            locked_until=now + lease,
            attempts=Job.attempts + 1,
        )
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    if taken is None:
        return None
    job = session.get_one(Job, job_id)
    if job.attempts > job.max_attempts:
        # Only a reclaimed job gets here: its last allowed attempt died with its worker.
        _set_failed(session, job, now, job.last_error or "the worker running this job stopped")
        close_runs_of_jobs(session, [job.id], f"{STOPPED_RUN} It is not tried again (attempt limit reached).")
        log.warning("jobs.gave_up_after_worker_stopped", job_id=job.id, kind=job.kind)
        return None
    if job.attempts > 1:
        # A run an earlier attempt left running died with it (a queued one is this attempt's).
        reason = f"{STOPPED_RUN} Attempt {job.attempts} takes over."
        close_runs_of_jobs(session, [job.id], reason, running_only=True)
    return Claimed(
        job.id, job.kind, dict(job.args), job.workspace_id, job.attempts, job.max_attempts, job.dedupe_key
    )


def claim(
    database: Database, kinds: list[str], worker_id: str, now: datetime, lease: timedelta, limit: int
) -> list[Claimed]:
    """Claim up to ``limit`` due jobs of ``kinds``, one transaction per job (so locks on
    PostgreSQL are taken one key at a time and can never deadlock)."""
    if limit <= 0:
        return []
    with database.session() as session:
        found = candidates(session, kinds, now, limit * 4)
    claimed: list[Claimed] = []
    for job_id, lock_key in found:
        if len(claimed) >= limit:
            break
        with database.session() as session:
            job = claim_one(session, job_id, lock_key, worker_id, now, lease)
        if job is not None:
            claimed.append(job)
    return claimed


def _held_by(job_id: str, worker_id: str) -> ColumnElement[bool]:
    return and_(Job.id == job_id, Job.locked_by == worker_id, Job.status == JobStatus.RUNNING)


def _apply(session: Session, job_id: str, worker_id: str, **values: Any) -> bool:
    changed = session.scalar(
        update(Job)
        .where(_held_by(job_id, worker_id))
        .values(**values)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return changed is not None


def renew(database: Database, job_id: str, worker_id: str, until: datetime) -> bool:
    """Extend the lease; False when another worker has taken the job over."""
    with database.session() as session:
        return _apply(session, job_id, worker_id, locked_until=until)


def complete(database: Database, job_id: str, worker_id: str, now: datetime) -> bool:
    with database.session() as session:
        done = _apply(
            session, job_id, worker_id, status=JobStatus.DONE, finished_at=now, locked_until=None
        )
        if done:  # a handler that returned has no run left to finish
            close_runs_of_jobs(session, [job_id], ABANDONED_RUN)
    if not done:
        log.warning("jobs.lease_lost_before_done", job_id=job_id, worker_id=worker_id)
    return done


def _set_failed(session: Session, job: Job, now: datetime, error: str) -> None:
    job.status = JobStatus.FAILED
    job.last_error = error[:MAX_ERROR_CHARS]
    job.finished_at = now
    job.locked_until = None


def fail(
    database: Database, job: Claimed, worker_id: str, now: datetime, error: str, retry_at: datetime | None
) -> JobStatus | None:
    """Record ``error``; queue the job again at ``retry_at``, or fail it when that is None.

    A job cannot go back to the queue while another job with its ``dedupe_key`` waits
    there (the unique index forbids it, and that job will do the same work), so it fails
    with a note saying so. Returns the new status, or None if the lease was lost.
    """
    error = error[:MAX_ERROR_CHARS]
    if retry_at is not None:
        try:
            with database.session() as session:
                if not _superseded(session, job):
                    changed = _apply(
                        session, job.id, worker_id, status=JobStatus.QUEUED, run_at=retry_at,
                        locked_by=None, locked_until=None, last_error=error,
                    )
                    return JobStatus.QUEUED if changed else None
        except IntegrityError:  # a job with the same dedupe key was queued in between
            pass
        error = f"{error} (not retried: a newer job with the same dedupe key is queued)"
    with database.session() as session:
        changed = _apply(
            session, job.id, worker_id, status=JobStatus.FAILED, last_error=error,
            finished_at=now, locked_until=None,
        )
        if changed:  # given up: no attempt will finish its runs
            close_runs_of_jobs(session, [job.id], f"{ABANDONED_RUN} The job failed: {error}")
    return JobStatus.FAILED if changed else None


def _superseded(session: Session, job: Claimed) -> bool:
    if job.dedupe_key is None:
        return False
    waiting = select(Job.id).where(Job.dedupe_key == job.dedupe_key, Job.status == JobStatus.QUEUED)
    return session.scalar(waiting.limit(1)) is not None


def release(database: Database, job_ids: list[str], worker_id: str, now: datetime) -> None:
    """End the leases of jobs this worker will not finish (shutdown), so another worker
    reclaims them at once instead of after the lease runs out."""
    if not job_ids:
        return
    with database.session() as session:
        session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.locked_by == worker_id, Job.status == JobStatus.RUNNING)
            .values(locked_until=now)
            .execution_options(synchronize_session=False)
        )


def close_orphaned_runs(database: Database, now: datetime) -> int:
    """Close the sync runs that no live job will finish (see ``sync.runs``)."""
    with database.session() as session:
        return runs.close_orphaned_runs(session, now)
