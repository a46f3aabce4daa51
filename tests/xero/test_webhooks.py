"""Receiving Xero's webhooks: signature on the raw body, intent to receive, the inbox, and
the sandbox delivering to our app for real."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx
import pytest
import structlog
import structlog.testing
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.jobs.models import Job
from ledgerbridge.logging import configure_logging
from ledgerbridge.sandbox.seeding import DEMO_APP_CLIENT_ID, DEMO_APP_WEBHOOK_KEY, demo_tenant_id
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.settings import Settings
from ledgerbridge.xero import webhooks
from ledgerbridge.xero.client import ACCOUNTING, Organisation
from ledgerbridge.xero.models import WebhookEvent, XeroConnection, XeroGrant
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded, seed_workspace
from tests.xero.test_connections import AU, NZ, _connect

AU_ID = demo_tenant_id(AU)
NZ_ID = demo_tenant_id(NZ)
URL = "/webhooks/xero"
OUR_WEBHOOK_URL = "http://127.0.0.1:8000/webhooks/xero"


@pytest.fixture
def xero_settings(xero_settings: Settings) -> Settings:
    """The built-in app is the sandbox's demo app, webhooks key included; no background
    runner, so the queued fetches stay put for the assertions (tests/sync runs them)."""
    return xero_settings.model_copy(
        update={"xero_webhook_key": SecretStr(DEMO_APP_WEBHOOK_KEY), "run_jobs_in_web": False}
    )


def independent_signature(body: bytes, key: str) -> str:
    """Xero's rule computed here, apart from the code under test."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def event(
    tenant_id: str, category: str = "CONTACT", resource_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    resource_id = resource_id or str(uuid.uuid4())
    path = webhooks.FETCH_PATHS.get(category, "Subscriptions")
    return {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/{path}/{resource_id}",
        "resourceId": resource_id,
        "eventDateUtc": "2026-11-16T01:15:39.902",
        "eventType": "UPDATE",
        "eventCategory": category,
        "tenantId": tenant_id,
        "tenantType": "ORGANISATION",
        **extra,
    }


def payload(*events: dict[str, Any], entropy: str = "S0m3r4Nd0mt3xt") -> bytes:
    sequence = 0 if not events else 1
    body = {
        "events": list(events),
        "firstEventSequence": sequence,
        "lastEventSequence": sequence and len(events),
        "entropy": entropy,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def deliver(
    client: TestClient, body: bytes, key: str | None = DEMO_APP_WEBHOOK_KEY, url: str = URL
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-xero-signature"] = independent_signature(body, key)
    return client.post(url, content=body, headers=headers)


def inbox(database: Database) -> list[WebhookEvent]:
    with database.session() as session:
        return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.event_category)))


def fetch_jobs(database: Database) -> list[tuple[str | None, str]]:
    """(dedupe key, tenant) of each fetch queued by deliveries, whatever its status now."""
    with database.session() as session:
        jobs = session.scalars(select(Job).where(Job.kind == webhooks.FETCH_JOB).order_by(Job.dedupe_key))
        return [(job.dedupe_key, job.args["tenant_id"]) for job in jobs]


@pytest.fixture
def both(admin_browser: TestClient, xero_browser: TestClient) -> TestClient:
    """Our service with the AU and NZ demo organisations connected through consent."""
    _connect(admin_browser, xero_browser, [AU, NZ])
    return admin_browser


# -- signature and intent to receive -----------------------------------------------------


def test_signature_matches_the_documented_vector() -> None:
    body = b'{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'
    assert webhooks.sign(body, "my-webhook-key") == "5hZnJiKdyfCvlX3HABZaLWxdEP1leArCDItSmbxszfY="
    assert webhooks.verify_signature(body, "5hZnJiKdyfCvlX3HABZaLWxdEP1leArCDItSmbxszfY=", "my-webhook-key")
    assert not webhooks.verify_signature(body + b" ", webhooks.sign(body, "my-webhook-key"), "my-webhook-key")
    assert not webhooks.verify_signature(body, "ünïcode", "my-webhook-key")
    assert not webhooks.verify_signature(body, webhooks.sign(body, "k"), None)


