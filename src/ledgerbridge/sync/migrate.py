"""Which Xero organisation a record belongs to, and "Migrate".

A workspace may connect several organisations. Every record that syncs (clients, items,
invoices and bills, credit notes, purchase orders, payments) carries the organisation it
belongs to (``xero_connection_id``): the one it was pulled from, the one chosen when it was
made here (a document made without one takes its client's, a payment its invoice's), or,
until it is first sent, none, and then it goes to the default organisation (``outbox``).

Records synced while the workspace had one organisation belong to none. "Migrate" assigns
each of them to an organisation chosen by a manager, with the links as the truth:

- a record linked in some organisation (it is there already) goes to that organisation:
  the chosen one when it is linked there, else the one it was first linked in;
- a record linked nowhere goes where its party went (a document with its client, a payment
  with its invoice) when that is another organisation, else to the chosen one;
- a record that already belongs to an organisation is left alone.

No link is ever created, moved or deleted. Changes still waiting in the outbox for an
organisation the record no longer goes to are re-targeted to its organisation (or dropped
when an identical row already waits there), so nothing is sent twice. Running it again
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ledgerbridge.db import utcnow
from ledgerbridge.errors import Conflict, FieldError, invalid
from ledgerbridge.jobs import scheduler
from ledgerbridge.sync import outbox
from ledgerbridge.sync.models import OutboxEntry, OutboxStatus, RecordType, XeroLink
from ledgerbridge.xero.models import XeroConnection

CHUNK = 500
"""Ids per IN list: under every backend's parameter limit."""

PARTIES = outbox.PARTIES
"""A document cannot go to an organisation its client is not in, nor a payment without its invoice."""


# -- the organisation of a record made here ------------------------------------------------


def settle_organisation(session: Session, record_type: RecordType, obj: Any) -> None:
    """Before a record made or changed here is saved: fill in the organisation it goes to
    when it has none (the one it is already linked in; else, for a document its client's,
    for a payment its invoice's), and refuse, naming the field, what would send it where it
    cannot be: a record already in Xero moved to another organisation, or a document to an
    organisation its client is not in."""
    linked = _linked_in(session, record_type, [obj.id]).get(obj.id, []) if obj.id is not None else []
    if obj.xero_connection_id is None:
        obj.xero_connection_id = linked[0] if linked else _party_organisation(session, record_type, obj)
    if obj.xero_connection_id is None:
        return
    if linked and obj.xero_connection_id not in linked:
        names = ", ".join(_names(session, linked))
        raise Conflict(
            f"This record is already in Xero ({names}); it cannot move to another organisation.",
            [FieldError("xero_connection_id", f"is already in {names}")],
        )
    _check_party(session, record_type, obj)


def _party_organisation(session: Session, record_type: RecordType, obj: Any) -> str | None:
    party = PARTIES.get(record_type)
    if party is None:
        return None
    party_id = getattr(obj, party[0], None)
    return outbox.own_connection_id(session, party[1], party_id) if party_id else None


def _check_party(session: Session, record_type: RecordType, obj: Any) -> None:
    party = PARTIES.get(record_type)
    party_id = getattr(obj, party[0], None) if party is not None else None
    if party is None or party_id is None:
        return
    own = outbox.own_connection_id(session, party[1], party_id)
    if own is None or own == obj.xero_connection_id:
        return
    if obj.xero_connection_id in _linked_in(session, party[1], [party_id]).get(party_id, []):
        return  # the party is in that organisation too
    noun = "client" if party[1] is RecordType.CONTACT else "invoice"
    (name,) = _names(session, [own])
    raise invalid(
        "xero_connection_id",
        f"its {noun} belongs to {name}; choose {name} or leave the organisation out",
    )


def check_connection(
    session: Session, workspace_id: str, connection_id: str, field_name: str
) -> XeroConnection:
    """The workspace's organisation with this id, or a 422 naming the field."""
    connection = session.get(XeroConnection, connection_id)
    if connection is None or connection.workspace_id != workspace_id:
        raise invalid(
            field_name, f"no Xero organisation with id '{connection_id}' is connected to this workspace"
        )
    return connection


