"""Benchmark of the one Xero client against the sandbox (issue: Xero connection).

Prints, for paging N contacts and writing M invoices: the calls made against the minimum
possible (pages at the maximum size, batches at the batch size), the 429s received (goal:
0), the sandbox time the rate limits forced (against the least the per-minute limit
allows) and the real wall time. Also how long seeding the contacts took (issue: sandbox).

    .venv/bin/python bench/xero_client.py [--contacts 100000] [--invoices 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import math
from typing import Any

from rich.console import Console
from rich.table import Table

from bench._harness import Bench, build, minute_bound, timed
from ledgerbridge.xero.client import ACCOUNTING, BATCH_SIZE, MAX_PAGE_SIZE


async def page_contacts(bench: Bench) -> tuple[int, list[str]]:
    ids: list[str] = []
    active: list[str] = []
    contacts = f"{ACCOUNTING}/Contacts"
    async for page in bench.services.client.pages(
        bench.org, contacts, "Contacts", params={"includeArchived": "true"}
    ):
        ids.extend(c["ContactID"] for c in page)
        active.extend(c["ContactID"] for c in page if c.get("ContactStatus") == "ACTIVE")
    return len(ids), active  # invoices may only go to active contacts


def invoices(contact_ids: list[str], count: int) -> list[dict[str, Any]]:
    return [
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact_ids[n % len(contact_ids)]},
            "Date": "2026-11-16",
            "DueDate": "2026-12-16",
            "Reference": f"BENCH-{n:06}",
            "LineAmountTypes": "Exclusive",
            "LineItems": [
                {
                    "Description": "Consulting",
                    "Quantity": 7.5,
                    "UnitAmount": 165,
                    "AccountCode": "200",
                    "TaxType": "OUTPUT",
                }
            ],
        }
        for n in range(count)
    ]


async def write_invoices(bench: Bench, elements: list[dict[str, Any]]) -> int:
    results = await bench.services.client.write_batches(
        bench.org, "PUT", f"{ACCOUNTING}/Invoices", "Invoices", elements, "bench-invoices"
    )
    return sum(1 for r in results if r.ok)


def measure(bench: Bench, label: str, minimum: int, run: Any) -> tuple[list[str], Any]:
    counter = bench.services.client.counter
    calls, r429, slept = counter.total(), counter.statuses[429], bench.clock.slept
    with timed() as wall:
        result = asyncio.run(run)
    made = counter.total() - calls
    waited = bench.clock.slept - slept
    row = [
        label,
        f"{made}",
        f"{minimum}",
        f"{counter.statuses[429] - r429}",
        f"{waited:,.0f} s",
        f"{minute_bound(made):,.0f} s",
        f"{wall[0]:,.1f} s",
    ]
    return row, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=10_000)
    args = parser.parse_args()
    console = Console()

    console.print(f"Seeding a sandbox organisation with {args.contacts:,} contacts ...")
    bench = build({"contacts": args.contacts, "invoices": 0, "employees": 1})
    console.print(f"  seeded in {bench.seconds_to_seed:,.1f} s")

    table = Table(title="ledgerbridge Xero client against the sandbox")
    for column in (
        "operation",
        "calls",
        "minimum",
        "429s",
        "limit wait (sandbox)",
        "per-minute bound",
        "wall time",
    ):
        table.add_column(column, justify="right" if column != "operation" else "left")

    row, (count, ids) = measure(
        bench,
        f"page {args.contacts:,} contacts",
        math.ceil(args.contacts / MAX_PAGE_SIZE),
        page_contacts(bench),
    )
    assert count == args.contacts, f"paged {count} of {args.contacts}"
    table.add_row(*row)

    row, written = measure(
        bench,
        f"write {args.invoices:,} invoices",
        math.ceil(args.invoices / BATCH_SIZE),
        write_invoices(bench, invoices(ids, args.invoices)),
    )
    assert written == args.invoices, f"wrote {written} of {args.invoices}"
    table.add_row(*row)
    console.print(table)
    asyncio.run(bench.services.aclose())


if __name__ == "__main__":
    main()
