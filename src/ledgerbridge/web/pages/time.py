"""The time page: one member's week as a grid (project and task by day, with totals), the
week's entries with add, edit and delete, a running timer, and "Approve week" for owners
and admins.

Every write goes through the API's own time-entry resource (``web.api.time_entries``):
the same input schema (``TimeEntryCreate``/``TimeEntryUpdate``), the same hooks (an
invoiced entry is refused, an unassigned member is refused, the times must add up) and
the same store (``crud.store``), so the page and the API never disagree about what an
entry may be.

A running timer is an entry with a start time and neither an end time nor a duration (the
columns are nullable; no other meaning is given to that shape). Starting one checks the
member has none running; stopping sets the end time to the current minute, in the
workspace's time zone (entries hold whole minutes, as ``TimeEntry.worked_minutes`` counts
them), and stores it through the API's validation.

Who sees what: a member sees and changes their own week (the member linked to their user);
owners and admins pick any member. Entries a document or Xero already holds are shown
locked with the reason: on an invoice, on a contractor's bill, in a timesheet sent to Xero
Payroll, or sent to Xero Projects. Those rules (and who may change whose entries) are
``work.time_locks``, which the API's time-entry hooks apply too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ledgerbridge.errors import FieldError, LedgerbridgeError, NotFound, PermissionDenied, ValidationFailed
from ledgerbridge.web.api.crud import Input, store
from ledgerbridge.web.api.time_entries import TimeEntryCreate, TimeEntryUpdate, time_entries
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, refused, render
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.work import time_locks
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import (
    Member,
    Project,
    Task,
    TaskUnassignment,
    TimeEntry,
    Workspace,
    WorkType,
)
from ledgerbridge.work.repository import get_reference, get_scoped, scoped
from ledgerbridge.work.time_locks import lock_reasons, own_member

router = APIRouter(include_in_schema=False)
PAGE = "/time"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MINUTES_PER_HOUR = 60
MAX_HOURS = Decimal(24)
TASK_LIMIT = 200
RECENT_DAYS = 28
RECENT_LIMIT = 30
TWO_PLACES = Decimal("0.01")
_HOURS_AND_MINUTES = re.compile(r"^(\d{1,2}):([0-5]\d)$")


def utcnow() -> datetime:
    """The current instant; a function so tests can set the clock the timer reads."""
    return datetime.now(UTC)


# ------------------------------------------------------------------------------ reading


def hours(minutes: int) -> Decimal:
    """Worked minutes as hours to 2 places, as the payroll timesheet lines show them."""
    return (Decimal(minutes) / MINUTES_PER_HOUR).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def is_running(entry: TimeEntry) -> bool:
    """A timer: started, with neither an end time nor a duration yet."""
    return entry.start_time is not None and entry.end_time is None and entry.duration_minutes is None


def _zone(session: Session, workspace_id: str) -> ZoneInfo:
    workspace = session.get(Workspace, workspace_id)
    try:
        return ZoneInfo(workspace.timezone if workspace is not None else "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_now(session: Session, workspace_id: str) -> datetime:
    """Now on the workspace's wall clock: entries' dates and times are in its time zone."""
    return utcnow().astimezone(_zone(session, workspace_id))


def choose_member(session: Session, actor: Actor, requested: str | None) -> Member | None:
    """Whose week: the requested member for owners and admins, otherwise the actor's own.

    A member asking for someone else's week is refused (403); an unknown id is a 404."""
    own = own_member(session, actor)
    if requested and (own is None or requested != own.id):
        if not actor.role.manages:
            raise PermissionDenied("Only workspace owners and admins may see another member's time.")
        return get_scoped(session, Member, actor.workspace_id, requested)
    if own is not None or not actor.role.manages:
        return own
    return session.scalar(
        scoped(Member, actor.workspace_id).where(Member.active.is_(True)).order_by(Member.name, Member.id)
    )


def load_entry(session: Session, actor: Actor, entry_id: str) -> TimeEntry:
    """The entry in this workspace (404 otherwise) that the actor may change: their own,
    or anyone's for owners and admins."""
    entry = get_scoped(session, TimeEntry, actor.workspace_id, entry_id)
    time_locks.refuse_other_members(session, actor, entry.member_id)
    return entry


