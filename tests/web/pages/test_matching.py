"""First-connect matching: the page shows the sync's own proposals with why each matched;
accepting, changing and "create new" on the page lead to links (and one new contact in
Xero), and the sync that follows creates no duplicate contact in the sandbox."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync import engine
from ledgerbridge.sync.models import RecordType, XeroLink
from ledgerbridge.sync.service import sync
from ledgerbridge.web.pages import matching
from ledgerbridge.work.models import Client
from ledgerbridge.xero.client import Organisation
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded, seed_workspace
from tests.web.pages.conftest import csrf_of, sign_in

pytestmark = pytest.mark.anyio


def _connection(database: Database) -> XeroConnection:
    with database.session() as session:
        return session.scalars(select(XeroConnection)).one()


def _contacts(state: SandboxState, org: Organisation) -> list[dict[str, Any]]:
    return list(state.orgs[org.tenant_id].iter_records("Contacts"))


def _active(state: SandboxState, org: Organisation) -> list[dict[str, Any]]:
    return sorted(
        (c for c in _contacts(state, org) if c["ContactStatus"] == "ACTIVE" and c.get("Name")),
        key=lambda c: str(c["Name"]),
    )


def _add_client(database: Database, workspace_id: str, **fields: Any) -> str:
    with database.session() as session:
        client = Client(workspace_id=workspace_id, **fields)
        session.add(client)
        session.flush()
        return str(client.id)


def _links(database: Database) -> dict[str, str]:
    with database.session() as session:
        return {
            link.local_id: link.xero_id
            for link in session.scalars(select(XeroLink).where(XeroLink.record_type == RecordType.CONTACT))
        }


async def test_matches_confirmed_on_the_page_link_and_the_sync_duplicates_nothing(
    admin_browser: TestClient,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    seeded: Seeded,
    xero_services: XeroServices,
) -> None:
    active = _active(sandbox_state, au)
    by_email = next(c for c in active if c.get("EmailAddress"))
    by_name = next(
        c for c in active if c is not by_email and c.get("EmailAddress") != by_email["EmailAddress"]
    )
    other = next(c for c in active if c not in (by_email, by_name))
    separate = next(c for c in active if c not in (by_email, by_name, other) and c.get("EmailAddress"))
    ws = seeded.workspace_id
    emailed = _add_client(database, ws, name="Accounts Payable Dept", email=by_email["EmailAddress"].upper())
    named = _add_client(database, ws, name=f"{by_name['Name'].upper()} Pty Ltd")
    distinct = _add_client(database, ws, name="Quite Another Business", email=separate["EmailAddress"])
    connection = _connection(database)
    page = f"/integrations/xero/{connection.id}/matching"

    shown = admin_browser.get(page)
    assert shown.status_code == 200, shown.text
    text = html.unescape(shown.text)
    assert f"same email ({by_email['EmailAddress'].lower()})" in text
    assert "same name (ignoring case, punctuation and words like Pty Ltd)" in text
    assert f'data-contact="{by_email["Name"]}"' in text and f'data-contact="{by_name["Name"]}"' in text
    assert f'data-contact="{separate["Name"]}"' in text
    assert 'data-unmatched="Bondi Surf Co"' in text  # no contact matches it: created at the first sync
    assert f'<option value="{other["Name"]}">' in text  # the searchable choice of other contacts

    before = len(_contacts(sandbox_state, au))
    form = {
        "csrf_token": csrf_of(shown.text),
        "client": [emailed, named, distinct],
        f"proposed-{emailed}": by_email["ContactID"],
        f"decision-{emailed}": "accept",
        f"proposed-{named}": by_name["ContactID"],
        f"decision-{named}": "change",
        f"other-{named}": other["Name"],
        f"proposed-{distinct}": separate["ContactID"],
        f"decision-{distinct}": "new",
    }
    confirmed = admin_browser.post(page, data=form, follow_redirects=False)
    assert confirmed.status_code == 303, confirmed.text
    assert "Linked 2 clients; created 1 new contact in Xero." in html.unescape(admin_browser.get(page).text)

    links = _links(database)
    assert links[emailed] == by_email["ContactID"]
    assert links[named] == other["ContactID"]
    created = [c for c in _contacts(sandbox_state, au) if c["Name"] == "Quite Another Business"]
    assert len(created) == 1 and links[distinct] == created[0]["ContactID"]
    assert len(_contacts(sandbox_state, au)) == before + 1

    run = await sync(xero_services, connection.workspace_id, connection.id, [RecordType.CONTACT])
    assert run.status == "succeeded", run.error
    after = _contacts(sandbox_state, au)
    names = [c["Name"] for c in after]
    assert len(after) == before + 1 + 2  # the new one, and the two seeded clients no contact matched
    assert names.count("Quite Another Business") == 1
    assert "Accounts Payable Dept" not in names and f"{by_name['Name'].upper()} Pty Ltd" not in names
    assert _links(database)[emailed] == by_email["ContactID"]  # the sync kept the links chosen
    with database.session() as session:  # Xero's values came in over the linked client
        assert session.get(Client, emailed).name == by_email["Name"]  # type: ignore[union-attr]
    again = admin_browser.get(page).text
    assert f'data-client="{by_email["Name"]}"' not in again  # linked now: no longer proposed


async def test_an_unknown_contact_is_shown_beside_the_field_and_nothing_is_saved(
    admin_browser: TestClient,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    seeded: Seeded,
) -> None:
    contact = next(c for c in _active(sandbox_state, au) if c.get("EmailAddress"))
    client = _add_client(database, seeded.workspace_id, name="Someone Else", email=contact["EmailAddress"])
    page = f"/integrations/xero/{_connection(database).id}/matching"
    shown = admin_browser.get(page)
    response = admin_browser.post(
        page,
        data={
            "csrf_token": csrf_of(shown.text),
            "client": [client],
            f"proposed-{client}": contact["ContactID"],
            f"decision-{client}": "change",
            f"other-{client}": "No Such Business",
        },
        follow_redirects=False,
    )
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert "Other contact: type a few letters and choose a contact from the list." in text
    assert 'value="No Such Business"' in text
    assert re.search(rf'name="decision-{client}" value="change" checked', text)
    assert _links(database) == {}


async def test_members_and_other_workspaces_are_refused(
    admin_browser: TestClient, au: Organisation, database: Database
) -> None:
    page = f"/integrations/xero/{_connection(database).id}/matching"
    with database.session() as session:
        seed_workspace(session, "Elsewhere", slug="elsewhere")
    admin_browser.cookies.clear()
    sign_in(admin_browser, "owner@elsewhere.example.com")
    assert admin_browser.get(page).status_code == 404
    admin_browser.cookies.clear()
    sign_in(admin_browser, "member@harbour.example.com")
    refused = admin_browser.get(page)
    assert refused.status_code == 403 and "Only owners and admins match contacts" in refused.text


async def test_views_reuse_the_sessions_read_of_xero_until_asked_to_read_again(
    admin_browser: TestClient,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    seeded: Seeded,
    xero_services: XeroServices,
) -> None:
    """Each view of the page does not read every contact from Xero again: a contact made in
    Xero after the read shows once the person asks for a new read (the page says when the
    read was made), and confirming checks against Xero as it is then."""
    connection = _connection(database)
    page = f"/integrations/xero/{connection.id}/matching"
    ws = seeded.workspace_id
    newcomer = _add_client(database, ws, name="Harbour Newcomer", email="hello@newcomer.example")
    _add_client(database, ws, name="Harbour Latecomer", email="hello@latecomer.example")
    first = html.unescape(admin_browser.get(page).text)
    assert "Xero's contacts as read at" in first and 'data-contact="Harbour Newcomer"' not in first

    org = engine.organisation(connection)
    bodies = [
        {"Name": "Harbour Newcomer", "EmailAddress": "hello@newcomer.example"},
        {"Name": "Harbour Latecomer", "EmailAddress": "hello@latecomer.example"},
    ]
    made = await xero_services.client.write_batches(
        org, "POST", matching.ADAPTER.path, matching.ADAPTER.key, bodies, "test-newcomers"
    )
    assert all(m.ok for m in made)
    contact_id = str(made[0].record["ContactID"])
    assert any(c["ContactID"] == contact_id for c in _contacts(sandbox_state, au))

    kept = admin_browser.get(page)
    assert 'data-contact="Harbour Newcomer"' not in html.unescape(kept.text)  # the session's read
    confirmed = admin_browser.post(  # confirming reads Xero: the new contact is there
        page,
        data={
            "csrf_token": csrf_of(kept.text),
            "client": [newcomer],
            f"proposed-{newcomer}": contact_id,
            f"decision-{newcomer}": "accept",
        },
        follow_redirects=False,
    )
    assert confirmed.status_code == 303, confirmed.text
    assert _links(database)[newcomer] == contact_id

    again = html.unescape(admin_browser.get(page + "?refresh=1").text)
    assert 'data-contact="Harbour Latecomer"' in again and "same email (hello@latecomer.example)" in again
    assert 'data-contact="Harbour Newcomer"' not in again  # linked now
