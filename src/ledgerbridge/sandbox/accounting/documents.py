"""The engine shared by Invoices, CreditNotes and PurchaseOrders: line items, totals,
numbering, status transitions and the edit rules (XERO_API_NOTES 4.3, 4.5, 4.6).

Totals are Xero's: every line rounded to cents on its own (``money.line_amount``), tax per
line (``money.line_tax``) for Exclusive, Inclusive or NoTax amounts, and the document
totals are sums of the rounded lines. ``LineItems`` sent on an update replace the whole
set; a line keeps its ``LineItemID`` only when the client sends it back.

Balances (``AmountPaid``, ``AmountCredited``, ``AmountDue``, ``RemainingCredit``, PAID and
``FullyPaidOnDate``) are never edited in place: ``refresh_balances`` recomputes them from
the payments and allocations each time one of those changes, so they cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ledgerbridge.money import (
    ZERO,
    LineAmountType,
    line_amount,
    line_tax,
    round_money,
    round_unit,
)
from ledgerbridge.sandbox.accounting import contacts, refdata, wire
from ledgerbridge.sandbox.accounting import framework as fw
from ledgerbridge.sandbox.accounting.framework import ElementError, Resource
from ledgerbridge.sandbox.guard import ApiContext
from ledgerbridge.sandbox.models import Organisation, Record

__all__ = [
    "LINE_AMOUNT_TYPES",
    "DocKind",
    "apply_document",
    "refresh_balances",
    "render_document",
]

LINE_AMOUNT_TYPES = {
    "exclusive": ("Exclusive", LineAmountType.EXCLUSIVE),
    "inclusive": ("Inclusive", LineAmountType.INCLUSIVE),
    "notax": ("NoTax", LineAmountType.NO_TAX),
}
FOUR_PLACES = Decimal("0.0001")
NOT_VALID_FOR_MODIFICATION = "{label} not of valid status for modification"
LOCKED_BY_PAYMENT = ("This document cannot be edited as it has a payment or credit note "
                     "allocated to it.")
MAX_TRACKING_PER_LINE = 2


@dataclass(frozen=True)
class DocKind:
    """What differs between Invoices, CreditNotes and PurchaseOrders."""

    resource: Resource
    label: str
    """Xero's noun in messages: ``Invoice``, ``Credit Note``, ``Purchase Order``."""
    number_field: str
    types: dict[str, tuple[str, str]]
    """Type -> (direction ``SALES``/``PURCHASES``, contact flag ``IsCustomer``/``IsSupplier``).
    Purchase orders have no ``Type``: their one entry is keyed ``""``."""
    auto_number: dict[str, str]
    """Type -> number prefix for automatic numbering (``INV``, ``CN``, ``PO``)."""
    unique_number_types: frozenset[str]
    duplicate_number_message: str
    transitions: dict[str | None, frozenset[str]]
    """Allowed status changes; the ``None`` key lists the statuses a create may use."""
    webhook: str | None
    editable_fields: tuple[str, ...]
    date_fields: tuple[str, ...]
    allow_discount: bool = False
    has_balance: bool = True
    extra_defaults: dict[str, Any] = field(default_factory=dict)


def _is_type(kind: DocKind, record: Record) -> str:
    return str(record.get("Type", "")) if "" not in kind.types else ""


# -- line items -------------------------------------------------------------------------------


def line_amount_types(value: Any, default: str = "Exclusive") -> tuple[str, LineAmountType]:
    """Xero's exact spellings come back whatever case the client sent."""
    if value is None or value == "":
        value = default
    found = LINE_AMOUNT_TYPES.get(str(value).replace("_", "").lower())
    if found is None:
        raise ElementError(f"LineAmountTypes '{value}' is not valid. Use Exclusive, Inclusive or "
                           "NoTax.")
    return found


def _optional_decimal(line: dict[str, Any], name: str) -> Decimal | None:
    value = line.get(name)
    if value is None or value == "":
        return None
    return wire.parse_decimal(value, name)


