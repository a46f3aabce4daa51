"""Invoices and bills both ways against the sandbox: pushes with Xero's totals equal to
ours, status back from Xero (paid, voided), refusals naming who is missing, changes on each
side, a no-change sync, a crashed push resumed, and a dry run."""

from __future__ import annotations

import uuid
from decimal import Decimal
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from ledgerbridge.db import Database
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync import engine, invoices
from ledgerbridge.sync.models import (
    OutboxEntry,
    OutboxStatus,
    RecordType,
    SyncCursor,
    SyncIssue,
    SyncSettings,
    XeroLink,
)
from ledgerbridge.sync.runs import start_run
from ledgerbridge.sync.service import sync
from ledgerbridge.work import documents
from ledgerbridge.work.models import Client, Invoice, InvoiceKind, InvoiceStatus
from ledgerbridge.xero.client import ACCOUNTING, Organisation
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded

pytestmark = pytest.mark.anyio

TYPES = [RecordType.CONTACT, RecordType.INVOICE, RecordType.PAYMENT]


def ids(database: Database) -> tuple[str, str]:
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        return connection.workspace_id, connection.id


async def run_sync(services: XeroServices, database: Database, **kwargs: Any) -> Any:
    workspace_id, connection_id = ids(database)
    types = kwargs.pop("record_types", TYPES)
    return await sync(services, workspace_id, connection_id, types, **kwargs)


def authorise_new_invoices(database: Database) -> None:
    """The organisation's setting "create invoices in Xero as authorised" (the default is draft)."""
    workspace_id, connection_id = ids(database)
    with database.session() as session:
        session.add(
            SyncSettings(workspace_id=workspace_id, connection_id=connection_id, invoice_status="authorised")
        )


def xero_invoices(state: SandboxState, org: Organisation) -> list[dict[str, Any]]:
    return list(state.orgs[org.tenant_id].iter_records("Invoices"))


def xero_invoice(state: SandboxState, org: Organisation, local_id: str, database: Database) -> dict[str, Any]:
    with database.session() as session:
        link = session.scalars(
            select(XeroLink).where(XeroLink.record_type == RecordType.INVOICE, XeroLink.local_id == local_id)
        ).one()
    record = state.orgs[org.tenant_id].get_record("Invoices", link.xero_id)
    assert record is not None
    return record


def local_invoice(database: Database, invoice_id: str) -> Invoice:
    with database.session() as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        return invoice


def client_id(database: Database, name: str) -> str:
    with database.session() as session:
        return session.scalars(select(Client.id).where(Client.name == name)).one()


