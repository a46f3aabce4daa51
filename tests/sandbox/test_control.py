"""The control API, the clock, and persistence to the sandbox's own SQLite file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ledgerbridge.sandbox import (
    SandboxClock,
    SandboxConfig,
    SandboxState,
    create_sandbox_app,
)
from ledgerbridge.sandbox.seeding import DEMO_APP_CLIENT_ID
from tests.sandbox.conftest import probe_extensions
from tests.sandbox.helpers import AU, connect_with_secret, refresh, register_app


def test_clock_advance_speed_and_freeze() -> None:
    fake = [1000.0]
    clock = SandboxClock(real_time=lambda: fake[0])
    fake[0] += 10
    assert clock.time() == 1010
    clock.set_speed(60)
    fake[0] += 1
    assert clock.time() == 1070
    clock.advance(30)
    assert clock.time() == 1100
    clock.set_speed(0)
    fake[0] += 100
    assert clock.time() == 1100
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_clock_endpoint(client: TestClient, clock: SandboxClock) -> None:
    before = client.get("/_sandbox/clock").json()
    after = client.post("/_sandbox/clock", json={"advance_seconds": 86400, "speed": 0}).json()
    assert after["timestamp"] - before["timestamp"] == pytest.approx(86400)
    assert after["speed"] == 0


def test_demo_state(client: TestClient) -> None:
    orgs = {o["name"]: o for o in client.get("/_sandbox/organisations").json()}
    assert orgs["Demo Company (AU)"]["base_currency"] == "AUD"
    assert orgs["Demo Company (AU)"]["tenant_id"] == AU
    assert orgs["Demo Company (NZ)"]["country_code"] == "NZ"
    assert DEMO_APP_CLIENT_ID in [a["client_id"] for a in client.get("/_sandbox/apps").json()]


def test_seed_runs_the_registered_seeders(client: TestClient) -> None:
    response = client.post("/_sandbox/seed", json={
        "organisations": [{"name": "Acme (UK)", "country_code": "GB", "base_currency": "GBP",
                           "per_day": 1000}],
        "sizes": {"contacts": 7},
    })
    assert response.status_code == 200, response.text
    (org,) = response.json()["organisations"]
    assert org["collections"] == {"Contacts": 7}
    assert org["limits"]["per_day"] == 1000
    again = client.post("/_sandbox/seed", json={
        "organisations": [{"name": "Dup", "tenant_id": AU}]})
    assert again.status_code == 409


def test_reset_forgets_apps_and_restores_the_demo(client: TestClient) -> None:
    app = register_app(client)
    client.post("/_sandbox/seed", json={"organisations": [{"name": "Extra"}]})
    client.post("/_sandbox/reset")
    client_ids = [a["client_id"] for a in client.get("/_sandbox/apps").json()]
    assert app.client_id not in client_ids and DEMO_APP_CLIENT_ID in client_ids
    assert len(client.get("/_sandbox/organisations").json()) == 2


def test_app_registration_rules(client: TestClient) -> None:
    bad = client.post("/_sandbox/apps", json={"name": "x", "redirect_uris": ["https://*.x/cb"]})
    assert bad.status_code == 422
    unknown_org = client.post("/_sandbox/apps", json={
        "name": "x", "custom_connection_tenant_id": "00000000-0000-0000-0000-000000000000"})
    assert unknown_org.status_code == 422
    detail = client.get(f"/_sandbox/apps/{register_app(client).client_id}").json()
    assert detail["client_secret"] and detail["webhook_key"]


def test_admin_token_protects_the_control_api(state: SandboxState) -> None:
    state.config.admin_token = "s3cret"
    with TestClient(create_sandbox_app(state), base_url="http://sandbox.test") as client:
        assert client.get("/_sandbox/organisations").status_code == 401
        wrong = client.get("/_sandbox/organisations", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = client.get("/_sandbox/organisations", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    clock = SandboxClock(speed=0)
    state = SandboxState(SandboxConfig(), clock=clock, path=path)
    with TestClient(create_sandbox_app(state, extensions=probe_extensions()),
                    base_url="http://sandbox.test") as client:
        app = register_app(client)
        tokens = connect_with_secret(client, app)
        client.put(f"/_sandbox/organisations/{AU}/faults", json={"fail_next": [503]})
        with state.transaction():
            state.orgs[AU].put_record("Invoices", "i1", {"InvoiceID": "i1",
                                                         "Total": Decimal("10.10")})
            state.orgs[AU].next_number("INV")
    clock.advance(60)
    state.save_clock()
    state.close()

    reopened = SandboxState(SandboxConfig(), clock=SandboxClock(speed=0), path=path)
    assert reopened.clock.time() == pytest.approx(clock.time())
    record = reopened.orgs[AU].get_record("Invoices", "i1")
    assert record == {"InvoiceID": "i1", "Total": Decimal("10.10")}
    assert isinstance(record["Total"], Decimal)
    assert reopened.orgs[AU].faults.fail_next == [503]
    assert reopened.orgs[AU].counters == {"INV": 1}
    assert len(reopened.orgs[AU].records("Contacts")) == 2
    with TestClient(create_sandbox_app(reopened, extensions=probe_extensions()),
                    base_url="http://sandbox.test") as client:
        assert refresh(client, app, tokens["refresh_token"]).status_code == 200
        headers = {"Authorization": f"Bearer {tokens['access_token']}", "xero-tenant-id": AU}
        assert client.get("/api.xro/2.0/Contacts", headers=headers).status_code == 503
    reopened.close()
