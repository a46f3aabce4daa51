"""The Project time tab of an organisation (``/integrations/xero/{connection_id}/projects``):
time entries to Xero Projects.

- each local project: link it to one of the organisation's Xero projects, or create it
  there (for the project's client, which must be in Xero);
- a linked project's tasks: link each to the Xero task of its name, or create it;
- members to Xero project users (suggestions preselected);
- push approved time: how many entries are waiting, and what each push did.

Every action is the API's (``web.api.xero_projects``): ``sync.xero_projects``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.sync import xero_projects
from ledgerbridge.sync.models import RecordType, XeroLink
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import redirect, render
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.web.pages.xero_members import form_text, organisation_page, page_of
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Project, Task, TimeEntry
from ledgerbridge.work.repository import scoped
from ledgerbridge.xero.models import XeroConnection

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PAGE = "/integrations/xero/{connection_id}/projects"


@dataclass(frozen=True)
class ProjectRow:
    project: Project
    xero_project_id: str | None
    xero_name: str | None
    tasks: list[tuple[Task, str | None]]
    """Each active task and the Xero task it is linked to (None: not yet)."""


def _links(
    session: Session, connection_id: str, record_type: RecordType, local_ids: list[str]
) -> dict[str, XeroLink]:
    if not local_ids:
        return {}
    return {
        link.local_id: link
        for link in session.scalars(
            select(XeroLink).where(
                XeroLink.connection_id == connection_id,
                XeroLink.record_type == record_type,
                XeroLink.local_id.in_(local_ids),
            )
        )
    }


def _project_rows(
    session: Session, actor: Actor, connection: XeroConnection, page: int
) -> tuple[list[ProjectRow], bool]:
    """One page of active projects with their links and tasks (three queries, whatever the size)."""
    projects = list(
        session.scalars(
            scoped(Project, actor.workspace_id)
            .where(Project.archived.is_(False))
            .order_by(Project.name, Project.id)
            .offset((page - 1) * 50)
            .limit(51)
        )
    )
    more = len(projects) > 50
    projects = projects[:50]
    project_links = _links(session, connection.id, RecordType.XERO_PROJECT, [p.id for p in projects])
    tasks = list(
        session.scalars(
            scoped(Task, actor.workspace_id)
            .where(Task.project_id.in_([p.id for p in projects]), Task.archived.is_(False))
            .order_by(Task.name, Task.id)
        )
    )
    task_links = _links(session, connection.id, RecordType.XERO_PROJECT_TASK, [t.id for t in tasks])
    by_project: dict[str, list[tuple[Task, str | None]]] = {}
    for task in tasks:  # grouped once, in the query's order (by name)
        task_link = task_links.get(task.id)
        by_project.setdefault(task.project_id, []).append((task, task_link.xero_id if task_link else None))
    rows = []
    for project in projects:
        link = project_links.get(project.id)
        rows.append(
            ProjectRow(
                project,
                link.xero_id if link else None,
                (link.content or {}).get("name") if link else None,
                by_project.get(project.id, []),
            )
        )
    return rows, more


def _waiting(session: Session, workspace_id: str, connection_id: str) -> int:
    """Approved time entries of linked projects that Xero does not have yet (one count)."""
    linked_projects = select(XeroLink.local_id).where(
        XeroLink.connection_id == connection_id, XeroLink.record_type == RecordType.XERO_PROJECT
    )
    sent = select(XeroLink.local_id).where(
        XeroLink.connection_id == connection_id, XeroLink.record_type == RecordType.XERO_PROJECT_TIME
    )
    return int(
        session.scalar(
            select(func.count(TimeEntry.id))
            .join(Task, Task.id == TimeEntry.task_id)
            .where(
                TimeEntry.workspace_id == workspace_id,
                TimeEntry.approved.is_(True),
                Task.project_id.in_(linked_projects),
                TimeEntry.id.not_in(sent),
            )
        )
        or 0
    )


@router.get(PAGE, response_class=HTMLResponse)
async def projects_page(
    connection_id: str,
    request: Request,
    session: SessionDep,
    xero: XeroDep,
    page: int = 1,
    members_page: int = 1,
) -> Response:
    actor, connection, answer = organisation_page(request, session, connection_id, manage=False)
    if connection is None:
        assert answer is not None
        return answer
    page = max(page, 1)
    rows, more = _project_rows(session, actor, connection, page)
    waiting = _waiting(session, actor.workspace_id, connection.id)
    session.commit()  # Xero's lists are read in their own sessions
    problem: str | None = None
    remote: list[dict[str, Any]] = []
    users: list[Any] = []
    project_users: list[dict[str, Any]] = []
    try:
        remote = await xero_projects.xero_projects(xero, actor.workspace_id, connection.id)
        users, project_users = await xero_projects.user_mappings(xero, actor.workspace_id, connection.id)
    except LedgerbridgeError as exc:
        problem = exc.detail
    members_page = max(members_page, 1)
    shown_users, more_users = page_of(users, members_page)
    base = PAGE.format(connection_id=connection.id)
    context = {
        "connection": connection,
        "rows": rows,
        "next_page": f"{base}?page={page + 1}" if more else None,
        "previous_page": f"{base}?page={page - 1}" if page > 1 else None,
        "remote": [p for p in remote if p["project_id"] is None and p.get("status") != "CLOSED"],
        "users": shown_users,
        "more_members": f"{base}?members_page={members_page + 1}#users-heading" if more_users else None,
        "fewer_members": f"{base}?members_page={members_page - 1}#users-heading"
        if members_page > 1
        else None,
        "project_users": project_users,
        "waiting": waiting,
        "problem": problem,
        "can_manage": actor.role.manages,
        "here": "projects",
    }
    return render(request, "xero/projects.html", context, session=session, actor=actor)


@router.post(PAGE + "/{project_id}/link", dependencies=CSRF)
async def link_project(
    connection_id: str, project_id: str, request: Request, session: SessionDep, xero: XeroDep
) -> Response:
    """Link to the Xero project chosen, or (value ``create``) create it in Xero."""
    actor, connection, answer = organisation_page(request, session, connection_id, manage=True)
    if connection is None:
        assert answer is not None
        return answer
    form = await request.form()
    choice = form_text(form, "xero_project_id")
    back = PAGE.format(connection_id=connection.id)
    if not choice:
        return redirect(request, back, "Choose a Xero project to link to, or “Create it in Xero”.", "error")
    session.commit()
    try:
        create = choice == "create"
        linked = await xero_projects.link_project(
            xero, actor.workspace_id, connection.id, project_id, None if create else choice, create
        )
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, back, exc.detail, "error")
    verb = "Created in Xero" if linked.created else "Linked to Xero project"
    return redirect(request, back, f"{verb}: {linked.name}.", "success")


@router.post(PAGE + "/{project_id}/tasks", dependencies=CSRF)
async def link_tasks(
    connection_id: str, project_id: str, request: Request, session: SessionDep, xero: XeroDep
) -> Response:
    """Link the project's tasks (or the one given) by name, creating those Xero lacks."""
    actor, connection, answer = organisation_page(request, session, connection_id, manage=True)
    if connection is None:
        assert answer is not None
        return answer
    form = await request.form()
    task_id = form_text(form, "task_id")
    back = PAGE.format(connection_id=connection.id)
    session.commit()
    try:
        outcomes = await xero_projects.link_tasks(
            xero, actor.workspace_id, connection.id, project_id, {task_id: None} if task_id else None, True
        )
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, back, exc.detail, "error")
    if not outcomes:
        return redirect(request, back, "The project has no active tasks to link.", "info")
    parts = [f"{o.name}: {o.outcome}" + (f" - {o.error}" if o.error else "") for o in outcomes]
    failed = any(o.outcome == "failed" for o in outcomes)
    return redirect(request, back, "Tasks " + "; ".join(parts) + ".", "error" if failed else "success")


