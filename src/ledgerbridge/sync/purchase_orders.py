"""Purchase orders both ways: Xero ``PurchaseOrders`` <-> local purchase orders and lines.

Conflict policy (a field both sides changed since the last sync): Xero owns the status
(approval and billing happen there once an order is out), the work side owns the lines
(they are edited here while the order is a draft), and the later change wins for the
header (number, reference, dates, delivery details, currency). The supplier is the
client linked to the order's Xero contact; an order whose supplier is not linked yet waits
(``NotReady`` on push, an issue on pull) until the contacts sync links it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ledgerbridge.money import LineAmountType
from ledgerbridge.sync import document_links
from ledgerbridge.sync.adapter import NotReady, Owner
from ledgerbridge.sync.mapping import document_lines
from ledgerbridge.sync.mapping import purchase_orders as mapping
from ledgerbridge.sync.models import RecordType, SyncRun, XeroLink
from ledgerbridge.work import documents
from ledgerbridge.work.models import Client, PurchaseOrder, PurchaseOrderStatus
from ledgerbridge.xero.client import ACCOUNTING
from ledgerbridge.xero.models import XeroConnection

OWNERS: dict[str, Owner] = {"status": "xero", "lines": "local"}


def header_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The header columns among compared fields (all or some), typed for the model."""
    values = {name: fields[name] for name in mapping.HEADER_FIELDS if name in fields}
    for name in ("issue_date", "delivery_date"):
        if name in values:
            values[name] = date.fromisoformat(values[name]) if values[name] else None
    if "line_amount_type" in values:
        values["line_amount_type"] = LineAmountType(values["line_amount_type"])
    return values


class PurchaseOrdersAdapter:
    record_type = RecordType.PURCHASE_ORDER
    path = f"{ACCOUNTING}/PurchaseOrders"
    key = "PurchaseOrders"
    id_field = "PurchaseOrderID"
    pull_params: Mapping[str, str] = {}
    ids_param: str | None = None  # never fetched by id: Xero sends no webhook for purchase orders
    detail_fields = mapping.DETAIL_FIELDS

    def remote_fields(self, remote: dict[str, Any]) -> dict[str, Any]:
        return mapping.remote_fields(remote)

    def local_fields(self, session: Session, obj: Any) -> dict[str, Any]:
        return mapping.local_fields(
            obj,
            document_links.contact_xero_id(session, obj.workspace_id, obj.client_id, obj.xero_connection_id),
        )

    def load(self, session: Session, workspace_id: str, local_id: str) -> PurchaseOrder | None:
        order = session.get(PurchaseOrder, local_id)
        return order if order is not None and order.workspace_id == workspace_id else None

    def match(
        self, session: Session, connection: XeroConnection, remote: dict[str, Any]
    ) -> PurchaseOrder | None:
        """An unlinked local order with this number for the same supplier: the same order
        (numbers are unique on both sides), so it is linked rather than duplicated."""
        number = remote.get("PurchaseOrderNumber")
        if not number:
            return None
        linked = select(XeroLink.local_id).where(
            XeroLink.connection_id == connection.id, XeroLink.record_type == self.record_type
        )
        order = session.scalar(
            select(PurchaseOrder).where(
                PurchaseOrder.workspace_id == connection.workspace_id,
                PurchaseOrder.number == str(number),
                PurchaseOrder.id.not_in(linked),
                PurchaseOrder.numbered_here.is_(False),  # Xero never saw a number of our series
            )
        )
        if order is None:
            return None
        same_supplier = document_links.contact_xero_id(
            session, order.workspace_id, order.client_id, connection.id
        ) == document_lines.contact_id(remote)
        return order if same_supplier else None

    def write(
        self,
        session: Session,
        run: SyncRun,
        connection: XeroConnection,
        obj: Any | None,
        fields: dict[str, Any],
        remote: dict[str, Any],
    ) -> PurchaseOrder | None:
        client: Client | None = None
        if obj is None or "contact" in fields:
            client = document_links.client_for(session, connection, fields.get("contact"))
            if client is None:
                document_links.missing_contact_issue(
                    session, run, self.record_type, remote, self.id_field, "purchase order"
                )
                return None
        order = obj if obj is not None else PurchaseOrder(workspace_id=connection.workspace_id)
        if fields.get("number"):
            document_links.make_way(
                session, PurchaseOrder, self.record_type, documents.PURCHASE_ORDER_PREFIX,
                connection.workspace_id, connection.id, str(fields["number"]), order.id,
            )
        return document_links.applied(
            session,
            run,
            self.record_type,
            remote,
            self.id_field,
            obj.id if obj is not None else None,
            lambda: _write(session, order, fields, client),
        )

    def payload(
        self, session: Session, connection: XeroConnection, obj: Any, xero_id: str | None
    ) -> dict[str, Any]:
        contact = document_links.contact_xero_id(session, obj.workspace_id, obj.client_id, connection.id)
        if contact is None:
            client = session.get(Client, obj.client_id) if obj.client_id else None
            name = client.name if client is not None else "(none)"
            raise NotReady(
                f"Purchase order {obj.number}: its supplier '{name}' is not in Xero yet; "
                "it goes once the contacts sync has sent the supplier."
            )
        body = mapping.to_xero(obj, contact, xero_id)
        document_links.unnumbered_if_ours(body, obj, xero_id, "PurchaseOrderNumber")  # Xero numbers it
        return body

    def number_from_xero(
        self,
        session: Session,
        connection_id: str,
        local_id: str,
        record: dict[str, Any],
        fields: dict[str, Any],
    ) -> dict[str, Any]:
        """After a create: the order takes the number Xero gave it."""
        return document_links.take_xeros_number(
            session, PurchaseOrder, self.record_type, documents.PURCHASE_ORDER_PREFIX, connection_id,
            local_id, record.get("PurchaseOrderNumber"), fields,
        )

    def describe(self, obj_or_fields: Any) -> str:
        number = obj_or_fields.get("number") if isinstance(obj_or_fields, dict) else obj_or_fields.number
        return f"Purchase order {number or '(unnumbered)'}"

    def backfill_query(self, workspace_id: str) -> Select[tuple[str]]:
        return select(PurchaseOrder.id).where(
            PurchaseOrder.workspace_id == workspace_id,
            PurchaseOrder.status != PurchaseOrderStatus.DELETED,
        )

    def owner(self, field: str) -> Owner:
        return OWNERS.get(field, "latest")


def _write(
    session: Session, order: PurchaseOrder, fields: dict[str, Any], client: Client | None
) -> PurchaseOrder:
    """Xero's version through the work side's rules (supplier, number, lines, totals).

    The status is Xero's word: the local transitions guard what a person may ask for, not
    what Xero reports (a billed order reopened in Xero is reopened here), so an order's
    lines and header are written unguarded (``from_xero``) and the status set after.
    """
    values = header_values(fields)
    if client is not None:
        values["client_id"] = client.id
    specs = None
    if "lines" in fields:
        specs = document_lines.line_specs(fields["lines"])
        specs = document_lines.keep_precision(specs, order.lines, mapping.UNIT_PLACES)
    previous = order.status
    if values or specs is not None:
        documents.write_purchase_order(session, order, values, specs, from_xero=True)
    target = fields.get("status")
    order.status = PurchaseOrderStatus(target) if target else (previous or PurchaseOrderStatus.DRAFT)
    return order


ADAPTER = PurchaseOrdersAdapter()
