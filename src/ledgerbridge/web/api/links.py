"""Links in the API: see which local record is which Xero record, and accept or change the
matches the first sync proposes (a dry run lists them) before or after it runs."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import Field
from sqlalchemy import delete, select

from ledgerbridge.errors import Conflict, FieldError, NotFound, invalid
from ledgerbridge.sync import links
from ledgerbridge.sync.models import RecordType, XeroLink
from ledgerbridge.sync.service import TWO_WAY
from ledgerbridge.web.api.crud import Input, Output
from ledgerbridge.web.deps import ActorDep, ManagerDep, SessionDep
from ledgerbridge.xero.connections import get_connection

router = APIRouter(prefix="/xero/connections/{connection_id}/links", tags=["Sync log"])


class LinkIn(Input):
    xero_id: str = Field(min_length=1, max_length=64, description="The Xero record's id, e.g. a ContactID.")


class LinkOut(Output):
    record_type: RecordType
    local_id: str
    xero_id: str
    synced_at: datetime


@router.get("", response_model=list[LinkOut])
def list_links(
    connection_id: str, session: SessionDep, actor: ActorDep, record_type: RecordType | None = None
) -> list[XeroLink]:
    get_connection(session, actor.workspace_id, connection_id)
    statement = select(XeroLink).where(XeroLink.connection_id == connection_id)
    if record_type is not None:
        statement = statement.where(XeroLink.record_type == record_type)
    return list(session.scalars(statement.order_by(XeroLink.record_type, XeroLink.local_id)))


@router.put("/{record_type}/{local_id}", response_model=LinkOut)
def set_link(
    connection_id: str,
    record_type: RecordType,
    local_id: str,
    body: LinkIn,
    session: SessionDep,
    actor: ManagerDep,
) -> XeroLink:
    """Say which Xero record this local record is. The next pull brings Xero's values in
    without calling it a conflict; nothing is created on either side."""
    connection = get_connection(session, actor.workspace_id, connection_id)
    adapter = TWO_WAY.get(record_type)
    if adapter is None:
        raise invalid("record_type", f"links can be set for: {', '.join(str(t) for t in TWO_WAY)}")
    if adapter.load(session, actor.workspace_id, local_id) is None:
        raise NotFound(f"No {record_type.value.replace('_', ' ')} with id '{local_id}' in this workspace.")
    taken = links.by_xero_id(session, connection_id, record_type, body.xero_id)
    if taken is not None and taken.local_id != local_id:
        raise Conflict(
            "That Xero record is already linked to another local record; unlink that one first.",
            [FieldError("xero_id", f"linked to '{taken.local_id}'")],
        )
    return links.upsert(
        session,
        actor.workspace_id,
        connection.id,
        record_type,
        local_id,
        body.xero_id,
        links.UNEXCHANGED,
        None,
    )


@router.delete("/{record_type}/{local_id}", status_code=204)
def remove_link(
    connection_id: str, record_type: RecordType, local_id: str, session: SessionDep, actor: ManagerDep
) -> Response:
    get_connection(session, actor.workspace_id, connection_id)
    removed = session.execute(
        delete(XeroLink).where(
            XeroLink.connection_id == connection_id,
            XeroLink.record_type == record_type,
            XeroLink.local_id == local_id,
        )
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise NotFound("That record is not linked in this organisation.")
    return Response(status_code=204)
