"""Records carry their Xero organisation through the API: chosen, inherited from their
party, validated (the error names the field), routed to their own organisation's outbox,
and Migrate with the links as truth. (End to end against the sandbox: tests/sync/test_migrate.py.)"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.sync import outbox
from ledgerbridge.sync.models import OutboxEntry, OutboxStatus, RecordType, XeroLink
from ledgerbridge.work.models import Client, Invoice, InvoiceKind, InvoiceStatus
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection
from tests.factories import Seeded, seed_workspace
from tests.web.api.test_invoices import _line, _sales

AU, NZ = "Demo Company (AU)", "Demo Company (NZ)"


@pytest.fixture
def orgs(database: Database, seeded: Seeded) -> dict[str, str]:
    """Two connected organisations, AU the default (no Xero needed: nothing here is sent)."""
    ids: dict[str, str] = {}
    with database.session() as session:
        for name, default in ((AU, True), (NZ, False)):
            connection = XeroConnection(
                workspace_id=seeded.workspace_id,
                tenant_id=f"tenant-{name}",
                tenant_name=name,
                status=ConnectionStatus.CONNECTED,
                is_default=default,
            )
            session.add(connection)
            session.flush()
            ids[name] = connection.id
    return ids


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def waiting(database: Database, local_id: str) -> list[str]:
    """The organisations a change to this record waits for."""
    with database.session() as session:
        return list(
            session.scalars(
                select(OutboxEntry.connection_id).where(
                    OutboxEntry.local_id == local_id, OutboxEntry.status == OutboxStatus.PENDING
                )
            )
        )


def link(
    database: Database, seeded: Seeded, connection_id: str, record_type: RecordType, local_id: str
) -> None:
    with database.session() as session:
        session.add(
            XeroLink(
                workspace_id=seeded.workspace_id,
                connection_id=connection_id,
                record_type=record_type,
                local_id=local_id,
                xero_id=f"x-{connection_id[-12:]}-{local_id[-12:]}",
                content_hash="",
                synced_at=session.get(XeroConnection, connection_id).created_at,  # type: ignore[union-attr]
            )
        )


def test_each_record_type_takes_and_shows_its_organisation(
    owner: TestClient, seeded: Seeded, orgs: dict[str, str], database: Database
) -> None:
    nz = orgs[NZ]
    client = created(owner.post("/api/v1/clients", json={"name": "Kiwi Kites", "xero_connection_id": nz}))
    item = created(owner.post("/api/v1/items", json={"code": "KITE", "xero_connection_id": nz}))
    invoice = created(owner.post("/api/v1/invoices", json=_sales(seeded, client_id=client["id"])))
    note = created(owner.post("/api/v1/credit-notes", json={"client_id": client["id"], "lines": [_line()]}))
    order = created(
        owner.post(
            "/api/v1/purchase-orders",
            json={"client_id": seeded.supplier_id, "lines": [_line()], "xero_connection_id": nz},
        )
    )
    assert [r["xero_connection_id"] for r in (client, item, invoice, note, order)] == [nz] * 5
    for path, record in (("clients", client), ("items", item), ("invoices", invoice)):
        assert owner.get(f"/api/v1/{path}/{record['id']}").json()["xero_connection_id"] == nz
        listed = owner.get(f"/api/v1/{path}", params={"xero_connection_id": nz}).json()["items"]
        assert [r["id"] for r in listed] == [record["id"]]
    # A change waits for its own organisation only, though AU is the default.
    for record in (client, item, invoice, note, order):
        assert waiting(database, record["id"]) == [nz]
    # Left out: the default, where it will first be sent.
    plain = created(owner.post("/api/v1/clients", json={"name": "Plain Pies"}))
    assert plain["xero_connection_id"] is None
    assert waiting(database, plain["id"]) == [orgs[AU]]


def test_a_payment_goes_with_its_invoice(owner: TestClient, seeded: Seeded, orgs: dict[str, str]) -> None:
    invoice = created(
        owner.post("/api/v1/invoices", json=_sales(seeded, status="approved", xero_connection_id=orgs[NZ]))
    )
    payment = created(
        owner.post(
            "/api/v1/payments", json={"invoice_id": invoice["id"], "amount": "10.00", "date": "2026-11-20"}
        )
    )
    assert payment["xero_connection_id"] == orgs[NZ]


def test_an_organisation_of_another_workspace_or_none_names_the_field(
    owner: TestClient, seeded: Seeded, orgs: dict[str, str], database: Database
) -> None:
    with database.session() as session:
        other = seed_workspace(session, "Elsewhere Pty Ltd", slug="elsewhere")
        foreign = XeroConnection(workspace_id=other.workspace_id, tenant_id="t-x", tenant_name="Foreign Org")
        session.add(foreign)
        session.flush()
        foreign_id = foreign.id
    for bad in (foreign_id, "no-such-id"):
        refused = owner.post("/api/v1/clients", json={"name": "Bad Org Ltd", "xero_connection_id": bad})
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["xero_connection_id"]
        patched = owner.patch(f"/api/v1/items/{_item(owner)}", json={"xero_connection_id": bad})
        assert patched.status_code == 422, patched.text
        migrate = owner.post("/api/v1/xero/migrate", json={"connection_id": bad})
        assert migrate.status_code == 422, migrate.text
        assert [e["field"] for e in migrate.json()["errors"]] == ["connection_id"]


def _item(owner: TestClient) -> str:
    found = owner.get("/api/v1/items", params={"q": "PLAIN"}).json()["items"]
    if found:
        return str(found[0]["id"])
    return str(created(owner.post("/api/v1/items", json={"code": "PLAIN"}))["id"])


def test_a_document_cannot_go_where_its_client_is_not(
    owner: TestClient, seeded: Seeded, orgs: dict[str, str], database: Database
) -> None:
    client = created(
        owner.post("/api/v1/clients", json={"name": "Aussie Anchors", "xero_connection_id": orgs[AU]})
    )
    refused = owner.post(
        "/api/v1/invoices", json=_sales(seeded, client_id=client["id"], xero_connection_id=orgs[NZ])
    )
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["xero_connection_id"]
    assert AU in refused.json()["errors"][0]["message"]
    link(database, seeded, orgs[NZ], RecordType.CONTACT, client["id"])  # the client is in NZ too
    allowed = owner.post(
        "/api/v1/invoices", json=_sales(seeded, client_id=client["id"], xero_connection_id=orgs[NZ])
    )
    assert created(allowed)["xero_connection_id"] == orgs[NZ]


def test_a_record_in_xero_cannot_move_to_another_organisation(
    owner: TestClient, seeded: Seeded, orgs: dict[str, str], database: Database
) -> None:
    link(database, seeded, orgs[AU], RecordType.CONTACT, seeded.client_id)
    moved = owner.patch(f"/api/v1/clients/{seeded.client_id}", json={"xero_connection_id": orgs[NZ]})
    assert moved.status_code == 409, moved.text
    assert [e["field"] for e in moved.json()["errors"]] == ["xero_connection_id"]
    kept = owner.patch(f"/api/v1/clients/{seeded.client_id}", json={"phone": "02 1111 2222"})
    assert kept.json()["xero_connection_id"] == orgs[AU], "an edit takes the organisation it is linked in"


def test_migrate_keeps_links_as_truth_and_is_idempotent(
    owner: TestClient, seeded: Seeded, orgs: dict[str, str], database: Database
) -> None:
    au, nz = orgs[AU], orgs[NZ]
    with database.session() as session:  # records from before there were organisations
        only_nz = Client(workspace_id=seeded.workspace_id, name="Only In NZ")
        both = Client(workspace_id=seeded.workspace_id, name="In Both")
        session.add_all([only_nz, both])
        session.flush()
        ids = {"only_nz": only_nz.id, "both": both.id}
    link(database, seeded, nz, RecordType.CONTACT, ids["only_nz"])
    link(database, seeded, nz, RecordType.CONTACT, ids["both"])
    link(database, seeded, au, RecordType.CONTACT, ids["both"])
    with database.session() as session:
        bill = Invoice(
            workspace_id=seeded.workspace_id,
            kind=InvoiceKind.SALES,
            status=InvoiceStatus.DRAFT,
            number="OLD-1",
            client_id=ids["only_nz"],
            issue_date=date(2026, 11, 1),
            currency="AUD",
        )
        stray = OutboxEntry(
            workspace_id=seeded.workspace_id,
            connection_id=au,
            record_type=RecordType.CONTACT,
            local_id=ids["only_nz"],
            idempotency_key="k-stray",
        )
        misrouted = OutboxEntry(
            workspace_id=seeded.workspace_id,
            connection_id=au,
            record_type=RecordType.CONTACT,
            local_id=seeded.supplier_id,
            idempotency_key="k-misrouted",
        )
        session.add_all([bill, stray, misrouted])
        session.flush()
        ids["bill"] = bill.id
    with database.session() as session:
        links_before = sorted(
            (x.connection_id, x.local_id, x.xero_id) for x in session.scalars(select(XeroLink))
        )

    report = owner.post("/api/v1/xero/migrate", json={"connection_id": au}).json()
    contacts = report["counts"]["contact"]
    assert contacts["kept_linked"] == 1  # only in NZ
    assert contacts["assigned"] == 3  # in both (AU chosen), and the seeded customer and supplier
    assert report["counts"]["invoice"]["with_party"] == 1
    organisation = {
        key: owner.get(f"/api/v1/{'invoices' if key == 'bill' else 'clients'}/{ident}").json()[
            "xero_connection_id"
        ]
        for key, ident in ids.items()
    }
    assert organisation == {"only_nz": nz, "both": au, "bill": nz}
    # A change waiting for AU for the client that is in NZ only moves to NZ, not copied;
    # one for a client that now belongs to AU stays.
    assert waiting(database, ids["only_nz"]) == [nz]
    assert waiting(database, seeded.supplier_id) == [au]
    assert contacts["retargeted"] == 1
    with database.session() as session:
        links_after = sorted(
            (x.connection_id, x.local_id, x.xero_id) for x in session.scalars(select(XeroLink))
        )
    assert links_after == links_before

    again = owner.post("/api/v1/xero/migrate", json={"connection_id": au}).json()
    assert again["changed"] == 0
    assert again["counts"]["contact"]["already_assigned"] == 4


def test_a_document_made_without_the_api_goes_where_its_client_is(
    owner: TestClient, seeded: Seeded, orgs: dict[str, str], database: Database
) -> None:
    """Hours to invoice, pages and the demo save invoices through ``work`` functions, with no
    organisation: the outbox still routes them (and their payments) to their client's."""
    au, nz = orgs[AU], orgs[NZ]
    kiwi = created(owner.post("/api/v1/clients", json={"name": "Kiwi Kayaks", "xero_connection_id": nz}))
    with database.session() as session:
        invoice = Invoice(
            workspace_id=seeded.workspace_id,
            kind=InvoiceKind.SALES,
            status=InvoiceStatus.DRAFT,
            number="HRS-1",
            client_id=kiwi["id"],
            issue_date=date(2026, 11, 1),
            currency="NZD",
        )
        mine = Invoice(
            workspace_id=seeded.workspace_id,
            kind=InvoiceKind.SALES,
            status=InvoiceStatus.DRAFT,
            number="HRS-2",
            client_id=seeded.client_id,
            issue_date=date(2026, 11, 1),
            currency="AUD",
        )
        session.add_all([invoice, mine])
        session.flush()
        ids = {"kiwi": invoice.id, "mine": mine.id}
    with database.session() as session:
        assert [
            c.id
            for c in outbox.connections_for(session, seeded.workspace_id, RecordType.INVOICE, ids["kiwi"])
        ] == [nz]
        assert [
            c.id
            for c in outbox.connections_for(session, seeded.workspace_id, RecordType.INVOICE, ids["mine"])
        ] == [au]
        query = select(Invoice.id).where(Invoice.workspace_id == seeded.workspace_id)
        default, other = session.get(XeroConnection, au), session.get(XeroConnection, nz)
        assert default is not None and other is not None
        assert outbox.unlinked(session, default, RecordType.INVOICE, query) == [ids["mine"]]
        assert outbox.unlinked(session, other, RecordType.INVOICE, query) == [ids["kiwi"]]