def _item_defaults(org: Organisation, line: dict[str, Any], direction: str,
                   errors: list[str]) -> dict[str, Any]:
    """Fill a line from its ``ItemCode`` (sales or purchase details) where the client left
    fields out."""
    code = line.get("ItemCode")
    if not code:
        return line
    item = next((i for i in org.records("Items").values() if i.get("Code") == code), None)
    if item is None:
        errors.append(f"Item code '{code}' is not valid.")
        return line
    details = item.get("SalesDetails" if direction == "SALES" else "PurchaseDetails") or {}
    filled = dict(line)
    description = item.get("Description" if direction == "SALES" else "PurchaseDescription")
    filled.setdefault("Description", description or item.get("Name"))
    if filled.get("UnitAmount") is None and details.get("UnitPrice") is not None:
        filled["UnitAmount"] = details["UnitPrice"]
    if not filled.get("AccountCode") and details.get("AccountCode"):
        filled["AccountCode"] = details["AccountCode"]
    if not filled.get("TaxType") and details.get("TaxType"):
        filled["TaxType"] = details["TaxType"]
    filled["Item"] = {"ItemID": item["ItemID"], "Code": item["Code"], "Name": item.get("Name", "")}
    return filled


def _tracking(org: Organisation, tags: Any, errors: list[str]) -> list[dict[str, Any]]:
    """Resolve ``Tracking`` by names (``Name``/``Option``) or ids to both, at most two."""
    if not tags:
        return []
    if not isinstance(tags, list):
        errors.append("Tracking must be a list")
        return []
    if len(tags) > MAX_TRACKING_PER_LINE:
        errors.append("A line item can only have up to 2 tracking categories.")
    resolved = []
    categories = list(org.records(refdata.TRACKING_CATEGORIES).values())
    for tag in tags:
        if not isinstance(tag, dict):
            continue
        category = next((c for c in categories if c.get("Status") == "ACTIVE" and (
            c["TrackingCategoryID"] == str(tag.get("TrackingCategoryID") or "").lower()
            or c.get("Name") == tag.get("Name"))), None)
        if category is None:
            errors.append(f"Tracking category '{tag.get('Name') or tag.get('TrackingCategoryID')}' "
                          "does not exist or is not active.")
            continue
        option = next((o for o in category.get("Options", []) if o.get("Status") == "ACTIVE" and (
            o["TrackingOptionID"] == str(tag.get("TrackingOptionID") or "").lower()
            or o.get("Name") == tag.get("Option"))), None)
        if option is None:
            errors.append(f"Tracking option '{tag.get('Option') or tag.get('TrackingOptionID')}' "
                          f"does not exist in the tracking category '{category['Name']}'.")
            continue
        resolved.append({
            "TrackingCategoryID": category["TrackingCategoryID"],
            "TrackingOptionID": option["TrackingOptionID"],
            "Name": category["Name"],
            "Option": option["Name"],
        })
    return resolved


def build_lines(
    org: Organisation,
    raw_lines: Any,
    previous: list[Record],
    kind: LineAmountType,
    direction: str,
    *,
    allow_discount: bool,
) -> tuple[list[Record], list[str]]:
    """Validated, priced lines and the messages for everything wrong with them."""
    errors: list[str] = []
    if not isinstance(raw_lines, list) or not all(isinstance(x, dict) for x in raw_lines):
        return [], ["LineItems must be a list of line items"]
    known_ids = {line["LineItemID"] for line in previous}
    lines: list[Record] = []
    for raw in raw_lines:
        line = _item_defaults(org, raw, direction, errors)
        description = str(line.get("Description") or "").strip()
        if not description and not line.get("ItemCode"):
            errors.append("The description field is mandatory for each line item.")
        try:
            quantity = _optional_decimal(line, "Quantity")
            unit = _optional_decimal(line, "UnitAmount")
            given_amount = _optional_decimal(line, "LineAmount")
            discount = _optional_decimal(line, "DiscountRate")
            tax_override = _optional_decimal(line, "TaxAmount")
        except wire.WireError as exc:
            errors.append(str(exc))
            continue
        if discount is not None and not allow_discount:
            errors.append("Discounts are not allowed on this type of document.")
            discount = None
        if quantity is None and (unit is not None or given_amount is not None):
            quantity = Decimal(1)
        if unit is None and given_amount is not None:
            unit = given_amount if not quantity else round_unit(given_amount / quantity)
        account, rate, problems = refdata.resolve_line_account(org, line, direction)
        errors.extend(problems)
        tracking = _tracking(org, line.get("Tracking"), errors)
        amount = line_amount(quantity, unit, discount) if quantity is not None and unit is not None \
            else ZERO
        percent = refdata.tax_rate_percent(rate) if rate is not None else Decimal(0)
        tax = line_tax(amount, percent, kind)
        if tax_override is not None and kind is not LineAmountType.NO_TAX:
            tax = round_money(tax_override)
        line_id = str(raw.get("LineItemID") or "").lower()
        stored: Record = {
            "LineItemID": line_id if line_id in known_ids else fw.new_id(),
            "Description": description,
            "LineAmount": amount,
            "TaxAmount": tax,
            "Tracking": tracking,
        }
        if quantity is not None:
            stored["Quantity"] = round_unit(quantity)
        if unit is not None:
            stored["UnitAmount"] = round_unit(unit)
        if account is not None:
            stored["AccountCode"] = account["Code"]
            stored["AccountID"] = account["AccountID"]
        if rate is not None:
            stored["TaxType"] = rate["TaxType"]
        if discount is not None:
            stored["DiscountRate"] = discount.quantize(Decimal("0.01"))
        for name in ("ItemCode", "Item"):
            if line.get(name):
                stored[name] = line[name]
        lines.append(stored)
    return lines, errors


