"""Benchmark of the two sending workflows against the sandbox (issue: the workflows).

1. Time-based invoices: N clients, each with a project, a task and approved billable hours,
   get into Xero as contacts (one contact sync, reported apart), then each client's
   invoice is built from its hours (``draft_invoice`` + ``save_draft``), marked for
   sending (``send_to_xero``) and all are pushed by one invoice sync. The calls of that
   sync against the minimum (one pull page, then batches of ``BATCH_SIZE``), the 429s,
   and our own time against the time spent inside Xero.
2. Fortnightly timesheets: M employees on the sandbox's fortnightly calendar, imported,
   each mapped to a member (by the wizard's e-mail suggestions) with a fortnight of hours;
   then one ``preview`` and one ``send`` for the period. Calls against the minimum (one
   ``GET /Timesheets`` per distinct period, which the send's own check repeats, and one
   write per employee), problems (goal: 0), our time against Xero's.

The sandbox clock moves only by our client's waits (see ``bench/_harness.py``), so the
per-minute limit is enforced without real waiting; "limit waits" is that sandbox time.

    .venv/bin/python -m bench.workflows [--invoices 1000] [--employees 200]
"""

from __future__ import annotations

import argparse
import asyncio
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bench._harness import Bench, build, minute_bound, timed
from bench.sync_engine import XeroTime
from ledgerbridge.db import new_id
from ledgerbridge.payroll import mappings
from ledgerbridge.payroll import timesheets as payroll_timesheets
from ledgerbridge.payroll.models import MappingKind
from ledgerbridge.sandbox.payroll_au.calendars import CALENDARS
from ledgerbridge.sandbox.payroll_au.employees import EMPLOYEES
from ledgerbridge.sync.imports import run_import
from ledgerbridge.sync.models import RecordType, SyncIssue, SyncRun
from ledgerbridge.sync.send_invoice import invoice_defaults, send_to_xero
from ledgerbridge.sync.service import sync
from ledgerbridge.work.invoicing import TimeInvoiceRequest, draft_invoice, save_draft
from ledgerbridge.work.models import Client, Member, MemberKind, Project, Task, TimeEntry
from ledgerbridge.xero.client import BATCH_SIZE
from ledgerbridge.xero.models import XeroConnection

T = TypeVar("T")
SEEDED_CONTACTS = 10


@dataclass
class Measured:
    """One step: calls made, 429s received, limit waits (sandbox s), wall and Xero time."""

    label: str
    calls: int
    minimum: int
    r429: int
    waited: float
    wall: float
    in_xero: float
    note: str = ""

    def row(self) -> list[str]:
        return [
            self.label,
            f"{self.calls:,}",
            f"{self.minimum:,}",
            f"{self.r429}",
            f"{self.waited:,.0f} s (≥ {minute_bound(self.calls):,.0f} s)",
            f"{self.wall:,.2f} s",
            f"{self.in_xero:,.2f} s",
            f"{self.wall - self.in_xero:,.2f} s",
            self.note,
        ]


def measure(
    bench: Bench, xero_time: XeroTime, label: str, minimum: int, work: Callable[[], Coroutine[Any, Any, T]]
) -> tuple[T, Measured]:
    counter = bench.services.client.counter
    calls, r429, slept, in_xero = counter.total(), counter.statuses[429], bench.clock.slept, xero_time.seconds
    with timed() as wall:
        result = asyncio.run(work())
    return result, Measured(
        label,
        counter.total() - calls,
        minimum,
        counter.statuses[429] - r429,
        bench.clock.slept - slept,
        wall[0],
        xero_time.seconds - in_xero,
    )


def local(label: str, seconds: float, note: str = "") -> Measured:
    return Measured(label, 0, 0, 0, 0.0, seconds, 0.0, note)


def _ids(bench: Bench) -> tuple[str, str]:
    with bench.services.database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        return connection.workspace_id, connection.id


def _check_run(bench: Bench, run: SyncRun) -> SyncRun:
    with bench.services.database.session() as session:
        issues = list(session.scalars(select(SyncIssue.message).where(SyncIssue.run_id == run.id).limit(5)))
    assert run.status == "succeeded", (run.status, run.error, run.counts, issues)
    assert not issues, issues
    return run


# -- part 1: time-based invoices ----------------------------------------------------------------


