"""The demo tour (``ledgerbridge demo --tour``): the demo workspace connected to the built-in
sandbox Xero, then each flow run once, with what arrived in Xero read back and printed.

Nothing here is a shortcut around the product: the organisation is connected through
``xero.connections.start``/``complete`` (the sandbox's sign-in and consent pages are driven
over HTTP instead of by a person in a browser), and every flow calls the domain functions
the API calls:

0. connect "Demo Company (AU)", import its reference data, and choose the settings an
   office manager would (contacts as tasks, invoices created authorised, the weekly payroll
   calendar and "Ordinary Hours" as defaults, work types mapped to earnings rates);
1. members to Xero (``sync.members``): contractors as supplier contacts, employees as
   Payroll AU employees from the details stored on them;
2. clients as tasks (``sync.service.sync`` over contacts, with ``contacts_as_tasks`` on):
   the clients go to Xero as contacts and each customer is a task of the "Xero" project;
3. hours to invoices (``work.invoicing``, ``sync.send_invoice``, ``sync.sending``): a
   month's invoice per client from its approved billable hours, and the contractor's bill;
4. timesheets (``payroll.timesheets``) for each employee's last complete pay period;
5. approved time to Xero Projects (``sync.xero_projects``).

Each flow reads back from Xero what it made (ids, numbers, totals) and prints it. A flow
that fails prints Xero's message per record and the tour goes on with the next; the
result says whether every flow succeeded. Running the tour again sends nothing twice: each
flow's records are linked, hours are invoiced once, and timesheets are updated in place.

The tour runs on the sandbox's clock (``ClientClock``): where Xero's 60-calls-a-minute
limit makes a client wait, the sandbox's time moves on instead of the tour sleeping.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ledgerbridge.db import Database
from ledgerbridge.errors import LedgerbridgeError, ValidationFailed
from ledgerbridge.payroll import mappings as payroll_mappings
from ledgerbridge.payroll import timesheets
from ledgerbridge.payroll.models import MappingKind, PayrollMapping
from ledgerbridge.payroll.periods import Period, calendar_anchor, period_containing
from ledgerbridge.sandbox.clock import ClientClock
from ledgerbridge.sandbox.seeding import DEMO_EMAIL as SANDBOX_EMAIL
from ledgerbridge.sandbox.seeding import DEMO_PASSWORD as SANDBOX_PASSWORD
from ledgerbridge.settings import Settings
from ledgerbridge.sync import members as member_sync
from ledgerbridge.sync import xero_projects
from ledgerbridge.sync.contact_tasks import PROJECT_NAME
from ledgerbridge.sync.engine import organisation
from ledgerbridge.sync.imports import run_import
from ledgerbridge.sync.models import RecordType, RunStatus, SyncIssue, SyncRun, XeroLink, XeroReference
from ledgerbridge.sync.send_invoice import invoice_defaults, send_to_xero
from ledgerbridge.sync.sending import send_invoices
from ledgerbridge.sync.service import sync
from ledgerbridge.sync.settings import update_settings
from ledgerbridge.work import demo, invoicing
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import (
    Client,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    Member,
    MemberKind,
    Project,
    Role,
    Task,
    TimeEntry,
    User,
    WorkType,
)
from ledgerbridge.xero import connections
from ledgerbridge.xero.client import ACCOUNTING, PAYROLL_AU, PROJECTS, Organisation
from ledgerbridge.xero.dates import parse_date
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection
from ledgerbridge.xero.services import XeroServices

__all__ = ["ORGANISATION", "FlowReport", "TourResult", "run_tour"]

ORGANISATION = "Demo Company (AU)"
CALENDAR_TYPE = "WEEKLY"
ORDINARY_RATE = "Ordinary Hours"
EARNINGS_RATES = {  # the demo's work types -> the AU demo company's earnings rates
    demo.ORDINARY: ORDINARY_RATE,
    demo.OVERTIME: "Overtime Hours (exempt from super)",
    demo.WEEKEND: "Saturday Rate",
}
EXAMPLES = 4
"""How many example records a flow reads back and prints."""


# -- what the tour reports ----------------------------------------------------------------------


@dataclass
class FlowReport:
    """One flow's outcome: counts, example records as Xero holds them, and what failed."""

    number: int
    title: str
    counts: dict[str, int] = field(default_factory=dict)
    columns: tuple[str, ...] = ()
    examples: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, name: str, by: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + by


