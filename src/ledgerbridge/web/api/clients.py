"""Clients: customers and suppliers."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sqlalchemy.orm import Session

from ledgerbridge.sync.migrate import settle_hook
from ledgerbridge.sync.models import RecordType
from ledgerbridge.sync.outbox import record_change
from ledgerbridge.web.api.crud import Input, ListQuery, Output, Resource
from ledgerbridge.web.api.types import Currency, Email, Name
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Client
from ledgerbridge.xero.models import XeroConnection


class ClientFields(Input):
    is_customer: bool = True
    is_supplier: bool = False
    contact_number: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: Email | None = None
    phone: str | None = None
    address_line1: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    tax_number: str | None = None
    currency: Currency | None = None
    archived: bool = False
    xero_connection_id: str | None = Field(
        None, description="The Xero organisation it belongs to (a connection id); leave out for the default."
    )


class ClientCreate(ClientFields):
    name: Name


class ClientUpdate(ClientFields):
    name: Name | None = None


class ClientRead(Output):
    id: str
    name: str
    is_customer: bool
    is_supplier: bool
    contact_number: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    address_line1: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    tax_number: str | None
    currency: str | None
    archived: bool
    xero_connection_id: str | None
    created_at: datetime
    updated_at: datetime


class ClientQuery(ListQuery):
    is_customer: bool | None = None
    is_supplier: bool | None = None
    archived: bool | None = None
    xero_connection_id: str | None = None


def _to_xero(session: Session, actor: Actor, client: Client) -> None:
    record_change(session, actor.workspace_id, RecordType.CONTACT, client.id)


clients = Resource(
    path="/clients",
    model=Client,
    read=ClientRead,
    create=ClientCreate,
    update=ClientUpdate,
    query=ClientQuery,
    references={"xero_connection_id": XeroConnection},
    unique=("name",),
    search=("name", "email", "contact_number"),
    order_by=("name",),
    validate=settle_hook(RecordType.CONTACT),
    after_write=_to_xero,
)
