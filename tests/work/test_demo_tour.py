"""``ledgerbridge demo --tour``: the demo connected to the built-in sandbox through the real
connect flow, each flow run once, and what arrived checked in the sandbox's own state (as
persisted where the served demo's sandbox reads it); a second tour duplicates nothing; a
failed flow is named, the others still run, and the exit status says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select
from typer.testing import CliRunner, Result

from ledgerbridge.cli import app
from ledgerbridge.db import Database
from ledgerbridge.money import PricedLine, document_totals
from ledgerbridge.payroll.periods import period_containing
from ledgerbridge.sandbox.config import SandboxConfig
from ledgerbridge.sandbox.models import Organisation as SandboxOrganisation
from ledgerbridge.sandbox.projects.model import PROJECTS, TIME_ENTRIES
from ledgerbridge.sandbox.seeding import demo_tenant_id
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.settings import get_settings
from ledgerbridge.sync.demo_tour import ORGANISATION
from ledgerbridge.sync.models import RecordType, XeroLink
from ledgerbridge.work import demo
from ledgerbridge.work.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    Member,
    MemberKind,
    Project,
    Task,
    TaxRate,
    TimeEntry,
)
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection

FLOWS = (
    "1. Members to Xero",
    "2. Clients as tasks",
    "3. Hours to invoices",
    "4. Timesheets to Payroll AU",
    "5. Approved time to Xero Projects",
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, database_url: str, database: Database
) -> Iterator[CliRunner]:
    monkeypatch.setenv("LEDGERBRIDGE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("LEDGERBRIDGE_DATABASE_URL", database_url)
    monkeypatch.setenv("LEDGERBRIDGE_LOG_LEVEL", "WARNING")
    monkeypatch.delenv("LEDGERBRIDGE_XERO_SANDBOX_URL", raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result: Result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output, result.output
    return result.output


def persisted_org(data_dir: Path) -> SandboxOrganisation:
    """The AU organisation as the served demo's sandbox loads it from the data directory."""
    state = SandboxState(SandboxConfig(base_url="http://127.0.0.1:8787"), path=data_dir / "sandbox.sqlite3")
    return state.orgs[demo_tenant_id(ORGANISATION)]


def census(org: SandboxOrganisation) -> dict[str, int]:
    return {
        kind: len(list(org.iter_records(kind)))
        for kind in ("Contacts", "Employees", "Invoices", "Timesheets", PROJECTS, TIME_ENTRIES)
    }