@dataclass
class TourResult:
    workspace_id: str
    connection_id: str | None = None
    tenant_id: str | None = None
    flows: list[FlowReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.connection_id is not None and all(flow.ok for flow in self.flows)


@dataclass
class _Tour:
    """What every step needs: the services (talking to the sandbox), the sandbox as a
    browser sees it, the workspace and its owner, and where to print."""

    services: XeroServices
    browser: httpx.AsyncClient
    workspace_id: str
    actor: Actor
    today: date
    out: Console
    connection_id: str = ""
    org: Organisation | None = None

    @property
    def organisation(self) -> Organisation:
        assert self.org is not None
        return self.org

    async def read(self, path: str, key: str) -> list[dict[str, Any]]:
        """Records as Xero holds them (``key``: the envelope, e.g. "Invoices")."""
        body = await self.services.client.get(self.organisation, path)
        if not isinstance(body, dict):
            return []
        found = body.get(key, body.get(key.removesuffix("s"), []))  # Payroll AU: {"Timesheet": {...}}
        return [r for r in (found if isinstance(found, list) else [found]) if isinstance(r, dict)]


# -- entry point ---------------------------------------------------------------------------------


async def run_tour(
    settings: Settings,
    database: Database,
    sandbox_app: Any,
    workspace_id: str,
    out: Console,
    today: date | None = None,
) -> TourResult:
    """Connect the demo workspace to the sandbox (in this process) and run every flow."""
    state = sandbox_app.state.sandbox
    transport = httpx.ASGITransport(app=sandbox_app)
    base_url = settings.xero_sandbox_url or "http://sandbox.local"
    http = httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30)
    browser = httpx.AsyncClient(transport=transport, base_url=base_url, follow_redirects=False)
    services = XeroServices.build(settings, database, http=http, clock=ClientClock(state.clock))
    result = TourResult(workspace_id)
    try:
        tour = _Tour(
            services, browser, workspace_id, _owner(database, workspace_id), today or demo.demo_today(), out
        )
        if not await _connect(tour, result):
            return result
        flows: list[tuple[str, Step]] = [
            ("Reference data and settings", _setup),
            ("Members to Xero", _members),
            ("Clients as tasks", _clients_as_tasks),
            ("Hours to invoices", _invoices),
            ("Timesheets to Payroll AU", _timesheets),
            ("Approved time to Xero Projects", _projects),
        ]
        for number, (title, step) in enumerate(flows):
            result.flows.append(await _run_flow(tour, FlowReport(number, title), step))
    finally:
        await browser.aclose()
        await services.aclose()
        state.flush()
    return result


Step = Callable[[_Tour, FlowReport], Awaitable[None]]


async def _run_flow(tour: _Tour, report: FlowReport, step: Step) -> FlowReport:
    """One flow; an expected failure (Xero's refusal, a missing link) is reported, not raised."""
    tour.out.rule(f"[bold]{report.number}. {escape(report.title)}[/]", align="left")
    try:
        await step(tour, report)
    except LedgerbridgeError as error:
        report.errors.append(_message(error))
    _print(tour.out, report)
    return report


def _message(error: LedgerbridgeError) -> str:
    """The error's message with each field it names (``LedgerbridgeError.__str__``)."""
    return str(error)


def _print(out: Console, report: FlowReport) -> None:
    if report.counts:
        out.print("  " + ", ".join(f"{name}: {n}" for name, n in report.counts.items()))
    if report.examples:
        table = Table(*report.columns, show_lines=False, pad_edge=False)
        for row in report.examples:
            table.add_row(*(escape(cell) for cell in row))
        out.print(table)
    for note in report.notes:
        out.print(f"  {escape(note)}")
    for error in report.errors:
        out.print(f"  [red]failed:[/] {escape(error)}")
    out.print("  [green]done[/]" if report.ok else "  [red]this flow failed[/]")


# -- connecting ----------------------------------------------------------------------------------


def _owner(database: Database, workspace_id: str) -> Actor:
    with database.session() as session:
        user = session.scalars(select(User).where(User.email == demo.DEMO_EMAIL)).one()
        return Actor(user_id=user.id, workspace_id=workspace_id, role=Role.OWNER)


