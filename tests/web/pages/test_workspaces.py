"""The workspace switcher: only for someone in several workspaces, only to one of theirs,
CSRF-protected; after a switch every page shows the other workspace's data only."""

from __future__ import annotations

import html

from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.work import users as user_service
from ledgerbridge.work.models import Role, WebSession
from tests.factories import Seeded, seed_workspace
from tests.web.pages.conftest import post_form, sign_in


def _two_workspaces(database: Database, seeded: Seeded) -> tuple[str, str]:
    """The owner of Harbour is also an admin of Elsewhere; Stranger is someone else's."""
    with database.session() as session:
        elsewhere = seed_workspace(session, "Elsewhere Studio", slug="elsewhere")
        stranger = seed_workspace(session, "Stranger Things Pty", slug="stranger")
        user_service.add_to_workspace(
            session, elsewhere.workspace_id, seeded.owner_email, "Owner Person", Role.ADMIN, None
        )
        return elsewhere.workspace_id, stranger.workspace_id


def _session_workspace(database: Database) -> set[str]:
    with database.session() as session:
        return set(session.scalars(select(WebSession.workspace_id)))


def test_one_workspace_shows_no_switcher(owner_page: TestClient) -> None:
    assert 'id="workspace-switch"' not in owner_page.get("/users").text


def test_switching_shows_the_other_workspaces_data_only(
    service: TestClient, database: Database, seeded: Seeded
) -> None:
    elsewhere, _ = _two_workspaces(database, seeded)
    sign_in(service, seeded.owner_email)
    page = service.get("/users").text
    assert 'id="workspace-switch"' in page
    assert "Elsewhere Studio</option>" in page and "Stranger Things" not in page
    assert "member@harbour.example.com" in page and "member@elsewhere.example.com" not in page

    switched = post_form(
        service, "/users", "/workspaces/switch", {"workspace_id": elsewhere, "next": "/users"}
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/users"
    assert _session_workspace(database) == {elsewhere}
    page = html.unescape(service.get("/users").text)
    assert "You are now working in Elsewhere Studio." in page
    assert "member@elsewhere.example.com" in page and "member@harbour.example.com" not in page
    assert f'<option value="{elsewhere}" selected>' in page
    assert "· admin" in page  # the role there, not the owner role of Harbour
    listing = service.get("/workspaces").text
    assert listing.count("Working here") == 1 and "Work in Harbour" in listing


def test_switching_to_a_workspace_not_yours_is_refused(
    service: TestClient, database: Database, seeded: Seeded
) -> None:
    _, stranger = _two_workspaces(database, seeded)
    sign_in(service, seeded.owner_email)
    before = _session_workspace(database)
    refused = post_form(service, "/users", "/workspaces/switch", {"workspace_id": stranger})
    assert refused.status_code == 403
    assert "Not one of your workspaces" in refused.text
    assert _session_workspace(database) == before == {seeded.workspace_id}
    page = service.get("/users").text
    assert "member@harbour.example.com" in page and "member@stranger.example.com" not in page


def test_switching_needs_the_forms_token(service: TestClient, database: Database, seeded: Seeded) -> None:
    elsewhere, _ = _two_workspaces(database, seeded)
    sign_in(service, seeded.owner_email)
    forged = service.post("/workspaces/switch", data={"workspace_id": elsewhere}, follow_redirects=False)
    assert forged.status_code == 403
    assert _session_workspace(database) == {seeded.workspace_id}


def test_the_workspaces_page_switches_back(service: TestClient, database: Database, seeded: Seeded) -> None:
    elsewhere, _ = _two_workspaces(database, seeded)
    sign_in(service, seeded.owner_email)
    listing = service.get("/workspaces").text
    assert "Work in Elsewhere Studio" in listing and "Work in Harbour" not in listing
    post_form(
        service, "/workspaces", "/workspaces/switch", {"workspace_id": elsewhere, "next": "/workspaces"}
    )
    listing = service.get("/workspaces").text
    assert "Work in Harbour" in listing and "Work in Elsewhere Studio" not in listing
    assert _session_workspace(database) == {elsewhere}
