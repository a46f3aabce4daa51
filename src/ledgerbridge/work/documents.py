"""The business rules of priced documents: invoices, bills, credit notes, purchase orders,
payments and credit allocations.

One place for the rules, mirroring Xero's (see XERO_API_NOTES 4.3-4.6), so the API, the sync
engine and the CLI cannot disagree about what a document may do. Totals and balances are
always derived here from lines, payments and allocations; nothing derived is ever stored.

Functions raise ``ledgerbridge.errors`` exceptions naming the offending field (``lines[2].tax_type``)
and never commit: the caller's unit of work decides, so a refused change writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session

from ledgerbridge.db import new_id
from ledgerbridge.errors import Conflict, FieldError, ValidationFailed, invalid
from ledgerbridge.money import (
    ZERO,
    LineAmountType,
    PricedLine,
    Totals,
    document_totals,
    line_amount,
    line_tax,
    round_money,
    round_unit,
)
from ledgerbridge.work.models import (
    Client,
    CreditNote,
    CreditNoteAllocation,
    CreditNoteKind,
    CreditNoteLine,
    CreditNoteStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Member,
    MemberKind,
    Payment,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    TaxRate,
    TimeEntry,
    Workspace,
)
from ledgerbridge.work.repository import get_reference, scoped

PAYMENT_TERMS_DAYS = 30
"""Days from issue to due date when none is given (to become a workspace setting)."""

INVOICE_PREFIX = "INV-"
CREDIT_NOTE_PREFIX = "CN-"
PURCHASE_ORDER_PREFIX = "PO-"
NUMBER_DIGITS = 4

Document = Invoice | CreditNote | PurchaseOrder
Line = InvoiceLine | CreditNoteLine | PurchaseOrderLine
L = TypeVar("L", InvoiceLine, CreditNoteLine, PurchaseOrderLine)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class LineSpec:
    """One line as a caller asks for it; ``replace_lines`` turns a list of these into rows."""

    description: str
    quantity: Decimal = Decimal(1)
    unit_amount: Decimal = ZERO
    discount_rate: Decimal | None = None
    item_code: str | None = None
    account_code: str | None = None
    tax_type: str | None = None
    tracking: list[dict[str, str]] = field(default_factory=list)
    time_entry_ids: list[str] = field(default_factory=list)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> LineSpec:
        data = dict(values)
        data["tracking"] = list(data.get("tracking") or [])
        data["time_entry_ids"] = list(data.get("time_entry_ids") or [])
        return cls(**data)


# --------------------------------------------------------------------------- tax and totals


_REFERENCE_CACHE = "ledgerbridge.work.documents.reference"


def cache_reference_data(session: Session) -> None:
    """Read the tax rates once for the rest of this unit of work instead of once per
    document: for bulk writes (a page of pulled invoices) whose session changes none."""
    session.info.setdefault(_REFERENCE_CACHE, {})


def tax_rates(session: Session, workspace_id: str) -> dict[str, TaxRate]:
    """The workspace's tax types by code, archived ones included (old documents use them)."""
    cache: dict[str, dict[str, TaxRate]] | None = session.info.get(_REFERENCE_CACHE)
    if cache is not None and workspace_id in cache:
        return cache[workspace_id]
    rates = {rate.tax_type: rate for rate in session.scalars(scoped(TaxRate, workspace_id))}
    if cache is not None:
        cache[workspace_id] = rates
    return rates


def _rate_of(tax_type: str | None, rates: Mapping[str, TaxRate], index: int) -> Decimal:
    """A line without a tax type carries no tax; an unknown one is an error, never a guess."""
    if tax_type is None:
        return ZERO
    rate = rates.get(tax_type)
    if rate is None:
        raise Conflict(
            f"Line {index + 1} uses tax type '{tax_type}', which this workspace no longer has.",
            [FieldError(f"lines[{index}].tax_type", "is no longer a tax type of this workspace")],
        )
    return rate.rate_percent


def line_figures(
    line: Line, rates: Mapping[str, TaxRate], kind: LineAmountType, index: int
) -> tuple[Decimal, Decimal]:
    """(line amount, tax amount) of one line, rounded per line as Xero does."""
    amount = line_amount(line.quantity, line.unit_amount, line.discount_rate)
    return amount, line_tax(amount, _rate_of(line.tax_type, rates, index), kind)


def lines_of(document: Document) -> Sequence[Line]:
    """The document's lines, typed as the line union (mypy cannot join the three lists)."""
    lines: Sequence[Line] = document.lines
    return lines


def totals_of(document: Document, rates: Mapping[str, TaxRate]) -> Totals:
    """Sub-total, tax and total of a document, derived from its lines by ``money``."""
    lines = lines_of(document)
    figures = [(line.quantity, line.unit_amount, line.tax_type, line.discount_rate) for line in lines]
    return _totals(figures, document.line_amount_type, rates)


def _totals(
    lines: Iterable[tuple[Decimal, Decimal, str | None, Decimal | None]],
    amount_type: LineAmountType,
    rates: Mapping[str, TaxRate],
) -> Totals:
    """Totals of lines given as (quantity, unit amount, tax type, discount rate)."""
    priced = [
        PricedLine(quantity, unit_amount, _rate_of(tax_type, rates, i), discount_rate)
        for i, (quantity, unit_amount, tax_type, discount_rate) in enumerate(lines)
    ]
    return document_totals(priced, amount_type)