async def _connect(tour: _Tour, result: TourResult) -> bool:
    """The organisation, connected through our real connect flow unless it already is."""
    tour.out.rule(f"[bold]Connecting {ORGANISATION}[/]", align="left")
    with tour.services.database.session() as session:
        existing = _connection(session, tour.workspace_id)
    try:
        if existing is None:
            await _consent(tour)
            with tour.services.database.session() as session:
                existing = _connection(session, tour.workspace_id)
            if existing is None:
                raise LedgerbridgeError(
                    f"Xero connected no organisation called {ORGANISATION}.", 400, "tour", "Tour failed"
                )
            tour.out.print(
                f"  [green]Connected[/] {escape(ORGANISATION)} through the sandbox's consent page."
            )
        else:
            tour.out.print(f"  Already connected to {escape(ORGANISATION)}; reusing the connection.")
    except LedgerbridgeError as error:
        tour.out.print(f"  [red]Could not connect:[/] {escape(_message(error))}")
        return False
    tour.connection_id, tour.org = existing.id, organisation(existing)
    result.connection_id, result.tenant_id = existing.id, existing.tenant_id
    return True


def _connection(session: Session, workspace_id: str) -> XeroConnection | None:
    found = session.scalars(
        select(XeroConnection).where(
            XeroConnection.workspace_id == workspace_id,
            XeroConnection.tenant_name == ORGANISATION,
            XeroConnection.status == ConnectionStatus.CONNECTED,
        )
    ).first()
    if found is not None:
        session.expunge(found)
    return found


_TENANT = re.compile(r'name="tenant_id" value="([^"]+)"[^>]*>\s*(?:<[^>]+>\s*)*([^<]+)')


async def _consent(tour: _Tour) -> None:
    """What the owner does in a browser: start Connect, sign in to the sandbox, tick the
    organisation, allow; then the callback completes through ``connections.complete``."""
    with tour.services.database.session() as session:
        authorize_url = connections.start(tour.services, session, tour.actor)
    browser = tour.browser
    page = await browser.get(authorize_url)
    if page.status_code in (302, 303):  # already signed in to the sandbox
        consent_url = page.headers["location"]
    else:
        found = re.search(r'name="request_id" value="([^"]+)"', page.text)
        if page.status_code != 200 or found is None:
            raise _sandbox_refused("sign-in page", page)
        signed_in = await browser.post(
            "/identity/connect/authorize/login",
            data={"request_id": found.group(1), "email": SANDBOX_EMAIL, "password": SANDBOX_PASSWORD},
        )
        if signed_in.status_code not in (302, 303):
            raise _sandbox_refused("sign-in", signed_in)
        consent_url = signed_in.headers["location"]
    request_id = parse_qs(urlsplit(consent_url).query).get("request_id", [""])[0]
    consent = await browser.get(consent_url)
    offered = {name.strip(): tenant for tenant, name in _TENANT.findall(consent.text)}
    if ORGANISATION not in offered:
        raise _sandbox_refused(f"consent page (no {ORGANISATION} offered)", consent)
    decided = await browser.post(
        "/identity/connect/consent",
        data={"request_id": request_id, "action": "allow", "tenant_id": [offered[ORGANISATION]]},
    )
    if decided.status_code not in (302, 303):
        raise _sandbox_refused("consent", decided)
    answer = {k: v[0] for k, v in parse_qs(urlsplit(decided.headers["location"]).query).items()}
    with tour.services.database.session() as session:
        await connections.complete(
            tour.services, session, tour.actor, answer.get("state"), answer.get("code"), answer.get("error")
        )


def _sandbox_refused(step: str, response: httpx.Response) -> LedgerbridgeError:
    return LedgerbridgeError(
        f"The sandbox's {step} answered {response.status_code}: {response.text[:200]}",
        502,
        "tour_sandbox",
        "Tour failed",
    )


# -- 0. reference data and settings -----------------------------------------------------------


