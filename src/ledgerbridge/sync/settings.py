"""Per-organisation sync settings: reading them (defaults when never saved) and changing
them with the consequences a change has for what is queued.

Changing the invoice sending cadence moves the waiting send to the new cadence's slot;
shortening the interval brings the next auto-sync forward, so a change is felt at once
rather than after the old, longer interval. Turning ``contacts_as_tasks`` on builds the
"Xero" project's tasks from the contacts already synced (``sync.contact_tasks``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.db import new_id
from ledgerbridge.errors import invalid
from ledgerbridge.jobs import scheduler
from ledgerbridge.jobs.queue import insert_ignoring_conflicts
from ledgerbridge.sync.contact_tasks import reconcile as reconcile_contact_tasks
from ledgerbridge.sync.models import SyncSettings
from ledgerbridge.sync.service import TWO_WAY
from ledgerbridge.xero.models import XeroConnection

NOT_NULL = (
    "invoice_sending",
    "invoice_status",
    "interval_minutes",
    "due_date_offset_days",
    "auto_sync",
    "contacts_as_tasks",
)
"""Settings that always have a value: null is refused rather than stored."""


def settings_for(session: Session, connection: XeroConnection) -> SyncSettings:
    """The organisation's settings row, created with the defaults on first use (by an
    insert that yields to the scheduler creating the same row at the same moment)."""
    query = select(SyncSettings).where(SyncSettings.connection_id == connection.id)
    settings = session.scalar(query)
    if settings is None:
        session.execute(
            insert_ignoring_conflicts(session, SyncSettings).values(
                id=new_id(), workspace_id=connection.workspace_id, connection_id=connection.id
            )
        )
        settings = session.scalars(query).one()
    return settings


def update_settings(
    session: Session, connection: XeroConnection, changes: Mapping[str, Any], now: datetime
) -> SyncSettings:
    """Apply ``changes`` (only the settings given) and re-plan what depends on them."""
    _check(changes)
    settings = settings_for(session, connection)
    cadence_before = settings.invoice_sending
    tasks_before = settings.contacts_as_tasks
    for name, value in changes.items():
        setattr(settings, name, {**settings.auto_sync, **value} if name == "auto_sync" else value)
    session.flush()
    if "interval_minutes" in changes:
        _bring_next_sync_forward(settings, now)
    if settings.invoice_sending != cadence_before:
        scheduler.reschedule_invoice_sending(session, connection.id, now)
    if settings.contacts_as_tasks and not tasks_before:
        reconcile_contact_tasks(session, connection)
    return settings


def _check(changes: Mapping[str, Any]) -> None:
    """What the request schema cannot say: no null for a setting that always has a value,
    and auto-sync switches only for types that sync."""
    for name in NOT_NULL:
        if name in changes and changes[name] is None:
            raise invalid(name, "may not be null; leave it out to keep the current value")
    known = {str(t) for t in TWO_WAY}
    for record_type in changes.get("auto_sync") or {}:
        if record_type not in known:
            raise invalid(f"auto_sync.{record_type}", "use one of: " + ", ".join(sorted(known)))


def _bring_next_sync_forward(settings: SyncSettings, now: datetime) -> None:
    """A shorter interval takes effect now; a longer one after the sync already planned."""
    soonest = now + timedelta(minutes=settings.interval_minutes)
    if settings.next_sync_at is not None and settings.next_sync_at > soonest:
        settings.next_sync_at = soonest