def test_intent_to_receive_passes_with_the_right_key_only(service: TestClient) -> None:
    probe = payload()
    good = deliver(service, probe)
    assert (good.status_code, good.content) == (200, b"")
    assert "set-cookie" not in good.headers
    for key in ("a-wrong-key", None):
        bad = deliver(service, probe, key=key)
        assert (bad.status_code, bad.content) == (401, b"")


def test_without_a_configured_key_everything_is_refused(service: TestClient, xero_settings: Settings) -> None:
    service.app.state.xero.settings = xero_settings.model_copy(update={"xero_webhook_key": None})  # type: ignore[attr-defined]
    assert deliver(service, payload()).status_code == 401


def test_a_bad_signature_is_refused_and_stores_nothing(both: TestClient, database: Database) -> None:
    body = payload(event(AU_ID))
    forged = both.post(URL, content=body, headers={"x-xero-signature": independent_signature(body, "guess")})
    assert (forged.status_code, forged.content) == (401, b"")
    # Signed over other bytes (re-serialised JSON) is wrong too: the raw body counts.
    reformatted = json.dumps(json.loads(body), indent=1).encode()
    tampered = both.post(
        URL,
        content=reformatted,
        headers={"x-xero-signature": independent_signature(body, DEMO_APP_WEBHOOK_KEY)},
    )
    assert tampered.status_code == 401
    assert deliver(both, body, key=None).status_code == 401
    assert inbox(database) == []
    assert fetch_jobs(database) == []


# -- the inbox ---------------------------------------------------------------------------


def test_a_delivery_is_stored_once_and_asks_one_fetch_per_organisation(
    both: TestClient, database: Database
) -> None:
    contact, invoice, credit, nz_contact = (str(uuid.uuid4()) for _ in range(4))
    events = [
        event(AU_ID, "CONTACT", contact),
        event(AU_ID, "CONTACT", contact),  # repeated inside one batch
        event(AU_ID.upper(), "invoice", invoice.upper(), eventType="Create"),  # case as some docs show
        event(AU_ID, "CREDITNOTE", credit, data={"Type": "ACCRECCREDIT", "Status": "DRAFT"}),
        event(NZ_ID, "CONTACT", nz_contact),
    ]
    assert deliver(both, payload(*events)).status_code == 200
    stored = inbox(database)
    assert [(e.event_category, e.resource_id) for e in stored] == [
        ("CONTACT", contact),
        ("CONTACT", nz_contact),
        ("CREDITNOTE", credit),
        ("INVOICE", invoice),
    ]
    assert {e.tenant_id for e in stored} == {AU_ID, NZ_ID}
    assert next(e for e in stored if e.event_category == "CREDITNOTE").payload["data"]["Status"] == "DRAFT"

    one_fetch_each = sorted([(f"webhooks:{AU_ID}", AU_ID), (f"webhooks:{NZ_ID}", NZ_ID)])
    assert fetch_jobs(database) == one_fetch_each

    # Xero's retry of the same events (new entropy, so a new signature) is a no-op.
    assert deliver(both, payload(*events, entropy="ANOTHERRANDOMSTRING")).status_code == 200
    assert len(inbox(database)) == 4
    assert fetch_jobs(database) == one_fetch_each

    with database.session() as session:
        assert webhooks.tenants_with_pending(session) == sorted([AU_ID, NZ_ID])
        au = webhooks.pending_by_tenant(session, AU_ID)
        assert au == {"CONTACT": [contact], "INVOICE": [invoice], "CREDITNOTE": [credit]}
        assert len(au.event_ids) == 3


def test_outcome_counts_and_one_fetch_per_organisation(both: TestClient, database: Database) -> None:
    first = webhooks.parse_payload(
        payload(event(AU_ID), event(AU_ID, "INVOICE"), event(NZ_ID), event(str(uuid.uuid4())))
    )
    with database.session() as session:
        outcome = webhooks.accept(session, first)
        # More news for AU while its fetch is still queued joins that fetch.
        later = webhooks.accept(session, webhooks.parse_payload(payload(event(AU_ID, "CREDITNOTE"))))
    assert outcome == webhooks.DeliveryOutcome(
        received=4, stored=3, duplicates=0, ignored=1, tenants=tuple(sorted([AU_ID, NZ_ID]))
    )
    assert later.tenants == (AU_ID,)
    assert [tenant for _key, tenant in fetch_jobs(database)] == sorted([AU_ID, NZ_ID])
    with database.session() as session:
        again = webhooks.accept(session, first)
    assert (again.stored, again.duplicates, again.tenants) == (0, 3, ())


