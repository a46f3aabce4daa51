"""Links: which local record is which Xero record in one organisation, and the hash of
what was last exchanged, so unchanged records cost nothing."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledgerbridge.db import savepoint, utcnow
from ledgerbridge.sync.models import RecordType, XeroLink

UNEXCHANGED = ""
"""The hash of a link set by hand: nothing exchanged yet, so the first pull is no conflict."""


def content_hash(payload: Any) -> str:
    """SHA-256 of a canonical JSON form: equal content, equal hash, whatever the key order."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def by_xero_id(
    session: Session, connection_id: str, record_type: RecordType, xero_id: str
) -> XeroLink | None:
    return session.scalar(
        select(XeroLink).where(
            XeroLink.connection_id == connection_id,
            XeroLink.record_type == record_type,
            XeroLink.xero_id == xero_id,
        )
    )


def by_xero_ids(
    session: Session, connection_id: str, record_type: RecordType, xero_ids: list[str]
) -> dict[str, XeroLink]:
    """The links of a page of Xero records, in one query."""
    found: dict[str, XeroLink] = {}
    for start in range(0, len(xero_ids), 500):  # under every backend's parameter limit
        chunk = xero_ids[start : start + 500]
        for link in session.scalars(
            select(XeroLink).where(
                XeroLink.connection_id == connection_id,
                XeroLink.record_type == record_type,
                XeroLink.xero_id.in_(chunk),
            )
        ):
            found[link.xero_id] = link
    return found


_PRELOADED = "ledgerbridge.sync.links.preloaded"


def preload_linked(
    session: Session,
    model: type[Any],
    connection_id: str,
    record_type: RecordType,
    xero_ids: list[str],
    *options: Any,
) -> None:
    """Load the local records linked to a page of Xero records in a few queries, so the
    engine's per-record ``load`` (``session.get``) finds them in the session instead of
    asking the database once per record. ``options``: e.g. ``selectinload`` of lines.

    The session's identity map holds records weakly, so they are kept in ``session.info``
    for the rest of the unit of work (one page)."""
    held: list[Any] = session.info.setdefault(_PRELOADED, [])
    for start in range(0, len(xero_ids), 500):  # under every backend's parameter limit
        chunk = xero_ids[start : start + 500]
        linked = select(XeroLink.local_id).where(
            XeroLink.connection_id == connection_id,
            XeroLink.record_type == record_type,
            XeroLink.xero_id.in_(chunk),
        )
        held.extend(session.scalars(select(model).where(model.id.in_(linked)).options(*options)))


def by_local_id(
    session: Session, connection_id: str, record_type: RecordType, local_id: str
) -> XeroLink | None:
    return session.scalar(
        select(XeroLink).where(
            XeroLink.connection_id == connection_id,
            XeroLink.record_type == record_type,
            XeroLink.local_id == local_id,
        )
    )


def upsert(
    session: Session,
    workspace_id: str,
    connection_id: str,
    record_type: RecordType,
    local_id: str,
    xero_id: str,
    digest: str,
    remote_updated_at: datetime | None,
    content: dict[str, Any] | None = None,
) -> XeroLink:
    """The record's link, made or updated. Another transaction may link the record between
    the read and the insert (a pull matching a record this push just created in Xero): the
    insert is then undone alone (a savepoint) and that link updated instead, so a push's
    batch of outcomes does not fail on it."""
    link = by_local_id(session, connection_id, record_type, local_id)
    if link is None:
        made = XeroLink(
            workspace_id=workspace_id,
            connection_id=connection_id,
            record_type=record_type,
            local_id=local_id,
            xero_id=xero_id,
            content_hash=digest,
            content=content,
            remote_updated_at=remote_updated_at,
            synced_at=utcnow(),
        )
        try:
            with savepoint(session):
                session.add(made)
            return made
        except IntegrityError:
            link = by_local_id(session, connection_id, record_type, local_id)
            if link is None:
                raise  # its Xero record is linked to another record here: a real clash
    link.xero_id = xero_id
    link.content_hash = digest
    link.content = content
    link.remote_updated_at = remote_updated_at or link.remote_updated_at
    link.synced_at = utcnow()
    session.flush()
    return link
