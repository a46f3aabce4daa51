"""`ledgerbridge xero-projects push` against the sandbox on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from ledgerbridge.cli import app
from ledgerbridge.sandbox.seeding import DEMO_APP_CLIENT_ID, DEMO_APP_CLIENT_SECRET
from ledgerbridge.settings import Settings, get_settings
from tests.servers import serve
from tests.sync.test_xero_projects import Setup
from tests.sync.test_xero_projects import setup as setup  # the fixture


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, xero_settings: Settings, database_url: str, sandbox_app: FastAPI
) -> Iterator[CliRunner]:
    """The command line with the same data directory, database and sandbox (over a socket)."""
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


def test_push_from_the_command_line(cli: CliRunner, setup: Setup) -> None:
    setup.ready()
    setup.entry(setup.seeded.employee_id, date(2026, 3, 2), 90)
    unmapped = setup.entry(setup.seeded.contractor_id, date(2026, 3, 2), 30)
    target = ["-w", setup.seeded.workspace_id, "-o", "Demo Company (AU)"]

    shown = cli.invoke(app, ["xero-projects", "push", *target, "--dry-run"])
    assert "would_create: 1" in shown.output, shown.output
    assert setup.xero_entries() == []

    pushed = cli.invoke(app, ["xero-projects", "push", *target])
    assert pushed.exit_code == 1, pushed.output  # Liam is not mapped
    assert "created: 1" in pushed.output and unmapped in pushed.output
    assert [e["duration"] for e in setup.xero_entries()] == [90]