def test_events_for_unknown_or_unsubscribed_tenants_are_ignored(both: TestClient, database: Database) -> None:
    stranger = event(str(uuid.uuid4()))
    subscription = event(str(uuid.uuid4()), "SUBSCRIPTION", tenantType="APPLICATION")
    response = deliver(both, payload(stranger, subscription))
    assert (response.status_code, response.content) == (200, b"")
    assert inbox(database) == []
    assert fetch_jobs(database) == []


def test_handled_events_leave_the_pending_list(both: TestClient, database: Database) -> None:
    contact = str(uuid.uuid4())
    deliver(both, payload(event(AU_ID, "CONTACT", contact)))
    with database.session() as session:
        pending = webhooks.pending_by_tenant(session, AU_ID)
    # A newer change to the same contact arrives while the fetch runs: it must stay pending.
    deliver(both, payload(event(AU_ID, "CONTACT", contact, eventDateUtc="2026-11-16T02:00:00.000")))
    with database.session() as session:
        assert webhooks.mark_handled(session, pending.event_ids) == 1
    with database.session() as session:
        assert webhooks.mark_handled(session, pending.event_ids) == 0
        later = webhooks.pending_by_tenant(session, AU_ID)
        assert later == {"CONTACT": [contact]}
        assert later.event_ids != pending.event_ids
        webhooks.mark_handled(session, later.event_ids)
    with database.session() as session:
        assert webhooks.pending_by_tenant(session, AU_ID) == {}
        assert webhooks.tenants_with_pending(session) == []


def test_own_app_deliveries_use_the_workspace_key(
    both: TestClient, database: Database, seeded: Seeded
) -> None:
    own_key = "own-app-webhooks-key"
    saved = both.put(
        "/api/v1/xero/app",
        json={"client_id": "OWNAPP", "client_secret": "own-secret", "webhook_key": own_key},
    )
    assert saved.status_code == 200, saved.text
    own_url = f"{URL}/{seeded.workspace_id}"
    shown = both.get("/api/v1/xero/app").json()
    assert shown["webhook_url"] == f"http://127.0.0.1:8000{own_url}", "the URL to register with the own app"
    assert shown["has_webhook_key"] is True and own_key not in str(shown)
    body = payload(event(AU_ID))
    assert deliver(both, body, key=DEMO_APP_WEBHOOK_KEY, url=own_url).status_code == 401
    assert deliver(both, body, key=own_key, url=f"{URL}/{uuid.uuid4()}").status_code == 401
    assert inbox(database) == []
    assert deliver(both, body, key=own_key, url=own_url).status_code == 200
    assert [e.tenant_id for e in inbox(database)] == [AU_ID]


def test_an_own_app_speaks_only_for_its_workspace(
    both: TestClient, database: Database, seeded: Seeded
) -> None:
    with database.session() as session:
        other = seed_workspace(session, "Other Agency Ltd", slug="other")
        nz = session.scalars(select(XeroConnection).where(XeroConnection.tenant_id == NZ_ID)).one()
        nz.workspace_id = other.workspace_id
    both.put("/api/v1/xero/app", json={"client_id": "OWN", "client_secret": "s", "webhook_key": "k"})
    body = payload(event(NZ_ID))
    assert deliver(both, body, key="k", url=f"{URL}/{seeded.workspace_id}").status_code == 200
    assert inbox(database) == []
    assert deliver(both, body).status_code == 200  # the built-in app serves every workspace
    assert [e.tenant_id for e in inbox(database)] == [NZ_ID]


def test_neither_key_nor_signature_is_logged(both: TestClient) -> None:
    body = payload(event(AU_ID))
    signature = independent_signature(body, DEMO_APP_WEBHOOK_KEY)
    configure_logging("INFO")  # the fixtures' WARNING would filter the counts out
    try:
        with structlog.testing.capture_logs() as logs:
            deliver(both, body)
            deliver(both, body, key="wrong")
    finally:
        configure_logging("WARNING")
    text = json.dumps(logs, default=str)
    assert DEMO_APP_WEBHOOK_KEY not in text
    assert signature not in text
    received = next(entry for entry in logs if entry["event"] == "xero.webhook.received")
    assert (received["events"], received["stored"]) == (1, 1)
    assert any(entry["event"] == "xero.webhook.refused" for entry in logs)


