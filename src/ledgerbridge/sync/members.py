"""Members to Xero, and Xero contacts in as members.

**Out.** A chosen member goes to one organisation once:

- a *contractor* (who bills the business) becomes a Xero contact through a supplier client
  of the same name: the one the workspace has (``sync.invoices`` finds a contractor's bills'
  contact the same way), else one made for them. A client already linked to a contact, or
  a Xero contact of that name, is linked rather than created again (Xero's names are unique
  among active contacts); otherwise the contact is created (``PUT /Contacts``). Xero sets
  ``IsSupplier`` itself once the first bill exists; locally the client is a supplier.
- an *employee* becomes a Payroll AU employee (``POST /Employees``, a bare array): first and
  last name split from the member's name (or given), ``Email``, ``StartDate``, the payroll
  calendar and ordinary earnings rate chosen (else the organisation's defaults), and what
  Xero requires: ``DateOfBirth`` and a ``HomeAddress`` with its first line (XERO_API_NOTES
  5.2), as given in the request, else as stored on the member (a home address given in the
  request replaces the stored one whole). The employee is then mapped to the member in
  ``payroll_mappings`` and kept as a reference row, so timesheets work at once. A member
  already mapped to an employee is linked to it, not created again.

Each member's outcome is its own: a ``member_exports`` row per member and organisation
holds Xero's id or Xero's own message. Before a call that row is committed as *sending*
with an ``Idempotency-Key`` derived from the organisation, the member and the attempt, so
a send cut short replays under the same key instead of creating a second record; a link
(record type ``member``) then marks the member as in Xero, and a second import sends
nothing.

**Auto-sync.** With the organisation's ``auto_sync_new_members`` on, creating a member
queues the ``members.to_xero`` job for that organisation (each connected organisation
with the switch on, whether default or not), which imports it with the
organisation's default payroll calendar and earnings rate, and the date of birth and home
address stored on the member (an employee without them is refused on the member's export
row, each missing field named).

**In.** Contacts synced to clients can be invited as members (a supplier as a contractor),
each contact once: the new member is linked to the contact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from ledgerbridge.db import new_id
from ledgerbridge.errors import (
    Conflict,
    FieldError,
    ValidationFailed,
    XeroError,
    XeroValidationError,
    invalid,
)
from ledgerbridge.jobs.queue import enqueue
from ledgerbridge.jobs.registry import JobContext, job
from ledgerbridge.logging import get_logger
from ledgerbridge.payroll.models import MappingKind, PayrollMapping
from ledgerbridge.sync import links
from ledgerbridge.sync.engine import organisation
from ledgerbridge.sync.mapping import contacts as contact_mapping
from ledgerbridge.sync.models import MemberExport, RecordType, SyncSettings, XeroLink, XeroReference
from ledgerbridge.work.models import Client, Member, MemberKind
from ledgerbridge.work.repository import scoped
from ledgerbridge.xero.client import ACCOUNTING, PAYROLL_AU, Organisation, XeroClient, derived_idempotency_key
from ledgerbridge.xero.connections import get_connection
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection
from ledgerbridge.xero.services import XeroServices

__all__ = [
    "JOB",
    "EmployeeDetails",
    "Invitable",
    "MemberRequest",
    "MemberStatus",
    "Outcome",
    "check_member_defaults",
    "count_invitable",
    "count_statuses",
    "import_members",
    "invitable",
    "invite",
    "new_member_hook",
    "queue_new_member",
    "split_name",
    "statuses",
]

log = get_logger(__name__)

JOB = "members.to_xero"
CONTACTS = f"{ACCOUNTING}/Contacts"
EMPLOYEES = f"{PAYROLL_AU}/Employees"
CONTACT, EMPLOYEE = "contact", "employee"
SENDING, SENT, FAILED = "sending", "sent", "failed"


# -- what is asked -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmployeeDetails:
    """What Payroll AU needs of an employee, as a request gives it: each value given here
    overrides what the member holds (``with_stored`` fills in the rest from the member)."""

    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: date | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    start_date: date | None = None
    payroll_calendar_id: str | None = None
    ordinary_earnings_rate_id: str | None = None

    def with_stored(self, member: Member) -> EmployeeDetails:
        """These details over what the member holds: a date of birth given here wins, and
        a home address given here (its first line) replaces the stored one whole, so the
        lines of two addresses are never mixed."""
        given_address = bool((self.address_line1 or "").strip())
        source: EmployeeDetails | Member = self if given_address else member
        return replace(
            self,
            date_of_birth=self.date_of_birth or member.date_of_birth,
            address_line1=source.address_line1,
            address_line2=source.address_line2,
            city=source.city,
            region=source.region,
            postal_code=source.postal_code,
            country=source.country,
        )


@dataclass(frozen=True)
class MemberRequest:
    member_id: str
    where: str
    """Where it is in the request, for errors naming it (``members[0]``)."""
    employee: EmployeeDetails = field(default_factory=EmployeeDetails)


@dataclass
class Outcome:
    member_id: str
    name: str
    target: str
    """contact or employee."""
    outcome: str
    """created, linked (to a record Xero already had), already (sent before: nothing sent)
    or failed."""
    xero_id: str | None = None
    error: str | None = None


def split_name(name: str) -> tuple[str, str | None]:
    """'Mia Chen' -> ('Mia', 'Chen'); 'CHEN, Mia' -> ('Mia', 'CHEN'); 'Ana de la Cruz' ->
    ('Ana de la', 'Cruz'); one word -> (word, None): the last name must then be given."""
    text = " ".join(name.split())
    if "," in text:
        last, _, first = text.partition(",")
        if first.strip() and last.strip():
            return first.strip(), last.strip()
        text = (first or last).strip()
    first, _, last = text.rpartition(" ")
    return (first, last) if first else (last, None)


# -- reading -------------------------------------------------------------------------------------


@dataclass
class MemberStatus:
    member_id: str
    name: str
    email: str | None
    kind: MemberKind
    active: bool
    target: str
    """What the member is in Xero when ``linked`` (as its link says), else what it becomes."""
    linked: bool
    xero_id: str | None
    status: str | None
    """sending, sent or failed: the last import's state (None: never imported)."""
    error: str | None
    """Xero's own message (or what stopped it) when the last import failed."""


