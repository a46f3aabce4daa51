"""A sync run for one organisation: which record types, which trigger, for real or as a
dry run. The run's counts include the calls it made (its own, not those of work running
beside it), and every run ends: an exception closes it as failed before going on up."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence

from ledgerbridge.errors import LedgerbridgeError, XeroError
from ledgerbridge.sync import contacts, credit_notes, engine, invoices, items, payments, purchase_orders
from ledgerbridge.sync.adapter import FollowUp, RecordAdapter
from ledgerbridge.sync.contact_tasks import after_contacts
from ledgerbridge.sync.imports import ensure_reference_data
from ledgerbridge.sync.models import RecordType, RunStatus, SyncRun
from ledgerbridge.sync.runs import begin_run, close_run, finish_run, start_run, stopped_by
from ledgerbridge.xero.client import counting_calls
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices

TWO_WAY: dict[RecordType, RecordAdapter] = {
    RecordType.CONTACT: contacts.ADAPTER,
    RecordType.ITEM: items.ADAPTER,
    RecordType.INVOICE: invoices.ADAPTER,
    RecordType.PAYMENT: payments.ADAPTER,
    RecordType.CREDIT_NOTE: credit_notes.ADAPTER,
    RecordType.PURCHASE_ORDER: purchase_orders.ADAPTER,
}
"""The record types that sync both ways. Each is pulled, then pushed: pulling first settles
links and conflicts before anything is sent."""


class UnsupportedRecordType(LedgerbridgeError):
    def __init__(self, record_type: str) -> None:
        supported = ", ".join(str(t) for t in TWO_WAY)
        super().__init__(
            f"'{record_type}' cannot be synced yet; choose from: {supported}.", 422, "unsupported_record_type"
        )


async def sync(
    services: XeroServices,
    workspace_id: str,
    connection_id: str,
    record_types: Sequence[RecordType] | None = None,
    trigger: str = "manual",
    dry_run: bool = False,
    *,
    send_held: bool = False,
    run_id: str | None = None,
) -> SyncRun:
    """One run over ``record_types`` (every two-way type by default). ``send_held`` is
    the scheduled invoice send: it also creates the invoices held back from ordinary syncs.
    ``run_id`` is a run queued with this sync's job (Force sync), taken over while it is
    still queued; otherwise (a retry of a job whose run ended) a new run is started."""
    chosen = list(record_types or TWO_WAY)
    for record_type in chosen:
        if record_type not in TWO_WAY:
            raise UnsupportedRecordType(str(record_type))
    if not dry_run:  # a first sync needs the organisation's tax rates (a dry run writes nothing)
        await _reference_data_first(services, workspace_id, connection_id)
    run_id = _start(services, workspace_id, connection_id, trigger, chosen, dry_run, run_id)

    async def work() -> None:
        for record_type in chosen:
            await engine.pull(services, TWO_WAY[record_type], connection_id, run_id, dry_run)
            await engine.push(
                services, TWO_WAY[record_type], connection_id, run_id, dry_run, send_held=send_held
            )
            adapter = TWO_WAY[record_type]
            if isinstance(adapter, FollowUp):  # e.g. credit note allocations, once their notes are in Xero
                await adapter.after_push(services, connection_id, run_id, dry_run)
            if record_type is RecordType.CONTACT:  # contacts as tasks, when the setting is on
                await after_contacts(services, connection_id, dry_run)

    return await _run_to_end(services, run_id, work)


async def fetch_changed(
    services: XeroServices, workspace_id: str, connection_id: str, ids: Mapping[RecordType, list[str]]
) -> SyncRun:
    """Fetch just these records (a webhook named them), as one run triggered by "webhook"."""
    chosen = [t for t in ids if t in TWO_WAY and ids[t]]
    await _reference_data_first(services, workspace_id, connection_id)
    run_id = _start(services, workspace_id, connection_id, "webhook", chosen, False)

    async def work() -> None:
        for record_type in chosen:
            await engine.pull_by_ids(services, TWO_WAY[record_type], connection_id, run_id, ids[record_type])
            if record_type is RecordType.CONTACT:
                await after_contacts(services, connection_id, False)

    return await _run_to_end(services, run_id, work)


async def _run_to_end(services: XeroServices, run_id: str, work: Callable[[], Awaitable[None]]) -> SyncRun:
    """Do the run's work and close it, whatever happens. Xero refusing ends the run as
    failed with Xero's words; any other exception (a bug, the database, a cancelled task)
    ends it as failed too, then goes on up so the job runner retries or fails the job."""
    with counting_calls() as calls:
        try:
            await work()
        except XeroError as exc:
            return _finish(services, run_id, calls.total, exc.detail)
        except BaseException as exc:
            close_run(services.database, run_id, stopped_by(exc), calls.total)
            raise
    return _finish(services, run_id, calls.total, None)


async def _reference_data_first(services: XeroServices, workspace_id: str, connection_id: str) -> None:
    """The organisation's reference data before its first sync (``ensure_reference_data``);
    an import Xero refuses is in the log as its own run, and the sync goes on regardless."""
    with contextlib.suppress(XeroError):
        await ensure_reference_data(services, workspace_id, connection_id)


def _start(
    services: XeroServices,
    workspace_id: str,
    connection_id: str,
    trigger: str,
    record_types: Sequence[RecordType],
    dry_run: bool,
    run_id: str | None = None,
) -> str:
    with services.database.session() as session:
        connection = session.get(XeroConnection, connection_id)
        if connection is None or connection.workspace_id != workspace_id:
            raise LedgerbridgeError("No such Xero organisation in this workspace.", 404, "not_found")
        queued = session.get(SyncRun, run_id) if run_id else None
        if queued is not None and queued.status is RunStatus.QUEUED and queued.connection_id == connection_id:
            queued.record_types = [str(t) for t in record_types]
            return begin_run(queued).id
        return start_run(session, workspace_id, connection_id, trigger, record_types, dry_run).id


def _finish(services: XeroServices, run_id: str, calls: int, error: str | None) -> SyncRun:
    with services.database.session() as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        return finish_run(run, calls, error or run.error)
