"""The OAuth scopes a workspace asks for, from the record types it syncs.

Asking only for what is used keeps the consent screen honest; ``offline_access`` is always
there because without it Xero issues no refresh token.
"""

from __future__ import annotations

IDENTITY = ("openid", "profile", "email", "offline_access")

BROAD: dict[str, tuple[str, ...]] = {
    "settings": ("accounting.settings",),
    "contacts": ("accounting.contacts",),
    "items": ("accounting.settings",),
    "invoices": ("accounting.transactions",),
    "credit_notes": ("accounting.transactions",),
    "purchase_orders": ("accounting.transactions",),
    "payments": ("accounting.transactions",),
    "payroll": ("payroll.employees", "payroll.timesheets", "payroll.settings"),
    "projects": ("projects",),
}

GRANULAR: dict[str, tuple[str, ...]] = {
    **BROAD,
    "invoices": ("accounting.invoices",),
    "credit_notes": ("accounting.invoices",),
    "purchase_orders": ("accounting.invoices",),
    "payments": ("accounting.payments",),
}

ALL_RECORD_TYPES = tuple(BROAD)


def requested(record_types: tuple[str, ...] = ALL_RECORD_TYPES, granular: bool = False) -> list[str]:
    """Scopes for the enabled record types, identity scopes first, without repeats."""
    table = GRANULAR if granular else BROAD
    scopes = [*IDENTITY, "accounting.settings"]
    for record_type in record_types:
        scopes.extend(table[record_type])
    return list(dict.fromkeys(scopes))
