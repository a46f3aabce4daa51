"""The sync preview: it runs the API's dry run and shows, per record type and side, what a
sync would create, update or link; and it writes nothing: the sandbox (Xero) and every
local table but the sync log are exactly as before."""

from __future__ import annotations

import html
import json

from fastapi.testclient import TestClient
from sqlalchemy import select, text

import ledgerbridge.models  # noqa: F401 - every table registered on Base
from ledgerbridge.db import Base, Database
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync.models import SyncCursor, SyncRun
from ledgerbridge.xero.client import Organisation
from ledgerbridge.xero.models import XeroConnection
from tests.factories import Seeded, seed_workspace
from tests.web.pages.conftest import post_form, sign_in

BOOKKEEPING = {"sync_runs", "xero_cursors", "xero_grants"}
"""What a preview may touch: its run in the sync log (marked as a preview, with what it
would do), an empty read position per record type (checked to stay empty below), and the
grant's token bookkeeping (a token may be refreshed to read Xero). No record, link,
outbox entry, conflict or setting."""


def _connection_id(database: Database) -> str:
    with database.session() as session:
        return str(session.scalars(select(XeroConnection.id)).one())


def _local(database: Database) -> dict[str, list[str]]:
    """Every row of every table (but the bookkeeping), as text: any write shows."""
    tables: dict[str, list[str]] = {}
    with database.session() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in BOOKKEEPING:
                continue
            rows = session.execute(select(table)).all()
            tables[table.name] = sorted(json.dumps(list(r), default=str) for r in rows)
    return tables


def _no_position_moved(database: Database) -> None:
    with database.session() as session:
        assert all(c.value is None for c in session.scalars(select(SyncCursor)))


def _sandbox(state: SandboxState, org: Organisation) -> str:
    return json.dumps(state.orgs[org.tenant_id].collections, sort_keys=True, default=str)


def _preview(database: Database) -> SyncRun:
    with database.session() as session:
        run: SyncRun = session.scalars(select(SyncRun)).one()
        return run


def test_preview_shows_what_would_change_and_writes_nothing(
    admin_browser: TestClient, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    connection_id = _connection_id(database)
    page = f"/integrations/xero/{connection_id}/dry-run"
    contacts_in_xero = len(list(sandbox_state.orgs[au.tenant_id].iter_records("Contacts")))
    local_before, sandbox_before = _local(database), _sandbox(sandbox_state, au)

    response = post_form(admin_browser, page, page, {"record_type": "contact"})
    assert response.status_code == 303, response.text
    run = _preview(database)
    assert response.headers["location"] == f"{page}?run={run.id}"
    assert run.dry_run is True

    assert _sandbox(sandbox_state, au) == sandbox_before  # nothing written in Xero
    assert _local(database) == local_before  # nor here
    _no_position_moved(database)

    shown = html.unescape(admin_browser.get(response.headers["location"]).text)
    assert "Preview ready. Nothing was changed on either side." in shown
    assert f'data-preview-run="{run.id}"' in shown
    local_row = shown.split('data-kind="contact" data-side="local"')[1].split("</tr>")[0]
    assert "In ledgerbridge" in local_row
    assert f'<span data-action="create">{contacts_in_xero}</span> would be created' in local_row
    xero_row = shown.split('data-kind="contact" data-side="xero"')[1].split("</tr>")[0]
    assert '<span data-action="create">2</span> would be created' in xero_row  # the two local clients
    assert "Bondi Surf Co" in xero_row and "Parramatta Print" in xero_row


def test_every_type_preview_writes_nothing_either(
    admin_browser: TestClient, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    connection_id = _connection_id(database)
    page = f"/integrations/xero/{connection_id}/dry-run"
    local_before, sandbox_before = _local(database), _sandbox(sandbox_state, au)
    token = post_form(admin_browser, page, page)  # no type ticked: every two-way type
    assert token.status_code == 303
    assert _sandbox(sandbox_state, au) == sandbox_before
    assert _local(database) == local_before
    _no_position_moved(database)
    shown = admin_browser.get(token.headers["location"]).text
    assert 'data-kind="contact"' in shown and 'data-kind="item"' in shown


def test_members_and_other_workspaces_are_refused(
    admin_browser: TestClient, au: Organisation, database: Database, seeded: Seeded
) -> None:
    connection_id = _connection_id(database)
    page = f"/integrations/xero/{connection_id}/dry-run"
    with database.session() as session:
        seed_workspace(session, "Elsewhere", slug="elsewhere")
    admin_browser.cookies.clear()
    sign_in(admin_browser, "owner@elsewhere.example.com")
    assert admin_browser.get(page).status_code == 404
    admin_browser.cookies.clear()
    sign_in(admin_browser, "member@harbour.example.com")
    assert admin_browser.get(page).status_code == 403
    with database.session() as session:
        assert session.scalar(select(text("count(*)")).select_from(SyncRun)) == 0
