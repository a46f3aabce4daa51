"""The Integrations page without a browser: Connect through the sandbox's consent, the
organisations with their status and budget, Force sync, default, Disconnect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.jobs.models import Job
from ledgerbridge.sync.models import RunStatus, SyncRun
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection
from tests.factories import Seeded
from tests.web.pages.conftest import csrf_of, post_form, sign_in
from tests.xero.conftest import give_consent

AU, NZ = "Demo Company (AU)", "Demo Company (NZ)"


def _connect(page: TestClient, xero_browser: TestClient, pick: list[str]) -> str:
    started = post_form(page, "/integrations", "/integrations/xero/connect")
    assert started.status_code == 303
    consent = give_consent(xero_browser, started.headers["location"], pick)
    return page.get(consent.callback).text


def _ids(database: Database) -> dict[str, str]:
    with database.session() as session:
        return {c.tenant_name: c.id for c in session.scalars(select(XeroConnection))}


def test_signed_out_goes_to_sign_in(service: TestClient) -> None:
    page = service.get("/integrations", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/sign-in?next=%2Fintegrations"


def test_connect_lists_both_organisations_with_the_default(
    owner_page: TestClient, xero_browser: TestClient
) -> None:
    assert "No Xero organisation is connected yet." in owner_page.get("/integrations").text
    text = _connect(owner_page, xero_browser, [AU, NZ])
    assert f"Connected to Xero: {AU}, {NZ}." in text
    assert text.count('class="organisation"') == 2
    assert text.count('<span class="badge">Default</span>') == 1
    assert text.count(">Connected</span>") == 2
    assert "of 5,000" in text
    assert "Connect another organisation" in text


def test_force_sync_queues_a_manual_sync(
    owner_page: TestClient, xero_browser: TestClient, database: Database
) -> None:
    _connect(owner_page, xero_browser, [AU])
    au = _ids(database)[AU]
    response = post_form(owner_page, "/integrations", f"/integrations/xero/{au}/sync")
    assert response.status_code == 303
    assert f"Sync queued for {AU}." in owner_page.get("/integrations").text
    with database.session() as session:
        job = session.scalars(select(Job).where(Job.kind == "sync.manual")).one()
        assert job.args["connection_id"] == au
        run = session.get_one(SyncRun, job.args["run_id"])
        assert (run.trigger, run.status, run.job_id) == ("manual", RunStatus.QUEUED, job.id)
    # The log lists the queued sync once, as its run, not again under "Waiting to start".
    log = owner_page.get("/sync-log").text
    assert "Waiting to start" not in log and log.count(f'data-run="{run.id}"') == 1
    row = log[log.index(f'data-run="{run.id}"') :]
    assert "status-queued" in row[: row.index("</tr>")]


def test_last_sync_and_calls_today_come_from_the_log(
    owner_page: TestClient, xero_browser: TestClient, database: Database, seeded: Seeded
) -> None:
    _connect(owner_page, xero_browser, [AU])
    now = datetime.now(UTC)
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        for started, calls in ((now - timedelta(hours=2), 1200), (now - timedelta(days=2), 999)):
            session.add(
                SyncRun(
                    workspace_id=seeded.workspace_id,
                    connection_id=connection.id,
                    trigger="schedule",
                    status=RunStatus.SUCCEEDED,
                    started_at=started,
                    finished_at=started + timedelta(seconds=3),
                    counts={"calls": calls},
                )
            )
    text = owner_page.get("/integrations").text
    assert "1,200 of 5,000" in text  # the run two days ago is outside Xero's day
    assert (now - timedelta(hours=2) + timedelta(seconds=3)).strftime("%Y-%m-%d %H:%M UTC") in text


def test_needs_reconnect_shows_the_reason(
    owner_page: TestClient, xero_browser: TestClient, database: Database
) -> None:
    _connect(owner_page, xero_browser, [AU])
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        connection.status = ConnectionStatus.NEEDS_RECONNECT
        connection.status_reason = "Xero refused the refresh token (invalid_grant)."
    text = owner_page.get("/integrations").text
    assert "Needs reconnect" in text
    assert "Xero refused the refresh token (invalid_grant)." in text
    assert "Reconnect" in text and "Force sync" not in text


def test_make_default(owner_page: TestClient, xero_browser: TestClient, database: Database) -> None:
    _connect(owner_page, xero_browser, [AU, NZ])
    post_form(owner_page, "/integrations", f"/integrations/xero/{_ids(database)[NZ]}/default")
    assert f"{NZ} is now the default organisation." in owner_page.get("/integrations").text


def test_disconnect_asks_first_then_says_so(
    owner_page: TestClient, xero_browser: TestClient, database: Database
) -> None:
    _connect(owner_page, xero_browser, [AU, NZ])
    nz = _ids(database)[NZ]
    confirm = owner_page.get(f"/integrations/xero/{nz}/disconnect")
    assert f"Disconnect {NZ}?" in confirm.text
    with database.session() as session:
        assert session.get(XeroConnection, nz).status is ConnectionStatus.CONNECTED  # type: ignore[union-attr]
    response = owner_page.post(
        f"/integrations/xero/{nz}/disconnect",
        data={"csrf_token": csrf_of(confirm.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    text = owner_page.get("/integrations").text
    assert "Disconnected successfully" in text
    assert text.count('class="organisation"') == 1
    assert "Previously connected (1)" in text
    with database.session() as session:
        assert session.get(XeroConnection, nz).status is ConnectionStatus.DISCONNECTED  # type: ignore[union-attr]


def test_another_workspaces_organisation_is_not_found(owner_page: TestClient) -> None:
    response = owner_page.get("/integrations/xero/not-ours/disconnect", follow_redirects=False)
    assert response.status_code == 303
    assert "No Xero organisation with id &#39;not-ours&#39;" in owner_page.get("/integrations").text


def test_members_see_organisations_but_cannot_change_them(
    service: TestClient, owner_page: TestClient, xero_browser: TestClient, seeded: Seeded
) -> None:
    _connect(owner_page, xero_browser, [AU])
    owner_page.cookies.clear()
    sign_in(service, "member@harbour.example.com")
    text = service.get("/integrations").text
    assert AU in text
    assert "Only workspace owners and admins" in text
    assert "Force sync" not in text and "/integrations/xero/connect" not in text
    refused = post_form(service, "/integrations", "/integrations/xero/connect")
    assert refused.headers["location"] == "/integrations"
    assert "Only workspace owners and admins may do this." in service.get("/integrations").text


def test_each_organisation_links_to_its_workflow_pages(
    owner_page: TestClient, xero_browser: TestClient, database: Database
) -> None:
    """Every page that works on one organisation is reachable from its card, and opens."""
    _connect(owner_page, xero_browser, [AU, NZ])
    ids = _ids(database)
    text = owner_page.get("/integrations").text
    for name, connection_id in ids.items():
        for path in ("settings", "imports", "members", "contacts", "matching", "dry-run", "projects"):
            href = f"/integrations/xero/{connection_id}/{path}"
            assert f'href="{href}"' in text, (name, path)
            opened = owner_page.get(href)
            assert opened.status_code == 200, (name, path, opened.text[:300])
            assert name in opened.text, (name, path)
    assert 'href="/sync-log/conflicts"' in owner_page.get("/sync-log").text