async def _setup(tour: _Tour, report: FlowReport) -> None:
    run = await run_import(tour.services, tour.workspace_id, tour.connection_id)
    with tour.services.database.session() as session:
        _run_issues(session, run, report)
        for record_type, n in session.execute(
            select(XeroReference.record_type, func.count())
            .where(XeroReference.connection_id == tour.connection_id)
            .group_by(XeroReference.record_type)
            .order_by(XeroReference.record_type)
        ).tuples():
            report.counts[str(record_type)] = n
        calendar = _reference(
            session, tour.connection_id, RecordType.PAYROLL_CALENDAR, CALENDAR_TYPE, "CalendarType"
        )
        ordinary = _reference(session, tour.connection_id, RecordType.EARNINGS_RATE, ORDINARY_RATE, "Name")
        connection = session.get(XeroConnection, tour.connection_id)
        assert connection is not None
        update_settings(
            session,
            connection,
            {
                "contacts_as_tasks": True,
                "invoice_status": "authorised",
                "revenue_account_code": demo.SALES_ACCOUNT,
                "expense_account_code": demo.CONTRACTOR_ACCOUNT,
                "default_tax_type": demo.SALES_TAX,
                "default_payroll_calendar_id": calendar.xero_id if calendar else None,
                "default_earnings_rate_id": ordinary.xero_id if ordinary else None,
            },
            tour.services.clock.utcnow(),
        )
        mapped = _map_work_types(session, tour)
    report.notes.append(
        f"Settings: contacts as tasks on, invoices created authorised, new employees on the "
        f"{calendar.name if calendar else '(no)'} payroll calendar; {mapped} work types mapped "
        "to earnings rates."
    )
    if calendar is None or ordinary is None:
        report.errors.append(
            f"{ORGANISATION} has no weekly payroll calendar or '{ORDINARY_RATE}' earnings rate"
        )


def _run_issues(session: Session, run: SyncRun, report: FlowReport, limit: int = 10) -> None:
    """A run that did not succeed fails the flow, with each record's message from Xero."""
    if run.status is RunStatus.SUCCEEDED:
        return
    issues = session.scalars(select(SyncIssue).where(SyncIssue.run_id == run.id).limit(limit)).all()
    for issue in issues:
        report.errors.append(f"{issue.record_type} {issue.local_id or issue.xero_id or ''}: {issue.message}")
    if run.error or not issues:
        report.errors.append(f"the {run.trigger} run {run.status}: {run.error or 'see the sync log'}")


def _reference(
    session: Session, connection_id: str, record_type: RecordType, value: str, key: str
) -> XeroReference | None:
    rows = session.scalars(
        select(XeroReference).where(
            XeroReference.connection_id == connection_id, XeroReference.record_type == record_type
        )
    )
    return next((r for r in rows if str((r.data or {}).get(key, "")).lower() == value.lower()), None)


def _map_work_types(session: Session, tour: _Tour) -> int:
    changes = []
    for index, work_type in enumerate(
        session.scalars(
            select(WorkType).where(WorkType.workspace_id == tour.workspace_id).order_by(WorkType.name)
        )
    ):
        rate = _reference(
            session,
            tour.connection_id,
            RecordType.EARNINGS_RATE,
            EARNINGS_RATES.get(work_type.name, ""),
            "Name",
        )
        if rate is not None:
            changes.append(
                payroll_mappings.MappingChange(
                    MappingKind.WORK_TYPE, work_type.id, rate.xero_id, f"work_types[{index}]"
                )
            )
    payroll_mappings.set_mappings(session, tour.workspace_id, tour.connection_id, changes)
    return len(changes)


# -- 1. members ----------------------------------------------------------------------------------


async def _members(tour: _Tour, report: FlowReport) -> None:
    with tour.services.database.session() as session:
        chosen = session.scalars(
            select(Member.id)
            .where(Member.workspace_id == tour.workspace_id, Member.active.is_(True))
            .order_by(Member.name)
        ).all()
    requests = [member_sync.MemberRequest(member_id, "member") for member_id in chosen]
    outcomes = await member_sync.import_members(
        tour.services, tour.workspace_id, tour.connection_id, requests, strict=False
    )
    report.columns = ("Member", "In Xero as", "Outcome", "Xero id", "What Xero holds")
    for outcome in outcomes:
        report.count(f"{outcome.target}s {outcome.outcome}")
        if outcome.outcome == "failed":
            report.errors.append(f"{outcome.name}: {outcome.error}")
            continue
        assert outcome.xero_id is not None
        held = await (_contact_summary if outcome.target == member_sync.CONTACT else _employee_summary)(
            tour, outcome.xero_id
        )
        report.examples.append((outcome.name, outcome.target, outcome.outcome, outcome.xero_id, held))


