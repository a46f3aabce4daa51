"""The job queue lives in the database, so queued work survives a restart.

A job names its kind and carries ids (never objects); ``lock_key`` serialises jobs that
must not overlap (one sync per organisation and record type); ``dedupe_key`` coalesces
repeated requests for the same work while one is still queued.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ledgerbridge.db import Base, IdMixin, TimestampMixin, UTCDateTime
from ledgerbridge.work.models._base import enum_column


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(IdMixin, TimestampMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_ready", "status", "run_at"),
        # Only one *queued* job per dedupe key: asking again while it waits coalesces.
        Index(
            "uq_jobs_queued_dedupe",
            "dedupe_key",
            unique=True,
            sqlite_where=text("status = 'queued'"),
            postgresql_where=text("status = 'queued'"),
        ),
    )

    workspace_id: Mapped[str | None] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[JobStatus] = enum_column(JobStatus, default=JobStatus.QUEUED)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lock_key: Mapped[str | None] = mapped_column(String(200), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
