"""Purchase orders to suppliers: numbered PO-0001, status via PATCH, DELETE marks deleted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, StringConstraints
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
from ledgerbridge.work.models import Client, PurchaseOrder, PurchaseOrderStatus
from ledgerbridge.xero.models import XeroConnection


class PurchaseOrderFields(HeaderFields):
    delivery_date: dt.date | None = None
    delivery_address: Annotated[str, StringConstraints(max_length=500)] | None = None
    attention_to: Annotated[str, StringConstraints(max_length=255)] | None = None
    status: PurchaseOrderStatus | None = Field(
        None, description="draft -> submitted -> approved -> billed; deleted via DELETE or PATCH."
    )


class PurchaseOrderCreate(ServerDefaults, PurchaseOrderFields):
    lines: list[LineInput] = Field(default_factory=list)


class PurchaseOrderUpdate(PurchaseOrderFields):
    lines: list[LineInput] | None = Field(None, description="Replaces all lines when given.")


class PurchaseOrderRead(Output):
    id: str
    number: str | None
    reference: str | None
    status: PurchaseOrderStatus
    client_id: str | None
    issue_date: dt.date
    delivery_date: dt.date | None
    delivery_address: str | None
    attention_to: str | None
    currency: str
    line_amount_type: LineAmountType
    lines: list[LineRead]
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal
    created_at: dt.datetime
    xero_connection_id: str | None
    updated_at: dt.datetime


class PurchaseOrderQuery(DocumentQuery):
    status: PurchaseOrderStatus | None = None


def _apply(session: Session, _actor: Actor, order: PurchaseOrder, values: dict[str, Any]) -> None:
    header_values, lines, status = split_values(values)
    documents.write_purchase_order(session, order, header_values, lines, status)


def _render(session: Session, order: PurchaseOrder) -> PurchaseOrderRead:
    rates = documents.tax_rates(session, order.workspace_id)
    return PurchaseOrderRead.model_validate(
        {
            **header(order),
            **totals(documents.totals_of(order, rates)),
            "delivery_date": order.delivery_date,
            "delivery_address": order.delivery_address,
            "attention_to": order.attention_to,
            "lines": render_lines(order, rates),
        }
    )


def _before_delete(_session: Session, _actor: Actor, order: PurchaseOrder) -> None:
    """DELETE is the deleted status (kept, as Xero keeps it); refused once billed."""
    documents.change_purchase_order_status(order, PurchaseOrderStatus.DELETED)


def _to_xero(session: Session, _actor: Actor, order: PurchaseOrder) -> None:
    """Queue the change for Xero in the same transaction (the purchase order sync sends it)."""
    record_change(session, order.workspace_id, RecordType.PURCHASE_ORDER, order.id)


purchase_orders = Resource(
    path="/purchase-orders",
    model=PurchaseOrder,
    read=PurchaseOrderRead,
    create=PurchaseOrderCreate,
    update=PurchaseOrderUpdate,
    query=PurchaseOrderQuery,
    references={"client_id": Client, "xero_connection_id": XeroConnection},
    unique=("number",),
    search=("number", "reference"),
    order_by=("issue_date", "created_at"),
    retire=("status", PurchaseOrderStatus.DELETED),
    apply=_apply,
    render=_render,
    before_delete=_before_delete,
    validate=settle_hook(RecordType.PURCHASE_ORDER),
    after_write=_to_xero,
)
