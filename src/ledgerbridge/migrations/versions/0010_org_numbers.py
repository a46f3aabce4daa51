"""document numbers and client names are unique per Xero organisation, and a number from
our own series is marked (numbered_here) so Xero can number the document instead

Sales invoice and purchase order numbers were unique per workspace, so a second
organisation's INV-0001 clashed with the first one's. Now they are unique per (workspace,
organisation); documents of no organisation yet are unique among themselves (PostgreSQL
and SQLite treat NULLs as distinct in a unique index, hence a second, partial index).
Client names likewise: a second organisation's contact of the same name as the first
one's client arrives as its own client.

Revision ID: 0010_org_numbers
Revises: 0009
Create Date: 2026-12-03 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_org_numbers"
down_revision: str | None = "0010_run_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NUMBERED = ("invoices", "credit_notes", "purchase_orders")
"""The tables with ``number`` (``DocumentColumns``)."""
UNIQUE = {
    "invoices": ("uq_invoices_sales_number", "kind = 'sales'"),
    "purchase_orders": ("uq_purchase_orders_number", None),
}
"""Table -> its unique number index and the rows it covers."""


def _where(condition: str | None, organisation: str) -> sa.TextClause:
    return sa.text(f"{condition} AND {organisation}" if condition else organisation)


def upgrade() -> None:
    for table in NUMBERED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("numbered_here", sa.Boolean(), server_default=sa.false(), nullable=False)
            )
    for table, (name, condition) in UNIQUE.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
            assigned = _where(condition, "xero_connection_id IS NOT NULL")
            batch_op.create_index(
                name,
                ["workspace_id", "xero_connection_id", "number"],
                unique=True,
                sqlite_where=assigned,
                postgresql_where=assigned,
            )
            unassigned = _where(condition, "xero_connection_id IS NULL")
            batch_op.create_index(
                f"{name}_unassigned",
                ["workspace_id", "number"],
                unique=True,
                sqlite_where=unassigned,
                postgresql_where=unassigned,
            )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_constraint("uq_clients_workspace_id_name", type_="unique")
        for name, columns, where in _CLIENT_NAMES:
            batch_op.create_index(
                name, columns, unique=True, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
            )


_CLIENT_NAMES = (
    ("uq_clients_name", ["workspace_id", "xero_connection_id", "name"], "xero_connection_id IS NOT NULL"),
    ("uq_clients_name_unassigned", ["workspace_id", "name"], "xero_connection_id IS NULL"),
)
"""Client names: unique per organisation, and among the clients of none yet."""


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        for name, _, _ in _CLIENT_NAMES:
            batch_op.drop_index(name)
        batch_op.create_unique_constraint("uq_clients_workspace_id_name", ["workspace_id", "name"])
    for table, (name, condition) in UNIQUE.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"{name}_unassigned")
            batch_op.drop_index(name)
            where = sa.text(condition) if condition else None
            batch_op.create_index(
                name, ["workspace_id", "number"], unique=True, sqlite_where=where, postgresql_where=where
            )
    for table in reversed(NUMBERED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("numbered_here")
