"""The Projects pages: projects (searched, 50 a page) with their client, rate and tasks;
add, edit, archive a project; a project's tasks (searched, 50 a page) added, edited and
archived; and who may track time on a task (unassign a member, assign them back).

A Xero organisation's "Xero" project (``sync.contact_tasks``) is shown like any other, with
a task per customer contact, archived ones marked; its tasks follow their contacts.

Writes go through the projects API's resources (``web.api.projects.projects`` and
``tasks``) and the shared CRUD writer; unassigning uses ``work.assignments``, as the task
members API does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.web.api.projects import ProjectQuery, TaskQuery, projects, tasks
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, render
from ledgerbridge.web.pages._forms import (
    Editor,
    Form,
    as_input,
    check_lengths,
    list_page,
    lookup,
    managed,
    missing,
    page_links,
    rate_text,
    refuse,
    save,
    search_text,
    status_filter,
    switch,
    validated,
)
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.work import assignments
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Client, Member, Project, Task, TaskUnassignment
from ledgerbridge.work.repository import paginate, scoped
from ledgerbridge.xero.models import XeroConnection

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PAGE = "/projects"
PAGE_SIZE = 50
CLIENT_CHOICES = 500
"""Client names offered as suggestions in the project form; any client can be typed."""
STATUSES = {"active": "Active", "archived": "Archived", "all": "Active and archived"}

PROJECT_LABELS = {
    "name": "Project name",
    "code": "Code",
    "client": "Client",
    "client_id": "Client",
    "bill_rate": "Bill rate per hour",
    "form": "Form",
}
PROJECT_FIELDS = ["name", "code", "client", "bill_rate", "archived"]
TASK_LABELS = {"name": "Task name", "bill_rate": "Bill rate per hour", "form": "Form"}
TASK_FIELDS = ["name", "bill_rate", "billable", "archived"]


# -- projects ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectRow:
    project: Project
    client: str | None
    organisation: str | None
    """The Xero organisation whose contacts this project's tasks are."""
    active_tasks: int
    all_tasks: int


def _client_names_by_id(session: Session, workspace_id: str, client_ids: set[str | None]) -> dict[str, str]:
    """The names of the clients a page of rows points at, in one query."""
    return dict(
        session.execute(
            select(Client.id, Client.name).where(
                Client.workspace_id == workspace_id, Client.id.in_({i for i in client_ids if i})
            )
        )
        .tuples()
        .all()
    )


def _project_rows(session: Session, workspace_id: str, found: list[Project]) -> list[ProjectRow]:
    """Client names, organisations and task counts for a page of projects: three queries."""
    clients = _client_names_by_id(session, workspace_id, {p.client_id for p in found})
    connection_ids = {p.xero_connection_id for p in found if p.xero_connection_id}
    organisations = dict(
        session.execute(
            select(XeroConnection.id, XeroConnection.tenant_name).where(XeroConnection.id.in_(connection_ids))
        )
        .tuples()
        .all()
    )
    counts: dict[str, tuple[int, int]] = {}
    for project_id, archived, n in session.execute(
        select(Task.project_id, Task.archived, func.count())
        .where(Task.workspace_id == workspace_id, Task.project_id.in_([p.id for p in found]))
        .group_by(Task.project_id, Task.archived)
    ):
        active, total = counts.get(project_id, (0, 0))
        counts[project_id] = (active + (0 if archived else n), total + n)
    return [
        ProjectRow(
            p,
            clients.get(p.client_id or ""),
            organisations.get(p.xero_connection_id or ""),
            *counts.get(p.id, (0, 0)),
        )
        for p in found
    ]


def _client_names(session: Session, workspace_id: str) -> list[str]:
    return list(
        session.scalars(
            select(Client.name)
            .where(Client.workspace_id == workspace_id, Client.archived.is_(False))
            .order_by(Client.name)
            .limit(CLIENT_CHOICES)
        )
    )


