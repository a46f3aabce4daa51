"""`ledgerbridge timesheets preview|send` against the sandbox on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from ledgerbridge.cli import app
from ledgerbridge.sandbox.seeding import DEMO_APP_CLIENT_ID, DEMO_APP_CLIENT_SECRET
from ledgerbridge.settings import Settings, get_settings
from tests.payroll.conftest import Payroll
from tests.servers import serve


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, xero_settings: Settings, database_url: str, sandbox_app: FastAPI
) -> Iterator[CliRunner]:
    """The command line with the same data directory (the key that sealed the tokens), the
    same database, and the same sandbox, reached over a socket as a separate process would."""
    with serve(sandbox_app) as sandbox_url:
        monkeypatch.setenv("LEDGERBRIDGE_DATA_DIR", str(xero_settings.data_dir))
        monkeypatch.setenv("LEDGERBRIDGE_DATABASE_URL", database_url)
        monkeypatch.setenv("LEDGERBRIDGE_LOG_LEVEL", "WARNING")
        monkeypatch.setenv("LEDGERBRIDGE_XERO_SANDBOX_URL", sandbox_url)
        monkeypatch.setenv("LEDGERBRIDGE_XERO_CLIENT_ID", DEMO_APP_CLIENT_ID)
        monkeypatch.setenv("LEDGERBRIDGE_XERO_CLIENT_SECRET", DEMO_APP_CLIENT_SECRET)
        get_settings.cache_clear()
        yield CliRunner()
        get_settings.cache_clear()


def test_send_from_the_command_line(cli: CliRunner, payroll: Payroll) -> None:
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

    shown = cli.invoke(app, ["timesheets", "preview", *target])
    assert shown.exit_code == 0, shown.output
    assert "unmapped_member" in shown.output and "Mia Chen" in shown.output
    assert payroll.timesheets_of(weekly, monday) == []

    sent = cli.invoke(app, ["timesheets", "send", *target, "--approve"])
    assert sent.exit_code == 0, sent.output
    assert "created" in sent.output
    (sheet,) = payroll.timesheets_of(weekly, monday)
    assert sheet["Status"] == "APPROVED"
    assert sheet["TimesheetID"] in sent.output

    unknown = cli.invoke(
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
