"""Time to Xero Projects in the API: Xero projects to choose from, linking or creating
projects and tasks, members to project users, and pushing approved time.

Under ``/xero/connections/{connection_id}/projects``: an organisation of another workspace
is a 404 like an unknown one. Reading is for anyone in the workspace; linking, creating,
mapping and pushing are for owners and admins.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from ledgerbridge.sync import xero_projects
from ledgerbridge.web.api.crud import Input, Output
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import ActorDep, ManagerDep, SessionDep
from ledgerbridge.xero.connections import get_connection

router = APIRouter(prefix="/xero/connections/{connection_id}/projects", tags=["Xero Projects"])


def _check(session: SessionDep, workspace_id: str, connection_id: str) -> None:
    """A 404 for an organisation not of this workspace, before any call to Xero."""
    get_connection(session, workspace_id, connection_id)


class XeroProjectOut(Output):
    xero_project_id: str
    name: str
    contact_id: str | None
    status: str | None = Field(description="INPROGRESS or CLOSED.")
    currency_code: str | None
    project_id: str | None = Field(description="The local project linked to it, if any.")


@router.get("", response_model=list[XeroProjectOut])
async def list_xero_projects(
    connection_id: str, session: SessionDep, actor: ActorDep, xero: XeroDep
) -> list[XeroProjectOut]:
    """The organisation's Xero projects, to link a local project to by id."""
    _check(session, actor.workspace_id, connection_id)
    found = await xero_projects.xero_projects(xero, actor.workspace_id, connection_id)
    return [XeroProjectOut.model_validate(p) for p in found]


class ProjectLinkIn(Input):
    xero_project_id: str | None = Field(None, description="Link to this Xero project.")
    create: bool = Field(False, description="Instead: create it in Xero for the project's client.")


class ProjectLinkOut(Output):
    project_id: str
    xero_project_id: str
    name: str
    currency_code: str | None
    created: bool


@router.put("/links/{project_id}", response_model=ProjectLinkOut)
async def link_project(
    connection_id: str,
    project_id: str,
    body: ProjectLinkIn,
    session: SessionDep,
    actor: ManagerDep,
    xero: XeroDep,
) -> ProjectLinkOut:
    """Link a local project to a Xero project, or create one (its contact is the client's
    linked Xero contact: a client not in Xero yet is a 409 naming ``project_id``)."""
    _check(session, actor.workspace_id, connection_id)
    linked = await xero_projects.link_project(
        xero, actor.workspace_id, connection_id, project_id, body.xero_project_id, body.create
    )
    return ProjectLinkOut.model_validate(linked)


class TaskChoice(Input):
    task_id: str
    xero_task_id: str | None = Field(None, description="Leave out to link by name, else create.")


class TasksLinkIn(Input):
    tasks: list[TaskChoice] | None = Field(
        None, description="Leave out for every active task of the project."
    )
    create_missing: bool = Field(True, description="Create in Xero a task with no Xero task of its name.")


class TaskOutcomeOut(Output):
    task_id: str
    name: str
    outcome: str = Field(description="linked, created or failed.")
    xero_task_id: str | None
    error: str | None


@router.post("/links/{project_id}/tasks", response_model=list[TaskOutcomeOut])
async def link_tasks(
    connection_id: str,
    project_id: str,
    body: TasksLinkIn,
    session: SessionDep,
    actor: ManagerDep,
    xero: XeroDep,
) -> list[TaskOutcomeOut]:
    """Link the project's tasks to the tasks of its Xero project: by the id given, else by
    name, else create one with the task's rate (chargeType TIME, NON_CHARGEABLE if not
    billable)."""
    _check(session, actor.workspace_id, connection_id)
    chosen = None if body.tasks is None else {t.task_id: t.xero_task_id for t in body.tasks}
    outcomes = await xero_projects.link_tasks(
        xero, actor.workspace_id, connection_id, project_id, chosen, body.create_missing
    )
    return [TaskOutcomeOut.model_validate(o) for o in outcomes]