def totals(lines: list[Record], kind: LineAmountType) -> dict[str, Decimal]:
    """Document totals from already-rounded lines (the sums ``money.document_totals`` makes)."""
    amounts = sum((line["LineAmount"] for line in lines), ZERO)
    tax = sum((line["TaxAmount"] for line in lines), ZERO)
    discount = ZERO
    for line in lines:
        if line.get("DiscountRate") and "Quantity" in line and "UnitAmount" in line:
            discount += round_money(line["Quantity"] * line["UnitAmount"]) - line["LineAmount"]
    if kind is LineAmountType.INCLUSIVE:
        return {"SubTotal": amounts - tax, "TotalTax": tax, "Total": amounts,
                "TotalDiscount": discount}
    return {"SubTotal": amounts, "TotalTax": tax, "Total": amounts + tax,
            "TotalDiscount": discount}


# -- numbering ---------------------------------------------------------------------------------


def _number_taken(org: Organisation, kind: DocKind, doc_type: str, number: str,
                  exclude: str | None) -> bool:
    id_field = kind.resource.id_field
    return any(
        d.get(kind.number_field) == number and d.get("Type", "") == doc_type
        and d[id_field] != exclude and d.get("Status") != "DELETED"
        for d in org.records(kind.resource.collection).values()
    )


def _next_number(org: Organisation, kind: DocKind, doc_type: str) -> str:
    prefix = kind.auto_number[doc_type]
    while True:
        candidate = f"{prefix}-{org.next_number(prefix):04d}"
        if not _number_taken(org, kind, doc_type, candidate, None):
            return candidate


# -- balances ---------------------------------------------------------------------------------


def refresh_balances(org: Organisation, kind: DocKind, record: Record) -> None:
    """Recompute paid, credited and due amounts and the PAID status in place.

    A document is PAID when nothing is left due and something was paid or credited; it
    goes back to AUTHORISED when a payment or allocation is removed."""
    if not kind.has_balance:
        return
    payments = [org.get_record("Payments", pid) for pid in record.get("_PaymentIDs", [])]
    live = [p for p in payments if p is not None and p.get("Status") == "AUTHORISED"]
    paid = sum((p["Amount"] for p in live), ZERO)
    key = "Allocations" if "CreditNoteID" in record else "_Allocations"
    allocations = [a for a in record.get(key) or [] if not a.get("IsDeleted")]
    credited = sum((a["Amount"] for a in allocations), ZERO)
    total = record.get("Total", ZERO)
    left = total - paid - credited
    if "CreditNoteID" in record:
        record["RemainingCredit"] = left
        record["AppliedAmount"] = credited
    else:
        record["AmountPaid"] = paid
        record["AmountCredited"] = credited
        record["AmountDue"] = left
    if record.get("Status") in {"AUTHORISED", "PAID"}:
        settled = left == 0 and (paid > 0 or credited > 0)
        record["Status"] = "PAID" if settled else "AUTHORISED"
        dates = [p["Date"] for p in live] + [a["Date"] for a in allocations]
        if settled and dates:
            record["FullyPaidOnDate"] = max(dates)
        else:
            record.pop("FullyPaidOnDate", None)


def has_money(record: Record) -> bool:
    """Payments or credit allocations hang off the document."""
    return bool(record.get("AmountPaid") or record.get("AmountCredited")
                or record.get("AppliedAmount")
                or ("CreditNoteID" in record and record.get("Total", ZERO)
                    != record.get("RemainingCredit", record.get("Total", ZERO))))


# -- create and update ------------------------------------------------------------------------


