"""Hours to invoices in the API: build an invoice (or a contractor's bill) from time
entries, preview it, and "Send via Xero".

- ``POST /invoices/from-time``: ``dry_run: true`` answers 200 with the lines it would
  write (nothing saved); otherwise 201 with the saved invoice, as ``GET /invoices/{id}``
  shows it. ``send: true`` queues it for Xero in the same request.
- ``POST /invoices/{id}/send-to-xero``: queue it for Xero now, or a 409 naming who is not
  in Xero yet (nothing is queued then).

Owners and admins only: both reveal rates and act for the business.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Response
from pydantic import Field
from sqlalchemy.orm import Session

from ledgerbridge.sync.send_invoice import Queued, invoice_defaults, send_to_xero
from ledgerbridge.web.api.crud import Input, Output
from ledgerbridge.web.api.invoices import InvoiceRead, invoices
from ledgerbridge.web.deps import ManagerDep, SessionDep
from ledgerbridge.work import invoicing
from ledgerbridge.work.invoicing import GroupBy, TimeInvoiceDraft
from ledgerbridge.work.models import Invoice, InvoiceKind
from ledgerbridge.work.repository import get_scoped

router = APIRouter(prefix="/invoices", tags=["Invoices"])


class FromTimeIn(Input):
    client_id: str | None = Field(None, description="A sales invoice to this client for its projects' hours.")
    member_id: str | None = Field(None, description="A contractor's bill to the business for their hours.")
    project_id: str | None = Field(None, description="Only this project's hours.")
    date_from: dt.date = Field(description="First day of the period (inclusive).")
    date_to: dt.date = Field(description="Last day of the period (inclusive).")
    group_by: GroupBy = Field(GroupBy.TASK, description="One line per task, member, day or project.")
    issue_date: dt.date | None = Field(None, description="Today in the workspace's timezone by default.")
    reference: str | None = Field(None, max_length=255)
    dry_run: bool = Field(False, description="Show the lines without saving anything.")
    send: bool = Field(False, description="Also queue the saved invoice for Xero (as send-to-xero).")


class PreviewLine(Output):
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str | None
    tax_type: str | None
    line_amount: Decimal
    minutes: int
    time_entry_ids: list[str]


class Preview(Output):
    dry_run: bool = True
    kind: InvoiceKind
    client_id: str | None
    member_id: str | None
    issue_date: dt.date
    due_date: dt.date
    currency: str
    reference: str
    branding_theme_id: str | None
    lines: list[PreviewLine]
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal


class QueuedOut(Output):
    connection_id: str
    tenant_name: str
    invoice_status: str = Field(description="How Xero creates it: draft or authorised.")
    send_at: dt.datetime | None = Field(description="When the organisation's send is planned.")


class SentOut(Output):
    invoice: InvoiceRead
    queued: list[QueuedOut]


class BuiltOut(InvoiceRead):
    queued: list[QueuedOut] = Field(default_factory=list, description="Where it was queued, with send: true.")


@router.post(
    "/from-time",
    response_model=BuiltOut | Preview,
    status_code=201,
    summary="Build an invoice or a contractor's bill from time entries",
    responses={200: {"model": Preview, "description": "dry_run: the lines it would write"}},
)
def build_from_time(body: FromTimeIn, response: Response, session: SessionDep, actor: ManagerDep) -> Any:
    request = invoicing.TimeInvoiceRequest(
        date_from=body.date_from,
        date_to=body.date_to,
        client_id=body.client_id,
        member_id=body.member_id,
        project_id=body.project_id,
        group_by=body.group_by,
        issue_date=body.issue_date,
        reference=body.reference,
    )
    defaults = invoice_defaults(session, actor.workspace_id, request.client_id)
    draft = invoicing.draft_invoice(session, actor.workspace_id, request, defaults)
    if body.dry_run:
        response.status_code = 200
        return _preview(draft)
    invoice = invoicing.save_draft(session, draft)
    queued = send_to_xero(session, invoice) if body.send else []
    return BuiltOut.model_validate({**_render(session, invoice).model_dump(), "queued": _queued(queued)})


@router.post("/{invoice_id}/send-to-xero", response_model=SentOut, summary="Send an invoice via Xero")
def send_invoice(invoice_id: str, session: SessionDep, actor: ManagerDep) -> SentOut:
    """Approve it if it is a draft and queue it for the default organisation; Xero creates
    it as a draft or authorised per that organisation's invoice status setting."""
    invoice = get_scoped(session, Invoice, actor.workspace_id, invoice_id)
    queued = send_to_xero(session, invoice)
    return SentOut(invoice=_render(session, invoice), queued=_queued(queued))


def _render(session: Session, invoice: Invoice) -> InvoiceRead:
    assert invoices.render is not None
    rendered: InvoiceRead = invoices.render(session, invoice)
    return rendered


def _queued(queued: list[Queued]) -> list[QueuedOut]:
    return [QueuedOut.model_validate(q) for q in queued]


def _preview(draft: TimeInvoiceDraft) -> Preview:
    assert draft.totals is not None
    return Preview(
        kind=draft.kind,
        client_id=draft.client_id,
        member_id=draft.member_id,
        issue_date=draft.issue_date,
        due_date=draft.due_date,
        currency=draft.currency,
        reference=draft.reference,
        branding_theme_id=draft.branding_theme_id,
        lines=[
            PreviewLine(
                description=line.description,
                quantity=line.quantity,
                unit_amount=line.unit_amount,
                account_code=line.account_code,
                tax_type=line.tax_type,
                line_amount=line.line_amount,
                minutes=line.minutes,
                time_entry_ids=[e.id for e in line.entries],
            )
            for line in draft.lines
        ],
        sub_total=draft.totals.sub_total,
        total_tax=draft.totals.total_tax,
        total=draft.totals.total,
    )