def _member_links(
    session: Session, connection_id: str, member_ids: Sequence[str] | None = None
) -> dict[str, XeroLink]:
    """Member id -> its link in this organisation: of every member, or of only these."""
    statement = select(XeroLink).where(
        XeroLink.connection_id == connection_id, XeroLink.record_type == RecordType.MEMBER
    )
    if member_ids is not None:
        if not member_ids:
            return {}
        statement = statement.where(XeroLink.local_id.in_(member_ids))
    return {link.local_id: link for link in session.scalars(statement)}


def _exports(
    session: Session, connection_id: str, member_ids: Sequence[str] | None
) -> dict[str, MemberExport]:
    """Member id -> its export row for this organisation: of every member, or of only these."""
    statement = select(MemberExport).where(MemberExport.connection_id == connection_id)
    if member_ids is not None:
        if not member_ids:
            return {}
        statement = statement.where(MemberExport.member_id.in_(member_ids))
    return {export.member_id: export for export in session.scalars(statement)}


def _target(member: Member) -> str:
    return CONTACT if member.kind is MemberKind.CONTRACTOR else EMPLOYEE


def _linked_as(member: Member, link: XeroLink | None) -> str:
    """What the member is in Xero when linked (the link says: a contact invited in, or the
    Payroll AU employee an import made), else what an import would make of it. An employee
    invited from a contact is that contact, not a Payroll employee: only a link ``as``
    employee means a Payroll AU employee exists."""
    if link is None:
        return _target(member)
    return str((link.content or {}).get("as") or _target(member))


def _statuses_query(
    workspace_id: str,
    connection_id: str,
    search: str | None,
    kind: MemberKind | None,
    active: bool | None,
    linked: bool | None,
) -> Select[tuple[Member]]:
    """The members ``statuses`` lists, every filter (whether in Xero too) in SQL."""
    statement = scoped(Member, workspace_id)
    if search:
        pattern = f"%{search.strip().lower()}%"
        statement = statement.where(
            or_(
                func.lower(Member.name).like(pattern),
                func.lower(func.coalesce(Member.email, "")).like(pattern),
            )
        )
    if kind is not None:
        statement = statement.where(Member.kind == kind)
    if active is not None:
        statement = statement.where(Member.active.is_(active))
    if linked is not None:
        in_xero = (
            select(XeroLink.id)
            .where(
                XeroLink.connection_id == connection_id,
                XeroLink.record_type == RecordType.MEMBER,
                XeroLink.local_id == Member.id,
            )
            .exists()
        )
        statement = statement.where(in_xero if linked else ~in_xero)
    return statement


