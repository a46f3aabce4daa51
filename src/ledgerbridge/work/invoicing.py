"""Hours to invoices: a sales invoice for a client's hours, or a contractor's bill for
theirs, built from time entries over a period.

Which hours:
- a sales invoice takes the approved, billable (entry and task) time entries on the
  client's projects' tasks, and on the client's own task under a "Xero" project (contacts
  as tasks), optionally of one project, in the period that no sales invoice line holds
  yet (``invoice_line_id``);
- a contractor's bill takes the contractor's approved time entries in the period that no
  bill line holds yet (``bill_line_id``), billable or not: the business pays for every
  approved hour. An hour can so be charged to a client once and paid to the contractor once.

The rate of an hour on a sales invoice: the task's bill rate, else the project's, else the
member's (the first one set; an explicit 0 is a free rate, not a missing one). On a bill:
the contractor's cost rate. Hours are worked minutes / 60, exactly, then quantities are
kept to 4 places as Xero accepts them; each line's amount and tax are rounded per line as
Xero does (``money``).

Lines group the hours per task, member, day or project (``GroupBy``); hours of one group at
different rates become one line per rate. Each line carries its time entries, and
``documents.write_invoice`` marks them, so a second build for the same period finds
nothing and says so.

Account code, tax type and due date come from ``InvoiceDefaults`` (the organisation's sync
settings, see ``sync.send_invoice.invoice_defaults``), with fallbacks when there are none.
Nothing here commits; ``draft_invoice`` writes nothing at all (a preview).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from ledgerbridge.errors import FieldError, ValidationFailed, invalid
from ledgerbridge.money import (
    ZERO,
    LineAmountType,
    PricedLine,
    Totals,
    document_totals,
    line_amount,
    round_unit,
)
from ledgerbridge.work import documents
from ledgerbridge.work.documents import LineSpec
from ledgerbridge.work.models import (
    Client,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Member,
    MemberKind,
    Project,
    Task,
    TaxRate,
    TimeEntry,
    Workspace,
)
from ledgerbridge.work.repository import get_reference, scoped

MINUTES_PER_HOUR = Decimal(60)

FALLBACK_REVENUE_ACCOUNT = "200"
"""Sales in Xero's default chart of accounts, when no revenue account is set."""
FALLBACK_EXPENSE_ACCOUNT = "310"
"""Cost of Goods Sold in Xero's default chart, when no expense account is set."""
SALES_TAX_TYPE, PURCHASE_TAX_TYPE = "OUTPUT", "INPUT"
"""Tax types used when the workspace has them and no default tax type is set."""


class GroupBy(enum.StrEnum):
    """One line per task, per member, per day or per project (then per rate)."""

    TASK = "task"
    MEMBER = "member"
    DAY = "day"
    PROJECT = "project"


@dataclass(frozen=True)
class InvoiceDefaults:
    """The organisation's invoice settings; ``None`` means "use the fallback"."""

    revenue_account_code: str | None = None
    expense_account_code: str | None = None
    default_tax_type: str | None = None
    """For sales invoices; bills use INPUT when the workspace has it, else this."""
    due_date_offset_days: int = 14
    branding_theme_id: str | None = None
    """Not stored on the invoice: the push applies it (sales only); shown in previews."""


@dataclass(frozen=True)
class TimeInvoiceRequest:
    """What to build: exactly one of ``client_id`` (sales) and ``member_id`` (a contractor's bill)."""

    date_from: date
    date_to: date
    client_id: str | None = None
    member_id: str | None = None
    project_id: str | None = None
    group_by: GroupBy = GroupBy.TASK
    issue_date: date | None = None
    reference: str | None = None


@dataclass(frozen=True)
class TimeLine:
    description: str
    quantity: Decimal
    """Hours, to 4 places."""
    unit_amount: Decimal
    account_code: str | None
    tax_type: str | None
    entries: tuple[TimeEntry, ...] = ()

    @property
    def minutes(self) -> int:
        return sum(e.worked_minutes for e in self.entries)

    @property
    def line_amount(self) -> Decimal:
        return line_amount(self.quantity, self.unit_amount)

    def spec(self) -> LineSpec:
        return LineSpec(
            description=self.description,
            quantity=self.quantity,
            unit_amount=self.unit_amount,
            account_code=self.account_code,
            tax_type=self.tax_type,
            time_entry_ids=[e.id for e in self.entries],
        )


@dataclass(frozen=True)
class TimeInvoiceDraft:
    """An invoice built from hours, not yet saved: a preview, or what ``save_draft`` writes."""

    workspace_id: str
    kind: InvoiceKind
    client_id: str | None
    member_id: str | None
    issue_date: date
    due_date: date
    currency: str
    reference: str
    branding_theme_id: str | None
    lines: list[TimeLine] = field(default_factory=list)
    totals: Totals | None = None