def test_the_tour_runs_every_flow_into_the_sandbox_and_a_second_tour_duplicates_nothing(
    cli: CliRunner, data_dir: Path, database: Database
) -> None:
    output = run(cli, "demo", "--tour", "--no-serve")
    assert f"Connected {ORGANISATION}" in output
    assert all(flow in output for flow in FLOWS)
    assert "Tour finished: every flow reached Xero" in output and "this flow failed" not in output
    org = persisted_org(data_dir)

    with database.session() as session:
        (connection,) = session.scalars(select(XeroConnection)).all()
        assert (connection.tenant_name, connection.status, connection.is_default) == (
            ORGANISATION,
            ConnectionStatus.CONNECTED,
            True,
        )
        workspace_id = connection.workspace_id
        members = {
            m.email: m for m in session.scalars(select(Member).where(Member.workspace_id == workspace_id))
        }
        xero_project = session.scalars(
            select(Project).where(Project.xero_connection_id == connection.id)
        ).one()
        task_names = set(session.scalars(select(Task.name).where(Task.project_id == xero_project.id)))
        invoices = {
            i.number: i for i in session.scalars(select(Invoice).where(Invoice.workspace_id == workspace_id))
        }
        rates = {
            r.tax_type: r.rate_percent
            for r in session.scalars(select(TaxRate).where(TaxRate.workspace_id == workspace_id))
        }
        totals = {
            i.id: document_totals(
                (PricedLine(line.quantity, line.unit_amount, rates[line.tax_type or ""]) for line in i.lines),
                i.line_amount_type,
            ).total
            for i in invoices.values()
        }
        invoice_links = {
            link.local_id: link.xero_id
            for link in session.scalars(select(XeroLink).where(XeroLink.record_type == RecordType.INVOICE))
        }
        charging_hours = set(
            session.scalars(
                select(InvoiceLine.invoice_id).join(TimeEntry, TimeEntry.invoice_line_id == InvoiceLine.id)
            )
        )
        client_time = session.scalars(
            select(TimeEntry.id)
            .join(Task, Task.id == TimeEntry.task_id)
            .join(Project, Project.id == Task.project_id)
            .where(
                TimeEntry.workspace_id == workspace_id,
                TimeEntry.approved.is_(True),
                Project.client_id.is_not(None),
            )
        ).all()

    # 1. employees are Payroll AU employees with their stored details; contractors are contacts
    employees = {str(e.get("Email")): e for e in org.iter_records("Employees")}
    for spec in demo.MEMBERS:
        if spec.kind is MemberKind.EMPLOYEE:
            employee = employees[spec.email]
            assert spec.born is not None and spec.home is not None
            assert employee["DateOfBirth"] == date.fromisoformat(spec.born)
            home = employee["HomeAddress"]
            assert (home["AddressLine1"], home["City"], home["Region"], home["PostalCode"]) == spec.home
        else:
            assert spec.email not in employees
            assert [c for c in org.iter_records("Contacts") if c.get("Name") == spec.name]
    assert members[demo.MEMBERS[0].email].date_of_birth is not None

    # 2. every active customer client is a Xero contact and a task under the "Xero" project
    contacts = {c.get("Name") for c in org.iter_records("Contacts")}
    customers = [c.name for c in demo.CLIENTS if c.customer and not c.archived]
    assert set(customers) <= contacts and set(customers) <= task_names
    assert xero_project.name == "Xero"

    # 3. a month's invoice per client from its hours, and the contractor's bill, in Xero with our totals;
    # the tour's invoices (beside the demo's own INV-0481..0483) are numbered by Xero, in its sequence
    xero_invoices = {i["InvoiceID"].lower(): i for i in org.iter_records("Invoices")}
    built = [
        i
        for number, i in invoices.items()
        if i.kind is InvoiceKind.SALES
        and i.id in charging_hours
        and number not in {"INV-0481", "INV-0482", "INV-0483"}
    ]
    assert built, "the tour built no invoice from hours"
    assert all(i.number and not i.numbered_here for i in built)
    for invoice in [*built, invoices["LM-0412"]]:
        held = xero_invoices[invoice_links[invoice.id]]
        assert held["Status"] == "AUTHORISED"
        assert held["Type"] == ("ACCPAY" if invoice.kind is InvoiceKind.BILL else "ACCREC")
        assert held["InvoiceNumber"] == invoice.number
        assert Decimal(str(held["Total"])) == totals[invoice.id]
    assert any(x["Type"] == "ACCPAY" for x in xero_invoices.values() if x["InvoiceNumber"] == "LM-0412")

    # 4. a timesheet per employee for the last complete weekly pay period
    calendar = next(c for c in org.iter_records("PayrollCalendars") if c["CalendarType"] == "WEEKLY")
    today = demo.demo_today()
    current = period_containing("WEEKLY", calendar["StartDate"], today)
    last = period_containing("WEEKLY", calendar["StartDate"], current.start - timedelta(days=1))
    ours = {employees[s.email]["EmployeeID"] for s in demo.MEMBERS if s.kind is MemberKind.EMPLOYEE}
    sheets = [t for t in org.iter_records("Timesheets") if t["EmployeeID"] in ours]
    assert {t["EmployeeID"] for t in sheets} == ours
    assert {(t["StartDate"], t["EndDate"]) for t in sheets} == {(last.start, last.end)}

    # 5. every approved entry of a client project is a Xero Projects time entry, once
    assert len(client_time) > 50
    projects = {p["name"] for p in org.iter_records(PROJECTS)}
    assert {s.name for s in demo.PROJECTS if s.client} <= projects
    assert len(list(org.iter_records(TIME_ENTRIES))) == len(client_time)

    before = census(org)
    again = run(cli, "demo", "--tour", "--no-serve")
    assert "Already connected" in again and "Tour finished: every flow reached Xero" in again
    assert "nothing new to invoice" in again and "timesheets updated" in again
    assert census(persisted_org(data_dir)) == before
    with database.session() as session:
        assert len(session.scalars(select(XeroConnection)).all()) == 1


def test_a_failed_flow_is_named_the_others_still_run_and_the_served_demo_shows_the_results(
    cli: CliRunner, data_dir: Path, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(cli, "demo", "--no-serve", "--sandbox-port", "0")
    with database.session() as session:
        noah = session.scalars(select(Member).where(Member.name == "Noah Patel")).one()
        noah.date_of_birth = None  # Xero Payroll requires it: his export must fail, named

    served: list[uvicorn.Config] = []

    async def fake_serve(server: uvicorn.Server, sockets: Any = None) -> None:
        served.append(server.config)

    monkeypatch.setattr(uvicorn.Server, "serve", fake_serve)
    output = run(cli, "demo", "--tour", "--port", "8131", "--sandbox-port", "8789", code=1)
    assert "Noah Patel: member.date_of_birth: Xero Payroll requires" in output
    assert "Tour finished with failures: 1. Members to Xero" in output
    assert all(flow in output for flow in FLOWS[1:])  # the others ran, and succeeded
    assert output.count("this flow failed") == 1

    # the app is served with the very sandbox the tour filled: the organisation is there
    _, sandbox = (config.app for config in served)
    org = sandbox.state.sandbox.orgs[demo_tenant_id(ORGANISATION)]  # type: ignore[attr-defined]
    names = {f"{e['FirstName']} {e['LastName']}" for e in org.iter_records("Employees")}
    assert "Olivia Nguyen" in names and "Noah Patel" not in names
    assert list(org.iter_records("Timesheets"))


def test_the_tour_needs_the_built_in_sandbox(cli: CliRunner) -> None:
    output = run(cli, "demo", "--tour", "--no-serve", "--sandbox-port", "0", code=1)
    assert "tour" in output and "--sandbox-port" in output
