"""Time entries: who worked on what, when, and for how long."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column

from ledgerbridge.db import Base, IdMixin, TimestampMixin
from ledgerbridge.work.models._base import WorkspaceScoped


class TimeEntry(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """Either a start and end time on ``date`` or a bare duration; breaks are deducted."""

    __tablename__ = "time_entries"

    member_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("members.id", ondelete="RESTRICT"), index=True
    )
    task_id: Mapped[str] = mapped_column(String(36), ForeignKey("tasks.id", ondelete="RESTRICT"), index=True)
    work_type_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("work_types.id", ondelete="RESTRICT")
    )
    date: Mapped[date] = mapped_column(Date, index=True)
    start_time: Mapped[time | None] = mapped_column(Time)
    end_time: Mapped[time | None] = mapped_column(Time)
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    break_minutes: Mapped[int] = mapped_column(Integer, default=0)
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    invoice_line_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("invoice_lines.id", ondelete="SET NULL"), index=True
    )
    """The sales invoice line that charges a client for these hours (once)."""
    bill_line_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("invoice_lines.id", ondelete="SET NULL"), index=True
    )
    """The contractor's bill line that pays for these hours (once). Separate from
    ``invoice_line_id``: a contractor's hour is paid to them and charged to the client."""

    @property
    def worked_minutes(self) -> int:
        """Minutes worked: end - start - break, or the given duration - break."""
        if self.start_time is not None and self.end_time is not None:
            start = self.start_time.hour * 60 + self.start_time.minute
            end = self.end_time.hour * 60 + self.end_time.minute
            gross = end - start
        else:
            gross = self.duration_minutes or 0
        return max(gross - (self.break_minutes or 0), 0)