@dataclass
class GridRow:
    project: str
    task: str
    minutes: list[int] = field(default_factory=lambda: [0] * 7)

    @property
    def hours(self) -> list[Decimal]:
        return [hours(m) for m in self.minutes]

    @property
    def total(self) -> Decimal:
        return hours(sum(self.minutes))


@dataclass
class Week:
    """One member's week: rows per project and task, totals per day and for the week."""

    monday: date
    rows: list[GridRow]

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    @property
    def day_totals(self) -> list[Decimal]:
        return [hours(sum(r.minutes[i] for r in self.rows)) for i in range(7)]

    @property
    def total(self) -> Decimal:
        return hours(sum(sum(r.minutes) for r in self.rows))


def week_grid(monday: date, entries: Sequence[TimeEntry], labels: Mapping[str, tuple[str, str]]) -> Week:
    """Sum worked minutes per task and day (sums in minutes, shown in hours, so the
    totals are the hours of the summed minutes, not sums of rounded cells)."""
    rows: dict[str, GridRow] = {}
    for entry in entries:
        project, task = labels.get(entry.task_id, ("", "Unknown task"))
        row = rows.setdefault(entry.task_id, GridRow(project, task))
        row.minutes[(entry.date - monday).days] += entry.worked_minutes
    ordered = sorted(rows.values(), key=lambda r: (r.project.lower(), r.task.lower()))
    return Week(monday, ordered)


def week_entries(session: Session, member: Member, monday: date) -> list[TimeEntry]:
    return list(
        session.scalars(
            scoped(TimeEntry, member.workspace_id)
            .where(
                TimeEntry.member_id == member.id,
                TimeEntry.date >= monday,
                TimeEntry.date <= monday + timedelta(days=6),
            )
            .order_by(TimeEntry.date, TimeEntry.start_time, TimeEntry.created_at, TimeEntry.id)
        )
    )


def task_labels(session: Session, workspace_id: str, task_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    ids = set(task_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Task.id, Project.name, Task.name)
        .join(Project, Project.id == Task.project_id)
        .where(Task.workspace_id == workspace_id, Task.id.in_(ids))
    )
    return {task_id: (project, task) for task_id, project, task in rows}


@dataclass(frozen=True)
class TaskChoices:
    """The tasks the forms offer, by project: at most ``TASK_LIMIT`` of the open ones (a
    workspace with a task per Xero contact has thousands), narrowed by ``search``, plus
    the member's recent tasks and the ones a form already holds."""

    groups: list[tuple[str, list[Task]]]
    more: bool
    search: str


def task_choices(
    session: Session,
    workspace_id: str,
    member: Member | None,
    search: str | None = None,
    keep: Iterable[str] = (),
) -> TaskChoices:
    """Open tasks of open projects, without those the member is unassigned from."""
    query = (
        select(Project.name, Task)
        .join(Project, Project.id == Task.project_id)
        .where(Task.workspace_id == workspace_id, Task.archived.is_(False), Project.archived.is_(False))
        .order_by(Project.name, Task.name, Task.id)
    )
    if member is not None:
        unassigned = select(TaskUnassignment.task_id).where(TaskUnassignment.member_id == member.id)
        query = query.where(Task.id.not_in(unassigned))
    text = (search or "").strip()
    if text:
        pattern = f"%{text}%"
        query = query.where(or_(Task.name.ilike(pattern), Project.name.ilike(pattern)))
    rows = [(project, task) for project, task in session.execute(query.limit(TASK_LIMIT + 1)).tuples()]
    more = len(rows) > TASK_LIMIT
    rows = rows[:TASK_LIMIT]
    wanted = set(keep) | (_recent_task_ids(session, member) if member is not None else set())
    missing = wanted - {task.id for _, task in rows}
    if missing:
        extra = session.execute(
            select(Project.name, Task)
            .join(Project, Project.id == Task.project_id)
            .where(Task.workspace_id == workspace_id, Task.id.in_(missing))
        ).tuples()
        rows = sorted([*rows, *extra], key=lambda row: (row[0].lower(), row[1].name.lower(), row[1].id))
    grouped: dict[str, list[Task]] = defaultdict(list)
    for project, task in rows:
        grouped[project].append(task)
    return TaskChoices(list(grouped.items()), more, text)


