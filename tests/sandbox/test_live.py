"""Against a real socket: the official xero-python SDK, the CLI, and a dropped connection.

The sandbox runs under uvicorn on 127.0.0.1 in a thread, sharing its state with an
in-process TestClient that drives the consent pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.identity import IdentityApi

from ledgerbridge.sandbox import SandboxClock, SandboxState, create_sandbox_app
from ledgerbridge.sandbox.cli import app as cli
from tests.sandbox.conftest import probe_extensions
from tests.sandbox.helpers import AU, api_headers, connect_with_secret, register_app
from tests.servers import serve


@dataclass
class Live:
    url: str
    app: FastAPI
    state: SandboxState
    client: TestClient


@pytest.fixture
def live() -> Iterator[Live]:
    state = SandboxState(clock=SandboxClock(speed=0))
    app = create_sandbox_app(state, extensions=probe_extensions())
    with serve(app) as url, TestClient(app, base_url="http://sandbox.test") as client:
        yield Live(url, app, state, client)


@pytest.fixture
def sdk_urls(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the SDK's hard-coded identity URLs at the sandbox (XERO_API_NOTES 1.1)."""
    monkeypatch.setattr(TokenApi, "refresh_token_url", f"{live.url}/connect/token")
    monkeypatch.setattr(TokenApi, "revoke_token_url", f"{live.url}/connect/revocation")
    monkeypatch.setattr(TokenApi, "client_credentials_token_url", f"{live.url}/connect/token")
    # The SDK's Configuration keeps the first instance ever built as a process-wide
    # default and ignores later constructor arguments; start each test from none.
    monkeypatch.setattr(Configuration, "_default", None)


def _configuration(client_id: str, secret: str) -> Configuration:
    Configuration._default = None  # restored by the monkeypatch in sdk_urls
    return Configuration(oauth2_token=OAuth2Token(client_id=client_id, client_secret=secret))


def _sdk_client(client_id: str, secret: str, token: dict[str, Any]) -> ApiClient:
    api_client = ApiClient(_configuration(client_id, secret))
    store: dict[str, Any] = {"token": dict(token, scope=token["scope"].split())}

    @api_client.oauth2_token_getter
    def get_token() -> dict[str, Any]:
        return store["token"]

    @api_client.oauth2_token_saver
    def save_token(new: dict[str, Any]) -> None:
        store["token"] = new

    return api_client


@pytest.mark.usefixtures("sdk_urls")
def test_xero_python_refreshes_twice_and_lists_connections(live: Live) -> None:
    registered = register_app(live.client)
    assert registered.client_secret
    tokens = connect_with_secret(live.client, registered)
    api_client = _sdk_client(registered.client_id, registered.client_secret, tokens)

    refreshed = api_client.refresh_oauth2_token()
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["scope"] == tokens["scope"].split()

    # The old token once more, inside the grace period: the same new pair comes back.
    old = _sdk_client(registered.client_id, registered.client_secret, tokens)
    assert old.refresh_oauth2_token()["refresh_token"] == refreshed["refresh_token"]

    connections = IdentityApi(api_client, base_url=live.url).get_connections()
    assert [str(c.tenant_id) for c in connections] == [AU]
    assert connections[0].tenant_name == "Demo Company (AU)"

    # And outside it: the SDK surfaces the token endpoint's 400 invalid_grant.
    live.state.clock.advance(31 * 60)
    too_late = _sdk_client(registered.client_id, registered.client_secret, tokens)
    with pytest.raises(Exception, match="invalid_grant"):
        too_late.refresh_oauth2_token()


@pytest.mark.usefixtures("sdk_urls")
def test_xero_python_client_credentials(live: Live) -> None:
    registered = register_app(
        live.client,
        redirect_uris=[],
        custom_connection_tenant_id=AU,
        custom_connection_scopes=["accounting.contacts"],
    )
    assert registered.client_secret
    api_client = ApiClient(_configuration(registered.client_id, registered.client_secret))
    store: dict[str, Any] = {}
    api_client.oauth2_token_saver(lambda token: store.update(token=token))
    api_client.oauth2_token_getter(lambda: store["token"])
    token = api_client.get_client_credentials_token()
    assert token["access_token"] and not token.get("refresh_token")


def test_dropped_connection_over_a_socket(live: Live) -> None:
    headers = api_headers(connect_with_secret(live.client, register_app(live.client)))
    live.client.put(f"/_sandbox/organisations/{AU}/faults", json={"drop_after_commit_next": 1})
    with pytest.raises(httpx.TransportError):
        httpx.put(f"{live.url}/api.xro/2.0/Contacts", headers=headers, json={"Name": "Lost"})
    names = [c["Name"] for c in live.state.orgs[AU].records("Contacts").values()]
    assert "Lost" in names


def test_cli_commands_against_a_running_sandbox(live: Live) -> None:
    runner = CliRunner()
    created = runner.invoke(
        cli,
        [
            "apps",
            "create",
            "--name",
            "CLI app",
            "--redirect-uri",
            "https://cli.example/cb",
            "--url",
            live.url,
        ],
    )
    assert created.exit_code == 0, created.output
    assert "client_id:" in created.output and "webhook_key:" in created.output

    orgs = runner.invoke(cli, ["orgs", "--url", live.url])
    assert "Demo Company (AU)" in orgs.output and "Demo Company (NZ)" in orgs.output

    before = live.state.clock.time()
    advanced = runner.invoke(cli, ["clock", "advance", "3600", "--url", live.url])
    assert advanced.exit_code == 0
    assert live.state.clock.time() - before == pytest.approx(3600)

    seeded = runner.invoke(
        cli, ["seed", "--org", "Acme (UK):GB:GBP", "--size", "contacts=5", "--url", live.url]
    )
    assert seeded.exit_code == 0, seeded.output
    uk = next(o for o in live.state.orgs.values() if o.name == "Acme (UK)")
    assert (uk.country_code, uk.base_currency, len(uk.records("Contacts"))) == ("GB", "GBP", 5)

    reset = runner.invoke(cli, ["reset", "--url", live.url])
    assert reset.exit_code == 0
    assert sorted(o.name for o in live.state.orgs.values()) == ["Demo Company (AU)", "Demo Company (NZ)"]

    unreachable = runner.invoke(cli, ["orgs", "--url", "http://127.0.0.1:9"])
    assert unreachable.exit_code == 2
