"""Fixtures that put our service in front of the in-process sandbox.

The sandbox is Xero for these tests: our code talks to it over HTTP (an ASGI transport in
process, or a loopback port when several processes need it), never through mocks.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner

from ledgerbridge.db import Database
from ledgerbridge.jobs.runner import InProcessRunner
from ledgerbridge.sandbox.app import create_sandbox_app
from ledgerbridge.sandbox.clock import ClientClock
from ledgerbridge.sandbox.seeding import (
    DEMO_APP_CLIENT_ID,
    DEMO_APP_CLIENT_SECRET,
    DEMO_EMAIL,
    DEMO_PASSWORD,
)
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.settings import Settings, get_settings
from ledgerbridge.web.app import create_app
from ledgerbridge.xero.client import Organisation
from ledgerbridge.xero.models import XeroConnection, XeroGrant
from ledgerbridge.xero.services import XeroServices
from tests.factories import PASSWORD, Seeded
from tests.servers import serve

SANDBOX_URL = "http://sandbox.test"
AU = "Demo Company (AU)"


@pytest.fixture
def sandbox_state() -> SandboxState:
    return SandboxState()


@pytest.fixture
def sandbox_app(sandbox_state: SandboxState) -> FastAPI:
    return create_sandbox_app(sandbox_state)


@pytest.fixture
def xero_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "base_url": "http://127.0.0.1:8000",
            "xero_sandbox_url": SANDBOX_URL,
            "xero_client_id": DEMO_APP_CLIENT_ID,
            "xero_client_secret": SecretStr(DEMO_APP_CLIENT_SECRET),
            # Jobs run when a test runs them, never behind its back in the web app's lifespan.
            "run_jobs_in_web": False,
        }
    )


@pytest.fixture
def service(xero_settings: Settings, database: Database, xero_services: XeroServices) -> Iterator[TestClient]:
    with TestClient(create_app(xero_settings, database, xero=xero_services)) as client:
        yield client


@pytest.fixture
def run_jobs(service: TestClient, database: Database, xero_services: XeroServices) -> Callable[[], int]:
    """Run every queued job to the end, as the worker would, on the app's own event loop;
    returns how many ran. The scheduler stays off so a test sees only the jobs it queued."""

    def run() -> int:
        runner = InProcessRunner(database, xero_services, xero_services.clock, "test-worker", schedule=False)
        return service.portal.call(runner.run_until_idle)  # type: ignore[union-attr]

    return run


def force_sync_and_wait(api: TestClient, connection_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Force sync through the API as a client does: 202 with the queued run, the job run
    as the worker would, then the run read at its ``run_url``."""
    response = api.post(f"/api/v1/xero/connections/{connection_id}/sync", json=body)
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued" and response.headers["location"] == queued["run_url"], queued
    state = api.app.state  # type: ignore[attr-defined]
    runner = InProcessRunner(state.database, state.xero, state.xero.clock, "test-worker", schedule=False)
    api.portal.call(runner.run_until_idle)  # type: ignore[union-attr]
    run: dict[str, Any] = api.get(queued["run_url"]).json()
    assert run["id"] == queued["id"], run
    return run


@pytest.fixture
def xero_cli(
    monkeypatch: pytest.MonkeyPatch, xero_settings: Settings, database_url: str, sandbox_app: FastAPI
) -> Iterator[CliRunner]:
    """The command line as a separate process would run it: the same data directory (the key
    that sealed the tokens) and database, and the sandbox reached over a loopback socket."""
    with serve(sandbox_app) as sandbox_url:
        monkeypatch.setenv("LEDGERBRIDGE_DATA_DIR", str(xero_settings.data_dir))
        monkeypatch.setenv("LEDGERBRIDGE_DATABASE_URL", database_url)
        monkeypatch.setenv("LEDGERBRIDGE_LOG_LEVEL", "WARNING")
        monkeypatch.setenv("LEDGERBRIDGE_XERO_SANDBOX_URL", sandbox_url)
        monkeypatch.setenv("LEDGERBRIDGE_XERO_CLIENT_ID", DEMO_APP_CLIENT_ID)
        monkeypatch.setenv("LEDGERBRIDGE_XERO_CLIENT_SECRET", DEMO_APP_CLIENT_SECRET)
        get_settings.cache_clear()
        yield CliRunner()
        get_settings.cache_clear()


