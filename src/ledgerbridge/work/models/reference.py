"""Reference data the documents point at: tax rates (imported from Xero once connected)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledgerbridge.db import Base, DecimalType, IdMixin, TimestampMixin
from ledgerbridge.work.models._base import WorkspaceScoped


class TaxRate(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A tax type code (Xero's ``TaxType``, e.g. ``OUTPUT``) and its effective rate."""

    __tablename__ = "tax_rates"
    __table_args__ = (UniqueConstraint("workspace_id", "tax_type"),)

    tax_type: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(100))
    rate_percent: Mapped[Decimal] = mapped_column(DecimalType(4))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
