"""The one client against the sandbox: limits, batches, idempotent retries, lost access."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.errors import XeroForbidden, XeroRateLimited
from ledgerbridge.sandbox.clock import ClientClock
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.settings import Settings
from ledgerbridge.xero.client import ACCOUNTING, Organisation
from ledgerbridge.xero.doctor import Severity, diagnose
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection
from ledgerbridge.xero.services import XeroServices
from tests.xero.conftest import AU, SANDBOX_URL

pytestmark = pytest.mark.anyio


def _invoice(contact_id: str, reference: str, **line: Any) -> dict[str, Any]:
    item = {
        "Description": "Design work",
        "Quantity": 7.5,
        "UnitAmount": 150,
        "AccountCode": "200",
        "TaxType": "OUTPUT",
    }
    item.update(line)
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Date": "2026-11-16",
        "DueDate": "2026-12-16",
        "Reference": reference,
        "LineAmountTypes": "Exclusive",
        "LineItems": [item],
    }


async def _contact_ids(services: XeroServices, org: Organisation, count: int) -> list[str]:
    ids: list[str] = []
    async for page in services.client.pages(
        org, f"{ACCOUNTING}/Contacts", "Contacts", params={"where": "IsCustomer==true"}
    ):
        ids.extend(c["ContactID"] for c in page)
    return ids[:count]


def _invoices_with_reference(state: SandboxState, org: Organisation, prefix: str) -> list[dict[str, Any]]:
    return [
        r
        for r in state.orgs[org.tenant_id].iter_records("Invoices")
        if str(r.get("Reference", "")).startswith(prefix)
    ]


async def test_minute_limit_429_is_waited_out_exactly(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_time: ClientClock,
    xero_settings: Settings,
    database: Database,
    sandbox_app: FastAPI,
) -> None:
    """Another worker spent this minute unseen; our first call meets a 429 and waits
    exactly its Retry-After on the sandbox's clock, then carries on."""
    other_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url=SANDBOX_URL)
    other = XeroServices.build(xero_settings, database, http=other_http, clock=sandbox_time)
    for _ in range(60):
        await other.client.get(au, f"{ACCOUNTING}/Organisation")
    assert other.client.counter.statuses == {200: 60}
    retry_afters: list[float] = []
    original_refused = xero_services.budget.refused

    def refused(tenant_id: str, limit: str, retry_after: float) -> None:
        retry_afters.append(retry_after)
        original_refused(tenant_id, limit, retry_after)

    xero_services.budget.refused = refused  # type: ignore[method-assign]
    for _ in range(5):
        body = await xero_services.client.get(au, f"{ACCOUNTING}/Organisation")
        assert body["Organisations"][0]["Name"] == AU
    assert xero_services.client.counter.statuses == {429: 1, 200: 5}
    assert len(retry_afters) == 1
    assert 50 <= retry_afters[0] <= 60
    assert sandbox_time.slept == pytest.approx(retry_afters[0], abs=0.05)
    await other.aclose()


async def test_our_own_budget_keeps_under_the_minute_limit(
    xero_services: XeroServices, au: Organisation, sandbox_time: ClientClock
) -> None:
    for _ in range(75):
        await xero_services.client.get(au, f"{ACCOUNTING}/Organisation")
    assert xero_services.client.counter.statuses == {200: 75}
    assert 60 <= sandbox_time.slept <= 62


async def test_day_limit_stops_at_once_without_waiting(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, sandbox_time: ClientClock
) -> None:
    sandbox_state.orgs[au.tenant_id].limits.per_day = 3
    for _ in range(3):
        await xero_services.client.get(au, f"{ACCOUNTING}/Organisation")
    with pytest.raises(XeroRateLimited) as stopped:
        await xero_services.client.get(au, f"{ACCOUNTING}/Organisation")
    assert stopped.value.limit == "day"
    assert stopped.value.retry_after > 3600
    calls_before = xero_services.client.counter.total()
    with pytest.raises(XeroRateLimited):  # parked: no further call reaches Xero
        await xero_services.client.get(au, f"{ACCOUNTING}/Contacts")
    assert xero_services.client.counter.total() == calls_before
    assert sandbox_time.slept == 0


async def test_batch_of_120_with_3_bad_gives_117_ids_and_3_messages(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState
) -> None:
    contacts = await _contact_ids(xero_services, au, 10)
    invoices = [_invoice(contacts[n % 10], f"BATCH-{n:03}") for n in range(120)]
    invoices[7]["LineItems"][0]["AccountCode"] = "999"
    invoices[64]["LineItems"][0]["TaxType"] = "NOT-A-TAX-TYPE"
    invoices[118]["Contact"] = {}
    calls_before = xero_services.client.counter.total()

    results = await xero_services.client.write_batches(
        au, "PUT", f"{ACCOUNTING}/Invoices", "Invoices", invoices, "run-1"
    )

    assert xero_services.client.counter.total() - calls_before == 3  # 50 + 50 + 20
    assert [r.index for r in results] == list(range(120))
    failed = {r.index: r.messages for r in results if not r.ok}
    assert sorted(failed) == [7, 64, 118]
    assert all(messages for messages in failed.values())
    assert any("999" in m for m in failed[7])
    ok_ids = {r.xero_id("InvoiceID") for r in results if r.ok}
    assert len(ok_ids) == 117 and None not in ok_ids
    assert len(_invoices_with_reference(sandbox_state, au, "BATCH-")) == 117

    again = await xero_services.client.write_batches(
        au, "PUT", f"{ACCOUNTING}/Invoices", "Invoices", invoices, "run-1"
    )
    assert {r.xero_id("InvoiceID") for r in again if r.ok} == ok_ids  # replayed, not rewritten
    assert len(_invoices_with_reference(sandbox_state, au, "BATCH-")) == 117


