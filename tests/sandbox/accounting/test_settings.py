"""Organisation, Accounts, TaxRates, Currencies, BrandingThemes, TrackingCategories, Items
and PurchaseOrders over HTTP, every call checked against the spec."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from tests.sandbox.accounting.conftest import Sandbox

BASE = "/api.xro/2.0"


def _messages(response: Any) -> list[str]:
    return [e["Message"] for e in response.json()["Elements"][0]["ValidationErrors"]]


def test_organisation(sandbox: Sandbox) -> None:
    body = sandbox.api.get(f"{BASE}/Organisation").json()
    (organisation,) = body["Organisations"]
    assert organisation["OrganisationID"] == sandbox.org.tenant_id
    assert (organisation["BaseCurrency"], organisation["CountryCode"], organisation["Version"]) == (
        "AUD", "AU", "AU")
    assert organisation["CreatedDateUTC"].endswith("+0000)/")
    # Not an operation of the spec (Xero answers 501), so only the raw client sends it.
    assert sandbox.raw.post(f"{BASE}/Organisation", json={}).status_code == 501


def test_accounts_chart_and_crud(sandbox: Sandbox) -> None:
    accounts = sandbox.api.get(f"{BASE}/Accounts").json()["Accounts"]
    by_code = {a["Code"]: a for a in accounts}
    assert by_code["090"]["Type"] == "BANK" and by_code["090"]["EnablePaymentsToAccount"] is True
    assert by_code["200"]["Class"] == "REVENUE" and by_code["200"]["TaxType"] == "OUTPUT"
    assert by_code["610"]["SystemAccount"] == "DEBTORS"
    revenue = sandbox.api.get(f"{BASE}/Accounts", params={"where": 'Class=="REVENUE"'}).json()
    assert {a["Class"] for a in revenue["Accounts"]} == {"REVENUE"}
    created = sandbox.api.put(f"{BASE}/Accounts", json={"Code": "201", "Name": "Sales - Online",
                                                        "Type": "SALES", "TaxType": "OUTPUT"})
    assert created.status_code == 200, created.text
    account = created.json()["Accounts"][0]
    duplicate = sandbox.api.put(f"{BASE}/Accounts", json={"Code": "202", "Name": "Sales - Online",
                                                          "Type": "SALES"})
    assert "Please enter a unique Name." in _messages(duplicate)
    archived = sandbox.api.post(f"{BASE}/Accounts/{account['AccountID']}",
                                json={"Accounts": [{"Status": "ARCHIVED"}]})
    assert archived.json()["Accounts"][0]["Status"] == "ARCHIVED"
    deleted = sandbox.api.delete(f"{BASE}/Accounts/{account['AccountID']}")
    assert deleted.json()["Accounts"][0]["Status"] == "DELETED"
    in_use = sandbox.api.delete(f"{BASE}/Accounts/{by_code['200']['AccountID']}")
    assert in_use.status_code == 400


def test_tax_rates(sandbox: Sandbox) -> None:
    rates = json.loads(sandbox.api.get(f"{BASE}/TaxRates").content, parse_float=Decimal)
    by_type = {r["TaxType"]: r for r in rates["TaxRates"]}
    assert {"OUTPUT", "INPUT", "EXEMPTOUTPUT", "EXEMPTEXPENSES", "BASEXCLUDED",
            "GSTONIMPORTS"} <= set(by_type)
    assert by_type["OUTPUT"]["EffectiveRate"] == Decimal("10.0000")
    assert by_type["OUTPUT"]["CanApplyToRevenue"] is True
    one = sandbox.api.get(f"{BASE}/TaxRates/INPUT").json()["TaxRates"]
    assert one[0]["Name"] == "GST on Expenses"
    created = sandbox.api.put(f"{BASE}/TaxRates", json={"TaxRates": [{
        "Name": "Luxury Car Tax", "TaxComponents": [{"Name": "LCT", "Rate": 33}]}]})
    assert created.status_code == 200, created.text
    assert created.json()["TaxRates"][0]["TaxType"].startswith("TAX")


def test_currencies(sandbox: Sandbox) -> None:
    codes = [c["Code"] for c in sandbox.api.get(f"{BASE}/Currencies").json()["Currencies"]]
    assert codes == ["AUD", "NZD", "USD"]
    added = sandbox.api.put(f"{BASE}/Currencies", json={"Code": "EUR"})
    assert added.json()["Currencies"] == [{"Code": "EUR", "Description": "Euro"}]


def test_branding_themes(sandbox: Sandbox) -> None:
    themes = sandbox.api.get(f"{BASE}/BrandingThemes").json()["BrandingThemes"]
    assert [t["SortOrder"] for t in themes] == [0, 1]
    one = sandbox.api.get(f"{BASE}/BrandingThemes/{themes[1]['BrandingThemeID']}").json()
    assert one["BrandingThemes"][0]["Name"] == "Special Projects"


def test_tracking_categories_and_options(sandbox: Sandbox) -> None:
    categories = sandbox.api.get(f"{BASE}/TrackingCategories").json()["TrackingCategories"]
    region = next(c for c in categories if c["Name"] == "Region")
    assert {o["Name"] for o in region["Options"]} == {"North", "South", "East", "West"}
    third = sandbox.api.put(f"{BASE}/TrackingCategories", json={"Name": "Project"})
    assert third.status_code == 400, "only two categories may be active"
    url = f"{BASE}/TrackingCategories/{region['TrackingCategoryID']}"
    option = sandbox.api.put(f"{url}/Options", json={"Name": "Central"}).json()["Options"][0]
    renamed = sandbox.api.post(f"{url}/Options/{option['TrackingOptionID']}",
                               json={"Name": "Middle"})
    assert renamed.json()["Options"][0]["Name"] == "Middle"
    removed = sandbox.api.delete(f"{url}/Options/{option['TrackingOptionID']}")
    assert removed.json()["Options"][0]["Status"] == "DELETED"
    archived = sandbox.api.post(url, json={"Status": "ARCHIVED"})
    assert archived.json()["TrackingCategories"][0]["Status"] == "ARCHIVED"
    active = sandbox.api.get(f"{BASE}/TrackingCategories").json()["TrackingCategories"]
    assert [c["Name"] for c in active] == ["Department"]
    everything = sandbox.api.get(f"{BASE}/TrackingCategories", params={"includeArchived": "true"})
    assert len(everything.json()["TrackingCategories"]) == 2


def test_tracking_on_lines_by_name(sandbox: Sandbox) -> None:
    contact = next(c for c in sandbox.collection("Contacts") if c["ContactStatus"] == "ACTIVE")
    response = sandbox.api.put(f"{BASE}/Invoices", json={"Invoices": [{
        "Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]},
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 1, "AccountCode": "200",
                       "Tracking": [{"Name": "Region", "Option": "North"}]}]}]})
    tag = response.json()["Invoices"][0]["LineItems"][0]["Tracking"][0]
    assert tag["Option"] == "North" and tag["TrackingOptionID"]
    region = next(c for c in sandbox.collection("TrackingCategories") if c["Name"] == "Region")
    used = sandbox.api.delete(f"{BASE}/TrackingCategories/{region['TrackingCategoryID']}")
    assert used.status_code == 400


def test_items(sandbox: Sandbox) -> None:
    items = sandbox.api.get(f"{BASE}/Items").json()["Items"]
    assert "CONSULT" in {i["Code"] for i in items}
    created = sandbox.api.put(f"{BASE}/Items", json={"Items": [{
        "Code": "NEW-1", "Name": "New thing",
        "SalesDetails": {"UnitPrice": "12.3456", "AccountCode": "200", "TaxType": "OUTPUT"}}]})
    assert created.status_code == 200, created.text
    item = created.json()["Items"][0]
    duplicate = sandbox.api.put(f"{BASE}/Items", json={"Items": [{"Code": "NEW-1"}]})
    assert _messages(duplicate) == ["Price List Item with Code 'NEW-1' already exists"]
    # By Code (Xero's docs allow it; the spec types the parameter as a uuid): raw client.
    four = json.loads(sandbox.raw.get(f"{BASE}/Items/NEW-1", params={"unitdp": 4}).content,
                      parse_float=Decimal)
    assert four["Items"][0]["SalesDetails"]["UnitPrice"] == Decimal("12.3456")
    contact = next(c for c in sandbox.collection("Contacts") if c["ContactStatus"] == "ACTIVE")
    invoice = sandbox.api.put(f"{BASE}/Invoices", json={"Invoices": [{
        "Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]},
        "LineItems": [{"ItemCode": "NEW-1", "Quantity": 2}]}]}).json()["Invoices"][0]
    line = invoice["LineItems"][0]
    assert (line["Description"], line["AccountCode"], line["LineAmount"]) == (
        "New thing", "200", 24.69)
    assert sandbox.api.delete(f"{BASE}/Items/{item['ItemID']}").status_code == 204


def test_purchase_orders(sandbox: Sandbox) -> None:
    supplier = next(c for c in sandbox.collection("Contacts") if c["ContactStatus"] == "ACTIVE")
    created = sandbox.api.put(f"{BASE}/PurchaseOrders", json={"PurchaseOrders": [{
        "Contact": {"ContactID": supplier["ContactID"]}, "Date": "2026-03-01",
        "DeliveryDate": "2026-03-10", "DeliveryInstructions": "Back door",
        "LineItems": [{"Description": "Paper", "Quantity": 10, "UnitAmount": "4.50",
                       "AccountCode": "453"}]}]})
    assert created.status_code == 200, created.text
    order = created.json()["PurchaseOrders"][0]
    assert order["PurchaseOrderNumber"].startswith("PO-") and order["Total"] == 49.5
    duplicate = sandbox.api.put(f"{BASE}/PurchaseOrders", json={"PurchaseOrders": [{
        "Contact": {"ContactID": supplier["ContactID"]},
        "PurchaseOrderNumber": order["PurchaseOrderNumber"],
        "LineItems": [{"Description": "x"}]}]})
    assert _messages(duplicate) == ["Order number must be unique"]
    by_number = sandbox.raw.get(f"{BASE}/PurchaseOrders/{order['PurchaseOrderNumber']}").json()
    assert by_number["PurchaseOrders"][0]["PurchaseOrderID"] == order["PurchaseOrderID"]
    url = f"{BASE}/PurchaseOrders/{order['PurchaseOrderID']}"
    approved = sandbox.api.post(url, json={"PurchaseOrders": [{"Status": "AUTHORISED"}]})
    assert approved.json()["PurchaseOrders"][0]["Status"] == "AUTHORISED"
    billed = sandbox.api.post(url, json={"PurchaseOrders": [{"Status": "BILLED"}]})
    assert billed.json()["PurchaseOrders"][0]["Status"] == "BILLED"
    edit = sandbox.api.post(url, json={"PurchaseOrders": [{"Reference": "late"}]})
    assert edit.status_code == 400
    listed = sandbox.api.get(f"{BASE}/PurchaseOrders", params={
        "Status": "BILLED", "DateFrom": "2026-03-01", "DateTo": "2026-03-01", "page": 1}).json()
    assert [o["PurchaseOrderID"] for o in listed["PurchaseOrders"]] == [order["PurchaseOrderID"]]
    assert listed["pagination"]["itemCount"] == 1
