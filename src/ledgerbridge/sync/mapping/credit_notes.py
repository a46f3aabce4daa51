"""Credit notes <-> Xero ``CreditNotes`` (pure: no I/O).

A sales credit note is Xero's ``ACCRECCREDIT``, a bill credit note ``ACCPAYCREDIT``.
Statuses: DRAFT (and SUBMITTED, which has no word here) -> draft, AUTHORISED -> approved,
PAID -> paid, VOIDED -> void, DELETED -> deleted (a draft removed in Xero). The compared
form names the credit note's allocations by their Xero ids, so an allocation added or
removed on either side changes the record; amounts and dates are on each allocation's link.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledgerbridge.sync.mapping import document_lines as lines
from ledgerbridge.sync.mapping.values import listed, text, wire_number
from ledgerbridge.work.models import CreditNote, CreditNoteAllocation, CreditNoteKind, CreditNoteStatus

UNIT_PLACES = 4
DELETED = "deleted"

TYPE_OF = {CreditNoteKind.SALES: "ACCRECCREDIT", CreditNoteKind.BILL: "ACCPAYCREDIT"}
KIND_OF = {label: kind for kind, label in TYPE_OF.items()}
STATUS_FROM_XERO = {
    "DRAFT": CreditNoteStatus.DRAFT.value,
    "SUBMITTED": CreditNoteStatus.DRAFT.value,
    "AUTHORISED": CreditNoteStatus.APPROVED.value,
    "PAID": CreditNoteStatus.PAID.value,
    "VOIDED": CreditNoteStatus.VOID.value,
    "DELETED": DELETED,
}
STATUS_TO_XERO = {
    CreditNoteStatus.DRAFT: "DRAFT",
    CreditNoteStatus.APPROVED: "AUTHORISED",
    CreditNoteStatus.PAID: "AUTHORISED",  # PAID is Xero's to set, from allocations
    CreditNoteStatus.VOID: "VOIDED",
}
SETTLED = frozenset({CreditNoteStatus.APPROVED.value, CreditNoteStatus.PAID.value})
"""Statuses (in the compared form) of a credit note Xero holds as authorised."""

HEADER_FIELDS = ("number", "reference", "issue_date", "currency", "line_amount_type")
DETAIL_FIELDS = frozenset({"lines", "allocations"})
"""Compared fields only a detailed read carries (an unpaged list has no ``LineItems``,
``summaryOnly`` no ``Allocations``): left out of ``remote_fields`` when missing, never empty."""


def live_allocations(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in record.get("Allocations") or [] if a.get("AllocationID") and not a.get("IsDeleted")]


def remote_fields(record: dict[str, Any]) -> dict[str, Any]:
    """A Xero credit note in the compared form; ``lines`` and ``allocations`` only when the
    record carries them (a summary read does not, which is not a note without them)."""
    fields: dict[str, Any] = {
        "contact": lines.contact_id(record),
        "kind": KIND_OF.get(str(record.get("Type")), CreditNoteKind.SALES).value,
        "number": text(record.get("CreditNoteNumber"), 255),
        "reference": text(record.get("Reference"), 255),
        "issue_date": lines.iso_date(record.get("Date")),
        "currency": text(record.get("CurrencyCode"), 3),
        "line_amount_type": lines.line_amount_type(record.get("LineAmountTypes")),
        "status": STATUS_FROM_XERO.get(str(record.get("Status") or "DRAFT"), CreditNoteStatus.DRAFT.value),
    }
    items = listed(record, "LineItems")
    if items is not None:
        fields["lines"] = lines.lines_from_xero(items, UNIT_PLACES)
    if listed(record, "Allocations") is not None:
        fields["allocations"] = sorted(str(a["AllocationID"]) for a in live_allocations(record))
    return fields


def local_fields(note: CreditNote, contact: str | None, allocation_ids: Sequence[str]) -> dict[str, Any]:
    """The local credit note in the same form; ``allocation_ids`` are the Xero ids of its
    allocations already in Xero (one not sent yet is not part of what was exchanged)."""
    return {
        "contact": contact,
        "kind": note.kind.value,
        "number": note.number,
        "reference": note.reference or None,
        "issue_date": lines.local_date(note.issue_date),
        "currency": note.currency,
        "line_amount_type": note.line_amount_type.value,
        "status": note.status.value,
        "lines": lines.lines_local(note.lines, UNIT_PLACES),
        "allocations": sorted(allocation_ids),
    }


def to_xero(
    note: CreditNote,
    contact: str,
    xero_id: str | None,
    account_code: str | None = None,
    tax_type: str | None = None,
) -> dict[str, Any]:
    """The payload creating or updating the credit note (the whole set of lines); a line
    without an account or tax type takes the organisation's default (``line_items``)."""
    payload: dict[str, Any] = {
        "Type": TYPE_OF[note.kind],
        "Contact": {"ContactID": contact},
        "Date": note.issue_date.isoformat(),
        "CurrencyCode": note.currency,
        "LineAmountTypes": lines.LINE_AMOUNT_TYPES[note.line_amount_type],
        "LineItems": lines.line_items(note.lines, account_code, tax_type),
        "Reference": note.reference or "",
        "Status": STATUS_TO_XERO[note.status],
    }
    if xero_id:
        payload["CreditNoteID"] = xero_id
    if note.number:
        payload["CreditNoteNumber"] = note.number
    return payload


def settled_payload(note: CreditNote, xero_id: str) -> dict[str, Any]:
    """For a credit note Xero holds with money against it (or paid, or void), where Xero
    refuses any edit: only a void is sent; otherwise the record is named and left as it is."""
    payload: dict[str, Any] = {"CreditNoteID": xero_id, "Type": TYPE_OF[note.kind]}
    if note.status is CreditNoteStatus.VOID:
        payload["Status"] = "VOIDED"
    return payload


def allocation_content(credit_note_id: str, allocation: dict[str, Any]) -> dict[str, Any]:
    """What an allocation link keeps: enough to name it in Xero again (to remove it)."""
    return {
        "credit_note": credit_note_id,
        "invoice": str((allocation.get("Invoice") or {}).get("InvoiceID") or ""),
        "amount": str(allocation.get("Amount")),
        "date": lines.iso_date(allocation.get("Date")),
    }


def allocation_body(allocation: CreditNoteAllocation, invoice_id: str) -> dict[str, Any]:
    """The element of ``PUT /CreditNotes/{id}/Allocations``."""
    return {
        "Invoice": {"InvoiceID": invoice_id},
        "Amount": wire_number(allocation.amount),
        "Date": allocation.date.isoformat(),
    }
