"""Tables of the sync engine.

- ``XeroLink``: which local record is which Xero record, per organisation, with the hash
  of the last payload sent or received (unchanged records are skipped by it).
- ``OutboxEntry``: a local change that must reach Xero, written in the same transaction as
  the change; its ``idempotency_key`` is fixed when it is written, so every attempt to send
  it, after any crash, carries the same key and replays instead of duplicating.
- ``SyncCursor``: how far incremental reads have got per (organisation, record type),
  with the ids seen at that instant so the boundary is not applied twice.
- ``SyncRun`` and ``SyncIssue``: the sync log, every run with its counts and every failed
  record with Xero's own message and a hint; ``SyncConflict``: every conflict resolved.
- ``XeroReference``: imported reference data (accounts, tax rates, currencies, branding
  themes, tracking categories and options, payroll calendars, earnings rates, the
  organisation itself), kept as Xero sent it for settings and validation.
- ``SyncSettings``: per organisation: auto-sync per record type, interval, defaults.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from ledgerbridge.db import Base, IdMixin, TimestampMixin, UTCDateTime
from ledgerbridge.work.models._base import WorkspaceScoped, enum_column


class RecordType(enum.StrEnum):
    """What moves between the two sides. Reference types are imported only."""

    CONTACT = "contact"
    ITEM = "item"
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PAYMENT = "payment"
    PURCHASE_ORDER = "purchase_order"
    CREDIT_ALLOCATION = "credit_allocation"
    """Links only: a credit note allocation and its Xero ``AllocationID`` (sent with its note)."""
    ORGANISATION = "organisation"
    ACCOUNT = "account"
    TAX_RATE = "tax_rate"
    CURRENCY = "currency"
    BRANDING_THEME = "branding_theme"
    TRACKING_CATEGORY = "tracking_category"
    EMPLOYEE = "employee"
    EARNINGS_RATE = "earnings_rate"
    PAYROLL_CALENDAR = "payroll_calendar"
    XERO_PROJECT = "xero_project"
    """Links only: a local project and the Xero Projects project it is (sync/xero_projects.py)."""
    XERO_PROJECT_TASK = "xero_project_task"
    XERO_PROJECT_USER = "xero_project_user"
    """Links only: a member and the Xero project user (``userId``) their time is logged as."""
    XERO_PROJECT_TIME = "xero_project_time"
    """Links and outbox rows: an approved time entry sent as a Xero Projects time entry."""
    MEMBER = "member"
    """Links only: a member and the Xero contact or Payroll AU employee they are (``content``
    says which: ``{"as": "contact"}`` or ``{"as": "employee"}``); see ``sync.members``."""


def _connection_fk() -> Mapped[str]:
    return mapped_column(String(36), ForeignKey("xero_connections.id", ondelete="CASCADE"), index=True)


class XeroLink(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "xero_links"
    __table_args__ = (
        UniqueConstraint("connection_id", "record_type", "local_id"),
        UniqueConstraint("connection_id", "record_type", "xero_id"),
    )

    connection_id: Mapped[str] = _connection_fk()
    record_type: Mapped[RecordType] = enum_column(RecordType)
    local_id: Mapped[str] = mapped_column(String(36))
    xero_id: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the canonical payload last sent to or received from Xero."""
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The shared fields as last exchanged: a field changed on one side only is no conflict."""
    remote_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    """Sent, outcome not yet recorded: after a crash this is reconciled before resending."""
    SENT = "sent"
    FAILED = "failed"


class OutboxEntry(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "xero_outbox"
    __table_args__ = (Index("ix_xero_outbox_drain", "connection_id", "record_type", "status"),)

    connection_id: Mapped[str] = _connection_fk()
    record_type: Mapped[RecordType] = enum_column(RecordType)
    local_id: Mapped[str] = mapped_column(String(36))
    operation: Mapped[str] = mapped_column(String(20), default="upsert")
    status: Mapped[OutboxStatus] = enum_column(OutboxStatus, default=OutboxStatus.PENDING)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    batch_key: Mapped[str | None] = mapped_column(String(64), index=True)
    """Set when the row is put in a batch, before sending: after a crash the same rows are
    resent together, so the batch's Idempotency-Key (derived from this) is the same."""
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Exactly what was sent (and its content hash): a resent batch must be identical, or
    Xero refuses the reused key (or a changed name would create a second record)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SyncCursor(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "xero_cursors"
    __table_args__ = (UniqueConstraint("connection_id", "record_type"),)

    connection_id: Mapped[str] = _connection_fk()
    record_type: Mapped[RecordType] = enum_column(RecordType)
    value: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """The latest ``UpdatedDateUTC`` applied, never later than the start of that run."""
    boundary_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Xero ids already applied at exactly ``value`` (the next read includes that instant)."""


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    """Finished, with some records failed (each in ``SyncIssue``)."""
    FAILED = "failed"


class SyncRun(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "sync_runs"

    connection_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("xero_connections.id", ondelete="SET NULL"), index=True
    )
    trigger: Mapped[str] = mapped_column(String(20))
    """schedule, manual (Force sync), webhook, import, retry, send."""
    record_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[RunStatus] = enum_column(RunStatus, default=RunStatus.QUEUED)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    """created, updated, skipped, failed (per side where it matters) and calls."""
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    preview: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """For a dry run: what it would create, update or skip, on which side."""
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(36), index=True)
    """The job doing this run, if a job does it: when that job's worker stops (its lease
    runs out, it is reclaimed or given up), the run is closed rather than left running."""


class SyncIssue(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One record that failed in a run, with Xero's own words and what to do about it.
    One stays open per record and cause; it closes when the record reaches Xero."""

    __tablename__ = "sync_issues"
    __table_args__ = (Index("ix_sync_issues_open_record", "connection_id", "record_type", "local_id"),)

    run_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True
    )
    connection_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("xero_connections.id", ondelete="SET NULL")
    )
    record_type: Mapped[RecordType] = enum_column(RecordType)
    direction: Mapped[str] = mapped_column(String(10))
    """push or pull."""
    local_id: Mapped[str | None] = mapped_column(String(36))
    xero_id: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    from_xero: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Whether ``message`` is Xero's own words (its validation messages), which pages show
    after "Xero said"; otherwise it is ours (a record not ready, waiting, or not applied)."""
    hint: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SyncConflict(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "sync_conflicts"

    connection_id: Mapped[str] = _connection_fk()
    record_type: Mapped[RecordType] = enum_column(RecordType)
    local_id: Mapped[str] = mapped_column(String(36))
    xero_id: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(100))
    local_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    xero_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    winner: Mapped[str] = mapped_column(String(10))
    """local or xero."""
    reason: Mapped[str] = mapped_column(Text)


class XeroReference(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "xero_references"
    __table_args__ = (UniqueConstraint("connection_id", "record_type", "xero_id"),)

    connection_id: Mapped[str] = _connection_fk()
    record_type: Mapped[RecordType] = enum_column(RecordType)
    xero_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(30))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The record as Xero sent it."""


