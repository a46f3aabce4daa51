"""Several Xero organisations per workspace, end to end through the public API against the
sandbox: records carry their organisation, "Migrate" assigns what was synced before a
second organisation was added, each record then reaches only its own organisation (checked
in the sandbox's own records), and each organisation's settings are its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from ledgerbridge.cli import app
from ledgerbridge.db import Database, utcnow
from ledgerbridge.jobs import scheduler
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.sync.models import OutboxEntry, RecordType, SyncIssue, XeroLink
from ledgerbridge.sync.outbox import OWNED
from ledgerbridge.work.models import Client, Invoice, TaxRate
from ledgerbridge.xero.client import Organisation
from ledgerbridge.xero.models import XeroConnection
from tests.factories import Seeded
from tests.xero.conftest import force_sync_and_wait, give_consent

NZ = "Demo Company (NZ)"


# -- helpers -------------------------------------------------------------------------------


def connection_id(database: Database, name: str) -> str:
    with database.session() as session:
        return session.scalars(select(XeroConnection.id).where(XeroConnection.tenant_name == name)).one()


def connect(api: TestClient, xero_browser: TestClient, database: Database, name: str) -> str:
    """A further organisation, through the same consent flow a person uses."""
    authorize_url = api.post("/api/v1/xero/connect").json()["authorize_url"]
    api.get(give_consent(xero_browser, authorize_url, [name]).callback)
    return connection_id(database, name)


def sync(api: TestClient, connection: str, *record_types: str) -> dict[str, Any]:
    run = force_sync_and_wait(api, connection, {"record_types": list(record_types)})
    assert run["error"] is None, run
    return run


def migrate(api: TestClient, connection: str, dry_run: bool = False) -> dict[str, Any]:
    response = api.post("/api/v1/xero/migrate", json={"connection_id": connection, "dry_run": dry_run})
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def in_sandbox(state: SandboxState, tenant_id: str, collection: str, key: str, value: str) -> list[Any]:
    """The sandbox organisation's own records whose ``key`` is ``value``."""
    return [r for r in state.orgs[tenant_id].iter_records(collection) if r.get(key) == value]


def tenant(database: Database, connection: str) -> str:
    with database.session() as session:
        found = session.get(XeroConnection, connection)
        assert found is not None
        return found.tenant_id


def links(database: Database) -> list[tuple[str, str, str, str]]:
    with database.session() as session:
        rows = session.execute(
            select(XeroLink.connection_id, XeroLink.record_type, XeroLink.local_id, XeroLink.xero_id)
        ).tuples()
        return sorted((c, str(t), loc, x) for c, t, loc, x in rows)


def organisations(database: Database) -> dict[str, str | None]:
    """Every record that syncs -> the organisation it belongs to."""
    found: dict[str, str | None] = {}
    with database.session() as session:
        for model in OWNED.values():
            found.update(session.execute(select(model.id, model.xero_connection_id)).tuples().all())
    return found


def outbox_rows(database: Database) -> list[tuple[str, str, str, str]]:
    with database.session() as session:
        rows = session.execute(
            select(
                OutboxEntry.connection_id, OutboxEntry.record_type, OutboxEntry.local_id, OutboxEntry.status
            )
        ).tuples()
        return sorted((c, str(t), loc, str(s)) for c, t, loc, s in rows)


def forget_organisations(database: Database) -> None:
    """What was synced before records carried an organisation (upgraded from revision 0008):
    linked in the one organisation, belonging to none."""
    with database.session() as session:
        for model in OWNED.values():
            session.execute(update(model).values(xero_connection_id=None))


def invoice_body(seeded: Seeded, reference: str, **extra: Any) -> dict[str, Any]:
    """A sales invoice numbered apart from the sandbox's demo invoices (INV-...)."""
    return {
        "client_id": seeded.client_id,
        "number": f"LB-{reference.replace(' ', '-').upper()}",
        "issue_date": "2026-11-02",
        "due_date": "2026-11-30",
        "reference": reference,
        "lines": [
            {
                "description": "Design",
                "quantity": "7.5",
                "unit_amount": "160.00",
                "account_code": "200",
                "tax_type": "OUTPUT",
            }
        ],
        **extra,
    }


