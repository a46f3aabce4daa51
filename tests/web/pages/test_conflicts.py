"""The conflicts list: a conflict the engine really recorded (both sides changed a
contact's email) shows with both values, the side kept and why; filters, pages, and
another workspace's conflicts never show."""

from __future__ import annotations

import html
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync.models import RecordType, SyncConflict
from ledgerbridge.sync.service import sync
from ledgerbridge.work.models import Client
from ledgerbridge.xero.client import ACCOUNTING, Organisation
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded, seed_workspace
from tests.web.pages.conftest import sign_in

pytestmark = pytest.mark.anyio


def _connection(database: Database) -> XeroConnection:
    with database.session() as session:
        return session.scalars(select(XeroConnection)).one()


async def _sync_contacts(services: XeroServices, connection: XeroConnection) -> Any:
    return await sync(services, connection.workspace_id, connection.id, [RecordType.CONTACT])


async def test_a_recorded_conflict_shows_both_values_and_the_winner(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    admin_browser: TestClient,
) -> None:
    connection = _connection(database)
    await _sync_contacts(xero_services, connection)
    target = next(
        c for c in sandbox_state.orgs[au.tenant_id].iter_records("Contacts") if c["ContactStatus"] == "ACTIVE"
    )
    with database.session() as session:
        local = session.scalars(select(Client).where(Client.name == target["Name"])).one()
    assert (
        admin_browser.patch(f"/api/v1/clients/{local.id}", json={"email": "local@example.com"}).status_code
        == 200
    )
    sandbox_state.clock.advance(60)
    await xero_services.client.write_batch(
        au,
        "POST",
        f"{ACCOUNTING}/Contacts",
        "Contacts",
        [{"ContactID": target["ContactID"], "EmailAddress": "xero@example.com"}],
        "page-conflict-1",
    )
    run = await _sync_contacts(xero_services, connection)
    assert run.counts["conflicts"] == 1

    page = admin_browser.get("/sync-log/conflicts")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert text.count("data-conflict=") == 1
    assert f"Contact: {target['Name']}" in text
    assert '<td data-label="Field">Email</td>' in text
    assert '<td data-label="ledgerbridge had" data-side="local">local@example.com</td>' in text
    assert '<td data-label="Xero had" data-side="xero">xero@example.com</td>' in text
    assert 'data-winner="xero"><strong>Xero\'s value</strong>' in text
    assert "the later change wins" in text
    assert connection.tenant_name in text

    assert "data-conflict=" not in admin_browser.get("/sync-log/conflicts?record_type=invoice").text
    filtered = admin_browser.get(f"/sync-log/conflicts?record_type=contact&organisation={connection.id}").text
    assert filtered.count("data-conflict=") == 1


async def test_paginated_and_scoped_to_the_workspace(
    au: Organisation, database: Database, admin_browser: TestClient, seeded: Seeded
) -> None:
    connection = _connection(database)
    with database.session() as session:
        other = seed_workspace(session, "Elsewhere", slug="elsewhere")
        for n in range(60):
            session.add(
                SyncConflict(
                    workspace_id=seeded.workspace_id,
                    connection_id=connection.id,
                    record_type=RecordType.CONTACT,
                    local_id=seeded.client_id,
                    xero_id=f"x-{n}",
                    field="phone",
                    local_value=f"0400 000 {n:03d}",
                    xero_value=None,
                    winner="local",
                    reason="Both sides changed it since the last sync; the later change wins.",
                )
            )
        session.add(
            SyncConflict(
                workspace_id=other.workspace_id,
                connection_id=connection.id,
                record_type=RecordType.CONTACT,
                local_id=other.client_id,
                xero_id="secret",
                field="name",
                local_value="Not yours",
                xero_value="Nor this",
                winner="xero",
                reason="r",
            )
        )
    first = html.unescape(admin_browser.get("/sync-log/conflicts").text)
    assert first.count("data-conflict=") == 50
    assert "Bondi Surf Co" in first and "(empty)" in first and "ledgerbridge's value" in first
    assert "Not yours" not in first and "Older conflicts" in first
    second = html.unescape(admin_browser.get("/sync-log/conflicts?page=2").text)
    assert (
        second.count("data-conflict=") == 10
        and "Newer conflicts" in second
        and "Older conflicts" not in second
    )
    # the other workspace's owner sees only theirs
    admin_browser.cookies.clear()
    sign_in(admin_browser, "owner@elsewhere.example.com")
    theirs = html.unescape(admin_browser.get("/sync-log/conflicts").text)
    assert theirs.count("data-conflict=") == 1 and "Not yours" in theirs and "0400 000" not in theirs