# -- the sandbox delivers to our app -----------------------------------------------------


class Recorder(httpx.AsyncBaseTransport):
    """Passes the sandbox's webhook POSTs to our app, keeping each body, signature and answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[bytes, str, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self.inner.handle_async_request(request)
        self.seen.append((body, request.headers.get("x-xero-signature", ""), response.status_code))
        return response


@pytest.mark.anyio
async def test_the_sandbox_delivers_a_new_contact_to_our_inbox(
    admin_browser: TestClient,
    xero_browser: TestClient,
    service: TestClient,
    sandbox_state: SandboxState,
    xero_services: XeroServices,
    database: Database,
) -> None:
    _connect(admin_browser, xero_browser, [AU])
    recorder = Recorder(httpx.ASGITransport(app=service.app))
    sandbox_state.webhooks.transport = recorder

    # Register our endpoint with the sandbox's demo app and pass Xero's handshake.
    hook = xero_browser.put(f"/_sandbox/apps/{DEMO_APP_CLIENT_ID}/webhook", json={"url": OUR_WEBHOOK_URL})
    assert hook.status_code == 200, hook.text
    handshake = xero_browser.post(f"/_sandbox/apps/{DEMO_APP_CLIENT_ID}/webhook/intent-to-receive").json()
    assert handshake["passed"], handshake
    assert sorted(status for *_, status in recorder.seen) == [200, 200, 401, 401]

    # A change in Xero: a contact created through the API.
    with database.session() as session:
        org = Organisation(session.scalars(select(XeroGrant.id)).one(), AU_ID)
    created = await xero_services.client.request(
        org,
        "PUT",
        f"{ACCOUNTING}/Contacts",
        json={"Contacts": [{"Name": "Webhook Test Pty Ltd"}]},
        idempotency_key=str(uuid.uuid4()),
    )
    assert created.status_code == 200, created.text
    contact_id = created.json()["Contacts"][0]["ContactID"]

    recorder.seen.clear()
    deliveries = await sandbox_state.webhooks.deliver_pending()
    assert [d["status_code"] for d in deliveries] == [200]
    [(body, signature, status)] = recorder.seen
    assert status == 200
    assert hmac.compare_digest(signature, independent_signature(body, DEMO_APP_WEBHOOK_KEY))
    assert json.loads(body)["events"][0]["resourceId"] == contact_id

    stored = inbox(database)
    assert [(e.tenant_id, e.event_category, e.event_type, e.resource_id) for e in stored] == [
        (AU_ID, "CONTACT", "CREATE", contact_id)
    ]
    assert fetch_jobs(database) == [(f"webhooks:{AU_ID}", AU_ID)]

    # What the engine will do with it: fetch just that record by id, then mark it handled.
    with database.session() as session:
        pending = webhooks.pending_by_tenant(session, AU_ID)
    assert pending == {"CONTACT": [contact_id]}
    fetched = await xero_services.client.get(
        org, f"{ACCOUNTING}/{webhooks.FETCH_PATHS['CONTACT']}/{contact_id}"
    )
    assert fetched["Contacts"][0]["Name"] == "Webhook Test Pty Ltd"
    with database.session() as session:
        assert webhooks.mark_handled(session, pending.event_ids) == 1


def test_the_routes_listen_where_the_admin_is_told_to_register() -> None:
    """One definition of the paths (``xero.apps``): the URLs shown to register with Xero
    and the routes that receive deliveries cannot drift apart."""
    from ledgerbridge.web import webhooks as routes
    from ledgerbridge.xero import apps

    paths = {getattr(route, "path", None) for route in routes.router.routes}
    assert paths == {apps.BUILT_IN_WEBHOOK_PATH, apps.OWN_APP_WEBHOOK_PATH}
    settings = Settings(base_url="https://books.example.com")  # type: ignore[call-arg]
    assert apps.webhook_url(settings) == "https://books.example.com" + routes.BUILT_IN_PATH
    assert apps.webhook_url(settings, "ws-1") == "https://books.example.com/webhooks/xero/ws-1"
