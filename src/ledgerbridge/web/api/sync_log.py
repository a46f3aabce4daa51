"""Syncing in the API: Force sync (or a dry run), the sync log, failed records with Xero's
own message and a hint, one-click retry, CSV export, and the conflicts list."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ledgerbridge.db import utcnow
from ledgerbridge.errors import NotFound
from ledgerbridge.jobs import scheduler
from ledgerbridge.sync import links
from ledgerbridge.sync.models import (
    OutboxEntry,
    OutboxStatus,
    RecordType,
    RunStatus,
    SyncConflict,
    SyncIssue,
    SyncRun,
)
from ledgerbridge.sync.service import TWO_WAY, UnsupportedRecordType, sync
from ledgerbridge.web.api.crud import Input, Output
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import ActorDep, ManagerDep, SessionDep
from ledgerbridge.xero.connections import get_connection
from ledgerbridge.xero.services import XeroServices

router = APIRouter(prefix="/xero", tags=["Sync log"])

RECORD_PATHS = {RecordType.CONTACT: "/api/v1/clients/{id}"}
"""Where a person finds the local record an issue is about."""


class SyncIn(Input):
    record_types: list[RecordType] | None = Field(None, description="Leave out for every two-way type.")
    dry_run: bool = Field(False, description="Preview what would change on each side; write nothing.")


class RunSummary(Output):
    id: str
    connection_id: str | None
    trigger: str
    record_types: list[str]
    dry_run: bool
    status: RunStatus
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, int]
    preview: list[dict[str, Any]]
    error: str | None


class IssueOut(Output):
    id: str
    run_id: str
    record_type: RecordType
    direction: str
    local_id: str | None
    xero_id: str | None
    message: str = Field(description="Why the record failed: Xero's own words when `from_xero`.")
    from_xero: bool = Field(description="Whether `message` is Xero's validation message, not ours.")
    hint: str | None = Field(description="What to do about it, where a hint is known.")
    record_url: str | None
    resolved_at: datetime | None
    created_at: datetime


class ConflictOut(Output):
    id: str
    record_type: RecordType
    local_id: str
    xero_id: str
    field: str
    local_value: Any
    xero_value: Any
    winner: str
    reason: str
    created_at: datetime


class RunPage(Output):
    items: list[RunSummary]
    page: int
    page_size: int


class QueuedRun(RunSummary):
    run_url: str = Field(description="GET it until `status` is succeeded, partial or failed.")


def run_url(run_id: str) -> str:
    """Where any run is read while it works and after (``web.api.imports.get_run``)."""
    return f"/api/v1/xero/runs/{run_id}"


@router.post(
    "/connections/{connection_id}/sync",
    status_code=202,
    response_model=QueuedRun,
    responses={200: {"model": RunSummary, "description": "A dry run: its finished preview."}},
)
async def force_sync(
    connection_id: str, body: SyncIn, session: SessionDep, actor: ManagerDep, xero: XeroDep
) -> Any:
    """Force sync: queue the organisation's sync job (the same job, under the same lock, as
    the Force sync button, so it never runs beside another sync of the organisation) and
    answer at once, 202, with its run in status `queued`. Follow it at `run_url` (also the
    `Location` header): `GET /api/v1/xero/runs/{id}` shows it running, then succeeded,
    partial or failed. Asking again while the same sync still waits answers with that run.

    With `dry_run` it runs now and answers 200 with the finished preview: a dry run reads
    both sides and writes nothing but its run."""
    if body.dry_run:
        run = await preview_sync(session, actor.workspace_id, connection_id, body.record_types, xero)
        return JSONResponse(RunSummary.model_validate(run).model_dump(mode="json"))
    get_connection(session, actor.workspace_id, connection_id)
    for record_type in body.record_types or []:
        if record_type not in TWO_WAY:  # refused now, not by a job that fails later
            raise UnsupportedRecordType(str(record_type))
    types = [str(t) for t in body.record_types] if body.record_types else None
    job = scheduler.force_sync(session, connection_id, types, now=xero.clock.utcnow())
    queued = session.get_one(SyncRun, job.args["run_id"])
    url = run_url(queued.id)
    answer = QueuedRun.model_validate({**RunSummary.model_validate(queued).model_dump(), "run_url": url})
    return JSONResponse(answer.model_dump(mode="json"), status_code=202, headers={"Location": url})


async def preview_sync(
    session: Session,
    workspace_id: str,
    connection_id: str,
    record_types: list[RecordType] | None,
    xero: XeroServices,
) -> SyncRun:
    """A dry run now, in the request: nothing but its run is written, on either side."""
    get_connection(session, workspace_id, connection_id)
    session.commit()
    return await sync(xero, workspace_id, connection_id, record_types, "manual", dry_run=True)


@router.get("/runs", response_model=RunPage)
def list_runs(
    session: SessionDep,
    actor: ActorDep,
    connection_id: str | None = None,
    status: RunStatus | None = None,
    trigger: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    statement = select(SyncRun).where(SyncRun.workspace_id == actor.workspace_id)
    if connection_id:
        statement = statement.where(SyncRun.connection_id == connection_id)
    if status:
        statement = statement.where(SyncRun.status == status)
    if trigger:
        statement = statement.where(SyncRun.trigger == trigger)
    runs = session.scalars(
        statement.order_by(SyncRun.created_at.desc(), SyncRun.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return {"items": list(runs), "page": page, "page_size": page_size}


def _issues(
    actor_workspace: str, run_id: str | None, record_type: RecordType | None, unresolved: bool
) -> Select[Any]:
    statement = select(SyncIssue).where(SyncIssue.workspace_id == actor_workspace)
    if run_id:
        statement = statement.where(SyncIssue.run_id == run_id)
    if record_type:
        statement = statement.where(SyncIssue.record_type == record_type)
    if unresolved:
        statement = statement.where(SyncIssue.resolved_at.is_(None))
    return statement.order_by(SyncIssue.created_at.desc(), SyncIssue.id)


def _issue_out(issue: SyncIssue) -> IssueOut:
    template = RECORD_PATHS.get(issue.record_type)
    url = template.format(id=issue.local_id) if template and issue.local_id else None
    fields = {name: getattr(issue, name) for name in IssueOut.model_fields if name != "record_url"}
    return IssueOut.model_validate({**fields, "record_url": url})


@router.get("/issues", response_model=list[IssueOut])
def list_issues(
    session: SessionDep,
    actor: ActorDep,
    run_id: str | None = None,
    record_type: RecordType | None = None,
    unresolved: bool = False,
) -> list[IssueOut]:
    return [
        _issue_out(i) for i in session.scalars(_issues(actor.workspace_id, run_id, record_type, unresolved))
    ]


@router.get("/issues.csv", response_class=Response)
def export_issues(
    session: SessionDep,
    actor: ActorDep,
    run_id: str | None = None,
    record_type: RecordType | None = None,
    unresolved: bool = False,
) -> Response:
    """The failed records as CSV, for a bookkeeper's spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = [
        "created_at",
        "run_id",
        "record_type",
        "direction",
        "local_id",
        "xero_id",
        "message",
        "hint",
        "resolved_at",
    ]
    writer.writerow(columns)
    for issue in session.scalars(_issues(actor.workspace_id, run_id, record_type, unresolved)):
        writer.writerow([getattr(issue, c) if getattr(issue, c) is not None else "" for c in columns])
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="ledgerbridge-sync-issues.csv"'},
    )


