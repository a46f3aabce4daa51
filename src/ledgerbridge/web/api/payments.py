"""Payments against invoices and bills.

As in Xero, a payment cannot be edited, only deleted: recording one moves its invoice to
partly paid or paid, deleting it moves the invoice back.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints
from sqlalchemy.orm import Session

from ledgerbridge.errors import Conflict
from ledgerbridge.sync.migrate import settle_hook
from ledgerbridge.sync.models import RecordType
from ledgerbridge.sync.outbox import record_change
from ledgerbridge.web.api.crud import Input, ListQuery, Output, Resource
from ledgerbridge.web.api.document_parts import ServerDefaults
from ledgerbridge.web.api.types import AccountCode, Money
from ledgerbridge.work import documents
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Invoice, Payment
from ledgerbridge.work.repository import get_reference


class PaymentCreate(ServerDefaults):
    server_defaults: ClassVar[frozenset[str]] = frozenset({"date"})

    invoice_id: str
    amount: Money
    date: dt.date | None = None
    account_code: AccountCode | None = None
    reference: Annotated[str, StringConstraints(max_length=255)] | None = None


class PaymentUpdate(Input):
    """Empty on purpose: Xero allows no edit of a payment but its deletion."""


class PaymentRead(Output):
    id: str
    invoice_id: str
    date: dt.date
    amount: Decimal
    account_code: str | None
    reference: str | None
    xero_connection_id: str | None = Field(description="Its invoice's Xero organisation.")
    created_at: dt.datetime


class PaymentQuery(ListQuery):
    invoice_id: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    xero_connection_id: str | None = None


def _apply(session: Session, actor: Actor, payment: Payment, values: dict[str, Any]) -> None:
    if payment.id is not None:
        if values:
            raise Conflict("A payment cannot be changed; delete it and record a new one.")
        return
    for key, value in values.items():
        setattr(payment, key, value)
    invoice = get_reference(session, Invoice, actor.workspace_id, payment.invoice_id, "invoice_id")
    documents.record_payment(session, payment, invoice)


def _before_delete(session: Session, _actor: Actor, payment: Payment) -> None:
    documents.remove_payment(session, payment)


def _to_xero(session: Session, actor: Actor, payment: Payment) -> None:
    record_change(session, actor.workspace_id, RecordType.PAYMENT, payment.id)


payments = Resource(
    path="/payments",
    model=Payment,
    read=PaymentRead,
    create=PaymentCreate,
    update=PaymentUpdate,
    query=PaymentQuery,
    references={"invoice_id": Invoice},
    search=("reference",),
    order_by=("date", "created_at"),
    retire=None,
    apply=_apply,
    before_delete=_before_delete,
    validate=settle_hook(RecordType.PAYMENT),
    after_write=_to_xero,
)
