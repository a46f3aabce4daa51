"""The outbox: local changes that must reach Xero, written in the same transaction as the
change, so a change is never lost between the database and Xero.

Each row's ``idempotency_key`` is fixed when the row is written. Rows are drained in
batches; a batch gets a ``batch_key`` (and so one Idempotency-Key) before it is sent, and
a batch whose outcome is unknown is resent with the same rows and the same key, which
Xero answers by replaying the first response instead of writing again.

Invoice sending: an organisation that sends invoices weekly or monthly holds invoices new
to Xero (no link yet) back from ordinary syncs; only the "invoices.send_due" job releases
them (``send_held``). Updates to invoices Xero already has are never held.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, false, or_, select, update
from sqlalchemy.orm import Session

from ledgerbridge.db import utcnow
from ledgerbridge.jobs import scheduler
from ledgerbridge.settings import get_settings
from ledgerbridge.sync.models import OutboxEntry, OutboxStatus, RecordType, SyncSettings, XeroLink
from ledgerbridge.work.models import Client, CreditNote, Invoice, Item, Payment, PurchaseOrder
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection

HOLDING_CADENCES = ("weekly", "monthly")
"""Invoice sending cadences that keep new invoices for their scheduled send."""

OWNED: dict[RecordType, type[Any]] = {
    RecordType.CONTACT: Client,
    RecordType.ITEM: Item,
    RecordType.INVOICE: Invoice,
    RecordType.CREDIT_NOTE: CreditNote,
    RecordType.PURCHASE_ORDER: PurchaseOrder,
    RecordType.PAYMENT: Payment,
}
"""Record types whose records belong to one organisation (their ``xero_connection_id``):
a change goes to that organisation only; one with none yet goes to the default."""


def auto_sync_on(session: Session, connection_id: str, record_type: RecordType) -> bool:
    """Whether this organisation syncs this record type automatically (a missing switch is on)."""
    settings = session.scalar(select(SyncSettings).where(SyncSettings.connection_id == connection_id))
    return settings is None or settings.auto_sync.get(str(record_type), True)


def holds_new(session: Session, connection_id: str, record_type: RecordType) -> bool:
    """Whether records of this type new to this organisation wait for a scheduled send
    (invoices and bills, when it sends weekly or monthly) instead of the next sync."""
    if record_type is not RecordType.INVOICE:
        return False
    cadence = session.scalar(
        select(SyncSettings.invoice_sending).where(SyncSettings.connection_id == connection_id)
    )
    return cadence in HOLDING_CADENCES


def target_connections(session: Session, workspace_id: str) -> list[XeroConnection]:
    """Where new local records go: the workspace's default organisation, when connected."""
    return list(
        session.scalars(
            select(XeroConnection).where(
                XeroConnection.workspace_id == workspace_id,
                XeroConnection.status == ConnectionStatus.CONNECTED,
                XeroConnection.is_default.is_(True),
            )
        )
    )


PARTIES: dict[RecordType, tuple[str, RecordType]] = {
    RecordType.INVOICE: ("client_id", RecordType.CONTACT),
    RecordType.CREDIT_NOTE: ("client_id", RecordType.CONTACT),
    RecordType.PURCHASE_ORDER: ("client_id", RecordType.CONTACT),
    RecordType.PAYMENT: ("invoice_id", RecordType.INVOICE),
}
"""The record a record of each type is made out to (its column, that record's type): a
document that belongs to no organisation yet goes where its client is, a payment where its
invoice is (however it was made: the API, a page, hours to invoice, the demo)."""


