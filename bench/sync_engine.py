"""Benchmark of the sync engine against the sandbox (issue: the sync engine).

For a sandbox organisation with N contacts (and, once invoices sync, M invoices): the calls
used by the first full import, by a no-change incremental run and by a 1%-changed run,
each against the minimum possible; and local records processed per second (the sandbox
answering in-process with no added latency, so the figure is the engine's own speed plus
the sandbox's, a lower bound for the engine).

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
from ledgerbridge.sync.models import RecordType, SyncRun
from ledgerbridge.sync.service import TWO_WAY, sync
from ledgerbridge.xero.client import ACCOUNTING, BATCH_SIZE, MAX_PAGE_SIZE
from ledgerbridge.xero.models import XeroConnection


def _ids(bench: Bench) -> tuple[str, str]:
    with bench.services.database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        return connection.workspace_id, connection.id


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
    assert run.status == "succeeded", (run.status, run.error, run.counts)
    return run, wall[0], wall[0] - (xero_time.seconds - in_xero)


def change_one_percent(bench: Bench, collection: str, count: int) -> int:
    """Edit 1% of the records inside Xero (as its users would), stamping them now."""
    org = bench.state.orgs[bench.org.tenant_id]
    changed = 0
    for record in list(org.iter_records(collection))[: max(1, count // 100)]:
        if record.get("ContactStatus") == "ARCHIVED":
            continue
        record = dict(
            record, Website=f"https://example.com/{changed}", UpdatedDateUTC=bench.state.clock.now()
        )
        record["EmailAddress"] = f"changed-{changed}@example.com"
        org.put_record(collection, record["ContactID"], record)
        changed += 1
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
    types = [t for t in (RecordType.CONTACT, RecordType.INVOICE) if t in TWO_WAY]
    invoices = args.invoices if RecordType.INVOICE in types else 0
    console.print(
        f"Seeding {args.contacts:,} contacts and {invoices:,} invoices; syncing {', '.join(map(str, types))}"
    )
    bench = build({"contacts": args.contacts, "invoices": invoices, "employees": 1})
    org = bench.state.orgs[bench.org.tenant_id]
    sizes = {t: len(org.records({"contact": "Contacts", "invoice": "Invoices"}[str(t)])) for t in types}

    table = Table(title="ledgerbridge sync engine against the sandbox (SQLite)")
    xero_time = XeroTime(bench)
    for column in ("run", "calls", "minimum", "records", "wall time", "engine time", "records/s (engine)"):
        table.add_column(column, justify="left" if column == "run" else "right")

    full_minimum = sum(math.ceil(n / MAX_PAGE_SIZE) or 1 for n in sizes.values())
    run, seconds, engine = run_sync(bench, xero_time, types)
    table.add_row(*row("first full import", run, full_minimum, seconds, engine))

    run, seconds, engine = run_sync(bench, xero_time, types)
    table.add_row(*row("no-change incremental", run, len(types), seconds, engine))

    changed = change_one_percent(bench, "Contacts", sizes[RecordType.CONTACT])
    run, seconds, engine = run_sync(bench, xero_time, types)
    table.add_row(*row(f"1% changed ({changed:,} contacts)", run, len(types), seconds, engine))
    console.print(table)
    console.print(f"(minimum: one page of {MAX_PAGE_SIZE} per call; writes batch {BATCH_SIZE}; {ACCOUNTING})")
    asyncio.run(bench.services.aclose())


if __name__ == "__main__":
    main()
