"""Credit notes both ways, with their allocations: Xero ``CreditNotes`` <-> local credit
notes, lines and allocations against invoices.

Conflict policy (a field both sides changed since the last sync): Xero owns the status and
the allocations (and so the remaining credit): once a credit note is authorised, money is
applied in Xero's books; the work side owns the lines (edited here while the note is a
draft); the later change wins for the header. A credit note Xero holds as paid, void or
with allocations cannot be edited there, so only a void is ever sent for one.

Allocations: a local allocation goes to ``PUT /CreditNotes/{id}/Allocations`` after the
credit notes are pushed, once both its credit note and its invoice are linked and
authorised, with an Idempotency-Key derived from the allocation's id (a resend after a
crash replays, never allocates twice); it is then linked to Xero's ``AllocationID``. An
allocation removed here after it reached Xero is deleted there. Xero's allocations come
back through ``work.documents`` (remaining credit, paid statuses), each linked likewise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ledgerbridge.errors import XeroError
from ledgerbridge.money import LineAmountType
from ledgerbridge.sync import document_links, engine, links
from ledgerbridge.sync.adapter import NotReady, Owner
from ledgerbridge.sync.invoices import organisation_defaults
from ledgerbridge.sync.mapping import credit_notes as mapping
from ledgerbridge.sync.mapping import document_lines
from ledgerbridge.sync.models import RecordType, SyncRun, XeroLink
from ledgerbridge.sync.runs import count, record_issue, resolve_issues
from ledgerbridge.work import documents
from ledgerbridge.work.models import (
    Client,
    CreditNote,
    CreditNoteAllocation,
    CreditNoteKind,
    CreditNoteStatus,
    Invoice,
    InvoiceStatus,
)
from ledgerbridge.xero.client import ACCOUNTING, Organisation
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices

OWNERS: dict[str, Owner] = {"status": "xero", "allocations": "xero", "lines": "local"}
ALLOCATION = RecordType.CREDIT_ALLOCATION
ALLOCATABLE_INVOICE = documents.OPEN_INVOICE | {InvoiceStatus.PAID}
INVOICE_AUTHORISED = "AUTHORISED"


def header_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The header columns among compared fields (all or some), typed for the model."""
    values = {name: fields[name] for name in mapping.HEADER_FIELDS if name in fields}
    if "issue_date" in values:
        values["issue_date"] = date.fromisoformat(values["issue_date"]) if values["issue_date"] else None
    if "line_amount_type" in values:
        values["line_amount_type"] = LineAmountType(values["line_amount_type"])
    return values


def allocation_ids(session: Session, note: CreditNote) -> list[str]:
    """The Xero ids of the note's allocations that are in Xero (linked)."""
    local_ids = select(CreditNoteAllocation.id).where(CreditNoteAllocation.credit_note_id == note.id)
    return [
        str(x)
        for x in session.scalars(
            select(XeroLink.xero_id).where(
                XeroLink.record_type == ALLOCATION, XeroLink.local_id.in_(local_ids)
            )
        )
    ]


def _link_content(session: Session, connection_id: str, local_id: str) -> dict[str, Any]:
    link = links.by_local_id(session, connection_id, RecordType.CREDIT_NOTE, local_id)
    return dict(link.content or {}) if link is not None else {}


