"""Demo accounting data for a new organisation, at any size.

Settings follow the organisation's country (an AU chart of accounts with GST rates, NZ and
UK with theirs, a plain fallback elsewhere). Contacts, invoices, payments, credit notes,
items and purchase orders are built as records directly (no HTTP, no validation pass per
record) from a random generator seeded by the tenant id, so the same organisation always
gets the same data and 100,000 contacts take seconds. Documents are priced with the same
``documents`` functions the API uses, so seeded totals obey the API's rules.

Sizes (``POST /_sandbox/seed`` ``sizes``): ``contacts`` (default 300), ``invoices``
(default 200), ``credit_notes``, ``purchase_orders`` (defaults scale with invoices).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ledgerbridge.money import round_money
from ledgerbridge.sandbox.accounting import documents, refdata
from ledgerbridge.sandbox.accounting.credit_notes import CREDIT_NOTE_KIND
from ledgerbridge.sandbox.accounting.invoices import INVOICE_KIND
from ledgerbridge.sandbox.accounting.purchase_orders import PURCHASE_ORDER_KIND
from ledgerbridge.sandbox.models import Organisation, Record

if TYPE_CHECKING:
    from ledgerbridge.sandbox.state import SandboxState

__all__ = ["SeedSizes", "seed_accounting"]

FOUR = Decimal("0.0001")


@dataclass(frozen=True)
class SeedSizes:
    contacts: int = 300
    invoices: int = 200
    credit_notes: int = -1
    purchase_orders: int = -1

    @classmethod
    def from_mapping(cls, sizes: dict[str, int]) -> SeedSizes:
        base = cls(**{k: int(v) for k, v in sizes.items() if k in cls.__dataclass_fields__})
        notes = base.credit_notes if base.credit_notes >= 0 else max(3, base.invoices // 20)
        orders = base.purchase_orders if base.purchase_orders >= 0 else max(3, base.invoices // 20)
        return cls(base.contacts, base.invoices, notes, orders)


# -- settings per country -----------------------------------------------------------------------

# (code, name, type, tax kind, extras). Tax kind: S sales, P purchases, X excluded.
_CHART: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("090", "Business Bank Account", "BANK", "X",
     {"BankAccountNumber": "062-000 12345678", "EnablePaymentsToAccount": True}),
    ("091", "Business Savings Account", "BANK", "X", {"BankAccountNumber": "062-000 87654321"}),
    ("200", "Sales", "REVENUE", "S", {}),
    ("260", "Other Revenue", "REVENUE", "S", {}),
    ("270", "Interest Income", "REVENUE", "X", {}),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "P", {}),
    ("400", "Advertising", "EXPENSE", "P", {}),
    ("404", "Bank Fees", "EXPENSE", "X", {}),
    ("408", "Cleaning", "EXPENSE", "P", {}),
    ("412", "Consulting & Accounting", "EXPENSE", "P", {}),
    ("420", "Entertainment", "EXPENSE", "X", {}),
    ("425", "Freight & Courier", "EXPENSE", "P", {}),
    ("429", "General Expenses", "EXPENSE", "P", {}),
    ("433", "Insurance", "EXPENSE", "P", {}),
    ("445", "Light, Power, Heating", "EXPENSE", "P", {}),
    ("449", "Motor Vehicle Expenses", "EXPENSE", "P", {}),
    ("453", "Office Expenses", "EXPENSE", "P", {}),
    ("461", "Printing & Stationery", "EXPENSE", "P", {}),
    ("469", "Rent", "EXPENSE", "P", {}),
    ("473", "Repairs and Maintenance", "EXPENSE", "P", {}),
    ("477", "Wages and Salaries", "EXPENSE", "X", {}),
    ("478", "Superannuation", "EXPENSE", "X", {}),
    ("485", "Subscriptions", "EXPENSE", "P", {}),
    ("489", "Telephone & Internet", "EXPENSE", "P", {}),
    ("493", "Travel - National", "EXPENSE", "P", {}),
    ("494", "Travel - International", "EXPENSE", "X", {}),
    ("610", "Accounts Receivable", "CURRENT", "X", {"SystemAccount": "DEBTORS"}),
    ("620", "Prepayments", "CURRENT", "X", {}),
    ("630", "Inventory", "INVENTORY", "X", {}),
    ("710", "Office Equipment", "FIXED", "P", {}),
    ("720", "Computer Equipment", "FIXED", "P", {}),
    ("800", "Accounts Payable", "CURRLIAB", "X", {"SystemAccount": "CREDITORS"}),
    ("820", "GST", "CURRLIAB", "X", {"SystemAccount": "GST"}),
    ("825", "PAYG Withholdings Payable", "CURRLIAB", "X", {}),
    ("826", "Superannuation Payable", "CURRLIAB", "X", {}),
    ("880", "Owner A Drawings", "EQUITY", "X", {}),
    ("960", "Retained Earnings", "EQUITY", "X", {"SystemAccount": "RETAINEDEARNINGS"}),
    ("970", "Owner A Funds Introduced", "EQUITY", "X", {}),
]


@dataclass(frozen=True)
class _TaxSpec:
    tax_type: str
    name: str
    rate: str
    report: str
    direction: str
    revenue: bool = True
    expenses: bool = True


@dataclass(frozen=True)
class _Country:
    sales: str
    purchases: str
    excluded: str
    currencies: tuple[str, ...]
    rates: tuple[_TaxSpec, ...]


_COUNTRIES: dict[str, _Country] = {
    "AU": _Country("OUTPUT", "INPUT", "BASEXCLUDED", ("USD", "NZD"), (
        _TaxSpec("OUTPUT", "GST on Income", "10.0000", "OUTPUT", "SALES", expenses=False),
        _TaxSpec("INPUT", "GST on Expenses", "10.0000", "INPUT", "PURCHASES", revenue=False),
        _TaxSpec("EXEMPTOUTPUT", "GST Free Income", "0.0000", "EXEMPTOUTPUT", "SALES",
                 expenses=False),
        _TaxSpec("EXEMPTEXPENSES", "GST Free Expenses", "0.0000", "EXEMPTEXPENSES", "PURCHASES",
                 revenue=False),
        _TaxSpec("EXEMPTEXPORT", "GST Free Exports", "0.0000", "EXEMPTEXPORT", "SALES",
                 expenses=False),
        _TaxSpec("INPUTTAXED", "Input Taxed", "0.0000", "INPUTTAXED", "ANY"),
        _TaxSpec("BASEXCLUDED", "BAS Excluded", "0.0000", "BASEXCLUDED", "ANY"),
        _TaxSpec("GSTONIMPORTS", "GST on Imports", "0.0000", "GSTONIMPORTS", "PURCHASES",
                 revenue=False),
        _TaxSpec("CAPEXINPUT", "GST on Capital", "10.0000", "INPUT", "PURCHASES", revenue=False),
    )),
    "NZ": _Country("OUTPUT2", "INPUT2", "NONE", ("AUD", "USD"), (
        _TaxSpec("OUTPUT2", "15% GST on Income", "15.0000", "OUTPUT", "SALES", expenses=False),
        _TaxSpec("INPUT2", "15% GST on Expenses", "15.0000", "INPUT", "PURCHASES",
                 revenue=False),
        _TaxSpec("ZERORATED", "Zero Rated", "0.0000", "OUTPUT", "SALES", expenses=False),
        _TaxSpec("EXEMPTINPUT", "Exempt Expenses", "0.0000", "EXEMPTINPUT", "PURCHASES",
                 revenue=False),
        _TaxSpec("GSTONIMPORTS", "GST on Imports", "0.0000", "GSTONIMPORTS", "PURCHASES",
                 revenue=False),
        _TaxSpec("NONE", "No GST", "0.0000", "NONE", "ANY"),
    )),
    "GB": _Country("OUTPUT2", "INPUT2", "NONE", ("EUR", "USD"), (
        _TaxSpec("OUTPUT2", "20% (VAT on Income)", "20.0000", "OUTPUT", "SALES", expenses=False),
        _TaxSpec("INPUT2", "20% (VAT on Expenses)", "20.0000", "INPUT", "PURCHASES",
                 revenue=False),
        _TaxSpec("ZERORATEDOUTPUT", "Zero Rated Income", "0.0000", "OUTPUT", "SALES",
                 expenses=False),
        _TaxSpec("ZERORATEDINPUT", "Zero Rated Expenses", "0.0000", "INPUT", "PURCHASES",
                 revenue=False),
        _TaxSpec("NONE", "No VAT", "0.0000", "NONE", "ANY"),
    )),
}
_COUNTRIES["UK"] = _COUNTRIES["GB"]
_FALLBACK = _Country("OUTPUT", "INPUT", "NONE", ("USD",), (
    _TaxSpec("OUTPUT", "Tax on Sales", "10.0000", "OUTPUT", "SALES", expenses=False),
    _TaxSpec("INPUT", "Tax on Purchases", "10.0000", "INPUT", "PURCHASES", revenue=False),
    _TaxSpec("NONE", "Tax Exempt", "0.0000", "NONE", "ANY"),
))
_CURRENCY_NAMES = {"AUD": "Australian Dollar", "NZD": "New Zealand Dollar",
                   "USD": "United States Dollar", "EUR": "Euro", "GBP": "British Pound",
                   "CAD": "Canadian Dollar"}
_RATES = {"USD": "0.652300", "NZD": "1.091200", "AUD": "0.916400", "EUR": "0.601100",
          "GBP": "0.513200", "CAD": "0.889100"}


class _Ids:
    """Reproducible uuid4-shaped ids from the seeded generator (fast, no os.urandom)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def _seed_settings(org: Organisation, country: _Country, ids: _Ids, now: datetime) -> None:
    for spec in country.rates:
        rate = Decimal(spec.rate)
        org.put_record(refdata.TAX_RATES, spec.tax_type, {
            "Name": spec.name, "TaxType": spec.tax_type, "Status": "ACTIVE",
            "ReportTaxType": spec.report,
            "TaxComponents": [{"Name": spec.name.split(" on ")[0], "Rate": rate,
                               "IsCompound": False, "IsNonRecoverable": False}],
            "CanApplyToAssets": spec.expenses, "CanApplyToEquity": True,
            "CanApplyToExpenses": spec.expenses, "CanApplyToLiabilities": True,
            "CanApplyToRevenue": spec.revenue, "DisplayTaxRate": rate, "EffectiveRate": rate,
            "_Direction": spec.direction,
        })
    tax_for = {"S": country.sales, "P": country.purchases, "X": country.excluded}
    for code, name, kind, tax, extras in _CHART:
        tax_type = tax_for[tax] if kind not in {"FIXED"} else country.purchases
        record: Record = {
            "AccountID": ids(), "Code": code, "Name": name, "Type": kind, "Status": "ACTIVE",
            "TaxType": tax_type, "Class": refdata.ACCOUNT_CLASS[kind],
            "EnablePaymentsToAccount": False, "ShowInExpenseClaims": kind == "EXPENSE",
            "BankAccountType": "BANK" if kind == "BANK" else "", "HasAttachments": False,
            "AddToWatchlist": False, "UpdatedDateUTC": now, **extras,
        }
        if kind == "BANK":
            record["CurrencyCode"] = org.base_currency
        org.put_record(refdata.ACCOUNTS, record["AccountID"], record)
    for code in (org.base_currency, *country.currencies):
        known = code != org.base_currency and code in _RATES
        rate = Decimal(_RATES[code]) if known else Decimal(1)
        org.put_record(refdata.CURRENCIES, code, {
            "Code": code, "Description": _CURRENCY_NAMES.get(code, code), "_Rate": rate})
    for order, name in enumerate(("Standard", "Special Projects")):
        theme_id = ids()
        org.put_record(refdata.BRANDING_THEMES, theme_id, {
            "BrandingThemeID": theme_id, "Name": name, "Type": "INVOICE", "SortOrder": order,
            "CreatedDateUTC": now - timedelta(days=400 - order)})
    for name, options in (("Region", ("North", "South", "East", "West")),
                          ("Department", ("Sales", "Operations", "Administration"))):
        category_id = ids()
        org.put_record(refdata.TRACKING_CATEGORIES, category_id, {
            "TrackingCategoryID": category_id, "Name": name, "Status": "ACTIVE",
            "Options": [{"TrackingOptionID": ids(), "Name": option, "Status": "ACTIVE",
                         "TrackingCategoryID": category_id} for option in options]})


