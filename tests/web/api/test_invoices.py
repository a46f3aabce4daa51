"""Invoices and bills through the API: exact totals, numbers, kinds, statuses, time entries,
and failures that write nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledgerbridge.db import Database
from ledgerbridge.work.models import Invoice, InvoiceLine, TimeEntry
from tests.factories import Seeded, seed_workspace

URL = "/api/v1/invoices"


def _line(**overrides: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "description": "Design workshop",
        "quantity": "3",
        "unit_amount": "33.3333",
        "account_code": "200",
        "tax_type": "OUTPUT",
    }
    line.update(overrides)
    return line


def _sales(seeded: Seeded, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": seeded.client_id,
        "issue_date": "2026-11-02",
        "lines": [_line()],
    }
    body.update(overrides)
    return body


def create(owner: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = owner.post(URL, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def approved(owner: TestClient, seeded: Seeded, **overrides: Any) -> dict[str, Any]:
    return create(owner, _sales(seeded, status="approved", **overrides))


def _count(database: Database, model: type[Any]) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_exclusive_gst_totals_are_exact(owner: TestClient, seeded: Seeded) -> None:
    invoice = create(
        owner,
        _sales(seeded, lines=[_line(), _line(description="Hosting", quantity="1", unit_amount="19.995")]),
    )
    first, second = invoice["lines"]
    assert (first["line_amount"], first["tax_amount"]) == ("100.00", "10.00")  # 99.9999 -> 100.00
    assert (second["line_amount"], second["tax_amount"]) == ("20.00", "2.00")  # 19.995 half away from zero
    assert (invoice["sub_total"], invoice["total_tax"], invoice["total"]) == ("120.00", "12.00", "132.00")
    assert invoice["amount_due"] == "132.00"
    assert invoice["amount_paid"] == invoice["amount_credited"] == "0.00"
    assert first["quantity"] == "3.0000" and first["unit_amount"] == "33.3333"


def test_defaults_number_due_date_currency_status(owner: TestClient, seeded: Seeded) -> None:
    invoice = create(owner, _sales(seeded))
    assert invoice["number"] == "INV-0001"
    assert invoice["status"] == "draft"
    assert invoice["due_date"] == "2026-12-02"
    assert invoice["currency"] == "AUD"
    assert invoice["line_amount_type"] == "exclusive"
    assert create(owner, _sales(seeded))["number"] == "INV-0002"
    assert create(owner, _sales(seeded, number="INV-0041"))["number"] == "INV-0041"
    assert create(owner, _sales(seeded))["number"] == "INV-0042"


def test_inclusive_lines_contain_their_tax(owner: TestClient, seeded: Seeded) -> None:
    invoice = create(
        owner,
        _sales(
            seeded,
            line_amount_type="inclusive",
            lines=[_line(quantity="1", unit_amount="110"), _line(quantity="2", unit_amount="10.01")],
        ),
    )
    assert [line["tax_amount"] for line in invoice["lines"]] == ["10.00", "1.82"]
    assert (invoice["sub_total"], invoice["total_tax"], invoice["total"]) == ("118.20", "11.82", "130.02")


def test_discount_and_tracking_on_sales_lines(owner: TestClient, seeded: Seeded) -> None:
    tracking = [{"category": "Region", "option": "Sydney"}, {"category": "Team", "option": "Design"}]
    line = _line(quantity="1", unit_amount="200", discount_rate="12.5", tracking=tracking)
    invoice = create(owner, _sales(seeded, lines=[line]))
    assert invoice["lines"][0]["line_amount"] == "175.00"
    assert invoice["lines"][0]["tracking"] == tracking
    too_many = [*tracking, {"category": "Office", "option": "Manly"}]
    response = owner.post(URL, json=_sales(seeded, lines=[_line(tracking=too_many)]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines[0].tracking"


def test_duplicate_sales_number_is_a_conflict_but_bills_may_share(owner: TestClient, seeded: Seeded) -> None:
    create(owner, _sales(seeded, number="INV-0100"))
    response = owner.post(URL, json=_sales(seeded, number="INV-0100"))
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "number"
    bill = {"kind": "bill", "client_id": seeded.supplier_id, "number": "INV-0100",
            "lines": [_line(tax_type="INPUT")]}
    assert create(owner, bill)["number"] == "INV-0100"
    assert create(owner, bill)["number"] == "INV-0100"


def test_unknown_tax_type_names_the_line_and_the_valid_codes(
    owner: TestClient, seeded: Seeded, database: Database
) -> None:
    response = owner.post(URL, json=_sales(seeded, lines=[_line(), _line(tax_type="VAT20")]))
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "lines[1].tax_type"
    assert "OUTPUT" in error["message"] and "VAT20" in error["message"]
    # nothing is half-written
    assert _count(database, Invoice) == 0
    assert _count(database, InvoiceLine) == 0


@pytest.mark.parametrize("client_id", ["no-such-client", "OTHER"])
def test_unknown_or_foreign_client_names_client_id(
    owner: TestClient, seeded: Seeded, database: Database, client_id: str
) -> None:
    if client_id == "OTHER":
        with database.session() as session:
            client_id = seed_workspace(session, "Other Pty Ltd", slug="other").client_id
    response = owner.post(URL, json=_sales(seeded, client_id=client_id))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["client_id"]


def test_sales_invoice_needs_a_customer(owner: TestClient, seeded: Seeded) -> None:
    response = owner.post(URL, json=_sales(seeded, client_id=seeded.supplier_id))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "client_id"
    response = owner.post(URL, json=_sales(seeded, client_id=None))
    assert response.json()["errors"][0]["field"] == "client_id"


def test_bill_from_a_contractor(owner: TestClient, seeded: Seeded) -> None:
    bill = create(
        owner,
        {"kind": "bill", "member_id": seeded.contractor_id, "number": "LOB-17",
         "lines": [_line(description="November hours", quantity="37.5", unit_amount="90", tax_type="INPUT")]},
    )
    assert bill["kind"] == "bill" and bill["member_id"] == seeded.contractor_id and bill["client_id"] is None
    assert bill["total"] == "3712.50"
    listed = owner.get(URL, params={"kind": "bill", "member_id": seeded.contractor_id}).json()
    assert [b["id"] for b in listed["items"]] == [bill["id"]]


@pytest.mark.parametrize(
    ("party", "field"),
    [
        ({"member_id": "EMPLOYEE"}, "member_id"),
        ({}, "client_id"),
        ({"member_id": "CONTRACTOR", "client_id": "SUPPLIER"}, "member_id"),
        ({"client_id": "CUSTOMER"}, "client_id"),
    ],
)
def test_bill_needs_exactly_one_supplier_or_contractor(
    owner: TestClient, seeded: Seeded, party: dict[str, str], field: str
) -> None:
    ids = {"EMPLOYEE": seeded.employee_id, "CONTRACTOR": seeded.contractor_id,
           "SUPPLIER": seeded.supplier_id, "CUSTOMER": seeded.client_id}
    body = {"kind": "bill", "lines": [_line(tax_type="INPUT")], **{k: ids[v] for k, v in party.items()}}
    response = owner.post(URL, json=body)
    assert response.status_code == 422, response.text
    assert field in {e["field"] for e in response.json()["errors"]}


def test_bills_have_no_discounts(owner: TestClient, seeded: Seeded) -> None:
    body = {"kind": "bill", "client_id": seeded.supplier_id, "lines": [_line(discount_rate="10")]}
    response = owner.post(URL, json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines[0].discount_rate"


def test_update_replaces_lines_and_failed_update_keeps_old_ones(owner: TestClient, seeded: Seeded) -> None:
    invoice = create(owner, _sales(seeded))
    url = f"{URL}/{invoice['id']}"
    new_lines = [_line(quantity="1", unit_amount="50"), _line(unit_amount="10")]
    updated = owner.patch(url, json={"lines": new_lines})
    assert updated.status_code == 200, updated.text
    assert [line["line_amount"] for line in updated.json()["lines"]] == ["50.00", "30.00"]
    assert updated.json()["total"] == "88.00"

    bad_lines = [_line(quantity="1"), _line(tax_type="NOPE")]
    failed = owner.patch(url, json={"reference": "PO 7", "lines": bad_lines})
    assert failed.status_code == 422
    assert failed.json()["errors"][0]["field"] == "lines[1].tax_type"
    after = owner.get(url).json()
    assert after["lines"] == updated.json()["lines"]
    assert after["reference"] is None


def test_due_date_before_issue_date_is_refused(owner: TestClient, seeded: Seeded) -> None:
    response = owner.post(URL, json=_sales(seeded, due_date="2026-11-01"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "due_date"


def test_negative_total_is_refused(owner: TestClient, seeded: Seeded) -> None:
    response = owner.post(URL, json=_sales(seeded, lines=[_line(quantity="-1")]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines"


def test_status_flow_and_refusals_say_what_is_allowed(owner: TestClient, seeded: Seeded) -> None:
    invoice = create(owner, _sales(seeded))
    url = f"{URL}/{invoice['id']}"
    refused = owner.patch(url, json={"status": "void"})
    assert refused.status_code == 409
    assert "approved" in refused.json()["errors"][0]["message"]
    assert owner.patch(url, json={"status": "paid"}).status_code == 409
    assert owner.patch(url, json={"status": "approved"}).json()["status"] == "approved"
    assert owner.patch(url, json={"status": "sent"}).json()["status"] == "sent"
    back = owner.patch(url, json={"status": "draft"})
    assert back.status_code == 409
    assert back.json()["errors"][0]["message"].endswith("from sent it can move to: void")
    assert owner.patch(url, json={"status": "void"}).json()["status"] == "void"
    final = owner.patch(url, json={"status": "approved"})
    assert final.status_code == 409
    assert "nothing" in final.json()["errors"][0]["message"]
    assert owner.patch(url, json={"reference": "late edit"}).status_code == 409


def test_empty_draft_cannot_be_approved(owner: TestClient, seeded: Seeded) -> None:
    invoice = create(owner, _sales(seeded, lines=[]))
    response = owner.patch(f"{URL}/{invoice['id']}", json={"status": "approved"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines"


def test_approved_without_payments_is_editable(owner: TestClient, seeded: Seeded) -> None:
    invoice = approved(owner, seeded)
    response = owner.patch(f"{URL}/{invoice['id']}", json={"lines": [_line(quantity="1", unit_amount="10")]})
    assert response.status_code == 200
    assert response.json()["total"] == "11.00"


def test_only_drafts_are_deleted(owner: TestClient, seeded: Seeded, database: Database) -> None:
    draft = create(owner, _sales(seeded))
    assert owner.delete(f"{URL}/{draft['id']}").status_code == 204
    assert owner.get(f"{URL}/{draft['id']}").status_code == 404
    assert _count(database, InvoiceLine) == 0
    live = approved(owner, seeded)
    response = owner.delete(f"{URL}/{live['id']}")
    assert response.status_code == 409
    assert "void" in response.json()["detail"].lower()


def test_filters(owner: TestClient, seeded: Seeded) -> None:
    early = create(owner, _sales(seeded, issue_date="2026-10-01"))
    late = approved(owner, seeded, issue_date="2026-11-15")
    found = owner.get(URL, params={"issue_date_from": "2026-11-01"}).json()["items"]
    assert [i["id"] for i in found] == [late["id"]]
    found = owner.get(URL, params={"status": "draft", "client_id": seeded.client_id}).json()["items"]
    assert [i["id"] for i in found] == [early["id"]]
    assert owner.get(URL, params={"q": "INV-0002"}).json()["items"][0]["id"] == late["id"]


# --------------------------------------------------------------------------- time entries


def _time_entry(owner: TestClient, seeded: Seeded, minutes: int = 120) -> str:
    response = owner.post(
        "/api/v1/time-entries",
        json={"member_id": seeded.employee_id, "task_id": seeded.task_id, "date": "2026-11-03",
              "duration_minutes": minutes},
    )
    assert response.status_code == 201, response.text
    entry_id: str = response.json()["id"]
    return entry_id


def _invoiced(owner: TestClient, entry_id: str) -> bool:
    return bool(owner.get(f"/api/v1/time-entries/{entry_id}").json()["invoiced"])


def test_time_entries_are_invoiced_once(owner: TestClient, seeded: Seeded, database: Database) -> None:
    first, second = _time_entry(owner, seeded), _time_entry(owner, seeded, 60)
    invoice = create(owner, _sales(seeded, lines=[_line(time_entry_ids=[first, second])]))
    assert invoice["lines"][0]["time_entry_ids"] == sorted([first, second])
    assert _invoiced(owner, first) and _invoiced(owner, second)

    again = owner.post(URL, json=_sales(seeded, lines=[_line(), _line(time_entry_ids=[second])]))
    assert again.status_code == 422
    [error] = again.json()["errors"]
    assert error["field"] == "lines[1].time_entry_ids" and second in error["message"]
    assert _count(database, Invoice) == 1

    # re-sending the same entries on update keeps them; leaving one out frees it
    url = f"{URL}/{invoice['id']}"
    kept = owner.patch(url, json={"lines": [_line(time_entry_ids=[first])]})
    assert kept.status_code == 200, kept.text
    assert kept.json()["lines"][0]["time_entry_ids"] == [first]
    assert not _invoiced(owner, second)

    # deleting the draft frees the rest
    assert owner.delete(url).status_code == 204
    assert not _invoiced(owner, first)
    assert owner.patch(f"/api/v1/time-entries/{first}", json={"notes": "editable again"}).status_code == 200


def test_time_entries_unknown_foreign_or_repeated_are_refused(
    owner: TestClient, seeded: Seeded, database: Database
) -> None:
    mine = _time_entry(owner, seeded)
    with database.session() as session:
        other = seed_workspace(session, "Other Pty Ltd", slug="other")
        foreign = TimeEntry(workspace_id=other.workspace_id, member_id=other.employee_id,
                            task_id=other.task_id, date=dt.date(2026, 11, 3),
                            duration_minutes=60)
        session.add(foreign)
        session.flush()
        foreign_id = foreign.id
    response = owner.post(URL, json=_sales(seeded, lines=[_line(time_entry_ids=[mine, foreign_id])]))
    assert response.status_code == 422
    assert foreign_id in response.json()["errors"][0]["message"]
    twice = [_line(time_entry_ids=[mine]), _line(time_entry_ids=[mine])]
    response = owner.post(URL, json=_sales(seeded, lines=twice))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines[1].time_entry_ids"
    assert not _invoiced(owner, mine)
    assert _count(database, Invoice) == 0
