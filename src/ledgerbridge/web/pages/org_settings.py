"""An organisation's settings page: the invoice defaults (accounts, tax rate, branding theme,
due date, how and when invoices go to Xero), auto-sync per record type and its interval,
new members and their payroll defaults.

The page changes settings through the same functions as ``PUT
/xero/connections/{id}/settings`` (``sync.settings.update_settings`` after
``sync.members.check_member_defaults``) and checks the form against the same request
schema, so its limits are the API's. The selects offer the records imported from THIS
organisation (``sync.settings.reference_choices``), and a value that is not one of them is
refused by the API's own check (``sync.settings.reference_errors``), shown beside its field
together with any other problem in the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ledgerbridge.db import utcnow
from ledgerbridge.errors import FieldError, LedgerbridgeError, ValidationFailed
from ledgerbridge.jobs.scheduler import queued_invoice_send
from ledgerbridge.sync.members import check_member_defaults
from ledgerbridge.sync.models import RecordType, SyncSettings
from ledgerbridge.sync.service import TWO_WAY
from ledgerbridge.sync.settings import (
    Choice,
    reference_choices,
    reference_errors,
    settings_for,
    update_settings,
)
from ledgerbridge.web.api.sync_settings import SettingsIn
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, refused, render
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.work.auth import Actor
from ledgerbridge.xero.connections import get_connection
from ledgerbridge.xero.models import XeroConnection

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PAGE = "/integrations/xero/{connection_id}/settings"

LABELS: dict[str, str] = {
    "revenue_account_code": "Revenue account",
    "expense_account_code": "Expense account",
    "default_tax_type": "Default tax rate",
    "branding_theme_id": "Branding theme",
    "auto_sync": "Auto-sync",
    "interval_minutes": "Auto-sync interval",
    "due_date_offset_days": "Due-date offset",
    "invoice_sending": "Send new invoices to Xero",
    "invoice_status": "Create invoices in Xero as",
    "auto_sync_new_members": "Auto-sync new members",
    "contacts_as_tasks": "Contacts as tasks",
    "default_payroll_calendar_id": "Default payroll calendar",
    "default_earnings_rate_id": "Default earnings rate",
}
UNITS = {"interval_minutes": "minutes", "due_date_offset_days": "days"}
TYPE_LABELS: dict[str, str] = {
    "contact": "Contacts (clients and suppliers)",
    "item": "Items",
    "invoice": "Invoices and bills",
    "payment": "Payments",
    "credit_note": "Credit notes",
    "purchase_order": "Purchase orders",
}
CADENCES = {
    "immediately": "Immediately, as soon as they are ready",
    "weekly": "Weekly, on Mondays at 06:00",
    "monthly": "Monthly, on the 1st at 06:00",
}
INVOICE_STATUSES = {
    "draft": "Draft (someone approves them in Xero)",
    "authorised": "Authorised (ready to send to the customer)",
}
CHECKED = ("auto_sync_new_members", "contacts_as_tasks")
NUMBERS = ("interval_minutes", "due_date_offset_days")
CHOICES = ("invoice_sending", "invoice_status")
REFERENCES: dict[str, RecordType] = {
    "revenue_account_code": RecordType.ACCOUNT,
    "expense_account_code": RecordType.ACCOUNT,
    "default_tax_type": RecordType.TAX_RATE,
    "branding_theme_id": RecordType.BRANDING_THEME,
    "default_payroll_calendar_id": RecordType.PAYROLL_CALENDAR,
    "default_earnings_rate_id": RecordType.EARNINGS_RATE,
}
"""Each select and the imported reference type its options come from."""


# -- shared with the imports page ------------------------------------------------------------


def managed_connection(session: Session, actor: Actor, connection_id: str) -> XeroConnection:
    """This workspace's organisation (404 otherwise), for owners and admins only (403)."""
    actor.require_manager()
    return get_connection(session, actor.workspace_id, connection_id)


# -- the reference data behind the selects ---------------------------------------------------


@dataclass
class Options:
    """The imported records each select offers, by the setting they fill."""

    by_field: dict[str, list[Choice]] = field(default_factory=dict)

    def values(self, name: str) -> set[str]:
        return {o.value for o in self.by_field.get(name, [])}

    @property
    def imported(self) -> bool:
        """Whether the accounting reference data has been imported at all."""
        return bool(self.by_field.get("revenue_account_code") or self.by_field.get("default_tax_type"))

    @property
    def payroll(self) -> bool:
        return bool(
            self.by_field.get("default_payroll_calendar_id") or self.by_field.get("default_earnings_rate_id")
        )


def reference_options(session: Session, connection_id: str) -> Options:
    """One query for every select: the organisation's live imported records."""
    by_type = reference_choices(session, connection_id, set(REFERENCES.values()))
    return Options({name: by_type[record_type] for name, record_type in REFERENCES.items()})


# -- the form ---------------------------------------------------------------------------------


def _values_of(settings: SyncSettings) -> dict[str, Any]:
    """What the form shows for stored settings (a missing auto-sync switch is on)."""
    values: dict[str, Any] = {name: getattr(settings, name) for name in LABELS if name != "auto_sync"}
    values["auto_sync"] = {str(t): settings.auto_sync.get(str(t), True) for t in TWO_WAY}
    return values


