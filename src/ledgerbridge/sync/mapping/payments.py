"""Xero payments <-> the work side's ``Payment`` (pure: no I/O).

A payment in Xero cannot be edited, only deleted, so the shared fields are what identifies
it (invoice, date, amount, reference) and whether it is deleted. The bank account is not
compared: the work side may leave it to the organisation's default, which Xero then states.
"""

from __future__ import annotations

from typing import Any

from ledgerbridge.money import round_money
from ledgerbridge.sync.mapping.values import text, to_decimal
from ledgerbridge.work.models import Payment
from ledgerbridge.xero.dates import parse_date

INVOICE_PAYMENT_TYPES = frozenset({"ACCRECPAYMENT", "ACCPAYPAYMENT"})
"""Payments on invoices and bills; credit note refunds and the rest are not payments here."""


def is_invoice_payment(remote: dict[str, Any]) -> bool:
    invoice = remote.get("Invoice") or {}
    return (
        bool(invoice.get("InvoiceID")) and remote.get("PaymentType", "ACCRECPAYMENT") in INVOICE_PAYMENT_TYPES
    )


def remote_fields(remote: dict[str, Any]) -> dict[str, Any]:
    invoice_id = (remote.get("Invoice") or {}).get("InvoiceID")
    amount = to_decimal(remote.get("Amount"))
    day = parse_date(remote.get("Date"))
    return {
        "invoice": str(invoice_id).lower() if invoice_id else None,
        "date": day.isoformat() if day else None,
        "amount": str(round_money(amount)) if amount is not None else None,
        "reference": text(remote.get("Reference"), 255),
        "deleted": remote.get("Status") == "DELETED",
    }


def local_fields(payment: Payment, invoice_xero_id: str | None) -> dict[str, Any]:
    return {
        "invoice": invoice_xero_id,
        "date": payment.date.isoformat(),
        "amount": str(round_money(payment.amount)),
        "reference": payment.reference or None,
        "deleted": False,
    }


def to_xero(fields: dict[str, Any], account_code: str) -> dict[str, Any]:
    """The payload creating the payment; the amount goes as decimal text, never a float."""
    payload: dict[str, Any] = {
        "Invoice": {"InvoiceID": fields["invoice"]},
        "Account": {"Code": account_code},
        "Date": fields["date"],
        "Amount": fields["amount"],
    }
    if fields["reference"]:
        payload["Reference"] = fields["reference"]
    return payload