_ITEMS = [
    ("CONSULT", "Consulting (hour)", "150.00", "200", "412"),
    ("DESIGN", "Design work (hour)", "120.00", "200", "412"),
    ("SUPPORT", "Support plan (month)", "450.00", "200", "485"),
    ("TRAVEL", "Travel (km)", "0.9500", "260", "493"),
    ("WORKSHOP", "Workshop (day)", "1800.00", "200", "412"),
    ("LICENCE", "Software licence", "99.00", "200", "485"),
    ("PRINT", "Printing", "35.00", "260", "461"),
    ("COURIER", "Courier delivery", "25.00", "260", "425"),
]


def _seed_items(org: Organisation, country: _Country, ids: _Ids, now: datetime) -> None:
    for code, name, price, sales_account, purchase_account in _ITEMS:
        item_id = ids()
        unit = Decimal(price).quantize(FOUR)
        org.put_record("Items", item_id, {
            "ItemID": item_id, "Code": code, "Name": name, "Description": name,
            "PurchaseDescription": name, "IsSold": True, "IsPurchased": True,
            "IsTrackedAsInventory": False, "UpdatedDateUTC": now,
            "SalesDetails": {"UnitPrice": unit, "AccountCode": sales_account,
                             "TaxType": country.sales},
            "PurchaseDetails": {"UnitPrice": round_money(unit * Decimal("0.6")).quantize(FOUR),
                                "AccountCode": purchase_account, "TaxType": country.purchases},
        })


