"""Credit notes: numbering, status rules, and allocations that reduce what an invoice owes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Seeded
from tests.web.api.test_invoices import _line, approved, create

URL = "/api/v1/credit-notes"


def credit_note(owner: TestClient, seeded: Seeded, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": seeded.client_id,
        "issue_date": "2026-11-10",
        "lines": [_line(description="Goodwill credit", quantity="1", unit_amount="20")],  # 22.00 with GST
        **overrides,
    }
    response = owner.post(URL, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def allocate(owner: TestClient, note_id: str, invoice_id: str, amount: str) -> Any:
    return owner.post(f"{URL}/{note_id}/allocations", json={"invoice_id": invoice_id, "amount": amount})


def test_numbers_and_totals(owner: TestClient, seeded: Seeded) -> None:
    first = credit_note(owner, seeded)
    assert (first["number"], first["status"], first["total"], first["remaining_credit"]) == (
        "CN-0001", "draft", "22.00", "22.00"
    )
    assert credit_note(owner, seeded)["number"] == "CN-0002"
    duplicate = owner.post(URL, json={"client_id": seeded.client_id, "number": "CN-0001", "lines": []})
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"][0]["field"] == "number"


def test_allocation_reduces_amount_due(owner: TestClient, seeded: Seeded) -> None:
    invoice = approved(owner, seeded)  # 110.00
    note = credit_note(owner, seeded, status="approved")
    response = allocate(owner, note["id"], invoice["id"], "15")
    assert response.status_code == 201, response.text
    assert (response.json()["remaining_credit"], response.json()["status"]) == ("7.00", "approved")
    state = owner.get(f"/api/v1/invoices/{invoice['id']}").json()
    assert (state["amount_credited"], state["amount_due"]) == ("15.00", "95.00")
    assert state["status"] == "partly_paid"

    rest = allocate(owner, note["id"], invoice["id"], "7.00").json()
    assert (rest["remaining_credit"], rest["status"]) == ("0.00", "paid")
    assert len(rest["allocations"]) == 2

    # removing an allocation gives the credit back and the invoice owes it again
    allocation_id = rest["allocations"][1]["id"]
    assert owner.delete(f"{URL}/{note['id']}/allocations/{allocation_id}").status_code == 204
    note_state = owner.get(f"{URL}/{note['id']}").json()
    assert (note_state["remaining_credit"], note_state["status"]) == ("7.00", "approved")
    assert owner.get(f"/api/v1/invoices/{invoice['id']}").json()["amount_due"] == "95.00"


def test_allocation_cannot_exceed_credit_or_amount_due(owner: TestClient, seeded: Seeded) -> None:
    invoice = approved(owner, seeded, lines=[_line(quantity="1", unit_amount="10")])  # 11.00
    note = credit_note(owner, seeded, status="approved")  # 22.00
    response = allocate(owner, note["id"], invoice["id"], "12")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "amount"
    assert "11.00" in response.json()["errors"][0]["message"]
    assert allocate(owner, note["id"], invoice["id"], "11").status_code == 201
    assert owner.get(f"/api/v1/invoices/{invoice['id']}").json()["status"] == "paid"
    other = approved(owner, seeded)
    response = allocate(owner, note["id"], other["id"], "11.01")
    assert response.status_code == 422
    assert "remaining credit of 11.00" in response.json()["errors"][0]["message"]


def test_allocation_needs_approved_documents_of_the_same_client_and_currency(
    owner: TestClient, seeded: Seeded
) -> None:
    invoice = approved(owner, seeded)
    draft_note = credit_note(owner, seeded)
    assert allocate(owner, draft_note["id"], invoice["id"], "1").status_code == 409
    note = credit_note(owner, seeded, status="approved")
    draft_invoice = create(owner, {"client_id": seeded.client_id, "lines": [_line()]})
    response = allocate(owner, note["id"], draft_invoice["id"], "1")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "invoice_id"
    bill = create(owner, {"kind": "bill", "client_id": seeded.supplier_id, "status": "approved",
                          "lines": [_line(tax_type="INPUT")]})
    response = allocate(owner, note["id"], bill["id"], "1")
    assert "another client" in response.json()["errors"][0]["message"]
    usd = approved(owner, seeded, currency="USD")
    response = allocate(owner, note["id"], usd["id"], "1")
    assert "USD" in response.json()["errors"][0]["message"]


def test_void_and_delete_rules(owner: TestClient, seeded: Seeded) -> None:
    draft = credit_note(owner, seeded)
    assert owner.patch(f"{URL}/{draft['id']}", json={"status": "void"}).status_code == 409
    assert owner.delete(f"{URL}/{draft['id']}").status_code == 204

    invoice = approved(owner, seeded)
    note = credit_note(owner, seeded, status="approved")
    allocation = allocate(owner, note["id"], invoice["id"], "5").json()["allocations"][0]
    assert owner.delete(f"{URL}/{note['id']}").status_code == 409
    refused = owner.patch(f"{URL}/{note['id']}", json={"status": "void"})
    assert refused.status_code == 409 and "allocations" in refused.json()["errors"][0]["message"]
    # an invoice with credit applied cannot be voided either
    assert owner.patch(f"/api/v1/invoices/{invoice['id']}", json={"status": "void"}).status_code == 409
    owner.delete(f"{URL}/{note['id']}/allocations/{allocation['id']}")
    assert owner.patch(f"{URL}/{note['id']}", json={"status": "void"}).json()["status"] == "void"


def test_credit_note_lines_have_no_discounts_or_time_entries(owner: TestClient, seeded: Seeded) -> None:
    response = owner.post(URL, json={"client_id": seeded.client_id, "lines": [_line(discount_rate="5")]})
    assert response.json()["errors"][0]["field"] == "lines[0].discount_rate"
    response = owner.post(URL, json={"client_id": seeded.client_id, "lines": [_line(time_entry_ids=["x"])]})
    assert response.json()["errors"][0]["field"] == "lines[0].time_entry_ids"


def test_unknown_allocation_is_404(owner: TestClient, seeded: Seeded) -> None:
    note = credit_note(owner, seeded, status="approved")
    assert owner.delete(f"{URL}/{note['id']}/allocations/nope").status_code == 404
    assert allocate(owner, "nope", "nope", "1").status_code == 404
