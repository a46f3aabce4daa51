"""Automatic invoice sending: the "invoices.send_due" job.

An organisation sends new invoices (and bills) to Xero immediately, weekly or monthly
(``SyncSettings.invoice_sending``). The scheduler decides *when* (``jobs.scheduler``:
``request_invoice_sending`` when an invoice becomes ready, ``schedule_invoice_sending`` to
keep the next weekly or monthly send queued); this module is *what* runs then: one run,
triggered by "send", that pulls invoices (so anything already in Xero is matched, never
created twice) and pushes the outbox with the held invoices released.

Running it twice sends nothing twice: a sent invoice is linked, and a batch whose outcome
was lost is resent under the same Idempotency-Key, which Xero replays.
"""

from __future__ import annotations

from ledgerbridge.jobs.registry import JobContext, job
from ledgerbridge.jobs.scheduler import SEND_INVOICES
from ledgerbridge.sync import outbox
from ledgerbridge.sync.models import RecordType, SyncRun
from ledgerbridge.sync.service import sync
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection
from ledgerbridge.xero.services import XeroServices

SEND_TRIGGER = "send"
"""How a send shows in the sync log (``SyncRun.trigger``)."""


@job(SEND_INVOICES)
async def send_due_invoices(ctx: JobContext, connection_id: str) -> None:
    """Send this organisation's ready invoices and bills now. Nothing to do when it was
    disconnected, or when invoices do not sync automatically there."""
    workspace_id = _sending_workspace(ctx, connection_id)
    if workspace_id is not None:
        await send_invoices(ctx.xero, workspace_id, connection_id)


async def send_invoices(services: XeroServices, workspace_id: str, connection_id: str) -> SyncRun:
    """One "send" run over invoices, with invoices held for the schedule released."""
    return await sync(
        services, workspace_id, connection_id, [RecordType.INVOICE], SEND_TRIGGER, send_held=True
    )


def _sending_workspace(ctx: JobContext, connection_id: str) -> str | None:
    """The organisation's workspace, if invoices may be sent to it automatically."""
    with ctx.database.session() as session:
        connection = session.get(XeroConnection, connection_id)
        if connection is None or connection.status is not ConnectionStatus.CONNECTED:
            return None
        if not outbox.auto_sync_on(session, connection_id, RecordType.INVOICE):
            return None
        return connection.workspace_id