def _status_error(kind: DocKind, old: str | None, new: str, record: Record) -> str | None:
    if old == new:
        return None
    allowed = kind.transitions.get(old, frozenset())
    if new in allowed:
        if new == "VOIDED" and has_money(record):
            noun = kind.label.lower()
            return (f"The status VOIDED cannot be applied to the {noun} because it has payments "
                    "or credit notes allocated to it.")
        return None
    if old is None:
        return f"{kind.label} cannot be created with the status {new}"
    return NOT_VALID_FOR_MODIFICATION.format(label=kind.label)


def _approval_errors(kind: DocKind, record: Record) -> list[str]:
    """What Xero checks before a document may be AUTHORISED."""
    errors = []
    for line in record.get("LineItems", []):
        if line.get("LineAmount") and not line.get("AccountCode") and kind.has_balance:
            errors.append("Account code must be specified for each line item on an approved "
                          "document.")
            break
    if record.get("Total", ZERO) < 0:
        errors.append(f"The {kind.label.lower()} total cannot be negative.")
    return errors


def _dates(kind: DocKind, element: dict[str, Any], record: Record, errors: list[str]) -> None:
    for name in kind.date_fields:
        if name in element:
            if element[name] in (None, ""):
                record.pop(name, None)
                continue
            try:
                record[name] = wire.parse_date(element[name])
            except wire.WireError as exc:
                errors.append(f"{name}: {exc}")


def _currency(ctx: ApiContext, element: dict[str, Any], record: Record, contact: Record,
              errors: list[str]) -> None:
    code = element.get("CurrencyCode") or record.get("CurrencyCode") or \
        contact.get("DefaultCurrency") or ctx.org.base_currency
    code = str(code).upper()
    found = refdata.currency(ctx.org, code)
    if found is None:
        errors.append(f"Organisation is not subscribed to currency {code}")
        return
    record["CurrencyCode"] = code
    if code == ctx.org.base_currency:
        record["CurrencyRate"] = Decimal(1).quantize(Decimal("0.000001"))
        return
    try:
        given = _optional_decimal(element, "CurrencyRate")
    except wire.WireError as exc:
        errors.append(str(exc))
        return
    rate = given if given is not None else record.get("CurrencyRate") or found.get("_Rate")
    record["CurrencyRate"] = Decimal(rate or 1).quantize(Decimal("0.000001"))


def apply_document(
    ctx: ApiContext,
    kind: DocKind,
    element: dict[str, Any],
    *,
    allow_update: bool,
    unitdp: int = 2,
) -> dict[str, Any]:
    """Create or update one document from a batch element; see the module docstring.
    ``unitdp`` is the request's, so a write answers with the unit amounts it asked for."""
    org = ctx.org
    id_field = kind.resource.id_field
    doc_id = str(element.get(id_field) or "").lower()
    existing = org.get_record(kind.resource.collection, doc_id) if doc_id else None
    if doc_id and existing is None:
        raise ElementError(f"An existing {kind.label} with the specified {id_field} could not "
                           "be found")
    if existing is not None and not allow_update:
        raise ElementError(f"The {id_field} {doc_id} already exists; use POST to update it")
    _check_editable(kind, existing, element)
    record, created = _merge(ctx, kind, element, existing)
    _save(ctx, kind, record, created=created)
    return render_document(org, kind, record, detail=True, unitdp=unitdp)


def _check_editable(kind: DocKind, existing: Record | None, element: dict[str, Any]) -> None:
    if existing is None:
        return
    status = existing.get("Status")
    edits = [name for name in kind.editable_fields if name in element]
    new_status = element.get("Status")
    if status in {"PAID", "VOIDED", "DELETED", "BILLED"} and (edits or (
            new_status and new_status != status)):
        if status == "BILLED" and new_status == "AUTHORISED" and not edits:
            return
        raise ElementError(NOT_VALID_FOR_MODIFICATION.format(label=kind.label))
    if status == "AUTHORISED" and has_money(existing):
        if new_status == "VOIDED":
            return  # _status_error gives the specific message
        if edits:
            raise ElementError(LOCKED_BY_PAYMENT)


