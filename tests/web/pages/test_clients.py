"""The Clients page: list with search, filters and pages; add, edit, archive through the
forms with refusals named beside the field; the Xero contact each is, and a client added
and archived here arriving in the sandbox; members (the role) and other workspaces kept out."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync.models import RecordType
from ledgerbridge.sync.service import sync
from ledgerbridge.work.models import Client
from ledgerbridge.xero.client import Organisation
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded, seed_workspace
from tests.web.pages.conftest import post_form, sign_in

NEW = {
    "name": "Manly Ferries Pty Ltd",
    "is_customer": "on",
    "is_supplier": "on",
    "contact_number": "MF-01",
    "first_name": "Noah",
    "last_name": "Walsh",
    "email": "ap@manlyferries.example.com",
    "phone": "02 9000 1234",
    "address_line1": "1 Wharf Road",
    "city": "Manly",
    "region": "NSW",
    "postal_code": "2095",
    "country": "Australia",
    "tax_number": "12 345 678 901",
    "currency": "aud",
}


def _client(database: Database, name: str) -> Client | None:
    with database.session() as session:
        return session.scalars(select(Client).where(Client.name == name)).one_or_none()


def _row(html: str, client_id: str) -> str:
    return html.split(f'data-client="{client_id}"')[1].split("</tr>")[0]


def test_list_search_and_filters(owner_page: TestClient, seeded: Seeded) -> None:
    page = owner_page.get("/clients")
    assert page.status_code == 200
    assert "Bondi Surf Co" in page.text and "Parramatta Print" in page.text
    assert "Not in Xero" in _row(page.text, seeded.client_id)
    found = owner_page.get("/clients", params={"q": "bondisurf"}).text
    assert "Bondi Surf Co" in found and "Parramatta Print" not in found
    suppliers = owner_page.get("/clients", params={"role": "supplier"}).text
    assert "Parramatta Print" in suppliers and "Bondi Surf Co" not in suppliers


def test_list_pages_keep_the_search(owner_page: TestClient, database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        for n in range(55):
            session.add(Client(workspace_id=seeded.workspace_id, name=f"Cafe {n:02d}"))
    first = owner_page.get("/clients", params={"q": "cafe"}).text
    assert first.count('data-client="') == 50
    assert 'href="/clients?q=cafe&amp;status=active&amp;page=2"' in first
    second = owner_page.get("/clients", params={"q": "cafe", "page": 2}).text
    assert second.count('data-client="') == 5
    assert "Cafe 54" in second and "Cafe 00" not in second and "Bondi" not in second


def test_add_a_client(owner_page: TestClient, database: Database) -> None:
    response = post_form(owner_page, "/clients/new", "/clients/new", NEW)
    assert response.status_code == 303, response.text
    assert "Added Manly Ferries Pty Ltd." in owner_page.get("/clients").text
    client = _client(database, "Manly Ferries Pty Ltd")
    assert client is not None
    assert client.is_customer and client.is_supplier and not client.archived
    assert client.currency == "AUD" and client.email == "ap@manlyferries.example.com"
    assert (client.first_name, client.last_name, client.postal_code) == ("Noah", "Walsh", "2095")


def test_refusals_name_the_field_and_keep_the_input(
    owner_page: TestClient, database: Database, seeded: Seeded
) -> None:
    taken = post_form(owner_page, "/clients/new", "/clients/new", {**NEW, "name": "Bondi Surf Co"})
    assert taken.status_code == 422
    assert "Name: &#39;Bondi Surf Co&#39; is already used by another client" in taken.text
    assert 'value="ap@manlyferries.example.com"' in taken.text
    bad = post_form(
        owner_page,
        "/clients/new",
        "/clients/new",
        {**NEW, "email": "accounts at manly", "currency": "dollars", "contact_number": "X" * 60},
    )
    assert bad.status_code == 422
    assert "Email address: enter an email address like name@example.com." in bad.text
    assert "Currency: enter a three-letter currency code such as AUD." in bad.text
    assert "Contact number: use at most 50 characters." in bad.text
    assert _client(database, "Manly Ferries Pty Ltd") is None
    with database.session() as session:
        assert (
            len(session.scalars(select(Client).where(Client.workspace_id == seeded.workspace_id)).all()) == 2
        )


def test_edit_and_archive(owner_page: TestClient, database: Database, seeded: Seeded) -> None:
    page = f"/clients/{seeded.client_id}/edit"
    form = owner_page.get(page).text
    assert 'value="Bondi Surf Co"' in form and 'value="accounts@bondisurf.example.com"' in form
    response = post_form(
        owner_page, page, page, {"name": "Bondi Surf Company", "is_customer": "on", "phone": "02 1"}
    )
    assert response.status_code == 303, response.text
    client = _client(database, "Bondi Surf Company")
    assert client is not None and client.phone == "02 1" and client.email is None and not client.is_supplier
    clash = post_form(owner_page, page, page, {"name": "Parramatta Print", "is_customer": "on"})
    assert clash.status_code == 422 and "already used by another client" in clash.text
    assert _client(database, "Bondi Surf Company") is not None
    assert post_form(owner_page, "/clients", f"/clients/{seeded.client_id}/archive").status_code == 303
    client = _client(database, "Bondi Surf Company")
    assert client is not None and client.archived
    assert f'data-client="{seeded.client_id}"' not in owner_page.get("/clients").text
    archived = owner_page.get("/clients", params={"status": "archived"}).text
    assert "Unarchive" in _row(archived, seeded.client_id)
    post_form(owner_page, "/clients", f"/clients/{seeded.client_id}/unarchive")
    client = _client(database, "Bondi Surf Company")
    assert client is not None and not client.archived


def test_members_cannot_manage_and_other_workspaces_are_not_found(
    service: TestClient, database: Database, seeded: Seeded
) -> None:
    with database.session() as session:
        other = seed_workspace(session, "Other Pty Ltd", slug="other")
    sign_in(service, "member@harbour.example.com")
    listed = service.get("/clients").text
    assert "Bondi Surf Co" in listed and "Add a client" not in listed and "/archive" not in listed
    assert service.get("/clients/new").status_code == 403
    refused = post_form(service, "/clients", "/clients/new", NEW)
    assert refused.status_code == 403 and "Only workspace owners and admins" in refused.text
    assert post_form(service, "/clients", f"/clients/{seeded.client_id}/archive").status_code == 403
    assert _client(database, "Manly Ferries Pty Ltd") is None
    sign_in(service, seeded.owner_email)
    assert service.get(f"/clients/{other.client_id}/edit").status_code == 404
    assert post_form(service, "/clients", f"/clients/{other.client_id}/edit", NEW).status_code == 404
    assert post_form(service, "/clients", f"/clients/{other.client_id}/archive").status_code == 404
    with database.session() as session:
        theirs = session.get(Client, other.client_id)
        assert theirs is not None and theirs.name == "Bondi Surf Co" and not theirs.archived


def _contacts(state: SandboxState, org: Organisation) -> dict[str, dict[str, Any]]:
    return {c["Name"]: c for c in state.orgs[org.tenant_id].iter_records("Contacts")}


def _sync_contacts(service: TestClient, xero_services: XeroServices, database: Database) -> None:
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        ids = connection.workspace_id, connection.id
    run = service.portal.call(sync, xero_services, ids[0], ids[1], [RecordType.CONTACT])  # type: ignore[union-attr]
    assert run.status == "succeeded", run.error


@pytest.mark.usefixtures("seeded")
def test_a_client_added_and_archived_here_reaches_xero(
    au: Organisation,
    service: TestClient,
    xero_services: XeroServices,
    sandbox_state: SandboxState,
    database: Database,
) -> None:
    """The service is signed in as the owner (``au`` connected through it)."""
    assert post_form(service, "/clients/new", "/clients/new", NEW).status_code == 303
    _sync_contacts(service, xero_services, database)
    in_xero = _contacts(sandbox_state, au)["Manly Ferries Pty Ltd"]
    assert in_xero["EmailAddress"] == "ap@manlyferries.example.com"
    assert in_xero["ContactStatus"] == "ACTIVE"
    client = _client(database, "Manly Ferries Pty Ltd")
    assert client is not None
    listed = service.get("/clients", params={"q": "Manly"}).text
    row = _row(listed, client.id)
    assert 'data-xero="linked"' in row and "Demo Company (AU)" in row
    assert post_form(service, "/clients", f"/clients/{client.id}/archive").status_code == 303
    waiting = service.get("/clients", params={"status": "archived"}).text
    assert "Waiting to send" in _row(waiting, client.id)
    _sync_contacts(service, xero_services, database)
    assert _contacts(sandbox_state, au)["Manly Ferries Pty Ltd"]["ContactStatus"] == "ARCHIVED"


@pytest.mark.usefixtures("seeded")
def test_the_form_says_whether_saving_sends_the_change(
    au: Organisation, service: TestClient, database: Database
) -> None:
    """With contacts auto-sync on, saving sends within seconds; off, the form says the
    change waits for Force sync."""
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        bondi = session.scalars(select(Client.id).where(Client.name == "Bondi Surf Co")).one()
    page = f"/clients/{bondi}/edit"
    assert "Saving sends the change to Demo Company (AU) within seconds." in service.get(page).text

    response = service.put(
        f"/api/v1/xero/connections/{connection.id}/settings", json={"auto_sync": {"contact": False}}
    )
    assert response.status_code == 200, response.text
    text = service.get(page).text
    assert "Saving sends the change" not in text
    assert (
        "Auto-sync of contacts is off for Demo Company (AU), so a change saved here waits there "
        "until you click Force sync"
    ) in text
