"""The web app runs jobs in its own process by default, and stops them on shutdown."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from ledgerbridge.db import Database
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.jobs.registry import Handler, JobContext
from ledgerbridge.jobs.runner import InProcessRunner
from ledgerbridge.settings import Settings
from ledgerbridge.web.app import create_app


async def _noop(ctx: JobContext, **args: Any) -> None:
    return None


def test_lifespan_starts_and_stops_the_runner(
    settings: Settings, database: Database, handlers: Callable[[str, Handler], None]
) -> None:
    handlers("test.web", _noop)
    app = create_app(settings.model_copy(update={"run_jobs_in_web": True}), database)  # the default
    with TestClient(app):
        runner = app.state.runner
        assert isinstance(runner, InProcessRunner)
        assert runner.running
        job_id = runner.submit("test.web", {})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the runner works on the app's event loop
            with database.session() as session:
                if session.get_one(Job, job_id).status is JobStatus.DONE:
                    break
            time.sleep(0.02)
    assert not runner.running
    with database.session() as session:
        assert session.get_one(Job, job_id).status is JobStatus.DONE


def test_web_app_can_leave_jobs_to_a_worker(settings: Settings, database: Database) -> None:
    app = create_app(settings.model_copy(update={"run_jobs_in_web": False}), database)
    with TestClient(app):
        assert app.state.runner is None