def test_hours_to_invoice_take_the_settings_of_the_clients_organisation(
    owner: TestClient, seeded: Seeded, orgs: dict[str, str], database: Database
) -> None:
    """Per organisation its own settings: an invoice built from hours for a client of NZ
    takes NZ's revenue account and due-date offset, not the default AU's."""
    from ledgerbridge.sync.models import SyncSettings

    au, nz = orgs[AU], orgs[NZ]
    with database.session() as session:
        for connection_id, account, offset in ((au, "200", 7), (nz, "260", 30)):
            session.add(
                SyncSettings(
                    workspace_id=seeded.workspace_id,
                    connection_id=connection_id,
                    revenue_account_code=account,
                    due_date_offset_days=offset,
                )
            )
    kiwi = created(owner.post("/api/v1/clients", json={"name": "Kiwi Kayaks", "xero_connection_id": nz}))
    project = created(owner.post("/api/v1/projects", json={"name": "Kayak site", "client_id": kiwi["id"]}))
    task = created(
        owner.post("/api/v1/tasks", json={"project_id": project["id"], "name": "Build", "bill_rate": "120"})
    )
    for task_id in (task["id"], seeded.task_id):
        entry = owner.post(
            "/api/v1/time-entries",
            json={
                "member_id": seeded.employee_id,
                "task_id": task_id,
                "date": "2026-11-02",
                "duration_minutes": 120,
                "approved": True,
            },
        )
        assert entry.status_code == 201, entry.text
    built = {}
    for name, client_id in (("kiwi", kiwi["id"]), ("bondi", seeded.client_id)):
        response = owner.post(
            "/api/v1/invoices/from-time",
            json={
                "client_id": client_id,
                "date_from": "2026-11-02",
                "date_to": "2026-11-06",
                "issue_date": "2026-11-09",
            },
        )
        assert response.status_code == 201, response.text
        built[name] = response.json()
    assert built["kiwi"]["due_date"] == "2026-12-09"  # NZ: 30 days
    assert {line["account_code"] for line in built["kiwi"]["lines"]} == {"260"}
    assert built["bondi"]["due_date"] == "2026-11-16"  # AU, the default: 7 days
    assert {line["account_code"] for line in built["bondi"]["lines"]} == {"200"}


def test_a_new_member_goes_to_each_organisation_that_auto_syncs_members(
    owner: TestClient, seeded: Seeded, orgs: dict[str, str], database: Database
) -> None:
    """Per organisation its own auto-sync: NZ (not the default) sends new members, AU
    (the default) does not, so a new member is queued for NZ only."""
    from ledgerbridge.jobs.models import Job
    from ledgerbridge.sync.members import JOB
    from ledgerbridge.sync.models import SyncSettings

    au, nz = orgs[AU], orgs[NZ]
    with database.session() as session:
        for connection_id, on in ((au, False), (nz, True)):
            session.add(
                SyncSettings(
                    workspace_id=seeded.workspace_id, connection_id=connection_id, auto_sync_new_members=on
                )
            )
    member = created(owner.post("/api/v1/members", json={"name": "Aroha Ngata", "kind": "contractor"}))
    with database.session() as session:
        queued = [job.args for job in session.scalars(select(Job).where(Job.kind == JOB))]
    assert queued == [{"connection_id": nz, "member_id": member["id"]}]
