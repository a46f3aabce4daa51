"""The Members and Xero contacts tabs against the sandbox: members ticked on the page arrive
in Xero (a contractor as a supplier contact, an employee as a Payroll AU employee built from
the member's stored details), once; a member missing what Xero requires is named and nothing
is sent; contacts are invited in as members once; the auto-sync switches; roles and
workspaces."""

from __future__ import annotations

import html
import re
import uuid
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from ledgerbridge.db import Database
from ledgerbridge.sync import links
from ledgerbridge.sync.models import MemberExport, RecordType, SyncSettings
from ledgerbridge.work.models import Client, Member, MemberKind
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded, seed_workspace
from tests.payroll.conftest import *  # noqa: F403 - the payroll fixture: AU connected, payroll data imported
from tests.payroll.conftest import Payroll
from tests.sync.test_invoices import run_sync
from tests.web.pages.conftest import csrf_of

pytestmark = pytest.mark.anyio

LIAM = "Liam O'Brien"


def page(payroll: Payroll, tab: str = "members") -> str:
    return f"/integrations/xero/{payroll.connection_id}/{tab}"


def submit(client: TestClient, on: str, action: str, data: dict[str, Any], **kwargs: Any) -> Any:
    """Post a form as the browser does: the token from the page it is on."""
    token = csrf_of(client.get(on, **kwargs).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False, **kwargs)


def flash(client: TestClient, response: Any) -> str:
    assert response.status_code == 303, response.text
    shown = client.get(response.headers["location"]).text
    found = re.search(r'data-flash="[a-z]+">([^<]*)<', shown)
    assert found, shown
    return html.unescape(found.group(1))


def calendar_and_rate(payroll: Payroll) -> dict[str, str]:
    ordinary = next(
        r
        for r in payroll.org.iter_records("EarningsRates")
        if r.get("EarningsType") == "ORDINARYTIMEEARNINGS"
    )
    return {
        "payroll_calendar_id": payroll.calendar("FORTNIGHTLY")["PayrollCalendarID"],
        "ordinary_earnings_rate_id": ordinary["EarningsRateID"],
    }


def sandbox_contacts(payroll: Payroll, name: str) -> list[dict[str, Any]]:
    return [c for c in payroll.org.iter_records("Contacts") if c.get("Name") == name]


def sandbox_employees(payroll: Payroll, first: str, last: str) -> list[dict[str, Any]]:
    return [
        e
        for e in payroll.org.iter_records("Employees")
        if (e.get("FirstName"), e.get("LastName")) == (first, last)
    ]


def give_details(database: Database, member_id: str) -> None:
    """What another page (the member's edit form) stores: date of birth and home address."""
    with database.session() as session:
        member = session.get(Member, member_id)
        assert member is not None
        member.date_of_birth = date(1990, 4, 2)
        member.address_line1, member.city, member.region, member.postal_code = (
            "12 Beach Road",
            "Bondi",
            "NSW",
            "2026",
        )


async def test_a_contractor_ticked_on_the_page_becomes_one_supplier_contact_in_xero(
    payroll: Payroll, seeded: Seeded, database: Database
) -> None:
    client = payroll.api
    listed = client.get(page(payroll), params={"search": "liam"})
    assert listed.status_code == 200
    assert "Supplier contact (contractor)" in listed.text and "Not imported" in listed.text
    assert sandbox_contacts(payroll, LIAM) == []
    contractors = client.get(page(payroll), params={"kind": "contractor"}).text
    assert 'data-member="Liam O&#39;Brien"' in contractors and 'data-member="Mia Chen"' not in contractors

    sent = submit(client, page(payroll), page(payroll) + "/import", {"member_id": seeded.contractor_id})
    assert flash(client, sent) == f"{LIAM}: created in Xero."
    (contact,) = sandbox_contacts(payroll, LIAM)
    with database.session() as session:
        export = session.scalars(
            select(MemberExport).where(MemberExport.member_id == seeded.contractor_id)
        ).one()
        assert (export.status, export.xero_id) == ("sent", contact["ContactID"].lower())
    shown = client.get(page(payroll), params={"search": "liam", "linked": "yes"}).text
    assert "In Xero" in shown and 'value="' + seeded.contractor_id + '"' not in shown  # no checkbox any more

    again = submit(client, page(payroll), page(payroll) + "/import", {"member_id": seeded.contractor_id})
    assert "already in Xero (nothing sent)" in flash(client, again)
    assert len(sandbox_contacts(payroll, LIAM)) == 1


