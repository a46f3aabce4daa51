"""Force sync, dry run, the sync log, CSV export and one-click retry, through the API."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledgerbridge.db import Database
from ledgerbridge.jobs.models import Job, JobStatus
from ledgerbridge.jobs.runner import InProcessRunner
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync.models import RecordType, RunStatus, SyncRun
from ledgerbridge.sync.service import TWO_WAY, sync
from ledgerbridge.xero.client import Organisation
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices
from tests.factories import Seeded
from tests.xero.conftest import force_sync_and_wait, give_consent


def _connection_id(api: TestClient) -> str:
    (connection,) = api.get("/api/v1/xero/connections").json()
    return str(connection["id"])


def test_force_sync_dry_run_then_real(
    owner_api: TestClient, au: Organisation, sandbox_state: SandboxState
) -> None:
    connection_id = _connection_id(owner_api)
    contacts = len(sandbox_state.orgs[au.tenant_id].records("Contacts"))
    preview = owner_api.post(
        f"/api/v1/xero/connections/{connection_id}/sync", json={"dry_run": True, "record_types": ["contact"]}
    ).json()
    assert preview["dry_run"] is True
    assert preview["counts"]["would_create"] == contacts + 2
    assert len(owner_api.get("/api/v1/clients", params={"page_size": 500}).json()["items"]) == 2

    run = force_sync_and_wait(owner_api, connection_id, {"record_types": ["contact"]})
    assert run["status"] == "succeeded"
    assert run["counts"]["created"] == contacts
    assert run["counts"]["calls"] >= 2
    # The first real sync imported the reference data first, as its own run (a preview writes
    # nothing, so it imported nothing); the log's manual runs are the sync and the preview.
    (imported,) = owner_api.get("/api/v1/xero/runs", params={"trigger": "import"}).json()["items"]
    assert imported["status"] == "succeeded" and imported["counts"]["calls"] >= 1
    assert imported["finished_at"] <= run["started_at"]
    runs = owner_api.get("/api/v1/xero/runs").json()["items"]
    assert {r["trigger"] for r in runs} == {"manual", "import"} and len(runs) == 3
    assert [r["id"] for r in runs if r["trigger"] == "manual"] == [run["id"], preview["id"]]


def test_failed_record_has_xeros_message_a_hint_csv_and_retry(
    owner_api: TestClient, au: Organisation, sandbox_state: SandboxState
) -> None:
    connection_id = _connection_id(owner_api)
    force_sync_and_wait(owner_api, connection_id, {"record_types": ["contact"]})
    client = owner_api.post("/api/v1/clients", json={"name": "Tokyo Partners KK", "currency": "JPY"}).json()
    run = force_sync_and_wait(owner_api, connection_id, {"record_types": ["contact"]})
    assert run["status"] == "partial"
    (issue,) = owner_api.get("/api/v1/xero/issues", params={"run_id": run["id"]}).json()
    assert issue["message"] == "The currency JPY is not enabled for this organisation."
    assert "Currencies" in issue["hint"]
    assert issue["record_url"] == f"/api/v1/clients/{client['id']}"

    exported = owner_api.get("/api/v1/xero/issues.csv", params={"unresolved": True})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["message"] for r in rows] == [issue["message"]]

    owner_api.patch(f"/api/v1/clients/{client['id']}", json={"currency": "AUD"})
    retried = owner_api.post(f"/api/v1/xero/issues/{issue['id']}/retry").json()
    assert retried["status"] == "succeeded"
    assert owner_api.get("/api/v1/xero/issues", params={"unresolved": True}).json() == []
    names = {c["Name"] for c in sandbox_state.orgs[au.tenant_id].records("Contacts").values()}
    assert "Tokyo Partners KK" in names


def test_members_cannot_force_sync_and_workspaces_are_apart(
    owner_api: TestClient, au: Organisation, service: TestClient, seeded: Seeded
) -> None:
    connection_id = _connection_id(owner_api)
    run = force_sync_and_wait(owner_api, connection_id, {"record_types": ["contact"]})
    member = TestClient(service.app)
    member.headers["Authorization"] = f"Bearer {seeded.member_token}"
    assert (
        member.post(
            f"/api/v1/xero/connections/{connection_id}/sync", json={"record_types": ["contact"]}
        ).status_code
        == 403
    )
    (imported,) = owner_api.get("/api/v1/xero/runs", params={"trigger": "import"}).json()["items"]
    seen = {(r["trigger"], r["id"]) for r in member.get("/api/v1/xero/runs").json()["items"]}
    assert seen == {("manual", run["id"]), ("import", imported["id"])}  # the first sync's import too


def test_matches_are_previewed_and_can_be_changed_before_the_first_sync(
    owner_api: TestClient, au: Organisation, sandbox_state: SandboxState
) -> None:
    connection_id = _connection_id(owner_api)
    contacts = [
        c
        for c in sandbox_state.orgs[au.tenant_id].records("Contacts").values()
        if c["ContactStatus"] == "ACTIVE"
    ]
    proposed, chosen = contacts[0], contacts[1]
    mine = owner_api.post("/api/v1/clients", json={"name": proposed["Name"].upper()}).json()

    preview = owner_api.post(
        f"/api/v1/xero/connections/{connection_id}/sync", json={"dry_run": True, "record_types": ["contact"]}
    ).json()
    matched = [p for p in preview["preview"] if p["action"] == "link"]
    assert [(p["xero_id"], p["side"]) for p in matched] == [(proposed["ContactID"], "local")]

    # The bookkeeper knows better: this client is another Xero contact.
    link = owner_api.put(
        f"/api/v1/xero/connections/{connection_id}/links/contact/{mine['id']}",
        json={"xero_id": chosen["ContactID"]},
    )
    assert link.status_code == 200, link.text
    run = force_sync_and_wait(owner_api, connection_id, {"record_types": ["contact"]})
    assert run["status"] == "succeeded"
    assert "conflicts" not in run["counts"]
    assert owner_api.get(f"/api/v1/clients/{mine['id']}").json()["name"] == chosen["Name"]
    names = [c["name"] for c in owner_api.get("/api/v1/clients", params={"page_size": 500}).json()["items"]]
    assert names.count(chosen["Name"]) == 1
    assert names.count(proposed["Name"]) == 1  # the proposed contact arrived as its own client

    taken = owner_api.put(
        f"/api/v1/xero/connections/{connection_id}/links/contact/{mine['id']}",
        json={"xero_id": proposed["ContactID"]},
    )
    assert taken.status_code == 409
    assert taken.json()["errors"][0]["field"] == "xero_id"


# -- every run ends, and counts only its own calls --------------------------------------------


def _ids(database: Database) -> tuple[str, str]:
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        return connection.workspace_id, connection.id


def _runs(database: Database) -> list[SyncRun]:
    with database.session() as session:
        return list(session.scalars(select(SyncRun).order_by(SyncRun.created_at)))


def test_a_run_stopped_by_an_error_that_is_not_xeros_ends_failed_and_the_error_goes_on(
    owner_api: TestClient,
    au: Organisation,
    database: Database,
    xero_services: XeroServices,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workspace_id, connection_id = _ids(database)

    def broken(remote: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("a bug in the item mapping")

    monkeypatch.setattr(TWO_WAY[RecordType.ITEM], "remote_fields", broken)

    async def run() -> None:
        await sync(xero_services, workspace_id, connection_id, [RecordType.ITEM], "schedule")

    with pytest.raises(RuntimeError, match="a bug in the item mapping"):
        owner_api.portal.call(run)  # type: ignore[union-attr]
    imported, stopped = _runs(database)  # the first sync imported the reference data first
    assert imported.trigger == "import" and imported.status is RunStatus.SUCCEEDED
    assert stopped.trigger == "schedule"
    assert stopped.status is RunStatus.FAILED and stopped.finished_at is not None
    assert stopped.error is not None and "RuntimeError: a bug in the item mapping" in stopped.error
    assert stopped.counts["calls"] >= 1


def test_the_run_of_a_worker_that_died_is_closed_and_its_job_runs_again(
    owner_api: TestClient, au: Organisation, database: Database, run_jobs: Callable[[], int]
) -> None:
    """A worker killed mid-run leaves its job running under a lapsed lease and its run
    running; the next runner closes that run and the reclaimed job's attempt runs anew."""
    _, connection_id = _ids(database)
    queued = owner_api.post(f"/api/v1/xero/connections/{connection_id}/sync", json={"record_types": ["item"]})
    assert queued.status_code == 202, queued.text
    run_id = queued.json()["id"]
    with database.session() as session:  # what the killed worker left behind
        job = session.scalars(select(Job).where(Job.kind == "sync.manual")).one()
        job.status, job.locked_by, job.attempts = JobStatus.RUNNING, "killed-worker", 1
        job.locked_until = datetime.now(UTC) - timedelta(minutes=1)
        run = session.get_one(SyncRun, run_id)
        run.status, run.started_at = RunStatus.RUNNING, datetime.now(UTC) - timedelta(minutes=6)

    assert run_jobs() == 1

    died = owner_api.get(f"/api/v1/xero/runs/{run_id}").json()
    assert died["status"] == "failed" and died["finished_at"] is not None
    assert "stopped before the run finished" in died["error"]
    runs = owner_api.get("/api/v1/xero/runs").json()["items"]
    # newest first: the job's new attempt, the reference import its sync made first, the dead run
    assert [(r["trigger"], r["status"]) for r in runs] == [
        ("manual", "succeeded"),
        ("import", "succeeded"),
        ("manual", "failed"),
    ]
    assert all(r["status"] not in ("running", "queued") for r in runs)


