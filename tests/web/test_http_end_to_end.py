"""The API over a real socket: uvicorn on a loopback port, httpx, and a real API token."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ledgerbridge.db import Database
from ledgerbridge.settings import Settings
from ledgerbridge.web.app import create_app
from tests.factories import Seeded
from tests.servers import serve


@pytest.fixture
def live_url(settings: Settings, database: Database) -> Iterator[str]:
    with serve(create_app(settings, database), lifespan="on") as url:
        yield url


def test_token_flow_over_http(live_url: str, seeded: Seeded) -> None:
    auth = {"Authorization": f"Bearer {seeded.owner_token}"}
    with httpx.Client(base_url=live_url, timeout=10) as http:
        assert http.get("/healthz").json()["status"] == "ok"
        assert http.get("/api/v1/openapi.json").json()["info"]["title"] == "ledgerbridge API"
        assert http.get("/api/v1/members").status_code == 401

        me = http.get("/api/v1/me", headers=auth).json()
        assert me["workspace_id"] == seeded.workspace_id and me["role"] == "owner"

        entry = http.post(
            "/api/v1/time-entries",
            headers=auth,
            json={
                "member_id": seeded.employee_id,
                "task_id": seeded.task_id,
                "date": "2026-11-16",
                "start_time": "09:00",
                "end_time": "17:30",
                "break_minutes": 30,
            },
        )
        assert entry.status_code == 201, entry.text
        assert entry.json()["worked_minutes"] == 480

        listed = http.get("/api/v1/time-entries", headers=auth, params={"member_id": seeded.employee_id})
        assert [e["id"] for e in listed.json()["items"]] == [entry.json()["id"]]


def test_session_cookie_sign_in_and_out(live_url: str, seeded: Seeded) -> None:
    from tests.factories import PASSWORD

    with httpx.Client(base_url=live_url, timeout=10) as http:
        bad = http.post("/api/v1/auth/login", json={"email": seeded.owner_email, "password": "wrong"})
        assert bad.status_code == 401
        ok = http.post("/api/v1/auth/login", json={"email": seeded.owner_email.upper(), "password": PASSWORD})
        assert ok.status_code == 200, ok.text
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert http.get("/api/v1/me").json()["role"] == "owner"
        assert http.post("/api/v1/auth/logout").status_code == 204
        assert http.get("/api/v1/me").status_code == 401
