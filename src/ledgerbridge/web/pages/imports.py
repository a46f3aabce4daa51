"""An organisation's Imports page: one button per reference type and one for everything,
each type with its last import's counts and time, and the current import's progress.

Starting an import queues it exactly as ``POST /xero/connections/{id}/imports`` does
(``sync.imports.enqueue_import``); the jobs runner does the work. The page then follows
the run: ``static/progress.js`` polls ``GET /api/v1/xero/runs/{id}`` (which accepts the
browser's session cookie) and moves a ``<progress>`` bar; without JavaScript the page
shows the run's state as it was when rendered and a link to refresh it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.sync import imports
from ledgerbridge.sync.models import RecordType, SyncRun, XeroReference
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, refused, render
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.web.pages.org_settings import managed_connection
from ledgerbridge.work.auth import Actor
from ledgerbridge.xero.models import XeroConnection

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PAGE = "/integrations/xero/{connection_id}/imports"
EVERYTHING = "all"
RECENT_RUNS = 50
"""How many of the organisation's latest imports are searched for each type's last one:
"Import everything" covers every type, so a type is nearly always in the newest few."""

LABELS: dict[RecordType, str] = {
    RecordType.ORGANISATION: "Organisation details",
    RecordType.CURRENCY: "Currencies",
    RecordType.TAX_RATE: "Tax rates",
    RecordType.ACCOUNT: "Chart of accounts",
    RecordType.BRANDING_THEME: "Branding themes",
    RecordType.TRACKING_CATEGORY: "Tracking categories",
    RecordType.ITEM: "Items",
    RecordType.PAYROLL_CALENDAR: "Payroll calendars (Payroll AU)",
    RecordType.EARNINGS_RATE: "Earnings rates (Payroll AU)",
    RecordType.EMPLOYEE: "Employees (Payroll AU)",
}
OUTCOMES = ("created", "updated", "skipped", "deleted", "failed")
STATUS_WORDS = {
    "queued": "Waiting to start",
    "running": "Running",
    "succeeded": "Finished",
    "partial": "Finished with problems",
    "failed": "Failed",
}


def label(record_type: str) -> str:
    try:
        return LABELS.get(RecordType(record_type), record_type)
    except ValueError:
        return record_type


@dataclass(frozen=True)
class LastImport:
    """A type's most recent import: when, how it ended, and its own counts."""

    finished_at: datetime | None
    status: str
    counts: dict[str, int]
    issue: str | None


@dataclass(frozen=True)
class TypeRow:
    record_type: str
    label: str
    stored: int
    last: LastImport | None


def _recent_runs(session: Session, connection_id: str) -> list[SyncRun]:
    return list(
        session.scalars(
            select(SyncRun)
            .where(SyncRun.connection_id == connection_id, SyncRun.trigger == imports.TRIGGER)
            .order_by(SyncRun.created_at.desc(), SyncRun.id.desc())
            .limit(RECENT_RUNS)
        )
    )


def _stored_counts(session: Session, connection_id: str) -> dict[str, int]:
    """How many live records of each type ledgerbridge holds for this organisation."""
    rows = session.execute(
        select(XeroReference.record_type, func.count())
        .where(
            XeroReference.connection_id == connection_id,
            or_(XeroReference.status.is_(None), XeroReference.status != imports.DELETED),
        )
        .group_by(XeroReference.record_type)
    )
    return {str(record_type): int(n) for record_type, n in rows}


def type_rows(session: Session, connection_id: str, runs: list[SyncRun]) -> list[TypeRow]:
    """Every importable type in run order, each with its last finished import (if any)."""
    stored = _stored_counts(session, connection_id)
    rows = []
    for record_type in imports.IMPORTS:
        key = str(record_type)
        last = None
        for run in runs:  # newest first
            summary = (run.progress or {}).get("types", {}).get(key)
            if summary is not None:
                counts = {k: int(summary[k]) for k in (*OUTCOMES, "calls") if summary.get(k)}
                last = LastImport(run.finished_at, str(summary.get("status")), counts, summary.get("issue"))
                break
        rows.append(TypeRow(key, label(key), stored.get(key, 0), last))
    return rows


def _run_view(run: SyncRun) -> dict[str, Any]:
    """The run as the page and the script show it: state, step, and its counts."""
    progress = run.progress or {}
    steps = int(progress.get("steps") or len(run.record_types) or 1)
    finished = run.finished_at is not None
    step = int(progress.get("step") or 0)
    return {
        "id": run.id,
        "status": str(run.status),
        "status_text": STATUS_WORDS.get(str(run.status), str(run.status)),
        "finished": finished,
        "value": steps if finished else max(step - 1, 0),
        "max": steps,
        "current": label(progress["record_type"]) if progress.get("record_type") else None,
        "step": step,
        "done": progress.get("done") or 0,
        "total": progress.get("total"),
        "counts": {k: (run.counts or {}).get(k, 0) for k in OUTCOMES},
        "what": ", ".join(label(t) for t in run.record_types)
        if len(run.record_types) < len(imports.IMPORTS)
        else "Everything",
        "error": run.error,
    }


def _shown_run(runs: list[SyncRun], run_id: str | None) -> SyncRun | None:
    """The run asked for (after starting one), else one still waiting or running."""
    if run_id:
        chosen = next((r for r in runs if r.id == run_id), None)
        if chosen is not None:
            return chosen
    return next((r for r in runs if r.finished_at is None), None)


def _page(
    request: Request, session: Session, actor: Actor, connection: XeroConnection, run_id: str | None
) -> HTMLResponse:
    runs = _recent_runs(session, connection.id)
    shown = _shown_run(runs, run_id)
    return render(
        request,
        "xero/imports.html",
        {
            "connection": connection,
            "rows": type_rows(session, connection.id, runs),
            "run": _run_view(shown) if shown is not None else None,
            "everything": EVERYTHING,
            "outcomes": OUTCOMES,
            "labels_json": json.dumps({str(t): name for t, name in LABELS.items()}),
        },
        session=session,
        actor=actor,
    )


@router.get(PAGE, response_class=HTMLResponse)
def imports_page(
    connection_id: str, request: Request, session: SessionDep, run: str | None = None
) -> HTMLResponse:
    actor = page_actor(request, session)
    try:
        connection = managed_connection(session, actor, connection_id)
    except LedgerbridgeError as exc:
        return refused(request, session, actor, exc.detail, exc.status)
    return _page(request, session, actor, connection, run)


@router.post(PAGE, dependencies=CSRF)
async def start_import(connection_id: str, request: Request, session: SessionDep, xero: XeroDep) -> Response:
    """Queue the chosen import (one type, or everything) and follow it on this page."""
    actor = page_actor(request, session)
    try:
        connection = managed_connection(session, actor, connection_id)
    except LedgerbridgeError as exc:
        return refused(request, session, actor, exc.detail, exc.status)
    chosen = (await request.form()).get("record_type")
    page = PAGE.format(connection_id=connection.id)
    record_types = None if chosen == EVERYTHING else [str(chosen)]
    try:
        run = imports.enqueue_import(session, xero, actor.workspace_id, connection.id, record_types)
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, page, exc.detail, "error")
    what = "Everything" if record_types is None else label(str(chosen))
    return redirect(
        request, f"{page}?run={run.id}", f"Import queued: {what} from {connection.tenant_name}.", "success"
    )


__all__ = ["router", "type_rows"]
