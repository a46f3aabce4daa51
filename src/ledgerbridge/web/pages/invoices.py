"""Invoices and bills in the browser: the list (sales invoices and bills, filtered and
paginated in SQL, each with its Xero state), building one from hours (a preview first,
then "Create invoice"), and one invoice's page (edit its lines while it is a draft that
Xero does not own, Approve, Send via Xero, and what Xero made of it).

Every change goes through the same functions as the JSON API: ``invoicing.draft_invoice``
and ``save_draft`` as ``POST /invoices/from-time`` calls them, the invoices resource's
update path (``web.api.invoices``: ``documents.write_invoice`` and the outbox row) for
lines and approval, and ``send_invoice.send_to_xero`` as ``POST /invoices/{id}/send-to-xero``
does. No business rule is repeated here; the page only turns forms into those calls and
their errors into messages beside the fields.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ledgerbridge.errors import FieldError, LedgerbridgeError, NotFound
from ledgerbridge.money import round_money
from ledgerbridge.sync.mapping.invoices import DRAFT_IN_XERO
from ledgerbridge.sync.models import OutboxEntry, OutboxStatus, RecordType, SyncIssue, XeroLink
from ledgerbridge.sync.send_invoice import in_step_with_xero, invoice_defaults, send_to_xero
from ledgerbridge.web.api.crud import store as store_update  # the API's PATCH path, as it is
from ledgerbridge.web.api.invoices import InvoiceLineInput, InvoiceUpdate, invoices
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, refused, render, templates
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.work import documents, invoicing
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.invoicing import GroupBy, TimeInvoiceDraft, TimeInvoiceRequest
from ledgerbridge.work.models import (
    Client,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Member,
    MemberKind,
    Project,
    Task,
    TaxRate,
)
from ledgerbridge.work.repository import get_scoped, scoped
from ledgerbridge.xero import connections

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PAGE = "/invoices"
PAGE_SIZE = 50

KINDS = {"sales": "Sales invoices", "bill": "Bills"}
STATUS_LABELS = {
    InvoiceStatus.DRAFT: "Draft",
    InvoiceStatus.APPROVED: "Approved",
    InvoiceStatus.SENT: "Sent",
    InvoiceStatus.PARTLY_PAID: "Partly paid",
    InvoiceStatus.PAID: "Paid",
    InvoiceStatus.VOID: "Void",
}
GROUPS = {
    GroupBy.TASK: "One line per task",
    GroupBy.MEMBER: "One line per person",
    GroupBy.DAY: "One line per day",
    GroupBy.PROJECT: "One line per project",
}
LINE_FIELDS = ("description", "quantity", "unit_amount", "account_code", "tax_type")
FIELD_NAMES = {
    "description": "Description",
    "quantity": "Quantity",
    "unit_amount": "Unit price",
    "account_code": "Account code",
    "tax_type": "Tax rate",
    "client_id": "Client",
    "member_id": "Contractor",
    "project_id": "Project",
    "date_from": "From",
    "date_to": "To",
    "issue_date": "Invoice date",
    "reference": "Reference",
    "group_by": "Lines",
}


def _money(value: Decimal | None) -> str:
    """Money as people read it: two decimals, thousands separated; never through a float."""
    return "—" if value is None else f"{round_money(value):,.2f}"


def _quantity(value: Decimal) -> str:
    """Hours and quantities as stored (up to 4 places), without trailing zeros."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _unit_price(value: Decimal) -> str:
    """A unit price: at least 2 decimals as money reads, up to the 4 Xero keeps."""
    text = _quantity(value)
    places = len(text.partition(".")[2])
    return f"{value:.2f}" if places < 2 else text


templates.env.filters["invoice_money"] = _money
templates.env.filters["invoice_quantity"] = _quantity
templates.env.filters["invoice_unit"] = _unit_price