class CreditNotesAdapter:
    record_type = RecordType.CREDIT_NOTE
    path = f"{ACCOUNTING}/CreditNotes"
    key = "CreditNotes"
    id_field = "CreditNoteID"
    pull_params: Mapping[str, str] = {"unitdp": "4"}
    ids_param: str | None = None  # no IDs parameter on this endpoint: a where filter on the id
    detail_fields = mapping.DETAIL_FIELDS

    def remote_fields(self, remote: dict[str, Any]) -> dict[str, Any]:
        return mapping.remote_fields(remote)

    def local_fields(self, session: Session, obj: Any) -> dict[str, Any]:
        contact = document_links.contact_xero_id(
            session, obj.workspace_id, obj.client_id, obj.xero_connection_id
        )
        return mapping.local_fields(obj, contact, allocation_ids(session, obj))

    def load(self, session: Session, workspace_id: str, local_id: str) -> CreditNote | None:
        note = session.get(CreditNote, local_id)
        return note if note is not None and note.workspace_id == workspace_id else None

    def match(
        self, session: Session, connection: XeroConnection, remote: dict[str, Any]
    ) -> CreditNote | None:
        """An unlinked local sales credit note with this number for the same client (sales
        numbers are unique on both sides); bill credit notes have no reliable number."""
        fields = mapping.remote_fields(remote)
        if fields["kind"] != CreditNoteKind.SALES.value or not fields["number"]:
            return None
        linked = select(XeroLink.local_id).where(
            XeroLink.connection_id == connection.id, XeroLink.record_type == self.record_type
        )
        note = session.scalar(
            select(CreditNote).where(
                CreditNote.workspace_id == connection.workspace_id,
                CreditNote.kind == CreditNoteKind.SALES,
                CreditNote.number == fields["number"],
                CreditNote.id.not_in(linked),
                CreditNote.numbered_here.is_(False),  # Xero never saw a number of our series
            )
        )
        if note is None:
            return None
        contact = document_links.contact_xero_id(session, note.workspace_id, note.client_id, connection.id)
        return note if contact == fields["contact"] else None

    def write(
        self,
        session: Session,
        run: SyncRun,
        connection: XeroConnection,
        obj: Any | None,
        fields: dict[str, Any],
        remote: dict[str, Any],
    ) -> CreditNote | None:
        if fields.get("status") == mapping.DELETED:
            _deleted_in_xero(session, connection, obj, remote)
            return None
        client: Client | None = None
        if obj is None or "contact" in fields:
            client = document_links.client_for(session, connection, fields.get("contact"))
            if client is None:
                document_links.missing_contact_issue(
                    session, run, self.record_type, remote, self.id_field, "credit note"
                )
                return None
        note = obj
        if note is None:
            note = CreditNote(workspace_id=connection.workspace_id, kind=CreditNoteKind(fields["kind"]))
        if note.kind is CreditNoteKind.SALES and fields.get("number"):
            document_links.make_way(
                session, CreditNote, self.record_type, documents.CREDIT_NOTE_PREFIX, connection.workspace_id,
                connection.id, str(fields["number"]), note.id, CreditNote.kind == CreditNoteKind.SALES,
            )
        return document_links.applied(
            session,
            run,
            self.record_type,
            remote,
            self.id_field,
            obj.id if obj is not None else None,
            lambda: _write(session, run, connection, note, fields, client, remote),
        )

    def payload(
        self, session: Session, connection: XeroConnection, obj: Any, xero_id: str | None
    ) -> dict[str, Any]:
        contact = document_links.contact_xero_id(session, obj.workspace_id, obj.client_id, connection.id)
        if contact is None:
            client = session.get(Client, obj.client_id) if obj.client_id else None
            name = client.name if client is not None else "(none)"
            raise NotReady(
                f"Credit note {obj.number or ''}: its client '{name}' is not in Xero yet; "
                "it goes once the contacts sync has sent the client."
            )
        if xero_id is None and obj.status is CreditNoteStatus.VOID:
            raise NotReady("A credit note voided before it ever reached Xero is not sent.")
        known = _link_content(session, connection.id, obj.id)
        if xero_id is not None and (known.get("status") in ("paid", "void") or known.get("allocations")):
            return mapping.settled_payload(obj, xero_id)
        defaults = organisation_defaults(session, connection)
        account = defaults.account(obj.kind is CreditNoteKind.SALES)
        body = mapping.to_xero(obj, contact, xero_id, account, defaults.tax_type)
        document_links.unnumbered_if_ours(body, obj, xero_id, "CreditNoteNumber")  # Xero numbers it
        return body

    def number_from_xero(
        self,
        session: Session,
        connection_id: str,
        local_id: str,
        record: dict[str, Any],
        fields: dict[str, Any],
    ) -> dict[str, Any]:
        """After a create: a sales credit note takes the number Xero gave it."""
        note = session.get(CreditNote, local_id)
        if note is None or note.kind is not CreditNoteKind.SALES:
            return fields
        return document_links.take_xeros_number(
            session, CreditNote, self.record_type, documents.CREDIT_NOTE_PREFIX, connection_id, local_id,
            record.get("CreditNoteNumber"), fields, CreditNote.kind == CreditNoteKind.SALES,
        )

    def describe(self, obj_or_fields: Any) -> str:
        number = obj_or_fields.get("number") if isinstance(obj_or_fields, dict) else obj_or_fields.number
        return f"Credit note {number or '(unnumbered)'}"

    def backfill_query(self, workspace_id: str) -> Select[tuple[str]]:
        return select(CreditNote.id).where(
            CreditNote.workspace_id == workspace_id, CreditNote.status != CreditNoteStatus.VOID
        )

    def owner(self, field: str) -> Owner:
        return OWNERS.get(field, "latest")

    async def after_push(
        self, services: XeroServices, connection_id: str, run_id: str, dry_run: bool
    ) -> None:
        """Send the allocations waiting for Xero and remove those deleted here."""
        with services.database.session() as session:
            connection = session.get(XeroConnection, connection_id)
            assert connection is not None
            org = engine.organisation(connection)
            sends, waits = _allocations_to_send(session, connection)
            removals = _allocations_to_remove(session, connection)
            if dry_run:
                run = session.get(SyncRun, run_id)
                assert run is not None
                for send in sends:
                    engine.preview(run, self, "xero", "allocate", send.name, send.credit_note_xero_id)
                return
        for wait in waits:
            _allocation_issue(services, run_id, wait, _waiting_message(wait))
        for send in sends:
            await _send_allocation(services, org, run_id, connection_id, send)
        for link_id in removals:
            await _remove_allocation(services, org, run_id, link_id)


