"""Conflicts: every field both sides changed between two syncs, with both values, which
side won and why (the engine's ``SyncConflict`` rows, as ``GET /api/v1/xero/conflicts``
lists them), filtered by organisation and record type, 50 to a page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ledgerbridge.sync.models import RecordType, SyncConflict
from ledgerbridge.sync.service import TWO_WAY
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, render
from ledgerbridge.work.models import Client
from ledgerbridge.xero import connections

router = APIRouter(include_in_schema=False)
PAGE = "/sync-log/conflicts"
PAGE_SIZE = 50
WINNERS = {"xero": "Xero's value", "local": "ledgerbridge's value"}


@dataclass(frozen=True)
class ConflictRow:
    conflict: SyncConflict
    organisation: str
    record: str
    field: str
    local_value: str
    xero_value: str
    winner: str


def shown(value: Any) -> str:
    """A stored value as a bookkeeper reads it: text as is, nothing as "(empty)"."""
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def _statement(workspace_id: str, connection_id: str | None, record_type: RecordType | None) -> Select[Any]:
    statement = select(SyncConflict).where(SyncConflict.workspace_id == workspace_id)
    if connection_id:
        statement = statement.where(SyncConflict.connection_id == connection_id)
    if record_type:
        statement = statement.where(SyncConflict.record_type == record_type)
    return statement.order_by(SyncConflict.created_at.desc(), SyncConflict.id)


def _names(
    session: Session, workspace_id: str, rows: list[SyncConflict]
) -> dict[tuple[RecordType, str], str]:
    """What each conflict's record is called here: clients in one query, the page's other
    records through their sync adapter (at most a page of them)."""
    names: dict[tuple[RecordType, str], str] = {}
    client_ids = {r.local_id for r in rows if r.record_type is RecordType.CONTACT}
    if client_ids:
        for client_id, name in session.execute(
            select(Client.id, Client.name).where(
                Client.workspace_id == workspace_id, Client.id.in_(client_ids)
            )
        ).tuples():
            names[(RecordType.CONTACT, client_id)] = name
    for row in rows:
        key = (row.record_type, row.local_id)
        adapter = TWO_WAY.get(row.record_type)
        if key in names or adapter is None or row.record_type is RecordType.CONTACT:
            continue
        obj = adapter.load(session, workspace_id, row.local_id)
        if obj is not None:
            names[key] = adapter.describe(obj)
    return names


def _label(record_type: RecordType) -> str:
    return record_type.value.replace("_", " ").capitalize()


@router.get(PAGE, response_class=HTMLResponse)
def conflicts_page(
    request: Request,
    session: SessionDep,
    organisation: str | None = None,
    record_type: str | None = None,
    page: int = 1,
) -> HTMLResponse:
    actor = page_actor(request, session)
    known = {c.id: c.tenant_name for c in connections.list_connections(session, actor.workspace_id)}
    organisation = organisation if organisation in known else None
    chosen = RecordType(record_type) if record_type in {t.value for t in TWO_WAY} else None
    page = max(page, 1)
    found = list(
        session.scalars(
            _statement(actor.workspace_id, organisation, chosen)
            .limit(PAGE_SIZE + 1)  # one more than shown: is there an older page?
            .offset((page - 1) * PAGE_SIZE)
        )
    )
    listed = found[:PAGE_SIZE]
    names = _names(session, actor.workspace_id, listed)
    rows = [
        ConflictRow(
            conflict=c,
            organisation=known.get(c.connection_id, "A disconnected organisation"),
            record=names.get((c.record_type, c.local_id), "A record since deleted"),
            field=c.field.replace("_", " ").capitalize(),
            local_value=shown(c.local_value),
            xero_value=shown(c.xero_value),
            winner=WINNERS.get(c.winner, c.winner),
        )
        for c in listed
    ]
    filters = {"organisation": organisation, "record_type": chosen.value if chosen else None}

    def page_link(number: int) -> str:
        return PAGE + "?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": number})

    return render(
        request,
        "xero/conflicts.html",
        {
            "rows": rows,
            "organisations": known,
            "record_types": {t.value: _label(t) for t in TWO_WAY},
            "filters": filters,
            "older": page_link(page + 1) if len(found) > PAGE_SIZE else None,
            "newer": page_link(page - 1) if page > 1 else None,
            "page": page,
            "label": _label,
        },
        session=session,
        actor=actor,
    )


__all__ = ["router", "shown"]
