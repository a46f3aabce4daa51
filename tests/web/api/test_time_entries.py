"""Time entries: the rules that keep hours honest, and atomic failure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from ledgerbridge.db import Database
from ledgerbridge.payroll.models import ExportStatus, TimesheetExport
from ledgerbridge.sync.models import OutboxEntry, OutboxStatus, RecordType, XeroLink
from ledgerbridge.work.models import Invoice, InvoiceKind, InvoiceLine, Member, TimeEntry, User
from ledgerbridge.xero.models import XeroConnection
from tests.factories import Seeded


def _entry(seeded: Seeded, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "member_id": seeded.employee_id,
        "task_id": seeded.task_id,
        "date": "2026-11-17",
    }
    body.update(overrides)
    return body


def test_duration_entry(owner: TestClient, seeded: Seeded) -> None:
    response = owner.post("/api/v1/time-entries", json=_entry(seeded, duration_minutes=90, break_minutes=15))
    assert response.status_code == 201
    assert response.json()["worked_minutes"] == 75
    assert response.json()["invoiced"] is False


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"start_time": "09:00"}, "end_time"),
        ({"start_time": "17:00", "end_time": "09:00"}, "end_time"),
        ({}, "duration_minutes"),
        ({"start_time": "09:00", "end_time": "10:00", "duration_minutes": 60}, "duration_minutes"),
        ({"duration_minutes": 30, "break_minutes": 30}, "break_minutes"),
        ({"duration_minutes": -5}, "duration_minutes"),
        ({"duration_minutes": 60, "date": "2026-13-01"}, "date"),
        ({"duration_minutes": 60, "task_id": "no-such-task"}, "task_id"),
    ],
)
def test_bad_entries_name_the_field_and_write_nothing(
    owner: TestClient, seeded: Seeded, database: Database, overrides: dict[str, object], field: str
) -> None:
    response = owner.post("/api/v1/time-entries", json=_entry(seeded, **overrides))
    assert response.status_code == 422, response.text
    assert field in {e["field"] for e in response.json()["errors"]}
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(TimeEntry)) == 0


def test_filters_by_date_range(owner: TestClient, seeded: Seeded) -> None:
    for day in ("2026-11-02", "2026-11-09", "2026-11-16"):
        owner.post("/api/v1/time-entries", json=_entry(seeded, date=day, duration_minutes=60))
    found = owner.get("/api/v1/time-entries", params={"date_from": "2026-11-05", "date_to": "2026-11-16"})
    assert [e["date"] for e in found.json()["items"]] == ["2026-11-09", "2026-11-16"]


def test_patch_cannot_null_a_required_field(owner: TestClient, seeded: Seeded) -> None:
    created = owner.post("/api/v1/time-entries", json=_entry(seeded, duration_minutes=60)).json()
    response = owner.patch(f"/api/v1/time-entries/{created['id']}", json={"task_id": None})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "task_id"


# -- locks and who may change whose entries (work.time_locks) ------------------------------

MEMBER_EMAIL = "member@harbour.example.com"


@pytest.fixture
def linked(database: Database, seeded: Seeded) -> Seeded:
    """The workspace's member user tracks time as Mia Chen (the employee)."""
    with database.session() as session:
        user = session.scalars(select(User).where(User.email == MEMBER_EMAIL)).one()
        mia = session.get(Member, seeded.employee_id)
        assert mia is not None
        mia.user_id = user.id
    return seeded


def _as_member(seeded: Seeded) -> dict[str, str]:
    return {"Authorization": f"Bearer {seeded.member_token}"}


def _stored_entry(database: Database, seeded: Seeded, day: dt.date, **extra: object) -> str:
    with database.session() as session:
        entry = TimeEntry(
            workspace_id=seeded.workspace_id,
            member_id=extra.pop("member_id", seeded.employee_id),
            task_id=seeded.task_id,
            date=day,
            duration_minutes=60,
            break_minutes=0,
            **extra,
        )
        session.add(entry)
        session.flush()
        return entry.id


def _connection(database: Database, seeded: Seeded) -> str:
    with database.session() as session:
        connection = XeroConnection(
            workspace_id=seeded.workspace_id, tenant_id="tenant-au", tenant_name="Demo Company (AU)"
        )
        session.add(connection)
        session.flush()
        return connection.id


def _document_line(database: Database, seeded: Seeded, kind: InvoiceKind, number: str) -> str:
    with database.session() as session:
        document = Invoice(
            workspace_id=seeded.workspace_id,
            kind=kind,
            number=number,
            client_id=seeded.client_id if kind is InvoiceKind.SALES else seeded.supplier_id,
            issue_date=dt.date(2026, 11, 20),
            currency="AUD",
            member_id=seeded.contractor_id if kind is InvoiceKind.BILL else None,
        )
        session.add(document)
        session.flush()
        line = InvoiceLine(
            invoice_id=document.id, description="Design", quantity=Decimal(1), unit_amount=Decimal(150)
        )
        session.add(line)
        session.flush()
        return line.id


