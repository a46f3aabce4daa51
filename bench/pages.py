"""Benchmark of the web pages (issue: the web pages): server time of every page with a
workspace holding 10,000 records of each kind that has a list.

The workspace is filled the way a user's would be: an organisation in the in-process
sandbox with N contacts and N invoices, synced in through the engine (so links, runs and
the sync log are real), then N time entries across members, projects and tasks. Every
GET page the service has (found from its router, so a new page is measured without
editing this file) is requested by a signed-in owner through the whole ASGI stack; the
figure is the time from request to the last byte of the response, the median and the
slowest of several requests after one warm-up. Pages over the goal are marked.

    .venv/bin/python -m bench.pages [--records 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench._harness import Bench, build, timed
from ledgerbridge.db import new_id
from ledgerbridge.sync.imports import run_import
from ledgerbridge.sync.models import RecordType, SyncRun
from ledgerbridge.sync.service import sync
from ledgerbridge.web import pages
from ledgerbridge.web.app import create_app
from ledgerbridge.work import users
from ledgerbridge.work.models import (
    Client,
    Invoice,
    Member,
    MemberKind,
    Project,
    Task,
    TimeEntry,
    User,
    WorkType,
)
from ledgerbridge.xero.models import XeroConnection

GOAL_MS = 300.0
PASSWORD = "bench password 1"  # noqa: S105 - a throwaway bench user in a temporary database
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Workspace:
    workspace_id: str
    owner_email: str
    samples: dict[str, str]
    """A real id for each path parameter a page may take (``invoice_id`` -> an invoice)."""


def fill(bench: Bench, records: int) -> Workspace:
    """Sync ``records`` contacts and invoices in from Xero, then add the work side's own."""
    with bench.services.database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        workspace_id, connection_id = connection.workspace_id, connection.id
    imported = asyncio.run(run_import(bench.services, workspace_id, connection_id, None))
    assert imported.status == "succeeded", imported.counts
    run = asyncio.run(
        sync(bench.services, workspace_id, connection_id, [RecordType.CONTACT, RecordType.INVOICE], "bench")
    )
    assert run.status == "succeeded", (run.status, run.error, run.counts)
    with bench.services.database.session() as session:
        owner = session.scalars(select(User).where(User.email == "owner@bench.example")).one()
        users.set_password(session, owner, PASSWORD)
        samples = _work_side(session, workspace_id, records)
        samples.update(_synced_samples(session, workspace_id, connection_id))
    return Workspace(workspace_id, "owner@bench.example", samples)


def _work_side(session: Session, workspace_id: str, entries: int) -> dict[str, str]:
    """Members, projects with tasks, and ``entries`` time entries over the last 12 weeks."""
    rng = random.Random(7)
    clients = list(session.scalars(select(Client.id).where(Client.workspace_id == workspace_id).limit(200)))
    work_type = WorkType(id=new_id(), workspace_id=workspace_id, name="Ordinary hours")
    members = [
        Member(
            id=new_id(),
            workspace_id=workspace_id,
            name=f"Member {n:03d}",
            email=f"member{n:03d}@bench.example",
            kind=MemberKind.CONTRACTOR if n % 5 == 0 else MemberKind.EMPLOYEE,
            bill_rate=Decimal("150.00"),
            cost_rate=Decimal("80.00"),
        )
        for n in range(100)
    ]
    projects = [
        Project(
            id=new_id(),
            workspace_id=workspace_id,
            name=f"Project {n:02d}",
            client_id=clients[n % len(clients)],
        )
        for n in range(40)
    ]
    tasks = [
        Task(id=new_id(), workspace_id=workspace_id, project_id=project.id, name=f"Task {n}")
        for project in projects
        for n in range(10)
    ]
    session.add_all([work_type, *members, *projects])
    session.flush()
    session.add_all(tasks)
    session.flush()
    today = date.today()
    session.add_all(
        TimeEntry(
            id=new_id(),
            workspace_id=workspace_id,
            member_id=rng.choice(members).id,
            task_id=rng.choice(tasks).id,
            work_type_id=work_type.id,
            date=today - timedelta(days=rng.randrange(84)),
            duration_minutes=rng.choice((30, 60, 90, 120, 240, 480)),
            notes="Design review and client call",
        )
        for _ in range(entries)
    )
    session.flush()
    return {
        "member_id": members[1].id,
        "project_id": projects[0].id,
        "task_id": tasks[0].id,
        "work_type_id": work_type.id,
        "entry_id": session.scalars(select(TimeEntry.id).limit(1)).one(),
    }


