"""The Projects pages: projects with their client and tasks; add and edit a project (the
client chosen by name) and its tasks, archive both; who may track time on a task (unassign,
assign back); the "Xero" contacts project made by a real contacts sync, its archived tasks
marked; members (the role) and other workspaces kept out."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.sync.models import RecordType
from ledgerbridge.sync.service import sync
from ledgerbridge.work.models import Client, Project, Task, TaskUnassignment
from ledgerbridge.xero.client import Organisation
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded, seed_workspace
from tests.web.pages.conftest import post_form, sign_in


def _project(database: Database, name: str) -> Project | None:
    with database.session() as session:
        return session.scalars(select(Project).where(Project.name == name)).one_or_none()


def _task(database: Database, task_id: str) -> Task:
    with database.session() as session:
        task = session.get(Task, task_id)
        assert task is not None
        return task


def _tasks(database: Database, project_id: str) -> dict[str, Task]:
    with database.session() as session:
        return {t.name: t for t in session.scalars(select(Task).where(Task.project_id == project_id))}


def _unassigned(database: Database, task_id: str) -> set[str]:
    with database.session() as session:
        return set(
            session.scalars(select(TaskUnassignment.member_id).where(TaskUnassignment.task_id == task_id))
        )


def test_list_shows_client_rate_and_tasks(owner_page: TestClient, database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        session.add(
            Task(workspace_id=seeded.workspace_id, project_id=seeded.project_id, name="Old", archived=True)
        )
        for n in range(52):
            session.add(Project(workspace_id=seeded.workspace_id, name=f"Job {n:02d}", code=f"J{n:02d}"))
    page = owner_page.get("/projects", params={"q": "website"}).text
    row = page.split(f'data-project="{seeded.project_id}"')[1].split("</tr>")[0]
    assert "Website rebuild" in row and "Bondi Surf Co" in row and "160.00" in row
    assert "1 active, 1 archived" in row
    jobs = owner_page.get("/projects", params={"q": "j"}).text
    assert jobs.count('data-project="') == 50
    assert 'href="/projects?q=j&amp;status=active&amp;page=2"' in jobs
    second = owner_page.get("/projects", params={"q": "j", "page": 2}).text
    assert second.count('data-project="') == 2 and "Job 51" in second
    detail = owner_page.get(f"/projects/{seeded.project_id}").text
    assert "Design" in detail and ">Old<" not in detail
    everything = owner_page.get(f"/projects/{seeded.project_id}", params={"status": "all"}).text
    assert ">Old<" in everything and "Unarchive" in everything


def test_add_and_edit_a_project_with_its_client(owner_page: TestClient, database: Database) -> None:
    data = {"name": "Brand refresh", "code": "BR-1", "client": "bondi surf co", "bill_rate": "175.5"}
    response = post_form(owner_page, "/projects/new", "/projects/new", data)
    assert response.status_code == 303, response.text
    project = _project(database, "Brand refresh")
    assert project is not None
    assert response.headers["location"] == f"/projects/{project.id}"
    assert project.code == "BR-1" and project.bill_rate == Decimal("175.5")
    with database.session() as session:
        client = session.get(Client, project.client_id)
        assert client is not None and client.name == "Bondi Surf Co"
    page = f"/projects/{project.id}/edit"
    form = owner_page.get(page).text
    assert 'value="Bondi Surf Co"' in form and 'value="175.50"' in form
    changed = post_form(owner_page, page, page, {"name": "Brand refresh 2", "client": "", "bill_rate": ""})
    assert changed.status_code == 303, changed.text
    project = _project(database, "Brand refresh 2")
    assert (
        project is not None
        and project.client_id is None
        and project.bill_rate is None
        and project.code is None
    )


def test_project_refusals_name_the_field(owner_page: TestClient, database: Database, seeded: Seeded) -> None:
    taken = post_form(owner_page, "/projects/new", "/projects/new", {"name": "Website rebuild"})
    assert taken.status_code == 422
    assert "Project name: &#39;Website rebuild&#39; is already used by another project" in taken.text
    bad = post_form(
        owner_page,
        "/projects/new",
        "/projects/new",
        {"name": "New", "client": "Nobody Ltd", "bill_rate": "-5"},
    )
    assert bad.status_code == 422
    assert "Client: there is no client called &#39;Nobody Ltd&#39;" in bad.text
    assert "Bill rate per hour: enter an amount of zero or more" in bad.text
    assert 'value="Nobody Ltd"' in bad.text
    assert _project(database, "New") is None


def test_tasks_added_edited_and_archived(owner_page: TestClient, database: Database, seeded: Seeded) -> None:
    page = f"/projects/{seeded.project_id}"
    added = post_form(
        owner_page, page, f"{page}/tasks", {"name": "Build", "bill_rate": "140", "billable": "on"}
    )
    assert added.status_code == 303, added.text
    build = _tasks(database, seeded.project_id)["Build"]
    assert build.bill_rate == Decimal("140") and build.billable and not build.archived
    clash = post_form(owner_page, page, f"{page}/tasks", {"name": "Design", "billable": "on"})
    assert clash.status_code == 422
    assert "Task name: this project already has a task called &#39;Design&#39;." in clash.text
    assert "Design" in clash.text and clash.text.count('data-task="') == 2  # the list is still there
    edit = f"{page}/tasks/{build.id}/edit"
    assert 'value="140.00"' in owner_page.get(edit).text
    saved = post_form(owner_page, edit, edit, {"name": "Build and test", "bill_rate": ""})
    assert saved.status_code == 303, saved.text
    task = _task(database, build.id)
    assert task.name == "Build and test" and task.bill_rate is None and task.billable is False
    renamed = post_form(owner_page, edit, edit, {"name": "Design", "billable": "on"})
    assert renamed.status_code == 422 and "already has a task called" in renamed.text
    assert post_form(owner_page, page, f"{page}/tasks/{build.id}/archive").status_code == 303
    assert _task(database, build.id).archived is True
    assert f'data-task="{build.id}"' not in owner_page.get(page).text
    post_form(owner_page, page, f"{page}/tasks/{build.id}/unarchive")
    assert _task(database, build.id).archived is False


def test_unassign_and_assign_back(owner_page: TestClient, database: Database, seeded: Seeded) -> None:
    page = f"/projects/{seeded.project_id}/tasks/{seeded.task_id}/members"
    listed = owner_page.get(page).text
    assert "Mia Chen" in listed and "Nobody: every member can track time on it." in listed
    action = f"{page}/{seeded.employee_id}/unassign"
    response = post_form(owner_page, page, action, {"back": page})
    assert response.status_code == 303 and response.headers["location"] == page
    assert _unassigned(database, seeded.task_id) == {seeded.employee_id}
    after = owner_page.get(page).text
    assert "Mia Chen can no longer track time on Design." in after
    assert f'data-unassigned="{seeded.employee_id}"' in after
    assert "Everyone but 1" in owner_page.get(f"/projects/{seeded.project_id}").text
    post_form(owner_page, page, f"{page}/{seeded.employee_id}/assign", {"back": "https://evil.example.com"})
    assert _unassigned(database, seeded.task_id) == set()


def test_members_cannot_manage(service: TestClient, database: Database, seeded: Seeded) -> None:
    sign_in(service, "member@harbour.example.com")
    listed = service.get("/projects").text
    assert "Website rebuild" in listed and "Add a project" not in listed
    detail = service.get(f"/projects/{seeded.project_id}").text
    assert "Design" in detail and "Add a task" not in detail
    assert service.get("/projects/new").status_code == 403
    assert post_form(service, "/projects", "/projects/new", {"name": "Sneaky"}).status_code == 403
    page = f"/projects/{seeded.project_id}"
    assert post_form(service, page, f"{page}/tasks", {"name": "Sneaky"}).status_code == 403
    assert post_form(service, page, f"{page}/tasks/{seeded.task_id}/archive").status_code == 403
    members = f"{page}/tasks/{seeded.task_id}/members"
    assert "/unassign" not in service.get(members).text
    assert post_form(service, members, f"{members}/{seeded.employee_id}/unassign").status_code == 403
    assert _project(database, "Sneaky") is None and "Sneaky" not in _tasks(database, seeded.project_id)
    assert _task(database, seeded.task_id).archived is False
    assert _unassigned(database, seeded.task_id) == set()


def test_another_workspaces_ids_are_not_found(
    owner_page: TestClient, database: Database, seeded: Seeded
) -> None:
    with database.session() as session:
        other = seed_workspace(session, "Other Pty Ltd", slug="other")
    theirs = f"/projects/{other.project_id}"
    assert owner_page.get(theirs).status_code == 404
    assert owner_page.get(f"{theirs}/edit").status_code == 404
    assert post_form(owner_page, "/projects", f"{theirs}/archive").status_code == 404
    assert post_form(owner_page, "/projects", f"{theirs}/tasks", {"name": "X"}).status_code == 404
    # Their task under our project, and our task with their member: not found either.
    mine = f"/projects/{seeded.project_id}"
    assert owner_page.get(f"{mine}/tasks/{other.task_id}/edit").status_code == 404
    assert post_form(owner_page, mine, f"{mine}/tasks/{other.task_id}/archive").status_code == 404
    members = f"{mine}/tasks/{seeded.task_id}/members"
    assert post_form(owner_page, members, f"{members}/{other.employee_id}/unassign").status_code == 404
    assert _unassigned(database, seeded.task_id) == set()
    assert _task(database, other.task_id).archived is False
    with database.session() as session:
        theirs_project = session.get(Project, other.project_id)
        assert theirs_project is not None and not theirs_project.archived


def test_the_xero_contacts_project_shows_its_tasks(
    au: Organisation, service: TestClient, xero_services: XeroServices, database: Database, seeded: Seeded
) -> None:
    """Contacts as tasks turned on and a real contacts sync: the "Xero" project's tasks
    are listed, archived contacts' tasks marked, and a member can be unassigned from one."""
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        ids = connection.workspace_id, connection.id
    turned_on = service.put(
        f"/api/v1/xero/connections/{ids[1]}/settings",
        json={"contacts_as_tasks": True},
        headers={"Authorization": f"Bearer {seeded.owner_token}"},
    )
    assert turned_on.status_code == 200, turned_on.text
    run = service.portal.call(sync, xero_services, ids[0], ids[1], [RecordType.CONTACT])  # type: ignore[union-attr]
    assert run.status in ("succeeded", "partial"), run.error
    with database.session() as session:
        project = session.scalars(select(Project).where(Project.xero_connection_id == ids[1])).one()
        tasks = {t.name: t for t in session.scalars(select(Task).where(Task.project_id == project.id))}
    archived = [t for t in tasks.values() if t.archived]
    active = [t for t in tasks.values() if not t.archived]
    assert archived and active
    listed = service.get("/projects", params={"q": "Xero"}).text
    assert "Xero contacts" in listed and "Demo Company (AU)" in listed
    everything = service.get(f"/projects/{project.id}", params={"status": "all", "q": archived[0].name}).text
    row = everything.split(f'data-task="{archived[0].id}"')[1].split("</tr>")[0]
    assert 'class="status status-archived">Archived' in row
    assert "each customer contact of Demo Company (AU)" in everything
    default = service.get(f"/projects/{project.id}").text
    assert f'data-task="{archived[0].id}"' not in default
    assert f'data-task="{active[0].id}"' in default or len(active) > 50
    page = f"/projects/{project.id}/tasks/{active[0].id}/members"
    assert post_form(service, page, f"{page}/{seeded.contractor_id}/unassign").status_code == 303
    assert _unassigned(database, active[0].id) == {seeded.contractor_id}
