"""Sales invoices and bills: lines nested in the body, totals derived, status via PATCH.

Status changes go through PATCH ``{"status": ...}`` as Xero's ``POST /Invoices/{id}`` does,
so one request can fix a line and approve, and both happen or neither.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlalchemy.orm import Session

from ledgerbridge.money import LineAmountType
from ledgerbridge.sync.migrate import settle_hook
from ledgerbridge.sync.models import RecordType
from ledgerbridge.sync.outbox import record_change
from ledgerbridge.web.api.crud import Output, Resource
from ledgerbridge.web.api.document_parts import (
    DocumentQuery,
    HeaderFields,
    LineInput,
    LineRead,
    ServerDefaults,
    header,
    render_lines,
    split_values,
    totals,
)
from ledgerbridge.work import documents
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Client, Invoice, InvoiceKind, InvoiceStatus, Member
from ledgerbridge.xero.models import XeroConnection


class InvoiceLineInput(LineInput):
    time_entry_ids: list[str] = Field(
        default_factory=list, description="Time entries this line invoices; each may be invoiced once."
    )


class InvoiceFields(HeaderFields):
    member_id: str | None = None
    due_date: dt.date | None = None
    status: InvoiceStatus | None = Field(
        None, description="Move the invoice along: draft -> approved -> sent, or void. Paid follows payments."
    )


class InvoiceCreate(ServerDefaults, InvoiceFields):
    kind: InvoiceKind = InvoiceKind.SALES
    lines: list[InvoiceLineInput] = Field(default_factory=list)


class InvoiceUpdate(InvoiceFields):
    lines: list[InvoiceLineInput] | None = Field(None, description="Replaces all lines when given.")


class InvoiceLineRead(LineRead):
    time_entry_ids: list[str]


class InvoiceRead(Output):
    id: str
    kind: InvoiceKind
    number: str | None
    reference: str | None
    status: InvoiceStatus
    client_id: str | None
    member_id: str | None
    issue_date: dt.date
    due_date: dt.date | None
    currency: str
    line_amount_type: LineAmountType
    lines: list[InvoiceLineRead]
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal
    amount_paid: Decimal
    amount_credited: Decimal
    amount_due: Decimal
    xero_connection_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class InvoiceQuery(DocumentQuery):
    kind: InvoiceKind | None = None
    status: InvoiceStatus | None = None
    member_id: str | None = None


def _apply(session: Session, _actor: Actor, invoice: Invoice, values: dict[str, Any]) -> None:
    header_values, lines, status = split_values(values)
    documents.write_invoice(session, invoice, header_values, lines, status)


def _render(session: Session, invoice: Invoice) -> InvoiceRead:
    rates = documents.tax_rates(session, invoice.workspace_id)
    balance = documents.invoice_balance(session, invoice)
    entries = documents.time_entry_ids_by_line(session, (line.id for line in invoice.lines))
    lines = [{**line, "time_entry_ids": entries[line["id"]]} for line in render_lines(invoice, rates)]
    return InvoiceRead.model_validate(
        {
            **header(invoice),
            **totals(balance.totals),
            "kind": invoice.kind,
            "member_id": invoice.member_id,
            "due_date": invoice.due_date,
            "lines": lines,
            "amount_paid": balance.paid,
            "amount_credited": balance.credited,
            "amount_due": balance.due,
        }
    )


def _before_delete(session: Session, _actor: Actor, invoice: Invoice) -> None:
    documents.delete_invoice(session, invoice)


def _to_xero(session: Session, actor: Actor, invoice: Invoice) -> None:
    record_change(session, actor.workspace_id, RecordType.INVOICE, invoice.id)


invoices = Resource(
    path="/invoices",
    model=Invoice,
    read=InvoiceRead,
    create=InvoiceCreate,
    update=InvoiceUpdate,
    query=InvoiceQuery,
    references={"client_id": Client, "member_id": Member, "xero_connection_id": XeroConnection},
    search=("number", "reference"),
    order_by=("issue_date", "created_at"),
    retire=None,
    apply=_apply,
    render=_render,
    before_delete=_before_delete,
    validate=settle_hook(RecordType.INVOICE),
    after_write=_to_xero,
)
