"""Payments against invoices and bills."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ledgerbridge.db import Base, DecimalType, IdMixin, TimestampMixin
from ledgerbridge.work.models._base import OrganisationOwned, WorkspaceScoped


class Payment(IdMixin, TimestampMixin, WorkspaceScoped, OrganisationOwned, Base):
    __tablename__ = "payments"

    invoice_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("invoices.id", ondelete="RESTRICT"), index=True
    )
    date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(DecimalType(2))
    account_code: Mapped[str | None] = mapped_column(String(10))
    reference: Mapped[str | None] = mapped_column(String(255))
