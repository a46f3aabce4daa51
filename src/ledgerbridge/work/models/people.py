"""The people who do the work, and the kinds of hours they work."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledgerbridge.db import Base, DecimalType, IdMixin, TimestampMixin
from ledgerbridge.work.models._base import WorkspaceScoped, enum_column


class MemberKind(enum.StrEnum):
    """Employees are paid through payroll; contractors bill the business."""

    EMPLOYEE = "employee"
    CONTRACTOR = "contractor"


class Member(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("workspace_id", "email"),)

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    kind: Mapped[MemberKind] = enum_column(MemberKind, default=MemberKind.EMPLOYEE)
    cost_rate: Mapped[Decimal | None] = mapped_column(DecimalType(4))
    bill_rate: Mapped[Decimal | None] = mapped_column(DecimalType(4))
    start_date: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    user_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"))
    # Personal details Xero Payroll requires of an employee (kept so auto-sync can send one).
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    address_line1: Mapped[str | None] = mapped_column(String(500))
    address_line2: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(255))
    region: Mapped[str | None] = mapped_column(String(255))
    postal_code: Mapped[str | None] = mapped_column(String(50))
    country: Mapped[str | None] = mapped_column(String(100))


class WorkType(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A kind of hours (ordinary, overtime, ...), later mapped to a payroll earnings rate."""

    __tablename__ = "work_types"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
