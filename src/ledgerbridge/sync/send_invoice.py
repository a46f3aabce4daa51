""""Send via Xero": one invoice or bill, queued for Xero now, refused up front when Xero
could not take it yet.

The invoice goes through the outbox like any other change (``outbox.record_change``), so
the engine's push creates it exactly once, with the organisation's defaults, as a draft or
authorised per its *invoice status* setting. Sending approves a local draft first (Xero's
setting, not the local status, then decides whether it waits for approval in Xero).

Before anything is queued, every organisation it goes to is asked what the push would
ask: the adapter raises ``NotReady`` naming who is not in Xero yet (the client, or the
contractor's supplier contact), and that becomes a 409 problem naming the field, instead
of a line in the sync log after the fact.

Also here: the organisation's invoice settings as the work side's ``InvoiceDefaults``,
for building invoices from hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.errors import Conflict, FieldError
from ledgerbridge.jobs import scheduler
from ledgerbridge.sync import invoices as invoice_sync
from ledgerbridge.sync import links, outbox
from ledgerbridge.sync.adapter import NotReady
from ledgerbridge.sync.models import RecordType, SyncSettings, XeroLink
from ledgerbridge.work import documents
from ledgerbridge.work.invoicing import InvoiceDefaults
from ledgerbridge.work.models import Invoice, InvoiceKind, InvoiceStatus
from ledgerbridge.xero.models import XeroConnection


def invoice_defaults(session: Session, workspace_id: str, client_id: str | None = None) -> InvoiceDefaults:
    """The settings of the organisation an invoice for ``client_id`` goes to: the client's
    own organisation (an invoice follows its client there), else the default one; the
    fallbacks when none is connected or its settings were never saved. With several
    organisations, each one's accounts and tax rates exist only in that organisation."""
    connections = (
        outbox.connections_for(session, workspace_id, RecordType.CONTACT, client_id)
        if client_id is not None
        else outbox.target_connections(session, workspace_id)
    )
    if not connections:
        return InvoiceDefaults()
    settings = session.scalar(select(SyncSettings).where(SyncSettings.connection_id == connections[0].id))
    if settings is None:
        return InvoiceDefaults()
    return InvoiceDefaults(
        revenue_account_code=settings.revenue_account_code,
        expense_account_code=settings.expense_account_code,
        default_tax_type=settings.default_tax_type,
        due_date_offset_days=settings.due_date_offset_days,
        branding_theme_id=settings.branding_theme_id,
    )


def in_step_with_xero(
    session: Session, invoice: Invoice, connections: list[XeroConnection] | None = None
) -> bool:
    """Xero already holds this invoice as it is here: every organisation a send would go
    to has it linked, and the link's hash of what was last exchanged equals the hash of the
    invoice now. That is the test the engine's push makes before sending (it skips such a
    row), so a send then would queue a row that sends nothing. Anything changed here since
    (a line, the status, a void), or an organisation that has not got it yet, is something
    to send. ``connections``: where it goes, when the caller has asked already."""
    if connections is None:
        connections = outbox.connections_for(session, invoice.workspace_id, RecordType.INVOICE, invoice.id)
    held = [links.by_local_id(session, c.id, RecordType.INVOICE, invoice.id) for c in connections]
    if not held or any(link is None for link in held):
        return False
    try:
        digest = links.content_hash(invoice_sync.ADAPTER.local_fields(session, invoice))
    except NotReady:
        return False  # the send names what is missing
    return all(link is not None and link.content_hash == digest for link in held)


@dataclass(frozen=True)
class Queued:
    """Where the invoice goes, and when the organisation's send is planned (None: at the
    next sync, when no send job is registered in this process)."""

    connection_id: str
    tenant_name: str
    invoice_status: str
    """How Xero creates it: draft or authorised (the organisation's setting)."""
    send_at: datetime | None


def send_to_xero(session: Session, invoice: Invoice) -> list[Queued]:
    """Queue ``invoice`` for every organisation it goes to, or refuse naming what is missing."""
    if invoice.status is InvoiceStatus.VOID and _linked_id(session, invoice, None) is None:
        raise Conflict(
            "This invoice is void and was never in Xero; there is nothing to send.",
            [FieldError("status", "is void")],
        )
    connections = outbox.connections_for(session, invoice.workspace_id, RecordType.INVOICE, invoice.id)
    if not connections:
        raise Conflict(
            "The invoice's Xero organisation is not connected; reconnect it first."
            if invoice.xero_connection_id is not None
            else "No Xero organisation is connected as the default; connect one first."
        )
    if in_step_with_xero(session, invoice, connections):
        noun = "bill" if invoice.kind is InvoiceKind.BILL else "invoice"
        held = f" as {invoice.number}" if invoice.number else ""
        raise Conflict(
            f"Nothing was sent: Xero already has this {noun}{held}, just as it is here. "
            "Make any changes in Xero; they come back here with the next sync.",
            [FieldError("invoice", "is already in Xero as it is here")],
        )
    problems = [problem for c in connections if (problem := _not_ready(session, c, invoice)) is not None]
    if problems:
        raise Conflict(
            "This invoice cannot go to Xero yet: " + " ".join(dict.fromkeys(p.message for p in problems)),
            list(dict.fromkeys(problems)),
        )
    if not any(outbox.auto_sync_on(session, c.id, RecordType.INVOICE) for c in connections):
        names = ", ".join(c.tenant_name for c in connections)
        raise Conflict(
            f"Invoices do not sync to {names}: auto-sync is off for invoices there; turn it on first.",
            [FieldError("auto_sync", "is off for invoices")],
        )
    if invoice.status is InvoiceStatus.DRAFT:
        documents.change_invoice_status(session, invoice, InvoiceStatus.APPROVED)
    going = outbox.record_change(session, invoice.workspace_id, RecordType.INVOICE, invoice.id)
    by_id = {c.id: c for c in connections}
    targets = dict.fromkeys(e.connection_id for e in going)
    return [_queued(session, by_id[connection_id]) for connection_id in targets]


def _not_ready(session: Session, connection: XeroConnection, invoice: Invoice) -> FieldError | None:
    """What the push would refuse, as a field error: the client, or the contractor."""
    try:
        xero_id = _linked_id(session, invoice, connection.id)
        invoice_sync.ADAPTER.payload(session, connection, invoice, xero_id)
    except NotReady as not_ready:
        return FieldError("client_id" if invoice.client_id is not None else "member_id", str(not_ready))
    return None


def _linked_id(session: Session, invoice: Invoice, connection_id: str | None) -> str | None:
    query = select(XeroLink.xero_id).where(
        XeroLink.record_type == RecordType.INVOICE, XeroLink.local_id == invoice.id
    )
    if connection_id is not None:
        query = query.where(XeroLink.connection_id == connection_id)
    return session.scalars(query).first()


def _queued(session: Session, connection: XeroConnection) -> Queued:
    status = session.scalar(
        select(SyncSettings.invoice_status).where(SyncSettings.connection_id == connection.id)
    )
    job = scheduler.queued_invoice_send(session, connection.id)
    send_at = job.run_at if job is not None else None
    return Queued(connection.id, connection.tenant_name, status or "draft", send_at)


__all__ = ["Queued", "in_step_with_xero", "invoice_defaults", "send_to_xero"]
