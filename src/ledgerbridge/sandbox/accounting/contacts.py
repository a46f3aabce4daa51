"""Contacts and ContactGroups (XERO_API_NOTES 4.1, 4.2).

Rules kept: ``Name`` is required and unique among ACTIVE contacts (Xero's message),
``ContactNumber`` unique, ``IsCustomer``/``IsSupplier`` read-only (set by documents),
archived contacts hidden unless ``includeArchived`` and not editable through the API,
no DELETE. Lists are in creation order unless ``order`` says otherwise: stable for
paging and cheap at 100,000 contacts. Every create and update emits a ``CONTACT`` webhook.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ledgerbridge.money import ZERO
from ledgerbridge.sandbox.accounting import framework as fw
from ledgerbridge.sandbox.accounting import wire
from ledgerbridge.sandbox.accounting.framework import ElementError, Resource
from ledgerbridge.sandbox.errors import not_found
from ledgerbridge.sandbox.guard import ApiContext, require_resource
from ledgerbridge.sandbox.models import Organisation, Record

__all__ = [
    "CONTACT",
    "contact_reference",
    "contact_summary",
    "find_contact_ref",
    "mark_role",
    "router",
]

router = APIRouter()
CONTACTS_DEP = require_resource("Contacts")
GROUPS_DEP = require_resource("ContactGroups")

CONTACT = Resource("Contacts", "ContactID", "Contact", frozenset({
    "ContactID", "MergedToContactID", "ContactNumber", "AccountNumber", "ContactStatus", "Name",
    "FirstName", "LastName", "CompanyNumber", "EmailAddress", "ContactPersons",
    "BankAccountDetails", "TaxNumber", "TaxNumberType", "AccountsReceivableTaxType",
    "AccountsPayableTaxType", "Addresses", "Phones", "IsSupplier", "IsCustomer",
    "SalesDefaultLineAmountType", "PurchasesDefaultLineAmountType", "DefaultCurrency",
    "XeroNetworkKey", "SalesDefaultAccountCode", "PurchasesDefaultAccountCode",
    "SalesTrackingCategories", "PurchasesTrackingCategories", "TrackingCategoryName",
    "TrackingCategoryOption", "PaymentTerms", "UpdatedDateUTC", "ContactGroups", "Website",
    "BrandingTheme", "BatchPayments", "Discount", "Balances", "Attachments", "HasAttachments",
}), pageable=True)
GROUP = Resource("ContactGroups", "ContactGroupID", "ContactGroup",
                 frozenset({"ContactGroupID", "Name", "Status", "Contacts"}),
                 error_flag=None, status_attribute=False)

_TEXT_FIELDS = {
    "ContactNumber": 50, "AccountNumber": 50, "Name": 255, "FirstName": 255, "LastName": 255,
    "CompanyNumber": 50, "EmailAddress": 255, "BankAccountDetails": 255, "TaxNumber": 50,
    "AccountsReceivableTaxType": 50, "AccountsPayableTaxType": 50, "DefaultCurrency": 3,
    "XeroNetworkKey": 255, "SalesDefaultAccountCode": 10, "PurchasesDefaultAccountCode": 10,
    "TrackingCategoryName": 100, "TrackingCategoryOption": 100,
}
_PASS_THROUGH = ("ContactPersons", "PaymentTerms", "SalesTrackingCategories",
                 "PurchasesTrackingCategories", "BrandingTheme", "BatchPayments")
_ENUMS = {
    "SalesDefaultLineAmountType": {"INCLUSIVE", "EXCLUSIVE", "NONE"},
    "PurchasesDefaultLineAmountType": {"INCLUSIVE", "EXCLUSIVE", "NONE"},
    "TaxNumberType": {"SSN", "EIN", "ITIN", "ATIN"},
}
_ADDRESS_TYPES = {"POBOX", "STREET"}
_PHONE_TYPES = {"DEFAULT", "DDI", "MOBILE", "FAX", "OFFICE"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HEAVY = ("Addresses", "Phones", "ContactPersons", "ContactGroups", "PaymentTerms",
          "Balances", "SalesTrackingCategories", "PurchasesTrackingCategories", "BatchPayments")


def duplicate_name_message(name: str) -> str:
    return (f"The contact name {name} is already assigned to another contact. The contact name "
            "must be unique across all active contacts.")


class NameIndex:
    """Active contact names of one organisation, built once per request.

    A batch of 50 new contacts in an organisation of 100,000 would otherwise scan every
    contact 50 times. The index lives only as long as the request that built it (all of it
    inside one state transaction), so it cannot go stale; ``saved`` keeps it current as the
    batch commits elements."""

    def __init__(self, org: Organisation) -> None:
        self._org = org
        self._ids: dict[str, set[str]] | None = None

    @staticmethod
    def _key(name: str) -> str:
        return name.strip().casefold()

    def _built(self) -> dict[str, set[str]]:
        if self._ids is None:
            self._ids = {}
            for contact in self._org.records(CONTACT.collection).values():
                if contact.get("ContactStatus") == "ACTIVE":
                    key = self._key(str(contact.get("Name", "")))
                    self._ids.setdefault(key, set()).add(contact["ContactID"])
        return self._ids

    def taken(self, name: str, exclude: str | None) -> bool:
        return bool(self._built().get(self._key(name), set()) - {exclude})

    def saved(self, before: Record | None, after: Record) -> None:
        if self._ids is None:
            return
        if before is not None:
            self._ids.get(self._key(str(before.get("Name", ""))), set()).discard(
                before["ContactID"])
        if after.get("ContactStatus") == "ACTIVE":
            self._ids.setdefault(self._key(str(after.get("Name", ""))), set()).add(
                after["ContactID"])


def _groups_of(org: Organisation, contact_id: str) -> list[dict[str, Any]]:
    return [
        {"ContactGroupID": g["ContactGroupID"], "Name": g["Name"], "Status": g["Status"],
         "Contacts": []}
        for g in org.records(GROUP.collection).values()
        if g.get("Status") == "ACTIVE" and contact_id in g.get("_Members", [])
    ]


def render_contact(org: Organisation, record: Record, *, summary: bool = False) -> dict[str, Any]:
    data = fw.public(record)
    if summary:
        for name in _HEAVY:
            data.pop(name, None)
    else:
        data["ContactGroups"] = _groups_of(org, record["ContactID"])
    return data  # dates become MS dates in ``wire.dumps``; no second walk here


def contact_summary(org: Organisation, contact_id: str) -> dict[str, Any]:
    """The trimmed Contact a document embeds (id, name, number, status)."""
    record = org.get_record(CONTACT.collection, contact_id) or {}
    summary = {"ContactID": contact_id, "Name": record.get("Name", "")}
    for name in ("ContactNumber", "ContactStatus", "EmailAddress"):
        if record.get(name):
            summary[name] = record[name]
    summary["HasValidationErrors"] = False
    return summary


def _clean_list(element: dict[str, Any], name: str, type_key: str, allowed: set[str],
                errors: list[str]) -> list[dict[str, Any]] | None:
    items = element.get(name)
    if items is None:
        return None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        errors.append(f"{name} must be a list")
        return None
    for item in items:
        kind = item.get(type_key)
        if kind is not None and kind not in allowed:
            errors.append(f"{type_key} '{kind}' is not valid")
    return [dict(item) for item in items]


def _build_contact(ctx: ApiContext, element: dict[str, Any], existing: Record | None,
                   names: NameIndex | None = None) -> Record:
    """The contact ``element`` describes, merged over ``existing``; raises on any error."""
    errors: list[str] = []
    record: Record = dict(existing) if existing else {
        "ContactID": fw.new_id(), "ContactStatus": "ACTIVE", "IsSupplier": False,
        "IsCustomer": False, "HasAttachments": False, "Addresses": [], "Phones": [],
        "ContactPersons": [], "HasValidationErrors": False,
    }
    for name, limit in _TEXT_FIELDS.items():
        if name in element and element[name] is not None:
            value = str(element[name]).strip()
            if len(value) > limit:
                errors.append(f"{name} must not be more than {limit} characters long.")
            record[name] = value
    for name in _PASS_THROUGH:
        if name in element and element[name] is not None:
            record[name] = element[name]
    for name, allowed in _ENUMS.items():
        if element.get(name) is not None:
            if element[name] not in allowed:
                errors.append(f"{name} '{element[name]}' is not valid")
            record[name] = element[name]
    for name, type_key, allowed in (("Addresses", "AddressType", _ADDRESS_TYPES),
                                    ("Phones", "PhoneType", _PHONE_TYPES)):
        cleaned = _clean_list(element, name, type_key, allowed, errors)
        if cleaned is not None:
            record[name] = cleaned
    status = element.get("ContactStatus")
    if status is not None:
        if status not in {"ACTIVE", "ARCHIVED"}:
            errors.append(f"ContactStatus '{status}' cannot be set through the API")
        else:
            record["ContactStatus"] = status
    if not record.get("Name"):
        errors.append("The contact name must be specified")
    elif record["ContactStatus"] == "ACTIVE" and \
            (names or NameIndex(ctx.org)).taken(record["Name"], record["ContactID"]):
        errors.append(duplicate_name_message(record["Name"]))
    email = record.get("EmailAddress")
    if email and not _EMAIL.match(email):
        errors.append("Email address must be valid.")
    number = record.get("ContactNumber")
    if number and (existing is None or existing.get("ContactNumber") != number) and any(
        c.get("ContactNumber") == number and c["ContactID"] != record["ContactID"]
        for c in ctx.org.records(CONTACT.collection).values()
    ):
        errors.append(f"The contact number {number} is already assigned to another contact.")
    currency = record.get("DefaultCurrency")
    if currency and ctx.org.get_record("Currencies", currency.upper()) is None:
        errors.append(f"The currency {currency} is not enabled for this organisation.")
    if errors:
        raise ElementError(*errors)
    return record


def save_contact(ctx: ApiContext, record: Record, *, created: bool) -> None:
    """Persist, stamp ``UpdatedDateUTC`` and emit the ``CONTACT`` webhook."""
    record["UpdatedDateUTC"] = fw.now_ms(ctx)
    ctx.org.put_record(CONTACT.collection, record["ContactID"], record)
    emit_contact(ctx, record["ContactID"], created=created)


def emit_contact(ctx: ApiContext, contact_id: str, *, created: bool) -> None:
    """The CONTACT webhook call site (core's ``ApiContext.emit``)."""
    ctx.emit("CONTACT", "CREATE" if created else "UPDATE", contact_id)


def _apply(ctx: ApiContext, element: dict[str, Any], *, allow_update: bool,
           names: NameIndex) -> dict[str, Any]:
    contact_id = str(element.get("ContactID") or "").lower()
    existing = ctx.org.get_record(CONTACT.collection, contact_id) if contact_id else None
    if contact_id and existing is None:
        raise ElementError("The contact with the specified ContactID could not be found")
    if existing is not None and not allow_update:
        raise ElementError("A contact with this ContactID already exists")
    if existing is not None and existing.get("ContactStatus") == "ARCHIVED":
        raise ElementError("The specified contact details matched an archived contact. Archived "
                           "contacts cannot currently be edited via the API.")
    record = _build_contact(ctx, element, existing, names)
    save_contact(ctx, record, created=existing is None)
    names.saved(existing, record)
    return render_contact(ctx.org, record)


# -- references from documents ----------------------------------------------------------------


def find_contact_ref(org: Organisation, ref: Any) -> tuple[Record | None, str | None]:
    """The contact a document's ``Contact`` names, or the error message why not.

    Matches ``ContactID``, then ``ContactNumber``, then an active contact's ``Name``. A
    name matching nothing returns ``(None, None)``: the caller creates the contact, which
    is what Xero does."""
    if not isinstance(ref, dict):
        return None, ("The Contact must contain at least 1 of the following elements to identify "
                      "the contact: Name, ContactID, ContactNumber")
    contacts = org.records(CONTACT.collection)
    if ref.get("ContactID"):
        found = contacts.get(str(ref["ContactID"]).lower())
        return (found, None) if found else (None, "The contact with the specified ContactID "
                                                  "could not be found")
    if ref.get("ContactNumber"):
        number = str(ref["ContactNumber"])
        found = next((c for c in contacts.values() if c.get("ContactNumber") == number), None)
        if found:
            return found, None
    if ref.get("Name"):
        wanted = str(ref["Name"]).strip().casefold()
        matches = [c for c in contacts.values() if str(c.get("Name", "")).casefold() == wanted]
        active = [c for c in matches if c.get("ContactStatus") == "ACTIVE"]
        if active:
            return active[0], None
        if matches:
            return matches[0], None
        return None, None
    if ref.get("ContactNumber"):
        return None, "The contact with the specified ContactNumber could not be found"
    return None, ("The Contact must contain at least 1 of the following elements to identify "
                  "the contact: Name, ContactID, ContactNumber")


def contact_reference(ctx: ApiContext, ref: Any) -> Record:
    """Resolve (or create, for an unknown name) the contact of a new document."""
    found, error = find_contact_ref(ctx.org, ref)
    if error:
        raise ElementError(error)
    if found is None:
        record = _build_contact(ctx, {"Name": str(ref["Name"]).strip()}, None)
        save_contact(ctx, record, created=True)
        return record
    if found.get("ContactStatus") == "ARCHIVED":
        raise ElementError("The contact with the specified contact details has been archived. The "
                           "contact must be un-archived before creating new invoices or credit "
                           "notes.")
    return found


def mark_role(ctx: ApiContext, contact_id: str, flag: str) -> None:
    """Set ``IsCustomer``/``IsSupplier`` once a sales or purchase document exists."""
    record = ctx.org.get_record(CONTACT.collection, contact_id)
    if record is not None and not record.get(flag):
        updated = dict(record)
        updated[flag] = True
        updated["UpdatedDateUTC"] = fw.now_ms(ctx)
        ctx.org.put_record(CONTACT.collection, contact_id, updated)


# -- routes: Contacts -------------------------------------------------------------------------


@router.get("/Contacts")
async def list_contacts(request: Request, ctx: ApiContext = Depends(CONTACTS_DEP)) -> Response:
    query = fw.ListQuery.parse(request)
    term = (fw.query_param(request, "searchTerm") or "").strip().casefold()

    def extra(record: Record) -> bool:
        if not query.include_archived and record.get("ContactStatus") == "ARCHIVED":
            return False
        if term:
            haystack = " ".join(str(record.get(n) or "") for n in (
                "Name", "FirstName", "LastName", "ContactNumber", "EmailAddress"))
            return term in haystack.casefold()
        return True

    with ctx.state.lock:
        records = fw.select(CONTACT, ctx.org.iter_records(CONTACT.collection), query, extra=extra)
        return fw.list_response(ctx, CONTACT, records, query, lambda r: render_contact(
            ctx.org, r, summary=query.summary_only))


def balances(org: Organisation, contact_id: str, today: date) -> dict[str, Any]:
    """``Balances``: what the contact owes (ACCREC) and is owed (ACCPAY) on approved
    invoices, and how much of it is past due. Computed on the single-contact GET only,
    since it scans the invoices."""
    totals = {"ACCREC": [ZERO, ZERO], "ACCPAY": [ZERO, ZERO]}
    for invoice in org.records("Invoices").values():
        if invoice.get("_ContactID") != contact_id or invoice.get("Status") != "AUTHORISED":
            continue
        bucket = totals.get(str(invoice.get("Type")))
        if bucket is None:
            continue
        due = invoice.get("AmountDue", ZERO)
        bucket[0] += due
        if isinstance(invoice.get("DueDate"), date) and invoice["DueDate"] < today:
            bucket[1] += due
    return {
        "AccountsReceivable": {"Outstanding": totals["ACCREC"][0], "Overdue": totals["ACCREC"][1]},
        "AccountsPayable": {"Outstanding": totals["ACCPAY"][0], "Overdue": totals["ACCPAY"][1]},
    }


@router.get("/Contacts/{contact_ref}")
async def get_contact(contact_ref: str, ctx: ApiContext = Depends(CONTACTS_DEP)) -> Response:
    """By ``ContactID`` or by ``ContactNumber``."""
    record = fw.find_one(ctx.org, CONTACT, contact_ref, number_field="ContactNumber")
    rendered = render_contact(ctx.org, record)
    rendered["Balances"] = balances(ctx.org, record["ContactID"], ctx.state.clock.now().date())
    return fw.single_response(ctx, "Contacts", [rendered])


@router.put("/Contacts")
async def create_contacts(request: Request, ctx: ApiContext = Depends(CONTACTS_DEP)) -> Response:
    raw = await request.body()
    names = NameIndex(ctx.org)
    return fw.write_endpoint(ctx, request, raw, CONTACT,
                             lambda e: _apply(ctx, e, allow_update=False, names=names))


@router.post("/Contacts")
async def update_or_create_contacts(
    request: Request, ctx: ApiContext = Depends(CONTACTS_DEP)
) -> Response:
    raw = await request.body()
    names = NameIndex(ctx.org)
    return fw.write_endpoint(ctx, request, raw, CONTACT,
                             lambda e: _apply(ctx, e, allow_update=True, names=names))


@router.post("/Contacts/{contact_id}")
async def update_contact(
    contact_id: str, request: Request, ctx: ApiContext = Depends(CONTACTS_DEP)
) -> Response:
    raw = await request.body()
    fw.find_one(ctx.org, CONTACT, contact_id)
    names = NameIndex(ctx.org)
    return fw.write_endpoint(ctx, request, raw, CONTACT, lambda e: _apply(
        ctx, {**e, "ContactID": contact_id}, allow_update=True, names=names))


# -- routes: ContactGroups --------------------------------------------------------------------


def _render_group(org: Organisation, record: Record, *, members: bool) -> dict[str, Any]:
    data = fw.public(record)
    data["Contacts"] = [
        {"ContactID": cid, "Name": (org.get_record(CONTACT.collection, cid) or {}).get("Name", "")}
        for cid in record.get("_Members", [])
    ] if members else []
    rendered: dict[str, Any] = wire.render(data)
    return rendered


def _group(ctx: ApiContext, group_id: str) -> Record:
    record = ctx.org.get_record(GROUP.collection, group_id.lower())
    if record is None:
        raise not_found()
    return record


def _apply_group(ctx: ApiContext, element: dict[str, Any], *, create: bool) -> dict[str, Any]:
    org = ctx.org
    existing = None if create else org.get_record(
        GROUP.collection, str(element.get("ContactGroupID") or "").lower())
    if not create and existing is None:
        raise ElementError("The contact group could not be found")
    record: Record = dict(existing) if existing else {
        "ContactGroupID": fw.new_id(), "Status": "ACTIVE", "_Members": []}
    if element.get("Name") is not None:
        record["Name"] = str(element["Name"]).strip()
    if element.get("Status") in {"ACTIVE", "DELETED"}:
        record["Status"] = element["Status"]
    if not record.get("Name"):
        raise ElementError("Name is a required field")
    active = [g for g in org.records(GROUP.collection).values()
              if g.get("Status") == "ACTIVE" and g["ContactGroupID"] != record["ContactGroupID"]]
    if record["Status"] == "ACTIVE" and any(
            g["Name"].casefold() == record["Name"].casefold() for g in active):
        raise ElementError("Please enter a unique Name.")
    if existing is None and len(active) >= 100:
        raise ElementError("You\u2019ve reached the limit of 100 contact groups.")
    org.put_record(GROUP.collection, record["ContactGroupID"], record)
    return _render_group(org, record, members=False)


@router.get("/ContactGroups")
async def list_groups(request: Request, ctx: ApiContext = Depends(GROUPS_DEP)) -> Response:
    query = fw.ListQuery.parse(request)
    query.modified_since = None
    records = fw.select(GROUP, ctx.org.iter_records(GROUP.collection), query, default_order="Name",
                        extra=lambda r: r.get("Status") == "ACTIVE")
    return fw.list_response(ctx, GROUP, records, query,
                            lambda r: _render_group(ctx.org, r, members=False))


@router.get("/ContactGroups/{group_id}")
async def get_group(group_id: str, ctx: ApiContext = Depends(GROUPS_DEP)) -> Response:
    return fw.single_response(ctx, "ContactGroups",
                              [_render_group(ctx.org, _group(ctx, group_id), members=True)])


@router.put("/ContactGroups")
async def create_groups(request: Request, ctx: ApiContext = Depends(GROUPS_DEP)) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, GROUP,
                             lambda e: _apply_group(ctx, e, create=True))


