"""Clients: the customers the business invoices and the suppliers that bill it."""

from __future__ import annotations

from sqlalchemy import Boolean, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ledgerbridge.db import Base, IdMixin, TimestampMixin
from ledgerbridge.work.models._base import OrganisationOwned, WorkspaceScoped


class Client(IdMixin, TimestampMixin, WorkspaceScoped, OrganisationOwned, Base):
    """A customer, a supplier, or both (as a Xero contact can be)."""

    __tablename__ = "clients"
    __table_args__ = (
        # A name is unique in its organisation, as Xero has contact names (two organisations
        # may each have a "Bondi Surf Co"); clients of no organisation yet are unique among
        # themselves, and the API checks them against the whole workspace (web.api.crud).
        Index(
            "uq_clients_name",
            "workspace_id",
            "xero_connection_id",
            "name",
            unique=True,
            sqlite_where=text("xero_connection_id IS NOT NULL"),
            postgresql_where=text("xero_connection_id IS NOT NULL"),
        ),
        Index(
            "uq_clients_name_unassigned",
            "workspace_id",
            "name",
            unique=True,
            sqlite_where=text("xero_connection_id IS NULL"),
            postgresql_where=text("xero_connection_id IS NULL"),
        ),
    )

    name: Mapped[str] = mapped_column(String(255))
    is_customer: Mapped[bool] = mapped_column(Boolean, default=True)
    is_supplier: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_number: Mapped[str | None] = mapped_column(String(50))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(50))
    address_line1: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(255))
    region: Mapped[str | None] = mapped_column(String(255))
    postal_code: Mapped[str | None] = mapped_column(String(50))
    country: Mapped[str | None] = mapped_column(String(50))
    tax_number: Mapped[str | None] = mapped_column(String(50))
    currency: Mapped[str | None] = mapped_column(String(3))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
