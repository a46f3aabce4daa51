"""Lookups over an organisation's settings that the document rules depend on: accounts,
tax rates, currencies, branding themes and tracking categories (XERO_API_NOTES 4.8-4.12).

Kept apart from the routes so invoices, credit notes, items and payments validate against
one definition of "a valid account code" and "a tax type this account may use".
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ledgerbridge.sandbox.models import Organisation, Record

__all__ = [
    "ACCOUNTS",
    "ACCOUNT_CLASS",
    "BRANDING_THEMES",
    "CURRENCIES",
    "TAX_RATES",
    "TRACKING_CATEGORIES",
    "account_by_code",
    "account_by_id",
    "currency",
    "resolve_line_account",
    "tax_rate",
    "tax_rate_percent",
]

ACCOUNTS = "Accounts"
TAX_RATES = "TaxRates"
CURRENCIES = "Currencies"
BRANDING_THEMES = "BrandingThemes"
TRACKING_CATEGORIES = "TrackingCategories"

ACCOUNT_CLASS = {
    "BANK": "ASSET", "CURRENT": "ASSET", "FIXED": "ASSET", "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET", "PREPAYMENT": "ASSET",
    "CURRLIAB": "LIABILITY", "LIABILITY": "LIABILITY", "TERMLIAB": "LIABILITY",
    "PAYG": "LIABILITY", "PAYGLIABILITY": "LIABILITY", "SUPERANNUATIONLIABILITY": "LIABILITY",
    "WAGESPAYABLELIABILITY": "LIABILITY",
    "EQUITY": "EQUITY",
    "DEPRECIATN": "EXPENSE", "DIRECTCOSTS": "EXPENSE", "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE", "SUPERANNUATIONEXPENSE": "EXPENSE", "WAGESEXPENSE": "EXPENSE",
    "OTHERINCOME": "REVENUE", "REVENUE": "REVENUE", "SALES": "REVENUE",
}
"""Xero derives an account's read-only ``Class`` from its ``Type``."""

_CAN_APPLY = {
    "ASSET": "CanApplyToAssets",
    "EQUITY": "CanApplyToEquity",
    "EXPENSE": "CanApplyToExpenses",
    "LIABILITY": "CanApplyToLiabilities",
    "REVENUE": "CanApplyToRevenue",
}


def account_by_code(org: Organisation, code: str) -> Record | None:
    wanted = code.strip().upper()
    return next(
        (a for a in org.records(ACCOUNTS).values() if str(a.get("Code", "")).upper() == wanted),
        None,
    )


def account_by_id(org: Organisation, account_id: str) -> Record | None:
    return org.get_record(ACCOUNTS, account_id.lower())


def tax_rate(org: Organisation, tax_type: str) -> Record | None:
    return org.get_record(TAX_RATES, tax_type.strip().upper())


def tax_rate_percent(rate: Record) -> Decimal:
    """The rate a line is taxed at: the sum of components (compounding is not used by the
    AU and NZ rates the sandbox seeds)."""
    effective = rate.get("EffectiveRate")
    if isinstance(effective, Decimal):
        return effective
    return sum((Decimal(str(c.get("Rate", 0))) for c in rate.get("TaxComponents", [])), Decimal(0))


def currency(org: Organisation, code: str) -> Record | None:
    return org.get_record(CURRENCIES, code.strip().upper())


def _invalid_account(code: str) -> str:
    return f"Account code '{code}' is not a valid code for this document."


def _invalid_tax(tax_type: str) -> str:
    return (f"The TaxType code {tax_type} does not exist or cannot be used for this type of "
            "transaction.")


def resolve_line_account(
    org: Organisation, line: Mapping[str, Any], direction: str
) -> tuple[Record | None, Record | None, list[str]]:
    """The account and tax rate of a line, with Xero's messages for what is wrong.

    ``direction`` is ``SALES`` or ``PURCHASES``: sales documents take output tax types,
    purchases input ones (a tax rate's ``_Direction`` says which; ``ANY`` fits both), and
    the tax rate must be allowed on the account's class (``CanApplyToRevenue``...). Bank
    and system accounts (receivables, payables, GST) are not valid on document lines.
    """
    errors: list[str] = []
    account: Record | None = None
    code = line.get("AccountCode")
    account_id = line.get("AccountID")
    if code:
        account = account_by_code(org, str(code))
        if account is None or account.get("Status") != "ACTIVE":
            errors.append(_invalid_account(str(code)))
            account = None
    elif account_id:
        account = account_by_id(org, str(account_id))
        if account is None or account.get("Status") != "ACTIVE":
            errors.append(_invalid_account(str(account_id)))
            account = None
    if account is not None and (account.get("Type") == "BANK" or account.get("SystemAccount")):
        errors.append(_invalid_account(str(account.get("Code"))))
        account = None
    rate: Record | None = None
    tax_type = line.get("TaxType") or (account.get("TaxType") if account else None)
    if tax_type:
        rate = tax_rate(org, str(tax_type))
        usable = rate is not None and rate.get("Status") == "ACTIVE" and \
            rate.get("_Direction", "ANY") in {"ANY", direction}
        if usable and account is not None and rate is not None:
            flag = _CAN_APPLY.get(str(account.get("Class")), "")
            usable = bool(rate.get(flag, True))
        if not usable:
            errors.append(_invalid_tax(str(tax_type)))
            rate = None
    return account, rate, errors
