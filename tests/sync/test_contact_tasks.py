"""Contacts as tasks: with the setting on, every customer contact of an organisation is a
task under its "Xero" project (and a client); new contacts follow by Force sync and by
webhook, archiving and renaming in Xero follow too, and no contact ever has two tasks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from ledgerbridge.clock import SystemClock
from ledgerbridge.db import Database, utcnow
from ledgerbridge.jobs.runner import InProcessRunner
from ledgerbridge.jobs.scheduler import force_sync
from ledgerbridge.sandbox.seeding import DEMO_APP_CLIENT_ID, DEMO_APP_WEBHOOK_KEY
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.settings import Settings
from ledgerbridge.sync import contact_tasks
from ledgerbridge.sync.mapping.contacts import roles
from ledgerbridge.sync.models import RecordType
from ledgerbridge.sync.service import sync
from ledgerbridge.work.models import Project, Task
from ledgerbridge.xero.client import ACCOUNTING, Organisation
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded

pytestmark = pytest.mark.anyio
OUR_URL = "http://ledgerbridge.test"


@pytest.fixture
def xero_settings(xero_settings: Settings) -> Settings:
    """The built-in app's webhook key, and no background runner: the test runs the jobs."""
    return xero_settings.model_copy(
        update={"xero_webhook_key": SecretStr(DEMO_APP_WEBHOOK_KEY), "run_jobs_in_web": False}
    )


def _connection(database: Database) -> XeroConnection:
    with database.session() as session:
        return session.scalars(select(XeroConnection)).one()


async def _sync_contacts(services: XeroServices, database: Database) -> None:
    connection = _connection(database)
    run = await sync(services, connection.workspace_id, connection.id, [RecordType.CONTACT])
    assert run.status in ("succeeded", "partial"), run.error


def _turn_on(api: TestClient, database: Database) -> None:
    response = api.put(
        f"/api/v1/xero/connections/{_connection(database).id}/settings", json={"contacts_as_tasks": True}
    )
    assert response.status_code == 200, response.text
    assert response.json()["contacts_as_tasks"] is True


def _xero_tasks(api: TestClient) -> dict[str, dict[str, Any]]:
    """The "Xero" project's tasks by name, read through the public API."""
    projects = api.get("/api/v1/projects", params={"q": "Xero"}).json()["items"]
    (project,) = [p for p in projects if p["xero_connection_id"] is not None]
    assert project["name"] == "Xero"
    tasks = api.get("/api/v1/tasks", params={"project_id": project["id"], "page_size": 500}).json()
    return {t["name"]: t for t in tasks["items"]}


def _customer_contacts(state: SandboxState, org: Organisation) -> dict[str, dict[str, Any]]:
    return {c["Name"]: c for c in state.orgs[org.tenant_id].iter_records("Contacts") if roles(c)[0]}


async def _create_in_xero(services: XeroServices, org: Organisation, name: str, key: str) -> str:
    results = await services.client.write_batch(
        org, "PUT", f"{ACCOUNTING}/Contacts", "Contacts", [{"Name": name}], key
    )
    assert results[0].ok, results[0].messages
    return str(results[0].record["ContactID"])


async def _edit_in_xero(services: XeroServices, org: Organisation, change: dict[str, Any], key: str) -> None:
    results = await services.client.write_batch(
        org, "POST", f"{ACCOUNTING}/Contacts", "Contacts", [change], key
    )
    assert results[0].ok, results[0].messages


async def _run_jobs(database: Database, services: XeroServices) -> None:
    await InProcessRunner(database, services, SystemClock(), schedule=False).run_until_idle()


