"""A change in Xero reaches us by webhook and costs one targeted fetch: the sandbox signs
and delivers to our app, our inbox stores the event, and the job fetches just that record."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from ledgerbridge.clock import SystemClock
from ledgerbridge.db import Database
from ledgerbridge.jobs.runner import InProcessRunner
from ledgerbridge.sandbox.seeding import DEMO_APP_CLIENT_ID, DEMO_APP_WEBHOOK_KEY
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.settings import Settings
from ledgerbridge.sync.models import RecordType, SyncRun, XeroLink
from ledgerbridge.sync.service import sync
from ledgerbridge.work.models import Client, CreditNote, Invoice, InvoiceStatus, TimeEntry
from ledgerbridge.xero.client import ACCOUNTING, Organisation
from ledgerbridge.xero.models import WebhookEvent, XeroConnection
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded
from tests.sync.test_invoices import authorise_new_invoices, run_sync
from tests.sync.test_send_invoice import BUILD, PERIOD, log_hours

pytestmark = pytest.mark.anyio
OUR_URL = "http://ledgerbridge.test"


@pytest.fixture
def xero_settings(xero_settings: Settings) -> Settings:
    """The built-in app's webhook key, and no background runner: the test runs the jobs."""
    return xero_settings.model_copy(
        update={"xero_webhook_key": SecretStr(DEMO_APP_WEBHOOK_KEY), "run_jobs_in_web": False}
    )


async def test_signed_webhook_leads_to_a_fetch_of_just_that_contact(
    service: TestClient,
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
) -> None:
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
    await sync(xero_services, connection.workspace_id, connection.id, [RecordType.CONTACT])

    app = sandbox_state.apps[DEMO_APP_CLIENT_ID]
    app.webhook.url = f"{OUR_URL}/webhooks/xero"
    sandbox_state.webhooks.transport = httpx.ASGITransport(app=service.app)
    handshake = await sandbox_state.webhooks.intent_to_receive(DEMO_APP_CLIENT_ID)
    assert app.webhook.status == "ACTIVE", handshake

    target = next(
        c for c in sandbox_state.orgs[au.tenant_id].iter_records("Contacts") if c["ContactStatus"] == "ACTIVE"
    )
    await xero_services.client.write_batch(
        au,
        "POST",
        f"{ACCOUNTING}/Contacts",
        "Contacts",
        [{"ContactID": target["ContactID"], "EmailAddress": "changed-in-xero@example.com"}],
        "wh-edit-1",
    )
    delivered = await sandbox_state.webhooks.deliver_pending(ignore_schedule=True)
    assert [(d["status_code"], d["event_count"]) for d in delivered] == [(200, 1)]
    with database.session() as session:
        events = session.scalars(select(WebhookEvent)).all()
        assert [e.resource_id for e in events] == [target["ContactID"]]

    calls_before = xero_services.client.counter.total(au.tenant_id)
    runner = InProcessRunner(database, xero_services, SystemClock(), schedule=False)
    await runner.run_until_idle()

    assert xero_services.client.counter.total(au.tenant_id) - calls_before == 1  # GET Contacts?IDs=<that one>
    with database.session() as session:
        client = session.scalars(select(Client).where(Client.name == target["Name"])).one()
        assert client.email == "changed-in-xero@example.com"
        run = session.scalars(select(SyncRun).where(SyncRun.trigger == "webhook")).one()
        assert run.counts == {"updated": 1, "calls": 1}
        assert all(e.handled_at is not None for e in session.scalars(select(WebhookEvent)))


async def _listen(service: TestClient, sandbox_state: SandboxState) -> None:
    """Point the built-in app's webhook at our app (in-process) and pass the handshake."""
    app = sandbox_state.apps[DEMO_APP_CLIENT_ID]
    app.webhook.url = f"{OUR_URL}/webhooks/xero"
    sandbox_state.webhooks.transport = httpx.ASGITransport(app=service.app)
    handshake = await sandbox_state.webhooks.intent_to_receive(DEMO_APP_CLIENT_ID)
    assert app.webhook.status == "ACTIVE", handshake