async def _contact_summary(tour: _Tour, contact_id: str) -> str:
    (contact,) = await tour.read(f"{ACCOUNTING}/Contacts/{contact_id}", "Contacts")
    roles = [
        role for role, flag in (("supplier", "IsSupplier"), ("customer", "IsCustomer")) if contact.get(flag)
    ]
    return f"contact '{contact.get('Name')}'" + (f" ({', '.join(roles)})" if roles else "")


async def _employee_summary(tour: _Tour, employee_id: str) -> str:
    (employee,) = await tour.read(f"{PAYROLL_AU}/Employees/{employee_id}", "Employees")
    born = parse_date(employee.get("DateOfBirth"))
    home = employee.get("HomeAddress") or {}
    where = ", ".join(str(home[k]) for k in ("City", "Region", "PostalCode") if home.get(k))
    return f"{employee.get('FirstName')} {employee.get('LastName')}, born {born}, lives in {where}"


# -- 2. clients as tasks -------------------------------------------------------------------------


async def _clients_as_tasks(tour: _Tour, report: FlowReport) -> None:
    run = await sync(tour.services, tour.workspace_id, tour.connection_id, [RecordType.CONTACT])
    with tour.services.database.session() as session:
        _run_issues(session, run, report)
        report.counts["contacts created in Xero"] = int(run.counts.get("pushed_created", 0))
        project = session.scalar(select(Project).where(Project.xero_connection_id == tour.connection_id))
        if project is None:
            report.errors.append(f"no '{PROJECT_NAME}' project was made for {ORGANISATION}")
            return
        rows = (
            session.execute(
                select(Task.name, Client.name, XeroLink.xero_id)
                .join(Client, Client.id == Task.client_id)
                .join(
                    XeroLink, (XeroLink.local_id == Client.id) & (XeroLink.record_type == RecordType.CONTACT)
                )
                .where(
                    Task.project_id == project.id,
                    XeroLink.connection_id == tour.connection_id,
                    Task.archived.is_(False),
                )
                .order_by(Task.name)
            )
            .tuples()
            .all()
        )
        ours = {spec.name for spec in demo.CLIENTS}
        project_name = project.name
    report.counts[f"tasks under '{project_name}'"] = len(rows)
    report.counts["of them the demo's clients"] = sum(1 for _, client, _ in rows if client in ours)
    report.columns = ("Task", "Xero contact", "ContactID", "Customer in Xero")
    examples = [row for row in rows if row[1] in ours][:EXAMPLES]
    for task_name, _, contact_id in examples:
        (contact,) = await tour.read(f"{ACCOUNTING}/Contacts/{contact_id}", "Contacts")
        report.examples.append(
            (
                task_name,
                str(contact.get("Name")),
                contact_id,
                "yes" if contact.get("IsCustomer") else "not yet",
            )
        )
    report.notes.append("A contact becomes a customer in Xero with its first sales invoice (flow 3).")


# -- 3. hours to invoices ------------------------------------------------------------------------