async def test_turning_it_on_makes_every_customer_contact_a_task_and_a_client(
    owner_api: TestClient,
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
) -> None:
    await _sync_contacts(xero_services, database)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Task).where(Task.client_id.is_not(None))) == 0

    _turn_on(owner_api, database)  # at once, without waiting for a sync

    customers = _customer_contacts(sandbox_state, au)
    suppliers_only = {
        c["Name"] for c in sandbox_state.orgs[au.tenant_id].iter_records("Contacts") if not roles(c)[0]
    }
    suppliers_only.add("Parramatta Print")  # a supplier here, pushed to Xero (where it has no role yet)
    assert len(customers) > 5
    tasks = _xero_tasks(owner_api)
    assert set(tasks) == set(customers) - suppliers_only
    assert "Bondi Surf Co" in tasks  # a client of ours, pushed to Xero: a contact too
    clients = {
        c["id"]: c for c in owner_api.get("/api/v1/clients", params={"page_size": 500}).json()["items"]
    }
    for name, task in tasks.items():
        assert clients[task["client_id"]]["name"] == name  # the task stands for that client
        assert task["archived"] is (customers[name]["ContactStatus"] == "ARCHIVED")

    # Syncing and reconciling again adds nothing: one task per contact.
    await _sync_contacts(xero_services, database)
    with database.session() as session:
        assert (
            contact_tasks.reconcile(session, session.get(XeroConnection, _connection(database).id))
            is not None
        )
    assert _xero_tasks(owner_api).keys() == tasks.keys()
    with database.session() as session:
        per_client = session.execute(
            select(Task.client_id, func.count()).where(Task.client_id.is_not(None)).group_by(Task.client_id)
        ).all()
        assert {count for _, count in per_client} == {1}
        assert session.scalar(select(func.count()).select_from(Project)) == 2  # seeded one + "Xero"


async def test_off_by_default_no_project_is_made(
    owner_api: TestClient, xero_services: XeroServices, au: Organisation, database: Database
) -> None:
    await _sync_contacts(xero_services, database)
    settings = owner_api.get(f"/api/v1/xero/connections/{_connection(database).id}/settings").json()
    assert settings["contacts_as_tasks"] is False
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Project)) == 1  # only the seeded one


async def test_a_new_contact_arrives_as_a_task_by_force_sync(
    owner_api: TestClient,
    xero_services: XeroServices,
    au: Organisation,
    database: Database,
) -> None:
    await _sync_contacts(xero_services, database)
    _turn_on(owner_api, database)
    await _create_in_xero(xero_services, au, "Manly Ferries Pty Ltd", "ct-new-1")
    assert "Manly Ferries Pty Ltd" not in _xero_tasks(owner_api)

    with database.session() as session:
        force_sync(session, _connection(database).id, now=utcnow())
    await _run_jobs(database, xero_services)

    task = _xero_tasks(owner_api)["Manly Ferries Pty Ltd"]
    assert task["archived"] is False
    client = owner_api.get(f"/api/v1/clients/{task['client_id']}").json()
    assert client["name"] == "Manly Ferries Pty Ltd"


async def test_a_new_contact_arrives_as_a_task_by_webhook(
    service: TestClient,
    owner_api: TestClient,
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
) -> None:
    await _sync_contacts(xero_services, database)
    _turn_on(owner_api, database)
    app = sandbox_state.apps[DEMO_APP_CLIENT_ID]
    app.webhook.url = f"{OUR_URL}/webhooks/xero"
    sandbox_state.webhooks.transport = httpx.ASGITransport(app=service.app)
    await sandbox_state.webhooks.intent_to_receive(DEMO_APP_CLIENT_ID)
    assert app.webhook.status == "ACTIVE"

    await _create_in_xero(xero_services, au, "Coogee Cafe", "ct-new-2")
    delivered = await sandbox_state.webhooks.deliver_pending(ignore_schedule=True)
    assert [d["status_code"] for d in delivered] == [200], delivered
    await _run_jobs(database, xero_services)

    assert "Coogee Cafe" in _xero_tasks(owner_api)


async def test_archiving_renaming_and_restoring_in_xero_follow_on_the_task(
    owner_api: TestClient,
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
) -> None:
    await _sync_contacts(xero_services, database)
    _turn_on(owner_api, database)
    target = next(c for c in _customer_contacts(sandbox_state, au).values() if c["ContactStatus"] == "ACTIVE")
    contact_id, name = target["ContactID"], target["Name"]
    task_id = _xero_tasks(owner_api)[name]["id"]

    await _edit_in_xero(xero_services, au, {"ContactID": contact_id, "Name": f"{name} Group"}, "ct-name")
    await _sync_contacts(xero_services, database)
    assert owner_api.get(f"/api/v1/tasks/{task_id}").json()["name"] == f"{name} Group"

    await _edit_in_xero(xero_services, au, {"ContactID": contact_id, "ContactStatus": "ARCHIVED"}, "ct-arch")
    await _sync_contacts(xero_services, database)
    task = owner_api.get(f"/api/v1/tasks/{task_id}").json()
    assert task["archived"] is True
    client = owner_api.get(f"/api/v1/clients/{task['client_id']}").json()
    assert client["archived"] is True  # still listed, as archived
    listed = owner_api.get("/api/v1/clients", params={"archived": True, "page_size": 500}).json()["items"]
    assert f"{name} Group" in {c["name"] for c in listed}

    # Xero's API cannot edit an archived contact; restoring the client here brings the task back.
    assert owner_api.patch(f"/api/v1/clients/{client['id']}", json={"archived": False}).status_code == 200
    await _sync_contacts(xero_services, database)
    task = owner_api.get(f"/api/v1/tasks/{task_id}").json()
    assert (task["name"], task["archived"]) == (f"{name} Group", False)
    assert len([t for t in _xero_tasks(owner_api).values() if t["client_id"] == task["client_id"]]) == 1