def _sandbox_calls(state: SandboxState, tenant_id: str) -> int:
    """The calls the sandbox itself admitted for the organisation (its rate limiter's count)."""
    return sum(u.day.count for (_, tenant), u in state.limiter._tenants.items() if tenant == tenant_id)


def test_a_run_counts_only_its_own_calls_while_other_work_calls_the_same_organisation(
    owner_api: TestClient,
    xero_browser: TestClient,
    au: Organisation,
    database: Database,
    xero_services: XeroServices,
    sandbox_state: SandboxState,
) -> None:
    """Beside the run, other work (a webhook fetch, another workspace on the same tenant)
    calls the same organisation until the run ends; the run's count is its own calls."""
    workspace_id, connection_id = _ids(database)
    # Xero takes a moment to answer, so the two really run at once (each call awaits).
    slow = xero_browser.put(f"/_sandbox/organisations/{au.tenant_id}/faults", json={"latency_ms": 20})
    assert slow.status_code == 200, slow.text
    before = _sandbox_calls(sandbox_state, au.tenant_id)
    finished = asyncio.Event()

    async def scheduled() -> SyncRun:
        try:
            return await sync(xero_services, workspace_id, connection_id)  # every two-way type
        finally:
            finished.set()

    async def beside() -> int:
        calls = 0
        while not finished.is_set():
            await xero_services.client.get(au, "/api.xro/2.0/Organisation")
            calls += 1
        return calls

    async def together() -> tuple[SyncRun, int]:
        run, other = await asyncio.gather(scheduled(), beside())
        return run, other

    run, other = owner_api.portal.call(together)  # type: ignore[union-attr]
    made = _sandbox_calls(sandbox_state, au.tenant_id) - before
    assert run.error is None and other >= 1
    # The organisation's first sync imported its reference data first: a run of its own,
    # with its own calls, which the sync run does not count.
    (imported,) = [r for r in _runs(database) if r.trigger == "import"]
    assert imported.id != run.id and imported.counts["calls"] >= 1
    assert run.counts["calls"] == made - other - imported.counts["calls"] >= 2