# -- contacts ---------------------------------------------------------------------------------

_FIRST = ("Olivia", "Jack", "Charlotte", "William", "Amelia", "Noah", "Isla", "Thomas", "Mia",
          "Lucas", "Grace", "Henry", "Chloe", "Oliver", "Zoe", "James", "Ruby", "Leo", "Ella",
          "Samuel", "Priya", "Arjun", "Mei", "Hiroshi", "Fatima", "Mateo", "Sofia", "Liam")
_LAST = ("Smith", "Nguyen", "Williams", "Brown", "Wilson", "Taylor", "Johnson", "White",
         "Martin", "Anderson", "Thompson", "Walker", "Harris", "Lee", "Ryan", "Robinson",
         "Kelly", "King", "Patel", "Chen", "Singh", "Murphy", "Campbell", "Mitchell")
_PLACE = ("Bayside", "Harbour", "Summit", "Coastal", "Northern", "Riverside", "Granite",
          "Eucalyptus", "Southern Cross", "Redgum", "Blue Mountain", "Wattle", "Parkside",
          "Sandstone", "Lighthouse", "Ironbark", "Kookaburra", "Meridian", "Pacific", "Outback")
_TRADE = ("Plumbing", "Electrical", "Landscaping", "Consulting", "Design", "Logistics",
          "Catering", "Cleaning", "Joinery", "Printing", "Media", "Accounting", "Legal",
          "Engineering", "Software", "Hardware", "Roofing", "Physio", "Dental", "Couriers")