async def test_employees_go_to_payroll_from_their_stored_details_and_a_missing_one_is_named(
    payroll: Payroll, seeded: Seeded, database: Database
) -> None:
    choice = calendar_and_rate(payroll)
    give_details(database, seeded.employee_id)
    noah = payroll.member("Noah Park", "noah@harbour.example.com")  # no date of birth, no address

    refused = submit(
        payroll.api,
        page(payroll),
        page(payroll) + "/import",
        {"member_id": [seeded.employee_id, noah], **choice},
    )
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "Nothing was sent." in text
    assert "Noah Park: Xero Payroll requires the employee's date of birth" in text
    assert "Noah Park: Xero Payroll requires a home address" in text
    assert "Mia Chen:" not in text
    assert text.count(" checked") >= 2  # the selection is kept
    assert (
        sandbox_employees(payroll, "Mia", "Chen") == [] and sandbox_employees(payroll, "Noah", "Park") == []
    )

    sent = submit(
        payroll.api, page(payroll), page(payroll) + "/import", {"member_id": seeded.employee_id, **choice}
    )
    assert flash(payroll.api, sent) == "Mia Chen: created in Xero."
    (employee,) = sandbox_employees(payroll, "Mia", "Chen")
    assert employee["DateOfBirth"] == date(1990, 4, 2)
    assert employee["HomeAddress"]["AddressLine1"] == "12 Beach Road"
    assert employee["PayrollCalendarID"].lower() == choice["payroll_calendar_id"].lower()
    assert employee["OrdinaryEarningsRateID"].lower() == choice["ordinary_earnings_rate_id"].lower()

    again = submit(
        payroll.api, page(payroll), page(payroll) + "/import", {"member_id": seeded.employee_id, **choice}
    )
    assert "already in Xero" in flash(payroll.api, again)
    assert len(sandbox_employees(payroll, "Mia", "Chen")) == 1


async def test_no_calendar_chosen_and_no_default_is_named_beside_the_select(
    payroll: Payroll, seeded: Seeded, database: Database
) -> None:
    give_details(database, seeded.employee_id)
    refused = submit(payroll.api, page(payroll), page(payroll) + "/import", {"member_id": seeded.employee_id})
    assert refused.status_code == 422
    assert "Payroll calendar: choose a payroll calendar" in html.unescape(refused.text)
    assert sandbox_employees(payroll, "Mia", "Chen") == []


async def test_auto_sync_of_new_members_is_switched_with_its_defaults(
    payroll: Payroll, database: Database
) -> None:
    choice = calendar_and_rate(payroll)
    switched = submit(
        payroll.api,
        page(payroll),
        page(payroll) + "/auto-sync",
        {
            "auto_sync_new_members": "on",
            "default_payroll_calendar_id": choice["payroll_calendar_id"],
            "default_earnings_rate_id": choice["ordinary_earnings_rate_id"],
        },
    )
    assert flash(payroll.api, switched) == "Auto-sync of new members is on: new members go to Xero."
    with database.session() as session:
        settings = session.scalars(select(SyncSettings)).one()
        assert settings.auto_sync_new_members
        assert settings.default_payroll_calendar_id == choice["payroll_calendar_id"]
    bad = submit(
        payroll.api,
        page(payroll),
        page(payroll) + "/auto-sync",
        {"auto_sync_new_members": "on", "default_payroll_calendar_id": "not-a-calendar"},
    )
    assert "default_payroll_calendar_id" in flash(payroll.api, bad)
    off = submit(payroll.api, page(payroll), page(payroll) + "/auto-sync", {})
    assert flash(payroll.api, off) == "Auto-sync of new members is off."


