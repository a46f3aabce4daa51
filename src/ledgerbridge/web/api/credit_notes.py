"""Credit notes and their allocations against invoices.

The credit note itself is a declarative resource like an invoice (status via PATCH);
allocations are sub-resources, ``POST /credit-notes/{id}/allocations`` and
``DELETE /credit-notes/{id}/allocations/{allocation_id}``, as in Xero.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Response
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.errors import NotFound
from ledgerbridge.money import LineAmountType
from ledgerbridge.sync.migrate import settle_hook
from ledgerbridge.sync.models import RecordType
from ledgerbridge.sync.outbox import record_change
from ledgerbridge.web.api.crud import Input, Output, Resource
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
from ledgerbridge.web.api.types import Money
from ledgerbridge.web.deps import ActorDep, SessionDep
from ledgerbridge.work import documents
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import (
    Client,
    CreditNote,
    CreditNoteAllocation,
    CreditNoteKind,
    CreditNoteStatus,
    Invoice,
)
from ledgerbridge.work.repository import get_reference, get_scoped
from ledgerbridge.xero.models import XeroConnection


class CreditNoteFields(HeaderFields):
    status: CreditNoteStatus | None = Field(
        None, description="draft -> approved, or approved -> void. Paid follows allocations."
    )


class CreditNoteCreate(ServerDefaults, CreditNoteFields):
    kind: CreditNoteKind = CreditNoteKind.SALES
    lines: list[LineInput] = Field(default_factory=list)


class CreditNoteUpdate(CreditNoteFields):
    lines: list[LineInput] | None = Field(None, description="Replaces all lines when given.")


class AllocationRead(Output):
    id: str
    invoice_id: str
    amount: Decimal
    date: dt.date


class CreditNoteRead(Output):
    id: str
    kind: CreditNoteKind
    number: str | None
    reference: str | None
    status: CreditNoteStatus
    client_id: str | None
    issue_date: dt.date
    currency: str
    line_amount_type: LineAmountType
    lines: list[LineRead]
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal
    amount_allocated: Decimal
    remaining_credit: Decimal
    allocations: list[AllocationRead]
    created_at: dt.datetime
    xero_connection_id: str | None
    updated_at: dt.datetime


class CreditNoteQuery(DocumentQuery):
    kind: CreditNoteKind | None = None
    status: CreditNoteStatus | None = None


class AllocationCreate(Input):
    invoice_id: str
    amount: Money
    date: dt.date | None = None


def _apply(session: Session, _actor: Actor, credit_note: CreditNote, values: dict[str, Any]) -> None:
    header_values, lines, status = split_values(values)
    documents.write_credit_note(session, credit_note, header_values, lines, status)


def _render(session: Session, credit_note: CreditNote) -> CreditNoteRead:
    rates = documents.tax_rates(session, credit_note.workspace_id)
    balance = documents.credit_balance(session, credit_note)
    allocations = session.scalars(
        select(CreditNoteAllocation)
        .where(CreditNoteAllocation.credit_note_id == credit_note.id)
        .order_by(CreditNoteAllocation.date, CreditNoteAllocation.created_at)
    ).all()
    return CreditNoteRead.model_validate(
        {
            **header(credit_note),
            **totals(balance.totals),
            "kind": credit_note.kind,
            "lines": render_lines(credit_note, rates),
            "amount_allocated": balance.credited,
            "remaining_credit": balance.due,
            "allocations": [AllocationRead.model_validate(a) for a in allocations],
        }
    )


def _before_delete(session: Session, _actor: Actor, credit_note: CreditNote) -> None:
    documents.delete_credit_note(session, credit_note)


def _to_xero(session: Session, _actor: Actor, credit_note: CreditNote) -> None:
    """Queue the change for Xero in the same transaction (the credit note sync sends it;
    allocations follow it, see ``sync.credit_notes``)."""
    record_change(session, credit_note.workspace_id, RecordType.CREDIT_NOTE, credit_note.id)


credit_notes = Resource(
    path="/credit-notes",
    model=CreditNote,
    read=CreditNoteRead,
    create=CreditNoteCreate,
    update=CreditNoteUpdate,
    query=CreditNoteQuery,
    references={"client_id": Client, "xero_connection_id": XeroConnection},
    search=("number", "reference"),
    order_by=("issue_date", "created_at"),
    retire=None,
    apply=_apply,
    render=_render,
    before_delete=_before_delete,
    validate=settle_hook(RecordType.CREDIT_NOTE),
    after_write=_to_xero,
)

allocations_router = APIRouter(prefix="/credit-notes/{credit_note_id}/allocations", tags=["Credit notes"])


@allocations_router.post(
    "", response_model=CreditNoteRead, status_code=201, summary="Allocate credit to an invoice"
)
def allocate(credit_note_id: str, body: AllocationCreate, session: SessionDep, actor: ActorDep) -> Any:
    """Apply part of an approved credit note to an approved invoice; returns the credit note."""
    credit_note = get_scoped(session, CreditNote, actor.workspace_id, credit_note_id)
    invoice = get_reference(session, Invoice, actor.workspace_id, body.invoice_id, "invoice_id")
    documents.allocate_credit(session, credit_note, invoice, body.amount, body.date)
    session.flush()
    return _render(session, credit_note)


@allocations_router.delete("/{allocation_id}", status_code=204, summary="Remove an allocation")
def delete_allocation(
    credit_note_id: str, allocation_id: str, session: SessionDep, actor: ActorDep
) -> Response:
    """The invoice owes the amount again and the credit note gets its credit back."""
    credit_note = get_scoped(session, CreditNote, actor.workspace_id, credit_note_id)
    allocation = get_scoped(session, CreditNoteAllocation, actor.workspace_id, allocation_id)
    if allocation.credit_note_id != credit_note.id:
        raise NotFound(f"Credit note '{credit_note_id}' has no allocation with id '{allocation_id}'.")
    documents.remove_allocation(session, allocation)
    session.flush()
    return Response(status_code=204)