async def test_every_member_tracks_time_on_a_contact_task_unless_unassigned(
    owner_api: TestClient,
    xero_services: XeroServices,
    au: Organisation,
    seeded: Seeded,
    database: Database,
) -> None:
    await _sync_contacts(xero_services, database)
    _turn_on(owner_api, database)
    task_id = next(t["id"] for t in _xero_tasks(owner_api).values() if not t["archived"])

    def track(member_id: str) -> httpx.Response:
        body = {"member_id": member_id, "task_id": task_id, "date": "2026-11-20", "duration_minutes": 60}
        return owner_api.post("/api/v1/time-entries", json=body)

    assert track(seeded.employee_id).status_code == 201
    assert track(seeded.contractor_id).status_code == 201

    members_url = f"/api/v1/tasks/{task_id}/members/{seeded.contractor_id}"
    member_only = {"Authorization": f"Bearer {seeded.member_token}"}
    assert owner_api.delete(members_url, headers=member_only).status_code == 403
    assert owner_api.delete(members_url).status_code == 204
    assert owner_api.delete(members_url).status_code == 204  # again: no-op
    unassigned = owner_api.get(f"/api/v1/tasks/{task_id}/unassigned-members").json()
    assert [m["id"] for m in unassigned] == [seeded.contractor_id]

    refused = track(seeded.contractor_id)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["member_id"]
    assert track(seeded.employee_id).status_code == 201  # the others still may
    moved = owner_api.post(
        "/api/v1/time-entries",
        json={
            "member_id": seeded.contractor_id,
            "task_id": seeded.task_id,
            "date": "2026-11-20",
            "duration_minutes": 30,
        },
    ).json()
    moving = owner_api.patch(f"/api/v1/time-entries/{moved['id']}", json={"task_id": task_id})
    assert moving.status_code == 422, moving.text

    assert owner_api.put(members_url).status_code == 204
    assert owner_api.get(f"/api/v1/tasks/{task_id}/unassigned-members").json() == []
    assert track(seeded.contractor_id).status_code == 201
    assert owner_api.delete(f"/api/v1/tasks/{task_id}/members/no-such-member").status_code == 404


async def test_hours_on_a_contact_task_are_invoiced_to_that_client(
    owner_api: TestClient,
    xero_services: XeroServices,
    au: Organisation,
    seeded: Seeded,
    database: Database,
) -> None:
    await _sync_contacts(xero_services, database)  # Bondi Surf Co (ours) becomes a Xero contact
    _turn_on(owner_api, database)
    task = _xero_tasks(owner_api)["Bondi Surf Co"]
    assert task["client_id"] == seeded.client_id
    body = {
        "member_id": seeded.employee_id,
        "task_id": task["id"],
        "date": "2026-11-03",
        "duration_minutes": 90,
        "approved": True,
    }
    assert owner_api.post("/api/v1/time-entries", json=body).status_code == 201

    period = {"date_from": "2026-11-02", "date_to": "2026-11-06", "issue_date": "2026-11-09"}
    for scope in ({}, {"project_id": task["project_id"]}):
        preview = owner_api.post(
            "/api/v1/invoices/from-time",
            json={"client_id": seeded.client_id, "dry_run": True, **period, **scope},
        )
        assert preview.status_code == 200, preview.text
        lines = [(line["quantity"], line["unit_amount"]) for line in preview.json()["lines"]]
        assert lines == [("1.5000", "150.0000")]  # the member's rate: neither task nor project has one
