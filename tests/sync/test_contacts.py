"""Contacts both ways against the sandbox: first import, incremental, changes on each side,
archived contacts, matching, conflicts, dry runs, and a push crashed at every step."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledgerbridge.db import Database
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync import contacts, engine
from ledgerbridge.sync.models import OutboxEntry, OutboxStatus, RecordType, SyncConflict, SyncCursor, XeroLink
from ledgerbridge.sync.service import sync
from ledgerbridge.work.models import Client
from ledgerbridge.xero.client import ACCOUNTING, MAX_PAGE_SIZE, Organisation
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices

pytestmark = pytest.mark.anyio


def _ids(database: Database) -> tuple[str, str]:
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        return connection.workspace_id, connection.id


def _xero_contacts(state: SandboxState, org: Organisation) -> list[dict[str, Any]]:
    return list(state.orgs[org.tenant_id].iter_records("Contacts"))


def _clients(database: Database) -> dict[str, Client]:
    with database.session() as session:
        return {c.name: c for c in session.scalars(select(Client))}


async def _sync(services: XeroServices, database: Database, **kwargs: Any) -> Any:
    workspace_id, connection_id = _ids(database)
    return await sync(services, workspace_id, connection_id, [RecordType.CONTACT], **kwargs)


async def _edit_in_xero(
    services: XeroServices, org: Organisation, contact_id: str, key: str, **fields: Any
) -> None:
    """A change made on the Xero side (not through our outbox)."""
    await services.client.write_batch(
        org, "POST", f"{ACCOUNTING}/Contacts", "Contacts", [{"ContactID": contact_id, **fields}], key
    )


async def test_first_sync_imports_every_contact_and_pushes_local_clients(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    xero = _xero_contacts(sandbox_state, au)
    run = await _sync(xero_services, database)
    assert run.status == "succeeded", run.error
    assert run.counts["created"] == len(xero)
    assert run.counts["pushed_created"] == 2  # the workspace's own two clients went to Xero
    clients = _clients(database)
    assert len(clients) == len(xero) + 2
    archived = {c["Name"] for c in xero if c["ContactStatus"] == "ARCHIVED"}
    assert archived
    assert {n for n, c in clients.items() if c.archived} == archived
    names_in_xero = {c["Name"] for c in _xero_contacts(sandbox_state, au)}
    assert {"Bondi Surf Co", "Parramatta Print"} <= names_in_xero
    with database.session() as session:
        # the first sync imported the reference data first: its items are linked too
        contact_links = select(func.count()).where(XeroLink.record_type == RecordType.CONTACT)
        assert session.scalar(contact_links) == len(xero) + 2


async def test_no_change_incremental_sync_costs_one_call(
    xero_services: XeroServices, au: Organisation, database: Database
) -> None:
    await _sync(xero_services, database)
    again = await _sync(xero_services, database)
    assert again.counts.get("calls") == 1
    assert again.counts.get("created", 0) == 0
    assert again.counts.get("updated", 0) == 0
    assert "pushed_created" not in again.counts


async def test_changes_on_each_side_between_syncs(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    await _sync(xero_services, database)
    target = next(c for c in _xero_contacts(sandbox_state, au) if c["ContactStatus"] == "ACTIVE")
    await _edit_in_xero(xero_services, au, target["ContactID"], "edit-1", EmailAddress="new-ap@example.com")
    mine = _clients(database)["Bondi Surf Co"]
    assert owner_api.patch(f"/api/v1/clients/{mine.id}", json={"phone": "02 9999 0000"}).status_code == 200

    run = await _sync(xero_services, database)
    assert run.counts["updated"] == 1
    assert run.counts["pushed_updated"] == 1
    assert _clients(database)[target["Name"]].email == "new-ap@example.com"
    in_xero = next(c for c in _xero_contacts(sandbox_state, au) if c["Name"] == "Bondi Surf Co")
    assert in_xero["Phones"][0]["PhoneNumber"] == "02 9999 0000"


async def test_archiving_flows_both_ways(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    await _sync(xero_services, database)
    target = next(c for c in _xero_contacts(sandbox_state, au) if c["ContactStatus"] == "ACTIVE")
    await _edit_in_xero(xero_services, au, target["ContactID"], "archive-1", ContactStatus="ARCHIVED")
    mine = _clients(database)["Parramatta Print"]
    assert owner_api.delete(f"/api/v1/clients/{mine.id}").status_code == 204
    await _sync(xero_services, database)
    assert _clients(database)[target["Name"]].archived is True
    in_xero = next(c for c in _xero_contacts(sandbox_state, au) if c["Name"] == "Parramatta Print")
    assert in_xero["ContactStatus"] == "ARCHIVED"


async def test_existing_clients_are_matched_not_duplicated(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    target = next(c for c in _xero_contacts(sandbox_state, au) if c["ContactStatus"] == "ACTIVE")
    local_name = target["Name"].upper().replace(" PTY LTD", "")  # same business, written differently
    assert owner_api.post("/api/v1/clients", json={"name": local_name}).status_code == 201
    contacts_before = len(_xero_contacts(sandbox_state, au))
    await _sync(xero_services, database)
    clients = _clients(database)
    assert target["Name"] in clients
    assert local_name not in clients or local_name == target["Name"]
    assert len(_xero_contacts(sandbox_state, au)) == contacts_before + 2  # only the two seeded clients


async def test_dry_run_previews_and_writes_nothing(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    before = len(_xero_contacts(sandbox_state, au))
    run = await _sync(xero_services, database, dry_run=True)
    assert run.dry_run is True
    assert run.counts["would_create"] == before + 2
    assert {p["side"] for p in run.preview} == {"local", "xero"}
    assert len(_clients(database)) == 2
    assert len(_xero_contacts(sandbox_state, au)) == before
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(XeroLink)) == 0
        cursor = session.scalars(select(SyncCursor)).one_or_none()
        assert cursor is None or cursor.value is None


async def test_conflict_later_change_wins_and_is_recorded(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    await _sync(xero_services, database)
    target = next(c for c in _xero_contacts(sandbox_state, au) if c["ContactStatus"] == "ACTIVE")
    local = _clients(database)[target["Name"]]
    owner_api.patch(f"/api/v1/clients/{local.id}", json={"email": "local@example.com"})
    sandbox_state.clock.advance(60)
    await _edit_in_xero(xero_services, au, target["ContactID"], "conflict-1", EmailAddress="xero@example.com")
    run = await _sync(xero_services, database)
    assert run.counts["conflicts"] == 1
    assert _clients(database)[target["Name"]].email == "xero@example.com"
    with database.session() as session:
        conflict = session.scalars(select(SyncConflict).where(SyncConflict.field == "email")).one()
        assert (conflict.local_value, conflict.xero_value, conflict.winner) == (
            "local@example.com",
            "xero@example.com",
            "xero",
        )


class Crash(Exception):
    pass


@pytest.mark.parametrize("step", ["before_send", "after_send", "after_commit"])
async def test_a_push_crashed_at_any_step_resumes_without_duplicates(
    step: str,
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    await _sync(xero_services, database)
    assert owner_api.post("/api/v1/clients", json={"name": "Manly Ferries Pty Ltd"}).status_code == 201
    workspace_id, connection_id = _ids(database)

    def crash() -> None:
        raise Crash(step)

    with database.session() as session:
        from ledgerbridge.sync.runs import start_run

        run_id = start_run(session, workspace_id, connection_id, "manual", [RecordType.CONTACT]).id
    with pytest.raises(Crash):
        await engine.push(
            xero_services, contacts.ADAPTER, connection_id, run_id, hooks=engine.PushHooks(**{step: crash})
        )

    resumed = await _sync(xero_services, database)
    assert resumed.status == "succeeded", resumed.error
    in_xero = [c for c in _xero_contacts(sandbox_state, au) if c["Name"] == "Manly Ferries Pty Ltd"]
    assert len(in_xero) == 1
    with database.session() as session:
        client = session.scalars(select(Client).where(Client.name == "Manly Ferries Pty Ltd")).one()
        link = session.scalars(select(XeroLink).where(XeroLink.local_id == client.id)).one()
        assert link.xero_id == in_xero[0]["ContactID"]
        statuses = session.scalars(select(OutboxEntry.status).where(OutboxEntry.local_id == client.id)).all()
        assert set(statuses) == {OutboxStatus.SENT}


async def test_a_client_matched_on_one_page_is_not_matched_again_on_a_later_one(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
) -> None:
    """Candidates for matching are read once per pull (not on every page): a client linked
    on page 1 must not be offered again on page 2, where another Xero contact with the same
    email would otherwise take it (and the page would fail on the second link)."""
    org = sandbox_state.orgs[au.tenant_id]
    template = next(c for c in org.iter_records("Contacts") if c["ContactStatus"] == "ACTIVE")
    start = sandbox_state.clock.now()

    def put(n: int, name: str, email: str) -> str:
        contact_id = str(uuid.uuid4())
        record = {
            **template,
            "ContactID": contact_id,
            "Name": name,
            "EmailAddress": email,
            "ContactNumber": None,
            "TaxNumber": None,
            "UpdatedDateUTC": start + timedelta(seconds=n),
        }
        org.put_record("Contacts", contact_id, record)
        return contact_id

    first = put(1, "Harbour Lights Catering", "accounts@harbourlights.example")
    for n in range(2, MAX_PAGE_SIZE + 2):  # the same email again lands on the second page
        put(n, f"Filler Customer {n:04d}", f"filler-{n}@example.com")
    second = put(MAX_PAGE_SIZE + 2, "Harbour Lights Events", "accounts@harbourlights.example")
    sandbox_state.clock.advance(MAX_PAGE_SIZE + 5)
    response = owner_api.post(
        "/api/v1/clients", json={"name": "Harbour Lights", "email": "accounts@harbourlights.example"}
    )
    assert response.status_code == 201
    local_id = response.json()["id"]

    run = await _sync(xero_services, database)

    assert run.status == "succeeded", run.error
    with database.session() as session:
        linked = dict(
            session.execute(
                select(XeroLink.xero_id, XeroLink.local_id).where(XeroLink.record_type == RecordType.CONTACT)
            )
            .tuples()
            .all()
        )
        names = {c.id: c.name for c in session.scalars(select(Client))}
    assert linked[first] == local_id  # matched by email on the first page
    assert linked[second] != local_id  # a client of its own, not the one already taken
    assert names[linked[second]] == "Harbour Lights Events"
    assert list(linked.values()).count(local_id) == 1
    assert len(org.records("Contacts")) == len(linked)  # every Xero contact linked once, none twice


async def test_a_linked_client_removed_here_is_made_again_and_the_link_follows_it(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    """The link must point at the record the pull makes, not at the one that is gone."""
    await _sync(xero_services, database)
    with database.session() as session:
        link = session.scalars(select(XeroLink).where(XeroLink.record_type == RecordType.CONTACT)).first()
        assert link is not None
        xero_id, gone = link.xero_id, link.local_id
        session.delete(session.get(Client, gone))
    await _edit_in_xero(xero_services, au, xero_id, "rename-after-removal", Name="Balmain Boatworks")

    run = await _sync(xero_services, database)

    assert run.status == "succeeded", run.error
    with database.session() as session:
        link = session.scalars(select(XeroLink).where(XeroLink.xero_id == xero_id)).one()
        client = session.get(Client, link.local_id)
        assert link.local_id != gone
        assert client is not None and client.name == "Balmain Boatworks"
