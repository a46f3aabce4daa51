"""Enqueueing: a job exists only if its transaction commits, and a dedupe key coalesces."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from ledgerbridge.clock import ManualClock
from ledgerbridge.db import Database
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.jobs.queue import enqueue, list_jobs


def _count(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Job)) or 0


class Boom(Exception):
    pass


def test_rolled_back_transaction_leaves_no_job(database: Database) -> None:
    def change_that_fails() -> None:
        with database.session() as session:
            enqueue(session, "sync.pull", {"connection_id": "c1"}, dedupe_key="pull:c1")
            enqueue(session, "sync.pull", {"connection_id": "c2"})
            raise Boom

    with pytest.raises(Boom):
        change_that_fails()
    assert _count(database) == 0


def test_committed_transaction_keeps_its_job(database: Database, clock: ManualClock) -> None:
    with database.session() as session:
        job = enqueue(session, "sync.pull", {"connection_id": "c1"}, workspace_id="w1", lock_key="k")
    with database.session() as session:
        stored = session.get_one(Job, job.id)
        assert (stored.kind, stored.args, stored.status) == (
            "sync.pull",
            {"connection_id": "c1"},
            JobStatus.QUEUED,
        )
        assert (stored.workspace_id, stored.lock_key, stored.attempts) == ("w1", "k", 0)


def test_dedupe_key_coalesces_while_queued(database: Database, clock: ManualClock) -> None:
    later = clock.utcnow() + timedelta(hours=1)
    with database.session() as session:
        first = enqueue(session, "sync.auto", {"connection_id": "c1"}, dedupe_key="auto:c1", run_at=later)
        again = enqueue(session, "sync.auto", {"connection_id": "c1"}, dedupe_key="auto:c1", run_at=later)
    with database.session() as session:  # a later transaction coalesces too, and asks for sooner
        sooner = enqueue(
            session, "sync.auto", {"connection_id": "c1"}, dedupe_key="auto:c1", run_at=clock.utcnow()
        )
    assert first.id == again.id == sooner.id
    assert _count(database) == 1
    with database.session() as session:
        assert session.get_one(Job, first.id).run_at == clock.utcnow()


def test_dedupe_key_free_again_once_the_job_left_the_queue(database: Database) -> None:
    with database.session() as session:
        first = enqueue(session, "sync.auto", {}, dedupe_key="auto:c1")
    with database.session() as session:
        session.execute(update(Job).where(Job.id == first.id).values(status=JobStatus.RUNNING))
    with database.session() as session:
        second = enqueue(session, "sync.auto", {}, dedupe_key="auto:c1")
    assert second.id != first.id
    assert _count(database) == 2


def test_without_dedupe_key_every_request_is_a_job(database: Database) -> None:
    with database.session() as session:
        enqueue(session, "sync.pull", {"connection_id": "c1"})
        enqueue(session, "sync.pull", {"connection_id": "c1"})
    assert _count(database) == 2


def test_list_jobs_filters_by_status(database: Database) -> None:
    with database.session() as session:
        queued = enqueue(session, "a.b", {})
        failed = enqueue(session, "a.c", {})
        failed.status = JobStatus.FAILED
    with database.session() as session:
        assert [job.id for job in list_jobs(session, JobStatus.QUEUED)] == [queued.id]
        assert {job.id for job in list_jobs(session)} == {queued.id, failed.id}
