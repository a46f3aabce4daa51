"""`ledgerbridge xero-projects push` against the sandbox on a loopback port."""

from __future__ import annotations

from datetime import date

from typer.testing import CliRunner

from ledgerbridge.cli import app
from tests.sync.test_xero_projects import Setup
from tests.sync.test_xero_projects import setup as setup  # the fixture


def test_push_from_the_command_line(xero_cli: CliRunner, setup: Setup) -> None:
    setup.ready()
    setup.entry(setup.seeded.employee_id, date(2026, 3, 2), 90)
    unmapped = setup.entry(setup.seeded.contractor_id, date(2026, 3, 2), 30)
    target = ["-w", setup.seeded.workspace_id, "-o", "Demo Company (AU)"]

    shown = xero_cli.invoke(app, ["xero-projects", "push", *target, "--dry-run"])
    assert "would_create: 1" in shown.output, shown.output
    assert setup.xero_entries() == []

    pushed = xero_cli.invoke(app, ["xero-projects", "push", *target])
    assert pushed.exit_code == 1, pushed.output  # Liam is not mapped
    assert "created: 1" in pushed.output and unmapped in pushed.output
    assert [e["duration"] for e in setup.xero_entries()] == [90]