async def test_xero_contacts_are_invited_as_members_once(
    payroll: Payroll, xero_services: XeroServices, database: Database
) -> None:
    await run_sync(xero_services, database, record_types=["contact"])
    contacts = page(payroll, "contacts")
    listed = payroll.api.get(contacts, params={"search": "parramatta"}).text
    found = re.search(r'name="contact_id" value="([^"]+)"', listed)
    assert found and "Parramatta Print" in listed
    contact_id = found.group(1)

    invited = submit(payroll.api, contacts, contacts + "/invite", {"contact_id": contact_id})
    assert flash(payroll.api, invited) == "Invited as members: Parramatta Print (contractor)."
    with database.session() as session:
        member = session.scalars(select(Member).where(Member.name == "Parramatta Print")).one()
        assert member.kind is MemberKind.CONTRACTOR
    now = payroll.api.get(contacts, params={"search": "parramatta"}).text
    assert "Already a member" in now and f'value="{contact_id}"' not in now

    twice = submit(payroll.api, contacts, contacts + "/invite", {"contact_id": contact_id})
    assert twice.status_code == 422
    assert "&#39;Parramatta Print&#39; is already a member" in twice.text
    with database.session() as session:
        assert len(session.scalars(select(Member).where(Member.name == "Parramatta Print")).all()) == 1

    off = submit(payroll.api, contacts, contacts + "/auto-sync", {})
    assert flash(payroll.api, off) == "Contacts auto-sync is off."
    with database.session() as session:
        assert session.scalars(select(SyncSettings)).one().auto_sync["contact"] is False


async def test_a_contact_invited_as_an_employee_shows_as_that_contact_not_a_payroll_employee(
    payroll: Payroll, xero_services: XeroServices, database: Database
) -> None:
    """A non-supplier contact invited in becomes an employee linked to the contact: the
    members tab says it is that Xero contact, not a Payroll employee "In Xero"."""
    await run_sync(xero_services, database, record_types=["contact"])
    contacts = page(payroll, "contacts")
    with database.session() as session:
        customer = session.scalars(
            select(Client)
            .where(Client.is_supplier.is_(False), Client.archived.is_(False))
            .order_by(Client.name)
        ).first()
        assert customer is not None
        link = links.by_local_id(session, payroll.connection_id, RecordType.CONTACT, customer.id)
        assert link is not None
        name, contact_id = customer.name, link.xero_id.lower()
    invited = submit(payroll.api, contacts, contacts + "/invite", {"contact_id": contact_id})
    assert flash(payroll.api, invited) == f"Invited as members: {name} (employee)."

    shown = payroll.api.get(page(payroll), params={"search": name}).text
    row = re.search(r'<tr data-member="' + re.escape(html.escape(name)) + r'">(.*?)</tr>', shown, re.S)
    assert row, shown
    cells = row.group(1)
    assert "Xero contact" in cells and "Payroll employee" not in cells
    assert "In Xero" in cells
    assert contact_id not in {e["EmployeeID"].lower() for e in payroll.org.iter_records("Employees")}


async def test_members_are_refused_and_other_workspaces_see_nothing(
    payroll: Payroll, seeded: Seeded, database: Database
) -> None:
    member = {"Authorization": f"Bearer {seeded.member_token}"}
    assert payroll.api.get(page(payroll), headers=member).status_code == 200  # reading is for everyone
    refused = submit(
        payroll.api,
        page(payroll),
        page(payroll) + "/import",
        {"member_id": seeded.contractor_id},
        headers=member,
    )
    assert refused.status_code == 403
    assert sandbox_contacts(payroll, LIAM) == []
    contacts = page(payroll, "contacts")
    assert (
        submit(payroll.api, contacts, contacts + "/invite", {"contact_id": "x"}, headers=member).status_code
        == 403
    )

    with database.session() as session:
        other = seed_workspace(session, "Other Pty Ltd", slug="other")
    outsider = {"Authorization": f"Bearer {other.owner_token}"}
    assert payroll.api.get(page(payroll), headers=outsider).status_code == 404
    assert payroll.api.get(contacts, headers=outsider).status_code == 404


def queries_for(client: TestClient, database: Database, path: str) -> tuple[int, str]:
    """How many SQL statements one page view runs, and the page."""
    statements: list[str] = []

    def count(*_args: Any) -> None:
        statements.append("")

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        text = client.get(path).text
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    return len(statements), text