@dataclass(frozen=True)
class Balance:
    """What a document is worth and how much of it is still open."""

    totals: Totals
    paid: Decimal
    credited: Decimal

    @property
    def due(self) -> Decimal:
        return self.totals.total - self.paid - self.credited


def _sum(session: Session, column: Any, *conditions: Any) -> Decimal:
    values = session.scalars(select(column).where(*conditions))
    return round_money(sum(values, Decimal(0)))


def amount_paid(session: Session, invoice: Invoice, without_payment: str | None = None) -> Decimal:
    """Sum of the invoice's payments (summed in Python: SQLite keeps decimals as text)."""
    conditions = [Payment.invoice_id == invoice.id]
    if without_payment is not None:
        conditions.append(Payment.id != without_payment)
    return _sum(session, Payment.amount, *conditions)


def amount_credited(session: Session, invoice: Invoice, without_allocation: str | None = None) -> Decimal:
    conditions = [CreditNoteAllocation.invoice_id == invoice.id]
    if without_allocation is not None:
        conditions.append(CreditNoteAllocation.id != without_allocation)
    return _sum(session, CreditNoteAllocation.amount, *conditions)


def amount_allocated(
    session: Session, credit_note: CreditNote, without_allocation: str | None = None
) -> Decimal:
    conditions = [CreditNoteAllocation.credit_note_id == credit_note.id]
    if without_allocation is not None:
        conditions.append(CreditNoteAllocation.id != without_allocation)
    return _sum(session, CreditNoteAllocation.amount, *conditions)


def invoice_balance(
    session: Session,
    invoice: Invoice,
    *,
    without_payment: str | None = None,
    without_allocation: str | None = None,
) -> Balance:
    """Totals, paid, credited and due; ``without_*`` previews the balance after a removal."""
    return Balance(
        totals=totals_of(invoice, tax_rates(session, invoice.workspace_id)),
        paid=amount_paid(session, invoice, without_payment),
        credited=amount_credited(session, invoice, without_allocation),
    )


def credit_balance(
    session: Session, credit_note: CreditNote, without_allocation: str | None = None
) -> Balance:
    """A credit note's ``due`` is its remaining credit."""
    return Balance(
        totals=totals_of(credit_note, tax_rates(session, credit_note.workspace_id)),
        paid=ZERO,
        credited=amount_allocated(session, credit_note, without_allocation),
    )


# --------------------------------------------------------------------------- numbers


def _in_organisation(model: type[Document], connection_id: str | None) -> Any:
    """The documents whose numbers a document's number must differ from. A number is unique
    per Xero organisation, as Xero has it (two organisations may both have INV-0001): a
    document of an organisation is checked against that organisation's documents and those
    of none yet (they may go there). A document of no organisation yet may go to any, so it
    is checked against the whole workspace. The unique indexes (migration 0010) hold the
    part a database can: per organisation, and among the documents of none."""
    column = model.xero_connection_id
    return or_(column == connection_id, column.is_(None)) if connection_id is not None else true()


def next_number(
    session: Session, model: type[Document], workspace_id: str, prefix: str, connection_id: str | None = None
) -> str:
    """The number after the highest ``PREFIX-nnnn`` in use in the document's organisation
    (``_in_organisation``), as Xero's auto-numbering does."""
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)$")
    numbers = session.scalars(
        select(model.number).where(
            model.workspace_id == workspace_id,
            model.number.like(f"{prefix}%"),
            _in_organisation(model, connection_id),
        )
    )
    highest = max((int(m.group(1)) for n in numbers if n and (m := pattern.match(n))), default=0)
    return f"{prefix}{highest + 1:0{NUMBER_DIGITS}d}"


_NUMBERS = "ledgerbridge.work.documents.numbers"


def preload_numbers(
    session: Session,
    model: type[Document],
    workspace_id: str,
    numbers: Iterable[str | None],
    *conditions: Any,
    connection_id: str | None = None,
) -> None:
    """Which documents of this kind (``conditions``, as ``assign_number`` gets them) in this
    organisation (``_in_organisation``) hold these numbers, in one query, so a bulk write
    such as a page of pulled invoices checks each number without a query of its own.
    Lasts for this unit of work."""
    wanted = {n for n in numbers if n}
    query = select(model.number, model.id).where(
        model.workspace_id == workspace_id,
        model.number.in_(sorted(wanted)),
        _in_organisation(model, connection_id),
        *conditions,
    )
    holders = dict(session.execute(query).tuples().all()) if wanted else {}
    session.info.setdefault(_NUMBERS, {})[(model.__name__, workspace_id, connection_id)] = (wanted, holders)


def _number_taken(session: Session, document: Document, *conditions: Any) -> bool:
    model = type(document)
    connection_id = document.xero_connection_id
    known = session.info.get(_NUMBERS, {}).get((model.__name__, document.workspace_id, connection_id))
    number, own_id = document.number, document.id
    if known is not None and number is not None and number in known[0] and own_id is not None:
        holders: dict[str, str] = known[1]
        # The first document to ask for a number free in the database holds it from now on,
        # so a second one asking in the same unit of work is refused too.
        return holders.setdefault(number, own_id) != own_id
    clash = session.scalar(
        select(model.id).where(
            model.workspace_id == document.workspace_id,
            model.number == document.number,
            model.id != document.id,
            _in_organisation(model, connection_id),
            *conditions,
        )
    )
    return clash is not None