async def _invoices(tour: _Tour, report: FlowReport) -> None:
    first, _ = demo.demo_window(tour.today)
    built: list[str] = []
    with tour.services.database.session() as session:
        customers = session.scalars(
            select(Client)
            .where(
                Client.workspace_id == tour.workspace_id,
                Client.is_customer.is_(True),
                Client.archived.is_(False),
                Client.id.in_(select(Project.client_id).where(Project.workspace_id == tour.workspace_id)),
            )
            .order_by(Client.name)
        ).all()
        contractor = session.scalar(
            select(Member.id).where(
                Member.workspace_id == tour.workspace_id, Member.name == demo.BILLING_CONTRACTOR
            )
        )
        targets = [(c.name, {"client_id": c.id}) for c in customers]
        if contractor is not None:
            targets.append((f"{demo.BILLING_CONTRACTOR} (bill)", {"member_id": contractor}))
    for name, party in targets:
        request = invoicing.TimeInvoiceRequest(
            date_from=first,
            date_to=tour.today,
            group_by=invoicing.GroupBy.PROJECT if "member_id" in party else invoicing.GroupBy.TASK,
            issue_date=tour.today,
            reference=f"Hours {first:%d %b} to {tour.today:%d %b %Y}",
            **party,
        )
        invoice_id = _build_and_send(tour, name, request, report)
        if invoice_id:
            built.append(invoice_id)
    run = await send_invoices(tour.services, tour.workspace_id, tour.connection_id)
    with tour.services.database.session() as session:
        _run_issues(session, run, report)
        linked = _linked_invoices(session, tour)
        not_sent = [invoice_id for invoice_id in built if invoice_id not in {i.id for i, _ in linked}]
        for invoice_id in not_sent:
            report.errors.append(f"invoice {invoice_id} built from hours did not reach Xero")
        charged = _invoices_from_hours(session, tour.workspace_id)
        from_hours = [(i, x) for i, x in linked if i.id in charged]
    report.counts["invoices from hours in Xero"] = sum(
        1 for i, _ in from_hours if i.kind is InvoiceKind.SALES
    )
    report.counts["bills from hours in Xero"] = sum(1 for i, _ in from_hours if i.kind is InvoiceKind.BILL)
    report.counts["linked in all (with the demo company's own)"] = len(linked)
    report.columns = ("Number", "Type", "Contact", "Status", "Total", "InvoiceID")
    # what this tour built first: Xero numbers our new invoices in its own sequence, so the
    # number no longer says which is newest
    made_now = set(built)
    newest_first = sorted(
        from_hours,
        key=lambda pair: (pair[0].id in made_now, pair[0].issue_date or first, pair[0].number or ""),
        reverse=True,
    )
    for _, xero_id in _examples(newest_first):
        (held,) = await tour.read(f"{ACCOUNTING}/Invoices/{xero_id}", "Invoices")
        report.examples.append(
            (
                str(held.get("InvoiceNumber") or ""),
                str(held.get("Type")),
                str((held.get("Contact") or {}).get("Name", "")),
                str(held.get("Status")),
                f"{Decimal(str(held.get('Total', 0))):.2f} {held.get('CurrencyCode', '')}",
                xero_id,
            )
        )


_ALL_INVOICED = ("that are not invoiced yet", "that are not billed yet")
"""How ``invoicing`` says every hour in the period is on an invoice (or bill) already."""


def _build_and_send(
    tour: _Tour, name: str, request: invoicing.TimeInvoiceRequest, report: FlowReport
) -> str | None:
    """Build the invoice from the hours not invoiced yet and Send via Xero; None when every
    hour was invoiced before (a second tour) or Xero could not take it (named)."""
    try:
        with tour.services.database.session() as session:
            defaults = invoice_defaults(session, tour.workspace_id, request.client_id)
            draft = invoicing.draft_invoice(session, tour.workspace_id, request, defaults)
            invoice = invoicing.save_draft(session, draft)
            send_to_xero(session, invoice)
            report.count("built from hours and sent")
            return invoice.id
    except ValidationFailed as error:
        if any(phrase in str(error) for phrase in _ALL_INVOICED):
            report.count("nothing new to invoice")
            return None
        report.errors.append(f"{name}: {_message(error)}")
    except LedgerbridgeError as error:
        report.errors.append(f"{name}: {_message(error)}")
    return None


def _linked_invoices(session: Session, tour: _Tour) -> list[tuple[Invoice, str]]:
    return list(
        session.execute(
            select(Invoice, XeroLink.xero_id)
            .join(XeroLink, XeroLink.local_id == Invoice.id)
            .where(
                Invoice.workspace_id == tour.workspace_id,
                XeroLink.connection_id == tour.connection_id,
                XeroLink.record_type == RecordType.INVOICE,
            )
        ).tuples()
    )


def _invoices_from_hours(session: Session, workspace_id: str) -> set[str]:
    """The invoices and bills with a line that charges (or pays) tracked hours."""
    return set(
        session.scalars(
            select(InvoiceLine.invoice_id)
            .join(
                TimeEntry,
                or_(TimeEntry.invoice_line_id == InvoiceLine.id, TimeEntry.bill_line_id == InvoiceLine.id),
            )
            .where(TimeEntry.workspace_id == workspace_id)
            .distinct()
        )
    )


