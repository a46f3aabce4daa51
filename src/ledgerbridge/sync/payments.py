"""Payments both ways: Xero payments on invoices and bills <-> local payments.

Conflict policy (docs/sync.md): Xero owns payments. A payment cannot be edited on either
side, only recorded or deleted, so the one thing to settle is a deletion in Xero, which
removes the local payment and moves its invoice back (partly paid or approved).

Pulled payments are applied through ``work.documents.record_payment``, the rule the API
uses, so a paid invoice here is always backed by payments that add up to its total.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.sync import links
from ledgerbridge.sync.adapter import NotReady, Owner
from ledgerbridge.sync.mapping import payments as mapping
from ledgerbridge.sync.models import RecordType, SyncRun, XeroLink, XeroReference
from ledgerbridge.sync.runs import count, record_issue
from ledgerbridge.work import documents
from ledgerbridge.work.models import Invoice, InvoiceStatus, Payment
from ledgerbridge.xero.client import ACCOUNTING
from ledgerbridge.xero.models import XeroConnection


class PaymentsAdapter:
    record_type = RecordType.PAYMENT
    path = f"{ACCOUNTING}/Payments"
    key = "Payments"
    id_field = "PaymentID"
    pull_params: Mapping[str, str] = {}
    ids_param: str | None = None  # no IDs parameter on this endpoint: a where filter on the id
    detail_fields: frozenset[str] = frozenset()

    def remote_fields(self, remote: dict[str, Any]) -> dict[str, Any]:
        return mapping.remote_fields(remote)

    def local_fields(self, session: Session, obj: Any) -> dict[str, Any]:
        own = obj.xero_connection_id or _linked_connection(session, obj)  # its organisation's invoice
        return mapping.local_fields(obj, _invoice_xero_id(session, obj, own))

    def load(self, session: Session, workspace_id: str, local_id: str) -> Payment | None:
        payment = session.get(Payment, local_id)
        return payment if payment is not None and payment.workspace_id == workspace_id else None

    def match(self, session: Session, connection: XeroConnection, remote: dict[str, Any]) -> Payment | None:
        """An unlinked local payment on the same invoice, of the same amount on the same day."""
        fields = mapping.remote_fields(remote)
        invoice = _local_invoice(session, connection, fields["invoice"])
        if invoice is None or fields["amount"] is None or fields["date"] is None:
            return None
        linked = select(XeroLink.local_id).where(
            XeroLink.connection_id == connection.id, XeroLink.record_type == self.record_type
        )
        found = list(
            session.scalars(
                select(Payment).where(
                    Payment.invoice_id == invoice.id,
                    Payment.date == date.fromisoformat(fields["date"]),
                    Payment.id.not_in(linked),
                )
            )
        )
        same = [p for p in found if p.amount == Decimal(fields["amount"])]
        return same[0] if len(same) == 1 else None

    def write(
        self,
        session: Session,
        run: SyncRun,
        connection: XeroConnection,
        obj: Any | None,
        fields: dict[str, Any],
        remote: dict[str, Any],
    ) -> Payment | None:
        if not mapping.is_invoice_payment(remote) or (obj is None and fields.get("deleted")):
            count(run, "skipped")  # not a payment on an invoice, or deleted before we saw it
            return None
        if obj is not None:
            payment: Payment = obj
            if fields.get("deleted"):
                _remove(session, payment)
            return payment  # nothing else of a payment can change in Xero
        try:
            return _record(session, connection, fields)
        except LedgerbridgeError as problem:
            record_issue(
                session,
                run,
                self.record_type,
                "pull",
                f"Xero payment of {fields['amount']} on {fields['date']} could not be applied: {problem}",
                xero_id=str(remote[self.id_field]),
            )
            return None

    def payload(
        self, session: Session, connection: XeroConnection, obj: Any, xero_id: str | None
    ) -> dict[str, Any]:
        payment: Payment = obj
        if xero_id is not None:
            raise NotReady("A payment cannot be changed in Xero; delete it and record a new one.")
        invoice_id = _invoice_xero_id(session, payment, connection.id)
        if invoice_id is None:
            invoice = session.get(Invoice, payment.invoice_id)
            number = invoice.number if invoice is not None and invoice.number else payment.invoice_id
            raise NotReady(f"Invoice {number} is not in Xero yet; sync invoices first.")
        account = payment.account_code or bank_account_code(session, connection)
        if account is None:
            raise NotReady(
                "No bank account to record the payment in: import the chart of accounts from Xero, "
                "or give the payment an account code."
            )
        return mapping.to_xero(mapping.local_fields(payment, invoice_id), account)

    def describe(self, obj_or_fields: Any) -> str:
        if isinstance(obj_or_fields, dict):
            return f"Payment of {obj_or_fields.get('amount')} on {obj_or_fields.get('date')}"
        return f"Payment of {obj_or_fields.amount} on {obj_or_fields.date.isoformat()}"

    def backfill_query(self, workspace_id: str) -> Select[tuple[str]]:
        return select(Payment.id).where(Payment.workspace_id == workspace_id)

    def owner(self, field: str) -> Owner:
        return "xero"


def bank_account_code(session: Session, connection: XeroConnection) -> str | None:
    """The organisation's bank account from its imported chart of accounts (the lowest
    active BANK code, e.g. "090"): Xero takes payments into bank accounts only."""
    accounts = session.scalars(
        select(XeroReference).where(
            XeroReference.connection_id == connection.id, XeroReference.record_type == RecordType.ACCOUNT
        )
    )
    codes = sorted(
        str(a.code)
        for a in accounts
        if a.code and a.data.get("Type") == "BANK" and (a.status or "ACTIVE") == "ACTIVE"
    )
    return codes[0] if codes else None


def _linked_connection(session: Session, payment: Payment) -> str | None:
    return session.scalar(
        select(XeroLink.connection_id).where(
            XeroLink.record_type == RecordType.PAYMENT, XeroLink.local_id == payment.id
        )
    )


def _invoice_xero_id(session: Session, payment: Payment, connection_id: str | None) -> str | None:
    query = select(XeroLink.xero_id).where(
        XeroLink.record_type == RecordType.INVOICE, XeroLink.local_id == payment.invoice_id
    )
    if connection_id is not None:
        query = query.where(XeroLink.connection_id == connection_id)
    found = session.scalars(query.order_by(XeroLink.created_at)).first()
    return found.lower() if found else None


def _local_invoice(
    session: Session, connection: XeroConnection, invoice_xero_id: str | None
) -> Invoice | None:
    if not invoice_xero_id:
        return None
    link = links.by_xero_id(session, connection.id, RecordType.INVOICE, invoice_xero_id)
    return session.get(Invoice, link.local_id) if link is not None else None


class _InvoiceNotHere(LedgerbridgeError):
    def __init__(self, invoice_id: str | None) -> None:
        super().__init__(f"its invoice {invoice_id} is not here yet; sync invoices first", 409, "not_synced")


def _record(session: Session, connection: XeroConnection, fields: dict[str, Any]) -> Payment:
    """Apply a payment made in Xero through the same rule the API uses. The flush makes
    the page's earlier payments count in the balance (the engine applies a page unflushed)."""
    session.flush()
    invoice = _local_invoice(session, connection, fields["invoice"])
    if invoice is None:
        raise _InvoiceNotHere(fields["invoice"])
    payment = Payment(
        workspace_id=connection.workspace_id,
        invoice_id=invoice.id,
        date=date.fromisoformat(fields["date"]),
        amount=Decimal(fields["amount"]),
        reference=fields["reference"],
    )
    status = invoice.status
    _reopen(session, invoice)
    try:
        documents.record_payment(session, payment, invoice)
    except LedgerbridgeError:
        invoice.status = status
        raise
    return payment


def _reopen(session: Session, invoice: Invoice) -> None:
    """The invoices pull marks an invoice paid as soon as Xero says so, before its payments
    arrive; until they do, its status is what the money recorded here makes it."""
    if invoice.status is InvoiceStatus.PAID:
        documents.settle_invoice(session, invoice)


def _remove(session: Session, payment: Payment) -> None:
    """A payment deleted in Xero: its invoice moves back, then the payment goes."""
    session.flush()
    documents.remove_payment(session, payment)
    session.delete(payment)


ADAPTER = PaymentsAdapter()
