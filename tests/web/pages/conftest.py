"""Pages through TestClient: the service in front of the in-process sandbox (the fixtures
of tests/xero), and a browser-like client that signs in through the sign-in form."""

# ruff: noqa: F811 - pytest passes the imported fixtures by name
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.factories import PASSWORD, Seeded
from tests.xero.conftest import (  # noqa: F401 - fixtures shared with the Xero tests
    admin_browser,
    au,
    sandbox_app,
    sandbox_state,
    sandbox_time,
    service,
    xero_browser,
    xero_services,
    xero_settings,
)

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = TOKEN.search(html)
    assert found, html
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    form = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_of(form.text),
            "next": "/integrations",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def post_form(client: TestClient, page: str, action: str, data: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """Submit a form as the browser would: with the token from the page it is on."""
    token = csrf_of(client.get(page).text)
    return client.post(action, data={**(data or {}), "csrf_token": token}, follow_redirects=False)


@pytest.fixture
def owner_page(service: TestClient, seeded: Seeded) -> TestClient:
    """The owner's browser, signed in through the sign-in page."""
    sign_in(service, seeded.owner_email)
    return service