def create_invoice(api: TestClient, party: dict[str, Any], status: str | None = None, **extra: Any) -> str:
    body: dict[str, Any] = {
        **party,
        "issue_date": "2026-11-02",
        "due_date": "2026-11-30",
        "reference": "Website rebuild",
        "lines": [
            {
                "description": "Design",
                "quantity": "7.5",
                "unit_amount": "160.00",
                "account_code": "200",
                "tax_type": "OUTPUT",
            },
            {
                "description": "Hosting",
                "quantity": "3",
                "unit_amount": "33.3333",
                "account_code": "200",
                "tax_type": "OUTPUT",
            },
        ],
        **extra,
    }
    if status:
        body["status"] = status
    response = api.post("/api/v1/invoices", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def edit_in_xero(services: XeroServices, org: Organisation, key: str, **fields: Any) -> None:
    results = await services.client.write_batch(
        org, "POST", f"{ACCOUNTING}/Invoices", "Invoices", [fields], key
    )
    assert results[0].ok, results[0].messages


async def pay_in_xero(
    services: XeroServices, org: Organisation, invoice_id: str, amount: str, key: str
) -> str:
    results = await services.client.write_batch(
        org,
        "PUT",
        f"{ACCOUNTING}/Payments",
        "Payments",
        [
            {
                "Invoice": {"InvoiceID": invoice_id},
                "Account": {"Code": "090"},
                "Date": "2026-11-20",
                "Amount": amount,
            }
        ],
        key,
    )
    assert results[0].ok, results[0].messages
    return str(results[0].record["PaymentID"])


async def test_a_sales_invoice_goes_to_xero_as_accrec_with_our_totals(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    authorise_new_invoices(database)
    await run_sync(xero_services, database)
    invoice_id = create_invoice(owner_api, {"client_id": client_id(database, "Bondi Surf Co")}, "approved")
    ours = owner_api.get(f"/api/v1/invoices/{invoice_id}").json()

    run = await run_sync(xero_services, database)
    assert run.status == "succeeded", run.error
    assert run.counts["pushed_created"] == 1
    theirs = xero_invoice(sandbox_state, au, invoice_id, database)
    assert (theirs["Type"], theirs["Status"]) == ("ACCREC", "AUTHORISED")
    assert theirs["InvoiceNumber"] == ours["number"]
    assert theirs["Reference"] == "Website rebuild"
    assert (theirs["SubTotal"], theirs["TotalTax"], theirs["Total"]) == (
        Decimal(ours["sub_total"]),
        Decimal(ours["total_tax"]),
        Decimal(ours["total"]),
    )
    assert theirs["Total"] == Decimal("1430.00")  # 1200 + 100.00 (3 x 33.3333, rounded per line) + 10% GST


async def test_a_bill_goes_to_xero_as_accpay(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    authorise_new_invoices(database)
    await run_sync(xero_services, database)
    bill_id = create_invoice(
        owner_api,
        {"client_id": client_id(database, "Parramatta Print"), "kind": "bill", "number": "PP-1042"},
        "approved",
        reference=None,
        lines=[
            {
                "description": "Brochures",
                "quantity": "500",
                "unit_amount": "0.85",
                "account_code": "453",
                "tax_type": "INPUT",
            }
        ],
    )
    run = await run_sync(xero_services, database)
    assert run.status == "succeeded", run.error
    theirs = xero_invoice(sandbox_state, au, bill_id, database)
    assert (theirs["Type"], theirs["InvoiceNumber"], theirs["Total"]) == (
        "ACCPAY",
        "PP-1042",
        Decimal("467.50"),
    )
    bills = await xero_services.client.get(au, f"{ACCOUNTING}/Invoices", params={"where": 'Type=="ACCPAY"'})
    assert theirs["InvoiceID"] in {i["InvoiceID"] for i in bills["Invoices"]}


async def test_an_invoice_whose_client_is_not_in_xero_is_refused_naming_the_client(
    xero_services: XeroServices, au: Organisation, database: Database, owner_api: TestClient
) -> None:
    await run_sync(xero_services, database)
    new_client = owner_api.post("/api/v1/clients", json={"name": "Coogee Cafe"}).json()["id"]
    invoice_id = create_invoice(owner_api, {"client_id": new_client})

    run = await run_sync(xero_services, database, record_types=[RecordType.INVOICE])
    assert run.status == "partial"
    with database.session() as session:
        issue = session.scalars(select(SyncIssue).where(SyncIssue.local_id == invoice_id)).one()
    assert issue.message == "Client 'Coogee Cafe' is not in Xero yet; sync contacts first."

    await run_sync(xero_services, database, record_types=[RecordType.CONTACT])
    with database.session() as session:  # the person fixed the cause: the change goes again
        from ledgerbridge.sync.outbox import record_change

        record_change(session, ids(database)[0], RecordType.INVOICE, invoice_id)
    again = await run_sync(xero_services, database, record_types=[RecordType.INVOICE])
    assert again.counts["pushed_created"] == 1


async def test_paid_in_xero_shows_paid_here_after_the_next_sync(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    authorise_new_invoices(database)
    await run_sync(xero_services, database)
    invoice_id = create_invoice(owner_api, {"client_id": client_id(database, "Bondi Surf Co")}, "approved")
    await run_sync(xero_services, database)
    theirs = xero_invoice(sandbox_state, au, invoice_id, database)

    await pay_in_xero(xero_services, au, theirs["InvoiceID"], "430.00", "pay-part")
    await run_sync(xero_services, database)
    assert local_invoice(database, invoice_id).status is InvoiceStatus.PARTLY_PAID

    await pay_in_xero(xero_services, au, theirs["InvoiceID"], "1000.00", "pay-rest")
    run = await run_sync(xero_services, database)
    assert run.status == "succeeded", run.error
    assert local_invoice(database, invoice_id).status is InvoiceStatus.PAID
    mine = owner_api.get(f"/api/v1/invoices/{invoice_id}").json()
    assert (Decimal(mine["amount_paid"]), Decimal(mine["amount_due"])) == (Decimal("1430.00"), Decimal("0"))


async def test_a_xero_number_used_here_by_another_client_is_reported_not_duplicated(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
    seeded: Seeded,
) -> None:
    """Numbers are checked in bulk for a page of pulled invoices (one query), and a clash
    is still caught: the Xero invoice waits with Xero's number named, ours is untouched."""
    theirs = next(
        i for i in sandbox_state.orgs[au.tenant_id].iter_records("Invoices") if i["Type"] == "ACCREC"
    )
    mine = create_invoice(owner_api, {"client_id": seeded.client_id}, number=theirs["InvoiceNumber"])

    run = await run_sync(xero_services, database, record_types=[RecordType.CONTACT, RecordType.INVOICE])
    with database.session() as session:
        issues = session.scalars(select(SyncIssue).where(SyncIssue.run_id == run.id)).all()
        same_number = session.scalars(select(Invoice).where(Invoice.number == theirs["InvoiceNumber"])).all()
        assert [i.id for i in same_number] == [mine], "one local invoice with that number: ours"
        assert [(i.xero_id, i.direction) for i in issues if i.xero_id == theirs["InvoiceID"]] == [
            (theirs["InvoiceID"], "pull")
        ]
        clash = next(i for i in issues if i.xero_id == theirs["InvoiceID"])
        assert f"'{theirs['InvoiceNumber']}' is already used" in clash.message


async def test_a_paid_invoice_changed_in_xero_still_arrives_here(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    """Our own edits of a paid invoice are refused (Xero would refuse them), but a change
    Xero made itself, e.g. in its screens, is the truth and is applied, not left behind."""
    await run_sync(xero_services, database)
    org = sandbox_state.orgs[au.tenant_id]
    paid = next(i for i in org.iter_records("Invoices") if i["Status"] == "PAID" and i["Type"] == "ACCREC")
    sandbox_state.clock.advance(5)
    org.put_record(
        "Invoices",
        paid["InvoiceID"],
        dict(paid, Reference="PO 7781 (corrected)", UpdatedDateUTC=sandbox_state.clock.now()),
    )

    run = await run_sync(xero_services, database)
    assert run.status == "succeeded", run.error
    with database.session() as session:
        issues = session.scalars(select(SyncIssue.message).where(SyncIssue.run_id == run.id)).all()
        mine = session.scalars(select(Invoice).where(Invoice.number == paid["InvoiceNumber"])).one()
        assert issues == [] and run.counts.get("updated") == 1
        assert (mine.reference, mine.status) == ("PO 7781 (corrected)", InvoiceStatus.PAID)


async def test_imported_paid_invoices_are_backed_by_their_payments(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    run = await run_sync(xero_services, database)
    assert run.status == "succeeded", run.error
    xero = {i["InvoiceNumber"]: i for i in xero_invoices(sandbox_state, au) if i["Type"] == "ACCREC"}
    with database.session() as session:
        local = {i.number: i for i in session.scalars(select(Invoice).where(Invoice.kind == "sales"))}
    expected = {
        "DRAFT": "draft",
        "SUBMITTED": "draft",
        "AUTHORISED": "approved",
        "PAID": "paid",
        "VOIDED": "void",
    }
    for number, record in xero.items():
        status = local[number].status
        if record["Status"] == "AUTHORISED" and record["AmountPaid"]:
            assert status is InvoiceStatus.PARTLY_PAID, number
        else:
            assert status.value == expected[record["Status"]], number


async def test_by_default_an_approved_invoice_waits_as_a_draft_in_xero(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    await run_sync(xero_services, database)
    invoice_id = create_invoice(owner_api, {"client_id": client_id(database, "Bondi Surf Co")}, "approved")
    await run_sync(xero_services, database)
    assert xero_invoice(sandbox_state, au, invoice_id, database)["Status"] == "DRAFT"
    await run_sync(xero_services, database)  # reads the draft back: no approval is taken back
    assert local_invoice(database, invoice_id).status is InvoiceStatus.APPROVED


async def test_voided_in_xero_is_void_here(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    authorise_new_invoices(database)
    await run_sync(xero_services, database)
    invoice_id = create_invoice(owner_api, {"client_id": client_id(database, "Bondi Surf Co")}, "approved")
    await run_sync(xero_services, database)
    theirs = xero_invoice(sandbox_state, au, invoice_id, database)
    await edit_in_xero(xero_services, au, "void-1", InvoiceID=theirs["InvoiceID"], Status="VOIDED")

    await run_sync(xero_services, database)
    assert local_invoice(database, invoice_id).status is InvoiceStatus.VOID


async def test_deleted_in_xero_is_void_here_with_a_note(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    await run_sync(xero_services, database)
    invoice_id = create_invoice(owner_api, {"client_id": client_id(database, "Bondi Surf Co")})
    await run_sync(xero_services, database)
    theirs = xero_invoice(sandbox_state, au, invoice_id, database)
    assert theirs["Status"] == "DRAFT"
    await edit_in_xero(xero_services, au, "delete-1", InvoiceID=theirs["InvoiceID"], Status="DELETED")

    run = await run_sync(xero_services, database)
    assert run.status == "succeeded", run.error
    assert local_invoice(database, invoice_id).status is InvoiceStatus.VOID
    with database.session() as session:
        note = session.scalars(select(SyncIssue).where(SyncIssue.local_id == invoice_id)).one()
    assert "deleted in Xero" in note.message
    assert note.resolved_at is not None


async def test_changes_on_each_side_between_syncs(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    await run_sync(xero_services, database)
    mine = create_invoice(owner_api, {"client_id": client_id(database, "Bondi Surf Co")})
    await run_sync(xero_services, database)
    drafts = [i for i in xero_invoices(sandbox_state, au) if i["Status"] == "DRAFT" and i["Type"] == "ACCREC"]
    target = next(
        i for i in drafts if i["InvoiceID"] != xero_invoice(sandbox_state, au, mine, database)["InvoiceID"]
    )
    await edit_in_xero(xero_services, au, "edit-1", InvoiceID=target["InvoiceID"], Reference="PO 7781")
    patched = owner_api.patch(f"/api/v1/invoices/{mine}", json={"due_date": "2026-12-15"})
    assert patched.status_code == 200, patched.text

    run = await run_sync(xero_services, database)
    assert run.counts["updated"] == 1
    assert run.counts["pushed_updated"] == 1
    with database.session() as session:
        pulled = session.scalars(select(Invoice).where(Invoice.number == target["InvoiceNumber"])).one()
        assert pulled.reference == "PO 7781"
    assert xero_invoice(sandbox_state, au, mine, database)["DueDate"].isoformat() == "2026-12-15"


async def test_lines_of_a_draft_conflict_the_work_side_wins_status_goes_to_xero(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    await run_sync(xero_services, database)
    mine = create_invoice(owner_api, {"client_id": client_id(database, "Bondi Surf Co")})
    await run_sync(xero_services, database)
    theirs = xero_invoice(sandbox_state, au, mine, database)
    owner_api.patch(f"/api/v1/invoices/{mine}", json={"reference": "ours"})
    sandbox_state.clock.advance(60)
    await edit_in_xero(xero_services, au, "conflict-1", InvoiceID=theirs["InvoiceID"], Reference="theirs")

    await run_sync(xero_services, database)
    assert local_invoice(database, mine).reference == "ours"  # a draft's reference is the work side's
    assert xero_invoice(sandbox_state, au, mine, database)["Reference"] == "ours"


async def test_no_change_sync_costs_one_call_per_type(
    xero_services: XeroServices, au: Organisation, database: Database, owner_api: TestClient
) -> None:
    await run_sync(xero_services, database)
    create_invoice(owner_api, {"client_id": client_id(database, "Bondi Surf Co")}, "approved")
    await run_sync(xero_services, database)
    await run_sync(xero_services, database)  # reads back what the last one sent
    again = await run_sync(xero_services, database)
    assert again.counts.get("calls") == len(TYPES)
    assert not {"created", "updated", "pushed_created", "pushed_updated", "failed"} & set(again.counts)


class Crash(Exception):
    pass


@pytest.mark.parametrize("step", ["before_send", "after_send", "after_commit"])
async def test_a_crashed_push_resumes_without_a_duplicate_invoice(
    step: str,
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    await run_sync(xero_services, database)
    invoice_id = create_invoice(owner_api, {"client_id": client_id(database, "Bondi Surf Co")}, "approved")
    number = local_invoice(database, invoice_id).number
    workspace_id, connection_id = ids(database)

    def crash() -> None:
        raise Crash(step)

    with database.session() as session:
        run_id = start_run(session, workspace_id, connection_id, "manual", [RecordType.INVOICE]).id
    with pytest.raises(Crash):
        await engine.push(
            xero_services, invoices.ADAPTER, connection_id, run_id, hooks=engine.PushHooks(**{step: crash})
        )

    resumed = await run_sync(xero_services, database)
    assert resumed.status == "succeeded", resumed.error
    in_xero = [i for i in xero_invoices(sandbox_state, au) if i["InvoiceNumber"] == number]
    assert len(in_xero) == 1
    with database.session() as session:
        link = session.scalars(select(XeroLink).where(XeroLink.local_id == invoice_id)).one()
        assert link.xero_id == in_xero[0]["InvoiceID"]
        statuses = session.scalars(select(OutboxEntry.status).where(OutboxEntry.local_id == invoice_id)).all()
        assert set(statuses) == {OutboxStatus.SENT}


async def test_dry_run_writes_nothing(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    await run_sync(xero_services, database, record_types=[RecordType.CONTACT])
    create_invoice(owner_api, {"client_id": client_id(database, "Bondi Surf Co")}, "approved")
    before = len(xero_invoices(sandbox_state, au))
    run = await run_sync(xero_services, database, record_types=[RecordType.INVOICE], dry_run=True)
    assert run.counts["would_create"] == before + 1
    assert {p["side"] for p in run.preview} == {"local", "xero"}
    assert len(xero_invoices(sandbox_state, au)) == before
    with database.session() as session:
        assert len(session.scalars(select(Invoice)).all()) == 1
        assert not session.scalars(select(XeroLink).where(XeroLink.record_type == RecordType.INVOICE)).all()


async def test_a_first_import_arrives_whole_with_xeros_totals_and_refusals_named(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    """A page of new invoices is inserted as rows together: every invoice arrives with all
    its lines, Xero's totals and one link; on the same page, one our rules refuse is named
    in the sync log and a deleted one arrives void with a note."""
    org = sandbox_state.orgs[au.tenant_id]
    drafts = (i for i in org.iter_records("Invoices") if i["Status"] == "DRAFT")
    template = next(i for i in drafts if i["Type"] == "ACCREC")
    refused_id, deleted_id = str(uuid.uuid4()), str(uuid.uuid4())
    lines = [dict(line, TaxType="NOSUCHTAX") for line in template["LineItems"]]
    refused = dict(template, InvoiceID=refused_id, InvoiceNumber="INV-9001", LineItems=lines)
    org.put_record("Invoices", refused_id, refused)
    deleted = dict(template, InvoiceID=deleted_id, InvoiceNumber="INV-9002", Status="DELETED")
    org.put_record("Invoices", deleted_id, deleted)

    run = await run_sync(xero_services, database, record_types=[RecordType.CONTACT, RecordType.INVOICE])

    assert run.status == "partial", run.error  # one refused, the rest applied
    with database.session() as session:
        linked = select(XeroLink.xero_id, XeroLink.local_id).where(XeroLink.record_type == "invoice")
        links = dict(session.execute(linked).tuples().all())
        issues = {i.xero_id: i for i in session.scalars(select(SyncIssue).where(SyncIssue.run_id == run.id))}
        assert refused_id not in links
        assert "NOSUCHTAX" in issues[refused_id].message and issues[refused_id].resolved_at is None
        assert "deleted in Xero" in issues[deleted_id].message
        assert session.get(Invoice, links[deleted_id]).status is InvoiceStatus.VOID
        arrived = [r for r in org.iter_records("Invoices") if r["InvoiceID"] != refused_id]
        assert len(links) == len(arrived)
        for record in arrived:
            invoice = session.get(Invoice, links[record["InvoiceID"]])
            assert invoice is not None and invoice.xero_connection_id == ids(database)[1]
            assert len(invoice.lines) == len(record["LineItems"]), record["InvoiceNumber"]
            totals = documents.totals_of(invoice, documents.tax_rates(session, invoice.workspace_id))
            assert (totals.sub_total, totals.total_tax, totals.total) == (
                Decimal(str(record["SubTotal"])),
                Decimal(str(record["TotalTax"])),
                Decimal(str(record["Total"])),
            ), record["InvoiceNumber"]


async def test_two_xero_invoices_with_one_number_on_a_page_one_arrives_the_other_is_named(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    """Numbers are held as a page claims them: the second invoice asking for a number the
    first took on the same page is refused with a message (the page is not lost to the
    database's unique index)."""
    org = sandbox_state.orgs[au.tenant_id]
    drafts = (i for i in org.iter_records("Invoices") if i["Status"] == "DRAFT")
    template = next(i for i in drafts if i["Type"] == "ACCREC")
    twin_id = str(uuid.uuid4())
    org.put_record("Invoices", twin_id, dict(template, InvoiceID=twin_id, Reference="The twin"))

    run = await run_sync(xero_services, database, record_types=[RecordType.CONTACT, RecordType.INVOICE])

    assert run.status == "partial", run.error
    with database.session() as session:
        same = session.scalars(select(Invoice).where(Invoice.number == template["InvoiceNumber"])).all()
        issues = session.scalars(select(SyncIssue).where(SyncIssue.run_id == run.id)).all()
    assert len(same) == 1
    refused = [i for i in issues if i.xero_id in (template["InvoiceID"], twin_id)]
    assert len(refused) == 1 and f"'{template['InvoiceNumber']}' is already used" in refused[0].message


# -- numbers: Xero numbers the invoices we number ------------------------------------------


_SEEDED: WeakKeyDictionary[SandboxState, list[dict[str, Any]]] = WeakKeyDictionary()


def _organisation_history(
    state: SandboxState, org: Organisation, numbers: set[int], counter: int
) -> set[str]:
    """The organisation's sales invoices are exactly ``numbers`` (INV-nnnn, with whatever
    gaps), made in Xero before we were connected; its own sequence stands at ``counter``."""
    xero = state.orgs[org.tenant_id]
    sales = (i for i in xero.iter_records("Invoices") if i["Type"] == "ACCREC")
    # the demo's own, as read before the first example replaced them
    templates = _SEEDED.setdefault(state, sorted(sales, key=lambda i: i["InvoiceID"]))
    for record in xero.iter_records("Invoices"):
        xero.delete_record("Invoices", record["InvoiceID"])
    history = {f"INV-{n:04d}" for n in numbers}
    for template, number in zip(templates, sorted(history), strict=False):
        xero.put_record(
            "Invoices",
            template["InvoiceID"],
            dict(template, InvoiceNumber=number, UpdatedDateUTC=state.clock.now()),
        )
    xero.counters["INV"] = counter
    return history


def _forget_invoices(database: Database) -> None:
    """No invoice here and none ever synced: the next sync is this organisation's first."""
    with database.session() as session:
        session.execute(delete(OutboxEntry).where(OutboxEntry.record_type == RecordType.INVOICE))
        session.execute(delete(XeroLink).where(XeroLink.record_type == RecordType.INVOICE))
        session.execute(delete(SyncCursor).where(SyncCursor.record_type == RecordType.INVOICE))
        session.execute(delete(SyncIssue))
        session.execute(delete(Invoice))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    numbers=st.sets(st.integers(min_value=1, max_value=30), max_size=10),
    counter=st.integers(min_value=0, max_value=30),
    made_here=st.integers(min_value=1, max_value=4),
)
def test_a_first_sync_takes_xeros_numbers_and_gives_ours_to_xero_to_number(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
    numbers: set[int],
    counter: int,
    made_here: int,
) -> None:
    """Whatever numbers the organisation already has (INV-0001..INV-00nn, gaps, its own
    sequence behind or ahead of them) and however many invoices were made here before its
    first sync (INV-0001.. of our own series): every Xero invoice arrives with its number
    (ours, not yet sent, make way), none is refused, and every invoice made here ends
    with the number Xero gave it."""
    history = _organisation_history(sandbox_state, au, numbers, counter)
    _forget_invoices(database)
    bondi = client_id(database, "Bondi Surf Co")
    mine = [create_invoice(owner_api, {"client_id": bondi}) for _ in range(made_here)]

    workspace_id, connection_id = ids(database)
    run = owner_api.portal.call(  # type: ignore[union-attr]
        partial(sync, xero_services, workspace_id, connection_id, [RecordType.CONTACT, RecordType.INVOICE])
    )

    assert run.status == "succeeded", run.error
    with database.session() as session:
        issues = session.scalars(select(SyncIssue.message).where(SyncIssue.run_id == run.id)).all()
        here = {i.id: i for i in session.scalars(select(Invoice).where(Invoice.kind == InvoiceKind.SALES))}
        links = dict(
            session.execute(
                select(XeroLink.local_id, XeroLink.xero_id).where(XeroLink.record_type == RecordType.INVOICE)
            )
            .tuples()
            .all()
        )
    assert issues == [], "nothing refused"
    in_xero = {i["InvoiceID"]: i["InvoiceNumber"] for i in xero_invoices(sandbox_state, au)}
    assert {here[i].number for i in mine} == {in_xero[links[i]] for i in mine}
    for invoice_id in mine:
        assert here[invoice_id].number == in_xero[links[invoice_id]], "the number Xero shows"
        assert not here[invoice_id].numbered_here
    assert sorted(i.number or "" for i in here.values()) == sorted(in_xero.values())
    assert history <= {i.number for i in here.values()}, "every Xero invoice arrived with its number"
