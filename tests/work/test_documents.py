"""The document rules in ``ledgerbridge.work.documents``, called directly as the sync engine
and the CLI will call them (no HTTP)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from ledgerbridge.db import Database, new_id
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


_amounts = st.decimals(min_value=Decimal("-500"), max_value=Decimal("5000"), places=4)
_line_specs = st.builds(
    LineSpec,
    description=st.sampled_from(["Consulting", "Site visit", "Travel", ""]),
    quantity=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("300"), places=4),
    unit_amount=_amounts,
    discount_rate=st.none() | st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2),
    account_code=st.sampled_from([None, "200", "400"]),
    tax_type=st.sampled_from([None, "OUTPUT", "EXEMPTOUTPUT", "BASEXCLUDED", "GST"]),
    tracking=st.sampled_from([[], [{"category": "Region", "option": "North"}]]),
)


def _outcome(action: Callable[[], object]) -> object:
    """What a write did: its result, or the refusal with the fields it names."""
    try:
        return action()
    except (ValidationFailed, Conflict) as refused:
        return (type(refused).__name__, [error.field for error in refused.errors])


_COMPARED = ("position", "description", "quantity", "unit_amount", "discount_rate", "item_code",
             "account_code", "tax_type", "tracking")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(InvoiceKind),
    lines=st.lists(_line_specs, min_size=1, max_size=4),
    number=st.sampled_from([None, "INV-0042"]),
)
def test_a_new_invoice_written_as_rows_gets_exactly_what_write_invoice_gives(
    database: Database, seeded: Seeded, kind: InvoiceKind, lines: list[LineSpec], number: str | None
) -> None:
    """The bulk path (a first import's new invoices) runs the same rules: the same header,
    the same stored lines, the same refusals naming the same fields."""
    sales = kind is InvoiceKind.SALES
    party = {"client_id": seeded.client_id} if sales else {"member_id": seeded.contractor_id}
    header = {**party, "issue_date": ISSUED, "number": number if sales else None}
    session = database.sessions()
    try:
        as_rows = Invoice(id=new_id(), workspace_id=seeded.workspace_id, kind=kind)
        rows = _outcome(lambda: documents.new_invoice_lines(session, as_rows, header, lines))
        usual = Invoice(workspace_id=seeded.workspace_id, kind=kind)
        written = _outcome(lambda: documents.write_invoice(session, usual, header, lines))
        if written is not None:  # refused: the same refusal, naming the same fields
            assert rows == written
            return
        assert isinstance(rows, list)
        session.flush()
        assert as_rows not in session  # left out of the session, as promised
        headers = [(i.number, i.issue_date, i.due_date, i.currency, i.line_amount_type, i.status)
                   for i in (as_rows, usual)]
        assert headers[0] == headers[1]
        assert [[row[k] for k in _COMPARED] for row in rows] == [
            [getattr(line, k) for k in _COMPARED] for line in usual.lines
        ]
        assert {row["invoice_id"] for row in rows} == {as_rows.id}
    finally:
        session.rollback()
        session.close()


def test_only_a_new_invoice_without_time_entries_is_written_as_rows(
    database: Database, seeded: Seeded
) -> None:
    with database.session() as session:
        existing = _invoice(session, seeded)
        with pytest.raises(ValueError, match="only a new invoice"):
            documents.new_invoice_lines(session, existing, {}, [LineSpec("More work")])
        fresh = Invoice(id=new_id(), workspace_id=seeded.workspace_id, kind=InvoiceKind.SALES)
        with pytest.raises(ValueError, match="without time entries"):
            documents.new_invoice_lines(
                session, fresh, {"client_id": seeded.client_id}, [LineSpec("Hours", time_entry_ids=["x"])]
            )