def own_connection_id(session: Session, record_type: RecordType, local_id: str) -> str | None:
    """The organisation the record belongs to: its own; else, for a record synced before
    records carried one, the organisation it was first linked in (it is there already, as
    Migrate has it); else its party's (``PARTIES``); None when none of these has one yet
    (it goes to the default), or for a type that has none."""
    model = OWNED.get(record_type)
    obj = session.get(model, local_id) if model is not None else None
    if obj is None:
        return None
    if obj.xero_connection_id is not None:
        return str(obj.xero_connection_id)
    first_linked = session.scalar(
        select(XeroLink.connection_id)
        .where(XeroLink.record_type == record_type, XeroLink.local_id == local_id)
        .order_by(XeroLink.created_at, XeroLink.id)
        .limit(1)
    )
    if first_linked is not None:
        return str(first_linked)
    party = PARTIES.get(record_type)
    party_id = getattr(obj, party[0], None) if party is not None else None
    return own_connection_id(session, party[1], party_id) if party is not None and party_id else None


def connections_for(
    session: Session, workspace_id: str, record_type: RecordType, local_id: str
) -> list[XeroConnection]:
    """Where a change to this record goes: its own organisation when it has one (and it is
    connected); else the default organisation, where it is then first sent."""
    own = own_connection_id(session, record_type, local_id)
    if own is None:
        return target_connections(session, workspace_id)
    connection = session.get(XeroConnection, own)
    if connection is None or connection.workspace_id != workspace_id:
        return []
    return [connection] if connection.status is ConnectionStatus.CONNECTED else []


def belongs_to(session: Session, record_type: RecordType, local_id: str, connection_id: str) -> bool:
    """Whether this record may be sent to (or matched in) this organisation: it is its own
    (``own_connection_id``), it has none yet, or it is linked there already."""
    own = own_connection_id(session, record_type, local_id)
    if own is None or own == connection_id:
        return True
    linked_here = session.scalar(
        select(XeroLink.id).where(
            XeroLink.connection_id == connection_id,
            XeroLink.record_type == record_type,
            XeroLink.local_id == local_id,
        )
    )
    return linked_here is not None


def claim(session: Session, record_type: RecordType, local_ids: Sequence[str], connection_id: str) -> None:
    """Records first sent to (or first pulled from) an organisation now belong to it; a
    record that already has one keeps it."""
    model = OWNED.get(record_type)
    if model is None or not local_ids:
        return
    session.execute(
        update(model)
        .where(model.id.in_(list(local_ids)), model.xero_connection_id.is_(None))
        .values(xero_connection_id=connection_id)
        .execution_options(synchronize_session="fetch")
    )


def destinations(
    session: Session, workspace_id: str, record_type: RecordType, local_id: str
) -> list[XeroConnection]:
    """Where a change to this record waits to go: its own organisation, connected or not
    (a change saved while it is disconnected goes once it is back); else the default
    organisation, when one is connected (it is then first sent there)."""
    own = own_connection_id(session, record_type, local_id)
    if own is None:
        return target_connections(session, workspace_id)
    connection = session.get(XeroConnection, own)
    return [connection] if connection is not None and connection.workspace_id == workspace_id else []


def sends_on_its_own(session: Session, connection: XeroConnection, record_type: RecordType) -> bool:
    """Whether a saved change goes without anyone asking: the organisation is connected and
    auto-sync is on for the type. Otherwise its row waits, for a reconnect or Force sync."""
    connected = connection.status is ConnectionStatus.CONNECTED
    return connected and auto_sync_on(session, connection.id, record_type)


def record_change(
    session: Session, workspace_id: str, record_type: RecordType, local_id: str
) -> list[OutboxEntry]:
    """Note that a local record changed; one pending row per organisation is enough,
    because the payload is built from the record as it is when the row is sent. The row
    goes to the record's own organisation (``destinations``) and is always written, so
    nothing saved is lost: it is pushed within seconds where the organisation sends on its
    own (``sends_on_its_own``), else by the next Force sync (auto-sync off for the type, which
    scheduled syncs and pushes skip) or the first sync after a reconnect. Returns the rows
    that are on their way now."""
    going = []
    for connection in destinations(session, workspace_id, record_type, local_id):
        pending = session.scalar(
            select(OutboxEntry).where(
                OutboxEntry.connection_id == connection.id,
                OutboxEntry.record_type == record_type,
                OutboxEntry.local_id == local_id,
                OutboxEntry.status == OutboxStatus.PENDING,
            )
        )
        if pending is None:
            pending = OutboxEntry(
                workspace_id=workspace_id,
                connection_id=connection.id,
                record_type=record_type,
                local_id=local_id,
                idempotency_key=uuid.uuid4().hex + uuid.uuid4().hex,
            )
            session.add(pending)
        if sends_on_its_own(session, connection, record_type):
            going.append(pending)
    session.flush()
    if record_type is RecordType.INVOICE:
        _request_sending(session, going)
    _request_push(session, going)
    return going


