"""Fixtures: a sandbox with the Payroll AU family, a token with the payroll scopes, and a
client whose every payroll call is validated against xero-payroll-au.yaml."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ledgerbridge.sandbox import SandboxExtensions, SandboxState, create_sandbox_app, payroll_au
from ledgerbridge.sandbox.extensions import PAYROLL_AU
from tests.sandbox.helpers import api_headers, connect_with_secret, register_app
from tests.sandbox.payroll_au.contract import ContractChecker

PAYROLL_SCOPES = "openid offline_access payroll.employees payroll.settings payroll.timesheets"


@pytest.fixture
def contract() -> ContractChecker:
    return ContractChecker("xero-payroll-au.yaml", PAYROLL_AU)


@pytest.fixture
def payroll(state: SandboxState, contract: ContractChecker) -> Iterator[TestClient]:
    app = create_sandbox_app(state, extensions=payroll_au.register(SandboxExtensions()))
    with TestClient(app, base_url="http://sandbox.test") as client:
        contract.install(client)
        yield client


@pytest.fixture
def headers(payroll: TestClient) -> dict[str, str]:
    tokens = connect_with_secret(payroll, register_app(payroll), scope=PAYROLL_SCOPES)
    return api_headers(tokens)
