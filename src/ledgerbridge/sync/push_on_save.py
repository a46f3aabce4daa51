"""Saving sends: the "sync.push_saved" job.

A change saved here writes an outbox row (``outbox.record_change``) and, where the
organisation is connected and auto-sync is on for the record's type, plans this job in the
same transaction a few seconds later (``scheduler.request_push``,
``Settings.push_debounce_seconds``): one waiting job per organisation, so a burst of saves
is one push. The job is an ordinary run in the sync log,
triggered by "save", over the record types that have changes waiting, in ``TWO_WAY``'s
order (a new client goes before the invoice made out to it). Changes saved while the
organisation was disconnected are planned the same way once it is reconnected
(``push_soon``), as are those of a type whose auto-sync is switched on again; while it is
off, they wait for Force sync.

Each type is pulled before it is pushed, as every sync does, because the push needs it:
the push also queues the organisation's records that are not in Xero yet (``backfill``),
and only a pull matches those to what Xero already has (so none is created twice), and a
field both sides changed is settled by the pull (``engine._resolve_conflicts``) before the
local value is sent. The pull reads only what changed since the last one.

It holds the organisation's sync lock (``scheduler.sync_lock_key``) like auto, Force and
invoice-sending syncs, so it never runs beside one; running it twice sends nothing twice
(links, and a lost batch resent under its Idempotency-Key).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ledgerbridge.jobs import scheduler
from ledgerbridge.jobs.registry import JobContext, job
from ledgerbridge.jobs.scheduler import PUSH_SAVED
from ledgerbridge.settings import get_settings
from ledgerbridge.sync import outbox
from ledgerbridge.sync.models import RecordType, SyncRun
from ledgerbridge.sync.service import TWO_WAY, sync
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection
from ledgerbridge.xero.services import XeroServices

SAVE_TRIGGER = "save"
"""How a push of saved changes shows in the sync log (``SyncRun.trigger``)."""


@job(PUSH_SAVED)
async def push_saved(ctx: JobContext, connection_id: str) -> None:
    """Send this organisation's saved changes now. Nothing to do when it was disconnected,
    or when nothing waits any more (a sync or an invoice send took it first)."""
    await push_waiting(ctx.xero, connection_id)


async def push_waiting(services: XeroServices, connection_id: str) -> SyncRun | None:
    """One "save" run over the types with changes waiting for this organisation; None
    (and no run logged) when there are none."""
    with services.database.session() as session:
        connection = session.get(XeroConnection, connection_id)
        if connection is None or connection.status is not ConnectionStatus.CONNECTED:
            return None
        workspace_id, types = connection.workspace_id, waiting_types(session, connection_id)
    if not types:
        return None
    return await sync(services, workspace_id, connection_id, types, SAVE_TRIGGER)


def waiting_types(session: Session, connection_id: str) -> list[RecordType]:
    """The two-way types, in sync order, that auto-sync here and have outbox rows to send:
    pending ones (not those held for a scheduled invoice send) or a batch whose outcome was
    lost."""
    return [
        record_type
        for record_type in TWO_WAY
        if outbox.auto_sync_on(session, connection_id, record_type)
        and (
            outbox.pending(session, connection_id, record_type, 1)
            or outbox.in_flight(session, connection_id, record_type)
        )
    ]


def push_soon(session: Session, connections: Sequence[XeroConnection], now: datetime) -> None:
    """Organisations just connected again, or with auto-sync switched on again: what was
    saved for them meanwhile waits in the outbox, and goes within seconds now, not at the
    next auto-sync."""
    delay = timedelta(seconds=get_settings().push_debounce_seconds)
    for connection in connections:
        if connection.status is ConnectionStatus.CONNECTED and waiting_types(session, connection.id):
            scheduler.request_push(session, connection.id, connection.workspace_id, now, delay)
