"""The OAuth 2.0 protocol with Xero: authorize URL, code exchange, refresh, revocation and
the connections endpoint. Stateless: storing what comes back is ``tokens`` and
``connections``' job. Every request goes through the caller's one ``httpx.AsyncClient``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from ledgerbridge.errors import XeroAuthError, XeroError, XeroUnavailable
from ledgerbridge.xero.hosts import XeroHosts

TIMEOUT = httpx.Timeout(20.0)


@dataclass(frozen=True)
class AppCredentials:
    client_id: str
    client_secret: str | None
    """None for an Auth-Code-with-PKCE app, which has no secret."""


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: datetime
    scopes: tuple[str, ...]

    @classmethod
    def from_response(cls, body: dict[str, Any], now: datetime) -> TokenSet:
        return cls(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token"),
            expires_at=now + timedelta(seconds=int(body.get("expires_in", 1800))),
            scopes=tuple(str(body.get("scope", "")).split()),
        )


@dataclass(frozen=True)
class Tenant:
    connection_id: str
    tenant_id: str
    tenant_name: str
    tenant_type: str
    auth_event_id: str | None


@dataclass(frozen=True)
class AuthorizeRequest:
    url: str
    state: str
    code_verifier: str


def authorize_request(
    hosts: XeroHosts, app: AppCredentials, redirect_uri: str, scopes: list[str]
) -> AuthorizeRequest:
    """A fresh state and PKCE pair, and the URL that sends the user to Xero's consent page."""
    state = generate_token(40)
    verifier = generate_token(64)
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    return AuthorizeRequest(f"{hosts.authorize_url}?{urlencode(query)}", state, verifier)


def _client_auth(app: AppCredentials, form: dict[str, str]) -> httpx.BasicAuth | None:
    if app.client_secret is None:
        form["client_id"] = app.client_id
        return None
    return httpx.BasicAuth(app.client_id, app.client_secret)


async def _token_call(
    http: httpx.AsyncClient, hosts: XeroHosts, app: AppCredentials, form: dict[str, str], now: datetime
) -> TokenSet:
    auth = _client_auth(app, form)
    try:
        response = await http.post(hosts.token_url, data=form, auth=auth, timeout=TIMEOUT)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        raise XeroUnavailable(f"Xero's token endpoint could not be reached ({type(exc).__name__}).") from exc
    if response.status_code == 200:
        return TokenSet.from_response(response.json(), now)
    error = _oauth_error(response)
    if error in {"invalid_grant", "invalid_client", "unauthorized_client"}:
        raise XeroAuthError(_explain(error), error)
    raise XeroError(f"Xero's token endpoint answered {response.status_code} ({error}).")


def _oauth_error(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", "unknown_error"))
    except ValueError:
        return f"http_{response.status_code}"


def _explain(error: str) -> str:
    return {
        "invalid_grant": "Xero no longer accepts this connection's authorisation (revoked, expired "
        "after 60 days unused, or disconnected in Xero). Reconnect it.",
        "invalid_client": "Xero does not recognise the app's Client ID and Secret. Check them in Settings.",
        "unauthorized_client": "This Xero app may not use this kind of authorisation. Check the app's "
        "type in the Xero developer portal.",
    }[error]


async def exchange_code(
    http: httpx.AsyncClient,
    hosts: XeroHosts,
    app: AppCredentials,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    now: datetime,
) -> TokenSet:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    return await _token_call(http, hosts, app, form, now)


async def refresh(
    http: httpx.AsyncClient, hosts: XeroHosts, app: AppCredentials, refresh_token: str, now: datetime
) -> TokenSet:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return await _token_call(http, hosts, app, form, now)


async def revoke(http: httpx.AsyncClient, hosts: XeroHosts, app: AppCredentials, refresh_token: str) -> None:
    """Revoke a refresh token (and with it every connection of its authorisation)."""
    form = {"token": refresh_token}
    auth = _client_auth(app, form)
    response = await http.post(hosts.revocation_url, data=form, auth=auth, timeout=TIMEOUT)  # type: ignore[arg-type]
    if response.status_code not in (200, 204):
        raise XeroError(f"Xero refused to revoke the token (HTTP {response.status_code}).")


async def list_tenants(
    http: httpx.AsyncClient, hosts: XeroHosts, access_token: str, auth_event_id: str | None = None
) -> list[Tenant]:
    """The organisations this token may reach; with ``auth_event_id``, those of one consent."""
    params = {"authEventId": auth_event_id} if auth_event_id else None
    response = await http.get(
        f"{hosts.api_base}/connections",
        params=params,
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=TIMEOUT,
    )
    if response.status_code == 401:
        raise XeroAuthError("Xero refused the access token when listing organisations.", "token_rejected")
    response.raise_for_status()
    return [
        Tenant(
            connection_id=item["id"],
            tenant_id=item["tenantId"],
            tenant_name=item.get("tenantName") or "",
            tenant_type=item.get("tenantType") or "ORGANISATION",
            auth_event_id=item.get("authEventId"),
        )
        for item in response.json()
    ]


async def delete_connection(
    http: httpx.AsyncClient, hosts: XeroHosts, access_token: str, connection_id: str
) -> None:
    """Remove one organisation from an authorisation; a 404 means it is already gone."""
    response = await http.delete(
        f"{hosts.api_base}/connections/{connection_id}",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=TIMEOUT,
    )
    if response.status_code not in (200, 204, 404):
        raise XeroError(f"Xero refused to remove the connection (HTTP {response.status_code}).")
