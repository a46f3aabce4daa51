"""Imports of reference data against the sandbox: counts, repeats, changes, payroll, API."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.jobs.models import Job
from ledgerbridge.jobs.registry import JobContext
from ledgerbridge.sandbox.clock import ClientClock
from ledgerbridge.sandbox.models import Organisation as SandboxOrganisation
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.settings import Settings
from ledgerbridge.sync.imports import IMPORTS, enqueue_import, import_job, run_import
from ledgerbridge.sync.models import RecordType, RunStatus, SyncIssue, SyncRun, XeroLink, XeroReference
from ledgerbridge.work.models import Item, TaxRate
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection, XeroGrant
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded, seed_workspace
from tests.xero.conftest import SANDBOX_URL, give_consent

pytestmark = pytest.mark.anyio
AU = "Demo Company (AU)"
NZ = "Demo Company (NZ)"
PAYROLL = {RecordType.EMPLOYEE, RecordType.EARNINGS_RATE, RecordType.PAYROLL_CALENDAR}


@dataclass(frozen=True)
class Connected:
    workspace_id: str
    connection_id: str
    tenant_id: str


@pytest.fixture
def xero_services(
    xero_settings: Settings,
    database: Database,
    sandbox_app: FastAPI,
    sandbox_time: ClientClock,
) -> XeroServices:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url=SANDBOX_URL)
    return XeroServices.build(xero_settings, database, http=http, clock=sandbox_time)


def _connect(admin: TestClient, browser: TestClient, database: Database, name: str) -> Connected:
    authorize_url = admin.post("/api/v1/xero/connect").json()["authorize_url"]
    admin.get(give_consent(browser, authorize_url, [name]).callback)
    with database.session() as session:
        connection = session.scalars(select(XeroConnection).where(XeroConnection.tenant_name == name)).one()
        return Connected(connection.workspace_id, connection.id, connection.tenant_id)


@pytest.fixture
def au(admin_browser: TestClient, xero_browser: TestClient, database: Database) -> Connected:
    return _connect(admin_browser, xero_browser, database, AU)


@pytest.fixture
def nz(admin_browser: TestClient, xero_browser: TestClient, database: Database) -> Connected:
    return _connect(admin_browser, xero_browser, database, NZ)


def _sandbox_org(state: SandboxState, connected: Connected) -> SandboxOrganisation:
    return state.orgs[connected.tenant_id]


def _expected_counts(org: SandboxOrganisation) -> dict[RecordType, int]:
    """What Xero (the sandbox) holds, by its own collections."""
    return {
        RecordType.ORGANISATION: 1,
        RecordType.CURRENCY: len(org.records("Currencies")),
        RecordType.TAX_RATE: len(org.records("TaxRates")),
        RecordType.ACCOUNT: sum(1 for a in org.iter_records("Accounts") if a.get("Status") != "DELETED"),
        RecordType.BRANDING_THEME: len(org.records("BrandingThemes")),
        RecordType.TRACKING_CATEGORY: sum(
            1 for t in org.iter_records("TrackingCategories") if t.get("Status") in {"ACTIVE", "ARCHIVED"}
        ),
        RecordType.ITEM: len(org.records("Items")),
        RecordType.PAYROLL_CALENDAR: len(org.records("PayrollCalendars")),
        RecordType.EARNINGS_RATE: len(org.records("EarningsRates")),
        RecordType.EMPLOYEE: len(org.records("Employees")),
    }


def _references(database: Database, connection_id: str) -> dict[RecordType, list[XeroReference]]:
    found: dict[RecordType, list[XeroReference]] = {}
    with database.session() as session:
        for row in session.scalars(select(XeroReference).where(XeroReference.connection_id == connection_id)):
            found.setdefault(row.record_type, []).append(row)
    return found


async def test_first_import_brings_everything_in_one_call_per_type(
    xero_services: XeroServices,
    au: Connected,
    sandbox_state: SandboxState,
    database: Database,
) -> None:
    expected = _expected_counts(_sandbox_org(sandbox_state, au))
    assert all(expected.values()), expected  # the demo organisation has some of everything

    run = await run_import(xero_services, au.workspace_id, au.connection_id, None)

    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.trigger == "import"
    assert run.counts == {"created": sum(expected.values()), "calls": len(IMPORTS)}
    references = _references(database, au.connection_id)
    assert {t: len(rows) for t, rows in references.items()} == expected
    assert xero_services.client.counter.total(au.tenant_id) == len(IMPORTS)
    for record_type, summary in run.progress["types"].items():
        assert summary["calls"] == 1, record_type
        assert summary["created"] == expected[RecordType(record_type)]
    assert run.progress["step"] == run.progress["steps"] == len(IMPORTS)


async def test_references_keep_xero_fields_and_options(
    xero_services: XeroServices,
    au: Connected,
    sandbox_state: SandboxState,
    database: Database,
) -> None:
    await run_import(xero_services, au.workspace_id, au.connection_id, None)
    references = _references(database, au.connection_id)
    organisation = references[RecordType.ORGANISATION][0]
    assert (organisation.name, organisation.data["CountryCode"]) == (AU, "AU")
    sales = next(a for a in references[RecordType.ACCOUNT] if a.code == "200")
    assert sales.status == "ACTIVE" and sales.data["Type"] == "REVENUE"
    org = _sandbox_org(sandbox_state, au)
    for category in references[RecordType.TRACKING_CATEGORY]:
        source = org.records("TrackingCategories")[category.xero_id]
        live = [o for o in source["Options"] if o.get("Status") != "DELETED"]
        assert len(category.data["Options"]) == len(live) > 0
    employee = references[RecordType.EMPLOYEE][0]
    assert employee.name == f"{employee.data['FirstName']} {employee.data['LastName']}"


async def test_tax_rates_and_items_reach_the_work_side(
    xero_services: XeroServices,
    au: Connected,
    sandbox_state: SandboxState,
    database: Database,
) -> None:
    run = await run_import(
        xero_services, au.workspace_id, au.connection_id, [RecordType.TAX_RATE, RecordType.ITEM]
    )
    assert run.status is RunStatus.SUCCEEDED
    org = _sandbox_org(sandbox_state, au)
    with database.session() as session:
        rates = {r.tax_type: r for r in session.scalars(select(TaxRate))}
        assert rates["OUTPUT"].rate_percent == Decimal("10.0000")
        assert rates["INPUT"].rate_percent == Decimal("10")
        for xero_rate in org.iter_records("TaxRates"):
            assert rates[xero_rate["TaxType"]].rate_percent == Decimal(xero_rate["EffectiveRate"])
            assert rates[xero_rate["TaxType"]].name == xero_rate["Name"]
        items = {i.code: i for i in session.scalars(select(Item).where(Item.workspace_id == au.workspace_id))}
        item_links = list(session.scalars(select(XeroLink).where(XeroLink.record_type == RecordType.ITEM)))
        assert len(item_links) == len(org.records("Items"))
        for link in item_links:
            xero_item = org.records("Items")[link.xero_id]
            local = session.get(Item, link.local_id)
            assert local is not None and items[xero_item["Code"]] is local
            assert len(link.content_hash) == 64
            price = (xero_item.get("SalesDetails") or {}).get("UnitPrice")
            if price is not None:
                assert local.sale_unit_price == Decimal(price)
                assert isinstance(local.sale_unit_price, Decimal)


async def test_repeat_with_no_change_is_all_skipped(
    xero_services: XeroServices, au: Connected, database: Database
) -> None:
    first = await run_import(xero_services, au.workspace_id, au.connection_id, None)
    second = await run_import(xero_services, au.workspace_id, au.connection_id, None)
    assert second.status is RunStatus.SUCCEEDED
    assert second.counts == {"skipped": first.counts["created"], "calls": len(IMPORTS)}
    with database.session() as session:
        assert session.scalar(select(XeroLink.id).where(XeroLink.record_type == RecordType.ITEM)) is not None


async def test_a_job_that_runs_twice_changes_nothing(
    xero_services: XeroServices, au: Connected, database: Database
) -> None:
    """A worker may stop after the work but before marking the job done; the rerun must
    leave the finished run (and its counts) as they were, and call Xero no more."""
    with database.session() as session:
        run = enqueue_import(session, xero_services, au.workspace_id, au.connection_id, ["currency"])
        job = session.scalars(select(Job).where(Job.kind == "sync.import")).one()
        assert job.args == {"run_id": run.id, "workspace_id": au.workspace_id}
        assert run.status is RunStatus.QUEUED
    context = JobContext(database, xero_services, xero_services.clock, job.id, job.kind, 1, au.workspace_id)
    await import_job(context, **job.args)
    calls = xero_services.client.counter.total(au.tenant_id)
    await import_job(context, **job.args)
    assert xero_services.client.counter.total(au.tenant_id) == calls == 1
    with database.session() as session:
        done = session.get(SyncRun, run.id)
        assert done is not None and done.status is RunStatus.SUCCEEDED
        assert done.counts["created"] == done.progress["types"]["currency"]["created"] > 0


async def test_changes_in_xero_show_as_updated_and_deleted(
    xero_services: XeroServices,
    au: Connected,
    sandbox_state: SandboxState,
    database: Database,
) -> None:
    types = [RecordType.ACCOUNT, RecordType.ITEM]
    await run_import(xero_services, au.workspace_id, au.connection_id, types)
    org = _sandbox_org(sandbox_state, au)
    account = next(a for a in org.iter_records("Accounts") if a.get("Code") == "200")
    item = next(org.iter_records("Items"))
    with sandbox_state.transaction():
        org.put_record("Accounts", account["AccountID"], {**account, "Name": "Consulting Revenue"})
        org.collections["Items"].pop(item["ItemID"])

    run = await run_import(xero_services, au.workspace_id, au.connection_id, types)

    total = len(org.records("Accounts")) + len(org.records("Items"))
    assert run.counts == {"updated": 1, "deleted": 1, "skipped": total - 1, "calls": 2}
    with database.session() as session:
        by_id = select(XeroReference).where(XeroReference.xero_id == account["AccountID"])
        renamed = session.scalars(by_id).one()
        assert renamed.name == "Consulting Revenue"
        gone = session.scalars(select(XeroReference).where(XeroReference.xero_id == item["ItemID"])).one()
        assert gone.status == "DELETED"
        local = session.scalars(select(Item).where(Item.code == item["Code"])).one()
        assert local.archived


async def test_employees_page_at_100(
    xero_services: XeroServices,
    au: Connected,
    sandbox_state: SandboxState,
    database: Database,
) -> None:
    org = _sandbox_org(sandbox_state, au)
    template = next(org.iter_records("Employees"))
    with sandbox_state.transaction():
        for index in range(200 - len(org.records("Employees")) + 30):
            clone = copy.deepcopy(template)
            clone["EmployeeID"] = str(uuid.uuid4())
            clone["LastName"] = f"Clone{index}"
            org.put_record("Employees", clone["EmployeeID"], clone)
    total = len(org.records("Employees"))
    assert total == 230

    run = await run_import(xero_services, au.workspace_id, au.connection_id, [RecordType.EMPLOYEE])

    # three pages of 100, plus one look at the organisation to know it is Australian
    assert run.counts == {"created": total, "calls": 4}
    assert run.progress["types"]["employee"]["calls"] == 3
    assert len(_references(database, au.connection_id)[RecordType.EMPLOYEE]) == total


async def test_nz_organisation_skips_payroll_with_an_issue(
    xero_services: XeroServices,
    nz: Connected,
    sandbox_state: SandboxState,
    database: Database,
) -> None:
    run = await run_import(xero_services, nz.workspace_id, nz.connection_id, None)

    assert run.status is RunStatus.SUCCEEDED
    assert run.counts["types_skipped"] == len(PAYROLL)
    assert run.counts["calls"] == len(IMPORTS) - len(PAYROLL)
    with database.session() as session:
        issues = list(session.scalars(select(SyncIssue).where(SyncIssue.run_id == run.id)))
        assert {i.record_type for i in issues} == PAYROLL
        assert all("Australian organisations only" in i.message for i in issues)
        rates = {r.tax_type: r.rate_percent for r in session.scalars(select(TaxRate))}
    nz_rates = _sandbox_org(sandbox_state, nz).iter_records("TaxRates")
    nz_gst = next(r for r in nz_rates if r["TaxType"] == "OUTPUT2")
    assert rates["OUTPUT2"] == Decimal(nz_gst["EffectiveRate"]) == Decimal(15)


async def test_payroll_alone_asks_the_organisation_once(xero_services: XeroServices, nz: Connected) -> None:
    run = await run_import(xero_services, nz.workspace_id, nz.connection_id, [RecordType.EMPLOYEE])
    assert run.counts == {"failed": 0, "types_skipped": 1, "calls": 1}


async def test_missing_payroll_scope_skips_without_losing_the_connection(
    xero_services: XeroServices, au: Connected, database: Database
) -> None:
    with database.session() as session:
        grant = session.scalars(select(XeroGrant)).one()
        grant.scopes = " ".join(s for s in grant.scopes.split() if not s.startswith("payroll."))
    run = await run_import(xero_services, au.workspace_id, au.connection_id, sorted(PAYROLL))
    assert run.counts == {"failed": 0, "types_skipped": 3}
    assert xero_services.client.counter.total(au.tenant_id) == 0
    with database.session() as session:
        assert session.get(XeroConnection, au.connection_id).status is ConnectionStatus.CONNECTED  # type: ignore[union-attr]
        messages = [i.message for i in session.scalars(select(SyncIssue))]
    assert all("not granted payroll." in m for m in messages) and len(messages) == 3


async def test_a_failing_type_is_an_issue_and_the_rest_go_on(
    xero_services: XeroServices,
    au: Connected,
    sandbox_state: SandboxState,
    database: Database,
) -> None:
    org = _sandbox_org(sandbox_state, au)
    original = xero_services.client.get

    async def failing_get(*args: object, **kwargs: object) -> dict[str, object]:
        if str(args[1]).endswith("/Currencies"):
            from ledgerbridge.errors import XeroUnavailable

            raise XeroUnavailable("Xero is down for maintenance")
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    xero_services.client.get = failing_get  # type: ignore[method-assign]
    run = await run_import(
        xero_services, au.workspace_id, au.connection_id, [RecordType.CURRENCY, RecordType.ITEM]
    )
    assert run.status is RunStatus.PARTIAL
    assert run.counts["failed"] == 1 and run.counts["created"] == len(org.records("Items"))
    assert run.progress["types"]["currency"]["status"] == "failed"


# -- the API --------------------------------------------------------------------------------


def _finished(client: TestClient, run_jobs: Callable[[], int], run_id: str) -> dict[str, Any]:
    """The run once the worker has run the queued import job."""
    assert run_jobs() == 1, "the import was queued as exactly one job"
    run: dict[str, Any] = client.get(f"/api/v1/xero/runs/{run_id}").json()
    assert run["finished_at"] is not None, run
    return run


def test_api_runs_an_import_and_lists_references(
    admin_browser: TestClient,
    run_jobs: Callable[[], int],
    xero_browser: TestClient,
    database: Database,
    sandbox_state: SandboxState,
) -> None:
    au = _connect(admin_browser, xero_browser, database, AU)
    started = admin_browser.post(
        f"/api/v1/xero/connections/{au.connection_id}/imports",
        json={"record_types": ["account", "tax_rate", "tracking_category"]},
    )
    assert started.status_code == 202, started.text
    queued = started.json()
    assert queued["status"] == "queued" and queued["counts"] == {}
    assert queued["record_types"] == ["tax_rate", "account", "tracking_category"]
    run = _finished(admin_browser, run_jobs, queued["id"])
    org = _sandbox_org(sandbox_state, au)
    assert run["status"] == "succeeded", run
    assert run["issues"] == []
    chosen = (RecordType.TAX_RATE, RecordType.ACCOUNT, RecordType.TRACKING_CATEGORY)
    assert run["counts"]["created"] == sum(_expected_counts(org)[t] for t in chosen)
    assert {t: summary["calls"] for t, summary in run["progress"]["types"].items()} == {
        "tax_rate": 1,
        "account": 1,
        "tracking_category": 1,
    }

    accounts = admin_browser.get(
        f"/api/v1/xero/connections/{au.connection_id}/references", params={"record_type": "account"}
    ).json()
    assert len(accounts) == len(org.records("Accounts"))
    assert {a["code"] for a in accounts} >= {"200", "400"}
    tracking = admin_browser.get(
        f"/api/v1/xero/connections/{au.connection_id}/references", params={"record_type": "tracking_category"}
    ).json()
    assert all(t["data"]["Options"] for t in tracking)

    everything = admin_browser.post(f"/api/v1/xero/connections/{au.connection_id}/imports")
    assert everything.status_code == 202
    assert everything.json()["record_types"] == [str(t) for t in IMPORTS]
    repeated = _finished(admin_browser, run_jobs, everything.json()["id"])
    assert repeated["status"] == "succeeded"
    assert repeated["progress"]["types"]["account"] == {
        "status": "done",
        "skipped": len(org.records("Accounts")),
        "calls": 1,
    }


def test_api_refuses_unknown_types_members_and_other_workspaces(
    admin_browser: TestClient,
    run_jobs: Callable[[], int],
    xero_browser: TestClient,
    service: TestClient,
    database: Database,
    seeded: Seeded,
) -> None:
    au = _connect(admin_browser, xero_browser, database, AU)
    url = f"/api/v1/xero/connections/{au.connection_id}/imports"
    assert admin_browser.post(url, json={"record_types": ["contact"]}).status_code == 422
    run_id = admin_browser.post(url, json={"record_types": ["currency"]}).json()["id"]
    assert _finished(admin_browser, run_jobs, run_id)["status"] == "succeeded"

    member = {"Authorization": f"Bearer {seeded.member_token}"}
    assert service.post(url, json={"record_types": None}, headers=member).status_code == 403
    assert service.get(f"/api/v1/xero/runs/{run_id}", headers=member).status_code == 200

    with database.session() as session:
        other = seed_workspace(session, "Other Studio Pty Ltd", slug="other")
    stranger = {"Authorization": f"Bearer {other.owner_token}"}
    assert service.get(f"/api/v1/xero/runs/{run_id}", headers=stranger).status_code == 404
    assert service.post(url, headers=stranger).status_code == 404
    listed = service.get(f"/api/v1/xero/connections/{au.connection_id}/references", headers=stranger)
    assert listed.status_code == 404
