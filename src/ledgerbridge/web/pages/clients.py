"""The Clients page: customers and suppliers, searched and filtered in SQL, 50 a page;
add, edit, archive and unarchive; and which Xero organisation each is a contact in
(read-only: links are made by the sync).

Writes go through the clients API's resource (``web.api.clients.clients``) and the shared
CRUD writer, so the unique name, the field rules and the outbox row that carries the change
to Xero are exactly the API's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.sync.models import OutboxEntry, OutboxStatus, RecordType, XeroLink
from ledgerbridge.sync.outbox import destinations, sends_on_its_own
from ledgerbridge.web.api.clients import ClientQuery, clients
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, render
from ledgerbridge.web.pages._forms import (
    Editor,
    Form,
    as_input,
    check_lengths,
    list_page,
    search_text,
    status_filter,
    validated,
)
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Client
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PAGE = "/clients"
PAGE_SIZE = 50
STATUSES = {"active": "Active", "archived": "Archived", "all": "Active and archived"}
ROLES = {"customer": "Customers", "supplier": "Suppliers"}

LABELS = {
    "name": "Name",
    "contact_number": "Contact number",
    "first_name": "Contact person's first name",
    "last_name": "Contact person's last name",
    "email": "Email address",
    "phone": "Phone",
    "address_line1": "Address",
    "city": "City or suburb",
    "region": "State or region",
    "postal_code": "Postcode",
    "country": "Country",
    "tax_number": "Tax number (ABN)",
    "currency": "Currency",
    "form": "Form",
}
CHECKBOXES = ("is_customer", "is_supplier", "archived")
FIELDS = [name for name in LABELS if name != "form"] + list(CHECKBOXES)


@dataclass(frozen=True)
class XeroState:
    """A client in Xero: the organisations it is a contact in, and changes not sent yet."""

    linked: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def xero_states(session: Session, workspace_id: str, client_ids: list[str]) -> dict[str, XeroState]:
    """The page's clients' Xero state in two queries: a ``contact`` link per organisation,
    and outbox rows still waiting (or refused) for them."""
    states: dict[str, XeroState] = {}
    if not client_ids:
        return states
    for client_id, tenant in session.execute(
        select(XeroLink.local_id, XeroConnection.tenant_name)
        .join(XeroConnection, XeroConnection.id == XeroLink.connection_id)
        .where(
            XeroLink.workspace_id == workspace_id,
            XeroLink.record_type == RecordType.CONTACT,
            XeroLink.local_id.in_(client_ids),
        )
        .order_by(XeroConnection.tenant_name)
    ):
        states.setdefault(client_id, XeroState()).linked.append(tenant)
    for client_id, tenant, status, error in session.execute(
        select(OutboxEntry.local_id, XeroConnection.tenant_name, OutboxEntry.status, OutboxEntry.last_error)
        .join(XeroConnection, XeroConnection.id == OutboxEntry.connection_id)
        .where(
            OutboxEntry.workspace_id == workspace_id,
            OutboxEntry.record_type == RecordType.CONTACT,
            OutboxEntry.local_id.in_(client_ids),
            OutboxEntry.status != OutboxStatus.SENT,
        )
        .order_by(XeroConnection.tenant_name)
    ):
        state = states.setdefault(client_id, XeroState())
        if status is OutboxStatus.FAILED:
            state.failed.append((tenant, error or "Xero refused the change."))
        elif tenant not in state.waiting:
            state.waiting.append(tenant)
    return states


@dataclass(frozen=True)
class Saving:
    """What saving a client does in Xero, per organisation its change goes to
    (``outbox.destinations``): sent within seconds where it is connected and contacts
    auto-sync; kept for Force sync where that is off; kept for the reconnect where the
    organisation is disconnected (``outbox.record_change`` always keeps the change)."""

    sends: list[str] = field(default_factory=list)
    not_sent: list[str] = field(default_factory=list)
    away: list[str] = field(default_factory=list)


def saving(session: Session, workspace_id: str, client_id: str) -> Saving:
    """Where a save of this client goes, so the form says what pressing Save will do."""
    result = Saving()
    for connection in destinations(session, workspace_id, RecordType.CONTACT, client_id):
        if connection.status is not ConnectionStatus.CONNECTED:
            result.away.append(connection.tenant_name)
        elif sends_on_its_own(session, connection, RecordType.CONTACT):
            result.sends.append(connection.tenant_name)
        else:
            result.not_sent.append(connection.tenant_name)
    return result


def _values_of(client: Client) -> dict[str, str]:
    values = {name: getattr(client, name) or "" for name in LABELS if name != "form"}
    values.update({name: "on" if getattr(client, name) else "" for name in CHECKBOXES})
    return values


def client_input(values: Mapping[str, str], schema: type[BaseModel]) -> tuple[dict[str, Any], dict[str, str]]:
    """Form text -> the clients API's input (a currency typed "aud" read as AUD); or the
    refusals by field."""
    errors: dict[str, str] = {}
    data = as_input(values, schema, checkboxes=CHECKBOXES)
    if data.get("currency"):
        data["currency"] = str(data["currency"]).upper()
    checked = validated(schema, data, LABELS, errors)
    check_lengths(Client, data, LABELS, errors)
    if errors or checked is None:
        return {}, errors
    return checked.model_dump(exclude_unset=True), {}


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    form: Form,
    client: Client | None,
    status_code: int = 200,
) -> HTMLResponse:
    state = xero_states(session, actor.workspace_id, [client.id]).get(client.id) if client else None
    sends = saving(session, actor.workspace_id, client.id) if client else None
    return render(
        request,
        "work/clients_form.html",
        {"form": form, "client": client, "labels": LABELS, "xero": state, "saving": sends},
        session=session,
        actor=actor,
        status_code=status_code,
    )


@router.get(PAGE, response_class=HTMLResponse)
def client_list(
    request: Request,
    session: SessionDep,
    q: str | None = None,
    role: str | None = None,
    status: str | None = None,
    page: int = 1,
) -> HTMLResponse:
    """Clients by name, searched by name, email or contact number; filtered in SQL."""
    actor = page_actor(request, session)
    chosen, active = status_filter(status)
    role = role if role in ROLES else None
    search = search_text(q)
    query = ClientQuery(
        q=search,
        archived=None if active is None else not active,
        is_customer=True if role == "customer" else None,
        is_supplier=True if role == "supplier" else None,
        page=max(page, 1),
        page_size=PAGE_SIZE,
    )
    return list_page(
        request,
        session,
        actor,
        template="work/clients.html",
        resource=clients,
        query=query,
        path=PAGE,
        filters={"q": search, "role": role, "status": chosen},
        context=lambda rows: {
            "rows": rows,
            "xero": xero_states(session, actor.workspace_id, [c.id for c in rows]),
            "roles": ROLES,
            "statuses": STATUSES,
        },
    )


EDITOR = Editor(
    model=Client,
    resource=clients,
    home=PAGE,
    fields=FIELDS,
    labels=LABELS,
    what="client",
    area="clients",
    parse=lambda _session, _actor, values, schema: client_input(values, schema),
    form_page=_form_page,
    added=lambda client: (PAGE, f"Added {client.name}."),
    saved=lambda client: (PAGE, f"Saved {client.name}."),
)


@router.get(PAGE + "/new", response_class=HTMLResponse)
def new_client(request: Request, session: SessionDep) -> Response:
    return EDITOR.blank(request, session, Form(values={"is_customer": "on"}))


@router.post(PAGE + "/new", response_class=HTMLResponse, dependencies=CSRF)
async def create_client(request: Request, session: SessionDep) -> Response:
    return await EDITOR.submit(request, session)


@router.get(PAGE + "/{client_id}/edit", response_class=HTMLResponse)
def edit_client(client_id: str, request: Request, session: SessionDep) -> Response:
    actor = page_actor(request, session)
    client = EDITOR.find(request, session, actor, client_id)
    if isinstance(client, Response):
        return client
    return _form_page(request, session, actor, Form(_values_of(client)), client)


@router.post(PAGE + "/{client_id}/edit", response_class=HTMLResponse, dependencies=CSRF)
async def update_client(client_id: str, request: Request, session: SessionDep) -> Response:
    return await EDITOR.submit(request, session, client_id)


def _set_archived(request: Request, session: Session, client_id: str, archived: bool) -> Response:
    """Archive (the API's DELETE) or unarchive: one field through the same writer, so the
    change goes to Xero like any other."""
    done = "is archived (shown under Archived clients)" if archived else "is active again"
    return EDITOR.toggle(request, session, client_id, {"archived": archived}, lambda c: f"{c.name} {done}.")


@router.post(PAGE + "/{client_id}/archive", dependencies=CSRF)
def archive_client(client_id: str, request: Request, session: SessionDep) -> Response:
    return _set_archived(request, session, client_id, True)


@router.post(PAGE + "/{client_id}/unarchive", dependencies=CSRF)
def unarchive_client(client_id: str, request: Request, session: SessionDep) -> Response:
    return _set_archived(request, session, client_id, False)


__all__ = ["client_input", "router", "xero_states"]
