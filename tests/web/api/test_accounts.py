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
    assert promote.status_code == 403
    assert "only an owner may make someone an owner" in promote.json()["detail"]
    new_owner = client.post(
        "/api/v1/users", json={"email": "yan@harbour.example.com", "name": "Yan", "role": "owner"}
    )
    assert new_owner.status_code == 403
    assert "yan@harbour.example.com" not in {u["email"] for u in client.get("/api/v1/users").json()}


def _user_id(api: TestClient, email: str) -> str:
    return next(u["user_id"] for u in api.get("/api/v1/users").json() if u["email"] == email)


def test_an_admin_can_neither_demote_nor_remove_an_owner(client: TestClient, seeded: Seeded) -> None:
    client.headers["Authorization"] = f"Bearer {seeded.admin_token}"
    owner_id = _user_id(client, seeded.owner_email)
    demote = client.patch(f"/api/v1/users/{owner_id}", json={"role": "member"})
    assert demote.status_code == 403, demote.text
    assert "only an owner may change or remove an owner" in demote.json()["detail"]
    removed = client.delete(f"/api/v1/users/{owner_id}")
    assert removed.status_code == 403
    roles = {u["email"]: u["role"] for u in client.get("/api/v1/users").json()}
    assert roles[seeded.owner_email] == "owner"
    # admins and members are the admin's to manage
    member_id = _user_id(client, "member@harbour.example.com")
    assert client.patch(f"/api/v1/users/{member_id}", json={"role": "admin"}).json()["role"] == "admin"
    assert client.delete(f"/api/v1/users/{member_id}").status_code == 204
    assert "member@harbour.example.com" not in {u["email"] for u in client.get("/api/v1/users").json()}
    assert client.delete(f"/api/v1/users/{member_id}").status_code == 404


def test_last_owner_cannot_step_down(owner: TestClient) -> None:
    me = owner.get("/api/v1/me").json()
    response = owner.patch(f"/api/v1/users/{me['user_id']}", json={"role": "member"})
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "role"
    assert "at least one owner" in response.json()["errors"][0]["message"]
    assert owner.delete(f"/api/v1/users/{me['user_id']}").status_code == 409
    assert owner.get("/api/v1/me").json()["role"] == "owner"


def test_text_longer_than_its_column_is_refused_naming_the_field(owner: TestClient) -> None:
    """User.name and ApiToken.name hold 200 characters (the schemas allow 255)."""
    long_name = "N" * 201
    user = owner.post("/api/v1/users", json={"email": "long@harbour.example.com", "name": long_name})
    assert user.status_code == 422, user.text
    assert user.json()["errors"][0]["field"] == "name"
    assert "200" in user.json()["errors"][0]["message"]
    token = owner.post("/api/v1/tokens", json={"name": long_name})
    assert token.status_code == 422
    assert token.json()["errors"][0]["field"] == "name"
    assert owner.post("/api/v1/tokens", json={"name": "N" * 200}).status_code == 201
