"""Hours to invoices (``work.invoicing``): grouping with exact totals, rate precedence,
hours never invoiced twice, contractors' bills at cost, and the settings' defaults."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.db import Database
from ledgerbridge.errors import ValidationFailed
from ledgerbridge.work import documents, invoicing
from ledgerbridge.work.invoicing import GroupBy, InvoiceDefaults, TimeInvoiceRequest
from ledgerbridge.work.models import InvoiceKind, Member, Project, Task, TimeEntry
from tests.factories import Seeded

NOV = dt.date(2026, 11, 1)
PERIOD = {"date_from": dt.date(2026, 11, 2), "date_to": dt.date(2026, 11, 6)}


def _entry(
    session: Session,
    seeded: Seeded,
    member_id: str,
    task_id: str,
    day: int,
    minutes: int,
    approved: bool = True,
    billable: bool = True,
) -> TimeEntry:
    entry = TimeEntry(
        workspace_id=seeded.workspace_id,
        member_id=member_id,
        task_id=task_id,
        date=dt.date(2026, 11, day),
        duration_minutes=minutes,
        approved=approved,
        billable=billable,
    )
    session.add(entry)
    session.flush()
    return entry


def _hours(session: Session, seeded: Seeded) -> dict[str, TimeEntry]:
    """Website rebuild (project rate 160): Design (no rate) and Build (task rate 200).
    Mia Chen (employee, 150) and Liam O'Brien (contractor, bill 180, cost 90)."""
    build = Task(
        workspace_id=seeded.workspace_id, project_id=seeded.project_id, name="Build", bill_rate=Decimal("200")
    )
    session.add(build)
    session.flush()
    mia, liam, design = seeded.employee_id, seeded.contractor_id, seeded.task_id
    return {
        "mia_mon": _entry(session, seeded, mia, design, 2, 90),
        "mia_tue": _entry(session, seeded, mia, design, 3, 50),
        "liam_mon": _entry(session, seeded, liam, build.id, 2, 120),
        "liam_tue": _entry(session, seeded, liam, design, 3, 45),
        "unapproved": _entry(session, seeded, mia, design, 4, 60, approved=False),
        "unbillable": _entry(session, seeded, mia, design, 4, 30, billable=False),
        "later": _entry(session, seeded, mia, design, 10, 60),
    }


def _sales(seeded: Seeded, group_by: GroupBy = GroupBy.TASK) -> TimeInvoiceRequest:
    return TimeInvoiceRequest(
        client_id=seeded.client_id, group_by=group_by, issue_date=dt.date(2026, 11, 9), **PERIOD
    )


def _figures(draft: invoicing.TimeInvoiceDraft) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    return [(line.description, line.quantity, line.unit_amount, line.line_amount) for line in draft.lines]