# -- pull ---------------------------------------------------------------------------------


def _deleted_in_xero(
    session: Session, connection: XeroConnection, obj: CreditNote | None, remote: dict[str, Any]
) -> None:
    """A draft deleted in Xero: the local draft goes too (as a local delete would), and so
    does its link. Anything else here is kept: only drafts can be deleted."""
    if obj is not None and obj.status is CreditNoteStatus.DRAFT:
        session.delete(obj)
    link = links.by_xero_id(session, connection.id, RecordType.CREDIT_NOTE, str(remote["CreditNoteID"]))
    if link is not None and (obj is None or obj.status is CreditNoteStatus.DRAFT):
        session.delete(link)


def _write(
    session: Session,
    run: SyncRun,
    connection: XeroConnection,
    note: CreditNote,
    fields: dict[str, Any],
    client: Client | None,
    remote: dict[str, Any],
) -> CreditNote:
    """Xero's version through the work side's rules; Xero's status and allocations last.

    The local edit rules guard what a person may ask for, not what Xero reports, so the
    header and lines are written unguarded (``from_xero``) and the status set after; allocations go
    through ``allocate_credit`` / ``remove_allocation`` so remaining credit and the paid
    statuses of both documents follow the same rules as a local allocation.
    """
    values = header_values(fields)
    if client is not None:
        values["client_id"] = client.id
    specs = document_lines.line_specs(fields["lines"]) if "lines" in fields else None
    previous = note.status
    if values or specs is not None:
        documents.write_credit_note(session, note, values, specs, from_xero=True)
    target = CreditNoteStatus(fields.get("status") or (previous or CreditNoteStatus.DRAFT).value)
    if "allocations" in fields:
        if target.value in mapping.SETTLED:
            note.status = CreditNoteStatus.APPROVED
        session.flush()
        _reconcile_allocations(session, run, connection, note, remote)
    note.status = target
    return note


def _reconcile_allocations(
    session: Session, run: SyncRun, connection: XeroConnection, note: CreditNote, remote: dict[str, Any]
) -> None:
    """Make the note's linked allocations exactly Xero's: remove the ones Xero no longer
    has, add (or link, if already here) the ones it has that are not linked yet."""
    in_xero = {str(a["AllocationID"]): a for a in mapping.live_allocations(remote)}
    mine = {
        a.id: a
        for a in session.scalars(
            select(CreditNoteAllocation).where(CreditNoteAllocation.credit_note_id == note.id)
        )
    }
    linked = {
        link.xero_id: link
        for link in session.scalars(
            select(XeroLink).where(
                XeroLink.connection_id == connection.id,
                XeroLink.record_type == ALLOCATION,
                XeroLink.local_id.in_(list(mine)),
            )
        )
    }
    for xero_id, link in linked.items():
        if xero_id not in in_xero:
            documents.remove_allocation(session, mine.pop(link.local_id))
            session.delete(link)
    unlinked = [a for a in mine.values() if a.id not in {link.local_id for link in linked.values()}]
    for xero_id, allocation in in_xero.items():
        if xero_id not in linked:
            _take_allocation(session, run, connection, note, xero_id, allocation, unlinked)


