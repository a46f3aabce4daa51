"""Invoices (ACCREC) and bills (ACCPAY) both ways: Xero invoices <-> local invoices.

Conflict policy (docs/sync.md), for a field both sides changed since the last exchange:
- Xero owns the status (and, through payments, the amounts paid).
- Once Xero holds the invoice as AUTHORISED, PAID, VOIDED or DELETED, Xero owns every field.
- While Xero holds it as a draft, the work side owns its lines, dates, number and reference;
  the later change wins for the rest (contact, currency, line amount type).

Status back from Xero: AUTHORISED -> approved (sent and partly paid are kept: Xero has no
word for them), PAID -> paid (its payments follow in the payments pull), VOIDED -> void,
DELETED -> void with a note in the sync log. A DRAFT never takes back a local approval
(Xero cannot un-approve, so it means the invoice waits for approval there).

Pulled invoices go through ``work.documents`` like any other write, so totals, numbering
and line rules are the same whichever side an invoice came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, Table, and_, or_, select
from sqlalchemy.orm import Session, selectinload

from ledgerbridge.db import column_values, new_id, utcnow
from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.money import LineAmountType
from ledgerbridge.sync import document_links, links, outbox
from ledgerbridge.sync.adapter import PULL_STATE, NewRecord, NotReady, Owner
from ledgerbridge.sync.mapping import invoices as mapping
from ledgerbridge.sync.mapping.contacts import normalised_name
from ledgerbridge.sync.mapping.document_lines import continued_lines
from ledgerbridge.sync.models import (
    OutboxEntry,
    OutboxStatus,
    RecordType,
    SyncIssue,
    SyncRun,
    SyncSettings,
    XeroLink,
)
from ledgerbridge.sync.runs import record_issue
from ledgerbridge.work import documents
from ledgerbridge.work.models import Client, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, Member
from ledgerbridge.xero.client import ACCOUNTING
from ledgerbridge.xero.models import XeroConnection

LOCAL_WHILE_DRAFT = frozenset({"lines", "issue_date", "due_date", "number", "reference"})
"""Fields the work side owns while the invoice is a draft in Xero."""

_xero_status: ContextVar[str] = ContextVar("invoice_xero_status", default="DRAFT")
"""The status of the Xero record being applied, for ``owner``. The engine reads a record's
fields (``remote_fields``) and then settles its conflicts (``owner``) with no await in
between, and a context variable is per task and per thread, so this is always the status
of the record whose conflicts are being settled."""


class InvoicesAdapter:
    record_type = RecordType.INVOICE
    path = f"{ACCOUNTING}/Invoices"
    key = "Invoices"
    id_field = "InvoiceID"
    pull_params: Mapping[str, str] = {"unitdp": "4"}
    ids_param: str | None = "IDs"
    detail_fields = mapping.DETAIL_FIELDS
    """Four-place unit amounts, as the work side keeps them, so none is rounded away."""

    def remote_fields(self, remote: dict[str, Any]) -> dict[str, Any]:
        _xero_status.set(str(remote.get("Status") or "DRAFT"))
        return mapping.remote_fields(remote)

    def local_fields(self, session: Session, obj: Any) -> dict[str, Any]:
        own = obj.xero_connection_id or _linked_connection(session, obj)  # its organisation's contact
        return mapping.local_fields(obj, _contact_xero_id(session, obj, own))

    def load(self, session: Session, workspace_id: str, local_id: str) -> Invoice | None:
        invoice = session.get(Invoice, local_id)
        return invoice if invoice is not None and invoice.workspace_id == workspace_id else None

    def prepare_page(
        self, session: Session, connection: XeroConnection, records: list[dict[str, Any]]
    ) -> None:
        """One query per page instead of several per invoice: the clients linked to this
        page's contacts, whether any local invoice is unlinked (else none can match), and
        the tax rates every invoice's lines are checked against; and the invoices (with
        their lines) already linked to this page's records, for the engine's ``load``."""
        xero_ids = [str(r[self.id_field]) for r in records if r.get(self.id_field)]
        links.preload_linked(
            session, Invoice, connection.id, self.record_type, xero_ids, selectinload(Invoice.lines)
        )
        contact_ids = {str((r.get("Contact") or {}).get("ContactID") or "") for r in records} - {""}
        spellings = sorted(contact_ids | {i.lower() for i in contact_ids} | {i.upper() for i in contact_ids})
        rows = session.execute(
            select(XeroLink.xero_id, Client)
            .join(Client, Client.id == XeroLink.local_id)
            .where(
                XeroLink.connection_id == connection.id,
                XeroLink.record_type == RecordType.CONTACT,
                XeroLink.xero_id.in_(spellings),
            )
        ).tuples()
        clients = {xero_id.lower(): client for xero_id, client in rows}
        contacts = {client.id: xero_id for xero_id, client in clients.items()}
        session.info[_PAGE] = _PageIndex(connection.id, clients, contacts, _any_unlinked(session, connection))
        documents.cache_reference_data(session)
        sales_numbers = [r.get("InvoiceNumber") for r in records if r.get("Type") == "ACCREC"]
        _settle_elsewhere(session, connection, {str(n) for n in sales_numbers if n})
        documents.preload_numbers(
            session,
            Invoice,
            connection.workspace_id,
            sales_numbers,
            Invoice.kind == InvoiceKind.SALES,
            connection_id=connection.id,  # the numbers in use in this organisation
        )

    def match(self, session: Session, connection: XeroConnection, remote: dict[str, Any]) -> Invoice | None:
        """An unlinked local invoice that already is this one: a sales invoice by its number
        (and the same contact, so two systems' number series never link strangers); a
        bill, whose numbers repeat across suppliers, by contact, number and date."""
        index = session.info.get(_PAGE)
        if isinstance(index, _PageIndex) and not index.any_unlinked:
            return None
        fields = mapping.remote_fields(remote)
        client = _client_of_contact(session, connection, fields["contact"])
        if client is None or not fields["number"]:
            return None
        linked = select(XeroLink.local_id).where(
            XeroLink.connection_id == connection.id, XeroLink.record_type == self.record_type
        )
        sending = select(OutboxEntry.local_id).where(
            OutboxEntry.connection_id == connection.id,
            OutboxEntry.record_type == self.record_type,
            OutboxEntry.status == OutboxStatus.SENDING,
        )
        query = select(Invoice).where(
            Invoice.workspace_id == connection.workspace_id,
            Invoice.kind == InvoiceKind(fields["kind"]),
            Invoice.client_id == client.id,
            Invoice.id.not_in(linked),
            or_(
                # A number of our own series was never seen by Xero (it numbers the invoice
                # when it is sent): the same number there is another invoice, not this one.
                and_(Invoice.numbered_here.is_(False), Invoice.number == fields["number"]),
                # Unless ours was sent and the outcome never recorded (a crash): Xero has it
                # under the number it gave, so it is known by its date and reference.
                and_(
                    Invoice.id.in_(sending),
                    Invoice.issue_date == _date(fields["issue_date"]),
                    Invoice.reference == fields.get("reference"),
                ),
            ),
        )
        if fields["kind"] == InvoiceKind.BILL.value and fields["issue_date"]:
            query = query.where(Invoice.issue_date == date.fromisoformat(fields["issue_date"]))
        found = list(session.scalars(query))
        return found[0] if len(found) == 1 else None

    def write(
        self,
        session: Session,
        run: SyncRun,
        connection: XeroConnection,
        obj: Any | None,
        fields: dict[str, Any],
        remote: dict[str, Any],
    ) -> Invoice | NewRecord | None:
        xero_id = str(remote[self.id_field])
        try:
            written = _write(session, connection, obj, fields, remote)
        except LedgerbridgeError as problem:
            if obj is not None:
                session.expire(obj)  # drop whatever the refused write had set
            record_issue(
                session,
                run,
                self.record_type,
                "pull",
                _pull_message(remote, problem),
                local_id=obj.id if obj is not None else None,
                xero_id=xero_id,
            )
            return None
        if remote.get("Status") == "DELETED":
            _note(session, run, self.describe(obj if obj is not None else fields), written.id, xero_id)
        return written

    def payload(
        self, session: Session, connection: XeroConnection, obj: Any, xero_id: str | None
    ) -> dict[str, Any]:
        invoice: Invoice = obj
        if invoice.status is InvoiceStatus.VOID and xero_id is None:
            raise NotReady(
                f"Invoice {invoice.number or invoice.id} is void and was never in Xero; nothing to send."
            )
        contact_id = _contact_xero_id(session, invoice, connection.id)
        if contact_id is None:
            raise NotReady(_not_in_xero_yet(session, invoice))
        fields = mapping.local_fields(invoice, contact_id)
        defaults = organisation_defaults(session, connection)
        body = mapping.to_xero(fields, xero_id, defaults, invoice.issue_date)
        # The organisation may hold INV-0001..INV-0050 from before it was connected: Xero
        # numbers a new invoice of our own series and ``number_from_xero`` takes it back.
        document_links.unnumbered_if_ours(body, invoice, xero_id, "InvoiceNumber")
        return body

    def number_from_xero(
        self,
        session: Session,
        connection_id: str,
        local_id: str,
        record: dict[str, Any],
        fields: dict[str, Any],
    ) -> dict[str, Any]:
        """After a create: a sales invoice takes the number Xero gave it
        (``document_links.take_xeros_number``)."""
        invoice = session.get(Invoice, local_id)
        if invoice is None or invoice.kind is not InvoiceKind.SALES:
            return fields
        return document_links.take_xeros_number(
            session, Invoice, RecordType.INVOICE, documents.INVOICE_PREFIX, connection_id, local_id,
            record.get("InvoiceNumber"), fields, Invoice.kind == InvoiceKind.SALES,
        )

    def describe(self, obj_or_fields: Any) -> str:
        if isinstance(obj_or_fields, dict):
            kind, number = obj_or_fields.get("kind"), obj_or_fields.get("number")
        else:
            kind, number = obj_or_fields.kind, obj_or_fields.number
        noun = "Bill" if kind == InvoiceKind.BILL else "Invoice"
        return f"{noun} {number}" if number else f"{noun} (no number)"

    def backfill_query(self, workspace_id: str) -> Select[tuple[str]]:
        """Every invoice but the void ones: a void never sent has nothing to tell Xero."""
        return select(Invoice.id).where(
            Invoice.workspace_id == workspace_id, Invoice.status != InvoiceStatus.VOID
        )

    def owner(self, field: str) -> Owner:
        if field == "status" or _xero_status.get() not in mapping.DRAFT_IN_XERO:
            return "xero"
        return "local" if field in LOCAL_WHILE_DRAFT else "latest"


def _settle_elsewhere(session: Session, connection: XeroConnection, numbers: set[str]) -> None:
    """Sales invoices of no organisation that live in another one (synced there before
    records carried their organisation: ``outbox.placed_elsewhere``) and hold one of these
    numbers take that organisation, as ``sync.migrate.settle_organisation`` would: their
    numbers are that organisation's, so this one's invoice of the same number is no clash
    (numbers are unique per organisation). One query, usually finding none."""
    if not numbers:
        return
    settled = session.scalars(
        select(Invoice).where(
            Invoice.workspace_id == connection.workspace_id,
            Invoice.kind == InvoiceKind.SALES,
            Invoice.xero_connection_id.is_(None),
            Invoice.number.in_(sorted(numbers)),
            Invoice.id.in_(outbox.placed_elsewhere(RecordType.INVOICE, connection.id)),
        )
    ).all()
    for invoice in settled:
        invoice.xero_connection_id = outbox.own_connection_id(session, RecordType.INVOICE, invoice.id)
    if settled:
        session.flush(settled)


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)) if value else None


# -- the party and its contact ------------------------------------------------------------


def _linked_connection(session: Session, invoice: Invoice) -> str | None:
    """The organisation the invoice is linked in (links are per organisation)."""
    return session.scalar(
        select(XeroLink.connection_id).where(
            XeroLink.record_type == RecordType.INVOICE, XeroLink.local_id == invoice.id
        )
    )


def _party(session: Session, invoice: Invoice) -> Client | None:
    """The client whose Xero contact the invoice goes to. A contractor's bill goes to the
    supplier client of the same name (members have no Xero contact of their own)."""
    if invoice.client_id is not None:
        return session.get(Client, invoice.client_id)
    member = session.get(Member, invoice.member_id) if invoice.member_id else None
    if member is None:
        return None
    name = normalised_name(member.name)
    suppliers = session.scalars(
        select(Client).where(Client.workspace_id == invoice.workspace_id, Client.is_supplier.is_(True))
    )
    return next((c for c in suppliers if normalised_name(c.name) == name), None)


def _contact_xero_id(session: Session, invoice: Invoice, connection_id: str | None) -> str | None:
    index = session.info.get(_PAGE)
    if isinstance(index, _PageIndex) and connection_id == index.connection_id:
        known = index.contacts.get(invoice.client_id or "")
        if known is not None:
            return known  # read with the page (a client has one link per organisation)
    client = _party(session, invoice)
    if client is None:
        return None
    query = select(XeroLink.xero_id).where(
        XeroLink.record_type == RecordType.CONTACT, XeroLink.local_id == client.id
    )
    if connection_id is not None:
        query = query.where(XeroLink.connection_id == connection_id)
    found = session.scalars(query.order_by(XeroLink.created_at)).first()
    return found.lower() if found else None


def _not_in_xero_yet(session: Session, invoice: Invoice) -> str:
    """Who is missing, by name, so the person knows what to sync or set up first."""
    if invoice.client_id is not None:
        client = session.get(Client, invoice.client_id)
        name = client.name if client is not None else invoice.client_id
        return f"Client '{name}' is not in Xero yet; sync contacts first."
    member = session.get(Member, invoice.member_id) if invoice.member_id else None
    name = member.name if member is not None else str(invoice.member_id)
    if _party(session, invoice) is not None:
        return f"Contractor '{name}' (supplier '{name}') is not in Xero yet; sync contacts first."
    return (
        f"Contractor '{name}' has no supplier contact in Xero; add a supplier client named "
        f"'{name}' and sync contacts first."
    )


_PAGE = "ledgerbridge.sync.invoices.page"
_ANY_UNLINKED = "ledgerbridge.sync.invoices.any_unlinked"
_INVOICES, _LINES = cast(Table, Invoice.__table__), cast(Table, InvoiceLine.__table__)


@dataclass
class _PageIndex:
    connection_id: str
    clients: dict[str, Client]
    """Lower-cased Xero contact id -> its linked client, for this page's contacts."""
    contacts: dict[str, str]
    """The other way: client id -> its lower-cased Xero contact id."""
    any_unlinked: bool
    """Whether the workspace has an invoice not linked to this organisation (a match candidate)."""


def _any_unlinked(session: Session, connection: XeroConnection) -> bool:
    """Whether any local invoice is not linked in this organisation, read once per pull:
    when none is, no Xero invoice can match one, and matching is skipped. An invoice
    someone adds during the run cannot slip through as a duplicate: its number is checked
    like any other (``documents.preload_numbers``)."""
    state = session.info.get(PULL_STATE)
    if state is not None and _ANY_UNLINKED in state:
        return bool(state[_ANY_UNLINKED])
    linked = select(XeroLink.local_id).where(
        XeroLink.connection_id == connection.id, XeroLink.record_type == RecordType.INVOICE
    )
    unlinked = session.scalar(
        select(Invoice.id)
        .where(Invoice.workspace_id == connection.workspace_id, Invoice.id.not_in(linked))
        .limit(1)
    )
    if state is not None:
        state[_ANY_UNLINKED] = unlinked is not None
    return unlinked is not None


def _client_of_contact(session: Session, connection: XeroConnection, contact_id: str | None) -> Client | None:
    if not contact_id:
        return None
    index = session.info.get(_PAGE)
    if isinstance(index, _PageIndex) and contact_id.lower() in index.clients:
        return index.clients[contact_id.lower()]
    link = links.by_xero_id(session, connection.id, RecordType.CONTACT, contact_id)
    if link is None:
        link = links.by_xero_id(session, connection.id, RecordType.CONTACT, contact_id.upper())
    return session.get(Client, link.local_id) if link is not None else None


# -- pull: writing through the business rules ---------------------------------------------


class _NotHere(LedgerbridgeError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 409, "not_synced")


def _pull_message(remote: dict[str, Any], problem: LedgerbridgeError) -> str:
    number = remote.get("InvoiceNumber") or remote.get("InvoiceID")
    return f"Xero invoice {number} could not be applied here: {problem}"


def _write(
    session: Session,
    connection: XeroConnection,
    obj: Invoice | None,
    fields: dict[str, Any],
    remote: dict[str, Any],
) -> Invoice | NewRecord:
    """Through ``work.documents``' rules; a new invoice comes back as its rows, for the
    engine to insert with the rest of the page."""
    kind = fields.get("kind") or (obj.kind.value if obj is not None else None)
    if kind == InvoiceKind.SALES.value and fields.get("number"):
        index = session.info.get(_PAGE)
        if not isinstance(index, _PageIndex) or index.connection_id != connection.id:  # fetched by id
            _settle_elsewhere(session, connection, {str(fields["number"])})
        document_links.make_way(
            session, Invoice, RecordType.INVOICE, documents.INVOICE_PREFIX, connection.workspace_id,
            connection.id, str(fields["number"]), obj.id if obj is not None else None,
            Invoice.kind == InvoiceKind.SALES,
        )
    if obj is None:
        return _new(session, connection, fields, remote)
    values = _header_values(session, connection, obj, fields, remote)
    lines = _line_specs(session, obj, fields)
    if values or lines is not None:
        documents.write_invoice(session, obj, values, lines, from_xero=True)
    if "status" in fields:
        _apply_status(session, obj, str(remote.get("Status") or "DRAFT"))
    return obj


def _new(
    session: Session, connection: XeroConnection, fields: dict[str, Any], remote: dict[str, Any]
) -> NewRecord:
    invoice = Invoice(
        id=new_id(),
        workspace_id=connection.workspace_id,
        xero_connection_id=connection.id,
        kind=InvoiceKind(fields["kind"]),
    )
    if "lines" not in fields:  # the engine makes nothing from a summary; never an invoice without lines
        raise _NotHere("Xero sent it without its lines; it is made here once read in full")
    values = _header_values(session, connection, invoice, fields, remote)
    lines = _line_specs(session, invoice, fields) or []
    line_rows = documents.new_invoice_lines(session, invoice, values, lines)
    _apply_status(session, invoice, str(remote.get("Status") or "DRAFT"), settle=False)
    return NewRecord(invoice.id, [(_INVOICES, column_values(invoice)), *((_LINES, row) for row in line_rows)])


def _header_values(
    session: Session,
    connection: XeroConnection,
    invoice: Invoice,
    fields: dict[str, Any],
    remote: dict[str, Any],
) -> dict[str, Any]:
    """The header columns Xero's values change (only those: an unchanged paid invoice
    must not look edited)."""
    wanted: dict[str, Any] = {}
    if "contact" in fields:
        client = _client_of_contact(session, connection, fields["contact"])
        if client is None:
            name = (remote.get("Contact") or {}).get("Name") or fields["contact"]
            raise _NotHere(f"its contact '{name}' is not linked to a client here yet; sync contacts first")
        if invoice.client_id != client.id:
            wanted["client_id"], wanted["member_id"] = client.id, None
    for name in ("number", "reference", "currency"):
        if name in fields:
            wanted[name] = fields[name]
    for name in ("issue_date", "due_date"):
        if name in fields and fields[name] is not None:
            wanted[name] = date.fromisoformat(fields[name])
    if "line_amount_type" in fields:
        wanted["line_amount_type"] = LineAmountType(fields["line_amount_type"])
    if invoice.status is None:
        return wanted
    return {k: v for k, v in wanted.items() if getattr(invoice, k) != v}


def _line_specs(
    session: Session, invoice: Invoice, fields: dict[str, Any]
) -> list[documents.LineSpec] | None:
    """Xero's lines, or None when they are the lines the invoice already has. A line kept,
    moved or reworded in Xero keeps the time entries it charges (``continued_lines``)."""
    if "lines" not in fields:
        return None
    current = [mapping.local_line(line) for line in invoice.lines] if invoice.status is not None else None
    if current == fields["lines"]:
        return None
    old = list(invoice.lines) if invoice.status is not None else []
    entries = documents.time_entry_ids_by_line(session, (line.id for line in old))
    continued = continued_lines(
        [line.description for line in old], [line["description"] for line in fields["lines"]]
    )
    return [
        _spec(line, [] if match is None else entries.get(old[match].id, []))
        for line, match in zip(fields["lines"], continued, strict=True)
    ]


def _spec(line: dict[str, Any], time_entry_ids: list[str]) -> documents.LineSpec:
    return documents.LineSpec(
        description=line["description"],
        quantity=Decimal(line["quantity"]),
        unit_amount=Decimal(line["unit_amount"]),
        discount_rate=Decimal(line["discount_rate"]) if line["discount_rate"] else None,
        item_code=line["item_code"],
        account_code=line["account_code"],
        tax_type=line["tax_type"],
        tracking=list(line["tracking"]),
        time_entry_ids=time_entry_ids,
    )


def _apply_status(session: Session, invoice: Invoice, xero_status: str, settle: bool = True) -> None:
    """Xero owns the status; see the module docstring for what each one becomes here.
    ``settle``: weigh money recorded here; False for an invoice just created, which has none."""
    if xero_status in mapping.DRAFT_IN_XERO:
        return  # a draft here stays one; an approval here is never taken back by a draft there
    if xero_status == "PAID":
        invoice.status = InvoiceStatus.PAID
    elif xero_status in ("VOIDED", "DELETED"):
        invoice.status = InvoiceStatus.VOID
    elif invoice.status not in (InvoiceStatus.APPROVED, InvoiceStatus.SENT, InvoiceStatus.PARTLY_PAID):
        invoice.status = InvoiceStatus.APPROVED
        if settle:  # money still recorded here keeps it paid until removed
            documents.settle_invoice(session, invoice)


def _note(session: Session, run: SyncRun, invoice: str, local_id: str, xero_id: str) -> None:
    """A line in the sync log, not a failure: Xero deletes drafts only, so a deleted
    invoice is voided here rather than removed, keeping its number and history."""
    session.add(
        SyncIssue(
            workspace_id=run.workspace_id,
            run_id=run.id,
            connection_id=run.connection_id,
            record_type=RecordType.INVOICE,
            direction="pull",
            local_id=local_id,
            xero_id=xero_id,
            message=f"{invoice} was deleted in Xero; it is void here.",
            resolved_at=utcnow(),
        )
    )


# -- push: the organisation's defaults ----------------------------------------------------


def organisation_defaults(session: Session, connection: XeroConnection) -> mapping.Defaults:
    """What the organisation's sync settings fill in where a document sent there leaves a gap."""
    settings = session.scalar(select(SyncSettings).where(SyncSettings.connection_id == connection.id))
    if settings is None:
        return mapping.Defaults()
    return mapping.Defaults(
        revenue_account_code=settings.revenue_account_code,
        expense_account_code=settings.expense_account_code,
        tax_type=settings.default_tax_type,
        due_date_offset_days=settings.due_date_offset_days,
        branding_theme_id=settings.branding_theme_id,
        create_as_authorised=settings.invoice_status == "authorised",
    )


ADAPTER = InvoicesAdapter()
