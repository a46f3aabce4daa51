"""Two processes share one queue: no job runs twice, no two jobs with one lock key overlap."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.jobs.queue import enqueue
from ledgerbridge.settings import Settings
from tests.jobs import proc_worker

PROCESSES = 2
JOBS = 40


def test_two_processes_share_the_queue_safely(settings: Settings, database: Database, tmp_path: Path) -> None:
    with database.session() as session:
        for n in range(JOBS):
            key = f"sync:org-{n % 4}" if n % 2 else None
            enqueue(session, proc_worker.KIND, {"n": n, "key": key}, lock_key=key)
    events = tmp_path / "events.log"
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(
            target=proc_worker.run, args=(settings.model_dump_json(), str(events), barrier, results)
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)

    assert [status for status, _ in outcomes] == ["ok"] * PROCESSES, outcomes
    assert sum(count for _, count in outcomes) == JOBS
    starts: Counter[str] = Counter()
    holder: dict[str, str] = {}
    for line in events.read_text().splitlines():
        event, job_id, key, _pid = line.split()
        if event == "start":
            starts[job_id] += 1
            if key != "-":
                assert key not in holder, f"{job_id} started while {holder.get(key)} held {key}"
                holder[key] = job_id
        elif key != "-":
            del holder[key]
    assert len(starts) == JOBS
    assert set(starts.values()) == {1}, "every job ran exactly once"
    with database.session() as session:
        assert set(session.scalars(select(Job.status))) == {JobStatus.DONE}
