"""Members to Xero against the sandbox: a contractor becomes a supplier contact their bills
go to, an employee a Payroll AU employee mapped for timesheets, each once; an existing
contact is linked, not duplicated; Xero's refusal lands on the member; new members go
on their own when the organisation says so; Xero contacts are invited in as members once."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.payroll.models import MappingKind, PayrollMapping
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync.members import split_name
from ledgerbridge.sync.models import MemberExport, RecordType, XeroLink
from ledgerbridge.work.models import Client
from ledgerbridge.xero.client import ACCOUNTING, Organisation
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded, seed_workspace
from tests.payroll.conftest import *  # noqa: F403 - the payroll fixture (the AU organisation, payroll data imported)
from tests.payroll.conftest import Payroll
from tests.sync.test_invoices import authorise_new_invoices, run_sync
from tests.sync.test_send_invoice import BUILD, PERIOD, log_hours

pytestmark = pytest.mark.anyio


ADDRESS = {"address_line1": "12 Beach Road", "city": "Bondi", "region": "NSW", "postal_code": "2026"}


def base(api: TestClient) -> str:
    (connection,) = api.get("/api/v1/xero/connections").json()
    return f"/api/v1/xero/connections/{connection['id']}/members"


def import_members(api: TestClient, *members: dict[str, Any], status: int = 200, **extra: Any) -> Any:
    response = api.post(f"{base(api)}/import", json={"members": list(members), **extra})
    assert response.status_code == status, response.text
    return response.json()


def contacts_named(state: SandboxState, org: Organisation, name: str) -> list[dict[str, Any]]:
    return [c for c in state.orgs[org.tenant_id].iter_records("Contacts") if c.get("Name") == name]


def employee_choice(state: Payroll) -> dict[str, str]:
    ordinary = next(
        r for r in state.org.iter_records("EarningsRates") if r.get("EarningsType") == "ORDINARYTIMEEARNINGS"
    )
    return {
        "payroll_calendar_id": state.calendar("FORTNIGHTLY")["PayrollCalendarID"],
        "ordinary_earnings_rate_id": ordinary["EarningsRateID"],
    }


def test_names_split_sensibly() -> None:
    assert split_name("Mia Chen") == ("Mia", "Chen")
    assert split_name("  Ana María  de la Cruz ") == ("Ana María de la", "Cruz")
    assert split_name("CHEN, Mia") == ("Mia", "CHEN")
    assert split_name("Cher") == ("Cher", None)


async def test_a_contractor_becomes_a_supplier_contact_and_their_bill_reaches_xero_from_it(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    database: Database,
    owner_api: TestClient,
    seeded: Seeded,
) -> None:
    authorise_new_invoices(database)
    await run_sync(xero_services, database)  # Xero's demo data in, before the contractor goes out
    (outcome,) = import_members(owner_api, {"member_id": seeded.contractor_id})
    assert (outcome["target"], outcome["outcome"]) == ("contact", "created")
    (contact,) = contacts_named(sandbox_state, au, "Liam O'Brien")
    assert outcome["xero_id"] == contact["ContactID"].lower()
    with database.session() as session:
        supplier = session.scalars(select(Client).where(Client.name == "Liam O'Brien")).one()
        assert supplier.is_supplier
        link = session.scalars(
            select(XeroLink).where(
                XeroLink.record_type == RecordType.CONTACT, XeroLink.local_id == supplier.id
            )
        ).one()
        assert link.xero_id == outcome["xero_id"]

    # the contractor's bill goes to that contact, with no contact sync in between
    log_hours(owner_api, seeded, member_id=seeded.contractor_id)
    bill = owner_api.post(BUILD, json={"member_id": seeded.contractor_id, **PERIOD}).json()
    assert owner_api.post(f"/api/v1/invoices/{bill['id']}/send-to-xero").status_code == 200
    run = await run_sync(xero_services, database, record_types=[RecordType.INVOICE])
    assert run.status == "succeeded", run.error
    (theirs,) = [
        i
        for i in sandbox_state.orgs[au.tenant_id].iter_records("Invoices")
        if i["Type"] == "ACCPAY" and i.get("_ContactID", "").lower() == contact["ContactID"].lower()
    ]
    assert theirs["Status"] == "AUTHORISED"

    # a second import sends nothing, and a contact sync does not make a second contact
    calls = xero_services.client.counter.total()
    (again,) = import_members(owner_api, {"member_id": seeded.contractor_id})
    assert (again["outcome"], again["xero_id"]) == ("already", outcome["xero_id"])
    assert xero_services.client.counter.total() == calls
    await run_sync(xero_services, database, record_types=[RecordType.CONTACT])
    assert len(contacts_named(sandbox_state, au, "Liam O'Brien")) == 1


async def test_a_contact_with_that_name_in_xero_is_linked_not_duplicated(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    owner_api: TestClient,
    seeded: Seeded,
) -> None:
    (made,) = await xero_services.client.write_batch(
        au, "PUT", f"{ACCOUNTING}/Contacts", "Contacts", [{"Name": "Liam O'Brien"}], "test-existing-liam"
    )
    assert made.ok, made.messages
    (outcome,) = import_members(owner_api, {"member_id": seeded.contractor_id})
    assert (outcome["outcome"], outcome["xero_id"]) == ("linked", str(made.record["ContactID"]).lower())
    assert len(contacts_named(sandbox_state, au, "Liam O'Brien")) == 1


async def test_an_employee_becomes_a_payroll_employee_mapped_for_timesheets_once(
    payroll: Payroll,
    xero_services: XeroServices,
    seeded: Seeded,
    database: Database,
) -> None:
    choice = employee_choice(payroll)
    employees_before = len(list(payroll.org.iter_records("Employees")))
    request = {"member_id": seeded.employee_id, "date_of_birth": "1990-04-02", "home_address": ADDRESS}
    (outcome,) = import_members(payroll.api, {**request, "start_date": "2026-01-05"}, **choice)
    assert (outcome["target"], outcome["outcome"]) == ("employee", "created")
    theirs = next(
        e for e in payroll.org.iter_records("Employees") if e["EmployeeID"].lower() == outcome["xero_id"]
    )
    assert (theirs["FirstName"], theirs["LastName"], theirs["Email"]) == (
        "Mia",
        "Chen",
        "mia@harbour.example.com",
    )
    assert theirs["PayrollCalendarID"].lower() == choice["payroll_calendar_id"].lower()
    assert theirs["OrdinaryEarningsRateID"].lower() == choice["ordinary_earnings_rate_id"].lower()
    assert (
        theirs["StartDate"] == date(2026, 1, 5) and theirs["HomeAddress"]["AddressLine1"] == "12 Beach Road"
    )

    wizard = payroll.api.get(f"{payroll.base}/mappings").json()
    mia = next(m for m in wizard["members"] if m["member_id"] == seeded.employee_id)
    assert mia["employee_id"] == outcome["xero_id"]
    with database.session() as session:
        mapping = session.scalars(
            select(PayrollMapping).where(
                PayrollMapping.kind == MappingKind.MEMBER, PayrollMapping.local_id == seeded.employee_id
            )
        ).one()
        assert mapping.xero_id == outcome["xero_id"]

    calls = xero_services.client.counter.total()
    (again,) = import_members(payroll.api, request, **choice)
    assert again["outcome"] == "already"
    assert xero_services.client.counter.total() == calls
    assert len(list(payroll.org.iter_records("Employees"))) == employees_before + 1

    listed = payroll.api.get(base(payroll.api), params={"search": "mia", "linked": "true"}).json()
    assert [(m["member_id"], m["status"], m["xero_id"]) for m in listed] == [
        (seeded.employee_id, "sent", outcome["xero_id"])
    ]


async def test_what_xero_requires_is_asked_for_naming_each_field(
    payroll: Payroll,
    xero_services: XeroServices,
    seeded: Seeded,
) -> None:
    calls = xero_services.client.counter.total()
    response = payroll.api.post(
        f"{base(payroll.api)}/import", json={"members": [{"member_id": seeded.employee_id}]}
    )
    assert response.status_code == 422, response.text
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {
        "members[0].date_of_birth",
        "members[0].home_address.address_line1",
        "members[0].payroll_calendar_id",
        "members[0].ordinary_earnings_rate_id",
    }
    unknown = payroll.api.post(f"{base(payroll.api)}/import", json={"members": [{"member_id": "nope"}]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "members[0].member_id"
    assert xero_services.client.counter.total() == calls
    assert not list(payroll.org.iter_records("Employees")) or all(
        e.get("Email") != "mia@harbour.example.com" for e in payroll.org.iter_records("Employees")
    )


async def test_xero_s_refusal_lands_on_that_member_and_the_others_still_go(
    payroll: Payroll,
    sandbox_state: SandboxState,
    au: Organisation,
    seeded: Seeded,
) -> None:
    choice = employee_choice(payroll)
    wrong = {**ADDRESS, "region": "Queensland"}  # not an AU state code: we pass it on, Xero refuses
    outcomes = import_members(
        payroll.api,
        {"member_id": seeded.employee_id, "date_of_birth": "1990-04-02", "home_address": wrong, **choice},
        {"member_id": seeded.contractor_id},
    )
    mia, liam = outcomes
    assert mia["outcome"] == "failed" and "Region" in mia["error"]
    assert liam["outcome"] == "created" and contacts_named(sandbox_state, au, "Liam O'Brien")
    (row,) = payroll.api.get(base(payroll.api), params={"search": "Mia"}).json()
    assert (row["status"], row["linked"], row["error"]) == ("failed", False, mia["error"])

    # fixed and sent again: a new attempt, under a new key
    (fixed,) = import_members(
        payroll.api,
        {"member_id": seeded.employee_id, "date_of_birth": "1990-04-02", "home_address": ADDRESS, **choice},
    )
    assert fixed["outcome"] == "created"


async def test_new_members_go_to_xero_on_their_own_when_the_organisation_says_so(
    payroll: Payroll,
    sandbox_state: SandboxState,
    au: Organisation,
    run_jobs: Any,
    database: Database,
) -> None:
    settings = f"/api/v1/xero/connections/{payroll.connection_id}/settings"
    off = payroll.api.post("/api/v1/members", json={"name": "Noah Quiet", "kind": "contractor"})
    assert off.status_code == 201
    run_jobs()
    assert not contacts_named(sandbox_state, au, "Noah Quiet")

    choice = employee_choice(payroll)
    bad = payroll.api.put(settings, json={"default_payroll_calendar_id": "nope"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "default_payroll_calendar_id"
    put = payroll.api.put(
        settings,
        json={
            "auto_sync_new_members": True,
            "default_payroll_calendar_id": choice["payroll_calendar_id"],
            "default_earnings_rate_id": choice["ordinary_earnings_rate_id"],
        },
    )
    assert put.status_code == 200 and put.json()["auto_sync_new_members"] is True

    zoe = payroll.api.post("/api/v1/members", json={"name": "Zoe Park", "kind": "contractor"}).json()
    sam = payroll.api.post("/api/v1/members", json={"name": "Sam Lee", "kind": "employee"}).json()
    ella = payroll.api.post(
        "/api/v1/members",
        json={"name": "Ella Stone", "kind": "employee", "date_of_birth": "1988-07-14", **ADDRESS},
    ).json()
    assert (
        payroll.api.patch(f"/api/v1/members/{off.json()['id']}", json={"bill_rate": "100"}).status_code == 200
    )
    run_jobs()
    (contact,) = contacts_named(sandbox_state, au, "Zoe Park")
    with database.session() as session:
        exports = {e.member_id: e for e in session.scalars(select(MemberExport))}
    assert (exports[zoe["id"]].status, exports[zoe["id"]].xero_id) == ("sent", contact["ContactID"].lower())
    # an employee needs a date of birth and an address: one without them fails, each named
    assert exports[sam["id"]].status == "failed"
    assert "member.date_of_birth" in (exports[sam["id"]].error or "")
    assert "member.home_address.address_line1" in (exports[sam["id"]].error or "")
    # one with them stored on the member arrives in Payroll AU with them
    (theirs,) = [e for e in payroll.org.iter_records("Employees") if e.get("LastName") == "Stone"]
    assert (exports[ella["id"]].status, exports[ella["id"]].xero_id) == ("sent", theirs["EmployeeID"].lower())
    assert theirs["DateOfBirth"] == date(1988, 7, 14)
    assert theirs["HomeAddress"]["AddressLine1"] == "12 Beach Road"
    assert (theirs["HomeAddress"]["City"], theirs["HomeAddress"]["Region"]) == ("Bondi", "NSW")
    assert off.json()["id"] not in exports  # updating an older member does not send it
    assert not contacts_named(sandbox_state, au, "Noah Quiet")


async def test_xero_contacts_are_invited_as_members_once(
    xero_services: XeroServices,
    au: Organisation,
    database: Database,
    owner_api: TestClient,
) -> None:
    await run_sync(xero_services, database, record_types=[RecordType.CONTACT])
    listed = owner_api.get(f"{base(owner_api)}/invitable", params={"search": "parramatta"}).json()
    (print_shop,) = listed
    assert print_shop["is_supplier"] and print_shop["member_id"] is None
    response = owner_api.post(f"{base(owner_api)}/invite", json={"contact_ids": [print_shop["contact_id"]]})
    assert response.status_code == 201, response.text
    (member,) = response.json()
    assert (member["name"], member["kind"]) == ("Parramatta Print", "contractor")

    again = owner_api.post(f"{base(owner_api)}/invite", json={"contact_ids": [print_shop["contact_id"]]})
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "contact_ids[0]"
    assert "Parramatta Print" in again.json()["errors"][0]["message"]
    (now,) = owner_api.get(f"{base(owner_api)}/invitable", params={"search": "parramatta"}).json()
    assert now["member_id"] == member["id"]
    # the invited member is that contact: importing it sends nothing
    (outcome,) = import_members(owner_api, {"member_id": member["id"]})
    assert (outcome["outcome"], outcome["xero_id"]) == ("already", print_shop["contact_id"])


async def test_only_owners_and_admins_and_only_their_own_workspace(
    au: Organisation, owner_api: TestClient, seeded: Seeded, database: Database
) -> None:
    with database.session() as session:
        other = seed_workspace(session, "Other Pty Ltd", slug="other")
    member = {"Authorization": f"Bearer {seeded.member_token}"}
    body = {"members": [{"member_id": seeded.contractor_id}]}
    assert owner_api.post(f"{base(owner_api)}/import", json=body, headers=member).status_code == 403
    assert (
        owner_api.post(f"{base(owner_api)}/invite", json={"contact_ids": ["x"]}, headers=member).status_code
        == 403
    )
    foreign = owner_api.post(
        f"{base(owner_api)}/import", json={"members": [{"member_id": other.contractor_id}]}
    )
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == "members[0].member_id"
    outsider = {"Authorization": f"Bearer {other.owner_token}"}
    assert owner_api.get(base(owner_api), headers=outsider).status_code == 404
    assert owner_api.post(f"{base(owner_api)}/import", json=body, headers=outsider).status_code == 404


async def test_a_send_cut_short_after_xero_answered_replays_instead_of_duplicating(
    payroll: Payroll,
    seeded: Seeded,
    database: Database,
) -> None:
    choice = employee_choice(payroll)
    request = {
        "member_id": seeded.employee_id,
        "date_of_birth": "1990-04-02",
        "home_address": ADDRESS,
        **choice,
    }
    (first,) = import_members(payroll.api, request)
    employees = len(list(payroll.org.iter_records("Employees")))
    # as if the process stopped after Xero created the employee, before the answer was kept
    with database.session() as session:
        for model in (XeroLink, PayrollMapping):
            for row in session.scalars(select(model).where(model.local_id == seeded.employee_id)):
                session.delete(row)
        export = session.scalars(select(MemberExport)).one()
        export.status, export.xero_id = "sending", None
    (resent,) = import_members(payroll.api, request)
    assert (resent["outcome"], resent["xero_id"]) == ("created", first["xero_id"])
    assert len(list(payroll.org.iter_records("Employees"))) == employees
    with database.session() as session:
        assert session.scalars(select(MemberExport)).one().attempts == 1


async def test_an_employee_s_stored_details_are_sent_and_the_request_overrides_them(
    payroll: Payroll, seeded: Seeded
) -> None:
    stored = {"date_of_birth": "1991-03-09", **ADDRESS, "address_line2": "Unit 4"}
    assert payroll.api.patch(f"/api/v1/members/{seeded.employee_id}", json=stored).status_code == 200
    (outcome,) = import_members(payroll.api, {"member_id": seeded.employee_id}, **employee_choice(payroll))
    assert outcome["outcome"] == "created", outcome
    theirs = next(
        e for e in payroll.org.iter_records("Employees") if e["EmployeeID"].lower() == outcome["xero_id"]
    )
    assert theirs["DateOfBirth"] == date(1991, 3, 9)
    assert theirs["HomeAddress"] == {
        "AddressLine1": "12 Beach Road",
        "AddressLine2": "Unit 4",
        "City": "Bondi",
        "Region": "NSW",
        "PostalCode": "2026",
    }

    # a new employee with details on file, but the request gives its own: the request wins,
    # and its address replaces the stored one whole (no stored second line mixed in)
    ava = payroll.api.post(
        "/api/v1/members", json={"name": "Ava Brooks", "kind": "employee", **stored}
    ).json()
    given = {"address_line1": "3 Ocean Street", "city": "Cronulla", "region": "NSW", "postal_code": "2230"}
    (other,) = import_members(
        payroll.api,
        {"member_id": ava["id"], "date_of_birth": "1985-12-01", "home_address": given},
        **employee_choice(payroll),
    )
    assert other["outcome"] == "created", other
    theirs = next(
        e for e in payroll.org.iter_records("Employees") if e["EmployeeID"].lower() == other["xero_id"]
    )
    assert theirs["DateOfBirth"] == date(1985, 12, 1)
    assert theirs["HomeAddress"] == {
        "AddressLine1": "3 Ocean Street",
        "City": "Cronulla",
        "Region": "NSW",
        "PostalCode": "2230",
    }


def test_members_hold_personal_details_checked_on_the_way_in(owner: TestClient) -> None:
    created = owner.post(
        "/api/v1/members",
        json={"name": "Ruby Hart", "date_of_birth": "1994-05-30", **ADDRESS, "country": "Australia"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["date_of_birth"], body["address_line1"], body["city"]) == (
        "1994-05-30",
        "12 Beach Road",
        "Bondi",
    )
    assert (body["region"], body["postal_code"], body["country"]) == ("NSW", "2026", "Australia")
    read = owner.get(f"/api/v1/members/{body['id']}").json()
    assert read["date_of_birth"] == "1994-05-30" and read["address_line2"] is None

    for value, words in (("2999-01-01", "in the past"), ("1850-02-03", "1900")):
        refused = owner.patch(f"/api/v1/members/{body['id']}", json={"date_of_birth": value})
        assert refused.status_code == 422, refused.text
        (error,) = refused.json()["errors"]
        assert error["field"] == "date_of_birth" and words in error["message"]

    orphan = owner.post("/api/v1/members", json={"name": "Leo Grant", "city": "Bondi"})
    assert orphan.status_code == 422 and orphan.json()["errors"][0]["field"] == "address_line1"
    # clearing the address clears it whole; the stored date stays
    cleared = owner.patch(
        f"/api/v1/members/{body['id']}",
        json={"address_line1": None, "city": None, "region": None, "postal_code": None, "country": None},
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["address_line1"] is None and cleared.json()["date_of_birth"] == "1994-05-30"


async def test_a_contact_invited_as_an_employee_is_that_contact_not_a_payroll_employee(
    payroll: Payroll, xero_services: XeroServices, database: Database
) -> None:
    """An employee invited from a (non-supplier) contact is linked to the contact: it reads as
    a contact in Xero, never as a Payroll AU employee that does not exist."""
    await run_sync(xero_services, database, record_types=[RecordType.CONTACT])
    listed = payroll.api.get(f"{base(payroll.api)}/invitable").json()
    customer = next(c for c in listed if not c["is_supplier"] and c["member_id"] is None)
    response = payroll.api.post(f"{base(payroll.api)}/invite", json={"contact_ids": [customer["contact_id"]]})
    assert response.status_code == 201, response.text
    (member,) = response.json()
    assert member["kind"] == "employee"

    (status,) = [s for s in payroll.api.get(base(payroll.api)).json() if s["member_id"] == member["id"]]
    assert (status["target"], status["linked"], status["status"], status["xero_id"]) == (
        "contact",
        True,
        "sent",
        customer["contact_id"],
    )
    employees = {e["EmployeeID"].lower() for e in payroll.org.iter_records("Employees")}
    assert status["xero_id"] not in employees
    (outcome,) = import_members(payroll.api, {"member_id": member["id"]})
    assert (outcome["target"], outcome["outcome"], outcome["xero_id"]) == (
        "contact",
        "already",
        customer["contact_id"],
    )