def free_number(
    session: Session,
    model: type[Document],
    workspace_id: str,
    connection_id: str,
    number: str,
    prefix: str,
    *conditions: Any,
) -> None:
    """Make way for ``number`` given by Xero (a document pulled from the organisation, or
    the number Xero gave ours on creating it) where a document of that organisation (or of
    none yet) holds it only as the next of our own series (``numbered_here``; the caller's
    ``conditions`` say which may move, e.g. those never in Xero): that one moves to the next
    free number of the series, which Xero replaces anyway when it is sent. Our series knows
    nothing of the numbers the organisation had before it was connected, so without this
    Xero's own INV-0001 would be refused here as "already used" by our unsent INV-0001.

    Cheap for a page of pulled documents: a number the page's ``preload_numbers`` found
    free costs no query, and that cache is kept true (the old number is free from now on).
    """
    caches = [
        known
        for (name, workspace, _), known in session.info.get(_NUMBERS, {}).items()
        if name == model.__name__ and workspace == workspace_id
    ]
    if any(number in wanted and number not in held for wanted, held in caches):
        return  # the page's one query found it free
    with session.no_autoflush:
        query = select(model).where(
            model.workspace_id == workspace_id,
            model.number == number,
            model.numbered_here.is_(True),
            _in_organisation(model, connection_id),
            *conditions,
        )
        holders = cast("Sequence[Document]", session.scalars(query).all())
    # Numbers a page is about to apply are Xero's too: never move a holder onto one of them.
    coming = {number}.union(*(wanted for wanted, _ in caches))
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)$")
    for holder in holders:
        moved = next_number(session, model, workspace_id, prefix, holder.xero_connection_id)
        while moved in coming and (found := pattern.match(moved)) is not None:
            moved = f"{prefix}{int(found.group(1)) + 1:0{NUMBER_DIGITS}d}"
        holder.number = moved
        session.flush([holder])
        for _, held in caches:
            if held.get(number) == holder.id:
                del held[number]


def given_number(document: Document, values: Mapping[str, Any]) -> None:
    """A number given in ``values`` (by a person, or Xero's own) is the document's, not one
    of our series: Xero must keep it, so it is no longer ``numbered_here``."""
    if values.get("number") is not None:
        document.numbered_here = False


def assign_number(session: Session, document: Document, prefix: str, *conditions: Any) -> None:
    """Fill a missing number (marking it ``numbered_here``: Xero may number it instead, see
    ``sync.mapping.invoices``) and refuse one already used by a document of the same kind in
    the same organisation."""
    if document.number is None:
        document.number = next_number(
            session, type(document), document.workspace_id, prefix, document.xero_connection_id
        )
        document.numbered_here = True
    elif _number_taken(session, document, *conditions):
        raise Conflict(
            f"The number '{document.number}' is already used by another document.",
            [FieldError("number", f"'{document.number}' is already used; leave it out to get the next one")],
        )


# --------------------------------------------------------------------------- headers


def today_in(session: Session, workspace_id: str) -> date:
    """Today in the workspace's timezone, Xero's default document date."""
    workspace = session.get(Workspace, workspace_id)
    zone = ZoneInfo(workspace.timezone) if workspace is not None else None
    return datetime.now(zone).date()


def fill_header_defaults(session: Session, document: Document) -> None:
    """Issue date today, currency of the workspace, as Xero defaults them."""
    if document.issue_date is None:
        document.issue_date = today_in(session, document.workspace_id)
    if document.currency is None:
        workspace = session.get(Workspace, document.workspace_id)
        document.currency = workspace.default_currency if workspace is not None else "AUD"
    if document.line_amount_type is None:
        document.line_amount_type = LineAmountType.EXCLUSIVE
    if document.xero_connection_id is None and document.client_id is not None:
        # A document takes its client's organisation (sync.migrate.settle_organisation says
        # the same later); taken here, before numbering, its number is checked and counted
        # in the organisation it goes to.
        client = _client(session, document)
        document.xero_connection_id = client.xero_connection_id if client is not None else None


def _client(session: Session, document: Document) -> Client | None:
    if document.client_id is None:
        return None
    return get_reference(session, Client, document.workspace_id, document.client_id, "client_id")


def check_invoice_party(session: Session, invoice: Invoice) -> None:
    """A sales invoice goes to a customer; a bill comes from a supplier or a contractor."""
    client = _client(session, invoice)
    if invoice.kind is InvoiceKind.SALES:
        if invoice.member_id is not None:
            raise invalid("member_id", "a sales invoice goes to a client; leave member_id out")
        if client is None:
            raise invalid("client_id", "a sales invoice needs the client it is sent to")
        if not client.is_customer:
            raise invalid("client_id", f"'{client.name}' is not a customer; mark it as one first")
        return
    if (client is None) == (invoice.member_id is None):
        raise ValidationFailed(
            "A bill comes from exactly one supplier client or one contractor member.",
            [FieldError("client_id", "give client_id (a supplier) or member_id (a contractor), not both"),
             FieldError("member_id", "give client_id (a supplier) or member_id (a contractor), not both")],
        )
    if client is not None and not client.is_supplier:
        raise invalid("client_id", f"'{client.name}' is not a supplier; mark it as one first")
    if invoice.member_id is not None:
        member = get_reference(session, Member, invoice.workspace_id, invoice.member_id, "member_id")
        if member.kind is not MemberKind.CONTRACTOR:
            raise invalid("member_id", f"'{member.name}' is an employee; employees are paid by payroll")