async def test_dropped_connection_after_commit_is_retried_with_the_same_key(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState
) -> None:
    (contact,) = await _contact_ids(xero_services, au, 1)
    sandbox_state.orgs[au.tenant_id].faults.drop_after_commit_next = 1
    results = await xero_services.client.write_batch(
        au, "PUT", f"{ACCOUNTING}/Invoices", "Invoices", [_invoice(contact, "DROPPED-1")], "outbox-row-42"
    )
    assert results[0].ok
    stored = _invoices_with_reference(sandbox_state, au, "DROPPED-1")
    assert len(stored) == 1
    assert stored[0]["InvoiceID"] == results[0].xero_id("InvoiceID")
    assert xero_services.client.counter.statuses[0] == 1  # the dropped attempt
    assert stored[0]["Total"] == Decimal("1237.50")


async def test_write_without_idempotency_key_is_refused(
    xero_services: XeroServices, au: Organisation
) -> None:
    with pytest.raises(ValueError, match="Idempotency-Key"):
        await xero_services.client.request(au, "PUT", f"{ACCOUNTING}/Invoices", json={"Invoices": []})


async def test_paging_uses_the_largest_page(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState
) -> None:
    total = len(sandbox_state.orgs[au.tenant_id].records("Contacts"))
    seen = 0
    async for page in xero_services.client.pages(
        au, f"{ACCOUNTING}/Contacts", "Contacts", params={"includeArchived": "true"}
    ):
        seen += len(page)
    assert seen == total
    assert xero_services.client.counter.calls[(au.tenant_id, "GET /api.xro/2.0/Contacts")] == -(
        -total // 1000
    )


@pytest.mark.parametrize(
    ("collection", "id_field", "id_param"),
    [("Invoices", "InvoiceID", "IDs"), ("CreditNotes", "CreditNoteID", None)],
)
async def test_fetch_by_ids_reads_the_lines_in_one_call_per_chunk(
    collection: str,
    id_field: str,
    id_param: str | None,
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
) -> None:
    """Regression: an unpaged read by ``IDs`` (or ``where``) gives summaries without
    ``LineItems``; the fetch pages, and a chunk of ids is still one call."""
    records = list(sandbox_state.orgs[au.tenant_id].iter_records(collection))
    wanted = [r[id_field] for r in records if r.get("LineItems")][:51]
    assert len(wanted) > 1, "the demo organisation has documents with lines"
    found = await xero_services.client.by_ids(
        au, f"{ACCOUNTING}/{collection}", collection, wanted, id_param, id_field=id_field
    )
    assert sorted(r[id_field] for r in found) == sorted(wanted)
    assert all(r["LineItems"] for r in found)
    calls = xero_services.client.counter.calls[(au.tenant_id, f"GET /api.xro/2.0/{collection}")]
    assert calls == -(-len(wanted) // 50), wanted  # 51 ids: two chunks, two calls


async def test_if_modified_since_returns_only_changes(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, sandbox_time: ClientClock
) -> None:
    (contact,) = await _contact_ids(xero_services, au, 1)
    await sandbox_time.sleep(5)
    since = sandbox_time.utcnow() - timedelta(seconds=1)
    await xero_services.client.write_batch(
        au, "POST", f"{ACCOUNTING}/Contacts", "Contacts", [{"ContactID": contact, "Phones": []}], "touch-1"
    )
    changed = [
        c
        async for page in xero_services.client.pages(
            au, f"{ACCOUNTING}/Contacts", "Contacts", modified_since=since
        )
        for c in page
    ]
    assert [c["ContactID"] for c in changed] == [contact]


async def test_removed_in_xero_means_needs_reconnect(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    for connection_id in list(sandbox_state.connections):
        sandbox_state.remove_connection(connection_id)  # the user disconnected us inside Xero
    with pytest.raises(XeroForbidden):
        await xero_services.client.get(au, f"{ACCOUNTING}/Organisation")
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        assert connection.status is ConnectionStatus.NEEDS_RECONNECT
        assert "Reconnect" in (connection.status_reason or "")


async def test_doctor_reports_a_healthy_connection(
    xero_services: XeroServices, au: Organisation, database: Database
) -> None:
    with database.session() as session:
        workspace_id = session.scalars(select(XeroConnection)).one().workspace_id
    (report,) = await diagnose(xero_services, workspace_id)
    checks = {f.check: f.severity for f in report.findings}
    assert report.healthy, report.findings
    assert checks["scopes"] is Severity.OK
    assert checks["payroll"] is Severity.OK
    assert report.calls_remaining_today is not None
    assert 0 < report.calls_remaining_today < 5000


async def test_doctor_names_the_fix_when_access_is_gone(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    for connection_id in list(sandbox_state.connections):
        sandbox_state.remove_connection(connection_id)
    with database.session() as session:
        workspace_id = session.scalars(select(XeroConnection)).one().workspace_id
    (report,) = await diagnose(xero_services, workspace_id)
    assert not report.healthy
    assert any(f.fix and "Reconnect" in f.fix for f in report.findings)