async def form_data(request: Request) -> FormData:
    """The posted form (already read and cached by ``require_csrf``), for sync routes."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


# --------------------------------------------------------------------------- Xero state


@dataclass(frozen=True)
class XeroState:
    """What Xero knows of one invoice, from the links, the outbox and the sync log."""

    linked: bool = False
    xero_number: str | None = None
    xero_status: str | None = None
    queued: bool = False
    error: SyncIssue | None = None

    @property
    def owned_by_xero(self) -> bool:
        """Xero holds it as authorised, paid or voided: Xero owns every field then."""
        return self.linked and (self.xero_status or "DRAFT") not in DRAFT_IN_XERO

    @property
    def summary(self) -> str:
        """One phrase for the list: a new send waiting comes before the last refusal."""
        if self.queued:
            return "Waiting to go to Xero"
        if self.error is not None:
            return "Xero refused it"
        if self.linked:
            return f"In Xero as {self.xero_number}" if self.xero_number else "In Xero"
        return "Not in Xero"


def xero_states(session: Session, workspace_id: str, invoice_ids: Sequence[str]) -> dict[str, XeroState]:
    """The Xero state of many invoices in three queries (no query per invoice)."""
    if not invoice_ids:
        return {}
    ids = list(invoice_ids)
    links = {
        link.local_id: link
        for link in session.scalars(
            select(XeroLink).where(
                XeroLink.workspace_id == workspace_id,
                XeroLink.record_type == RecordType.INVOICE,
                XeroLink.local_id.in_(ids),
            )
        )
    }
    queued = set(
        session.scalars(
            select(OutboxEntry.local_id).where(
                OutboxEntry.workspace_id == workspace_id,
                OutboxEntry.record_type == RecordType.INVOICE,
                OutboxEntry.local_id.in_(ids),
                OutboxEntry.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
            )
        )
    )
    errors: dict[str, SyncIssue] = {}
    for issue in session.scalars(
        select(SyncIssue)
        .where(
            SyncIssue.workspace_id == workspace_id,
            SyncIssue.record_type == RecordType.INVOICE,
            SyncIssue.local_id.in_(ids),
            SyncIssue.resolved_at.is_(None),
        )
        .order_by(SyncIssue.created_at.desc())
    ):
        assert issue.local_id is not None
        errors.setdefault(issue.local_id, issue)
    states = {}
    for invoice_id in ids:
        link = links.get(invoice_id)
        error = errors.get(invoice_id)
        if error is not None and link is not None and link.synced_at > error.created_at:
            error = None  # it went through after that failure
        content = (link.content or {}) if link is not None else {}
        states[invoice_id] = XeroState(
            linked=link is not None,
            xero_number=content.get("number"),
            xero_status=content.get("status"),
            queued=invoice_id in queued,
            error=error,
        )
    return states


# --------------------------------------------------------------------------- the list


@dataclass(frozen=True)
class Row:
    invoice: Invoice
    party: str
    total: Decimal | None
    status: str
    xero: XeroState


def _list_query(workspace_id: str, kind: str | None, status: str | None, q: str | None) -> Select[Any]:
    """Invoices with their client's and contractor's names, filtered in SQL."""
    query = (
        select(Invoice, Client.name, Member.name)
        .outerjoin(Client, Client.id == Invoice.client_id)
        .outerjoin(Member, Member.id == Invoice.member_id)
        .where(Invoice.workspace_id == workspace_id)
    )
    if kind:
        query = query.where(Invoice.kind == InvoiceKind(kind))
    if status:
        query = query.where(Invoice.status == InvoiceStatus(status))
    if q:
        pattern = f"%{q}%"
        query = query.where(
            or_(
                Invoice.number.ilike(pattern),
                Invoice.reference.ilike(pattern),
                Client.name.ilike(pattern),
                Member.name.ilike(pattern),
            )
        )
    return query.order_by(Invoice.issue_date.desc(), Invoice.created_at.desc(), Invoice.id)


def _total(invoice: Invoice, rates: Mapping[str, TaxRate]) -> Decimal | None:
    """The derived total; None when a line's tax type is gone (the invoice page explains)."""
    try:
        return documents.totals_of(invoice, rates).total
    except LedgerbridgeError:
        return None


