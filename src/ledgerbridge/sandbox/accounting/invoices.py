"""Invoices: sales invoices (ACCREC) and bills (ACCPAY) (XERO_API_NOTES 4.3).

The rules live in ``documents``; this module wires Xero's list filters (``IDs``,
``InvoiceNumbers``, ``ContactIDs``, ``Statuses``, ``createdByMyApp``, ``searchTerm``,
``where``, ``order``, paging, ``unitdp``, ``summaryOnly``) and the routes. A plain list
returns summaries without line items; paged lists and single fetches include them.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ledgerbridge.sandbox.accounting import framework as fw
from ledgerbridge.sandbox.accounting import wire
from ledgerbridge.sandbox.accounting.documents import DocKind, apply_document, render_document
from ledgerbridge.sandbox.accounting.framework import Resource
from ledgerbridge.sandbox.guard import ApiContext, require_resource
from ledgerbridge.sandbox.models import Record

__all__ = ["INVOICE_KIND", "router"]

router = APIRouter()
INVOICES_DEP = require_resource("Invoices")

INVOICE = Resource("Invoices", "InvoiceID", "Invoice", frozenset({
    "Type", "Contact", "LineItems", "Date", "DueDate", "LineAmountTypes", "InvoiceNumber",
    "Reference", "BrandingThemeID", "Url", "CurrencyCode", "CurrencyRate", "Status",
    "SentToContact", "ExpectedPaymentDate", "PlannedPaymentDate", "SubTotal", "TotalTax",
    "Total", "TotalDiscount", "InvoiceID", "HasAttachments", "IsDiscounted", "Payments",
    "Prepayments", "Overpayments", "AmountDue", "AmountPaid", "FullyPaidOnDate",
    "AmountCredited", "UpdatedDateUTC", "CreditNotes", "HasErrors",
}), error_flag="HasErrors", pageable=True)

_DOCUMENT_TRANSITIONS: dict[str | None, frozenset[str]] = {
    None: frozenset({"DRAFT", "SUBMITTED", "AUTHORISED"}),
    "DRAFT": frozenset({"SUBMITTED", "AUTHORISED", "DELETED"}),
    "SUBMITTED": frozenset({"DRAFT", "AUTHORISED", "DELETED"}),
    "AUTHORISED": frozenset({"VOIDED"}),
}

INVOICE_KIND = DocKind(
    resource=INVOICE,
    label="Invoice",
    number_field="InvoiceNumber",
    types={"ACCREC": ("SALES", "IsCustomer"), "ACCPAY": ("PURCHASES", "IsSupplier")},
    auto_number={"ACCREC": "INV"},
    unique_number_types=frozenset({"ACCREC"}),
    duplicate_number_message="Invoice # must be unique.",
    transitions=_DOCUMENT_TRANSITIONS,
    webhook="INVOICE",
    editable_fields=("Contact", "LineItems", "Date", "DueDate", "LineAmountTypes", "InvoiceNumber",
                     "Reference", "BrandingThemeID", "Url", "CurrencyCode", "CurrencyRate",
                     "SentToContact", "ExpectedPaymentDate", "PlannedPaymentDate"),
    date_fields=("Date", "DueDate", "ExpectedPaymentDate", "PlannedPaymentDate"),
    allow_discount=True,
)


def _filters(request: Request, ctx: ApiContext) -> tuple[fw.ListQuery, list[Record]]:
    query = fw.ListQuery.parse(request)
    numbers = set(wire.parse_csv(fw.query_param(request, "InvoiceNumbers")))
    contact_ids = {c.lower() for c in wire.parse_csv(fw.query_param(request, "ContactIDs"))}
    statuses = {s.upper() for s in wire.parse_csv(fw.query_param(request, "Statuses"))}
    mine = wire.parse_bool(fw.query_param(request, "createdByMyApp"))
    term = (fw.query_param(request, "searchTerm") or "").strip().casefold()

    def extra(record: Record) -> bool:
        if numbers and record.get("InvoiceNumber") not in numbers:
            return False
        if contact_ids and record.get("_ContactID") not in contact_ids:
            return False
        if statuses and record.get("Status") not in statuses:
            return False
        if mine and record.get("_CreatedByApp") != ctx.app.client_id:
            return False
        if term:
            text = f"{record.get('InvoiceNumber') or ''} {record.get('Reference') or ''}"
            return term in text.casefold()
        return True

    view = ({**r, "Contact": {"ContactID": r.get("_ContactID"), **_contact_fields(ctx, r)}}
            for r in ctx.org.iter_records(INVOICE.collection))
    chosen = fw.select(INVOICE, view, query, extra=extra)
    return query, chosen


def _contact_fields(ctx: ApiContext, record: Record) -> dict[str, object]:
    contact = ctx.org.get_record("Contacts", record.get("_ContactID", "")) or {}
    return {"Name": contact.get("Name"), "ContactNumber": contact.get("ContactNumber")}


def _unitdp(request: Request) -> int:
    return 4 if fw.query_param(request, "unitdp") == "4" else 2


@router.get("/Invoices")
async def list_invoices(request: Request, ctx: ApiContext = Depends(INVOICES_DEP)) -> Response:
    with ctx.state.lock:
        query, records = _filters(request, ctx)
        detail = query.page is not None
        return fw.list_response(ctx, INVOICE, records, query, lambda r: render_document(
            ctx.org, INVOICE_KIND, r, detail=detail, unitdp=query.unitdp,
            summary_only=query.summary_only))


@router.get("/Invoices/{invoice_ref}")
async def get_invoice(
    invoice_ref: str, request: Request, ctx: ApiContext = Depends(INVOICES_DEP)
) -> Response:
    """By ``InvoiceID`` or by ``InvoiceNumber``."""
    query = fw.ListQuery.parse(request)
    record = fw.find_one(ctx.org, INVOICE, invoice_ref, number_field="InvoiceNumber")
    return fw.single_response(ctx, "Invoices", [render_document(
        ctx.org, INVOICE_KIND, record, detail=True, unitdp=query.unitdp)])


@router.put("/Invoices")
async def create_invoices(request: Request, ctx: ApiContext = Depends(INVOICES_DEP)) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, INVOICE, lambda e: apply_document(
        ctx, INVOICE_KIND, e, allow_update=False, unitdp=_unitdp(request)))


@router.post("/Invoices")
async def update_or_create_invoices(
    request: Request, ctx: ApiContext = Depends(INVOICES_DEP)
) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, INVOICE, lambda e: apply_document(
        ctx, INVOICE_KIND, e, allow_update=True, unitdp=_unitdp(request)))


@router.post("/Invoices/{invoice_id}")
async def update_invoice(
    invoice_id: str, request: Request, ctx: ApiContext = Depends(INVOICES_DEP)
) -> Response:
    raw = await request.body()
    record = fw.find_one(ctx.org, INVOICE, invoice_id, number_field="InvoiceNumber")
    return fw.write_endpoint(ctx, request, raw, INVOICE, lambda e: apply_document(
        ctx, INVOICE_KIND, {**e, "InvoiceID": record["InvoiceID"]}, allow_update=True,
        unitdp=_unitdp(request)))


@router.post("/Invoices/{invoice_id}/Email")
async def email_invoice(invoice_id: str, ctx: ApiContext = Depends(INVOICES_DEP)) -> Response:
    """Marks an approved sales invoice as sent; Xero answers 204."""
    with ctx.state.transaction():
        record = fw.find_one(ctx.org, INVOICE, invoice_id)
        if record.get("Type") != "ACCREC" or record.get("Status") not in {"AUTHORISED", "PAID"}:
            raise wire.validation_exception([wire.element_errors(
                {"InvoiceID": record["InvoiceID"]},
                ["Only approved sales invoices can be emailed."])])
        updated = dict(record)
        updated["SentToContact"] = True
        updated["UpdatedDateUTC"] = fw.now_ms(ctx)
        ctx.org.put_record(INVOICE.collection, updated["InvoiceID"], updated)
    return Response(status_code=204)
