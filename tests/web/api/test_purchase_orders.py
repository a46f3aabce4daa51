"""Purchase orders: supplier only, PO numbers, status flow, deletion as a status."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Seeded
from tests.web.api.test_invoices import _line

URL = "/api/v1/purchase-orders"


def order(owner: TestClient, seeded: Seeded, **overrides: Any) -> Any:
    body: dict[str, Any] = {
        "client_id": seeded.supplier_id,
        "issue_date": "2026-11-05",
        "delivery_date": "2026-11-20",
        "attention_to": "Accounts",
        "lines": [_line(description="Brochures", quantity="500", unit_amount="0.4523", tax_type="INPUT")],
        **overrides,
    }
    return owner.post(URL, json=body)


def test_numbering_and_totals(owner: TestClient, seeded: Seeded) -> None:
    first = order(owner, seeded)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["number"], body["status"], body["currency"]) == ("PO-0001", "draft", "AUD")
    assert (body["sub_total"], body["total_tax"], body["total"]) == ("226.15", "22.62", "248.77")
    assert order(owner, seeded).json()["number"] == "PO-0002"
    duplicate = order(owner, seeded, number="PO-0001")
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"][0]["field"] == "number"


def test_needs_a_supplier(owner: TestClient, seeded: Seeded) -> None:
    response = order(owner, seeded, client_id=seeded.client_id)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "client_id"


def test_status_flow(owner: TestClient, seeded: Seeded) -> None:
    url = f"{URL}/{order(owner, seeded).json()['id']}"
    assert owner.patch(url, json={"status": "billed"}).status_code == 409
    for status in ("submitted", "approved", "billed"):
        response = owner.patch(url, json={"status": status})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    assert owner.patch(url, json={"reference": "late"}).status_code == 409
    assert owner.delete(url).status_code == 409


def test_delete_marks_deleted(owner: TestClient, seeded: Seeded) -> None:
    url = f"{URL}/{order(owner, seeded).json()['id']}"
    assert owner.delete(url).status_code == 204
    assert owner.get(url).json()["status"] == "deleted"
    listed = owner.get(URL, params={"status": "draft"}).json()
    assert listed["total"] == 0
