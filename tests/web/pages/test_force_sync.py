"""Force sync wherever a user would look for it (issue 7): the sync log and each
organisation's Settings and Imports pages show the button to owners and admins, post to
the Integrations route with a ``next`` path, and come back to the page it was pressed on.
Members never see it and are refused; ``next`` never leaves the site."""

# ruff: noqa: F811 - pytest passes the imported fixture by name
from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.sync.models import SyncRun
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection
from tests.web.pages.conftest import csrf_of, post_form, sign_in
from tests.web.pages.test_org_settings import AU, NZ, connect
from tests.xero.conftest import run_jobs  # noqa: F401 - fixture

MEMBER = "member@harbour.example.com"


def _action(connection_id: str) -> str:
    return f'action="/integrations/xero/{connection_id}/sync"'


def _press(page: TestClient, on: str, connection_id: str, next_path: str | None = None):  # type: ignore[no-untyped-def]
    """Press the page's own Force sync button: its hidden ``next`` as the page wrote it."""
    html = page.get(on).text
    assert _action(connection_id) in html, html
    form = html[html.index(_action(connection_id)) :]
    form = form[: form.index("</form>")]
    written = form.split('name="next" value="', 1)[1].split('"', 1)[0]
    return page.post(
        f"/integrations/xero/{connection_id}/sync",
        data={"csrf_token": csrf_of(html), "next": next_path if next_path is not None else written},
        follow_redirects=False,
    )


def _queued(database: Database, connection_id: str) -> list[Job]:
    with database.session() as session:
        return [
            job
            for job in session.scalars(select(Job).where(Job.kind == "sync.manual"))
            if job.args["connection_id"] == connection_id and job.status is JobStatus.QUEUED
        ]


def test_sync_log_has_force_sync_for_each_connected_organisation(
    owner_page: TestClient,
    xero_browser: TestClient,
    database: Database,
    run_jobs: Callable[[], int],
) -> None:
    ids = connect(owner_page, xero_browser, database, [AU, NZ])
    with database.session() as session:
        nz = session.get(XeroConnection, ids[NZ])
        assert nz is not None
        nz.status = ConnectionStatus.NEEDS_RECONNECT
        nz.status_reason = "Xero refused the refresh token (invalid_grant)."
    html = owner_page.get("/sync-log?status=succeeded").text
    assert _action(ids[AU]) in html
    assert _action(ids[NZ]) not in html  # a sync of it would stop at once: reconnect first

    response = _press(owner_page, "/sync-log?status=succeeded", ids[AU])
    assert response.status_code == 303
    assert response.headers["location"] == "/sync-log?status=succeeded"  # the same filtered page
    (job,) = _queued(database, ids[AU])
    back = owner_page.get(response.headers["location"]).text
    assert f"Sync queued for {AU}." in back
    # The Force sync is queued with its run: the log lists it once, as that run (queued, so
    # not under this page's "succeeded" filter), never again under "Waiting to start".
    queued_row = f'data-run="{job.args["run_id"]}"'
    assert queued_row not in back and "Waiting to start" not in back
    log = owner_page.get("/sync-log").text
    assert "Waiting to start" not in log and log.count(queued_row) == 1
    row = log[log.index(queued_row) :]
    row = row[: row.index("</tr>")]
    assert f">{AU}</td>" in row and "Force sync</td>" in row and "status-queued" in row

    assert run_jobs() >= 1  # the worker runs it: that manual run of AU ends in the log
    with database.session() as session:
        run = session.scalars(
            select(SyncRun).where(SyncRun.connection_id == ids[AU], SyncRun.trigger == "manual")
        ).one()
        assert run.id == job.args["run_id"] and run.finished_at is not None
    assert "Force sync</td>" in owner_page.get("/sync-log").text


@pytest.mark.parametrize("page", ["settings", "imports"])
def test_organisation_pages_have_force_sync_and_come_back(
    page: str, owner_page: TestClient, xero_browser: TestClient, database: Database
) -> None:
    au = connect(owner_page, xero_browser, database, [AU])[AU]
    url = f"/integrations/xero/{au}/{page}"
    assert _action(au) in owner_page.get(url).text
    response = _press(owner_page, url, au)
    assert response.status_code == 303
    assert response.headers["location"] == url
    assert len(_queued(database, au)) == 1
    assert f"Sync queued for {AU}." in owner_page.get(url).text


@pytest.mark.parametrize("page", ["settings", "imports"])
def test_organisation_pages_hide_force_sync_until_reconnected(
    page: str, owner_page: TestClient, xero_browser: TestClient, database: Database
) -> None:
    au = connect(owner_page, xero_browser, database, [AU])[AU]
    with database.session() as session:
        connection = session.get(XeroConnection, au)
        assert connection is not None
        connection.status = ConnectionStatus.NEEDS_RECONNECT
    assert _action(au) not in owner_page.get(f"/integrations/xero/{au}/{page}").text


def test_members_see_no_force_sync_and_are_refused(
    service: TestClient, owner_page: TestClient, xero_browser: TestClient, database: Database
) -> None:
    au = connect(owner_page, xero_browser, database, [AU])[AU]
    owner_page.cookies.clear()
    sign_in(service, MEMBER)
    assert _action(au) not in service.get("/sync-log").text
    for page in ("settings", "imports"):
        shown = service.get(f"/integrations/xero/{au}/{page}")
        assert shown.status_code == 403 and _action(au) not in shown.text
    refused = post_form(service, "/sync-log", f"/integrations/xero/{au}/sync", {"next": "/sync-log"})
    assert refused.headers["location"] == "/sync-log"
    assert "Only workspace owners and admins may do this." in service.get("/sync-log").text
    assert _queued(database, au) == []


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com", "/\\evil.example.com"])
def test_next_never_leaves_the_site(
    target: str, owner_page: TestClient, xero_browser: TestClient, database: Database
) -> None:
    au = connect(owner_page, xero_browser, database, [AU])[AU]
    response = _press(owner_page, "/sync-log", au, next_path=target)
    assert response.status_code == 303 and response.headers["location"] == "/integrations"
    assert len(_queued(database, au)) == 1