def _request_push(session: Session, written: list[OutboxEntry]) -> None:
    """Rows were written (so auto-sync is on for their type there): plan the push of each
    organisation's saved changes a few seconds from now (``scheduler.request_push``), so a
    save reaches Xero within seconds, not at the next auto-sync. Invoice rows the
    organisation's own send job takes are left to it (``_left_to_push``)."""
    delay = timedelta(seconds=get_settings().push_debounce_seconds)
    for connection_id, workspace_id in dict.fromkeys(
        (e.connection_id, e.workspace_id) for e in written if _left_to_push(session, e)
    ):
        scheduler.request_push(session, connection_id, workspace_id, utcnow(), delay)


def _left_to_push(session: Session, entry: OutboxEntry) -> bool:
    """Whether only the push of saved changes sends this row soon. An invoice's send job
    takes it when the organisation sends immediately (queued at once by
    ``_request_sending``), and at its slot when it is new there and held (``holds_new``);
    an edit of an invoice Xero has is never held, and waits for no send."""
    if entry.record_type is not RecordType.INVOICE:
        return True
    if not holds_new(session, entry.connection_id, entry.record_type):
        return False
    linked = _linked(entry.connection_id, entry.record_type).where(XeroLink.local_id == entry.local_id)
    return session.scalar(linked) is not None


def _request_sending(session: Session, written: list[OutboxEntry]) -> None:
    """An invoice is ready for Xero: plan its send at the organisation's cadence (at once
    when it sends immediately), so it does not wait for the next auto-sync."""
    for connection_id in dict.fromkeys(e.connection_id for e in written):
        scheduler.request_invoice_sending(session, connection_id, utcnow())


def in_flight(session: Session, connection_id: str, record_type: RecordType) -> dict[str, list[OutboxEntry]]:
    """Batches sent but not recorded (a crash, a lost response), by batch key."""
    batches: dict[str, list[OutboxEntry]] = {}
    for entry in session.scalars(
        select(OutboxEntry)
        .where(
            OutboxEntry.connection_id == connection_id,
            OutboxEntry.record_type == record_type,
            OutboxEntry.status == OutboxStatus.SENDING,
        )
        .order_by(OutboxEntry.created_at, OutboxEntry.id)
    ):
        batches.setdefault(entry.batch_key or entry.id, []).append(entry)
    return batches


def pending(
    session: Session, connection_id: str, record_type: RecordType, limit: int, *, send_held: bool = False
) -> list[OutboxEntry]:
    """The next rows to send, oldest first. Rows held for a scheduled send (see
    ``holds_new``) are left out unless ``send_held``; they are filtered in the query, so
    held rows never crowd the rows that may go out of a batch."""
    query = select(OutboxEntry).where(
        OutboxEntry.connection_id == connection_id,
        OutboxEntry.record_type == record_type,
        OutboxEntry.status == OutboxStatus.PENDING,
    )
    if not send_held and holds_new(session, connection_id, record_type):
        query = query.where(OutboxEntry.local_id.in_(_linked(connection_id, record_type)))
    return list(session.scalars(query.order_by(OutboxEntry.created_at, OutboxEntry.id).limit(limit)))


def batch_key(entries: Sequence[OutboxEntry]) -> str:
    """One key per batch, derived from its rows' keys: same rows, same key."""
    joined = ",".join(sorted(e.idempotency_key for e in entries))
    return hashlib.sha256(joined.encode()).hexdigest()


