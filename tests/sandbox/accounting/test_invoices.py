"""Invoices, Payments and CreditNotes over HTTP: totals, numbers, statuses, payments,
allocations. Every call is checked against the spec by the ``sandbox`` fixture."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from ledgerbridge.money import LineAmountType, PricedLine, document_totals
from tests.sandbox.accounting.conftest import Sandbox

BASE = "/api.xro/2.0"


def _contact(sandbox: Sandbox) -> dict[str, Any]:
    return next(c for c in sandbox.collection("Contacts") if c["ContactStatus"] == "ACTIVE")


def _decimal_json(response: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(response.content, parse_float=Decimal)
    return parsed


def _invoice(sandbox: Sandbox, **fields: Any) -> dict[str, Any]:
    body = {"Type": "ACCREC", "Contact": {"ContactID": _contact(sandbox)["ContactID"]},
            "Date": "2026-03-01", "DueDate": "2026-03-31",
            "LineItems": [{"Description": "Consulting", "Quantity": 2, "UnitAmount": 100,
                           "AccountCode": "200"}], **fields}
    response = sandbox.api.put(f"{BASE}/Invoices", json={"Invoices": [body]})
    assert response.status_code == 200, response.text
    invoice: dict[str, Any] = _decimal_json(response)["Invoices"][0]
    return invoice


def _pay(sandbox: Sandbox, invoice: dict[str, Any], amount: str, **extra: Any) -> Any:
    return sandbox.api.put(f"{BASE}/Payments", json={"Payments": [{
        "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"},
        "Date": "2026-03-02", "Amount": amount, **extra}]})


LINES = [("3", "33.3333", "OUTPUT"), ("1", "10.005", "OUTPUT"), ("7", "1.99", "EXEMPTOUTPUT")]


@pytest.mark.parametrize(("amount_type", "kind"), [
    ("Exclusive", LineAmountType.EXCLUSIVE), ("Inclusive", LineAmountType.INCLUSIVE),
    ("NoTax", LineAmountType.NO_TAX)])
def test_totals_are_computed_per_line_as_xero_does(sandbox: Sandbox, amount_type: str,
                                                   kind: LineAmountType) -> None:
    lines = [{"Description": f"L{i}", "Quantity": q, "UnitAmount": u, "AccountCode": "200",
              "TaxType": t} for i, (q, u, t) in enumerate(LINES)]
    invoice = _invoice(sandbox, LineAmountTypes=amount_type, LineItems=lines)
    expected = document_totals([
        PricedLine(Decimal(q), Decimal(u), Decimal(10) if t == "OUTPUT" else Decimal(0))
        for q, u, t in LINES], kind)
    assert invoice["LineAmountTypes"] == amount_type
    assert (invoice["SubTotal"], invoice["TotalTax"], invoice["Total"]) == (
        expected.sub_total, expected.total_tax, expected.total)
    assert invoice["AmountDue"] == expected.total
    assert invoice["LineItems"][1]["LineAmount"] == Decimal("10.01")
    assert invoice["LineItems"][0]["Quantity"] == Decimal("3.0000")


def test_unitdp_controls_unit_amount_places(sandbox: Sandbox) -> None:
    invoice = _invoice(sandbox, LineItems=[{"Description": "x", "Quantity": 1,
                                            "UnitAmount": "12.3456", "AccountCode": "200"}])
    two = _decimal_json(sandbox.api.get(f"{BASE}/Invoices/{invoice['InvoiceID']}"))
    four = _decimal_json(sandbox.api.get(f"{BASE}/Invoices/{invoice['InvoiceID']}",
                                         params={"unitdp": 4}))
    assert two["Invoices"][0]["LineItems"][0]["UnitAmount"] == Decimal("12.35")
    assert four["Invoices"][0]["LineItems"][0]["UnitAmount"] == Decimal("12.3456")


def test_numbers_are_automatic_and_unique_for_sales(sandbox: Sandbox) -> None:
    first = _invoice(sandbox)
    assert first["InvoiceNumber"].startswith("INV-")
    duplicate = sandbox.api.put(f"{BASE}/Invoices", json={"Invoices": [{
        "Type": "ACCREC", "Contact": {"ContactID": _contact(sandbox)["ContactID"]},
        "InvoiceNumber": first["InvoiceNumber"], "LineItems": [{"Description": "x"}]}]})
    assert duplicate.status_code == 400
    assert duplicate.json()["Elements"][0]["ValidationErrors"][0]["Message"] == \
        "Invoice # must be unique."
    bill = _invoice(sandbox, Type="ACCPAY", InvoiceNumber="SUP-1",
                    LineItems=[{"Description": "Paper", "Quantity": 1, "UnitAmount": 5,
                                "AccountCode": "453"}])
    again = _invoice(sandbox, Type="ACCPAY", InvoiceNumber="SUP-1",
                     LineItems=[{"Description": "Paper", "Quantity": 1, "UnitAmount": 5,
                                 "AccountCode": "453"}])
    assert bill["InvoiceID"] != again["InvoiceID"], "bill numbers need not be unique"


def test_by_number_lookup(sandbox: Sandbox) -> None:
    invoice = _invoice(sandbox)
    # Xero allows the number in place of the id; the spec types the parameter as a uuid.
    found = sandbox.raw.get(f"{BASE}/Invoices/{invoice['InvoiceNumber']}").json()["Invoices"]
    assert found[0]["InvoiceID"] == invoice["InvoiceID"]


@pytest.mark.parametrize(("line", "message"), [
    ({"AccountCode": "999"}, "Account code '999' is not a valid code for this document."),
    ({"AccountCode": "200", "TaxType": "INPUT"},
     "The TaxType code INPUT does not exist or cannot be used for this type of transaction."),
    ({"AccountCode": "090"}, "Account code '090' is not a valid code for this document."),
    ({"AccountCode": "200", "TaxType": "NOPE"},
     "The TaxType code NOPE does not exist or cannot be used for this type of transaction."),
])
def test_account_and_tax_type_rules(sandbox: Sandbox, line: dict[str, str], message: str) -> None:
    response = sandbox.api.put(f"{BASE}/Invoices", json={"Invoices": [{
        "Type": "ACCREC", "Contact": {"ContactID": _contact(sandbox)["ContactID"]},
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 1, **line}]}]})
    assert response.status_code == 400
    assert message in [e["Message"] for e in response.json()["Elements"][0]["ValidationErrors"]]


def test_currency_must_be_enabled(sandbox: Sandbox) -> None:
    ok = _invoice(sandbox, CurrencyCode="USD")
    assert ok["CurrencyCode"] == "USD" and ok["CurrencyRate"] != Decimal(1)
    response = sandbox.api.put(f"{BASE}/Invoices", json={"Invoices": [{
        "Type": "ACCREC", "Contact": {"ContactID": _contact(sandbox)["ContactID"]},
        "CurrencyCode": "JPY", "LineItems": [{"Description": "x"}]}]})
    assert response.status_code == 400
    assert response.json()["Elements"][0]["ValidationErrors"][0]["Message"] == \
        "Organisation is not subscribed to currency JPY"


def test_batch_with_one_bad_invoice_summarize_errors_false(sandbox: Sandbox) -> None:
    contact = {"ContactID": _contact(sandbox)["ContactID"]}
    good = {"Type": "ACCREC", "Contact": contact, "LineItems": [{"Description": "ok"}]}
    bad = {"Type": "ACCREC", "Contact": contact, "LineItems": [{"Description": "x",
                                                                 "AccountCode": "999"}]}
    response = sandbox.api.put(f"{BASE}/Invoices", params={"summarizeErrors": "false"},
                               json={"Invoices": [good, bad, good]})
    assert response.status_code == 200
    elements = response.json()["Invoices"]
    assert [e["StatusAttributeString"] for e in elements] == ["OK", "ERROR", "OK"]
    assert elements[1]["HasErrors"] is True
    assert elements[0]["InvoiceID"] and elements[2]["InvoiceID"]


def test_new_contact_by_name_and_customer_flag(sandbox: Sandbox) -> None:
    invoice = _invoice(sandbox, Contact={"Name": "Brand New Customer"})
    contact = sandbox.api.get(f"{BASE}/Contacts/{invoice['Contact']['ContactID']}").json()
    assert contact["Contacts"][0]["Name"] == "Brand New Customer"
    assert contact["Contacts"][0]["IsCustomer"] is True


def test_lines_are_replaced_and_line_item_id_keeps_a_line(sandbox: Sandbox) -> None:
    invoice = _invoice(sandbox, LineItems=[
        {"Description": "keep", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200"},
        {"Description": "drop", "Quantity": 1, "UnitAmount": 20, "AccountCode": "200"}])
    kept = invoice["LineItems"][0]["LineItemID"]
    response = sandbox.api.post(f"{BASE}/Invoices/{invoice['InvoiceID']}", json={"Invoices": [{
        "LineItems": [{"LineItemID": kept, "Description": "keep", "Quantity": 2,
                       "UnitAmount": 10, "AccountCode": "200"},
                      {"Description": "new", "Quantity": 1, "UnitAmount": 1,
                       "AccountCode": "200"}]}]})
    lines = _decimal_json(response)["Invoices"][0]["LineItems"]
    assert [line["Description"] for line in lines] == ["keep", "new"]
    assert lines[0]["LineItemID"] == kept and lines[1]["LineItemID"] != kept
    assert _decimal_json(response)["Invoices"][0]["SubTotal"] == Decimal("21.00")


def test_status_transitions(sandbox: Sandbox) -> None:
    invoice = _invoice(sandbox)
    url = f"{BASE}/Invoices/{invoice['InvoiceID']}"
    assert sandbox.api.post(url, json={"Invoices": [{"Status": "SUBMITTED"}]}).status_code == 200
    assert sandbox.api.post(url, json={"Invoices": [{"Status": "AUTHORISED"}]}).status_code == 200
    back = sandbox.api.post(url, json={"Invoices": [{"Status": "DRAFT"}]})
    assert back.status_code == 400
    assert back.json()["Elements"][0]["ValidationErrors"][0]["Message"] == \
        "Invoice not of valid status for modification"
    delete = sandbox.api.post(url, json={"Invoices": [{"Status": "DELETED"}]})
    assert delete.status_code == 400
    void = sandbox.api.post(url, json={"Invoices": [{"Status": "VOIDED"}]})
    assert void.json()["Invoices"][0]["Status"] == "VOIDED"
    edit = sandbox.api.post(url, json={"Invoices": [{"Reference": "too late"}]})
    assert edit.json()["Elements"][0]["ValidationErrors"][0]["Message"] == \
        "Invoice not of valid status for modification"
    draft = _invoice(sandbox, Status="DRAFT")
    gone = sandbox.api.post(f"{BASE}/Invoices/{draft['InvoiceID']}",
                            json={"Invoices": [{"Status": "DELETED"}]})
    assert gone.json()["Invoices"][0]["Status"] == "DELETED"
    cannot_create = sandbox.api.put(f"{BASE}/Invoices", json={"Invoices": [{
        "Type": "ACCREC", "Status": "PAID", "Contact": invoice["Contact"],
        "LineItems": [{"Description": "x"}]}]})
    assert cannot_create.status_code == 400


def test_payment_makes_paid_and_deleting_it_reverts(sandbox: Sandbox) -> None:
    invoice = _invoice(sandbox, Status="AUTHORISED")
    assert invoice["Total"] == Decimal("220.00")
    part = _pay(sandbox, invoice, "20.00")
    assert part.status_code == 200, part.text
    partial = _decimal_json(sandbox.api.get(f"{BASE}/Invoices/{invoice['InvoiceID']}"))
    assert partial["Invoices"][0]["AmountDue"] == Decimal("200.00")
    assert partial["Invoices"][0]["AmountPaid"] == Decimal("20.00")
    rest = _pay(sandbox, invoice, "200.00")
    paid = _decimal_json(sandbox.api.get(f"{BASE}/Invoices/{invoice['InvoiceID']}"))["Invoices"][0]
    assert paid["Status"] == "PAID" and paid["AmountDue"] == Decimal("0.00")
    assert paid["FullyPaidOnDate"] == "/Date(1772409600000+0000)/"
    assert len(paid["Payments"]) == 2
    payment_id = rest.json()["Payments"][0]["PaymentID"]
    assert rest.json()["Payments"][0]["PaymentType"] == "ACCRECPAYMENT"
    locked = sandbox.api.post(f"{BASE}/Invoices/{invoice['InvoiceID']}",
                              json={"Invoices": [{"Reference": "x"}]})
    assert locked.status_code == 400
    deleted = sandbox.api.post(f"{BASE}/Payments/{payment_id}", json={"Status": "DELETED"})
    assert deleted.json()["Payments"][0]["Status"] == "DELETED"
    back = sandbox.api.get(f"{BASE}/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert back["Status"] == "AUTHORISED" and "FullyPaidOnDate" not in back


def test_payment_rules(sandbox: Sandbox) -> None:
    draft = _invoice(sandbox)
    not_authorised = _pay(sandbox, draft, "1.00")
    assert not_authorised.json()["Elements"][0]["ValidationErrors"][0]["Message"] == \
        "Payments can only be made against Authorised documents"
    invoice = _invoice(sandbox, Status="AUTHORISED")
    over = _pay(sandbox, invoice, "220.01")
    assert over.status_code == 400
    assert over.json()["Elements"][0]["ValidationErrors"][0]["Message"] == \
        "Payment amount exceeds the amount outstanding on this document"
    quiet = sandbox.api.put(f"{BASE}/Payments", params={"summarizeErrors": "false"}, json={
        "Payments": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"},
                      "Date": "2026-03-02", "Amount": 999}]})
    assert quiet.status_code == 200
    assert quiet.json()["Payments"][0]["HasValidationErrors"] is True
    wrong_account = _pay(sandbox, invoice, "1.00", Account={"Code": "200"})
    assert wrong_account.status_code == 400


def test_voiding_a_paid_or_part_paid_invoice_is_refused(sandbox: Sandbox) -> None:
    invoice = _invoice(sandbox, Status="AUTHORISED")
    _pay(sandbox, invoice, "10.00")
    void = sandbox.api.post(f"{BASE}/Invoices/{invoice['InvoiceID']}",
                            json={"Invoices": [{"Status": "VOIDED"}]})
    assert void.status_code == 400
    assert void.json()["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "The status VOIDED cannot be applied to the invoice because it has payments or credit "
        "notes allocated to it.")


def test_invoice_list_filters(sandbox: Sandbox) -> None:
    contact = _contact(sandbox)
    mine = _invoice(sandbox, Status="AUTHORISED", Reference="PO-778")
    statuses = sandbox.api.get(f"{BASE}/Invoices", params={"Statuses": "AUTHORISED,PAID"}).json()
    assert {i["Status"] for i in statuses["Invoices"]} <= {"AUTHORISED", "PAID"}
    assert "LineItems" not in statuses["Invoices"][0], "unpaged lists are summaries"
    by_contact = sandbox.api.get(f"{BASE}/Invoices", params={
        "ContactIDs": contact["ContactID"], "page": 1}).json()["Invoices"]
    assert all(i["Contact"]["ContactID"] == contact["ContactID"] for i in by_contact)
    assert "LineItems" in by_contact[0]
    where = sandbox.api.get(f"{BASE}/Invoices", params={
        "where": f'Contact.ContactID==Guid("{contact["ContactID"]}") AND Status=="AUTHORISED"'
                 ' AND Reference=="PO-778"'}).json()["Invoices"]
    assert [i["InvoiceID"] for i in where] == [mine["InvoiceID"]]
    numbers = sandbox.api.get(f"{BASE}/Invoices", params={
        "InvoiceNumbers": mine["InvoiceNumber"]}).json()["Invoices"]
    assert [i["InvoiceID"] for i in numbers] == [mine["InvoiceID"]]
    ordered = sandbox.api.get(f"{BASE}/Invoices", params={"order": "Total DESC"}).json()
    totals = [Decimal(str(i["Total"])) for i in ordered["Invoices"]]
    assert totals == sorted(totals, reverse=True)
    sandbox.advance(120)
    later = _invoice(sandbox)
    recent = sandbox.api.get(f"{BASE}/Invoices", headers={
        "If-Modified-Since": "2026-03-02T09:01:00Z"}).json()["Invoices"]
    assert [i["InvoiceID"] for i in recent] == [later["InvoiceID"]]
    mine_only = sandbox.api.get(f"{BASE}/Invoices", params={"createdByMyApp": "true"}).json()
    assert len(mine_only["Invoices"]) == 2


def test_invoice_webhooks(sandbox: Sandbox) -> None:
    app = next(iter(sandbox.state.apps.values()))
    app.webhook.url, app.webhook.status = "https://receiver.example/hook", "ACTIVE"
    invoice = _invoice(sandbox, Status="AUTHORISED")
    _pay(sandbox, invoice, "220.00")
    events = [(p["event"]["eventCategory"], p["event"]["eventType"])
              for p in app.webhook.pending if p["event"]["resourceId"] == invoice["InvoiceID"]]
    assert events == [("INVOICE", "CREATE"), ("INVOICE", "UPDATE")]


# -- credit notes -------------------------------------------------------------------------------


def _credit_note(sandbox: Sandbox, contact_id: str, **fields: Any) -> dict[str, Any]:
    body = {"Type": "ACCRECCREDIT", "Contact": {"ContactID": contact_id}, "Status": "AUTHORISED",
            "Date": "2026-03-01",
            "LineItems": [{"Description": "Refund", "Quantity": 1, "UnitAmount": 50,
                           "AccountCode": "200"}], **fields}
    response = sandbox.api.put(f"{BASE}/CreditNotes", json={"CreditNotes": [body]})
    assert response.status_code == 200, response.text
    note: dict[str, Any] = _decimal_json(response)["CreditNotes"][0]
    return note


def test_credit_note_allocation(sandbox: Sandbox) -> None:
    invoice = _invoice(sandbox, Status="AUTHORISED")
    note = _credit_note(sandbox, invoice["Contact"]["ContactID"])
    assert note["CreditNoteNumber"].startswith("CN-") and note["RemainingCredit"] == Decimal("55.00")
    url = f"{BASE}/CreditNotes/{note['CreditNoteID']}/Allocations"
    too_much = sandbox.api.put(url, json={"Allocations": [{
        "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": "55.01", "Date": "2026-03-02"}]})
    assert too_much.status_code == 400
    allocated = sandbox.api.put(url, json={"Allocations": [{
        "Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": "55.00", "Date": "2026-03-02"}]})
    assert allocated.status_code == 200, allocated.text
    allocation_id = allocated.json()["Allocations"][0]["AllocationID"]
    after = _decimal_json(sandbox.api.get(f"{BASE}/Invoices/{invoice['InvoiceID']}"))["Invoices"][0]
    assert after["AmountCredited"] == Decimal("55.00")
    assert after["AmountDue"] == Decimal("165.00")
    assert after["CreditNotes"][0]["CreditNoteID"] == note["CreditNoteID"]
    spent = sandbox.api.get(f"{BASE}/CreditNotes/{note['CreditNoteID']}").json()["CreditNotes"][0]
    assert spent["Status"] == "PAID" and spent["RemainingCredit"] == 0
    removed = sandbox.api.delete(f"{url}/{allocation_id}")
    assert removed.json()["IsDeleted"] is True
    restored = sandbox.api.get(f"{BASE}/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert restored["AmountCredited"] == 0


def test_allocation_rules(sandbox: Sandbox) -> None:
    invoice = _invoice(sandbox, Status="AUTHORISED")
    other = next(c for c in sandbox.collection("Contacts") if c["ContactStatus"] == "ACTIVE"
                 and c["ContactID"] != invoice["Contact"]["ContactID"])
    foreign = _credit_note(sandbox, other["ContactID"])
    draft = _credit_note(sandbox, invoice["Contact"]["ContactID"], Status="DRAFT")
    for note, text in ((foreign, "same contact"), (draft, "Only AUTHORISED credit notes")):
        response = sandbox.api.put(f"{BASE}/CreditNotes/{note['CreditNoteID']}/Allocations",
                                   json={"Allocations": [{"Invoice": {
                                       "InvoiceID": invoice["InvoiceID"]}, "Amount": "1.00",
                                       "Date": "2026-03-02"}]})
        assert response.status_code == 400
        assert any(text in e["Message"]
                   for e in response.json()["Elements"][0]["ValidationErrors"])


def test_credit_note_webhook_carries_type_and_status(sandbox: Sandbox) -> None:
    app = next(iter(sandbox.state.apps.values()))
    app.webhook.url, app.webhook.status = "https://receiver.example/hook", "ACTIVE"
    note = _credit_note(sandbox, _contact(sandbox)["ContactID"])
    event = app.webhook.pending[-1]["event"]
    assert (event["eventCategory"], event["resourceId"]) == ("CREDITNOTE", note["CreditNoteID"])
    assert event["data"] == {"Type": "ACCRECCREDIT", "Status": "AUTHORISED"}


def test_credit_note_list_pages(sandbox: Sandbox) -> None:
    body = sandbox.api.get(f"{BASE}/CreditNotes", params={"page": 1, "pageSize": 2}).json()
    assert body["pagination"]["pageSize"] == 2
    assert len(body["CreditNotes"]) <= 2


def test_unitdp_on_writes(sandbox: Sandbox) -> None:
    contact = {"ContactID": _contact(sandbox)["ContactID"]}
    response = sandbox.api.put(f"{BASE}/Invoices", params={"unitdp": 4}, json={"Invoices": [{
        "Type": "ACCREC", "Contact": contact, "LineItems": [{
            "Description": "x", "Quantity": 3, "UnitAmount": "0.3333", "AccountCode": "200"}]}]})
    invoice = _decimal_json(response)["Invoices"][0]
    assert invoice["LineItems"][0]["UnitAmount"] == Decimal("0.3333")
    assert invoice["LineItems"][0]["LineAmount"] == Decimal("1.00")


def test_where_on_dates_and_amounts(sandbox: Sandbox) -> None:
    big = _invoice(sandbox, Status="AUTHORISED", Date="2030-01-15", LineItems=[
        {"Description": "big", "Quantity": 1, "UnitAmount": 99999, "AccountCode": "200"}])
    found = sandbox.api.get(f"{BASE}/Invoices", params={
        "where": 'Date>=DateTime(2030,01,01) && AmountDue>50000 && Type=="ACCREC"'}).json()
    assert [i["InvoiceID"] for i in found["Invoices"]] == [big["InvoiceID"]]


def test_contact_balances_on_single_fetch(sandbox: Sandbox) -> None:
    created = sandbox.api.put(f"{BASE}/Contacts", json={"Name": "Balance Co"}).json()
    contact_id = created["Contacts"][0]["ContactID"]
    _invoice(sandbox, Contact={"ContactID": contact_id}, Status="AUTHORISED", DueDate="2026-02-01")
    _invoice(sandbox, Contact={"ContactID": contact_id}, Status="AUTHORISED", DueDate="2026-04-01")
    contact = _decimal_json(sandbox.api.get(f"{BASE}/Contacts/{contact_id}"))["Contacts"][0]
    assert contact["Balances"]["AccountsReceivable"] == {"Outstanding": Decimal("440.00"),
                                                         "Overdue": Decimal("220.00")}


def test_cash_refund_on_a_credit_note(sandbox: Sandbox) -> None:
    note = _credit_note(sandbox, _contact(sandbox)["ContactID"])
    refund = sandbox.api.put(f"{BASE}/Payments", json={"Payments": [{
        "CreditNote": {"CreditNoteID": note["CreditNoteID"]}, "Account": {"Code": "090"},
        "Date": "2026-03-02", "Amount": "55.00"}]})
    assert refund.status_code == 200, refund.text
    assert refund.json()["Payments"][0]["PaymentType"] == "ARCREDITPAYMENT"
    after = sandbox.api.get(f"{BASE}/CreditNotes/{note['CreditNoteID']}").json()["CreditNotes"][0]
    assert after["Status"] == "PAID" and after["RemainingCredit"] == 0


def test_payments_list_where_and_paging(sandbox: Sandbox) -> None:
    invoice = _invoice(sandbox, Status="AUTHORISED")
    payment = _pay(sandbox, invoice, "5.00").json()["Payments"][0]
    found = sandbox.api.get(f"{BASE}/Payments", params={
        "where": f'Invoice.InvoiceID==Guid("{invoice["InvoiceID"]}")', "page": 1}).json()
    assert [p["PaymentID"] for p in found["Payments"]] == [payment["PaymentID"]]
    assert found["pagination"]["itemCount"] == 1