def find_connection(session: Session, workspace_id: str, id_or_name: str, field_name: str) -> XeroConnection:
    """An organisation of the workspace by id or by name (for the command line)."""
    by_name = session.scalars(
        select(XeroConnection).where(
            XeroConnection.workspace_id == workspace_id,
            func.lower(XeroConnection.tenant_name) == id_or_name.strip().lower(),
        )
    ).all()
    if len(by_name) == 1:
        return by_name[0]
    return check_connection(session, workspace_id, id_or_name, field_name)


# -- Migrate -------------------------------------------------------------------------------


@dataclass
class TypeCounts:
    assigned: int = 0
    """Linked nowhere else: now belongs to the chosen organisation."""
    kept_linked: int = 0
    """Already linked in another organisation (not the chosen one): belongs to that one."""
    with_party: int = 0
    """Linked nowhere: goes where its client (or invoice) went, another organisation."""
    already_assigned: int = 0
    """Belonged to an organisation before: untouched."""
    retargeted: int = 0
    """Waiting changes moved to the record's organisation (or dropped as already waiting there)."""


@dataclass
class MigrateReport:
    connection_id: str
    tenant_name: str
    dry_run: bool
    counts: dict[str, TypeCounts] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(c.assigned + c.kept_linked + c.with_party + c.retargeted for c in self.counts.values())


def migrate(
    session: Session, workspace_id: str, connection_id: str, *, dry_run: bool = False
) -> MigrateReport:
    """Assign every record of the workspace that belongs to no organisation (see the module
    docstring). ``dry_run``: count what it would do and write nothing."""
    chosen = check_connection(session, workspace_id, connection_id, "connection_id")
    report = MigrateReport(chosen.id, chosen.tenant_name, dry_run)
    planned: dict[RecordType, dict[str, str]] = {}
    for record_type, model in outbox.OWNED.items():
        counts = TypeCounts()
        counts.already_assigned = (
            session.scalar(
                select(func.count()).where(
                    model.workspace_id == workspace_id, model.xero_connection_id.is_not(None)
                )
            )
            or 0
        )
        plan = _plan(session, workspace_id, chosen.id, record_type, counts, planned)
        planned[record_type] = plan
        if not dry_run:
            _assign(session, model, plan)
        counts.retargeted = _retarget(session, workspace_id, record_type, plan, dry_run)
        report.counts[str(record_type)] = counts
    session.flush()
    return report


def _plan(
    session: Session,
    workspace_id: str,
    chosen_id: str,
    record_type: RecordType,
    counts: TypeCounts,
    planned: dict[RecordType, dict[str, str]],
) -> dict[str, str]:
    """Record id -> the organisation it goes to, for the records that belong to none."""
    model = outbox.OWNED[record_type]
    party = PARTIES.get(record_type)
    party_column = getattr(model, party[0]) if party is not None else model.id
    rows = session.execute(
        select(model.id, party_column)
        .where(model.workspace_id == workspace_id, model.xero_connection_id.is_(None))
        .order_by(model.id)
    ).all()
    linked = _linked_in(session, record_type, [row[0] for row in rows])
    parties = _party_organisations(session, party, [row[1] for row in rows], planned) if party else {}
    plan: dict[str, str] = {}
    for local_id, party_id in rows:
        orgs = linked.get(local_id, [])
        if chosen_id in orgs or (not orgs and parties.get(party_id) in (None, chosen_id)):
            plan[local_id] = chosen_id
            counts.assigned += 1
        elif orgs:
            plan[local_id] = orgs[0]
            counts.kept_linked += 1
        else:
            plan[local_id] = parties[party_id]
            counts.with_party += 1
    return plan