@pytest.fixture
def admin_browser(service: TestClient, seeded: Seeded) -> TestClient:
    """Our service as the owner's browser sees it: signed in with a session cookie."""
    response = service.post("/api/v1/auth/login", json={"email": seeded.owner_email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return service


@pytest.fixture
def xero_browser(sandbox_app: FastAPI) -> Iterator[TestClient]:
    """The same person's browser on Xero's (the sandbox's) sign-in and consent pages."""
    with TestClient(sandbox_app, base_url=SANDBOX_URL, follow_redirects=False) as client:
        yield client


@dataclass(frozen=True)
class Consent:
    callback: str
    """Path and query of the redirect back to our service."""
    organisations: dict[str, str]
    """Organisation name -> tenant id, as the consent page offered them."""


def give_consent(
    xero_browser: TestClient, authorize_url: str, pick: list[str] | None, action: str = "allow"
) -> Consent:
    """Sign in on the sandbox, then pick organisations by name and press a button."""
    page = xero_browser.get(authorize_url)
    if page.status_code in (302, 303):  # already signed in on Xero: straight to consent
        request_id = query_of(page.headers["location"])["request_id"]
        consent_page = xero_browser.get(page.headers["location"])
    else:
        assert page.status_code == 200, page.text
        found = re.search(r'name="request_id" value="([^"]+)"', page.text)
        assert found, page.text
        request_id = found.group(1)
        signed_in = xero_browser.post(
            "/identity/connect/authorize/login",
            data={"request_id": request_id, "email": DEMO_EMAIL, "password": DEMO_PASSWORD},
        )
        consent_page = xero_browser.get(signed_in.headers["location"])
    offered = {
        name.strip(): tenant
        for tenant, name in re.findall(
            r'name="tenant_id" value="([^"]+)"[^>]*>\s*(?:<[^>]+>\s*)*([^<]+)', consent_page.text
        )
    }
    chosen = [offered[name] for name in (pick or [])]
    decided = xero_browser.post(
        "/identity/connect/consent",
        data={"request_id": request_id, "action": action, "tenant_id": chosen},
    )
    assert decided.status_code in (302, 303), decided.text
    location = urlsplit(decided.headers["location"])
    return Consent(callback=f"{location.path}?{location.query}", organisations=offered)


def landing_message(browser: TestClient, landed: httpx.Response) -> str:
    """The message a redirect to Integrations carries (a signed flash cookie), as the page
    shows it."""
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == "/integrations"
    page = browser.get("/integrations", follow_redirects=False)
    found = re.search(r'data-flash="[a-z]+">([^<]*)<', page.text)
    assert found, page.text
    return html.unescape(found.group(1))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def sandbox_time(sandbox_state: SandboxState) -> ClientClock:
    """Our clock is the sandbox's: waits advance its time at once."""
    return ClientClock(sandbox_state.clock)


@pytest.fixture
def xero_services(
    xero_settings: Settings, database: Database, sandbox_app: FastAPI, sandbox_time: ClientClock
) -> XeroServices:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url=SANDBOX_URL)
    return XeroServices.build(xero_settings, database, http=http, clock=sandbox_time)


@pytest.fixture
def au(
    admin_browser: TestClient, xero_browser: TestClient, database: Database, sandbox_state: SandboxState
) -> Organisation:
    """The AU demo organisation, connected through the real consent flow."""
    authorize_url = admin_browser.post("/api/v1/xero/connect").json()["authorize_url"]
    admin_browser.get(give_consent(xero_browser, authorize_url, [AU]).callback)
    with database.session() as session:
        grant = session.scalars(select(XeroGrant)).one()
        connection = session.scalars(select(XeroConnection)).one()
        return Organisation(grant.id, connection.tenant_id)
