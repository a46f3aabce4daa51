"""The Time page through a browser-like client: the week grid's sums, adding, editing and
deleting entries through the forms (checked in the database), locked entries, the
running timer, Approve week, and who may see and change whose time."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.payroll.models import ExportStatus, TimesheetExport
from ledgerbridge.sync.models import RecordType, XeroLink
from ledgerbridge.web.pages import time as time_page
from ledgerbridge.work.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    Member,
    Project,
    Task,
    TimeEntry,
    User,
    Workspace,
)
from ledgerbridge.xero.models import XeroConnection
from tests.factories import Seeded, seed_workspace
from tests.web.pages.conftest import post_form, sign_in

MONDAY = date(2026, 11, 16)
WEEK = f"/time?week={MONDAY.isoformat()}"
NONE = "\u2013"  # an empty cell of the grid (an en dash)
# Wednesday 18 November 2026, 09:00 in Sydney (the workspace's time zone, UTC+11).
WEDNESDAY_9AM = datetime(2026, 11, 17, 22, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Set the instant the page (and its timer) reads as now."""
    now = [WEDNESDAY_9AM]
    monkeypatch.setattr(time_page, "utcnow", lambda: now[0])

    def set_now(value: datetime) -> None:
        now[0] = value

    return set_now


@pytest.fixture
def linked(database: Database, seeded: Seeded) -> Seeded:
    """The workspace's member user tracks time as Mia Chen; the owner as nobody."""
    with database.session() as session:
        user = session.scalars(select(User).where(User.email == "member@harbour.example.com")).one()
        mia = session.get(Member, seeded.employee_id)
        assert mia is not None
        mia.user_id = user.id
    return seeded


def _entry(
    database: Database,
    seeded: Seeded,
    day: date,
    *,
    member_id: str | None = None,
    task_id: str | None = None,
    minutes: int | None = None,
    start: time | None = None,
    end: time | None = None,
    break_minutes: int = 0,
    **extra: object,
) -> str:
    with database.session() as session:
        entry = TimeEntry(
            workspace_id=seeded.workspace_id,
            member_id=member_id or seeded.employee_id,
            task_id=task_id or seeded.task_id,
            date=day,
            duration_minutes=minutes,
            start_time=start,
            end_time=end,
            break_minutes=break_minutes,
            **extra,
        )
        session.add(entry)
        session.flush()
        return entry.id


def _second_task(database: Database, seeded: Seeded) -> str:
    with database.session() as session:
        project = Project(workspace_id=seeded.workspace_id, name="Mobile app", client_id=seeded.client_id)
        session.add(project)
        session.flush()
        task = Task(workspace_id=seeded.workspace_id, project_id=project.id, name="Build")
        session.add(task)
        session.flush()
        return task.id


def _stored(database: Database, entry_id: str) -> TimeEntry | None:
    with database.session() as session:
        entry = session.get(TimeEntry, entry_id)
        if entry is not None:
            session.expunge(entry)
        return entry


def _hours(entry: TimeEntry) -> Decimal:
    return Decimal(entry.worked_minutes) / 60


def _row_cells(html: str, label: str) -> list[str]:
    row = re.search(rf"<th scope=\"row\">{re.escape(label)}</th>(.*?)</tr>", html, re.S)
    assert row, f"no row {label!r} in the grid"
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    ]


# ------------------------------------------------------------------------------ the week


