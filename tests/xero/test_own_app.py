"""The workspace's own Xero app in the API (``GET``/``PUT``/``DELETE /xero/app``), through
the same ``xero.apps`` rules as the page: an omitted secret or webhook key keeps the stored
one, a new Client ID needs its own secret, an explicit null removes the webhook key, and
removing an app that organisations were connected through says how many need reconnecting.
Secrets never appear in a response or a log line."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.errors import XeroAuthError
from ledgerbridge.logging import configure_logging
from ledgerbridge.xero.apps import removed_app_reason
from ledgerbridge.xero.models import ConnectionStatus, GrantStatus, XeroApp, XeroConnection, XeroGrant
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded
from tests.xero.conftest import give_consent, landing_message

APP = "/api/v1/xero/app"
AU, NZ = "Demo Company (AU)", "Demo Company (NZ)"
SECRET = "own-app-client-secret-never-shown"
KEY = "own-app-webhook-key-never-shown"


def _stored(database: Database) -> XeroApp | None:
    with database.session() as session:
        app = session.scalar(select(XeroApp))
        if app is not None:
            session.expunge(app)
        return app


def _fields(response: httpx.Response) -> dict[str, str]:
    problem = response.json()
    return {e["field"]: e["message"] for e in problem["errors"]}


def test_put_keeps_what_is_left_out_and_a_new_client_id_needs_its_secret(
    admin_browser: TestClient, database: Database, xero_services: XeroServices
) -> None:
    configure_logging("INFO")  # the fixtures' WARNING would filter the saves out
    try:
        with structlog.testing.capture_logs() as logs:
            first = admin_browser.put(APP, json={"client_id": "OWN1"})
            assert first.status_code == 422
            assert "client_secret" in _fields(first) and _stored(database) is None

            saved = admin_browser.put(
                APP, json={"client_id": "OWN1", "client_secret": SECRET, "webhook_key": KEY}
            )
            assert saved.status_code == 200, saved.text
            body = saved.json()
            assert body["own_app"] is True and body["client_id"] == "OWN1"
            assert body["has_webhook_key"] is True and body["connected_through"] == 0
            assert SECRET not in saved.text and KEY not in saved.text

            # Secret and webhook key left out: both kept (the key used to be wiped here).
            again = admin_browser.put(APP, json={"client_id": "OWN1", "granular_scopes": True})
            assert again.status_code == 200, again.text
            assert again.json()["has_webhook_key"] is True and again.json()["granular_scopes"] is True
            kept = _stored(database)
            assert kept is not None and kept.webhook_key_sealed is not None
            assert xero_services.vault.open(kept.client_secret_sealed) == SECRET
            assert xero_services.vault.open(kept.webhook_key_sealed) == KEY

            # Another Client ID is another app: refused without its secret, nothing changed.
            other = admin_browser.put(APP, json={"client_id": "OWN2", "client_secret": ""})
            assert other.status_code == 422
            assert "different app" in _fields(other)["client_secret"]
            assert (_stored(database) or XeroApp()).client_id == "OWN1"
            changed = admin_browser.put(APP, json={"client_id": "OWN2", "client_secret": SECRET + "-2"})
            assert changed.status_code == 200 and changed.json()["has_webhook_key"] is True
            app = _stored(database)
            assert app is not None and app.client_id == "OWN2"
            assert xero_services.vault.open(app.client_secret_sealed) == SECRET + "-2"

            # An explicit null removes the webhook key; the secret stays.
            removed = admin_browser.put(APP, json={"client_id": "OWN2", "webhook_key": None})
            assert removed.status_code == 200 and removed.json()["has_webhook_key"] is False
            app = _stored(database)
            assert app is not None and app.webhook_key_sealed is None
            assert xero_services.vault.open(app.client_secret_sealed) == SECRET + "-2"
            shown = admin_browser.get(APP).text
    finally:
        configure_logging("WARNING")
    assert SECRET not in shown and KEY not in shown
    text = json.dumps(logs, default=str)
    assert SECRET not in text and KEY not in text
    assert [e["client_id"] for e in logs if e["event"] == "xero.app.saved"] == [
        "OWN1",
        "OWN1",
        "OWN2",
        "OWN2",
    ]


def _connect(admin_browser: TestClient, xero_browser: TestClient, organisation: str) -> str:
    """Connect through whichever app is in use; the authorize URL it started from."""
    authorize_url: str = admin_browser.post("/api/v1/xero/connect").json()["authorize_url"]
    consent = give_consent(xero_browser, authorize_url, [organisation])
    landing_message(admin_browser, admin_browser.get(consent.callback, follow_redirects=False))
    return authorize_url


def _statuses(database: Database) -> dict[str, tuple[ConnectionStatus, str | None, GrantStatus]]:
    with database.session() as session:
        return {
            c.tenant_name: (c.status, c.status_reason, session.get(XeroGrant, c.grant_id).status)  # type: ignore[union-attr]
            for c in session.scalars(select(XeroConnection))
        }


def test_delete_falls_back_to_the_built_in_app_and_counts_organisations_to_reconnect(
    admin_browser: TestClient, xero_browser: TestClient, database: Database, xero_services: XeroServices
) -> None:
    assert admin_browser.delete(APP).status_code == 404  # nothing to remove
    _connect(admin_browser, xero_browser, NZ)  # through the built-in app, before the own app
    # An app registered in the sandbox (Xero's developer portal), used as the own app.
    registered = xero_browser.post(
        "/_sandbox/apps",
        json={"name": "Harbour's own app", "redirect_uris": [admin_browser.get(APP).json()["redirect_url"]]},
    )
    assert registered.status_code == 201, registered.text
    own = registered.json()
    saved = admin_browser.put(
        APP, json={"client_id": own["client_id"], "client_secret": own["client_secret"]}
    )
    assert saved.status_code == 200, saved.text

    # Connect goes through the own app; the AU organisation's sign-in belongs to it.
    authorize_url = _connect(admin_browser, xero_browser, AU)
    assert f"client_id={own['client_id']}" in authorize_url
    with database.session() as session:
        grant = session.scalars(select(XeroGrant).where(XeroGrant.client_id == own["client_id"])).one()
        au = session.scalars(select(XeroConnection).where(XeroConnection.tenant_name == AU)).one()
        assert au.grant_id == grant.id
    assert admin_browser.get(APP).json()["connected_through"] == 1

    gone = admin_browser.delete(APP)
    assert gone.status_code == 200, gone.text
    body = gone.json()
    assert body["organisations_to_reconnect"] == 1
    assert "Reconnect the 1 organisation connected through it." in body["message"]
    assert body["app"]["own_app"] is False
    assert body["app"]["client_id"] == xero_services.settings.xero_client_id  # the built-in app
    assert own["client_secret"] not in gone.text
    assert _stored(database) is None
    # AU's tokens belong to the removed app: it needs reconnecting now, saying why and what
    # to do, and its grant is no longer used; NZ (the built-in app's) is untouched.
    statuses = _statuses(database)
    assert statuses[AU] == (
        ConnectionStatus.NEEDS_RECONNECT,
        removed_app_reason(own["client_id"]),
        GrantStatus.NEEDS_RECONNECT,
    )
    assert "Click Reconnect" in removed_app_reason(own["client_id"])
    assert statuses[NZ] == (ConnectionStatus.CONNECTED, None, GrantStatus.ACTIVE)
    with pytest.raises(XeroAuthError, match="was removed"):
        asyncio.run(xero_services.tokens.access_token(grant.id))
    # Connect uses the built-in app again, and reconnecting AU through it makes it whole.
    again = _connect(admin_browser, xero_browser, AU)
    assert f"client_id={xero_services.settings.xero_client_id}" in again
    assert _statuses(database)[AU] == (ConnectionStatus.CONNECTED, None, GrantStatus.ACTIVE)
    assert admin_browser.delete(APP).status_code == 404


def test_members_may_read_but_not_change_or_remove(
    service: TestClient, seeded: Seeded, admin_browser: TestClient, database: Database
) -> None:
    assert admin_browser.put(APP, json={"client_id": "OWN1", "client_secret": SECRET}).status_code == 200
    admin_browser.cookies.clear()
    service.headers["Authorization"] = f"Bearer {seeded.member_token}"
    assert service.get(APP).json()["client_id"] == "OWN1"
    assert service.put(APP, json={"client_id": "OWN9", "client_secret": "x"}).status_code == 403
    assert service.delete(APP).status_code == 403
    app = _stored(database)
    assert app is not None and app.client_id == "OWN1"
