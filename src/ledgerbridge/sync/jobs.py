"""The sync engine's jobs: scheduled and Force syncs, and the fetches webhooks ask for
(imports and invoice sending register theirs in ``imports`` and ``sending``).

Handlers take ids and reload everything, and are safe to run twice: a sync is idempotent
(links, hashes, cursors and the outbox make a repeat cost at most a call).
"""

from __future__ import annotations

from sqlalchemy import select

import ledgerbridge.sync.imports  # noqa: F401 - registers the "sync.import" job
from ledgerbridge.jobs.registry import JobContext, job
from ledgerbridge.sync import (
    members,  # noqa: F401 - registers the "members.to_xero" job
    push_on_save,  # noqa: F401 - registers the "sync.push_saved" job
    sending,  # noqa: F401 - registers the "invoices.send_due" job
)
from ledgerbridge.sync.models import RecordType, SyncSettings
from ledgerbridge.sync.runs import close_run
from ledgerbridge.sync.service import TWO_WAY, fetch_changed, sync
from ledgerbridge.xero import webhooks
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection

CATEGORY_TYPES = {
    "CONTACT": RecordType.CONTACT,
    "INVOICE": RecordType.INVOICE,  # sales invoices and bills alike
    "CREDITNOTE": RecordType.CREDIT_NOTE,
}
"""Webhook categories and the record type each one's targeted fetch brings in."""


def _connection(ctx: JobContext, connection_id: str) -> XeroConnection | None:
    with ctx.database.session() as session:
        connection = session.get(XeroConnection, connection_id)
        return (
            connection if connection is not None and connection.status is ConnectionStatus.CONNECTED else None
        )


@job("sync.auto")
async def auto_sync(ctx: JobContext, connection_id: str) -> None:
    """The scheduled sync: every two-way type whose auto-sync is on."""
    connection = _connection(ctx, connection_id)
    if connection is None:
        return
    with ctx.database.session() as session:
        settings = session.scalar(select(SyncSettings).where(SyncSettings.connection_id == connection_id))
        switches = settings.auto_sync if settings else {}
    enabled = [t for t in TWO_WAY if switches.get(str(t), True)]
    if enabled:
        await sync(ctx.xero, connection.workspace_id, connection_id, enabled, "schedule")


@job("sync.manual")
async def manual_sync(
    ctx: JobContext, connection_id: str, record_types: list[str] | None = None, run_id: str | None = None
) -> None:
    """Force sync (the page's and the API's, ``scheduler.force_sync``): the run queued with
    the job becomes this sync's run."""
    connection = _connection(ctx, connection_id)
    if connection is None:
        if run_id is not None:
            close_run(ctx.database, run_id, "The organisation is no longer connected; nothing was synced.")
        return
    types = [RecordType(t) for t in record_types] if record_types else None
    await sync(ctx.xero, connection.workspace_id, connection_id, types, "manual", run_id=run_id)


@job(webhooks.FETCH_JOB)
async def webhook_fetch(ctx: JobContext, tenant_id: str) -> None:
    """Turn an organisation's pending webhook events into one targeted fetch by id."""
    with ctx.database.session() as session:
        pending = webhooks.pending_by_tenant(session, tenant_id)
        connections = list(
            session.scalars(
                select(XeroConnection).where(
                    XeroConnection.tenant_id == tenant_id, XeroConnection.status == ConnectionStatus.CONNECTED
                )
            )
        )
    ids = {CATEGORY_TYPES[c]: list(v) for c, v in pending.items() if c in CATEGORY_TYPES}
    for connection in connections:
        if ids:
            await fetch_changed(ctx.xero, connection.workspace_id, connection.id, ids)
    with ctx.database.session() as session:
        webhooks.mark_handled(session, pending.event_ids)
