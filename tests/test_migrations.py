"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ledgerbridge.db import Base, Database


def test_models_and_migrations_do_not_drift(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], (
        "Models and migrations differ; generate a migration with "
        "`alembic revision --autogenerate`:\n" + "\n".join(map(str, differences))
    )