def _assert_locked(owner: TestClient, database: Database, entry_id: str, reason: str) -> None:
    """PATCH and DELETE both answer 409 with the reason, and the entry stays as it was."""
    patched = owner.patch(f"/api/v1/time-entries/{entry_id}", json={"duration_minutes": 480})
    assert patched.status_code == 409, patched.text
    assert reason in patched.json()["detail"]
    assert patched.json()["lock"] == reason[0].upper() + reason[1:]
    deleted = owner.delete(f"/api/v1/time-entries/{entry_id}")
    assert deleted.status_code == 409, deleted.text
    assert reason in deleted.json()["detail"]
    with database.session() as session:
        entry = session.get(TimeEntry, entry_id)
        assert entry is not None and entry.duration_minutes == 60


def test_an_invoiced_entry_is_locked(owner: TestClient, database: Database, seeded: Seeded) -> None:
    line_id = _document_line(database, seeded, InvoiceKind.SALES, "INV-0042")
    entry_id = _stored_entry(database, seeded, dt.date(2026, 11, 17), approved=True, invoice_line_id=line_id)
    _assert_locked(owner, database, entry_id, "on invoice INV-0042")


def test_an_entry_on_a_contractors_bill_is_locked(
    owner: TestClient, database: Database, seeded: Seeded
) -> None:
    line_id = _document_line(database, seeded, InvoiceKind.BILL, "LOB-7")
    entry_id = _stored_entry(
        database,
        seeded,
        dt.date(2026, 11, 17),
        member_id=seeded.contractor_id,
        approved=True,
        bill_line_id=line_id,
    )
    _assert_locked(owner, database, entry_id, "on bill LOB-7")


@pytest.mark.parametrize("status", [ExportStatus.SENT, ExportStatus.SENDING])
def test_an_entry_in_a_payroll_timesheet_sent_to_xero_is_locked(
    owner: TestClient, database: Database, seeded: Seeded, status: ExportStatus
) -> None:
    connection_id = _connection(database, seeded)
    inside = _stored_entry(database, seeded, dt.date(2026, 11, 17))
    after = _stored_entry(database, seeded, dt.date(2026, 11, 23))  # after the pay period
    other_member = _stored_entry(database, seeded, dt.date(2026, 11, 17), member_id=seeded.contractor_id)
    with database.session() as session:
        session.add(
            TimesheetExport(
                workspace_id=seeded.workspace_id,
                connection_id=connection_id,
                employee_id="emp-1",
                employee_name="Mia Chen",
                member_id=seeded.employee_id,
                period_start=dt.date(2026, 11, 9),
                period_end=dt.date(2026, 11, 22),
                status=status,
                xero_status="DRAFT",
                hours=Decimal(1),
                sent_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
            )
        )
    _assert_locked(owner, database, inside, "sent to Xero Payroll in the timesheet for 09 Nov to 22 Nov 2026")
    for free in (after, other_member):
        changed = owner.patch(f"/api/v1/time-entries/{free}", json={"duration_minutes": 90})
        assert changed.status_code == 200, changed.text
        assert owner.delete(f"/api/v1/time-entries/{free}").status_code == 204


def test_a_timesheet_xero_refused_does_not_lock(
    owner: TestClient, database: Database, seeded: Seeded
) -> None:
    connection_id = _connection(database, seeded)
    entry_id = _stored_entry(database, seeded, dt.date(2026, 11, 17))
    with database.session() as session:
        session.add(
            TimesheetExport(
                workspace_id=seeded.workspace_id,
                connection_id=connection_id,
                employee_id="emp-1",
                employee_name="Mia Chen",
                member_id=seeded.employee_id,
                period_start=dt.date(2026, 11, 9),
                period_end=dt.date(2026, 11, 22),
                status=ExportStatus.FAILED,
                xero_status="",
                error="Xero refused it",
                hours=Decimal(1),
            )
        )
    changed = owner.patch(f"/api/v1/time-entries/{entry_id}", json={"duration_minutes": 90})
    assert changed.status_code == 200, changed.text


def test_an_entry_sent_or_being_sent_to_xero_projects_is_locked(
    owner: TestClient, database: Database, seeded: Seeded
) -> None:
    connection_id = _connection(database, seeded)
    sent = _stored_entry(database, seeded, dt.date(2026, 11, 17), approved=True)
    sending = _stored_entry(database, seeded, dt.date(2026, 11, 18), approved=True)
    with database.session() as session:
        session.add(
            XeroLink(
                workspace_id=seeded.workspace_id,
                connection_id=connection_id,
                record_type=RecordType.XERO_PROJECT_TIME,
                local_id=sent,
                xero_id="time-1",
                content_hash="0" * 64,
                synced_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
            )
        )
        session.add(
            OutboxEntry(
                workspace_id=seeded.workspace_id,
                connection_id=connection_id,
                record_type=RecordType.XERO_PROJECT_TIME,
                local_id=sending,
                status=OutboxStatus.SENDING,
                idempotency_key=f"project-time-{sending}",
            )
        )
    _assert_locked(owner, database, sent, "sent to Xero Projects")
    _assert_locked(owner, database, sending, "sent to Xero Projects")