_SUFFIX = ("Pty Ltd", "Co", "Group", "Services", "Partners", "& Sons", "Studio", "Supplies")
_PLACES: dict[str, tuple[str, str, tuple[tuple[str, str, str], ...]]] = {
    "AU": ("Australia", "61", (("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000"),
                               ("Brisbane", "QLD", "4000"), ("Perth", "WA", "6000"),
                               ("Adelaide", "SA", "5000"), ("Hobart", "TAS", "7000"))),
    "NZ": ("New Zealand", "64", (("Auckland", "Auckland", "1010"),
                                 ("Wellington", "Wellington", "6011"),
                                 ("Christchurch", "Canterbury", "8011"),
                                 ("Dunedin", "Otago", "9016"))),
    "GB": ("United Kingdom", "44", (("London", "", "EC1A 1BB"), ("Manchester", "", "M1 1AE"),
                                    ("Leeds", "", "LS1 1UR"), ("Bristol", "", "BS1 4DJ"))),
}


def _contact_name(rng: random.Random, index: int, taken: set[str]) -> tuple[str, str, str]:
    """A unique, plausible name: mostly companies, some people (first, last given)."""
    if rng.random() < 0.25:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        name = f"{first} {last}"
    else:
        first = last = ""
        name = f"{rng.choice(_PLACE)} {rng.choice(_TRADE)} {rng.choice(_SUFFIX)}"
    if name.casefold() in taken:
        name = f"{name} ({index + 1})"
    taken.add(name.casefold())
    return name, first, last


