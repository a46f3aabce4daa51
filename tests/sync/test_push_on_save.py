"""Saving sends, against the sandbox: a change saved with auto-sync on queues one debounced
"sync.push_saved" job for its organisation, which (run when the clock passes the debounce)
puts the change in Xero as a "save" run in the sync log; a burst of saves is one job; with
auto-sync off for the type nothing is queued; the job shares the organisation's sync lock;
and, pulling first, it links a record Xero already has instead of creating it again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database, utcnow
from ledgerbridge.jobs import claims, registry, scheduler
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.settings import get_settings
from ledgerbridge.sync.models import OutboxEntry, RecordType, XeroLink
from ledgerbridge.xero.client import ACCOUNTING, Organisation
from ledgerbridge.xero.services import XeroServices
from tests.sync.test_invoices import client_id, create_invoice
from tests.sync.test_migrate import connect
from tests.sync.test_sending import connection_id, force_sync, settings_url

RunJobs = Callable[[], int]


# -- helpers ------------------------------------------------------------------------------


def push_jobs(database: Database, status: JobStatus | None = None) -> list[Job]:
    with database.session() as session:
        query = select(Job).where(Job.kind == scheduler.PUSH_SAVED)
        if status is not None:
            query = query.where(Job.status == status)
        return list(session.scalars(query.order_by(Job.created_at)))


def past_the_debounce(state: SandboxState) -> None:
    """The jobs' clock is the sandbox's: move it beyond the push's debounce."""
    state.clock.advance(get_settings().push_debounce_seconds + 1)


def save_runs(api: TestClient) -> list[dict[str, Any]]:
    """The sync log's "save" runs, oldest first."""
    items = api.get("/api/v1/xero/runs", params={"trigger": "save"}).json()["items"]
    return list(reversed(items))


def contacts_named(state: SandboxState, org: Organisation, name: str) -> list[dict[str, Any]]:
    return [c for c in state.orgs[org.tenant_id].iter_records("Contacts") if c["Name"] == name]


def new_client(api: TestClient, name: str, **fields: Any) -> str:
    response = api.post("/api/v1/clients", json={"name": name, "is_customer": True, **fields})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def linked_id(database: Database, record_type: RecordType, local_id: str) -> str | None:
    with database.session() as session:
        return session.scalar(
            select(XeroLink.xero_id).where(XeroLink.record_type == record_type, XeroLink.local_id == local_id)
        )


def set_auto_sync(api: TestClient, database: Database, **switches: bool) -> None:
    response = api.put(settings_url(database), json={"auto_sync": switches})
    assert response.status_code == 200, response.text


# -- contacts -----------------------------------------------------------------------------


def test_a_client_saved_through_the_api_reaches_xero_after_the_debounce(
    owner_api: TestClient,
    au: Organisation,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: RunJobs,
) -> None:
    before = utcnow()
    local_id = new_client(owner_api, "Manly Ferries Pty Ltd", email="ap@manlyferries.example.com")

    [job] = push_jobs(database, JobStatus.QUEUED)
    debounce = timedelta(seconds=get_settings().push_debounce_seconds)
    assert before + debounce <= job.run_at <= utcnow() + debounce
    assert job.lock_key == scheduler.sync_lock_key(connection_id(database))
    assert contacts_named(sandbox_state, au, "Manly Ferries Pty Ltd") == []

    contacts_before = len(list(sandbox_state.orgs[au.tenant_id].iter_records("Contacts")))
    past_the_debounce(sandbox_state)
    assert run_jobs() >= 1

    [theirs] = contacts_named(sandbox_state, au, "Manly Ferries Pty Ltd")
    assert theirs["EmailAddress"] == "ap@manlyferries.example.com"
    assert linked_id(database, RecordType.CONTACT, local_id) == theirs["ContactID"]
    created = len(list(sandbox_state.orgs[au.tenant_id].iter_records("Contacts"))) - contacts_before
    [run] = save_runs(owner_api)
    assert (run["status"], run["record_types"]) == ("succeeded", ["contact"])
    assert run["counts"]["pushed_created"] == created >= 1  # with the seeded clients Xero lacked
    assert run["counts"]["calls"] >= 2  # the pull, then the push
    assert push_jobs(database, JobStatus.QUEUED) == []


