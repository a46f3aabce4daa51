"""Automatic invoice sending against the sandbox: immediately (a job sends a new invoice at
once, no sync asked for), weekly and monthly (ordinary syncs hold new invoices back; the
send job queued for the cadence's slot creates them when the clock reaches it, once however
often it runs), updates to invoices already in Xero going with ordinary syncs whatever the
cadence, and the settings API that chooses the cadence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.jobs import scheduler
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.jobs.queue import enqueue
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync.models import RecordType, XeroLink
from ledgerbridge.work.models import Workspace
from ledgerbridge.xero.client import Organisation
from ledgerbridge.xero.models import XeroConnection
from tests.factories import Seeded, seed_workspace
from tests.sync.test_invoices import client_id, create_invoice
from tests.xero.conftest import force_sync_and_wait

RunJobs = Callable[[], int]


# -- helpers ------------------------------------------------------------------------------


def connection_id(database: Database) -> str:
    with database.session() as session:
        return session.scalars(select(XeroConnection.id)).one()


def settings_url(database: Database) -> str:
    return f"/api/v1/xero/connections/{connection_id(database)}/settings"


def set_cadence(api: TestClient, database: Database, cadence: str) -> dict[str, Any]:
    response = api.put(settings_url(database), json={"invoice_sending": cadence})
    assert response.status_code == 200, response.text
    assert response.json()["invoice_sending"] == cadence
    return dict(response.json())


def force_sync(api: TestClient, database: Database, *types: str, dry_run: bool = False) -> dict[str, Any]:
    """An ordinary (manual) sync, as a person presses Force sync."""
    body = {"record_types": list(types) or None, "dry_run": dry_run}
    if dry_run:
        response = api.post(f"/api/v1/xero/connections/{connection_id(database)}/sync", json=body)
        assert response.status_code == 200, response.text
        run = dict(response.json())
    else:
        run = force_sync_and_wait(api, connection_id(database), body)
    assert run["status"] == "succeeded", run
    return run


def new_invoice(api: TestClient, database: Database, number: str) -> str:
    """An approved sales invoice for a client already in Xero."""
    return create_invoice(
        api, {"client_id": client_id(database, "Bondi Surf Co"), "number": number}, "approved"
    )


def in_xero(state: SandboxState, org: Organisation, number: str) -> list[dict[str, Any]]:
    """Xero's invoices with this number (more than one would be a duplicate)."""
    return [r for r in state.orgs[org.tenant_id].iter_records("Invoices") if r["InvoiceNumber"] == number]


def linked(database: Database, invoice_id: str) -> bool:
    with database.session() as session:
        return (
            session.scalar(
                select(XeroLink.id).where(
                    XeroLink.record_type == RecordType.INVOICE, XeroLink.local_id == invoice_id
                )
            )
            is not None
        )


def send_jobs(database: Database, status: JobStatus | None = None) -> list[Job]:
    with database.session() as session:
        query = select(Job).where(Job.kind == scheduler.SEND_INVOICES)
        if status is not None:
            query = query.where(Job.status == status)
        return list(session.scalars(query.order_by(Job.created_at)))


def send_runs(api: TestClient) -> list[dict[str, Any]]:
    """The sync log's "send" runs, oldest first."""
    items = api.get("/api/v1/xero/runs", params={"trigger": "send"}).json()["items"]
    return list(reversed(items))


def workspace_zone(database: Database) -> ZoneInfo:
    with database.session() as session:
        return ZoneInfo(session.scalars(select(Workspace.timezone)).one())


def move_clock_to(state: SandboxState, when: datetime) -> None:
    """The jobs' clock is the sandbox's (``ClientClock``): the runner sees this time."""
    state.clock.advance(max((when - state.clock.now()).total_seconds(), 0.0))


def queue_send_now(database: Database, state: SandboxState) -> None:
    """Another send, due now (as a worker reclaiming a job that did its work would run it)."""
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        enqueue(
            session,
            scheduler.SEND_INVOICES,
            {"connection_id": connection.id},
            workspace_id=connection.workspace_id,
            run_at=state.clock.now(),
        )


@pytest.fixture
def contacts_in_xero(owner_api: TestClient, au: Organisation, database: Database) -> Organisation:
    """The AU organisation with its contacts synced, so invoices to them can be sent."""
    force_sync(owner_api, database, "contact")
    return au


