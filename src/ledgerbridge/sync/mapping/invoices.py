"""Xero invoices and bills <-> the work side's ``Invoice`` and its lines (pure: no I/O).

Both sides are read into one comparable form (the *shared fields*): plain JSON values,
money as exact decimal text at the places each side stores (2 for money, 4 for quantities
and unit amounts), dates as ISO text, statuses in Xero's vocabulary. Equal content then
hashes equally whichever side it came from, so a record that went out and came back
unchanged is never mistaken for a change.

Statuses: the work side's approved, sent and partly paid are all Xero's AUTHORISED (sent is
Xero's separate ``SentToContact`` flag, partly paid follows payments); Xero's SUBMITTED is
still a draft here, and DELETED is a void here (only drafts are deleted in Xero).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ledgerbridge.money import LineAmountType, round_money, round_unit
from ledgerbridge.sync.mapping.values import listed, text, to_decimal
from ledgerbridge.work.models import Invoice, InvoiceKind, InvoiceStatus
from ledgerbridge.xero.dates import parse_date

TYPES = {InvoiceKind.SALES: "ACCREC", InvoiceKind.BILL: "ACCPAY"}
KINDS = {xero_type: kind for kind, xero_type in TYPES.items()}

LINE_AMOUNT_TYPES = {
    LineAmountType.EXCLUSIVE: "Exclusive",
    LineAmountType.INCLUSIVE: "Inclusive",
    LineAmountType.NO_TAX: "NoTax",
}
LOCAL_LINE_AMOUNT_TYPES = {label.lower(): kind for kind, label in LINE_AMOUNT_TYPES.items()}

XERO_STATUS_OF = {
    InvoiceStatus.DRAFT: "DRAFT",
    InvoiceStatus.APPROVED: "AUTHORISED",
    InvoiceStatus.SENT: "AUTHORISED",
    InvoiceStatus.PARTLY_PAID: "AUTHORISED",
    InvoiceStatus.PAID: "PAID",
    InvoiceStatus.VOID: "VOIDED",
}
"""The work side's status as Xero would call it."""

_SHARED_STATUS = {"SUBMITTED": "DRAFT", "DELETED": "VOIDED"}
"""Xero statuses the work side has no word for, and what they are here."""

DRAFT_IN_XERO = frozenset({"DRAFT", "SUBMITTED"})
"""While Xero holds the invoice in one of these, the work side owns its lines and dates."""

DETAIL_FIELDS = frozenset({"lines"})
"""Compared fields only a detailed read carries: an unpaged list of invoices has no
``LineItems``, and ``remote_fields`` then leaves ``lines`` out (unknown, never empty)."""


@dataclass(frozen=True)
class Defaults:
    """What the organisation's sync settings fill in where a local invoice leaves a gap."""

    revenue_account_code: str | None = None
    expense_account_code: str | None = None
    tax_type: str | None = None
    due_date_offset_days: int = 14
    branding_theme_id: str | None = None
    create_as_authorised: bool = False
    """The settings' invoice_status: an approved invoice new to Xero arrives authorised
    (True) or as a draft for the accountant to approve there (False)."""

    def account(self, sales: bool) -> str | None:
        """The account for a line that has none: revenue on a sale (or a credit given back
        on one), expense on a bill (or a supplier's credit)."""
        return self.revenue_account_code if sales else self.expense_account_code


def is_sales(kind: InvoiceKind) -> bool:
    return kind is InvoiceKind.SALES


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(round_money(value))


def _unit(value: Decimal | None) -> str | None:
    return None if value is None else str(round_unit(value))


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def shared_status(xero_status: str | None) -> str:
    status = str(xero_status or "DRAFT")
    return _SHARED_STATUS.get(status, status)


# -- Xero -> shared -----------------------------------------------------------------------


def _remote_tracking(line: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"category": str(tag.get("Name") or ""), "option": str(tag.get("Option") or "")}
        for tag in line.get("Tracking") or []
    ]


def _remote_line(line: dict[str, Any]) -> dict[str, Any]:
    quantity = to_decimal(line.get("Quantity"))
    unit = to_decimal(line.get("UnitAmount"))
    if unit is None and line.get("LineAmount") is not None:  # Xero lets a line give only its amount
        unit = to_decimal(line.get("LineAmount"))
    return {
        "description": text(line.get("Description")) or "",
        "quantity": _unit(quantity if quantity is not None else Decimal(1)),
        "unit_amount": _unit(unit if unit is not None else Decimal(0)),
        "discount_rate": _money(to_decimal(line.get("DiscountRate"))),
        "item_code": text(line.get("ItemCode"), 30),
        "account_code": text(line.get("AccountCode"), 10),
        "tax_type": text(line.get("TaxType"), 50),
        "tracking": _remote_tracking(line),
    }