def add_members(database: Database, workspace_id: str, how_many: int) -> list[str]:
    with database.session() as session:
        members = [
            Member(workspace_id=workspace_id, name=f"Paged Member {n:03d}", email=f"paged{n:03d}@example.com")
            for n in range(how_many)
        ]
        session.add_all(members)
        session.flush()
        return [m.id for m in members]


def link(database: Database, payroll: Payroll, record_type: RecordType, local_id: str, xero_id: str) -> None:
    with database.session() as session:
        links.upsert(
            session,
            payroll.seeded.workspace_id,
            payroll.connection_id,
            record_type,
            local_id,
            xero_id,
            links.content_hash({"id": xero_id}),
            None,
            {"as": "contact"} if record_type is RecordType.MEMBER else None,
        )


async def test_the_members_tab_pages_by_50_with_a_fixed_number_of_queries(
    payroll: Payroll, database: Database
) -> None:
    members = page(payroll)
    payroll.api.get(members)  # the first view stores the organisation's settings
    few, _ = queries_for(payroll.api, database, members)
    ids = add_members(database, payroll.seeded.workspace_id, 60)
    link(database, payroll, RecordType.MEMBER, ids[55], str(uuid.uuid4()))
    many, first = queries_for(payroll.api, database, members + "?search=paged")
    assert many == few, "no query per member"
    assert first.count("<tr data-member=") == 50 and "60 members match" in first
    assert 'data-member="Paged Member 049"' in first and "Paged Member 050" not in first
    second = payroll.api.get(members, params={"search": "paged", "page": 2}).text
    assert second.count("<tr data-member=") == 10 and 'data-member="Paged Member 050"' in second
    assert f'value="{ids[54]}"' in second and f'value="{ids[55]}"' not in second  # in Xero: no tick box
    in_xero = payroll.api.get(members, params={"search": "paged", "linked": "yes"}).text
    assert in_xero.count("<tr data-member=") == 1 and "1 member match" in in_xero
    not_yet = payroll.api.get(members, params={"search": "paged", "linked": "no", "page": 2}).text
    assert not_yet.count("<tr data-member=") == 9 and "59 members match" in not_yet


def add_contacts(database: Database, payroll: Payroll, numbers: range) -> list[str]:
    """Clients synced from Xero contacts (linked, with Xero's upper-case ids): their ids."""
    with database.session() as session:
        clients = [
            Client(workspace_id=payroll.seeded.workspace_id, name=f"Paged Contact {n:03d}") for n in numbers
        ]
        session.add_all(clients)
        session.flush()
        client_ids = [c.id for c in clients]
    contact_ids = [str(uuid.uuid4()) for _ in client_ids]
    for client_id, contact_id in zip(client_ids, contact_ids, strict=True):
        link(database, payroll, RecordType.CONTACT, client_id, contact_id.upper())
    return contact_ids


async def test_the_contacts_tab_pages_by_50_with_a_fixed_number_of_queries(
    payroll: Payroll, database: Database
) -> None:
    contacts = page(payroll, "contacts")
    contact_ids = add_contacts(database, payroll, range(3))
    payroll.api.get(contacts)  # the first view stores the organisation's settings
    few, _ = queries_for(payroll.api, database, contacts + "?search=paged+contact")
    contact_ids += add_contacts(database, payroll, range(3, 55))
    (member_id,) = add_members(database, payroll.seeded.workspace_id, 1)
    link(database, payroll, RecordType.MEMBER, member_id, contact_ids[52])
    many, first = queries_for(payroll.api, database, contacts + "?search=paged+contact")
    assert many == few, "no query per contact"
    assert first.count("<tr data-contact=") == 50 and "55 contacts." in first
    second = payroll.api.get(contacts, params={"search": "paged contact", "page": 2}).text
    assert second.count("<tr data-contact=") == 5 and 'data-contact="Paged Contact 054"' in second
    assert second.count("Already a member") == 1 and f'value="{contact_ids[52]}"' not in second
    assert f'value="{contact_ids[53]}"' in second  # ids as the invite expects them: lower case
