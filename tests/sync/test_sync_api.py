"""Force sync, dry run, the sync log, CSV export and one-click retry, through the API."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.xero.client import Organisation
from tests.factories import Seeded


def _connection_id(api: TestClient) -> str:
    (connection,) = api.get("/api/v1/xero/connections").json()
    return str(connection["id"])


def test_force_sync_dry_run_then_real(
    owner_api: TestClient, au: Organisation, sandbox_state: SandboxState
) -> None:
    connection_id = _connection_id(owner_api)
    contacts = len(sandbox_state.orgs[au.tenant_id].records("Contacts"))
    preview = owner_api.post(
        f"/api/v1/xero/connections/{connection_id}/sync", json={"dry_run": True, "record_types": ["contact"]}
    ).json()
    assert preview["dry_run"] is True
    assert preview["counts"]["would_create"] == contacts + 2
    assert len(owner_api.get("/api/v1/clients", params={"page_size": 500}).json()["items"]) == 2

    run = owner_api.post(
        f"/api/v1/xero/connections/{connection_id}/sync", json={"record_types": ["contact"]}
    ).json()
    assert run["status"] == "succeeded"
    assert run["counts"]["created"] == contacts
    assert run["counts"]["calls"] >= 2
    runs = owner_api.get("/api/v1/xero/runs").json()["items"]
    assert [r["id"] for r in runs][:2] == [run["id"], preview["id"]]


def test_failed_record_has_xeros_message_a_hint_csv_and_retry(
    owner_api: TestClient, au: Organisation, sandbox_state: SandboxState
) -> None:
    connection_id = _connection_id(owner_api)
    owner_api.post(f"/api/v1/xero/connections/{connection_id}/sync", json={"record_types": ["contact"]})
    client = owner_api.post("/api/v1/clients", json={"name": "Tokyo Partners KK", "currency": "JPY"}).json()
    run = owner_api.post(
        f"/api/v1/xero/connections/{connection_id}/sync", json={"record_types": ["contact"]}
    ).json()
    assert run["status"] == "partial"
    (issue,) = owner_api.get("/api/v1/xero/issues", params={"run_id": run["id"]}).json()
    assert issue["message"] == "The currency JPY is not enabled for this organisation."
    assert "Currencies" in issue["hint"]
    assert issue["record_url"] == f"/api/v1/clients/{client['id']}"

    exported = owner_api.get("/api/v1/xero/issues.csv", params={"unresolved": True})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["message"] for r in rows] == [issue["message"]]

    owner_api.patch(f"/api/v1/clients/{client['id']}", json={"currency": "AUD"})
    retried = owner_api.post(f"/api/v1/xero/issues/{issue['id']}/retry").json()
    assert retried["status"] == "succeeded"
    assert owner_api.get("/api/v1/xero/issues", params={"unresolved": True}).json() == []
    names = {c["Name"] for c in sandbox_state.orgs[au.tenant_id].records("Contacts").values()}
    assert "Tokyo Partners KK" in names


def test_members_cannot_force_sync_and_workspaces_are_apart(
    owner_api: TestClient, au: Organisation, service: TestClient, seeded: Seeded
) -> None:
    connection_id = _connection_id(owner_api)
    run = owner_api.post(
        f"/api/v1/xero/connections/{connection_id}/sync", json={"record_types": ["contact"]}
    ).json()
    member = TestClient(service.app)
    member.headers["Authorization"] = f"Bearer {seeded.member_token}"
    assert (
        member.post(
            f"/api/v1/xero/connections/{connection_id}/sync", json={"record_types": ["contact"]}
        ).status_code
        == 403
    )
    assert [r["id"] for r in member.get("/api/v1/xero/runs").json()["items"]] == [run["id"]]


def test_matches_are_previewed_and_can_be_changed_before_the_first_sync(
    owner_api: TestClient, au: Organisation, sandbox_state: SandboxState
) -> None:
    connection_id = _connection_id(owner_api)
    contacts = [
        c
        for c in sandbox_state.orgs[au.tenant_id].records("Contacts").values()
        if c["ContactStatus"] == "ACTIVE"
    ]
    proposed, chosen = contacts[0], contacts[1]
    mine = owner_api.post("/api/v1/clients", json={"name": proposed["Name"].upper()}).json()

    preview = owner_api.post(
        f"/api/v1/xero/connections/{connection_id}/sync", json={"dry_run": True, "record_types": ["contact"]}
    ).json()
    matched = [p for p in preview["preview"] if p["action"] == "link"]
    assert [(p["xero_id"], p["side"]) for p in matched] == [(proposed["ContactID"], "local")]

    # The bookkeeper knows better: this client is another Xero contact.
    link = owner_api.put(
        f"/api/v1/xero/connections/{connection_id}/links/contact/{mine['id']}",
        json={"xero_id": chosen["ContactID"]},
    )
    assert link.status_code == 200, link.text
    run = owner_api.post(
        f"/api/v1/xero/connections/{connection_id}/sync", json={"record_types": ["contact"]}
    ).json()
    assert run["status"] == "succeeded"
    assert "conflicts" not in run["counts"]
    assert owner_api.get(f"/api/v1/clients/{mine['id']}").json()["name"] == chosen["Name"]
    names = [c["name"] for c in owner_api.get("/api/v1/clients", params={"page_size": 500}).json()["items"]]
    assert names.count(chosen["Name"]) == 1
    assert names.count(proposed["Name"]) == 1  # the proposed contact arrived as its own client

    taken = owner_api.put(
        f"/api/v1/xero/connections/{connection_id}/links/contact/{mine['id']}",
        json={"xero_id": proposed["ContactID"]},
    )
    assert taken.status_code == 409
    assert taken.json()["errors"][0]["field"] == "xero_id"