@router.post(PAGE + "/users", dependencies=CSRF)
async def save_users(connection_id: str, request: Request, session: SessionDep, xero: XeroDep) -> Response:
    """Members to project users: each select named ``member:<id>``; empty removes."""
    actor, connection, answer = organisation_page(request, session, connection_id, manage=True)
    if connection is None:
        assert answer is not None
        return answer
    form = await request.form()
    back = PAGE.format(connection_id=connection.id)
    wanted = {
        str(name).partition(":")[2]: form_text(form, str(name)) or None
        for name in form
        if str(name).startswith("member:")
    }
    current = _links(session, connection.id, RecordType.XERO_PROJECT_USER, list(wanted))
    changes = [
        (member_id, user_id)
        for member_id, user_id in wanted.items()
        if (user_id or "").lower() != (current[member_id].xero_id if member_id in current else "")
    ]
    session.commit()
    try:
        await xero_projects.set_user_mappings(xero, actor.workspace_id, connection.id, changes)
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, back, exc.detail, "error")
    return redirect(
        request,
        back,
        f"Saved {len(changes)} project user mapping{'' if len(changes) == 1 else 's'}.",
        "success",
    )


@router.post(PAGE + "/push", dependencies=CSRF)
async def push(connection_id: str, request: Request, session: SessionDep, xero: XeroDep) -> Response:
    """Send every approved entry of the linked projects that Xero does not have, once."""
    actor, connection, answer = organisation_page(request, session, connection_id, manage=True)
    if connection is None:
        assert answer is not None
        return answer
    back = PAGE.format(connection_id=connection.id)
    session.commit()
    try:
        result = await xero_projects.push_time(xero, actor.workspace_id, connection.id)
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, back, exc.detail, "error")
    counts = result.counts
    message = (
        f"Time sent: {counts.get('created', 0)} created, {counts.get('skipped', 0)} already in Xero, "
        f"{counts.get('failed', 0)} not sent."
    )
    problems = sorted({o.error for o in result.outcomes if o.outcome == "failed" and o.error})
    if problems:
        message += " " + " ".join(problems[:5]) + (" (more in the sync log)" if len(problems) > 5 else "")
    return redirect(request, back, message, "error" if counts.get("failed") else "success")


__all__ = ["router"]
