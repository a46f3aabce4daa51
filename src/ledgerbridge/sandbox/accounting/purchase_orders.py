"""PurchaseOrders (XERO_API_NOTES 4.6): DRAFT, SUBMITTED, AUTHORISED, BILLED, DELETED.

Numbers are automatic (``PO-0001``) when left out and must be unique ("Order number must be
unique"). The list takes ``Status``, ``DateFrom``, ``DateTo``, ``order`` and paging; Xero
offers no ``where`` here, so the sandbox ignores one rather than pretending to filter.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ledgerbridge.sandbox.accounting import framework as fw
from ledgerbridge.sandbox.accounting import wire
from ledgerbridge.sandbox.accounting.documents import DocKind, apply_document, render_document
from ledgerbridge.sandbox.accounting.framework import Resource
from ledgerbridge.sandbox.guard import ApiContext, require_resource
from ledgerbridge.sandbox.models import Record

__all__ = ["PURCHASE_ORDER_KIND", "router"]

router = APIRouter()
PO_DEP = require_resource("PurchaseOrders")

PURCHASE_ORDER = Resource("PurchaseOrders", "PurchaseOrderID", "PurchaseOrder", frozenset({
    "Contact", "LineItems", "Date", "DeliveryDate", "LineAmountTypes", "PurchaseOrderNumber",
    "Reference", "BrandingThemeID", "CurrencyCode", "Status", "SentToContact",
    "DeliveryAddress", "AttentionTo", "Telephone", "DeliveryInstructions",
    "ExpectedArrivalDate", "PurchaseOrderID", "CurrencyRate", "SubTotal", "TotalTax", "Total",
    "TotalDiscount", "HasAttachments", "UpdatedDateUTC",
}), error_flag=None, pageable=True)

PURCHASE_ORDER_KIND = DocKind(
    resource=PURCHASE_ORDER,
    label="Purchase Order",
    number_field="PurchaseOrderNumber",
    types={"": ("PURCHASES", "IsSupplier")},
    auto_number={"": "PO"},
    unique_number_types=frozenset({""}),
    duplicate_number_message="Order number must be unique",
    transitions={
        None: frozenset({"DRAFT", "SUBMITTED", "AUTHORISED"}),
        "DRAFT": frozenset({"SUBMITTED", "AUTHORISED", "DELETED"}),
        "SUBMITTED": frozenset({"DRAFT", "AUTHORISED", "DELETED"}),
        "AUTHORISED": frozenset({"BILLED", "DELETED", "SUBMITTED", "DRAFT"}),
        "BILLED": frozenset({"AUTHORISED"}),
    },
    webhook=None,
    editable_fields=("Contact", "LineItems", "Date", "DeliveryDate", "LineAmountTypes",
                     "PurchaseOrderNumber", "Reference", "BrandingThemeID", "CurrencyCode",
                     "CurrencyRate", "SentToContact", "DeliveryAddress", "AttentionTo",
                     "Telephone", "DeliveryInstructions", "ExpectedArrivalDate"),
    date_fields=("Date", "DeliveryDate", "ExpectedArrivalDate"),
    has_balance=False,
    extra_defaults={"SentToContact": False},
)


def _day(request: Request, name: str) -> date | None:
    raw = fw.query_param(request, name)
    if not raw:
        return None
    try:
        return wire.parse_date(raw)
    except wire.WireError as exc:
        raise wire.query_parse_error(str(exc)) from exc


@router.get("/PurchaseOrders")
async def list_purchase_orders(request: Request, ctx: ApiContext = Depends(PO_DEP)) -> Response:
    query = fw.ListQuery.parse(request)
    status = (fw.query_param(request, "Status") or "").upper()
    date_from, date_to = _day(request, "DateFrom"), _day(request, "DateTo")

    def extra(record: Record) -> bool:
        if status and record.get("Status") != status:
            return False
        day = record.get("Date")
        if date_from and (not isinstance(day, date) or day < date_from):
            return False
        return not (date_to and (not isinstance(day, date) or day > date_to))

    with ctx.state.lock:
        records = fw.select(PURCHASE_ORDER, ctx.org.iter_records(PURCHASE_ORDER.collection), query,
                            extra=extra, use_where=False)
        return fw.list_response(ctx, PURCHASE_ORDER, records, query, lambda r: render_document(
            ctx.org, PURCHASE_ORDER_KIND, r, detail=True))


@router.get("/PurchaseOrders/{order_ref}")
async def get_purchase_order(order_ref: str, ctx: ApiContext = Depends(PO_DEP)) -> Response:
    """By ``PurchaseOrderID`` or ``PurchaseOrderNumber``."""
    record = fw.find_one(ctx.org, PURCHASE_ORDER, order_ref, number_field="PurchaseOrderNumber")
    return fw.single_response(ctx, "PurchaseOrders", [render_document(
        ctx.org, PURCHASE_ORDER_KIND, record, detail=True)])


@router.put("/PurchaseOrders")
async def create_purchase_orders(request: Request, ctx: ApiContext = Depends(PO_DEP)) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, PURCHASE_ORDER, lambda e: apply_document(
        ctx, PURCHASE_ORDER_KIND, e, allow_update=False))


@router.post("/PurchaseOrders")
async def update_or_create_purchase_orders(
    request: Request, ctx: ApiContext = Depends(PO_DEP)
) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, PURCHASE_ORDER, lambda e: apply_document(
        ctx, PURCHASE_ORDER_KIND, e, allow_update=True))


@router.post("/PurchaseOrders/{order_id}")
async def update_purchase_order(
    order_id: str, request: Request, ctx: ApiContext = Depends(PO_DEP)
) -> Response:
    raw = await request.body()
    record = fw.find_one(ctx.org, PURCHASE_ORDER, order_id)
    return fw.write_endpoint(ctx, request, raw, PURCHASE_ORDER, lambda e: apply_document(
        ctx, PURCHASE_ORDER_KIND, {**e, "PurchaseOrderID": record["PurchaseOrderID"]},
        allow_update=True))
