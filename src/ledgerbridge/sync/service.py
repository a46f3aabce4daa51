"""A sync run for one organisation: which record types, which trigger, for real or as a
dry run. The run's counts include the calls it made, from the client's own count."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

from ledgerbridge.errors import LedgerbridgeError, XeroError
from ledgerbridge.sync import contacts, credit_notes, engine, invoices, items, payments, purchase_orders
from ledgerbridge.sync.adapter import FollowUp, RecordAdapter
from ledgerbridge.sync.contact_tasks import after_contacts
from ledgerbridge.sync.imports import ensure_reference_data
from ledgerbridge.sync.models import RecordType, SyncRun
from ledgerbridge.sync.runs import finish_run, start_run
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
) -> SyncRun:
    """One run over ``record_types`` (every two-way type by default). ``send_held`` is
    the scheduled invoice send: it also creates the invoices held back from ordinary syncs."""
    chosen = list(record_types or TWO_WAY)
    for record_type in chosen:
        if record_type not in TWO_WAY:
            raise UnsupportedRecordType(str(record_type))
    if not dry_run:  # a first sync needs the organisation's tax rates (a dry run writes nothing)
        await _reference_data_first(services, workspace_id, connection_id)
    run_id, tenant_id = _start(services, workspace_id, connection_id, trigger, chosen, dry_run)
    calls_before = services.client.counter.total(tenant_id)
    error: str | None = None
    try:
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
    except XeroError as exc:
        error = exc.detail
    return _finish(services, run_id, services.client.counter.total(tenant_id) - calls_before, error)


async def fetch_changed(
    services: XeroServices, workspace_id: str, connection_id: str, ids: Mapping[RecordType, list[str]]
) -> SyncRun:
    """Fetch just these records (a webhook named them), as one run triggered by "webhook"."""
    chosen = [t for t in ids if t in TWO_WAY and ids[t]]
    await _reference_data_first(services, workspace_id, connection_id)
    run_id, tenant_id = _start(services, workspace_id, connection_id, "webhook", chosen, False)
    calls_before = services.client.counter.total(tenant_id)
    error: str | None = None
    try:
        for record_type in chosen:
            await engine.pull_by_ids(services, TWO_WAY[record_type], connection_id, run_id, ids[record_type])
            if record_type is RecordType.CONTACT:
                await after_contacts(services, connection_id, False)
    except XeroError as exc:
        error = exc.detail
    return _finish(services, run_id, services.client.counter.total(tenant_id) - calls_before, error)


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
) -> tuple[str, str]:
    with services.database.session() as session:
        connection = session.get(XeroConnection, connection_id)
        if connection is None or connection.workspace_id != workspace_id:
            raise LedgerbridgeError("No such Xero organisation in this workspace.", 404, "not_found")
        return start_run(
            session, workspace_id, connection_id, trigger, record_types, dry_run
        ).id, connection.tenant_id


def _finish(services: XeroServices, run_id: str, calls: int, error: str | None) -> SyncRun:
    with services.database.session() as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        return finish_run(run, calls, error or run.error)