def create(api: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# -- Migrate, then every record to its own organisation ----------------------------------


def test_migrate_assigns_what_was_synced_and_each_record_then_reaches_only_its_organisation(
    owner_api: TestClient,
    au: Organisation,
    seeded: Seeded,
    xero_browser: TestClient,
    database: Database,
    sandbox_state: SandboxState,
) -> None:
    au_id = connection_id(database, "Demo Company (AU)")
    first = create(owner_api, "/api/v1/invoices", invoice_body(seeded, "Harbour refit"))
    sync(owner_api, au_id, "contact", "invoice")
    assert len(in_sandbox(sandbox_state, au.tenant_id, "Contacts", "Name", "Bondi Surf Co")) == 1
    assert len(in_sandbox(sandbox_state, au.tenant_id, "Invoices", "Reference", "Harbour refit")) == 1
    forget_organisations(database)

    nz_id = connect(owner_api, xero_browser, database, NZ)
    nz_tenant = tenant(database, nz_id)
    assert owner_api.post(f"/api/v1/xero/connections/{nz_id}/default").status_code == 200
    # A client made now, before Migrate, waits for the default organisation (NZ)...
    manly = create(owner_api, "/api/v1/clients", {"name": "Manly Marine"})
    assert manly["xero_connection_id"] is None
    assert (nz_id, "contact", manly["id"], "pending") in outbox_rows(database)
    # ...while a change to a record already in AU goes to AU, where it is linked.
    changed = owner_api.patch(f"/api/v1/clients/{seeded.client_id}", json={"phone": "02 9000 1234"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["xero_connection_id"] == au_id
    assert (au_id, "contact", seeded.client_id, "pending") in outbox_rows(database)
    forget_organisations(database)
    links_before, outbox_before, organisations_before = (
        links(database),
        outbox_rows(database),
        organisations(database),
    )
    assert set(organisations_before.values()) == {None}

    preview = migrate(owner_api, au_id, dry_run=True)
    assert preview["dry_run"] is True and preview["tenant_name"] == "Demo Company (AU)"
    assert preview["counts"]["contact"]["assigned"] >= 2
    assert preview["counts"]["contact"]["retargeted"] == 1
    assert preview["counts"]["invoice"]["assigned"] >= 1
    assert (links(database), outbox_rows(database), organisations(database)) == (
        links_before,
        outbox_before,
        organisations_before,
    ), "a dry run writes nothing"

    done = migrate(owner_api, au_id)
    assert done["counts"] == preview["counts"] and done["changed"] == preview["changed"] > 0
    assert links(database) == links_before, "Migrate never creates, moves or deletes a link"
    assert set(organisations(database).values()) == {au_id}
    assert owner_api.get(f"/api/v1/clients/{seeded.client_id}").json()["xero_connection_id"] == au_id
    assert owner_api.get(f"/api/v1/invoices/{first['id']}").json()["xero_connection_id"] == au_id
    # The new client now waits for AU instead: moved, not duplicated.
    waiting = [row for row in outbox_rows(database) if row[2] == manly["id"] and row[3] == "pending"]
    assert waiting == [(au_id, "contact", manly["id"], "pending")]

    again = migrate(owner_api, au_id)
    assert again["changed"] == 0, "running it twice changes nothing the second time"
    assert all(c["assigned"] == c["kept_linked"] == c["retargeted"] == 0 for c in again["counts"].values())
    assert again["counts"]["contact"]["already_assigned"] == done["counts"]["contact"]["assigned"]

    # An invoice for AU's client goes to AU although NZ is the default.
    second = create(owner_api, "/api/v1/invoices", invoice_body(seeded, "Second job"))
    assert second["xero_connection_id"] == au_id, "a document takes its client's organisation"
    # A client made for NZ goes to NZ only.
    wellington = create(
        owner_api, "/api/v1/clients", {"name": "Wellington Widgets", "xero_connection_id": nz_id}
    )
    assert wellington["xero_connection_id"] == nz_id
    for connection in (nz_id, au_id, nz_id):
        sync(owner_api, connection, "contact", "invoice")

    assert len(in_sandbox(sandbox_state, au.tenant_id, "Invoices", "Reference", "Second job")) == 1
    assert in_sandbox(sandbox_state, nz_tenant, "Invoices", "Reference", "Second job") == []
    assert len(in_sandbox(sandbox_state, au.tenant_id, "Invoices", "Reference", "Harbour refit")) == 1
    assert in_sandbox(sandbox_state, nz_tenant, "Invoices", "Reference", "Harbour refit") == []
    assert len(in_sandbox(sandbox_state, nz_tenant, "Contacts", "Name", "Wellington Widgets")) == 1
    assert in_sandbox(sandbox_state, au.tenant_id, "Contacts", "Name", "Wellington Widgets") == []
    (bondi,) = in_sandbox(sandbox_state, au.tenant_id, "Contacts", "Name", "Bondi Surf Co")
    assert in_sandbox(sandbox_state, nz_tenant, "Contacts", "Name", "Bondi Surf Co") == []
    assert "02 9000 1234" in [p.get("PhoneNumber") for p in bondi.get("Phones") or []]
    assert len(in_sandbox(sandbox_state, au.tenant_id, "Contacts", "Name", "Manly Marine")) == 1
    assert in_sandbox(sandbox_state, nz_tenant, "Contacts", "Name", "Manly Marine") == []
    for tenant_id in (au.tenant_id, nz_tenant):  # nothing doubled in either organisation
        names = [r["Name"] for r in sandbox_state.orgs[tenant_id].iter_records("Contacts")]
        assert len(names) == len(set(names)), tenant_id
    with database.session() as session:
        in_nz = session.scalar(
            select(func.count()).where(
                XeroLink.connection_id == nz_id,
                XeroLink.record_type == RecordType.INVOICE,
                XeroLink.local_id.in_([first["id"], second["id"]]),
            )
        )
    assert in_nz == 0


def test_a_record_without_organisation_goes_to_the_default_and_then_belongs_to_it(
    owner_api: TestClient,
    au: Organisation,
    xero_browser: TestClient,
    database: Database,
    sandbox_state: SandboxState,
) -> None:
    au_id = connection_id(database, "Demo Company (AU)")
    nz_id = connect(owner_api, xero_browser, database, NZ)
    created = create(owner_api, "/api/v1/clients", {"name": "Tasman Traders"})
    assert created["xero_connection_id"] is None
    sync(owner_api, nz_id, "contact")
    sync(owner_api, au_id, "contact")
    assert in_sandbox(sandbox_state, tenant(database, nz_id), "Contacts", "Name", "Tasman Traders") == []
    assert len(in_sandbox(sandbox_state, au.tenant_id, "Contacts", "Name", "Tasman Traders")) == 1
    assert owner_api.get(f"/api/v1/clients/{created['id']}").json()["xero_connection_id"] == au_id
    moved = owner_api.patch(f"/api/v1/clients/{created['id']}", json={"xero_connection_id": nz_id})
    assert moved.status_code == 409, moved.text
    assert moved.json()["errors"][0]["field"] == "xero_connection_id"


# -- each organisation's own settings -------------------------------------------------------


def test_auto_sync_off_in_one_organisation_does_not_stop_the_other(
    owner_api: TestClient,
    au: Organisation,
    xero_browser: TestClient,
    database: Database,
    sandbox_state: SandboxState,
) -> None:
    au_id = connection_id(database, "Demo Company (AU)")
    nz_id = connect(owner_api, xero_browser, database, NZ)
    off = owner_api.put(f"/api/v1/xero/connections/{au_id}/settings", json={"auto_sync": {"contact": False}})
    assert off.status_code == 200, off.text
    assert (
        owner_api.get(f"/api/v1/xero/connections/{nz_id}/settings").json()["auto_sync"].get("contact", True)
    )

    for_au = create(owner_api, "/api/v1/clients", {"name": "Coogee Cafe", "xero_connection_id": au_id})
    for_nz = create(owner_api, "/api/v1/clients", {"name": "Rotorua Rafting", "xero_connection_id": nz_id})
    rows = outbox_rows(database)
    assert [r[0] for r in rows if r[2] == for_au["id"]] == [au_id]  # kept for Force sync
    assert [r[0] for r in rows if r[2] == for_nz["id"]] == [nz_id]

    sync(owner_api, nz_id, "contact")
    assert len(in_sandbox(sandbox_state, tenant(database, nz_id), "Contacts", "Name", "Rotorua Rafting")) == 1
    assert in_sandbox(sandbox_state, tenant(database, nz_id), "Contacts", "Name", "Coogee Cafe") == []
    sync(owner_api, au_id, "contact")  # Force sync sends what auto-sync would not
    assert len(in_sandbox(sandbox_state, au.tenant_id, "Contacts", "Name", "Coogee Cafe")) == 1
    assert in_sandbox(sandbox_state, au.tenant_id, "Contacts", "Name", "Rotorua Rafting") == []


# -- refusals ------------------------------------------------------------------------------


def test_an_invalid_organisation_names_the_field(
    owner_api: TestClient, au: Organisation, seeded: Seeded, database: Database
) -> None:
    refused = owner_api.post("/api/v1/xero/migrate", json={"connection_id": "no-such-organisation"})
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["connection_id"]

    client = owner_api.post("/api/v1/clients", json={"name": "Nowhere Ltd", "xero_connection_id": "nope"})
    assert client.status_code == 422, client.text
    assert [e["field"] for e in client.json()["errors"]] == ["xero_connection_id"]
    invoice = owner_api.post("/api/v1/invoices", json=invoice_body(seeded, "x", xero_connection_id="nope"))
    assert invoice.status_code == 422, invoice.text
    assert [e["field"] for e in invoice.json()["errors"]] == ["xero_connection_id"]
    assert organisations(database).get(seeded.client_id) is None


def test_migrate_is_for_managers(
    owner_api: TestClient, au: Organisation, service: TestClient, seeded: Seeded, database: Database
) -> None:
    member = TestClient(service.app)
    member.headers["Authorization"] = f"Bearer {seeded.member_token}"
    response = member.post(
        "/api/v1/xero/migrate", json={"connection_id": connection_id(database, "Demo Company (AU)")}
    )
    assert response.status_code == 403, response.text


def test_migrate_from_the_command_line(
    xero_cli: CliRunner, owner_api: TestClient, au: Organisation, seeded: Seeded, database: Database
) -> None:
    au_id = connection_id(database, "Demo Company (AU)")
    target = ["xero", "migrate", "-w", seeded.workspace_id, "--to", "demo company (au)"]
    shown = xero_cli.invoke(app, [*target, "--dry-run"])
    assert shown.exit_code == 0, shown.output
    assert "Would change 2 for Demo Company (AU) (dry run)." in " ".join(shown.output.split())
    assert set(organisations(database).values()) == {None}

    done = xero_cli.invoke(app, ["xero", "migrate", "-w", seeded.workspace_id, "--to", au_id])
    assert done.exit_code == 0, done.output
    assert set(organisations(database).values()) == {au_id}
    again = xero_cli.invoke(app, target)
    assert "Changed 0 for Demo Company (AU)." in " ".join(again.output.split())

    unknown = xero_cli.invoke(app, ["xero", "migrate", "-w", seeded.workspace_id, "--to", "Nowhere Ltd"])
    assert unknown.exit_code != 0
    assert "to: no Xero organisation with id 'Nowhere Ltd'" in " ".join(unknown.output.split())


# -- a second organisation: reference data first, its own numbers, nothing of the first ------


def issues_of(database: Database, connection: str) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(SyncIssue.message).where(SyncIssue.connection_id == connection)))


def test_a_second_organisations_first_auto_sync_imports_its_tax_rates_first(
    owner_api: TestClient,
    au: Organisation,
    xero_browser: TestClient,
    database: Database,
    run_jobs: Callable[[], int],
) -> None:
    nz_id = connect(owner_api, xero_browser, database, NZ)
    with database.session() as session:  # the auto-sync planned at once on connecting
        scheduler.schedule_due(session, utcnow())
    run_jobs()
    with database.session() as session:
        tax_types = set(session.scalars(select(TaxRate.tax_type)))
    assert {"OUTPUT2", "INPUT2"} <= tax_types, "the NZ organisation's own tax types are here"
    assert [m for m in issues_of(database, nz_id) if "tax type" in m] == []


def test_the_same_invoice_number_in_two_organisations_but_not_twice_in_one(
    owner_api: TestClient, au: Organisation, seeded: Seeded, xero_browser: TestClient, database: Database
) -> None:
    au_id = connection_id(database, "Demo Company (AU)")
    nz_id = connect(owner_api, xero_browser, database, NZ)
    body = invoice_body(seeded, "Same number")
    create(owner_api, "/api/v1/invoices", {**body, "xero_connection_id": au_id})
    create(owner_api, "/api/v1/invoices", {**body, "xero_connection_id": nz_id})
    twice = owner_api.post("/api/v1/invoices", json={**body, "xero_connection_id": au_id})
    assert twice.status_code == 409, twice.text
    assert [e["field"] for e in twice.json()["errors"]] == ["number"]


def test_nothing_synced_to_the_first_organisation_is_created_in_the_second(
    owner_api: TestClient,
    au: Organisation,
    seeded: Seeded,
    xero_browser: TestClient,
    database: Database,
    sandbox_state: SandboxState,
) -> None:
    au_id = connection_id(database, "Demo Company (AU)")
    create(owner_api, "/api/v1/invoices", invoice_body(seeded, "Harbour refit"))
    sync(owner_api, au_id, "contact", "invoice")
    forget_organisations(database)  # synced before records carried their organisation
    nz_id = connect(owner_api, xero_browser, database, NZ)
    assert owner_api.post(f"/api/v1/xero/connections/{nz_id}/default").status_code == 200
    sync(owner_api, nz_id, "contact", "invoice")
    nz_tenant = tenant(database, nz_id)
    assert in_sandbox(sandbox_state, nz_tenant, "Contacts", "Name", "Bondi Surf Co") == []
    assert in_sandbox(sandbox_state, nz_tenant, "Invoices", "Reference", "Harbour refit") == []



@pytest.mark.parametrize("synced_before_0009", [False, True], ids=["own", "legacy"])
def test_a_second_organisations_contacts_of_the_same_names_arrive_with_their_invoices(
    owner_api: TestClient,
    au: Organisation,
    xero_browser: TestClient,
    database: Database,
    sandbox_state: SandboxState,
    synced_before_0009: bool,
) -> None:
    """Names are unique per organisation, as in Xero: the NZ organisation's contacts of the
    same names as the AU one's clients are clients of their own (the AU ones untouched),
    whether the AU clients carry their organisation or are only linked there (synced before
    records carried one), and the NZ invoices to them arrive too."""
    au_id = connection_id(database, "Demo Company (AU)")
    sync(owner_api, au_id, "contact", "invoice")
    if synced_before_0009:
        forget_organisations(database)
    nz_id = connect(owner_api, xero_browser, database, NZ)
    au_clients = {c for c, _ in _linked(database, au_id, RecordType.CONTACT)}
    nz_org = sandbox_state.orgs[tenant(database, nz_id)]
    nz_names = {c["Name"] for c in nz_org.iter_records("Contacts") if c.get("ContactStatus") == "ACTIVE"}
    with database.session() as session:
        shared = nz_names & set(session.scalars(select(Client.name).where(Client.id.in_(au_clients))))
    assert shared, "the two demo organisations share contact names"

    run = sync(owner_api, nz_id, "contact", "invoice")

    assert [m for m in issues_of(database, nz_id) if "same name" in m or "not in Xero" in m] == []
    nz_clients = dict(_linked(database, nz_id, RecordType.CONTACT))
    assert not set(nz_clients) & au_clients, "each organisation's contacts are its own clients"
    with database.session() as session:
        names = dict(session.execute(select(Client.id, Client.name)).tuples().all())
        homes = dict(session.execute(select(Client.id, Client.xero_connection_id)).tuples().all())
        nz_invoices = dict(_linked(database, nz_id, RecordType.INVOICE))
        of_shared = [c for c in nz_clients if names[c] in shared]
        to_shared = session.scalars(
            select(Invoice.id).where(Invoice.id.in_(nz_invoices), Invoice.client_id.in_(of_shared))
        ).all()
    assert shared <= {names[c] for c in nz_clients}
    assert {homes[c] for c in nz_clients} == {nz_id}
    assert {homes[c] for c in au_clients} == {None if synced_before_0009 else au_id}
    assert to_shared, "invoices to the contacts of shared names arrived"
    assert len(nz_invoices) == len(list(nz_org.iter_records("Invoices"))), run["counts"]


def _linked(database: Database, connection: str, record_type: RecordType) -> list[tuple[str, str]]:
    """(local id, Xero id) of the records linked in this organisation."""
    with database.session() as session:
        rows = session.execute(
            select(XeroLink.local_id, XeroLink.xero_id).where(
                XeroLink.connection_id == connection, XeroLink.record_type == record_type
            )
        )
        return list(rows.tuples().all())


def test_the_same_client_name_in_two_organisations_but_not_twice_in_one(
    owner_api: TestClient, au: Organisation, xero_browser: TestClient, database: Database
) -> None:
    """As for numbers: a name is unique in its organisation, and a client of none yet (it
    may go to any) is checked against them all."""
    au_id = connection_id(database, "Demo Company (AU)")
    nz_id = connect(owner_api, xero_browser, database, NZ)
    create(owner_api, "/api/v1/clients", {"name": "Tasman Joinery", "xero_connection_id": au_id})
    create(owner_api, "/api/v1/clients", {"name": "Tasman Joinery", "xero_connection_id": nz_id})
    for organisation in (au_id, None):
        twice = owner_api.post(
            "/api/v1/clients", json={"name": "Tasman Joinery", "xero_connection_id": organisation}
        )
        assert twice.status_code == 409, twice.text
        assert [e["field"] for e in twice.json()["errors"]] == ["name"]
