"""Xero's OAuth scopes, broad and granular, and which ones open which endpoint.

A router declares the scopes that open it as *base* names (``accounting.contacts``);
``satisfies()`` lets a read (GET/HEAD) through with the ``.read`` variant of any of them
too. Both families are listed for each resource, because Xero accepts either during the
2026-2027 migration (XERO_API_NOTES 1.11): Invoices open with ``accounting.transactions``
or the granular ``accounting.invoices``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "BROAD_ONLY",
    "IDENTITY_SCOPES",
    "KNOWN_SCOPES",
    "SCOPES_FOR",
    "describe",
    "satisfies",
    "unknown_scopes",
]

IDENTITY_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})

_WITH_READ = [
    "accounting.transactions",
    "accounting.contacts",
    "accounting.settings",
    "accounting.attachments",
    "accounting.invoices",
    "accounting.payments",
    "accounting.banktransactions",
    "accounting.manualjournals",
    "accounting.classicexpenses",
    "payroll.employees",
    "payroll.payruns",
    "payroll.payslip",
    "payroll.settings",
    "payroll.timesheets",
    "projects",
    "files",
    "assets",
]
_READ_ONLY = [
    "accounting.journals.read",
    "accounting.reports.read",
    "accounting.reports.tenninetynine.read",
    "accounting.budgets.read",
    "accounting.reports.profitandloss.read",
    "accounting.reports.balancesheet.read",
    "accounting.reports.aged.read",
    "accounting.reports.trialbalance.read",
    "accounting.reports.banksummary.read",
    "accounting.reports.budgetsummary.read",
    "accounting.reports.executivesummary.read",
    "accounting.reports.taxreports.read",
]
_OTHER = ["paymentservices", "bankfeeds", "marketplace.billing"]

KNOWN_SCOPES = frozenset(
    [*IDENTITY_SCOPES, *_WITH_READ, *(f"{s}.read" for s in _WITH_READ), *_READ_ONLY, *_OTHER]
)

BROAD_ONLY = frozenset(
    {"accounting.transactions", "accounting.transactions.read", "accounting.reports.read"}
)
"""Scopes an app created on or after 2 March 2026 (``granular_only``) may not request."""

_INVOICES = ("accounting.transactions", "accounting.invoices")
_PAYMENTS = ("accounting.transactions", "accounting.payments")
_BANK = ("accounting.transactions", "accounting.banktransactions")
_SETTINGS = ("accounting.settings",)

SCOPES_FOR: dict[str, tuple[str, ...]] = {
    # Accounting API
    "Accounts": _SETTINGS,
    "BrandingThemes": _SETTINGS,
    "Currencies": _SETTINGS,
    "Organisation": _SETTINGS,
    "TaxRates": _SETTINGS,
    "TrackingCategories": _SETTINGS,
    "Users": _SETTINGS,
    "Items": ("accounting.settings", "accounting.invoices"),
    "Contacts": ("accounting.contacts",),
    "ContactGroups": ("accounting.contacts",),
    "Invoices": _INVOICES,
    "CreditNotes": _INVOICES,
    "PurchaseOrders": _INVOICES,
    "Quotes": _INVOICES,
    "RepeatingInvoices": _INVOICES,
    "LinkedTransactions": _INVOICES,
    "Payments": _PAYMENTS,
    "BatchPayments": _PAYMENTS,
    "Overpayments": _PAYMENTS,
    "Prepayments": _PAYMENTS,
    "BankTransactions": _BANK,
    "BankTransfers": _BANK,
    "ManualJournals": ("accounting.transactions", "accounting.manualjournals"),
    "Attachments": ("accounting.attachments",),
    "Journals": ("accounting.journals.read",),
    # Payroll AU 1.0 and 2.0
    "Employees": ("payroll.employees",),
    "LeaveApplications": ("payroll.employees",),
    "PayItems": ("payroll.settings",),
    "PayrollCalendars": ("payroll.settings",),
    "Timesheets": ("payroll.timesheets",),
    "PayRuns": ("payroll.payruns",),
    "Payslip": ("payroll.payslip",),
    # Projects
    "Projects": ("projects",),
}
"""Base scopes per resource. Look up here rather than repeat the lists in routers."""

_WORDS = {
    "openid": "Verify your identity",
    "profile": "View your name and Xero user ID",
    "email": "View your email address",
    "offline_access": "Keep access when you are not using the app",
    "accounting.transactions": "View and manage your business transactions",
    "accounting.contacts": "View and manage your contacts",
    "accounting.settings": "View and manage your organisation settings",
    "accounting.attachments": "View and manage your attachments",
    "accounting.invoices": "View and manage your invoices, credit notes, quotes and items",
    "accounting.payments": "View and manage your payments",
    "accounting.banktransactions": "View and manage your bank transactions",
    "accounting.manualjournals": "View and manage your manual journals",
    "accounting.journals.read": "View your general ledger",
    "accounting.reports.read": "View your reports",
    "payroll.employees": "View and manage your payroll employees",
    "payroll.settings": "View and manage your payroll settings",
    "payroll.timesheets": "View and manage your timesheets",
    "payroll.payruns": "View and manage your pay runs",
    "payroll.payslip": "View and manage your payslips",
    "projects": "View and manage your projects",
}


def describe(scope: str) -> str:
    """The consent screen's words for a scope."""
    if scope in _WORDS:
        return _WORDS[scope]
    if scope.endswith(".read") and scope[: -len(".read")] in _WORDS:
        base = _WORDS[scope[: -len(".read")]]
        return base.replace("View and manage", "View")
    return scope


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    return [s for s in scopes if s not in KNOWN_SCOPES]


def satisfies(granted: Iterable[str], accepted: Sequence[str], *, read: bool) -> bool:
    """True if the granted scopes open an endpoint declared with ``accepted`` base scopes.

    ``read`` is whether the call only reads (GET/HEAD); then ``<scope>.read`` also counts.
    An empty ``accepted`` means the endpoint needs no particular scope.
    """
    if not accepted:
        return True
    have = set(granted)
    for scope in accepted:
        if scope in have:
            return True
        if read and not scope.endswith(".read") and f"{scope}.read" in have:
            return True
    return False
