"""The invoices pages through the real app: the list, building from hours (preview, then
create), editing lines, Approve, and Send via Xero into the sandbox, with its refusals and
Xero's own validation message shown on the invoice."""

# ruff: noqa: F811 - pytest passes the imported fixtures by name
from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from ledgerbridge.db import Database
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync.models import OutboxEntry, RecordType, SyncIssue, XeroLink
from ledgerbridge.work import documents
from ledgerbridge.work.models import Invoice, InvoiceKind, InvoiceStatus, TimeEntry
from ledgerbridge.xero.client import Organisation
from ledgerbridge.xero.models import XeroConnection
from tests.factories import Seeded, seed_workspace
from tests.web.pages.conftest import csrf_of, post_form, sign_in
from tests.xero.conftest import (
    force_sync_and_wait,
    run_jobs,  # noqa: F401 - the fixture
)

PERIOD = {"date_from": "2026-11-02", "date_to": "2026-11-06", "issue_date": "2026-11-09"}


# -- helpers ------------------------------------------------------------------------------


def log_hours(api: TestClient, member_id: str, task_id: str) -> None:
    """7.5 h and 50 min approved (500 minutes), one unapproved hour that is never invoiced."""
    for day, minutes, approved in (
        ("2026-11-02", 450, True),
        ("2026-11-03", 50, True),
        ("2026-11-04", 60, False),
    ):
        response = api.post(
            "/api/v1/time-entries",
            json={
                "member_id": member_id,
                "task_id": task_id,
                "date": day,
                "duration_minutes": minutes,
                "approved": approved,
            },
        )
        assert response.status_code == 201, response.text


def build(page: TestClient, action: str, party: dict[str, str], **extra: str) -> httpx.Response:
    data = {**PERIOD, "group_by": "task", "action": action, **party, **extra}
    response: httpx.Response = post_form(page, "/invoices/new", "/invoices/new", data)
    return response


def sales(seeded: Seeded) -> dict[str, str]:
    return {"kind": "sales", "client_id": seeded.client_id}


def digest_of(text: str) -> str:
    """The preview's fingerprint of the hours it shows, which Create sends back."""
    found = re.search(r'name="entries_digest" value="([0-9a-f]{64})"', text)
    assert found, text
    return found.group(1)


def totals(text: str) -> dict[str, str]:
    return dict(re.findall(r'data-total="([a-z_]+)">(?:<strong>)?([^<]+)<', text))


def create_from_hours(page: TestClient, party: dict[str, str]) -> str:
    preview = build(page, "preview", party)
    assert preview.status_code == 200, preview.text
    created = build(page, "create", party, entries_digest=digest_of(preview.text))
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    assert location.startswith("/invoices/")
    return location.removeprefix("/invoices/")


def flash_of(page: TestClient, path: str) -> str:
    text = page.get(path).text
    found = re.search(r'data-flash="[a-z]+">([^<]*)<', text)
    assert found, text
    return html.unescape(found.group(1))


def load(database: Database, invoice_id: str) -> tuple[Invoice, Any]:
    with database.session() as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        return invoice, documents.invoice_balance(session, invoice).totals


def marked(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).where(TimeEntry.invoice_line_id.is_not(None))) or 0


def line_form(page: TestClient, invoice_id: str, **changes: str) -> dict[str, str]:
    """The lines form as the page renders it, with ``changes`` typed over it."""
    text = page.get(f"/invoices/{invoice_id}").text
    fields = dict(
        re.findall(
            r'name="(lines-\d+-(?:id|description|quantity|unit_amount|account_code))" value="([^"]*)"', text
        )
    )
    fields.update(
        re.findall(
            r'<select id="[^"]+" name="(lines-\d+-tax_type)"[^>]*>(?:(?!</select>).)*?'
            r'<option value="([^"]*)" selected',
            text,
            re.S,
        )
    )
    count = re.search(r'name="line_count" value="(\d+)"', text)
    assert count, text
    return {**{k: html.unescape(v) for k, v in fields.items()}, "line_count": count.group(1), **changes}