@router.post("/ContactGroups/{group_id}")
async def update_group(
    group_id: str, request: Request, ctx: ApiContext = Depends(GROUPS_DEP)
) -> Response:
    raw = await request.body()
    _group(ctx, group_id)
    return fw.write_endpoint(ctx, request, raw, GROUP, lambda e: _apply_group(
        ctx, {**e, "ContactGroupID": group_id}, create=False))


MEMBER = Resource("Contacts", "ContactID", "Contact", CONTACT.fields)


def _add_member(ctx: ApiContext, group_id: str, element: dict[str, Any]) -> dict[str, Any]:
    group = dict(_group(ctx, group_id))
    contact_id = str(element.get("ContactID") or "").lower()
    contact = ctx.org.get_record(CONTACT.collection, contact_id)
    if contact is None:
        raise ElementError("The contact with the specified ContactID could not be found")
    members = list(group.get("_Members", []))
    if contact_id not in members:
        members.append(contact_id)
    group["_Members"] = members
    ctx.org.put_record(GROUP.collection, group["ContactGroupID"], group)
    return {"ContactID": contact_id, "Name": contact.get("Name", "")}


@router.put("/ContactGroups/{group_id}/Contacts")
async def add_group_contacts(
    group_id: str, request: Request, ctx: ApiContext = Depends(GROUPS_DEP)
) -> Response:
    raw = await request.body()
    if _group(ctx, group_id).get("Status") != "ACTIVE":
        raise not_found()
    return fw.write_endpoint(ctx, request, raw, MEMBER, lambda e: _add_member(ctx, group_id, e))


@router.delete("/ContactGroups/{group_id}/Contacts/{contact_id}")
async def remove_group_contact(
    group_id: str, contact_id: str, ctx: ApiContext = Depends(GROUPS_DEP)
) -> Response:
    with ctx.state.transaction():
        group = dict(_group(ctx, group_id))
        members = list(group.get("_Members", []))
        if contact_id.lower() not in members:
            raise not_found()
        members.remove(contact_id.lower())
        group["_Members"] = members
        ctx.org.put_record(GROUP.collection, group["ContactGroupID"], group)
    return Response(status_code=204)


@router.delete("/ContactGroups/{group_id}/Contacts")
async def remove_all_group_contacts(
    group_id: str, ctx: ApiContext = Depends(GROUPS_DEP)
) -> Response:
    with ctx.state.transaction():
        group = dict(_group(ctx, group_id))
        group["_Members"] = []
        ctx.org.put_record(GROUP.collection, group["ContactGroupID"], group)
    return Response(status_code=204)
