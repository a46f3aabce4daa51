"""Per-organisation sync settings: reading them (defaults when never saved) and changing
them with the consequences a change has for what is queued.

The invoice defaults (revenue and expense account, tax rate, branding theme) must name
records imported from THAT organisation (``reference_errors``): Xero refuses an invoice
whose account code or tax type it does not have, so a bad code is refused here, when it is
set, not at the first send. The settings page offers these as selects filled from the same
``reference_choices``, and checks through the same ``reference_errors``.

Changing the invoice sending cadence moves the waiting send to the new cadence's slot;
shortening the interval brings the next auto-sync forward, so a change is felt at once
rather than after the old, longer interval. Turning ``contacts_as_tasks`` on builds the
"Xero" project's tasks from the contacts already synced (``sync.contact_tasks``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ledgerbridge.db import new_id
from ledgerbridge.errors import FieldError, ValidationFailed, invalid
from ledgerbridge.jobs import scheduler
from ledgerbridge.jobs.queue import insert_ignoring_conflicts
from ledgerbridge.sync.contact_tasks import reconcile as reconcile_contact_tasks
from ledgerbridge.sync.imports import DELETED
from ledgerbridge.sync.models import RecordType, SyncSettings, XeroReference
from ledgerbridge.sync.push_on_save import push_soon
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

INVOICE_DEFAULTS: dict[str, RecordType] = {
    "revenue_account_code": RecordType.ACCOUNT,
    "expense_account_code": RecordType.ACCOUNT,
    "default_tax_type": RecordType.TAX_RATE,
    "branding_theme_id": RecordType.BRANDING_THEME,
}
"""Settings that name an imported record of the organisation, and the record's type."""
WHAT: dict[RecordType, tuple[str, str]] = {
    RecordType.ACCOUNT: ("account", "accounts"),
    RecordType.TAX_RATE: ("tax rate", "tax rates"),
    RecordType.BRANDING_THEME: ("branding theme", "branding themes"),
}
RETIRED = (DELETED, "ARCHIVED")
"""Imported records no longer offered: gone from Xero, or archived there."""
SHOWN_CHOICES = 8
"""How many valid choices a refusal lists before saying how many more there are."""


@dataclass(frozen=True)
class Choice:
    """One imported record a setting may name: the value stored, and how people know it."""

    value: str
    label: str
    name: str


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
    errors = reference_errors(session, connection, changes, settings)
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors)
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
    if any((changes.get("auto_sync") or {}).values()):  # changes saved while it was off go now
        push_soon(session, [connection], now)
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


def _choice(row: XeroReference) -> Choice | None:
    """The record as a choice, or None when it cannot fill the setting."""
    if row.record_type is RecordType.ACCOUNT:
        kind = row.data.get("Type")
        if not row.code or kind == "BANK":
            return None  # an invoice or bill line needs a coded account, and never a bank one
        label = f"{row.code} · {row.name}" + (f" ({str(kind).title()})" if kind else "")
        return Choice(row.code, label, row.name)
    if row.record_type is RecordType.TAX_RATE:
        rate = row.data.get("EffectiveRate", row.data.get("DisplayTaxRate"))
        return Choice(
            row.code or row.xero_id, row.name + (f" ({rate}%)" if rate is not None else ""), row.name
        )
    return Choice(row.xero_id, row.name, row.name)


def reference_choices(
    session: Session, connection_id: str, record_types: Collection[RecordType]
) -> dict[RecordType, list[Choice]]:
    """The organisation's live imported records of these types, in one query: accounts by
    code, the others by name (as people look for them)."""
    rows = session.scalars(
        select(XeroReference)
        .where(
            XeroReference.connection_id == connection_id,
            XeroReference.record_type.in_(set(record_types)),
            or_(XeroReference.status.is_(None), XeroReference.status.not_in(RETIRED)),
        )
        .order_by(XeroReference.code, XeroReference.name, XeroReference.id)
    )
    by_type: dict[RecordType, list[Choice]] = {t: [] for t in record_types}
    for row in rows:
        choice = _choice(row)
        if choice is not None:
            by_type[row.record_type].append(choice)
    for record_type in (RecordType.TAX_RATE, RecordType.BRANDING_THEME):
        by_type.get(record_type, []).sort(key=lambda c: c.label.lower())
    return by_type


def _same(record_type: RecordType, a: str, b: str) -> bool:
    """Codes are compared exactly (they go to Xero as typed); a theme's id is a GUID."""
    return a.lower() == b.lower() if record_type is RecordType.BRANDING_THEME else a == b


def reference_errors(
    session: Session, connection: XeroConnection, changes: Mapping[str, Any], current: SyncSettings | None
) -> list[FieldError]:
    """The invoice defaults in ``changes`` that are not records imported from this
    organisation, each message naming what to do. A value equal to the one already saved
    is accepted, so saving other settings never loses one made before an import."""
    wanted = {
        name: str(changes[name])
        for name in INVOICE_DEFAULTS
        if changes.get(name) and not (current is not None and changes[name] == getattr(current, name))
    }
    if not wanted:
        return []
    choices = reference_choices(session, connection.id, {INVOICE_DEFAULTS[n] for n in wanted})
    errors = []
    for name, value in wanted.items():
        record_type = INVOICE_DEFAULTS[name]
        valid = choices[record_type]
        if not any(_same(record_type, value, c.value) for c in valid):
            errors.append(FieldError(name, _refusal(session, connection, record_type, value, valid)))
    return errors


def _refusal(
    session: Session, connection: XeroConnection, record_type: RecordType, value: str, valid: list[Choice]
) -> str:
    one, many = WHAT[record_type]
    organisation = connection.tenant_name
    if not valid:
        return (
            f"'{value}' was not imported from {organisation}. No {many} have been imported from it yet: "
            f"import {many} first (its Imports page under Integrations, or "
            f"POST /api/v1/xero/connections/{connection.id}/imports), then choose one."
        )
    shown = ", ".join(
        c.value if c.value == c.name else f"{c.value} ({c.name})" for c in valid[:SHOWN_CHOICES]
    )
    more = f" and {len(valid) - SHOWN_CHOICES} more" if len(valid) > SHOWN_CHOICES else ""
    if record_type is RecordType.ACCOUNT and _is_bank_account(session, connection.id, value):
        lead = f"'{value}' is a bank account of {organisation}; invoice and bill lines need another {one}."
    else:
        lead = f"'{value}' was not imported from {organisation}."
    again = f"or import {many} again if it was added in Xero since."
    return f"{lead} Choose one of its {many}: {shown}{more}; {again}"


def _is_bank_account(session: Session, connection_id: str, code: str) -> bool:
    row = session.scalar(
        select(XeroReference)
        .where(
            XeroReference.connection_id == connection_id,
            XeroReference.record_type == RecordType.ACCOUNT,
            XeroReference.code == code,
        )
        .limit(1)
    )
    return row is not None and row.data.get("Type") == "BANK"


def _bring_next_sync_forward(settings: SyncSettings, now: datetime) -> None:
    """A shorter interval takes effect now; a longer one after the sync already planned."""
    soonest = now + timedelta(minutes=settings.interval_minutes)
    if settings.next_sync_at is not None and settings.next_sync_at > soonest:
        settings.next_sync_at = soonest