def connect_contacts(page: TestClient, database: Database) -> None:
    """The organisation's contacts and invoices synced: Bondi Surf Co is a Xero contact, and
    local numbering continues after the organisation's own invoice numbers."""
    with database.session() as session:
        connection_id = session.scalars(select(XeroConnection.id)).one()
    run = force_sync_and_wait(page, connection_id, {"record_types": ["contact", "invoice"]})
    assert run["status"] == "succeeded", run


def in_sandbox(state: SandboxState, org: Organisation, database: Database, invoice_id: str) -> dict[str, Any]:
    with database.session() as session:
        xero_id = session.scalars(
            select(XeroLink.xero_id).where(
                XeroLink.record_type == RecordType.INVOICE, XeroLink.local_id == invoice_id
            )
        ).one()
    record = state.orgs[org.tenant_id].get_record("Invoices", xero_id)
    assert record is not None
    return record


# -- build from hours ---------------------------------------------------------------------


def test_preview_shows_decimal_totals_and_saves_nothing_then_create_marks_the_hours(
    owner_page: TestClient, seeded: Seeded, database: Database
) -> None:
    log_hours(owner_page, seeded.employee_id, seeded.task_id)
    preview = build(owner_page, "preview", sales(seeded))
    assert preview.status_code == 200, preview.text
    text = preview.text
    assert "Preview: invoice to Bondi Surf Co" in text
    assert text.count('class="preview-line"') == 1
    assert re.search(r'<td class="num">8.3333</td>\s*<td class="num">160.00</td>', text)  # 500 min at 160
    assert totals(text) == {"sub_total": "1,333.33", "total_tax": "133.33", "total": "1,466.66"}
    assert "2 time entries" in text and "2026-11-02 · Mia Chen · Website rebuild: Design · 7.5 h" in text
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Invoice)) == 0
    assert marked(database) == 0

    invoice_id = create_from_hours(owner_page, sales(seeded))
    invoice, figures = load(database, invoice_id)
    assert (invoice.kind, invoice.status, invoice.client_id) == (
        InvoiceKind.SALES,
        InvoiceStatus.DRAFT,
        seeded.client_id,
    )
    assert (figures.sub_total, figures.total_tax, figures.total) == (
        Decimal("1333.33"),
        Decimal("133.33"),
        Decimal("1466.66"),
    )
    assert marked(database) == 2
    page = owner_page.get(f"/invoices/{invoice_id}").text
    assert "created as a draft for 8.3333 hours" in page
    assert totals(page)["grand_total"] == "1,466.66"

    again = build(owner_page, "preview", sales(seeded))
    assert again.status_code == 422
    assert (
        "no approved, billable hours that are not invoiced yet from 2026-11-02 to 2026-11-06"
        in html.unescape(again.text)
    )
    assert 'value="2026-11-02"' in again.text  # what was typed is kept


def test_create_refuses_when_the_hours_changed_since_the_preview(
    owner_page: TestClient, seeded: Seeded, database: Database
) -> None:
    log_hours(owner_page, seeded.employee_id, seeded.task_id)
    preview = build(owner_page, "preview", sales(seeded))
    owner_page.post(
        "/api/v1/time-entries",
        json={
            "member_id": seeded.employee_id,
            "task_id": seeded.task_id,
            "date": "2026-11-05",
            "duration_minutes": 30,
            "approved": True,
        },
    )
    stale = build(owner_page, "create", sales(seeded), entries_digest=digest_of(preview.text))
    assert stale.status_code == 409
    assert "The hours changed since this preview" in stale.text
    assert totals(stale.text)["total"] == "1,554.66"  # the new preview: 530 min, 8.8333 x 160
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Invoice)) == 0


