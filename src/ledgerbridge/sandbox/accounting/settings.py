"""Organisation, Accounts, TaxRates, Currencies, BrandingThemes and TrackingCategories
(XERO_API_NOTES 4.8-4.13): the settings every document refers to.

Bodies follow what the SDK sends (3.6): ``PUT /Accounts``, ``PUT /Currencies``, ``PUT
/TrackingCategories`` and the Options calls take a bare object; the rest the plural
wrapper. ``framework.read_elements`` accepts both everywhere.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ledgerbridge.sandbox.accounting import framework as fw
from ledgerbridge.sandbox.accounting import refdata, wire
from ledgerbridge.sandbox.accounting.framework import ElementError, Resource
from ledgerbridge.sandbox.errors import XeroTextError, not_found
from ledgerbridge.sandbox.guard import ApiContext, require_resource
from ledgerbridge.sandbox.models import Organisation, Record

__all__ = ["organisation_record", "router"]

router = APIRouter()
SETTINGS = require_resource("Organisation")
ACCOUNTS_DEP = require_resource("Accounts")
TAX_DEP = require_resource("TaxRates")
CURRENCY_DEP = require_resource("Currencies")
THEMES_DEP = require_resource("BrandingThemes")
TRACKING_DEP = require_resource("TrackingCategories")

ACCOUNT = Resource("Accounts", "AccountID", "Account", frozenset({
    "AccountID", "Code", "Name", "Type", "Status", "Description", "TaxType", "Class",
    "SystemAccount", "EnablePaymentsToAccount", "ShowInExpenseClaims", "BankAccountNumber",
    "BankAccountType", "CurrencyCode", "ReportingCode", "ReportingCodeName", "HasAttachments",
    "UpdatedDateUTC", "AddToWatchlist",
}), error_flag=None, status_attribute=False)
TAX_RATE = Resource("TaxRates", "TaxType", "TaxRate", frozenset({
    "Name", "TaxType", "TaxComponents", "Status", "ReportTaxType", "CanApplyToAssets",
    "CanApplyToEquity", "CanApplyToExpenses", "CanApplyToLiabilities", "CanApplyToRevenue",
    "DisplayTaxRate", "EffectiveRate",
}), error_flag=None, status_attribute=False)
CURRENCY = Resource("Currencies", "Code", "Currency", frozenset({"Code", "Description"}),
                    error_flag=None, status_attribute=False)
THEME = Resource("BrandingThemes", "BrandingThemeID", "BrandingTheme", frozenset({
    "BrandingThemeID", "Name", "LogoUrl", "Type", "SortOrder", "CreatedDateUTC",
}), error_flag=None, status_attribute=False)
TRACKING = Resource("TrackingCategories", "TrackingCategoryID", "TrackingCategory", frozenset({
    "TrackingCategoryID", "Name", "Status", "Options",
}), error_flag=None, status_attribute=False)
MAX_ACTIVE_TRACKING = 2
MAX_TRACKING = 4
_VERSIONS = {"AU", "NZ", "UK", "US"}
_FINANCIAL_YEAR_END = {"AU": (30, 6), "NZ": (31, 3), "UK": (31, 3), "US": (31, 12)}


# -- Organisation -----------------------------------------------------------------------------


def organisation_record(org: Organisation) -> dict[str, Any]:
    """Xero's Organisation, built from the sandbox's organisation (always one element)."""
    country = org.country_code.upper()
    day, month = _FINANCIAL_YEAR_END.get(country, (31, 12))
    return {
        "OrganisationID": org.tenant_id,
        "APIKey": "",
        "Name": org.name,
        "LegalName": org.legal_name or org.name,
        "PaysTax": True,
        "Version": country if country in _VERSIONS else "GLOBAL",
        "OrganisationType": org.organisation_type,
        "BaseCurrency": org.base_currency,
        "CountryCode": country,
        "IsDemoCompany": org.is_demo_company,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": day,
        "FinancialYearEndMonth": month,
        "SalesTaxBasis": "ACCRUALS",
        "SalesTaxPeriod": "QUARTERLY1",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Inclusive",
        "CreatedDateUTC": org.created_at,
        "OrganisationEntityType": org.organisation_type,
        "Timezone": org.timezone,
        "ShortCode": org.short_code,
        "Class": "DEMO" if org.is_demo_company else "PREMIUM",
        "Edition": "BUSINESS",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    }


@router.get("/Organisation")
async def get_organisation(ctx: ApiContext = Depends(SETTINGS)) -> Response:
    return fw.single_response(ctx, "Organisations", [wire.render(organisation_record(ctx.org))])


@router.post("/Organisation")
async def post_organisation(_ctx: ApiContext = Depends(SETTINGS)) -> Response:
    """Xero does not let the API change the organisation: 501."""
    raise XeroTextError(501, "The method is not implemented")


# -- Accounts ---------------------------------------------------------------------------------


def _render(record: Record) -> dict[str, Any]:
    rendered: dict[str, Any] = wire.render(fw.public(record))
    return rendered


def _text(element: dict[str, Any], name: str) -> str | None:
    value = element.get(name)
    if value is None:
        return None
    return str(value).strip()


def _apply_account(ctx: ApiContext, element: dict[str, Any], *, create: bool) -> dict[str, Any]:
    org = ctx.org
    existing: Record | None = None
    if not create:
        ident = _text(element, "AccountID") or ""
        existing = refdata.account_by_id(org, ident)
        if existing is None:
            raise ElementError("The account with the specified AccountID could not be found")
    record: Record = dict(existing) if existing else {
        "AccountID": fw.new_id(), "Status": "ACTIVE", "EnablePaymentsToAccount": False,
        "ShowInExpenseClaims": False, "HasAttachments": False, "AddToWatchlist": False,
        "BankAccountType": "",
    }
    for name in ("Code", "Name", "Type", "Description", "TaxType", "BankAccountNumber",
                 "BankAccountType", "CurrencyCode", "ReportingCode", "Status"):
        if name in element and element[name] is not None:
            record[name] = str(element[name]).strip()
    for name in ("EnablePaymentsToAccount", "ShowInExpenseClaims", "AddToWatchlist"):
        if isinstance(element.get(name), bool):
            record[name] = element[name]
    errors = []
    for name in ("Code", "Name", "Type"):
        if not record.get(name):
            errors.append(f"{name} is a required field")
    if record.get("Type") and record["Type"] not in refdata.ACCOUNT_CLASS:
        errors.append(f"Account type '{record['Type']}' is not valid")
    if record.get("Status") not in {"ACTIVE", "ARCHIVED"}:
        errors.append("An account's Status can only be ACTIVE or ARCHIVED")
    for other in org.records(refdata.ACCOUNTS).values():
        if other["AccountID"] == record["AccountID"] or other.get("Status") == "DELETED":
            continue
        if str(other.get("Code", "")).upper() == str(record.get("Code", "")).upper():
            errors.append("Please enter a unique Code.")
        if str(other.get("Name", "")).casefold() == str(record.get("Name", "")).casefold():
            errors.append("Please enter a unique Name.")
    if record.get("Type") == "BANK" and not record.get("BankAccountNumber"):
        errors.append("Bank Account Number is required for a bank account")
    if record.get("TaxType") and refdata.tax_rate(org, str(record["TaxType"])) is None:
        errors.append(f"The TaxType code {record['TaxType']} does not exist or cannot be used "
                      "for this type of transaction.")
    if errors:
        raise ElementError(*errors)
    record["Class"] = refdata.ACCOUNT_CLASS[record["Type"]]
    if record["Type"] == "BANK" and not record.get("BankAccountType"):
        record["BankAccountType"] = "BANK"
    record["UpdatedDateUTC"] = fw.now_ms(ctx)
    org.put_record(refdata.ACCOUNTS, record["AccountID"], record)
    return _render(record)


def _account_in_use(org: Organisation, account: Record) -> bool:
    code = account.get("Code")
    for collection in ("Invoices", "CreditNotes", "PurchaseOrders"):
        for document in org.records(collection).values():
            if any(line.get("AccountCode") == code for line in document.get("LineItems", [])):
                return True
    return any(p.get("_AccountID") == account["AccountID"] for p in org.records("Payments").values())


@router.get("/Accounts")
async def list_accounts(request: Request, ctx: ApiContext = Depends(ACCOUNTS_DEP)) -> Response:
    query = fw.ListQuery.parse(request)
    records = fw.select(ACCOUNT, ctx.org.iter_records(refdata.ACCOUNTS), query, default_order="Code",
                        extra=lambda r: r.get("Status") != "DELETED")
    return fw.list_response(ctx, ACCOUNT, records, query, _render)


@router.get("/Accounts/{account_id}")
async def get_account(account_id: str, ctx: ApiContext = Depends(ACCOUNTS_DEP)) -> Response:
    record = fw.find_one(ctx.org, ACCOUNT, account_id)
    return fw.single_response(ctx, "Accounts", [_render(record)])


@router.put("/Accounts")
async def create_account(request: Request, ctx: ApiContext = Depends(ACCOUNTS_DEP)) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, ACCOUNT,
                             lambda e: _apply_account(ctx, e, create=True))


@router.post("/Accounts/{account_id}")
async def update_account(
    account_id: str, request: Request, ctx: ApiContext = Depends(ACCOUNTS_DEP)
) -> Response:
    raw = await request.body()
    fw.find_one(ctx.org, ACCOUNT, account_id)
    return fw.write_endpoint(ctx, request, raw, ACCOUNT, lambda e: _apply_account(
        ctx, {**e, "AccountID": account_id}, create=False))


@router.delete("/Accounts/{account_id}")
async def delete_account(account_id: str, ctx: ApiContext = Depends(ACCOUNTS_DEP)) -> Response:
    """Only accounts without transactions can go; others must be archived (400)."""
    with ctx.state.transaction():
        record = dict(fw.find_one(ctx.org, ACCOUNT, account_id))
        if record.get("SystemAccount") or _account_in_use(ctx.org, record):
            raise wire.validation_exception([wire.element_errors(_render(record), [
                "This account cannot be deleted as it has transactions or is a system account. "
                "Archive it instead."])])
        record["Status"] = "DELETED"
        record["UpdatedDateUTC"] = fw.now_ms(ctx)
        ctx.org.put_record(refdata.ACCOUNTS, record["AccountID"], record)
    return fw.single_response(ctx, "Accounts", [_render(record)])


# -- TaxRates ---------------------------------------------------------------------------------


def _apply_tax_rate(ctx: ApiContext, element: dict[str, Any], *, create: bool) -> dict[str, Any]:
    """``PUT /TaxRates`` creates a custom rate (Xero gives it a ``TAX00n`` code); ``POST``
    updates one by ``TaxType`` or ``Name``."""
    org = ctx.org
    existing: Record | None = None
    if not create:
        tax_type = _text(element, "TaxType")
        name = _text(element, "Name")
        existing = refdata.tax_rate(org, tax_type) if tax_type else next(
            (r for r in org.records(refdata.TAX_RATES).values() if r.get("Name") == name), None)
        if existing is None:
            raise ElementError("The tax rate could not be found")
    name = _text(element, "Name") or (existing or {}).get("Name")
    if not name:
        raise ElementError("Name is a required field")
    components = element.get("TaxComponents", (existing or {}).get("TaxComponents"))
    if not isinstance(components, list) or not components:
        raise ElementError("At least one TaxComponent is required")
    parsed: list[dict[str, Any]] = []
    for component in components:
        rate = wire.parse_decimal(component.get("Rate", 0), "Rate")
        parsed.append({
            "Name": str(component.get("Name", name)),
            "Rate": rate.quantize(Decimal("0.0001")),
            "IsCompound": bool(component.get("IsCompound", False)),
            "IsNonRecoverable": bool(component.get("IsNonRecoverable", False)),
        })
    for other in org.records(refdata.TAX_RATES).values():
        if other.get("Name") == name and (existing is None or other is not existing):
            raise ElementError("Please enter a unique Name.")
    record: Record = dict(existing) if existing else {
        "TaxType": f"TAX{org.next_number('TAXRATE'):03d}", "Status": "ACTIVE",
        "ReportTaxType": element.get("ReportTaxType") or "OUTPUT",
        "CanApplyToAssets": True, "CanApplyToEquity": True, "CanApplyToExpenses": True,
        "CanApplyToLiabilities": True, "CanApplyToRevenue": True, "_Direction": "ANY",
    }
    effective = sum((Decimal(c["Rate"]) for c in parsed), Decimal(0)).quantize(Decimal("0.0001"))
    record.update(Name=name, TaxComponents=parsed, EffectiveRate=effective,
                  DisplayTaxRate=effective)
    if element.get("Status") in {"ACTIVE", "DELETED", "ARCHIVED"}:
        record["Status"] = element["Status"]
    org.put_record(refdata.TAX_RATES, record["TaxType"], record)
    return _render(record)


@router.get("/TaxRates")
async def list_tax_rates(request: Request, ctx: ApiContext = Depends(TAX_DEP)) -> Response:
    query = fw.ListQuery.parse(request)
    query.modified_since = None  # TaxRates ignore If-Modified-Since
    tax_type = fw.query_param(request, "TaxType")
    records = fw.select(TAX_RATE, ctx.org.iter_records(refdata.TAX_RATES), query,
                        default_order="Name",
                        extra=(lambda r: r.get("TaxType") == tax_type.upper()) if tax_type else None)
    return fw.list_response(ctx, TAX_RATE, records, query, _render)


@router.get("/TaxRates/{tax_type}")
async def get_tax_rate(tax_type: str, ctx: ApiContext = Depends(TAX_DEP)) -> Response:
    record = refdata.tax_rate(ctx.org, tax_type)
    if record is None:
        raise not_found()
    return fw.single_response(ctx, "TaxRates", [_render(record)])


@router.put("/TaxRates")
async def create_tax_rates(request: Request, ctx: ApiContext = Depends(TAX_DEP)) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, TAX_RATE,
                             lambda e: _apply_tax_rate(ctx, e, create=True))


@router.post("/TaxRates")
async def update_tax_rates(request: Request, ctx: ApiContext = Depends(TAX_DEP)) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, TAX_RATE,
                             lambda e: _apply_tax_rate(ctx, e, create=False))


# -- Currencies ---------------------------------------------------------------------------------


@router.get("/Currencies")
async def list_currencies(request: Request, ctx: ApiContext = Depends(CURRENCY_DEP)) -> Response:
    query = fw.ListQuery.parse(request)
    query.modified_since = None
    records = fw.select(CURRENCY, ctx.org.iter_records(refdata.CURRENCIES), query,
                        default_order="Code")
    return fw.list_response(ctx, CURRENCY, records, query, _render)


def _apply_currency(ctx: ApiContext, element: dict[str, Any]) -> dict[str, Any]:
    code = (_text(element, "Code") or "").upper()
    if len(code) != 3 or not code.isalpha():
        raise ElementError("A valid ISO 4217 currency Code is required")
    record = refdata.currency(ctx.org, code)
    if record is None:
        record = {"Code": code, "Description": _CURRENCY_NAMES.get(code, code), "_Rate": Decimal(1)}
        ctx.org.put_record(refdata.CURRENCIES, code, record)
    return _render(record)


_CURRENCY_NAMES = {
    "AUD": "Australian Dollar", "NZD": "New Zealand Dollar", "USD": "United States Dollar",
    "GBP": "British Pound", "EUR": "Euro", "CAD": "Canadian Dollar", "SGD": "Singapore Dollar",
    "JPY": "Japanese Yen", "FJD": "Fiji Dollar", "ZAR": "South African Rand",
}


@router.put("/Currencies")
async def create_currency(request: Request, ctx: ApiContext = Depends(CURRENCY_DEP)) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, CURRENCY, lambda e: _apply_currency(ctx, e))


# -- BrandingThemes -----------------------------------------------------------------------------


@router.get("/BrandingThemes")
async def list_themes(request: Request, ctx: ApiContext = Depends(THEMES_DEP)) -> Response:
    query = fw.ListQuery.parse(request)
    query.modified_since = None
    records = fw.select(THEME, ctx.org.iter_records(refdata.BRANDING_THEMES), query,
                        default_order="SortOrder")
    return fw.list_response(ctx, THEME, records, query, _render)


@router.get("/BrandingThemes/{theme_id}")
async def get_theme(theme_id: str, ctx: ApiContext = Depends(THEMES_DEP)) -> Response:
    record = fw.find_one(ctx.org, THEME, theme_id)
    return fw.single_response(ctx, "BrandingThemes", [_render(record)])


# -- TrackingCategories -------------------------------------------------------------------------


def _render_tracking(record: Record, include_archived: bool = True) -> dict[str, Any]:
    rendered = _render(record)
    rendered["Options"] = [
        option for option in rendered.get("Options", [])
        if option.get("Status") != "DELETED"
        and (include_archived or option.get("Status") == "ACTIVE")
    ]
    return rendered


def _apply_tracking(ctx: ApiContext, element: dict[str, Any], *, create: bool) -> dict[str, Any]:
    org = ctx.org
    live = [r for r in org.records(refdata.TRACKING_CATEGORIES).values()
            if r.get("Status") != "DELETED"]
    existing: Record | None = None
    if not create:
        existing = org.get_record(refdata.TRACKING_CATEGORIES,
                                  (_text(element, "TrackingCategoryID") or "").lower())
        if existing is None or existing.get("Status") == "DELETED":
            raise ElementError("The tracking category could not be found")
    record: Record = dict(existing) if existing else {
        "TrackingCategoryID": fw.new_id(), "Status": "ACTIVE", "Options": []}
    name = _text(element, "Name")
    if name is not None:
        record["Name"] = name
    if not record.get("Name"):
        raise ElementError("Name is a required field")
    if len(record["Name"]) > 100:
        raise ElementError("Name must be 100 characters or fewer")
    if element.get("Status") in {"ACTIVE", "ARCHIVED"}:
        record["Status"] = element["Status"]
    others = [r for r in live if r["TrackingCategoryID"] != record["TrackingCategoryID"]]
    if any(str(r.get("Name", "")).casefold() == record["Name"].casefold() for r in others):
        raise ElementError("Please enter a unique Name.")
    if existing is None and len(others) >= MAX_TRACKING:
        raise ElementError(f"You can only have {MAX_TRACKING} tracking categories.")
    if record["Status"] == "ACTIVE" and \
            sum(1 for r in others if r.get("Status") == "ACTIVE") >= MAX_ACTIVE_TRACKING:
        raise ElementError(f"You can only have {MAX_ACTIVE_TRACKING} active tracking categories.")
    org.put_record(refdata.TRACKING_CATEGORIES, record["TrackingCategoryID"], record)
    return _render_tracking(record)


def _tracking(ctx: ApiContext, category_id: str) -> Record:
    record = ctx.org.get_record(refdata.TRACKING_CATEGORIES, category_id.lower())
    if record is None or record.get("Status") == "DELETED":
        raise not_found()
    return record


@router.get("/TrackingCategories")
async def list_tracking(request: Request, ctx: ApiContext = Depends(TRACKING_DEP)) -> Response:
    query = fw.ListQuery.parse(request)
    query.modified_since = None
    wanted = {"ACTIVE", "ARCHIVED"} if query.include_archived else {"ACTIVE"}
    records = fw.select(TRACKING, ctx.org.iter_records(refdata.TRACKING_CATEGORIES), query,
                        default_order="Name", extra=lambda r: r.get("Status") in wanted)
    return fw.list_response(ctx, TRACKING, records, query,
                            lambda r: _render_tracking(r, query.include_archived))


@router.get("/TrackingCategories/{category_id}")
async def get_tracking(category_id: str, ctx: ApiContext = Depends(TRACKING_DEP)) -> Response:
    return fw.single_response(ctx, "TrackingCategories",
                              [_render_tracking(_tracking(ctx, category_id))])


@router.put("/TrackingCategories")
async def create_tracking(request: Request, ctx: ApiContext = Depends(TRACKING_DEP)) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, TRACKING,
                             lambda e: _apply_tracking(ctx, e, create=True))


@router.post("/TrackingCategories/{category_id}")
async def update_tracking(
    category_id: str, request: Request, ctx: ApiContext = Depends(TRACKING_DEP)
) -> Response:
    raw = await request.body()
    _tracking(ctx, category_id)
    return fw.write_endpoint(ctx, request, raw, TRACKING, lambda e: _apply_tracking(
        ctx, {**e, "TrackingCategoryID": category_id}, create=False))


def _tracking_in_use(org: Organisation, category_id: str, option_id: str | None = None) -> bool:
    for collection in ("Invoices", "CreditNotes", "PurchaseOrders"):
        for document in org.records(collection).values():
            for line in document.get("LineItems", []):
                for tag in line.get("Tracking", []):
                    if tag.get("TrackingCategoryID") == category_id and \
                            (option_id is None or tag.get("TrackingOptionID") == option_id):
                        return True
    return False


@router.delete("/TrackingCategories/{category_id}")
async def delete_tracking(category_id: str, ctx: ApiContext = Depends(TRACKING_DEP)) -> Response:
    """Used categories can only be archived (400), as at Xero."""
    with ctx.state.transaction():
        record = dict(_tracking(ctx, category_id))
        if _tracking_in_use(ctx.org, record["TrackingCategoryID"]):
            raise wire.validation_exception([wire.element_errors(_render_tracking(record), [
                "This tracking category has been used on transactions and cannot be deleted. "
                "Archive it instead."])])
        record["Status"] = "DELETED"
        ctx.org.put_record(refdata.TRACKING_CATEGORIES, record["TrackingCategoryID"], record)
    return fw.single_response(ctx, "TrackingCategories", [_render(record)])


def _apply_option(ctx: ApiContext, category_id: str, element: dict[str, Any],
                  option_id: str | None) -> dict[str, Any]:
    record = dict(_tracking(ctx, category_id))
    options = [dict(o) for o in record.get("Options", [])]
    name = _text(element, "Name")
    target: dict[str, Any] | None = None
    if option_id is not None:
        target = next((o for o in options if o["TrackingOptionID"] == option_id.lower()), None)
        if target is None:
            raise ElementError("The tracking option could not be found")
    elif not name:
        raise ElementError("Name is a required field")
    if name is not None:
        if len(name) > 100:
            raise ElementError("Name must be 100 characters or fewer")
        if any(o.get("Name", "").casefold() == name.casefold() and o is not target
               and o.get("Status") != "DELETED" for o in options):
            raise ElementError("Please enter a unique Name.")
    if target is None:
        target = {"TrackingOptionID": fw.new_id(), "Name": name, "Status": "ACTIVE",
                  "TrackingCategoryID": record["TrackingCategoryID"]}
        options.append(target)
    elif name is not None:
        target["Name"] = name
    if element.get("Status") in {"ACTIVE", "ARCHIVED"}:
        target["Status"] = element["Status"]
    record["Options"] = options
    ctx.org.put_record(refdata.TRACKING_CATEGORIES, record["TrackingCategoryID"], record)
    rendered: dict[str, Any] = wire.render(target)
    return rendered


OPTION = Resource("Options", "TrackingOptionID", "TrackingOption",
                  frozenset({"TrackingOptionID", "Name", "Status", "TrackingCategoryID"}),
                  error_flag=None, status_attribute=False)


@router.put("/TrackingCategories/{category_id}/Options")
async def create_option(
    category_id: str, request: Request, ctx: ApiContext = Depends(TRACKING_DEP)
) -> Response:
    raw = await request.body()
    _tracking(ctx, category_id)
    return fw.write_endpoint(ctx, request, raw, OPTION,
                             lambda e: _apply_option(ctx, category_id, e, None))


@router.post("/TrackingCategories/{category_id}/Options/{option_id}")
async def update_option(
    category_id: str, option_id: str, request: Request,
    ctx: ApiContext = Depends(TRACKING_DEP),
) -> Response:
    raw = await request.body()
    _tracking(ctx, category_id)
    return fw.write_endpoint(ctx, request, raw, OPTION,
                             lambda e: _apply_option(ctx, category_id, e, option_id))


@router.delete("/TrackingCategories/{category_id}/Options/{option_id}")
async def delete_option(
    category_id: str, option_id: str, ctx: ApiContext = Depends(TRACKING_DEP)
) -> Response:
    with ctx.state.transaction():
        record = dict(_tracking(ctx, category_id))
        options = [dict(o) for o in record.get("Options", [])]
        target = next((o for o in options if o["TrackingOptionID"] == option_id.lower()), None)
        if target is None or target.get("Status") == "DELETED":
            raise not_found()
        if _tracking_in_use(ctx.org, record["TrackingCategoryID"], target["TrackingOptionID"]):
            raise wire.validation_exception([wire.element_errors(target, [
                "This tracking option has been used on transactions and cannot be deleted. "
                "Archive it instead."])])
        target["Status"] = "DELETED"
        record["Options"] = options
        ctx.org.put_record(refdata.TRACKING_CATEGORIES, record["TrackingCategoryID"], record)
    return fw.single_response(ctx, "Options", [wire.render(target)])
