"""``db.insert_rows`` and ``db.column_values``: the bulk write the sync engine uses for a
page of new records (a first import), on every backend."""

from __future__ import annotations

from typing import cast

import pytest
from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError

from ledgerbridge.db import Database, column_values, insert_rows, new_id
from ledgerbridge.work.models import Client
from tests.factories import Seeded

CLIENTS = cast(Table, Client.__table__)


def test_rows_leaving_different_columns_to_their_defaults_are_all_inserted(
    database: Database, seeded: Seeded
) -> None:
    ws = seeded.workspace_id
    rows = [
        {"id": new_id(), "workspace_id": ws, "name": "Paddington Bakery", "email": "hi@pb.example"},
        {"id": new_id(), "workspace_id": ws, "name": "Glebe Books", "is_supplier": True},
        {"id": new_id(), "workspace_id": ws, "name": "Newtown Florist"},
    ]
    with database.session() as session:
        insert_rows(session, CLIENTS, rows)
    with database.session() as session:
        mine = select(Client).where(Client.id.in_([r["id"] for r in rows]))
        stored = {c.name: c for c in session.scalars(mine)}
    assert set(stored) == {"Paddington Bakery", "Glebe Books", "Newtown Florist"}
    assert stored["Paddington Bakery"].email == "hi@pb.example"
    assert (stored["Glebe Books"].is_supplier, stored["Glebe Books"].is_customer) == (True, True)
    assert stored["Newtown Florist"].archived is False  # the column's default, as a flush gives it
    assert all(c.created_at is not None and c.updated_at is not None for c in stored.values())


def test_a_failing_row_inserts_nothing_of_its_unit_of_work(database: Database, seeded: Seeded) -> None:
    """A page is one transaction: a clash on one row leaves none of the page behind."""
    taken = {"id": new_id(), "workspace_id": seeded.workspace_id, "name": "Surry Hills Cafe"}
    with database.session() as session:
        insert_rows(session, CLIENTS, [taken])
    page = [
        {"id": new_id(), "workspace_id": seeded.workspace_id, "name": "Redfern Print Co"},
        {"id": new_id(), "workspace_id": seeded.workspace_id, "name": "Surry Hills Cafe"},  # name in use
    ]
    with pytest.raises(IntegrityError), database.session() as session:
        insert_rows(session, CLIENTS, page)
    with database.session() as session:
        assert session.scalar(select(Client.id).where(Client.name == "Redfern Print Co")) is None


def test_column_values_are_what_was_set_by_column_name(seeded: Seeded) -> None:
    client = Client(id="c-1", workspace_id=seeded.workspace_id, name="Ultimo Labs", is_supplier=True)
    assert column_values(client) == {
        "id": "c-1", "workspace_id": seeded.workspace_id, "name": "Ultimo Labs", "is_supplier": True
    }