def test_a_member_changes_only_their_own_unapproved_entries(
    client: TestClient, database: Database, linked: Seeded
) -> None:
    member = _as_member(linked)
    own = _stored_entry(database, linked, dt.date(2026, 11, 17))
    approved = _stored_entry(database, linked, dt.date(2026, 11, 18), approved=True)
    others = _stored_entry(database, linked, dt.date(2026, 11, 17), member_id=linked.contractor_id)

    changed = client.patch(f"/api/v1/time-entries/{own}", json={"duration_minutes": 90}, headers=member)
    assert changed.status_code == 200, changed.text
    assert changed.json()["worked_minutes"] == 90

    for entry_id, words in ((others, "another member's time"), (approved, "approved")):
        patched = client.patch(f"/api/v1/time-entries/{entry_id}", json={"notes": "x"}, headers=member)
        assert patched.status_code == 403, patched.text
        assert words in patched.json()["detail"]
        assert client.delete(f"/api/v1/time-entries/{entry_id}", headers=member).status_code == 403

    self_approval = client.patch(f"/api/v1/time-entries/{own}", json={"approved": True}, headers=member)
    assert self_approval.status_code == 403
    moved_away = client.patch(
        f"/api/v1/time-entries/{own}", json={"member_id": linked.contractor_id}, headers=member
    )
    assert moved_away.status_code == 403
    for_another = client.post(
        "/api/v1/time-entries",
        json=_entry(linked, member_id=linked.contractor_id, duration_minutes=30),
        headers=member,
    )
    assert for_another.status_code == 403
    mine = client.post("/api/v1/time-entries", json=_entry(linked, duration_minutes=30), headers=member)
    assert mine.status_code == 201, mine.text
    with database.session() as session:
        stored = {e.id: e for e in session.scalars(select(TimeEntry))}
        assert stored[own].member_id == linked.employee_id and not stored[own].approved
        assert stored[others].notes is None and stored[approved].notes is None
        assert len(stored) == 4
    assert client.delete(f"/api/v1/time-entries/{own}", headers=member).status_code == 204

    # an owner changes and approves anyone's entry
    owner = {"Authorization": f"Bearer {linked.owner_token}"}
    approve = client.patch(f"/api/v1/time-entries/{others}", json={"approved": True}, headers=owner)
    assert approve.status_code == 200 and approve.json()["approved"] is True


def test_a_member_not_linked_to_a_member_record_tracks_no_time(client: TestClient, seeded: Seeded) -> None:
    refused = client.post(
        "/api/v1/time-entries", json=_entry(seeded, duration_minutes=30), headers=_as_member(seeded)
    )
    assert refused.status_code == 403


def test_notes_longer_than_the_column_are_refused(owner: TestClient, seeded: Seeded) -> None:
    """Notes are Text (no limit); a task id longer than its String(36) column is named."""
    long_notes = owner.post(
        "/api/v1/time-entries", json=_entry(seeded, duration_minutes=30, notes="n" * 5000)
    )
    assert long_notes.status_code == 201
    long_id = owner.post("/api/v1/time-entries", json=_entry(seeded, duration_minutes=30, task_id="t" * 40))
    assert long_id.status_code == 422
    assert long_id.json()["errors"][0]["field"] == "task_id"


def _list_queries(owner: TestClient, database: Database) -> tuple[int, list[dict[str, object]]]:
    statements: list[str] = []

    def count(*_args: object) -> None:
        statements.append("")

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        items = owner.get("/api/v1/time-entries", params={"page_size": 100}).json()["items"]
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    return len(statements), items


def test_the_list_shows_each_entrys_lock_with_the_same_queries_for_any_number(
    owner: TestClient, database: Database, seeded: Seeded
) -> None:
    line_id = _document_line(database, seeded, InvoiceKind.SALES, "INV-0042")
    invoiced = _stored_entry(database, seeded, dt.date(2026, 11, 17), approved=True, invoice_line_id=line_id)
    free = _stored_entry(database, seeded, dt.date(2026, 11, 18))
    few, items = _list_queries(owner, database)
    locks = {item["id"]: item["lock"] for item in items}
    assert locks == {invoiced: "On invoice INV-0042", free: None}
    assert owner.get(f"/api/v1/time-entries/{invoiced}").json()["lock"] == "On invoice INV-0042"

    for day in range(1, 31):
        _stored_entry(database, seeded, dt.date(2026, 11, day))
    many, items = _list_queries(owner, database)
    assert len(items) == 32
    assert many == few
