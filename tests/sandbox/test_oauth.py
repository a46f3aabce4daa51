"""Authorization code (PKCE and secret), tokens, refresh rotation, revocation, connections
and client credentials, driven through the HTML pages and the token endpoint."""

from __future__ import annotations

import jwt
from fastapi.testclient import TestClient

from ledgerbridge.sandbox import SandboxClock, SandboxState
from ledgerbridge.sandbox.config import DAY
from tests.sandbox.helpers import (
    AU,
    NZ,
    REDIRECT,
    api_headers,
    basic,
    connect_with_secret,
    consent,
    pkce_pair,
    redirect_params,
    refresh,
    register_app,
)


def test_pkce_flow_without_a_secret(client: TestClient) -> None:
    app = register_app(client, pkce=True)
    assert app.client_secret is None
    verifier, challenge = pkce_pair()

    params = redirect_params(consent(client, app.client_id, challenge=challenge))
    assert params["state"] == "st4te"
    response = client.post("/connect/token", data={
        "grant_type": "authorization_code", "client_id": app.client_id,
        "code": params["code"], "redirect_uri": REDIRECT, "code_verifier": verifier,
    })

    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["expires_in"] == 1800
    assert tokens["token_type"] == "Bearer"
    assert tokens["scope"].split() == [
        "openid", "profile", "email", "offline_access", "accounting.contacts",
        "accounting.transactions",
    ]
    assert {"id_token", "access_token", "refresh_token"} <= tokens.keys()
    contacts = client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens))
    assert contacts.status_code == 200


def test_pkce_rejects_a_wrong_verifier_and_a_second_use_of_the_code(client: TestClient) -> None:
    app = register_app(client, pkce=True)
    verifier, challenge = pkce_pair()
    code = redirect_params(consent(client, app.client_id, challenge=challenge))["code"]
    form = {"grant_type": "authorization_code", "client_id": app.client_id, "code": code,
            "redirect_uri": REDIRECT}

    wrong = client.post("/connect/token", data={**form, "code_verifier": pkce_pair()[0]})
    right = client.post("/connect/token", data={**form, "code_verifier": verifier})
    again = client.post("/connect/token", data={**form, "code_verifier": verifier})

    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert right.status_code == 200
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant"}


def test_pkce_app_must_send_a_challenge(client: TestClient) -> None:
    app = register_app(client, pkce=True)
    response = client.get("/identity/connect/authorize", follow_redirects=False, params={
        "response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT,
        "scope": "accounting.contacts", "state": "s",
    })
    assert redirect_params(response)["error"] == "invalid_request"


def test_secret_flow_with_basic_and_with_form_credentials(client: TestClient) -> None:
    app = register_app(client)
    tokens = connect_with_secret(client, app)
    assert tokens["refresh_token"]

    code = redirect_params(consent(client, app.client_id))["code"]
    by_form = client.post("/connect/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": app.client_id, "client_secret": app.client_secret,
    })
    assert by_form.status_code == 200


def test_confidential_app_needs_its_secret(client: TestClient) -> None:
    app = register_app(client)
    code = redirect_params(consent(client, app.client_id))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}

    missing = client.post("/connect/token", data={**form, "client_id": app.client_id})
    wrong = client.post("/connect/token", data=form, headers=basic(app.client_id, "nope"))

    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_client"
    assert wrong.json()["error"] == "invalid_client"


def test_access_token_claims_look_like_xero(client: TestClient, state: SandboxState) -> None:
    app = register_app(client)
    tokens = connect_with_secret(client, app)
    claims = jwt.decode(tokens["access_token"], state.signing_key.public_key(),
                        algorithms=["RS256"], options={"verify_exp": False, "verify_aud": False})
    assert {"nbf", "exp", "iss", "aud", "client_id", "sub", "authentication_event_id",
            "scope", "xero_userid", "global_session_id", "jti"} <= claims.keys()
    assert claims["exp"] - claims["nbf"] == 1800
    assert claims["client_id"] == app.client_id
    assert "accounting.contacts" in claims["scope"]
    id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert id_claims["email"] == "demo@sandbox.test"
    assert id_claims["aud"] == app.client_id


def test_cancel_redirects_with_access_denied(client: TestClient) -> None:
    app = register_app(client)
    params = redirect_params(consent(client, app.client_id, action="cancel"))
    assert params == {"error": "access_denied", "state": "st4te"}


