"""Deciding what should run when: auto-sync per organisation, Force sync, the daily
maintenance jobs and invoice sending on each organisation's cadence.

The runner calls ``tick`` on every poll, so one process needs nothing else. Several
processes may tick at once: each decision is a conditional UPDATE or a job with a dedupe
key, so a slot is taken once whoever gets there first.

The scheduler plans only kinds that have a handler registered in this process (work no
process can do is not queued); Force sync is a person's request and is always queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ledgerbridge.db import Database, new_id
from ledgerbridge.errors import Conflict, NotFound, invalid
from ledgerbridge.jobs import registry
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.jobs.queue import enqueue, insert_ignoring_conflicts
from ledgerbridge.sync.models import RecordType, RunStatus, SyncSettings
from ledgerbridge.sync.runs import start_run
from ledgerbridge.work.models import Workspace
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection

SYNC_AUTO = "sync.auto"
SYNC_MANUAL = "sync.manual"
REFRESH_IDLE = "xero.refresh_idle"
PRUNE_JOBS = "jobs.prune"
SEND_INVOICES = "invoices.send_due"
PUSH_SAVED = "sync.push_saved"

DAILY: tuple[str, ...] = (REFRESH_IDLE, PRUNE_JOBS)
CADENCES = ("immediately", "weekly", "monthly")
SEND_HOUR = time(6, 0)


def sync_lock_key(connection_id: str) -> str:
    """Whole-organisation syncs (auto and manual) of one organisation never overlap."""
    return f"sync:{connection_id}"


# ------------------------------------------------------------------------------ ticks


def tick(session: Session, now: datetime) -> list[Job]:
    """Everything due at ``now``: auto-syncs, daily jobs, scheduled invoice sending."""
    queued = schedule_due(session, now)
    for kind in DAILY:
        job = ensure_periodic(session, kind, timedelta(days=1), now)
        if job is not None:
            queued.append(job)
    queued.extend(schedule_invoice_sending(session, now))
    return queued


def tick_in(database: Database, now: datetime) -> int:
    """``tick`` in a unit of work of its own; returns how many jobs it queued or touched."""
    with database.session() as session:
        return len(tick(session, now))


# ------------------------------------------------------------------------------ auto-sync


def schedule_due(session: Session, now: datetime) -> list[Job]:
    """Queue "sync.auto" for each connected organisation whose next sync is due (or was
    never set), and move its ``next_sync_at`` one interval on.

    ``next_sync_at`` is moved by an UPDATE that still requires it to be due, and only the
    process whose UPDATE matched queues the job, so an interval yields one sync however
    many processes tick.
    """
    if not registry.is_registered(SYNC_AUTO):
        return []
    _ensure_settings(session)
    due = session.execute(
        select(
            SyncSettings.id,
            SyncSettings.connection_id,
            SyncSettings.interval_minutes,
            SyncSettings.workspace_id,
        )
        .join(XeroConnection, XeroConnection.id == SyncSettings.connection_id)
        .where(
            XeroConnection.status == ConnectionStatus.CONNECTED,
            or_(SyncSettings.next_sync_at.is_(None), SyncSettings.next_sync_at <= now),
        )
    ).all()
    queued = []
    for row in due:
        interval = timedelta(minutes=max(row.interval_minutes, 1))
        if not _take_slot(session, row.id, now, now + interval):
            continue
        queued.append(
            enqueue(
                session,
                SYNC_AUTO,
                {"connection_id": row.connection_id},
                workspace_id=row.workspace_id,
                lock_key=sync_lock_key(row.connection_id),
                dedupe_key=f"{SYNC_AUTO}:{row.connection_id}",
                run_at=now,
            )
        )
    return queued


def _take_slot(session: Session, settings_id: str, now: datetime, next_at: datetime) -> bool:
    taken = session.scalar(
        update(SyncSettings)
        .where(
            SyncSettings.id == settings_id,
            or_(SyncSettings.next_sync_at.is_(None), SyncSettings.next_sync_at <= now),
        )
        .values(next_sync_at=next_at)
        .returning(SyncSettings.id)
        .execution_options(synchronize_session=False)
    )
    return taken is not None


def _ensure_settings(session: Session) -> None:
    """Give each connected organisation its default settings row (created by whichever
    process gets there first), so it is scheduled like every other."""
    missing = session.execute(
        select(XeroConnection.id, XeroConnection.workspace_id)
        .outerjoin(SyncSettings, SyncSettings.connection_id == XeroConnection.id)
        .where(XeroConnection.status == ConnectionStatus.CONNECTED, SyncSettings.id.is_(None))
    ).all()
    for connection_id, workspace_id in missing:
        session.execute(
            insert_ignoring_conflicts(session, SyncSettings).values(
                id=new_id(), workspace_id=workspace_id, connection_id=connection_id
            )
        )


def force_sync(
    session: Session, connection_id: str, record_types: Sequence[str] | None = None, *, now: datetime
) -> Job:
    """"Force sync": queue "sync.manual" to run at once (a request while one of the same
    scope waits returns that one). ``record_types`` None means every enabled type.

    The job carries a queued run (``args["run_id"]``) in the sync log, so whoever asked
    can follow that one run from "queued" to its end; the page and the API both queue
    through here, under the organisation's sync lock like every other sync."""
    connection = session.get(XeroConnection, connection_id)
    if connection is None:
        raise NotFound("No such Xero organisation.")
    if connection.status != ConnectionStatus.CONNECTED:
        raise Conflict(f"{connection.tenant_name} is not connected; reconnect it before syncing.")
    types = sorted(set(record_types)) if record_types else None
    scope = ",".join(types) if types else "all"
    chosen = [RecordType(t) for t in types or []]
    run = start_run(session, connection.workspace_id, connection_id, "manual", chosen)
    run.status, run.started_at = RunStatus.QUEUED, None
    job = enqueue(
        session,
        SYNC_MANUAL,
        {"connection_id": connection_id, "record_types": types, "run_id": run.id},
        workspace_id=connection.workspace_id,
        lock_key=sync_lock_key(connection_id),
        dedupe_key=f"{SYNC_MANUAL}:{connection_id}:{scope}",
        run_at=now,
    )
    waiting_run = job.args.get("run_id")
    if waiting_run is None:  # a sync queued before its run was: this run is that job's now
        job.args = {**job.args, "run_id": run.id}
    elif waiting_run != run.id:  # the same sync already waits: its run is the one to follow
        session.delete(run)
        session.flush()
        return job
    run.job_id = job.id
    session.flush()
    return job