# --------------------------------------------------------------------------- rates


def bill_rate(task: Task, project: Project, member: Member) -> Decimal | None:
    """The documented precedence: task, then project, then member; None when none is set."""
    for rate in (task.bill_rate, project.bill_rate, member.bill_rate):
        if rate is not None:
            return rate
    return None


def hours(minutes: int) -> Decimal:
    """Worked minutes as hours, exactly, kept to the 4 places Xero accepts."""
    return round_unit(Decimal(minutes) / MINUTES_PER_HOUR)


# --------------------------------------------------------------------------- building


def draft_invoice(
    session: Session, workspace_id: str, request: TimeInvoiceRequest, defaults: InvoiceDefaults
) -> TimeInvoiceDraft:
    """The invoice (or bill) these hours make; refuses with a 422 naming the field when
    the request is wrong or there is nothing left to invoice. Writes nothing."""
    _check_request(request)
    if request.member_id is not None:
        return _contractor_bill(session, workspace_id, request, defaults)
    return _sales_invoice(session, workspace_id, request, defaults)


def save_draft(
    session: Session,
    draft: TimeInvoiceDraft,
    *,
    number: str | None = None,
    status: InvoiceStatus | None = None,
) -> Invoice:
    """Write the draft through ``documents.write_invoice`` (numbering, checks, and the
    marks on its time entries, which a repeated build then finds taken)."""
    invoice = Invoice(workspace_id=draft.workspace_id, kind=draft.kind)
    values = {
        "client_id": draft.client_id,
        "member_id": draft.member_id,
        "issue_date": draft.issue_date,
        "due_date": draft.due_date,
        "currency": draft.currency,
        "reference": draft.reference,
        "line_amount_type": LineAmountType.EXCLUSIVE,
        "number": number,
    }
    documents.write_invoice(session, invoice, values, [line.spec() for line in draft.lines], status)
    session.flush()
    return invoice


def _check_request(request: TimeInvoiceRequest) -> None:
    if (request.client_id is None) == (request.member_id is None):
        message = "give client_id (a sales invoice) or member_id (a contractor's bill), not both"
        raise ValidationFailed(
            "Say whom the invoice is for: a client, or a contractor who bills the business.",
            [FieldError("client_id", message), FieldError("member_id", message)],
        )
    if request.date_to < request.date_from:
        raise invalid("date_to", f"must be on or after date_from {request.date_from.isoformat()}")


def _to_invoice(workspace_id: str) -> Select[tuple[TimeEntry]]:
    """Hours a client can be invoiced for: approved, billable (entry and task), on no
    invoice line yet; joined to their task and project, which say whose they are."""
    return (
        scoped(TimeEntry, workspace_id)
        .join(Task, Task.id == TimeEntry.task_id)
        .join(Project, Project.id == Task.project_id)
        .where(
            TimeEntry.approved.is_(True),
            TimeEntry.billable.is_(True),
            Task.billable.is_(True),
            TimeEntry.invoice_line_id.is_(None),
        )
    )


def clients_with_hours(session: Session, workspace_id: str) -> list[tuple[str, str]]:
    """(id, name) of the customers with hours to invoice, by name: the clients worth
    offering when building an invoice (a workspace may have thousands of clients)."""
    hours = _to_invoice(workspace_id)
    rows = session.execute(
        select(Client.id, Client.name)
        .where(
            Client.workspace_id == workspace_id,
            Client.is_customer.is_(True),
            Client.archived.is_(False),
            or_(  # as _sales_invoice finds them: the project's client, or the task's
                Client.id.in_(hours.with_only_columns(Project.client_id)),
                Client.id.in_(hours.with_only_columns(Task.client_id)),
            ),
        )
        .order_by(Client.name)
    )
    return [(str(client_id), str(name)) for client_id, name in rows]


