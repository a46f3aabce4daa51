"""Clients through the API: the generic CRUD, its errors and workspace isolation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ledgerbridge.db import Database
from tests.factories import Seeded, seed_workspace


def test_create_list_get_update_archive(owner: TestClient) -> None:
    created = owner.post("/api/v1/clients", json={"name": "Manly Ferries", "email": "ap@manly.example.com"})
    assert created.status_code == 201, created.text
    client_id = created.json()["id"]

    listed = owner.get("/api/v1/clients", params={"q": "manly"}).json()
    assert [c["name"] for c in listed["items"]] == ["Manly Ferries"]
    assert listed["total"] == 1

    updated = owner.patch(f"/api/v1/clients/{client_id}", json={"phone": "+61 2 9000 0000"})
    assert updated.json()["phone"] == "+61 2 9000 0000"
    assert updated.json()["email"] == "ap@manly.example.com"

    assert owner.delete(f"/api/v1/clients/{client_id}").status_code == 204
    assert owner.get(f"/api/v1/clients/{client_id}").json()["archived"] is True
    active = owner.get("/api/v1/clients", params={"archived": False}).json()["items"]
    assert client_id not in [c["id"] for c in active]


def test_paging(owner: TestClient) -> None:
    for n in range(7):
        assert owner.post("/api/v1/clients", json={"name": f"Client {n:02}"}).status_code == 201
    first = owner.get("/api/v1/clients", params={"page_size": 5, "q": "Client "}).json()
    second = owner.get("/api/v1/clients", params={"page_size": 5, "page": 2, "q": "Client "}).json()
    assert first["total"] == second["total"] == 7
    assert len(first["items"]) == 5 and len(second["items"]) == 2
    assert {c["id"] for c in first["items"]}.isdisjoint({c["id"] for c in second["items"]})


def test_wrong_type_and_missing_field_name_the_field(owner: TestClient) -> None:
    response = owner.post("/api/v1/clients", json={"is_customer": "perhaps"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"name", "is_customer"}


def test_unknown_field_is_refused(owner: TestClient) -> None:
    response = owner.post("/api/v1/clients", json={"name": "X", "colour": "blue"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "colour", "message": "is not a known field; remove it"}]


def test_duplicate_name_is_a_conflict_on_the_field(owner: TestClient) -> None:
    response = owner.post("/api/v1/clients", json={"name": "Bondi Surf Co"})
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "name"


def test_another_workspace_cannot_see_or_touch(owner: TestClient, database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        other = seed_workspace(session, "Other Pty Ltd", slug="other")
    assert owner.get(f"/api/v1/clients/{other.client_id}").status_code == 404
    assert owner.patch(f"/api/v1/clients/{other.client_id}", json={"name": "Hijacked"}).status_code == 404
    assert owner.delete(f"/api/v1/clients/{other.client_id}").status_code == 404
    names = [c["name"] for c in owner.get("/api/v1/clients", params={"page_size": 500}).json()["items"]]
    assert names == ["Bondi Surf Co", "Parramatta Print"]
    # and a reference to the other workspace's client is an unknown id, named by field
    response = owner.post("/api/v1/projects", json={"name": "Sneaky", "client_id": other.client_id})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "client_id"


def test_no_credentials_is_401_and_bad_token_is_401(client: TestClient, seeded: Seeded) -> None:
    assert client.get("/api/v1/clients").status_code == 401
    response = client.get("/api/v1/clients", headers={"Authorization": "Bearer lb_nope"})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
