"""Purchase orders both ways against the sandbox: Xero's orders arrive with their
suppliers, local orders reach Xero with exact totals, changes and statuses flow each way,
the lines owned here win a conflict, a no-change sync costs one call per type, dry run."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledgerbridge.db import Database
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync.models import RecordType, SyncConflict, SyncIssue, XeroLink
from ledgerbridge.sync.service import sync
from ledgerbridge.work.models import PurchaseOrder, PurchaseOrderStatus
from ledgerbridge.xero.client import ACCOUNTING, Organisation
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded

pytestmark = pytest.mark.anyio
TYPES = [RecordType.CONTACT, RecordType.PURCHASE_ORDER]
PATH = f"{ACCOUNTING}/PurchaseOrders"
LINES = [
    {
        "description": "Paper, A4 x 20 reams",
        "quantity": "3",
        "unit_amount": "41.3333",
        "account_code": "461",
        "tax_type": "INPUT",
    },
    {
        "description": "Toner",
        "quantity": "1.5",
        "unit_amount": "89.99",
        "account_code": "453",
        "tax_type": "INPUT",
    },
]


def _ids(database: Database) -> tuple[str, str]:
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        return connection.workspace_id, connection.id


def _xero_orders(state: SandboxState, org: Organisation) -> dict[str, dict[str, Any]]:
    return {o["PurchaseOrderNumber"]: o for o in state.orgs[org.tenant_id].iter_records("PurchaseOrders")}


def _orders(database: Database) -> dict[str, PurchaseOrder]:
    with database.session() as session:
        return {o.number or "": o for o in session.scalars(select(PurchaseOrder))}


async def _sync(services: XeroServices, database: Database, **kwargs: Any) -> Any:
    workspace_id, connection_id = _ids(database)
    return await sync(services, workspace_id, connection_id, TYPES, **kwargs)


async def _edit_in_xero(services: XeroServices, org: Organisation, key: str, **fields: Any) -> None:
    results = await services.client.write_batch(org, "POST", PATH, "PurchaseOrders", [fields], key)
    assert results[0].ok, results[0].messages


def _create_local(api: TestClient, seeded: Seeded, **extra: Any) -> dict[str, Any]:
    response = api.post(
        "/api/v1/purchase-orders",
        json={"client_id": seeded.supplier_id, "reference": "Office restock", "lines": LINES, **extra},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_orders_come_from_xero_with_their_suppliers(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    xero = _xero_orders(sandbox_state, au)
    run = await _sync(xero_services, database)
    assert run.status == "succeeded", run.error
    local = _orders(database)
    assert set(local) == set(xero)
    with database.session() as session:
        for number, remote in xero.items():
            order = session.get(PurchaseOrder, local[number].id)
            assert order is not None
            link = session.scalars(select(XeroLink).where(XeroLink.local_id == order.client_id)).one()
            assert link.xero_id == remote["Contact"]["ContactID"] if "Contact" in remote else True
            expected = {
                "DRAFT": "draft",
                "SUBMITTED": "submitted",
                "AUTHORISED": "approved",
                "BILLED": "billed",
            }
            assert order.status.value == expected[remote["Status"]]
            assert len(order.lines) == len(remote["LineItems"])


async def test_a_local_order_reaches_xero_with_exact_totals(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
    seeded: Seeded,
) -> None:
    await _sync(xero_services, database)
    created = _create_local(owner_api, seeded, status="approved")
    run = await _sync(xero_services, database)
    assert run.counts["pushed_created"] == 1, run.counts
    remote = _xero_orders(sandbox_state, au)[created["number"]]
    assert remote["Status"] == "AUTHORISED"
    assert (remote["SubTotal"], remote["TotalTax"], remote["Total"]) == (
        Decimal(created["sub_total"]),
        Decimal(created["total_tax"]),
        Decimal(created["total"]),
    )
    assert remote["Reference"] == "Office restock"
    settled = await _sync(xero_services, database)
    assert settled.counts.get("calls") == 2, settled.counts
    assert not {"updated", "pushed_updated"} & set(settled.counts)


async def test_no_change_sync_costs_one_call_per_type(
    xero_services: XeroServices, au: Organisation, database: Database
) -> None:
    await _sync(xero_services, database)
    again = await _sync(xero_services, database)
    assert again.counts.get("calls") == len(TYPES)
    assert not {"created", "updated", "pushed_created", "pushed_updated"} & set(again.counts)


async def test_changes_and_statuses_flow_each_way(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
    seeded: Seeded,
) -> None:
    await _sync(xero_services, database)
    mine = _create_local(owner_api, seeded)
    await _sync(xero_services, database)
    theirs = next(o for o in _xero_orders(sandbox_state, au).values() if o["Status"] == "DRAFT")
    sandbox_state.clock.advance(5)
    await _edit_in_xero(
        xero_services, au, "po-edit-1", PurchaseOrderID=theirs["PurchaseOrderID"], Reference="Changed in Xero"
    )
    ours = _xero_orders(sandbox_state, au)[mine["number"]]
    await _edit_in_xero(
        xero_services, au, "po-approve-1", PurchaseOrderID=ours["PurchaseOrderID"], Status="AUTHORISED"
    )
    lines = [*LINES, {"description": "Staples", "quantity": "2", "unit_amount": "4.5", "account_code": "453"}]
    other = _create_local(owner_api, seeded)
    assert owner_api.patch(f"/api/v1/purchase-orders/{other['id']}", json={"lines": lines}).status_code == 200

    run = await _sync(xero_services, database)
    assert run.status == "succeeded", run.error
    local = _orders(database)
    assert local[theirs["PurchaseOrderNumber"]].reference == "Changed in Xero"
    assert local[mine["number"]].status is PurchaseOrderStatus.APPROVED
    remote = _xero_orders(sandbox_state, au)[other["number"]]
    assert [line["Description"] for line in remote["LineItems"]] == [line["description"] for line in lines]
    # The line sent without a tax type took the account's default in Xero (as Xero does);
    # the next sync brings that back, and both sides then agree on the total.
    await _sync(xero_services, database)
    patched = owner_api.get(f"/api/v1/purchase-orders/{other['id']}").json()
    assert patched["lines"][-1]["tax_type"] == "INPUT"
    assert remote["Total"] == Decimal(patched["total"])


async def test_conflict_status_goes_to_xero_and_lines_stay_local(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
    seeded: Seeded,
) -> None:
    await _sync(xero_services, database)
    mine = _create_local(owner_api, seeded)
    await _sync(xero_services, database)
    xero_id = _xero_orders(sandbox_state, au)[mine["number"]]["PurchaseOrderID"]
    sandbox_state.clock.advance(60)
    local_lines = [
        {"description": "Envelopes", "quantity": "10", "unit_amount": "2.2", "account_code": "453"}
    ]
    assert (
        owner_api.patch(
            f"/api/v1/purchase-orders/{mine['id']}", json={"lines": local_lines, "status": "submitted"}
        ).status_code
        == 200
    )
    sandbox_state.clock.advance(60)
    await _edit_in_xero(
        xero_services,
        au,
        "po-conflict-1",
        PurchaseOrderID=xero_id,
        Status="AUTHORISED",
        LineItems=[{"Description": "Xero's line", "Quantity": 1, "UnitAmount": 5, "AccountCode": "453"}],
    )
    run = await _sync(xero_services, database)
    assert run.counts["conflicts"] == 2, run.counts
    order = _orders(database)[mine["number"]]
    assert order.status is PurchaseOrderStatus.APPROVED
    with database.session() as session:
        lines = session.get(PurchaseOrder, order.id).lines  # type: ignore[union-attr]
        assert [line.description for line in lines] == ["Envelopes"]
        winners = dict(session.execute(select(SyncConflict.field, SyncConflict.winner)).all())
    assert winners == {"status": "xero", "lines": "local"}
    remote = _xero_orders(sandbox_state, au)[mine["number"]]
    assert [line["Description"] for line in remote["LineItems"]] == ["Envelopes"]
    assert remote["Status"] == "AUTHORISED"


async def test_an_order_waits_for_its_supplier(
    xero_services: XeroServices, au: Organisation, database: Database, owner_api: TestClient, seeded: Seeded
) -> None:
    await _sync(xero_services, database)
    supplier = owner_api.post(
        "/api/v1/clients", json={"name": "Leura Timber Supplies", "is_customer": False, "is_supplier": True}
    )
    assert supplier.status_code == 201, supplier.text
    response = owner_api.post(
        "/api/v1/purchase-orders", json={"client_id": supplier.json()["id"], "lines": LINES}
    )
    assert response.status_code == 201, response.text
    workspace_id, connection_id = _ids(database)
    run = await sync(xero_services, workspace_id, connection_id, [RecordType.PURCHASE_ORDER])
    assert "pushed_created" not in run.counts
    with database.session() as session:
        messages = session.scalars(select(SyncIssue.message).where(SyncIssue.run_id == run.id)).all()
    assert any("Leura Timber Supplies" in message for message in messages), messages
    again = await _sync(xero_services, database)
    assert again.counts.get("pushed_created") == 2, again.counts  # the supplier, then its order


async def test_dry_run_writes_nothing(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
    seeded: Seeded,
) -> None:
    before = len(_xero_orders(sandbox_state, au))
    run = await _sync(xero_services, database, dry_run=True)
    assert run.counts["would_create"] >= before
    assert len(_xero_orders(sandbox_state, au)) == before
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(PurchaseOrder)) == 0
        assert session.scalar(select(func.count()).select_from(XeroLink)) == 0


async def test_an_order_numbered_here_is_numbered_by_xero_and_xeros_own_arrive(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
    seeded: Seeded,
) -> None:
    """Our series knows nothing of the organisation's PO-0001..: an order made here before
    the first sync (PO-0001 of our series) makes way for Xero's PO-0001, goes without a
    number, and takes the one Xero gives it."""
    mine = _create_local(owner_api, seeded)
    assert mine["number"] in _xero_orders(sandbox_state, au), "ours holds a number Xero has"

    run = await _sync(xero_services, database)

    with database.session() as session:
        issues = session.scalars(select(SyncIssue.message).where(SyncIssue.run_id == run.id)).all()
        xero_id = session.scalars(select(XeroLink.xero_id).where(XeroLink.local_id == mine["id"])).one()
        order = session.get_one(PurchaseOrder, mine["id"])
    assert run.status == "succeeded" and issues == []
    in_xero = _xero_orders(sandbox_state, au)
    assert sorted(_orders(database)) == sorted(in_xero), "every Xero order arrived with its number"
    assert in_xero[order.number or ""]["PurchaseOrderID"] == xero_id, "ours has the number Xero gave it"
    assert not order.numbered_here