def _examples(pairs: Sequence[tuple[Invoice, str]]) -> list[tuple[Invoice, str]]:
    """A few invoices and at least one bill, when there is one."""
    bills = [p for p in pairs if p[0].kind is InvoiceKind.BILL][:1]
    sales = [p for p in pairs if p[0].kind is InvoiceKind.SALES][: EXAMPLES - len(bills)]
    return [*sales, *bills]


# -- 4. timesheets -------------------------------------------------------------------------------


async def _timesheets(tour: _Tour, report: FlowReport) -> None:
    with tour.services.database.session() as session:
        groups = _last_complete_periods(session, tour)
    if not groups:
        report.errors.append("no employee is in Payroll AU (see flow 1)")
        return
    report.columns = ("Employee", "Pay period", "Hours", "Outcome", "Status in Xero", "TimesheetID")
    for period, member_ids in sorted(groups.items(), key=lambda item: item[0].start):
        result = await timesheets.send(
            tour.services,
            tour.workspace_id,
            tour.connection_id,
            timesheets.PeriodChoice(period.start),
            member_ids,
        )
        if result.error:
            report.errors.append(result.error)
        for problem in result.preview.all_problems:
            if problem.severity == timesheets.ERROR:
                report.errors.append(problem.message)
        for outcome in result.outcomes:
            report.count(f"timesheets {outcome.outcome}")
            if outcome.outcome == "failed":
                report.errors.append(f"{outcome.employee_name}: {outcome.error}")
            if not outcome.timesheet_id or len(report.examples) >= EXAMPLES:
                continue
            (held,) = await tour.read(f"{PAYROLL_AU}/Timesheets/{outcome.timesheet_id}", "Timesheets")
            hours = sum(
                (
                    Decimal(str(u))
                    for line in held.get("TimesheetLines", [])
                    for u in line.get("NumberOfUnits", [])
                ),
                Decimal(0),
            )
            span = f"{parse_date(held.get('StartDate'))} to {parse_date(held.get('EndDate'))}"
            report.examples.append(
                (
                    outcome.employee_name,
                    span,
                    f"{hours:.2f}",
                    outcome.outcome,
                    str(held.get("Status")),
                    outcome.timesheet_id,
                )
            )
    report.notes.append("Sent as drafts: approving them is the payroll officer's step in Xero.")


def _last_complete_periods(session: Session, tour: _Tour) -> dict[Period, list[str]]:
    """The employees mapped to Payroll AU, grouped by their last complete pay period (each
    by their own payroll calendar): the one before the period that holds today."""
    references = {
        (r.record_type, r.xero_id.lower()): r
        for r in session.scalars(
            select(XeroReference).where(
                XeroReference.connection_id == tour.connection_id,
                XeroReference.record_type.in_([RecordType.EMPLOYEE, RecordType.PAYROLL_CALENDAR]),
            )
        )
    }
    groups: dict[Period, list[str]] = {}
    mapped = session.execute(
        select(PayrollMapping.local_id, PayrollMapping.xero_id)
        .join(Member, Member.id == PayrollMapping.local_id)
        .where(
            PayrollMapping.connection_id == tour.connection_id,
            PayrollMapping.kind == MappingKind.MEMBER,
            Member.kind == MemberKind.EMPLOYEE,
        )
    ).tuples()
    for member_id, employee_id in mapped:
        employee = references.get((RecordType.EMPLOYEE, employee_id.lower()))
        calendar_id = str((employee.data or {}).get("PayrollCalendarID") or "").lower() if employee else ""
        calendar = references.get((RecordType.PAYROLL_CALENDAR, calendar_id))
        anchor = calendar_anchor(calendar.data or {}) if calendar else None
        if anchor is None:
            continue
        current = period_containing(anchor[0], anchor[1], tour.today)
        last = period_containing(anchor[0], anchor[1], current.start - timedelta(days=1))
        groups.setdefault(last, []).append(member_id)
    return groups


# -- 5. Xero Projects ----------------------------------------------------------------------------


