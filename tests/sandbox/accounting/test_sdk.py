"""The official SDK (xero-python), unmodified, against the sandbox over a real socket.

The SDK speaks urllib3, so the sandbox runs under uvicorn on a free local port; the
AccountingApi's ``base_url`` points at it and the token comes from the sandbox's own
client-credentials grant (a custom connection), exactly as a user's CI would set it up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from xero_python.accounting import Account as XeroAccount
from xero_python.accounting import (
    AccountingApi,
    Allocation,
    Allocations,
    Contact,
    Contacts,
    CreditNote,
    CreditNotes,
    Invoice,
    Invoices,
    LineAmountTypes,
    LineItem,
    Payment,
    PaymentDelete,
    Payments,
)
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import AccountingBadRequestException, NotFoundException

from tests.sandbox.accounting.conftest import Sandbox
from tests.servers import serve


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[str]:
    with serve(sandbox.api.app) as url:
        yield url


@pytest.fixture
def xero(sandbox: Sandbox, server: str) -> tuple[AccountingApi, str]:
    token = {
        "access_token": sandbox.token,
        "token_type": "Bearer",
        "expires_in": 1800,
        "expires_at": time.time() + 1800,
        "scope": ["accounting.transactions"],
    }
    client = ApiClient(
        Configuration(oauth2_token=OAuth2Token(client_id="x", client_secret="y")), pool_threads=1
    )
    client.oauth2_token_getter(lambda: token)
    client.oauth2_token_saver(lambda new: token.update(new))
    return AccountingApi(client, base_url=f"{server}/api.xro/2.0"), sandbox.org.tenant_id


def _line(amount: str = "100.00", account: str = "200") -> LineItem:
    return LineItem(
        description="Consulting", quantity=Decimal(1), unit_amount=Decimal(amount), account_code=account
    )


def _active_contact(sandbox: Sandbox) -> dict[str, Any]:
    return next(c for c in sandbox.collection("Contacts") if c["ContactStatus"] == "ACTIVE")


def test_sdk_pages_contacts(sandbox: Sandbox, xero: tuple[AccountingApi, str]) -> None:
    api, tenant = xero
    seen = []
    page = 1
    first = api.get_contacts(tenant, page=1, page_size=10)
    assert isinstance(first.contacts[0].updated_date_utc, datetime)
    while True:
        result = api.get_contacts(tenant, page=page, page_size=10)
        seen += [c.contact_id for c in result.contacts]
        if len(result.contacts) < 10:
            break
        page += 1
    active = [c for c in sandbox.collection("Contacts") if c["ContactStatus"] == "ACTIVE"]
    assert len(set(seen)) == len(active)
    assert result.pagination.item_count == len(active)


def test_sdk_batch_with_one_bad_invoice(sandbox: Sandbox, xero: tuple[AccountingApi, str]) -> None:
    api, tenant = xero
    contact = Contact(contact_id=_active_contact(sandbox)["ContactID"])
    batch = Invoices(
        invoices=[
            Invoice(
                type="ACCREC",
                contact=contact,
                line_items=[_line()],
                date=date(2026, 3, 1),
                due_date=date(2026, 3, 31),
                status="AUTHORISED",
            ),
            Invoice(type="ACCREC", contact=contact, line_items=[_line(account="999")]),
            Invoice(
                type="ACCREC",
                contact=contact,
                line_items=[_line("55.50")],
                line_amount_types=LineAmountTypes.INCLUSIVE,
            ),
        ]
    )
    result = api.create_invoices(tenant, batch, summarize_errors=False)
    statuses = [i.status_attribute_string for i in result.invoices]
    assert statuses == ["OK", "ERROR", "OK"]
    assert result.invoices[1].has_errors is True
    assert "999" in result.invoices[1].validation_errors[0].message
    good = [i for i in result.invoices if i.status_attribute_string == "OK"]
    assert all(i.invoice_id for i in good)
    assert good[0].total == Decimal("110.00") and good[0].due_date == date(2026, 3, 31)
    assert good[1].total == Decimal("55.50") and good[1].total_tax == Decimal("5.05")
    assert good[1].line_amount_types == LineAmountTypes.INCLUSIVE


def test_sdk_summarized_error_raises_bad_request(sandbox: Sandbox, xero: tuple[AccountingApi, str]) -> None:
    api, tenant = xero
    taken = _active_contact(sandbox)["Name"]
    with pytest.raises(AccountingBadRequestException) as raised:
        api.create_contacts(tenant, Contacts(contacts=[Contact(name=taken)]))
    assert "already assigned to another contact" in raised.value.reason


def test_sdk_where_order_and_if_modified_since(sandbox: Sandbox, xero: tuple[AccountingApi, str]) -> None:
    api, tenant = xero
    sandbox.advance(600)
    api.create_contacts(
        tenant, Contacts(contacts=[Contact(name="Quokka Quarry"), Contact(name="Numbat Nursery")])
    )
    since = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
    recent = api.get_contacts(tenant, if_modified_since=since, order="Name ASC")
    assert [c.name for c in recent.contacts] == ["Numbat Nursery", "Quokka Quarry"]
    found = api.get_contacts(tenant, where='Name.Contains("Quarry")')
    assert [c.name for c in found.contacts] == ["Quokka Quarry"]


def test_sdk_idempotency_replay(sandbox: Sandbox, xero: tuple[AccountingApi, str]) -> None:
    api, tenant = xero
    contact = Contact(contact_id=_active_contact(sandbox)["ContactID"])
    bill = Invoices(invoices=[Invoice(type="ACCPAY", contact=contact, line_items=[_line(account="453")])])
    before = len(sandbox.collection("Invoices"))
    key = "a" * 128
    first = api.create_invoices(tenant, bill, idempotency_key=key)
    second = api.create_invoices(tenant, bill, idempotency_key=key)
    assert first.invoices[0].invoice_id == second.invoices[0].invoice_id
    assert len(sandbox.collection("Invoices")) == before + 1
    with pytest.raises(AccountingBadRequestException):
        api.create_invoices(
            tenant,
            Invoices(invoices=[Invoice(type="ACCPAY", contact=contact, line_items=[_line("1.00", "453")])]),
            idempotency_key=key,
        )


def test_sdk_payment_paid_overpayment_and_voiding(sandbox: Sandbox, xero: tuple[AccountingApi, str]) -> None:
    api, tenant = xero
    contact = Contact(contact_id=_active_contact(sandbox)["ContactID"])
    invoice = api.create_invoices(
        tenant,
        Invoices(
            invoices=[
                Invoice(
                    type="ACCREC",
                    contact=contact,
                    line_items=[_line()],
                    status="AUTHORISED",
                    due_date=date(2026, 3, 31),
                )
            ]
        ),
    ).invoices[0]
    bank = XeroAccount(code="090")
    with pytest.raises(AccountingBadRequestException) as over:
        api.create_payment(
            tenant,
            Payment(
                invoice=Invoice(invoice_id=invoice.invoice_id),
                account=bank,
                amount=Decimal("110.01"),
                date=date(2026, 3, 2),
            ),
        )
    assert over.value.reason == "Payment amount exceeds the amount outstanding on this document"
    api.create_payment(
        tenant,
        Payment(
            invoice=Invoice(invoice_id=invoice.invoice_id),
            account=bank,
            amount=Decimal("110.00"),
            date=date(2026, 3, 2),
        ),
    )
    paid = api.get_invoice(tenant, invoice.invoice_id).invoices[0]
    assert str(paid.status).endswith("PAID")
    assert paid.amount_due == Decimal("0.00") and paid.fully_paid_on_date == date(2026, 3, 2)
    with pytest.raises(AccountingBadRequestException) as void:
        api.update_invoice(tenant, invoice.invoice_id, Invoices(invoices=[Invoice(status="VOIDED")]))
    assert void.value.reason == "Invoice not of valid status for modification"
    fresh = api.create_invoices(
        tenant,
        Invoices(
            invoices=[Invoice(type="ACCREC", contact=contact, line_items=[_line()], status="AUTHORISED")]
        ),
    ).invoices[0]
    voided = api.update_invoice(
        tenant, fresh.invoice_id, Invoices(invoices=[Invoice(status="VOIDED")])
    ).invoices[0]
    assert str(voided.status).endswith("VOIDED")


def test_sdk_credit_note_allocation(sandbox: Sandbox, xero: tuple[AccountingApi, str]) -> None:
    api, tenant = xero
    contact = Contact(contact_id=_active_contact(sandbox)["ContactID"])
    invoice = api.create_invoices(
        tenant,
        Invoices(
            invoices=[Invoice(type="ACCREC", contact=contact, line_items=[_line()], status="AUTHORISED")]
        ),
    ).invoices[0]
    note = api.create_credit_notes(
        tenant,
        CreditNotes(
            credit_notes=[
                CreditNote(
                    type="ACCRECCREDIT", contact=contact, status="AUTHORISED", line_items=[_line("20.00")]
                )
            ]
        ),
    ).credit_notes[0]
    allocation = Allocation(
        invoice=Invoice(invoice_id=invoice.invoice_id), amount=Decimal("22.00"), date=date(2026, 3, 2)
    )
    api.create_credit_note_allocation(tenant, note.credit_note_id, Allocations(allocations=[allocation]))
    after = api.get_invoice(tenant, invoice.invoice_id).invoices[0]
    assert after.amount_credited == Decimal("22.00") and after.amount_due == Decimal("88.00")


def test_sdk_reference_data_and_404(sandbox: Sandbox, xero: tuple[AccountingApi, str]) -> None:
    api, tenant = xero
    organisation = api.get_organisations(tenant).organisations[0]
    assert organisation.base_currency is not None and organisation.name == "Test Company (AU)"
    codes = {a.code for a in api.get_accounts(tenant).accounts}
    assert {"090", "200", "400", "404", "429", "477", "610", "800", "820"} <= codes
    assert {t.tax_type for t in api.get_tax_rates(tenant).tax_rates} >= {"OUTPUT", "INPUT"}
    assert len(api.get_branding_themes(tenant).branding_themes) == 2
    regions = api.get_tracking_categories(tenant).tracking_categories
    assert {t.name for t in regions} == {"Region", "Department"}
    assert api.get_items(tenant).items
    with pytest.raises(NotFoundException):
        api.get_invoice(tenant, "00000000-0000-4000-8000-000000000000")


def test_sdk_list_parameters_payments_and_deletion(sandbox: Sandbox, xero: tuple[AccountingApi, str]) -> None:
    api, tenant = xero
    contact = Contact(contact_id=_active_contact(sandbox)["ContactID"])
    created = api.create_invoices(
        tenant,
        Invoices(
            invoices=[
                Invoice(type="ACCREC", contact=contact, line_items=[_line()], status="AUTHORISED"),
                Invoice(type="ACCREC", contact=contact, line_items=[_line("5.00")], status="DRAFT"),
            ]
        ),
    ).invoices
    ids = [i.invoice_id for i in created]
    both = api.get_invoices(tenant, i_ds=ids, statuses=["AUTHORISED", "DRAFT"], page=1)
    assert sorted(str(i.invoice_id) for i in both.invoices) == sorted(str(i) for i in ids)
    assert both.invoices[0].line_items, "paged invoice lists include line items"
    authorised = api.get_invoices(tenant, i_ds=ids, statuses=["AUTHORISED"])
    assert [i.invoice_id for i in authorised.invoices] == [ids[0]]
    numbers = api.get_invoices(
        tenant,
        invoice_numbers=[created[1].invoice_number],
        contact_i_ds=[contact.contact_id],
        created_by_my_app=True,
    )
    assert [i.invoice_id for i in numbers.invoices] == [ids[1]]
    payments = api.create_payments(
        tenant,
        Payments(
            payments=[
                Payment(
                    invoice=Invoice(invoice_id=ids[0]),
                    account=XeroAccount(code="090"),
                    amount=Decimal("10.00"),
                    date=date(2026, 3, 2),
                )
            ]
        ),
    )
    payment_id = payments.payments[0].payment_id
    listed = api.get_payments(tenant, where=f'Invoice.InvoiceID==Guid("{ids[0]}")')
    assert [p.payment_id for p in listed.payments] == [payment_id]
    deleted = api.delete_payment(tenant, payment_id, PaymentDelete(status="DELETED"))
    assert str(deleted.payments[0].status).endswith("DELETED")
    assert api.get_invoice(tenant, ids[0]).invoices[0].amount_paid == Decimal("0.00")
