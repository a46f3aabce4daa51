"""The payroll tests use the sandbox-backed fixtures of the Xero and sync tests, and
``payroll``: the AU organisation connected with its payroll data imported."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.payroll.models import TimesheetExport
from ledgerbridge.sandbox.models import Organisation as SandboxOrganisation
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.work.models import Member, MemberKind, TimeEntry, WorkType
from ledgerbridge.xero.client import Organisation
from tests.factories import Seeded
from tests.xero.conftest import *  # noqa: F403


@pytest.fixture
def owner_api(admin_browser: TestClient, seeded: Seeded) -> TestClient:
    """The owner's session, for the public API."""
    return admin_browser


PAYROLL_TYPES = ["tracking_category", "payroll_calendar", "earnings_rate", "employee"]


@dataclass
class Payroll:
    api: TestClient
    database: Database
    seeded: Seeded
    connection_id: str
    org: SandboxOrganisation
    import_again: Callable[[], None]

    @property
    def base(self) -> str:
        return f"/api/v1/xero/connections/{self.connection_id}/payroll"

    def calendar(self, kind: str) -> dict[str, Any]:
        return next(c for c in self.org.iter_records("PayrollCalendars") if c["CalendarType"] == kind)

    def employees_on(self, kind: str) -> list[dict[str, Any]]:
        calendar_id = self.calendar(kind)["PayrollCalendarID"]
        return [e for e in self.org.iter_records("Employees") if e["PayrollCalendarID"] == calendar_id]

    def has_timesheet(self, employee: dict[str, Any]) -> bool:
        return any(t["EmployeeID"] == employee["EmployeeID"] for t in self.org.iter_records("Timesheets"))

    def timesheets_of(self, employee: dict[str, Any], start: date) -> list[dict[str, Any]]:
        return [
            t
            for t in self.org.iter_records("Timesheets")
            if t["EmployeeID"] == employee["EmployeeID"] and t["StartDate"] == start
        ]

    def rate(self, name: str) -> str:
        return str(
            next(r for r in self.org.iter_records("EarningsRates") if r["Name"] == name)["EarningsRateID"]
        )

    def options(self) -> list[str]:
        return [
            o["TrackingOptionID"]
            for category in self.org.iter_records("TrackingCategories")
            if category.get("Status") == "ACTIVE"
            for o in category.get("Options", [])
            if o.get("Status", "ACTIVE") == "ACTIVE"
        ]

    def member(self, name: str, email: str | None = None) -> str:
        with self.database.session() as session:
            member = Member(
                workspace_id=self.seeded.workspace_id, name=name, email=email, kind=MemberKind.EMPLOYEE
            )
            session.add(member)
            session.flush()
            return member.id

    def work_type(self, name: str) -> str:
        with self.database.session() as session:
            work_type = WorkType(workspace_id=self.seeded.workspace_id, name=name)
            session.add(work_type)
            session.flush()
            return work_type.id

    def hours(
        self,
        member_id: str,
        day: date,
        minutes: int,
        *,
        work_type_id: str | None = None,
        task_id: str | None = None,
    ) -> None:
        with self.database.session() as session:
            session.add(
                TimeEntry(
                    workspace_id=self.seeded.workspace_id,
                    member_id=member_id,
                    task_id=task_id or self.seeded.task_id,
                    work_type_id=work_type_id,
                    date=day,
                    duration_minutes=minutes,
                )
            )

    def map(self, **changes: list[dict[str, Any]]) -> dict[str, Any]:
        response = self.api.put(f"{self.base}/mappings", json=changes)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def preview(self, **body: Any) -> dict[str, Any]:
        response = self.api.post(f"{self.base}/timesheets/preview", json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def send(self, **body: Any) -> dict[str, Any]:
        response = self.api.post(f"{self.base}/timesheets/send", json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def exports(self) -> list[TimesheetExport]:
        with self.database.session() as session:
            return list(session.scalars(select(TimesheetExport).order_by(TimesheetExport.employee_name)))


@pytest.fixture
def payroll(
    owner_api: TestClient,
    au: Organisation,
    run_jobs: Callable[[], int],
    database: Database,
    seeded: Seeded,
    sandbox_state: SandboxState,
) -> Payroll:
    """The AU organisation connected, its payroll data and tracking categories imported."""
    (connection,) = owner_api.get("/api/v1/xero/connections").json()

    def import_again() -> None:
        response = owner_api.post(
            f"/api/v1/xero/connections/{connection['id']}/imports", json={"record_types": PAYROLL_TYPES}
        )
        assert response.status_code == 202, response.text
        run_jobs()
        run = owner_api.get(f"/api/v1/xero/runs/{response.json()['id']}").json()
        assert run["status"] == "succeeded", run

    import_again()
    return Payroll(
        owner_api, database, seeded, connection["id"], sandbox_state.orgs[au.tenant_id], import_again
    )
