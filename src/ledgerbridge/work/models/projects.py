"""Projects and the tasks time is tracked against."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledgerbridge.db import Base, DecimalType, IdMixin, TimestampMixin
from ledgerbridge.work.models._base import WorkspaceScoped


class Project(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("workspace_id", "name"), UniqueConstraint("xero_connection_id"))

    name: Mapped[str] = mapped_column(String(255))
    code: Mapped[str | None] = mapped_column(String(50))
    client_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("clients.id", ondelete="RESTRICT"), index=True
    )
    bill_rate: Mapped[Decimal | None] = mapped_column(DecimalType(4))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    xero_connection_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("xero_connections.id", ondelete="SET NULL")
    )
    """Set on the "Xero" project of an organisation's contacts (``sync.contact_tasks``)."""


class Task(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """Every member may track time on a task unless unassigned from it (``TaskUnassignment``)."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("project_id", "name"), UniqueConstraint("project_id", "client_id"))

    project_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("projects.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    bill_rate: Mapped[Decimal | None] = mapped_column(DecimalType(4))
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    client_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("clients.id", ondelete="RESTRICT"), index=True
    )
    """The client a contact's task stands for (one task per client and project)."""


class TaskUnassignment(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A member who may not track time on this task (every other member may)."""

    __tablename__ = "task_unassignments"
    __table_args__ = (UniqueConstraint("task_id", "member_id"),)

    task_id: Mapped[str] = mapped_column(String(36), ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
