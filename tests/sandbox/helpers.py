"""Plain helper functions that drive the sandbox like a browser and an app would."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.testclient import TestClient

from ledgerbridge.sandbox.seeding import DEMO_EMAIL, DEMO_PASSWORD, demo_tenant_id

AU = demo_tenant_id("Demo Company (AU)")
NZ = demo_tenant_id("Demo Company (NZ)")
REDIRECT = "https://app.example/callback"
SCOPES = "openid profile email offline_access accounting.contacts accounting.transactions"


@dataclass
class RegisteredApp:
    client_id: str
    client_secret: str | None
    webhook_key: str


def register_app(client: TestClient, **fields: Any) -> RegisteredApp:
    body = {"name": "Test app", "redirect_uris": [REDIRECT], **fields}
    response = client.post("/_sandbox/apps", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    return RegisteredApp(data["client_id"], data["client_secret"], data["webhook_key"])


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def consent(
    client: TestClient,
    client_id: str,
    *,
    scope: str = SCOPES,
    tenant_ids: list[str] | None = None,
    action: str = "allow",
    challenge: str | None = None,
    state: str = "st4te",
    redirect_uri: str = REDIRECT,
) -> httpx.Response:
    """Open the authorize URL, sign in as the demo user if asked, and answer consent."""
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "scope": scope, "state": state}
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    page = client.get("/identity/connect/authorize", params=params, follow_redirects=False)
    if page.status_code == 200 and 'name="password"' in page.text:
        page = client.post("/identity/connect/authorize/login", follow_redirects=False, data={
            "request_id": _hidden(page.text, "request_id"),
            "email": DEMO_EMAIL, "password": DEMO_PASSWORD,
        })
    assert page.status_code == 303, page.text
    page = client.get(page.headers["location"])
    assert page.status_code == 200 and "Allow access" in page.text, page.text
    return client.post("/identity/connect/consent", follow_redirects=False, data={
        "request_id": _hidden(page.text, "request_id"),
        "action": action,
        "tenant_id": tenant_ids if tenant_ids is not None else [AU],
    })


def redirect_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def connect_with_secret(
    client: TestClient, app: RegisteredApp, **consent_args: Any
) -> dict[str, Any]:
    """The whole authorization-code flow for a confidential app; the token response."""
    code = redirect_params(consent(client, app.client_id, **consent_args))["code"]
    assert app.client_secret
    response = client.post("/connect/token", headers=basic(app.client_id, app.client_secret),
                           data={"grant_type": "authorization_code", "code": code,
                                 "redirect_uri": REDIRECT})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def api_headers(tokens: dict[str, Any], tenant_id: str | None = AU) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    if tenant_id is not None:
        headers["xero-tenant-id"] = tenant_id
    return headers


def refresh(client: TestClient, app: RegisteredApp, refresh_token: str) -> httpx.Response:
    return client.post("/connect/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": app.client_id, "client_secret": app.client_secret or "",
    })