# -- Force sync from the API: queued, under the organisation's lock, one URL to follow -----------


def test_force_syncs_from_the_api_are_queued_under_the_lock_and_followed_to_their_end(
    owner_api: TestClient, au: Organisation, database: Database, xero_services: XeroServices
) -> None:
    _, connection_id = _ids(database)
    url = f"/api/v1/xero/connections/{connection_id}/sync"
    first = owner_api.post(url, json={"record_types": ["contact", "invoice"]})
    second = owner_api.post(url, json={"record_types": ["contact"]})
    again = owner_api.post(url, json={"record_types": ["invoice", "contact"]})  # the same sync, waiting
    for answer in (first, second, again):
        assert answer.status_code == 202, answer.text
        followed = f"/api/v1/xero/runs/{answer.json()['id']}"
        assert answer.headers["location"] == answer.json()["run_url"] == followed
        assert answer.json()["status"] == "queued"
    assert again.json()["id"] == first.json()["id"]
    imported_only = owner_api.post(url, json={"record_types": ["account"]})
    assert imported_only.status_code == 422, imported_only.text
    with database.session() as session:
        jobs = list(session.scalars(select(Job).where(Job.kind == "sync.manual")))
    assert len(jobs) == 2 and {j.lock_key for j in jobs} == {f"sync:{connection_id}"}
    assert owner_api.get(first.json()["run_url"]).json()["status"] == "queued"

    runner = InProcessRunner(database, xero_services, xero_services.clock, "test-worker", 4, schedule=False)
    assert owner_api.portal.call(runner.run_until_idle) == 2  # type: ignore[union-attr]

    done = [owner_api.get(a.json()["run_url"]).json() for a in (first, second)]
    assert [d["status"] for d in done] == ["succeeded", "succeeded"], done
    (earlier, later) = sorted(done, key=lambda d: d["started_at"])
    assert earlier["finished_at"] <= later["started_at"], "two syncs of one organisation overlapped"
    with database.session() as session:
        assert {j.status for j in session.scalars(select(Job))} == {JobStatus.DONE}
        manual = select(func.count()).select_from(SyncRun).where(SyncRun.trigger == "manual")
        assert session.scalar(manual) == 2
        # The first of them imported the reference data first, under the same lock.
        assert session.scalar(select(func.count()).select_from(SyncRun)) == 3
    (imported,) = owner_api.get("/api/v1/xero/runs", params={"trigger": "import"}).json()["items"]
    assert imported["status"] == "succeeded"
    assert imported["finished_at"] <= earlier["started_at"], "the import overlapped a sync"


