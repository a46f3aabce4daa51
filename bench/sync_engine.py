"""Benchmark of the sync engine against the sandbox (issue: the sync engine).

For a sandbox organisation with N contacts and M invoices and bills (after the one-click
import of reference data: accounts and tax rates, which invoices need locally): the calls
used by the first full import, by a no-change incremental run and by a 1%-changed run
(and a 10%-changed one), each against the minimum possible; and local records processed
per second by the engine.

The sandbox answers in-process with no added latency. Engine time is the run's wall time
less the time spent inside calls to Xero (the sandbox computing its answers), so it holds
everything on our side: decoding Xero's JSON, mapping, the rules, SQLite and its commits.
The seeded sandbox is set aside from the garbage collector (``_harness``), as Xero's data
is not in our process in real use.

    .venv/bin/python -m bench.sync_engine [--contacts 50000] [--invoices 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bench._harness import Bench, build, timed
from ledgerbridge.sync.imports import run_import
from ledgerbridge.sync.models import RecordType, SyncIssue, SyncRun
from ledgerbridge.sync.service import sync
from ledgerbridge.xero.client import ACCOUNTING, BATCH_SIZE, MAX_PAGE_SIZE
from ledgerbridge.xero.models import XeroConnection


def _ids(bench: Bench) -> tuple[str, str]:
    with bench.services.database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        return connection.workspace_id, connection.id


def _issues(bench: Bench, run: SyncRun) -> list[str]:
    with bench.services.database.session() as session:
        return list(session.scalars(select(SyncIssue.message).where(SyncIssue.run_id == run.id).limit(5)))


class XeroTime:
    """Time spent inside calls to Xero (here, the in-process sandbox answering), so the
    engine's own speed can be told apart from the server's."""

    def __init__(self, bench: Bench) -> None:
        self.seconds = 0.0
        original = bench.services.client.request

        async def timed_request(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        bench.services.client.request = timed_request  # type: ignore[method-assign]


def run_sync(bench: Bench, xero_time: XeroTime, types: list[RecordType]) -> tuple[SyncRun, float, float]:
    workspace_id, connection_id = _ids(bench)
    in_xero = xero_time.seconds
    with timed() as wall:
        run = asyncio.run(sync(bench.services, workspace_id, connection_id, types, "bench"))
    assert run.status == "succeeded", (run.status, run.error, run.counts, _issues(bench, run))
    return run, wall[0], wall[0] - (xero_time.seconds - in_xero)


def change_in_xero(bench: Bench, sizes: dict[RecordType, int], percent: int) -> dict[RecordType, int]:
    """Edit ``percent``% of the contacts and of the invoices inside Xero (as its users
    would: an email address, an invoice reference), stamping them now."""
    org = bench.state.orgs[bench.org.tenant_id]
    edits = {
        RecordType.CONTACT: (
            "Contacts",
            "ContactID",
            lambda r, n: {"EmailAddress": f"changed-{percent}-{n}@example.com"},
        ),
        RecordType.INVOICE: ("Invoices", "InvoiceID", lambda r, n: {"Reference": f"Changed {percent} {n}"}),
    }
    changed: dict[RecordType, int] = {}
    for record_type, (collection, id_field, edit) in edits.items():
        if record_type not in sizes:
            continue
        wanted, count = max(1, sizes[record_type] * percent // 100), 0
        for record in org.iter_records(collection):
            if count == wanted:
                break
            if record.get("ContactStatus") == "ARCHIVED" or record.get("Status") in ("VOIDED", "DELETED"):
                continue
            updated = dict(record, **edit(record, count), UpdatedDateUTC=bench.state.clock.now())
            org.put_record(collection, record[id_field], updated)
            count += 1
        changed[record_type] = count
    bench.state.clock.advance(1)
    return changed


def row(label: str, run: SyncRun, minimum: int, seconds: float, engine_seconds: float) -> list[str]:
    processed = sum(run.counts.get(k, 0) for k in ("created", "updated", "skipped"))
    return [
        label,
        f"{run.counts.get('calls', 0)}",
        f"{minimum}",
        f"{processed:,}",
        f"{seconds:,.1f} s",
        f"{engine_seconds:,.1f} s",
        f"{processed / engine_seconds:,.0f}/s" if engine_seconds > 0 else "-",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--invoices", type=int, default=20_000)
    args = parser.parse_args()
    console = Console()
    types = [RecordType.CONTACT, RecordType.INVOICE]
    console.print(
        f"Seeding {args.contacts:,} contacts and {args.invoices:,} invoices; syncing "
        f"{', '.join(map(str, types))}"
    )
    bench = build({"contacts": args.contacts, "invoices": args.invoices, "employees": 1})
    org = bench.state.orgs[bench.org.tenant_id]
    sizes = {t: len(org.records({"contact": "Contacts", "invoice": "Invoices"}[str(t)])) for t in types}
    workspace_id, connection_id = _ids(bench)
    imported = asyncio.run(run_import(bench.services, workspace_id, connection_id, None))
    assert imported.status == "succeeded", (imported.status, imported.counts)
    console.print(
        f"Imported reference data first: {imported.counts.get('created', 0):,} records, "
        f"{imported.counts.get('calls', 0)} calls (one per type)"
    )

    table = Table(title="ledgerbridge sync engine against the sandbox (SQLite)")
    xero_time = XeroTime(bench)
    for column in ("run", "calls", "minimum", "records", "wall time", "engine time", "records/s (engine)"):
        table.add_column(column, justify="left" if column == "run" else "right")

    full_minimum = sum(math.ceil(n / MAX_PAGE_SIZE) or 1 for n in sizes.values())
    run, seconds, engine = run_sync(bench, xero_time, types)
    table.add_row(*row("first full import", run, full_minimum, seconds, engine))

    run, seconds, engine = run_sync(bench, xero_time, types)
    table.add_row(*row("no-change incremental", run, len(types), seconds, engine))

    for percent in (1, 10):  # 10%: the update path's own rate, past a run's fixed costs
        changed = change_in_xero(bench, sizes, percent)
        run, seconds, engine = run_sync(bench, xero_time, types)
        label = ", ".join(f"{n:,} {t}s" for t, n in changed.items())
        minimum = sum(math.ceil(n / MAX_PAGE_SIZE) for n in changed.values())
        table.add_row(*row(f"{percent}% changed ({label})", run, minimum, seconds, engine))
    console.print(table)
    console.print(f"(minimum: one page of {MAX_PAGE_SIZE} per call; writes batch {BATCH_SIZE}; {ACCOUNTING})")
    asyncio.run(bench.services.aclose())


if __name__ == "__main__":
    main()