def test_by_task_one_line_per_task_at_its_rate_with_exact_totals(database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        entries = _hours(session, seeded)
        draft = invoicing.draft_invoice(session, seeded.workspace_id, _sales(seeded), InvoiceDefaults())
        assert _figures(draft) == [
            (
                "Website rebuild: Build: Liam O'Brien, 2 Nov 2026",
                Decimal("2.0000"),
                Decimal("200.0000"),
                Decimal("400.00"),
            ),
            # 90 + 50 + 45 = 185 minutes = 3.08333... h, kept to 4 places; 3.0833 x 160 = 493.328
            (
                "Website rebuild: Design: Liam O'Brien, Mia Chen, 2 Nov to 3 Nov 2026",
                Decimal("3.0833"),
                Decimal("160.0000"),
                Decimal("493.33"),
            ),
        ]
        assert [{e.id for e in line.entries} for line in draft.lines] == [
            {entries["liam_mon"].id},
            {entries["mia_mon"].id, entries["mia_tue"].id, entries["liam_tue"].id},
        ]
        assert draft.totals is not None
        assert (draft.totals.sub_total, draft.totals.total_tax, draft.totals.total) == (
            Decimal("893.33"),
            Decimal("89.33"),
            Decimal("982.66"),  # GST per line: 40.00 + 49.33
        )
        assert (draft.kind, draft.client_id, draft.member_id) == (InvoiceKind.SALES, seeded.client_id, None)
        assert {(line.account_code, line.tax_type) for line in draft.lines} == {("200", "OUTPUT")}
        assert (draft.issue_date, draft.due_date) == (dt.date(2026, 11, 9), dt.date(2026, 11, 23))
        assert draft.reference == "Website rebuild"


def test_by_member_splits_a_member_s_hours_by_rate(database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        _hours(session, seeded)
        draft = invoicing.draft_invoice(
            session, seeded.workspace_id, _sales(seeded, GroupBy.MEMBER), InvoiceDefaults()
        )
        assert _figures(draft) == [
            (
                "Liam O'Brien: Website rebuild: Design, 3 Nov 2026",
                Decimal("0.7500"),
                Decimal("160.0000"),
                Decimal("120.00"),
            ),
            (
                "Liam O'Brien: Website rebuild: Build, 2 Nov 2026",
                Decimal("2.0000"),
                Decimal("200.0000"),
                Decimal("400.00"),
            ),
            # 140 minutes = 2.3333 h; 2.3333 x 160 = 373.328
            (
                "Mia Chen: Website rebuild: Design, 2 Nov to 3 Nov 2026",
                Decimal("2.3333"),
                Decimal("160.0000"),
                Decimal("373.33"),
            ),
        ]
        assert draft.totals is not None
        assert (draft.totals.sub_total, draft.totals.total_tax, draft.totals.total) == (
            Decimal("893.33"),
            Decimal("89.33"),
            Decimal("982.66"),  # 12.00 + 40.00 + 37.33
        )


def test_by_day_one_line_per_day_and_rate(database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        _hours(session, seeded)
        draft = invoicing.draft_invoice(
            session, seeded.workspace_id, _sales(seeded, GroupBy.DAY), InvoiceDefaults()
        )
        assert _figures(draft) == [
            (
                "Mon 2 Nov 2026: Website rebuild: Design (Mia Chen)",
                Decimal("1.5000"),
                Decimal("160.0000"),
                Decimal("240.00"),
            ),
            (
                "Mon 2 Nov 2026: Website rebuild: Build (Liam O'Brien)",
                Decimal("2.0000"),
                Decimal("200.0000"),
                Decimal("400.00"),
            ),
            # 50 + 45 = 95 minutes = 1.5833 h; x 160 = 253.328
            (
                "Tue 3 Nov 2026: Website rebuild: Design (Liam O'Brien, Mia Chen)",
                Decimal("1.5833"),
                Decimal("160.0000"),
                Decimal("253.33"),
            ),
        ]
        assert draft.totals is not None
        assert (draft.totals.sub_total, draft.totals.total_tax, draft.totals.total) == (
            Decimal("893.33"),
            Decimal("89.33"),
            Decimal("982.66"),  # 24.00 + 40.00 + 25.33
        )


def test_rate_precedence_is_task_then_project_then_member(database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        task, project = session.get(Task, seeded.task_id), session.get(Project, seeded.project_id)
        member = session.get(Member, seeded.employee_id)
        assert task is not None and project is not None and member is not None
        _entry(session, seeded, seeded.employee_id, seeded.task_id, 2, 60)

        def rate() -> Decimal:
            draft = invoicing.draft_invoice(session, seeded.workspace_id, _sales(seeded), InvoiceDefaults())
            return draft.lines[0].unit_amount

        task.bill_rate, project.bill_rate, member.bill_rate = Decimal("210"), Decimal("160"), Decimal("150")
        assert rate() == Decimal("210")
        task.bill_rate = None
        assert rate() == Decimal("160")
        project.bill_rate = None
        assert rate() == Decimal("150")
        task.bill_rate = Decimal("0")  # an explicit zero is a free rate, not a missing one
        assert rate() == Decimal("0")
        task.bill_rate, member.bill_rate = None, None
        with pytest.raises(ValidationFailed) as refused:
            rate()
        assert refused.value.errors[0].field == "client_id"
        assert "no bill rate for Website rebuild: Design by Mia Chen" in refused.value.errors[0].message


def test_saved_hours_are_marked_and_never_invoiced_twice(database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        entries = _hours(session, seeded)
        invoice = invoicing.save_draft(
            session, invoicing.draft_invoice(session, seeded.workspace_id, _sales(seeded), InvoiceDefaults())
        )
        assert invoice.number == "INV-0001" and invoice.due_date == dt.date(2026, 11, 23)
        marks = {e.id: e.invoice_line_id for e in session.scalars(select(TimeEntry))}
        invoiced = {entries[k].id for k in ("mia_mon", "mia_tue", "liam_mon", "liam_tue")}
        assert {i for i, mark in marks.items() if mark is not None} == invoiced
        assert documents.invoice_balance(session, invoice).totals.total == Decimal("982.66")

        with pytest.raises(ValidationFailed) as again:
            invoicing.draft_invoice(session, seeded.workspace_id, _sales(seeded), InvoiceDefaults())
        assert again.value.errors[0].field == "client_id"
        assert again.value.errors[0].message == (
            "'Bondi Surf Co' has no approved, billable hours that are not invoiced yet "
            "from 2026-11-02 to 2026-11-06"
        )
        # the next period still has its own hours
        later = TimeInvoiceRequest(
            client_id=seeded.client_id, date_from=dt.date(2026, 11, 9), date_to=dt.date(2026, 11, 13)
        )
        draft = invoicing.draft_invoice(session, seeded.workspace_id, later, InvoiceDefaults())
        assert [line.quantity for line in draft.lines] == [Decimal("1.0000")]
        # deleting the draft frees its hours again
        documents.delete_invoice(session, invoice)
        session.delete(invoice)
        session.flush()
        assert invoicing.draft_invoice(session, seeded.workspace_id, _sales(seeded), InvoiceDefaults()).lines


def test_a_contractor_s_bill_takes_their_hours_at_cost_and_does_not_block_the_client_invoice(
    database: Database, seeded: Seeded
) -> None:
    with database.session() as session:
        entries = _hours(session, seeded)
        request = TimeInvoiceRequest(
            member_id=seeded.contractor_id, issue_date=dt.date(2026, 11, 9), **PERIOD
        )
        bill = invoicing.save_draft(
            session, invoicing.draft_invoice(session, seeded.workspace_id, request, InvoiceDefaults())
        )
        assert (bill.kind, bill.member_id, bill.client_id) == (InvoiceKind.BILL, seeded.contractor_id, None)
        assert [
            (line.description, line.quantity, line.unit_amount, line.account_code, line.tax_type)
            for line in bill.lines
        ] == [
            (
                "Website rebuild: Build: Liam O'Brien, 2 Nov 2026",
                Decimal("2.0000"),
                Decimal("90.0000"),
                "310",
                "INPUT",
            ),
            (
                "Website rebuild: Design: Liam O'Brien, 3 Nov 2026",
                Decimal("0.7500"),
                Decimal("90.0000"),
                "310",
                "INPUT",
            ),
        ]
        totals = documents.invoice_balance(session, bill).totals
        assert (totals.sub_total, totals.total_tax, totals.total) == (
            Decimal("247.50"),
            Decimal("24.75"),
            Decimal("272.25"),
        )
        liam = [entries["liam_mon"], entries["liam_tue"]]
        assert all(e.bill_line_id is not None and e.invoice_line_id is None for e in liam)
        with pytest.raises(ValidationFailed) as again:
            invoicing.draft_invoice(session, seeded.workspace_id, request, InvoiceDefaults())
        assert (
            again.value.errors[0].field == "member_id" and "not billed yet" in again.value.errors[0].message
        )
        # the client is still charged for the contractor's hours, once
        sales = invoicing.draft_invoice(session, seeded.workspace_id, _sales(seeded), InvoiceDefaults())
        assert entries["liam_mon"] in sales.lines[0].entries

        employee = TimeInvoiceRequest(member_id=seeded.employee_id, **PERIOD)
        with pytest.raises(ValidationFailed) as refused:
            invoicing.draft_invoice(session, seeded.workspace_id, employee, InvoiceDefaults())
        assert refused.value.errors[0].field == "member_id" and "employee" in refused.value.errors[0].message


def test_account_tax_and_due_date_come_from_the_settings(database: Database, seeded: Seeded) -> None:
    defaults = InvoiceDefaults(
        revenue_account_code="260",
        expense_account_code="320",
        default_tax_type="EXEMPTOUTPUT",
        due_date_offset_days=7,
        branding_theme_id="t-1",
    )
    with database.session() as session:
        _hours(session, seeded)
        draft = invoicing.draft_invoice(session, seeded.workspace_id, _sales(seeded), defaults)
        assert {(line.account_code, line.tax_type) for line in draft.lines} == {("260", "EXEMPTOUTPUT")}
        assert draft.due_date == dt.date(2026, 11, 16) and draft.branding_theme_id == "t-1"
        assert draft.totals is not None and draft.totals.total_tax == Decimal("0.00")
        bill = TimeInvoiceRequest(member_id=seeded.contractor_id, **PERIOD)
        bill_draft = invoicing.draft_invoice(session, seeded.workspace_id, bill, defaults)
        assert {(line.account_code, line.tax_type) for line in bill_draft.lines} == {("320", "INPUT")}
        assert bill_draft.branding_theme_id is None


def test_requests_are_checked_naming_the_field(database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        both = TimeInvoiceRequest(client_id=seeded.client_id, member_id=seeded.contractor_id, **PERIOD)
        with pytest.raises(ValidationFailed) as failure:
            invoicing.draft_invoice(session, seeded.workspace_id, both, InvoiceDefaults())
        assert [e.field for e in failure.value.errors] == ["client_id", "member_id"]
        backwards = TimeInvoiceRequest(
            client_id=seeded.client_id, date_from=NOV.replace(day=9), date_to=NOV.replace(day=2)
        )
        with pytest.raises(ValidationFailed) as failure:
            invoicing.draft_invoice(session, seeded.workspace_id, backwards, InvoiceDefaults())
        assert failure.value.errors[0].field == "date_to"
        supplier = TimeInvoiceRequest(client_id=seeded.supplier_id, **PERIOD)
        with pytest.raises(ValidationFailed) as failure:
            invoicing.draft_invoice(session, seeded.workspace_id, supplier, InvoiceDefaults())
        assert (
            failure.value.errors[0].field == "client_id"
            and "not a customer" in failure.value.errors[0].message
        )


def test_hours_are_minutes_over_sixty_to_four_places() -> None:
    assert invoicing.hours(50) == Decimal("0.8333")
    assert invoicing.hours(7) == Decimal("0.1167")
    assert invoicing.hours(90) == Decimal("1.5000")


def test_clients_with_hours_are_those_a_build_would_find(database: Database, seeded: Seeded) -> None:
    """The builder offers the customers with approved, billable, uninvoiced hours: through
    their project, or through a task of their own (a contact's task); not the others."""
    from ledgerbridge.work.models import Client

    with database.session() as session:
        assert invoicing.clients_with_hours(session, seeded.workspace_id) == []
        _entry(session, seeded, seeded.employee_id, seeded.task_id, 2, 60, approved=False)
        assert invoicing.clients_with_hours(session, seeded.workspace_id) == []  # not approved yet
        _entry(session, seeded, seeded.employee_id, seeded.task_id, 3, 60)
        assert invoicing.clients_with_hours(session, seeded.workspace_id) == [
            (seeded.client_id, "Bondi Surf Co")
        ]

        coogee = Client(workspace_id=seeded.workspace_id, name="Coogee Cafe")
        quiet = Client(workspace_id=seeded.workspace_id, name="Quiet Client")
        xero = Project(workspace_id=seeded.workspace_id, name="Xero")
        session.add_all([coogee, quiet, xero])
        session.flush()
        task = Task(
            workspace_id=seeded.workspace_id, project_id=xero.id, name="Coogee Cafe", client_id=coogee.id
        )
        session.add(task)
        session.flush()
        _entry(session, seeded, seeded.employee_id, task.id, 4, 30)
        assert invoicing.clients_with_hours(session, seeded.workspace_id) == [
            (seeded.client_id, "Bondi Surf Co"),
            (coogee.id, "Coogee Cafe"),
        ]
        invoicing.save_draft(
            session, invoicing.draft_invoice(session, seeded.workspace_id, _sales(seeded), InvoiceDefaults())
        )
        assert invoicing.clients_with_hours(session, seeded.workspace_id) == [(coogee.id, "Coogee Cafe")]