def check_supplier(session: Session, order: PurchaseOrder) -> None:
    client = _client(session, order)
    if client is None:
        raise invalid("client_id", "a purchase order needs the supplier it is sent to")
    if not client.is_supplier:
        raise invalid("client_id", f"'{client.name}' is not a supplier; mark it as one first")


def check_credit_note_client(session: Session, credit_note: CreditNote) -> None:
    client = _client(session, credit_note)
    if client is None:
        raise invalid("client_id", "a credit note needs the client it is for")
    if credit_note.kind is CreditNoteKind.SALES and not client.is_customer:
        raise invalid("client_id", f"'{client.name}' is not a customer")
    if credit_note.kind is CreditNoteKind.BILL and not client.is_supplier:
        raise invalid("client_id", f"'{client.name}' is not a supplier")


def default_due_date(invoice: Invoice) -> None:
    """Due date defaults to the payment terms after the issue date and cannot precede it."""
    if invoice.due_date is None:
        invoice.due_date = invoice.issue_date + timedelta(days=PAYMENT_TERMS_DAYS)
    elif invoice.due_date < invoice.issue_date:
        raise invalid("due_date", f"must be on or after the issue date {invoice.issue_date.isoformat()}")


# --------------------------------------------------------------------------- lines


def _check_line_taxes(specs: Sequence[LineSpec], rates: Mapping[str, TaxRate]) -> list[FieldError]:
    errors = []
    for i, spec in enumerate(specs):
        rate = rates.get(spec.tax_type) if spec.tax_type is not None else None
        if spec.tax_type is not None and (rate is None or rate.archived):
            usable = sorted(code for code, rate in rates.items() if not rate.archived)
            valid = ", ".join(usable) or "none; add tax rates first"
            message = f"unknown tax type '{spec.tax_type}'; valid: {valid}"
            errors.append(FieldError(f"lines[{i}].tax_type", message))
    return errors


def _check_discounts(specs: Sequence[LineSpec], allow: bool) -> list[FieldError]:
    """Xero allows discounts on sales invoices only; bills and credit notes have none."""
    if allow:
        return []
    return [
        FieldError(f"lines[{i}].discount_rate", "discounts are allowed on sales invoices only")
        for i, spec in enumerate(specs)
        if spec.discount_rate
    ]


def _check_time_entry_ids(specs: Sequence[LineSpec], allow: bool) -> list[FieldError]:
    if allow:
        return []
    return [
        FieldError(f"lines[{i}].time_entry_ids", "time entries go on invoice and bill lines only")
        for i, spec in enumerate(specs)
        if spec.time_entry_ids
    ]


def check_lines(
    session: Session, workspace_id: str, specs: Sequence[LineSpec], *, discounts: bool, time_entries: bool
) -> None:
    """Every line problem at once, each named by its path, before anything is written."""
    errors = _check_line_taxes(specs, tax_rates(session, workspace_id))
    errors += _check_discounts(specs, discounts)
    errors += _check_time_entry_ids(specs, time_entries)
    if errors:
        raise ValidationFailed("Some lines are invalid.", errors)


def line_values(specs: Sequence[LineSpec]) -> list[dict[str, Any]]:
    """The stored values of the given lines, with ids set now so time entries can point
    at them.

    Amounts are quantized to the stored places here, so the response to a write shows the
    same figures a later read does.
    """
    return [
        {
            "id": new_id(),
            "position": i,
            "description": spec.description,
            "quantity": round_unit(spec.quantity),
            "unit_amount": round_unit(spec.unit_amount),
            "discount_rate": None if spec.discount_rate is None else round_money(spec.discount_rate),
            "item_code": spec.item_code,
            "account_code": spec.account_code,
            "tax_type": spec.tax_type,
            "tracking": list(spec.tracking),
        }
        for i, spec in enumerate(specs)
    ]


def build_lines(line_model: type[L], specs: Sequence[LineSpec]) -> list[L]:
    """Line rows (``line_values``) as objects of ``line_model``."""
    return [line_model(**values) for values in line_values(specs)]


def check_total_not_negative(session: Session, document: Document) -> None:
    """Negative lines may discount a document, but a negative total is a credit note's job."""
    _refuse_negative(totals_of(document, tax_rates(session, document.workspace_id)).total)


def _refuse_negative(total: Decimal) -> None:
    if total < 0:
        raise invalid("lines", f"the total would be {total}; raise a credit note instead")


# --------------------------------------------------------------------------- time entries


def time_entry_mark(kind: InvoiceKind) -> str:
    """The time entry column that says which line accounts for its hours: a sales invoice
    line charges the client (``invoice_line_id``), a bill line pays the contractor
    (``bill_line_id``). Each is set at most once, so an hour is neither charged nor paid twice."""
    return "invoice_line_id" if kind is InvoiceKind.SALES else "bill_line_id"


