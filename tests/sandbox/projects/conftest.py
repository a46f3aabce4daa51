"""Fixtures: a sandbox with the Projects family, a ``projects``-scoped token, and a client
whose every Projects call is validated against xero-projects.yaml."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ledgerbridge.sandbox import SandboxExtensions, SandboxState, create_sandbox_app, projects
from ledgerbridge.sandbox.extensions import PROJECTS
from tests.sandbox.helpers import api_headers, connect_with_secret, register_app
from tests.sandbox.payroll_au.contract import ContractChecker

PROJECT_SCOPES = "openid offline_access projects"


@pytest.fixture
def contract() -> ContractChecker:
    return ContractChecker("xero-projects.yaml", PROJECTS)


@pytest.fixture
def api(state: SandboxState, contract: ContractChecker) -> Iterator[TestClient]:
    app = create_sandbox_app(state, extensions=projects.register(SandboxExtensions()))
    with TestClient(app, base_url="http://sandbox.test") as client:
        contract.install(client)
        yield client


@pytest.fixture
def headers(api: TestClient) -> dict[str, str]:
    return api_headers(connect_with_secret(api, register_app(api), scope=PROJECT_SCOPES))