@router.post("/issues/{issue_id}/retry", response_model=RunSummary)
async def retry_issue(issue_id: str, session: SessionDep, actor: ManagerDep, xero: XeroDep) -> SyncRun:
    """One click: queue the record again and sync its type now. The issue closes only if
    its record really arrived: in Xero as it is here (its link there holds the content
    that was to be sent), or, for a record from Xero, applied here by this run. A record
    skipped, sent to another organisation or refused again leaves it open."""
    issue = _get_issue(session, actor.workspace_id, issue_id)
    if issue.connection_id is None:
        raise NotFound("The organisation this issue belonged to is no longer connected.")
    connection_id, record_type = issue.connection_id, issue.record_type
    _requeue(session, issue)
    session.commit()
    run = await sync(xero, actor.workspace_id, connection_id, [record_type], "retry")
    session.expire_all()
    issue = _get_issue(session, actor.workspace_id, issue_id)
    if issue.resolved_at is None and _arrived(session, issue, run):
        issue.resolved_at = utcnow()
    return run


def _arrived(session: Session, issue: SyncIssue, run: SyncRun) -> bool:
    """Whether the issue's record is in step now: a local record is linked in the issue's
    organisation with the content it has here; a record known only by its Xero id was
    pulled and applied by ``run``."""
    if issue.connection_id is None or issue.record_type not in TWO_WAY:
        return False
    if issue.local_id is not None:
        link = links.by_local_id(session, issue.connection_id, issue.record_type, issue.local_id)
        adapter = TWO_WAY[issue.record_type]
        obj = adapter.load(session, issue.workspace_id, issue.local_id) if link is not None else None
        return obj is not None and link is not None and (
            link.content_hash == links.content_hash(adapter.local_fields(session, obj))
        )
    if issue.direction == "pull" and issue.xero_id is not None:
        link = links.by_xero_id(session, issue.connection_id, issue.record_type, issue.xero_id)
        started, synced = run.started_at, link.synced_at if link is not None else None
        return started is not None and synced is not None and synced >= started
    return False


def _get_issue(session: Session, workspace_id: str, issue_id: str) -> SyncIssue:
    issue = session.scalar(
        select(SyncIssue).where(SyncIssue.id == issue_id, SyncIssue.workspace_id == workspace_id)
    )
    if issue is None:
        raise NotFound(f"No sync issue with id '{issue_id}' in this workspace.")
    return issue


def _requeue(session: Session, issue: SyncIssue) -> None:
    if issue.direction != "push" or issue.local_id is None or issue.connection_id is None:
        return
    newer = session.scalar(
        select(OutboxEntry.id).where(
            OutboxEntry.connection_id == issue.connection_id,
            OutboxEntry.local_id == issue.local_id,
            OutboxEntry.status == OutboxStatus.PENDING,
        )
    )
    if newer is not None:  # a later change is already queued; it carries the record as it is now
        return
    failed = session.scalars(
        select(OutboxEntry).where(
            OutboxEntry.connection_id == issue.connection_id,
            OutboxEntry.local_id == issue.local_id,
            OutboxEntry.status == OutboxStatus.FAILED,
        )
    )
    for entry in failed:
        entry.status, entry.payload, entry.batch_key = OutboxStatus.PENDING, None, None


@router.get("/conflicts", response_model=list[ConflictOut])
def list_conflicts(
    session: SessionDep, actor: ActorDep, connection_id: str | None = None
) -> list[SyncConflict]:
    statement = select(SyncConflict).where(SyncConflict.workspace_id == actor.workspace_id)
    if connection_id:
        statement = statement.where(SyncConflict.connection_id == connection_id)
    return list(session.scalars(statement.order_by(SyncConflict.created_at.desc()).limit(500)))