def _merge(ctx: ApiContext, kind: DocKind, element: dict[str, Any],
           existing: Record | None) -> tuple[Record, bool]:
    org = ctx.org
    errors: list[str] = []
    record: Record = dict(existing) if existing else {
        kind.resource.id_field: fw.new_id(), "Status": "DRAFT", "LineItems": [],
        "HasAttachments": False, "_PaymentIDs": [],
        "_CreatedByApp": ctx.app.client_id, **kind.extra_defaults,
    }
    if existing is None and kind.resource.error_flag:
        record[kind.resource.error_flag] = False
    doc_type = ""
    if "" not in kind.types:
        doc_type = str(element.get("Type") or record.get("Type") or "")
        if doc_type not in kind.types:
            raise ElementError(f"{kind.label} Type must be one of {', '.join(kind.types)}")
        if existing is not None and existing.get("Type") != doc_type:
            raise ElementError(f"The {kind.label} Type cannot be changed")
        record["Type"] = doc_type
    direction, flag = kind.types[doc_type]
    if existing is None or "Contact" in element:
        contact = contacts.contact_reference(ctx, element.get("Contact"))
        record["_ContactID"] = contact["ContactID"]
    else:
        contact = org.get_record(contacts.CONTACT.collection, record["_ContactID"]) or {}
    for name in kind.editable_fields:
        if name in element and name not in {"LineItems", "Contact", "CurrencyCode",
                                            "CurrencyRate", "LineAmountTypes", *kind.date_fields}:
            value = element[name]
            record[name] = value if isinstance(value, bool) else (
                str(value) if value is not None else None)
    _dates(kind, element, record, errors)
    if existing is None and "Date" not in record:
        record["Date"] = ctx.state.clock.now().date()
    _currency(ctx, element, record, contact, errors)
    try:
        label, amount_type = line_amount_types(
            element.get("LineAmountTypes", record.get("LineAmountTypes")))
    except ElementError as exc:
        errors.extend(exc.messages)
        label, amount_type = "Exclusive", LineAmountType.EXCLUSIVE
    record["LineAmountTypes"] = label
    if "LineItems" in element or existing is None:
        lines, problems = build_lines(
            org, element.get("LineItems") or [], list(record.get("LineItems", [])), amount_type,
            direction, allow_discount=kind.allow_discount)
        errors.extend(problems)
        record["LineItems"] = lines
    elif "LineAmountTypes" in element:
        lines, problems = build_lines(org, record["LineItems"], record["LineItems"], amount_type,
                                      direction, allow_discount=kind.allow_discount)
        errors.extend(problems)
        record["LineItems"] = lines
    record.update(totals(record["LineItems"], amount_type))
    _number(ctx, kind, element, record, doc_type, errors)
    theme = record.get("BrandingThemeID")
    if theme and org.get_record(refdata.BRANDING_THEMES, str(theme).lower()) is None:
        errors.append("The BrandingThemeID does not match a branding theme for this organisation.")
    old_status = existing.get("Status") if existing else None
    new_status = str(element.get("Status") or record["Status"])
    problem = _status_error(kind, old_status, new_status, record)
    if problem:
        errors.append(problem)
    record["Status"] = new_status
    if new_status == "AUTHORISED" and old_status != "AUTHORISED":
        errors.extend(_approval_errors(kind, record))
    if record.get("SentToContact") and new_status not in {"AUTHORISED", "PAID", "BILLED"}:
        record["SentToContact"] = False
    if errors:
        raise ElementError(*errors)
    if existing is None and new_status != "DELETED":
        contacts.mark_role(ctx, record["_ContactID"], flag)
    refresh_balances(org, kind, record)
    return record, existing is None


def _number(ctx: ApiContext, kind: DocKind, element: dict[str, Any], record: Record,
            doc_type: str, errors: list[str]) -> None:
    number = element.get(kind.number_field)
    id_value = record[kind.resource.id_field]
    if number not in (None, ""):
        record[kind.number_field] = str(number).strip()
        if doc_type in kind.unique_number_types and _number_taken(
                ctx.org, kind, doc_type, record[kind.number_field], id_value):
            errors.append(kind.duplicate_number_message)
    elif not record.get(kind.number_field):
        if doc_type in kind.auto_number:
            record[kind.number_field] = _next_number(ctx.org, kind, doc_type)
        else:
            record[kind.number_field] = ""


def _save(ctx: ApiContext, kind: DocKind, record: Record, *, created: bool) -> None:
    record["UpdatedDateUTC"] = fw.now_ms(ctx)
    ctx.org.put_record(kind.resource.collection, record[kind.resource.id_field], record)
    emit_document(ctx, kind, record, created=created)


