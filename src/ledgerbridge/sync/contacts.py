"""Contacts both ways: Xero contacts <-> clients (customers and suppliers).

Conflict policy: the later change wins for every shared field (name, contact details,
tax number, currency, archived). Matching before a first link: contact number, email,
tax number, then the normalised name, so an existing client is linked, never duplicated
(and Xero's unique-name rule is met by linking, not by failing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, select
from sqlalchemy.orm import Session

from ledgerbridge.db import new_id
from ledgerbridge.sync import links, outbox
from ledgerbridge.sync.adapter import PULL_STATE, NewRecord, Owner
from ledgerbridge.sync.mapping import contacts as mapping
from ledgerbridge.sync.models import RecordType, SyncRun, XeroLink
from ledgerbridge.sync.runs import record_issue
from ledgerbridge.work.models import Client
from ledgerbridge.xero.client import ACCOUNTING
from ledgerbridge.xero.models import XeroConnection


class ContactsAdapter:
    record_type = RecordType.CONTACT
    path = f"{ACCOUNTING}/Contacts"
    key = "Contacts"
    id_field = "ContactID"
    pull_params: Mapping[str, str] = {"includeArchived": "true"}
    ids_param: str | None = "IDs"
    detail_fields = mapping.DETAIL_FIELDS

    def remote_fields(self, remote: dict[str, Any]) -> dict[str, Any]:
        return mapping.local_fields(remote)

    def local_fields(self, session: Session, obj: Any) -> dict[str, Any]:
        return mapping.shared(obj)

    def load(self, session: Session, workspace_id: str, local_id: str) -> Client | None:
        client = session.get(Client, local_id)
        return client if client is not None and client.workspace_id == workspace_id else None

    def prepare_page(
        self, session: Session, connection: XeroConnection, records: list[dict[str, Any]]
    ) -> None:
        """A few queries per page instead of several per record: the clients already linked
        to this page's contacts, those that could clash by name with it, and the unlinked
        clients a contact could match."""
        xero_ids = [str(r[self.id_field]) for r in records if r.get(self.id_field)]
        links.preload_linked(session, Client, connection.id, self.record_type, xero_ids)
        names = sorted({str(r.get("Name") or "") for r in records})
        taken = (
            session.execute(
                select(Client.name, Client.id).where(
                    Client.workspace_id == connection.workspace_id,
                    Client.name.in_(names),
                    _of_this_organisation(connection),
                )
            )
            .tuples()
            .all()
        )
        unlinked = _unlinked(session, connection, self.record_type)
        ids = sorted(unlinked)
        candidates = [
            client
            for start in range(0, len(ids), 500)  # under every backend's parameter limit
            for client in session.scalars(select(Client).where(Client.id.in_(ids[start : start + 500])))
        ]
        session.info[_PAGE] = _PageIndex(names=dict(taken), candidates=candidates, unlinked=unlinked)

    def match(self, session: Session, connection: XeroConnection, remote: dict[str, Any]) -> Client | None:
        """An existing client this contact already is: not yet linked in this organisation,
        with the same contact number, email, tax number or (normalised) name."""
        index = _page_index(session, self, connection)
        if not index.candidates:
            return None  # the usual case once every client is linked: no tests to build
        for test in _match_tests(remote):
            found = [c for c in index.candidates if test(c)]
            if len(found) == 1:
                index.candidates.remove(found[0])  # one Xero contact per client
                index.unlinked.discard(found[0].id)
                return found[0]
        return None

    def write(
        self,
        session: Session,
        run: SyncRun,
        connection: XeroConnection,
        obj: Any | None,
        fields: dict[str, Any],
        remote: dict[str, Any],
    ) -> Client | NewRecord | None:
        name = fields.get("name", obj.name if obj is not None else "")
        index = _page_index(session, self, connection)
        holder = index.names.get(name)
        if holder is not None and holder != (obj.id if obj is not None else None):
            record_issue(
                session,
                run,
                self.record_type,
                "pull",
                f"The Xero contact '{name}' has the same name as another client here, which is linked to a "
                "different Xero contact. Rename one of them.",
                local_id=holder,
                xero_id=str(remote[self.id_field]),
            )
            return None
        is_customer, is_supplier = mapping.roles(remote)
        if obj is None:
            values = {
                "id": new_id(),
                "workspace_id": connection.workspace_id,
                "xero_connection_id": connection.id,
                "is_customer": is_customer,
                "is_supplier": is_supplier,
                **fields,
            }
            index.names[values["name"]] = values["id"]
            return NewRecord(values["id"], [(_CLIENTS, values)])
        client: Client = obj
        client.is_customer = client.is_customer or is_customer
        client.is_supplier = client.is_supplier or is_supplier
        index.names.pop(client.name, None)
        for key, value in fields.items():
            setattr(client, key, value)
        index.names[client.name] = client.id
        return client

    def payload(
        self, session: Session, connection: XeroConnection, obj: Any, xero_id: str | None
    ) -> dict[str, Any]:
        return mapping.to_xero(obj, xero_id)

    def describe(self, obj_or_fields: Any) -> str:
        return str(obj_or_fields["name"] if isinstance(obj_or_fields, dict) else obj_or_fields.name)

    def backfill_query(self, workspace_id: str) -> Select[tuple[str]]:
        return select(Client.id).where(Client.workspace_id == workspace_id, Client.archived.is_(False))

    def owner(self, field: str) -> Owner:
        return "latest"


_PAGE = "ledgerbridge.sync.contacts.page"
_UNLINKED = "ledgerbridge.sync.contacts.unlinked"
_CLIENTS = cast(Table, Client.__table__)


@dataclass
class _PageIndex:
    names: dict[str, str]
    """Client name -> id, for the names on this page (and those written since)."""
    candidates: list[Client]
    """Unlinked clients, not yet matched on this page."""
    unlinked: set[str]
    """Their ids, as kept for the rest of the pull."""


def _unlinked(session: Session, connection: XeroConnection, record_type: RecordType) -> set[str]:
    """The ids of clients not linked in this organisation: read once per pull (a query over
    every client, too slow to repeat on each page of a large first import) and kept as
    matches link them. Records this pull creates are linked as they are made; a client
    someone adds during the run is a candidate from the next run on (until then, a Xero
    contact of the same name is reported, never duplicated: ``write``)."""
    state = session.info.get(PULL_STATE)
    if state is not None and _UNLINKED in state:
        return cast(set[str], state[_UNLINKED])
    linked = select(XeroLink.local_id).where(
        XeroLink.connection_id == connection.id, XeroLink.record_type == record_type
    )
    ids = set(
        session.scalars(
            select(Client.id).where(Client.workspace_id == connection.workspace_id, Client.id.not_in(linked))
        )
    )
    if state is not None:
        state[_UNLINKED] = ids
    return ids


def _of_this_organisation(connection: XeroConnection) -> ColumnElement[bool]:
    """The clients whose names a contact of this organisation must differ from: all but
    those living in another organisation (``outbox.placed_elsewhere``). Names are unique
    per organisation, as in Xero: another organisation's "Bondi Surf Co" is its own client,
    and this one's arrives beside it."""
    return Client.id.not_in(outbox.placed_elsewhere(RecordType.CONTACT, connection.id))