class SyncSettings(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """Per organisation: what syncs automatically, how often, and the defaults it uses."""

    __tablename__ = "sync_settings"
    __table_args__ = (UniqueConstraint("connection_id"),)

    connection_id: Mapped[str] = _connection_fk()
    auto_sync: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    """record type -> on/off; a missing type is on."""
    interval_minutes: Mapped[int] = mapped_column(Integer, default=60)
    revenue_account_code: Mapped[str | None] = mapped_column(String(10))
    expense_account_code: Mapped[str | None] = mapped_column(String(10))
    default_tax_type: Mapped[str | None] = mapped_column(String(50))
    branding_theme_id: Mapped[str | None] = mapped_column(String(64))
    due_date_offset_days: Mapped[int] = mapped_column(Integer, default=14)
    invoice_sending: Mapped[str] = mapped_column(String(20), default="immediately")
    """immediately, weekly or monthly."""
    invoice_status: Mapped[str] = mapped_column(String(20), default="draft")
    """draft or authorised: how invoices are created in Xero."""
    contacts_as_tasks: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_sync_new_members: Mapped[bool] = mapped_column(Boolean, default=False)
    """Send each member created here to Xero (a contractor as a contact, an employee to payroll)."""
    default_payroll_calendar_id: Mapped[str | None] = mapped_column(String(64))
    default_earnings_rate_id: Mapped[str | None] = mapped_column(String(64))
    """The ordinary earnings rate of employees sent to Payroll AU without one chosen."""
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MemberExport(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One member sent to one organisation (``sync.members``): as a contact or an employee,
    Xero's id, or Xero's own message when it refused. The ``idempotency_key`` is committed
    before the call, so a send cut short replays under the same key instead of writing twice."""

    __tablename__ = "member_exports"
    __table_args__ = (UniqueConstraint("connection_id", "member_id"),)

    connection_id: Mapped[str] = _connection_fk()
    member_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    target: Mapped[str] = mapped_column(String(20))
    """contact or employee."""
    status: Mapped[str] = mapped_column(String(20), default="sending")
    """sending, sent or failed."""
    xero_id: Mapped[str | None] = mapped_column(String(64))
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
