"""Clients <-> Xero contacts.

Xero works out ``IsCustomer``/``IsSupplier`` from transactions (they are read-only), so
they are read but never sent. The fields compared for change detection are exactly the
ones both sides hold, so a field only one side has never makes a record look changed.
"""

from __future__ import annotations

import re
from typing import Any

from ledgerbridge.sync.mapping.values import listed
from ledgerbridge.work.models import Client

SHARED_FIELDS = (
    "name",
    "contact_number",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address_line1",
    "city",
    "region",
    "postal_code",
    "country",
    "tax_number",
    "currency",
    "archived",
)
ADDRESS_FIELDS = ("address_line1", "city", "region", "postal_code", "country")
DETAIL_FIELDS = frozenset({"phone", *ADDRESS_FIELDS})
"""Fields read from ``Phones`` and ``Addresses``, which a summary read (``summaryOnly``)
leaves out: then unknown, never cleared."""


def normalised_name(name: str) -> str:
    """For matching: case, punctuation and company suffixes do not make another business."""
    text = re.sub(r"[^a-z0-9 ]", " ", name.lower())
    text = re.sub(r"\b(pty|ltd|limited|inc|llc|co|company|the)\b", " ", text)
    return " ".join(text.split())


def _phone(phones: list[Any]) -> str | None:
    for phone in phones:
        if phone.get("PhoneType") == "DEFAULT" and phone.get("PhoneNumber"):
            parts = [phone.get("PhoneCountryCode"), phone.get("PhoneAreaCode"), phone.get("PhoneNumber")]
            return " ".join(p for p in parts if p)
    return None


def _street(addresses: list[Any]) -> dict[str, Any]:
    street = next((a for a in addresses if a.get("AddressType") == "STREET"), None)
    return street or next(iter(addresses), {})


def local_fields(contact: dict[str, Any]) -> dict[str, Any]:
    """What a Xero contact says about the client's shared fields (and the roles); the
    phone and address only when the contact carries ``Phones`` and ``Addresses``."""
    fields: dict[str, Any] = {
        "name": contact.get("Name") or "",
        "contact_number": contact.get("ContactNumber") or None,
        "first_name": contact.get("FirstName") or None,
        "last_name": contact.get("LastName") or None,
        "email": contact.get("EmailAddress") or None,
        "tax_number": contact.get("TaxNumber") or None,
        "currency": contact.get("DefaultCurrency") or None,
        "archived": contact.get("ContactStatus") == "ARCHIVED",
    }
    phones = listed(contact, "Phones")
    if phones is not None:
        fields["phone"] = _phone(phones)
    addresses = listed(contact, "Addresses")
    if addresses is not None:
        street = _street(addresses)
        fields["address_line1"] = street.get("AddressLine1") or None
        fields["city"] = street.get("City") or None
        fields["region"] = street.get("Region") or None
        fields["postal_code"] = street.get("PostalCode") or None
        fields["country"] = street.get("Country") or None
    return fields


def roles(contact: dict[str, Any]) -> tuple[bool, bool]:
    """(is_customer, is_supplier) as Xero derives them; a contact with neither yet is a customer."""
    customer, supplier = bool(contact.get("IsCustomer")), bool(contact.get("IsSupplier"))
    return (customer or not supplier), supplier


def shared(client: Client) -> dict[str, Any]:
    return {field: getattr(client, field) for field in SHARED_FIELDS}


def to_xero(client: Client, xero_id: str | None) -> dict[str, Any]:
    """The payload that creates or updates the contact (``ContactID`` when linked)."""
    payload: dict[str, Any] = {
        "Name": client.name,
        "ContactStatus": "ARCHIVED" if client.archived else "ACTIVE",
        "FirstName": client.first_name or "",
        "LastName": client.last_name or "",
        "EmailAddress": client.email or "",
        "TaxNumber": client.tax_number or "",
    }
    if xero_id:
        payload["ContactID"] = xero_id
    if client.contact_number:
        payload["ContactNumber"] = client.contact_number
    if client.currency:
        payload["DefaultCurrency"] = client.currency
    if client.phone:
        payload["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": client.phone}]
    if client.address_line1 or client.city:
        payload["Addresses"] = [
            {
                "AddressType": "STREET",
                "AddressLine1": client.address_line1 or "",
                "City": client.city or "",
                "Region": client.region or "",
                "PostalCode": client.postal_code or "",
                "Country": client.country or "",
            }
        ]
    return payload