async def _deliver_and_run(
    sandbox_state: SandboxState, xero_services: XeroServices, database: Database, au: Organisation
) -> int:
    """Xero delivers what is pending; our worker runs the jobs. Returns the calls it cost."""
    delivered = await sandbox_state.webhooks.deliver_pending(ignore_schedule=True)
    assert [d["status_code"] for d in delivered] == [200], delivered
    calls_before = xero_services.client.counter.total(au.tenant_id)
    await InProcessRunner(database, xero_services, SystemClock(), schedule=False).run_until_idle()
    return xero_services.client.counter.total(au.tenant_id) - calls_before


async def _synced_and_listening(
    service: TestClient,
    xero_services: XeroServices,
    sandbox_state: SandboxState,
    database: Database,
    types: list[RecordType],
) -> None:
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
    await sync(xero_services, connection.workspace_id, connection.id, types)
    await _listen(service, sandbox_state)


async def _edit_in_xero(
    xero_services: XeroServices, au: Organisation, collection: str, change: dict[str, Any], key: str
) -> None:
    """A change made in Xero, through its API as another app would: Xero queues the event."""
    results = await xero_services.client.write_batch(
        au, "POST", f"{ACCOUNTING}/{collection}", collection, [change], key
    )
    assert results[0].ok, results[0].messages


async def test_an_invoice_voided_in_xero_arrives_by_webhook_with_one_call(
    service: TestClient,
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
) -> None:
    types = [RecordType.CONTACT, RecordType.INVOICE]
    await _synced_and_listening(service, xero_services, sandbox_state, database, types)
    target = next(
        i
        for i in sandbox_state.orgs[au.tenant_id].iter_records("Invoices")
        if i["Status"] == "AUTHORISED"
        and i["Type"] == "ACCPAY"
        and not Decimal(str(i.get("AmountPaid") or 0))
        and not Decimal(str(i.get("AmountCredited") or 0))
    )
    await _edit_in_xero(
        xero_services, au, "Invoices", {"InvoiceID": target["InvoiceID"], "Status": "VOIDED"}, "wh-1"
    )

    assert await _deliver_and_run(sandbox_state, xero_services, database, au) == 1  # Invoices?IDs=<it>
    with database.session() as session:
        invoice = session.scalars(
            select(Invoice).where(Invoice.number == target["InvoiceNumber"], Invoice.kind == "bill")
        ).one()
        assert invoice.status is InvoiceStatus.VOID
        run = session.scalars(select(SyncRun).where(SyncRun.trigger == "webhook")).one()
        assert run.record_types == ["invoice"] and run.counts == {"updated": 1, "calls": 1}


async def test_a_credit_note_changed_in_xero_arrives_by_webhook_with_one_call(
    service: TestClient,
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
) -> None:
    types = [RecordType.CONTACT, RecordType.INVOICE, RecordType.CREDIT_NOTE]
    await _synced_and_listening(service, xero_services, sandbox_state, database, types)
    target = next(
        n
        for n in sandbox_state.orgs[au.tenant_id].iter_records("CreditNotes")
        if n["Status"] in ("DRAFT", "SUBMITTED")
    )
    change = {"CreditNoteID": target["CreditNoteID"], "Reference": "Changed in Xero"}
    await _edit_in_xero(xero_services, au, "CreditNotes", change, "wh-2")

    assert await _deliver_and_run(sandbox_state, xero_services, database, au) == 1  # where CreditNoteID==
    with database.session() as session:
        link = session.scalars(select(XeroLink).where(XeroLink.xero_id == target["CreditNoteID"])).one()
        note = session.get(CreditNote, link.local_id)
        assert note is not None and note.reference == "Changed in Xero"
        run = session.scalars(select(SyncRun).where(SyncRun.trigger == "webhook")).one()
        assert run.record_types == ["credit_note"] and run.counts == {"updated": 1, "calls": 1}


