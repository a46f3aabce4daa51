"""Putting work on the queue, in the caller's transaction.

A job is a row written by the same unit of work as the change that calls for it, so it
exists exactly when that change commits: a rolled-back request leaves no job behind, and
a committed one can never lose its job. (This is why there is no enqueue-after-commit
buffer: the queue is a table in the same database.)

``dedupe_key`` coalesces: while a job with that key is queued, asking again returns that
job instead of adding another. The partial unique index ``uq_jobs_queued_dedupe`` makes
this hold across processes; the insert uses ``ON CONFLICT DO NOTHING`` (spelled the same
on SQLite and PostgreSQL), so losing a race never aborts the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ledgerbridge.db import new_id, utcnow
from ledgerbridge.errors import Conflict
from ledgerbridge.jobs.models import Job, JobStatus

_COALESCE_TRIES = 3


def insert_ignoring_conflicts(session: Session, model: type[Any]) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the session's backend."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing()
    raise NotImplementedError(f"the job queue supports SQLite and PostgreSQL, not {dialect}")


def enqueue(
    session: Session,
    kind: str,
    args: dict[str, Any],
    *,
    workspace_id: str | None = None,
    lock_key: str | None = None,
    dedupe_key: str | None = None,
    run_at: datetime | None = None,
    max_attempts: int | None = None,
) -> Job:
    """Queue ``kind`` with ``args`` (JSON ids only) to run at ``run_at`` (default: now).

    With a ``dedupe_key`` already queued, returns that job instead (its ``run_at`` is
    brought forward if this request wants it sooner). ``lock_key`` makes jobs sharing it
    run one at a time. Nothing is committed here: the caller's unit of work does that.
    """
    when = run_at or utcnow()
    if dedupe_key is None:
        job = _insert(session, kind, args, workspace_id, lock_key, None, when, max_attempts)
        assert job is not None  # a plain insert either adds the row or raises
        return job
    for _ in range(_COALESCE_TRIES):
        existing = _queued_with_key(session, dedupe_key)
        if existing is not None:
            return _bring_forward(session, existing, when)
        inserted = _insert(
            session, kind, args, workspace_id, lock_key, dedupe_key, when, max_attempts, ignore=True
        )
        if inserted is not None:
            return inserted
        # Another transaction queued the same key between the check and the insert, or its
        # job was claimed in that instant: look again (the index decides who won).
    raise Conflict(f"job {dedupe_key!r} kept changing while it was being queued; try again")


def list_jobs(session: Session, status: JobStatus | None = None, limit: int = 50) -> list[Job]:
    """The queue as a person reads it: due or newest first."""
    query = select(Job).order_by(Job.run_at.desc(), Job.created_at.desc()).limit(limit)
    if status is not None:
        query = query.where(Job.status == status)
    return list(session.scalars(query))


def _queued_with_key(session: Session, dedupe_key: str) -> Job | None:
    return session.scalar(select(Job).where(Job.dedupe_key == dedupe_key, Job.status == JobStatus.QUEUED))


def _bring_forward(session: Session, job: Job, when: datetime) -> Job:
    """A coalesced request for sooner work moves the queued job earlier, never later."""
    if job.run_at > when:
        session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == JobStatus.QUEUED, Job.run_at > when)
            .values(run_at=when)
            .execution_options(synchronize_session=False)
        )
        session.refresh(job)
    return job


def _insert(
    session: Session,
    kind: str,
    args: dict[str, Any],
    workspace_id: str | None,
    lock_key: str | None,
    dedupe_key: str | None,
    run_at: datetime,
    max_attempts: int | None,
    *,
    ignore: bool = False,
) -> Job | None:
    values: dict[str, Any] = {
        "id": new_id(),
        "kind": kind,
        "args": args,
        "workspace_id": workspace_id,
        "lock_key": lock_key,
        "dedupe_key": dedupe_key,
        "run_at": run_at,
        "status": JobStatus.QUEUED,
    }
    if max_attempts is not None:
        values["max_attempts"] = max_attempts
    if not ignore:
        job = Job(**values)
        session.add(job)
        session.flush()
        return job
    session.flush()  # earlier pending changes first, in the order the caller made them
    inserted = session.scalar(insert_ignoring_conflicts(session, Job).values(**values).returning(Job.id))
    return None if inserted is None else session.get(Job, inserted)
