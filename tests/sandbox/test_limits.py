"""Rate limits on the sandbox clock: minute, day, app minute and concurrency."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ledgerbridge.sandbox import SandboxClock, SandboxState
from ledgerbridge.sandbox.config import DAY, LimitConfig
from ledgerbridge.sandbox.limits import RateLimiter
from tests.sandbox.helpers import AU, NZ, api_headers, connect_with_secret, register_app


def test_61st_call_in_a_minute_is_429_until_the_clock_moves(
    client: TestClient, clock: SandboxClock
) -> None:
    headers = api_headers(connect_with_secret(client, register_app(client)))
    for n in range(60):
        response = client.get("/api.xro/2.0/Contacts", headers=headers)
        assert response.status_code == 200
        assert response.headers["X-MinLimit-Remaining"] == str(59 - n)

    clock.advance(20)
    limited = client.get("/api.xro/2.0/Contacts", headers=headers)

    assert limited.status_code == 429
    assert limited.headers["X-Rate-Limit-Problem"] == "minute"
    assert limited.headers["Retry-After"] == "40"
    assert limited.headers["X-MinLimit-Remaining"] == "0"
    assert limited.headers["X-DayLimit-Remaining"] == "4940"
    assert "X-AppMinLimit-Remaining" in limited.headers

    clock.advance(40)
    again = client.get("/api.xro/2.0/Contacts", headers=headers)
    assert again.status_code == 200
    assert again.headers["X-MinLimit-Remaining"] == "59"


def test_limits_are_per_organisation(client: TestClient) -> None:
    tokens = connect_with_secret(client, register_app(client), tenant_ids=[AU, NZ])
    for _ in range(60):
        client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens, AU))
    assert client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens, AU)).status_code == 429
    assert client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens, NZ)).status_code == 200


def test_day_limit_set_through_the_control_api(
    client: TestClient, clock: SandboxClock, state: SandboxState
) -> None:
    state.config.access_token_seconds = 2 * DAY  # keep one token for the whole test
    client.put(f"/_sandbox/organisations/{AU}/limits", json={"per_day": 3})
    headers = api_headers(connect_with_secret(client, register_app(client)))
    for _ in range(3):
        assert client.get("/api.xro/2.0/Contacts", headers=headers).status_code == 200

    clock.advance(3600)
    limited = client.get("/api.xro/2.0/Contacts", headers=headers)

    assert limited.status_code == 429
    assert limited.headers["X-Rate-Limit-Problem"] == "day"
    assert int(limited.headers["Retry-After"]) == DAY - 3600
    clock.advance(DAY - 3600)
    assert client.get("/api.xro/2.0/Contacts", headers=headers).status_code == 200


def test_app_minute_limit(client: TestClient, state: SandboxState) -> None:
    state.config.app_per_minute = 2
    tokens = connect_with_secret(client, register_app(client), tenant_ids=[AU, NZ])
    client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens, AU))
    client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens, NZ))
    limited = client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens, AU))
    assert limited.status_code == 429
    assert limited.headers["X-Rate-Limit-Problem"] == "appminute"


def test_disabled_limits_still_report_headers(client: TestClient) -> None:
    client.put(f"/_sandbox/organisations/{AU}/limits", json={"enabled": False, "per_minute": 1})
    headers = api_headers(connect_with_secret(client, register_app(client)))
    for _ in range(3):
        response = client.get("/api.xro/2.0/Contacts", headers=headers)
        assert response.status_code == 200
    assert response.headers["X-MinLimit-Remaining"] == "0"


def test_concurrency_slots_are_taken_and_released() -> None:
    limiter = RateLimiter(SandboxClock(speed=0))
    limits = LimitConfig()
    for _ in range(5):
        assert limiter.acquire("app", "org", limits, 10_000).allowed
    sixth = limiter.acquire("app", "org", limits, 10_000)
    assert not sixth.allowed
    assert sixth.problem == "concurrent"
    assert sixth.headers["X-Rate-Limit-Problem"] == "concurrent"
    limiter.release("app", "org")
    assert limiter.acquire("app", "org", limits, 10_000).allowed


def test_completed_requests_free_their_slot(client: TestClient) -> None:
    client.put(f"/_sandbox/organisations/{AU}/limits", json={"concurrent": 1})
    headers = api_headers(connect_with_secret(client, register_app(client)))
    for _ in range(3):
        assert client.get("/api.xro/2.0/Contacts", headers=headers).status_code == 200