def _take_allocation(
    session: Session,
    run: SyncRun,
    connection: XeroConnection,
    note: CreditNote,
    xero_id: str,
    remote: dict[str, Any],
    unlinked: list[CreditNoteAllocation],
) -> None:
    content = mapping.allocation_content(str(note.id), remote)
    invoice_link = links.by_xero_id(session, connection.id, RecordType.INVOICE, content["invoice"])
    invoice = session.get(Invoice, invoice_link.local_id) if invoice_link is not None else None
    if invoice is None:
        record_issue(
            session,
            run,
            RecordType.CREDIT_NOTE,
            "pull",
            f"Credit note {note.number or ''} is allocated in Xero to an invoice that is not here yet; "
            "the allocation follows once invoices are synced.",
            local_id=note.id,
            xero_id=xero_id,
        )
        return
    amount, day = Decimal(content["amount"]), date.fromisoformat(content["date"])
    same = next(
        (a for a in unlinked if a.invoice_id == invoice.id and a.amount == amount and a.date == day), None
    )
    if same is not None:
        unlinked.remove(same)
        allocation = same
    else:
        if invoice.status is InvoiceStatus.PAID:
            invoice.status = InvoiceStatus.APPROVED  # paid by this very credit: settled again below
        allocation = documents.allocate_credit(session, note, invoice, amount, day)
        session.flush()
    content["credit_note"] = _xero_id_of_note(session, connection, note) or content["credit_note"]
    links.upsert(
        session,
        connection.workspace_id,
        connection.id,
        ALLOCATION,
        allocation.id,
        xero_id,
        links.content_hash(content),
        None,
        content=content,
    )


def _xero_id_of_note(session: Session, connection: XeroConnection, note: CreditNote) -> str | None:
    return document_links.linked_id(session, connection.id, RecordType.CREDIT_NOTE, note.id)


# -- push: allocations --------------------------------------------------------------------


@dataclass(frozen=True)
class _Send:
    allocation_id: str
    credit_note_id: str
    credit_note_xero_id: str
    body: dict[str, Any]
    key: str
    name: str


def idempotency_key(allocation_id: str) -> str:
    """Derived from the allocation alone: every attempt to send it carries the same key."""
    return hashlib.sha256(f"credit-allocation:{allocation_id}".encode()).hexdigest()


def _allocations_to_send(
    session: Session, connection: XeroConnection
) -> tuple[list[_Send], list[_Send]]:
    """Local allocations not in Xero yet whose credit note Xero holds as authorised and whose
    invoice is in Xero and open; and those that wait because Xero holds either as a draft
    (the organisation's *invoice status* setting sends approved invoices as drafts), which
    the sync log says, since the invoice's amount due differs there until then. The rest
    wait silently: their documents are not in Xero yet, and go first."""
    linked = select(XeroLink.local_id).where(
        XeroLink.connection_id == connection.id, XeroLink.record_type == ALLOCATION
    )
    pending = session.scalars(
        select(CreditNoteAllocation)
        .where(
            CreditNoteAllocation.workspace_id == connection.workspace_id,
            CreditNoteAllocation.id.not_in(linked),
        )
        .order_by(CreditNoteAllocation.created_at, CreditNoteAllocation.id)
    )
    sends: list[_Send] = []
    waits: list[_Send] = []
    for allocation in pending:
        note_link = links.by_local_id(
            session, connection.id, RecordType.CREDIT_NOTE, allocation.credit_note_id
        )
        invoice_link = links.by_local_id(session, connection.id, RecordType.INVOICE, allocation.invoice_id)
        invoice = session.get(Invoice, allocation.invoice_id)
        if note_link is None or invoice_link is None or invoice is None:
            continue
        if invoice.status not in ALLOCATABLE_INVOICE:
            continue
        (sends if _authorised_in_xero(note_link, invoice_link) else waits).append(
            _Send(
                allocation_id=allocation.id,
                credit_note_id=allocation.credit_note_id,
                credit_note_xero_id=note_link.xero_id,
                body=mapping.allocation_body(allocation, invoice_link.xero_id),
                key=idempotency_key(allocation.id),
                name=f"{allocation.amount} of credit note {(note_link.content or {}).get('number') or ''} "
                f"to invoice {invoice.number or ''}",
            )
        )
    return sends, waits


def _waiting_message(wait: _Send) -> str:
    return (
        f"Waiting: {wait.name} goes to Xero once both are approved there. Xero allocates "
        "credit only from an approved credit note to an approved invoice, and holds one of "
        "them as a draft (see the organisation's invoice status setting); approve it in Xero."
    )


def _authorised_in_xero(note_link: XeroLink, invoice_link: XeroLink) -> bool:
    """As last exchanged: the note approved (or paid) and the invoice AUTHORISED (the
    invoice sync keeps Xero's status words on its link). Xero refuses anything else."""
    note_status = (note_link.content or {}).get("status")
    return note_status in mapping.SETTLED and (invoice_link.content or {}).get("status") == INVOICE_AUTHORISED