def _recent_task_ids(session: Session, member: Member) -> set[str]:
    """Open tasks the member tracked time on lately: always offered, whatever the limit."""
    since = local_now(session, member.workspace_id).date() - timedelta(days=RECENT_DAYS)
    return set(
        session.scalars(
            select(TimeEntry.task_id)
            .join(Task, Task.id == TimeEntry.task_id)
            .where(
                TimeEntry.workspace_id == member.workspace_id,
                TimeEntry.member_id == member.id,
                TimeEntry.date >= since,
                Task.archived.is_(False),
            )
            .distinct()
            .limit(RECENT_LIMIT)
        )
    )


def running_entry(session: Session, member: Member) -> TimeEntry | None:
    return session.scalar(
        scoped(TimeEntry, member.workspace_id).where(
            TimeEntry.member_id == member.id,
            TimeEntry.start_time.is_not(None),
            TimeEntry.end_time.is_(None),
            TimeEntry.duration_minutes.is_(None),
        )
    )


# ------------------------------------------------------------------------------ forms


def _hours_to_minutes(text: str) -> int:
    """ "1.5", "1,5" or "1:30" hours as whole minutes (half a minute rounds up)."""
    matched = _HOURS_AND_MINUTES.match(text)
    if matched:
        return int(matched.group(1)) * MINUTES_PER_HOUR + int(matched.group(2))
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise ValueError from None
    if not value.is_finite() or value <= 0 or value > MAX_HOURS:
        raise ValueError
    return int((value * MINUTES_PER_HOUR).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _field_values(form: Mapping[str, str], *, manages: bool) -> tuple[dict[str, Any], list[FieldError]]:
    """The form's values in the API's field names, and the errors only the form can make
    (hours that are not a number); the API's schema and hooks judge the rest."""
    errors: list[FieldError] = []
    values: dict[str, Any] = {
        "work_type_id": form.get("work_type_id") or None,
        "start_time": form.get("start_time") or None,
        "end_time": form.get("end_time") or None,
        "break_minutes": form.get("break_minutes") or 0,
        "billable": form.get("billable") == "on",
        "notes": (form.get("notes") or "").strip() or None,
        "duration_minutes": None,
    }
    for name in ("task_id", "date"):  # left out: "required" on a new entry, unchanged on an edit
        if form.get(name):
            values[name] = form[name]
    text = (form.get("hours") or "").strip()
    if text:
        try:
            values["duration_minutes"] = _hours_to_minutes(text)
        except ValueError:
            errors.append(
                FieldError("hours", "enter the hours as a number from 0.01 to 24, such as 1.5 or 1:30")
            )
    if manages and "approval_shown" in form:  # an unticked box sends nothing: the marker says it was there
        values["approved"] = form.get("approved") == "on"
    return values, errors


_FIELD_NAMES = {"duration_minutes": "hours", "member_id": "task_id", "invoice_line_id": "hours"}
_LABELS = {
    "task_id": "Task",
    "date": "Date",
    "hours": "Hours",
    "start_time": "Start",
    "end_time": "End",
    "break_minutes": "Break (minutes)",
    "work_type_id": "Work type",
    "notes": "Notes",
}


def _plain(message: str) -> str:
    return (
        message.replace("start_time", "the start")
        .replace("end_time", "the end")
        .replace("duration_minutes", "hours")
        .replace("a duration", "hours")
    )


def _validated(schema: type[Input], values: dict[str, Any], form_errors: list[FieldError]) -> Input:
    """The API's input schema over the form's values; every bad field is named at once."""
    errors = list(form_errors)
    body: Input | None = None
    try:
        body = schema.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "date"
            name = _FIELD_NAMES.get(name, name)
            if all(e.field != name for e in errors):
                errors.append(FieldError(name, _schema_message(name, error)))
    if errors or body is None:
        raise ValidationFailed("Some fields need fixing.", errors)
    return body


def _errors_of(exc: LedgerbridgeError) -> dict[str, str]:
    """Field name on the form -> "Label: what to fix", from the form, the schema or the
    API's hooks; an error of no field is the form's ("form")."""
    found: dict[str, str] = {}
    for item in exc.errors:
        name = _FIELD_NAMES.get(item.field, item.field)
        found.setdefault(name, _plain(item.message))
    if not exc.errors:
        found["form"] = exc.detail
    return {
        name: text if name == "form" else f"{_LABELS.get(name, name.replace('_', ' ').capitalize())}: {text}"
        for name, text in found.items()
    }


def _schema_message(name: str, error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if name == "task_id" and kind in {"missing", "string_type"}:
        return "choose the task you worked on"
    if name == "date":
        return "enter the date as YYYY-MM-DD"
    if name in {"start_time", "end_time"}:
        return "enter a time such as 09:00 or 17:30"
    if name == "break_minutes":
        return "enter whole minutes from 0 to 1440"
    if name == "hours":
        return "enter from 0.01 to 24 hours"
    return str(error.get("msg", "is not valid"))


def _store_entry(session: Session, actor: Actor, entry: TimeEntry, values: dict[str, Any]) -> None:
    """Write through the API's resource: its references, hooks and validation."""
    store(session, time_entries, actor, entry, values)


# ------------------------------------------------------------------------------ pages


def week_link(member: Member | None, monday: date, *, chosen: bool) -> str:
    query = {"week": monday.isoformat()}
    if member is not None and chosen:
        query["member"] = member.id
    return PAGE + "?" + urlencode(query)


def _parse_week(value: str | None, today: date) -> date:
    try:
        return monday_of(date.fromisoformat(value)) if value else monday_of(today)
    except ValueError:
        return monday_of(today)


def _week_page(
    request: Request,
    session: Session,
    actor: Actor,
    member: Member | None,
    monday: date,
    *,
    form: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
    task_search: str | None = None,
) -> HTMLResponse:
    now = local_now(session, actor.workspace_id)
    own = own_member(session, actor)
    chosen = member is not None and (own is None or member.id != own.id)
    entries = week_entries(session, member, monday) if member is not None else []
    labels = task_labels(session, actor.workspace_id, [e.task_id for e in entries])
    running = running_entry(session, member) if member is not None else None
    if running is not None and running.task_id not in labels:
        labels.update(task_labels(session, actor.workspace_id, [running.task_id]))
    locks = lock_reasons(session, entries)
    members = (
        list(
            session.scalars(
                scoped(Member, actor.workspace_id).where(Member.active.is_(True)).order_by(Member.name)
            )
        )
        if actor.role.manages
        else []
    )
    if member is not None and actor.role.manages and all(m.id != member.id for m in members):
        members.append(member)
    hidden_member = member.id if chosen and member is not None else ""
    return render(
        request,
        "work/time.html",
        {
            "member": member,
            "own": own,
            "members": members,
            "hidden_member": hidden_member,
            "week": week_grid(monday, entries, labels),
            "day_names": DAYS,
            "entries": entries,
            "labels": labels,
            "locks": locks,
            "is_running": is_running,
            "hours_of": hours,
            "running": running,
            "running_since": _started_at(running, now.tzinfo) if running is not None else None,
            "elapsed": _elapsed(running, now) if running is not None else None,
            "tasks": task_choices(
                session,
                actor.workspace_id,
                member,
                task_search,
                [form["task_id"]] if form and form.get("task_id") else [],
            ),
            "work_types": list(
                session.scalars(
                    scoped(WorkType, actor.workspace_id)
                    .where(WorkType.archived.is_(False))
                    .order_by(WorkType.name)
                )
            ),
            "previous_week": week_link(member, monday - timedelta(days=7), chosen=chosen),
            "next_week": week_link(member, monday + timedelta(days=7), chosen=chosen),
            "this_week": week_link(member, monday_of(now.date()), chosen=chosen),
            "is_this_week": monday == monday_of(now.date()),
            "here": week_link(member, monday, chosen=chosen),
            "today": now.date(),
            "form": form
            or {
                "date": (now.date() if monday_of(now.date()) == monday else monday).isoformat(),
                "billable": "on",
            },
            "errors": errors or {},
            "can_manage": actor.role.manages,
            "task_limit": TASK_LIMIT,
            "unapproved": sum(
                1 for e in entries if not e.approved and not is_running(e) and e.worked_minutes > 0
            ),
        },
        session=session,
        actor=actor,
        status_code=status_code,
    )


def _started_at(entry: TimeEntry, zone: Any) -> datetime:
    assert entry.start_time is not None
    return datetime.combine(entry.date, entry.start_time, tzinfo=zone)


def _elapsed(entry: TimeEntry, now: datetime) -> str:
    seconds = max(int((now - _started_at(entry, now.tzinfo)).total_seconds()), 0)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}"


@router.get(PAGE, response_class=HTMLResponse)
def time_page(
    request: Request,
    session: SessionDep,
    member: str | None = None,
    week: str | None = None,
    task_q: str | None = None,
) -> Response:
    actor = page_actor(request, session)
    try:
        chosen = choose_member(session, actor, member)
    except NotFound as exc:
        return refused(request, session, actor, exc.detail, 404)
    except PermissionDenied as exc:
        return refused(request, session, actor, exc.detail, 403)
    today = local_now(session, actor.workspace_id).date()
    return _week_page(request, session, actor, chosen, _parse_week(week, today), task_search=task_q)


async def _form(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


def _back(member: Member, monday: date, actor: Actor, session: Session) -> str:
    own = own_member(session, actor)
    return week_link(member, monday, chosen=own is None or own.id != member.id)


@router.post(PAGE + "/entries", dependencies=[Depends(require_csrf)])
async def add_entry(request: Request, session: SessionDep) -> Response:
    """Add an entry to the chosen member's week; bad input comes back with the values kept."""
    actor = page_actor(request, session)
    form = await _form(request)
    try:
        member = choose_member(session, actor, form.get("member_id") or None)
    except NotFound as exc:
        return refused(request, session, actor, exc.detail, 404)
    except PermissionDenied as exc:
        return refused(request, session, actor, exc.detail, 403)
    today = local_now(session, actor.workspace_id).date()
    monday = _parse_week(form.get("week"), today)
    if member is None:
        return refused(
            request, session, actor, "Your user is not linked to a member yet; ask an admin.", 403
        )
    values, form_errors = _field_values(form, manages=actor.role.manages)
    values.pop("approved", None)
    try:
        body = _validated(TimeEntryCreate, {**values, "member_id": member.id}, form_errors)
        entry = TimeEntry(workspace_id=actor.workspace_id)
        _store_entry(session, actor, entry, body.model_dump())
    except LedgerbridgeError as exc:
        session.rollback()
        return _week_page(
            request,
            session,
            actor,
            member,
            monday,
            form=form,
            errors=_errors_of(exc),
            status_code=422,
            task_search=form.get("task_q"),
        )
    return redirect(
        request,
        _back(member, monday_of(entry.date), actor, session),
        f"Added {hours(entry.worked_minutes)} hours on {entry.date:%a %d %b}.",
        "success",
    )


def _entry_page(
    request: Request,
    session: Session,
    actor: Actor,
    entry: TimeEntry,
    *,
    form: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
    task_search: str | None = None,
) -> HTMLResponse:
    member = session.get(Member, entry.member_id)
    lock = lock_reasons(session, [entry]).get(entry.id)
    if lock is None and entry.approved and not actor.role.manages:
        lock = time_locks.APPROVED_REASON
    assert member is not None
    return render(
        request,
        "work/time_entry.html",
        {
            "entry": entry,
            "member": member,
            "lock": lock,
            "running": is_running(entry),
            "form": form or _entry_form(entry),
            "errors": errors or {},
            "tasks": task_choices(
                session,
                actor.workspace_id,
                member,
                task_search,
                [entry.task_id, *([form["task_id"]] if form and form.get("task_id") else [])],
            ),
            "labels": task_labels(session, actor.workspace_id, [entry.task_id]),
            "work_types": list(
                session.scalars(
                    scoped(WorkType, actor.workspace_id)
                    .where(or_(WorkType.archived.is_(False), WorkType.id == entry.work_type_id))
                    .order_by(WorkType.name)
                )
            ),
            "back": _back(member, monday_of(entry.date), actor, session),
            "hours_of": hours,
            "can_manage": actor.role.manages,
        },
        session=session,
        actor=actor,
        status_code=status_code,
    )


def _entry_form(entry: TimeEntry) -> dict[str, str]:
    def clock(value: time | None) -> str:
        return value.strftime("%H:%M") if value is not None else ""

    return {
        "date": entry.date.isoformat(),
        "task_id": entry.task_id,
        "work_type_id": entry.work_type_id or "",
        "hours": str(hours(entry.duration_minutes)) if entry.duration_minutes is not None else "",
        "start_time": clock(entry.start_time),
        "end_time": clock(entry.end_time),
        "break_minutes": str(entry.break_minutes or 0),
        "notes": entry.notes or "",
        **({"billable": "on"} if entry.billable else {}),
        **({"approved": "on"} if entry.approved else {}),
    }


def _entry_or_refusal(
    request: Request, session: Session, actor: Actor, entry_id: str
) -> TimeEntry | HTMLResponse:
    try:
        return load_entry(session, actor, entry_id)
    except NotFound as exc:
        return refused(request, session, actor, exc.detail, 404)
    except PermissionDenied as exc:
        return refused(request, session, actor, exc.detail, 403)


@router.get(PAGE + "/entries/{entry_id}", response_class=HTMLResponse)
def edit_entry(entry_id: str, request: Request, session: SessionDep, task_q: str | None = None) -> Response:
    actor = page_actor(request, session)
    entry = _entry_or_refusal(request, session, actor, entry_id)
    if isinstance(entry, HTMLResponse):
        return entry
    return _entry_page(request, session, actor, entry, task_search=task_q)


@router.post(PAGE + "/entries/{entry_id}", dependencies=[Depends(require_csrf)])
async def update_entry(entry_id: str, request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    entry = _entry_or_refusal(request, session, actor, entry_id)
    if isinstance(entry, HTMLResponse):
        return entry
    form = await _form(request)
    values, form_errors = _field_values(form, manages=actor.role.manages)
    try:
        time_locks.refuse_change(session, actor, entry)
        changes = _validated(TimeEntryUpdate, values, form_errors).model_dump(exclude_unset=True)
        if "task_id" in changes and changes["task_id"] == entry.task_id:
            del changes["task_id"]  # unchanged: an unassigned member's existing entry stays editable
        _store_entry(session, actor, entry, changes)
    except LedgerbridgeError as exc:
        session.rollback()
        entry = get_scoped(session, TimeEntry, actor.workspace_id, entry_id)
        return _entry_page(
            request,
            session,
            actor,
            entry,
            form=form,
            errors=_errors_of(exc),
            status_code=422,
            task_search=form.get("task_q"),
        )
    member = session.get(Member, entry.member_id)
    assert member is not None
    return redirect(
        request,
        _back(member, monday_of(entry.date), actor, session),
        f"Saved: {hours(entry.worked_minutes)} hours on {entry.date:%a %d %b}.",
        "success",
    )


@router.post(PAGE + "/entries/{entry_id}/delete", dependencies=[Depends(require_csrf)])
def delete_entry(entry_id: str, request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    entry = _entry_or_refusal(request, session, actor, entry_id)
    if isinstance(entry, HTMLResponse):
        return entry
    member = session.get(Member, entry.member_id)
    assert member is not None
    back = _back(member, monday_of(entry.date), actor, session)
    try:
        assert time_entries.before_delete is not None  # work.time_locks.refuse_change
        time_entries.before_delete(session, actor, entry)
    except LedgerbridgeError as exc:
        return redirect(request, back, exc.detail, "error")
    session.delete(entry)
    session.flush()
    return redirect(request, back, f"Deleted the entry of {entry.date:%a %d %b}.", "success")


# ------------------------------------------------------------------------------ timer


@router.post(PAGE + "/timer/start", dependencies=[Depends(require_csrf)])
async def start_timer(request: Request, session: SessionDep) -> Response:
    """Start a running entry now, on the chosen task; one running timer per member."""
    actor = page_actor(request, session)
    form = await _form(request)
    try:
        member = choose_member(session, actor, form.get("member_id") or None)
    except NotFound as exc:
        return refused(request, session, actor, exc.detail, 404)
    except PermissionDenied as exc:
        return refused(request, session, actor, exc.detail, 403)
    if member is None:
        return refused(
            request, session, actor, "Your user is not linked to a member yet; ask an admin.", 403
        )
    now = local_now(session, actor.workspace_id)
    back = _back(member, monday_of(now.date()), actor, session)
    # Lock the member's row (PostgreSQL) so two Start clicks cannot both find no timer.
    session.scalar(select(Member).where(Member.id == member.id).with_for_update())
    if running_entry(session, member) is not None:
        return redirect(request, back, "A timer is already running for this member: stop it first.", "error")
    task_id = form.get("task_id") or ""
    if not task_id:
        return redirect(request, back, "Task: choose the task to time, then press Start.", "error")
    values = {
        "member_id": member.id,
        "task_id": task_id,
        "date": now.date(),
        "start_time": now.time().replace(second=0, microsecond=0, tzinfo=None),
        "notes": (form.get("notes") or "").strip() or None,
        "billable": True,
    }
    try:
        get_reference(session, Task, actor.workspace_id, task_id, "task_id")
        entry = TimeEntry(workspace_id=actor.workspace_id, break_minutes=0)
        # The API's apply hook (assignment check); its validate hook wants an end, which a
        # running timer does not have yet: stopping it runs that check.
        assert time_entries.apply is not None
        time_entries.apply(session, actor, entry, values)
        session.add(entry)
        session.flush()
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, back, _plain(exc.errors[0].message if exc.errors else exc.detail), "error")
    return redirect(request, back, f"Timer started at {now:%H:%M}.", "success")


@router.post(PAGE + "/timer/stop", dependencies=[Depends(require_csrf)])
async def stop_timer(request: Request, session: SessionDep) -> Response:
    """Stop the member's running entry at the current minute (at least one minute)."""
    actor = page_actor(request, session)
    form = await _form(request)
    entry = _entry_or_refusal(request, session, actor, form.get("entry_id") or "")
    if isinstance(entry, HTMLResponse):
        return entry
    member = session.get(Member, entry.member_id)
    assert member is not None
    back = _back(member, monday_of(entry.date), actor, session)
    if not is_running(entry):
        return redirect(request, back, "This timer was already stopped.", "info")
    now = local_now(session, actor.workspace_id)
    started = _started_at(entry, now.tzinfo)
    minutes = max(int((now - started).total_seconds()) // 60, 1)
    if now.date() != entry.date or started + timedelta(minutes=minutes) >= datetime.combine(
        entry.date + timedelta(days=1), time(0), tzinfo=now.tzinfo
    ):
        message = (
            f"This timer ran past midnight (started {started:%a %d %b %H:%M}). "
            "Enter the hours you worked on its day with Edit, or delete it."
        )
        return redirect(request, back, message, "error")
    end = (started + timedelta(minutes=minutes)).time().replace(tzinfo=None)
    try:
        _store_entry(session, actor, entry, {"end_time": end})
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, back, exc.detail, "error")
    return redirect(
        request, back, f"Timer stopped: {hours(entry.worked_minutes)} hours ({minutes} minutes).", "success"
    )


# ------------------------------------------------------------------------------ approval


@router.post(PAGE + "/approve", dependencies=[Depends(require_csrf)])
async def approve_week(request: Request, session: SessionDep) -> Response:
    """Approve the member's finished entries of the week (what invoices, bills and Xero
    Projects take), each through the API's update."""
    actor = page_actor(request, session)
    form = await _form(request)
    try:
        actor.require_manager()
        member = get_scoped(session, Member, actor.workspace_id, form.get("member_id") or "")
    except NotFound as exc:
        return refused(request, session, actor, exc.detail, 404)
    except PermissionDenied as exc:
        return refused(request, session, actor, exc.detail, 403)
    today = local_now(session, actor.workspace_id).date()
    monday = _parse_week(form.get("week"), today)
    back = _back(member, monday, actor, session)
    entries = [
        e
        for e in week_entries(session, member, monday)
        if not e.approved and not is_running(e) and e.worked_minutes > 0
    ]
    locked = lock_reasons(session, entries)  # a document or Xero holds them as they are
    entries = [e for e in entries if e.id not in locked]
    try:
        for entry in entries:
            _store_entry(session, actor, entry, {"approved": True})
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, back, exc.detail, "error")
    if not entries:
        return redirect(
            request, back, "Nothing to approve: every finished entry of this week is approved.", "info"
        )
    total = hours(sum(e.worked_minutes for e in entries))
    word = "entry" if len(entries) == 1 else "entries"
    return redirect(
        request, back, f"Approved {len(entries)} {word} ({total} hours) of {member.name}.", "success"
    )


__all__ = ["hours", "is_running", "lock_reasons", "router", "week_grid"]
