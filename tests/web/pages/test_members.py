"""The Members page: list with search, filters and pages; add and edit through the form
(personal details included), with refusals named beside the field; deactivate and
reactivate; the read-only Xero state; members (the role) and other workspaces kept out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database, utcnow
from ledgerbridge.sync.models import MemberExport, RecordType, XeroLink
from ledgerbridge.work.models import Member, MemberKind
from ledgerbridge.xero.models import XeroConnection
from tests.factories import Seeded, seed_workspace
from tests.web.pages.conftest import post_form, sign_in

NEW = {
    "name": "Ava Nguyen",
    "email": "ava@harbour.example.com",
    "kind": "employee",
    "start_date": "2026-02-01",
    "active": "on",
    "cost_rate": "60.5",
    "bill_rate": "165.00",
    "date_of_birth": "1991-07-14",
    "address_line1": "12 Pitt Street",
    "address_line2": "Level 3",
    "city": "Sydney",
    "region": "NSW",
    "postal_code": "2000",
    "country": "Australia",
}


def _member(database: Database, **where: str) -> Member | None:
    with database.session() as session:
        return session.scalars(
            select(Member).where(*(getattr(Member, k) == v for k, v in where.items()))
        ).one_or_none()


def test_list_shows_members_with_rates_and_search(owner_page: TestClient) -> None:
    page = owner_page.get("/members")
    assert page.status_code == 200
    assert "Mia Chen" in page.text and "Liam O&#39;Brien" in page.text
    assert "150.00" in page.text and "180.00" in page.text
    assert "Add a member" in page.text
    found = owner_page.get("/members", params={"q": "liam@harbour"}).text
    assert "Liam O&#39;Brien" in found and "Mia Chen" not in found
    contractors = owner_page.get("/members", params={"kind": "contractor"}).text
    assert "Liam O&#39;Brien" in contractors and "Mia Chen" not in contractors
    assert "No members match this search." in owner_page.get("/members", params={"q": "nobody"}).text


def test_list_pages_through_many_members_keeping_the_search(
    owner_page: TestClient, database: Database, seeded: Seeded
) -> None:
    with database.session() as session:
        for n in range(60):
            session.add(
                Member(workspace_id=seeded.workspace_id, name=f"Temp {n:02d}", email=f"t{n}@x.example.com")
            )
    first = owner_page.get("/members", params={"q": "temp"}).text
    assert "Showing 1\u201350 of 60 members" in first
    assert first.count('data-member="') == 50
    assert "Temp 00" in first and "Temp 50" not in first
    assert 'href="/members?q=temp&amp;status=active&amp;page=2"' in first
    second = owner_page.get("/members", params={"q": "temp", "page": 2}).text
    assert second.count('data-member="') == 10
    assert "Temp 59" in second and "Temp 00" not in second and "Mia Chen" not in second


def test_add_a_member_with_personal_details(owner_page: TestClient, database: Database) -> None:
    response = post_form(owner_page, "/members/new", "/members/new", NEW)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/members"
    assert "Added Ava Nguyen." in owner_page.get("/members").text
    member = _member(database, email="ava@harbour.example.com")
    assert member is not None
    assert member.name == "Ava Nguyen" and member.kind is MemberKind.EMPLOYEE and member.active
    assert member.cost_rate == Decimal("60.5") and member.bill_rate == Decimal("165")
    assert member.start_date == date(2026, 2, 1)
    assert member.date_of_birth == date(1991, 7, 14)
    assert (member.address_line1, member.address_line2, member.city) == (
        "12 Pitt Street",
        "Level 3",
        "Sydney",
    )
    assert (member.region, member.postal_code, member.country) == ("NSW", "2000", "Australia")


def test_an_email_of_another_member_is_refused_by_name(
    owner_page: TestClient, database: Database, seeded: Seeded
) -> None:
    page = f"/members/{seeded.contractor_id}/edit"
    response = post_form(
        owner_page, page, page, {**NEW, "name": "Liam Renamed", "email": "mia@harbour.example.com"}
    )
    assert response.status_code == 422
    assert (
        "Email address: &#39;mia@harbour.example.com&#39; is already used by another member" in response.text
    )
    assert 'value="Liam Renamed"' in response.text  # what was typed is kept
    assert 'aria-invalid="true"' in response.text
    contractor = _member(database, id=seeded.contractor_id)
    assert contractor is not None and contractor.name == "Liam O'Brien"
    assert contractor.email == "liam@harbour.example.com"


def test_bad_date_rate_and_email_are_named_and_nothing_is_saved(
    owner_page: TestClient, database: Database
) -> None:
    bad = {**NEW, "date_of_birth": "1991-02-30", "bill_rate": "lots", "email": "not-an-email"}
    response = post_form(owner_page, "/members/new", "/members/new", bad)
    assert response.status_code == 422
    assert "Date of birth: enter a real date as YYYY-MM-DD" in response.text
    assert "Bill rate per hour: enter an amount" in response.text
    assert "Email address: enter an email address like name@example.com." in response.text
    assert 'value="1991-02-30"' in response.text
    assert _member(database, name="Ava Nguyen") is None
    future = post_form(owner_page, "/members/new", "/members/new", {**NEW, "date_of_birth": "2999-01-01"})
    assert future.status_code == 422
    assert "Date of birth: a date of birth must be in the past." in future.text
    no_first_line = post_form(owner_page, "/members/new", "/members/new", {**NEW, "address_line1": ""})
    assert no_first_line.status_code == 422
    assert "Address line 1: give the first line of the home address" in no_first_line.text
    assert _member(database, name="Ava Nguyen") is None
    blank = post_form(owner_page, "/members/new", "/members/new", {**NEW, "name": ""})
    assert blank.status_code == 422 and "Name: enter a value." in blank.text


def test_edit_changes_the_record_and_clears_blank_fields(
    owner_page: TestClient, database: Database, seeded: Seeded
) -> None:
    page = f"/members/{seeded.employee_id}/edit"
    form = owner_page.get(page).text
    assert 'value="Mia Chen"' in form and 'value="150.00"' in form and 'value="55.00"' in form
    changed = {
        **NEW,
        "name": "Mia Chen-Smith",
        "email": "mia@harbour.example.com",
        "kind": "contractor",
        "cost_rate": "",
        "active": "on",
    }
    response = post_form(owner_page, page, page, changed)
    assert response.status_code == 303, response.text
    member = _member(database, id=seeded.employee_id)
    assert member is not None
    assert member.name == "Mia Chen-Smith" and member.kind is MemberKind.CONTRACTOR
    assert member.cost_rate is None and member.bill_rate == Decimal("165")
    assert member.date_of_birth == date(1991, 7, 14) and member.postal_code == "2000"


def test_deactivate_and_reactivate(owner_page: TestClient, database: Database, seeded: Seeded) -> None:
    response = post_form(owner_page, "/members", f"/members/{seeded.employee_id}/deactivate")
    assert response.status_code == 303
    member = _member(database, id=seeded.employee_id)
    assert member is not None and member.active is False
    listed = owner_page.get("/members").text
    assert "Mia Chen is deactivated" in listed
    assert f'data-member="{seeded.employee_id}"' not in listed
    archived = owner_page.get("/members", params={"status": "archived"}).text
    assert f'data-member="{seeded.employee_id}"' in archived and "Reactivate" in archived
    post_form(owner_page, "/members", f"/members/{seeded.employee_id}/reactivate")
    member = _member(database, id=seeded.employee_id)
    assert member is not None and member.active is True


def test_members_of_the_workspace_cannot_manage(
    service: TestClient, database: Database, seeded: Seeded
) -> None:
    sign_in(service, "member@harbour.example.com")
    listed = service.get("/members").text
    assert "Mia Chen" in listed and "Add a member" not in listed and "/deactivate" not in listed
    assert service.get("/members/new").status_code == 403
    assert service.get(f"/members/{seeded.employee_id}/edit").status_code == 403
    response = post_form(service, "/members", "/members/new", NEW)
    assert response.status_code == 403
    assert "Only workspace owners and admins" in response.text
    assert post_form(service, "/members", f"/members/{seeded.employee_id}/deactivate").status_code == 403
    assert _member(database, name="Ava Nguyen") is None
    member = _member(database, id=seeded.employee_id)
    assert member is not None and member.active is True


def test_another_workspaces_member_is_not_found(owner_page: TestClient, database: Database) -> None:
    with database.session() as session:
        other = seed_workspace(session, "Other Pty Ltd", slug="other")
    assert owner_page.get(f"/members/{other.employee_id}/edit").status_code == 404
    edit = post_form(owner_page, "/members", f"/members/{other.employee_id}/edit", NEW)
    assert edit.status_code == 404
    assert post_form(owner_page, "/members", f"/members/{other.employee_id}/deactivate").status_code == 404
    member = _member(database, id=other.employee_id)
    assert member is not None and member.active and member.name == "Mia Chen"
    assert "mia@other.example.com" not in owner_page.get("/members", params={"q": "mia"}).text


def test_xero_state_is_shown_per_member(owner_page: TestClient, database: Database, seeded: Seeded) -> None:
    with database.session() as session:
        connection = XeroConnection(
            workspace_id=seeded.workspace_id, tenant_id="t-au", tenant_name="Demo Company (AU)"
        )
        session.add(connection)
        session.flush()
        session.add(
            XeroLink(
                workspace_id=seeded.workspace_id,
                connection_id=connection.id,
                record_type=RecordType.MEMBER,
                local_id=seeded.contractor_id,
                xero_id="c-1",
                content_hash="",
                content={"as": "contact"},
                synced_at=utcnow(),
            )
        )
        session.add(
            MemberExport(
                workspace_id=seeded.workspace_id,
                connection_id=connection.id,
                member_id=seeded.employee_id,
                target="employee",
                status="failed",
                error="The employee's date of birth is required.",
            )
        )
    text = owner_page.get("/members").text
    contractor = text.split(f'data-member="{seeded.contractor_id}"')[1].split("</tr>")[0]
    employee = text.split(f'data-member="{seeded.employee_id}"')[1].split("</tr>")[0]
    assert 'data-xero="linked"' in contractor and "Demo Company (AU) as a contact" in contractor
    assert 'data-xero="failed"' in employee and "date of birth is required" in employee