def backfill(
    session: Session, connection: XeroConnection, record_type: RecordType, local_ids: Select[tuple[str]]
) -> int:
    """Queue records of this organisation that are not in it yet (made before it was
    connected, or while auto-sync was off): after the pull has matched what it could, the
    rest go to Xero. The default organisation also takes records that belong to none yet.
    One query finds them, whatever the number of records already linked. (Rows queued for
    records held for a scheduled send wait in ``pending`` like any other held row.) It runs
    in every push of the type: scheduled syncs skip a type whose auto-sync is off, Force sync
    takes it."""
    queued = select(OutboxEntry.local_id).where(
        OutboxEntry.connection_id == connection.id,
        OutboxEntry.record_type == record_type,
        OutboxEntry.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
    )
    missing = unlinked(
        session, connection, record_type, local_ids.where(local_ids.selected_columns[0].not_in(queued))
    )
    for local_id in missing:
        session.add(
            OutboxEntry(
                workspace_id=connection.workspace_id,
                connection_id=connection.id,
                record_type=record_type,
                local_id=local_id,
                idempotency_key=uuid.uuid4().hex + uuid.uuid4().hex,
            )
        )
    session.flush()
    return len(missing)


def unlinked(
    session: Session, connection: XeroConnection, record_type: RecordType, local_ids: Select[tuple[str]]
) -> list[str]:
    """The records of ``local_ids`` that belong in this organisation and have no
    counterpart in it yet."""
    linked = _linked(connection.id, record_type)
    local_ids = _of_organisation(connection, record_type, local_ids)
    return list(session.scalars(local_ids.where(local_ids.selected_columns[0].not_in(linked))))


def _of_organisation(
    connection: XeroConnection, record_type: RecordType, local_ids: Select[tuple[str]]
) -> Select[tuple[str]]:
    """Narrow ``local_ids`` to the records that go to this organisation: its own, and, for
    the default organisation, those that belong to none yet."""
    model = OWNED.get(record_type)
    if model is None:
        return local_ids if connection.is_default else local_ids.where(false())
    if connection.is_default:
        return local_ids.where(model.id.not_in(_placed(record_type, connection.id, elsewhere=True)))
    return local_ids.where(model.id.in_(_placed(record_type, connection.id, elsewhere=False)))


def placed_elsewhere(record_type: RecordType, connection_id: str) -> Select[tuple[str]]:
    """The ids of records that live in another organisation than this one (``_placed``):
    their names and numbers are that organisation's, never a clash here."""
    return _placed(record_type, connection_id, elsewhere=True)


def _placed(record_type: RecordType, connection_id: str, *, elsewhere: bool) -> Select[tuple[str]]:
    """The ids of records that belong (as ``own_connection_id`` says, links and party
    included) to this organisation, or, ``elsewhere``, to another one. A record of no
    organisation linked in another one (synced there before this one was connected) is
    elsewhere unless it is linked here too: it is never created here as a second copy."""
    model = OWNED[record_type]
    column = model.xero_connection_id
    linked_here = select(XeroLink.local_id).where(
        XeroLink.record_type == record_type, XeroLink.connection_id == connection_id
    )
    if elsewhere:
        linked_elsewhere = select(XeroLink.local_id).where(
            XeroLink.record_type == record_type, XeroLink.connection_id != connection_id
        )
        placed = or_(
            and_(column.is_not(None), column != connection_id),
            and_(column.is_(None), model.id.in_(linked_elsewhere), model.id.not_in(linked_here)),
        )
    else:
        placed = or_(column == connection_id, and_(column.is_(None), model.id.in_(linked_here)))
    party = PARTIES.get(record_type)
    if party is not None:
        follows = getattr(model, party[0]).in_(_placed(party[1], connection_id, elsewhere=elsewhere))
        unlinked = model.id.not_in(select(XeroLink.local_id).where(XeroLink.record_type == record_type))
        placed = or_(placed, and_(column.is_(None), unlinked, follows))
    return select(model.id).where(placed)


def _linked(connection_id: str, record_type: RecordType) -> Select[tuple[str]]:
    return select(XeroLink.local_id).where(
        XeroLink.connection_id == connection_id, XeroLink.record_type == record_type
    )
