"""The own Xero app page: the Redirect URL and webhook URL to register, saving the app with
its secret sealed (never shown again, not even on a refused form), keeping the stored
secret when the box is left empty, Connect using the app, and Remove falling back to the
built-in app. Members are refused."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.xero.apps import removed_app_reason
from ledgerbridge.xero.models import ConnectionStatus, XeroApp, XeroConnection
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded
from tests.web.pages.conftest import csrf_of, post_form, sign_in
from tests.xero.conftest import give_consent

PAGE = "/settings/xero-app"
AU = "Demo Company (AU)"
SECRET = "s3cr3t-Xero-client-secret-do-not-show"
WEBHOOK_KEY = "webhook-key-never-to-be-shown"


def _app(database: Database) -> XeroApp | None:
    with database.session() as session:
        app = session.scalar(select(XeroApp))
        if app is not None:
            session.expunge(app)
        return app


def test_shows_what_to_register_and_saves_the_app_without_ever_showing_secrets(
    owner_page: TestClient, database: Database, xero_services: XeroServices, seeded: Seeded
) -> None:
    base = xero_services.settings.base_url.rstrip("/")
    first = owner_page.get(PAGE)
    assert first.status_code == 200
    assert f'id="redirect_url" value="{base}/integrations/xero/callback" readonly' in first.text
    own_webhook = f'id="webhook_url" value="{base}/webhooks/xero/{seeded.workspace_id}" readonly'
    assert own_webhook in first.text  # the URL for the workspace's own app, not the built-in one
    assert "built-in app" in first.text and 'data-copy="redirect_url" hidden' in first.text

    # A refused form keeps what was typed, except the secrets.
    refused = post_form(owner_page, PAGE, PAGE, {"client_id": "", "client_secret": SECRET})
    assert refused.status_code == 422
    assert "Client ID: paste the Client ID" in refused.text
    assert SECRET not in refused.text
    assert _app(database) is None
    no_secret = post_form(owner_page, PAGE, PAGE, {"client_id": "ABC123", "client_secret": ""})
    assert no_secret.status_code == 422 and "Client Secret: paste a secret" in no_secret.text
    assert 'value="ABC123"' in no_secret.text
    too_long = post_form(owner_page, PAGE, PAGE, {"client_id": "x" * 101, "client_secret": SECRET})
    assert "Client ID: this is longer than 100 characters" in too_long.text

    saved = post_form(
        owner_page, PAGE, PAGE, {"client_id": "ABC123", "client_secret": SECRET, "webhook_key": WEBHOOK_KEY}
    )
    assert saved.status_code == 303, saved.text
    app = _app(database)
    assert app is not None and app.client_id == "ABC123"
    assert xero_services.vault.open(app.client_secret_sealed) == SECRET
    assert app.webhook_key_sealed is not None
    assert xero_services.vault.open(app.webhook_key_sealed) == WEBHOOK_KEY
    text = owner_page.get(PAGE).text
    assert "Your Xero app is saved." in text
    assert "your own Xero app" in text and "A secret is stored (app last saved" in text
    assert SECRET not in text and WEBHOOK_KEY not in text and app.client_secret_sealed not in text
    assert own_webhook in text
    assert "A webhook key is stored" in text

    # Saving with the secret boxes left empty keeps both secrets...
    post_form(owner_page, PAGE, PAGE, {"client_id": "ABC123", "granular_scopes": "on"})
    kept = _app(database)
    assert kept is not None and kept.granular_scopes is True
    assert xero_services.vault.open(kept.client_secret_sealed) == SECRET
    assert kept.webhook_key_sealed is not None
    # ...but another Client ID is another app, which needs its own secret.
    other_app = post_form(owner_page, PAGE, PAGE, {"client_id": "XYZ789"})
    assert other_app.status_code == 422 and "paste that app&#39;s secret too" in other_app.text
    post_form(owner_page, PAGE, PAGE, {"client_id": "XYZ789", "client_secret": SECRET + "-2"})
    changed = _app(database)
    assert changed is not None and changed.client_id == "XYZ789"
    assert xero_services.vault.open(changed.client_secret_sealed) == SECRET + "-2"
    assert SECRET not in owner_page.get(PAGE).text

    # Connect now goes to Xero with the workspace's own Client ID.
    started = post_form(owner_page, "/integrations", "/integrations/xero/connect")
    assert parse_qs(urlsplit(started.headers["location"]).query)["client_id"] == ["XYZ789"]

    removed = post_form(owner_page, PAGE, PAGE + "/remove")
    assert removed.status_code == 303
    assert _app(database) is None
    after = owner_page.get(PAGE).text
    assert "Connect now uses the built-in app" in after and "Remove your Xero app" not in after
    assert SECRET not in after


def test_the_webhook_key_can_be_removed_alone(
    owner_page: TestClient, database: Database, xero_services: XeroServices
) -> None:
    post_form(
        owner_page, PAGE, PAGE, {"client_id": "ABC123", "client_secret": SECRET, "webhook_key": WEBHOOK_KEY}
    )
    post_form(owner_page, PAGE, PAGE, {"client_id": "ABC123", "remove_webhook_key": "on"})
    app = _app(database)
    assert app is not None and app.webhook_key_sealed is None
    assert xero_services.vault.open(app.client_secret_sealed) == SECRET
    assert "none stored" in owner_page.get(PAGE).text


def test_members_are_refused(service: TestClient, seeded: Seeded, database: Database) -> None:
    sign_in(service, "member@harbour.example.com")
    page = service.get(PAGE)
    assert page.status_code == 403
    assert "Only workspace owners and admins may do this." in page.text
    token = csrf_of(service.get("/integrations").text)
    answer = service.post(PAGE, data={"csrf_token": token, "client_id": "ABC", "client_secret": SECRET})
    assert answer.status_code == 403
    assert service.post(PAGE + "/remove", data={"csrf_token": token}).status_code == 403
    assert _app(database) is None


def test_removing_the_app_marks_its_organisations_needs_reconnect_with_the_reason(
    owner_page: TestClient, xero_browser: TestClient, database: Database, xero_services: XeroServices
) -> None:
    """The organisation connected through the removed app cannot renew its sign-in: the
    Integrations page says so at once, with why and what to do, instead of "Connected"."""
    redirect_url = xero_services.settings.base_url.rstrip("/") + "/integrations/xero/callback"
    registered = xero_browser.post(
        "/_sandbox/apps", json={"name": "Harbour", "redirect_uris": [redirect_url]}
    )
    assert registered.status_code == 201, registered.text
    own = registered.json()
    saved = post_form(
        owner_page, PAGE, PAGE, {"client_id": own["client_id"], "client_secret": own["client_secret"]}
    )
    assert saved.status_code == 303, saved.text
    started = post_form(owner_page, "/integrations", "/integrations/xero/connect")
    consent = give_consent(xero_browser, started.headers["location"], [AU])
    assert f"Connected to Xero: {AU}." in owner_page.get(consent.callback).text
    before = owner_page.get("/integrations").text
    assert ">Connected</span>" in before and "Needs reconnect" not in before

    removed = post_form(owner_page, PAGE, PAGE + "/remove")
    assert removed.status_code == 303
    assert "Reconnect the 1 organisation connected through it" in owner_page.get(PAGE).text
    text = html.unescape(owner_page.get("/integrations").text)
    assert "Needs reconnect" in text and ">Connected</span>" not in text
    assert removed_app_reason(own["client_id"]) in text
    assert "Reconnect" in text and "Force sync" not in text
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        assert connection.status is ConnectionStatus.NEEDS_RECONNECT