def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(client: TestClient) -> None:
    app = register_app(client)
    for client_id, redirect in [(app.client_id, "https://evil.example/cb"),
                                ("UNKNOWN", REDIRECT)]:
        response = client.get("/identity/connect/authorize", follow_redirects=False, params={
            "response_type": "code", "client_id": client_id, "redirect_uri": redirect,
            "scope": "accounting.contacts", "state": "s",
        })
        assert response.status_code == 400
        assert "location" not in response.headers
        assert "text/html" in response.headers["content-type"]


def test_unknown_scope_and_broad_scope_on_a_granular_app(client: TestClient) -> None:
    granular = register_app(client, granular_only=True)
    for app_id, scope in [(granular.client_id, "accounting.transactions"),
                          (granular.client_id, "accounting.nonsense")]:
        response = client.get("/identity/connect/authorize", follow_redirects=False, params={
            "response_type": "code", "client_id": app_id, "redirect_uri": REDIRECT,
            "scope": scope, "state": "s",
        })
        assert redirect_params(response)["error"] == "invalid_scope"
    tokens = connect_with_secret(client, granular,
                                 scope="offline_access accounting.invoices accounting.contacts")
    assert "accounting.invoices" in tokens["scope"]


def test_wrong_password_shows_the_form_again(client: TestClient) -> None:
    app = register_app(client)
    page = client.get("/identity/connect/authorize", params={
        "response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT,
        "scope": "accounting.contacts",
    })
    request_id = page.text.split('name="request_id" value="')[1].split('"')[0]
    response = client.post("/identity/connect/authorize/login", data={
        "request_id": request_id, "email": "demo@sandbox.test", "password": "wrong"})
    assert response.status_code == 401
    assert "incorrect" in response.text


def test_access_token_expires_after_30_minutes(client: TestClient, clock: SandboxClock) -> None:
    tokens = connect_with_secret(client, register_app(client))
    clock.advance(29 * 60)
    assert client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens)).status_code == 200

    clock.advance(61)
    response = client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens))

    assert response.status_code == 401
    body = response.json()
    assert body["Title"] == "Unauthorized"
    assert body["Detail"].startswith("TokenExpired: token expired at ")
    assert body["Type"] is None and body["Extensions"] == {} and body["Instance"]


def test_refresh_rotates_and_honours_the_grace_period(
    client: TestClient, clock: SandboxClock
) -> None:
    app = register_app(client)
    first = connect_with_secret(client, app)

    second = refresh(client, app, first["refresh_token"])
    assert second.status_code == 200
    new = second.json()
    assert new["refresh_token"] != first["refresh_token"]
    assert new["access_token"] != first["access_token"]

    clock.advance(29 * 60)
    replay = refresh(client, app, first["refresh_token"])
    assert replay.status_code == 200
    assert replay.json() == new  # the lost response, replayed

    clock.advance(2 * 60)
    late = refresh(client, app, first["refresh_token"])
    assert late.status_code == 400
    assert late.json() == {"error": "invalid_grant"}
    assert refresh(client, app, new["refresh_token"]).status_code == 200


def test_grace_replay_can_mint_a_new_pair(client: TestClient, state: SandboxState) -> None:
    state.config.grace_replay = "new"
    app = register_app(client)
    first = connect_with_secret(client, app)
    new = refresh(client, app, first["refresh_token"]).json()
    replay = refresh(client, app, first["refresh_token"]).json()
    assert replay["refresh_token"] not in (new["refresh_token"], first["refresh_token"])
    assert refresh(client, app, replay["refresh_token"]).status_code == 200


def test_refresh_token_expires_after_60_days_unused(
    client: TestClient, clock: SandboxClock
) -> None:
    app = register_app(client)
    tokens = connect_with_secret(client, app)
    clock.advance(59 * DAY)
    kept = refresh(client, app, tokens["refresh_token"])
    assert kept.status_code == 200

    clock.advance(60 * DAY + 1)
    expired = refresh(client, app, kept.json()["refresh_token"])
    assert expired.status_code == 400
    assert expired.json()["error"] == "invalid_grant"


def test_refresh_needs_the_owning_client(client: TestClient) -> None:
    app, other = register_app(client), register_app(client)
    tokens = connect_with_secret(client, app)
    response = refresh(client, other, tokens["refresh_token"])
    assert response.json()["error"] == "invalid_grant"


