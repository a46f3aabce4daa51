"""The document rules in ``ledgerbridge.work.documents``, called directly as the sync engine
and the CLI will call them (no HTTP)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from ledgerbridge.db import Database
from ledgerbridge.errors import Conflict, ValidationFailed
from ledgerbridge.work import documents
from ledgerbridge.work.documents import LineSpec
from ledgerbridge.work.models import Invoice, InvoiceKind, InvoiceStatus, Payment
from tests.factories import Seeded, seed_workspace

ISSUED = dt.date(2026, 11, 2)


def _invoice(session: Session, seeded: Seeded, *lines: LineSpec, **values: object) -> Invoice:
    invoice = Invoice(workspace_id=seeded.workspace_id, kind=values.pop("kind", InvoiceKind.SALES))
    header = {"client_id": seeded.client_id, "issue_date": ISSUED, **values}
    default = LineSpec("Work", Decimal(1), Decimal(100), tax_type="OUTPUT")
    documents.write_invoice(session, invoice, header, list(lines) or [default])
    session.flush()
    return invoice


def test_defaults_follow_the_named_constant(database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        invoice = _invoice(session, seeded)
        assert invoice.due_date == ISSUED + dt.timedelta(days=documents.PAYMENT_TERMS_DAYS)
        assert invoice.currency == "AUD"
        assert invoice.number == "INV-0001"
        assert invoice.status is InvoiceStatus.DRAFT


def test_numbers_skip_foreign_formats_and_are_per_workspace(database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        for number in ("INV-0007", "INV-12A", "ACME-0099", None):
            _invoice(session, seeded, number=number)
        assert documents.next_number(session, Invoice, seeded.workspace_id, "INV-") == "INV-0009"
        other = seed_workspace(session, "Other Pty Ltd", slug="other")
        assert documents.next_number(session, Invoice, other.workspace_id, "INV-") == "INV-0001"


def test_line_errors_are_reported_together(database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        invoice = Invoice(workspace_id=seeded.workspace_id, kind=InvoiceKind.BILL)
        lines = [
            LineSpec("a", tax_type="GST"),
            LineSpec("b", discount_rate=Decimal(5)),
            LineSpec("c", discount_rate=Decimal(10)),
        ]
        with pytest.raises(ValidationFailed) as failure:
            documents.write_invoice(session, invoice, {"member_id": seeded.contractor_id}, lines)
        assert [e.field for e in failure.value.errors] == [
            "lines[0].tax_type", "lines[1].discount_rate", "lines[2].discount_rate"
        ]
        assert "BASEXCLUDED, EXEMPTOUTPUT, INPUT, OUTPUT" in failure.value.errors[0].message


def test_archived_tax_types_are_refused_on_new_lines_but_still_price_old_ones(
    database: Database, seeded: Seeded
) -> None:
    with database.session() as session:
        invoice = _invoice(session, seeded)
        rate = documents.tax_rates(session, seeded.workspace_id)["OUTPUT"]
        rate.archived = True
        session.flush()
        assert documents.invoice_balance(session, invoice).totals.total == Decimal("110.00")
        with pytest.raises(ValidationFailed):
            documents.write_invoice(session, invoice, {}, [LineSpec("x", tax_type="OUTPUT")])


def test_balance_and_settling(database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        invoice = _invoice(session, seeded)
        documents.change_invoice_status(session, invoice, InvoiceStatus.APPROVED)
        payment = Payment(workspace_id=seeded.workspace_id, invoice_id=invoice.id, amount=Decimal("110"),
                          date=ISSUED)
        documents.record_payment(session, payment, invoice)
        session.flush()
        assert invoice.status is InvoiceStatus.PAID
        balance = documents.invoice_balance(session, invoice)
        assert (balance.paid, balance.due) == (Decimal("110.00"), Decimal("0.00"))
        preview = documents.invoice_balance(session, invoice, without_payment=payment.id)
        assert preview.due == Decimal("110.00")
        documents.remove_payment(session, payment)
        assert invoice.status.value == "approved"  # back once the payment is gone


def test_transition_table_is_complete_and_terminal_states_are_final() -> None:
    assert set(documents.INVOICE_TRANSITIONS) == set(InvoiceStatus)
    assert documents.INVOICE_TRANSITIONS[InvoiceStatus.VOID] == frozenset()
    for targets in documents.INVOICE_TRANSITIONS.values():
        assert InvoiceStatus.PAID not in targets and InvoiceStatus.PARTLY_PAID not in targets


def test_missing_tax_rate_is_a_clear_error_not_a_zero(database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        invoice = _invoice(session, seeded)
        with pytest.raises(Conflict) as failure:
            documents.totals_of(invoice, {})
        assert failure.value.errors[0].field == "lines[0].tax_type"