def _page_index(session: Session, adapter: ContactsAdapter, connection: XeroConnection) -> _PageIndex:
    """The page's index; built on demand when a record is applied outside a page (by id)."""
    index = session.info.get(_PAGE)
    if not isinstance(index, _PageIndex):
        adapter.prepare_page(session, connection, [])
        index = session.info[_PAGE]
        names = session.execute(
            select(Client.name, Client.id).where(
                Client.workspace_id == connection.workspace_id, _of_this_organisation(connection)
            )
        )
        index.names.update(dict(names.tuples().all()))
    return index


def _match_tests(contact: dict[str, Any]) -> list[Callable[[Client], bool]]:
    """Strongest evidence first: a unique match on an earlier test wins."""
    tests: list[Callable[[Client], bool]] = []
    if contact.get("ContactNumber"):
        tests.append(lambda c: c.contact_number == contact["ContactNumber"])
    if contact.get("EmailAddress"):
        email = str(contact["EmailAddress"]).lower()
        tests.append(lambda c: (c.email or "").lower() == email)
    if contact.get("TaxNumber"):
        tax = str(contact["TaxNumber"]).replace(" ", "")
        tests.append(lambda c: (c.tax_number or "").replace(" ", "") == tax)
    name = mapping.normalised_name(contact.get("Name") or "")
    tests.append(lambda c: bool(name) and mapping.normalised_name(c.name) == name)
    return tests


ADAPTER = ContactsAdapter()