def test_fifty_saves_queue_one_push_which_sends_the_last_state(
    owner_api: TestClient,
    au: Organisation,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: RunJobs,
) -> None:
    local_id = new_client(owner_api, "Coogee Kayaks")
    for n in range(49):
        response = owner_api.patch(f"/api/v1/clients/{local_id}", json={"phone": f"02 9000 {n:04d}"})
        assert response.status_code == 200, response.text

    assert len(push_jobs(database)) == 1

    past_the_debounce(sandbox_state)
    run_jobs()
    [theirs] = contacts_named(sandbox_state, au, "Coogee Kayaks")
    phones = [p.get("PhoneNumber") for p in theirs.get("Phones", [])]
    assert "02 9000 0048" in " ".join(str(p) for p in phones), theirs.get("Phones")
    assert len(save_runs(owner_api)) == 1


def test_with_auto_sync_off_the_change_waits_for_force_sync(
    owner_api: TestClient,
    au: Organisation,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: RunJobs,
) -> None:
    """Auto-sync off for contacts: a saved client is not pushed on its own (no push job,
    no save run, nothing in Xero), yet it is kept, and Force sync sends it, as the
    settings page says. (The outbox row was not written at all, so Force sync never sent
    it: a change saved while auto-sync was off was lost.)"""
    set_auto_sync(owner_api, database, contact=False)
    new_client(owner_api, "Bronte Bakery")
    assert push_jobs(database) == []
    with database.session() as session:
        assert [(e.record_type, e.status) for e in session.scalars(select(OutboxEntry))] == [
            (RecordType.CONTACT, "pending")
        ]
    past_the_debounce(sandbox_state)
    run_jobs()
    assert contacts_named(sandbox_state, au, "Bronte Bakery") == []
    assert save_runs(owner_api) == []

    # Per type: items still sync here, so saving one queues the push (of items only).
    response = owner_api.post("/api/v1/items", json={"code": "SURF-01", "name": "Surfboard wax"})
    assert response.status_code == 201, response.text
    assert len(push_jobs(database, JobStatus.QUEUED)) == 1
    past_the_debounce(sandbox_state)
    run_jobs()
    [run] = save_runs(owner_api)
    assert (run["status"], run["record_types"]) == ("succeeded", ["item"])
    assert linked_id(database, RecordType.ITEM, response.json()["id"]) is not None
    assert contacts_named(sandbox_state, au, "Bronte Bakery") == []

    force_sync(owner_api, database, "contact")
    assert len(contacts_named(sandbox_state, au, "Bronte Bakery")) == 1


def test_a_change_saved_while_auto_sync_was_off_goes_once_it_is_on_again(
    owner_api: TestClient,
    au: Organisation,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: RunJobs,
) -> None:
    set_auto_sync(owner_api, database, contact=False)
    new_client(owner_api, "Clovelly Cycles")
    assert push_jobs(database) == []
    set_auto_sync(owner_api, database, contact=True)
    assert len(push_jobs(database, JobStatus.QUEUED)) == 1
    past_the_debounce(sandbox_state)
    run_jobs()
    assert len(contacts_named(sandbox_state, au, "Clovelly Cycles")) == 1


def test_a_contact_already_in_xero_is_linked_not_created_again(
    owner_api: TestClient,
    service: TestClient,
    au: Organisation,
    database: Database,
    sandbox_state: SandboxState,
    xero_services: XeroServices,
    run_jobs: RunJobs,
) -> None:
    """Made in Xero after the last sync, then here under the same name: the push pulls
    first, so it matches Xero's contact rather than sending a second one."""
    force_sync(owner_api, database, "contact")
    [made] = service.portal.call(  # type: ignore[union-attr]
        xero_services.client.write_batch,
        au,
        "POST",
        f"{ACCOUNTING}/Contacts",
        "Contacts",
        [{"Name": "Tamarama Tiles", "EmailAddress": "hello@tamarama.example.com"}],
        "made-in-xero-1",
    )
    assert made.ok, made.messages
    local_id = new_client(owner_api, "Tamarama Tiles")

    past_the_debounce(sandbox_state)
    run_jobs()
    [theirs] = contacts_named(sandbox_state, au, "Tamarama Tiles")
    assert linked_id(database, RecordType.CONTACT, local_id) == theirs["ContactID"]


# -- payments -----------------------------------------------------------------------------


