"""The sync log page: runs with their trigger, counts, calls, duration and status (with
filters), what is waiting to start, and every failed record with Xero's own message, the
hint, a link to the record and a Retry button; the CSV export is the API's.

It reads through the same functions as the JSON API (``web.api.sync_log``), so the page
and the API never disagree about what the log says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.jobs import scheduler
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.sync.models import RunStatus, SyncIssue, SyncRun
from ledgerbridge.web.api import sync_log as sync_log_api
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, render, safe_next
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.xero import connections

router = APIRouter(include_in_schema=False)
PAGE = "/sync-log"
PAGE_SIZE = 25
ISSUE_LIMIT = 200

TRIGGERS = {
    "manual": "Force sync",
    "schedule": "Scheduled",
    "webhook": "Xero change (webhook)",
    "import": "Import",
    "retry": "Retry",
    "send": "Invoice sending",
}
STATUSES = {
    RunStatus.SUCCEEDED: "Succeeded",
    RunStatus.PARTIAL: "Some records failed",
    RunStatus.FAILED: "Failed",
    RunStatus.RUNNING: "Running",
    RunStatus.QUEUED: "Queued",
}
SYNC_JOBS = {scheduler.SYNC_MANUAL: "Force sync", scheduler.SYNC_AUTO: "Scheduled"}


@dataclass(frozen=True)
class RunRow:
    run: SyncRun
    organisation: str
    trigger: str
    status: str
    counts: list[tuple[str, int]]
    calls: int
    duration: str


def duration(started: datetime | None, finished: datetime | None) -> str:
    """ "0.4 s", "12 s", "3 min 5 s"; "—" while it has not finished."""
    if started is None or finished is None:
        return "—"
    seconds = max((finished - started).total_seconds(), 0.0)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def _run_row(run: SyncRun, names: dict[str, str]) -> RunRow:
    counts = run.counts or {}
    return RunRow(
        run=run,
        organisation=names.get(run.connection_id or "", "—"),
        trigger=TRIGGERS.get(run.trigger, run.trigger),
        status=STATUSES.get(run.status, str(run.status)),
        counts=[(name.replace("_", " "), n) for name, n in sorted(counts.items()) if name != "calls"],
        calls=counts.get("calls", 0),
        duration=duration(run.started_at, run.finished_at),
    )


def _waiting(session: Session, workspace_id: str, names: dict[str, str]) -> list[dict[str, Any]]:
    """Syncs queued or running that have no run in the log yet."""
    jobs = session.scalars(
        select(Job)
        .where(
            Job.workspace_id == workspace_id,
            Job.kind.in_(list(SYNC_JOBS)),
            Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
        )
        .order_by(Job.run_at)
    )
    return [
        {
            "what": SYNC_JOBS[job.kind],
            "organisation": names.get(str(job.args.get("connection_id")), "—"),
            "run_at": job.run_at,
            "running": job.status is JobStatus.RUNNING,
        }
        for job in jobs
        if not job.args.get("run_id")  # a Force sync queued with its run: the log lists it
    ]


def _choice(value: str | None, allowed: Any) -> str | None:
    return value if value and value in allowed else None


@router.get(PAGE, response_class=HTMLResponse)
def sync_log(
    request: Request,
    session: SessionDep,
    organisation: str | None = None,
    status: str | None = None,
    trigger: str | None = None,
    run: str | None = None,
    resolved: bool = False,
    page: int = 1,
) -> HTMLResponse:
    actor = page_actor(request, session)
    known = connections.list_connections(session, actor.workspace_id)
    names = {c.id: c.tenant_name for c in known}
    organisation = _choice(organisation, names)
    status = _choice(status, {s.value for s in RunStatus})
    trigger = _choice(trigger, TRIGGERS)
    page = max(page, 1)
    listed = sync_log_api.list_runs(
        session,
        actor,
        connection_id=organisation,
        status=RunStatus(status) if status else None,
        trigger=trigger,
        page=page,
        page_size=PAGE_SIZE + 1,  # one more than shown: is there an older page?
    )
    runs = [_run_row(r, names) for r in listed["items"]]
    issues = sync_log_api.list_issues(session, actor, run_id=run, record_type=None, unresolved=not resolved)
    filters = {"organisation": organisation, "status": status, "trigger": trigger}
    csv_query = {"unresolved": "false" if resolved else "true", **({"run_id": run} if run else {})}

    def page_link(number: int) -> str:
        return PAGE + "?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": number})

    return render(
        request,
        "sync_log.html",
        {
            "runs": runs[:PAGE_SIZE],
            "older": page_link(page + 1) if len(runs) > PAGE_SIZE else None,
            "newer": page_link(page - 1) if page > 1 else None,
            "waiting": _waiting(session, actor.workspace_id, names),
            "issues": issues[:ISSUE_LIMIT],
            "more_issues": len(issues) > ISSUE_LIMIT,
            "organisations": known,
            "filters": filters,
            "triggers": TRIGGERS,
            "statuses": {s.value: label for s, label in STATUSES.items()},
            "run_filter": run,
            "resolved": resolved,
            "csv_url": "/api/v1/xero/issues.csv?" + urlencode(csv_query),
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "can_manage": actor.role.manages,
            "names": names,
        },
        session=session,
        actor=actor,
    )


@router.post(PAGE + "/issues/{issue_id}/retry", dependencies=[Depends(require_csrf)])
async def retry(
    issue_id: str,
    request: Request,
    session: SessionDep,
    xero: XeroDep,
    back: Annotated[str, Form()] = PAGE,
) -> Response:
    """One click: send the record again now (the API's retry); the issue closes if it went."""
    target = safe_next(back, PAGE)
    actor = page_actor(request, session)
    try:
        actor.require_manager()
        run = await sync_log_api.retry_issue(issue_id, session, actor, xero)
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, target, exc.detail, "error")
    issue = session.get(SyncIssue, issue_id)
    if issue is None or issue.resolved_at is None:
        refused = "Xero refused it again" if run.counts.get("failed") else "it has not arrived in Xero"
        return redirect(request, target, f"Retried, but {refused}: see its message.", "error")
    return redirect(request, target, "Retried: the record is in step with Xero now.", "success")


__all__ = ["duration", "router"]