async def _projects(tour: _Tour, report: FlowReport) -> None:
    with tour.services.database.session() as session:
        projects = (
            session.execute(
                select(Project.id, Project.name)
                .where(
                    Project.workspace_id == tour.workspace_id,
                    Project.client_id.is_not(None),
                    Project.archived.is_(False),
                    Project.id.in_(
                        select(Task.project_id)
                        .join(TimeEntry, TimeEntry.task_id == Task.id)
                        .where(TimeEntry.approved.is_(True))
                    ),
                )
                .order_by(Project.name)
            )
            .tuples()
            .all()
        )
        people = _people_with_time(session, tour, [project_id for project_id, _ in projects])
    report.counts["project users added"] = await _project_users(tour, people)
    report.counts["members mapped to project users"] = await xero_projects.accept_user_suggestions(
        tour.services, tour.workspace_id, tour.connection_id
    )
    linked: dict[str, str] = {}
    for project_id, name in projects:
        try:
            linked[project_id] = await _link_project(tour, project_id, report)
        except LedgerbridgeError as error:
            report.errors.append(f"{name}: {_message(error)}")
    result = await xero_projects.push_time(tour.services, tour.workspace_id, tour.connection_id)
    for name, n in sorted(result.counts.items()):
        if name != "calls":
            report.counts[f"time entries {name}"] = n
    if result.error:
        report.errors.append(result.error)
    failed = [o for o in result.outcomes if o.outcome == "failed"]
    for outcome in failed[:10]:
        report.errors.append(f"time entry {outcome.time_entry_id} ({outcome.date}): {outcome.error}")
    if len(failed) > 10:
        report.errors.append(f"... and {len(failed) - 10} more time entries")
    report.columns = ("Project in Xero", "projectId", "Status", "Contact", "Hours logged")
    for project_id, name in projects[:EXAMPLES]:
        xero_id = linked.get(project_id)
        if xero_id is None:
            continue
        held = await tour.services.client.get(tour.organisation, f"{PROJECTS}/Projects/{xero_id}")
        (contact,) = await tour.read(f"{ACCOUNTING}/Contacts/{held.get('contactId')}", "Contacts")
        report.examples.append(
            (
                str(held.get("name", name)),
                xero_id,
                str(held.get("status")),
                str(contact.get("Name")),
                f"{Decimal(int(held.get('minutesLogged') or 0)) / 60:.2f}",
            )
        )


def _people_with_time(session: Session, tour: _Tour, project_ids: Iterable[str]) -> list[Member]:
    members = session.scalars(
        select(Member)
        .where(
            Member.workspace_id == tour.workspace_id,
            Member.id.in_(
                select(TimeEntry.member_id)
                .join(Task, Task.id == TimeEntry.task_id)
                .where(TimeEntry.approved.is_(True), Task.project_id.in_(list(project_ids)))
            ),
        )
        .order_by(Member.name)
    ).all()
    for member in members:
        session.expunge(member)
    return list(members)


async def _project_users(tour: _Tour, people: Sequence[Member]) -> int:
    """The team as users of the organisation in the sandbox (in Xero, the people who log
    time in Projects are the organisation's users), added once through its control API."""
    known = {str(u.get("email", "")).lower() for u in (await tour.browser.get("/_sandbox/users")).json()}
    added = 0
    for member in people:
        if not member.email or member.email.lower() in known:
            continue
        first, last = member_sync.split_name(member.name)
        response = await tour.browser.post(
            "/_sandbox/users",
            json={
                "email": member.email,
                "password": secrets.token_urlsafe(18),
                "first_name": first,
                "last_name": last or "",
                "tenant_ids": [tour.organisation.tenant_id],
            },
        )
        if response.status_code != 201:
            raise _sandbox_refused("user set-up", response)
        added += 1
    return added


async def _link_project(tour: _Tour, project_id: str, report: FlowReport) -> str:
    """The project's Xero project (created once, for its client's contact) with its tasks."""
    with tour.services.database.session() as session:
        link = session.scalar(
            select(XeroLink.xero_id).where(
                XeroLink.connection_id == tour.connection_id,
                XeroLink.record_type == RecordType.XERO_PROJECT,
                XeroLink.local_id == project_id,
            )
        )
    if link is None:
        link = (
            await xero_projects.link_project(
                tour.services, tour.workspace_id, tour.connection_id, project_id, create=True
            )
        ).xero_project_id
        report.count("projects created in Xero")
    else:
        report.count("projects already in Xero")
    for task in await xero_projects.link_tasks(
        tour.services, tour.workspace_id, tour.connection_id, project_id
    ):
        report.count(f"tasks {task.outcome}")
        if task.outcome == "failed":
            report.errors.append(f"task {task.name}: {task.error}")
    return link