async def _built_from_hours_and_in_xero(
    owner_api: TestClient, xero_services: XeroServices, database: Database, seeded: Seeded, party: str
) -> dict[str, object]:
    """An invoice (``client_id``) or a contractor's bill (``member_id``) built from 500
    approved minutes, sent, and created in Xero as AUTHORISED (so Xero owns every field)."""
    authorise_new_invoices(database)
    if party == "member_id":
        supplier = {"name": "Liam O'Brien", "is_customer": False, "is_supplier": True}
        assert owner_api.post("/api/v1/clients", json=supplier).status_code == 201
    await run_sync(xero_services, database)
    who = seeded.client_id if party == "client_id" else seeded.contractor_id
    log_hours(owner_api, seeded, member_id=seeded.contractor_id if party == "member_id" else None)
    built = owner_api.post(BUILD, json={party: who, **PERIOD})
    assert built.status_code == 201, built.text
    assert owner_api.post(f"/api/v1/invoices/{built.json()['id']}/send-to-xero").status_code == 200
    run = await run_sync(xero_services, database, record_types=[RecordType.INVOICE])
    assert run.status == "succeeded" and run.counts["pushed_created"] == 1, (run.error, run.counts)
    # the send job the send queued: run now, so the fetch below is the only call counted
    await InProcessRunner(database, xero_services, SystemClock(), schedule=False).run_until_idle()
    ours: dict[str, object] = owner_api.get(f"/api/v1/invoices/{built.json()['id']}").json()
    assert ours["status"] == "approved" and len(ours["lines"]) == 1  # type: ignore[arg-type]
    return ours


def _xero_id(database: Database, local_id: object) -> str:
    with database.session() as session:
        return session.scalars(
            select(XeroLink.xero_id).where(
                XeroLink.record_type == RecordType.INVOICE, XeroLink.local_id == local_id
            )
        ).one()


def _assert_lines_and_hours_kept(
    owner_api: TestClient, database: Database, before: dict[str, object], party: str, who: str
) -> dict[str, object]:
    """The invoice still has its lines, totals and time entries, and its hours cannot be
    invoiced (or billed) a second time."""
    after: dict[str, object] = owner_api.get(f"/api/v1/invoices/{before['id']}").json()
    for name in ("lines", "sub_total", "total_tax", "total"):
        assert after[name] == before[name], name
    line_ids = [line["id"] for line in after["lines"]]  # type: ignore[attr-defined]
    column = TimeEntry.invoice_line_id if party == "client_id" else TimeEntry.bill_line_id
    with database.session() as session:
        held = session.scalars(select(TimeEntry.id).where(column.in_(line_ids))).all()
    assert len(held) == 2
    again = owner_api.post(BUILD, json={party: who, **PERIOD})
    assert again.status_code == 422, again.text
    assert again.json()["errors"][0]["field"] == party
    return after


@pytest.mark.parametrize("party", ["client_id", "member_id"])
async def test_an_invoice_from_hours_keeps_its_lines_and_hours_after_a_webhook_fetch(
    party: str,
    service: TestClient,
    owner_api: TestClient,
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    seeded: Seeded,
) -> None:
    """Regression: the fetch by ``IDs`` was an unpaged read, which Xero answers without
    ``LineItems``; the pull took that as "no lines", emptied the invoice (AUD 0.00) and
    freed its hours to be invoiced again."""
    before = await _built_from_hours_and_in_xero(owner_api, xero_services, database, seeded, party)
    await _listen(service, sandbox_state)
    change = {"InvoiceID": _xero_id(database, before["id"]), "DueDate": "2026-12-04"}
    await _edit_in_xero(xero_services, au, "Invoices", change, f"wh-lines-{party}")

    assert await _deliver_and_run(sandbox_state, xero_services, database, au) == 1  # Invoices?IDs=<it>
    who = seeded.client_id if party == "client_id" else seeded.contractor_id
    after = _assert_lines_and_hours_kept(owner_api, database, before, party, who)
    assert after["due_date"] == "2026-12-04"  # what did change in Xero arrived
    with database.session() as session:
        run = session.scalars(select(SyncRun).where(SyncRun.trigger == "webhook")).one()
        assert run.counts == {"updated": 1, "calls": 1}

    rerun = await run_sync(xero_services, database, record_types=[RecordType.INVOICE])
    assert rerun.counts.get("updated", 0) == 0 and rerun.counts.get("conflicts", 0) == 0, rerun.counts
    _assert_lines_and_hours_kept(owner_api, database, before, party, who)


