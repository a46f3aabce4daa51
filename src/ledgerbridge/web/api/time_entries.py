"""Time entries, with the rules that keep hours honest; which entries may change, and by
whom, is ``work.time_locks`` (the time page uses the same)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import Field, computed_field
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from ledgerbridge.errors import FieldError, ValidationFailed
from ledgerbridge.web.api.crud import Input, ListQuery, Output, Resource
from ledgerbridge.work import assignments, time_locks
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Member, Task, TimeEntry, WorkType

MINUTES_PER_DAY = 24 * 60


class TimeEntryFields(Input):
    work_type_id: str | None = None
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    duration_minutes: int | None = Field(None, ge=1, le=MINUTES_PER_DAY)
    break_minutes: int = Field(0, ge=0, le=MINUTES_PER_DAY)
    billable: bool = True
    approved: bool = False
    notes: str | None = None


class TimeEntryCreate(TimeEntryFields):
    member_id: str
    task_id: str
    date: dt.date


class TimeEntryUpdate(TimeEntryFields):
    member_id: str | None = None
    task_id: str | None = None
    date: dt.date | None = None
    break_minutes: int | None = Field(None, ge=0, le=MINUTES_PER_DAY)  # type: ignore[assignment]
    billable: bool | None = None  # type: ignore[assignment]
    approved: bool | None = None  # type: ignore[assignment]


class TimeEntryRead(Output):
    id: str
    member_id: str
    task_id: str
    work_type_id: str | None
    date: dt.date
    start_time: dt.time | None
    end_time: dt.time | None
    duration_minutes: int | None
    break_minutes: int
    billable: bool
    approved: bool
    notes: str | None
    invoice_line_id: str | None
    worked_minutes: int
    lock: str | None = Field(
        None,
        description="Why this entry can no longer be changed (on an invoice or bill, sent to "
        "Xero Payroll or Xero Projects); null when it can.",
    )
    created_at: dt.datetime
    updated_at: dt.datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def invoiced(self) -> bool:
        return self.invoice_line_id is not None


class TimeEntryQuery(ListQuery):
    member_id: str | None = None
    task_id: str | None = None
    work_type_id: str | None = None
    billable: bool | None = None
    approved: bool | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _apply(session: Session, actor: Actor, entry: TimeEntry, values: dict[str, Any]) -> None:
    if inspect(entry).persistent:  # a stored entry: may it change, and by this actor?
        time_locks.refuse_change(session, actor, entry)
    time_locks.refuse_approval(actor, entry, values)
    for key, value in values.items():
        setattr(entry, key, value)
    time_locks.refuse_other_members(session, actor, entry.member_id)
    moved = "member_id" in values or "task_id" in values  # existing entries of an unassigned member stay
    if moved and not assignments.may_track(session, entry.task_id, entry.member_id):
        raise ValidationFailed(
            "This member is unassigned from this task.",
            [FieldError("member_id", "is unassigned from this task; assign them back to track time on it")],
        )


def _validate(_session: Session, _actor: Actor, entry: TimeEntry) -> None:
    errors: list[FieldError] = []
    has_span = entry.start_time is not None or entry.end_time is not None
    if has_span and (entry.start_time is None or entry.end_time is None):
        missing = "end_time" if entry.end_time is None else "start_time"
        errors.append(FieldError(missing, "give both start_time and end_time, or a duration"))
    elif has_span and entry.duration_minutes is not None:
        errors.append(FieldError("duration_minutes", "give a duration or start and end times, not both"))
    elif has_span and entry.end_time <= entry.start_time:  # type: ignore[operator]
        errors.append(FieldError("end_time", "must be after start_time"))
    elif not has_span and entry.duration_minutes is None:
        errors.append(FieldError("duration_minutes", "give a duration, or start_time and end_time"))
    if not errors and entry.worked_minutes <= 0:
        errors.append(FieldError("break_minutes", "the break must be shorter than the time worked"))
    if errors:
        raise ValidationFailed("The time entry's times do not add up.", errors)


def _render_many(session: Session, entries: Sequence[TimeEntry]) -> list[TimeEntryRead]:
    """Entries with their lock reasons, found for the whole page at once."""
    locks = time_locks.lock_reasons(session, entries)
    return [TimeEntryRead.model_validate(e).model_copy(update={"lock": locks.get(e.id)}) for e in entries]


time_entries = Resource(
    path="/time-entries",
    model=TimeEntry,
    read=TimeEntryRead,
    create=TimeEntryCreate,
    update=TimeEntryUpdate,
    query=TimeEntryQuery,
    references={"member_id": Member, "task_id": Task, "work_type_id": WorkType},
    search=("notes",),
    order_by=("date", "start_time"),
    retire=None,
    apply=_apply,
    validate=_validate,
    before_delete=time_locks.refuse_change,
    render_many=_render_many,
)
