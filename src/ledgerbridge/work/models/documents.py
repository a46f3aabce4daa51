"""Invoices, bills, credit notes and purchase orders, with their lines.

Totals are never stored: they are derived from the lines by ``ledgerbridge.money`` (the
services expose them), so a line edit can never leave a stale total behind.
"""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from ledgerbridge.db import Base, DecimalType, IdMixin, TimestampMixin
from ledgerbridge.money import LineAmountType
from ledgerbridge.work.models._base import OrganisationOwned, WorkspaceScoped, enum_column


class InvoiceKind(enum.StrEnum):
    """A sales invoice to a client (Xero ACCREC) or a bill to pay (Xero ACCPAY)."""

    SALES = "sales"
    BILL = "bill"


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SENT = "sent"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    VOID = "void"


class CreditNoteKind(enum.StrEnum):
    SALES = "sales"
    BILL = "bill"


class CreditNoteStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    PAID = "paid"
    VOID = "void"


class PurchaseOrderStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    BILLED = "billed"
    DELETED = "deleted"


class LineColumns:
    """The columns every document line shares (Xero's LineItem)."""

    position: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(DecimalType(4))
    unit_amount: Mapped[Decimal] = mapped_column(DecimalType(4))
    discount_rate: Mapped[Decimal | None] = mapped_column(DecimalType(2))
    item_code: Mapped[str | None] = mapped_column(String(30))
    account_code: Mapped[str | None] = mapped_column(String(10))
    tax_type: Mapped[str | None] = mapped_column(String(50))
    tracking: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class DocumentColumns(OrganisationOwned, WorkspaceScoped):
    """The header columns every priced document shares (and the organisation it is in)."""

    number: Mapped[str | None] = mapped_column(String(255))
    numbered_here: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The number is the next of our own series, not one a person or Xero gave: Xero
    numbers such a document when it is first sent (``sync.mapping.invoices``)."""
    reference: Mapped[str | None] = mapped_column(String(255))
    issue_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    line_amount_type: Mapped[LineAmountType] = enum_column(LineAmountType, default=LineAmountType.EXCLUSIVE)

    @declared_attr
    def client_id(cls) -> Mapped[str | None]:
        return mapped_column(String(36), ForeignKey("clients.id", ondelete="RESTRICT"), index=True)


class Invoice(IdMixin, TimestampMixin, DocumentColumns, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        # Xero requires unique sales invoice numbers in an organisation (two organisations
        # may both have INV-0001); bills from different suppliers may share one. Invoices
        # of no organisation yet are unique among themselves (documents._in_organisation).
        Index(
            "uq_invoices_sales_number",
            "workspace_id",
            "xero_connection_id",
            "number",
            unique=True,
            sqlite_where=text("kind = 'sales' AND xero_connection_id IS NOT NULL"),
            postgresql_where=text("kind = 'sales' AND xero_connection_id IS NOT NULL"),
        ),
        Index(
            "uq_invoices_sales_number_unassigned",
            "workspace_id",
            "number",
            unique=True,
            sqlite_where=text("kind = 'sales' AND xero_connection_id IS NULL"),
            postgresql_where=text("kind = 'sales' AND xero_connection_id IS NULL"),
        ),
    )

    kind: Mapped[InvoiceKind] = enum_column(InvoiceKind)
    status: Mapped[InvoiceStatus] = enum_column(InvoiceStatus, default=InvoiceStatus.DRAFT)
    due_date: Mapped[date | None] = mapped_column(Date)
    member_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("members.id", ondelete="RESTRICT"), index=True
    )
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice",
        cascade="all, delete-orphan",
        order_by="InvoiceLine.position",
        lazy="selectin",
    )


class InvoiceLine(IdMixin, LineColumns, Base):
    __tablename__ = "invoice_lines"

    invoice_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class CreditNote(IdMixin, TimestampMixin, DocumentColumns, Base):
    __tablename__ = "credit_notes"

    kind: Mapped[CreditNoteKind] = enum_column(CreditNoteKind)
    status: Mapped[CreditNoteStatus] = enum_column(CreditNoteStatus, default=CreditNoteStatus.DRAFT)
    lines: Mapped[list[CreditNoteLine]] = relationship(
        back_populates="credit_note",
        cascade="all, delete-orphan",
        order_by="CreditNoteLine.position",
        lazy="selectin",
    )


class CreditNoteLine(IdMixin, LineColumns, Base):
    __tablename__ = "credit_note_lines"

    credit_note_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("credit_notes.id", ondelete="CASCADE"), index=True
    )
    credit_note: Mapped[CreditNote] = relationship(back_populates="lines")


class CreditNoteAllocation(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """Part of a credit note applied against an invoice of the same client and currency."""

    __tablename__ = "credit_note_allocations"

    credit_note_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("credit_notes.id", ondelete="CASCADE"), index=True
    )
    invoice_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("invoices.id", ondelete="RESTRICT"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(DecimalType(2))
    date: Mapped[date] = mapped_column(Date)


class PurchaseOrder(IdMixin, TimestampMixin, DocumentColumns, Base):
    __tablename__ = "purchase_orders"
    __table_args__ = (  # unique per organisation, as for sales invoices
        Index(
            "uq_purchase_orders_number",
            "workspace_id",
            "xero_connection_id",
            "number",
            unique=True,
            sqlite_where=text("xero_connection_id IS NOT NULL"),
            postgresql_where=text("xero_connection_id IS NOT NULL"),
        ),
        Index(
            "uq_purchase_orders_number_unassigned",
            "workspace_id",
            "number",
            unique=True,
            sqlite_where=text("xero_connection_id IS NULL"),
            postgresql_where=text("xero_connection_id IS NULL"),
        ),
    )

    status: Mapped[PurchaseOrderStatus] = enum_column(PurchaseOrderStatus, default=PurchaseOrderStatus.DRAFT)
    delivery_date: Mapped[date | None] = mapped_column(Date)
    delivery_address: Mapped[str | None] = mapped_column(Text)
    attention_to: Mapped[str | None] = mapped_column(String(255))
    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        back_populates="purchase_order",
        cascade="all, delete-orphan",
        order_by="PurchaseOrderLine.position",
        lazy="selectin",
    )


class PurchaseOrderLine(IdMixin, LineColumns, Base):
    __tablename__ = "purchase_order_lines"

    purchase_order_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True
    )
    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
