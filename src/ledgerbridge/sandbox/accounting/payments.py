"""Payments against invoices and credit notes (XERO_API_NOTES 4.4).

A payment needs its document, an ``Account`` (a BANK account or one with
``EnablePaymentsToAccount``), a ``Date`` and an ``Amount``. The document must be
AUTHORISED ("Payments can only be made against Authorised documents") and the amount no
larger than what is outstanding ("Payment amount exceeds the amount outstanding on this
document"). The only edit is deletion (``{"Status":"DELETED"}``), which puts a PAID
document back to AUTHORISED. ``PUT /Payments`` takes the wrapped batch; ``POST
/Payments`` also takes the bare object xero-python's ``create_payment`` sends.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ledgerbridge.sandbox.accounting import contacts, refdata, wire
from ledgerbridge.sandbox.accounting import framework as fw
from ledgerbridge.sandbox.accounting.credit_notes import CREDIT_NOTE_KIND
from ledgerbridge.sandbox.accounting.documents import (
    DocKind,
    parse_amount,
    save_document,
)
from ledgerbridge.sandbox.accounting.framework import ElementError, Resource
from ledgerbridge.sandbox.accounting.invoices import INVOICE_KIND
from ledgerbridge.sandbox.guard import ApiContext, require_resource
from ledgerbridge.sandbox.models import Organisation, Record

__all__ = ["router"]

router = APIRouter()
PAYMENTS_DEP = require_resource("Payments")

PAYMENT = Resource("Payments", "PaymentID", "Payment", frozenset({
    "Invoice", "CreditNote", "Account", "Date", "CurrencyRate", "Amount", "BankAmount",
    "Reference", "IsReconciled", "Status", "PaymentType", "UpdatedDateUTC", "PaymentID",
    "BatchPaymentID", "HasAccount", "HasValidationErrors",
}), pageable=True)

PAYMENT_TYPES = {"ACCREC": "ACCRECPAYMENT", "ACCPAY": "ACCPAYPAYMENT",
                 "ACCRECCREDIT": "ARCREDITPAYMENT", "ACCPAYCREDIT": "APCREDITPAYMENT"}
NOT_AUTHORISED = "Payments can only be made against Authorised documents"
OVERPAID = "Payment amount exceeds the amount outstanding on this document"
NOT_MODIFIABLE = "Payment not of valid status for modification"


def _document(org: Organisation, element: dict[str, Any]) -> tuple[DocKind, Record]:
    """The invoice or credit note a payment element points at."""
    invoice = fw.ref(element, "Invoice")
    note = fw.ref(element, "CreditNote")
    invoice_id = invoice.get("InvoiceID")
    invoice_number = invoice.get("InvoiceNumber") or element.get("InvoiceNumber")
    note_id = note.get("CreditNoteID")
    note_number = note.get("CreditNoteNumber") or element.get("CreditNoteNumber")
    for kind, ident, number in ((INVOICE_KIND, invoice_id, invoice_number),
                                (CREDIT_NOTE_KIND, note_id, note_number)):
        collection = kind.resource.collection
        if ident:
            found = org.get_record(collection, str(ident).lower())
            if found is None:
                raise ElementError(f"{kind.label} could not be found")
            return kind, found
        if number:
            found = next((d for d in org.records(collection).values()
                          if d.get(kind.number_field) == number), None)
            if found is None:
                raise ElementError(f"{kind.label} number {number} could not be found")
            return kind, found
    raise ElementError("A payment must reference an Invoice or a CreditNote")


def _account(org: Organisation, element: dict[str, Any]) -> Record:
    ref = fw.ref(element, "Account")
    account = None
    if ref.get("AccountID"):
        account = refdata.account_by_id(org, str(ref["AccountID"]))
    elif ref.get("Code") or element.get("Code"):
        account = refdata.account_by_code(org, str(ref.get("Code") or element.get("Code")))
    if account is None or account.get("Status") != "ACTIVE":
        raise ElementError("Account could not be found")
    if account.get("Type") != "BANK" and not account.get("EnablePaymentsToAccount"):
        raise ElementError(f"Account code '{account.get('Code')}' is not a bank account and "
                           "does not have payments enabled.")
    return account


def render_payment(org: Organisation, record: Record) -> dict[str, Any]:
    data = fw.public(record)
    collection = record["_DocumentCollection"]
    document = org.get_record(collection, record["_DocumentID"]) or {}
    contact = contacts.contact_summary(org, document.get("_ContactID", ""))
    if collection == "Invoices":
        data["Invoice"] = {"InvoiceID": record["_DocumentID"], "Type": document.get("Type"),
                           "InvoiceNumber": document.get("InvoiceNumber", ""),
                           "Contact": contact, "CurrencyCode": document.get("CurrencyCode"),
                           "HasErrors": False}
    else:
        data["CreditNote"] = {"CreditNoteID": record["_DocumentID"],
                              "Type": document.get("Type"),
                              "CreditNoteNumber": document.get("CreditNoteNumber", ""),
                              "Contact": contact, "HasErrors": False}
    account = org.get_record(refdata.ACCOUNTS, record["_AccountID"]) or {}
    data["Account"] = {"AccountID": record["_AccountID"], "Code": account.get("Code", "")}
    rendered: dict[str, Any] = wire.render(data)
    return rendered


def _create(ctx: ApiContext, element: dict[str, Any]) -> dict[str, Any]:
    org = ctx.org
    kind, document = _document(org, element)
    account = _account(org, element)
    if element.get("Date") in (None, ""):
        raise ElementError("A valid Date must be supplied for the payment")
    try:
        day = wire.parse_date(element["Date"])
    except wire.WireError as exc:
        raise ElementError(str(exc)) from exc
    amount = parse_amount(element.get("Amount"))
    if document.get("Status") != "AUTHORISED":
        raise ElementError(NOT_AUTHORISED)
    outstanding = document.get("AmountDue", document.get("RemainingCredit"))
    if outstanding is None or amount > outstanding:
        raise ElementError(OVERPAID)
    rate = document.get("CurrencyRate")
    if element.get("CurrencyRate") not in (None, ""):
        rate = parse_amount(element["CurrencyRate"], "CurrencyRate")
    record: Record = {
        "PaymentID": fw.new_id(),
        "Date": day,
        "Amount": amount,
        "BankAmount": amount,
        "CurrencyRate": rate,
        "Reference": str(element.get("Reference") or ""),
        "IsReconciled": bool(element.get("IsReconciled", False)),
        "Status": "AUTHORISED",
        "PaymentType": PAYMENT_TYPES[str(document.get("Type"))],
        "HasAccount": True,
        "HasValidationErrors": False,
        "_AccountID": account["AccountID"],
        "_DocumentCollection": kind.resource.collection,
        "_DocumentID": document[kind.resource.id_field],
        "UpdatedDateUTC": fw.now_ms(ctx),
    }
    org.put_record(PAYMENT.collection, record["PaymentID"], record)
    updated = dict(document)
    updated["_PaymentIDs"] = [*document.get("_PaymentIDs", []), record["PaymentID"]]
    save_document(ctx, kind, updated)
    return render_payment(org, record)


def _delete(ctx: ApiContext, element: dict[str, Any]) -> dict[str, Any]:
    org = ctx.org
    record = org.get_record(PAYMENT.collection, str(element.get("PaymentID") or "").lower())
    if record is None:
        raise ElementError("The payment with the specified PaymentID could not be found")
    if element.get("Status") != "DELETED" or record.get("Status") == "DELETED":
        raise ElementError(NOT_MODIFIABLE)
    updated = dict(record)
    updated["Status"] = "DELETED"
    updated["UpdatedDateUTC"] = fw.now_ms(ctx)
    org.put_record(PAYMENT.collection, updated["PaymentID"], updated)
    kind = INVOICE_KIND if record["_DocumentCollection"] == "Invoices" else CREDIT_NOTE_KIND
    document = org.get_record(record["_DocumentCollection"], record["_DocumentID"])
    if document is not None:
        save_document(ctx, kind, dict(document))
    return render_payment(org, updated)


def _create_or_delete(ctx: ApiContext, element: dict[str, Any]) -> dict[str, Any]:
    return _delete(ctx, element) if element.get("PaymentID") else _create(ctx, element)


@router.get("/Payments")
async def list_payments(request: Request, ctx: ApiContext = Depends(PAYMENTS_DEP)) -> Response:
    query = fw.ListQuery.parse(request)
    with ctx.state.lock:
        view = (_where_view(ctx.org, r) for r in ctx.org.iter_records(PAYMENT.collection))
        records = fw.select(PAYMENT, view, query)
        return fw.list_response(ctx, PAYMENT, records, query,
                                lambda r: render_payment(ctx.org, r))


def _where_view(org: Organisation, record: Record) -> Record:
    """The record with ``Invoice``/``Account`` present so ``where`` can reach into them."""
    document = org.get_record(record["_DocumentCollection"], record["_DocumentID"]) or {}
    key = "Invoice" if record["_DocumentCollection"] == "Invoices" else "CreditNote"
    id_field = "InvoiceID" if key == "Invoice" else "CreditNoteID"
    account = org.get_record(refdata.ACCOUNTS, record["_AccountID"]) or {}
    return {**record, key: {id_field: record["_DocumentID"], "Type": document.get("Type"),
                            "Contact": {"ContactID": document.get("_ContactID")}},
            "Account": {"AccountID": record["_AccountID"], "Code": account.get("Code")}}


@router.get("/Payments/{payment_id}")
async def get_payment(payment_id: str, ctx: ApiContext = Depends(PAYMENTS_DEP)) -> Response:
    record = fw.find_one(ctx.org, PAYMENT, payment_id)
    return fw.single_response(ctx, "Payments", [render_payment(ctx.org, record)])


@router.put("/Payments")
async def create_payments(request: Request, ctx: ApiContext = Depends(PAYMENTS_DEP)) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, PAYMENT, lambda e: _create(ctx, e))


@router.post("/Payments")
async def post_payments(request: Request, ctx: ApiContext = Depends(PAYMENTS_DEP)) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, PAYMENT, lambda e: _create_or_delete(ctx, e))


@router.post("/Payments/{payment_id}")
async def delete_payment(
    payment_id: str, request: Request, ctx: ApiContext = Depends(PAYMENTS_DEP)
) -> Response:
    raw = await request.body()
    fw.find_one(ctx.org, PAYMENT, payment_id)
    return fw.write_endpoint(ctx, request, raw, PAYMENT, lambda e: _delete(
        ctx, {**e, "PaymentID": payment_id}))
