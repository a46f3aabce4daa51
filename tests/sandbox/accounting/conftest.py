"""Fixtures for the Accounting API: a real sandbox app (core's ``create_sandbox_app`` with
its guard), one seeded AU organisation, a custom-connection token, and a client whose every
request and response is validated against Xero's OpenAPI spec.

The contract check runs as an httpx event hook, so every test that uses ``api`` is a
contract test too: a response that does not match ``xero_accounting.yaml`` fails the call.
Requests are checked too, whatever the method. Responses with statuses the spec does not
document (Xero's specs list no 404s) are not checked. ``raw`` is the same client without
the request check, for requests Xero accepts but the spec does not describe (a lookup by
number, a naive ``If-Modified-Since``) and deliberately malformed ones.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

from ledgerbridge.sandbox import SandboxClock, SandboxConfig, SandboxState, create_sandbox_app
from ledgerbridge.sandbox.accounting import register
from ledgerbridge.sandbox.config import LimitConfig
from ledgerbridge.sandbox.extensions import SandboxExtensions
from ledgerbridge.sandbox.models import App, Organisation
from ledgerbridge.sandbox.oauth import client_credentials_grant, create_app
from ledgerbridge.sandbox.seeding import OrganisationSpec, seed

SPEC_PATH = Path("/work/shared/xero-openapi/xero_accounting.yaml")
XERO_HOST = "https://api.xero.com"
SCOPES = ["accounting.contacts", "accounting.transactions", "accounting.settings"]
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class ContractError(AssertionError):
    """A request or response that does not match the official spec."""


class _Request:
    """An httpx request as openapi-core sees it, re-homed on Xero's server URL."""

    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        url = urlsplit(str(request.url))
        self._path = url.path
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(url.query)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return XERO_HOST

    @property
    def path(self) -> str:
        return self._path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        content = self._request.content
        return content or None

    @property
    def content_type(self) -> str:
        return str(self._request.headers.get("content-type", "application/json"))


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def data(self) -> bytes:
        return self._response.content

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return str(self._response.headers.get("content-type", ""))

    @property
    def headers(self) -> Headers:
        return Headers(dict(self._response.headers))


def _fix_spec_defects(node: Any) -> int:
    """Xero's file gives boolean properties string defaults (``default: 'false'``), and
    read-only properties defaults; openapi-core fills defaults into requests and then
    rejects both (a string where a boolean goes, a write to a read-only property). Make
    the defaults real booleans and drop the ones on read-only properties. Nothing else in
    the spec is touched. Returns how many were fixed."""
    fixed = 0
    if isinstance(node, dict):
        if node.get("readOnly") and "default" in node:
            del node["default"]
            fixed += 1
        elif node.get("type") == "boolean" and node.get("default") in ("true", "false"):
            node["default"] = node["default"] == "true"
            fixed += 1
        for value in node.values():
            fixed += _fix_spec_defects(value)
    elif isinstance(node, list):
        for value in node:
            fixed += _fix_spec_defects(value)
    return fixed


@pytest.fixture(scope="session")
def spec() -> OpenAPI:
    with SPEC_PATH.open() as handle:
        data = yaml.load(handle, Loader=yaml.CSafeLoader)
    assert _fix_spec_defects(data) > 0
    # Strict spec validation would fail on the same defect family (string examples on
    # booleans); requests and responses are still validated against every schema.
    return OpenAPI.from_dict(data, config=Config(spec_validator_cls=None))


_BOOLEAN_PREFIXES = ("Is", "Has", "Can", "Enable", "Show")
_BOOLEAN_NAMES = {"SentToContact", "PaysTax", "IncludeInEmails", "AddToWatchlist", "IsDeleted"}


def _strict_booleans(node: Any, where: str) -> None:
    """openapi-core casts the strings "true"/"false" to booleans before validating a body,
    so it would pass the one mistake xero-python cannot survive (``deserialize_bool``
    raises on strings). Check those flags by name, strictly."""
    if isinstance(node, dict):
        for key, value in node.items():
            flag = key.startswith(_BOOLEAN_PREFIXES) or key in _BOOLEAN_NAMES
            if flag and not isinstance(value, bool | dict | list):
                raise ContractError(f"{where}: {key} is {value!r}, not a JSON boolean")
            _strict_booleans(value, where)
    elif isinstance(node, list):
        for value in node:
            _strict_booleans(value, where)


@dataclass
class Contract:
    spec: OpenAPI
    checked: int = 0

    def check(self, response: httpx.Response, *, request_too: bool) -> None:
        response.read()
        request = _Request(response.request)
        if request_too:
            with warnings.catch_warnings():
                # openapi-core cannot evaluate Xero's OAuth2 security scheme; the guard
                # tests cover auth, this check covers shapes.
                warnings.filterwarnings("ignore", "Unsupported scheme type", UserWarning)
                result = self.spec.unmarshal_request(request)
            if result.errors and not any(isinstance(e, PathNotFound) for e in result.errors):
                details = [f"{e!r}: {e.__cause__!r}" for e in result.errors]
                raise ContractError(f"request {request.method} {request.path}: {details}")
        if response.status_code >= 500 or response.status_code == 204:
            return
        if response.headers.get("content-type", "").startswith("application/json"):
            _strict_booleans(response.json(), response.request.url.path)
        try:
            self.spec.validate_response(request, _Response(response))
        except (ResponseNotFound, PathNotFound, OperationNotFound):
            return
        except Exception as exc:
            raise ContractError(
                f"response {response.status_code} to {request.method} {request.path}: {exc!r}\n"
                f"{response.text[:2000]}") from exc
        self.checked += 1


@dataclass
class Sandbox:
    state: SandboxState
    clock: SandboxClock
    org: Organisation
    api: TestClient
    raw: TestClient
    contract: Contract
    token: str
    extensions: SandboxExtensions
    oauth_app: App

    def collection(self, name: str) -> list[dict[str, Any]]:
        return list(self.org.records(name).values())

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock and take a fresh token (access tokens live 30 minutes)."""
        self.clock.advance(seconds)
        self.token = client_credentials_grant(self.state, self.oauth_app, True)["access_token"]
        for client in (self.api, self.raw):
            client.headers["Authorization"] = f"Bearer {self.token}"


def _headers(token: str, tenant_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "xero-tenant-id": tenant_id,
            "Accept": "application/json"}


@pytest.fixture
def sandbox(spec: OpenAPI) -> Iterator[Sandbox]:
    clock = SandboxClock(speed=0, start=START)
    config = SandboxConfig(default_limits=LimitConfig(enabled=False))
    state = SandboxState(config, clock=clock)
    extensions = register(SandboxExtensions())
    app = create_sandbox_app(state, extensions=extensions, seed=False)
    (org,) = seed(state, extensions, [OrganisationSpec("Test Company (AU)")],
                  {"contacts": 30, "invoices": 20})
    oauth_app = create_app(state, name="Accounting tests", redirect_uris=[],
                           custom_connection_tenant_id=org.tenant_id,
                           custom_connection_scopes=SCOPES)
    token = client_credentials_grant(state, oauth_app, True)["access_token"]
    contract = Contract(spec)
    headers = _headers(token, org.tenant_id)
    api = TestClient(app, base_url="http://sandbox.test", headers=headers)
    raw = TestClient(app, base_url="http://sandbox.test", headers=headers)
    api.event_hooks["response"].append(lambda r: contract.check(r, request_too=True))
    raw.event_hooks["response"].append(lambda r: contract.check(r, request_too=False))
    with api, raw:
        yield Sandbox(state, clock, org, api, raw, contract, token, extensions, oauth_app)