def _choice(value: str | None, allowed: Iterable[str]) -> str | None:
    return value if value and value in set(allowed) else None


@router.get(PAGE, response_class=HTMLResponse)
def invoice_list(
    request: Request,
    session: SessionDep,
    kind: str | None = None,
    status: str | None = None,
    q: str | None = None,
    page: int = 1,
) -> HTMLResponse:
    actor = page_actor(request, session)
    kind = _choice(kind, KINDS)
    status = _choice(status, (s.value for s in InvoiceStatus))
    q = (q or "").strip()[:100] or None
    page = max(page, 1)
    query = _list_query(actor.workspace_id, kind, status, q)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows_found = session.execute(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    rates = documents.tax_rates(session, actor.workspace_id)
    states = xero_states(session, actor.workspace_id, [r[0].id for r in rows_found])
    rows = [
        Row(
            invoice=invoice,
            party=client_name or member_name or "—",
            total=_total(invoice, rates),
            status=STATUS_LABELS[invoice.status],
            xero=states[invoice.id],
        )
        for invoice, client_name, member_name in rows_found
    ]
    filters = {"kind": kind, "status": status, "q": q}

    def page_link(number: int) -> str:
        return PAGE + "?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": number})

    return render(
        request,
        "work/invoices.html",
        {
            "rows": rows,
            "total": total,
            "filters": filters,
            "kinds": KINDS,
            "statuses": {s.value: label for s, label in STATUS_LABELS.items()},
            "older": page_link(page + 1) if page * PAGE_SIZE < total else None,
            "newer": page_link(page - 1) if page > 1 else None,
            "page": page,
            "can_manage": actor.role.manages,
        },
        session=session,
        actor=actor,
    )


# --------------------------------------------------------------------------- build from hours


@dataclass
class BuildForm:
    """The build form's values as typed, kept on every re-render."""

    kind: str = "sales"
    client_id: str = ""
    member_id: str = ""
    project_id: str = ""
    date_from: str = ""
    date_to: str = ""
    group_by: str = GroupBy.TASK.value
    issue_date: str = ""
    reference: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: FormData) -> BuildForm:
        def text(name: str) -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else ""

        return cls(
            kind="bill" if text("kind") == "bill" else "sales",
            client_id=text("client_id"),
            member_id=text("member_id"),
            project_id=text("project_id"),
            date_from=text("date_from"),
            date_to=text("date_to"),
            group_by=text("group_by") or GroupBy.TASK.value,
            issue_date=text("issue_date"),
            reference=text("reference")[:255],
        )

    def _date(self, name: str, required: bool) -> dt.date | None:
        value = getattr(self, name)
        if not value:
            if required:
                self.errors[name] = f"{FIELD_NAMES[name]}: enter a date."
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.errors[name] = f"{FIELD_NAMES[name]}: enter a date as YYYY-MM-DD, e.g. 2026-11-02."
            return None

    def request(self) -> TimeInvoiceRequest | None:
        """The domain request, or None with ``errors`` filled (field -> message)."""
        date_from = self._date("date_from", True)
        date_to = self._date("date_to", True)
        issue_date = self._date("issue_date", False)
        party = "member_id" if self.kind == "bill" else "client_id"
        if not getattr(self, party):
            who = "contractor" if self.kind == "bill" else "client"
            self.errors[party] = f"{FIELD_NAMES[party]}: choose the {who}."
        if self.group_by not in {g.value for g in GroupBy}:
            self.errors["group_by"] = "Lines: choose how to group the hours."
        if self.errors or date_from is None or date_to is None:
            return None
        return TimeInvoiceRequest(
            date_from=date_from,
            date_to=date_to,
            client_id=self.client_id if self.kind == "sales" else None,
            member_id=self.member_id if self.kind == "bill" else None,
            project_id=self.project_id or None,
            group_by=GroupBy(self.group_by),
            issue_date=issue_date,
            reference=self.reference or None,
        )

    def add_errors(self, exc: LedgerbridgeError) -> None:
        """The domain's field errors beside this form's fields; the rest as one message."""
        for error in exc.errors:
            name = error.field if error.field in FIELD_NAMES else "form"
            label = FIELD_NAMES.get(name)
            self.errors.setdefault(name, f"{label}: {error.message}." if label else error.message)
        if not exc.errors:
            self.errors["form"] = exc.detail