def _time_entries_for(
    session: Session, invoice: Invoice, specs: Sequence[LineSpec]
) -> dict[str, TimeEntry]:
    """The requested entries, refusing unknown ones, ones on other invoices and repeats."""
    wanted = [entry_id for spec in specs for entry_id in spec.time_entry_ids]
    if not wanted:
        return {}  # most lines (all of Xero's) invoice no hours: nothing to read or check
    own_lines = {line.id for line in invoice.lines}
    found = {
        entry.id: entry
        for entry in session.scalars(scoped(TimeEntry, invoice.workspace_id).where(TimeEntry.id.in_(wanted)))
    }
    mark = time_entry_mark(invoice.kind)
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        path = f"lines[{i}].time_entry_ids"
        unknown = [e for e in spec.time_entry_ids if e not in found]
        taken = [
            e for e in spec.time_entry_ids
            if e in found and getattr(found[e], mark) not in (None, *own_lines)
        ]
        others = [
            e for e in spec.time_entry_ids
            if invoice.member_id is not None and e in found and found[e].member_id != invoice.member_id
        ]
        repeated = [e for e in spec.time_entry_ids if e in seen]
        seen.update(spec.time_entry_ids)
        if unknown:
            errors.append(FieldError(path, f"no time entries {', '.join(unknown)} in this workspace"))
        if taken:
            done = "invoiced" if invoice.kind is InvoiceKind.SALES else "billed"
            errors.append(FieldError(path, f"time entries {', '.join(taken)} are already {done}"))
        if others:
            errors.append(FieldError(path, f"time entries {', '.join(others)} are another member's hours"))
        if repeated:
            errors.append(FieldError(path, f"time entries {', '.join(repeated)} are given more than once"))
    if errors:
        raise ValidationFailed("Some time entries cannot be invoiced.", errors)
    return found


def release_time_entries(session: Session, invoice: Invoice) -> None:
    """Entries on the invoice's lines become uninvoiced again (the line is going away)."""
    line_ids = [line.id for line in invoice.lines]
    if not line_ids:
        return
    column = time_entry_mark(invoice.kind)
    for entry in session.scalars(select(TimeEntry).where(getattr(TimeEntry, column).in_(line_ids))):
        setattr(entry, column, None)


def time_entry_ids_by_line(session: Session, line_ids: Iterable[str]) -> dict[str, list[str]]:
    ids = list(line_ids)
    result: dict[str, list[str]] = {line_id: [] for line_id in ids}
    if not ids:
        return result
    for column in (TimeEntry.invoice_line_id, TimeEntry.bill_line_id):
        rows = session.execute(
            select(column, TimeEntry.id).where(column.in_(ids)).order_by(TimeEntry.date, TimeEntry.id)
        )
        for line_id, entry_id in rows:
            result[line_id].append(entry_id)
    return result


# --------------------------------------------------------------------------- invoices

INVOICE_TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.APPROVED}),
    InvoiceStatus.APPROVED: frozenset({InvoiceStatus.SENT, InvoiceStatus.VOID}),
    InvoiceStatus.SENT: frozenset({InvoiceStatus.VOID}),
    InvoiceStatus.PARTLY_PAID: frozenset(),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}
"""Changes a person may ask for. Xero's DRAFT->DELETED is our real delete of a draft;
partly paid and paid are reached by payments and allocations only; void is terminal."""

OPEN_INVOICE = frozenset({InvoiceStatus.APPROVED, InvoiceStatus.SENT, InvoiceStatus.PARTLY_PAID})
"""Statuses that take payments and credit (Xero's AUTHORISED)."""


def _refuse_transition(
    kind: str, current: str, target: str, allowed: Iterable[str], note: str = ""
) -> Conflict:
    options = ", ".join(sorted(allowed)) or "nothing (it is final)"
    message = f"cannot change from {current} to {target}; from {current} it can move to: {options}{note}"
    return Conflict(f"This {kind} {message}.", [FieldError("status", message)])


def _has_money_against(session: Session, invoice: Invoice) -> bool:
    return amount_paid(session, invoice) > 0 or amount_credited(session, invoice) > 0


def invoice_editable(session: Session, invoice: Invoice) -> None:
    """Xero: drafts are editable, approved ones until money is applied, others never."""
    if invoice.status is InvoiceStatus.DRAFT:
        return
    unpaid = invoice.status in (InvoiceStatus.APPROVED, InvoiceStatus.SENT)
    if unpaid and not _has_money_against(session, invoice):
        return
    reason = " as it has a payment or credit note allocated to it."
    if invoice.status is InvoiceStatus.VOID:
        reason = "."
    raise Conflict(
        f"This invoice is {invoice.status.value} and cannot be edited{reason}",
        [FieldError("status", f"a {invoice.status.value} invoice cannot be edited")],
    )


def change_invoice_status(session: Session, invoice: Invoice, target: InvoiceStatus) -> None:
    """Move an invoice to ``target`` if the rules allow it, saying what is allowed if not."""
    current = invoice.status
    if target is current:
        return
    allowed = INVOICE_TRANSITIONS[current]
    if target not in allowed:
        note = ""
        if target in (InvoiceStatus.PAID, InvoiceStatus.PARTLY_PAID):
            note = " (paid and partly paid are reached by recording payments)"
        elif current is InvoiceStatus.DRAFT and target is InvoiceStatus.VOID:
            note = " (a draft is deleted, not voided)"
        elif current in (InvoiceStatus.PARTLY_PAID, InvoiceStatus.PAID) and target is InvoiceStatus.VOID:
            note = " (delete its payments and credit allocations before voiding)"
        raise _refuse_transition("invoice", current.value, target.value, (s.value for s in allowed), note)
    if target is InvoiceStatus.VOID and _has_money_against(session, invoice):
        raise _refuse_transition(
            "invoice", current.value, target.value, [], " (delete its payments and credit allocations first)"
        )
    if target is InvoiceStatus.APPROVED and not invoice.lines:
        raise invalid("lines", "an invoice needs at least one line before it can be approved")
    invoice.status = target


