"""Tables of the Payroll AU timesheet flow.

- ``PayrollMapping``: per organisation, one local record mapped to one Xero record: a
  member to an employee, a work type to an earnings rate, a project or a task to a
  tracking option (``TrackingItemID`` on a timesheet line).
- ``TimesheetExport``: what was sent for one employee and one pay period: the lines, the
  hours, the status asked for, Xero's ``TimesheetID``, and Xero's own message when it
  refused. One row per employee and period; a re-send updates it (and the timesheet in
  Xero, by its id). The ``idempotency_key`` is fixed before the call is made, so a send
  interrupted after Xero answered replays under the same key instead of writing twice.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledgerbridge.db import Base, DecimalType, IdMixin, TimestampMixin, UTCDateTime
from ledgerbridge.work.models._base import WorkspaceScoped, enum_column

__all__ = ["ExportStatus", "MappingKind", "PayrollMapping", "TimesheetExport"]


class MappingKind(enum.StrEnum):
    """What a mapping maps, and to what in Xero."""

    MEMBER = "member"
    """member -> Payroll AU employee (EmployeeID)"""
    WORK_TYPE = "work_type"
    """work type -> earnings rate (EarningsRateID)"""
    PROJECT = "project"
    """project -> tracking option (TrackingItemID)"""
    TASK = "task"
    """task -> tracking option; a task's mapping wins over its project's"""


def _connection_fk() -> Mapped[str]:
    return mapped_column(String(36), ForeignKey("xero_connections.id", ondelete="CASCADE"), index=True)


class PayrollMapping(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "payroll_mappings"
    __table_args__ = (UniqueConstraint("connection_id", "kind", "local_id"),)

    connection_id: Mapped[str] = _connection_fk()
    kind: Mapped[MappingKind] = enum_column(MappingKind)
    local_id: Mapped[str] = mapped_column(String(36))
    xero_id: Mapped[str] = mapped_column(String(64))


class ExportStatus(enum.StrEnum):
    SENDING = "sending"
    """Committed before the call; after a crash the same payload is resent under the same key."""
    SENT = "sent"
    FAILED = "failed"
    """Xero refused it; ``error`` holds Xero's own message."""


class TimesheetExport(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "timesheet_exports"
    __table_args__ = (UniqueConstraint("connection_id", "employee_id", "period_start", "period_end"),)

    connection_id: Mapped[str] = _connection_fk()
    employee_id: Mapped[str] = mapped_column(String(64))
    employee_name: Mapped[str] = mapped_column(String(255))
    member_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[ExportStatus] = enum_column(ExportStatus, default=ExportStatus.SENDING)
    xero_status: Mapped[str] = mapped_column(String(20))
    """DRAFT or APPROVED: what was asked of Xero."""
    timesheet_id: Mapped[str | None] = mapped_column(String(64))
    hours: Mapped[Decimal] = mapped_column(DecimalType(2))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """The ``TimesheetLines`` as sent."""
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
