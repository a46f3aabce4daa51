"""Payments: they move invoices to partly paid and paid, never past the amount due."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledgerbridge.db import Database
from ledgerbridge.work.models import Payment
from tests.factories import Seeded
from tests.web.api.test_invoices import _line, _sales, approved, create

URL = "/api/v1/payments"


def pay(owner: TestClient, invoice_id: str, amount: str, **extra: Any) -> Any:
    return owner.post(URL, json={"invoice_id": invoice_id, "amount": amount, "date": "2026-11-20", **extra})


def invoice_of(owner: TestClient, invoice_id: str) -> dict[str, Any]:
    result: dict[str, Any] = owner.get(f"/api/v1/invoices/{invoice_id}").json()
    return result


def test_partial_then_full_payment(owner: TestClient, seeded: Seeded) -> None:
    invoice = approved(owner, seeded)  # total 110.00
    first = pay(owner, invoice["id"], "40.00", reference="EFT 1")
    assert first.status_code == 201, first.text
    state = invoice_of(owner, invoice["id"])
    assert (state["status"], state["amount_paid"], state["amount_due"]) == ("partly_paid", "40.00", "70.00")

    second = pay(owner, invoice["id"], "70")
    assert second.status_code == 201, second.text
    state = invoice_of(owner, invoice["id"])
    assert (state["status"], state["amount_paid"], state["amount_due"]) == ("paid", "110.00", "0.00")

    listed = owner.get(URL, params={"invoice_id": invoice["id"]}).json()
    assert [p["amount"] for p in listed["items"]] == ["40.00", "70.00"]

    # deleting a payment moves the invoice back, step by step
    assert owner.delete(f"{URL}/{second.json()['id']}").status_code == 204
    assert invoice_of(owner, invoice["id"])["status"] == "partly_paid"
    assert owner.delete(f"{URL}/{first.json()['id']}").status_code == 204
    state = invoice_of(owner, invoice["id"])
    assert (state["status"], state["amount_due"]) == ("approved", "110.00")


def test_over_payment_is_refused_with_the_numbers(
    owner: TestClient, seeded: Seeded, database: Database
) -> None:
    invoice = approved(owner, seeded)
    assert pay(owner, invoice["id"], "100").status_code == 201
    response = pay(owner, invoice["id"], "10.01")
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "amount"
    assert error["message"].startswith("Payment amount exceeds the amount outstanding on this document")
    assert "10.01" in error["message"] and "10.00" in error["message"]
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 1


def test_payment_needs_an_open_invoice_and_a_positive_amount(owner: TestClient, seeded: Seeded) -> None:
    draft = create(owner, _sales(seeded))
    response = pay(owner, draft["id"], "10")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "invoice_id"
    live = approved(owner, seeded)
    for amount in ("0", "-5"):
        response = pay(owner, live["id"], amount)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "amount"
    response = pay(owner, "no-such-invoice", "10")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "invoice_id"


def test_paid_invoices_cannot_be_voided_or_edited(owner: TestClient, seeded: Seeded) -> None:
    invoice = approved(owner, seeded)
    url = f"/api/v1/invoices/{invoice['id']}"
    payment = pay(owner, invoice["id"], "5").json()
    refused = owner.patch(url, json={"status": "void"})
    assert refused.status_code == 409
    assert "payments" in refused.json()["errors"][0]["message"]
    edit = owner.patch(url, json={"lines": [_line(quantity="1", unit_amount="1")]})
    assert edit.status_code == 409
    assert "payment" in edit.json()["detail"]
    assert owner.delete(f"{URL}/{payment['id']}").status_code == 204
    assert owner.patch(url, json={"status": "void"}).json()["status"] == "void"
    assert pay(owner, invoice["id"], "5").status_code == 422


def test_sent_invoice_takes_payments(owner: TestClient, seeded: Seeded) -> None:
    invoice = approved(owner, seeded)
    owner.patch(f"/api/v1/invoices/{invoice['id']}", json={"status": "sent"})
    assert pay(owner, invoice["id"], "110.00").status_code == 201
    assert invoice_of(owner, invoice["id"])["status"] == "paid"


def test_payments_cannot_be_changed(owner: TestClient, seeded: Seeded) -> None:
    invoice = approved(owner, seeded)
    payment = pay(owner, invoice["id"], "5").json()
    assert owner.patch(f"{URL}/{payment['id']}", json={"amount": "6"}).status_code == 422
    assert owner.get(f"{URL}/{payment['id']}").json()["amount"] == "5.00"
