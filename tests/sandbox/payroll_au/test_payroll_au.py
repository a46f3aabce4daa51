"""Payroll AU 1.0 through HTTP: every operation, the timesheet rules, scopes, and the
contract (every call below is validated against xero-payroll-au.yaml by the fixture)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ledgerbridge.sandbox import SandboxState
from ledgerbridge.sandbox.accounting.wire import ms_date, parse_date
from ledgerbridge.sandbox.payroll_au.seed import seed_payroll_au
from ledgerbridge.sandbox.payroll_au.timesheets import DUPLICATE, PERIOD_MISMATCH
from tests.sandbox.helpers import AU, NZ, api_headers, connect_with_secret, register_app
from tests.sandbox.payroll_au.contract import ContractChecker

P = "/payroll.xro/1.0"


def _json(response: httpx.Response) -> Any:
    return httpx.Response(200, content=response.content).json(parse_float=Decimal)


def _messages(response: httpx.Response) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["ErrorNumber"] == 10 and body["Type"] == "ValidationException"
    return [m["Message"] for e in body["Elements"] for m in e["ValidationErrors"]]


def _weekly(payroll: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    calendars = payroll.get(f"{P}/PayrollCalendars", headers=headers).json()["PayrollCalendars"]
    return next(c for c in calendars if c["CalendarType"] == "WEEKLY")


def _rate_id(payroll: TestClient, headers: dict[str, str], name: str = "Ordinary Hours") -> str:
    rates = payroll.get(f"{P}/PayItems", headers=headers).json()["PayItems"]["EarningsRates"]
    return str(next(r["EarningsRateID"] for r in rates if r["Name"] == name))


def _new_employee(payroll: TestClient, headers: dict[str, str], calendar_id: str,
                  **extra: Any) -> dict[str, Any]:
    body = [{"FirstName": "Ada", "LastName": "Lovelace", "DateOfBirth": "1985-12-10",
             "HomeAddress": {"AddressLine1": "1 Bay St", "City": "Sydney", "Region": "NSW",
                             "PostalCode": "2000", "Country": "AUSTRALIA"},
             "PayrollCalendarID": calendar_id, **extra}]
    response = payroll.post(f"{P}/Employees", headers=headers, json=body)
    assert response.status_code == 200, response.text
    employee: dict[str, Any] = response.json()["Employees"][0]
    return employee


def _sheet(employee_id: str, start: date, days: int, rate_id: str, **extra: Any) -> dict[str, Any]:
    return {"EmployeeID": employee_id, "StartDate": ms_date(start).replace("+0000", ""),
            "EndDate": ms_date(start + timedelta(days=days - 1)), "Status": "DRAFT",
            "TimesheetLines": [{"EarningsRateID": rate_id,
                                "NumberOfUnits": [8, 8, 7.5, 8, 6, 0, 0][:days] + [0] * (days - 7)}],
            **extra}


# -- employees ----------------------------------------------------------------------------------


def test_employees_list_page_and_read(payroll: TestClient, headers: dict[str, str],
                                      state: SandboxState, contract: ContractChecker) -> None:
    with state.transaction():
        seed_payroll_au(state, state.orgs[AU], {"employees": 230})
    everyone = payroll.get(f"{P}/Employees", headers=headers).json()["Employees"]
    assert len(everyone) == 230
    pages = [payroll.get(f"{P}/Employees", headers=headers, params={"page": n}).json()["Employees"]
             for n in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [100, 100, 30, 0]
    assert [e["EmployeeID"] for p in pages for e in p] == [e["EmployeeID"] for e in everyone]

    first = everyone[0]
    one = payroll.get(f"{P}/Employees/{first['EmployeeID'].upper()}", headers=headers)
    assert one.json()["Employees"] == [first]
    assert first["DateOfBirth"].startswith("/Date(") and first["HomeAddress"]["AddressLine1"]
    assert payroll.get(f"{P}/Employees/{'0' * 8}-0000-0000-0000-{'0' * 12}",
                       headers=headers).status_code == 404

    where = payroll.get(f"{P}/Employees", headers=headers,
                        params={"where": f'LastName=="{first["LastName"]}"', "order": "FirstName"})
    assert {e["LastName"] for e in where.json()["Employees"]} == {first["LastName"]}
    assert len(contract.validated) >= 7
    assert contract.skipped == [f"GET {P}/Employees/{'0' * 8}-0000-0000-0000-{'0' * 12} -> 404"]


def test_employee_create_update_and_validation(payroll: TestClient, headers: dict[str, str]) -> None:
    weekly = _weekly(payroll, headers)
    created = _new_employee(payroll, headers, weekly["PayrollCalendarID"],
                            OrdinaryEarningsRateID=_rate_id(payroll, headers), Gender="F")
    assert created["Status"] == "ACTIVE" and created["DateOfBirth"] == ms_date(date(1985, 12, 10))
    assert created["UpdatedDateUTC"].endswith("+0000)/")

    employee_id = created["EmployeeID"]
    updated = payroll.post(f"{P}/Employees/{employee_id}", headers=headers,
                           json=[{"FirstName": "Augusta", "LastName": "Lovelace",
                                  "DateOfBirth": "1985-12-10", "JobTitle": "Analyst"}])
    assert updated.status_code == 200, updated.text
    after = updated.json()["Employees"][0]
    assert (after["FirstName"], after["LastName"], after["JobTitle"]) == (
        "Augusta", "Lovelace", "Analyst")

    missing = payroll.post(f"{P}/Employees", headers=headers, json=[{"FirstName": "No"}])
    assert _messages(missing) == ["LastName is required", "DateOfBirth is required",
                                  "HomeAddress is required"]
    bad_refs = payroll.post(f"{P}/Employees", headers=headers, json=[{
        "FirstName": "A", "LastName": "B", "DateOfBirth": "/Date(500000000000+0000)/",
        "HomeAddress": {"AddressLine1": "x", "Region": "XYZ"}}])
    assert "Region must be one of" in _messages(bad_refs)[0]
    bad_calendar = payroll.post(f"{P}/Employees", headers=headers, json=[{
        "FirstName": "A", "LastName": "B", "DateOfBirth": "1990-01-01",
        "HomeAddress": {"AddressLine1": "x"},
        "PayrollCalendarID": "11111111-1111-1111-1111-111111111111"}])
    assert _messages(bad_calendar) == [
        "PayrollCalendarID '11111111-1111-1111-1111-111111111111' does not exist"]
    assert payroll.post(f"{P}/Employees/22222222-2222-2222-2222-222222222222", headers=headers,
                        json=[{"FirstName": "x"}]).status_code == 404


# -- pay items and calendars --------------------------------------------------------------------


def test_pay_items_read_and_add_earnings_rate(payroll: TestClient, headers: dict[str, str]) -> None:
    items = _json(payroll.get(f"{P}/PayItems", headers=headers))["PayItems"]
    assert set(items) == {"EarningsRates", "DeductionTypes", "LeaveTypes", "ReimbursementTypes"}
    by_name = {r["Name"]: r for r in items["EarningsRates"]}
    assert {"Ordinary Hours", "Overtime Hours (exempt from super)", "Saturday Rate", "Sunday Rate",
            "Allowance"} <= set(by_name)
    overtime = by_name["Overtime Hours (exempt from super)"]
    assert overtime["IsExemptFromSuper"] is True and overtime["IsQualifyingEarnings"] is False
    assert overtime["Multiplier"] == Decimal("1.5")
    assert by_name["Ordinary Hours"]["RatePerUnit"] == "32.50"

    new = {"Name": "Night Shift", "EarningsType": "OVERTIMEEARNINGS", "RateType": "MULTIPLE",
           "Multiplier": 1.75, "AccountCode": "477", "IsQualifyingEarnings": False,
           "IsExemptFromSuper": True, "IsExemptFromTax": False, "IsReportableAsW1": False}
    added = payroll.post(f"{P}/PayItems", headers=headers, json={"EarningsRates": [new]})
    assert added.status_code == 200, added.text
    rate = _json(added)["PayItems"]["EarningsRates"][0]
    assert rate["Multiplier"] == Decimal("1.75") and rate["EarningsRateID"]
    again = payroll.get(f"{P}/PayItems", headers=headers).json()["PayItems"]["EarningsRates"]
    assert "Night Shift" in {r["Name"] for r in again}

    both = dict(new, Name="Bad", IsQualifyingEarnings=True)
    assert _messages(payroll.post(f"{P}/PayItems", headers=headers,
                                  json={"EarningsRates": [both]})) == [
        "IsQualifyingEarnings cannot be true when IsExemptFromSuper is true"]
    unset = {k: v for k, v in new.items() if k != "IsQualifyingEarnings"} | {"Name": "Unset"}
    assert _messages(payroll.post(f"{P}/PayItems", headers=headers,
                                  json={"EarningsRates": [unset]})) == [
        "IsQualifyingEarnings is required"]


def test_payroll_calendars(payroll: TestClient, headers: dict[str, str]) -> None:
    calendars = payroll.get(f"{P}/PayrollCalendars", headers=headers).json()["PayrollCalendars"]
    assert sorted(c["CalendarType"] for c in calendars) == ["FORTNIGHTLY", "WEEKLY"]
    weekly = _weekly(payroll, headers)
    assert parse_date(weekly["StartDate"]).weekday() == 0  # seeded on a Monday
    one = payroll.get(f"{P}/PayrollCalendars/{weekly['PayrollCalendarID']}", headers=headers)
    assert one.json()["PayrollCalendars"] == [weekly]

    created = payroll.post(f"{P}/PayrollCalendars", headers=headers, json=[{
        "Name": "Monthly", "CalendarType": "MONTHLY", "StartDate": "2026-11-01",
        "PaymentDate": "/Date(1795910400000+0000)/"}])
    assert created.status_code == 200, created.text
    assert created.json()["PayrollCalendars"][0]["StartDate"] == ms_date(date(2026, 11, 1))
    bad = payroll.post(f"{P}/PayrollCalendars", headers=headers, json=[{
        "Name": "Daily", "CalendarType": "DAILY", "StartDate": "2026-11-01",
        "PaymentDate": "2026-11-02"}])
    assert "CalendarType must be one of" in _messages(bad)[0]
    assert payroll.get(f"{P}/PayrollCalendars/33333333-3333-3333-3333-333333333333",
                       headers=headers).status_code == 404


# -- timesheets ---------------------------------------------------------------------------------


def test_timesheet_create_read_update_approve(payroll: TestClient, headers: dict[str, str]) -> None:
    weekly = _weekly(payroll, headers)
    start = parse_date(weekly["StartDate"]) + timedelta(days=7)  # next week's period
    employee = _new_employee(payroll, headers, weekly["PayrollCalendarID"])
    rate_id = _rate_id(payroll, headers)

    created = payroll.post(f"{P}/Timesheets", headers=headers,
                           json=[_sheet(employee["EmployeeID"], start, 7, rate_id)])
    assert created.status_code == 200, created.text
    sheet = _json(created)["Timesheets"][0]
    assert sheet["Status"] == "DRAFT" and sheet["Hours"] == Decimal("37.5")
    assert sheet["StartDate"] == ms_date(start)
    assert sheet["EndDate"] == ms_date(start + timedelta(days=6))
    assert len(sheet["TimesheetLines"][0]["NumberOfUnits"]) == 7

    one = _json(payroll.get(f"{P}/Timesheets/{sheet['TimesheetID']}", headers=headers))
    sheet.pop("StatusAttributeString")  # writes carry it, reads do not
    assert one["Timesheet"] == sheet  # singular key, the spec's TimesheetObject

    echo = created.json()["Timesheets"][0]
    del echo["UpdatedDateUTC"], echo["TimesheetLines"][0]["UpdatedDateUTC"]  # read-only
    approved = payroll.post(f"{P}/Timesheets/{sheet['TimesheetID']}", headers=headers,
                            json=[{**echo, "Status": "APPROVED"}])
    assert approved.status_code == 200, approved.text
    assert approved.json()["Timesheets"][0]["Status"] == "APPROVED"

    listed = payroll.get(f"{P}/Timesheets", headers=headers, params={
        "where": f'EmployeeID==Guid("{employee["EmployeeID"]}")', "page": 1})
    assert [t["TimesheetID"] for t in listed.json()["Timesheets"]] == [sheet["TimesheetID"]]


def test_timesheet_period_must_match_the_calendar(payroll: TestClient,
                                                  headers: dict[str, str]) -> None:
    weekly = _weekly(payroll, headers)
    start = parse_date(weekly["StartDate"])
    employee = _new_employee(payroll, headers, weekly["PayrollCalendarID"])
    rate_id = _rate_id(payroll, headers)
    shifted = payroll.post(f"{P}/Timesheets", headers=headers,
                           json=[_sheet(employee["EmployeeID"], start + timedelta(days=1), 7, rate_id)])
    assert _messages(shifted) == [PERIOD_MISMATCH]
    fortnight = payroll.post(f"{P}/Timesheets", headers=headers,
                             json=[_sheet(employee["EmployeeID"], start, 14, rate_id)])
    assert _messages(fortnight) == [PERIOD_MISMATCH]
    # Far in the past is fine when it is a real period of the calendar.
    old = payroll.post(f"{P}/Timesheets", headers=headers,
                       json=[_sheet(employee["EmployeeID"], start - timedelta(weeks=30), 7, rate_id)])
    assert old.status_code == 200, old.text


def test_second_timesheet_for_the_same_period_is_refused(payroll: TestClient,
                                                         headers: dict[str, str]) -> None:
    """Xero refuses, it does not update: the client must send the TimesheetID."""
    weekly = _weekly(payroll, headers)
    start = parse_date(weekly["StartDate"]) + timedelta(days=14)
    employee = _new_employee(payroll, headers, weekly["PayrollCalendarID"])
    rate_id = _rate_id(payroll, headers)
    body = [_sheet(employee["EmployeeID"], start, 7, rate_id)]
    first = payroll.post(f"{P}/Timesheets", headers=headers, json=body)
    assert first.status_code == 200
    assert _messages(payroll.post(f"{P}/Timesheets", headers=headers, json=body)) == [DUPLICATE]
    timesheet_id = first.json()["Timesheets"][0]["TimesheetID"]
    with_id = payroll.post(f"{P}/Timesheets", headers=headers,
                           json=[{**body[0], "TimesheetID": timesheet_id, "Status": "APPROVED"}])
    assert with_id.status_code == 200 and with_id.json()["Timesheets"][0]["Status"] == "APPROVED"


def test_timesheet_line_rules(payroll: TestClient, headers: dict[str, str],
                              state: SandboxState) -> None:
    weekly = _weekly(payroll, headers)
    start = parse_date(weekly["StartDate"]) + timedelta(days=21)
    employee = _new_employee(payroll, headers, weekly["PayrollCalendarID"])
    rate_id = _rate_id(payroll, headers)
    short = _sheet(employee["EmployeeID"], start, 7, rate_id)
    short["TimesheetLines"][0]["NumberOfUnits"] = [8, 8]
    assert _messages(payroll.post(f"{P}/Timesheets", headers=headers, json=[short])) == [
        "NumberOfUnits must have 7 entries, one for each day of the timesheet period"]
    unknown = _sheet(employee["EmployeeID"], start, 7, "44444444-4444-4444-4444-444444444444")
    assert _messages(payroll.post(f"{P}/Timesheets", headers=headers, json=[unknown])) == [
        "Earnings rate '44444444-4444-4444-4444-444444444444' does not exist"]
    no_calendar = _new_employee(payroll, headers, weekly["PayrollCalendarID"])
    with state.transaction():
        record = state.orgs[AU].get_record("Employees", no_calendar["EmployeeID"])
        assert record is not None
        record["PayrollCalendarID"] = None
        state.orgs[AU].put_record("Employees", no_calendar["EmployeeID"], record)
    assert "payroll calendar" in _messages(payroll.post(
        f"{P}/Timesheets", headers=headers,
        json=[_sheet(no_calendar["EmployeeID"], start, 7, rate_id)]))[0]

    # Partial batches: the good element commits, the answer lists the bad one.
    tracked = _sheet(employee["EmployeeID"], start, 7, rate_id)
    tracked["TimesheetLines"][0]["TrackingItemID"] = "55555555-5555-5555-5555-555555555555"
    mixed = payroll.post(f"{P}/Timesheets", headers=headers, params={"summarizeErrors": "false"},
                         json=[tracked, short])
    assert mixed.status_code == 200
    statuses = [t["StatusAttributeString"] for t in mixed.json()["Timesheets"]]
    assert statuses == ["OK", "ERROR"]


def test_processed_timesheet_cannot_change(payroll: TestClient, headers: dict[str, str],
                                           state: SandboxState) -> None:
    sheet = payroll.get(f"{P}/Timesheets", headers=headers).json()["Timesheets"][0]
    with state.transaction():
        record = state.orgs[AU].get_record("Timesheets", sheet["TimesheetID"])
        assert record is not None
        state.orgs[AU].put_record("Timesheets", sheet["TimesheetID"], {**record, "Status": "PROCESSED"})
    refused = payroll.post(f"{P}/Timesheets/{sheet['TimesheetID']}", headers=headers,
                           json=[{"EmployeeID": sheet["EmployeeID"], "Status": "DRAFT",
                                  "StartDate": sheet["StartDate"], "EndDate": sheet["EndDate"]}])
    assert _messages(refused) == ["A processed timesheet cannot be changed"]


# -- scopes, seeding, contract ------------------------------------------------------------------


def test_scopes(payroll: TestClient) -> None:
    app = register_app(payroll)
    read_only = api_headers(connect_with_secret(payroll, app, scope="payroll.employees.read"))
    assert payroll.get(f"{P}/Employees", headers=read_only).status_code == 200
    assert payroll.post(f"{P}/Employees", headers=read_only, json=[{}]).status_code == 403
    assert payroll.get(f"{P}/Timesheets", headers=read_only).status_code == 403
    assert payroll.get(f"{P}/PayItems", headers=read_only).status_code == 403


def test_seeding_is_au_only_and_sized(state: SandboxState, payroll: TestClient) -> None:
    au, nz = state.orgs[AU], state.orgs[NZ]
    assert len(au.records("Employees")) == 15 and len(au.records("PayrollCalendars")) == 2
    assert len(au.records("Timesheets")) == 8
    assert not nz.records("Employees")
    statuses = sorted(t["Status"] for t in au.records("Timesheets").values())
    assert statuses == ["APPROVED"] * 4 + ["DRAFT"] * 4
    for employee in au.records("Employees").values():
        assert employee["HomeAddress"]["AddressLine1"] and employee["PayrollCalendarID"]
    hours = {t["Hours"] for t in au.records("Timesheets").values()}
    assert hours == {Decimal("38.00")}


def test_contract_checker_fails_on_a_mismatch(contract: ContractChecker) -> None:
    request = httpx.Request("GET", f"http://sandbox.test{P}/Timesheets",
                            headers={"xero-tenant-id": AU})
    bad = httpx.Response(200, json={"Timesheets": [{"Hours": "many"}]}, request=request)
    with pytest.raises(AssertionError, match="response breaks the contract"):
        contract.check(bad)
    no_tenant = httpx.Response(200, json={}, request=httpx.Request("GET", f"http://x{P}/Employees"))
    with pytest.raises(AssertionError, match="request breaks the contract"):
        contract.check(no_tenant)