def _synced_samples(session: Session, workspace_id: str, connection_id: str) -> dict[str, str]:
    invoice = session.scalars(select(Invoice.id).where(Invoice.workspace_id == workspace_id).limit(1)).one()
    client = session.scalars(select(Client.id).where(Client.workspace_id == workspace_id).limit(1)).one()
    run = session.scalars(select(SyncRun.id).where(SyncRun.workspace_id == workspace_id).limit(1)).one()
    return {
        "connection_id": connection_id,
        "invoice_id": invoice,
        "bill_id": invoice,
        "client_id": client,
        "run_id": run,
        "workspace_id": workspace_id,
        "user_id": session.scalars(select(User.id).where(User.email == "owner@bench.example")).one(),
    }


def page_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every route under ``routes``, with the prefixes it is included under (FastAPI keeps
    an included router as one entry that holds the original)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
            continue
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from page_routes(list(included.routes), prefix + route.include_context.prefix)


def page_paths(samples: dict[str, str]) -> Iterator[tuple[str, str, str | None]]:
    """Every GET page but Xero's OAuth callback: its route, its path filled from
    ``samples``, and for a path whose parameter has no sample, which."""
    for path, route in page_routes(list(pages.router.routes)):
        if "GET" not in (route.methods or set()) or path.endswith("/callback"):
            continue
        names = re.findall(r"{(\w+)(?::\w+)?}", path)
        missing = [name for name in names if name not in samples]
        if missing:
            yield path, path, f"no sample for {', '.join(missing)}"
            continue
        filled = path
        for name in names:
            filled = re.sub(r"{" + name + r"(?::\w+)?}", samples[name], filled)
        yield path, filled, None


def sign_in(client: TestClient, email: str) -> None:
    form = client.get("/sign-in")
    token = TOKEN.search(form.text)
    assert token, "the sign-in page has no CSRF token"
    response = client.post(
        "/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1), "next": "/integrations"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def measure(client: TestClient, path: str, repeat: int) -> tuple[int, list[float]]:
    client.get(path)  # warm-up: templates compiled, caches filled
    times, status = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path, follow_redirects=False)
        times.append((time.perf_counter() - start) * 1000)
        status = response.status_code
    return status, times


def counts(bench: Bench, workspace_id: str) -> str:
    with bench.services.database.session() as session:
        parts = []
        for label, model in (
            ("clients", Client),
            ("invoices", Invoice),
            ("time entries", TimeEntry),
            ("members", Member),
            ("tasks", Task),
        ):
            n = session.scalar(
                select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
            )
            parts.append(f"{n:,} {label}")
        return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    console = Console(width=140)
    bench = build({"contacts": args.records, "invoices": args.records, "employees": 20})
    with timed() as filling:
        workspace = fill(bench, args.records)
    console.print(f"Workspace: {counts(bench, workspace.workspace_id)} (filled in {filling[0]:.0f} s)")

    app = create_app(bench.services.settings, bench.services.database, bench.services)
    table = Table(title=f"Page server time, SQLite, {args.records:,} records (goal: under {GOAL_MS:.0f} ms)")
    for column in ("page", "status", "median", "slowest", ""):
        table.add_column(column, justify="left" if column in ("page", "") else "right")
    over = 0
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        sign_in(client, workspace.owner_email)
        for route, path, problem in sorted(page_paths(workspace.samples)):
            if problem is not None:
                table.add_row(route, "-", "-", "-", problem)
                continue
            status, times = measure(client, path, args.repeat)
            slowest = max(times)
            flag = "OVER" if slowest > GOAL_MS else ""
            over += bool(flag)
            table.add_row(route, str(status), f"{statistics.median(times):.0f} ms", f"{slowest:.0f} ms", flag)
    console.print(table)
    console.print(
        f"{over} page(s) over {GOAL_MS:.0f} ms. Redirects (303) are timed as answered, not followed."
    )
    asyncio.run(bench.services.aclose())


if __name__ == "__main__":
    main()