def _sales_invoice(
    session: Session, workspace_id: str, request: TimeInvoiceRequest, defaults: InvoiceDefaults
) -> TimeInvoiceDraft:
    assert request.client_id is not None
    client = get_reference(session, Client, workspace_id, request.client_id, "client_id")
    if not client.is_customer:
        raise invalid("client_id", f"'{client.name}' is not a customer; mark it as one first")
    query = _to_invoice(workspace_id).where(
        or_(Project.client_id == client.id, Task.client_id == client.id)  # its contact's task too
    )
    if request.project_id is not None:
        project = get_reference(session, Project, workspace_id, request.project_id, "project_id")
        if project.client_id != client.id and project.xero_connection_id is None:
            raise invalid("project_id", f"'{project.name}' is not a project of '{client.name}'")
        query = query.where(Project.id == project.id)
    entries = _in_period(session, query, request)
    if not entries:
        raise invalid(
            "client_id",
            f"'{client.name}' has no approved, billable hours that are not invoiced yet "
            f"from {request.date_from.isoformat()} to {request.date_to.isoformat()}",
        )
    context = _Context.load(session, entries)
    account = defaults.revenue_account_code or FALLBACK_REVENUE_ACCOUNT
    tax_type = defaults.default_tax_type or _usable(session, workspace_id, SALES_TAX_TYPE)
    unpriced = [e for e in entries if context.rate(e) is None]
    missing = sorted({f"{context.task_label(e)} by {context.members[e.member_id].name}" for e in unpriced})
    if missing:
        raise invalid(
            "client_id",
            "no bill rate for " + "; ".join(missing) + ": set one on the task, the project or the member",
        )
    lines = _lines(entries, request.group_by, context, context.rate, account, tax_type)
    return _draft(session, workspace_id, InvoiceKind.SALES, request, defaults, lines,
                  client_id=client.id, currency=client.currency,
                  reference=request.reference or _reference(context, entries, request))


def _contractor_bill(
    session: Session, workspace_id: str, request: TimeInvoiceRequest, defaults: InvoiceDefaults
) -> TimeInvoiceDraft:
    assert request.member_id is not None
    member = get_reference(session, Member, workspace_id, request.member_id, "member_id")
    if member.kind is not MemberKind.CONTRACTOR:
        raise invalid("member_id", f"'{member.name}' is an employee; employees are paid by payroll")
    if member.cost_rate is None:
        raise invalid("member_id", f"'{member.name}' has no cost rate; set the rate they bill at")
    query = scoped(TimeEntry, workspace_id).where(
        TimeEntry.member_id == member.id, TimeEntry.approved.is_(True), TimeEntry.bill_line_id.is_(None)
    )
    if request.project_id is not None:
        project = get_reference(session, Project, workspace_id, request.project_id, "project_id")
        query = query.join(Task, Task.id == TimeEntry.task_id).where(Task.project_id == project.id)
    entries = _in_period(session, query, request)
    if not entries:
        raise invalid(
            "member_id",
            f"'{member.name}' has no approved hours that are not billed yet "
            f"from {request.date_from.isoformat()} to {request.date_to.isoformat()}",
        )
    context = _Context.load(session, entries)
    account = defaults.expense_account_code or FALLBACK_EXPENSE_ACCOUNT
    tax_type = _usable(session, workspace_id, PURCHASE_TAX_TYPE) or defaults.default_tax_type
    cost = member.cost_rate
    lines = _lines(entries, request.group_by, context, lambda _e: cost, account, tax_type)
    reference = request.reference or f"Contract hours {_span(entries)}"
    return _draft(session, workspace_id, InvoiceKind.BILL, request, defaults, lines,
                  member_id=member.id, currency=None, reference=reference)


def _in_period(
    session: Session, query: Select[tuple[TimeEntry]], request: TimeInvoiceRequest
) -> list[TimeEntry]:
    chosen = query.where(
        TimeEntry.date >= request.date_from, TimeEntry.date <= request.date_to
    ).order_by(TimeEntry.date, TimeEntry.start_time, TimeEntry.created_at, TimeEntry.id)
    return [e for e in session.scalars(chosen) if e.worked_minutes > 0]


def _usable(session: Session, workspace_id: str, tax_type: str) -> str | None:
    rate = documents.tax_rates(session, workspace_id).get(tax_type)
    return tax_type if rate is not None and not rate.archived else None


def _draft(
    session: Session,
    workspace_id: str,
    kind: InvoiceKind,
    request: TimeInvoiceRequest,
    defaults: InvoiceDefaults,
    lines: list[TimeLine],
    *,
    reference: str,
    currency: str | None,
    client_id: str | None = None,
    member_id: str | None = None,
) -> TimeInvoiceDraft:
    issued = request.issue_date or documents.today_in(session, workspace_id)
    if currency is None:
        workspace = session.get(Workspace, workspace_id)
        currency = workspace.default_currency if workspace is not None else "AUD"
    rates = documents.tax_rates(session, workspace_id)
    for line in lines:
        if line.tax_type is not None and line.tax_type not in rates:
            raise invalid(
                "default_tax_type",
                f"the default tax type '{line.tax_type}' is not a tax rate here; import tax rates",
            )
    priced = [
        PricedLine(line.quantity, line.unit_amount, _percent(rates, line.tax_type))
        for line in lines
    ]
    return TimeInvoiceDraft(
        workspace_id=workspace_id,
        kind=kind,
        client_id=client_id,
        member_id=member_id,
        issue_date=issued,
        due_date=issued + timedelta(days=defaults.due_date_offset_days),
        currency=currency,
        reference=reference,
        branding_theme_id=defaults.branding_theme_id if kind is InvoiceKind.SALES else None,
        lines=lines,
        totals=document_totals(priced, LineAmountType.EXCLUSIVE),
    )