@dataclass(frozen=True)
class PreviewEntry:
    date: dt.date
    who: str
    task: str
    hours: Decimal
    notes: str | None


@dataclass(frozen=True)
class PreviewLine:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    line_amount: Decimal
    tax_type: str | None
    account_code: str | None
    entries: list[PreviewEntry]


def _build_choices(session: Session, workspace_id: str, chosen_client: str = "") -> dict[str, Any]:
    """The selects' options as (id, name) rows. Clients: those with hours to invoice (a
    workspace may hold 10,000 customers, and a client with no hours has nothing to
    invoice), plus the one already chosen, so a refused form keeps the choice."""
    clients = invoicing.clients_with_hours(session, workspace_id)
    if chosen_client and chosen_client not in {client_id for client_id, _ in clients}:
        chosen = session.execute(
            scoped(Client, workspace_id)
            .with_only_columns(Client.id, Client.name)
            .where(Client.id == chosen_client)
        ).first()
        clients = sorted([*clients, (chosen[0], chosen[1])], key=lambda row: row[1]) if chosen else clients
    contractors = session.execute(
        scoped(Member, workspace_id)
        .with_only_columns(Member.id, Member.name)
        .where(Member.kind == MemberKind.CONTRACTOR, Member.active.is_(True))
        .order_by(Member.name)
    ).all()
    projects = session.execute(
        scoped(Project, workspace_id)
        .with_only_columns(Project.id, Project.name)
        .where(Project.archived.is_(False))
        .order_by(Project.name)
    ).all()
    return {
        "clients": [{"id": client_id, "name": name} for client_id, name in clients],
        "contractors": contractors,
        "projects": projects,
        "groups": GROUPS,
    }


def _preview_lines(session: Session, draft: TimeInvoiceDraft) -> list[PreviewLine]:
    """Each line with the time entries it covers, names read in two queries."""
    entries = [e for line in draft.lines for e in line.entries]
    member_ids = {e.member_id for e in entries}
    task_ids = {e.task_id for e in entries}
    members: dict[str, str] = dict(
        session.execute(select(Member.id, Member.name).where(Member.id.in_(member_ids))).tuples().all()
    )
    tasks: dict[str, str] = {
        task_id: f"{project}: {task}"
        for task_id, task, project in session.execute(
            select(Task.id, Task.name, Project.name)
            .join(Project, Project.id == Task.project_id)
            .where(Task.id.in_(task_ids))
        ).all()
    }
    return [
        PreviewLine(
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            line_amount=line.line_amount,
            tax_type=line.tax_type,
            account_code=line.account_code,
            entries=[
                PreviewEntry(
                    date=e.date,
                    who=members.get(e.member_id, "—"),
                    task=tasks.get(e.task_id, "—"),
                    hours=invoicing.hours(e.worked_minutes),
                    notes=e.notes,
                )
                for e in line.entries
            ],
        )
        for line in draft.lines
    ]


def _entries_digest(draft: TimeInvoiceDraft) -> str:
    """A short fingerprint of exactly which time entries (and minutes) the draft covers:
    the preview carries it, and Create refuses when the hours behind it have changed."""
    covered = sorted(f"{e.id}:{e.worked_minutes}" for line in draft.lines for e in line.entries)
    return hashlib.sha256("\n".join(covered).encode()).hexdigest()