# ------------------------------------------------------------------------------ periodic


def ensure_periodic(session: Session, kind: str, every: timedelta, now: datetime) -> Job | None:
    """Keep one job of ``kind`` queued, ``every`` after the last one's planned time (or now,
    if it never ran or is overdue). Anchoring on the planned time stops drift; the dedupe
    key (the kind itself) keeps it to one however many processes tick."""
    if not registry.is_registered(kind):
        return None
    waiting = session.scalar(select(Job.id).where(Job.dedupe_key == kind, Job.status == JobStatus.QUEUED))
    if waiting is not None:
        return None
    last = session.scalar(select(Job.run_at).where(Job.kind == kind).order_by(Job.run_at.desc()).limit(1))
    run_at = now if last is None else max(now, last + every)
    return enqueue(session, kind, {}, dedupe_key=kind, run_at=run_at)


# ------------------------------------------------------------------------------ invoices


def next_invoice_send(now: datetime, cadence: str, timezone: str = "UTC") -> datetime:
    """When invoices ready at ``now`` are sent, in UTC.

    immediately: now. weekly: the next Monday 06:00 in ``timezone``. monthly: the next
    1st of a month at 06:00 there. "Next" is strictly after ``now``, so a send that just
    ran is never planned again for the same instant.
    """
    if cadence == "immediately":
        return now
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if cadence == "weekly":
        monday = local.date() - timedelta(days=local.weekday())
        slot = datetime.combine(monday, SEND_HOUR, zone)
        if slot <= local:
            slot = datetime.combine(monday + timedelta(days=7), SEND_HOUR, zone)
        return slot.astimezone(now.tzinfo)
    if cadence == "monthly":
        first = local.date().replace(day=1)
        slot = datetime.combine(first, SEND_HOUR, zone)
        if slot <= local:
            following = (first + timedelta(days=32)).replace(day=1)
            slot = datetime.combine(following, SEND_HOUR, zone)
        return slot.astimezone(now.tzinfo)
    raise invalid("invoice_sending", "use one of: " + ", ".join(CADENCES))


def request_invoice_sending(session: Session, connection_id: str, now: datetime) -> Job | None:
    """Invoices became ready to send for this organisation: queue "invoices.send_due" at
    its cadence's next slot (one waiting job per organisation). None when no handler for
    sending is registered."""
    if not registry.is_registered(SEND_INVOICES):
        return None
    row = session.execute(
        select(XeroConnection.workspace_id, SyncSettings.invoice_sending, Workspace.timezone)
        .join(Workspace, Workspace.id == XeroConnection.workspace_id)
        .outerjoin(SyncSettings, SyncSettings.connection_id == XeroConnection.id)
        .where(XeroConnection.id == connection_id)
    ).one_or_none()
    if row is None:
        raise NotFound("No such Xero organisation.")
    return _queue_send(session, connection_id, row.workspace_id, row.invoice_sending or "immediately",
                       row.timezone, now)


