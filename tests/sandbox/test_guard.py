"""The API guard: tenant header, scopes (broad and granular), paths in any case, 404s."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ledgerbridge.sandbox import SandboxState
from tests.sandbox.helpers import AU, NZ, api_headers, connect_with_secret, register_app


def test_missing_or_unconnected_tenant_is_403_in_xero_shape(client: TestClient) -> None:
    tokens = connect_with_secret(client, register_app(client), tenant_ids=[AU])
    for tenant in (None, NZ, "00000000-0000-0000-0000-000000000000"):
        response = client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens, tenant))
        assert response.status_code == 403
        body = response.json()
        assert body["Title"] == "Forbidden"
        assert body["Detail"] == "AuthenticationUnsuccessful"
        assert body["Status"] == 403
        assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_missing_bearer_is_401(client: TestClient) -> None:
    response = client.get("/api.xro/2.0/Contacts", headers={"xero-tenant-id": AU})
    assert response.status_code == 401
    assert response.json()["Title"] == "Unauthorized"
    garbled = client.get("/api.xro/2.0/Contacts",
                         headers={"Authorization": "Bearer nonsense", "xero-tenant-id": AU})
    assert garbled.status_code == 401


def test_missing_scope_is_403(client: TestClient) -> None:
    tokens = connect_with_secret(client, register_app(client), scope="accounting.settings")
    response = client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens))
    assert response.status_code == 403
    assert response.json()["Detail"] == "AuthorizationUnsuccessful"


def test_missing_scope_status_is_configurable(client: TestClient, state: SandboxState) -> None:
    state.config.missing_scope_status = 401
    tokens = connect_with_secret(client, register_app(client), scope="accounting.settings")
    response = client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens))
    assert response.status_code == 401
    assert response.json()["Detail"] == "AuthorizationUnsuccessful"


def test_read_scope_reads_but_does_not_write(client: TestClient) -> None:
    tokens = connect_with_secret(client, register_app(client), scope="accounting.contacts.read")
    headers = api_headers(tokens)
    assert client.get("/api.xro/2.0/Contacts", headers=headers).status_code == 200
    assert client.put("/api.xro/2.0/Contacts", headers=headers,
                      json={"Name": "x"}).status_code == 403


def test_paths_match_in_any_case(client: TestClient) -> None:
    tokens = connect_with_secret(client, register_app(client))
    headers = api_headers(tokens)
    client.put("/api.xro/2.0/Contacts", headers=headers, json={"Name": "Ada"})
    for path in ("/api.xro/2.0/contacts", "/API.XRO/2.0/CONTACTS"):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert "Ada" in [c["Name"] for c in response.json()["Contacts"]]


def test_unknown_route_is_xero_plain_text_404_after_auth(client: TestClient) -> None:
    tokens = connect_with_secret(client, register_app(client))
    assert client.get("/api.xro/2.0/Nothing").status_code == 401
    response = client.get("/api.xro/2.0/Nothing", headers=api_headers(tokens))
    assert response.status_code == 404
    assert response.text == "The resource you're looking for cannot be found"
    assert response.headers["content-type"].startswith("text/html")
    assert "X-MinLimit-Remaining" in response.headers


def test_every_api_response_has_limit_headers_and_a_correlation_id(client: TestClient) -> None:
    tokens = connect_with_secret(client, register_app(client))
    response = client.get("/api.xro/2.0/Contacts", headers=api_headers(tokens))
    assert response.headers["X-DayLimit-Remaining"] == "4999"
    assert response.headers["X-MinLimit-Remaining"] == "59"
    assert response.headers["X-AppMinLimit-Remaining"] == "9999"
    assert response.headers["Xero-Correlation-Id"]