def settle_invoice(session: Session, invoice: Invoice, balance: Balance | None = None) -> None:
    """Set paid / partly paid / approved from the money applied, as Xero does automatically.

    An invoice that had been sent returns to approved when its money is removed: once paid,
    the sent state is not kept (Xero keeps it in a separate SentToContact flag).
    """
    if invoice.status not in OPEN_INVOICE and invoice.status is not InvoiceStatus.PAID:
        return
    balance = balance or invoice_balance(session, invoice)
    applied = balance.paid + balance.credited
    if applied > 0 and balance.due <= 0:
        invoice.status = InvoiceStatus.PAID
    elif applied > 0:
        invoice.status = InvoiceStatus.PARTLY_PAID
    elif invoice.status in (InvoiceStatus.PAID, InvoiceStatus.PARTLY_PAID):
        invoice.status = InvoiceStatus.APPROVED


def write_invoice(
    session: Session,
    invoice: Invoice,
    values: Mapping[str, Any],
    lines: Sequence[LineSpec] | None,
    status: InvoiceStatus | None = None,
    *,
    from_xero: bool = False,
) -> None:
    """Create or update an invoice: header values, the whole set of lines, then the status.

    Everything is checked before the first row changes, and the caller's transaction makes
    the rest all-or-nothing. ``from_xero`` skips the "paid invoices cannot be edited" rule:
    that rule keeps people from asking Xero for what it refuses, but a change Xero itself
    made (e.g. in its own screens) is already the truth and must not be left behind.
    """
    if invoice.status is not None and not from_xero and (values or lines is not None):
        invoice_editable(session, invoice)
    entries = _check_invoice(session, invoice, values, lines)
    session.add(invoice)
    if lines is not None:
        _replace_invoice_lines(session, invoice, lines, entries)
    check_total_not_negative(session, invoice)
    if status is not None:
        change_invoice_status(session, invoice, status)


def new_invoice_lines(
    session: Session, invoice: Invoice, values: Mapping[str, Any], lines: Sequence[LineSpec]
) -> list[dict[str, Any]]:
    """Check a new invoice without time entries (one pulled from Xero) by the rules of
    ``write_invoice``, but leave it out of the session and give its lines as rows.

    For a bulk write that inserts a page of new invoices together (``db.insert_rows``):
    with thousands of them, an object per line and the session's bookkeeping per object
    cost more than the rules. The caller inserts the invoice's row after these.
    """
    if invoice.status is not None or any(spec.time_entry_ids for spec in lines):
        raise ValueError("only a new invoice without time entries can be written as rows")
    _check_invoice(session, invoice, values, lines)
    rows = [{**row, "invoice_id": invoice.id} for row in line_values(lines)]
    figures = [(row["quantity"], row["unit_amount"], row["tax_type"], row["discount_rate"]) for row in rows]
    rates = tax_rates(session, invoice.workspace_id)
    _refuse_negative(_totals(figures, invoice.line_amount_type, rates).total)
    return rows


def _check_invoice(
    session: Session, invoice: Invoice, values: Mapping[str, Any], lines: Sequence[LineSpec] | None
) -> dict[str, TimeEntry]:
    """Set the header values and apply every header and line rule, before anything is
    written; the time entries the lines ask for, checked."""
    with session.no_autoflush:
        for key, value in values.items():
            setattr(invoice, key, value)
        given_number(invoice, values)
        if invoice.status is None:
            invoice.status = InvoiceStatus.DRAFT
        fill_header_defaults(session, invoice)
        default_due_date(invoice)
        check_invoice_party(session, invoice)
        if invoice.kind is InvoiceKind.SALES:
            assign_number(session, invoice, INVOICE_PREFIX, _SALES_INVOICE)
        if lines is None:
            return {}
        check_lines(
            session, invoice.workspace_id, lines,
            discounts=invoice.kind is InvoiceKind.SALES, time_entries=True,
        )
        return _time_entries_for(session, invoice, lines)


_SALES_INVOICE = Invoice.kind == InvoiceKind.SALES
"""Built once: numbering checks it for every invoice of a bulk write."""


def _replace_invoice_lines(
    session: Session, invoice: Invoice, specs: Sequence[LineSpec], entries: Mapping[str, TimeEntry]
) -> None:
    """Swap the lines in two flushes so time entries never point at a line that is not there."""
    release_time_entries(session, invoice)
    new_lines = build_lines(InvoiceLine, specs)
    invoice.lines = new_lines
    if not any(spec.time_entry_ids for spec in specs):
        return  # nothing points at the new lines: the caller's flush writes them with the rest
    session.flush()
    column = time_entry_mark(invoice.kind)
    for line, spec in zip(new_lines, specs, strict=True):
        for entry_id in spec.time_entry_ids:
            setattr(entries[entry_id], column, line.id)


def delete_invoice(session: Session, invoice: Invoice) -> None:
    """Only a draft is deleted for real (Xero's DELETED); its time entries become free again."""
    if invoice.status is not InvoiceStatus.DRAFT:
        raise Conflict(
            f"Only draft invoices can be deleted; this one is {invoice.status.value}. "
            "Void it instead (PATCH its status to 'void').",
            [FieldError("status", f"is {invoice.status.value}; void the invoice instead")],
        )
    release_time_entries(session, invoice)


# --------------------------------------------------------------------------- payments


