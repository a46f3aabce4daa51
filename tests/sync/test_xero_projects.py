"""Time to Xero Projects against the sandbox: linking and creating projects and tasks,
members to project users, and pushing approved time entries once each (also after a
connection dropped once Xero had committed the write)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.sandbox.models import Organisation as SandboxOrganisation
from ledgerbridge.sandbox.projects.model import PROJECTS, TASKS, TIME_ENTRIES
from ledgerbridge.sandbox.seeding import DEMO_EMAIL
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync import links, xero_projects
from ledgerbridge.sync.models import OutboxEntry, OutboxStatus, RecordType, XeroLink
from ledgerbridge.work.models import Member, MemberKind, Task, TimeEntry
from ledgerbridge.xero import scopes
from ledgerbridge.xero.client import Organisation
from ledgerbridge.xero.models import XeroGrant
from ledgerbridge.xero.retry import MAX_ATTEMPTS
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded, seed_workspace


@dataclass
class Setup:
    api: TestClient
    database: Database
    seeded: Seeded
    connection_id: str
    org: SandboxOrganisation
    sandbox: SandboxState
    tenant_id: str

    @property
    def base(self) -> str:
        return f"/api/v1/xero/connections/{self.connection_id}/projects"

    def demo_user_id(self) -> str:
        return next(u.user_id for u in self.sandbox.users.values() if u.email == DEMO_EMAIL)

    def link_client(self) -> str:
        contact_id = sorted(self.org.records("Contacts"))[0]
        with self.database.session() as session:
            links.upsert(
                session,
                self.seeded.workspace_id,
                self.connection_id,
                RecordType.CONTACT,
                self.seeded.client_id,
                contact_id,
                links.UNEXCHANGED,
                None,
            )
        return contact_id

    def entry(
        self,
        member_id: str,
        day: date,
        minutes: int,
        *,
        approved: bool = True,
        notes: str | None = None,
        start: time | None = None,
        task_id: str | None = None,
    ) -> str:
        with self.database.session() as session:
            entry = TimeEntry(
                workspace_id=self.seeded.workspace_id,
                member_id=member_id,
                task_id=task_id or self.seeded.task_id,
                date=day,
                duration_minutes=minutes,
                start_time=start,
                approved=approved,
                notes=notes,
            )
            session.add(entry)
            session.flush()
            return entry.id

    def xero_entries(self) -> list[dict[str, Any]]:
        return sorted(self.org.iter_records(TIME_ENTRIES), key=lambda e: (e["dateUtc"], e["duration"]))

    def push(self, **body: Any) -> dict[str, Any]:
        response = self.api.post(f"{self.base}/time/push", json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def ready(self) -> str:
        """Create the project (and its tasks) in Xero, map Mia to the demo project user."""
        self.link_client()
        created = self.api.put(f"{self.base}/links/{self.seeded.project_id}", json={"create": True})
        assert created.status_code == 200, created.text
        tasks = self.api.post(f"{self.base}/links/{self.seeded.project_id}/tasks", json={})
        assert tasks.status_code == 200, tasks.text
        mapped = self.api.put(
            f"{self.base}/users",
            json={"members": [{"member_id": self.seeded.employee_id, "user_id": self.demo_user_id()}]},
        )
        assert mapped.status_code == 200, mapped.text
        xero_project_id: str = created.json()["xero_project_id"]
        return xero_project_id


@pytest.fixture
def setup(
    owner_api: TestClient, au: Organisation, database: Database, seeded: Seeded, sandbox_state: SandboxState
) -> Setup:
    (connection,) = owner_api.get("/api/v1/xero/connections").json()
    return Setup(
        owner_api,
        database,
        seeded,
        connection["id"],
        sandbox_state.orgs[au.tenant_id],
        sandbox_state,
        au.tenant_id,
    )


def test_connect_asks_for_the_projects_scope_and_the_grant_has_it(setup: Setup) -> None:
    assert "projects" in scopes.requested()
    assert "projects" in scopes.requested(granular=True)
    with setup.database.session() as session:
        grant = session.scalars(select(XeroGrant)).one()
        assert "projects" in grant.scopes.split()


def test_link_a_project_by_id_and_its_tasks_by_name(setup: Setup) -> None:
    listed = setup.api.get(setup.base)
    assert listed.status_code == 200, listed.text
    by_name = {p["name"]: p for p in listed.json()}
    assert set(by_name) == {p["name"] for p in setup.org.iter_records(PROJECTS)}
    chosen = by_name["Website Redesign"]
    assert chosen["project_id"] is None

    linked = setup.api.put(
        f"{setup.base}/links/{setup.seeded.project_id}", json={"xero_project_id": chosen["xero_project_id"]}
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["created"] is False
    assert {p["name"]: p for p in setup.api.get(setup.base).json()}["Website Redesign"]["project_id"] == (
        setup.seeded.project_id
    )

    tasks_before = len(list(setup.org.iter_records(TASKS)))
    outcomes = setup.api.post(f"{setup.base}/links/{setup.seeded.project_id}/tasks", json={}).json()
    xero_design = next(
        t
        for t in setup.org.iter_records(TASKS)
        if t["projectId"] == chosen["xero_project_id"] and t["name"] == "Design"
    )
    assert outcomes == [
        {
            "task_id": setup.seeded.task_id,
            "name": "Design",
            "outcome": "linked",
            "xero_task_id": xero_design["taskId"],
            "error": None,
        }
    ]
    assert len(list(setup.org.iter_records(TASKS))) == tasks_before  # nothing created


def test_create_a_project_and_tasks_in_xero_with_the_clients_contact_and_rates(setup: Setup) -> None:
    refused = setup.api.put(f"{setup.base}/links/{setup.seeded.project_id}", json={"create": True})
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["field"] == "project_id"
    assert "Bondi Surf Co" in refused.json()["detail"]

    contact_id = setup.link_client()
    with setup.database.session() as session:
        session.add(
            Task(
                workspace_id=setup.seeded.workspace_id,
                project_id=setup.seeded.project_id,
                name="Support",
                bill_rate=Decimal("95.50"),
            )
        )
        session.add(
            Task(
                workspace_id=setup.seeded.workspace_id,
                project_id=setup.seeded.project_id,
                name="Internal",
                billable=False,
            )
        )
    created = setup.api.put(f"{setup.base}/links/{setup.seeded.project_id}", json={"create": True})
    assert created.status_code == 200, created.text
    xero_id = created.json()["xero_project_id"]
    project = setup.org.get_record(PROJECTS, xero_id)
    assert project is not None
    assert (project["name"], project["contactId"]) == ("Website rebuild", contact_id)

    outcomes = setup.api.post(f"{setup.base}/links/{setup.seeded.project_id}/tasks", json={}).json()
    assert {o["name"]: o["outcome"] for o in outcomes} == {
        "Design": "created",
        "Internal": "created",
        "Support": "created",
    }
    tasks = {t["name"]: t for t in setup.org.iter_records(TASKS) if t["projectId"] == xero_id}
    assert (tasks["Design"]["rate"], tasks["Design"]["chargeType"]) == (Decimal("160"), "TIME")  # project's
    assert (tasks["Support"]["rate"], tasks["Support"]["chargeType"]) == (Decimal("95.5"), "TIME")
    assert tasks["Internal"]["chargeType"] == "NON_CHARGEABLE"
    with setup.database.session() as session:
        linked = {
            link.local_id: link.xero_id
            for link in session.scalars(
                select(XeroLink).where(XeroLink.record_type == RecordType.XERO_PROJECT_TASK)
            )
        }
    assert linked[setup.seeded.task_id] == tasks["Design"]["taskId"]

    # Again: everything is linked already, nothing is created twice.
    again = setup.api.post(f"{setup.base}/links/{setup.seeded.project_id}/tasks", json={}).json()
    assert {o["outcome"] for o in again} == {"linked"}
    assert len([t for t in setup.org.iter_records(TASKS) if t["projectId"] == xero_id]) == 3


def test_members_are_suggested_project_users_by_email_and_name(setup: Setup) -> None:
    with setup.database.session() as session:
        by_email = Member(
            workspace_id=setup.seeded.workspace_id,
            name="D. Someone",
            email=DEMO_EMAIL.upper(),
            kind=MemberKind.EMPLOYEE,
        )
        by_name = Member(workspace_id=setup.seeded.workspace_id, name="user, DEMO", kind=MemberKind.EMPLOYEE)
        session.add_all([by_email, by_name])
        session.flush()
        by_email_id, by_name_id = by_email.id, by_name.id
    users = setup.api.get(f"{setup.base}/users").json()
    rows = {r["member_id"]: r for r in users["members"]}
    demo = setup.demo_user_id()
    assert rows[by_email_id]["suggestion"] == {"user_id": demo, "name": "Demo User", "reason": "email"}
    assert rows[by_name_id]["suggestion"] == {"user_id": demo, "name": "Demo User", "reason": "name"}
    assert rows[setup.seeded.employee_id]["suggestion"] is None
    assert demo in {u["user_id"] for u in users["project_users"]}

    accepted = setup.api.post(f"{setup.base}/users/accept-suggestions").json()
    mapped = {r["member_id"]: r["user_id"] for r in accepted["members"]}
    assert mapped[by_email_id] == demo
    assert mapped[by_name_id] is None  # a project user maps to one member: the first suggestion wins

    wrong = setup.api.put(
        f"{setup.base}/users", json={"members": [{"member_id": setup.seeded.employee_id, "user_id": demo}]}
    )
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["errors"][0]["field"] == "members[0].user_id"
    unknown = setup.api.put(
        f"{setup.base}/users",
        json={
            "members": [
                {"member_id": setup.seeded.employee_id, "user_id": "00000000-0000-0000-0000-000000000001"}
            ]
        },
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "members[0].user_id"


def test_push_sends_approved_entries_once_and_names_unmapped_members(setup: Setup) -> None:
    xero_project_id = setup.ready()
    first = setup.entry(setup.seeded.employee_id, date(2026, 3, 2), 90, notes="Wireframes")
    second = setup.entry(setup.seeded.employee_id, date(2026, 3, 3), 45, start=time(9, 30))
    setup.entry(setup.seeded.employee_id, date(2026, 3, 4), 60, approved=False)
    unmapped = setup.entry(setup.seeded.contractor_id, date(2026, 3, 2), 120)

    preview = setup.push(dry_run=True)
    assert preview["counts"]["would_create"] == 2 and preview["counts"]["created"] == 0
    assert setup.xero_entries() == []

    pushed = setup.push()
    assert (pushed["counts"]["created"], pushed["counts"]["failed"], pushed["counts"]["skipped"]) == (2, 1, 0)
    assert pushed["counts"]["calls"] == 2
    outcomes = {e["time_entry_id"]: e for e in pushed["entries"]}
    assert outcomes[unmapped]["outcome"] == "failed"
    assert "Liam O'Brien" in outcomes[unmapped]["error"] and "not mapped" in outcomes[unmapped]["error"]

    with setup.database.session() as session:
        design = links.by_local_id(
            session, setup.connection_id, RecordType.XERO_PROJECT_TASK, setup.seeded.task_id
        )
        assert design is not None
        design_id = design.xero_id
    sent = setup.xero_entries()
    assert [(e["projectId"], e["taskId"], e["userId"], e["duration"], e["description"]) for e in sent] == [
        (xero_project_id, design_id, setup.demo_user_id(), 90, "Wireframes"),
        (xero_project_id, design_id, setup.demo_user_id(), 45, None),
    ]
    # The workspace is in Sydney (UTC+11 in March): local midnight and 09:30.
    assert [e["dateUtc"].isoformat() for e in sent] == [
        "2026-03-01T13:00:00+00:00",
        "2026-03-02T22:30:00+00:00",
    ]
    assert {outcomes[first]["xero_time_entry_id"], outcomes[second]["xero_time_entry_id"]} == {
        e["timeEntryId"] for e in sent
    }

    run = setup.api.get(f"/api/v1/xero/runs/{pushed['run_id']}").json()
    assert run["status"] == "partial"
    assert run["counts"]["created"] == 2

    again = setup.push()
    assert (again["counts"]["created"], again["counts"]["skipped"], again["counts"]["calls"]) == (0, 2, 0)
    assert len(setup.xero_entries()) == 2


def test_a_task_not_linked_is_named_and_the_others_still_go(setup: Setup) -> None:
    setup.ready()
    with setup.database.session() as session:
        extra = Task(workspace_id=setup.seeded.workspace_id, project_id=setup.seeded.project_id, name="QA")
        session.add(extra)
        session.flush()
        extra_id = extra.id
    on_extra = setup.entry(setup.seeded.employee_id, date(2026, 3, 2), 30, task_id=extra_id)
    setup.entry(setup.seeded.employee_id, date(2026, 3, 2), 60)
    pushed = setup.push()
    outcomes = {e["time_entry_id"]: e for e in pushed["entries"]}
    assert outcomes[on_extra]["outcome"] == "failed"
    assert "Task 'QA' is not linked" in outcomes[on_extra]["error"]
    assert pushed["counts"]["created"] == 1
    assert [e["duration"] for e in setup.xero_entries()] == [60]


@pytest.mark.parametrize("look_first", [True, False], ids=["found-in-xero", "replayed-by-key"])
def test_a_connection_dropped_after_xero_committed_leaves_one_entry(
    setup: Setup, look_first: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup.ready()
    entry_id = setup.entry(setup.seeded.employee_id, date(2026, 3, 2), 90)
    if not look_first:  # the lookup misses (say Xero is slow to list it): the resend must replay

        async def missed(*args: Any) -> None:
            return None

        monkeypatch.setattr(xero_projects, "_find_landed", missed)
    # Every attempt of the client is cut off after Xero committed it: the outcome is unknown.
    setup.org.faults.drop_after_commit_next = MAX_ATTEMPTS
    cut = setup.push()
    assert cut["counts"]["created"] == 0 and cut["error"]
    assert len(setup.xero_entries()) == 1  # it landed, but we never heard
    with setup.database.session() as session:
        row = session.scalars(select(OutboxEntry).where(OutboxEntry.local_id == entry_id)).one()
        assert row.status is OutboxStatus.SENDING

    retried = setup.push()
    assert retried["counts"]["created"] == 1
    assert len(setup.xero_entries()) == 1
    assert retried["entries"][0]["xero_time_entry_id"] == setup.xero_entries()[0]["timeEntryId"]
    assert setup.push()["counts"]["created"] == 0
    assert len(setup.xero_entries()) == 1


def test_another_workspaces_ids_are_not_found_and_members_may_not_push(
    setup: Setup, service: TestClient
) -> None:
    with setup.database.session() as session:
        other = seed_workspace(session, "Other Co", slug="other")
    foreign = setup.api.put(f"{setup.base}/links/{other.project_id}", json={"create": True})
    assert foreign.status_code == 404
    response = service.post(
        f"{setup.base}/time/push", json={}, headers={"Authorization": f"Bearer {setup.seeded.member_token}"}
    )
    assert response.status_code == 403


@pytest.mark.anyio
async def test_two_pushes_at_once_send_each_entry_once(setup: Setup, xero_services: XeroServices) -> None:
    """Two people press Push together: while one waits on Xero for an entry, the other
    must neither send that entry nor the next one it has started."""
    setup.ready()
    for day in (2, 3, 4):
        setup.entry(setup.seeded.employee_id, date(2026, 3, day), 60 + day)
    setup.org.faults.latency_ms = 30  # each call takes a while, so the pushes interleave

    results = await asyncio.gather(
        xero_projects.push_time(xero_services, setup.seeded.workspace_id, setup.connection_id),
        xero_projects.push_time(xero_services, setup.seeded.workspace_id, setup.connection_id),
    )

    assert sorted(e["duration"] for e in setup.xero_entries()) == [62, 63, 64]
    assert all(r.error is None for r in results)
    with setup.database.session() as session:
        linked = session.scalars(
            select(XeroLink).where(XeroLink.record_type == xero_projects.TIME_ENTRY)
        ).all()
        assert len(linked) == 3