# -- immediately --------------------------------------------------------------------------


def test_immediately_an_approved_invoice_is_sent_by_a_job_without_a_sync(
    owner_api: TestClient,
    contacts_in_xero: Organisation,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: RunJobs,
) -> None:
    invoice_id = new_invoice(owner_api, database, "INV-9001")
    [job] = send_jobs(database, JobStatus.QUEUED)
    assert job.run_at <= sandbox_state.clock.now(), "immediately: due at once"
    assert in_xero(sandbox_state, contacts_in_xero, "INV-9001") == []

    assert run_jobs() >= 1
    [theirs] = in_xero(sandbox_state, contacts_in_xero, "INV-9001")
    assert theirs["Type"] == "ACCREC"
    assert linked(database, invoice_id)
    [run] = send_runs(owner_api)
    assert (run["status"], run["record_types"], run["counts"]["pushed_created"]) == (
        "succeeded",
        ["invoice"],
        1,
    )
    assert run["counts"]["calls"] >= 1


# -- weekly and monthly -------------------------------------------------------------------


def next_monday_six(now: datetime, zone: ZoneInfo) -> datetime:
    """Worked out here independently of the scheduler: the first Monday 06:00 after now."""
    local = now.astimezone(zone)
    day = local.date()
    while True:
        slot = datetime.combine(day, time(6, 0), zone)
        if day.weekday() == 0 and slot > local:
            return slot
        day += timedelta(days=1)


def next_first_six(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    day = local.date()
    while True:
        slot = datetime.combine(day, time(6, 0), zone)
        if day.day == 1 and slot > local:
            return slot
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("cadence", "slot"), [("weekly", next_monday_six), ("monthly", next_first_six)]
)
def test_scheduled_cadences_hold_new_invoices_until_their_slot_and_send_them_once(
    cadence: str,
    slot: Callable[[datetime, ZoneInfo], datetime],
    owner_api: TestClient,
    contacts_in_xero: Organisation,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: RunJobs,
) -> None:
    au = contacts_in_xero
    set_cadence(owner_api, database, cadence)
    invoice_id = new_invoice(owner_api, database, "INV-9002")

    # An ordinary sync (and its dry run) leaves the new invoice for the send.
    preview = force_sync(owner_api, database, dry_run=True)["preview"]
    assert not [p for p in preview if p["side"] == "xero" and p["name"] == "Invoice INV-9002"]
    run = force_sync(owner_api, database)
    assert "pushed_created" not in run["counts"]
    assert in_xero(sandbox_state, au, "INV-9002") == [] and not linked(database, invoice_id)

    # One send waits, at the cadence's slot in the workspace's timezone.
    [job] = send_jobs(database, JobStatus.QUEUED)
    expected = slot(sandbox_state.clock.now(), workspace_zone(database))
    assert job.run_at == expected
    assert owner_api.get(settings_url(database)).json()["next_invoice_send_at"] is not None
    assert run_jobs() == 0, "not due before its slot"
    assert in_xero(sandbox_state, au, "INV-9002") == []

    move_clock_to(sandbox_state, expected)
    assert run_jobs() == 1
    assert len(in_xero(sandbox_state, au, "INV-9002")) == 1
    assert linked(database, invoice_id)

    queue_send_now(database, sandbox_state)  # the send runs again: nothing is sent twice
    assert run_jobs() == 1
    assert len(in_xero(sandbox_state, au, "INV-9002")) == 1
    first, second = send_runs(owner_api)
    assert first["counts"]["pushed_created"] == 1
    assert "pushed_created" not in second["counts"] and second["status"] == "succeeded"


def test_weekly_updates_to_invoices_already_in_xero_go_with_ordinary_syncs(
    owner_api: TestClient,
    contacts_in_xero: Organisation,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: RunJobs,
) -> None:
    au = contacts_in_xero
    invoice_id = new_invoice(owner_api, database, "INV-9003")
    run_jobs()  # immediately: it is in Xero (as a draft, the organisation's default)
    assert linked(database, invoice_id)
    set_cadence(owner_api, database, "weekly")

    edited = owner_api.patch(f"/api/v1/invoices/{invoice_id}", json={"reference": "Phase 2"})
    assert edited.status_code == 200, edited.text
    held_id = new_invoice(owner_api, database, "INV-9004")
    run = force_sync(owner_api, database, "invoice")

    assert run["counts"]["pushed_updated"] == 1 and "pushed_created" not in run["counts"]
    [theirs] = in_xero(sandbox_state, au, "INV-9003")
    assert theirs["Reference"] == "Phase 2"
    assert in_xero(sandbox_state, au, "INV-9004") == [] and not linked(database, held_id)