def test_a_contractor_s_bill_from_hours_at_their_cost_rate(
    owner_page: TestClient, seeded: Seeded, database: Database
) -> None:
    log_hours(owner_page, seeded.contractor_id, seeded.task_id)
    party = {"kind": "bill", "member_id": seeded.contractor_id}
    preview = build(owner_page, "preview", party)
    assert preview.status_code == 200, preview.text
    assert totals(preview.text) == {
        "sub_total": "750.00",
        "total_tax": "75.00",
        "total": "825.00",
    }  # 8.3333 x 90
    bill_id = create_from_hours(owner_page, party)
    bill, figures = load(database, bill_id)
    assert (bill.kind, bill.member_id, figures.total) == (
        InvoiceKind.BILL,
        seeded.contractor_id,
        Decimal("825.00"),
    )
    with database.session() as session:
        assert session.scalar(select(func.count()).where(TimeEntry.bill_line_id.is_not(None))) == 2


def test_the_build_form_names_missing_fields_and_keeps_the_values(
    owner_page: TestClient, seeded: Seeded
) -> None:
    response = build(owner_page, "preview", {"kind": "sales", "client_id": ""}, date_to="02/11/2026")
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert "Client: choose the client." in text
    assert "To: enter a date as YYYY-MM-DD" in text
    assert 'value="02/11/2026"' in text


# -- the list -----------------------------------------------------------------------------


def test_the_list_shows_invoices_and_bills_with_filters_and_search(
    owner_page: TestClient, seeded: Seeded
) -> None:
    log_hours(owner_page, seeded.employee_id, seeded.task_id)
    invoice_id = create_from_hours(owner_page, sales(seeded))
    log_hours(owner_page, seeded.contractor_id, seeded.task_id)  # after: billed, never invoiced here
    bill_id = create_from_hours(owner_page, {"kind": "bill", "member_id": seeded.contractor_id})

    everything = owner_page.get("/invoices").text
    assert f'data-invoice="{invoice_id}"' in everything and f'data-invoice="{bill_id}"' in everything
    assert "AUD 1,466.66" in everything and "AUD 825.00" in everything
    assert "Bondi Surf Co" in everything and "Liam O&#39;Brien" in everything
    assert "Not in Xero" in everything

    bills = owner_page.get("/invoices?kind=bill").text
    assert f'data-invoice="{bill_id}"' in bills and f'data-invoice="{invoice_id}"' not in bills
    found = owner_page.get("/invoices?q=bondi").text
    assert f'data-invoice="{invoice_id}"' in found and f'data-invoice="{bill_id}"' not in found
    assert 'data-invoice="' not in owner_page.get("/invoices?status=approved").text


def add_invoices(database: Database, seeded: Seeded, count: int) -> None:
    """``count`` two-line draft invoices written through the domain, as the API writes them."""
    with database.session() as session:
        for n in range(count):
            invoice = Invoice(workspace_id=seeded.workspace_id, kind=InvoiceKind.SALES)
            lines = [
                documents.LineSpec(
                    description="Design", quantity=Decimal("2"), unit_amount=Decimal("150"), tax_type="OUTPUT"
                ),
                documents.LineSpec(description=f"Hosting {n}", unit_amount=Decimal("10.005")),
            ]
            documents.write_invoice(session, invoice, {"client_id": seeded.client_id}, lines)
            session.flush()


def queries_for(page: TestClient, database: Database, path: str) -> tuple[int, str]:
    statements: list[str] = []

    def count(*_args: Any) -> None:
        statements.append("")

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        text = page.get(path).text
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    return len(statements), text


def test_the_list_pages_by_50_with_a_fixed_number_of_queries(
    owner_page: TestClient, seeded: Seeded, database: Database
) -> None:
    add_invoices(database, seeded, 3)
    few, _ = queries_for(owner_page, database, "/invoices")
    add_invoices(database, seeded, 52)
    many, first = queries_for(owner_page, database, "/invoices")
    assert many == few, "no query per invoice"
    assert first.count('data-invoice="') == 50 and "55 found" in first
    assert "AUD 340.01" in first  # 300.00 + 10.01 (rounded per line) + 30.00 tax
    assert 'href="/invoices?page=2">Older' in first
    second = owner_page.get("/invoices?page=2").text
    assert second.count('data-invoice="') == 5 and 'href="/invoices?page=1">Newer' in second


# -- one invoice --------------------------------------------------------------------------