async def _send_allocation(
    services: XeroServices, org: Organisation, run_id: str, connection_id: str, send: _Send
) -> None:
    path = f"{ACCOUNTING}/CreditNotes/{send.credit_note_xero_id}/Allocations"
    try:
        results = await services.client.write_batch(org, "PUT", path, "Allocations", [send.body], send.key)
    except XeroError as exc:
        _allocation_issue(services, run_id, send, exc.detail)
        return
    result = results[0] if results else None
    if result is None or not result.ok:
        said = result.messages if result else []
        message = "; ".join(said) or "Xero refused the allocation."
        _allocation_issue(services, run_id, send, message, from_xero=bool(said))
        return
    with services.database.session() as session:
        connection = session.get(XeroConnection, connection_id)
        note = session.get(CreditNote, send.credit_note_id)
        run = session.get(SyncRun, run_id)
        assert connection is not None and note is not None and run is not None
        content = mapping.allocation_content(send.credit_note_xero_id, result.record)
        content["invoice"] = send.body["Invoice"]["InvoiceID"]
        links.upsert(
            session,
            connection.workspace_id,
            connection.id,
            ALLOCATION,
            send.allocation_id,
            str(result.record["AllocationID"]),
            links.content_hash(content),
            None,
            content=content,
        )
        _settle_note_link(session, connection, note)
        waited = _waiting_message(send)  # that wait, if the log showed one, is over
        resolve_issues(session, connection.id, RecordType.CREDIT_NOTE, [note.id], message=waited)
        count(run, "pushed_allocations")


def _settle_note_link(session: Session, connection: XeroConnection, note: CreditNote) -> None:
    """Xero now holds the note as it is here (the allocation applied by the same rules), so
    the note's link records that: the next pull of it is no change, and no push follows."""
    link = links.by_local_id(session, connection.id, RecordType.CREDIT_NOTE, note.id)
    if link is None:
        return
    fields = ADAPTER.local_fields(session, note)
    link.content, link.content_hash = fields, links.content_hash(fields)


def _allocation_issue(
    services: XeroServices, run_id: str, send: _Send, message: str, from_xero: bool = False
) -> None:
    with services.database.session() as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        record_issue(
            session,
            run,
            RecordType.CREDIT_NOTE,
            "push",
            message,
            local_id=send.credit_note_id,
            xero_id=send.credit_note_xero_id,
            from_xero=from_xero,
        )


def _allocations_to_remove(session: Session, connection: XeroConnection) -> list[str]:
    """Links of allocations deleted here after they reached Xero."""
    existing = select(CreditNoteAllocation.id)
    return list(
        session.scalars(
            select(XeroLink.id).where(
                XeroLink.connection_id == connection.id,
                XeroLink.record_type == ALLOCATION,
                XeroLink.local_id.not_in(existing),
            )
        )
    )


async def _remove_allocation(services: XeroServices, org: Organisation, run_id: str, link_id: str) -> None:
    with services.database.session() as session:
        link = session.get(XeroLink, link_id)
        if link is None:
            return
        note_xero_id, allocation_xero_id = (link.content or {}).get("credit_note"), link.xero_id
    path = f"{ACCOUNTING}/CreditNotes/{note_xero_id}/Allocations/{allocation_xero_id}"
    try:
        response = await services.client.request(org, "DELETE", path)
        gone = response.status_code in (200, 204, 404)
    except XeroError as exc:
        gone = exc.status == 404
        if not gone:
            with services.database.session() as session:
                run = session.get(SyncRun, run_id)
                assert run is not None
                record_issue(session, run, RecordType.CREDIT_NOTE, "push", exc.detail, xero_id=note_xero_id)
    if gone:
        with services.database.session() as session:
            link = session.get(XeroLink, link_id)
            if link is not None:
                session.delete(link)
                session.flush()
            note_link = (
                links.by_xero_id(session, link.connection_id, RecordType.CREDIT_NOTE, str(note_xero_id))
                if link
                else None
            )
            note = session.get(CreditNote, note_link.local_id) if note_link is not None else None
            connection = (
                session.get(XeroConnection, note_link.connection_id) if note_link is not None else None
            )
            if note is not None and connection is not None:
                _settle_note_link(session, connection, note)


ADAPTER = CreditNotesAdapter()
