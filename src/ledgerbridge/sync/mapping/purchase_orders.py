"""Purchase orders <-> Xero ``PurchaseOrders`` (pure: no I/O).

Statuses map one to one: DRAFT, SUBMITTED, AUTHORISED, BILLED, DELETED <-> draft,
submitted, approved, billed, deleted. Xero reports purchase order unit amounts with 2
places only (no ``unitdp`` on this collection), so they are compared at 2 places.
"""

from __future__ import annotations

from typing import Any

from ledgerbridge.sync.mapping import document_lines as lines
from ledgerbridge.sync.mapping.values import listed, text
from ledgerbridge.work.models import PurchaseOrder, PurchaseOrderStatus

UNIT_PLACES = 2

STATUS_TO_XERO = {
    PurchaseOrderStatus.DRAFT: "DRAFT",
    PurchaseOrderStatus.SUBMITTED: "SUBMITTED",
    PurchaseOrderStatus.APPROVED: "AUTHORISED",
    PurchaseOrderStatus.BILLED: "BILLED",
    PurchaseOrderStatus.DELETED: "DELETED",
}
STATUS_FROM_XERO = {label: status for status, label in STATUS_TO_XERO.items()}
CREATE_STATUSES = frozenset({"DRAFT", "SUBMITTED", "AUTHORISED"})
"""What Xero accepts on a new purchase order; a later status is reached by an update."""

HEADER_FIELDS = (
    "number",
    "reference",
    "issue_date",
    "delivery_date",
    "delivery_address",
    "attention_to",
    "currency",
    "line_amount_type",
)
DETAIL_FIELDS = frozenset({"lines"})
"""Compared fields only a detailed read carries: ``lines`` is left out of ``remote_fields``
when the record has no ``LineItems`` (a summary), never taken as empty."""


def remote_fields(record: dict[str, Any]) -> dict[str, Any]:
    """A Xero purchase order in the compared form; ``lines`` only when it carries them."""
    status = STATUS_FROM_XERO.get(str(record.get("Status") or "DRAFT"), PurchaseOrderStatus.DRAFT)
    fields: dict[str, Any] = {
        "contact": lines.contact_id(record),
        "number": text(record.get("PurchaseOrderNumber"), 255),
        "reference": text(record.get("Reference"), 255),
        "issue_date": lines.iso_date(record.get("Date")),
        "delivery_date": lines.iso_date(record.get("DeliveryDate")),
        "delivery_address": text(record.get("DeliveryAddress")),
        "attention_to": text(record.get("AttentionTo"), 255),
        "currency": text(record.get("CurrencyCode"), 3),
        "line_amount_type": lines.line_amount_type(record.get("LineAmountTypes")),
        "status": status.value,
    }
    items = listed(record, "LineItems")
    if items is not None:
        fields["lines"] = lines.lines_from_xero(items, UNIT_PLACES)
    return fields


def local_fields(order: PurchaseOrder, contact: str | None) -> dict[str, Any]:
    """The local purchase order in the same form; ``contact`` is its supplier's Xero id."""
    return {
        "contact": contact,
        "number": order.number,
        "reference": order.reference or None,
        "issue_date": lines.local_date(order.issue_date),
        "delivery_date": lines.local_date(order.delivery_date),
        "delivery_address": order.delivery_address or None,
        "attention_to": order.attention_to or None,
        "currency": order.currency,
        "line_amount_type": order.line_amount_type.value,
        "status": order.status.value,
        "lines": lines.lines_local(order.lines, UNIT_PLACES),
    }


def to_xero(order: PurchaseOrder, contact: str, xero_id: str | None) -> dict[str, Any]:
    """The payload creating or updating the order (the whole set of lines every time)."""
    status = STATUS_TO_XERO[order.status]
    if xero_id is None and status not in CREATE_STATUSES:
        status = "AUTHORISED"  # billed before it ever reached Xero: it arrives approved
    payload: dict[str, Any] = {
        "Contact": {"ContactID": contact},
        "Date": order.issue_date.isoformat(),
        "CurrencyCode": order.currency,
        "LineAmountTypes": lines.LINE_AMOUNT_TYPES[order.line_amount_type],
        "LineItems": lines.line_items(order.lines),
        "Reference": order.reference or "",
        "DeliveryAddress": order.delivery_address or "",
        "AttentionTo": order.attention_to or "",
        "Status": status,
    }
    if xero_id:
        payload["PurchaseOrderID"] = xero_id
    if order.number:
        payload["PurchaseOrderNumber"] = order.number
    if order.delivery_date:
        payload["DeliveryDate"] = order.delivery_date.isoformat()
    return payload