def test_editing_lines_recomputes_the_totals_and_keeps_the_hours(
    owner_page: TestClient, seeded: Seeded, database: Database
) -> None:
    log_hours(owner_page, seeded.employee_id, seeded.task_id)
    invoice_id = create_from_hours(owner_page, sales(seeded))
    page = f"/invoices/{invoice_id}"
    data = line_form(
        owner_page,
        invoice_id,
        **{
            "lines-0-quantity": "10",
            "lines-1-description": "Hosting",
            "lines-1-quantity": "3",
            "lines-1-unit_amount": "33.3333",
            "lines-1-account_code": "200",
            "lines-1-tax_type": "OUTPUT",
        },
    )
    saved = post_form(owner_page, page, f"{page}/lines", data)
    assert saved.status_code == 303, saved.text
    _, figures = load(database, invoice_id)
    # 10 x 160 = 1600.00 and 3 x 33.3333 = 100.00 (rounded per line); tax 160.00 + 10.00
    assert (figures.sub_total, figures.total_tax, figures.total) == (
        Decimal("1700.00"),
        Decimal("170.00"),
        Decimal("1870.00"),
    )
    text = owner_page.get(page).text
    assert "The total is now AUD 1,870.00" in text
    assert totals(text)["grand_total"] == "1,870.00"
    assert marked(database) == 2, "the edited line still holds its time entries"

    bad = post_form(
        owner_page, page, f"{page}/lines", line_form(owner_page, invoice_id, **{"lines-0-quantity": "ten"})
    )
    assert bad.status_code == 422
    assert "Quantity: enter a number, e.g. 7.5" in bad.text and 'value="ten"' in bad.text
    unknown = post_form(
        owner_page, page, f"{page}/lines", line_form(owner_page, invoice_id, **{"lines-1-tax_type": "NOPE"})
    )
    assert unknown.status_code == 422
    assert "Tax rate: unknown tax type &#39;NOPE&#39;" in unknown.text
    assert load(database, invoice_id)[1].total == Decimal("1870.00"), "a refused edit changes nothing"

    removed = post_form(
        owner_page, page, f"{page}/lines", line_form(owner_page, invoice_id, **{"lines-1-remove": "1"})
    )
    assert removed.status_code == 303
    assert load(database, invoice_id)[1].total == Decimal("1760.00")


def test_approve_moves_a_draft_on(owner_page: TestClient, seeded: Seeded, database: Database) -> None:
    log_hours(owner_page, seeded.employee_id, seeded.task_id)
    invoice_id = create_from_hours(owner_page, sales(seeded))
    page = f"/invoices/{invoice_id}"
    assert post_form(owner_page, page, f"{page}/approve").status_code == 303
    assert load(database, invoice_id)[0].status is InvoiceStatus.APPROVED
    text = html.unescape(owner_page.get(page).text)
    assert "Approved. It can be sent via Xero now." in text
    assert 'data-status="approved"' in text and f"/invoices/{invoice_id}/approve" not in text
    assert "Save lines" in text, "not in Xero yet: still fixable here"
    again = post_form(owner_page, page, f"{page}/approve")
    assert again.status_code == 303


def test_members_cannot_build_approve_or_send(
    service: TestClient, seeded: Seeded, database: Database
) -> None:
    sign_in(service, seeded.owner_email)
    log_hours(service, seeded.employee_id, seeded.task_id)
    invoice_id = create_from_hours(service, sales(seeded))
    sign_in(service, "member@harbour.example.com")
    page = f"/invoices/{invoice_id}"
    text = service.get(page).text
    assert "Send via Xero" not in text and "/approve" not in text and "Save lines" not in text
    assert service.get("/invoices/new").status_code == 403
    for action in ("approve", "send"):
        response = post_form(service, page, f"{page}/{action}")
        assert response.status_code == 303
        assert "Only workspace owners and admins" in flash_of(service, page)
    assert load(database, invoice_id)[0].status is InvoiceStatus.DRAFT


