"""Dry run: preview a sync of one organisation. It runs the API's Force sync with
``dry_run`` (``web.api.sync_log.force_sync``), which reads both sides and writes nothing
on either (only the run, marked as a preview, goes in the sync log), then shows what it
would create, update or link on each side, per record type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.sync.models import RecordType, SyncRun
from ledgerbridge.sync.service import TWO_WAY
from ledgerbridge.web.api import sync_log as sync_log_api
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, refusal_page, render
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.work.auth import Actor
from ledgerbridge.xero import connections
from ledgerbridge.xero.models import XeroConnection

router = APIRouter(include_in_schema=False)
PAGE = "/integrations/xero/{connection_id}/dry-run"
SIDES = {"local": "In ledgerbridge", "xero": "In Xero"}
ACTIONS = {
    "create": "would be created",
    "update": "would be updated",
    "link": "would be linked to a record that already matches",
}
NAMES_SHOWN = 200


@dataclass
class Group:
    """One record type on one side: how many of each action, and some of their names."""

    counts: dict[str, int] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)


def label(record_type: str) -> str:
    return record_type.replace("_", " ").capitalize() + "s"


def summarise(preview: list[dict[str, Any]]) -> dict[str, dict[str, Group]]:
    """record type -> side -> Group, in the order the sync runs the types."""
    order = {str(t): i for i, t in enumerate(TWO_WAY)}
    grouped: dict[str, dict[str, Group]] = {}
    for entry in sorted(preview, key=lambda e: order.get(str(e.get("record_type")), 99)):
        kind, side, action = str(entry.get("record_type")), str(entry.get("side")), str(entry.get("action"))
        group = grouped.setdefault(kind, {}).setdefault(side, Group())
        group.counts[action] = group.counts.get(action, 0) + 1
        shown = group.names.setdefault(action, [])
        if len(shown) < NAMES_SHOWN:
            shown.append(str(entry.get("name") or "(no name)"))
    return grouped


def _refused(request: Request, session: Session, actor: Actor) -> HTMLResponse:
    return refusal_page(
        request,
        "Only owners and admins preview syncs",
        "Ask an owner or admin of this workspace.",
        403,
        session=session,
        actor=actor,
    )


def _run(session: Session, connection: XeroConnection, run_id: str | None) -> SyncRun | None:
    if not run_id:
        return None
    return session.scalar(
        select(SyncRun).where(
            SyncRun.id == run_id,
            SyncRun.workspace_id == connection.workspace_id,
            SyncRun.connection_id == connection.id,
            SyncRun.dry_run.is_(True),
        )
    )


@router.get(PAGE, response_class=HTMLResponse)
def dry_run_page(
    connection_id: str, request: Request, session: SessionDep, run: str | None = None
) -> Response:
    actor = page_actor(request, session)
    if not actor.role.manages:
        return _refused(request, session, actor)
    try:
        connection = connections.get_connection(session, actor.workspace_id, connection_id)
    except LedgerbridgeError as exc:
        return refusal_page(
            request,
            "No such organisation",
            exc.detail,
            exc.status,
            session=session,
            actor=actor,
        )
    preview_run = _run(session, connection, run)
    return render(
        request,
        "xero/dry_run.html",
        {
            "connection": connection,
            "record_types": {str(t): label(str(t)) for t in TWO_WAY},
            "run": preview_run,
            "groups": summarise(preview_run.preview or []) if preview_run is not None else {},
            "skipped": (preview_run.counts or {}).get("skipped", 0) if preview_run is not None else 0,
            "sides": SIDES,
            "actions": ACTIONS,
            "label": label,
            "names_shown": NAMES_SHOWN,
        },
        session=session,
        actor=actor,
    )


@router.post(PAGE, dependencies=[Depends(require_csrf)])
async def run_dry_run(
    connection_id: str,
    request: Request,
    session: SessionDep,
    xero: XeroDep,
    record_type: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Preview now: the API's Force sync with ``dry_run``; nothing is written to either side."""
    actor = page_actor(request, session)
    if not actor.role.manages:
        return _refused(request, session, actor)
    here = PAGE.format(connection_id=connection_id)
    chosen = [RecordType(t) for t in (record_type or []) if t in {str(k) for k in TWO_WAY}]
    try:
        types = chosen or None
        run = await sync_log_api.preview_sync(session, actor.workspace_id, connection_id, types, xero)
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, here if exc.status != 404 else "/integrations", exc.detail, "error")
    if run.error:
        return redirect(request, f"{here}?run={run.id}", f"The preview stopped early: {run.error}", "error")
    return redirect(
        request, f"{here}?run={run.id}", "Preview ready. Nothing was changed on either side.", "success"
    )


__all__ = ["router", "summarise"]
