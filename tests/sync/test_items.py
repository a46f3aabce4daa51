"""Items both ways against the sandbox: first sync, imported items not seen as changed,
changes on each side, archived items kept in Xero, one-call no-change sync, dry run."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledgerbridge.db import Database
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync import imports
from ledgerbridge.sync.models import RecordType, SyncConflict, SyncRun, XeroLink
from ledgerbridge.sync.service import sync
from ledgerbridge.work.models import Item
from ledgerbridge.xero.client import ACCOUNTING, Organisation
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices

pytestmark = pytest.mark.anyio


def _ids(database: Database) -> tuple[str, str]:
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        return connection.workspace_id, connection.id


def _xero_items(state: SandboxState, org: Organisation) -> dict[str, dict[str, Any]]:
    return {i["Code"]: i for i in state.orgs[org.tenant_id].iter_records("Items")}


def _items(database: Database) -> dict[str, Item]:
    with database.session() as session:
        return {i.code: i for i in session.scalars(select(Item))}


async def _sync(services: XeroServices, database: Database, **kwargs: Any) -> Any:
    workspace_id, connection_id = _ids(database)
    return await sync(services, workspace_id, connection_id, [RecordType.ITEM], **kwargs)


async def _edit_in_xero(services: XeroServices, org: Organisation, key: str, **fields: Any) -> None:
    await services.client.write_batch(org, "POST", f"{ACCOUNTING}/Items", "Items", [fields], key)


async def test_items_come_from_xero_and_local_items_go_there(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    created = owner_api.post(
        "/api/v1/items",
        json={
            "code": "AUDIT",
            "name": "Site audit",
            "sale_unit_price": "1234.5678",
            "sale_account_code": "200",
            "sale_tax_type": "OUTPUT",
            "is_purchased": False,
        },
    )
    assert created.status_code == 201
    xero = _xero_items(sandbox_state, au)
    run = await _sync(xero_services, database)
    assert run.status == "succeeded", run.error
    # the first sync imports the reference data first, in its own run: Xero's items arrive
    # there, so the sync run finds them imported (skipped, not created) and pushes ours
    with database.session() as session:
        runs = list(session.scalars(select(SyncRun).order_by(SyncRun.started_at)))
    assert [r.trigger for r in runs] == ["import", "manual"]
    assert runs[0].status == "succeeded", runs[0].error
    assert runs[1].id == run.id
    assert run.counts["skipped"] == len(xero)
    assert run.counts["pushed_created"] == 1
    assert not {"created", "updated", "pushed_updated"} & set(run.counts)
    local = _items(database)
    assert set(local) == set(xero) | {"AUDIT"}
    assert local["TRAVEL"].sale_unit_price == Decimal("0.9500")
    audit = _xero_items(sandbox_state, au)["AUDIT"]
    assert audit["SalesDetails"]["UnitPrice"] == Decimal("1234.5678")
    assert audit["IsPurchased"] is False


async def test_no_change_sync_costs_one_call(
    xero_services: XeroServices, au: Organisation, database: Database
) -> None:
    await _sync(xero_services, database)
    again = await _sync(xero_services, database)
    assert again.counts.get("calls") == 1
    assert not {"created", "updated", "pushed_created", "pushed_updated"} & set(again.counts)


async def test_imported_items_are_not_seen_as_changed(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    workspace_id, connection_id = _ids(database)
    imported = await imports.run_import(xero_services, workspace_id, connection_id, ["item"])
    assert imported.status == "succeeded", imported.error
    run = await _sync(xero_services, database)
    assert run.status == "succeeded", run.error
    assert run.counts.get("skipped") == len(_xero_items(sandbox_state, au))
    assert not {"created", "updated", "pushed_created", "pushed_updated"} & set(run.counts)


async def test_changes_on_each_side_between_syncs(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    await _sync(xero_services, database)
    consult = _xero_items(sandbox_state, au)["CONSULT"]
    await _edit_in_xero(xero_services, au, "edit-item-1", ItemID=consult["ItemID"], Name="Consulting (hr)")
    design = _items(database)["DESIGN"]
    patched = owner_api.patch(f"/api/v1/items/{design.id}", json={"sale_unit_price": "132.5"})
    assert patched.status_code == 200

    run = await _sync(xero_services, database)
    assert run.counts["updated"] == 1
    assert run.counts["pushed_updated"] == 1
    assert _items(database)["CONSULT"].name == "Consulting (hr)"
    assert _xero_items(sandbox_state, au)["DESIGN"]["SalesDetails"]["UnitPrice"] == Decimal("132.5")
    settled = await _sync(xero_services, database)
    assert not {"updated", "pushed_updated"} & set(settled.counts)


async def test_conflict_later_change_wins_and_is_recorded(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    await _sync(xero_services, database)
    support = _items(database)["SUPPORT"]
    owner_api.patch(f"/api/v1/items/{support.id}", json={"name": "Support (local)"})
    sandbox_state.clock.advance(60)
    xero_id = _xero_items(sandbox_state, au)["SUPPORT"]["ItemID"]
    await _edit_in_xero(xero_services, au, "conflict-item-1", ItemID=xero_id, Name="Support (xero)")
    run = await _sync(xero_services, database)
    assert run.counts["conflicts"] == 1
    assert _items(database)["SUPPORT"].name == "Support (xero)"
    with database.session() as session:
        conflict = session.scalars(select(SyncConflict).where(SyncConflict.field == "name")).one()
        assert (conflict.local_value, conflict.xero_value, conflict.winner) == (
            "Support (local)",
            "Support (xero)",
            "xero",
        )


async def test_an_archived_item_is_kept_in_xero(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    await _sync(xero_services, database)
    courier = _items(database)["COURIER"]
    assert owner_api.delete(f"/api/v1/items/{courier.id}").status_code == 204
    run = await _sync(xero_services, database)
    assert "pushed_updated" not in run.counts
    assert "COURIER" in _xero_items(sandbox_state, au)
    assert _items(database)["COURIER"].archived is True


async def test_dry_run_writes_nothing(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    owner_api.post("/api/v1/items", json={"code": "NEW1", "name": "New thing"})
    before = len(_xero_items(sandbox_state, au))
    run = await _sync(xero_services, database, dry_run=True)
    assert run.counts["would_create"] == before + 1
    assert len(_xero_items(sandbox_state, au)) == before
    assert set(_items(database)) == {"NEW1"}
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(XeroLink)) == 0
