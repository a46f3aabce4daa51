"""Projects through HTTP: every operation, the rules, totals, paging, scopes and the
contract (every call is validated against xero-projects.yaml by the fixture)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from fastapi.testclient import TestClient

from ledgerbridge.sandbox import SandboxState
from ledgerbridge.sandbox.seeding import DEMO_EMAIL
from tests.sandbox.helpers import AU, NZ, api_headers, connect_with_secret, register_app
from tests.sandbox.payroll_au.contract import ContractChecker

P = "/projects.xro/2.0"
CONTACT = "216830cb-9a68-487e-928b-c1a7ccc4fc81"


def _json(response: httpx.Response) -> Any:
    return httpx.Response(200, content=response.content).json(parse_float=Decimal)


def _demo_user(api: TestClient, headers: dict[str, str]) -> str:
    users = api.get(f"{P}/ProjectsUsers", headers=headers).json()["items"]
    return str(next(u["userId"] for u in users if u["email"] == DEMO_EMAIL))


def _project(api: TestClient, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    body = {"contactId": CONTACT, "name": "New Kitchen", "deadlineUtc": "2027-03-03T15:00:00Z",
            "estimateAmount": 99.99, **extra}
    response = api.post(f"{P}/Projects", headers=headers, json=body)
    assert response.status_code == 201, response.text
    project: dict[str, Any] = _json(response)
    return project


def _task(api: TestClient, headers: dict[str, str], project_id: str, **extra: Any) -> dict[str, Any]:
    body = {"name": "Demolition", "rate": {"currency": "AUD", "value": 90.5},
            "chargeType": "TIME", "estimateMinutes": 600, **extra}
    response = api.post(f"{P}/Projects/{project_id}/Tasks", headers=headers, json=body)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = _json(response)
    return task


def _model_state(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"] == "The request is invalid."
    state: dict[str, list[str]] = body["modelState"]
    return state


def test_projects_create_read_update_close(api: TestClient, headers: dict[str, str],
                                           contract: ContractChecker) -> None:
    project = _project(api, headers)
    assert project["status"] == "INPROGRESS" and project["currencyCode"] == "AUD"
    assert project["estimate"] == {"currency": "AUD", "value": Decimal("99.99")}
    assert project["deadlineUtc"] == "2027-03-03T15:00:00Z" and project["minutesLogged"] == 0
    project_id = project["projectId"]
    assert _json(api.get(f"{P}/Projects/{project_id}", headers=headers)) == project

    put = api.put(f"{P}/Projects/{project_id}", headers=headers,
                  json={"contactId": CONTACT, "name": "Bigger Kitchen", "estimateAmount": 150})
    assert put.status_code == 204 and put.content == b""
    assert api.get(f"{P}/Projects/{project_id}", headers=headers).json()["name"] == "Bigger Kitchen"

    closed = api.patch(f"{P}/Projects/{project_id}", headers=headers, json={"status": "CLOSED"})
    assert closed.status_code == 204
    listed = api.get(f"{P}/Projects", headers=headers, params={"states": "CLOSED"}).json()
    assert [p["projectId"] for p in listed["items"]] == [project_id]
    assert listed["pagination"] == {"page": 1, "pageSize": 50, "pageCount": 1, "itemCount": 1}
    by_id = api.get(f"{P}/Projects", headers=headers, params={"projectIds": project_id}).json()
    assert by_id["pagination"]["itemCount"] == 1

    assert _model_state(api.post(f"{P}/Projects", headers=headers, json={"contactId": CONTACT})) \
        == {"model.Name": ["The Project Name cannot be empty"]}
    assert _model_state(api.post(f"{P}/Projects", headers=headers, json={"name": "x"})) == {
        "model.ContactId": ["The ContactId cannot be null or empty"]}
    assert api.get(f"{P}/Projects/{CONTACT}", headers=headers).status_code == 404
    assert len(contract.validated) >= 8


def test_projects_paging(api: TestClient, headers: dict[str, str]) -> None:
    for n in range(7):
        _project(api, headers, name=f"P{n}")
    everything = api.get(f"{P}/Projects", headers=headers).json()
    assert everything["pagination"]["itemCount"] == 9  # 2 seeded
    pages = [api.get(f"{P}/Projects", headers=headers, params={"page": n, "pageSize": 4}).json()
             for n in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [4, 4, 1]
    assert pages[0]["pagination"] == {"page": 1, "pageSize": 4, "pageCount": 3, "itemCount": 9}
    assert api.get(f"{P}/Projects", headers=headers, params={"pageSize": 501}).status_code == 400
    assert api.get(f"{P}/Projects", headers=headers, params={"page": 0}).status_code == 400


def test_tasks(api: TestClient, headers: dict[str, str]) -> None:
    project_id = _project(api, headers)["projectId"]
    task = _task(api, headers, project_id)
    assert task["rate"] == {"currency": "AUD", "value": Decimal("90.5")}
    assert task["status"] == "ACTIVE" and task["totalMinutes"] == 0
    task_id = task["taskId"]
    assert _json(api.get(f"{P}/Projects/{project_id}/Tasks/{task_id}", headers=headers)) == task

    fixed = _task(api, headers, project_id, name="Permit", chargeType="FIXED",
                  rate={"currency": "AUD", "value": 400})
    listed = api.get(f"{P}/Projects/{project_id}/Tasks", headers=headers,
                     params={"chargeType": "FIXED"}).json()
    assert [t["taskId"] for t in listed["items"]] == [fixed["taskId"]]
    both = api.get(f"{P}/Projects/{project_id}/Tasks", headers=headers,
                   params={"taskIds": f"{task_id},{fixed['taskId']}"}).json()
    assert both["pagination"]["itemCount"] == 2

    put = api.put(f"{P}/Projects/{project_id}/Tasks/{task_id}", headers=headers,
                  json={"name": "Demolition", "rate": {"currency": "AUD", "value": 100},
                        "chargeType": "TIME"})
    assert put.status_code == 204
    assert api.delete(f"{P}/Projects/{project_id}/Tasks/{fixed['taskId']}",
                      headers=headers).status_code == 204
    assert api.get(f"{P}/Projects/{project_id}/Tasks/{fixed['taskId']}",
                   headers=headers).status_code == 404

    bad = api.post(f"{P}/Projects/{project_id}/Tasks", headers=headers,
                   json={"name": "x" * 101, "rate": {"currency": "AUD", "value": 1},
                         "chargeType": "TIME"})
    assert _model_state(bad) == {"model.Name": ["The Name must be 100 characters or fewer"]}
    usd = api.post(f"{P}/Projects/{project_id}/Tasks", headers=headers,
                   json={"name": "x", "rate": {"currency": "USD", "value": 1}, "chargeType": "TIME"})
    assert _model_state(usd) == {"model.Rate.Currency": ["The rate must be in AUD"]}


def test_time_entries_and_totals(api: TestClient, headers: dict[str, str],
                                 state: SandboxState) -> None:
    project_id = _project(api, headers)["projectId"]
    task = _task(api, headers, project_id)
    fixed = _task(api, headers, project_id, name="Permit", chargeType="FIXED",
                  rate={"currency": "AUD", "value": 400})
    user_id = _demo_user(api, headers)
    entry_body = {"userId": user_id, "taskId": task["taskId"], "dateUtc": "2026-11-02T09:00:00Z",
                  "duration": 45, "description": "Tiles"}
    created = api.post(f"{P}/Projects/{project_id}/Time", headers=headers, json=entry_body)
    assert created.status_code == 200, created.text
    entry = created.json()
    assert entry["status"] == "ACTIVE" and entry["duration"] == 45
    assert entry["dateUtc"] == "2026-11-02T09:00:00Z" and entry["dateEnteredUtc"].endswith("Z")
    second = api.post(f"{P}/Projects/{project_id}/Time", headers=headers,
                      json={**entry_body, "dateUtc": "2026-11-05T09:00:00+00:00", "duration": 30})
    assert second.status_code == 200
    api.post(f"{P}/Projects/{project_id}/Time", headers=headers,
             json={**entry_body, "taskId": fixed["taskId"], "duration": 60})

    totals = _json(api.get(f"{P}/Projects/{project_id}", headers=headers))
    assert totals["minutesLogged"] == 135
    # 75 min x 90.50/h = 113.125 -> 113.13, plus the fixed 400.00
    assert totals["totalTaskAmount"]["value"] == Decimal("513.13")
    assert totals["totalToBeInvoiced"]["value"] == Decimal("513.13")
    one_task = _json(api.get(f"{P}/Projects/{project_id}/Tasks/{task['taskId']}", headers=headers))
    assert (one_task["totalMinutes"], one_task["totalAmount"]["value"]) == (75, Decimal("113.13"))

    entry_id = entry["timeEntryId"]
    assert api.get(f"{P}/Projects/{project_id}/Time/{entry_id}", headers=headers).json() == entry
    window = api.get(f"{P}/Projects/{project_id}/Time", headers=headers, params={
        "dateAfterUtc": "2026-11-03T00:00:00Z", "dateBeforeUtc": "2026-11-05T09:00:00Z",
        "taskId": task["taskId"]}).json()
    assert [e["duration"] for e in window["items"]] == [30]
    by_user = api.get(f"{P}/Projects/{project_id}/Time", headers=headers,
                      params={"userId": user_id, "states": "ACTIVE", "isChargeable": "true"}).json()
    assert by_user["pagination"]["itemCount"] == 3

    put = api.put(f"{P}/Projects/{project_id}/Time/{entry_id}", headers=headers,
                  json={k: v for k, v in entry_body.items() if k != "description"})
    assert put.status_code == 204
    assert "description" not in api.get(f"{P}/Projects/{project_id}/Time/{entry_id}",
                                        headers=headers).json()
    # A task with time cannot go; the entry can.
    assert api.delete(f"{P}/Projects/{project_id}/Tasks/{task['taskId']}",
                      headers=headers).status_code == 400
    assert api.delete(f"{P}/Projects/{project_id}/Time/{entry_id}", headers=headers).status_code == 204
    assert api.get(f"{P}/Projects/{project_id}/Time/{entry_id}", headers=headers).status_code == 404

    with state.transaction():
        record = state.orgs[AU].get_record("ProjectTimeEntries", second.json()["timeEntryId"])
        assert record is not None
        state.orgs[AU].put_record("ProjectTimeEntries", record["timeEntryId"],
                                  {**record, "status": "INVOICED"})
    locked = api.put(f"{P}/Projects/{project_id}/Time/{record['timeEntryId']}", headers=headers,
                     json=entry_body)
    assert _model_state(locked) == {"model.Status": ["A time entry that is INVOICED cannot be changed"]}


def test_time_entry_rules(api: TestClient, headers: dict[str, str]) -> None:
    project_id = _project(api, headers)["projectId"]
    task_id = _task(api, headers, project_id)["taskId"]
    user_id = _demo_user(api, headers)
    base = {"userId": user_id, "taskId": task_id, "dateUtc": "2026-11-02T09:00:00Z", "duration": 30}
    url = f"{P}/Projects/{project_id}/Time"
    for duration in (0, 59_941):
        assert "model.Duration" in _model_state(api.post(url, headers=headers,
                                                         json={**base, "duration": duration}))
    assert api.post(url, headers=headers, json={**base, "duration": 59_940}).status_code == 200
    stranger = {**base, "userId": "740add2a-a703-4b8a-a670-1093919c2040"}
    assert _model_state(api.post(url, headers=headers, json=stranger)) == {
        "model.UserId": ["The UserId is not a project user"]}
    other_task = _task(api, headers, _project(api, headers)["projectId"])["taskId"]
    assert "model.TaskId" in _model_state(api.post(url, headers=headers,
                                                   json={**base, "taskId": other_task}))
    api.patch(f"{P}/Projects/{project_id}", headers=headers, json={"status": "CLOSED"})
    assert "model.ProjectId" in _model_state(api.post(url, headers=headers, json=base))


def test_project_users_and_seed(api: TestClient, headers: dict[str, str],
                                state: SandboxState) -> None:
    users = api.get(f"{P}/ProjectsUsers", headers=headers).json()
    assert users["pagination"]["itemCount"] == 1
    assert users["items"][0]["email"] == DEMO_EMAIL and users["items"][0]["name"] == "Demo User"
    seeded = api.get(f"{P}/Projects", headers=headers).json()["items"]
    assert {p["name"] for p in seeded} == {"Website Redesign", "Office Fit-out"}
    tasks = api.get(f"{P}/Projects/{seeded[0]['projectId']}/Tasks", headers=headers).json()
    assert {t["chargeType"] for t in tasks["items"]} == {"TIME", "FIXED", "NON_CHARGEABLE"}
    assert len(state.orgs[NZ].records("Projects")) == 2
    nz_project = next(iter(state.orgs[NZ].records("Projects").values()))
    assert nz_project["currencyCode"] == "NZD"


def test_scopes_and_idempotency(api: TestClient, headers: dict[str, str]) -> None:
    app = register_app(api)
    read_only = api_headers(connect_with_secret(api, app, scope="projects.read"))
    assert api.get(f"{P}/Projects", headers=read_only).status_code == 200
    assert api.post(f"{P}/Projects", headers=read_only,
                    json={"name": "x", "contactId": CONTACT}).status_code == 403
    keyed = {**headers, "Idempotency-Key": "proj-1"}
    body = {"name": "Once", "contactId": CONTACT}
    first = api.post(f"{P}/Projects", headers=keyed, json=body)
    again = api.post(f"{P}/Projects", headers=keyed, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json()["projectId"] == again.json()["projectId"]


def test_default_sandbox_ships_projects_and_payroll(state: SandboxState) -> None:
    """Registered in ``default_extensions()``: with Accounting seeded first, demo projects
    point at real contacts, and a new project must name one."""
    from ledgerbridge.sandbox import create_sandbox_app

    app = create_sandbox_app(state)
    with TestClient(app, base_url="http://sandbox.test") as client:
        tokens = connect_with_secret(client, register_app(client), scope="projects payroll.employees")
        headers = api_headers(tokens)
        contacts = state.orgs[AU].records("Contacts")
        seeded = client.get(f"{P}/Projects", headers=headers).json()["items"]
        assert seeded and all(p["contactId"] in contacts for p in seeded)
        unknown = client.post(f"{P}/Projects", headers=headers, json={"name": "x", "contactId": CONTACT})
        assert _model_state(unknown) == {"model.ContactId": ["The ContactId does not exist"]}
        assert client.get("/payroll.xro/1.0/Employees", headers=headers).status_code == 200
