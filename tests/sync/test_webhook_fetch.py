"""A change in Xero reaches us by webhook and costs one targeted fetch: the sandbox signs
and delivers to our app, our inbox stores the event, and the job fetches just that record."""

from __future__ import annotations

from decimal import Decimal

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
from ledgerbridge.work.models import Client, CreditNote, Invoice, InvoiceStatus
from ledgerbridge.xero.client import ACCOUNTING, Organisation
from ledgerbridge.xero.models import WebhookEvent, XeroConnection
from ledgerbridge.xero.services import XeroServices

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
    xero_services: XeroServices, au: Organisation, collection: str, change: dict[str, str], key: str
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