def statuses(
    session: Session,
    workspace_id: str,
    connection_id: str,
    *,
    search: str | None = None,
    kind: MemberKind | None = None,
    active: bool | None = None,
    linked: bool | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[MemberStatus]:
    """Members (searched by name or email, filtered) with what each is, or would be, in Xero;
    with ``limit``, one page of them (``count_statuses`` says how many there are), so a page
    reads only the links and export rows of the members it shows."""
    connection = get_connection(session, workspace_id, connection_id)
    statement = _statuses_query(workspace_id, connection.id, search, kind, active, linked)
    statement = statement.order_by(Member.name, Member.id).offset(offset or None).limit(limit)
    members = list(session.scalars(statement))
    ids = None if limit is None else [m.id for m in members]
    member_links = _member_links(session, connection.id, ids)
    exports = _exports(session, connection.id, ids)
    found = []
    for member in members:
        link = member_links.get(member.id)
        export = exports.get(member.id)
        found.append(
            MemberStatus(
                member.id,
                member.name,
                member.email,
                member.kind,
                member.active,
                _linked_as(member, link),
                link is not None,
                link.xero_id if link else None,
                export.status if export else (SENT if link else None),
                export.error if export else None,
            )
        )
    return found


def count_statuses(
    session: Session,
    workspace_id: str,
    connection_id: str,
    *,
    search: str | None = None,
    kind: MemberKind | None = None,
    active: bool | None = None,
    linked: bool | None = None,
) -> int:
    """How many members ``statuses`` lists with these filters (one count in SQL)."""
    connection = get_connection(session, workspace_id, connection_id)
    statement = _statuses_query(workspace_id, connection.id, search, kind, active, linked)
    return session.scalar(select(func.count()).select_from(statement.subquery())) or 0


# -- planning (one transaction, no calls) ---------------------------------------------------------


@dataclass
class _Plan:
    member_id: str
    name: str
    target: str
    where: str
    payload: dict[str, Any] | None = None
    client_id: str | None = None
    outcome: Outcome | None = None
    """Decided without a call (already linked, or refused before sending)."""


def _settings(session: Session, connection_id: str) -> SyncSettings | None:
    return session.scalar(select(SyncSettings).where(SyncSettings.connection_id == connection_id))


def _reference_ids(session: Session, connection_id: str, record_type: RecordType) -> set[str]:
    return {
        x.lower()
        for x in session.scalars(
            select(XeroReference.xero_id).where(
                XeroReference.connection_id == connection_id, XeroReference.record_type == record_type
            )
        )
    }


def _link_member(
    session: Session, connection: XeroConnection, member_id: str, target: str, xero_id: str
) -> None:
    links.upsert(
        session,
        connection.workspace_id,
        connection.id,
        RecordType.MEMBER,
        member_id,
        xero_id.lower(),
        links.content_hash({"as": target, "id": xero_id.lower()}),
        None,
        {"as": target},
    )


def _supplier_client(session: Session, member: Member) -> Client:
    """The contractor's supplier client (the one bills go to), made when there is none; a
    client of that name that is not a supplier yet becomes one (roles only add)."""
    key = contact_mapping.normalised_name(member.name)
    same_name = [
        c
        for c in session.scalars(scoped(Client, member.workspace_id).order_by(Client.created_at, Client.id))
        if contact_mapping.normalised_name(c.name) == key
    ]
    client = next((c for c in same_name if c.is_supplier), None) or next(iter(same_name), None)
    if client is None:
        client = Client(
            id=new_id(),
            workspace_id=member.workspace_id,
            name=member.name,
            email=member.email,
            is_customer=False,
            is_supplier=True,
        )
        session.add(client)
    client.is_supplier = True
    session.flush()
    return client


def _employee_payload(
    member: Member,
    details: EmployeeDetails,
    defaults: SyncSettings | None,
    where: str,
    calendars: set[str],
    rates: set[str],
) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    details = details.with_stored(member)
    first, last = split_name(member.name)
    first, last = details.first_name or first, details.last_name or last
    if not last:
        errors.append(FieldError(f"{where}.last_name", f"'{member.name}' has one name; give the last name"))
    if details.date_of_birth is None:
        errors.append(
            FieldError(
                f"{where}.date_of_birth",
                "Xero Payroll requires the employee's date of birth: give it here or store it on the member",
            )
        )
    if not (details.address_line1 or "").strip():
        errors.append(
            FieldError(
                f"{where}.home_address.address_line1",
                "Xero Payroll requires a home address (its first line): "
                "give it here or store it on the member",
            )
        )
    calendar = details.payroll_calendar_id or (defaults.default_payroll_calendar_id if defaults else None)
    rate = details.ordinary_earnings_rate_id or (defaults.default_earnings_rate_id if defaults else None)
    for name, value, known, what in (
        ("payroll_calendar_id", calendar, calendars, "payroll calendar"),
        ("ordinary_earnings_rate_id", rate, rates, "earnings rate"),
    ):
        if not value:
            errors.append(
                FieldError(f"{where}.{name}", f"choose a {what} (or set the organisation's default {what})")
            )
        elif value.lower() not in known:
            errors.append(
                FieldError(
                    f"{where}.{name}",
                    f"no {what} with id '{value}' was imported from this organisation; "
                    "import payroll data first",
                )
            )
    payload: dict[str, Any] = {"FirstName": first, "LastName": last or ""}
    if member.email:
        payload["Email"] = member.email
    start = details.start_date or member.start_date
    if start:
        payload["StartDate"] = start.isoformat()
    if details.date_of_birth:
        payload["DateOfBirth"] = details.date_of_birth.isoformat()
    address = {
        "AddressLine1": details.address_line1,
        "AddressLine2": details.address_line2,
        "City": details.city,
        "Region": details.region,
        "PostalCode": details.postal_code,
        "Country": details.country,
    }
    if details.address_line1:
        payload["HomeAddress"] = {k: v for k, v in address.items() if v}
    if calendar:
        payload["PayrollCalendarID"] = calendar.lower()
    if rate:
        payload["OrdinaryEarningsRateID"] = rate.lower()
    return payload, errors


def _plan(
    session: Session, connection: XeroConnection, requests: Sequence[MemberRequest], strict: bool
) -> list[_Plan]:
    """What each member needs; with ``strict`` every problem is a 422 naming its field,
    otherwise (the auto-sync job) a problem fails that member only, on its export row."""
    workspace_id = connection.workspace_id
    member_links = _member_links(session, connection.id)
    mapped = {
        row.local_id: row.xero_id
        for row in session.scalars(
            select(PayrollMapping).where(
                PayrollMapping.connection_id == connection.id, PayrollMapping.kind == MappingKind.MEMBER
            )
        )
    }
    defaults = _settings(session, connection.id)
    calendars = _reference_ids(session, connection.id, RecordType.PAYROLL_CALENDAR)
    rates = _reference_ids(session, connection.id, RecordType.EARNINGS_RATE)
    errors: list[FieldError] = []
    plans: list[_Plan] = []
    for request in requests:
        member = session.get(Member, request.member_id)
        if member is None or member.workspace_id != workspace_id:
            errors.append(
                FieldError(f"{request.where}.member_id", f"no member with id '{request.member_id}'")
            )
            continue
        plan = _Plan(member.id, member.name, _target(member), request.where)
        plans.append(plan)
        link = member_links.get(member.id)
        if link is not None:
            plan.outcome = Outcome(member.id, member.name, _linked_as(member, link), "already", link.xero_id)
        elif plan.target == CONTACT:
            client = _supplier_client(session, member)
            plan.client_id = client.id
            contact = links.by_local_id(session, connection.id, RecordType.CONTACT, client.id)
            if contact is not None:
                _link_member(session, connection, member.id, CONTACT, contact.xero_id)
                plan.outcome = Outcome(member.id, member.name, CONTACT, "linked", contact.xero_id.lower())
            else:
                plan.payload = contact_mapping.to_xero(client, None)
        elif member.id in mapped:
            _link_member(session, connection, member.id, EMPLOYEE, mapped[member.id])
            plan.outcome = Outcome(member.id, member.name, EMPLOYEE, "linked", mapped[member.id])
        else:
            plan.payload, problems = _employee_payload(
                member, request.employee, defaults, request.where, calendars, rates
            )
            if problems and not strict:
                message = "; ".join(f"{p.field}: {p.message}" for p in problems)
                _record(session, connection, plan, FAILED, error=message)
                plan.outcome = Outcome(member.id, member.name, EMPLOYEE, "failed", error=message)
            errors.extend(problems)
    if errors and strict:
        raise ValidationFailed("Some members cannot be sent to Xero as asked.", errors)
    return plans


# -- sending --------------------------------------------------------------------------------------


def _export(session: Session, connection: XeroConnection, member_id: str, target: str) -> MemberExport:
    export = session.scalar(
        select(MemberExport).where(
            MemberExport.connection_id == connection.id, MemberExport.member_id == member_id
        )
    )
    if export is None:
        export = MemberExport(
            workspace_id=connection.workspace_id,
            connection_id=connection.id,
            member_id=member_id,
            target=target,
            status=SENDING,
            attempts=0,
        )
        session.add(export)
        session.flush()
    export.target = target
    return export


def _record(
    session: Session,
    connection: XeroConnection,
    plan: _Plan,
    status: str,
    *,
    xero_id: str | None = None,
    error: str | None = None,
    now: datetime | None = None,
) -> None:
    export = _export(session, connection, plan.member_id, plan.target)
    export.status, export.xero_id, export.error = status, xero_id, error
    if status == SENT:
        export.sent_at = now


def _prepare(services: XeroServices, connection_id: str, plan: _Plan) -> str:
    """Commit the export row as *sending* before the call; the key to send with. A row
    still *sending* the same request (a send cut short) keeps its key, so Xero replays."""
    digest = links.content_hash({"target": plan.target, "payload": plan.payload})
    with services.database.session() as session:
        connection = session.get(XeroConnection, connection_id)
        assert connection is not None
        export = _export(session, connection, plan.member_id, plan.target)
        resumed = export.status == SENDING and export.payload_hash == digest and export.attempts
        if not resumed:
            export.attempts += 1
            export.idempotency_key = derived_idempotency_key(
                "member", connection_id, plan.member_id, export.attempts
            )
        export.status, export.payload_hash, export.error = SENDING, digest, None
        assert export.idempotency_key is not None
        return export.idempotency_key


async def _existing_contact(client: XeroClient, org: Organisation, name: str) -> dict[str, Any] | None:
    """An active Xero contact of this (normalised) name, to link instead of duplicating."""
    body = await client.get(org, CONTACTS, {"searchTerm": name})
    key = contact_mapping.normalised_name(name)
    found = [
        c
        for c in body.get("Contacts", [])
        if c.get("ContactStatus", "ACTIVE") == "ACTIVE"
        and contact_mapping.normalised_name(c.get("Name") or "") == key
    ]
    return found[0] if len(found) == 1 else None


async def _send_contact(
    services: XeroServices, org: Organisation, connection_id: str, plan: _Plan
) -> Outcome:
    assert plan.payload is not None and plan.client_id is not None
    existing = await _existing_contact(services.client, org, str(plan.payload["Name"]))
    with services.database.session() as session:
        connection = session.get(XeroConnection, connection_id)
        assert connection is not None
        if existing is not None:
            contact_id = str(existing["ContactID"]).lower()
            taken = links.by_xero_id(session, connection_id, RecordType.CONTACT, contact_id)
            if taken is None or taken.local_id == plan.client_id:
                links.upsert(
                    session,
                    connection.workspace_id,
                    connection_id,
                    RecordType.CONTACT,
                    plan.client_id,
                    contact_id,
                    links.UNEXCHANGED,
                    None,
                )
                _link_member(session, connection, plan.member_id, CONTACT, contact_id)
                _record(session, connection, plan, SENT, xero_id=contact_id, now=services.clock.utcnow())
                return Outcome(plan.member_id, plan.name, CONTACT, "linked", contact_id)
    key = _prepare(services, connection_id, plan)
    (result,) = await services.client.write_batch(org, "PUT", CONTACTS, "Contacts", [plan.payload], key)
    with services.database.session() as session:
        connection = session.get(XeroConnection, connection_id)
        assert connection is not None
        created_id = result.xero_id("ContactID")
        if created_id is None:
            message = "; ".join(result.messages) or "Xero did not accept the contact."
            _record(session, connection, plan, FAILED, error=message)
            return Outcome(plan.member_id, plan.name, CONTACT, "failed", error=message)
        contact_id = created_id.lower()
        fields = contact_mapping.local_fields(result.record)
        links.upsert(
            session,
            connection.workspace_id,
            connection_id,
            RecordType.CONTACT,
            plan.client_id,
            contact_id,
            links.content_hash(fields),
            None,
            fields,
        )
        _link_member(session, connection, plan.member_id, CONTACT, contact_id)
        _record(session, connection, plan, SENT, xero_id=contact_id, now=services.clock.utcnow())
        return Outcome(plan.member_id, plan.name, CONTACT, "created", contact_id)


def _keep_employee(
    session: Session, connection: XeroConnection, member_id: str, record: dict[str, Any]
) -> str:
    """The new employee as the import keeps it (a reference row) and mapped to the member."""
    employee_id = str(record["EmployeeID"]).lower()
    row = session.scalar(
        select(XeroReference).where(
            XeroReference.connection_id == connection.id,
            XeroReference.record_type == RecordType.EMPLOYEE,
            func.lower(XeroReference.xero_id) == employee_id,
        )
    )
    if row is None:
        row = XeroReference(
            workspace_id=connection.workspace_id,
            connection_id=connection.id,
            record_type=RecordType.EMPLOYEE,
            xero_id=str(record["EmployeeID"]),
        )
        session.add(row)
    names = [str(record.get(n)) for n in ("FirstName", "LastName") if record.get(n)]
    row.name, row.status, row.data = (" ".join(names) or employee_id)[:255], record.get("Status"), record
    mapping = session.scalar(
        select(PayrollMapping).where(
            PayrollMapping.connection_id == connection.id,
            PayrollMapping.kind == MappingKind.MEMBER,
            PayrollMapping.local_id == member_id,
        )
    )
    if mapping is None:
        mapping = PayrollMapping(
            workspace_id=connection.workspace_id,
            connection_id=connection.id,
            kind=MappingKind.MEMBER,
            local_id=member_id,
        )
        session.add(mapping)
    mapping.xero_id = employee_id
    session.flush()
    return employee_id


async def _send_employee(
    services: XeroServices, org: Organisation, connection_id: str, plan: _Plan
) -> Outcome:
    assert plan.payload is not None
    key = _prepare(services, connection_id, plan)
    try:
        (result,) = await services.client.write_array(org, EMPLOYEES, "Employees", [plan.payload], key)
        if not result.ok or not result.record.get("EmployeeID"):
            raise XeroValidationError(result.messages or ["Xero did not accept the employee."])
    except XeroValidationError as exc:
        with services.database.session() as session:
            connection = session.get(XeroConnection, connection_id)
            assert connection is not None
            _record(session, connection, plan, FAILED, error=exc.detail)
        return Outcome(plan.member_id, plan.name, EMPLOYEE, "failed", error=exc.detail)
    with services.database.session() as session:
        connection = session.get(XeroConnection, connection_id)
        assert connection is not None
        employee_id = _keep_employee(session, connection, plan.member_id, result.record)
        _link_member(session, connection, plan.member_id, EMPLOYEE, employee_id)
        _record(session, connection, plan, SENT, xero_id=employee_id, now=services.clock.utcnow())
    return Outcome(plan.member_id, plan.name, EMPLOYEE, "created", employee_id)


async def import_members(
    services: XeroServices,
    workspace_id: str,
    connection_id: str,
    requests: Sequence[MemberRequest],
    *,
    strict: bool = True,
) -> list[Outcome]:
    """Send each chosen member to the organisation once; one outcome per member, in order.

    A member Xero refuses gets Xero's own message and the others still go; a failure that
    is not about the member (Xero unavailable, access lost) stops the rest, named on each."""
    with services.database.session() as session:
        connection = get_connection(session, workspace_id, connection_id)
        org = organisation(connection)
        plans = _plan(session, connection, requests, strict)
    outcomes: list[Outcome] = []
    stopped: str | None = None
    for plan in plans:
        if plan.outcome is not None:
            outcomes.append(plan.outcome)
            continue
        if stopped is not None:
            outcomes.append(Outcome(plan.member_id, plan.name, plan.target, "failed", error=stopped))
            continue
        try:
            send = _send_contact if plan.target == CONTACT else _send_employee
            outcomes.append(await send(services, org, connection_id, plan))
        except XeroError as exc:
            if not isinstance(exc, XeroValidationError):  # not about this member: the rest would fail too
                log.warning("members.to_xero.stopped", member_id=plan.member_id, error=exc.code)
                stopped = exc.detail
            with services.database.session() as session:
                current = session.get(XeroConnection, connection_id)
                assert current is not None
                _record(session, current, plan, FAILED, error=exc.detail)
            outcomes.append(Outcome(plan.member_id, plan.name, plan.target, "failed", error=exc.detail))
    return outcomes


# -- auto-sync new members ----------------------------------------------------------------------


def check_member_defaults(session: Session, connection_id: str, changes: Mapping[str, Any]) -> None:
    """The settings' payroll defaults name imported records; the switch is never null."""
    if "auto_sync_new_members" in changes and changes["auto_sync_new_members"] is None:
        raise invalid("auto_sync_new_members", "may not be null; leave it out to keep the current value")
    for name, record_type, what in (
        ("default_payroll_calendar_id", RecordType.PAYROLL_CALENDAR, "payroll calendar"),
        ("default_earnings_rate_id", RecordType.EARNINGS_RATE, "earnings rate"),
    ):
        value = changes.get(name)
        if value and value.lower() not in _reference_ids(session, connection_id, record_type):
            raise invalid(
                name,
                f"no {what} with id '{value}' was imported from this organisation; import payroll data first",
            )


def new_member_hook(session: Session, member: Member, created: bool) -> None:
    """The members API's hook: a member just created is queued for Xero where it should go."""
    if created:
        queue_new_member(session, member.workspace_id, member.id)


def queue_new_member(session: Session, workspace_id: str, member_id: str) -> int:
    """A member was created: queue its import to every connected organisation whose own
    ``auto_sync_new_members`` is on (each organisation decides for itself, default or not).
    How many were queued."""
    queued = 0
    connected = session.scalars(
        select(XeroConnection).where(
            XeroConnection.workspace_id == workspace_id, XeroConnection.status == ConnectionStatus.CONNECTED
        )
    )
    for connection in connected:
        settings = _settings(session, connection.id)
        if settings is None or not settings.auto_sync_new_members:
            continue
        enqueue(
            session,
            JOB,
            {"connection_id": connection.id, "member_id": member_id},
            workspace_id=workspace_id,
            lock_key=f"members:{connection.id}",
            dedupe_key=f"{JOB}:{connection.id}:{member_id}",
        )
        queued += 1
    return queued


@job(JOB)
async def member_to_xero(ctx: JobContext, connection_id: str, member_id: str) -> None:
    """Import one new member with the organisation's defaults (safe to run twice: links)."""
    with ctx.database.session() as session:
        connection = session.get(XeroConnection, connection_id)
        if connection is None:
            return
        workspace_id = connection.workspace_id
    await import_members(
        ctx.xero, workspace_id, connection_id, [MemberRequest(member_id, "member")], strict=False
    )


# -- Xero contacts in as members ----------------------------------------------------------------


@dataclass
class Invitable:
    contact_id: str
    client_id: str
    name: str
    email: str | None
    is_supplier: bool
    member_id: str | None
    """The member already invited from (or linked to) this contact."""


def _invitable_query(workspace_id: str, connection_id: str, search: str | None) -> Select[tuple[Client, str]]:
    """The organisation's contacts synced to (unarchived) clients, searched in SQL."""
    statement = (
        select(Client, XeroLink.xero_id)
        .join(XeroLink, XeroLink.local_id == Client.id)
        .where(
            Client.workspace_id == workspace_id,
            Client.archived.is_(False),
            XeroLink.connection_id == connection_id,
            XeroLink.record_type == RecordType.CONTACT,
        )
    )
    if search:
        pattern = f"%{search.strip().lower()}%"
        statement = statement.where(
            or_(
                func.lower(Client.name).like(pattern),
                func.lower(func.coalesce(Client.email, "")).like(pattern),
            )
        )
    return statement


def invitable(
    session: Session,
    workspace_id: str,
    connection_id: str,
    search: str | None = None,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[Invitable]:
    """The organisation's contacts (synced to clients), searched by name or email, each with
    the member it already is, if any; with ``limit``, one page of them (``count_invitable``
    says how many), reading only the member links of the contacts shown."""
    connection = get_connection(session, workspace_id, connection_id)
    statement = _invitable_query(workspace_id, connection.id, search)
    statement = statement.order_by(Client.name, Client.id).offset(offset or None).limit(limit)
    rows = list(session.execute(statement).tuples())
    if limit is None:
        members = {link.xero_id: link.local_id for link in _member_links(session, connection.id).values()}
    else:
        members = _members_of_contacts(session, connection.id, {x.lower() for _, x in rows})
    return [
        Invitable(
            xero_id.lower(),
            client.id,
            client.name,
            client.email,
            client.is_supplier,
            members.get(xero_id.lower()),
        )
        for client, xero_id in rows
    ]


def _members_of_contacts(session: Session, connection_id: str, contact_ids: set[str]) -> dict[str, str]:
    """Contact id -> the member linked to it, for only these contacts (one page's)."""
    if not contact_ids:
        return {}
    statement = select(XeroLink.xero_id, XeroLink.local_id).where(
        XeroLink.connection_id == connection_id,
        XeroLink.record_type == RecordType.MEMBER,
        XeroLink.xero_id.in_(sorted(contact_ids)),
    )
    return dict(session.execute(statement).tuples().all())


def count_invitable(
    session: Session, workspace_id: str, connection_id: str, search: str | None = None
) -> int:
    """How many contacts ``invitable`` lists for this search (one count in SQL)."""
    connection = get_connection(session, workspace_id, connection_id)
    statement = _invitable_query(workspace_id, connection.id, search)
    return session.scalar(select(func.count()).select_from(statement.subquery())) or 0


_SPACE = re.compile(r"\s+")


def invite(
    session: Session, workspace_id: str, connection_id: str, contact_ids: Sequence[str]
) -> list[Member]:
    """A member per chosen contact (a contractor for a supplier), linked to it: each contact
    once, so a second invite is refused naming the contact."""
    connection = get_connection(session, workspace_id, connection_id)
    offered = {c.contact_id: c for c in invitable(session, workspace_id, connection.id)}
    errors: list[FieldError] = []
    conflicts: list[FieldError] = []
    chosen: list[tuple[str, Invitable]] = []
    for index, raw in enumerate(contact_ids):
        where = f"contact_ids[{index}]"
        contact = offered.get(raw.strip().lower())
        if contact is None:
            errors.append(FieldError(where, f"no contact with id '{raw}' is synced from this organisation"))
        elif contact.member_id is not None or any(c.contact_id == contact.contact_id for _, c in chosen):
            conflicts.append(FieldError(where, f"'{contact.name}' is already a member"))
        else:
            chosen.append((where, contact))
    if errors:
        raise ValidationFailed("Some contacts are not in this organisation.", errors)
    if conflicts:
        raise Conflict(
            "Some contacts were invited already: " + ", ".join(c.message for c in conflicts), conflicts
        )
    emails_taken = {
        (e or "").lower()
        for e in session.scalars(select(Member.email).where(Member.workspace_id == workspace_id))
    }
    created = []
    for where, contact in chosen:
        email = (contact.email or "").strip().lower() or None
        if email is not None and email in emails_taken:
            raise Conflict(
                f"A member with the email '{contact.email}' exists; "
                f"link it instead of inviting '{contact.name}'.",
                [FieldError(where, f"a member already has the email '{contact.email}'")],
            )
        member = Member(
            workspace_id=workspace_id,
            name=_SPACE.sub(" ", contact.name).strip(),
            email=contact.email,
            kind=MemberKind.CONTRACTOR if contact.is_supplier else MemberKind.EMPLOYEE,
        )
        session.add(member)
        session.flush()
        _link_member(session, connection, member.id, CONTACT, contact.contact_id)
        if email:
            emails_taken.add(email)
        created.append(member)
    return created
