"""The generic store (``web.api.crud.store``) answers bad input with a 409 or 422 naming the
field, never a 500: duplicates are found before the database's constraint fires (also on a
PATCH, where an autoflush used to write the clash first), the unique scope comes from the
model's constraint (a task's name is unique within its project), and text longer than its
``String(n)`` column is refused before PostgreSQL would refuse it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.work.models import Member, Task
from tests.factories import Seeded


def test_patching_a_member_to_another_members_email_is_a_conflict_on_email(
    owner: TestClient, seeded: Seeded, database: Database
) -> None:
    response = owner.patch(
        f"/api/v1/members/{seeded.contractor_id}", json={"email": "mia@harbour.example.com"}
    )
    assert response.status_code == 409, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["email"]
    with database.session() as session:
        liam = session.get(Member, seeded.contractor_id)
        assert liam is not None and liam.email == "liam@harbour.example.com"
    # the unit of work is still usable afterwards
    assert (
        owner.patch(f"/api/v1/members/{seeded.contractor_id}", json={"name": "Liam OBrien"}).status_code
        == 200
    )


def test_a_duplicate_work_type_name_on_patch_is_a_conflict_on_name(owner: TestClient) -> None:
    first = owner.post("/api/v1/work-types", json={"name": "Overtime"}).json()
    assert first["name"] == "Overtime"
    renamed = owner.patch(f"/api/v1/work-types/{first['id']}", json={"name": "Ordinary hours"})
    assert renamed.status_code == 409, renamed.text
    assert renamed.json()["errors"][0]["field"] == "name"


def test_a_task_name_is_unique_within_its_project(
    owner: TestClient, seeded: Seeded, database: Database
) -> None:
    again = owner.post("/api/v1/tasks", json={"project_id": seeded.project_id, "name": "Design"})
    assert again.status_code == 409, again.text
    assert again.json()["errors"][0]["field"] == "name"
    assert "in this project" in again.json()["detail"]

    build = owner.post("/api/v1/tasks", json={"project_id": seeded.project_id, "name": "Build"})
    assert build.status_code == 201
    clash = owner.patch(f"/api/v1/tasks/{build.json()['id']}", json={"name": "Design"})
    assert clash.status_code == 409, clash.text
    assert clash.json()["errors"][0]["field"] == "name"

    other = owner.post("/api/v1/projects", json={"name": "Mobile app", "client_id": seeded.client_id}).json()
    same_name_elsewhere = owner.post("/api/v1/tasks", json={"project_id": other["id"], "name": "Design"})
    assert same_name_elsewhere.status_code == 201, same_name_elsewhere.text
    with database.session() as session:
        names = sorted(session.scalars(select(Task.name).where(Task.project_id == seeded.project_id)))
        assert names == ["Build", "Design"]


def test_text_longer_than_its_column_is_refused_naming_the_field(
    owner: TestClient, seeded: Seeded, database: Database
) -> None:
    """Member.name is String(200) and WorkType.name String(100), though the shared Name
    type allows 255: the model's column decides."""
    created = owner.post("/api/v1/members", json={"name": "M" * 201})
    assert created.status_code == 422, created.text
    assert created.json()["errors"][0]["field"] == "name"
    assert "at most 200 characters" in created.json()["errors"][0]["message"]
    patched = owner.patch(f"/api/v1/members/{seeded.employee_id}", json={"name": "M" * 201})
    assert patched.status_code == 422, patched.text
    assert patched.json()["errors"][0]["field"] == "name"
    work_type = owner.post("/api/v1/work-types", json={"name": "W" * 101})
    assert work_type.status_code == 422, work_type.text
    assert work_type.json()["errors"][0]["field"] == "name"
    fits = owner.post("/api/v1/members", json={"name": "M" * 200})
    assert fits.status_code == 201, fits.text
    with database.session() as session:
        mia = session.get(Member, seeded.employee_id)
        assert mia is not None and mia.name == "Mia Chen"
