"""First-connect matching: before the first sync links clients to Xero contacts on its
own, show which client it would link to which contact and why, and let a person accept,
change or refuse each match.

The proposals are the sync's own: ``sync.contacts.ADAPTER.match`` (contact number, email,
tax number, then the normalised name), run over the organisation's unlinked contacts as
the first pull would. A decision is applied through the links API (``set_link``), so the
next pull brings Xero's values in without calling it a conflict and creates nothing twice.
"Create new" sends the client to Xero as a contact of its own at once, with the same
payload the sync sends, so the first pull cannot link it to the proposed contact.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.db import utcnow
from ledgerbridge.errors import LedgerbridgeError, XeroError
from ledgerbridge.sync import contacts as sync_contacts
from ledgerbridge.sync import engine, links
from ledgerbridge.sync.mapping.contacts import normalised_name
from ledgerbridge.sync.models import RecordType, XeroLink
from ledgerbridge.web.api import links as links_api
from ledgerbridge.web.api.xero import XeroDep
from ledgerbridge.web.deps import SessionDep
from ledgerbridge.web.pages._common import page_actor, redirect, refusal_page, render
from ledgerbridge.web.pages._security import require_csrf
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.models import Client
from ledgerbridge.xero import connections
from ledgerbridge.xero.client import derived_idempotency_key
from ledgerbridge.xero.dates import parse_datetime
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices

router = APIRouter(include_in_schema=False)
PAGE = "/integrations/xero/{connection_id}/matching"
PAGE_SIZE = 50
ADAPTER = sync_contacts.ADAPTER
DECISIONS = {"accept", "change", "new"}


@dataclass(frozen=True)
class Row:
    """One unlinked client: the contact the sync would link it to (if any) and why."""

    client_id: str
    client_name: str
    client_email: str | None
    contact: dict[str, Any] | None
    reasons: list[str]


@dataclass(frozen=True)
class Preview:
    proposals: list[Row]
    unmatched: list[Row]
    """Unlinked clients no contact matches: the first sync creates them in Xero."""
    more_proposals: int
    more_unmatched: int
    choices: list[dict[str, Any]]
    """The unlinked contacts a person may choose instead, by name (Xero's names are unique)."""


def reasons(client: Client, contact: dict[str, Any]) -> list[str]:
    """Why a client and a contact look like the same business, in the order the sync
    weighs the evidence (``sync.contacts``: number, email, tax number, name)."""
    found: list[str] = []
    number = contact.get("ContactNumber")
    if number and client.contact_number == number:
        found.append(f"same contact number ({number})")
    email = str(contact.get("EmailAddress") or "").lower()
    if email and (client.email or "").lower() == email:
        found.append(f"same email ({email})")
    tax = str(contact.get("TaxNumber") or "").replace(" ", "")
    if tax and (client.tax_number or "").replace(" ", "") == tax:
        found.append(f"same tax number ({contact.get('TaxNumber')})")
    name = normalised_name(str(contact.get("Name") or ""))
    if name and normalised_name(client.name) == name:
        found.append("same name (ignoring case, punctuation and words like Pty Ltd)")
    return found


async def xero_contacts(xero: XeroServices, connection: XeroConnection) -> list[dict[str, Any]]:
    """Every contact in the organisation, as the first pull reads them (one call per 1,000:
    each read is remembered for the matching session, see ``session_contacts``)."""
    org = engine.organisation(connection)
    found: list[dict[str, Any]] = []
    async for page in xero.client.pages(org, ADAPTER.path, ADAPTER.key, params=dict(ADAPTER.pull_params)):
        found.extend(page)
    _READS[connection.id] = _Read(_org_key(connection), found, time.monotonic(), utcnow())
    while len(_READS) > READS_KEPT:
        _READS.pop(next(iter(_READS)))
    return found


@dataclass(frozen=True)
class _Read:
    """Xero's contacts as one read found them, kept while a person works through the matches
    so that each view of the page does not spend the organisation's API quota again (about
    ten calls for 10,000 contacts). Only the page's views use it: confirming reads Xero again,
    so nothing is linked or created against an old list."""

    org: tuple[str | None, str]
    contacts: list[dict[str, Any]]
    monotonic: float
    at: datetime


SESSION_SECONDS = 10 * 60
"""How long a read serves the page's views; after that (or on "read again") Xero is read again."""
READS_KEPT = 8
"""Organisations whose last read this process keeps (the oldest is forgotten first)."""
_READS: dict[str, _Read] = {}


def _org_key(connection: XeroConnection) -> tuple[str | None, str]:
    """A read belongs to the grant and tenant it was made with: reconnecting reads again."""
    return connection.grant_id, connection.tenant_id


async def session_contacts(
    xero: XeroServices, connection: XeroConnection, refresh: bool = False
) -> tuple[list[dict[str, Any]], datetime]:
    """The contacts the page shows and when they were read: the read of this matching
    session while it is under ``SESSION_SECONDS`` old, else (or when asked) a new one."""
    kept = _READS.get(connection.id)
    fresh = (
        kept is not None
        and kept.org == _org_key(connection)
        and time.monotonic() - kept.monotonic < SESSION_SECONDS
    )
    if kept is not None and fresh and not refresh:
        return kept.contacts, kept.at
    contacts = await xero_contacts(xero, connection)
    return contacts, _READS[connection.id].at


def forget_contacts(connection_id: str) -> None:
    """After the page changed Xero (new contacts), its next view reads Xero again."""
    _READS.pop(connection_id, None)


def _row(client: Client, contact: dict[str, Any] | None) -> Row:
    return Row(
        client_id=client.id,
        client_name=client.name,
        client_email=client.email,
        contact=contact,
        reasons=reasons(client, contact) if contact is not None else [],
    )


def preview(xero: XeroServices, connection_id: str, contacts: list[dict[str, Any]]) -> Preview:
    """The matches the first pull would make, worked out in a session of its own that is
    never written (the adapter keeps its page index in the session it is given)."""
    with xero.database.session() as scratch:
        connection = scratch.get(XeroConnection, connection_id)
        assert connection is not None
        linked = set(
            scratch.scalars(
                select(XeroLink.xero_id).where(
                    XeroLink.connection_id == connection.id, XeroLink.record_type == RecordType.CONTACT
                )
            )
        )
        open_contacts = [c for c in contacts if str(c.get(ADAPTER.id_field)) not in linked]
        ADAPTER.prepare_page(scratch, connection, open_contacts)
        proposals: list[Row] = []
        matched: set[str] = set()
        for contact in open_contacts:
            client = ADAPTER.match(scratch, connection, contact)
            if client is not None:
                proposals.append(_row(client, contact))
                matched.add(client.id)
        unmatched = [
            _row(c, None)
            for c in scratch.scalars(
                select(Client)
                .where(
                    Client.workspace_id == connection.workspace_id,
                    Client.archived.is_(False),
                    Client.id.not_in(
                        select(XeroLink.local_id).where(
                            XeroLink.connection_id == connection.id,
                            XeroLink.record_type == RecordType.CONTACT,
                        )
                    ),
                )
                .order_by(Client.name)
            )
            if c.id not in matched
        ]
        scratch.rollback()
    proposals.sort(key=lambda r: r.client_name.lower())
    choices = sorted((c for c in open_contacts if c.get("Name")), key=lambda c: str(c["Name"]).lower())
    return Preview(
        proposals=proposals[:PAGE_SIZE],
        unmatched=unmatched[:PAGE_SIZE],
        more_proposals=max(len(proposals) - PAGE_SIZE, 0),
        more_unmatched=max(len(unmatched) - PAGE_SIZE, 0),
        choices=choices,
    )


def _connection(
    request: Request, session: Session, actor: Actor, connection_id: str
) -> XeroConnection | HTMLResponse:
    if not actor.role.manages:
        title = "Only owners and admins match contacts"
        detail = "Ask an owner or admin of this workspace to review the matches."
        return refusal_page(request, title, detail, 403, session=session, actor=actor)
    try:
        return connections.get_connection(session, actor.workspace_id, connection_id)
    except LedgerbridgeError as exc:
        title = "No such organisation"
        return refusal_page(request, title, exc.detail, exc.status, session=session, actor=actor)


def _render(
    request: Request,
    session: Session,
    actor: Actor,
    connection: XeroConnection,
    shown: Preview,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    read_at: datetime | None = None,
) -> HTMLResponse:
    return render(
        request,
        "xero/matching.html",
        {
            "connection": connection,
            "preview": shown,
            "values": values or {},
            "errors": errors or {},
            "read_at": read_at,
        },
        session=session,
        actor=actor,
        status_code=status_code,
    )


@router.get(PAGE, response_class=HTMLResponse)
async def matching_page(
    connection_id: str, request: Request, session: SessionDep, xero: XeroDep, refresh: str = ""
) -> Response:
    """The proposals over Xero's contacts as this matching session read them (``refresh``:
    read Xero again now)."""
    actor = page_actor(request, session)
    connection = _connection(request, session, actor, connection_id)
    if isinstance(connection, HTMLResponse):
        return connection
    try:
        contacts, read_at = await session_contacts(xero, connection, refresh=bool(refresh))
    except XeroError as exc:
        return redirect(
            request, "/integrations", f"Could not read the contacts in Xero: {exc.detail}", "error"
        )
    shown = preview(xero, connection.id, contacts)
    return _render(request, session, actor, connection, shown, read_at=read_at)


@dataclass(frozen=True)
class Decision:
    client_id: str
    xero_id: str | None
    """The contact to link to; None: send the client to Xero as a new contact."""


def _decide(
    form: Any, contacts: list[dict[str, Any]]
) -> tuple[list[Decision], dict[str, str], dict[str, str]]:
    """The form's decisions, with a message beside each field that cannot be followed."""
    by_id = {str(c.get(ADAPTER.id_field)): c for c in contacts}
    by_name = {str(c.get("Name") or "").strip().lower(): c for c in contacts if c.get("Name")}
    decisions: list[Decision] = []
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    taken: dict[str, str] = {}
    for client_id in form.getlist("client"):
        choice = str(form.get(f"decision-{client_id}") or "")
        other = str(form.get(f"other-{client_id}") or "").strip()
        proposed = str(form.get(f"proposed-{client_id}") or "")
        values[f"decision-{client_id}"], values[f"other-{client_id}"] = choice, other
        if choice not in DECISIONS:
            errors[f"decision-{client_id}"] = (
                "Choose: link to the proposed contact, another contact, or a new one."
            )
            continue
        if choice == "new":
            if proposed:  # an unmatched client needs nothing now: the sync creates it
                decisions.append(Decision(client_id, None))
            continue
        contact = by_id.get(proposed) if choice == "accept" else by_name.get(other.lower())
        if contact is None:
            field = f"other-{client_id}" if choice == "change" else f"decision-{client_id}"
            errors[field] = (
                "Other contact: type a few letters and choose a contact from the list."
                if choice == "change"
                else "The proposed contact is no longer in Xero; choose another one."
            )
            continue
        xero_id = str(contact[ADAPTER.id_field])
        if xero_id in taken:
            errors[f"other-{client_id}"] = (
                f"Other contact: {contact.get('Name')} is already chosen for another client; "
                "choose a different one."
            )
            continue
        taken[xero_id] = client_id
        decisions.append(Decision(client_id, xero_id))
    return decisions, values, errors


async def _create_in_xero(
    xero: XeroServices, session: Session, actor: Actor, connection: XeroConnection, client_ids: list[str]
) -> list[str]:
    """Send these clients to Xero as new contacts (the sync's payload, one batched write
    under a key derived from them, so a resend is replayed) and link each one; Xero's own
    message for any it refused."""
    clients = [
        c for c in (session.get(Client, i) for i in client_ids) if c and c.workspace_id == actor.workspace_id
    ]
    if not clients:
        return []
    bodies = [ADAPTER.payload(session, connection, c, None) for c in clients]
    key = derived_idempotency_key("matching.create", connection.id, *[links.content_hash(b) for b in bodies])
    results = await xero.client.write_batches(
        engine.organisation(connection), "POST", ADAPTER.path, ADAPTER.key, bodies, key
    )
    refused: list[str] = []
    for client, result in zip(clients, results, strict=True):
        if not result.ok:
            refused.append(f"{client.name}: {'; '.join(result.messages) or 'Xero refused the new contact.'}")
            continue
        fields = ADAPTER.local_fields(session, client)
        links.upsert(
            session,
            actor.workspace_id,
            connection.id,
            RecordType.CONTACT,
            client.id,
            str(result.record[ADAPTER.id_field]),
            links.content_hash(fields),
            parse_datetime(result.record.get("UpdatedDateUTC")),
            content=fields,
        )
    return refused


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


@router.post(PAGE, dependencies=[Depends(require_csrf)])
async def confirm(connection_id: str, request: Request, session: SessionDep, xero: XeroDep) -> Response:
    """Apply every decision on the page: links through the links API, new contacts sent."""
    actor = page_actor(request, session)
    connection = _connection(request, session, actor, connection_id)
    if isinstance(connection, HTMLResponse):
        return connection
    here = PAGE.format(connection_id=connection.id)
    form = await request.form()
    try:
        contacts = await xero_contacts(xero, connection)
    except XeroError as exc:
        return redirect(request, here, f"Could not read the contacts in Xero: {exc.detail}", "error")
    decisions, values, errors = _decide(form, contacts)
    if errors:
        shown = preview(xero, connection.id, contacts)
        return _render(request, session, actor, connection, shown, values, errors, status_code=422)
    linked = 0
    for decision in decisions:
        if decision.xero_id is None:
            continue
        try:
            body = links_api.LinkIn(xero_id=decision.xero_id)
            links_api.set_link(connection.id, RecordType.CONTACT, decision.client_id, body, session, actor)
        except LedgerbridgeError as exc:
            session.rollback()
            return redirect(request, here, f"Nothing was linked: {exc.detail}", "error")
        linked += 1
    try:
        refused = await _create_in_xero(
            xero, session, actor, connection, [d.client_id for d in decisions if d.xero_id is None]
        )
    except XeroError as exc:
        session.commit()  # the links stand; the new contacts can be sent again
        forget_contacts(connection.id)  # some may have reached Xero: the next view reads again
        return redirect(
            request, here, f"Linked {linked}; Xero refused the new contacts: {exc.detail}", "error"
        )
    created = sum(1 for d in decisions if d.xero_id is None) - len(refused)
    message = f"Linked {_count(linked, 'client')}; created {_count(created, 'new contact')} in Xero."
    if refused:
        return redirect(request, here, message + " Xero refused: " + " | ".join(refused), "error")
    return redirect(request, here, message, "success")


__all__ = ["forget_contacts", "preview", "reasons", "router", "session_contacts", "xero_contacts"]