def _party_organisations(
    session: Session,
    party: tuple[str, RecordType],
    party_ids: Sequence[str | None],
    planned: dict[RecordType, dict[str, str]],
) -> dict[str | None, str]:
    """Where each party is: already assigned, or planned in this run (a dry run writes nothing)."""
    ids = sorted({p for p in party_ids if p is not None})
    model = outbox.OWNED[party[1]]
    found: dict[str | None, str] = {}
    for chunk in _chunks(ids):
        found.update(
            session.execute(
                select(model.id, model.xero_connection_id).where(
                    model.id.in_(chunk), model.xero_connection_id.is_not(None)
                )
            )
            .tuples()
            .all()
        )
    for party_id in ids:
        if party_id in planned.get(party[1], {}):
            found[party_id] = planned[party[1]][party_id]
    return found


def _linked_in(session: Session, record_type: RecordType, local_ids: Sequence[str]) -> dict[str, list[str]]:
    """Record id -> the organisations it is linked in, the earliest link first."""
    linked: dict[str, list[str]] = {}
    for chunk in _chunks(local_ids):
        for local_id, connection_id in session.execute(
            select(XeroLink.local_id, XeroLink.connection_id)
            .where(XeroLink.record_type == record_type, XeroLink.local_id.in_(chunk))
            .order_by(XeroLink.created_at, XeroLink.id)
        ).tuples():
            linked.setdefault(local_id, []).append(connection_id)
    return linked


def _assign(session: Session, model: type[Any], plan: dict[str, str]) -> None:
    by_target: dict[str, list[str]] = {}
    for local_id, target in plan.items():
        by_target.setdefault(target, []).append(local_id)
    for target, local_ids in by_target.items():
        for chunk in _chunks(local_ids):
            session.execute(
                update(model)
                .where(model.id.in_(chunk), model.xero_connection_id.is_(None))
                .values(xero_connection_id=target)
                .execution_options(synchronize_session="fetch")
            )


def _retarget(
    session: Session, workspace_id: str, record_type: RecordType, plan: dict[str, str], dry_run: bool
) -> int:
    """Move waiting (never sent) outbox rows of the assigned records to their organisation.
    A row for an organisation the record is linked in stays: it updates the copy there."""
    moved = 0
    local_ids = list(plan)
    linked = _linked_in(session, record_type, local_ids)
    waiting: dict[tuple[str, str], OutboxEntry] = {}
    rows: list[OutboxEntry] = []
    for chunk in _chunks(local_ids):
        rows.extend(
            session.scalars(
                select(OutboxEntry)
                .where(
                    OutboxEntry.workspace_id == workspace_id,
                    OutboxEntry.record_type == record_type,
                    OutboxEntry.status == OutboxStatus.PENDING,
                    OutboxEntry.local_id.in_(chunk),
                )
                .order_by(OutboxEntry.created_at, OutboxEntry.id)
            )
        )
    for row in rows:
        waiting.setdefault((row.local_id, row.connection_id), row)
    targets: set[str] = set()
    for row in rows:
        target = plan[row.local_id]
        if row.connection_id == target or row.connection_id in linked.get(row.local_id, []):
            continue
        moved += 1
        if dry_run:
            continue
        if (row.local_id, target) in waiting:
            session.delete(row)  # the same change already waits there: one row is enough
        else:
            waiting[(row.local_id, target)] = row
            row.connection_id = target
            targets.add(target)
    if record_type is RecordType.INVOICE:
        for target in sorted(targets):  # plan their send at that organisation's cadence
            scheduler.request_invoice_sending(session, target, utcnow())
    return moved


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _names(session: Session, connection_ids: Sequence[str]) -> list[str]:
    names = []
    for connection_id in connection_ids:
        connection = session.get(XeroConnection, connection_id)
        names.append(connection.tenant_name if connection is not None else connection_id)
    return names


def settle_hook(record_type: RecordType) -> Callable[[Session, Any, Any], None]:
    """``settle_organisation`` as a resource's validate hook (the API's create and update)."""

    def hook(session: Session, _actor: Any, obj: Any) -> None:
        settle_organisation(session, record_type, obj)

    return hook


__all__ = [
    "MigrateReport",
    "TypeCounts",
    "check_connection",
    "find_connection",
    "migrate",
    "settle_hook",
    "settle_organisation",
]
