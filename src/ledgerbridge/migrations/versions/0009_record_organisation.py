"""records carry their Xero organisation: clients, items, invoices, credit notes,
purchase orders and payments get a nullable xero_connection_id

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("clients", "items", "invoices", "credit_notes", "purchase_orders", "payments")
"""The work tables that sync both ways (``sync.service.TWO_WAY``)."""


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("xero_connection_id", sa.String(length=36), nullable=True))
            batch_op.create_index(
                batch_op.f(f"ix_{table}_xero_connection_id"), ["xero_connection_id"], unique=False
            )
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_xero_connection_id_xero_connections"),
                "xero_connections",
                ["xero_connection_id"],
                ["id"],
                ondelete="SET NULL",
            )


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_xero_connection_id_xero_connections"), type_="foreignkey"
            )
            batch_op.drop_index(batch_op.f(f"ix_{table}_xero_connection_id"))
            batch_op.drop_column("xero_connection_id")