def seed_clients(bench: Bench, workspace_id: str, count: int, first_day: date) -> list[str]:
    """``count`` clients, each with a project, a task and two approved billable entries."""
    ids: list[str] = []
    with bench.services.database.session() as session:
        biller = Member(
            workspace_id=workspace_id,
            name="Bench Consultant",
            email="consultant@bench.example",
            kind=MemberKind.CONTRACTOR,
            bill_rate=Decimal("150.00"),
        )
        session.add(biller)
        session.flush()
        for n in range(count):
            client = Client(
                id=new_id(),
                workspace_id=workspace_id,
                name=f"Bench Client {n:05d}",
                email=f"client{n}@bench.example",
                currency="AUD",
            )
            project = Project(
                id=new_id(), workspace_id=workspace_id, name=f"Retainer {n:05d}", client_id=client.id
            )
            task = Task(id=new_id(), workspace_id=workspace_id, name="Consulting", project_id=project.id)
            session.add_all([client, project, task])
            ids.append(client.id)
            for day, minutes in ((first_day, 90), (first_day + timedelta(days=1), 135)):
                session.add(
                    TimeEntry(
                        workspace_id=workspace_id,
                        member_id=biller.id,
                        task_id=task.id,
                        date=day,
                        duration_minutes=minutes,
                        billable=True,
                        approved=True,
                    )
                )
    return ids


def build_invoices(
    bench: Bench, workspace_id: str, client_ids: list[str], date_from: date, date_to: date
) -> int:
    """One invoice per client, the way "Invoice hours" then "Send via Xero" do it: one
    transaction each."""
    for client_id in client_ids:
        with bench.services.database.session() as session:
            defaults = invoice_defaults(session, workspace_id)
            request = TimeInvoiceRequest(date_from, date_to, client_id=client_id)
            invoice = save_draft(session, draft_invoice(session, workspace_id, request, defaults))
            send_to_xero(session, invoice)
    return len(client_ids)


def invoices_part(bench: Bench, xero_time: XeroTime, count: int) -> list[Measured]:
    workspace_id, connection_id = _ids(bench)
    today = bench.state.clock.now().date()
    first_day = today - timedelta(days=21)
    rows: list[Measured] = []
    with timed() as seeding:
        client_ids = seed_clients(bench, workspace_id, count, first_day)
    rows.append(local(f"seed {count:,} clients, projects, 2 entries each", seeding[0], "bulk ORM"))

    def run_sync(types: list[RecordType]) -> Callable[[], Coroutine[Any, Any, SyncRun]]:
        return lambda: sync(bench.services, workspace_id, connection_id, types, "bench")

    run, measured = measure(
        bench,
        xero_time,
        "contacts sync (clients into Xero)",
        1 + math.ceil(count / BATCH_SIZE),
        run_sync([RecordType.CONTACT]),
    )
    _check_run(bench, run)
    measured.note = (
        f"{run.counts.get('pushed_created', 0):,} pushed, {run.counts.get('created', 0):,} pulled; "
        f"1 pull + {BATCH_SIZE}/batch"
    )
    rows.append(measured)

    with timed() as building:
        built = build_invoices(bench, workspace_id, client_ids, first_day, today)
    rows.append(
        local(
            f"build + send_to_xero {built:,} invoices",
            building[0],
            f"{building[0] / built * 1000:,.1f} ms each (local)",
        )
    )

    run, measured = measure(
        bench,
        xero_time,
        "invoice sync (the push)",
        1 + math.ceil(built / BATCH_SIZE),
        run_sync([RecordType.INVOICE]),
    )
    _check_run(bench, run)
    org = bench.state.orgs[bench.org.tenant_id]
    in_xero = sum(1 for r in org.iter_records("Invoices") if r.get("Type") == "ACCREC")
    measured.note = f"{run.counts.get('pushed_created', 0):,} pushed; Xero holds {in_xero:,} invoices"
    rows.append(measured)
    return rows


# -- part 2: fortnightly timesheets -------------------------------------------------------------


def fortnightly_employees(bench: Bench, count: int) -> tuple[list[dict[str, Any]], date]:
    """The first ``count`` employees on the fortnightly calendar, and its period's first day."""
    org = bench.state.orgs[bench.org.tenant_id]
    (calendar,) = (c for c in org.iter_records(CALENDARS) if c.get("CalendarType") == "FORTNIGHTLY")
    chosen = [
        e for e in org.iter_records(EMPLOYEES) if e["PayrollCalendarID"] == calendar["PayrollCalendarID"]
    ]
    assert len(chosen) >= count, f"the seed put only {len(chosen)} employees on the fortnightly calendar"
    start = calendar["StartDate"]
    return chosen[:count], start.date() if hasattr(start, "date") else start


def seed_members(bench: Bench, workspace_id: str, employees: list[dict[str, Any]], start: date) -> None:
    """A member per employee (same name and e-mail), with 7.6 h each weekday of the fortnight."""
    with bench.services.database.session() as session:
        project = Project(id=new_id(), workspace_id=workspace_id, name="Operations")
        task = Task(
            id=new_id(),
            workspace_id=workspace_id,
            name="Rostered shifts",
            project_id=project.id,
            billable=False,
        )
        session.add_all([project, task])
        for employee in employees:
            member = Member(
                id=new_id(),
                workspace_id=workspace_id,
                name=f"{employee['FirstName']} {employee['LastName']}",
                email=employee["Email"],
                kind=MemberKind.EMPLOYEE,
            )
            session.add(member)
            for offset in range(14):
                day = start + timedelta(days=offset)
                if day.weekday() < 5:
                    session.add(
                        TimeEntry(
                            workspace_id=workspace_id,
                            member_id=member.id,
                            task_id=task.id,
                            date=day,
                            duration_minutes=456,
                            billable=False,
                            approved=True,
                        )
                    )


