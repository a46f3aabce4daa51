"""Items both ways: Xero ``Items`` <-> local items, matched by code (unique on both sides).

Conflict policy: the later change wins for every shared field (code, name, description,
sold/purchased, prices, accounts and tax types). Xero has no archive for items, only a
real DELETE, so archiving an item here never deletes it in Xero (documents there may still
use it) and archive state is not compared: an archived item stays archived here and
unchanged in Xero. Items are not paged in Xero and are read with ``unitdp=4``, so 4-place
unit prices survive the round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ledgerbridge.sync.adapter import Owner
from ledgerbridge.sync.mapping import items as mapping
from ledgerbridge.sync.models import RecordType, SyncRun, XeroLink
from ledgerbridge.sync.runs import record_issue
from ledgerbridge.work.models import Item
from ledgerbridge.xero.client import ACCOUNTING
from ledgerbridge.xero.models import XeroConnection


class ItemsAdapter:
    record_type = RecordType.ITEM
    path = f"{ACCOUNTING}/Items"
    key = "Items"
    id_field = "ItemID"
    pull_params: Mapping[str, str] = {"unitdp": "4"}
    ids_param: str | None = None  # no IDs parameter on this endpoint: a where filter on the id
    detail_fields: frozenset[str] = frozenset()

    def remote_fields(self, remote: dict[str, Any]) -> dict[str, Any]:
        return mapping.shared(remote)

    def local_fields(self, session: Session, obj: Any) -> dict[str, Any]:
        return mapping.shared_local(obj)

    def load(self, session: Session, workspace_id: str, local_id: str) -> Item | None:
        item = session.get(Item, local_id)
        return item if item is not None and item.workspace_id == workspace_id else None

    def match(self, session: Session, connection: XeroConnection, remote: dict[str, Any]) -> Item | None:
        """The unlinked local item with this code is this Xero item (codes are unique)."""
        code = mapping.shared(remote)["code"]
        if code is None:
            return None
        linked = select(XeroLink.local_id).where(
            XeroLink.connection_id == connection.id, XeroLink.record_type == self.record_type
        )
        return session.scalar(
            select(Item).where(
                Item.workspace_id == connection.workspace_id, Item.code == code, Item.id.not_in(linked)
            )
        )

    def write(
        self,
        session: Session,
        run: SyncRun,
        connection: XeroConnection,
        obj: Any | None,
        fields: dict[str, Any],
        remote: dict[str, Any],
    ) -> Item | None:
        code = fields.get("code", obj.code if obj is not None else None)
        if code is None:
            return None
        clash = session.scalar(
            select(Item.id).where(
                Item.workspace_id == connection.workspace_id,
                Item.code == code,
                Item.id != (obj.id if obj is not None else ""),
            )
        )
        if clash is not None:
            record_issue(
                session,
                run,
                self.record_type,
                "pull",
                f"The Xero item '{code}' has the same code as another item here, which is linked to a "
                "different Xero item. Change the code of one of them.",
                local_id=clash,
                xero_id=str(remote[self.id_field]),
            )
            return None
        item = obj if obj is not None else Item(workspace_id=connection.workspace_id, code=code)
        if obj is None:
            session.add(item)
        for name, value in mapping.column_values(fields).items():
            setattr(item, name, value)
        return item

    def payload(
        self, session: Session, connection: XeroConnection, obj: Any, xero_id: str | None
    ) -> dict[str, Any]:
        return mapping.to_xero(obj, xero_id)

    def describe(self, obj_or_fields: Any) -> str:
        if isinstance(obj_or_fields, dict):
            code, name = obj_or_fields.get("code"), obj_or_fields.get("name")
        else:
            code, name = obj_or_fields.code, obj_or_fields.name
        return f"{code} {name}" if name else str(code)

    def backfill_query(self, workspace_id: str) -> Select[tuple[str]]:
        """Active items only: an archived item never linked has no reason to go to Xero."""
        return select(Item.id).where(Item.workspace_id == workspace_id, Item.archived.is_(False))

    def owner(self, field: str) -> Owner:
        return "latest"


ADAPTER = ItemsAdapter()
