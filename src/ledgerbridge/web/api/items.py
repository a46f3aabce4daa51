"""Items: products and services by code."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints
from sqlalchemy.orm import Session

from ledgerbridge.sync.migrate import settle_hook
from ledgerbridge.sync.models import RecordType
from ledgerbridge.sync.outbox import record_change
from ledgerbridge.web.api.crud import Input, ListQuery, Output, Resource
from ledgerbridge.web.api.types import AccountCode, TaxType, UnitAmount
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Item
from ledgerbridge.xero.models import XeroConnection

ItemCode = Annotated[str, StringConstraints(min_length=1, max_length=30)]
ItemName = Annotated[str, StringConstraints(max_length=50)]


class ItemFields(Input):
    name: ItemName | None = None
    description: str | None = None
    is_sold: bool = True
    is_purchased: bool = True
    sale_unit_price: UnitAmount | None = None
    sale_account_code: AccountCode | None = None
    sale_tax_type: TaxType | None = None
    purchase_unit_price: UnitAmount | None = None
    purchase_account_code: AccountCode | None = None
    purchase_tax_type: TaxType | None = None
    archived: bool = False
    xero_connection_id: str | None = Field(
        None, description="The Xero organisation it belongs to (a connection id); leave out for the default."
    )


class ItemCreate(ItemFields):
    code: ItemCode


class ItemUpdate(ItemFields):
    code: ItemCode | None = None


class ItemRead(Output):
    id: str
    code: str
    name: str | None
    description: str | None
    is_sold: bool
    is_purchased: bool
    sale_unit_price: UnitAmount | None
    sale_account_code: str | None
    sale_tax_type: str | None
    purchase_unit_price: UnitAmount | None
    purchase_account_code: str | None
    purchase_tax_type: str | None
    archived: bool
    xero_connection_id: str | None
    created_at: datetime
    updated_at: datetime


class ItemQuery(ListQuery):
    archived: bool | None = None
    is_sold: bool | None = None
    is_purchased: bool | None = None
    xero_connection_id: str | None = None


def _to_xero(session: Session, actor: Actor, item: Item) -> None:
    """Queue the change for Xero in the same transaction (the two-way item sync sends it)."""
    record_change(session, actor.workspace_id, RecordType.ITEM, item.id)


items = Resource(
    path="/items",
    model=Item,
    read=ItemRead,
    create=ItemCreate,
    update=ItemUpdate,
    query=ItemQuery,
    references={"xero_connection_id": XeroConnection},
    unique=("code",),
    search=("code", "name", "description"),
    order_by=("code",),
    validate=settle_hook(RecordType.ITEM),
    after_write=_to_xero,
)
