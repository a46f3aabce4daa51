"""CreditNotes and their allocations to invoices (XERO_API_NOTES 4.5).

Allocation rules: the credit note and the invoice must both be AUTHORISED, belong to the
same contact, be in the same currency and face the same way (a sales credit
``ACCRECCREDIT`` pays down a sales invoice ``ACCREC``; ``ACCPAYCREDIT`` a bill), and the
amount may exceed neither the remaining credit nor the invoice's amount due. Xero's own
texts for these failures are not published (XERO_API_NOTES 4.5 marks them unverified);
the sandbox's are descriptive. An allocation is recorded on both documents, and
``documents.refresh_balances`` recomputes both sides, so a full allocation makes either
one PAID. Deleting an allocation answers the Allocation with ``IsDeleted: true``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ledgerbridge.sandbox.accounting import framework as fw
from ledgerbridge.sandbox.accounting import wire
from ledgerbridge.sandbox.accounting.documents import (
    DocKind,
    apply_document,
    parse_amount,
    render_document,
    save_document,
)
from ledgerbridge.sandbox.accounting.framework import ElementError, Resource
from ledgerbridge.sandbox.accounting.invoices import _DOCUMENT_TRANSITIONS, INVOICE_KIND
from ledgerbridge.sandbox.errors import not_found
from ledgerbridge.sandbox.guard import ApiContext, require_resource
from ledgerbridge.sandbox.models import Record

__all__ = ["CREDIT_NOTE_KIND", "router"]

router = APIRouter()
CREDIT_DEP = require_resource("CreditNotes")

CREDIT_NOTE = Resource("CreditNotes", "CreditNoteID", "CreditNote", frozenset({
    "Type", "Contact", "Date", "DueDate", "Status", "LineAmountTypes", "LineItems", "SubTotal",
    "TotalTax", "Total", "UpdatedDateUTC", "CurrencyCode", "FullyPaidOnDate", "CreditNoteID",
    "CreditNoteNumber", "Reference", "SentToContact", "CurrencyRate", "RemainingCredit",
    "Allocations", "AppliedAmount", "Payments", "BrandingThemeID", "HasAttachments",
    "HasErrors",
}), error_flag="HasErrors", pageable=True)

CREDIT_NOTE_KIND = DocKind(
    resource=CREDIT_NOTE,
    label="Credit Note",
    number_field="CreditNoteNumber",
    types={"ACCRECCREDIT": ("SALES", "IsCustomer"), "ACCPAYCREDIT": ("PURCHASES", "IsSupplier")},
    auto_number={"ACCRECCREDIT": "CN"},
    unique_number_types=frozenset({"ACCRECCREDIT"}),
    duplicate_number_message="Credit Note # must be unique.",
    transitions=_DOCUMENT_TRANSITIONS,
    webhook="CREDITNOTE",
    editable_fields=("Contact", "LineItems", "Date", "DueDate", "LineAmountTypes",
                     "CreditNoteNumber", "Reference", "BrandingThemeID", "CurrencyCode",
                     "CurrencyRate"),
    date_fields=("Date", "DueDate"),
    extra_defaults={"Allocations": [], "SentToContact": False},
)
ALLOCATION = Resource("Allocations", "AllocationID", "Allocation",
                      frozenset({"AllocationID", "Invoice", "Amount", "Date", "IsDeleted"}),
                      error_flag=None)


def _unitdp(request: Request) -> int:
    return 4 if fw.query_param(request, "unitdp") == "4" else 2


@router.get("/CreditNotes")
async def list_credit_notes(request: Request, ctx: ApiContext = Depends(CREDIT_DEP)) -> Response:
    query = fw.ListQuery.parse(request)
    with ctx.state.lock:
        view = ({**r, "Contact": {"ContactID": r.get("_ContactID")}}
                for r in ctx.org.iter_records(CREDIT_NOTE.collection))
        records = fw.select(CREDIT_NOTE, view, query)
        detail = query.page is not None
        return fw.list_response(ctx, CREDIT_NOTE, records, query, lambda r: render_document(
            ctx.org, CREDIT_NOTE_KIND, r, detail=detail, unitdp=query.unitdp))


@router.get("/CreditNotes/{note_ref}")
async def get_credit_note(
    note_ref: str, request: Request, ctx: ApiContext = Depends(CREDIT_DEP)
) -> Response:
    query = fw.ListQuery.parse(request)
    record = fw.find_one(ctx.org, CREDIT_NOTE, note_ref, number_field="CreditNoteNumber")
    return fw.single_response(ctx, "CreditNotes", [render_document(
        ctx.org, CREDIT_NOTE_KIND, record, detail=True, unitdp=query.unitdp)])


@router.put("/CreditNotes")
async def create_credit_notes(request: Request, ctx: ApiContext = Depends(CREDIT_DEP)) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, CREDIT_NOTE, lambda e: apply_document(
        ctx, CREDIT_NOTE_KIND, e, allow_update=False, unitdp=_unitdp(request)))


@router.post("/CreditNotes")
async def update_or_create_credit_notes(
    request: Request, ctx: ApiContext = Depends(CREDIT_DEP)
) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, CREDIT_NOTE, lambda e: apply_document(
        ctx, CREDIT_NOTE_KIND, e, allow_update=True, unitdp=_unitdp(request)))


@router.post("/CreditNotes/{note_id}")
async def update_credit_note(
    note_id: str, request: Request, ctx: ApiContext = Depends(CREDIT_DEP)
) -> Response:
    raw = await request.body()
    record = fw.find_one(ctx.org, CREDIT_NOTE, note_id)
    return fw.write_endpoint(ctx, request, raw, CREDIT_NOTE, lambda e: apply_document(
        ctx, CREDIT_NOTE_KIND, {**e, "CreditNoteID": record["CreditNoteID"]}, allow_update=True,
        unitdp=_unitdp(request)))


# -- allocations ------------------------------------------------------------------------------


def _allocate(ctx: ApiContext, note_id: str, element: dict[str, Any]) -> dict[str, Any]:
    org = ctx.org
    note = org.get_record(CREDIT_NOTE.collection, note_id.lower())
    if note is None:
        raise ElementError("An existing Credit Note with the specified CreditNoteID could not be "
                           "found")
    ref = fw.ref(element, "Invoice")
    invoice = org.get_record(INVOICE_KIND.resource.collection,
                             str(ref.get("InvoiceID") or "").lower())
    if invoice is None and ref.get("InvoiceNumber"):
        invoice = next((i for i in org.records("Invoices").values()
                        if i.get("InvoiceNumber") == ref["InvoiceNumber"]), None)
    if invoice is None:
        raise ElementError("Invoice could not be found")
    amount = parse_amount(element.get("Amount"))
    try:
        day = wire.parse_date(element["Date"]) if element.get("Date") else \
            ctx.state.clock.now().date()
    except wire.WireError as exc:
        raise ElementError(str(exc)) from exc
    errors = []
    if note.get("Status") != "AUTHORISED":
        errors.append("Only AUTHORISED credit notes can be allocated.")
    if invoice.get("Status") != "AUTHORISED":
        errors.append("Credit notes can only be allocated to AUTHORISED invoices.")
    if invoice.get("_ContactID") != note.get("_ContactID"):
        errors.append("The credit note and the invoice must be for the same contact.")
    if invoice.get("CurrencyCode") != note.get("CurrencyCode"):
        errors.append("The credit note and the invoice must be in the same currency.")
    if (note.get("Type"), invoice.get("Type")) not in {("ACCRECCREDIT", "ACCREC"),
                                                      ("ACCPAYCREDIT", "ACCPAY")}:
        errors.append("A sales credit note can only be allocated to a sales invoice, and a "
                      "purchase credit note to a bill.")
    if amount > note.get("RemainingCredit", 0):
        errors.append("The amount allocated exceeds the remaining credit on the credit note.")
    if amount > invoice.get("AmountDue", 0):
        errors.append("The amount allocated exceeds the amount due on the invoice.")
    if errors:
        raise ElementError(*errors)
    allocation_id = fw.new_id()
    note = dict(note)
    note["Allocations"] = [*note.get("Allocations", []), {
        "AllocationID": allocation_id, "_InvoiceID": invoice["InvoiceID"], "Amount": amount,
        "Date": day, "IsDeleted": False}]
    invoice = dict(invoice)
    invoice["_Allocations"] = [*invoice.get("_Allocations", []), {
        "AllocationID": allocation_id, "CreditNoteID": note["CreditNoteID"], "Amount": amount,
        "Date": day, "IsDeleted": False}]
    save_document(ctx, CREDIT_NOTE_KIND, note)
    save_document(ctx, INVOICE_KIND, invoice)
    return _allocation_view(note, invoice, allocation_id)


def _allocation_view(note: Record, invoice: Record, allocation_id: str) -> dict[str, Any]:
    allocation = next(a for a in note["Allocations"] if a["AllocationID"] == allocation_id)
    rendered: dict[str, Any] = wire.render({
        "AllocationID": allocation_id,
        "Amount": allocation["Amount"],
        "Date": allocation["Date"],
        "IsDeleted": allocation["IsDeleted"],
        "Invoice": {"InvoiceID": invoice["InvoiceID"],
                    "InvoiceNumber": invoice.get("InvoiceNumber", ""), "HasErrors": False},
        "CreditNote": {"CreditNoteID": note["CreditNoteID"],
                       "CreditNoteNumber": note.get("CreditNoteNumber", ""), "HasErrors": False},
    })
    return rendered


@router.put("/CreditNotes/{note_id}/Allocations")
async def create_allocations(
    note_id: str, request: Request, ctx: ApiContext = Depends(CREDIT_DEP)
) -> Response:
    raw = await request.body()
    fw.find_one(ctx.org, CREDIT_NOTE, note_id)
    return fw.write_endpoint(ctx, request, raw, ALLOCATION,
                             lambda e: _allocate(ctx, note_id, e))


@router.delete("/CreditNotes/{note_id}/Allocations/{allocation_id}")
async def delete_allocation(
    note_id: str, allocation_id: str, ctx: ApiContext = Depends(CREDIT_DEP)
) -> Response:
    with ctx.state.transaction():
        note = dict(fw.find_one(ctx.org, CREDIT_NOTE, note_id))
        wanted = allocation_id.lower()
        allocations = [dict(a) for a in note.get("Allocations", [])]
        target = next((a for a in allocations if a["AllocationID"] == wanted
                       and not a.get("IsDeleted")), None)
        if target is None:
            raise not_found()
        target["IsDeleted"] = True
        note["Allocations"] = allocations
        invoice = ctx.org.get_record("Invoices", target["_InvoiceID"])
        save_document(ctx, CREDIT_NOTE_KIND, note)
        if invoice is None:
            raise not_found()
        invoice = dict(invoice)
        invoice["_Allocations"] = [
            {**a, "IsDeleted": True} if a["AllocationID"] == wanted else a
            for a in invoice.get("_Allocations", [])]
        save_document(ctx, INVOICE_KIND, invoice)
        view = _allocation_view(note, invoice, wanted)
    return wire.XeroJSONResponse(view)  # Xero answers the bare Allocation here, not a wrapper
