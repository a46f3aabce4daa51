"""The Integrations page: the Xero tile, Connect (and Xero's OAuth callback), each
organisation's status, sync times and call budget, Force sync, default, Disconnect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.jobs import scheduler
from ledgerbridge.sync.models import SyncRun, SyncSettings
from ledgerbridge.sync.push_on_save import push_soon
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import SessionDep, get_actor
from ledgerbridge.web.pages._common import page_actor, redirect, render, safe_next
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.xero import apps, connections
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection
from ledgerbridge.xero.services import XeroServices

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PAGE = "/integrations"
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Organisation:
    """One organisation as the Integrations page shows it."""

    connection: XeroConnection
    last_sync: datetime | None
    next_sync: datetime | None
    calls_today: int
    day_limit: int

    @property
    def needs_reconnect(self) -> bool:
        return self.connection.status is ConnectionStatus.NEEDS_RECONNECT

    @property
    def connected(self) -> bool:
        return self.connection.status is ConnectionStatus.CONNECTED


def _calls_today(session: Session, xero: XeroServices, connection: XeroConnection, now: datetime) -> int:
    """Calls spent in the last 24 hours (Xero's day window), as far as we know: the sync
    log's call counts (every process records them) or this process's own budget count,
    whichever is larger. Calls other apps made are invisible until Xero's headers say so."""
    logged = sum(
        (run.counts or {}).get("calls", 0)
        for run in session.scalars(
            select(SyncRun).where(SyncRun.connection_id == connection.id, SyncRun.started_at >= now - DAY)
        )
    )
    budget = xero.budget
    in_process = budget.day_limit(connection.tenant_id) - budget.remaining_today(connection.tenant_id)
    return max(logged, in_process)


def _last_sync(session: Session, connection_id: str, settings: SyncSettings | None) -> datetime | None:
    if settings is not None and settings.last_synced_at is not None:
        return settings.last_synced_at
    return session.scalar(
        select(SyncRun.finished_at)
        .where(
            SyncRun.connection_id == connection_id,
            SyncRun.finished_at.is_not(None),
            SyncRun.dry_run.is_(False),
        )
        .order_by(SyncRun.finished_at.desc())
        .limit(1)
    )


def organisations(session: Session, xero: XeroServices, workspace_id: str) -> list[Organisation]:
    now = xero.clock.utcnow()
    rows = []
    for connection in connections.list_connections(session, workspace_id):
        settings = session.scalar(select(SyncSettings).where(SyncSettings.connection_id == connection.id))
        rows.append(
            Organisation(
                connection=connection,
                last_sync=_last_sync(session, connection.id, settings),
                next_sync=settings.next_sync_at if settings is not None else None,
                calls_today=_calls_today(session, xero, connection, now),
                day_limit=xero.budget.day_limit(connection.tenant_id),
            )
        )
    # Connected first, the default at the top; disconnected ones last, kept for reconnecting.
    rows.sort(
        key=lambda o: (
            o.connection.status is ConnectionStatus.DISCONNECTED,
            not o.connection.is_default,
            o.connection.tenant_name.lower(),
        )
    )
    return rows


@router.get(PAGE, response_class=HTMLResponse)
def integrations(request: Request, session: SessionDep, xero: XeroDep) -> HTMLResponse:
    actor = page_actor(request, session)
    rows = organisations(session, xero, actor.workspace_id)
    return render(
        request,
        "integrations.html",
        {
            "active": [o for o in rows if o.connection.status is not ConnectionStatus.DISCONNECTED],
            "disconnected": [o for o in rows if o.connection.status is ConnectionStatus.DISCONNECTED],
            "can_manage": actor.role.manages,
            "redirect_url": apps.redirect_uri(xero.settings),
        },
        session=session,
        actor=actor,
    )


@router.post(PAGE + "/xero/connect", dependencies=CSRF)
def connect(request: Request, session: SessionDep, xero: XeroDep) -> Response:
    """Send the browser to Xero's sign-in and consent page."""
    actor = page_actor(request, session)
    try:
        url = connections.start(xero, session, actor)
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, PAGE, exc.detail, "error")
    return RedirectResponse(url, status_code=303)


@router.get(apps.CALLBACK_PATH)
async def xero_callback(
    request: Request,
    session: SessionDep,
    xero: XeroDep,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
) -> RedirectResponse:
    """Where Xero sends the admin back; every outcome lands on Integrations with a message."""
    try:
        actor = get_actor(request, session)
        result = await connections.complete(xero, session, actor, state, code, error)
    except LedgerbridgeError as exc:
        return redirect(request, PAGE, exc.detail, "error")
    push_soon(session, result.connections, xero.clock.utcnow())
    names = ", ".join(c.tenant_name for c in result.connections)
    return redirect(request, PAGE, f"Connected to Xero: {names}.", "success")


@router.post(PAGE + "/xero/{connection_id}/sync", dependencies=CSRF)
def force_sync(
    connection_id: str,
    request: Request,
    session: SessionDep,
    xero: XeroDep,
    next_path: Annotated[str, Form(alias="next")] = PAGE,
) -> Response:
    """Force sync: queue a whole-organisation sync to start at once. The button is on
    Integrations, the sync log and the organisation's Settings and Imports pages; ``next``
    (a path on this site only) brings the user back to the page they clicked it on."""
    target = safe_next(next_path, PAGE)
    actor = page_actor(request, session)
    try:
        actor.require_manager()
        connection = connections.get_connection(session, actor.workspace_id, connection_id)
        scheduler.force_sync(session, connection.id, now=xero.clock.utcnow())
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, target, exc.detail, "error")
    return redirect(
        request,
        target,
        f"Sync queued for {connection.tenant_name}. It shows in the sync log as soon as it starts.",
        "success",
    )


@router.post(PAGE + "/xero/{connection_id}/default", dependencies=CSRF)
def make_default(connection_id: str, request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    try:
        chosen = connections.set_default(session, actor, connection_id)
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, PAGE, exc.detail, "error")
    return redirect(request, PAGE, f"{chosen.tenant_name} is now the default organisation.", "success")


@router.get(PAGE + "/xero/{connection_id}/disconnect", response_class=HTMLResponse)
def confirm_disconnect(connection_id: str, request: Request, session: SessionDep) -> Response:
    """The confirmation step: what disconnecting does, and the button that does it."""
    actor = page_actor(request, session)
    try:
        actor.require_manager()
        connection = connections.get_connection(session, actor.workspace_id, connection_id)
    except LedgerbridgeError as exc:
        return redirect(request, PAGE, exc.detail, "error")
    if connection.status is ConnectionStatus.DISCONNECTED:
        return redirect(request, PAGE, f"{connection.tenant_name} is already disconnected.", "info")
    return render(request, "disconnect.html", {"connection": connection}, session=session, actor=actor)


@router.post(PAGE + "/xero/{connection_id}/disconnect", dependencies=CSRF)
async def disconnect(connection_id: str, request: Request, session: SessionDep, xero: XeroDep) -> Response:
    actor = page_actor(request, session)
    try:
        await connections.disconnect(xero, session, actor, connection_id)
    except LedgerbridgeError as exc:
        session.rollback()
        return redirect(request, PAGE, exc.detail, "error")
    return redirect(request, PAGE, "Disconnected successfully", "success")


__all__ = ["organisations", "router"]
