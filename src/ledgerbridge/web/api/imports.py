"""Imports in the API: start one, watch its progress, and list what was imported.

``POST /xero/connections/{id}/imports`` queues the run and its "sync.import" job in one
transaction and answers 202 with the queued run; the jobs runner does the work. The run
is readable at ``GET /xero/runs/{id}`` while it works (it commits per page) and after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.errors import NotFound
from ledgerbridge.sync import imports
from ledgerbridge.sync.models import RecordType, RunStatus, SyncIssue, SyncRun, XeroReference
from ledgerbridge.web.api.crud import Input, Output
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import ActorDep, ManagerDep, SessionDep
from ledgerbridge.xero.connections import get_connection

router = APIRouter(prefix="/xero", tags=["Xero imports"])


class ImportIn(Input):
    record_types: list[str] | None = Field(
        None,
        description="Any of: " + ", ".join(imports.IMPORTS) + ". Leave out or null for all of them.",
    )


class IssueOut(Output):
    record_type: RecordType
    message: str
    hint: str | None
    xero_id: str | None


class RunOut(Output):
    id: str
    connection_id: str | None
    trigger: str
    record_types: list[str]
    status: RunStatus
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, int] = Field(description="created, updated, skipped, deleted, failed, calls.")
    progress: dict[str, Any] = Field(
        description="record_type, done, total, step, steps, and per type its own counts."
    )
    error: str | None
    issues: list[IssueOut]


class ReferenceOut(Output):
    xero_id: str
    record_type: RecordType
    code: str | None
    name: str
    status: str | None
    data: dict[str, Any] = Field(description="The record as Xero sent it (tracking options included).")
    updated_at: datetime


def _run_out(session: Session, run: SyncRun) -> RunOut:
    issues = session.scalars(
        select(SyncIssue).where(SyncIssue.run_id == run.id).order_by(SyncIssue.created_at, SyncIssue.id)
    )
    return RunOut.model_validate(
        {**{name: getattr(run, name) for name in RunOut.model_fields if name != "issues"},
         "issues": [IssueOut.model_validate(issue) for issue in issues]}
    )


def _workspace_run(session: Session, workspace_id: str, run_id: str) -> SyncRun:
    run = session.scalar(select(SyncRun).where(SyncRun.id == run_id, SyncRun.workspace_id == workspace_id))
    if run is None:
        raise NotFound(f"No sync run with id '{run_id}' in this workspace.")
    return run


@router.post("/connections/{connection_id}/imports", response_model=RunOut, status_code=202)
def start_import(
    connection_id: str, session: SessionDep, actor: ManagerDep, xero: XeroDep, body: ImportIn | None = None
) -> RunOut:
    """Queue an import of reference data from this organisation; repeatable (unchanged
    records are skipped). Follow it at ``GET /xero/runs/{id}``."""
    run = imports.enqueue_import(
        session, xero, actor.workspace_id, connection_id, body.record_types if body else None
    )
    return _run_out(session, run)


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: str, session: SessionDep, actor: ActorDep) -> RunOut:
    """A run of this workspace with its counts, progress and issues."""
    return _run_out(session, _workspace_run(session, actor.workspace_id, run_id))


@router.get("/connections/{connection_id}/references", response_model=list[ReferenceOut])
def list_references(
    connection_id: str,
    session: SessionDep,
    actor: ActorDep,
    record_type: RecordType | None = None,
    include_deleted: bool = Query(False, description="Also rows Xero no longer returns."),
) -> list[ReferenceOut]:
    """Imported reference data, e.g. accounts and tax rates for settings dropdowns."""
    connection = get_connection(session, actor.workspace_id, connection_id)
    query = select(XeroReference).where(
        XeroReference.workspace_id == actor.workspace_id, XeroReference.connection_id == connection.id
    )
    if record_type is not None:
        query = query.where(XeroReference.record_type == record_type)
    if not include_deleted:
        query = query.where(
            (XeroReference.status.is_(None)) | (XeroReference.status != imports.DELETED)
        )
    rows = session.scalars(
        query.order_by(XeroReference.record_type, XeroReference.code, XeroReference.name, XeroReference.id)
    )
    return [ReferenceOut.model_validate(row) for row in rows]