def _seed_contacts(org: Organisation, count: int, rng: random.Random, ids: _Ids,
                   now: datetime) -> list[Record]:
    taken = {str(c.get("Name", "")).casefold() for c in org.records("Contacts").values()}
    country, dialling, cities = _PLACES.get(org.country_code.upper().replace("UK", "GB"),
                                            _PLACES["AU"])
    created = []
    for index in range(count):
        name, first, last = _contact_name(rng, index, taken)
        city, region, postcode = rng.choice(cities)
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20] or "contact"
        contact_id = ids()
        record: Record = {
            "ContactID": contact_id,
            "ContactNumber": f"C{index + 1:06d}",
            "ContactStatus": "ARCHIVED" if rng.random() < 0.05 else "ACTIVE",
            "Name": name,
            "FirstName": first,
            "LastName": last,
            "EmailAddress": f"accounts@{slug}.example.com",
            "IsSupplier": False,
            "IsCustomer": False,
            "HasAttachments": False,
            "HasValidationErrors": False,
            "Addresses": [
                {"AddressType": "STREET", "AddressLine1": f"{rng.randint(1, 400)} Queen Street",
                 "City": city, "Region": region, "PostalCode": postcode, "Country": country},
                {"AddressType": "POBOX", "AddressLine1": f"PO Box {rng.randint(100, 9999)}",
                 "City": city, "Region": region, "PostalCode": postcode, "Country": country},
            ],
            "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": f"{rng.randint(8000000, 9999999)}",
                        "PhoneAreaCode": "0" + str(rng.randint(2, 9)),
                        "PhoneCountryCode": dialling}],
            "ContactPersons": [],
            "UpdatedDateUTC": now - timedelta(minutes=count - index),
        }
        org.put_record("Contacts", contact_id, record)
        created.append(record)
    return created


# -- documents --------------------------------------------------------------------------------

_SALES_LINES = (("Consulting services", "200"), ("Design work", "200"),
                ("Monthly support plan", "200"), ("Project management", "260"))
_PURCHASE_LINES = (("Office supplies", "453"), ("Advertising campaign", "400"),
                   ("Courier charges", "425"), ("Software subscription", "485"),
                   ("Cleaning services", "408"))


def _lines(rng: random.Random, sales: bool) -> list[dict[str, Any]]:
    catalogue = _SALES_LINES if sales else _PURCHASE_LINES
    return [
        {"Description": description, "AccountCode": account,
         "Quantity": Decimal(rng.randint(1, 12)),
         "UnitAmount": Decimal(rng.randint(2000, 250000)) / 100}
        for description, account in rng.sample(catalogue, rng.randint(1, 3))
    ]


def _document(org: Organisation, kind: documents.DocKind, doc_type: str, contact: Record,
              status: str, day: Any, rng: random.Random, ids: _Ids,
              stamp: datetime) -> Record:
    direction, flag = kind.types[doc_type]
    label, amount_type = documents.line_amount_types(
        rng.choice(("Exclusive", "Exclusive", "Inclusive")))
    lines, problems = documents.build_lines(
        org, _lines(rng, direction == "SALES"), [], amount_type, direction,
        allow_discount=kind.allow_discount)
    assert not problems, problems
    record: Record = {
        kind.resource.id_field: ids(), "Status": status, "LineItems": lines,
        "LineAmountTypes": label, "Date": day, "DueDate": day + timedelta(days=30),
        "CurrencyCode": org.base_currency, "CurrencyRate": Decimal("1.000000"),
        "HasAttachments": False, "_PaymentIDs": [],
        "_ContactID": contact["ContactID"], "UpdatedDateUTC": stamp, "Reference": "",
        **kind.extra_defaults,
    }
    if kind.resource.error_flag:
        record[kind.resource.error_flag] = False
    if doc_type:
        record["Type"] = doc_type
    prefix = kind.auto_number.get(doc_type)
    record[kind.number_field] = f"{prefix}-{org.next_number(prefix):04d}" if prefix else \
        f"SUP-{rng.randint(10000, 99999)}"
    record.update(documents.totals(lines, amount_type))
    documents.refresh_balances(org, kind, record)
    if not contact.get(flag):
        contact[flag] = True
        org.put_record("Contacts", contact["ContactID"], contact)
    return record