def record_payment(session: Session, payment: Payment, invoice: Invoice) -> None:
    """Apply a payment to an open invoice and move it to partly paid or paid."""
    if invoice.status not in OPEN_INVOICE:
        raise invalid(
            "invoice_id",
            f"the invoice is {invoice.status.value}; payments are recorded against approved, "
            "sent or partly paid invoices only",
        )
    if payment.amount <= 0:
        raise invalid("amount", "must be more than zero")
    payment.amount = round_money(payment.amount)
    balance = invoice_balance(session, invoice)
    if payment.amount > balance.due:
        message = (
            f"Payment amount exceeds the amount outstanding on this document "
            f"(payment {payment.amount}, outstanding {balance.due})"
        )
        raise ValidationFailed(message + ".", [FieldError("amount", message)])
    if payment.date is None:
        payment.date = today_in(session, invoice.workspace_id)
    session.add(payment)
    settle_invoice(session, invoice, Balance(balance.totals, balance.paid + payment.amount, balance.credited))


def remove_payment(session: Session, payment: Payment) -> None:
    """Before a payment is deleted: put its invoice back to the status it has without it."""
    invoice = session.get(Invoice, payment.invoice_id)
    assert invoice is not None
    settle_invoice(session, invoice, invoice_balance(session, invoice, without_payment=payment.id))


# --------------------------------------------------------------------------- credit notes

CREDIT_NOTE_TRANSITIONS: dict[CreditNoteStatus, frozenset[CreditNoteStatus]] = {
    CreditNoteStatus.DRAFT: frozenset({CreditNoteStatus.APPROVED}),
    CreditNoteStatus.APPROVED: frozenset({CreditNoteStatus.VOID}),
    CreditNoteStatus.PAID: frozenset(),
    CreditNoteStatus.VOID: frozenset(),
}


def credit_note_editable(session: Session, credit_note: CreditNote) -> None:
    if credit_note.status is CreditNoteStatus.DRAFT:
        return
    if credit_note.status is CreditNoteStatus.APPROVED and amount_allocated(session, credit_note) == 0:
        return
    raise Conflict(
        f"This credit note is {credit_note.status.value} and cannot be edited.",
        [FieldError("status", f"a {credit_note.status.value} credit note with allocations cannot be edited")],
    )


def change_credit_note_status(session: Session, credit_note: CreditNote, target: CreditNoteStatus) -> None:
    current = credit_note.status
    if target is current:
        return
    allowed = CREDIT_NOTE_TRANSITIONS[current]
    if target not in allowed:
        note = " (paid is reached by allocating all of its credit)" if target is CreditNoteStatus.PAID else ""
        raise _refuse_transition("credit note", current.value, target.value, (s.value for s in allowed), note)
    if target is CreditNoteStatus.VOID and amount_allocated(session, credit_note) > 0:
        raise _refuse_transition("credit note", current.value, target.value, [], " (delete its allocations)")
    if target is CreditNoteStatus.APPROVED and not credit_note.lines:
        raise invalid("lines", "a credit note needs at least one line before it can be approved")
    credit_note.status = target


def write_credit_note(
    session: Session,
    credit_note: CreditNote,
    values: Mapping[str, Any],
    lines: Sequence[LineSpec] | None,
    status: CreditNoteStatus | None = None,
    *,
    from_xero: bool = False,
) -> None:
    """Create or update a credit note; sales credit notes are numbered CN-0001 and unique.
    ``from_xero``: as for ``write_invoice``, Xero's own changes are applied unguarded."""
    is_new = credit_note.status is None
    if not is_new and not from_xero and (values or lines is not None):
        credit_note_editable(session, credit_note)
    with session.no_autoflush:
        for key, value in values.items():
            setattr(credit_note, key, value)
        given_number(credit_note, values)
        if is_new:
            credit_note.status = CreditNoteStatus.DRAFT
        fill_header_defaults(session, credit_note)
        check_credit_note_client(session, credit_note)
        if credit_note.kind is CreditNoteKind.SALES:
            assign_number(session, credit_note, CREDIT_NOTE_PREFIX, CreditNote.kind == CreditNoteKind.SALES)
        if lines is not None:
            check_lines(session, credit_note.workspace_id, lines, discounts=False, time_entries=False)
    session.add(credit_note)
    if lines is not None:
        credit_note.lines = build_lines(CreditNoteLine, lines)
    check_total_not_negative(session, credit_note)
    if status is not None:
        change_credit_note_status(session, credit_note, status)


def delete_credit_note(_session: Session, credit_note: CreditNote) -> None:
    if credit_note.status is not CreditNoteStatus.DRAFT:
        raise Conflict(
            f"Only draft credit notes can be deleted; this one is {credit_note.status.value}. Void it.",
            [FieldError("status", f"is {credit_note.status.value}; void the credit note instead")],
        )


def settle_credit_note(session: Session, credit_note: CreditNote, balance: Balance | None = None) -> None:
    """Fully allocated credit is paid (Xero); removing an allocation reopens it."""
    if credit_note.status not in (CreditNoteStatus.APPROVED, CreditNoteStatus.PAID):
        return
    balance = balance or credit_balance(session, credit_note)
    credit_note.status = CreditNoteStatus.PAID if balance.due <= 0 else CreditNoteStatus.APPROVED


_CREDIT_KIND_FOR = {CreditNoteKind.SALES: InvoiceKind.SALES, CreditNoteKind.BILL: InvoiceKind.BILL}