def save_document(ctx: ApiContext, kind: DocKind, record: Record) -> None:
    """Persist a document changed by a payment or allocation (an UPDATE)."""
    refresh_balances(ctx.org, kind, record)
    _save(ctx, kind, record, created=False)


def emit_document(ctx: ApiContext, kind: DocKind, record: Record, *, created: bool) -> None:
    """The INVOICE / CREDITNOTE webhook call site (core's ``ApiContext.emit``)."""
    if kind.webhook is None:
        return
    data = None
    if kind.webhook == "CREDITNOTE":
        data = {"Type": record.get("Type"), "Status": record.get("Status")}
    ctx.emit(kind.webhook, "CREATE" if created else "UPDATE",
             record[kind.resource.id_field], data)


# -- rendering --------------------------------------------------------------------------------


def _render_line(line: Record, unitdp: int) -> dict[str, Any]:
    out = dict(line)
    if "UnitAmount" in out:
        out["UnitAmount"] = out["UnitAmount"].quantize(
            FOUR_PLACES if unitdp == 4 else Decimal("0.01"))
    if "Quantity" in out:
        out["Quantity"] = out["Quantity"].quantize(FOUR_PLACES)
    return out


PaymentRenderer = Callable[[Organisation, Record], dict[str, Any]]


def render_document(
    org: Organisation,
    kind: DocKind,
    record: Record,
    *,
    detail: bool,
    unitdp: int = 2,
    summary_only: bool = False,
) -> dict[str, Any]:
    """A document as Xero shows it. ``detail`` (paged lists, single GETs, writes) includes
    line items; plain lists omit them as Xero does. ``summary_only`` drops the embedded
    payments, credits and line items."""
    data = fw.public(record)
    data["Contact"] = contacts.contact_summary(org, record.get("_ContactID", ""))
    if detail and not summary_only:
        data["LineItems"] = [_render_line(line, unitdp) for line in record.get("LineItems", [])]
    else:
        data.pop("LineItems", None)
    if kind.has_balance and not summary_only:
        data["Payments"] = [
            _payment_stub(p) for pid in record.get("_PaymentIDs", [])
            if (p := org.get_record("Payments", pid)) is not None and p.get("Status") != "DELETED"
        ]
        if "CreditNoteID" in record:
            data["Allocations"] = [_allocation_out(org, a) for a in record.get("Allocations", [])
                                   if not a.get("IsDeleted")]
        else:
            data["CreditNotes"] = [_credit_stub(org, a) for a in record.get("_Allocations", [])
                                   if not a.get("IsDeleted")]
            data["Prepayments"] = []
            data["Overpayments"] = []
            data["IsDiscounted"] = bool(record.get("TotalDiscount"))
    rendered: dict[str, Any] = wire.render(data)
    return rendered


def _payment_stub(payment: Record) -> dict[str, Any]:
    stub = {"PaymentID": payment["PaymentID"], "Date": payment["Date"],
            "Amount": payment["Amount"], "CurrencyRate": payment.get("CurrencyRate"),
            "HasAccount": True, "HasValidationErrors": False}
    if payment.get("Reference"):
        stub["Reference"] = payment["Reference"]
    return stub


def _credit_stub(org: Organisation, allocation: Record) -> dict[str, Any]:
    note = org.get_record("CreditNotes", allocation["CreditNoteID"]) or {}
    return {"CreditNoteID": allocation["CreditNoteID"],
            "CreditNoteNumber": note.get("CreditNoteNumber", ""),
            "AppliedAmount": allocation["Amount"], "Date": allocation["Date"],
            "Total": note.get("Total", ZERO), "HasErrors": False}


def _allocation_out(org: Organisation, allocation: Record) -> dict[str, Any]:
    invoice = org.get_record("Invoices", allocation["_InvoiceID"]) or {}
    out = fw.public(allocation)
    out["Invoice"] = {"InvoiceID": allocation["_InvoiceID"],
                      "InvoiceNumber": invoice.get("InvoiceNumber", ""),
                      "HasErrors": False}
    return out


def parse_amount(value: Any, name: str = "Amount") -> Decimal:
    """A positive money amount from a body, or an ``ElementError``."""
    try:
        amount = wire.parse_decimal(value, name)
    except wire.WireError as exc:
        raise ElementError(str(exc)) from exc
    if amount <= 0:
        raise ElementError(f"{name} must be greater than zero.")
    return round_money(amount)


def today(ctx: ApiContext) -> date:
    return ctx.state.clock.now().date()
