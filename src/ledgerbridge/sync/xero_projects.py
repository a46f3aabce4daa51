"""Time to Xero Projects: link projects and tasks, map members to project users, and send
approved time entries as Xero Projects time entries, each once.

Everything here is a ``XeroLink`` per organisation (record types ``xero_project``,
``xero_project_task``, ``xero_project_user``, ``xero_project_time``), so no table of its own:

- A local project is linked to a Xero project by id (chosen from ``xero_projects``), or
  created there; its contact is the linked Xero contact of the project's client, so a
  project whose client is not in Xero yet is refused, naming the client.
- A task is linked to the Xero task of the same name in the linked project (a unique match
  of the normalised name), to a Xero task chosen by id, or created with its rate (the
  task's bill rate, else the project's, else 0) in the project's currency: chargeType
  ``TIME`` for a billable task, ``NON_CHARGEABLE`` otherwise.
- A member is mapped to a project user (``/ProjectsUsers``); the unmapped are offered the
  user with the same email, else the same normalised name, when exactly one matches.
- ``push_time`` sends each approved time entry of a linked project once. Before the call an
  outbox row (``OutboxEntry``, type ``xero_project_time``) is committed as *sending* with
  the exact request and an Idempotency-Key derived from the entry and the attempt; the
  answer then becomes the entry's link in one transaction. A send whose outcome is unknown
  (a dropped connection, a crash) stays *sending*: the next push first looks for it in
  Xero (same user, task, date, duration and description, not linked to another entry) and
  links what it finds, else resends the same request under the same key, which Xero
  replays. An entry with a problem (member not mapped, task not linked, no minutes) is
  named and skipped without stopping the others. Each push is a run in the sync log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledgerbridge.errors import (
    Conflict,
    FieldError,
    ValidationFailed,
    XeroError,
    XeroValidationError,
    invalid,
)
from ledgerbridge.logging import get_logger
from ledgerbridge.payroll.mappings import name_key
from ledgerbridge.sync import links, runs
from ledgerbridge.sync.models import OutboxEntry, OutboxStatus, RecordType, SyncRun, XeroLink
from ledgerbridge.work.models import Client, Member, Project, Task, TimeEntry, Workspace
from ledgerbridge.work.repository import get_scoped, scoped
from ledgerbridge.xero.client import PROJECTS, Organisation, XeroClient, derived_idempotency_key
from ledgerbridge.xero.connections import get_connection
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection
from ledgerbridge.xero.services import XeroServices

__all__ = [
    "EntryOutcome",
    "LinkedProject",
    "PushResult",
    "TaskOutcome",
    "UserRow",
    "accept_user_suggestions",
    "link_project",
    "link_tasks",
    "push_time",
    "set_user_mappings",
    "user_mappings",
    "xero_projects",
]

log = get_logger(__name__)

PAGE_SIZE = 500
"""The Projects API's largest page."""
MAX_DURATION = 59_940
"""Xero's longest time entry, in minutes."""
TIME_PROJECT = RecordType.XERO_PROJECT
TIME_TASK = RecordType.XERO_PROJECT_TASK
TIME_USER = RecordType.XERO_PROJECT_USER
TIME_ENTRY = RecordType.XERO_PROJECT_TIME


# -- shared --------------------------------------------------------------------------------------


def _organisation(connection: XeroConnection) -> Organisation:
    if connection.grant_id is None or connection.status is not ConnectionStatus.CONNECTED:
        raise XeroError(
            f"{connection.tenant_name} is not connected ({connection.status}); reconnect it first.",
            409,
            "xero_not_connected",
        )
    return Organisation(connection.grant_id, connection.tenant_id)


def _org(services: XeroServices, workspace_id: str, connection_id: str) -> Organisation:
    with services.database.session() as session:
        return _organisation(get_connection(session, workspace_id, connection_id))


def _messages(body: Any) -> list[str]:
    """Xero Projects' 400: ``{"message", "modelState": {"model.Field": [...]}}``."""
    if not isinstance(body, dict):
        return ["Xero rejected the request."]
    found = [str(m) for ms in (body.get("modelState") or {}).values() for m in (ms or [])]
    return found or [str(body.get("message") or body.get("Message") or "Xero rejected the request.")]


