"""The sync engine: the same pull and push for every record type (see ``adapter``).

Pull: If-Modified-Since reads in ``UpdatedDateUTC`` order; each page is applied and the
cursor advanced in one transaction, never past the time the run started; records at the
boundary already applied are skipped, and unchanged records are skipped by content hash.
Before a local record is created for a Xero record, unlinked local records are matched, so
a sync never makes a second one of something that exists on either side.

Push: the outbox is drained in batches of 50 through the one client with
``summarizeErrors=false``; a batch is marked sending, with its exact payload, before it is
sent, so after a crash at any point it is resent identically under the same
Idempotency-Key and Xero replays instead of writing twice. Each element's outcome updates
its link or records Xero's own message, in one transaction per batch.

Conflicts (both sides changed since the last exchange): each differing field goes to its
owner in the adapter's written policy (Xero, the work side, or the later change); every
conflict is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Index, Table, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledgerbridge.db import insert_rows, new_id, savepoint, utcnow
from ledgerbridge.errors import XeroError
from ledgerbridge.sync import links, outbox
from ledgerbridge.sync.adapter import PULL_STATE, NewRecord, NotReady, NumberedByXero, RecordAdapter
from ledgerbridge.sync.models import OutboxEntry, OutboxStatus, SyncConflict, SyncCursor, SyncRun, XeroLink
from ledgerbridge.sync.runs import count, record_issue, resolve_issues
from ledgerbridge.xero.client import BATCH_SIZE, Organisation
from ledgerbridge.xero.dates import parse_datetime
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices


@dataclass
class PushHooks:
    """Test seams: called at each step of a push, so a test can crash it exactly there."""

    before_send: Callable[[], None] | None = None
    after_send: Callable[[], None] | None = None
    after_commit: Callable[[], None] | None = None


_UNKNOWN: Any = object()
"""Marks "the caller did not look the link up": ``_apply`` then queries it itself."""


@dataclass
class _Pending:
    """One record of a page that needs rows inserted: the new record's rows (parents first,
    none for a record written as an object) and its new link, with what a clash needs to
    settle it on its own (``_NewRows.insert``)."""

    run: SyncRun
    adapter: RecordAdapter
    connection_id: str
    xero_id: str
    fields: dict[str, Any]
    outcome: str
    """The counter ``_apply`` added it to (created or updated), taken back on a clash."""
    rows: list[tuple[Table, dict[str, Any]]]
    obj: Any | None = None
    """A new record written as an object (flushed before the rows): removed again when its
    link cannot be inserted, so it is not there twice or unlinked."""


@dataclass
class _NewRows:
    """The new records of a page (and their links) as rows, inserted together when the
    page is applied (``db.insert_rows``): a first import creates thousands per page, and the
    session's per-object bookkeeping costs more than the rules that check each record.

    Another transaction may insert the same rows first (a second worker or a webhook fetch
    pulling the same organisation, a client of the same name made meanwhile): one clash
    then costs its record, not the page. The page's rows go in one savepoint; only when it
    fails are they inserted again record by record, each in its own savepoint."""

    tables: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)
    records: list[_Pending] = field(default_factory=list)

    def add(self, record: _Pending) -> None:
        self.records.append(record)
        for table, row in record.rows:
            self.tables.setdefault(table, []).append(row)  # first seen, first inserted: parents first

    def insert(self, session: Session) -> None:
        try:
            if self.tables:
                session.flush()  # the page's objects, outside the savepoint: not a row clash
                try:
                    with savepoint(session):
                        for table, rows in self.tables.items():
                            insert_rows(session, table, rows)
                except IntegrityError:
                    self._insert_one_by_one(session)
        finally:
            self.tables.clear()
            self.records.clear()

    def _insert_one_by_one(self, session: Session) -> None:
        for record in self.records:
            failed: tuple[Table, dict[str, Any]] | None = None
            try:
                with savepoint(session):
                    for failed in record.rows:
                        insert_rows(session, failed[0], [failed[1]])
            except IntegrityError:
                assert failed is not None
                _settle_clash(session, record, *failed)


def _settle_clash(session: Session, record: _Pending, table: Table, row: dict[str, Any]) -> None:
    """A record whose rows clashed with rows another transaction committed: the same Xero
    record, applied there, is in and linked already (nothing failed); anything else is an
    issue on the run naming the record and what it clashed with."""
    run, adapter = record.run, record.adapter
    count(run, record.outcome, -1)
    if record.obj is not None:
        session.delete(record.obj)
    if links.by_xero_id(session, record.connection_id, adapter.record_type, record.xero_id) is not None:
        count(run, "skipped")
        return
    noun, name = adapter.record_type.value.replace("_", " "), adapter.describe(record.fields)
    record_issue(
        session,
        run,
        adapter.record_type,
        "pull",
        f"The Xero {noun} '{name}' was not added here: {_clash_words(table, row)}, "
        "written while this sync ran. Link them on the matching page, or rename one of them.",
        xero_id=record.xero_id,
    )


def _clash_words(table: Table, row: dict[str, Any]) -> str:
    """The unique rule a row may have broken, in words: the row's values for its table's
    unique columns (the workspace and organisation left out: a name unique per organisation,
    in its organisation or among those of none, is one rule, "the same name"), in a fixed
    order (a table's indexes are a set)."""
    if table is _LINKS:
        return "the record it matched is linked to another Xero record already"
    scope = {"workspace_id", "connection_id", "xero_connection_id", "record_type"}
    uniques = sorted(
        {
            tuple(c.name for c in u.columns if c.name not in scope)
            for u in [*table.constraints, *table.indexes]
            if isinstance(u, UniqueConstraint) or (isinstance(u, Index) and u.unique)
        }
    )
    same = [" and ".join(f"{c.replace('_', ' ')} '{row.get(c)}'" for c in cols) for cols in uniques if cols]
    noun = table.name.removesuffix("s").replace("_", " ")
    return f"another {noun} has the same {' or '.join(same) or 'values'}"


_LINKS = cast(Table, XeroLink.__table__)


@dataclass
class _Page:
    last_updated: datetime | None = None
    ids_at_last: list[str] = field(default_factory=list)


def organisation(connection: XeroConnection) -> Organisation:
    if connection.grant_id is None:
        raise XeroError(
            f"{connection.tenant_name} is not connected; reconnect it first.", 409, "xero_not_connected"
        )
    return Organisation(connection.grant_id, connection.tenant_id)


# -- pull ---------------------------------------------------------------------------------


async def pull(
    services: XeroServices, adapter: RecordAdapter, connection_id: str, run_id: str, dry_run: bool = False
) -> None:
    with services.database.session() as session:
        connection = _connection(session, connection_id)
        org = organisation(connection)
        cursor = _cursor(session, adapter, connection)
        since, boundary = cursor.value, set(cursor.boundary_ids or [])
    signpost, state = services.clock.utcnow(), dict[str, Any]()
    params = {**adapter.pull_params, "order": "UpdatedDateUTC ASC"}
    async for records in services.client.pages(
        org, adapter.path, adapter.key, params=params, modified_since=since
    ):
        with services.database.session() as session:
            session.info[PULL_STATE] = state
            run, connection = _run(session, run_id), _connection(session, connection_id)
            page = _apply_page(session, adapter, run, connection, records, since, boundary, dry_run)
            if not dry_run:
                _advance(_cursor(session, adapter, connection), page, signpost)


async def pull_by_ids(
    services: XeroServices, adapter: RecordAdapter, connection_id: str, run_id: str, xero_ids: list[str]
) -> None:
    """A targeted fetch (a webhook said these changed): read in full (``by_ids`` pages, so
    lines come with the records), one call per chunk of ids, no cursor movement."""
    with services.database.session() as session:
        org = organisation(_connection(session, connection_id))
    records = await services.client.by_ids(
        org,
        adapter.path,
        adapter.key,
        sorted(set(xero_ids)),
        adapter.ids_param,
        params=adapter.pull_params,
        id_field=adapter.id_field,
    )
    apply_fetched(services, adapter, connection_id, run_id, records)


def apply_fetched(
    services: XeroServices,
    adapter: RecordAdapter,
    connection_id: str,
    run_id: str,
    records: list[dict[str, Any]],
) -> None:
    """Records fetched by id, applied in one transaction like a page, cursor untouched.
    Whatever read they came from, a field they lack is never taken as empty (``_apply``)."""
    with services.database.session() as session:
        run, connection = _run(session, run_id), _connection(session, connection_id)
        new_rows = _NewRows()
        for remote in records:
            updated = parse_datetime(remote.get("UpdatedDateUTC"))
            _apply(session, adapter, run, connection, remote, updated, False, new_rows)
        new_rows.insert(session)


def _cursor(session: Session, adapter: RecordAdapter, connection: XeroConnection) -> SyncCursor:
    cursor = session.scalar(
        select(SyncCursor).where(
            SyncCursor.connection_id == connection.id, SyncCursor.record_type == adapter.record_type
        )
    )
    if cursor is None:
        cursor = SyncCursor(
            workspace_id=connection.workspace_id,
            connection_id=connection.id,
            record_type=adapter.record_type,
            boundary_ids=[],
        )
        try:
            with savepoint(session):
                session.add(cursor)
        except IntegrityError:  # a second pull of this organisation made it meanwhile
            return _cursor(session, adapter, connection)
    return cursor


def _apply_page(
    session: Session,
    adapter: RecordAdapter,
    run: SyncRun,
    connection: XeroConnection,
    records: list[dict[str, Any]],
    since: datetime | None,
    boundary: set[str],
    dry_run: bool,
) -> _Page:
    """One page in one transaction: its links in one query, no flush until the end."""
    page, new_rows = _Page(), _NewRows()
    known = links.by_xero_ids(
        session, connection.id, adapter.record_type, [str(r[adapter.id_field]) for r in records]
    )
    prepare = getattr(adapter, "prepare_page", None)
    if prepare is not None:
        prepare(session, connection, records)
    with session.no_autoflush:
        for remote in records:
            xero_id = str(remote[adapter.id_field])
            updated = parse_datetime(remote.get("UpdatedDateUTC"))
            if since is not None and updated == since and xero_id in boundary:
                count(run, "skipped")
                continue
            _apply(session, adapter, run, connection, remote, updated, dry_run, new_rows, known.get(xero_id))
            if updated is not None and (page.last_updated is None or updated > page.last_updated):
                page.last_updated, page.ids_at_last = updated, [xero_id]
            elif updated is not None and updated == page.last_updated:
                page.ids_at_last.append(xero_id)
    new_rows.insert(session)
    session.flush()
    return page


def _advance(cursor: SyncCursor, page: _Page, signpost: datetime) -> None:
    """Move the cursor with the records it covers, never past the run's start."""
    if page.last_updated is None:
        return
    value = min(page.last_updated, signpost)
    ids = page.ids_at_last if value == page.last_updated else []
    if cursor.value == value:
        ids = sorted(set(cursor.boundary_ids or []) | set(ids))
    cursor.value, cursor.boundary_ids = value, ids


def _apply(
    session: Session,
    adapter: RecordAdapter,
    run: SyncRun,
    connection: XeroConnection,
    remote: dict[str, Any],
    updated: datetime | None,
    dry_run: bool,
    new_rows: _NewRows,
    link: XeroLink | None = _UNKNOWN,
) -> None:
    xero_id = str(remote[adapter.id_field])
    fields = adapter.remote_fields(remote)
    if link is _UNKNOWN:
        link = links.by_xero_id(session, connection.id, adapter.record_type, xero_id)
    unread = adapter.detail_fields - fields.keys()
    in_xero = _with_unread(fields, unread, link)
    if in_xero is None:
        _refuse_summary(session, adapter, run, fields, unread, xero_id, link, dry_run)
        return
    digest = links.content_hash(in_xero)
    if link is not None and link.content_hash == digest:
        count(run, "skipped")
        return
    obj = adapter.load(session, connection.workspace_id, link.local_id) if link else None
    if obj is None and unread:  # nothing to keep the unread fields of: never made from a summary
        _refuse_summary(session, adapter, run, fields, unread, xero_id, link, dry_run)
        return
    if obj is None:
        obj = adapter.match(session, connection, remote)
        if obj is not None and not outbox.belongs_to(session, adapter.record_type, obj.id, connection.id):
            obj = None  # a record of another organisation is never linked here
    if dry_run:
        action = "update" if link is not None else ("link" if obj is not None else "create")
        preview(run, adapter, "local", action, adapter.describe(fields), xero_id)
        return
    if obj is not None and link is not None:
        fields = _resolve_conflicts(session, adapter, run, connection, obj, link, fields, updated)
        if not fields:  # nothing to change here, but Xero's record moved: that is the new base
            count(run, "skipped")
            _remember(link, xero_id, digest, in_xero, updated)
            return
    written = adapter.write(session, run, connection, obj, fields, remote)
    if written is None:
        return
    outcome = "created" if obj is None else "updated"
    count(run, outcome)
    pending = _Pending(run, adapter, connection.id, xero_id, fields, outcome, [])
    if isinstance(written, NewRecord):
        pending.rows.extend(written.rows)
    else:
        if written.id is None:
            written.id = new_id()  # known now, so the link needs no flush
        if getattr(written, "xero_connection_id", connection.id) is None:
            written.xero_connection_id = connection.id  # pulled from here: it belongs here
        pending.obj = written if obj is None and written in session.new else None
    if link is None:  # inserted with the page's new records
        new_link = _link_row(connection, adapter, written.id, xero_id, digest, in_xero, updated)
        pending.rows.append((_LINKS, new_link))
    if pending.rows:
        new_rows.add(pending)
    if link is None:
        return
    link.local_id = written.id  # also when its old record is gone and this one replaces it
    _remember(link, xero_id, digest, in_xero, updated)


def _remember(
    link: XeroLink, xero_id: str, digest: str, in_xero: dict[str, Any], updated: datetime | None
) -> None:
    """Record what Xero holds as the link's last exchange: the base the next pull compares
    both sides against. Also when nothing changed here (Xero came round to this side's
    values, or this side's change wins and waits for the push): a stale base would make the
    same change look new at every sync, and readers of the link (a credit allocation waiting
    for its invoice to be AUTHORISED there) would never see it move."""
    link.xero_id, link.content_hash, link.content = xero_id, digest, in_xero
    link.remote_updated_at, link.synced_at = updated or link.remote_updated_at, utcnow()


def _with_unread(
    fields: dict[str, Any], unread: frozenset[str], link: XeroLink | None
) -> dict[str, Any] | None:
    """What Xero holds, for the link's hash and content. A summary read (detail fields
    missing: a list read without ``LineItems``, say) takes the unread fields as last
    exchanged, so an unchanged record still hashes the same and later comparisons keep a
    true base; only ``fields`` (what was read) is ever compared and written. None when
    there is no last exchange to take them from."""
    if not unread:
        return fields
    known = link.content if link is not None else None
    if not known or not unread <= known.keys():
        return None
    return {**fields, **{name: known[name] for name in unread}}


def _refuse_summary(
    session: Session,
    adapter: RecordAdapter,
    run: SyncRun,
    fields: dict[str, Any],
    unread: frozenset[str],
    xero_id: str,
    link: XeroLink | None,
    dry_run: bool,
) -> None:
    """A summary read of a record that is not here (or not linked) yet: it is neither made
    nor linked without the fields it lacks, and the log says so (its Retry reads it again)."""
    if dry_run:
        count(run, "skipped")
        return
    missing = ", ".join(sorted(unread))
    record_issue(
        session,
        run,
        adapter.record_type,
        "pull",
        f"{adapter.describe(fields)}: Xero sent it without its {missing} (a summary read); "
        "nothing was changed here. The next sync reads it in full.",
        local_id=link.local_id if link is not None else None,
        xero_id=xero_id,
    )


def _link_row(
    connection: XeroConnection,
    adapter: RecordAdapter,
    local_id: str,
    xero_id: str,
    digest: str,
    content: dict[str, Any],
    updated: datetime | None,
) -> dict[str, Any]:
    """A new link as a row (its id and times are the INSERT's defaults)."""
    return {
        "workspace_id": connection.workspace_id,
        "connection_id": connection.id,
        "record_type": adapter.record_type,
        "local_id": local_id,
        "xero_id": xero_id,
        "content_hash": digest,
        "content": content,
        "remote_updated_at": updated,
        "synced_at": utcnow(),
    }


def _resolve_conflicts(
    session: Session,
    adapter: RecordAdapter,
    run: SyncRun,
    connection: XeroConnection,
    obj: Any,
    link: XeroLink,
    remote: dict[str, Any],
    updated: datetime | None,
) -> dict[str, Any]:
    """The remote fields to apply. A field changed on one side only takes that side's
    value; a field both sides changed (to different values) goes to its owner in the
    adapter's policy (the later change, for 'latest'), and the conflict is recorded."""
    local = adapter.local_fields(session, obj)
    if link.content_hash in (links.content_hash(local), links.UNEXCHANGED):
        return remote  # only Xero changed, or nothing was exchanged yet (a link set by hand)
    last = link.content or {}
    local_is_later = updated is None or obj.updated_at > updated
    applied: dict[str, Any] = {}
    for name, value in remote.items():
        local_changed = name not in last or local.get(name) != last.get(name)
        remote_changed = name not in last or value != last.get(name)
        if not local_changed or local.get(name) == value:
            applied[name] = value
            continue
        if not remote_changed:
            continue  # only the work side changed it: keep it, the push sends it
        owner = adapter.owner(name)
        xero_wins = owner == "xero" or (owner == "latest" and not local_is_later)
        _record_conflict(
            session, adapter, connection, obj, link, name, local.get(name), value, xero_wins, owner
        )
        count(run, "conflicts")
        if xero_wins:
            applied[name] = value
    return applied if any(local.get(k) != v for k, v in applied.items()) else {}


def _record_conflict(
    session: Session,
    adapter: RecordAdapter,
    connection: XeroConnection,
    obj: Any,
    link: XeroLink,
    name: str,
    local_value: Any,
    xero_value: Any,
    xero_wins: bool,
    owner: str,
) -> None:
    session.add(
        SyncConflict(
            workspace_id=connection.workspace_id,
            connection_id=connection.id,
            record_type=adapter.record_type,
            local_id=obj.id,
            xero_id=link.xero_id,
            field=name,
            local_value=local_value,
            xero_value=xero_value,
            winner="xero" if xero_wins else "local",
            reason=_reason(owner),
        )
    )


def _reason(owner: str) -> str:
    return {
        "xero": "Both sides changed it; Xero owns this field.",
        "local": "Both sides changed it; the work side owns this field.",
    }.get(owner, "Both sides changed it since the last sync; the later change wins.")


def preview(
    run: SyncRun, adapter: RecordAdapter, side: str, action: str, name: str, xero_id: str | None
) -> None:
    run.preview = [
        *run.preview,
        {
            "record_type": str(adapter.record_type),
            "side": side,
            "action": action,
            "name": name,
            "xero_id": xero_id,
        },
    ]
    count(run, f"would_{action}")


# -- push ---------------------------------------------------------------------------------


async def push(
    services: XeroServices,
    adapter: RecordAdapter,
    connection_id: str,
    run_id: str,
    dry_run: bool = False,
    hooks: PushHooks | None = None,
    *,
    send_held: bool = False,
) -> None:
    """Drain the outbox. ``send_held``: also send what waits for a scheduled send (new
    invoices of an organisation that sends weekly or monthly; see ``outbox.holds_new``)."""
    hooks = hooks or PushHooks()
    if dry_run:
        _preview_push(services, adapter, connection_id, run_id, send_held)
        return
    with services.database.session() as session:
        connection = _connection(session, connection_id)
        org = organisation(connection)
        unknown = [
            [e.id for e in b] for b in outbox.in_flight(session, connection_id, adapter.record_type).values()
        ]
        outbox.backfill(
            session, connection, adapter.record_type, adapter.backfill_query(connection.workspace_id)
        )
    for entry_ids in unknown:  # outcomes never recorded: resend exactly, same key
        await _send(services, adapter, org, run_id, entry_ids, hooks)
    while True:
        entry_ids = _prepare_batch(services, adapter, connection_id, run_id, send_held)
        if not entry_ids:
            return
        await _send(services, adapter, org, run_id, entry_ids, hooks)


def _prepare_batch(
    services: XeroServices, adapter: RecordAdapter, connection_id: str, run_id: str, send_held: bool = False
) -> list[str]:
    """Mark the next batch as sending, with its exact payload, and commit before sending."""
    with services.database.session() as session:
        run, connection = _run(session, run_id), _connection(session, connection_id)
        batch: list[OutboxEntry] = []
        in_batch: set[str] = set()
        for entry in outbox.pending(
            session, connection_id, adapter.record_type, BATCH_SIZE, send_held=send_held
        ):
            if entry.local_id in in_batch:
                continue  # one record once per batch; this row goes next time (then unchanged)
            body = _payload(session, adapter, run, connection, entry)
            if body is None:
                continue
            entry.payload, entry.status = body, OutboxStatus.SENDING
            entry.attempts += 1
            batch.append(entry)
            in_batch.add(entry.local_id)
        key = outbox.batch_key(batch) if batch else None
        for entry in batch:
            entry.batch_key = key
        return [e.id for e in batch]


def _payload(
    session: Session, adapter: RecordAdapter, run: SyncRun, connection: XeroConnection, entry: OutboxEntry
) -> dict[str, Any] | None:
    """The record to send; None when there is nothing to send (settled on the row)."""
    obj = adapter.load(session, entry.workspace_id, entry.local_id)
    link = links.by_local_id(session, entry.connection_id, adapter.record_type, entry.local_id)
    elsewhere = not outbox.belongs_to(session, entry.record_type, entry.local_id, entry.connection_id)
    if link is None and elsewhere:
        obj = None  # it belongs to another organisation now: nothing to send here
    fields = adapter.local_fields(session, obj) if obj is not None else None
    digest = links.content_hash(fields) if fields is not None else None
    if obj is None or (link is not None and link.content_hash == digest):
        entry.status, entry.sent_at = OutboxStatus.SENT, utcnow()
        count(run, "skipped")
        if obj is not None:  # Xero holds it as it is: it arrived
            resolve_issues(session, entry.connection_id, adapter.record_type, [entry.local_id])
        return None
    try:
        body = adapter.payload(session, connection, obj, link.xero_id if link else None)
    except NotReady as reason:
        entry.status, entry.last_error = OutboxStatus.FAILED, str(reason)
        record_issue(session, run, adapter.record_type, "push", str(reason), local_id=entry.local_id)
        return None
    return {"body": body, "digest": digest, "fields": fields}


async def _send(
    services: XeroServices,
    adapter: RecordAdapter,
    org: Organisation,
    run_id: str,
    entry_ids: list[str],
    hooks: PushHooks,
) -> None:
    with services.database.session() as session:
        entries = [session.get(OutboxEntry, entry_id) for entry_id in entry_ids]
        bodies = [e.payload["body"] for e in entries if e is not None and e.payload]
        key = entries[0].batch_key if entries and entries[0] is not None else None
    if not bodies or key is None:
        return
    if hooks.before_send:
        hooks.before_send()
    try:
        results = await services.client.write_batch(org, "POST", adapter.path, adapter.key, bodies, key)
    except XeroError as exc:
        _fail_batch(services, run_id, entry_ids, exc.detail)
        return
    if hooks.after_send:
        hooks.after_send()
    with services.database.session() as session:
        run = _run(session, run_id)
        sent: dict[str, list[str]] = {}
        for entry_id, result in zip(entry_ids, results, strict=True):
            entry = session.get(OutboxEntry, entry_id)
            assert entry is not None and entry.payload is not None
            _record_outcome(session, adapter, run, entry, result.ok, result.record, result.messages)
            if result.ok:
                sent.setdefault(entry.connection_id, []).append(entry.local_id)
        for connection_id, local_ids in sent.items():  # first sent there: they belong there
            outbox.claim(session, adapter.record_type, local_ids, connection_id)
    if hooks.after_commit:
        hooks.after_commit()


def _record_outcome(
    session: Session,
    adapter: RecordAdapter,
    run: SyncRun,
    entry: OutboxEntry,
    ok: bool,
    record: dict[str, Any],
    messages: list[str],
) -> None:
    assert entry.payload is not None
    if ok:
        created = links.by_local_id(session, entry.connection_id, adapter.record_type, entry.local_id) is None
        if created and isinstance(adapter, NumberedByXero) and entry.payload.get("fields") is not None:
            fields = adapter.number_from_xero(
                session, entry.connection_id, entry.local_id, record, entry.payload["fields"]
            )
            if fields != entry.payload["fields"]:
                entry.payload = {**entry.payload, "fields": fields, "digest": links.content_hash(fields)}
        links.upsert(
            session,
            entry.workspace_id,
            entry.connection_id,
            adapter.record_type,
            entry.local_id,
            str(record[adapter.id_field]),
            entry.payload["digest"],
            parse_datetime(record.get("UpdatedDateUTC")),
            content=entry.payload.get("fields"),
        )
        entry.status, entry.sent_at, entry.last_error = OutboxStatus.SENT, utcnow(), None
        count(run, "pushed_created" if created else "pushed_updated")
        resolve_issues(session, entry.connection_id, adapter.record_type, [entry.local_id])
        return
    message = "; ".join(messages) or f"Xero rejected the {adapter.record_type.value.replace('_', ' ')}."
    entry.status, entry.last_error = OutboxStatus.FAILED, message
    record_issue(
        session, run, adapter.record_type, "push", message, local_id=entry.local_id, from_xero=bool(messages)
    )


def _fail_batch(services: XeroServices, run_id: str, entry_ids: list[str], message: str) -> None:
    """The whole request failed (Xero down after retries, auth): keep the rows to resend."""
    with services.database.session() as session:
        run = _run(session, run_id)
        for entry_id in entry_ids:
            entry = session.get(OutboxEntry, entry_id)
            if entry is not None:
                entry.last_error = message
        run.error = message


def _preview_push(
    services: XeroServices, adapter: RecordAdapter, connection_id: str, run_id: str, send_held: bool = False
) -> None:
    with services.database.session() as session:
        run, connection = _run(session, run_id), _connection(session, connection_id)
        held = not send_held and outbox.holds_new(session, connection_id, adapter.record_type)
        backfill = [] if held else outbox.unlinked(
            session, connection, adapter.record_type, adapter.backfill_query(connection.workspace_id)
        )
        pending = [
            e.local_id
            for e in outbox.pending(session, connection_id, adapter.record_type, 10_000, send_held=send_held)
        ]
        for local_id in dict.fromkeys([*backfill, *pending]):
            obj = adapter.load(session, connection.workspace_id, local_id)
            if obj is None:
                continue
            link = links.by_local_id(session, connection_id, adapter.record_type, local_id)
            if link is not None and link.content_hash == links.content_hash(
                adapter.local_fields(session, obj)
            ):
                count(run, "skipped")
                continue
            preview(run, adapter, "xero", "update" if link else "create", adapter.describe(obj), None)


# -- shared -------------------------------------------------------------------------------


def _connection(session: Session, connection_id: str) -> XeroConnection:
    connection = session.get(XeroConnection, connection_id)
    if connection is None:
        raise XeroError("That Xero organisation is no longer connected.", 404, "xero_not_connected")
    return connection


def _run(session: Session, run_id: str) -> SyncRun:
    run = session.get(SyncRun, run_id)
    assert run is not None, "the run is created before any work starts"
    return run
