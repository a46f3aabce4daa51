"""The sync log page without a browser: runs with filters, failed records, Retry, CSV."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.sync.models import RecordType, RunStatus, SyncIssue, SyncRun
from ledgerbridge.sync.runs import hint_for
from ledgerbridge.web.pages.sync_log import duration
from ledgerbridge.xero.client import Organisation
from ledgerbridge.xero.models import XeroConnection
from tests.factories import Seeded
from tests.web.pages.conftest import post_form, sign_in

MESSAGE = "Account code '999' is not a valid code for this document."


def _log(database: Database, seeded: Seeded, connection_id: str | None = None) -> tuple[str, str]:
    started = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with database.session() as session:
        ok = SyncRun(
            workspace_id=seeded.workspace_id,
            connection_id=connection_id,
            trigger="schedule",
            status=RunStatus.SUCCEEDED,
            started_at=started,
            finished_at=started + timedelta(seconds=2, milliseconds=500),
            counts={"created": 3, "skipped": 40, "calls": 6},
        )
        bad = SyncRun(
            workspace_id=seeded.workspace_id,
            connection_id=connection_id,
            trigger="manual",
            status=RunStatus.PARTIAL,
            started_at=started + timedelta(hours=1),
            finished_at=started + timedelta(hours=1, minutes=3, seconds=5),
            counts={"created": 1, "failed": 1, "calls": 2},
        )
        session.add_all([ok, bad])
        session.flush()
        issue = SyncIssue(
            workspace_id=seeded.workspace_id,
            run_id=bad.id,
            connection_id=connection_id,
            record_type=RecordType.CONTACT,
            direction="pull",
            local_id=seeded.client_id,
            message=MESSAGE,
            from_xero=True,
            hint=hint_for(MESSAGE),
        )
        session.add(issue)
        session.flush()
        return bad.id, issue.id


def test_duration_reads_plainly() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert duration(start, start + timedelta(milliseconds=420)) == "0.4 s"
    assert duration(start, start + timedelta(seconds=42)) == "42 s"
    assert duration(start, start + timedelta(minutes=3, seconds=5)) == "3 min 5 s"
    assert duration(start, None) == "—"


def test_runs_and_failed_records(owner_page: TestClient, database: Database, seeded: Seeded) -> None:
    _, issue_id = _log(database, seeded)
    text = owner_page.get("/sync-log").text
    assert text.index("Force sync") < text.index("Scheduled</td>")  # newest first
    assert "created 3" in text and "skipped 40" in text and "2.5 s" in text and "3 min 5 s" in text
    assert "Some records failed" in text
    assert "Account code &#39;999&#39; is not a valid code" in text
    assert "Import the chart of accounts" in text  # the hint
    assert f'href="/api/v1/clients/{seeded.client_id}"' in text
    assert f'action="/sync-log/issues/{issue_id}/retry"' in text
    assert 'href="/api/v1/xero/issues.csv?unresolved=true"' in text


def test_xero_said_is_shown_only_before_xeros_own_words(
    owner_page: TestClient, database: Database, seeded: Seeded
) -> None:
    """Regression (the demo's sync log): our own reasons ("Contractor ... has no supplier
    contact in Xero", a record waiting) were shown as "Xero said:", as if Xero had said them."""
    run_id, _ = _log(database, seeded)
    ours = "Credit note CN-0001: its client 'Bondi Surf Co' is not in Xero yet."
    with database.session() as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        session.add(
            SyncIssue(
                workspace_id=seeded.workspace_id,
                run_id=run_id,
                connection_id=run.connection_id,
                record_type=RecordType.CREDIT_NOTE,
                direction="push",
                local_id="note-1",
                message=ours,
            )
        )
    text = html.unescape(owner_page.get("/sync-log").text)
    assert re.search(r"Xero said:</span> Account code '999' is not a valid code", text)
    assert re.search(r"Why:</span> Credit note CN-0001: its client", text)
    assert "Xero said:</span> Credit note" not in text


def test_filters(owner_page: TestClient, database: Database, seeded: Seeded) -> None:
    run_id, _ = _log(database, seeded)
    text = owner_page.get("/sync-log?status=succeeded").text
    assert "created 3" in text and "Some records failed" not in text.split("</table>")[0].split("<tbody>")[1]
    assert "No runs yet match these filters" in owner_page.get("/sync-log?trigger=webhook").text
    ignored = owner_page.get("/sync-log?status=nonsense&organisation=not-ours").text  # unknown: no filter
    assert "created 3" in ignored
    one_run = owner_page.get(f"/sync-log?run={run_id}").text
    assert "Failed records in one run" in one_run
    assert f"run_id={run_id}" in one_run


def test_csv_export_works_with_the_page_sign_in(
    owner_page: TestClient, database: Database, seeded: Seeded
) -> None:
    _log(database, seeded)
    csv = owner_page.get("/api/v1/xero/issues.csv?unresolved=true")
    assert csv.status_code == 200
    assert "Account code '999'" in csv.text


def test_retry_resolves_the_record(
    owner_page: TestClient, au: Organisation, database: Database, seeded: Seeded
) -> None:
    _, issue_id = _log(database, seeded, _connection_id(database))
    response = post_form(owner_page, "/sync-log", f"/sync-log/issues/{issue_id}/retry", {"back": "/sync-log"})
    assert response.status_code == 303 and response.headers["location"] == "/sync-log"
    text = owner_page.get("/sync-log").text
    assert "Retried: the record is in step with Xero now." in text
    with database.session() as session:
        assert session.get(SyncIssue, issue_id).resolved_at is not None  # type: ignore[union-attr]


def _connection_id(database: Database) -> str:
    with database.session() as session:
        return session.scalars(select(XeroConnection.id)).one()


def test_members_cannot_retry(service: TestClient, database: Database, seeded: Seeded) -> None:
    _, issue_id = _log(database, seeded)
    sign_in(service, "member@harbour.example.com")
    assert "/retry" not in service.get("/sync-log").text
    post_form(service, "/sync-log", f"/sync-log/issues/{issue_id}/retry")
    assert "Only workspace owners and admins may do this." in service.get("/sync-log").text
