"""Payments both ways against the sandbox: a payment recorded here reaches Xero and pays
the invoice there; a payment deleted in Xero is removed here and the invoice moves back;
a payment that cannot go yet says why."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync.imports import run_import
from ledgerbridge.sync.models import RecordType, SyncIssue, XeroLink, XeroReference
from ledgerbridge.work.models import InvoiceStatus, Payment
from ledgerbridge.xero.client import ACCOUNTING, Organisation
from ledgerbridge.xero.services import XeroServices
from tests.sync.test_invoices import (
    authorise_new_invoices,
    client_id,
    create_invoice,
    ids,
    local_invoice,
    pay_in_xero,
    run_sync,
    xero_invoice,
)

pytestmark = pytest.mark.anyio


async def approved_invoice_in_xero(
    services: XeroServices, database: Database, api: TestClient, *, import_accounts: bool = True
) -> str:
    """An approved invoice for Bondi Surf Co (total 1430.00), authorised in Xero."""
    if import_accounts:
        workspace_id, connection_id = ids(database)
        await run_import(services, workspace_id, connection_id, ["account"])
    authorise_new_invoices(database)
    await run_sync(services, database)
    invoice_id = create_invoice(api, {"client_id": client_id(database, "Bondi Surf Co")}, "approved")
    await run_sync(services, database)
    return invoice_id


def record_payment(api: TestClient, invoice_id: str, amount: str) -> str:
    response = api.post(
        "/api/v1/payments", json={"invoice_id": invoice_id, "amount": amount, "date": "2026-11-21"}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_payment_recorded_here_pays_the_invoice_in_xero(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    invoice_id = await approved_invoice_in_xero(xero_services, database, owner_api)
    payment_id = record_payment(owner_api, invoice_id, "1430.00")
    assert local_invoice(database, invoice_id).status is InvoiceStatus.PAID

    run = await run_sync(xero_services, database)
    assert run.status == "succeeded", run.error
    assert run.counts["pushed_created"] == 1
    theirs = xero_invoice(sandbox_state, au, invoice_id, database)
    assert (theirs["Status"], theirs["AmountDue"], theirs["AmountPaid"]) == (
        "PAID",
        Decimal(0),
        Decimal("1430.00"),
    )
    with database.session() as session:
        link = session.scalars(select(XeroLink).where(XeroLink.local_id == payment_id)).one()
    payment = sandbox_state.orgs[au.tenant_id].get_record("Payments", link.xero_id)
    assert payment is not None
    assert payment["Amount"] == Decimal("1430.00")

    await run_sync(xero_services, database)  # reads back the paid invoice and the payment
    again = await run_sync(xero_services, database)
    assert local_invoice(database, invoice_id).status is InvoiceStatus.PAID
    assert again.counts.get("calls") == 3
    with database.session() as session:
        assert len(session.scalars(select(Payment).where(Payment.invoice_id == invoice_id)).all()) == 1


async def test_a_payment_deleted_in_xero_is_removed_here_and_the_invoice_moves_back(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    invoice_id = await approved_invoice_in_xero(xero_services, database, owner_api, import_accounts=False)
    theirs = xero_invoice(sandbox_state, au, invoice_id, database)
    first = await pay_in_xero(xero_services, au, theirs["InvoiceID"], "430.00", "pay-1")
    await pay_in_xero(xero_services, au, theirs["InvoiceID"], "1000.00", "pay-2")
    paid = await run_sync(xero_services, database)
    assert paid.status == "succeeded", paid.error
    assert local_invoice(database, invoice_id).status is InvoiceStatus.PAID

    deleted = await xero_services.client.write_batch(
        au, "POST", f"{ACCOUNTING}/Payments", "Payments", [{"PaymentID": first, "Status": "DELETED"}], "del-1"
    )
    assert deleted[0].ok, deleted[0].messages
    run = await run_sync(xero_services, database)
    assert run.status == "succeeded", run.error
    assert local_invoice(database, invoice_id).status is InvoiceStatus.PARTLY_PAID
    with database.session() as session:
        amounts = session.scalars(select(Payment.amount).where(Payment.invoice_id == invoice_id)).all()
    assert amounts == [Decimal("1000.00")]


async def test_a_payment_without_a_bank_account_waits_and_says_why(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    # the first sync imports the chart of accounts, so a payment finds no bank account only
    # when the organisation has none active: its bank accounts are archived in Xero
    banks = [a for a in sandbox_state.orgs[au.tenant_id].iter_records("Accounts") if a.get("Type") == "BANK"]
    assert banks
    for bank in banks:
        archived = await xero_services.client.write_batch(
            au,
            "POST",
            f"{ACCOUNTING}/Accounts/{bank['AccountID']}",
            "Accounts",
            [{"AccountID": bank["AccountID"], "Status": "ARCHIVED"}],
            f"archive-{bank['Code']}",
        )
        assert archived[0].ok, archived[0].messages
    invoice_id = await approved_invoice_in_xero(xero_services, database, owner_api, import_accounts=False)
    with database.session() as session:
        imported = session.scalars(
            select(XeroReference).where(XeroReference.record_type == RecordType.ACCOUNT)
        ).all()
    assert {(a.code, a.status) for a in imported if a.data.get("Type") == "BANK"} == {
        (b["Code"], "ARCHIVED") for b in banks
    }
    payment_id = record_payment(owner_api, invoice_id, "100.00")
    run = await run_sync(xero_services, database, record_types=[RecordType.PAYMENT])
    assert run.status == "partial"
    with database.session() as session:
        issue = session.scalars(select(SyncIssue).where(SyncIssue.local_id == payment_id)).one()
    assert "No bank account" in issue.message


async def test_a_payment_on_an_invoice_not_in_xero_waits_for_it(
    xero_services: XeroServices, au: Organisation, database: Database, owner_api: TestClient
) -> None:
    workspace_id, connection_id = ids(database)
    await run_import(xero_services, workspace_id, connection_id, ["account"])
    await run_sync(xero_services, database, record_types=[RecordType.CONTACT])
    invoice_id = create_invoice(owner_api, {"client_id": client_id(database, "Bondi Surf Co")}, "approved")
    number = local_invoice(database, invoice_id).number
    payment_id = record_payment(owner_api, invoice_id, "100.00")
    await run_sync(xero_services, database, record_types=[RecordType.PAYMENT])
    with database.session() as session:
        issue = session.scalars(select(SyncIssue).where(SyncIssue.local_id == payment_id)).one()
    assert issue.message == f"Invoice {number} is not in Xero yet; sync invoices first."
