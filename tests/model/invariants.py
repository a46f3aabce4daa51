"""The integration's invariants, each a named check over the world as it is now.

A check returns the violations it finds as sentences a person can read; the machine fails
the walk with them and hypothesis prints the (shrunk) history that led there. ``Model`` is
what the walk itself remembers: which hours it saw invoiced and billed, which records it
changed on either side.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledgerbridge.sync.models import (
    OutboxEntry,
    OutboxStatus,
    RecordType,
    RunStatus,
    SyncIssue,
    SyncRun,
    XeroLink,
)
from ledgerbridge.work.models import (
    Client,
    CreditNoteAllocation,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    TimeEntry,
)
from tests.model.world import Organisation, World, money


@dataclass
class Model:
    """What the walk knows happened, independent of our code's own bookkeeping."""

    invoiced: dict[str, str] = field(default_factory=dict)
    """Time entry id -> the sales invoice that charged it (the first and only one)."""
    billed: dict[str, str] = field(default_factory=dict)
    """Time entry id -> the contractor's bill that paid it."""
    deleted: set[str] = field(default_factory=set)
    """Invoices deleted here as drafts (their hours are free again, by the user's choice)."""
    xero_contact_emails: dict[str, str] = field(default_factory=dict)
    """Xero contact id -> the email the other app last gave it in Xero."""
    local_client_emails: dict[str, str] = field(default_factory=dict)
    """Client id -> the email last saved here."""
    sent: set[str] = field(default_factory=set)
    """Sales invoices a person sent via Xero (each must arrive there)."""
    expected: dict[str, RecordType] = field(default_factory=dict)
    """Credit notes and purchase orders made here (each must arrive there)."""
    archived: set[str] = field(default_factory=set)
    """Xero contacts archived in Xero (a document for one may be refused, with Xero's words)."""


Check = Callable[[World, Model], list[str]]
CHECKS: dict[str, Check] = {}


