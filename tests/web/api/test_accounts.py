"""Roles, users and API tokens."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Seeded


def test_member_cannot_manage_but_can_read(client: TestClient, seeded: Seeded) -> None:
    client.headers["Authorization"] = f"Bearer {seeded.member_token}"
    assert client.get("/api/v1/clients").status_code == 200
    assert client.post("/api/v1/tokens", json={"name": "mine"}).status_code == 403
    assert client.post("/api/v1/members", json={"name": "Sneaky"}).status_code == 403
    denied = client.post("/api/v1/users", json={"email": "x@example.com", "name": "X", "role": "admin"})
    assert denied.status_code == 403
    assert denied.json()["code"] == "permission_denied"


def test_tokens_are_shown_once_and_revocable(owner: TestClient) -> None:
    created = owner.post("/api/v1/tokens", json={"name": "Time tracker", "expires_in_days": 30})
    assert created.status_code == 201
    token = created.json()["token"]
    listed = owner.get("/api/v1/tokens").json()
    assert all("token" not in t and "token_hash" not in t for t in listed)
    fresh = TestClient(owner.app)
    assert fresh.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert owner.delete(f"/api/v1/tokens/{created.json()['id']}").status_code == 204
    assert fresh.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_admin_adds_user_but_only_owner_makes_owners(client: TestClient, seeded: Seeded) -> None:
    client.headers["Authorization"] = f"Bearer {seeded.admin_token}"
    added = client.post(
        "/api/v1/users", json={"email": "Zoe@Harbour.example.com", "name": "Zoe", "role": "member"}
    )
    assert added.status_code == 201
    assert added.json()["email"] == "zoe@harbour.example.com"
    again = client.post(
        "/api/v1/users", json={"email": "zoe@harbour.example.com", "name": "Zoe", "role": "member"}
    )
    assert again.status_code == 409
    promote = client.patch(f"/api/v1/users/{added.json()['user_id']}", json={"role": "owner"})
    assert promote.status_code == 422
    assert promote.json()["errors"][0]["field"] == "role"


def test_last_owner_cannot_step_down(owner: TestClient) -> None:
    me = owner.get("/api/v1/me").json()
    response = owner.patch(f"/api/v1/users/{me['user_id']}", json={"role": "member"})
    assert response.status_code == 422
    assert "at least one owner" in response.json()["errors"][0]["message"]