def _check_allocation_target(credit_note: CreditNote, invoice: Invoice) -> None:
    if credit_note.status is not CreditNoteStatus.APPROVED:
        raise Conflict(
            f"Only approved credit notes can be allocated; this one is {credit_note.status.value}.",
            [FieldError("status", f"the credit note is {credit_note.status.value}")],
        )
    problems = []
    if invoice.status not in OPEN_INVOICE:
        problems.append(f"the invoice is {invoice.status.value}, not approved")
    if invoice.kind is not _CREDIT_KIND_FOR[credit_note.kind]:
        kind = credit_note.kind.value
        problems.append(f"a {kind} credit note applies to {kind} invoices")
    if invoice.client_id != credit_note.client_id:
        problems.append("the invoice belongs to another client")
    if invoice.currency != credit_note.currency:
        problems.append(f"the invoice is in {invoice.currency}, the credit note in {credit_note.currency}")
    if problems:
        raise invalid("invoice_id", "; ".join(problems))


def allocate_credit(
    session: Session, credit_note: CreditNote, invoice: Invoice, amount: Decimal, on: date | None = None
) -> CreditNoteAllocation:
    """Apply part of an approved credit note to an approved invoice of the same client."""
    _check_allocation_target(credit_note, invoice)
    credit = credit_balance(session, credit_note)
    owed = invoice_balance(session, invoice)
    errors = []
    if amount <= 0:
        errors.append("must be more than zero")
    if amount > credit.due:
        errors.append(f"exceeds the remaining credit of {credit.due}")
    if amount > owed.due:
        errors.append(f"exceeds the amount due on the invoice of {owed.due}")
    if errors:
        raise invalid("amount", "; ".join(errors))
    amount = round_money(amount)
    allocation = CreditNoteAllocation(
        workspace_id=credit_note.workspace_id,
        credit_note_id=credit_note.id,
        invoice_id=invoice.id,
        amount=amount,
        date=on or today_in(session, credit_note.workspace_id),
    )
    session.add(allocation)
    settle_invoice(session, invoice, Balance(owed.totals, owed.paid, owed.credited + amount))
    settle_credit_note(session, credit_note, Balance(credit.totals, ZERO, credit.credited + amount))
    return allocation


def remove_allocation(session: Session, allocation: CreditNoteAllocation) -> None:
    """Delete an allocation and reopen the invoice and the credit note as far as needed."""
    invoice = session.get(Invoice, allocation.invoice_id)
    credit_note = session.get(CreditNote, allocation.credit_note_id)
    assert invoice is not None and credit_note is not None
    settle_invoice(session, invoice, invoice_balance(session, invoice, without_allocation=allocation.id))
    remaining = credit_balance(session, credit_note, without_allocation=allocation.id)
    settle_credit_note(session, credit_note, remaining)
    session.delete(allocation)


# --------------------------------------------------------------------------- purchase orders

PURCHASE_ORDER_TRANSITIONS: dict[PurchaseOrderStatus, frozenset[PurchaseOrderStatus]] = {
    PurchaseOrderStatus.DRAFT: frozenset(
        {PurchaseOrderStatus.SUBMITTED, PurchaseOrderStatus.APPROVED, PurchaseOrderStatus.DELETED}
    ),
    PurchaseOrderStatus.SUBMITTED: frozenset(
        {PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.APPROVED, PurchaseOrderStatus.DELETED}
    ),
    PurchaseOrderStatus.APPROVED: frozenset({PurchaseOrderStatus.BILLED, PurchaseOrderStatus.DELETED}),
    PurchaseOrderStatus.BILLED: frozenset(),
    PurchaseOrderStatus.DELETED: frozenset(),
}
"""Xero's purchase order flow; billed and deleted are final."""


def change_purchase_order_status(order: PurchaseOrder, target: PurchaseOrderStatus) -> None:
    current = order.status
    if target is current:
        return
    allowed = PURCHASE_ORDER_TRANSITIONS[current]
    if target not in allowed:
        raise _refuse_transition("purchase order", current.value, target.value, (s.value for s in allowed))
    if target in (PurchaseOrderStatus.SUBMITTED, PurchaseOrderStatus.APPROVED) and not order.lines:
        raise invalid("lines", f"a purchase order needs at least one line before it is {target.value}")
    order.status = target


def write_purchase_order(
    session: Session,
    order: PurchaseOrder,
    values: Mapping[str, Any],
    lines: Sequence[LineSpec] | None,
    status: PurchaseOrderStatus | None = None,
    *,
    from_xero: bool = False,
) -> None:
    """Create or update a purchase order (numbered PO-0001, unique); final ones are frozen
    (``from_xero``: as for ``write_invoice``, Xero's own changes are applied unguarded)."""
    is_new = order.status is None
    frozen = not is_new and not PURCHASE_ORDER_TRANSITIONS[order.status]
    if frozen and not from_xero and (values or lines is not None):
        raise Conflict(
            f"This purchase order is {order.status.value} and cannot be edited.",
            [FieldError("status", f"a {order.status.value} purchase order cannot be edited")],
        )
    with session.no_autoflush:
        for key, value in values.items():
            setattr(order, key, value)
        given_number(order, values)
        if is_new:
            order.status = PurchaseOrderStatus.DRAFT
        fill_header_defaults(session, order)
        check_supplier(session, order)
        assign_number(session, order, PURCHASE_ORDER_PREFIX)
        if lines is not None:
            check_lines(session, order.workspace_id, lines, discounts=False, time_entries=False)
    session.add(order)
    if lines is not None:
        order.lines = build_lines(PurchaseOrderLine, lines)
    check_total_not_negative(session, order)
    if status is not None:
        change_purchase_order_status(order, status)
