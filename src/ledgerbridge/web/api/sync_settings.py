"""An organisation's sync settings in the API: how often it syncs, which types sync on
their own, the invoice defaults, when new invoices are sent to Xero, and whether contacts
become tasks.

Anyone in the workspace may read them; only owners and admins change them. A PUT changes
the settings it names and keeps the rest, so a form can save one section at a time. The
invoice defaults (accounts, tax rate, branding theme) and payroll defaults must be records
imported from this organisation (``POST .../imports`` first); anything else is refused with
a 422 naming the field and the choices (``sync.settings.reference_errors``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy.orm import Session

from ledgerbridge.db import utcnow
from ledgerbridge.jobs.scheduler import queued_invoice_send
from ledgerbridge.sync.members import check_member_defaults
from ledgerbridge.sync.models import SyncSettings
from ledgerbridge.sync.settings import settings_for, update_settings
from ledgerbridge.web.api.crud import Input, Output
from ledgerbridge.web.deps import ActorDep, ManagerDep, SessionDep
from ledgerbridge.xero.connections import get_connection

router = APIRouter(prefix="/xero/connections/{connection_id}/settings", tags=["Xero"])

Cadence = Literal["immediately", "weekly", "monthly"]
InvoiceStatus = Literal["draft", "authorised"]


class SettingsIn(Input):
    invoice_sending: Cadence | None = Field(
        None, description="When new invoices go to Xero: at once, Mondays 06:00, or the 1st at 06:00."
    )
    invoice_status: InvoiceStatus | None = Field(None, description="How new invoices arrive in Xero.")
    interval_minutes: int | None = Field(None, ge=5, le=1440, description="Minutes between auto-syncs.")
    due_date_offset_days: int | None = Field(
        None, ge=0, le=365, description="Due date = issue date + this, when an invoice has none."
    )
    auto_sync: dict[str, bool] | None = Field(
        None, description="Record type -> syncs on its own; types left out keep their switch."
    )
    revenue_account_code: str | None = Field(
        None, max_length=10, description="Code of an account imported from this organisation (not a bank)."
    )
    expense_account_code: str | None = Field(
        None, max_length=10, description="Code of an account imported from this organisation (not a bank)."
    )
    default_tax_type: str | None = Field(
        None, max_length=50, description="Tax type of a tax rate imported from this organisation."
    )
    branding_theme_id: str | None = Field(
        None, max_length=64, description="Id of a branding theme imported from this organisation."
    )
    auto_sync_new_members: bool | None = Field(
        None, description="Send each new member to Xero (contractors as contacts, employees to payroll)."
    )
    default_payroll_calendar_id: str | None = Field(
        None, max_length=64, description="Payroll calendar of employees sent to Xero without one chosen."
    )
    default_earnings_rate_id: str | None = Field(
        None,
        max_length=64,
        description="Ordinary earnings rate of employees sent to Xero without one chosen.",
    )
    contacts_as_tasks: bool | None = Field(
        None,
        description='Each customer contact becomes a task under a "Xero" project that every member '
        "may track time on; turning it on builds them at once, turning it off leaves them.",
    )


class SettingsOut(Output):
    connection_id: str
    invoice_sending: Cadence
    invoice_status: InvoiceStatus
    interval_minutes: int
    due_date_offset_days: int
    auto_sync: dict[str, bool]
    revenue_account_code: str | None
    expense_account_code: str | None
    default_tax_type: str | None
    branding_theme_id: str | None
    contacts_as_tasks: bool
    auto_sync_new_members: bool
    default_payroll_calendar_id: str | None
    default_earnings_rate_id: str | None
    next_sync_at: datetime | None
    next_invoice_send_at: datetime | None = Field(
        None, description="When waiting invoices go to Xero next, if a send is queued."
    )


@router.get("", response_model=SettingsOut)
def get_settings(connection_id: str, session: SessionDep, actor: ActorDep) -> SettingsOut:
    connection = get_connection(session, actor.workspace_id, connection_id)
    return _render(session, settings_for(session, connection))


@router.put("", response_model=SettingsOut)
def put_settings(connection_id: str, body: SettingsIn, session: SessionDep, actor: ManagerDep) -> SettingsOut:
    """Change the settings given; a new invoice cadence re-plans the next send at once.
    Invoice and payroll defaults must name records imported from this organisation."""
    connection = get_connection(session, actor.workspace_id, connection_id)
    check_member_defaults(session, connection.id, body.model_dump(exclude_unset=True))
    settings = update_settings(session, connection, body.model_dump(exclude_unset=True), utcnow())
    return _render(session, settings)


def _render(session: Session, settings: SyncSettings) -> SettingsOut:
    send = queued_invoice_send(session, settings.connection_id)
    out = SettingsOut.model_validate(settings)
    out.next_invoice_send_at = send.run_at if send is not None else None
    return out
