"""Timesheets to Xero Payroll AU against the sandbox: the mapping wizard, every problem a
preview names, sending (create, re-send, approve, update of Xero's own), Xero's refusals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from ledgerbridge.db import Database
from ledgerbridge.payroll.models import ExportStatus
from ledgerbridge.payroll.periods import Period
from ledgerbridge.payroll.timesheets import EmployeeTimesheet, _prepare
from ledgerbridge.sandbox.payroll_au.timesheets import PERIOD_MISMATCH
from ledgerbridge.work.models import Project, Task
from ledgerbridge.xero.services import XeroServices
from tests.factories import seed_workspace
from tests.payroll.conftest import Payroll


def _by(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in rows}


def _units(*hours: str, days: int) -> list[Decimal]:
    units = [Decimal(h) for h in hours]
    return units + [Decimal("0")] * (days - len(units))


# -- the mapping wizard -------------------------------------------------------------------------


def test_wizard_suggests_employees_by_email_and_name_and_rates_by_name(payroll: Payroll) -> None:
    weekly, other_weekly = payroll.employees_on("WEEKLY")[:2]
    fortnightly = payroll.employees_on("FORTNIGHTLY")[0]
    by_name = payroll.member(
        f"{weekly['LastName'].upper()}, {weekly['FirstName']}", "someone@harbour.example.com"
    )
    by_email = payroll.member("Charlie Nickname", fortnightly["Email"].upper())

    wizard = payroll.api.get(f"{payroll.base}/mappings").json()

    members = _by(wizard["members"], "member_id")
    assert members[by_name]["suggestion"] == {
        "xero_id": weekly["EmployeeID"],
        "name": f"{weekly['FirstName']} {weekly['LastName']}",
        "reason": "name",
    }
    assert members[by_email]["suggestion"]["xero_id"] == fortnightly["EmployeeID"]
    assert members[by_email]["suggestion"]["reason"] == "email"
    assert members[payroll.seeded.employee_id]["suggestion"] is None  # no employee called Mia Chen
    assert members[by_name]["employee_id"] is None
    work_types = _by(wizard["work_types"], "work_type_id")
    assert work_types[payroll.seeded.work_type_id]["suggestion"]["xero_id"] == payroll.rate("Ordinary Hours")
    assert {e["xero_id"] for e in wizard["employees"]} == {
        e["EmployeeID"] for e in payroll.org.iter_records("Employees")
    }
    assert wizard["employees"][0]["detail"]["payroll_calendar"] in {"Weekly", "Fortnightly"}
    assert set(payroll.options()) == {o["xero_id"] for o in wizard["tracking_options"]}

    accepted = payroll.api.post(f"{payroll.base}/mappings/accept-suggestions").json()
    members = _by(accepted["members"], "member_id")
    assert members[by_name]["employee_id"] == weekly["EmployeeID"]
    assert members[by_email]["employee_id"] == fortnightly["EmployeeID"]
    assert members[by_email]["suggestion"] is None
    assert _by(accepted["work_types"], "work_type_id")[payroll.seeded.work_type_id]["earnings_rate_id"] == (
        payroll.rate("Ordinary Hours")
    )

    # Override one, remove another.
    changed = payroll.map(
        members=[
            {"member_id": by_name, "employee_id": other_weekly["EmployeeID"]},
            {"member_id": by_email, "employee_id": None},
        ]
    )
    members = _by(changed["members"], "member_id")
    assert members[by_name]["employee_id"] == other_weekly["EmployeeID"]
    assert members[by_email]["employee_id"] is None
    assert members[by_email]["suggestion"]["xero_id"] == fortnightly["EmployeeID"]


def test_mapping_errors_name_the_field_and_roles_and_workspaces_are_enforced(
    payroll: Payroll, service: TestClient, database: Database
) -> None:
    weekly = payroll.employees_on("WEEKLY")[0]
    unknown = payroll.api.put(
        f"{payroll.base}/mappings",
        json={
            "members": [
                {
                    "member_id": payroll.seeded.employee_id,
                    "employee_id": "00000000-0000-0000-0000-000000000001",
                }
            ],
            "work_types": [{"work_type_id": "nope", "earnings_rate_id": None}],
        },
    )
    assert unknown.status_code == 422, unknown.text
    fields = {e["field"] for e in unknown.json()["errors"]}
    assert fields == {"members[0].employee_id", "work_types[0].work_type_id"}

    both = payroll.api.put(
        f"{payroll.base}/mappings",
        json={
            "members": [
                {"member_id": payroll.seeded.employee_id, "employee_id": weekly["EmployeeID"]},
                {"member_id": payroll.seeded.contractor_id, "employee_id": weekly["EmployeeID"]},
            ]
        },
    )
    assert both.status_code == 409, both.text
    assert both.json()["errors"][0]["field"] == "members[1].employee_id"

    member = TestClient(service.app)
    member.headers["Authorization"] = f"Bearer {payroll.seeded.member_token}"
    assert member.get(f"{payroll.base}/mappings").status_code == 200
    assert member.put(f"{payroll.base}/mappings", json={}).status_code == 403
    assert (
        member.post(f"{payroll.base}/timesheets/send", json={"period_containing": "2026-11-16"}).status_code
        == 403
    )

    with database.session() as session:
        other = seed_workspace(session, "Other Pty Ltd", slug="other")
    stranger = TestClient(service.app)
    stranger.headers["Authorization"] = f"Bearer {other.owner_token}"
    assert stranger.get(f"{payroll.base}/mappings").status_code == 404
    assert (
        stranger.post(
            f"{payroll.base}/timesheets/preview", json={"period_containing": "2026-11-16"}
        ).status_code
        == 404
    )
    assert stranger.get(f"{payroll.base}/timesheets/exports").status_code == 404


# -- preview --------------------------------------------------------------------------------------


def test_preview_names_every_problem(payroll: Payroll) -> None:
    weekly_calendar = payroll.calendar("WEEKLY")
    monday: date = weekly_calendar["StartDate"]
    with_sheet = next(e for e in payroll.employees_on("WEEKLY") if payroll.has_timesheet(e))
    fortnightly, no_calendar = payroll.employees_on("FORTNIGHTLY")[:2]
    no_calendar_record = payroll.org.get_record("Employees", no_calendar["EmployeeID"])
    assert no_calendar_record is not None
    no_calendar_record["PayrollCalendarID"] = None
    payroll.import_again()

    ana, ben, cy = payroll.member("Ana Weekly"), payroll.member("Ben Fortnightly"), payroll.member("Cy Nocal")
    overtime = payroll.work_type("Overtime")
    payroll.map(
        members=[
            {"member_id": ana, "employee_id": with_sheet["EmployeeID"]},
            {"member_id": ben, "employee_id": fortnightly["EmployeeID"]},
            {"member_id": cy, "employee_id": no_calendar["EmployeeID"]},
        ],
        work_types=[
            {"work_type_id": payroll.seeded.work_type_id, "earnings_rate_id": payroll.rate("Ordinary Hours")}
        ],
    )
    ordinary = payroll.seeded.work_type_id
    payroll.hours(ana, monday, 450, work_type_id=ordinary)
    payroll.hours(ana, monday + timedelta(days=1), 120, work_type_id=overtime)  # no earnings rate
    payroll.hours(ana, monday + timedelta(days=8), 60, work_type_id=ordinary)  # next week: outside
    payroll.hours(ben, monday + timedelta(days=8), 300, work_type_id=ordinary)  # inside the fortnight
    payroll.hours(cy, monday, 60, work_type_id=ordinary)
    payroll.hours(
        payroll.seeded.employee_id, monday + timedelta(days=2), 90, work_type_id=ordinary
    )  # unmapped

    preview = payroll.preview(
        start_date=monday.isoformat(), end_date=(monday + timedelta(days=13)).isoformat()
    )

    problems = {(p["code"], p["member_id"]): p for p in preview["problems"]}
    assert set(problems) == {
        ("unmapped_member", payroll.seeded.employee_id),
        ("missing_earnings_rate", ana),
        ("outside_period", ana),
        ("existing_timesheet", ana),
        ("no_payroll_calendar", cy),
    }
    assert "Mia Chen has 1.5 h" in problems[("unmapped_member", payroll.seeded.employee_id)]["message"]
    assert problems[("missing_earnings_rate", ana)]["work_type_id"] == overtime
    assert "2 h" in problems[("missing_earnings_rate", ana)]["message"]
    outside = problems[("outside_period", ana)]
    assert "1 h" in outside["message"] and (monday + timedelta(days=8)).isoformat() in outside["message"]
    assert problems[("existing_timesheet", ana)]["severity"] == "warning"
    assert "updates it" in problems[("existing_timesheet", ana)]["message"]
    sheets = _by(preview["timesheets"], "member_id")
    assert sheets[ana]["existing_timesheet_id"] == payroll.timesheets_of(with_sheet, monday)[0]["TimesheetID"]
    assert sheets[ana]["ready"] is False
    assert sheets[ben]["ready"] is True
    assert sheets[ben]["period_start"] == monday.isoformat()
    assert sheets[ben]["period_end"] == (monday + timedelta(days=13)).isoformat()
    assert [Decimal(u) for u in sheets[ben]["lines"][0]["units"]] == [Decimal(0)] * 8 + [Decimal(5)] + [
        Decimal(0)
    ] * 5

    # Nothing was written on either side.
    assert payroll.exports() == []

    # Fixing the problems clears them; the existing timesheet stays a warning.
    payroll.map(
        work_types=[
            {"work_type_id": overtime, "earnings_rate_id": payroll.rate("Overtime Hours (exempt from super)")}
        ]
    )
    fixed = payroll.preview(period_containing=monday.isoformat(), member_ids=[ana])
    assert [(p["code"], p["severity"]) for p in fixed["problems"]] == [("existing_timesheet", "warning")]
    assert fixed["timesheets"][0]["ready"] is True


def test_preview_input_errors(payroll: Payroll) -> None:
    neither = payroll.api.post(f"{payroll.base}/timesheets/preview", json={})
    assert neither.status_code == 422
    assert neither.json()["errors"][0]["field"] == "period_containing"
    backwards = payroll.api.post(
        f"{payroll.base}/timesheets/preview", json={"start_date": "2026-11-16", "end_date": "2026-11-10"}
    )
    assert backwards.json()["errors"][0]["field"] == "end_date"
    half = payroll.api.post(
        f"{payroll.base}/timesheets/preview",
        json={"period_containing": "2026-11-16", "end_date": "2026-11-22"},
    )
    assert half.status_code == 422
    assert half.json()["errors"][0]["field"] == "start_date"
    stranger = payroll.api.post(
        f"{payroll.base}/timesheets/preview",
        json={"period_containing": "2026-11-16", "member_ids": ["nobody"]},
    )
    assert stranger.status_code == 422
    assert stranger.json()["errors"][0]["field"] == "member_ids[0]"


# -- send -----------------------------------------------------------------------------------------


@dataclass
class Sent:
    weekly: dict[str, Any]
    fortnightly: dict[str, Any]
    ana: str
    ben: str
    monday: date
    project_option: str
    task_option: str


def _ready_to_send(payroll: Payroll) -> Sent:
    """Ana on a weekly employee with no timesheets, Ben on a fortnightly one; ordinary hours
    mapped; the seeded project and a second task tracked to two options."""
    monday: date = payroll.calendar("WEEKLY")["StartDate"]
    weekly = next(e for e in payroll.employees_on("WEEKLY") if not payroll.has_timesheet(e))
    fortnightly = next(e for e in payroll.employees_on("FORTNIGHTLY") if not payroll.has_timesheet(e))
    ana, ben = payroll.member("Ana Weekly"), payroll.member("Ben Fortnightly")
    project_option, task_option = payroll.options()[:2]
    with payroll.database.session() as session:
        project = session.get(Project, payroll.seeded.project_id)
        assert project is not None
        build = Task(workspace_id=payroll.seeded.workspace_id, project_id=project.id, name="Build")
        session.add(build)
        session.flush()
        build_id = build.id
    payroll.map(
        members=[
            {"member_id": ana, "employee_id": weekly["EmployeeID"]},
            {"member_id": ben, "employee_id": fortnightly["EmployeeID"]},
        ],
        work_types=[
            {"work_type_id": payroll.seeded.work_type_id, "earnings_rate_id": payroll.rate("Ordinary Hours")}
        ],
        projects=[{"project_id": payroll.seeded.project_id, "tracking_option_id": project_option}],
        tasks=[{"task_id": build_id, "tracking_option_id": task_option}],
    )
    ordinary = payroll.seeded.work_type_id
    payroll.hours(ana, monday, 450, work_type_id=ordinary)  # Design (project's option)
    payroll.hours(ana, monday, 30, work_type_id=ordinary)  # same day, same line: 8 h
    payroll.hours(ana, monday + timedelta(days=1), 20, work_type_id=ordinary)  # 0.33 h
    payroll.hours(
        ana, monday + timedelta(days=2), 480, work_type_id=ordinary, task_id=build_id
    )  # task's option
    payroll.hours(ana, monday + timedelta(days=4), 90)  # no work type: the employee's ordinary rate
    payroll.hours(ben, monday + timedelta(days=10), 300, work_type_id=ordinary)
    return Sent(weekly, fortnightly, ana, ben, monday, project_option, task_option)


def _lines(sheet: dict[str, Any]) -> dict[tuple[str, str | None], list[Decimal]]:
    return {
        (line["EarningsRateID"], line.get("TrackingItemID")): list(line["NumberOfUnits"])
        for line in sheet["TimesheetLines"]
    }


def test_send_creates_each_timesheet_with_its_units_per_day(payroll: Payroll) -> None:
    sent = _ready_to_send(payroll)
    before = len(payroll.org.records("Timesheets"))

    result = payroll.send(period_containing=(sent.monday + timedelta(days=3)).isoformat())

    outcomes = _by(result["outcomes"], "member_id")
    assert {o["outcome"] for o in outcomes.values()} == {"created"}, result
    assert result["error"] is None
    assert len(payroll.org.records("Timesheets")) == before + 2
    (weekly_sheet,) = payroll.timesheets_of(sent.weekly, sent.monday)
    assert weekly_sheet["EndDate"] == sent.monday + timedelta(days=6)
    assert weekly_sheet["Status"] == "DRAFT"
    ordinary = payroll.rate("Ordinary Hours")
    assert _lines(weekly_sheet) == {
        (ordinary, sent.project_option): _units("8", "0.33", "0", "0", "1.5", days=7),
        (ordinary, sent.task_option): _units("0", "0", "8", days=7),
    }
    assert weekly_sheet["Hours"] == Decimal("17.83")
    (fortnight_sheet,) = payroll.timesheets_of(sent.fortnightly, sent.monday)
    assert fortnight_sheet["EndDate"] == sent.monday + timedelta(days=13)
    assert _lines(fortnight_sheet) == {(ordinary, sent.project_option): _units(*["0"] * 10, "5", days=14)}

    exports = {e.member_id: e for e in payroll.exports()}
    assert exports[sent.ana].status is ExportStatus.SENT
    assert exports[sent.ana].timesheet_id == weekly_sheet["TimesheetID"] == outcomes[sent.ana]["timesheet_id"]
    assert exports[sent.ana].hours == Decimal("17.83")
    assert exports[sent.ana].xero_status == "DRAFT"
    assert exports[sent.ana].sent_at is not None and exports[sent.ana].error is None
    history = payroll.api.get(
        f"{payroll.base}/timesheets/exports", params={"employee_id": sent.weekly["EmployeeID"]}
    ).json()
    assert [(h["period_start"], h["status"], h["timesheet_id"]) for h in history] == [
        (sent.monday.isoformat(), "sent", weekly_sheet["TimesheetID"])
    ]


def test_resend_updates_the_same_timesheet_and_can_approve(payroll: Payroll) -> None:
    sent = _ready_to_send(payroll)
    first = payroll.send(period_containing=sent.monday.isoformat(), member_ids=[sent.ana])
    (created,) = first["outcomes"]
    count = len(payroll.org.records("Timesheets"))
    payroll.hours(sent.ana, sent.monday + timedelta(days=6), 60, work_type_id=payroll.seeded.work_type_id)

    again = payroll.send(period_containing=sent.monday.isoformat(), member_ids=[sent.ana], approve=True)

    (updated,) = again["outcomes"]
    assert updated["outcome"] == "updated"
    assert updated["timesheet_id"] == created["timesheet_id"]
    assert updated["status"] == "APPROVED"
    assert [p["code"] for p in again["problems"]] == ["existing_timesheet"]
    assert len(payroll.org.records("Timesheets")) == count
    (sheet,) = payroll.timesheets_of(sent.weekly, sent.monday)
    assert sheet["TimesheetID"] == created["timesheet_id"]
    assert sheet["Status"] == "APPROVED"
    assert sheet["Hours"] == Decimal("18.83")
    (export,) = [e for e in payroll.exports() if e.member_id == sent.ana]
    assert (export.attempts, export.xero_status, export.hours) == (2, "APPROVED", Decimal("18.83"))


def test_a_timesheet_xero_already_has_is_updated_not_duplicated(payroll: Payroll) -> None:
    monday: date = payroll.calendar("WEEKLY")["StartDate"]
    employee = next(e for e in payroll.employees_on("WEEKLY") if payroll.has_timesheet(e))
    (existing,) = payroll.timesheets_of(employee, monday)
    ana = payroll.member("Ana Weekly")
    payroll.map(
        members=[{"member_id": ana, "employee_id": employee["EmployeeID"]}],
        work_types=[
            {"work_type_id": payroll.seeded.work_type_id, "earnings_rate_id": payroll.rate("Ordinary Hours")}
        ],
    )
    payroll.hours(ana, monday + timedelta(days=1), 300, work_type_id=payroll.seeded.work_type_id)

    result = payroll.send(period_containing=monday.isoformat())

    (outcome,) = result["outcomes"]
    assert (outcome["outcome"], outcome["timesheet_id"]) == ("updated", existing["TimesheetID"])
    (sheet,) = payroll.timesheets_of(employee, monday)
    assert _lines(sheet) == {(payroll.rate("Ordinary Hours"), None): _units("0", "5", days=7)}


def test_xeros_refusal_reaches_the_user_on_that_employee(payroll: Payroll) -> None:
    sent = _ready_to_send(payroll)
    # Xero's weekly calendar moves after the import: our periods are stale, Xero refuses.
    calendar = payroll.org.get_record("PayrollCalendars", payroll.calendar("WEEKLY")["PayrollCalendarID"])
    assert calendar is not None
    calendar["StartDate"] = sent.monday + timedelta(days=3)

    result = payroll.send(period_containing=sent.monday.isoformat())

    outcomes = _by(result["outcomes"], "member_id")
    assert outcomes[sent.ana]["outcome"] == "failed"
    assert outcomes[sent.ana]["error"] == PERIOD_MISMATCH
    assert outcomes[sent.ben]["outcome"] == "created"  # one refusal does not stop the others
    assert payroll.timesheets_of(sent.weekly, sent.monday) == []
    exports = {e.member_id: e for e in payroll.exports()}
    assert (exports[sent.ana].status, exports[sent.ana].error) == (ExportStatus.FAILED, PERIOD_MISMATCH)
    assert exports[sent.ana].timesheet_id is None
    history = payroll.api.get(f"{payroll.base}/timesheets/exports").json()
    assert {(h["employee_id"], h["status"], h["error"]) for h in history} == {
        (sent.weekly["EmployeeID"], "failed", PERIOD_MISMATCH),
        (sent.fortnightly["EmployeeID"], "sent", None),
    }

    # After a fresh import the periods agree again, and the same send goes through.
    payroll.import_again()
    retried = payroll.send(
        period_containing=(sent.monday + timedelta(days=3)).isoformat(), member_ids=[sent.ana]
    )
    (outcome,) = retried["outcomes"]
    assert outcome["outcome"] == "created", retried
    assert outcome["period_start"] == (sent.monday + timedelta(days=3)).isoformat()


def test_skipped_employees_are_not_sent(payroll: Payroll) -> None:
    sent = _ready_to_send(payroll)
    overtime = payroll.work_type("Overtime")
    payroll.hours(sent.ben, sent.monday, 60, work_type_id=overtime)

    result = payroll.send(period_containing=sent.monday.isoformat())

    outcomes = _by(result["outcomes"], "member_id")
    assert outcomes[sent.ben]["outcome"] == "skipped"
    assert "no earnings rate" in outcomes[sent.ben]["error"]
    assert outcomes[sent.ana]["outcome"] == "created"
    assert payroll.timesheets_of(sent.fortnightly, sent.monday) == []
    assert {e.member_id for e in payroll.exports()} == {sent.ana}


def test_an_interrupted_send_keeps_its_idempotency_key(payroll: Payroll, xero_services: XeroServices) -> None:
    """A row left *sending* with the same request resends under the same key (Xero replays);
    any other request is a new attempt with a new key."""
    sent = _ready_to_send(payroll)
    period = Period(sent.monday, sent.monday + timedelta(days=6))
    sheet = EmployeeTimesheet(sent.weekly["EmployeeID"], "W", sent.ana, "Ana", period)
    payload = {"EmployeeID": sheet.employee_id, "Status": "DRAFT", "TimesheetLines": []}

    first_id, first_key = _prepare(
        xero_services, payroll.seeded.workspace_id, payroll.connection_id, sheet, payload
    )
    again_id, again_key = _prepare(
        xero_services, payroll.seeded.workspace_id, payroll.connection_id, sheet, payload
    )
    assert (again_id, again_key) == (first_id, first_key)

    changed = {**payload, "Status": "APPROVED"}
    _, changed_key = _prepare(
        xero_services, payroll.seeded.workspace_id, payroll.connection_id, sheet, changed
    )
    assert changed_key != first_key
    sheet.existing_timesheet_id = "5b0c8b1e-0000-4000-8000-000000000001"
    _, update_key = _prepare(
        xero_services, payroll.seeded.workspace_id, payroll.connection_id, sheet, changed
    )
    assert update_key not in (first_key, changed_key)
    (export,) = payroll.exports()
    assert export.attempts == 3 and len(update_key) <= 128
