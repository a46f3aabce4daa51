"""Projects and the tasks time is tracked against."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledgerbridge.db import Base, DecimalType, IdMixin, TimestampMixin
from ledgerbridge.work.models._base import WorkspaceScoped


class Project(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(255))
    code: Mapped[str | None] = mapped_column(String(50))
    client_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("clients.id", ondelete="RESTRICT"), index=True
    )
    bill_rate: Mapped[Decimal | None] = mapped_column(DecimalType(4))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class Task(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    project_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    bill_rate: Mapped[Decimal | None] = mapped_column(DecimalType(4))
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
