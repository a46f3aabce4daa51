"""Every work-side table, imported in one place so Alembic and the mapper see them all."""

from ledgerbridge.work.models.clients import Client
from ledgerbridge.work.models.documents import (
    CreditNote,
    CreditNoteAllocation,
    CreditNoteKind,
    CreditNoteLine,
    CreditNoteStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)
from ledgerbridge.work.models.items import Item
from ledgerbridge.work.models.payments import Payment
from ledgerbridge.work.models.people import Member, MemberKind, WorkType
from ledgerbridge.work.models.projects import Project, Task, TaskUnassignment
from ledgerbridge.work.models.reference import TaxRate
from ledgerbridge.work.models.time_entries import TimeEntry
from ledgerbridge.work.models.workspace import (
    ApiToken,
    Role,
    User,
    WebSession,
    Workspace,
    WorkspaceUser,
)

__all__ = [
    "ApiToken",
    "Client",
    "CreditNote",
    "CreditNoteAllocation",
    "CreditNoteKind",
    "CreditNoteLine",
    "CreditNoteStatus",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceStatus",
    "Item",
    "Member",
    "MemberKind",
    "Payment",
    "Project",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderStatus",
    "Role",
    "Task",
    "TaskUnassignment",
    "TaxRate",
    "TimeEntry",
    "User",
    "WebSession",
    "WorkType",
    "Workspace",
    "WorkspaceUser",
]
