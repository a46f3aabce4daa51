"""What the document adapters (credit notes, purchase orders) share: the party of a
document through the contacts sync's links, and applying Xero's version of a document
through ``work.documents`` without leaving half a change behind when the rules refuse it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.sync.models import RecordType, SyncRun, XeroLink
from ledgerbridge.sync.runs import record_issue
from ledgerbridge.work.models import Client
from ledgerbridge.xero.models import XeroConnection

T = TypeVar("T")


def contact_xero_id(
    session: Session, workspace_id: str, client_id: str | None, connection_id: str | None
) -> str | None:
    """The Xero contact a client is linked to in ``connection_id``, the document's own
    organisation (documents go there, to that organisation's contact). A document that
    belongs to none yet goes to the default organisation, so its contact there ranks first."""
    if client_id is None:
        return None
    query = (
        select(XeroLink.xero_id, XeroConnection.is_default)
        .join(XeroConnection, XeroConnection.id == XeroLink.connection_id)
        .where(
            XeroLink.workspace_id == workspace_id,
            XeroLink.record_type == RecordType.CONTACT,
            XeroLink.local_id == client_id,
        )
    )
    if connection_id is not None:
        query = query.where(XeroLink.connection_id == connection_id)
    rows = session.execute(query).all()
    ranked = sorted(rows, key=lambda row: not row[1])
    return str(ranked[0][0]) if ranked else None


def client_for(session: Session, connection: XeroConnection, contact_id: str | None) -> Client | None:
    """The local client linked to this Xero contact in this organisation."""
    if contact_id is None:
        return None
    link = session.scalar(
        select(XeroLink).where(
            XeroLink.connection_id == connection.id,
            XeroLink.record_type == RecordType.CONTACT,
            XeroLink.xero_id == contact_id,
        )
    )
    client = session.get(Client, link.local_id) if link is not None else None
    return client if client is not None and client.workspace_id == connection.workspace_id else None


def linked_id(session: Session, connection_id: str, record_type: RecordType, local_id: str) -> str | None:
    link = session.scalar(
        select(XeroLink.xero_id).where(
            XeroLink.connection_id == connection_id,
            XeroLink.record_type == record_type,
            XeroLink.local_id == local_id,
        )
    )
    return str(link) if link is not None else None


def applied(
    session: Session,
    run: SyncRun,
    record_type: RecordType,
    remote: dict[str, Any],
    id_field: str,
    local_id: str | None,
    change: Callable[[], T],
) -> T | None:
    """Run ``change`` in a savepoint: when the work side's rules refuse Xero's version, the
    record stays exactly as it was and the refusal is logged as an issue on the run."""
    try:
        with session.begin_nested():
            return change()
    except LedgerbridgeError as exc:
        record_issue(
            session, run, record_type, "pull", str(exc), local_id=local_id, xero_id=str(remote[id_field])
        )
        return None


def missing_contact_issue(
    session: Session, run: SyncRun, record_type: RecordType, remote: dict[str, Any], id_field: str, noun: str
) -> None:
    contact = remote.get("Contact") or {}
    name = contact.get("Name") or contact.get("ContactID") or "its contact"
    record_issue(
        session,
        run,
        record_type,
        "pull",
        f"This {noun} is for the Xero contact '{name}', which is not linked to a client here yet; "
        "sync contacts first.",
        xero_id=str(remote[id_field]),
    )