# -- Retry and issues: resolved only when the record arrived ------------------------------------


def _failed_client(api: TestClient, connection_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A client Xero refuses (JPY is not enabled there) and its issue."""
    force_sync_and_wait(api, connection_id, {"record_types": ["contact"]})
    client = api.post("/api/v1/clients", json={"name": "Tokyo Partners KK", "currency": "JPY"}).json()
    run = force_sync_and_wait(api, connection_id, {"record_types": ["contact"]})
    (issue,) = api.get("/api/v1/xero/issues", params={"run_id": run["id"]}).json()
    return client, issue


def test_retry_leaves_the_issue_open_while_the_record_has_not_arrived(
    owner_api: TestClient,
    au: Organisation,
    database: Database,
    xero_browser: TestClient,
    sandbox_state: SandboxState,
) -> None:
    _, connection_id = _ids(database)
    client, issue = _failed_client(owner_api, connection_id)

    refused = owner_api.post(f"/api/v1/xero/issues/{issue['id']}/retry").json()
    assert refused["status"] == "partial"
    (still,) = owner_api.get("/api/v1/xero/issues", params={"unresolved": True}).json()
    assert still["id"] == issue["id"], "the same failure keeps its one open issue"

    # The client now belongs to another organisation: the retry here sends nothing and has
    # no failure, but the record did not arrive in this organisation.
    authorize_url = owner_api.post("/api/v1/xero/connect").json()["authorize_url"]
    owner_api.get(give_consent(xero_browser, authorize_url, ["Demo Company (NZ)"]).callback)
    nz = next(c["id"] for c in owner_api.get("/api/v1/xero/connections").json() if c["id"] != connection_id)
    elsewhere = {"xero_connection_id": nz, "currency": "AUD"}
    moved = owner_api.patch(f"/api/v1/clients/{client['id']}", json=elsewhere)
    assert moved.status_code == 200, moved.text
    skipped = owner_api.post(f"/api/v1/xero/issues/{issue['id']}/retry").json()
    assert skipped["status"] == "succeeded" and not skipped["counts"].get("failed"), skipped
    open_issues = owner_api.get("/api/v1/xero/issues", params={"unresolved": True}).json()
    assert [i["id"] for i in open_issues] == [issue["id"]]
    names = {c["Name"] for c in sandbox_state.orgs[au.tenant_id].records("Contacts").values()}
    assert "Tokyo Partners KK" not in names


def test_a_later_sync_that_sends_the_record_resolves_its_old_issue(
    owner_api: TestClient, au: Organisation, database: Database, sandbox_state: SandboxState
) -> None:
    _, connection_id = _ids(database)
    client, issue = _failed_client(owner_api, connection_id)
    owner_api.patch(f"/api/v1/clients/{client['id']}", json={"currency": "AUD"})

    run = force_sync_and_wait(owner_api, connection_id, {"record_types": ["contact"]})

    assert run["status"] == "succeeded" and run["counts"]["pushed_created"] == 1
    assert owner_api.get("/api/v1/xero/issues", params={"unresolved": True}).json() == []
    (resolved,) = owner_api.get("/api/v1/xero/issues").json()
    assert resolved["id"] == issue["id"] and resolved["resolved_at"] is not None
    names = {c["Name"] for c in sandbox_state.orgs[au.tenant_id].records("Contacts").values()}
    assert "Tokyo Partners KK" in names