def test_no_refresh_token_without_offline_access(client: TestClient) -> None:
    tokens = connect_with_secret(client, register_app(client), scope="accounting.contacts")
    assert "refresh_token" not in tokens
    assert "id_token" not in tokens


def test_revocation_kills_the_refresh_token_and_the_connections(client: TestClient) -> None:
    app = register_app(client)
    tokens = connect_with_secret(client, app, tenant_ids=[AU, NZ])
    assert app.client_secret
    response = client.post("/connect/revocation", data={"token": tokens["refresh_token"]},
                           headers=basic(app.client_id, app.client_secret))

    assert response.status_code == 200
    assert refresh(client, app, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert client.get("/connections", headers=api_headers(tokens, None)).json() == []
    assert client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens)).status_code == 403


def test_connections_list_filter_and_delete(client: TestClient) -> None:
    app = register_app(client)
    first = connect_with_secret(client, app, tenant_ids=[AU])
    second = connect_with_secret(client, app, tenant_ids=[NZ])
    headers = api_headers(second, None)

    listed = client.get("/connections", headers=headers)
    assert listed.status_code == 200
    items = listed.json()
    assert [c["tenantName"] for c in items] == ["Demo Company (AU)", "Demo Company (NZ)"]
    assert set(items[0]) == {"id", "authEventId", "tenantId", "tenantType", "tenantName",
                             "createdDateUtc", "updatedDateUtc"}
    assert items[0]["tenantType"] == "ORGANISATION"
    assert len(items[0]["createdDateUtc"].split(".")[1]) == 7
    nz_event = jwt.decode(second["access_token"],
                          options={"verify_signature": False})["authentication_event_id"]
    only_nz = client.get("/Connections", headers=headers, params={"authEventId": nz_event})
    assert [c["tenantId"] for c in only_nz.json()] == [NZ]

    gone = client.delete(f"/connections/{items[0]['id']}", headers=headers)
    assert gone.status_code == 204
    assert client.delete(f"/connections/{items[0]['id']}", headers=headers).status_code == 404
    assert [c["tenantId"] for c in client.get("/connections", headers=headers).json()] == [NZ]
    assert client.get("/api.xro/2.0/Contacts", headers=api_headers(first, AU)).status_code == 403


def test_client_credentials_for_a_custom_connection(client: TestClient) -> None:
    app = register_app(client, redirect_uris=[], custom_connection_tenant_id=AU,
                       custom_connection_scopes=["accounting.contacts"])
    assert app.client_secret
    response = client.post("/connect/token", data={"grant_type": "client_credentials"},
                           headers=basic(app.client_id, app.client_secret))

    assert response.status_code == 200
    tokens = response.json()
    assert "refresh_token" not in tokens
    assert tokens["scope"] == "accounting.contacts"
    assert client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens, None)).status_code == 200
    assert client.get("/api.xro/2.0/Contacts",
                      headers={**api_headers(tokens, None), "xero-tenant-id": ""}).status_code == 200
    assert client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens, NZ)).status_code == 403
    assert [c["tenantId"] for c in client.get("/connections",
                                              headers=api_headers(tokens, None)).json()] == [AU]


def test_client_credentials_refused_for_ordinary_apps(client: TestClient) -> None:
    app = register_app(client)
    assert app.client_secret
    response = client.post("/connect/token", data={"grant_type": "client_credentials"},
                           headers=basic(app.client_id, app.client_secret))
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


def test_unknown_grant_type(client: TestClient) -> None:
    app = register_app(client)
    assert app.client_secret
    response = client.post("/connect/token", data={"grant_type": "password"},
                           headers=basic(app.client_id, app.client_secret))
    assert response.json() == {"error": "unsupported_grant_type"}


def test_jwks_verifies_the_access_token(client: TestClient) -> None:
    tokens = connect_with_secret(client, register_app(client))
    keys = client.get("/.well-known/openid-configuration/jwks").json()["keys"]
    key = jwt.PyJWK(keys[0])
    claims = jwt.decode(tokens["access_token"], key, algorithms=["RS256"],
                        options={"verify_exp": False, "verify_aud": False, "verify_nbf": False})
    assert claims["iss"] == "https://identity.xero.com"