def test_another_workspace_s_invoice_is_not_found(
    owner_page: TestClient, seeded: Seeded, database: Database
) -> None:
    with database.session() as session:
        other = seed_workspace(session, "Other Pty Ltd", slug="other")
        invoice = Invoice(workspace_id=other.workspace_id, kind=InvoiceKind.SALES)
        documents.write_invoice(
            session,
            invoice,
            {"client_id": other.client_id},
            [documents.LineSpec(description="Theirs", unit_amount=Decimal("10"))],
        )
        session.flush()
        other_id = invoice.id
    assert owner_page.get(f"/invoices/{other_id}").status_code == 404
    assert "Theirs" not in owner_page.get("/invoices").text
    token = csrf_of(owner_page.get("/invoices").text)
    for action in ("approve", "send", "lines"):
        response = owner_page.post(f"/invoices/{other_id}/{action}", data={"csrf_token": token})
        assert response.status_code == 404
    with database.session() as session:
        assert session.get(Invoice, other_id).status is InvoiceStatus.DRAFT  # type: ignore[union-attr]


# -- Send via Xero ------------------------------------------------------------------------


def test_send_refuses_naming_the_client_not_in_xero(
    au: Organisation, owner_page: TestClient, seeded: Seeded, database: Database
) -> None:
    log_hours(owner_page, seeded.employee_id, seeded.task_id)
    invoice_id = create_from_hours(owner_page, sales(seeded))
    page = f"/invoices/{invoice_id}"
    response = post_form(owner_page, page, f"{page}/send")
    assert response.status_code == 303
    assert flash_of(owner_page, page) == (
        "This invoice cannot go to Xero yet: Client 'Bondi Surf Co' is not in Xero yet; sync contacts first."
    )
    assert load(database, invoice_id)[0].status is InvoiceStatus.DRAFT  # nothing queued, not approved


def test_send_via_xero_puts_the_invoice_in_the_sandbox(
    au: Organisation,
    owner_page: TestClient,
    seeded: Seeded,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: Any,
) -> None:
    connect_contacts(owner_page, database)
    log_hours(owner_page, seeded.employee_id, seeded.task_id)
    invoice_id = create_from_hours(owner_page, sales(seeded))
    page = f"/invoices/{invoice_id}"
    assert post_form(owner_page, page, f"{page}/send").status_code == 303
    text = owner_page.get(page).text
    assert "Queued for Xero: Demo Company (AU) (Xero creates it as draft" in html.unescape(text)
    assert "Waiting to go to Xero" in text

    assert run_jobs() >= 1
    theirs = in_sandbox(sandbox_state, au, database, invoice_id)
    contact = sandbox_state.orgs[au.tenant_id].get_record("Contacts", theirs["_ContactID"])
    assert contact is not None and contact["Name"] == "Bondi Surf Co"
    invoice, _ = load(database, invoice_id)
    assert (theirs["Type"], theirs["InvoiceNumber"], theirs["Status"]) == ("ACCREC", invoice.number, "DRAFT")
    assert (theirs["SubTotal"], theirs["TotalTax"], theirs["Total"]) == (
        Decimal("1333.33"),
        Decimal("133.33"),
        Decimal("1466.66"),
    )
    assert theirs["LineItems"][0]["Quantity"] == Decimal("8.3333")
    shown = owner_page.get(page).text
    assert f"In Xero as {invoice.number}" in shown
    assert f'data-invoice="{invoice_id}"' in (listing := owner_page.get("/invoices").text)
    assert f"In Xero as {invoice.number}" in listing

    assert "Save lines" not in shown and "Xero has this invoice now: change it in Xero." in shown
    typed = {"line_count": "1", "lines-0-description": "Extra", "lines-0-quantity": "1"}
    refused = post_form(owner_page, page, f"{page}/lines", typed)
    assert refused.status_code == 303
    assert "cannot be changed: Xero has it now" in flash_of(owner_page, page)
    assert load(database, invoice_id)[1].total == Decimal("1466.66")