async def test_a_line_reworded_in_xero_keeps_the_hours_it_charges(
    service: TestClient,
    owner_api: TestClient,
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    seeded: Seeded,
) -> None:
    """Regression (found by the model walk): a bookkeeper rewords the hours' line in Xero
    and adds a line of their own. The pull kept a line's time entries only when its
    description was unchanged, so the reworded line's hours were freed to be invoiced again."""
    before = await _built_from_hours_and_in_xero(owner_api, xero_services, database, seeded, "client_id")
    await _listen(service, sandbox_state)
    xero_id = _xero_id(database, before["id"])
    record = sandbox_state.orgs[au.tenant_id].get_record("Invoices", xero_id)
    assert record is not None
    lines = json.loads(json.dumps(record["LineItems"], default=str))
    lines[0]["Description"] += " (reviewed)"
    lines.append({"Description": "Parking", "Quantity": "1", "UnitAmount": "12.50", "AccountCode": "200"})
    change = {"InvoiceID": xero_id, "LineItems": lines}
    await _edit_in_xero(xero_services, au, "Invoices", change, "wh-reword")

    assert await _deliver_and_run(sandbox_state, xero_services, database, au) == 1  # Invoices?IDs=<it>
    after = owner_api.get(f"/api/v1/invoices/{before['id']}").json()
    assert [line["description"] for line in after["lines"]] == [lines[0]["Description"], "Parking"]
    with database.session() as session:
        held = session.scalars(
            select(TimeEntry.id).where(TimeEntry.invoice_line_id == after["lines"][0]["id"])
        ).all()
    assert len(held) == 2  # both entries, still on the reworded line
    again = owner_api.post(BUILD, json={"client_id": seeded.client_id, **PERIOD})
    assert again.status_code == 422, again.text


async def test_an_invoice_paid_in_xero_keeps_its_lines_and_hours_and_takes_the_payment(
    service: TestClient,
    owner_api: TestClient,
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    seeded: Seeded,
) -> None:
    """A payment made in Xero touches the invoice (an INVOICE webhook): its status arrives
    by the fetch, the money by the payments pull, and its lines and hours stay."""
    before = await _built_from_hours_and_in_xero(owner_api, xero_services, database, seeded, "client_id")
    await _listen(service, sandbox_state)
    payment = {
        "Invoice": {"InvoiceID": _xero_id(database, before["id"])},
        "Account": {"Code": "090"},
        "Date": "2026-11-20",
        "Amount": str(before["total"]),
    }
    paid = await xero_services.client.write_batch(
        au, "PUT", f"{ACCOUNTING}/Payments", "Payments", [payment], "wh-pay"
    )
    assert paid[0].ok, paid[0].messages

    assert await _deliver_and_run(sandbox_state, xero_services, database, au) == 1  # Invoices?IDs=<it>
    after = _assert_lines_and_hours_kept(owner_api, database, before, "client_id", seeded.client_id)
    assert after["status"] == "paid"

    run = await run_sync(xero_services, database, record_types=[RecordType.PAYMENT, RecordType.INVOICE])
    assert run.status == "succeeded", run.error
    assert run.counts.get("created") == 1 and "failed" not in run.counts, run.counts
    after = _assert_lines_and_hours_kept(owner_api, database, before, "client_id", seeded.client_id)
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("paid", before["total"], "0.00")


async def test_a_forged_webhook_is_refused_and_fetches_nothing(
    service: TestClient, xero_services: XeroServices, au: Organisation, database: Database
) -> None:
    body = (
        b'{"events":[{"resourceId":"x","tenantId":"y"}],'
        b'"firstEventSequence":1,"lastEventSequence":1,"entropy":"z"}'
    )
    response = service.post("/webhooks/xero", content=body, headers={"x-xero-signature": "Zm9yZ2Vk"})
    assert response.status_code == 401
    assert response.content == b""
    with database.session() as session:
        assert session.scalars(select(WebhookEvent)).all() == []
