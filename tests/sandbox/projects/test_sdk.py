"""The official SDK against the sandbox: xero_python.project creates a project, a task
and a time entry and reads them back, unmodified, over a real socket."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from xero_python.api_client import Configuration
from xero_python.project import ProjectApi
from xero_python.project.models import (
    Amount,
    ChargeType,
    CurrencyCode,
    ProjectCreateOrUpdate,
    TaskCreateOrUpdate,
    TimeEntryCreateOrUpdate,
)

from ledgerbridge.sandbox import SandboxExtensions, SandboxState, create_sandbox_app, projects
from tests.sandbox.helpers import AU, connect_with_secret, register_app
from tests.sandbox.payroll_au.live import sdk_client, serve
from tests.sandbox.projects.conftest import PROJECT_SCOPES


def test_sdk_creates_a_project_and_a_time_entry(state: SandboxState,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Configuration, "_default", None)
    app = create_sandbox_app(state, extensions=projects.register(SandboxExtensions()))
    with serve(app) as url, TestClient(app, base_url="http://sandbox.test") as client:
        registered = register_app(client)
        assert registered.client_secret
        tokens = connect_with_secret(client, registered, scope=PROJECT_SCOPES)
        api = ProjectApi(sdk_client(registered.client_id, registered.client_secret, tokens),
                         base_url=f"{url}/projects.xro/2.0")

        deadline = datetime(2027, 3, 3, 15, 0, tzinfo=UTC)
        project = api.create_project(AU, ProjectCreateOrUpdate(
            contact_id="216830cb-9a68-487e-928b-c1a7ccc4fc81", name="SDK Kitchen",
            estimate_amount=Decimal("1200.50"), deadline_utc=deadline))
        assert project.project_id and project.deadline_utc == deadline
        assert project.estimate.value == Decimal("1200.50")

        task = api.create_task(AU, project.project_id, TaskCreateOrUpdate(
            name="Tiling", rate=Amount(currency=CurrencyCode.AUD, value=Decimal("80.00")),
            charge_type=ChargeType.TIME, estimate_minutes=240))
        user = api.get_project_users(AU).items[0]
        entry = api.create_time_entry(AU, project.project_id, TimeEntryCreateOrUpdate(
            user_id=user.user_id, task_id=task.task_id,
            date_utc=datetime(2026, 11, 2, 9, 0, tzinfo=UTC), duration=90,
            description="Bathroom wall"))
        assert entry.time_entry_id and entry.duration == 90

        entries = api.get_time_entries(AU, project.project_id).items
        assert [e.time_entry_id for e in entries] == [entry.time_entry_id]
        again = api.get_project(AU, project.project_id)
        assert again.minutes_logged == 90
        assert again.total_task_amount.value == Decimal("120.00")
        listed = api.get_projects(AU, page_size=500)
        assert listed.pagination.item_count == 3  # two seeded
