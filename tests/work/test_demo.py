"""The demo workspace: realistic, deterministic, internally consistent, and rebuildable."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledgerbridge.db import Database
from ledgerbridge.money import PricedLine, document_totals
from ledgerbridge.work import users
from ledgerbridge.work.demo import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_WORKSPACE_NAME,
    DemoSummary,
    build_demo,
    demo_window,
    is_valid_abn,
)
from ledgerbridge.work.models import (
    ApiToken,
    Client,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Member,
    MemberKind,
    Payment,
    Project,
    Task,
    TaxRate,
    TimeEntry,
    WorkType,
)
from ledgerbridge.work.repository import scoped
from tests.factories import seed_workspace

T = TypeVar("T")

WEDNESDAY = date(2026, 3, 18)


def _build(database: Database, today: date = WEDNESDAY, **kwargs: object) -> DemoSummary:
    with database.session() as session:
        return build_demo(session, today=today, **kwargs)  # type: ignore[arg-type]


def _all(session: Session, model: type[T], workspace_id: str) -> list[T]:
    return list(session.scalars(scoped(model, workspace_id)))


def test_window_is_four_weeks_ending_this_week_without_future_days() -> None:
    assert demo_window(WEDNESDAY) == (date(2026, 2, 23), WEDNESDAY)
    sunday = date(2026, 3, 22)
    assert demo_window(sunday) == (date(2026, 2, 23), date(2026, 3, 20))


@pytest.mark.parametrize("today", [WEDNESDAY, date(2026, 3, 22), date(2026, 3, 16)])
def test_time_entries_are_weekdays_inside_the_window(database: Database, today: date) -> None:
    summary = _build(database, today)
    first, last = demo_window(today)
    with database.session() as session:
        entries = _all(session, TimeEntry, summary.workspace_id)
    assert len(entries) > 150
    assert all(first <= e.date <= last <= today and e.date.weekday() < 5 for e in entries)
    assert {e.date for e in entries} >= {first, last}
    this_monday = today - timedelta(days=today.weekday())
    assert not any(e.approved for e in entries if e.date >= this_monday)
    assert any(e.approved for e in entries) and any(not e.billable for e in entries)


def test_time_entries_have_consistent_times(database: Database) -> None:
    summary = _build(database)
    with database.session() as session:
        entries = _all(session, TimeEntry, summary.workspace_id)
        kinds = {m.id: m.kind for m in _all(session, Member, summary.workspace_id)}
    for entry in entries:
        assert entry.worked_minutes > 0 and entry.worked_minutes % 15 == 0
        if kinds[entry.member_id] is MemberKind.EMPLOYEE:
            assert entry.start_time is not None and entry.end_time is not None
            assert entry.duration_minutes is None and entry.start_time < entry.end_time
        else:
            assert entry.start_time is None and entry.end_time is None
            assert entry.duration_minutes and entry.break_minutes == 0
    assert any(e.break_minutes == 30 for e in entries)
    daily = Counter((e.member_id, e.date) for e in entries)
    minutes: Counter[tuple[str, date]] = Counter()
    for entry in entries:
        minutes[(entry.member_id, entry.date)] += entry.worked_minutes
    assert max(minutes.values()) <= 10 * 60 and max(daily.values()) <= 4


def test_reference_data_and_cast(database: Database) -> None:
    summary = _build(database)
    ws = summary.workspace_id
    with database.session() as session:
        rates = {t.tax_type: t.rate_percent for t in _all(session, TaxRate, ws)}
        work_types = {w.name for w in _all(session, WorkType, ws)}
        members = _all(session, Member, ws)
        clients = _all(session, Client, ws)
        projects = _all(session, Project, ws)
        tasks = _all(session, Task, ws)
    assert rates == {"OUTPUT": Decimal("10"), "INPUT": Decimal("10"),
                     "EXEMPTOUTPUT": Decimal("0"), "BASEXCLUDED": Decimal("0")}
    assert work_types == {"Ordinary hours", "Overtime", "Weekend"}
    assert len(members) == 8 and {m.kind for m in members} == set(MemberKind)
    assert all(m.cost_rate and m.bill_rate and m.bill_rate > m.cost_rate for m in members)
    assert len({m.email for m in members}) == 8
    assert len(clients) == 12
    assert sum(c.is_customer for c in clients) >= 8 and sum(c.is_supplier for c in clients) >= 3
    assert all(c.tax_number and is_valid_abn(c.tax_number) for c in clients)
    assert all(c.email and c.phone and c.city and c.postal_code and c.country == "AU" for c in clients)
    assert len(projects) == 6
    assert {t.project_id for t in tasks} == {p.id for p in projects}
    assert summary.counts["members"] == 8 and summary.counts["time entries"] > 0


def test_abn_check() -> None:
    assert is_valid_abn("51 824 753 556")  # the ATO's published example
    assert not is_valid_abn("51 824 753 557")
    assert not is_valid_abn("1234")


def test_each_hour_is_invoiced_at_most_once_and_lines_match_their_hours(database: Database) -> None:
    """Each hour is charged to a client on one sales line at most (``invoice_line_id``) and
    paid to a contractor on one bill line at most (``bill_line_id``)."""
    summary = _build(database)
    ws = summary.workspace_id
    with database.session() as session:
        invoices = _all(session, Invoice, ws)
        entries = _all(session, TimeEntry, ws)
        tasks = {t.id: t for t in _all(session, Task, ws)}
        projects = {p.id: p for p in _all(session, Project, ws)}
        line_ids = [line.id for invoice in invoices for line in invoice.lines]
        line_owner = {line.id: invoice for invoice in invoices for line in invoice.lines}
        lines = {line.id: line for invoice in invoices for line in invoice.lines}
    assert len(line_ids) == len(set(line_ids))
    invoiced = [e for e in entries if e.invoice_line_id is not None]
    billed = [e for e in entries if e.bill_line_id is not None]
    assert invoiced and {e.invoice_line_id for e in invoiced} <= set(line_ids)
    assert billed and {e.bill_line_id for e in billed} <= set(line_ids)
    by_line: dict[str, list[TimeEntry]] = {}
    for entry in invoiced:
        by_line.setdefault(entry.invoice_line_id or "", []).append(entry)
    for entry in billed:
        by_line.setdefault(entry.bill_line_id or "", []).append(entry)
    for line_id, group in by_line.items():
        invoice = line_owner[line_id]
        hours = Decimal(sum(e.worked_minutes for e in group)) / 60
        assert lines[line_id].quantity == hours
        assert all(e.approved for e in group)
        if any(e.invoice_line_id == line_id for e in group):
            assert invoice.kind is InvoiceKind.SALES
            assert all(e.billable for e in group)
            assert {projects[tasks[e.task_id].project_id].client_id for e in group} == {invoice.client_id}
            assert len({e.task_id for e in group}) == 1  # grouped per task
        else:
            assert invoice.kind is InvoiceKind.BILL
            assert {e.member_id for e in group} == {invoice.member_id}


def test_invoices_have_valid_tax_types_statuses_and_a_payment(database: Database) -> None:
    summary = _build(database)
    ws = summary.workspace_id
    with database.session() as session:
        rates = {t.tax_type: t.rate_percent for t in _all(session, TaxRate, ws)}
        invoices = _all(session, Invoice, ws)
        payments = _all(session, Payment, ws)
        contractors = {m.id for m in _all(session, Member, ws) if m.kind is MemberKind.CONTRACTOR}
    assert all(invoice.lines for invoice in invoices)
    for invoice in invoices:
        expected = "OUTPUT" if invoice.kind is InvoiceKind.SALES else "INPUT"
        for line in invoice.lines:
            assert line.tax_type in rates and line.tax_type == expected
            assert line.account_code and line.quantity > 0 and line.unit_amount > 0
        assert invoice.due_date and invoice.due_date > invoice.issue_date
        assert (invoice.client_id is None) != (invoice.member_id is None)
        if invoice.member_id is not None:
            assert invoice.kind is InvoiceKind.BILL and invoice.member_id in contractors
    statuses = {i.status for i in invoices}
    assert {InvoiceStatus.DRAFT, InvoiceStatus.APPROVED, InvoiceStatus.PAID} <= statuses
    assert {i.kind for i in invoices} == {InvoiceKind.SALES, InvoiceKind.BILL}
    sales_numbers = [i.number for i in invoices if i.kind is InvoiceKind.SALES]
    assert len(sales_numbers) == len(set(sales_numbers))
    (payment,) = payments
    paid = next(i for i in invoices if i.id == payment.invoice_id)
    total = document_totals(
        [PricedLine(line.quantity, line.unit_amount, rates[line.tax_type or ""]) for line in paid.lines],
        paid.line_amount_type,
    ).total
    assert paid.status is InvoiceStatus.PAID and payment.amount == total
    assert paid.issue_date <= payment.date <= WEDNESDAY


def _fingerprint(database: Database, workspace_id: str) -> list[tuple[object, ...]]:
    with database.session() as session:
        names = {m.id: m.name for m in _all(session, Member, workspace_id)}
        return sorted(
            (e.date, names[e.member_id], str(e.start_time), e.worked_minutes, e.billable, e.approved,
             e.notes or "")
            for e in _all(session, TimeEntry, workspace_id)
        )


def test_same_day_and_seed_give_the_same_data(database: Database) -> None:
    first = _build(database)
    before = _fingerprint(database, first.workspace_id)
    again = _build(database, reset=True)
    assert again.workspace_id != first.workspace_id
    assert _fingerprint(database, again.workspace_id) == before
    other_seed = _build(database, reset=True, seed=7)
    assert _fingerprint(database, other_seed.workspace_id) != before


def test_rerun_reuses_the_workspace_and_replaces_the_token(database: Database) -> None:
    first = _build(database)
    second = _build(database)
    assert first.created and not second.created
    assert second.workspace_id == first.workspace_id
    assert second.counts == first.counts
    assert second.api_token != first.api_token
    with database.session() as session:
        tokens = _all(session, ApiToken, first.workspace_id)
    assert sorted(t.revoked_at is None for t in tokens) == [False, True]


def test_reset_rebuilds_and_leaves_other_workspaces_alone(database: Database) -> None:
    with database.session() as session:
        other = seed_workspace(session, DEMO_WORKSPACE_NAME, slug="lookalike")  # same name, not the demo
    first = _build(database)
    assert first.workspace_id != other.workspace_id
    rebuilt = _build(database, reset=True)
    assert rebuilt.created and rebuilt.workspace_id != first.workspace_id
    with database.session() as session:
        assert session.scalar(
            select(func.count()).select_from(TimeEntry).where(TimeEntry.workspace_id == first.workspace_id)
        ) == 0
        assert session.scalar(
            select(func.count()).select_from(InvoiceLine).join(Invoice)
            .where(Invoice.workspace_id == first.workspace_id)
        ) == 0
        assert session.get(Client, other.client_id) is not None
        user = users.authenticate(session, DEMO_EMAIL, DEMO_PASSWORD)
        assert users.membership(session, user.id, rebuilt.workspace_id).role.value == "owner"


def test_employees_hold_what_xero_payroll_requires_and_an_older_demo_gets_it(database: Database) -> None:
    summary = _build(database)
    with database.session() as session:
        members = _all(session, Member, summary.workspace_id)
        employees = [m for m in members if m.kind is MemberKind.EMPLOYEE]
        assert employees and all(
            m.date_of_birth and m.date_of_birth.year < 2008 and m.address_line1 and m.city and m.region
            and m.postal_code and m.country == "AU"
            for m in employees
        )
        assert all(m.date_of_birth is None for m in members if m.kind is MemberKind.CONTRACTOR)
        for member in employees:  # as a demo built before members held personal details
            member.date_of_birth = member.address_line1 = member.city = None
    again = _build(database)
    assert not again.created
    with database.session() as session:
        refilled = [m for m in _all(session, Member, summary.workspace_id) if m.kind is MemberKind.EMPLOYEE]
        assert all(m.date_of_birth and m.address_line1 and m.city for m in refilled)
