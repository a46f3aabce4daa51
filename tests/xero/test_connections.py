"""Connecting and disconnecting Xero organisations, end to end against the sandbox."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.xero.models import OAuthState, XeroConnection, XeroGrant
from tests.factories import Seeded
from tests.xero.conftest import give_consent, landing_message, query_of

AU = "Demo Company (AU)"
NZ = "Demo Company (NZ)"


def _connect(
    admin_browser: TestClient, xero_browser: TestClient, pick: list[str], action: str = "allow"
) -> str:
    """Click Connect, consent on Xero, come back; returns the Integrations page message."""
    started = admin_browser.post("/api/v1/xero/connect")
    assert started.status_code == 200, started.text
    consent = give_consent(xero_browser, started.json()["authorize_url"], pick, action)
    return landing_message(admin_browser, admin_browser.get(consent.callback, follow_redirects=False))


def test_authorize_url_has_state_pkce_and_offline_access(admin_browser: TestClient) -> None:
    query = query_of(admin_browser.post("/api/v1/xero/connect").json()["authorize_url"])
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32
    assert "offline_access" in query["scope"].split()
    assert query["redirect_uri"] == "http://127.0.0.1:8000/integrations/xero/callback"


def test_connect_two_organisations(admin_browser: TestClient, xero_browser: TestClient) -> None:
    message = _connect(admin_browser, xero_browser, [AU, NZ])
    assert message == f"Connected to Xero: {AU}, {NZ}."
    connections = admin_browser.get("/api/v1/xero/connections").json()
    assert sorted(c["tenant_name"] for c in connections) == [AU, NZ]
    assert all(c["status"] == "connected" for c in connections)
    assert [c["is_default"] for c in connections].count(True) == 1

    nz = next(c for c in connections if c["tenant_name"] == NZ)
    assert admin_browser.post(f"/api/v1/xero/connections/{nz['id']}/default").json()["is_default"] is True
    defaults = [
        c["tenant_name"] for c in admin_browser.get("/api/v1/xero/connections").json() if c["is_default"]
    ]
    assert defaults == [NZ]
    page = admin_browser.get("/integrations")
    assert AU in page.text
    assert NZ in page.text


def test_tokens_are_sealed_at_rest(
    admin_browser: TestClient, xero_browser: TestClient, database: Database
) -> None:
    _connect(admin_browser, xero_browser, [AU])
    with database.session() as session:
        grant = session.scalars(select(XeroGrant)).one()
        assert grant.access_token_sealed.startswith("gAAAA")  # a Fernet token, not a JWT
        assert "eyJ" not in grant.access_token_sealed
        assert "offline_access" in grant.scopes


def test_denied_consent_connects_nothing(admin_browser: TestClient, xero_browser: TestClient) -> None:
    message = _connect(admin_browser, xero_browser, [AU], action="cancel")
    assert message == "Access to Xero was not allowed, so nothing was connected."
    assert admin_browser.get("/api/v1/xero/connections").json() == []


def test_forged_and_replayed_state_are_refused(
    admin_browser: TestClient, xero_browser: TestClient, database: Database
) -> None:
    started = admin_browser.post("/api/v1/xero/connect").json()["authorize_url"]
    consent = give_consent(xero_browser, started, [AU])
    forged = consent.callback.replace(f"state={query_of(consent.callback)['state']}", "state=forged-state")
    landed = admin_browser.get(forged, follow_redirects=False)
    assert "could not be verified" in landing_message(admin_browser, landed)
    assert admin_browser.get("/api/v1/xero/connections").json() == []

    assert "Connected" in landing_message(
        admin_browser, admin_browser.get(consent.callback, follow_redirects=False)
    )
    replay = admin_browser.get(consent.callback, follow_redirects=False)
    assert "could not be verified" in landing_message(admin_browser, replay)
    with database.session() as session:
        assert all(s.used_at is not None for s in session.scalars(select(OAuthState)))


def test_state_belongs_to_the_user_who_started(
    admin_browser: TestClient, xero_browser: TestClient, service: TestClient, seeded: Seeded
) -> None:
    consent = give_consent(
        xero_browser, admin_browser.post("/api/v1/xero/connect").json()["authorize_url"], [AU]
    )
    service.cookies.clear()
    service.headers["Authorization"] = f"Bearer {seeded.admin_token}"
    landed = service.get(consent.callback, follow_redirects=False)
    assert "could not be verified" in landing_message(service, landed)


def test_members_cannot_connect(service: TestClient, seeded: Seeded) -> None:
    service.headers["Authorization"] = f"Bearer {seeded.member_token}"
    assert service.post("/api/v1/xero/connect").status_code == 403


def test_disconnect_then_reconnect_keeps_the_connection_row(
    admin_browser: TestClient, xero_browser: TestClient, sandbox_state: SandboxState, database: Database
) -> None:
    _connect(admin_browser, xero_browser, [AU, NZ])
    before = {c["tenant_name"]: c["id"] for c in admin_browser.get("/api/v1/xero/connections").json()}

    response = admin_browser.delete(f"/api/v1/xero/connections/{before[AU]}")
    assert response.status_code == 200
    assert response.json()["message"] == "Disconnected successfully"
    statuses = {c["tenant_name"]: c["status"] for c in admin_browser.get("/api/v1/xero/connections").json()}
    assert statuses == {AU: "disconnected", NZ: "connected"}
    assert {sandbox_state.orgs[c.tenant_id].name for c in sandbox_state.connections.values()} == {NZ}

    admin_browser.delete(f"/api/v1/xero/connections/{before[NZ]}")
    assert sandbox_state.connections == {}
    with database.session() as session:
        assert session.scalars(select(XeroGrant)).all() == []  # tokens forgotten

    _connect(admin_browser, xero_browser, [AU])
    after = {
        c["tenant_name"]: (c["id"], c["status"]) for c in admin_browser.get("/api/v1/xero/connections").json()
    }
    assert after[AU] == (before[AU], "connected")
    assert after[NZ] == (before[NZ], "disconnected")
    with database.session() as session:
        assert len(session.scalars(select(XeroConnection)).all()) == 2


def test_disconnecting_one_of_two_consents_by_one_user_leaves_the_other_connected(
    admin_browser: TestClient, xero_browser: TestClient, sandbox_state: SandboxState, database: Database
) -> None:
    """Xero's authorisation is per user and app: AU and NZ connected one consent at a time
    by the same person share it, so revoking AU's refresh token would remove NZ too. AU's
    Disconnect deletes only AU's connection, and NZ keeps working."""
    _connect(admin_browser, xero_browser, [AU])
    _connect(admin_browser, xero_browser, [NZ])
    ids = {c["tenant_name"]: c["id"] for c in admin_browser.get("/api/v1/xero/connections").json()}
    with database.session() as session:
        users = {g.xero_user_id for g in session.scalars(select(XeroGrant))}
    assert len(users) == 1 and None not in users  # two grants, one Xero user, recorded

    assert admin_browser.delete(f"/api/v1/xero/connections/{ids[AU]}").status_code == 200
    assert {sandbox_state.orgs[c.tenant_id].name for c in sandbox_state.connections.values()} == {NZ}
    synced = admin_browser.post(f"/api/v1/xero/connections/{ids[NZ]}/sync", json={})
    assert synced.status_code == 202, synced.text

    assert admin_browser.delete(f"/api/v1/xero/connections/{ids[NZ]}").status_code == 200
    assert sandbox_state.connections == {}
    assert sandbox_state.grants == {}  # the last one revokes the authorisation