def test_week_grid_sums_rows_days_and_week(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    build = _second_task(database, linked)
    _entry(database, linked, MONDAY, minutes=450)  # 7.50
    _entry(database, linked, MONDAY, start=time(18), end=time(18, 30), notes="Client call")  # + 0.50
    _entry(database, linked, date(2026, 11, 17), start=time(9), end=time(17, 30), break_minutes=30)  # 8.00
    _entry(database, linked, date(2026, 11, 18), minutes=135)  # 2.25
    _entry(database, linked, date(2026, 11, 17), task_id=build, minutes=80)  # 1.33
    _entry(database, linked, date(2026, 11, 19), task_id=build, minutes=15)  # 0.25
    _entry(database, linked, date(2026, 11, 15), minutes=600)  # the Sunday before: not this week
    _entry(database, linked, MONDAY, member_id=linked.contractor_id, minutes=300)  # someone else's
    sign_in(service, "member@harbour.example.com")

    html = service.get(WEEK).text

    assert "Week of Mon 16 Nov 2026" in html
    assert _row_cells(html, "Website rebuild · Design") == [
        "8.00",
        "8.00",
        "2.25",
        NONE,
        NONE,
        NONE,
        NONE,
        "18.25",
    ]
    assert _row_cells(html, "Mobile app · Build") == [NONE, "1.33", NONE, "0.25", NONE, NONE, NONE, "1.58"]
    # Totals are the hours of the summed minutes: Tuesday 560 min, the week 1,190 min.
    assert _row_cells(html, "Total") == ["8.00", "9.33", "2.25", "0.25", "0.00", "0.00", "0.00", "19.83"]
    assert "Liam" not in html
    previous = service.get("/time?week=2026-11-09").text
    assert _row_cells(previous, "Total")[-1] == "10.00"


def test_week_links_and_this_week(
    service: TestClient, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    sign_in(service, "member@harbour.example.com")
    html = service.get("/time?week=2026-12-02").text
    assert "Week of Mon 30 Nov 2026" in html
    assert 'href="/time?week=2026-11-23" rel="prev"' in html
    assert 'href="/time?week=2026-12-07" rel="next"' in html
    assert 'href="/time?week=2026-11-16">This week</a>' in html
    assert "Week of Mon 16 Nov 2026" in service.get("/time").text


# ------------------------------------------------------------------------------ add, edit, delete


def test_add_an_entry_with_hours_and_one_with_start_and_end(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    sign_in(service, "member@harbour.example.com")
    added = post_form(
        service,
        WEEK,
        "/time/entries",
        {
            "date": "2026-11-17",
            "task_id": linked.task_id,
            "hours": "1.5",
            "work_type_id": linked.work_type_id,
            "notes": "Homepage wireframes",
            "billable": "on",
            "week": MONDAY.isoformat(),
        },
    )
    assert added.status_code == 303
    assert added.headers["location"] == "/time?week=2026-11-16"
    post_form(
        service,
        WEEK,
        "/time/entries",
        {
            "date": "2026-11-18",
            "task_id": linked.task_id,
            "start_time": "13:00",
            "end_time": "15:45",
            "break_minutes": "15",
            "week": MONDAY.isoformat(),
        },
    )
    with database.session() as session:
        entries = session.scalars(select(TimeEntry).order_by(TimeEntry.date)).all()
        assert [(e.member_id, e.date) for e in entries] == [
            (linked.employee_id, date(2026, 11, 17)),
            (linked.employee_id, date(2026, 11, 18)),
        ]
        first, second = entries
        assert _hours(first) == Decimal("1.5")
        assert (first.work_type_id, first.notes, first.billable, first.approved) == (
            linked.work_type_id,
            "Homepage wireframes",
            True,
            False,
        )
        assert (second.start_time, second.end_time, second.duration_minutes) == (time(13), time(15, 45), None)
        assert _hours(second) == Decimal("2.5")
        assert second.billable is False
    assert "Added 2.50 hours on Wed 18 Nov." in service.get(WEEK).text
    assert _row_cells(service.get(WEEK).text, "Total")[-1] == "4.00"


def test_bad_input_comes_back_with_the_values_and_the_field_named(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    sign_in(service, "member@harbour.example.com")
    refused = post_form(
        service,
        WEEK,
        "/time/entries",
        {"date": "2026-11-17", "task_id": linked.task_id, "hours": "lots", "notes": "Keep me"},
    )
    assert refused.status_code == 422
    assert "Hours: enter the hours as a number" in refused.text
    assert 'value="Keep me"' in refused.text and 'value="lots"' in refused.text
    both = post_form(
        service,
        WEEK,
        "/time/entries",
        {"date": "2026-11-17", "task_id": linked.task_id, "start_time": "17:00", "end_time": "09:00"},
    )
    assert both.status_code == 422
    assert "End: must be after the start" in both.text
    no_task = post_form(service, WEEK, "/time/entries", {"date": "2026-11-17", "hours": "2"})
    assert no_task.status_code == 422
    assert "Task: choose the task you worked on" in no_task.text
    # Every bad field at once: the hours and the missing task and date.
    several = post_form(service, WEEK, "/time/entries", {"hours": "soon", "start_time": "25:99"})
    assert several.status_code == 422
    for message in (
        "Hours: enter the hours",
        "Task: choose the task",
        "Date: enter the date",
        "Start: enter a time",
    ):
        assert message in several.text
    with database.session() as session:
        assert session.scalars(select(TimeEntry)).all() == []


def test_edit_and_delete_an_entry(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    entry_id = _entry(database, linked, date(2026, 11, 17), minutes=60, notes="Draft")
    sign_in(service, "member@harbour.example.com")
    form = service.get(f"/time/entries/{entry_id}").text
    assert 'value="1.00"' in form and 'value="Draft"' in form
    saved = post_form(
        service,
        f"/time/entries/{entry_id}",
        f"/time/entries/{entry_id}",
        {
            "date": "2026-11-18",
            "task_id": linked.task_id,
            "hours": "2:15",
            "notes": "Final",
            "billable": "on",
        },
    )
    assert saved.status_code == 303
    stored = _stored(database, entry_id)
    assert stored is not None
    assert (stored.date, _hours(stored), stored.notes) == (date(2026, 11, 18), Decimal("2.25"), "Final")
    # From hours to a start and end: the duration is cleared, not left beside them.
    post_form(
        service,
        f"/time/entries/{entry_id}",
        f"/time/entries/{entry_id}",
        {"date": "2026-11-18", "task_id": linked.task_id, "start_time": "08:30", "end_time": "12:00"},
    )
    stored = _stored(database, entry_id)
    assert stored is not None
    assert (stored.duration_minutes, stored.start_time, _hours(stored)) == (None, time(8, 30), Decimal("3.5"))

    deleted = post_form(service, WEEK, f"/time/entries/{entry_id}/delete")
    assert deleted.status_code == 303
    assert _stored(database, entry_id) is None


def test_an_invoiced_entry_is_locked_with_the_reason(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    with database.session() as session:
        invoice = Invoice(
            workspace_id=linked.workspace_id,
            kind=InvoiceKind.SALES,
            number="INV-0042",
            client_id=linked.client_id,
            issue_date=date(2026, 11, 20),
            currency="AUD",
        )
        session.add(invoice)
        session.flush()
        line = InvoiceLine(
            invoice_id=invoice.id, description="Design", quantity=Decimal(2), unit_amount=Decimal(150)
        )
        session.add(line)
        session.flush()
        line_id = line.id
    entry_id = _entry(
        database, linked, date(2026, 11, 17), minutes=120, approved=True, invoice_line_id=line_id
    )
    sign_in(service, linked.owner_email)

    week = service.get(f"{WEEK}&member={linked.employee_id}").text
    assert "Locked: On invoice INV-0042" in week
    assert f'href="/time/entries/{entry_id}"' not in week
    assert "Locked" in service.get(f"/time/entries/{entry_id}").text
    edited = post_form(
        service,
        WEEK,
        f"/time/entries/{entry_id}",
        {"date": "2026-11-17", "task_id": linked.task_id, "hours": "5"},
    )
    assert edited.status_code == 422
    assert "On invoice INV-0042." in edited.text
    deleted = post_form(service, WEEK, f"/time/entries/{entry_id}/delete")
    assert deleted.status_code == 303
    assert (
        "This time entry is locked: on invoice INV-0042. It can no longer be changed."
        in service.get(WEEK).text
    )
    stored = _stored(database, entry_id)
    assert stored is not None and stored.duration_minutes == 120


def test_a_member_cannot_change_an_approved_entry_but_a_manager_can(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    entry_id = _entry(database, linked, date(2026, 11, 17), minutes=60, approved=True)
    sign_in(service, "member@harbour.example.com")
    refused = post_form(
        service,
        WEEK,
        f"/time/entries/{entry_id}",
        {"date": "2026-11-17", "task_id": linked.task_id, "hours": "9"},
    )
    assert refused.status_code == 422
    assert "Approved; ask an owner or admin to change it." in refused.text
    sign_in(service, linked.owner_email)
    page = f"/time/entries/{entry_id}"
    saved = post_form(
        service,
        page,
        page,
        {
            "date": "2026-11-17",
            "task_id": linked.task_id,
            "hours": "3",
            "approval_shown": "1",
            "approved": "on",
        },
    )
    assert saved.status_code == 303
    stored = _stored(database, entry_id)
    assert stored is not None and (_hours(stored), stored.approved) == (Decimal(3), True)


# ------------------------------------------------------------------------------ the timer


def test_timer_starts_runs_and_stops_with_whole_minutes(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    sign_in(service, "member@harbour.example.com")
    started = post_form(service, "/time", "/time/timer/start", {"task_id": linked.task_id, "notes": "Logo"})
    assert started.status_code == 303
    with database.session() as session:
        running = session.scalars(select(TimeEntry)).one()
        entry_id = running.id
        assert (running.date, running.start_time, running.end_time, running.duration_minutes) == (
            date(2026, 11, 18),
            time(9, 0),
            None,
            None,
        )
    clock(datetime(2026, 11, 17, 23, 37, 40, tzinfo=UTC))  # 10:37:40 in Sydney
    page = service.get("/time").text
    assert "Timer started at 09:00." in page
    assert f'data-running="{entry_id}"' in page
    assert "started Wed 18 Nov at 09:00" in page
    assert 'data-timer-start="2026-11-18T09:00:00+11:00"' in page
    assert ">1:37</span> so far" in page

    stopped = post_form(service, "/time", "/time/timer/stop", {"entry_id": entry_id})
    assert stopped.status_code == 303
    stored = _stored(database, entry_id)
    assert stored is not None
    assert (stored.start_time, stored.end_time, stored.worked_minutes) == (time(9), time(10, 37), 97)
    assert "Timer stopped: 1.62 hours (97 minutes)." in service.get("/time").text
    assert _row_cells(service.get("/time").text, "Total")[2] == "1.62"


def test_only_one_timer_runs_per_member(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    sign_in(service, "member@harbour.example.com")
    post_form(service, "/time", "/time/timer/start", {"task_id": linked.task_id})
    second = post_form(service, "/time", "/time/timer/start", {"task_id": linked.task_id})
    assert second.status_code == 303
    assert "A timer is already running for this member" in service.get("/time").text
    # Another member's timer is theirs: the owner starts one for Liam.
    sign_in(service, linked.owner_email)
    page = f"/time?member={linked.contractor_id}"
    post_form(
        service, page, "/time/timer/start", {"task_id": linked.task_id, "member_id": linked.contractor_id}
    )
    with database.session() as session:
        running = session.scalars(select(TimeEntry).where(TimeEntry.end_time.is_(None))).all()
        assert sorted(e.member_id for e in running) == sorted([linked.employee_id, linked.contractor_id])


def test_a_timer_stopped_within_its_first_minute_counts_one_minute(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    sign_in(service, "member@harbour.example.com")
    post_form(service, "/time", "/time/timer/start", {"task_id": linked.task_id})
    with database.session() as session:
        entry_id = session.scalars(select(TimeEntry.id)).one()
    clock(datetime(2026, 11, 17, 22, 0, 20, tzinfo=UTC))
    post_form(service, "/time", "/time/timer/stop", {"entry_id": entry_id})
    stored = _stored(database, entry_id)
    assert stored is not None and (stored.end_time, stored.worked_minutes) == (time(9, 1), 1)


def test_a_timer_left_running_past_midnight_is_not_stopped_silently(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    sign_in(service, "member@harbour.example.com")
    post_form(service, "/time", "/time/timer/start", {"task_id": linked.task_id})
    with database.session() as session:
        entry_id = session.scalars(select(TimeEntry.id)).one()
    clock(datetime(2026, 11, 18, 14, 0, tzinfo=UTC))  # Thursday 01:00 in Sydney
    post_form(service, "/time", "/time/timer/stop", {"entry_id": entry_id})
    assert "ran past midnight" in service.get("/time").text
    stored = _stored(database, entry_id)
    assert stored is not None and stored.end_time is None


# ------------------------------------------------------------------------------ approval


def test_a_manager_approves_the_week_and_a_member_may_not(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    done = _entry(database, linked, MONDAY, minutes=120)
    other_week = _entry(database, linked, date(2026, 11, 23), minutes=60)
    sign_in(service, "member@harbour.example.com")
    assert "Approve week" not in service.get(WEEK).text
    post_form(service, "/time", "/time/timer/start", {"task_id": linked.task_id})
    refused = post_form(
        service, WEEK, "/time/approve", {"member_id": linked.employee_id, "week": MONDAY.isoformat()}
    )
    assert refused.status_code == 403
    stored = _stored(database, done)
    assert stored is not None and stored.approved is False

    sign_in(service, linked.owner_email)
    page = f"/time?member={linked.employee_id}&week={MONDAY.isoformat()}"
    assert "Approve week (1 entry)" in service.get(page).text
    approved = post_form(
        service, page, "/time/approve", {"member_id": linked.employee_id, "week": MONDAY.isoformat()}
    )
    assert approved.status_code == 303
    assert "Approved 1 entry (2.00 hours) of Mia Chen." in service.get(page).text
    with database.session() as session:
        states = {e.id: e.approved for e in session.scalars(select(TimeEntry))}
    assert states[done] is True
    assert states[other_week] is False
    assert [approved for entry_id, approved in states.items() if entry_id not in {done, other_week}] == [
        False
    ]


# ------------------------------------------------------------------------------ who sees what


def test_a_member_sees_only_their_own_week(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    theirs = _entry(database, linked, MONDAY, member_id=linked.contractor_id, minutes=60)
    sign_in(service, "member@harbour.example.com")
    assert service.get(f"/time?member={linked.contractor_id}").status_code == 403
    assert service.get(f"/time/entries/{theirs}").status_code == 403
    assert post_form(service, WEEK, f"/time/entries/{theirs}/delete").status_code == 403
    assert (
        post_form(
            service,
            WEEK,
            "/time/entries",
            {
                "member_id": linked.contractor_id,
                "date": "2026-11-17",
                "task_id": linked.task_id,
                "hours": "1",
            },
        ).status_code
        == 403
    )
    assert _stored(database, theirs) is not None
    page = service.get(WEEK).text
    assert 'id="pick-member"' not in page

    sign_in(service, linked.owner_email)
    chosen = service.get(f"/time?member={linked.contractor_id}&week={MONDAY.isoformat()}").text
    assert "Time · Liam O&#39;Brien" in chosen
    assert _row_cells(chosen, "Total")[-1] == "1.00"
    added = post_form(
        service,
        WEEK,
        "/time/entries",
        {"member_id": linked.contractor_id, "date": "2026-11-17", "task_id": linked.task_id, "hours": "2"},
    )
    assert added.headers["location"] == f"/time?week=2026-11-16&member={linked.contractor_id}"
    with database.session() as session:
        assert session.scalars(
            select(TimeEntry.member_id).where(TimeEntry.date == date(2026, 11, 17))
        ).all() == [linked.contractor_id]


def test_another_workspaces_entry_is_not_found(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    with database.session() as session:
        other = seed_workspace(session, "Other Co", slug="otherco")
    foreign = _entry(database, other, MONDAY, minutes=60)
    sign_in(service, linked.owner_email)
    assert service.get(f"/time/entries/{foreign}").status_code == 404
    assert post_form(service, WEEK, f"/time/entries/{foreign}/delete").status_code == 404
    edited = post_form(service, WEEK, f"/time/entries/{foreign}", {"date": "2026-11-17", "hours": "9"})
    assert edited.status_code == 404
    assert post_form(service, WEEK, "/time/timer/stop", {"entry_id": foreign}).status_code == 404
    assert service.get(f"/time?member={other.employee_id}").status_code == 404
    assert (
        post_form(
            service,
            WEEK,
            "/time/entries",
            {"member_id": other.employee_id, "date": "2026-11-17", "task_id": linked.task_id, "hours": "1"},
        ).status_code
        == 404
    )
    stored = _stored(database, foreign)
    assert stored is not None and stored.duration_minutes == 60
    # A task of the other workspace is refused by the API's reference check, naming the field.
    wrong_task = post_form(
        service, WEEK, "/time/entries", {"date": "2026-11-17", "task_id": other.task_id, "hours": "1"}
    )
    assert wrong_task.status_code == 422


def test_the_page_needs_a_sign_in(service: TestClient, linked: Seeded) -> None:
    response = service.get("/time", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")


def test_workspace_time_zone_sets_the_timer_day(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    with database.session() as session:
        workspace = session.get(Workspace, linked.workspace_id)
        assert workspace is not None
        workspace.timezone = "UTC"
    sign_in(service, "member@harbour.example.com")
    post_form(service, "/time", "/time/timer/start", {"task_id": linked.task_id})
    with database.session() as session:
        entry = session.scalars(select(TimeEntry)).one()
        assert (entry.date, entry.start_time) == (date(2026, 11, 17), time(22, 0))


def test_entries_billed_or_sent_to_xero_are_locked_with_their_reason(
    service: TestClient, database: Database, linked: Seeded, clock: Callable[[datetime], None]
) -> None:
    """A contractor's bill, a timesheet sent to Xero Payroll and a Xero Projects time entry
    each hold the hours they were sent with: those entries refuse edits and deletes."""
    now = datetime(2026, 11, 20, tzinfo=UTC)
    with database.session() as session:
        connection = XeroConnection(
            workspace_id=linked.workspace_id, tenant_id="tenant-au", tenant_name="Demo Company (AU)"
        )
        bill = Invoice(
            workspace_id=linked.workspace_id,
            kind=InvoiceKind.BILL,
            number="LOB-7",
            client_id=linked.supplier_id,
            issue_date=date(2026, 11, 20),
            currency="AUD",
            member_id=linked.contractor_id,
        )
        session.add_all([connection, bill])
        session.flush()
        line = InvoiceLine(
            invoice_id=bill.id, description="Design", quantity=Decimal(1), unit_amount=Decimal(90)
        )
        session.add(line)
        session.flush()
        connection_id, bill_line_id = connection.id, line.id
    billed = _entry(
        database,
        linked,
        MONDAY,
        member_id=linked.contractor_id,
        minutes=60,
        approved=True,
        bill_line_id=bill_line_id,
    )
    in_projects = _entry(database, linked, MONDAY, minutes=90, approved=True)
    in_payroll = _entry(database, linked, date(2026, 11, 17), minutes=120)
    free = _entry(database, linked, date(2026, 11, 23), minutes=30)  # after the pay period
    with database.session() as session:
        session.add(
            XeroLink(
                workspace_id=linked.workspace_id,
                connection_id=connection_id,
                record_type=RecordType.XERO_PROJECT_TIME,
                local_id=in_projects,
                xero_id="time-1",
                content_hash="0" * 64,
                synced_at=now,
            )
        )
        session.add(
            TimesheetExport(
                workspace_id=linked.workspace_id,
                connection_id=connection_id,
                employee_id="emp-1",
                employee_name="Mia Chen",
                member_id=linked.employee_id,
                period_start=date(2026, 11, 9),
                period_end=date(2026, 11, 22),
                status=ExportStatus.SENT,
                xero_status="DRAFT",
                hours=Decimal("3.5"),
                sent_at=now,
            )
        )
    sign_in(service, linked.owner_email)

    mia = service.get(f"{WEEK}&member={linked.employee_id}").text
    assert "Locked: Sent to Xero Projects" in mia
    assert "Locked: Sent to Xero Payroll in the timesheet for 09 Nov to 22 Nov 2026" in mia
    liam = service.get(f"{WEEK}&member={linked.contractor_id}").text
    assert "Locked: On bill LOB-7" in liam
    for entry_id in (billed, in_projects, in_payroll):
        assert "This entry can no longer be changed" in service.get(f"/time/entries/{entry_id}").text
        edit = post_form(
            service,
            WEEK,
            f"/time/entries/{entry_id}",
            {"date": "2026-11-16", "task_id": linked.task_id, "hours": "8"},
        )
        assert edit.status_code == 422
        post_form(service, WEEK, f"/time/entries/{entry_id}/delete")
        stored = _stored(database, entry_id)
        assert stored is not None and stored.duration_minutes != 480
    assert post_form(service, WEEK, f"/time/entries/{free}/delete").status_code == 303
    assert _stored(database, free) is None


def test_many_tasks_are_offered_in_part_with_a_search_and_the_recent_ones(
    service: TestClient,
    database: Database,
    linked: Seeded,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A task per Xero contact makes thousands: the forms offer the first ones, the
    member's recent tasks, and a search that narrows them in SQL."""
    monkeypatch.setattr(time_page, "TASK_LIMIT", 3)
    with database.session() as session:
        xero = Project(workspace_id=linked.workspace_id, name="Xero")
        session.add(xero)
        session.flush()
        names = ["Acme Plumbing", "Bondi Surf Co", "Coogee Cafe", "Manly Ferries", "Zeta Dental"]
        tasks = {n: Task(workspace_id=linked.workspace_id, project_id=xero.id, name=n) for n in names}
        session.add_all(tasks.values())
        session.flush()
        zeta = tasks["Zeta Dental"].id
    _entry(database, linked, MONDAY, task_id=zeta, minutes=60)
    sign_in(service, "member@harbour.example.com")

    page = service.get(WEEK).text
    assert "Find a task" in page
    assert "Acme Plumbing" in page and "Zeta Dental" in page  # the first three, and the recent one
    assert "Manly Ferries" not in page
    found = service.get(f"{WEEK}&task_q=manly").text
    assert "Manly Ferries" in found and "Coogee Cafe" not in found
    manly = re.search(r'<option value="([^"]+)">Manly Ferries</option>', found)
    assert manly
    post_form(service, WEEK, "/time/timer/start", {"task_id": manly.group(1)})
    with database.session() as session:
        assert session.scalars(
            select(TimeEntry.task_id).where(TimeEntry.end_time.is_(None), TimeEntry.start_time.is_not(None))
        ).one() == manly.group(1)
