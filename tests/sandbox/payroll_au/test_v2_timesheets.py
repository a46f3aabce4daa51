"""Payroll AU 2.0 timesheets through HTTP: every operation, the state shared with 1.0, the
rules, scopes, and the contract (every 2.0 call is validated against
xero-payroll-au-v2.yaml, every 1.0 call against xero-payroll-au.yaml)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ledgerbridge.sandbox import SandboxExtensions, SandboxState, create_sandbox_app, payroll_au
from ledgerbridge.sandbox.accounting.wire import ms_date, parse_date
from ledgerbridge.sandbox.extensions import PAYROLL_AU, PAYROLL_AU_V2
from tests.sandbox.helpers import AU, api_headers, connect_with_secret, register_app
from tests.sandbox.payroll_au.conftest import PAYROLL_SCOPES
from tests.sandbox.payroll_au.contract import ContractChecker
from tests.sandbox.payroll_au.timesheets_text import PERIOD_TEXT

P1 = "/payroll.xro/1.0"
P2 = "/payroll.xro/2.0"


@pytest.fixture
def checkers() -> tuple[ContractChecker, ContractChecker]:
    return (ContractChecker("xero-payroll-au.yaml", PAYROLL_AU),
            ContractChecker("xero-payroll-au-v2.yaml", PAYROLL_AU_V2))


@pytest.fixture
def client(state: SandboxState,
           checkers: tuple[ContractChecker, ContractChecker]) -> Iterator[TestClient]:
    app = create_sandbox_app(state, extensions=payroll_au.register(SandboxExtensions()))
    with TestClient(app, base_url="http://sandbox.test") as test_client:
        test_client.event_hooks = {"request": [], "response": [c.check for c in checkers]}
        yield test_client


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    return api_headers(connect_with_secret(client, register_app(client), scope=PAYROLL_SCOPES))


def _json(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return httpx.Response(200, content=response.content).json(parse_float=Decimal)


def _reasons(response: httpx.Response) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["httpStatusCode"] == "BadRequest" and body["problem"]["status"] == "400"
    return [field["reason"] for field in body["problem"]["invalidFields"]]


def _setup(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    """A new employee on the weekly calendar, a free period and the ordinary rate."""
    calendars = client.get(f"{P1}/PayrollCalendars", headers=headers).json()["PayrollCalendars"]
    weekly = next(c for c in calendars if c["CalendarType"] == "WEEKLY")
    rates = client.get(f"{P1}/PayItems", headers=headers).json()["PayItems"]["EarningsRates"]
    rate_id = next(r["EarningsRateID"] for r in rates if r["Name"] == "Ordinary Hours")
    other_rate = next(r["EarningsRateID"] for r in rates if r["EarningsRateID"] != rate_id
                      and r.get("RateType") != "FIXEDAMOUNT")
    employee = client.post(f"{P1}/Employees", headers=headers, json=[{
        "FirstName": "Grace", "LastName": "Hopper", "DateOfBirth": "1980-12-09",
        "HomeAddress": {"AddressLine1": "1 Bay St", "City": "Sydney", "Region": "NSW",
                        "PostalCode": "2000", "Country": "AUSTRALIA"},
        "PayrollCalendarID": weekly["PayrollCalendarID"]}]).json()["Employees"][0]
    start = parse_date(weekly["StartDate"]) + timedelta(days=21)
    return {"employee": employee["EmployeeID"], "calendar": weekly["PayrollCalendarID"],
            "start": start, "end": start + timedelta(days=6), "rate": rate_id,
            "other_rate": other_rate}


def _create(client: TestClient, headers: dict[str, str], s: dict[str, Any],
            lines: list[dict[str, Any]] | None = None, **extra: Any) -> httpx.Response:
    body = {"payrollCalendarID": s["calendar"], "employeeID": s["employee"],
            "startDate": s["start"].isoformat(), "endDate": s["end"].isoformat(),
            "timesheetLines": lines if lines is not None else [
                {"date": s["start"].isoformat(), "earningsRateID": s["rate"], "numberOfUnits": 8},
                {"date": (s["start"] + timedelta(days=2)).isoformat(),
                 "earningsRateID": s["rate"], "numberOfUnits": 6}],
            **extra}
    return client.post(f"{P2}/Timesheets", headers=headers, json=body)


def test_create_in_v2_read_in_v1(client: TestClient, headers: dict[str, str],
                                 checkers: tuple[ContractChecker, ContractChecker]) -> None:
    s = _setup(client, headers)
    body = _json(_create(client, headers, s))
    assert body["httpStatusCode"] == "OK" and body["pagination"] is None
    sheet = body["timesheet"]
    assert sheet["status"] == "Draft" and sheet["totalHours"] == 14
    assert sheet["payrollCalendarID"] == s["calendar"] and sheet["startDate"] == s["start"].isoformat()
    assert [(ln["date"], ln["numberOfUnits"]) for ln in sheet["timesheetLines"]] == [
        (s["start"].isoformat(), 8), ((s["start"] + timedelta(days=2)).isoformat(), 6)]

    v1 = _json(client.get(f"{P1}/Timesheets/{sheet['timesheetID']}", headers=headers))["Timesheet"]
    assert v1["EmployeeID"] == s["employee"] and v1["Status"] == "DRAFT" and v1["Hours"] == 14
    assert parse_date(v1["StartDate"]) == s["start"] and parse_date(v1["EndDate"]) == s["end"]
    assert [ln["NumberOfUnits"] for ln in v1["TimesheetLines"]] == [[8, 0, 6, 0, 0, 0, 0]]
    assert "_V2IDs" not in v1["TimesheetLines"][0]

    again = _json(client.get(f"{P2}/Timesheets/{sheet['timesheetID']}", headers=headers))
    assert again["timesheet"]["timesheetLines"] == sheet["timesheetLines"]
    v2, v1_checker = checkers[1], checkers[0]
    assert len(v2.validated) >= 2 and not v2.refused and v1_checker.validated


def test_create_in_v1_read_in_v2(client: TestClient, headers: dict[str, str]) -> None:
    s = _setup(client, headers)
    created = _json(client.post(f"{P1}/Timesheets", headers=headers, json=[{
        "EmployeeID": s["employee"], "StartDate": ms_date(s["start"]),
        "EndDate": ms_date(s["end"]), "Status": "APPROVED",
        "TimesheetLines": [{"EarningsRateID": s["rate"],
                            "NumberOfUnits": [7.5, 7.5, 0, 7.5, 7.5, 0, 0]}]}]))
    ident = created["Timesheets"][0]["TimesheetID"]
    sheet = _json(client.get(f"{P2}/Timesheets/{ident}", headers=headers))["timesheet"]
    assert sheet["status"] == "Approved" and sheet["totalHours"] == Decimal("30.0")
    days = [s["start"] + timedelta(days=d) for d in (0, 1, 3, 4)]
    assert [ln["date"] for ln in sheet["timesheetLines"]] == [d.isoformat() for d in days]
    assert {ln["earningsRateID"] for ln in sheet["timesheetLines"]} == {s["rate"]}
    ids = [ln["timesheetLineID"] for ln in sheet["timesheetLines"]]
    assert len(set(ids)) == 4  # stable between reads:
    assert ids == [ln["timesheetLineID"] for ln in _json(client.get(
        f"{P2}/Timesheets/{ident}", headers=headers))["timesheet"]["timesheetLines"]]

    # a 2.0 line change keeps the other lines' ids and shows in 1.0
    deleted = client.delete(f"{P2}/Timesheets/{ident}/Lines/{ids[1]}", headers=headers)
    assert _json(deleted)["httpStatusCode"] == "OK"
    after = _json(client.get(f"{P2}/Timesheets/{ident}", headers=headers))["timesheet"]
    assert [ln["timesheetLineID"] for ln in after["timesheetLines"]] == [ids[0], ids[2], ids[3]]
    v1 = _json(client.get(f"{P1}/Timesheets/{ident}", headers=headers))["Timesheet"]
    assert v1["TimesheetLines"][0]["NumberOfUnits"] == [Decimal("7.5"), 0, 0, Decimal("7.5"),
                                                         Decimal("7.5"), 0, 0]


def test_lines_add_update_delete(client: TestClient, headers: dict[str, str]) -> None:
    s = _setup(client, headers)
    sheet = _json(_create(client, headers, s, lines=[]))["timesheet"]
    ident = sheet["timesheetID"]
    assert sheet["timesheetLines"] == [] and sheet["totalHours"] == 0
    day = (s["start"] + timedelta(days=1)).isoformat()

    first = _json(client.post(f"{P2}/Timesheets/{ident}/Lines", headers=headers,
                              json={"date": day, "earningsRateID": s["rate"], "numberOfUnits": 2}))
    line = first["timesheetLine"]
    assert line["date"] == day and line["numberOfUnits"] == 2
    # a second line on the same date and rate stays a line of its own
    second = _json(client.post(f"{P2}/Timesheets/{ident}/Lines", headers=headers,
                               json={"date": day, "earningsRateID": s["rate"],
                                     "numberOfUnits": 1}))["timesheetLine"]
    other = _json(client.post(f"{P2}/Timesheets/{ident}/Lines", headers=headers,
                              json={"date": day, "earningsRateID": s["other_rate"],
                                    "numberOfUnits": 3}))["timesheetLine"]
    got = _json(client.get(f"{P2}/Timesheets/{ident}", headers=headers))["timesheet"]
    assert got["totalHours"] == 6 and len(got["timesheetLines"]) == 3
    v1 = _json(client.get(f"{P1}/Timesheets/{ident}", headers=headers))["Timesheet"]
    assert sorted(ln["NumberOfUnits"][1] for ln in v1["TimesheetLines"]) == [1, 2, 3]

    updated = _json(client.put(f"{P2}/Timesheets/{ident}/Lines/{line['timesheetLineID']}",
                               headers=headers, json={"date": s["end"].isoformat(),
                                                      "earningsRateID": s["rate"],
                                                      "numberOfUnits": 4.5}))["timesheetLine"]
    assert updated["timesheetLineID"] == line["timesheetLineID"]
    assert updated["date"] == s["end"].isoformat() and updated["numberOfUnits"] == Decimal("4.5")

    assert client.delete(f"{P2}/Timesheets/{ident}/Lines/{second['timesheetLineID']}",
                         headers=headers).status_code == 200
    got = _json(client.get(f"{P2}/Timesheets/{ident}", headers=headers))["timesheet"]
    assert {ln["timesheetLineID"] for ln in got["timesheetLines"]} == {
        line["timesheetLineID"], other["timesheetLineID"]}
    assert got["totalHours"] == Decimal("7.5")

    outside = client.post(f"{P2}/Timesheets/{ident}/Lines", headers=headers,
                          json={"date": (s["end"] + timedelta(days=1)).isoformat(),
                                "earningsRateID": s["rate"], "numberOfUnits": 1})
    assert _reasons(outside) == ["The date must fall within the timesheet period"]
    zero = client.post(f"{P2}/Timesheets/{ident}/Lines", headers=headers,
                       json={"date": day, "earningsRateID": s["rate"], "numberOfUnits": 0})
    assert _reasons(zero) == ["numberOfUnits must be greater than 0"]
    missing = client.put(f"{P2}/Timesheets/{ident}/Lines/{second['timesheetLineID']}",
                         headers=headers, json={"date": day, "earningsRateID": s["rate"],
                                                "numberOfUnits": 1})
    assert missing.status_code == 404


def test_approve_revert_and_delete(client: TestClient, headers: dict[str, str],
                                   state: SandboxState) -> None:
    s = _setup(client, headers)
    ident = _json(_create(client, headers, s))["timesheet"]["timesheetID"]
    approved = _json(client.post(f"{P2}/Timesheets/{ident}/Approve", headers=headers))
    assert approved["timesheet"]["status"] == "Approved"
    assert len(approved["timesheet"]["timesheetLines"]) == 2
    assert _json(client.get(f"{P1}/Timesheets/{ident}", headers=headers))["Timesheet"][
        "Status"] == "APPROVED"
    reverted = _json(client.post(f"{P2}/Timesheets/{ident}/RevertToDraft", headers=headers))
    assert reverted["timesheet"]["status"] == "Draft"
    assert _json(client.get(f"{P1}/Timesheets/{ident}", headers=headers))["Timesheet"][
        "Status"] == "DRAFT"

    with state.transaction():
        record = state.orgs[AU].get_record("Timesheets", ident)
        assert record is not None
        state.orgs[AU].put_record("Timesheets", ident, {**record, "Status": "PROCESSED"})
    got = _json(client.get(f"{P2}/Timesheets/{ident}", headers=headers))["timesheet"]
    assert got["status"] == "Completed"
    refused = client.post(f"{P2}/Timesheets/{ident}/RevertToDraft", headers=headers)
    assert _reasons(refused) == ["A completed timesheet cannot be changed"]
    assert _reasons(client.delete(f"{P2}/Timesheets/{ident}", headers=headers)) == [
        "A completed timesheet cannot be changed"]
    with state.transaction():
        state.orgs[AU].put_record("Timesheets", ident, {**record, "Status": "DRAFT"})

    deleted = client.delete(f"{P2}/Timesheets/{ident}", headers=headers)
    assert _json(deleted)["httpStatusCode"] == "OK"
    assert client.get(f"{P1}/Timesheets/{ident}", headers=headers).status_code == 404
    assert client.get(f"{P2}/Timesheets/{ident}", headers=headers).status_code == 404
    assert client.post(f"{P2}/Timesheets/{ident}/Approve", headers=headers).status_code == 404


def test_period_employee_calendar_and_duplicate_rules(client: TestClient,
                                                      headers: dict[str, str]) -> None:
    s = _setup(client, headers)
    shifted = {**s, "start": s["start"] + timedelta(days=1), "end": s["end"] + timedelta(days=1)}
    assert _reasons(_create(client, headers, shifted, lines=[])) == [PERIOD_TEXT]
    assert PERIOD_TEXT in _create(client, headers, shifted, lines=[]).text
    wrong_calendar = {**s, "calendar": "00000000-0000-0000-0000-000000000001"}
    assert _reasons(_create(client, headers, wrong_calendar)) == [
        "The payroll calendar is not the employee's payroll calendar"]
    unknown_rate = [{"date": s["start"].isoformat(),
                     "earningsRateID": "00000000-0000-0000-0000-000000000002", "numberOfUnits": 1}]
    assert _reasons(_create(client, headers, s, lines=unknown_rate)) == [
        "Earnings rate '00000000-0000-0000-0000-000000000002' does not exist"]

    assert _create(client, headers, s).status_code == 200
    duplicate = _create(client, headers, s)
    assert _reasons(duplicate) == ["This timesheet already exists, please provide the timesheet ID"]
    v1_duplicate = client.post(f"{P1}/Timesheets", headers=headers, json=[{
        "EmployeeID": s["employee"], "StartDate": ms_date(s["start"]),
        "EndDate": ms_date(s["end"]), "TimesheetLines": []}])
    assert v1_duplicate.status_code == 400 and "already exists" in v1_duplicate.text


def test_list_filters_paging_and_sort(client: TestClient, headers: dict[str, str]) -> None:
    s = _setup(client, headers)
    mine = _json(_create(client, headers, s))["timesheet"]
    everything = _json(client.get(f"{P2}/Timesheets", headers=headers))
    assert everything["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 1,
                                        "itemCount": 9}
    assert everything["timesheets"][-1]["timesheetID"] == mine["timesheetID"]
    assert "timesheetLines" not in everything["timesheets"][0]

    def ids(**params: str) -> list[str]:
        body = _json(client.get(f"{P2}/Timesheets", headers=headers, params=params))
        return [t["timesheetID"] for t in body["timesheets"]]

    assert ids(filter=f"employeeId=={s['employee']}") == [mine["timesheetID"]]
    calendar = ids(filter=f"employeeId=={s['employee']},payrollCalendarId=={s['calendar']}")
    assert calendar == [mine["timesheetID"]]
    drafts, approved = ids(status="Draft"), ids(status="APPROVED")
    assert len(drafts) == 5 and len(approved) == 4
    assert ids(startDate=s["start"].isoformat()) == [mine["timesheetID"]]
    assert mine["timesheetID"] not in ids(endDate=(s["end"] - timedelta(days=1)).isoformat())
    listed = _json(client.get(f"{P2}/Timesheets", headers=headers, params={"sort": "startDate"}))
    starts = [date.fromisoformat(t["startDate"]) for t in listed["timesheets"]]
    assert starts == sorted(starts, reverse=True) and listed["timesheets"][0]["timesheetID"] == \
        mine["timesheetID"]
    page_two = _json(client.get(f"{P2}/Timesheets", headers=headers, params={"page": "2"}))
    assert page_two["timesheets"] == [] and page_two["pagination"]["page"] == 2
    assert _reasons(client.get(f"{P2}/Timesheets", headers=headers,
                               params={"filter": "colour==blue"})) == [
        "filter accepts employeeId==<id> and payrollCalendarId==<id>"]


def test_idempotency_key_replays_a_create(client: TestClient, headers: dict[str, str]) -> None:
    s = _setup(client, headers)
    keyed = {**headers, "Idempotency-Key": "v2-create-1"}
    first = _create(client, keyed, s)
    second = _create(client, keyed, s)
    assert first.status_code == second.status_code == 200 and first.json() == second.json()


def test_scopes(client: TestClient, headers: dict[str, str]) -> None:
    app = register_app(client)
    no_timesheets = api_headers(connect_with_secret(client, app, scope="payroll.employees"))
    assert client.get(f"{P2}/Timesheets", headers=no_timesheets).status_code == 403
    s = _setup(client, headers)
    assert _create(client, no_timesheets, s).status_code == 403
    read_only = api_headers(connect_with_secret(client, register_app(client),
                                                scope="payroll.timesheets.read"))
    assert client.get(f"{P2}/Timesheets", headers=read_only).status_code == 200
    assert _create(client, read_only, s).status_code == 403


def test_contract_checker_fails_on_a_mismatch(
        checkers: tuple[ContractChecker, ContractChecker]) -> None:
    v2 = checkers[1]
    request = httpx.Request("GET", f"http://sandbox.test{P2}/Timesheets",
                            headers={"xero-tenant-id": AU})
    bad = httpx.Response(200, json={"timesheets": [{"totalHours": "many"}]}, request=request)
    with pytest.raises(AssertionError, match="response breaks the contract"):
        v2.check(bad)
    post = httpx.Request("POST", f"http://sandbox.test{P2}/Timesheets",
                         headers={"xero-tenant-id": AU},
                         json={"payrollCalendarID": str(uuid.uuid4()), "employeeID": str(uuid.uuid4()),
                               "startDate": "2020-04-13", "endDate": "2020-04-19"})
    bad_problem = httpx.Response(400, json={"problem": {"invalidFields": "nope"}}, request=post)
    with pytest.raises(AssertionError, match="problem breaks the contract"):
        v2.check(bad_problem)