def reschedule_invoice_sending(session: Session, connection_id: str, now: datetime) -> Job | None:
    """The organisation's cadence changed: the send waiting for the old cadence's slot is
    withdrawn (it may be later than the new one: ``enqueue`` only ever brings a job
    forward) and one is queued at the new cadence's next slot. Switching to "immediately"
    so sends at once what the old cadence was holding."""
    if not registry.is_registered(SEND_INVOICES):
        return None
    session.execute(
        delete(Job)
        .where(Job.dedupe_key == _send_key(connection_id), Job.status == JobStatus.QUEUED)
        .execution_options(synchronize_session=False)
    )
    return request_invoice_sending(session, connection_id, now)


def schedule_invoice_sending(session: Session, now: datetime) -> list[Job]:
    """Keep the next weekly or monthly send queued for each connected organisation that
    uses one; "immediately" is queued by ``request_invoice_sending`` when invoices are ready."""
    if not registry.is_registered(SEND_INVOICES):
        return []
    waiting = select(Job.dedupe_key).where(Job.kind == SEND_INVOICES, Job.status == JobStatus.QUEUED)
    rows = session.execute(
        select(
            XeroConnection.id, XeroConnection.workspace_id, SyncSettings.invoice_sending, Workspace.timezone
        )
        .join(SyncSettings, SyncSettings.connection_id == XeroConnection.id)
        .join(Workspace, Workspace.id == XeroConnection.workspace_id)
        .where(
            XeroConnection.status == ConnectionStatus.CONNECTED,
            SyncSettings.invoice_sending.in_(("weekly", "monthly")),
        )
    ).all()
    queued_keys = set(session.scalars(waiting))
    return [
        _queue_send(session, row.id, row.workspace_id, row.invoice_sending, row.timezone, now)
        for row in rows
        if _send_key(row.id) not in queued_keys
    ]


def queued_invoice_send(session: Session, connection_id: str) -> Job | None:
    """The organisation's next send, if one waits (to show when invoices go out)."""
    return session.scalar(
        select(Job).where(Job.dedupe_key == _send_key(connection_id), Job.status == JobStatus.QUEUED)
    )


def _send_key(connection_id: str) -> str:
    return f"{SEND_INVOICES}:{connection_id}"


def _queue_send(
    session: Session, connection_id: str, workspace_id: str, cadence: str, timezone: str, now: datetime
) -> Job:
    return enqueue(
        session,
        SEND_INVOICES,
        {"connection_id": connection_id},
        workspace_id=workspace_id,
        lock_key=sync_lock_key(connection_id),  # a send pulls and pushes: never beside a sync
        dedupe_key=_send_key(connection_id),
        run_at=next_invoice_send(now, cadence, timezone),
    )


# ------------------------------------------------------------------------------ push on save

_PUSH_TRIES = 3


def request_push(
    session: Session, connection_id: str, workspace_id: str, now: datetime, delay: timedelta
) -> Job | None:
    """Changes to records of this organisation were saved (with auto-sync on for their
    type): queue "sync.push_saved" ``delay`` from ``now``, in the caller's transaction. One
    waiting job per organisation, so a burst of saves is one push; it takes the sync lock,
    so it never runs beside a sync. None when no handler for it is registered.

    Coalescing onto a waiting job also locks that job's row until the caller commits (a
    no-op UPDATE that still requires it to be queued): a worker claiming it waits, so the
    push it runs sees this change. On SQLite the caller already holds the write lock; on
    PostgreSQL, without it, a job claimed between the lookup and the commit would run
    without this change and nothing would be left queued for it. A job claimed before the
    lock is taken is not waited for: a new one is queued instead.
    """
    if not registry.is_registered(PUSH_SAVED):
        return None
    for _ in range(_PUSH_TRIES):
        job = enqueue(
            session,
            PUSH_SAVED,
            {"connection_id": connection_id},
            workspace_id=workspace_id,
            lock_key=sync_lock_key(connection_id),  # a push pulls and pushes: never beside a sync
            dedupe_key=_push_key(connection_id),
            run_at=now + delay,
        )
        held = session.scalar(
            update(Job)
            .where(Job.id == job.id, Job.status == JobStatus.QUEUED)
            .values(run_at=Job.run_at)
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        )
        if held is not None:
            return job
    raise Conflict(f"the push of {connection_id} kept starting while it was being queued; try again")


def queued_push(session: Session, connection_id: str) -> Job | None:
    """The organisation's waiting push of saved changes, if any."""
    return session.scalar(
        select(Job).where(Job.dedupe_key == _push_key(connection_id), Job.status == JobStatus.QUEUED)
    )


def _push_key(connection_id: str) -> str:
    return f"{PUSH_SAVED}:{connection_id}"