def test_changing_the_cadence_moves_the_waiting_send(
    owner_api: TestClient,
    contacts_in_xero: Organisation,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: RunJobs,
) -> None:
    zone = workspace_zone(database)
    weekly = set_cadence(owner_api, database, "weekly")
    assert datetime.fromisoformat(weekly["next_invoice_send_at"]) == next_monday_six(
        sandbox_state.clock.now(), zone
    )
    new_invoice(owner_api, database, "INV-9005")
    monthly = set_cadence(owner_api, database, "monthly")
    assert datetime.fromisoformat(monthly["next_invoice_send_at"]) == next_first_six(
        sandbox_state.clock.now(), zone
    ), "moved to the 1st, even when that is later than Monday"
    assert len(send_jobs(database, JobStatus.QUEUED)) == 1

    set_cadence(owner_api, database, "immediately")  # what was held goes at once
    [job] = send_jobs(database, JobStatus.QUEUED)
    assert job.run_at <= sandbox_state.clock.now()
    assert run_jobs() == 1
    assert len(in_xero(sandbox_state, contacts_in_xero, "INV-9005")) == 1


# -- the settings API ---------------------------------------------------------------------


def test_settings_api_reads_defaults_and_saves_what_is_given(
    owner_api: TestClient, au: Organisation, database: Database
) -> None:
    url = settings_url(database)
    defaults = owner_api.get(url).json()
    assert {k: defaults[k] for k in ("invoice_sending", "invoice_status", "interval_minutes")} == {
        "invoice_sending": "immediately",
        "invoice_status": "draft",
        "interval_minutes": 60,
    }
    saved = owner_api.put(
        url,
        json={
            "invoice_status": "authorised",
            "interval_minutes": 30,
            "due_date_offset_days": 7,
            "auto_sync": {"payment": False},
        },
    )
    assert saved.status_code == 200, saved.text
    again = owner_api.get(url).json()
    assert (again["invoice_status"], again["interval_minutes"], again["due_date_offset_days"]) == (
        "authorised",
        30,
        7,
    )
    assert again["auto_sync"] == {"payment": False}
    assert again["invoice_sending"] == "immediately", "left out: kept"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"invoice_sending": "fortnightly"}, "invoice_sending"),
        ({"invoice_sending": None}, "invoice_sending"),
        ({"invoice_status": "paid"}, "invoice_status"),
        ({"interval_minutes": 0}, "interval_minutes"),
        ({"due_date_offset_days": -1}, "due_date_offset_days"),
        ({"auto_sync": {"banana": True}}, "auto_sync.banana"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_settings_api_names_the_invalid_field(
    body: dict[str, Any], field: str, owner_api: TestClient, au: Organisation, database: Database
) -> None:
    url = settings_url(database)
    response = owner_api.put(url, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert owner_api.get(url).json()["invoice_sending"] == "immediately", "nothing saved"


def test_settings_api_is_for_managers_and_this_workspace_only(
    owner_api: TestClient, au: Organisation, service: TestClient, database: Database, seeded: Seeded
) -> None:
    url = settings_url(database)
    member = {"Authorization": f"Bearer {seeded.member_token}"}
    assert service.get(url, headers=member).status_code == 200
    refused = service.put(url, json={"invoice_sending": "weekly"}, headers=member)
    assert refused.status_code == 403
    admin = {"Authorization": f"Bearer {seeded.admin_token}"}
    assert service.put(url, json={}, headers=admin).status_code == 200

    with database.session() as session:
        other = seed_workspace(session, "Other Studio Pty Ltd", slug="other")
    stranger = {"Authorization": f"Bearer {other.owner_token}"}
    assert service.get(url, headers=stranger).status_code == 404
    assert service.put(url, json={"invoice_sending": "weekly"}, headers=stranger).status_code == 404
    assert owner_api.get(url).json()["invoice_sending"] == "immediately"
    assert send_jobs(database) == []

