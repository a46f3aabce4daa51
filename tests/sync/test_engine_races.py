"""Pulls racing other writers, against the sandbox: a row another transaction commits
between a page's read and its insert costs one record, not the page (the same Xero record
applied elsewhere is simply there; a different record of the same name is one issue), and
the cursor moves on; two pulls of one organisation at once end with each Xero contact
once here and linked once; a push's link meeting a pull's link does not fail its batch."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledgerbridge.db import Database, new_id
from ledgerbridge.sandbox.clock import ClientClock
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.settings import Settings
from ledgerbridge.sync import engine
from ledgerbridge.sync.contacts import ContactsAdapter
from ledgerbridge.sync.models import RecordType, SyncCursor, SyncIssue, SyncRun, XeroLink
from ledgerbridge.sync.runs import finish_run, start_run
from ledgerbridge.sync.service import sync
from ledgerbridge.work.models import Client
from ledgerbridge.xero.client import MAX_PAGE_SIZE, Organisation
from ledgerbridge.xero.models import XeroConnection
from ledgerbridge.xero.services import XeroServices
from tests.servers import serve

pytestmark = pytest.mark.anyio


def _ids(database: Database) -> tuple[str, str]:
    with database.session() as session:
        connection = session.scalars(select(XeroConnection)).one()
        return connection.workspace_id, connection.id


def _active_contacts(state: SandboxState, org: Organisation) -> list[dict[str, Any]]:
    return [c for c in state.orgs[org.tenant_id].iter_records("Contacts") if c["ContactStatus"] == "ACTIVE"]


def _links_by_xero_id(session: Session) -> dict[str, str]:
    rows = session.execute(
        select(XeroLink.xero_id, XeroLink.local_id).where(XeroLink.record_type == RecordType.CONTACT)
    )
    return dict(rows.tuples().all())


class _CommitsBetweenReadAndInsert(ContactsAdapter):
    """The contacts adapter, with another transaction committing ``rows`` after the page's
    links and names were read and before its records are inserted."""

    def __init__(self, database: Database, rows: list[Any]) -> None:
        self.database, self.rows = database, rows

    def prepare_page(
        self, session: Session, connection: XeroConnection, records: list[dict[str, Any]]
    ) -> None:
        super().prepare_page(session, connection, records)
        if self.rows:
            with self.database.session() as other:
                other.add_all(self.rows)
            self.rows = []


async def test_a_clash_committed_between_read_and_insert_costs_one_record_not_the_page(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    workspace_id, connection_id = _ids(database)
    contacts = _active_contacts(sandbox_state, au)
    same, taken = contacts[0], contacts[1]
    # another worker applied `same` (its client and link); someone made a client of this
    # organisation named as `taken` (names are unique per organisation: one of no organisation
    # or of another may share it)
    theirs = Client(
        id=new_id(), workspace_id=workspace_id, name=same["Name"], xero_connection_id=connection_id
    )
    rows: list[Any] = [
        theirs,
        XeroLink(
            workspace_id=workspace_id,
            connection_id=connection_id,
            record_type=RecordType.CONTACT,
            local_id=theirs.id,
            xero_id=same["ContactID"],
            content_hash="",
            synced_at=xero_services.clock.utcnow(),
        ),
        Client(
            workspace_id=workspace_id,
            name=taken["Name"],
            email="someone.else@example.com",
            xero_connection_id=connection_id,
        ),
    ]
    with database.session() as session:
        run_id = start_run(session, workspace_id, connection_id, "manual", [RecordType.CONTACT]).id

    await engine.pull(xero_services, _CommitsBetweenReadAndInsert(database, rows), connection_id, run_id)

    every = list(sandbox_state.orgs[au.tenant_id].iter_records("Contacts"))
    with database.session() as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        finish_run(run)
        linked = _links_by_xero_id(session)
        issues = list(session.scalars(select(SyncIssue).where(SyncIssue.run_id == run_id)))
        cursor = session.scalars(select(SyncCursor)).one()
        names = list(session.scalars(select(Client.name)))
    assert linked[same["ContactID"]] == theirs.id  # the same record: there once, nothing failed
    assert taken["ContactID"] not in linked
    assert set(linked) == {c["ContactID"] for c in every} - {taken["ContactID"]}  # the rest arrived
    (issue,) = issues
    assert issue.xero_id == taken["ContactID"]
    assert f"another client has the same name '{taken['Name']}'," in issue.message
    assert run.counts["created"] == len(every) - 2
    assert run.counts["failed"] == 1 and run.status == "partial"
    # the cursor moved past the page (Xero's dates are to the millisecond)
    assert cursor.value is not None
    assert cursor.value >= max(c["UpdatedDateUTC"] for c in every) - timedelta(milliseconds=1)
    assert sorted(names) == sorted(set(names))


def _fill(state: SandboxState, org: Organisation, count: int) -> None:
    """More contacts than one page holds, so each pull applies several pages."""
    contacts = state.orgs[org.tenant_id]
    template = next(c for c in contacts.iter_records("Contacts") if c["ContactStatus"] == "ACTIVE")
    start = state.clock.now()
    for n in range(count):
        contact_id = str(uuid.uuid4())
        record = {
            **template,
            "ContactID": contact_id,
            "Name": f"Racing Customer {n:05d}",
            "EmailAddress": f"racing-{n}@example.com",
            "ContactNumber": None,
            "TaxNumber": None,
            "UpdatedDateUTC": start + timedelta(milliseconds=n),
        }
        contacts.put_record("Contacts", contact_id, record)
    state.clock.advance(5)


class _MeetsTheOtherPull(ContactsAdapter):
    """Holds each pull's first page after its read until the other pull has read its own,
    so both insert what neither had when it read: the race, every time."""

    def __init__(self, barrier: threading.Barrier) -> None:
        self.barrier, self.first = barrier, threading.local()

    def prepare_page(
        self, session: Session, connection: XeroConnection, records: list[dict[str, Any]]
    ) -> None:
        super().prepare_page(session, connection, records)
        if not getattr(self.first, "done", False):
            self.first.done = True
            self.barrier.wait(timeout=60)


async def test_two_pulls_of_one_organisation_at_once_make_each_contact_once(
    xero_services: XeroServices,
    au: Organisation,
    sandbox_state: SandboxState,
    sandbox_app: FastAPI,
    sandbox_time: ClientClock,
    xero_settings: Settings,
    database: Database,
) -> None:
    _fill(sandbox_state, au, MAX_PAGE_SIZE + 200)
    workspace_id, connection_id = _ids(database)
    adapter = _MeetsTheOtherPull(threading.Barrier(2))
    outcomes: list[Any] = []

    async def one_pull(url: str) -> SyncRun:
        settings = xero_settings.model_copy(update={"xero_sandbox_url": url})
        async with httpx.AsyncClient(timeout=60) as http:
            services = XeroServices.build(settings, database, http=http, clock=sandbox_time)
            with database.session() as session:
                run_id = start_run(session, workspace_id, connection_id, "manual", [RecordType.CONTACT]).id
            try:
                await engine.pull(services, adapter, connection_id, run_id)
            finally:
                with database.session() as session:
                    run = session.get(SyncRun, run_id)
                    assert run is not None
                    finish_run(run)
            return run

    def worker(url: str) -> None:
        try:
            outcomes.append(asyncio.run(one_pull(url)))
        except BaseException as exc:  # reported by the assertion below
            outcomes.append(exc)

    with serve(sandbox_app) as url:
        threads = [threading.Thread(target=worker, args=(url,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)

    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert [o.status for o in outcomes] == ["succeeded", "succeeded"]
    every = {c["ContactID"] for c in sandbox_state.orgs[au.tenant_id].iter_records("Contacts")}
    with database.session() as session:
        linked = _links_by_xero_id(session)
        clients = session.scalar(
            select(func.count()).select_from(Client).where(Client.workspace_id == workspace_id)
        )
        assert session.scalar(select(func.count()).select_from(SyncIssue)) == 0
    assert set(linked) == every  # each Xero contact linked once (the link's xero id is unique)
    assert len(set(linked.values())) == len(every)  # to a client of its own
    assert clients == len(every) + 2  # and no other client made: only the workspace's own two
    created = sum(o.counts.get("created", 0) for o in outcomes)
    assert created == len(every)  # each made by one pull; the other found it there


async def test_a_push_s_link_meeting_a_pull_s_link_does_not_fail_the_batch(
    xero_services: XeroServices, au: Organisation, sandbox_state: SandboxState, database: Database
) -> None:
    """The push created the contact in Xero; while it records the outcome, a pull (or a
    webhook fetch) that matched the same client to it commits that link first: after the
    push read "no link yet", before its insert."""
    workspace_id, connection_id = _ids(database)
    first = await sync(xero_services, workspace_id, connection_id, [RecordType.CONTACT])
    assert first.status == "succeeded", first.error
    with database.session() as session:
        client = Client(
            workspace_id=workspace_id, name="Racing Link Pty Ltd", xero_connection_id=connection_id
        )
        session.add(client)
        session.flush()
        client_id = client.id
    made = threading.Event()

    def pulls_link() -> None:
        (contact,) = [
            c
            for c in sandbox_state.orgs[au.tenant_id].iter_records("Contacts")
            if c["Name"] == "Racing Link Pty Ltd"
        ]
        with database.session() as other:
            other.add(
                XeroLink(
                    workspace_id=workspace_id,
                    connection_id=connection_id,
                    record_type=RecordType.CONTACT,
                    local_id=client_id,
                    xero_id=str(contact["ContactID"]),
                    content_hash="",
                    synced_at=xero_services.clock.utcnow(),
                )
            )
            other.flush()  # written, not yet committed: the push's read does not see it
            made.set()
            threading.Event().wait(0.5)  # the push reads, then its insert waits for this commit

    pull = threading.Thread(target=pulls_link)

    def meanwhile() -> None:
        pull.start()
        assert made.wait(30)

    with database.session() as session:
        run_id = start_run(session, workspace_id, connection_id, "manual", [RecordType.CONTACT]).id
    try:
        await engine.push(
            xero_services,
            ContactsAdapter(),
            connection_id,
            run_id,
            hooks=engine.PushHooks(after_send=meanwhile),
        )
    finally:
        pull.join(timeout=30)

    with database.session() as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        finish_run(run)
        (link,) = session.scalars(select(XeroLink).where(XeroLink.local_id == client_id))
        assert run.status == "succeeded", run.counts
        assert link.content_hash != ""  # the push's outcome is on the link the pull made
    theirs = [
        c
        for c in sandbox_state.orgs[au.tenant_id].iter_records("Contacts")
        if c["Name"] == "Racing Link Pty Ltd"
    ]
    assert len(theirs) == 1 and link.xero_id == str(theirs[0]["ContactID"])
