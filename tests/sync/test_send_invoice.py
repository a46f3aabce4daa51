"""Hours to invoices through the API, then "Send via Xero": preview, build, send, sync,
and the invoice is in the sandbox with Xero's totals equal to ours; refusals name who is
not in Xero yet before anything is queued."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from ledgerbridge.cli import app
from ledgerbridge.db import Database
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync.models import OutboxEntry, RecordType, SyncIssue, XeroLink
from ledgerbridge.work.models import Invoice, TimeEntry
from ledgerbridge.xero.client import Organisation
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded, seed_workspace
from tests.sync.test_invoices import authorise_new_invoices, run_sync

pytestmark = pytest.mark.anyio

BUILD = "/api/v1/invoices/from-time"
PERIOD = {"date_from": "2026-11-02", "date_to": "2026-11-06", "issue_date": "2026-11-09"}


def log_hours(
    api: TestClient, seeded: Seeded, member_id: str | None = None, task_id: str | None = None
) -> None:
    """7.5 h and 50 min of approved billable design (project rate 160), one unapproved hour."""
    for day, minutes, approved in (
        ("2026-11-02", 450, True),
        ("2026-11-03", 50, True),
        ("2026-11-04", 60, False),
    ):
        response = api.post(
            "/api/v1/time-entries",
            json={
                "member_id": member_id or seeded.employee_id,
                "task_id": task_id or seeded.task_id,
                "date": day,
                "duration_minutes": minutes,
                "approved": approved,
            },
        )
        assert response.status_code == 201, response.text


def xero_record(
    state: SandboxState, org: Organisation, database: Database, invoice_id: str
) -> dict[str, Any]:
    with database.session() as session:
        xero_id = session.scalars(
            select(XeroLink.xero_id).where(
                XeroLink.record_type == RecordType.INVOICE, XeroLink.local_id == invoice_id
            )
        ).one()
    found = [r for r in state.orgs[org.tenant_id].iter_records("Invoices") if r["InvoiceID"] == xero_id]
    assert len(found) == 1
    return found[0]


def invoice_count(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Invoice)) or 0


def outbox_rows(database: Database) -> int:
    with database.session() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxEntry)
                .where(OutboxEntry.record_type == RecordType.INVOICE)
            )
            or 0
        )


@pytest.mark.parametrize("setting", ["draft", "authorised"])
async def test_build_send_sync_puts_the_invoice_in_xero_with_our_totals(
    setting: str,
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
    seeded: Seeded,
) -> None:
    if setting == "authorised":
        authorise_new_invoices(database)
    await run_sync(xero_services, database)  # Bondi Surf Co becomes a Xero contact
    log_hours(owner_api, seeded)

    invoices_before = invoice_count(database)
    preview = owner_api.post(BUILD, json={"client_id": seeded.client_id, "dry_run": True, **PERIOD})
    assert preview.status_code == 200, preview.text
    assert [
        (line["quantity"], line["unit_amount"], line["line_amount"]) for line in preview.json()["lines"]
    ] == [
        ("8.3333", "160.0000", "1333.33")  # 500 minutes; 8.3333 x 160 = 1333.328
    ]
    assert preview.json()["total"] == "1466.66"
    with database.session() as session:  # a preview saves nothing
        assert session.scalar(select(func.count()).where(TimeEntry.invoice_line_id.is_not(None))) == 0
    assert invoice_count(database) == invoices_before

    built = owner_api.post(BUILD, json={"client_id": seeded.client_id, **PERIOD})
    assert built.status_code == 201, built.text
    ours = built.json()
    assert (ours["status"], ours["sub_total"], ours["total_tax"], ours["total"]) == (
        "draft",
        "1333.33",
        "133.33",
        "1466.66",
    )
    assert len(ours["lines"][0]["time_entry_ids"]) == 2
    again = owner_api.post(BUILD, json={"client_id": seeded.client_id, **PERIOD})
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "client_id"
    assert "not invoiced yet from 2026-11-02 to 2026-11-06" in again.json()["errors"][0]["message"]

    sent = owner_api.post(f"/api/v1/invoices/{ours['id']}/send-to-xero")
    assert sent.status_code == 200, sent.text
    assert sent.json()["invoice"]["status"] == "approved"
    assert [q["invoice_status"] for q in sent.json()["queued"]] == [setting]

    run = await run_sync(xero_services, database, record_types=[RecordType.INVOICE])
    assert run.status == "succeeded", run.error
    assert run.counts["pushed_created"] == 1
    theirs = xero_record(sandbox_state, au, database, ours["id"])
    assert (theirs["Type"], theirs["InvoiceNumber"]) == ("ACCREC", ours["number"])
    assert theirs["Status"] == ("AUTHORISED" if setting == "authorised" else "DRAFT")
    assert (theirs["SubTotal"], theirs["TotalTax"], theirs["Total"]) == (
        Decimal("1333.33"),
        Decimal("133.33"),
        Decimal("1466.66"),
    )
    assert theirs["LineItems"][0]["Quantity"] == Decimal("8.3333")
    assert theirs["LineItems"][0]["AccountCode"] == "200"

    before = outbox_rows(database)  # Xero has it as it is here: a second send is refused
    again_sent = owner_api.post(f"/api/v1/invoices/{ours['id']}/send-to-xero")
    assert again_sent.status_code == 409, again_sent.text
    assert again_sent.json()["detail"].startswith(
        f"Nothing was sent: Xero already has this invoice as {ours['number']}"
    )
    assert outbox_rows(database) == before


async def test_send_refuses_naming_the_client_not_in_xero_and_queues_nothing(
    xero_services: XeroServices, au: Organisation, database: Database, owner_api: TestClient, seeded: Seeded
) -> None:
    await run_sync(xero_services, database)
    client = owner_api.post("/api/v1/clients", json={"name": "Coogee Cafe"}).json()["id"]
    project = owner_api.post(
        "/api/v1/projects", json={"name": "Menu site", "client_id": client, "bill_rate": "120"}
    ).json()["id"]
    task = owner_api.post("/api/v1/tasks", json={"project_id": project, "name": "Build"}).json()["id"]
    log_hours(owner_api, seeded, task_id=task)
    rows_before, invoices_before = outbox_rows(database), invoice_count(database)

    built = owner_api.post(BUILD, json={"client_id": client, "send": True, **PERIOD})
    assert built.status_code == 409, built.text
    assert built.json()["errors"] == [
        {"field": "client_id", "message": "Client 'Coogee Cafe' is not in Xero yet; sync contacts first."}
    ]
    assert invoice_count(database) == invoices_before  # the whole request was refused
    invoice = owner_api.post(BUILD, json={"client_id": client, **PERIOD}).json()
    rows_after_build = outbox_rows(database)
    refused = owner_api.post(f"/api/v1/invoices/{invoice['id']}/send-to-xero")
    assert refused.status_code == 409
    assert "Coogee Cafe" in refused.json()["detail"]
    assert outbox_rows(database) == rows_after_build >= rows_before
    assert owner_api.get(f"/api/v1/invoices/{invoice['id']}").json()["status"] == "draft"

    await run_sync(xero_services, database, record_types=[RecordType.CONTACT])  # the fix: sync contacts
    assert owner_api.post(f"/api/v1/invoices/{invoice['id']}/send-to-xero").status_code == 200


async def test_a_contractor_s_bill_goes_to_xero_as_accpay_from_their_supplier_contact(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
    seeded: Seeded,
) -> None:
    authorise_new_invoices(database)
    await run_sync(xero_services, database)
    log_hours(owner_api, seeded, member_id=seeded.contractor_id)
    bill = owner_api.post(BUILD, json={"member_id": seeded.contractor_id, **PERIOD}).json()
    assert (bill["kind"], bill["member_id"], bill["total"]) == (
        "bill",
        seeded.contractor_id,
        "825.00",
    )  # 8.3333 x 90

    refused = owner_api.post(f"/api/v1/invoices/{bill['id']}/send-to-xero")
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "member_id"
    assert (
        "Contractor 'Liam O'Brien' has no supplier contact in Xero" in refused.json()["errors"][0]["message"]
    )

    supplier = {"name": "Liam O'Brien", "is_customer": False, "is_supplier": True}
    assert owner_api.post("/api/v1/clients", json=supplier).status_code == 201
    await run_sync(xero_services, database, record_types=[RecordType.CONTACT])
    assert owner_api.post(f"/api/v1/invoices/{bill['id']}/send-to-xero").status_code == 200
    run = await run_sync(xero_services, database, record_types=[RecordType.INVOICE])
    assert run.status == "succeeded", run.error
    theirs = xero_record(sandbox_state, au, database, bill["id"])
    assert (theirs["Type"], theirs["Status"]) == ("ACCPAY", "AUTHORISED")
    contact = sandbox_state.orgs[au.tenant_id].get_record("Contacts", theirs["_ContactID"])
    assert contact is not None and contact["Name"] == "Liam O'Brien"
    assert (theirs["SubTotal"], theirs["TotalTax"], theirs["Total"]) == (
        Decimal("750.00"),
        Decimal("75.00"),
        Decimal("825.00"),
    )
    assert theirs["LineItems"][0]["AccountCode"] == "310"


async def test_only_owners_and_admins_and_only_in_their_own_workspace(
    database: Database, owner_api: TestClient, seeded: Seeded
) -> None:
    log_hours(owner_api, seeded)
    with database.session() as session:
        other = seed_workspace(session, "Other Pty Ltd", slug="other")
    foreign = owner_api.post(BUILD, json={"client_id": other.client_id, **PERIOD})
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == "client_id"
    assert owner_api.post("/api/v1/invoices/nope/send-to-xero").status_code == 404
    member = {"Authorization": f"Bearer {seeded.member_token}"}
    assert (
        owner_api.post(BUILD, json={"client_id": seeded.client_id, **PERIOD}, headers=member).status_code
        == 403
    )


async def test_the_command_line_previews_refuses_builds_and_sends(
    xero_cli: CliRunner,
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
    seeded: Seeded,
) -> None:
    log_hours(owner_api, seeded)
    build = ["invoices", "build", "-w", seeded.workspace_id, "--client", "bondi surf co"]
    build += ["--from", "2026-11-02", "--to", "2026-11-06"]

    shown = xero_cli.invoke(app, [*build, "--preview"])
    assert shown.exit_code == 0, shown.output
    assert "8.3333" in shown.output and "total 1466.66 AUD" in shown.output
    assert invoice_count(database) == 0

    refused = xero_cli.invoke(app, [*build, "--send"])
    assert refused.exit_code == 1
    assert "Bondi Surf Co" in refused.output and "not in Xero yet" in refused.output
    assert invoice_count(database) == 0, "refused as a whole: nothing saved, no hour marked"

    # As a user would: contacts and invoices in first, so numbering continues after Xero's.
    await run_sync(xero_services, database, record_types=[RecordType.CONTACT, RecordType.INVOICE])
    sent = xero_cli.invoke(app, [*build, "--send"])
    assert sent.exit_code == 0, sent.output
    assert "Queued for Xero (Demo Company (AU)) as draft" in sent.output
    assert outbox_rows(database) == 1
    with database.session() as session:
        invoice_id = session.scalars(
            select(OutboxEntry.local_id).where(OutboxEntry.record_type == RecordType.INVOICE)
        ).one()

    run = await run_sync(xero_services, database, record_types=[RecordType.INVOICE])
    with database.session() as session:
        issues = session.scalars(select(SyncIssue.message).where(SyncIssue.run_id == run.id)).all()
    assert run.counts.get("pushed_created") == 1, (run.counts, issues)
    assert xero_record(sandbox_state, au, database, invoice_id)["Total"] == Decimal("1466.66")