def _project_values(session: Session, project: Project) -> dict[str, str]:
    client = session.get(Client, project.client_id) if project.client_id else None
    return {
        "name": project.name,
        "code": project.code or "",
        "client": client.name if client else "",
        "bill_rate": rate_text(project.bill_rate),
        "archived": "on" if project.archived else "",
    }


def _resolve_client(session: Session, workspace_id: str, name: str, errors: dict[str, str]) -> str | None:
    """The client typed by name (names are unique in a workspace; any letter case)."""
    if not name:
        return None
    found = session.scalars(
        select(Client.id).where(Client.workspace_id == workspace_id, func.lower(Client.name) == name.lower())
    ).all()
    if len(found) != 1:
        errors["client"] = (
            f"Client: there is no client called '{name}'. Pick one from the suggestions, "
            "or add it on the Clients page first."
        )
        return None
    return found[0]


def project_input(
    session: Session, actor: Actor, values: Mapping[str, str], schema: type[BaseModel]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Form text -> the projects API's input (the client chosen by name); or the refusals."""
    errors: dict[str, str] = {}
    data = as_input(values, schema, checkboxes=("archived",))
    data["client_id"] = _resolve_client(session, actor.workspace_id, values.get("client", ""), errors)
    checked = validated(schema, data, PROJECT_LABELS, errors)
    check_lengths(Project, data, PROJECT_LABELS, errors)
    if errors or checked is None:
        return {}, errors
    return checked.model_dump(exclude_unset=True), {}


def _project_form(
    request: Request,
    session: Session,
    actor: Actor,
    form: Form,
    project: Project | None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "work/projects_form.html",
        {
            "form": form,
            "project": project,
            "labels": PROJECT_LABELS,
            "client_names": _client_names(session, actor.workspace_id),
        },
        session=session,
        actor=actor,
        status_code=status_code,
    )


@router.get(PAGE, response_class=HTMLResponse)
def project_list(
    request: Request, session: SessionDep, q: str | None = None, status: str | None = None, page: int = 1
) -> HTMLResponse:
    """Projects by name, searched by name or code, with their client and task counts."""
    actor = page_actor(request, session)
    chosen, active = status_filter(status)
    search = search_text(q)
    query = ProjectQuery(
        q=search, archived=None if active is None else not active, page=max(page, 1), page_size=PAGE_SIZE
    )
    return list_page(
        request,
        session,
        actor,
        template="work/projects.html",
        resource=projects,
        query=query,
        path=PAGE,
        filters={"q": search, "status": chosen},
        context=lambda rows: {"rows": _project_rows(session, actor.workspace_id, rows), "statuses": STATUSES},
    )


PROJECTS = Editor(
    model=Project,
    resource=projects,
    home=PAGE,
    fields=PROJECT_FIELDS,
    labels=PROJECT_LABELS,
    what="project",
    area="projects",
    parse=project_input,
    form_page=_project_form,
    added=lambda p: (f"{PAGE}/{p.id}", f"Added the project {p.name}. Add its tasks below."),
    saved=lambda p: (f"{PAGE}/{p.id}", f"Saved the project {p.name}."),
)


@router.get(PAGE + "/new", response_class=HTMLResponse)
def new_project(request: Request, session: SessionDep) -> Response:
    return PROJECTS.blank(request, session, Form())


@router.post(PAGE + "/new", response_class=HTMLResponse, dependencies=CSRF)
async def create_project(request: Request, session: SessionDep) -> Response:
    return await PROJECTS.submit(request, session)


@router.get(PAGE + "/{project_id}/edit", response_class=HTMLResponse)
def edit_project(project_id: str, request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    project = PROJECTS.find(request, session, actor, project_id)
    if isinstance(project, Response):
        return project
    return _project_form(request, session, actor, Form(_project_values(session, project)), project)


@router.post(PAGE + "/{project_id}/edit", response_class=HTMLResponse, dependencies=CSRF)
async def update_project(project_id: str, request: Request, session: SessionDep) -> Response:
    return await PROJECTS.submit(request, session, project_id)


def _set_project_archived(request: Request, session: Session, project_id: str, archived: bool) -> Response:
    done = "is archived (shown under Archived projects)" if archived else "is active again"
    return PROJECTS.toggle(
        request, session, project_id, {"archived": archived}, lambda p: f"The project {p.name} {done}."
    )


@router.post(PAGE + "/{project_id}/archive", dependencies=CSRF)
def archive_project(project_id: str, request: Request, session: SessionDep) -> Response:
    return _set_project_archived(request, session, project_id, True)


@router.post(PAGE + "/{project_id}/unarchive", dependencies=CSRF)
def unarchive_project(project_id: str, request: Request, session: SessionDep) -> Response:
    return _set_project_archived(request, session, project_id, False)


# -- a project's tasks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRow:
    task: Task
    client: str | None
    unassigned: int


def _task_rows(session: Session, workspace_id: str, found: list[Task]) -> list[TaskRow]:
    """Contact names and unassigned counts for a page of tasks: two queries."""
    clients = _client_names_by_id(session, workspace_id, {t.client_id for t in found})
    unassigned = dict(
        session.execute(
            select(TaskUnassignment.task_id, func.count())
            .where(TaskUnassignment.task_id.in_([t.id for t in found]))
            .group_by(TaskUnassignment.task_id)
        )
        .tuples()
        .all()
    )
    return [TaskRow(t, clients.get(t.client_id or ""), unassigned.get(t.id, 0)) for t in found]


def _project_page(
    request: Request,
    session: Session,
    actor: Actor,
    project: Project,
    *,
    q: str | None = None,
    status: str | None = None,
    page: int = 1,
    form: Form | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The project with a page of its tasks and, for managers, the add-a-task form."""
    chosen, active = status_filter(status)
    search = search_text(q)
    query = TaskQuery(
        q=search,
        project_id=project.id,
        archived=None if active is None else not active,
        page=max(page, 1),
        page_size=PAGE_SIZE,
    )
    client = session.get(Client, project.client_id) if project.client_id else None
    organisation = (
        session.get(XeroConnection, project.xero_connection_id) if project.xero_connection_id else None
    )
    return list_page(
        request,
        session,
        actor,
        template="work/projects_detail.html",
        resource=tasks,
        query=query,
        path=f"{PAGE}/{project.id}",
        filters={"q": search, "status": chosen},
        context=lambda rows: {
            "project": project,
            "client": client,
            "organisation": organisation,
            "rows": _task_rows(session, actor.workspace_id, rows),
            "statuses": STATUSES,
            "form": form or Form(values={"billable": "on"}),
            "labels": TASK_LABELS,
        },
        status_code=status_code,
    )


def _same_name(session: Session, project: Project, name: str, task_id: str | None) -> bool:
    """A task of this project already has the name (the database allows one per project)."""
    clash = select(Task.id).where(Task.project_id == project.id, Task.name == name)
    if task_id is not None:
        clash = clash.where(Task.id != task_id)
    return session.scalar(clash.limit(1)) is not None


def task_input(
    session: Session,
    project: Project,
    task_id: str | None,
    values: Mapping[str, str],
    schema: type[BaseModel],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Form text -> the tasks API's input; or the refusals, naming a task name the project
    already has rather than leaving it to the database's constraint."""
    errors: dict[str, str] = {}
    data = as_input(values, schema, checkboxes=("billable", "archived"))
    if "project_id" in schema.model_fields:
        data["project_id"] = project.id
    checked = validated(schema, data, TASK_LABELS, errors)
    check_lengths(Task, data, TASK_LABELS, errors)
    name = str(data.get("name") or "")
    if "name" not in errors and name and _same_name(session, project, name, task_id):
        errors["name"] = f"{TASK_LABELS['name']}: this project already has a task called '{name}'."
    if errors or checked is None:
        return {}, errors
    return checked.model_dump(exclude_unset=True), {}


def _project_and_task(
    request: Request,
    session: Session,
    actor: Actor,
    project_id: str,
    task_id: str,
    area: str | None = None,
) -> tuple[Project, Task] | Response:
    """The project and its task, or the 404 page (a task of another project is not found);
    with ``area``, members (the role) are then refused changing it."""
    project = lookup(session, Project, actor.workspace_id, project_id)
    task = lookup(session, Task, actor.workspace_id, task_id)
    if project is None:
        return missing(request, session, actor, "project")
    if task is None or task.project_id != project.id:
        return missing(request, session, actor, "task")
    refused = refuse(request, session, actor, area) if area else None
    return (project, task) if refused is None else refused


@router.get(PAGE + "/{project_id}", response_class=HTMLResponse)
def project_detail(
    project_id: str,
    request: Request,
    session: SessionDep,
    q: str | None = None,
    status: str | None = None,
    page: int = 1,
) -> Response:
    actor = page_actor(request, session)
    project = lookup(session, Project, actor.workspace_id, project_id)
    if project is None:
        return missing(request, session, actor, "project")
    return _project_page(request, session, actor, project, q=q, status=status, page=page)


@router.post(PAGE + "/{project_id}/tasks", response_class=HTMLResponse, dependencies=CSRF)
async def create_task(project_id: str, request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    project = managed(request, session, actor, Project, project_id, "project", "tasks")
    if isinstance(project, Response):
        return project
    return await save(
        request,
        session,
        actor,
        resource=tasks,
        record=Task(workspace_id=actor.workspace_id),
        fields=TASK_FIELDS,
        parse=lambda values: task_input(session, project, None, values, tasks.create),
        labels=TASK_LABELS,
        again=lambda form: _project_page(request, session, actor, project, form=form, status_code=422),
        done=lambda task: (f"{PAGE}/{project.id}", f"Added the task {task.name}."),
    )


@router.get(PAGE + "/{project_id}/tasks/{task_id}/edit", response_class=HTMLResponse)
def edit_task(project_id: str, task_id: str, request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    found = _project_and_task(request, session, actor, project_id, task_id, "tasks")
    if isinstance(found, Response):
        return found
    project, task = found
    values = {
        "name": task.name,
        "bill_rate": rate_text(task.bill_rate),
        "billable": "on" if task.billable else "",
        "archived": "on" if task.archived else "",
    }
    return _task_form(request, session, actor, project, task, Form(values))


def _task_form(
    request: Request,
    session: Session,
    actor: Actor,
    project: Project,
    task: Task,
    form: Form,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "work/projects_task_form.html",
        {"project": project, "task": task, "form": form, "labels": TASK_LABELS},
        session=session,
        actor=actor,
        status_code=status_code,
    )


@router.post(PAGE + "/{project_id}/tasks/{task_id}/edit", response_class=HTMLResponse, dependencies=CSRF)
async def update_task(project_id: str, task_id: str, request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    found = _project_and_task(request, session, actor, project_id, task_id, "tasks")
    if isinstance(found, Response):
        return found
    project, task = found
    return await save(
        request,
        session,
        actor,
        resource=tasks,
        record=task,
        fields=TASK_FIELDS,
        parse=lambda values: task_input(session, project, task.id, values, tasks.update),
        labels=TASK_LABELS,
        again=lambda form: _task_form(request, session, actor, project, task, form, 422),
        done=lambda task: (f"{PAGE}/{project.id}", f"Saved the task {task.name}."),
    )


def _set_task_archived(
    request: Request, session: Session, project_id: str, task_id: str, archived: bool
) -> Response:
    actor = page_actor(request, session)
    found = _project_and_task(request, session, actor, project_id, task_id, "tasks")
    if isinstance(found, Response):
        return found
    project, task = found
    done = "is archived: no new time can be tracked on it" if archived else "is active again"
    return switch(
        request,
        session,
        actor,
        resource=tasks,
        record=task,
        data={"archived": archived},
        labels=TASK_LABELS,
        back=f"{PAGE}/{project.id}",
        message=f"The task {task.name} {done}.",
    )


@router.post(PAGE + "/{project_id}/tasks/{task_id}/archive", dependencies=CSRF)
def archive_task(project_id: str, task_id: str, request: Request, session: SessionDep) -> Response:
    return _set_task_archived(request, session, project_id, task_id, True)


@router.post(PAGE + "/{project_id}/tasks/{task_id}/unarchive", dependencies=CSRF)
def unarchive_task(project_id: str, task_id: str, request: Request, session: SessionDep) -> Response:
    return _set_task_archived(request, session, project_id, task_id, False)


# -- who may track time on a task ----------------------------------------------------------------


@router.get(PAGE + "/{project_id}/tasks/{task_id}/members", response_class=HTMLResponse)
def task_members(
    project_id: str,
    task_id: str,
    request: Request,
    session: SessionDep,
    q: str | None = None,
    page: int = 1,
) -> Response:
    """Everyone unassigned from the task, then the active members (searched, 50 a page),
    each with Unassign or Assign back."""
    actor = page_actor(request, session)
    found_pair = _project_and_task(request, session, actor, project_id, task_id)
    if isinstance(found_pair, Response):
        return found_pair
    project, task = found_pair
    search = search_text(q)
    statement = scoped(Member, actor.workspace_id).where(Member.active.is_(True))
    if search:
        pattern = f"%{search.lower()}%"
        statement = statement.where(
            func.lower(Member.name).like(pattern) | func.lower(func.coalesce(Member.email, "")).like(pattern)
        )
    found = paginate(session, statement.order_by(Member.name, Member.id), max(page, 1), PAGE_SIZE)
    off = assignments.unassigned_members(session, actor.workspace_id, task.id)
    here = f"{PAGE}/{project.id}/tasks/{task.id}/members"
    return render(
        request,
        "work/projects_task_members.html",
        {
            "project": project,
            "task": task,
            "unassigned": off,
            "unassigned_ids": {m.id for m in off},
            "rows": list(found.items),
            "found": found,
            "pages": page_links(here, {"q": search}, found),
            "filters": {"q": search},
            "here": here
            + ("?" + urlencode({"q": search, "page": found.page}) if search or found.page > 1 else ""),
            "can_manage": actor.role.manages,
        },
        session=session,
        actor=actor,
    )


async def _assignment(
    request: Request, session: Session, project_id: str, task_id: str, member_id: str, unassign: bool
) -> Response:
    actor = page_actor(request, session)
    found = _project_and_task(request, session, actor, project_id, task_id, "who works on a task")
    if isinstance(found, Response):
        return found
    project, task = found
    member = lookup(session, Member, actor.workspace_id, member_id)
    if member is None:
        return missing(request, session, actor, "member")
    form = await request.form()
    back = str(form.get("back") or "")
    here = f"{PAGE}/{project.id}/tasks/{task.id}/members"
    target = back if back.startswith(here) else here
    try:
        if unassign:
            assignments.unassign(session, actor.workspace_id, task.id, member.id)
        else:
            assignments.assign(session, actor.workspace_id, task.id, member.id)
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, target, exc.detail, "error")
    message = (
        f"{member.name} can no longer track time on {task.name}."
        if unassign
        else f"{member.name} can track time on {task.name} again."
    )
    return redirect(request, target, message, "success")


@router.post(PAGE + "/{project_id}/tasks/{task_id}/members/{member_id}/unassign", dependencies=CSRF)
async def unassign_member(
    project_id: str, task_id: str, member_id: str, request: Request, session: SessionDep
) -> Response:
    return await _assignment(request, session, project_id, task_id, member_id, True)


@router.post(PAGE + "/{project_id}/tasks/{task_id}/members/{member_id}/assign", dependencies=CSRF)
async def assign_member(
    project_id: str, task_id: str, member_id: str, request: Request, session: SessionDep
) -> Response:
    return await _assignment(request, session, project_id, task_id, member_id, False)


__all__ = ["project_input", "router", "task_input"]
