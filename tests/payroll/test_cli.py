"""`ledgerbridge timesheets preview|send` against the sandbox on a loopback port."""

from __future__ import annotations

from datetime import date, timedelta

from typer.testing import CliRunner

from ledgerbridge.cli import app
from tests.payroll.conftest import Payroll


def test_send_from_the_command_line(xero_cli: CliRunner, payroll: Payroll) -> None:
    monday: date = payroll.calendar("WEEKLY")["StartDate"]
    weekly = next(e for e in payroll.employees_on("WEEKLY") if not payroll.has_timesheet(e))
    ana = payroll.member("Ana Weekly")
    payroll.map(
        members=[{"member_id": ana, "employee_id": weekly["EmployeeID"]}],
        work_types=[
            {"work_type_id": payroll.seeded.work_type_id, "earnings_rate_id": payroll.rate("Ordinary Hours")}
        ],
    )
    payroll.hours(ana, monday + timedelta(days=1), 450, work_type_id=payroll.seeded.work_type_id)
    payroll.hours(payroll.seeded.employee_id, monday, 60)  # Mia Chen: not mapped
    target = [
        "-w",
        payroll.seeded.workspace_id,
        "-o",
        "Demo Company (AU)",
        "--period-containing",
        monday.isoformat(),
    ]

    shown = xero_cli.invoke(app, ["timesheets", "preview", *target])
    assert shown.exit_code == 0, shown.output
    assert "unmapped_member" in shown.output and "Mia Chen" in shown.output
    assert payroll.timesheets_of(weekly, monday) == []

    sent = xero_cli.invoke(app, ["timesheets", "send", *target, "--approve"])
    assert sent.exit_code == 0, sent.output
    assert "created" in sent.output
    (sheet,) = payroll.timesheets_of(weekly, monday)
    assert sheet["Status"] == "APPROVED"
    assert sheet["TimesheetID"] in sent.output

    unknown = xero_cli.invoke(
        app,
        [
            "timesheets",
            "send",
            "-w",
            payroll.seeded.workspace_id,
            "-o",
            "Nowhere Ltd",
            "--period-containing",
            monday.isoformat(),
        ],
    )
    assert unknown.exit_code == 1
    assert "organisation" in unknown.output
