"""Runs and the sync log: every run with its trigger and counts, every failed record with
Xero's own message and a hint a person can act on.

Every part of the engine (imports, pulls, pushes, webhook fetches) records what it did
through these functions, so the log reads the same whatever produced it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy.orm import Session

from ledgerbridge.db import utcnow
from ledgerbridge.sync.models import RecordType, RunStatus, SyncIssue, SyncRun

HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"account code .* (is not a valid|does not exist|not .*valid)|Account code '.*'", re.I),
        "Xero does not know this account code. Import the chart of accounts, then choose "
        "an account that exists in Settings (revenue or expense account).",
    ),
    (
        re.compile(r"TaxType|tax type|tax rate", re.I),
        "The tax rate is missing or not valid for this account. Import tax rates and set "
        "a default tax rate in Settings.",
    ),
    (
        re.compile(r"currency", re.I),
        "This currency is not enabled in the Xero organisation. Add it under Xero's "
        "Settings > Currencies, or change the document's currency.",
    ),
    (
        re.compile(
            r"contact name .* already (assigned|exists)|must be unique across all active contacts", re.I
        ),
        "A Xero contact already has this name. Link the client to that contact on the "
        "matching page instead of creating a second one.",
    ),
    (
        re.compile(r"period.*(lock|closed)|lock date|end of year lock", re.I),
        "The document's date is inside a period locked in Xero. Change the date or ask "
        "your accountant to move the lock date.",
    ),
    (
        re.compile(r"pay period|payroll calendar", re.I),
        "The timesheet's dates are not a pay period of the employee's payroll calendar. "
        "Send it for the calendar's period.",
    ),
    (
        re.compile(r"archived", re.I),
        "The contact is archived in Xero. Restore it in Xero, or pick another contact.",
    ),
    (
        re.compile(r"not of valid status for modification|cannot be edited", re.I),
        "Xero no longer allows changes to this document (it is paid, voided or has "
        "payments). Make the change in Xero, or void and send a new one.",
    ),
)


def hint_for(message: str) -> str | None:
    """A plain-language next step for a Xero message, where one is known."""
    for pattern, hint in HINTS:
        if pattern.search(message):
            return hint
    return None


def start_run(
    session: Session,
    workspace_id: str,
    connection_id: str | None,
    trigger: str,
    record_types: Iterable[RecordType],
    dry_run: bool = False,
) -> SyncRun:
    run = SyncRun(
        workspace_id=workspace_id,
        connection_id=connection_id,
        trigger=trigger,
        record_types=[str(t) for t in record_types],
        dry_run=dry_run,
        status=RunStatus.RUNNING,
        started_at=utcnow(),
        counts={},
        progress={},
        preview=[],
    )
    session.add(run)
    session.flush()
    return run


def count(run: SyncRun, outcome: str, n: int = 1) -> None:
    """Add to one of the run's counters (created, updated, skipped, failed, calls ...).
    A new dict each time: the column is plain JSON, so only an assignment is seen."""
    counts = run.counts or {}  # None until a new run's first flush
    run.counts = {**counts, outcome: counts.get(outcome, 0) + n}


def record_issue(
    session: Session,
    run: SyncRun,
    record_type: RecordType,
    direction: str,
    message: str,
    local_id: str | None = None,
    xero_id: str | None = None,
) -> SyncIssue:
    issue = SyncIssue(
        workspace_id=run.workspace_id,
        run_id=run.id,
        connection_id=run.connection_id,
        record_type=record_type,
        direction=direction,
        local_id=local_id,
        xero_id=xero_id,
        message=message,
        hint=hint_for(message),
    )
    session.add(issue)
    count(run, "failed")
    return issue


def finish_run(run: SyncRun, calls: int = 0, error: str | None = None) -> SyncRun:
    """Close a run: failed if it stopped early, partial if some records failed."""
    if calls:
        count(run, "calls", calls)
    run.finished_at = utcnow()
    if error is not None:
        run.status, run.error = RunStatus.FAILED, error
    elif run.counts.get("failed"):
        run.status = RunStatus.PARTIAL
    else:
        run.status = RunStatus.SUCCEEDED
    return run
