"""The engine against summary reads: Xero's unpaged lists leave ``LineItems`` out, and a
record read that way must never be taken for one without lines. The summaries here are
real ones, read from the sandbox the way Xero answers them, and applied by the engine."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync import credit_notes, engine, invoices, links
from ledgerbridge.sync.adapter import RecordAdapter
from ledgerbridge.sync.models import RecordType, SyncIssue, SyncRun, XeroLink
from ledgerbridge.sync.runs import start_run
from ledgerbridge.work.models import CreditNote, Invoice
from ledgerbridge.xero.client import ACCOUNTING, Organisation
from ledgerbridge.xero.services import XeroServices
from tests.sync.test_invoices import ids, run_sync

pytestmark = pytest.mark.anyio


async def _summary(services: XeroServices, org: Organisation, adapter: RecordAdapter, xero_id: str) -> Any:
    """The record as an unpaged list read gives it (``IDs``, or ``where`` on credit notes)."""
    if adapter.ids_param is not None:
        query = {adapter.ids_param: xero_id}
    else:
        query = {"where": f'{adapter.id_field}==Guid("{xero_id}")'}
    (record,) = (await services.client.get(org, adapter.path, query))[adapter.key]
    assert "LineItems" not in record  # what Xero sends: a summary
    return record


def _apply(services: XeroServices, database: Database, adapter: RecordAdapter, records: list[Any]) -> str:
    workspace_id, connection_id = ids(database)
    with database.session() as session:
        run_id = start_run(session, workspace_id, connection_id, "webhook", [adapter.record_type]).id
    engine.apply_fetched(services, adapter, connection_id, run_id, records)
    return run_id


def _link(database: Database, record_type: RecordType, xero_id: str) -> tuple[str, str, dict[str, Any]]:
    with database.session() as session:
        link = session.scalars(
            select(XeroLink).where(XeroLink.record_type == record_type, XeroLink.xero_id == xero_id)
        ).one()
        return link.local_id, link.content_hash, dict(link.content or {})


def _lines(database: Database, model: type[Invoice] | type[CreditNote], local_id: str) -> list[Any]:
    with database.session() as session:
        document = session.get(Invoice, local_id) if model is Invoice else session.get(CreditNote, local_id)
        assert document is not None
        return [(r.description, Decimal(r.quantity), Decimal(r.unit_amount)) for r in document.lines]


CASES: dict[str, tuple[RecordAdapter, str, type[Invoice] | type[CreditNote], str, dict[str, str]]] = {
    "invoice": (invoices.ADAPTER, "Invoices", Invoice, "AUTHORISED", {"DueDate": "2027-01-29"}),
    "credit_note": (credit_notes.ADAPTER, "CreditNotes", CreditNote, "DRAFT", {"Reference": "Summary"}),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_summary_read_changes_what_it_read_and_keeps_the_lines(
    case: str, xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    adapter, collection, line_model, status, change = CASES[case]
    types = [RecordType.CONTACT, RecordType.INVOICE, RecordType.PAYMENT, RecordType.CREDIT_NOTE]
    await run_sync(xero_services, database, record_types=types)
    target = next(
        r
        for r in sandbox_state.orgs[au.tenant_id].iter_records(collection)
        if r["Status"] == status
        and len(r.get("LineItems") or []) > 1
        and not r.get("AmountPaid")
        and not r.get("AmountCredited")
        and not r.get("Allocations")
    )
    xero_id = target[adapter.id_field]
    local_id, digest, content = _link(database, adapter.record_type, xero_id)
    lines = _lines(database, line_model, local_id)
    assert len(lines) == len(target["LineItems"]) > 1

    unchanged = await _summary(xero_services, au, adapter, xero_id)
    run_id = _apply(xero_services, database, adapter, [unchanged])
    assert _link(database, adapter.record_type, xero_id) == (local_id, digest, content)  # same hash: skipped

    results = await xero_services.client.write_batch(
        au, "POST", f"{ACCOUNTING}/{collection}", collection, [{adapter.id_field: xero_id, **change}], case
    )
    assert results[0].ok, results[0].messages
    run_id = _apply(xero_services, database, adapter, [await _summary(xero_services, au, adapter, xero_id)])

    assert _lines(database, line_model, local_id) == lines
    _, new_digest, new_content = _link(database, adapter.record_type, xero_id)
    assert new_content["lines"] == content["lines"] and new_digest == links.content_hash(new_content)
    with database.session() as session:
        run = session.get(SyncRun, run_id)
        assert run is not None and run.counts == {"updated": 1}
        if case == "invoice":
            invoice = session.get(Invoice, local_id)
            assert invoice is not None and str(invoice.due_date) == "2027-01-29"
        else:
            note = session.get(CreditNote, local_id)
            assert note is not None and note.reference == "Summary"

    again = await run_sync(xero_services, database, record_types=[adapter.record_type])  # full, paged reads
    assert again.counts.get("updated", 0) == 0 and again.counts.get("conflicts", 0) == 0, again.counts
    assert _lines(database, line_model, local_id) == lines


async def test_a_summary_of_an_invoice_not_here_yet_is_refused_then_read_in_full(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    await run_sync(xero_services, database)
    contact = next(
        c["ContactID"]
        for c in sandbox_state.orgs[au.tenant_id].iter_records("Contacts")
        if c["ContactStatus"] == "ACTIVE" and c.get("IsCustomer")
    )
    new = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact},
        "Date": "2026-11-16",
        "DueDate": "2026-11-30",
        "LineItems": [{"Description": "Made in Xero", "Quantity": 2, "UnitAmount": 50, "AccountCode": "200"}],
    }
    (made,) = await xero_services.client.write_batch(
        au, "PUT", f"{ACCOUNTING}/Invoices", "Invoices", [new], "x"
    )
    assert made.ok, made.messages
    xero_id = str(made.record["InvoiceID"])

    run_id = _apply(
        xero_services,
        database,
        invoices.ADAPTER,
        [await _summary(xero_services, au, invoices.ADAPTER, xero_id)],
    )
    with database.session() as session:
        assert session.scalars(select(XeroLink).where(XeroLink.xero_id == xero_id)).all() == []
        (issue,) = session.scalars(select(SyncIssue).where(SyncIssue.run_id == run_id)).all()
        assert issue.xero_id == xero_id and "without its lines (a summary read)" in issue.message

    workspace_id, connection_id = ids(database)
    with database.session() as session:
        run_id = start_run(session, workspace_id, connection_id, "webhook", [RecordType.INVOICE]).id
    await engine.pull_by_ids(xero_services, invoices.ADAPTER, connection_id, run_id, [xero_id])
    local_id, _, _ = _link(database, RecordType.INVOICE, xero_id)
    assert _lines(database, Invoice, local_id) == [("Made in Xero", Decimal(2), Decimal(50))]