def _render_build(
    request: Request,
    session: Session,
    actor: Actor,
    form: BuildForm,
    draft: TimeInvoiceDraft | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {"form": form, **_build_choices(session, actor.workspace_id, form.client_id)}
    if draft is not None:
        assert draft.totals is not None
        party = session.get(Client, draft.client_id) if draft.client_id else None
        member = session.get(Member, draft.member_id) if draft.member_id else None
        context.update(
            draft=draft,
            party=party.name if party is not None else member.name if member is not None else "—",
            lines=_preview_lines(session, draft),
            totals=draft.totals,
            entries_digest=_entries_digest(draft),
        )
    return render(
        request, "work/invoice_build.html", context, session=session, actor=actor, status_code=status_code
    )


@router.get(PAGE + "/new", response_class=HTMLResponse)
def build_form(request: Request, session: SessionDep, kind: str = "sales") -> HTMLResponse:
    actor = page_actor(request, session)
    if not actor.role.manages:
        return refused(
            request,
            session,
            actor,
            "Only workspace owners and admins build invoices and "
            "bills from hours: they show everyone's rates.",
            403,
        )
    today = documents.today_in(session, actor.workspace_id)
    first = today.replace(day=1)
    form = BuildForm(
        kind="bill" if kind == "bill" else "sales", date_from=first.isoformat(), date_to=today.isoformat()
    )
    return _render_build(request, session, actor, form)


@router.post(PAGE + "/new", dependencies=CSRF, response_model=None)
def build(request: Request, session: SessionDep, posted: FormDep) -> Response:
    """Preview (writes nothing) or create the draft, from the same ``draft_invoice`` the
    API's ``from-time`` calls. Create refuses when the hours changed since the preview the
    person saw, so the invoice saved is the one they checked."""
    actor = page_actor(request, session)
    if not actor.role.manages:
        return refused(
            request,
            session,
            actor,
            "Only workspace owners and admins build invoices and bills from hours.",
            403,
        )
    form = BuildForm.from_form(posted)
    wanted = form.request()
    if wanted is None:
        return _render_build(request, session, actor, form, status_code=422)
    try:
        defaults = invoice_defaults(session, actor.workspace_id, wanted.client_id)
        draft = invoicing.draft_invoice(session, actor.workspace_id, wanted, defaults)
    except LedgerbridgeError as exc:
        session.rollback()
        form.add_errors(exc)
        return _render_build(request, session, actor, form, status_code=422)
    if posted.get("action") != "create":
        return _render_build(request, session, actor, form, draft)
    if posted.get("entries_digest") != _entries_digest(draft):
        form.errors["form"] = (
            "The hours changed since this preview (someone logged, approved or "
            "invoiced time). Check the new preview, then create the invoice."
        )
        return _render_build(request, session, actor, form, draft, status_code=409)
    try:
        invoice = invoicing.save_draft(session, draft)
    except LedgerbridgeError as exc:
        session.rollback()
        form.add_errors(exc)
        return _render_build(request, session, actor, form, status_code=422)
    noun = "Bill" if invoice.kind is InvoiceKind.BILL else "Invoice"
    hours = sum((line.quantity for line in draft.lines), Decimal(0))
    return redirect(
        request,
        f"{PAGE}/{invoice.id}",
        f"{noun} {invoice.number or ''} created as a draft for {_quantity(hours)} hours.".replace("  ", " "),
        "success",
    )


# --------------------------------------------------------------------------- one invoice


@dataclass
class LineRow:
    """One row of the lines form: what was typed, and the messages beside it."""

    line_id: str
    values: dict[str, str]
    amount: Decimal | None = None
    tax: Decimal | None = None
    entries: int = 0
    errors: dict[str, str] = field(default_factory=dict)


def _rows_of(
    invoice: Invoice, rates: Mapping[str, TaxRate], entries: Mapping[str, list[str]]
) -> list[LineRow]:
    rows = []
    for i, line in enumerate(invoice.lines):
        try:
            amount, tax = documents.line_figures(line, rates, invoice.line_amount_type, i)
        except LedgerbridgeError:
            amount, tax = None, None
        rows.append(
            LineRow(
                line_id=line.id,
                values={
                    "description": line.description,
                    "quantity": _quantity(line.quantity),
                    "unit_amount": _unit_price(line.unit_amount),
                    "account_code": line.account_code or "",
                    "tax_type": line.tax_type or "",
                },
                amount=amount,
                tax=tax,
                entries=len(entries.get(line.id, [])),
            )
        )
    return rows


def _editable(invoice: Invoice, state: XeroState) -> bool:
    """A draft that Xero does not own, or an approved one that never reached Xero (Send via
    Xero approves first, so an invoice Xero refused must still be fixable here). Once Xero
    has it beyond a draft, Xero owns its fields (``sync.invoices``), so edits go there."""
    if state.owned_by_xero:
        return False
    if invoice.status is InvoiceStatus.DRAFT:
        return True
    return invoice.status is InvoiceStatus.APPROVED and not state.linked


def _render_invoice(
    request: Request,
    session: Session,
    actor: Actor,
    invoice: Invoice,
    rows: list[LineRow] | None = None,
    form_error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rates = documents.tax_rates(session, invoice.workspace_id)
    entries = documents.time_entry_ids_by_line(session, (line.id for line in invoice.lines))
    state = xero_states(session, actor.workspace_id, [invoice.id])[invoice.id]
    try:
        balance: documents.Balance | None = documents.invoice_balance(session, invoice)
        totals_error = None
    except LedgerbridgeError as exc:
        balance, totals_error = None, exc.detail
    client = session.get(Client, invoice.client_id) if invoice.client_id else None
    member = session.get(Member, invoice.member_id) if invoice.member_id else None
    usable = sorted((r for r in rates.values() if not r.archived), key=lambda r: r.name)
    organisations = connections.list_connections(session, actor.workspace_id)
    in_step = state.linked and in_step_with_xero(session, invoice)
    return render(
        request,
        "work/invoice.html",
        {
            "invoice": invoice,
            "noun": "Bill" if invoice.kind is InvoiceKind.BILL else "Invoice",
            "party": client.name if client else member.name if member else "—",
            "party_kind": "Client" if client else "Contractor" if member else "Contact",
            "status": STATUS_LABELS[invoice.status],
            "rows": rows if rows is not None else _rows_of(invoice, rates, entries),
            "balance": balance,
            "totals_error": totals_error,
            "tax_rates": usable,
            "xero": state,
            "organisations": {c.id: c.tenant_name for c in organisations},
            "editable": _editable(invoice, state),
            "can_manage": actor.role.manages,
            "can_approve": invoice.status is InvoiceStatus.DRAFT,
            "can_send": invoice.status is not InvoiceStatus.VOID and not in_step,
            "in_step": in_step,
            "form_error": form_error,
            "fields": LINE_FIELDS,
            "field_names": FIELD_NAMES,
        },
        session=session,
        actor=actor,
        status_code=status_code,
    )


def _load(request: Request, session: Session, invoice_id: str) -> tuple[Actor, Invoice | HTMLResponse]:
    """The actor and this workspace's invoice, or a 404 page for any other id."""
    actor = page_actor(request, session)
    try:
        return actor, get_scoped(session, Invoice, actor.workspace_id, invoice_id)
    except NotFound:
        return actor, refused(
            request,
            session,
            actor,
            "There is no such invoice or bill in this workspace. It may have been deleted.",
            404,
        )


@router.get(PAGE + "/{invoice_id}", response_class=HTMLResponse)
def invoice_page(invoice_id: str, request: Request, session: SessionDep) -> HTMLResponse:
    actor, found = _load(request, session, invoice_id)
    if isinstance(found, HTMLResponse):
        return found
    return _render_invoice(request, session, actor, found)


def _posted_rows(posted: FormData, invoice: Invoice) -> list[tuple[LineRow, bool]]:
    """(row as typed, removed?) for each row of the lines form; a blank new row is left out."""
    own = {line.id for line in invoice.lines}
    count_text = posted.get("line_count")
    count = int(count_text) if isinstance(count_text, str) and count_text.isdigit() else 0
    rows = []
    for i in range(min(count, 500)):

        def text(name: str, i: int = i) -> str:
            value = posted.get(f"lines-{i}-{name}")
            return value.strip() if isinstance(value, str) else ""

        line_id = text("id")
        values = {name: text(name) for name in LINE_FIELDS}
        if line_id not in own:
            line_id = ""
            if not any(values.values()):
                continue
        rows.append((LineRow(line_id=line_id, values=values), bool(text("remove"))))
    return rows


def _line_specs(
    session: Session, invoice: Invoice, rows: list[LineRow]
) -> tuple[list[dict[str, Any]], list[LineRow]]:
    """The API's line inputs for the kept rows (existing lines keep their time entries,
    discount, item and tracking), checked by the API's own schema; errors land on rows."""
    existing = {line.id: line for line in invoice.lines}
    entries = documents.time_entry_ids_by_line(session, existing)
    lines = []
    for row in rows:
        line: InvoiceLine | None = existing.get(row.line_id)
        data: dict[str, Any] = {k: v for k, v in row.values.items() if v != ""}
        data.setdefault("quantity", "1")
        data.setdefault("unit_amount", "0")
        if line is not None:
            data.update(
                discount_rate=line.discount_rate,
                item_code=line.item_code,
                tracking=line.tracking or [],
                time_entry_ids=entries.get(line.id, []),
            )
        try:
            lines.append(InvoiceLineInput.model_validate(data).model_dump())
        except ValidationError as exc:
            for problem in exc.errors():
                name = str(problem["loc"][0]) if problem["loc"] else "description"
                row.errors.setdefault(name, f"{FIELD_NAMES.get(name, name)}: {_plain(name, problem)}")
    return lines, rows


def _plain(name: str, problem: Mapping[str, Any]) -> str:
    """Pydantic's message in a bookkeeper's words, with the fix."""
    kind = str(problem.get("type", ""))
    if name == "description":
        return (
            "enter a description."
            if kind in ("missing", "string_too_short")
            else "keep it under 4,000 characters."
        )
    if name in ("quantity", "unit_amount"):
        if kind.startswith("decimal") and kind != "decimal_parsing":
            return "use at most 4 decimal places and 12 digits before the point."
        return "enter a number, e.g. 7.5 (no currency sign or commas)."
    if name == "account_code":
        return "use at most 10 characters, e.g. 200."
    return str(problem.get("msg", "is not valid"))


def _domain_errors(exc: LedgerbridgeError, kept: list[LineRow]) -> str | None:
    """Place ``lines[2].tax_type`` errors beside row 3's field; the rest is one message."""
    leftover = []
    for error in exc.errors:
        placed = False
        if error.field.startswith("lines[") and "]." in error.field:
            index_text, _, name = error.field[len("lines[") :].partition("].")
            if index_text.isdigit() and int(index_text) < len(kept) and name in LINE_FIELDS:
                kept[int(index_text)].errors.setdefault(name, f"{FIELD_NAMES[name]}: {error.message}.")
                placed = True
        if not placed:
            leftover.append(error)
    if leftover or not exc.errors:
        return exc.detail if not leftover else "; ".join(_field_message(e) for e in leftover)
    return None


def _field_message(error: FieldError) -> str:
    name = error.field.removeprefix("lines").strip(".") or "Lines"
    return f"{FIELD_NAMES.get(name, name.capitalize())}: {error.message}."


@router.post(PAGE + "/{invoice_id}/lines", dependencies=CSRF, response_model=None)
def save_lines(invoice_id: str, request: Request, session: SessionDep, posted: FormDep) -> Response:
    """Replace the lines through the API's update path; totals follow from the lines."""
    actor, found = _load(request, session, invoice_id)
    if isinstance(found, HTMLResponse):
        return found
    invoice = found
    here = f"{PAGE}/{invoice.id}"
    if not actor.role.manages:
        return redirect(request, here, "Only workspace owners and admins may change invoices.", "error")
    state = xero_states(session, actor.workspace_id, [invoice.id])[invoice.id]
    if not _editable(invoice, state):
        why = (
            "Xero has it now; change it in Xero"
            if state.linked
            else f"it is {STATUS_LABELS[invoice.status].lower()}"
        )
        return redirect(request, here, f"The lines cannot be changed: {why}.", "error")
    posted_rows = _posted_rows(posted, invoice)
    kept = [row for row, removed in posted_rows if not removed]
    all_rows = [row for row, _ in posted_rows]
    lines, _ = _line_specs(session, invoice, kept)
    if any(row.errors for row in kept):
        return _render_invoice(
            request,
            session,
            actor,
            invoice,
            all_rows,
            "Some lines need a fix; see the messages beside them.",
            422,
        )
    try:
        values = InvoiceUpdate.model_validate({"lines": lines}).model_dump(exclude_unset=True)
        store_update(session, invoices, actor, invoice, values)
    except LedgerbridgeError as exc:
        session.rollback()
        invoice = get_scoped(session, Invoice, actor.workspace_id, invoice_id)
        message = _domain_errors(exc, kept)
        return _render_invoice(
            request,
            session,
            actor,
            invoice,
            all_rows,
            message or "Some lines need a fix; see the messages beside them.",
            422,
        )
    total = documents.invoice_balance(session, invoice).totals.total
    message = f"Lines saved. The total is now {invoice.currency} {_money(total)}."
    if xero_states(session, actor.workspace_id, [invoice.id])[invoice.id].queued:
        message += " The change is queued for Xero."
    return redirect(request, here, message, "success")


@router.post(PAGE + "/{invoice_id}/approve", dependencies=CSRF, response_model=None)
def approve(invoice_id: str, request: Request, session: SessionDep) -> Response:
    """Draft to approved through the API's PATCH ``{"status": "approved"}``."""
    actor, found = _load(request, session, invoice_id)
    if isinstance(found, HTMLResponse):
        return found
    here = f"{PAGE}/{found.id}"
    try:
        actor.require_manager()
        values = InvoiceUpdate(status=InvoiceStatus.APPROVED).model_dump(exclude_unset=True)
        store_update(session, invoices, actor, found, values)
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, here, _error_text(exc), "error")
    return redirect(request, here, "Approved. It can be sent via Xero now.", "success")


@router.post(PAGE + "/{invoice_id}/send", dependencies=CSRF, response_model=None)
def send(invoice_id: str, request: Request, session: SessionDep) -> Response:
    """ "Send via Xero": the API's ``send_to_xero``; a refusal names who is not in Xero yet."""
    actor, found = _load(request, session, invoice_id)
    if isinstance(found, HTMLResponse):
        return found
    here = f"{PAGE}/{found.id}"
    try:
        actor.require_manager()
        queued = send_to_xero(session, found)
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, here, _error_text(exc), "error")
    parts = []
    for q in queued:
        when = f"at {q.send_at:%Y-%m-%d %H:%M} UTC" if q.send_at is not None else "at the next sync"
        parts.append(f"{q.tenant_name} (Xero creates it as {q.invoice_status}; it goes {when})")
    return redirect(request, here, "Queued for Xero: " + "; ".join(parts) + ".", "success")


def _error_text(exc: LedgerbridgeError) -> str:
    return exc.detail


__all__ = ["XeroState", "router", "xero_states"]