def remote_fields(remote: dict[str, Any]) -> dict[str, Any]:
    """The shared fields as a Xero invoice states them; ``lines`` only when the record
    carries its ``LineItems`` (a summary has none, which is not an invoice without lines)."""
    kind = KINDS.get(str(remote.get("Type")), InvoiceKind.SALES)
    contact = remote.get("Contact") or {}
    fields: dict[str, Any] = {
        "kind": kind.value,
        "contact": str(contact["ContactID"]).lower() if contact.get("ContactID") else None,
        "number": text(remote.get("InvoiceNumber"), 255),
        "issue_date": _iso(parse_date(remote.get("Date"))),
        "due_date": _iso(parse_date(remote.get("DueDate"))),
        "currency": text(remote.get("CurrencyCode"), 3),
        "line_amount_type": LOCAL_LINE_AMOUNT_TYPES.get(
            str(remote.get("LineAmountTypes") or "Exclusive").lower(), LineAmountType.EXCLUSIVE
        ).value,
        "status": shared_status(remote.get("Status")),
    }
    items = listed(remote, "LineItems")
    if items is not None:
        fields["lines"] = [_remote_line(line) for line in items]
    if is_sales(kind):
        fields["reference"] = text(remote.get("Reference"), 255)
    return fields


# -- work side -> shared ------------------------------------------------------------------


def local_line(line: Any) -> dict[str, Any]:
    return {
        "description": line.description,
        "quantity": _unit(line.quantity),
        "unit_amount": _unit(line.unit_amount),
        "discount_rate": _money(line.discount_rate),
        "item_code": line.item_code,
        "account_code": line.account_code,
        "tax_type": line.tax_type,
        "tracking": [
            {"category": str(tag.get("category") or ""), "option": str(tag.get("option") or "")}
            for tag in line.tracking or []
        ],
    }


def local_fields(invoice: Invoice, contact_id: str | None) -> dict[str, Any]:
    """The shared fields as the local invoice states them (``contact_id``: its client's
    Xero contact, resolved by the caller through the contact link)."""
    fields: dict[str, Any] = {
        "kind": invoice.kind.value,
        "contact": contact_id,
        "number": invoice.number,
        "issue_date": _iso(invoice.issue_date),
        "due_date": _iso(invoice.due_date),
        "currency": invoice.currency,
        "line_amount_type": LineAmountType(invoice.line_amount_type).value,
        "status": XERO_STATUS_OF[invoice.status],
        "lines": [local_line(line) for line in invoice.lines],
    }
    if is_sales(invoice.kind):
        fields["reference"] = invoice.reference
    return fields


# -- shared -> Xero -----------------------------------------------------------------------


def _payload_line(line: dict[str, Any], kind: InvoiceKind, defaults: Defaults) -> dict[str, Any]:
    """A line as Xero takes it; money goes as decimal text (Xero accepts numeric strings),
    so no amount ever passes through a float."""
    fallback_account = defaults.account(is_sales(kind))
    out: dict[str, Any] = {
        "Description": line["description"],
        "Quantity": line["quantity"],
        "UnitAmount": line["unit_amount"],
    }
    account = line["account_code"] or fallback_account
    tax_type = line["tax_type"] or defaults.tax_type
    if account:
        out["AccountCode"] = account
    if tax_type:
        out["TaxType"] = tax_type
    if line["item_code"]:
        out["ItemCode"] = line["item_code"]
    if line["discount_rate"] and is_sales(kind):
        out["DiscountRate"] = line["discount_rate"]
    if line["tracking"]:
        out["Tracking"] = [{"Name": t["category"], "Option": t["option"]} for t in line["tracking"]]
    return out


def payload_status(local_status: str, xero_id: str | None, defaults: Defaults) -> str | None:
    """The Status to send, or None to leave Xero's as it is.

    A draft already in Xero keeps whatever Xero has (DRAFT or SUBMITTED: the work side has
    no "submitted"); PAID is never sent (Xero reaches it through payments, so the invoice
    goes as AUTHORISED and its payments follow); an approved invoice new to Xero arrives as
    the settings ask.
    """
    if local_status == "DRAFT":
        return None if xero_id else "DRAFT"
    if local_status == "PAID":
        return "AUTHORISED"
    if local_status == "AUTHORISED" and xero_id is None and not defaults.create_as_authorised:
        return "DRAFT"
    return local_status


def to_xero(
    fields: dict[str, Any], xero_id: str | None, defaults: Defaults, issue_date: date
) -> dict[str, Any]:
    """The payload that creates or updates the invoice in Xero."""
    kind = InvoiceKind(fields["kind"])
    due = fields["due_date"] or _iso(issue_date + timedelta(days=defaults.due_date_offset_days))
    payload: dict[str, Any] = {
        "Type": TYPES[kind],
        "Contact": {"ContactID": fields["contact"]},
        "Date": fields["issue_date"],
        "DueDate": due,
        "CurrencyCode": fields["currency"],
        "LineAmountTypes": LINE_AMOUNT_TYPES[LineAmountType(fields["line_amount_type"])],
        "LineItems": [_payload_line(line, kind, defaults) for line in fields["lines"]],
    }
    if xero_id:
        payload["InvoiceID"] = xero_id
    if fields["number"]:
        payload["InvoiceNumber"] = fields["number"]
    if is_sales(kind):
        payload["Reference"] = fields.get("reference") or ""
        if defaults.branding_theme_id:
            payload["BrandingThemeID"] = defaults.branding_theme_id
    status = payload_status(fields["status"], xero_id, defaults)
    if status is not None:
        payload["Status"] = status
    return payload
