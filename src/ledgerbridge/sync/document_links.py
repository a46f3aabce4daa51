"""What the document adapters (credit notes, purchase orders) share: the party of a
document through the contacts sync's links, applying Xero's version of a document
through ``work.documents`` without leaving half a change behind when the rules refuse it,
and Xero numbering the documents we number (invoices too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError
from ledgerbridge.sync.models import RecordType, SyncRun, XeroLink
from ledgerbridge.sync.runs import record_issue
from ledgerbridge.work import documents
from ledgerbridge.work.documents import Document
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


# -- numbers: Xero numbers the documents we number (docs/sync.md, "Numbering") --------------


def make_way(
    session: Session,
    model: type[Document],
    record_type: RecordType,
    prefix: str,
    workspace_id: str,
    connection_id: str,
    number: str,
    own_id: str | None,
    *conditions: Any,
) -> None:
    """Xero's ``number`` (pulled, or given to ours on creating it) is the organisation's:
    a local document of the kind (``conditions``) that holds it only as the next of our own
    series and was never in Xero moves on (``documents.free_number``); Xero numbers that
    one when it is sent."""
    in_xero = select(XeroLink.local_id).where(XeroLink.record_type == record_type)
    documents.free_number(
        session,
        model,
        workspace_id,
        connection_id,
        number,
        prefix,
        *conditions,
        model.id != own_id if own_id is not None else true(),
        model.id.not_in(in_xero),
    )


def unnumbered_if_ours(
    body: dict[str, Any], document: Document, xero_id: str | None, number_key: str
) -> None:
    """A document new to Xero whose number is the next of our own series goes without it:
    our series knows nothing of the numbers the organisation already has, so Xero numbers
    it in its own sequence and ``take_xeros_number`` takes that number back."""
    if xero_id is None and document.numbered_here:
        body.pop(number_key, None)


def take_xeros_number(
    session: Session,
    model: type[Document],
    record_type: RecordType,
    prefix: str,
    connection_id: str,
    local_id: str,
    number: Any,
    fields: dict[str, Any],
    *conditions: Any,
) -> dict[str, Any]:
    """After a create: the document takes the number Xero gave it (``NumberedByXero``), so
    both show the same one; returns the fields as now exchanged (the link's hash matches)."""
    document = cast("Document | None", session.get(model, local_id))
    if document is None or not number:
        return fields
    if document.number != str(number):
        make_way(
            session, model, record_type, prefix, document.workspace_id, connection_id, str(number),
            document.id, *conditions,
        )
        # Created there, it belongs there (as ``outbox.claim`` will say): one UPDATE moves it
        # and renumbers it, so it never holds its old number in that organisation.
        document.xero_connection_id = document.xero_connection_id or connection_id
        document.number = str(number)
    document.numbered_here = False
    return {**fields, "number": str(number)} if fields.get("number") != str(number) else fields