class UserSuggestionOut(Output):
    user_id: str
    name: str
    reason: str = Field(description="email or name: what matched.")


class UserRowOut(Output):
    member_id: str
    name: str
    email: str | None
    user_id: str | None
    user_name: str | None
    suggestion: UserSuggestionOut | None


class ProjectUserOut(Output):
    user_id: str
    name: str
    email: str | None


class UsersOut(Output):
    members: list[UserRowOut]
    project_users: list[ProjectUserOut]


class MemberUser(Input):
    member_id: str
    user_id: str | None = Field(description="Null removes the mapping.")


class UsersIn(Input):
    members: list[MemberUser]


async def _users_out(xero: XeroDep, workspace_id: str, connection_id: str) -> UsersOut:
    rows, users = await xero_projects.user_mappings(xero, workspace_id, connection_id)
    return UsersOut(
        members=[UserRowOut.model_validate(r) for r in rows],
        project_users=[ProjectUserOut.model_validate(u) for u in users],
    )


@router.get("/users", response_model=UsersOut)
async def get_users(connection_id: str, session: SessionDep, actor: ActorDep, xero: XeroDep) -> UsersOut:
    """Every active member with their Xero project user, or a suggestion (same email, else
    same name); and the project users to choose from."""
    _check(session, actor.workspace_id, connection_id)
    return await _users_out(xero, actor.workspace_id, connection_id)


@router.put("/users", response_model=UsersOut)
async def put_users(
    connection_id: str, body: UsersIn, session: SessionDep, actor: ManagerDep, xero: XeroDep
) -> UsersOut:
    """Set (or with null remove) members' project users; the others stay as they are."""
    _check(session, actor.workspace_id, connection_id)
    changes = [(m.member_id, m.user_id) for m in body.members]
    await xero_projects.set_user_mappings(xero, actor.workspace_id, connection_id, changes)
    return await _users_out(xero, actor.workspace_id, connection_id)


@router.post("/users/accept-suggestions", response_model=UsersOut)
async def accept_user_suggestions(
    connection_id: str, session: SessionDep, actor: ManagerDep, xero: XeroDep
) -> UsersOut:
    """Map every unmapped member that has a suggestion."""
    _check(session, actor.workspace_id, connection_id)
    await xero_projects.accept_user_suggestions(xero, actor.workspace_id, connection_id)
    return await _users_out(xero, actor.workspace_id, connection_id)


class PushIn(Input):
    dry_run: bool = Field(False, description="Say what would be sent; send and save nothing but the run.")
    project_id: str | None = Field(None, description="Only this (linked) project; else every linked one.")
    date_from: date | None = None
    date_to: date | None = None


class EntryOut(Output):
    time_entry_id: str
    member_id: str
    task_id: str
    date: date
    minutes: int
    outcome: str = Field(description="created, skipped (already in Xero), failed, or would_create.")
    xero_time_entry_id: str | None
    error: str | None = Field(description="The problem named, or Xero's own message.")
    payload: dict[str, Any] | None = Field(description="What is (or would be) sent.")


class PushOut(Output):
    dry_run: bool
    run_id: str | None = Field(description="The run in the sync log.")
    counts: dict[str, int] = Field(description="created, skipped, failed, calls (and would_create).")
    entries: list[EntryOut] = Field(validation_alias="outcomes")
    error: str | None = Field(description="Why the push stopped early, if it did.")


@router.post("/time/push", response_model=PushOut)
async def push_time(
    connection_id: str, body: PushIn, session: SessionDep, actor: ManagerDep, xero: XeroDep
) -> PushOut:
    """Send each approved time entry of the linked projects as a Xero Projects time entry,
    once. An entry with a problem (member not mapped, task not linked) is named and skipped;
    the others still go."""
    _check(session, actor.workspace_id, connection_id)
    result = await xero_projects.push_time(
        xero,
        actor.workspace_id,
        connection_id,
        dry_run=body.dry_run,
        project_id=body.project_id,
        date_from=body.date_from,
        date_to=body.date_to,
    )
    return PushOut.model_validate(result)