def test_a_payment_recorded_here_reaches_xero(
    owner_api: TestClient,
    au: Organisation,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: RunJobs,
) -> None:
    response = owner_api.put(settings_url(database), json={"invoice_status": "authorised"})
    assert response.status_code == 200, response.text
    imported = owner_api.post(
        f"/api/v1/xero/connections/{connection_id(database)}/imports", json={"record_types": ["account"]}
    )
    assert imported.status_code == 202, imported.text
    run_jobs()
    force_sync(owner_api, database, "contact", "invoice")  # numbers here continue after Xero's
    invoice_id = create_invoice(owner_api, {"client_id": client_id(database, "Bondi Surf Co")}, "approved")
    run_jobs()  # the invoice's immediate send; a push after it finds nothing left to do
    past_the_debounce(sandbox_state)
    run_jobs()
    invoice_xero_id = linked_id(database, RecordType.INVOICE, invoice_id)
    assert invoice_xero_id is not None
    assert save_runs(owner_api) == []

    paid = owner_api.post(
        "/api/v1/payments", json={"invoice_id": invoice_id, "amount": "1430.00", "date": "2026-11-21"}
    )
    assert paid.status_code == 201, paid.text
    assert len(push_jobs(database, JobStatus.QUEUED)) == 1
    past_the_debounce(sandbox_state)
    run_jobs()

    payment_xero_id = linked_id(database, RecordType.PAYMENT, paid.json()["id"])
    assert payment_xero_id is not None
    payment = sandbox_state.orgs[au.tenant_id].get_record("Payments", payment_xero_id)
    assert payment is not None and payment["Amount"] == Decimal("1430.00")
    theirs = sandbox_state.orgs[au.tenant_id].get_record("Invoices", invoice_xero_id)
    assert theirs is not None and theirs["Status"] == "PAID"
    [run] = save_runs(owner_api)
    assert (run["status"], run["record_types"], run["counts"]["pushed_created"]) == (
        "succeeded",
        ["payment"],
        1,
    )


# -- the sync lock ------------------------------------------------------------------------


@pytest.mark.usefixtures("service")
def test_the_push_and_a_scheduled_sync_never_run_at_once(
    owner_api: TestClient, au: Organisation, database: Database
) -> None:
    new_client(owner_api, "Clovelly Cafe")
    [push] = push_jobs(database, JobStatus.QUEUED)
    later = push.run_at + timedelta(seconds=1)
    with database.session() as session:
        [auto] = scheduler.schedule_due(session, later)
        assert auto.kind == scheduler.SYNC_AUTO
        assert auto.lock_key == push.lock_key == scheduler.sync_lock_key(connection_id(database))
    kinds = registry.registered_kinds()
    lease = timedelta(minutes=5)

    [first] = claims.claim(database, kinds, "worker-1", later, lease, 5)
    assert first.kind in (scheduler.PUSH_SAVED, scheduler.SYNC_AUTO)
    assert claims.claim(database, kinds, "worker-2", later, lease, 5) == []  # held: the other waits

    claims.complete(database, first.id, "worker-1", later)
    [second] = claims.claim(database, kinds, "worker-2", later, lease, 5)
    assert {first.kind, second.kind} == {scheduler.PUSH_SAVED, scheduler.SYNC_AUTO}


def test_a_change_saved_while_disconnected_reaches_xero_after_the_reconnect(
    owner_api: TestClient,
    au: Organisation,
    xero_browser: TestClient,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: RunJobs,
) -> None:
    """Regression (found by the model walk): a client edited while its organisation was
    disconnected got no outbox row, and the sync after the reconnect saw nothing to send,
    so the edit never reached Xero. It waits now, and goes within seconds of the reconnect."""
    local_id = new_client(owner_api, "Tamarama Tiles", email="accounts@tamarama.example.com")
    past_the_debounce(sandbox_state)
    run_jobs()
    xero_id = linked_id(database, RecordType.CONTACT, local_id)
    assert xero_id is not None
    au_id = connection_id(database)
    assert owner_api.delete(f"/api/v1/xero/connections/{au_id}").status_code == 200

    edited = owner_api.patch(f"/api/v1/clients/{local_id}", json={"email": "ap@tamarama.example.com"})
    assert edited.status_code == 200, edited.text
    with database.session() as session:
        waiting = session.scalars(select(OutboxEntry).where(OutboxEntry.local_id == local_id)).all()
        assert [(e.connection_id, e.status) for e in waiting if e.status == "pending"] == [(au_id, "pending")]
    assert push_jobs(database, JobStatus.QUEUED) == []  # nowhere to send it yet

    assert connect(owner_api, xero_browser, database, "Demo Company (AU)") == au_id
    assert len(push_jobs(database, JobStatus.QUEUED)) == 1
    past_the_debounce(sandbox_state)
    run_jobs()
    record = sandbox_state.orgs[au.tenant_id].get_record("Contacts", xero_id)
    assert record is not None and record["EmailAddress"] == "ap@tamarama.example.com"
