"""Outgoing webhooks: signature (checked with an independent HMAC), intent to receive,
batching and retries on the sandbox clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ledgerbridge.sandbox import SandboxClock, SandboxState, create_sandbox_app
from ledgerbridge.sandbox.config import DAY
from ledgerbridge.sandbox.webhooks import sign
from tests.sandbox.conftest import probe_extensions
from tests.sandbox.helpers import (
    AU,
    RegisteredApp,
    api_headers,
    connect_with_secret,
    register_app,
)

HOOK_URL = "https://receiver.example/xero/webhooks"


def independent_signature(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Receiver:
    """A webhook endpoint that behaves as Xero requires, recording what it got."""

    key: str = ""
    status_override: int | None = None
    received: list[tuple[bytes, str, bool]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.content
        signature = request.headers["x-xero-signature"]
        valid = hmac.compare_digest(signature, independent_signature(body, self.key))
        self.received.append((body, signature, valid))
        if self.status_override is not None:
            return httpx.Response(self.status_override)
        return httpx.Response(200 if valid else 401)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body, _sig, valid in self.received
                if valid and json.loads(body)["events"]]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def hooked(state: SandboxState, receiver: Receiver) -> Iterator[TestClient]:
    app = create_sandbox_app(state, extensions=probe_extensions(),
                             webhook_transport=httpx.MockTransport(receiver))
    with TestClient(app, base_url="http://sandbox.test") as client:
        yield client


def _subscribe(client: TestClient, receiver: Receiver) -> RegisteredApp:
    app = register_app(client, webhook_url=HOOK_URL)
    receiver.key = app.webhook_key
    result = client.post(f"/_sandbox/apps/{app.client_id}/webhook/intent-to-receive").json()
    assert result["passed"], result
    return app


def test_signature_matches_the_documented_vector() -> None:
    body = (b'{"events":[],"lastEventSequence":0,"firstEventSequence":0,'
            b'"entropy":"S0m3r4Nd0mt3xt"}')
    assert sign(body, "my-webhook-key") == "5hZnJiKdyfCvlX3HABZaLWxdEP1leArCDItSmbxszfY="


def test_intent_to_receive_sends_good_and_bad_signatures(
    hooked: TestClient, receiver: Receiver
) -> None:
    _subscribe(hooked, receiver)
    assert len(receiver.received) == 4
    assert sorted(valid for _b, _s, valid in receiver.received) == [False, False, True, True]
    for body, _sig, _valid in receiver.received:
        payload = json.loads(body)
        assert payload["events"] == []
        assert payload["firstEventSequence"] == payload["lastEventSequence"] == 0
        assert payload["entropy"]
    subscription = hooked.get("/_sandbox/webhooks/subscriptions").json()
    assert {"url": HOOK_URL, "status": "ACTIVE"}.items() <= next(
        s for s in subscription if s["url"] == HOOK_URL).items()


def test_a_receiver_that_accepts_everything_fails_intent_to_receive(
    hooked: TestClient, receiver: Receiver
) -> None:
    app = register_app(hooked, webhook_url=HOOK_URL)
    receiver.key, receiver.status_override = app.webhook_key, 200
    result = hooked.post(f"/_sandbox/apps/{app.client_id}/webhook/intent-to-receive").json()
    assert not result["passed"]
    assert result["status"] == "PENDING"

    tokens = connect_with_secret(hooked, app)
    hooked.put("/api.xro/2.0/Contacts", headers=api_headers(tokens), json={"Name": "Quiet"})
    receiver.received.clear()
    assert hooked.post("/_sandbox/webhooks/deliver").json() == {"deliveries": []}
    assert receiver.received == []


def test_events_are_batched_signed_and_numbered(
    hooked: TestClient, receiver: Receiver
) -> None:
    app = _subscribe(hooked, receiver)
    headers = api_headers(connect_with_secret(hooked, app))
    ids = [hooked.put("/api.xro/2.0/Contacts", headers=headers, json={"Name": f"C{n}"})
           .json()["Contacts"][0]["ContactID"] for n in range(3)]
    receiver.received.clear()

    round_ = hooked.post("/_sandbox/webhooks/deliver").json()["deliveries"]

    assert [d["ok"] for d in round_] == [True]
    (body, signature, valid), = receiver.received
    assert valid
    assert signature == independent_signature(body, app.webhook_key)
    payload = json.loads(body)
    assert payload["firstEventSequence"] == 1
    assert payload["lastEventSequence"] == 3
    assert [e["resourceId"] for e in payload["events"]] == ids
    event = payload["events"][0]
    assert set(event) == {"resourceUrl", "resourceId", "eventDateUtc", "eventType",
                          "eventCategory", "tenantId", "tenantType"}
    assert event["resourceUrl"].endswith(f"/api.xro/2.0/Contacts/{ids[0]}")
    assert (event["eventCategory"], event["eventType"]) == ("CONTACT", "CREATE")
    assert event["tenantId"] == AU and event["tenantType"] == "ORGANISATION"
    assert len(event["eventDateUtc"].split(".")[1]) == 3
    assert not event["eventDateUtc"].endswith("Z")
    assert hooked.post("/_sandbox/webhooks/deliver").json() == {"deliveries": []}


def test_failed_deliveries_retry_on_the_clock_then_disable(
    hooked: TestClient, receiver: Receiver, clock: SandboxClock, state: SandboxState
) -> None:
    app = _subscribe(hooked, receiver)
    connect_with_secret(hooked, app)
    emitted = hooked.post("/_sandbox/webhooks/emit", json={
        "tenant_id": AU, "category": "INVOICE", "event_type": "UPDATE",
        "resource_id": "8c2f4d1e-1111-4c55-9d59-4b9a3c2e7a10"})
    assert emitted.json() == {"queued_for_apps": 1}
    receiver.status_override = 500

    first = hooked.post("/_sandbox/webhooks/deliver").json()["deliveries"]
    assert [d["status_code"] for d in first] == [500]
    assert hooked.post("/_sandbox/webhooks/deliver").json()["deliveries"] == []  # not yet due
    clock.advance(60)
    assert len(hooked.post("/_sandbox/webhooks/deliver").json()["deliveries"]) == 1

    clock.advance(DAY)
    last = hooked.post("/_sandbox/webhooks/deliver").json()["deliveries"]
    assert last[0]["subscription_status"] == "DISABLED"
    assert state.apps[app.client_id].webhook.pending == []


def test_a_retry_succeeds_and_keeps_its_sequence_numbers(
    hooked: TestClient, receiver: Receiver, clock: SandboxClock
) -> None:
    app = _subscribe(hooked, receiver)
    connect_with_secret(hooked, app)
    hooked.post("/_sandbox/webhooks/emit", json={
        "tenant_id": AU, "category": "CREDITNOTE", "event_type": "CREATE",
        "resource_id": "8c2f4d1e-2222-4c55-9d59-4b9a3c2e7a10",
        "data": {"Type": "ACCRECCREDIT", "Status": "DRAFT"}})
    receiver.status_override = 503
    hooked.post("/_sandbox/webhooks/deliver")
    receiver.status_override = None
    receiver.received.clear()
    clock.advance(60)

    assert hooked.post("/_sandbox/webhooks/deliver").json()["deliveries"][0]["ok"]
    (payload,) = receiver.events()
    assert payload["firstEventSequence"] == 1
    assert payload["events"][0]["data"] == {"Type": "ACCRECCREDIT", "Status": "DRAFT"}
    log = hooked.get("/_sandbox/webhooks/deliveries", params={"client_id": app.client_id}).json()
    assert [e["kind"] for e in log][-2:] == ["events", "events"]