def _values_from(form: FormData) -> dict[str, Any]:
    """The form as typed (strings, checkboxes as booleans), kept to show it again."""
    values: dict[str, Any] = {}
    for name in LABELS:
        if name == "auto_sync":
            values[name] = {str(t): form.get(f"auto_sync.{t}") == "on" for t in TWO_WAY}
        elif name in CHECKED:
            values[name] = form.get(name) == "on"
        else:
            raw = form.get(name)
            values[name] = raw.strip() if isinstance(raw, str) else ""
    return values


def _limits(name: str) -> tuple[Any, Any]:
    """The API schema's bounds for a number, so the page says exactly what it accepts."""
    low = high = None
    for rule in SettingsIn.model_fields[name].metadata:
        low = getattr(rule, "ge", low)
        high = getattr(rule, "le", high)
    return low, high


def _number_message(name: str) -> str:
    low, high = _limits(name)
    return f"{LABELS[name]}: enter a whole number of {UNITS[name]} from {low} to {high}."


def _changes(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings to save, and a message per field the API schema refuses."""
    changes: dict[str, Any] = dict(values)
    errors: dict[str, str] = {}
    for name in NUMBERS:
        try:
            changes[name] = int(values[name])
        except ValueError:
            errors[name] = _number_message(name)
    for name in REFERENCES:
        changes[name] = values[name] or None
    try:
        SettingsIn.model_validate({k: v for k, v in changes.items() if k not in errors})
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0])
            errors.setdefault(name, _schema_message(name))
    return changes, errors


def _schema_message(name: str) -> str:
    if name in NUMBERS:
        return _number_message(name)
    if name == "invoice_sending":
        return f"{LABELS[name]}: choose immediately, weekly or monthly."
    if name == "invoice_status":
        return f"{LABELS[name]}: choose draft or authorised."
    return f"{LABELS[name]}: choose one from the list."


def _field_messages(field_errors: list[FieldError]) -> dict[str, str]:
    """The domain's field errors (invoice and payroll defaults, auto-sync types) beside their
    field, each led by the field's label."""
    messages = {}
    for error in field_errors:
        name = error.field.split(".")[0]
        messages[name] = f"{LABELS.get(name, name)}: {error.message}"
    return messages


def _domain_errors(exc: ValidationFailed) -> dict[str, str]:
    return _field_messages(exc.errors) or {"form": exc.detail}


def save(session: Session, connection: XeroConnection, values: Mapping[str, Any]) -> dict[str, str]:
    """Check and save the form through the API's functions; the field messages if refused.

    The imported-record check runs with the schema's, so one refusal names every problem
    (``update_settings`` runs the same check again, finding nothing)."""
    settings = settings_for(session, connection)
    changes, errors = _changes(values)
    references = reference_errors(session, connection, changes, settings)
    errors = {**_field_messages(references), **errors}
    if errors:
        return errors
    try:
        check_member_defaults(session, connection.id, changes)
        update_settings(session, connection, changes, utcnow())
    except ValidationFailed as exc:
        return _domain_errors(exc)
    return {}


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    connection: XeroConnection,
    values: Mapping[str, Any],
    options: Options,
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    settings = settings_for(session, connection)
    send = queued_invoice_send(session, connection.id)
    return render(
        request,
        "xero/settings.html",
        {
            "connection": connection,
            "values": values,
            "options": options,
            "errors": errors or {},
            "labels": LABELS,
            "type_labels": {str(t): TYPE_LABELS.get(str(t), str(t)) for t in TWO_WAY},
            "cadences": CADENCES,
            "invoice_statuses": INVOICE_STATUSES,
            "limits": {name: _limits(name) for name in NUMBERS},
            "next_sync": settings.next_sync_at,
            "next_send": send.run_at if send is not None else None,
        },
        session=session,
        actor=actor,
        status_code=422 if errors else 200,
    )


@router.get(PAGE, response_class=HTMLResponse)
def settings_page(connection_id: str, request: Request, session: SessionDep) -> HTMLResponse:
    actor = page_actor(request, session)
    try:
        connection = managed_connection(session, actor, connection_id)
    except LedgerbridgeError as exc:
        return refused(request, session, actor, exc.detail, exc.status)
    options = reference_options(session, connection.id)
    return _page(request, session, actor, connection, _values_of(settings_for(session, connection)), options)


@router.post(PAGE, dependencies=CSRF)
async def save_settings(connection_id: str, request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    try:
        connection = managed_connection(session, actor, connection_id)
    except LedgerbridgeError as exc:
        return refused(request, session, actor, exc.detail, exc.status)
    values = _values_from(await request.form())
    options = reference_options(session, connection.id)
    errors = save(session, connection, values)
    if errors:
        session.rollback()
        return _page(request, session, actor, connection, values, options, errors)
    page = PAGE.format(connection_id=connection.id)
    return redirect(request, page, f"Settings saved for {connection.tenant_name}.", "success")


__all__ = ["managed_connection", "reference_options", "router", "save"]
