"""Items: the products and services a business sells or buys, by code."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledgerbridge.db import Base, DecimalType, IdMixin, TimestampMixin
from ledgerbridge.work.models._base import OrganisationOwned, WorkspaceScoped


class Item(IdMixin, TimestampMixin, WorkspaceScoped, OrganisationOwned, Base):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("workspace_id", "code"),)

    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str | None] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(Text)
    is_sold: Mapped[bool] = mapped_column(Boolean, default=True)
    is_purchased: Mapped[bool] = mapped_column(Boolean, default=True)
    sale_unit_price: Mapped[Decimal | None] = mapped_column(DecimalType(4))
    sale_account_code: Mapped[str | None] = mapped_column(String(10))
    sale_tax_type: Mapped[str | None] = mapped_column(String(50))
    purchase_unit_price: Mapped[Decimal | None] = mapped_column(DecimalType(4))
    purchase_account_code: Mapped[str | None] = mapped_column(String(10))
    purchase_tax_type: Mapped[str | None] = mapped_column(String(50))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