def test_xero_s_validation_message_shows_on_the_invoice(
    au: Organisation,
    owner_page: TestClient,
    seeded: Seeded,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: Any,
) -> None:
    connect_contacts(owner_page, database)
    log_hours(owner_page, seeded.employee_id, seeded.task_id)
    invoice_id = create_from_hours(owner_page, sales(seeded))
    page = f"/invoices/{invoice_id}"
    edited = post_form(
        owner_page,
        page,
        f"{page}/lines",
        line_form(owner_page, invoice_id, **{"lines-0-account_code": "9999"}),
    )
    assert edited.status_code == 303
    assert post_form(owner_page, page, f"{page}/send").status_code == 303
    run_jobs()

    with database.session() as session:
        issue = session.scalars(select(SyncIssue).where(SyncIssue.local_id == invoice_id)).one()
        linked = session.scalar(
            select(func.count()).select_from(XeroLink).where(XeroLink.local_id == invoice_id)
        )
    assert linked == 0
    assert "9999" in issue.message and issue.hint
    text = html.unescape(owner_page.get(page).text)
    assert "Xero refused it" in text
    assert issue.from_xero and "Xero said:" in text and issue.message in text  # Xero's own words
    assert issue.hint in text
    assert issue.message in html.unescape(owner_page.get("/invoices").text)

    fixed = post_form(  # the fix, on the same page: an account Xero knows; then send again
        owner_page,
        page,
        f"{page}/lines",
        line_form(owner_page, invoice_id, **{"lines-0-account_code": "200"}),
    )
    assert fixed.status_code == 303, fixed.text
    assert post_form(owner_page, page, f"{page}/send").status_code == 303
    assert "Waiting to go to Xero" in owner_page.get(page).text
    run_jobs()
    theirs = in_sandbox(sandbox_state, au, database, invoice_id)
    assert (theirs["LineItems"][0]["AccountCode"], theirs["Total"]) == ("200", Decimal("1466.66"))
    assert "In Xero as" in owner_page.get(page).text


def test_send_is_hidden_and_refused_once_xero_has_the_invoice_as_it_is(
    au: Organisation,
    owner_page: TestClient,
    seeded: Seeded,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: Any,
) -> None:
    """After it went, Send via Xero would queue a row the push skips: the button goes and a
    stale form's POST says why. A change here not yet in Xero brings the button back."""
    connect_contacts(owner_page, database)
    log_hours(owner_page, seeded.employee_id, seeded.task_id)
    invoice_id = create_from_hours(owner_page, sales(seeded))
    page = f"/invoices/{invoice_id}"
    send_button = f'action="{page}/send"'
    assert send_button in owner_page.get(page).text  # not in Xero yet
    assert post_form(owner_page, page, f"{page}/send").status_code == 303
    assert send_button in owner_page.get(page).text  # queued, not yet there
    run_jobs()
    in_sandbox(sandbox_state, au, database, invoice_id)
    number = load(database, invoice_id)[0].number

    shown = owner_page.get(page).text
    assert f"In Xero as {number}" in shown
    assert send_button not in shown and "Send via Xero</button>" not in shown
    assert "Nothing new to send: Xero has it just as it is here." in shown

    def outbox_rows() -> int:
        with database.session() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(OutboxEntry).where(OutboxEntry.local_id == invoice_id)
                )
                or 0
            )

    before = outbox_rows()
    refused = post_form(owner_page, page, f"{page}/send")
    assert refused.status_code == 303 and refused.headers["location"] == page
    assert flash_of(owner_page, page) == (
        f"Nothing was sent: Xero already has this invoice as {number}, just as it is here. "
        "Make any changes in Xero; they come back here with the next sync."
    )
    assert outbox_rows() == before  # nothing queued

    with database.session() as session:  # a change here that Xero has not had yet
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        invoice.reference = "PO 7781"
    assert send_button in owner_page.get(page).text
    assert post_form(owner_page, page, f"{page}/send").status_code == 303
    assert "Queued for Xero" in html.unescape(owner_page.get(page).text)
    run_jobs()
    assert in_sandbox(sandbox_state, au, database, invoice_id)["Reference"] == "PO 7781"
    assert send_button not in owner_page.get(page).text
