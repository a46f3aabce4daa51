"""Fault injection, scripted exactly through the control API."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from ledgerbridge.sandbox import SandboxState, create_sandbox_app
from ledgerbridge.sandbox.faults import DroppedConnection
from tests.sandbox.conftest import probe_extensions
from tests.sandbox.helpers import AU, NZ, api_headers, connect_with_secret, register_app


def _faults(client: TestClient, **fields: object) -> None:
    response = client.put(f"/_sandbox/organisations/{AU}/faults", json=fields)
    assert response.status_code == 200, response.text


def test_fail_next_scripts_exact_statuses(client: TestClient) -> None:
    headers = api_headers(connect_with_secret(client, register_app(client)))
    _faults(client, fail_next=[503, 500])

    statuses = [client.get("/api.xro/2.0/Contacts", headers=headers) for _ in range(3)]

    assert [r.status_code for r in statuses] == [503, 500, 200]
    assert statuses[0].text == "The Xero API is temporarily unavailable"
    assert statuses[1].text.startswith("An unhandled error with the Xero API occurred")
    assert statuses[0].headers["X-MinLimit-Remaining"] == "59"  # faulted calls still count


def test_faults_are_per_organisation(client: TestClient) -> None:
    tokens = connect_with_secret(client, register_app(client), tenant_ids=[AU, NZ])
    _faults(client, offline=True)
    assert client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens, AU)).status_code == 503
    assert client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens, NZ)).status_code == 200
    client.delete(f"/_sandbox/organisations/{AU}/faults")
    assert client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens, AU)).status_code == 200


def test_error_rate_is_reproducible_with_a_seed(client: TestClient) -> None:
    headers = api_headers(connect_with_secret(client, register_app(client)))
    client.put(f"/_sandbox/organisations/{AU}/limits", json={"enabled": False})

    def run() -> list[int]:
        _faults(client, error_rate_500=0.3, error_rate_503=0.3, seed=42)
        statuses = [client.get("/api.xro/2.0/Contacts", headers=headers).status_code
                    for _ in range(20)]
        return statuses

    first, second = run(), run()
    assert first == second
    assert {500, 503, 200} <= set(first)


def test_dropped_connection_after_commit(client: TestClient) -> None:
    headers = api_headers(connect_with_secret(client, register_app(client)))
    before = len(client.get("/api.xro/2.0/Contacts", headers=headers).json()["Contacts"])
    _faults(client, drop_after_commit_next=1)

    with pytest.raises(httpx.RemoteProtocolError):
        client.put("/api.xro/2.0/Contacts", headers=headers, json={"Name": "Maybe"})

    names = [c["Name"] for c in client.get("/api.xro/2.0/Contacts", headers=headers)
             .json()["Contacts"]]
    assert len(names) == before + 1
    assert "Maybe" in names


def test_dropped_connection_over_httpx_asgi_transport(state: SandboxState) -> None:
    app = create_sandbox_app(state, extensions=probe_extensions())
    with TestClient(app, base_url="http://sandbox.test") as setup:
        headers = api_headers(connect_with_secret(setup, register_app(setup)))
        _faults(setup, drop_after_commit_next=1)

    async def call() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as ac:
            await ac.put("/api.xro/2.0/Contacts", headers=headers, json={"Name": "Async"})

    with pytest.raises(DroppedConnection):
        asyncio.run(call())
    org = state.orgs[AU]
    assert "Async" in [c["Name"] for c in org.records("Contacts").values()]


def test_timeout_raise_mode_does_not_run_the_handler(client: TestClient, state: SandboxState) -> None:
    headers = api_headers(connect_with_secret(client, register_app(client)))
    before = len(state.orgs[AU].records("Contacts"))
    _faults(client, timeout_next=1, timeout_mode="raise")

    with pytest.raises(httpx.ReadTimeout):
        client.put("/api.xro/2.0/Contacts", headers=headers, json={"Name": "Never"})

    assert len(state.orgs[AU].records("Contacts")) == before
    assert client.get("/api.xro/2.0/Contacts", headers=headers).status_code == 200


def test_timeout_hang_mode_waits_then_504(client: TestClient, state: SandboxState) -> None:
    state.config.hang_seconds = 0.05
    headers = api_headers(connect_with_secret(client, register_app(client)))
    _faults(client, timeout_next=1)
    started = time.monotonic()
    response = client.get("/api.xro/2.0/Contacts", headers=headers)
    assert response.status_code == 504
    assert time.monotonic() - started >= 0.05


def test_latency_is_added(client: TestClient) -> None:
    headers = api_headers(connect_with_secret(client, register_app(client)))
    _faults(client, latency_ms=60)
    started = time.monotonic()
    assert client.get("/api.xro/2.0/Contacts", headers=headers).status_code == 200
    assert time.monotonic() - started >= 0.06


def test_fault_config_is_validated(client: TestClient) -> None:
    response = client.put(f"/_sandbox/organisations/{AU}/faults", json={"fail_next": [418]})
    assert response.status_code == 422
