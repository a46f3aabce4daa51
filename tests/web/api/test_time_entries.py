"""Time entries: the rules that keep hours honest, and atomic failure."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledgerbridge.db import Database
from ledgerbridge.work.models import TimeEntry
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