def _percent(rates: Mapping[str, TaxRate], tax_type: str | None) -> Decimal:
    return rates[tax_type].rate_percent if tax_type is not None else ZERO


# --------------------------------------------------------------------------- grouping


@dataclass(frozen=True)
class _Context:
    """The tasks, projects and members the chosen entries use, read once."""

    tasks: dict[str, Task]
    projects: dict[str, Project]
    members: dict[str, Member]

    @classmethod
    def load(cls, session: Session, entries: Sequence[TimeEntry]) -> _Context:
        task_ids = {e.task_id for e in entries}
        tasks = {t.id: t for t in session.scalars(select(Task).where(Task.id.in_(task_ids)))}
        project_ids = {t.project_id for t in tasks.values()}
        projects = {p.id: p for p in session.scalars(select(Project).where(Project.id.in_(project_ids)))}
        member_ids = {e.member_id for e in entries}
        members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(member_ids)))}
        return cls(tasks, projects, members)

    def project_of(self, entry: TimeEntry) -> Project:
        return self.projects[self.tasks[entry.task_id].project_id]

    def rate(self, entry: TimeEntry) -> Decimal | None:
        return bill_rate(self.tasks[entry.task_id], self.project_of(entry), self.members[entry.member_id])

    def task_label(self, entry: TimeEntry) -> str:
        return f"{self.project_of(entry).name}: {self.tasks[entry.task_id].name}"


def _lines(
    entries: Sequence[TimeEntry],
    group_by: GroupBy,
    context: _Context,
    rate_of: Callable[[TimeEntry], Decimal | None],
    account_code: str | None,
    tax_type: str | None,
) -> list[TimeLine]:
    """One line per group and rate, in a stable order (by the group's name, then rate)."""
    groups: dict[tuple[str, Decimal], list[TimeEntry]] = defaultdict(list)
    for entry in entries:
        rate = rate_of(entry)
        assert rate is not None
        groups[(_group_key(entry, group_by, context), rate)].append(entry)
    return [
        TimeLine(
            description=_describe(group, group_by, context),
            quantity=hours(sum(e.worked_minutes for e in group)),
            unit_amount=round_unit(rate),
            account_code=account_code,
            tax_type=tax_type,
            entries=tuple(group),
        )
        for (_, rate), group in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1]))
    ]


def _group_key(entry: TimeEntry, group_by: GroupBy, context: _Context) -> str:
    if group_by is GroupBy.TASK:
        return f"{context.task_label(entry)}\x00{entry.task_id}"
    if group_by is GroupBy.MEMBER:
        return f"{context.members[entry.member_id].name}\x00{entry.member_id}"
    if group_by is GroupBy.PROJECT:
        project = context.project_of(entry)
        return f"{project.name}\x00{project.id}"
    return entry.date.isoformat()


def _describe(group: Sequence[TimeEntry], group_by: GroupBy, context: _Context) -> str:
    tasks = _names(context.task_label(e) for e in group)
    members = _names(context.members[e.member_id].name for e in group)
    span = _span(group)
    first = group[0]
    if group_by is GroupBy.TASK:
        return f"{context.task_label(first)}: {members}, {span}"
    if group_by is GroupBy.MEMBER:
        return f"{context.members[first.member_id].name}: {tasks}, {span}"
    if group_by is GroupBy.PROJECT:
        task_names = _names(context.tasks[e.task_id].name for e in group)
        return f"{context.project_of(first).name}: {task_names}, {span}"
    return f"{first.date:%a} {first.date.day} {first.date:%b %Y}: {tasks} ({members})"


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(set(values)))


def _span(entries: Sequence[TimeEntry]) -> str:
    first, last = min(e.date for e in entries), max(e.date for e in entries)
    if first == last:
        return f"{first.day} {first:%b %Y}"
    return f"{first.day} {first:%b} to {last.day} {last:%b %Y}"


def _reference(context: _Context, entries: Sequence[TimeEntry], request: TimeInvoiceRequest) -> str:
    projects = {context.project_of(e).id: context.project_of(e) for e in entries}
    if len(projects) == 1:
        project = next(iter(projects.values()))
        return " ".join(p for p in (project.code, project.name) if p)
    return f"Hours {request.date_from.isoformat()} to {request.date_to.isoformat()}"


__all__ = [
    "FALLBACK_EXPENSE_ACCOUNT",
    "FALLBACK_REVENUE_ACCOUNT",
    "GroupBy",
    "InvoiceDefaults",
    "TimeInvoiceDraft",
    "TimeInvoiceRequest",
    "TimeLine",
    "bill_rate",
    "draft_invoice",
    "hours",
    "save_draft",
]