def _pay(org: Organisation, document: Record, amount: Decimal, day: Any, bank: Record,
         ids: _Ids, stamp: datetime) -> None:
    payment_id = ids()
    org.put_record("Payments", payment_id, {
        "PaymentID": payment_id, "Date": day, "Amount": amount, "BankAmount": amount,
        "CurrencyRate": Decimal("1.000000"), "Reference": "", "IsReconciled": True,
        "Status": "AUTHORISED",
        "PaymentType": "ACCRECPAYMENT" if document["Type"] == "ACCREC" else "ACCPAYPAYMENT",
        "HasAccount": True, "HasValidationErrors": False, "_AccountID": bank["AccountID"],
        "_DocumentCollection": "Invoices", "_DocumentID": document["InvoiceID"],
        "UpdatedDateUTC": stamp,
    })
    document["_PaymentIDs"] = [*document["_PaymentIDs"], payment_id]


_STATUSES = (("DRAFT", 15), ("SUBMITTED", 5), ("AUTHORISED", 40), ("PAID", 35), ("VOIDED", 5))


def _seed_documents(org: Organisation, sizes: SeedSizes, contacts_: list[Record],
                    rng: random.Random, ids: _Ids, now: datetime) -> None:
    active = [c for c in contacts_ if c["ContactStatus"] == "ACTIVE"]
    if not active:
        return
    bank = refdata.account_by_code(org, "090")
    assert bank is not None
    statuses = [s for s, weight in _STATUSES for _ in range(weight)]
    for index in range(sizes.invoices):
        doc_type = "ACCREC" if rng.random() < 0.7 else "ACCPAY"
        status = rng.choice(statuses)
        day = (now - timedelta(days=rng.randint(0, 180))).date()
        stamp = now - timedelta(seconds=(sizes.invoices - index) * 7)
        record = _document(org, INVOICE_KIND, doc_type, rng.choice(active),
                           "AUTHORISED" if status == "PAID" else status, day, rng, ids, stamp)
        if status == "PAID" or (status == "AUTHORISED" and rng.random() < 0.2):
            full = record["AmountDue"]
            amount = full if status == "PAID" else round_money(full / 2)
            _pay(org, record, amount, min(day + timedelta(days=rng.randint(1, 30)), now.date()),
                 bank, ids, stamp)
            documents.refresh_balances(org, INVOICE_KIND, record)
        org.put_record("Invoices", record["InvoiceID"], record)
    for _ in range(sizes.credit_notes):
        doc_type = rng.choice(("ACCRECCREDIT", "ACCPAYCREDIT"))
        day = (now - timedelta(days=rng.randint(0, 90))).date()
        record = _document(org, CREDIT_NOTE_KIND, doc_type, rng.choice(active),
                           rng.choice(("DRAFT", "AUTHORISED")), day, rng, ids, now)
        org.put_record("CreditNotes", record["CreditNoteID"], record)
    for _ in range(sizes.purchase_orders):
        day = (now - timedelta(days=rng.randint(0, 60))).date()
        record = _document(org, PURCHASE_ORDER_KIND, "", rng.choice(active),
                           rng.choice(("DRAFT", "SUBMITTED", "AUTHORISED", "BILLED")), day, rng,
                           ids, now)
        record.pop("DueDate", None)
        record["DeliveryDate"] = day + timedelta(days=14)
        org.put_record("PurchaseOrders", record["PurchaseOrderID"], record)


def seed_accounting(state: SandboxState, org: Organisation, sizes: dict[str, int]) -> None:
    """The seeder registered with the sandbox (``extensions.SeedFunction``)."""
    wanted = SeedSizes.from_mapping(sizes)
    rng = random.Random(org.tenant_id)
    ids = _Ids(rng)
    moment = state.clock.now()
    now = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    country = _COUNTRIES.get(org.country_code.upper(), _FALLBACK)
    if not org.records(refdata.ACCOUNTS):
        _seed_settings(org, country, ids, now)
        _seed_items(org, country, ids, now)
    created = _seed_contacts(org, wanted.contacts, rng, ids, now)
    _seed_documents(org, wanted, created, rng, ids, now)