async def _write(
    client: XeroClient, org: Organisation, path: str, body: dict[str, Any], key: str
) -> dict[str, Any]:
    response = await client.request(org, "POST", path, json=body, idempotency_key=key)
    if response.status_code == 400:
        try:
            raise XeroValidationError(_messages(response.json()))
        except ValueError:
            raise XeroValidationError([response.text.strip()[:500] or "Xero rejected the request."]) from None
    answer: dict[str, Any] = response.json()
    return answer


async def _all(
    client: XeroClient, org: Organisation, path: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    async for page in client.pages(org, path, "items", params=params, page_size=PAGE_SIZE):
        found.extend(page)
    return found


def _links(session: Session, connection_id: str, record_type: RecordType) -> dict[str, XeroLink]:
    """local id -> link."""
    return {
        link.local_id: link
        for link in session.scalars(
            select(XeroLink).where(
                XeroLink.connection_id == connection_id, XeroLink.record_type == record_type
            )
        )
    }


def _link(
    session: Session,
    workspace_id: str,
    connection_id: str,
    record_type: RecordType,
    local_id: str,
    xero_id: str,
    content: dict[str, Any],
    field_name: str,
    what: str,
) -> XeroLink:
    """Link, refusing a Xero record already linked to another local record."""
    other = links.by_xero_id(session, connection_id, record_type, xero_id)
    if other is not None and other.local_id != local_id:
        raise Conflict(
            f"{what} '{xero_id}' is already linked to another record ({other.local_id}).",
            [FieldError(field_name, f"already linked to {other.local_id}")],
        )
    return links.upsert(
        session,
        workspace_id,
        connection_id,
        record_type,
        local_id,
        xero_id,
        links.content_hash(content),
        None,
        content,
    )


# -- projects ------------------------------------------------------------------------------------


async def xero_projects(
    services: XeroServices, workspace_id: str, connection_id: str
) -> list[dict[str, Any]]:
    """The organisation's Xero projects (every state), each with the local project linked to
    it, to choose from by name."""
    org = _org(services, workspace_id, connection_id)
    found = await _all(services.client, org, f"{PROJECTS}/Projects")
    with services.database.session() as session:
        linked = {
            link.xero_id: link.local_id for link in _links(session, connection_id, TIME_PROJECT).values()
        }
    return [
        {
            "xero_project_id": str(p["projectId"]).lower(),
            "name": p.get("name", ""),
            "contact_id": p.get("contactId"),
            "status": p.get("status"),
            "currency_code": p.get("currencyCode"),
            "project_id": linked.get(str(p["projectId"]).lower()),
        }
        for p in found
    ]


@dataclass
class LinkedProject:
    project_id: str
    xero_project_id: str
    name: str
    currency_code: str | None
    created: bool


async def link_project(
    services: XeroServices,
    workspace_id: str,
    connection_id: str,
    project_id: str,
    xero_project_id: str | None = None,
    create: bool = False,
) -> LinkedProject:
    """Link to the Xero project ``xero_project_id``, or with ``create`` make one for the
    project's client. Exactly one of the two."""
    if bool(xero_project_id) == bool(create):
        raise invalid("xero_project_id", "give a Xero project id to link to, or create: true (not both)")
    with services.database.session() as session:
        org = _organisation(get_connection(session, workspace_id, connection_id))
        project = get_scoped(session, Project, workspace_id, project_id)
        name, client_id = project.name, project.client_id
        contact_id: str | None = None
        if create:
            if client_id is None:
                raise invalid("project_id", f"Project '{name}' has no client; Xero needs a contact for it.")
            client = get_scoped(session, Client, workspace_id, client_id)
            contact = links.by_local_id(session, connection_id, RecordType.CONTACT, client.id)
            if contact is None:
                raise Conflict(
                    f"Client '{client.name}' is not in Xero yet; sync contacts first.",
                    [FieldError("project_id", f"client '{client.name}' is not linked to a Xero contact")],
                )
            contact_id = contact.xero_id
    if create:
        body = {"contactId": contact_id, "name": name}
        remote = await _write(
            services.client,
            org,
            f"{PROJECTS}/Projects",
            body,
            derived_idempotency_key("xero_project", connection_id, project_id, links.content_hash(body)),
        )
    else:
        assert xero_project_id is not None
        try:
            remote = await services.client.get(org, f"{PROJECTS}/Projects/{xero_project_id}")
        except XeroError as exc:
            if exc.status == 404:
                raise invalid("xero_project_id", f"Xero has no project '{xero_project_id}'.") from exc
            raise
    xero_id = str(remote["projectId"]).lower()
    with services.database.session() as session:
        _link(
            session,
            workspace_id,
            connection_id,
            TIME_PROJECT,
            project_id,
            xero_id,
            {"name": remote.get("name"), "currency_code": remote.get("currencyCode")},
            "xero_project_id",
            "Xero project",
        )
    return LinkedProject(project_id, xero_id, str(remote.get("name", "")), remote.get("currencyCode"), create)


# -- tasks ---------------------------------------------------------------------------------------


@dataclass
class TaskOutcome:
    task_id: str
    name: str
    outcome: str
    """linked (already, or by name or the id given), created, or failed."""
    xero_task_id: str | None = None
    error: str | None = None


def _rate(task: Task, project: Project) -> Decimal:
    for rate in (task.bill_rate, project.bill_rate):
        if rate is not None:
            return Decimal(rate)
    return Decimal("0")


async def link_tasks(
    services: XeroServices,
    workspace_id: str,
    connection_id: str,
    project_id: str,
    chosen: dict[str, str | None] | None = None,
    create_missing: bool = True,
) -> list[TaskOutcome]:
    """Link the project's tasks (``chosen``: task id -> Xero task id, or None for by name /
    create; leave out for every active task): by the id given, else by name, else create."""
    with services.database.session() as session:
        org = _organisation(get_connection(session, workspace_id, connection_id))
        project = get_scoped(session, Project, workspace_id, project_id)
        project_link = links.by_local_id(session, connection_id, TIME_PROJECT, project_id)
        if project_link is None:
            raise Conflict(
                f"Project '{project.name}' is not linked to a Xero project yet; link or create it first.",
                [FieldError("project_id", "not linked to a Xero project")],
            )
        tasks = list(
            session.scalars(
                scoped(Task, workspace_id).where(Task.project_id == project_id).order_by(Task.name)
            )
        )
        if chosen is None:
            tasks = [t for t in tasks if not t.archived]
        else:
            known = {t.id for t in tasks}
            for index, task_id in enumerate(chosen):
                if task_id not in known:
                    raise invalid(
                        f"tasks[{index}].task_id", f"no task '{task_id}' in project '{project.name}'"
                    )
            tasks = [t for t in tasks if t.id in chosen]
        wanted = [(t.id, t.name, _rate(t, project), t.billable) for t in tasks]
        linked = _links(session, connection_id, TIME_TASK)
        xero_project_id = project_link.xero_id
    remote_project = await services.client.get(org, f"{PROJECTS}/Projects/{xero_project_id}")
    currency = str(remote_project.get("currencyCode") or "")
    remote_tasks = await _all(services.client, org, f"{PROJECTS}/Projects/{xero_project_id}/Tasks")
    by_id = {str(t["taskId"]).lower(): t for t in remote_tasks}
    taken = {link.xero_id for link in linked.values()}
    outcomes: list[TaskOutcome] = []
    for task_id, name, rate, billable in wanted:
        given = (chosen or {}).get(task_id)
        existing = linked.get(task_id)
        if not given and existing is not None and existing.xero_id in by_id:
            outcomes.append(TaskOutcome(task_id, name, "linked", existing.xero_id))
            continue
        remote: dict[str, Any] | None = None
        outcome = "linked"
        if given:
            remote = by_id.get(given.lower())
            if remote is None:
                outcomes.append(
                    TaskOutcome(task_id, name, "failed", error=f"Xero project has no task '{given}'.")
                )
                continue
        else:
            key = name_key(name)
            matches = [
                t
                for t in remote_tasks
                if name_key(t.get("name")) == key and str(t["taskId"]).lower() not in taken
            ]
            if len(matches) == 1:
                remote = matches[0]
            elif not create_missing:
                outcomes.append(
                    TaskOutcome(task_id, name, "failed", error=f"No Xero task named '{name}' in the project.")
                )
                continue
            else:
                body = {
                    "name": name[:100],
                    "rate": {"currency": currency, "value": float(rate)},
                    "chargeType": "TIME" if billable else "NON_CHARGEABLE",
                }
                try:
                    remote = await _write(
                        services.client,
                        org,
                        f"{PROJECTS}/Projects/{xero_project_id}/Tasks",
                        body,
                        derived_idempotency_key(
                            "xero_project_task", connection_id, task_id, links.content_hash(body)
                        ),
                    )
                except XeroValidationError as exc:
                    outcomes.append(TaskOutcome(task_id, name, "failed", error=exc.detail))
                    continue
                outcome = "created"
        xero_task_id = str(remote["taskId"]).lower()
        try:
            with services.database.session() as session:
                _link(
                    session,
                    workspace_id,
                    connection_id,
                    TIME_TASK,
                    task_id,
                    xero_task_id,
                    {"name": remote.get("name"), "project": xero_project_id},
                    "xero_task_id",
                    "Xero task",
                )
        except Conflict as exc:
            outcomes.append(TaskOutcome(task_id, name, "failed", error=exc.detail))
            continue
        taken.add(xero_task_id)
        outcomes.append(TaskOutcome(task_id, name, outcome, xero_task_id))
    return outcomes


# -- members -> project users ------------------------------------------------------------------


@dataclass
class UserRow:
    member_id: str
    name: str
    email: str | None
    user_id: str | None = None
    user_name: str | None = None
    suggestion: dict[str, str] | None = None


async def _project_users(services: XeroServices, org: Organisation) -> list[dict[str, Any]]:
    return [
        {"user_id": str(u["userId"]).lower(), "name": str(u.get("name") or ""), "email": u.get("email")}
        for u in await _all(services.client, org, f"{PROJECTS}/ProjectsUsers")
    ]


def _suggester(free: Sequence[dict[str, Any]]) -> Callable[[Member], dict[str, str] | None]:
    """A member -> the free project user of the same email, else of the same normalised
    name, when exactly one has it. The users are grouped by both keys once, so a workspace
    of many members costs a lookup each, not a scan of every user per member."""
    by_email: dict[str, list[dict[str, Any]]] = {}
    by_name: dict[str, list[dict[str, Any]]] = {}
    for user in free:
        email = str(user.get("email") or "").strip().casefold()
        if email:
            by_email.setdefault(email, []).append(user)
        key = name_key(user["name"])
        if key:
            by_name.setdefault(key, []).append(user)

    def suggest(member: Member) -> dict[str, str] | None:
        email = (member.email or "").strip().casefold()
        found = by_email.get(email, []) if email else []
        if len(found) == 1:
            return {"user_id": found[0]["user_id"], "name": found[0]["name"], "reason": "email"}
        key = name_key(member.name)
        found = by_name.get(key, []) if key else []
        if len(found) == 1:
            return {"user_id": found[0]["user_id"], "name": found[0]["name"], "reason": "name"}
        return None

    return suggest


async def user_mappings(
    services: XeroServices, workspace_id: str, connection_id: str
) -> tuple[list[UserRow], list[dict[str, Any]]]:
    """Every active member with their project user, or a suggestion; and the project users."""
    org = _org(services, workspace_id, connection_id)
    users = await _project_users(services, org)
    names = {u["user_id"]: u["name"] for u in users}
    with services.database.session() as session:
        mapped = _links(session, connection_id, TIME_USER)
        taken = {link.xero_id for link in mapped.values()}
        suggest = _suggester([u for u in users if u["user_id"] not in taken])
        rows = []
        for member in session.scalars(
            scoped(Member, workspace_id).where(Member.active.is_(True)).order_by(Member.name)
        ):
            link = mapped.get(member.id)
            row = UserRow(member.id, member.name, member.email)
            if link is not None:
                row.user_id, row.user_name = link.xero_id, names.get(link.xero_id)
            else:
                row.suggestion = suggest(member)
            rows.append(row)
    return rows, users


async def set_user_mappings(
    services: XeroServices, workspace_id: str, connection_id: str, changes: Sequence[tuple[str, str | None]]
) -> None:
    """(member id, project user id or None to remove), checked against ``/ProjectsUsers``."""
    org = _org(services, workspace_id, connection_id)
    known = {u["user_id"] for u in await _project_users(services, org)}
    with services.database.session() as session:
        for index, (member_id, user_id) in enumerate(changes):
            if session.scalar(scoped(Member, workspace_id).where(Member.id == member_id)) is None:
                raise invalid(f"members[{index}].member_id", f"no member '{member_id}' in this workspace")
            existing = links.by_local_id(session, connection_id, TIME_USER, member_id)
            if user_id is None:
                if existing is not None:
                    session.delete(existing)
                    session.flush()
                continue
            if user_id.lower() not in known:
                raise invalid(
                    f"members[{index}].user_id", f"'{user_id}' is not a project user of this organisation"
                )
            other = links.by_xero_id(session, connection_id, TIME_USER, user_id.lower())
            if other is not None and other.local_id != member_id:
                raise ValidationFailed(
                    f"Project user '{user_id}' is already mapped to another member.",
                    [FieldError(f"members[{index}].user_id", "already mapped to another member")],
                )
            links.upsert(
                session,
                workspace_id,
                connection_id,
                TIME_USER,
                member_id,
                user_id.lower(),
                links.UNEXCHANGED,
                None,
                None,
            )


async def accept_user_suggestions(services: XeroServices, workspace_id: str, connection_id: str) -> int:
    """Map every unmapped member that has a suggestion; how many were mapped."""
    rows, _ = await user_mappings(services, workspace_id, connection_id)
    chosen = [(r.member_id, r.suggestion["user_id"]) for r in rows if r.suggestion]
    seen: set[str] = set()
    unique = [(m, u) for m, u in chosen if not (u in seen or seen.add(u))]  # type: ignore[func-returns-value]
    if unique:
        await set_user_mappings(services, workspace_id, connection_id, unique)
    return len(unique)


# -- time ----------------------------------------------------------------------------------------


@dataclass
class EntryOutcome:
    time_entry_id: str
    member_id: str
    task_id: str
    date: date
    minutes: int
    outcome: str
    """created, skipped (already in Xero), failed (a problem named, or Xero refused), or for a
    dry run: would_create."""
    xero_time_entry_id: str | None = None
    error: str | None = None
    payload: dict[str, Any] | None = None


@dataclass
class PushResult:
    dry_run: bool
    run_id: str | None
    outcomes: list[EntryOutcome] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


@dataclass
class _Planned:
    entry_id: str
    member_id: str
    task_id: str
    day: date
    minutes: int
    path: str | None = None
    body: dict[str, Any] | None = None
    problem: str | None = None
    linked_to: str | None = None
    in_doubt: str | None = None
    """The Idempotency-Key of a send whose outcome is unknown."""


def _date_utc(day: date, start: time | None, zone: str) -> str:
    """The entry's start (or midnight) in the workspace's timezone, as Xero's UTC instant."""
    try:
        tz = ZoneInfo(zone)
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    moment = datetime.combine(day, start or time(0, 0), tzinfo=tz).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _plan(
    session: Session,
    workspace_id: str,
    connection_id: str,
    project_id: str | None,
    date_from: date | None,
    date_to: date | None,
) -> list[_Planned]:
    project_links = _links(session, connection_id, TIME_PROJECT)
    if project_id is not None:
        project = get_scoped(session, Project, workspace_id, project_id)
        if project.id not in project_links:
            raise invalid("project_id", f"project '{project.name}' is not linked to a Xero project")
        project_ids = [project.id]
    else:
        project_ids = list(project_links)
    if not project_ids:
        return []
    task_links = _links(session, connection_id, TIME_TASK)
    user_links = _links(session, connection_id, TIME_USER)
    entry_links = _links(session, connection_id, TIME_ENTRY)
    workspace = session.get(Workspace, workspace_id)
    zone = workspace.timezone if workspace is not None else "UTC"
    query = (
        scoped(TimeEntry, workspace_id)
        .join(Task, Task.id == TimeEntry.task_id)
        .where(TimeEntry.approved.is_(True), Task.project_id.in_(project_ids))
        .order_by(TimeEntry.date, TimeEntry.created_at, TimeEntry.id)
    )
    if date_from is not None:
        query = query.where(TimeEntry.date >= date_from)
    if date_to is not None:
        query = query.where(TimeEntry.date <= date_to)
    entries = list(session.scalars(query))
    tasks = {
        t.id: t for t in session.scalars(scoped(Task, workspace_id).where(Task.project_id.in_(project_ids)))
    }
    members = {m.id: m for m in session.scalars(scoped(Member, workspace_id))}
    doubtful = {
        row.local_id: row
        for row in session.scalars(
            select(OutboxEntry).where(
                OutboxEntry.connection_id == connection_id,
                OutboxEntry.record_type == TIME_ENTRY,
                OutboxEntry.status == OutboxStatus.SENDING,
            )
        )
    }
    planned = []
    for entry in entries:
        item = _Planned(entry.id, entry.member_id, entry.task_id, entry.date, entry.worked_minutes)
        planned.append(item)
        if entry.id in entry_links:
            item.linked_to = entry_links[entry.id].xero_id
            continue
        if entry.id in doubtful:  # sent before, outcome unknown: the same request again
            item.in_doubt = doubtful[entry.id].idempotency_key
            payload = doubtful[entry.id].payload or {}
            item.path, item.body = payload.get("path"), payload.get("body")
            continue
        task = tasks[entry.task_id]
        member = members.get(entry.member_id)
        member_name = member.name if member is not None else entry.member_id
        task_link = task_links.get(task.id)
        user_link = user_links.get(entry.member_id)
        problems = []
        if user_link is None:
            problems.append(f"Member '{member_name}' is not mapped to a Xero project user; map them first.")
        if task_link is None:
            problems.append(
                f"Task '{task.name}' is not linked to a Xero task; link the project's tasks first."
            )
        if not 1 <= item.minutes <= MAX_DURATION:
            problems.append(f"The entry has {item.minutes} minutes; Xero takes 1 to {MAX_DURATION}.")
        if problems:
            item.problem = " ".join(problems)
            continue
        assert task_link is not None and user_link is not None
        item.path = f"{PROJECTS}/Projects/{project_links[task.project_id].xero_id}/Time"
        item.body = {
            "userId": user_link.xero_id,
            "taskId": task_link.xero_id,
            "dateUtc": _date_utc(entry.date, entry.start_time, zone),
            "duration": item.minutes,
            **({"description": entry.notes} if entry.notes else {}),
        }
    return planned


class _Busy(Exception):
    """Another push started sending this entry after this one planned it."""


def _prepare(services: XeroServices, workspace_id: str, connection_id: str, item: _Planned) -> str:
    """Commit the outbox row as *sending*, with the request and its key, before the call.

    Two pushes at once cannot both send an entry: a row another push made *sending* since
    this one planned is left to it (``_Busy``), and two first attempts derive the same
    unique key, so the second insert fails rather than sending twice."""
    if item.in_doubt is not None:
        return item.in_doubt
    try:
        return _claim_row(services, workspace_id, connection_id, item)
    except IntegrityError as exc:
        raise _Busy from exc


def _claim_row(services: XeroServices, workspace_id: str, connection_id: str, item: _Planned) -> str:
    with services.database.session() as session:
        row = session.scalar(
            select(OutboxEntry).where(
                OutboxEntry.connection_id == connection_id,
                OutboxEntry.record_type == TIME_ENTRY,
                OutboxEntry.local_id == item.entry_id,
            )
        )
        if row is not None and row.status is OutboxStatus.SENDING:
            raise _Busy
        if row is None:
            row = OutboxEntry(
                workspace_id=workspace_id,
                connection_id=connection_id,
                record_type=TIME_ENTRY,
                local_id=item.entry_id,
                operation="create",
                attempts=0,
            )
            session.add(row)
        row.attempts = (row.attempts or 0) + 1
        row.idempotency_key = derived_idempotency_key(
            "xero_project_time", connection_id, item.entry_id, row.attempts
        )
        row.status, row.last_error = OutboxStatus.SENDING, None
        row.payload = {"path": item.path, "body": item.body}
        return row.idempotency_key


def _settle(
    services: XeroServices,
    workspace_id: str,
    connection_id: str,
    item: _Planned,
    xero_id: str | None,
    error: str | None,
) -> None:
    """Record the answer: the link and the row sent, or Xero's refusal, in one transaction."""
    with services.database.session() as session:
        row = session.scalar(
            select(OutboxEntry).where(
                OutboxEntry.connection_id == connection_id,
                OutboxEntry.record_type == TIME_ENTRY,
                OutboxEntry.local_id == item.entry_id,
            )
        )
        if xero_id is not None:
            links.upsert(
                session,
                workspace_id,
                connection_id,
                TIME_ENTRY,
                item.entry_id,
                xero_id,
                links.content_hash(item.body),
                None,
                item.body,
            )
            if row is not None:
                row.status, row.sent_at, row.last_error = OutboxStatus.SENT, services.clock.utcnow(), None
        elif row is not None:
            row.status, row.last_error = OutboxStatus.FAILED, error


async def _find_landed(
    client: XeroClient, org: Organisation, item: _Planned, session_taken: set[str]
) -> str | None:
    """An entry whose send was cut short may be in Xero: the same user, task, instant,
    duration and description, linked to no other entry."""
    assert item.path is not None and item.body is not None
    body = item.body
    params = {
        "userId": body["userId"],
        "taskId": body["taskId"],
        "dateAfterUtc": body["dateUtc"],
        "dateBeforeUtc": body["dateUtc"],
    }
    for remote in await _all(client, org, item.path, params):
        remote_id = str(remote.get("timeEntryId", "")).lower()
        if (
            remote_id not in session_taken
            and remote.get("duration") == body["duration"]
            and (remote.get("description") or None) == (body.get("description") or None)
        ):
            return remote_id
    return None


async def push_time(
    services: XeroServices,
    workspace_id: str,
    connection_id: str,
    *,
    dry_run: bool = False,
    project_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> PushResult:
    """Send each approved time entry of the linked projects that Xero does not have yet."""
    if date_from is not None and date_to is not None and date_to < date_from:
        raise invalid("date_to", "must not be before date_from")
    with services.database.session() as session:
        org = _organisation(get_connection(session, workspace_id, connection_id))
        planned = _plan(session, workspace_id, connection_id, project_id, date_from, date_to)
        run = runs.start_run(session, workspace_id, connection_id, "manual", [TIME_ENTRY], dry_run)
        run_id = run.id
        taken = {link.xero_id for link in _links(session, connection_id, TIME_ENTRY).values()}
    calls_before = services.client.counter.total(org.tenant_id)
    result = PushResult(dry_run, run_id)
    for item in planned:
        outcome = EntryOutcome(item.entry_id, item.member_id, item.task_id, item.day, item.minutes, "failed")
        result.outcomes.append(outcome)
        if item.linked_to is not None:
            outcome.outcome, outcome.xero_time_entry_id = "skipped", item.linked_to
            continue
        if item.problem is not None:
            outcome.error = item.problem
            continue
        outcome.payload = item.body
        if dry_run:
            outcome.outcome = "would_create"
            continue
        if result.error is not None:
            outcome.error = result.error
            continue
        assert item.path is not None and item.body is not None
        try:
            found = await _find_landed(services.client, org, item, taken) if item.in_doubt else None
            if found is not None:
                xero_id = found
            else:
                key = _prepare(services, workspace_id, connection_id, item)
                answer = await _write(services.client, org, item.path, item.body, key)
                xero_id = str(answer["timeEntryId"]).lower()
        except _Busy:
            outcome.outcome = "skipped"
            outcome.error = "Another push is sending this entry right now; it is not sent twice."
            continue
        except XeroValidationError as exc:
            _settle(services, workspace_id, connection_id, item, None, exc.detail)
            outcome.error = exc.detail
            continue
        except XeroError as exc:
            # Whether it landed is unknown: the row stays *sending* for the next push to
            # find or replay; the rest would fail the same way, so stop here.
            log.warning("xero_projects.time.push_stopped", time_entry_id=item.entry_id, error=exc.code)
            outcome.error = result.error = (
                f"{exc.detail} Whether Xero has this entry is unknown; the next push finds it or "
                "resends it under the same Idempotency-Key, so it is not duplicated."
            )
            continue
        _settle(services, workspace_id, connection_id, item, xero_id, None)
        taken.add(xero_id)
        outcome.outcome, outcome.xero_time_entry_id = "created", xero_id
    calls = services.client.counter.total(org.tenant_id) - calls_before
    with services.database.session() as session:
        finished = session.get(SyncRun, run_id)
        assert finished is not None
        run = finished
        for outcome in result.outcomes:
            name = "would_create" if outcome.outcome == "would_create" else outcome.outcome
            if outcome.outcome == "failed":
                runs.record_issue(
                    session, run, TIME_ENTRY, "push", outcome.error or "Not sent.", outcome.time_entry_id
                )
            else:
                runs.count(run, name)
            if dry_run:
                run.preview = [
                    *run.preview,
                    {"time_entry_id": outcome.time_entry_id, "action": outcome.outcome},
                ]
        runs.finish_run(run, calls, result.error)
        result.counts = {"created": 0, "skipped": 0, "failed": 0, **dict(run.counts), "calls": calls}
    return result