def invariant(name: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        CHECKS[name] = check
        return check

    return register


@invariant("1. an hour is invoiced at most once and billed at most once")
def hours_once(world: World, model: Model) -> list[str]:
    problems = []
    with world.database.session() as session:
        line_invoice = dict(session.execute(select(InvoiceLine.id, InvoiceLine.invoice_id)).tuples().all())
        entries = {e.id: e for e in session.scalars(select(TimeEntry))}
    for column, seen, word in (
        ("invoice_line_id", model.invoiced, "invoiced"),
        ("bill_line_id", model.billed, "billed"),
    ):
        for entry_id, invoice_id in seen.items():
            if invoice_id in model.deleted:
                continue
            entry = entries.get(entry_id)
            line_id = getattr(entry, column) if entry is not None else None
            if line_id is None or line_invoice.get(line_id) != invoice_id:
                problems.append(
                    f"time entry {entry_id} was {word} on {invoice_id} but is now "
                    f"{'free' if line_id is None else 'on ' + str(line_invoice.get(line_id))}: "
                    "it can be charged again"
                )
    return problems


@invariant("3. exactly once: one Xero record per local record and one local record per Xero record")
def exactly_once(world: World, model: Model) -> list[str]:
    problems = []
    with world.database.session() as session:
        for columns, side in (
            ((XeroLink.connection_id, XeroLink.record_type, XeroLink.local_id), "local record"),
            ((XeroLink.connection_id, XeroLink.record_type, XeroLink.xero_id), "Xero record"),
        ):
            dupes = session.execute(
                select(*columns, func.count()).group_by(*columns).having(func.count() > 1)
            ).all()
            problems += [f"{side} {row[2]} ({row[1]}) has {row[3]} links" for row in dupes]
        linked = {
            (link.connection_id, link.record_type, link.xero_id) for link in session.scalars(select(XeroLink))
        }
    for org in world.orgs.values():
        for collection, record_type in (("Contacts", RecordType.CONTACT), ("Invoices", RecordType.INVOICE)):
            id_field = "ContactID" if collection == "Contacts" else "InvoiceID"
            for record in world.xero_records(org, collection):
                xero_id = str(record[id_field])
                if xero_id in org.seeded[collection] or xero_id in org.made_by_other[collection]:
                    continue
                if record.get("Status") == "DELETED":
                    continue
                if (org.connection_id, record_type, xero_id) not in linked:
                    label = record.get("Name") or record.get("InvoiceNumber")
                    problems.append(
                        f"{org.name} holds {collection[:-1].lower()} {label!r} ({xero_id}) that we "
                        "created but no local record is linked to: a duplicate or an orphan"
                    )
    return problems


@invariant("4. a record lives in its own organisation")
def own_organisation(world: World, model: Model) -> list[str]:
    problems = []
    with world.database.session() as session:
        owners: dict[str, str | None] = {}
        for model_class in (Invoice, Payment, Client):
            owners.update(
                dict(session.execute(select(model_class.id, model_class.xero_connection_id)).tuples().all())
            )
        for link in session.scalars(
            select(XeroLink).where(
                XeroLink.record_type.in_([RecordType.INVOICE, RecordType.PAYMENT, RecordType.CONTACT])
            )
        ):
            owner = owners.get(link.local_id)
            if owner is not None and owner != link.connection_id:
                problems.append(
                    f"{link.record_type} {link.local_id} belongs to organisation {owner} "
                    f"but is linked in {link.connection_id}"
                )
    return problems


@invariant("6. the sync log tells the truth")
def log_truth(world: World, model: Model) -> list[str]:
    """Checked when no job is left to run: nothing may still say "running"; a resolved
    issue's record is in Xero; one open issue per record and cause."""
    problems = []
    with world.database.session() as session:
        running = session.scalars(select(SyncRun).where(SyncRun.status == RunStatus.RUNNING)).all()
        problems += [f"run {r.id} ({r.trigger}) still says running with no job left" for r in running]
        linked = {(k.connection_id, k.record_type, k.local_id) for k in session.scalars(select(XeroLink))}
        for issue in session.scalars(
            select(SyncIssue).where(SyncIssue.resolved_at.is_not(None), SyncIssue.direction == "push")
        ):
            if (issue.connection_id, issue.record_type, issue.local_id) not in linked:
                problems.append(
                    f"issue {issue.id} ({issue.message}) is resolved but its record never arrived"
                )
        counted = sum(int((r.counts or {}).get("calls", 0)) for r in session.scalars(select(SyncRun)))
        made = world.xero.client.counter.total()
        if counted > made:
            problems.append(f"the sync log counts {counted} calls to Xero; {made} were made")
        open_issues = Counter(
            (i.connection_id, i.record_type, i.local_id, i.message)
            for i in session.scalars(select(SyncIssue).where(SyncIssue.resolved_at.is_(None)))
            if i.local_id is not None
        )
        problems += [
            f"{n} open issues for one record and cause: {key[3]}" for key, n in open_issues.items() if n > 1
        ]
    return problems


@invariant("6. members show what they are in Xero")
def members_truth(world: World, model: Model) -> list[str]:
    """A member shown as a Payroll employee "In Xero" has a Payroll AU employee there."""
    problems = []
    for org in world.orgs.values():
        rows = world.api("GET", f"/xero/connections/{org.connection_id}/members").json()
        for row in rows:
            if row["target"] == "employee" and row["linked"]:
                employee = world.xero_record(org, "Employees", row["xero_id"] or "")
                if employee is None:
                    problems.append(
                        f"member {row['name']} shows as a Payroll employee in {org.name} with no "
                        f"Payroll employee there ({row['xero_id']})"
                    )
    return problems


@invariant("7. no 429 from Xero")
def no_429(world: World, model: Model) -> list[str]:
    n = world.xero.client.counter.statuses.get(429, 0)
    return [f"Xero answered 429 Too Many Requests {n} times"] if n else []


QUIET_CHECKS: dict[str, Check] = {}
"""Checked only after a quiet sync (no faults, every webhook delivered, a full sync run)."""


def quiet(name: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        QUIET_CHECKS[name] = check
        return check

    return register


XERO_STATUS = {
    # An invoice approved here arrives in Xero as the organisation's "invoice status"
    # setting says: DRAFT by default, for approval in Xero (docs/sync.md), and stays so.
    "DRAFT": {InvoiceStatus.DRAFT, InvoiceStatus.APPROVED, InvoiceStatus.SENT},
    "SUBMITTED": {InvoiceStatus.DRAFT, InvoiceStatus.APPROVED, InvoiceStatus.SENT},
    "AUTHORISED": {InvoiceStatus.APPROVED, InvoiceStatus.SENT, InvoiceStatus.PARTLY_PAID},
    "PAID": {InvoiceStatus.PAID},
    "VOIDED": {InvoiceStatus.VOID},
    "DELETED": {InvoiceStatus.VOID},
}


@quiet("2. convergence: linked documents agree with Xero")
def convergence(world: World, model: Model) -> list[str]:
    problems = []
    with world.database.session() as session:
        explained = _with_open_issues(session)
        for org in world.orgs.values():
            links = session.scalars(
                select(XeroLink).where(
                    XeroLink.connection_id == org.connection_id, XeroLink.record_type == RecordType.INVOICE
                )
            ).all()
            for link in links:
                invoice = session.get(Invoice, link.local_id)
                remote = world.xero_record(org, "Invoices", link.xero_id)
                if invoice is None or remote is None or invoice.id in explained:
                    continue
                problems += _document_differences(world, org, invoice, remote)
    return problems


def _with_open_issues(session: Session) -> set[str]:
    """Invoices whose difference the sync log explains: an open issue on the invoice, on
    one of its payments (a payment of an invoice Xero holds as a draft waits, and says so),
    or on a credit note allocated to it (an allocation waits the same way)."""
    open_ids = set(session.scalars(select(SyncIssue.local_id).where(SyncIssue.resolved_at.is_(None))))
    paid = session.execute(select(Payment.id, Payment.invoice_id)).tuples().all()
    credited = session.execute(
        select(CreditNoteAllocation.credit_note_id, CreditNoteAllocation.invoice_id)
    ).tuples().all()
    return (
        open_ids
        | {invoice_id for payment_id, invoice_id in paid if payment_id in open_ids}
        | {invoice_id for note_id, invoice_id in credited if note_id in open_ids}
    )


def _document_differences(
    world: World, org: Organisation, invoice: Invoice, remote: dict[str, object]
) -> list[str]:
    label = f"{org.name} invoice {remote.get('InvoiceNumber')} (local {invoice.id})"
    problems = []
    if invoice.status not in XERO_STATUS.get(str(remote.get("Status")), set()):
        problems.append(f"{label}: status here {invoice.status}, in Xero {remote.get('Status')}")
    ours = sorted(
        (line.description, Decimal(line.quantity).normalize(), Decimal(line.unit_amount).normalize())
        for line in invoice.lines
    )
    theirs = sorted(
        (
            str(line.get("Description") or ""),
            Decimal(str(line.get("Quantity") or 0)).normalize(),
            Decimal(str(line.get("UnitAmount") or 0)).normalize(),
        )
        for line in remote.get("LineItems", [])  # type: ignore[attr-defined]
    )
    if ours != theirs:
        problems.append(f"{label}: lines here {ours}, in Xero {theirs}")
    detail = world.api("GET", f"/invoices/{invoice.id}").json()
    if money(detail["total"]) != money(remote.get("Total")):
        problems.append(f"{label}: total here {detail['total']}, in Xero {remote.get('Total')}")
    if money(detail["amount_paid"]) != money(remote.get("AmountPaid")):
        problems.append(f"{label}: paid here {detail['amount_paid']}, in Xero {remote.get('AmountPaid')}")
    if money(detail["amount_due"]) != money(remote.get("AmountDue")):
        problems.append(f"{label}: due here {detail['amount_due']}, in Xero {remote.get('AmountDue')}")
    return problems


@quiet("5. nothing is lost")
def nothing_lost(world: World, model: Model) -> list[str]:
    problems = []
    with world.database.session() as session:
        open_records = {
            (i.connection_id, i.local_id)
            for i in session.scalars(select(SyncIssue).where(SyncIssue.resolved_at.is_(None)))
        }
        waiting = session.scalars(
            select(OutboxEntry).where(OutboxEntry.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
        ).all()
        for entry in waiting:
            if (entry.connection_id, entry.local_id) not in open_records and not _held(session, entry):
                problems.append(
                    f"{entry.record_type} {entry.local_id} still waits to go to Xero after a quiet sync, "
                    "with no issue in the sync log saying why"
                )
        for client_id, _email in model.local_client_emails.items():
            client = session.get(Client, client_id)
            link = session.scalar(
                select(XeroLink).where(
                    XeroLink.record_type == RecordType.CONTACT, XeroLink.local_id == client_id
                )
            )
            if client is None or link is None:
                continue
            org = next(o for o in world.orgs.values() if o.connection_id == link.connection_id)
            remote = world.xero_record(org, "Contacts", link.xero_id)
            differs = remote is not None and remote.get("EmailAddress") != client.email
            if differs and (link.connection_id, client_id) not in open_records:
                theirs = remote.get("EmailAddress") if remote else None
                problems.append(f"client {client.name}: email here {client.email!r}, in Xero {theirs!r}")
    return problems


def _held(session: object, entry: OutboxEntry) -> bool:
    """An invoice held for a weekly or monthly send is waiting on purpose."""
    from ledgerbridge.sync import outbox

    return bool(outbox.holds_new(session, entry.connection_id, entry.record_type))  # type: ignore[arg-type]


def check(checks: dict[str, Check], world: World, model: Model) -> list[str]:
    found = []
    for name, fn in checks.items():
        found += [f"[{name}] {p}" for p in fn(world, model)]
    return found