def timesheets_part(bench: Bench, xero_time: XeroTime, count: int) -> list[Measured]:
    workspace_id, connection_id = _ids(bench)
    employees, start = fortnightly_employees(bench, count)
    rows: list[Measured] = []
    with timed() as seeding:
        seed_members(bench, workspace_id, employees, start)
    rows.append(local(f"seed {count:,} members, a fortnight of time each", seeding[0], "bulk ORM"))

    with timed() as mapping, bench.services.database.session() as session:
        made = mappings.accept_suggestions(session, workspace_id, connection_id)
        mapped = len(mappings.current(session, connection_id)[MappingKind.MEMBER])
    assert mapped == count, (made, mapped)
    rows.append(local("map members (accept suggestions)", mapping[0], f"{mapped:,} by e-mail"))

    choice = payroll_timesheets.PeriodChoice(period_containing=start)
    preview, measured = measure(
        bench,
        xero_time,
        "preview",
        1,
        lambda: payroll_timesheets.preview(bench.services, workspace_id, connection_id, choice),
    )
    problems = len(preview.problems) + sum(len(s.problems) for s in preview.timesheets)
    periods = {s.period for s in preview.timesheets}
    measured.note = (
        f"{len(preview.timesheets):,} timesheets, {problems} problems, "
        f"{len(periods)} period(s): 1 GET /Timesheets each"
    )
    rows.append(measured)

    result, measured = measure(
        bench,
        xero_time,
        "send",
        len(periods) + count,
        lambda: payroll_timesheets.send(bench.services, workspace_id, connection_id, choice),
    )
    outcomes: dict[str, int] = {}
    for outcome in result.outcomes:
        outcomes[outcome.outcome] = outcomes.get(outcome.outcome, 0) + 1
    problems = len(result.preview.problems) + sum(len(s.problems) for s in result.preview.timesheets)
    measured.note = (
        f"{', '.join(f'{n:,} {k}' for k, n in sorted(outcomes.items()))}; {problems} problems; "
        "its check's GET + 1 POST per employee"
    )
    rows.append(measured)
    return rows


# -- main ------------------------------------------------------------------------------------


def table(title: str, rows: list[Measured]) -> Table:
    result = Table(title=title)
    columns = ("step", "calls", "minimum", "429s", "limit waits", "wall time", "in Xero", "ours", "notes")
    for column in columns:
        result.add_column(column, justify="left" if column in ("step", "notes") else "right")
    for row in rows:
        result.add_row(*row.row())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=1_000)
    parser.add_argument("--employees", type=int, default=200)
    args = parser.parse_args()
    console = Console()
    # The seed puts every third employee on the fortnightly calendar, the rest on the weekly one.
    seeded_employees = 3 * args.employees
    console.print(
        f"Seeding an AU organisation: {SEEDED_CONTACTS} contacts, {seeded_employees:,} employees "
        f"({args.employees:,} fortnightly); {args.invoices:,} invoices to send"
    )
    bench = build(
        {"contacts": SEEDED_CONTACTS, "invoices": 0, "employees": seeded_employees, "timesheets": 0}
    )
    workspace_id, connection_id = _ids(bench)
    xero_time = XeroTime(bench)
    imported, measured = measure(
        bench,
        xero_time,
        "import reference data",
        0,
        lambda: run_import(bench.services, workspace_id, connection_id, None),
    )
    assert imported.status == "succeeded", (imported.status, imported.counts)
    measured.minimum = measured.calls
    measured.note = f"{imported.counts.get('created', 0):,} records (accounts, tax rates, payroll, ...)"
    console.print(table("Reference data (before both parts)", [measured]))

    console.print(
        table(
            f"{args.invoices:,} time-based invoices to Xero", invoices_part(bench, xero_time, args.invoices)
        )
    )
    console.print(
        table(
            f"{args.employees:,} employees' fortnightly timesheets to Xero Payroll AU",
            timesheets_part(bench, xero_time, args.employees),
        )
    )
    console.print(
        f"(writes batch {BATCH_SIZE}; limit waits are sandbox time at 60 calls/minute, against the "
        "least that allows; 'ours' = wall time - time inside Xero calls)"
    )
    asyncio.run(bench.services.aclose())


if __name__ == "__main__":
    main()
