"""The Imports page: a button per type and "Import everything" queue the same job as the
API; the worker fills the reference tables from the sandbox; the run's progress JSON (read
with the browser's session cookie, as static/progress.js does) reports counts and the end;
each type then shows its last import. Members are refused, other workspaces get 404."""

# ruff: noqa: F811 - pytest passes the imported fixture by name
from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledgerbridge.db import Database
from ledgerbridge.jobs.models import Job
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync.imports import IMPORTS
from ledgerbridge.sync.models import RecordType, XeroReference
from ledgerbridge.xero.models import XeroConnection
from tests.factories import Seeded, seed_workspace
from tests.web.pages.conftest import csrf_of, post_form, sign_in
from tests.web.pages.test_org_settings import AU, connect
from tests.xero.conftest import run_jobs  # noqa: F401 - fixture


def _row(html: str, record_type: str) -> str:
    found = re.search(rf'<tr data-type="{record_type}">(.*?)</tr>', html, re.S)
    assert found, html
    return found.group(1)


def _stored(database: Database, connection_id: str, record_type: RecordType) -> int:
    with database.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(XeroReference)
                .where(XeroReference.connection_id == connection_id, XeroReference.record_type == record_type)
            )
            or 0
        )


def test_import_everything_with_progress_fills_the_references(
    owner_page: TestClient,
    xero_browser: TestClient,
    database: Database,
    sandbox_state: SandboxState,
    run_jobs: Callable[[], int],
) -> None:
    au = connect(owner_page, xero_browser, database, [AU])[AU]
    with database.session() as session:
        tenant_id = session.get(XeroConnection, au).tenant_id  # type: ignore[union-attr]
    org = sandbox_state.orgs[tenant_id]
    accounts = sum(1 for a in org.iter_records("Accounts") if a.get("Status") != "DELETED")
    tax_rates = len(org.records("TaxRates"))
    page_url = f"/integrations/xero/{au}/imports"

    before = owner_page.get(page_url)
    assert before.status_code == 200
    assert before.text.count('name="record_type"') == len(IMPORTS) + 1  # one per type, and everything
    assert "Never" in _row(before.text, "account")
    assert "/static/progress.js" in before.text

    started = post_form(owner_page, page_url, page_url, {"record_type": "all"})
    assert started.status_code == 303
    run_id = started.headers["location"].split("?run=")[1]
    queued_page = owner_page.get(started.headers["location"]).text
    assert f"Import queued: Everything from {AU}." in queued_page
    assert f'data-run-url="/api/v1/xero/runs/{run_id}"' in queued_page
    assert 'id="run-progress" max="10" value="0"' in queued_page
    assert "Waiting to start" in queued_page and ">Refresh</a>" in queued_page  # the no-JS way
    with database.session() as session:
        job = session.scalars(select(Job).where(Job.kind == "sync.import")).one()
        assert job.args["run_id"] == run_id

    # What progress.js reads, with the browser's own session cookie (no bearer token).
    waiting = owner_page.get(f"/api/v1/xero/runs/{run_id}")
    assert waiting.status_code == 200
    assert waiting.json()["status"] == "queued" and waiting.json()["finished_at"] is None

    assert run_jobs() == 1
    done = owner_page.get(f"/api/v1/xero/runs/{run_id}").json()
    assert done["status"] == "succeeded", done
    assert done["finished_at"] is not None
    assert done["progress"]["step"] == done["progress"]["steps"] == len(IMPORTS)
    assert done["progress"]["types"]["account"]["created"] == accounts
    assert done["counts"]["created"] >= accounts + tax_rates
    assert _stored(database, au, RecordType.ACCOUNT) == accounts
    assert _stored(database, au, RecordType.TAX_RATE) == tax_rates

    finished = owner_page.get(started.headers["location"]).text
    assert "data-run-url" not in finished  # nothing left to follow
    assert 'value="10"' in finished and "Finished" in finished
    assert f'<span data-count="created">{done["counts"]["created"]:,}</span>' in finished
    row = _row(finished, "account")
    assert f"{accounts} created" in row and f'<td data-label="In ledgerbridge">{accounts}</td>' in row

    # One type again: nothing changed in Xero, so everything is skipped.
    again = post_form(owner_page, page_url, page_url, {"record_type": "account"})
    assert "Import queued: Chart of accounts" in owner_page.get(again.headers["location"]).text
    assert run_jobs() == 1
    repeat_id = again.headers["location"].split("?run=")[1]
    repeat = owner_page.get(f"/api/v1/xero/runs/{repeat_id}").json()
    assert repeat["record_types"] == ["account"]
    assert repeat["counts"].get("skipped") == accounts and not repeat["counts"].get("created")
    assert f"{accounts} skipped" in _row(owner_page.get(page_url).text, "account")


def test_unknown_type_members_and_other_workspaces(
    service: TestClient, owner_page: TestClient, xero_browser: TestClient, database: Database, seeded: Seeded
) -> None:
    au = connect(owner_page, xero_browser, database, [AU])[AU]
    page_url = f"/integrations/xero/{au}/imports"
    refused = post_form(owner_page, page_url, page_url, {"record_type": "contact"})
    assert refused.headers["location"] == page_url
    assert "cannot be imported here" in owner_page.get(page_url).text
    owner_page.cookies.clear()

    sign_in(service, "member@harbour.example.com")
    assert service.get(page_url).status_code == 403
    token = csrf_of(service.get("/integrations").text)
    assert service.post(page_url, data={"csrf_token": token, "record_type": "all"}).status_code == 403
    service.cookies.clear()

    with database.session() as session:
        seed_workspace(session, "Other Studio Pty Ltd", slug="other")
    sign_in(service, "owner@other.example.com")
    assert service.get(page_url).status_code == 404
    token = csrf_of(service.get("/integrations").text)
    assert service.post(page_url, data={"csrf_token": token, "record_type": "all"}).status_code == 404
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_the_progress_script_is_served(service: TestClient) -> None:
    script = service.get("/static/progress.js")
    assert script.status_code == 200
    assert "data-run-url" in script.text and "data-done-url" in script.text
    assert 'credentials: "same-origin"' in script.text  # the session cookie, never a token
