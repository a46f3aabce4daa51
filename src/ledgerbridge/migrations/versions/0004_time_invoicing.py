"""time invoicing: a contractor's bill line on time entries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bill_line_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_time_entries_bill_line_id"), ["bill_line_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_time_entries_bill_line_id_invoice_lines"),
            "invoice_lines",
            ["bill_line_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_time_entries_bill_line_id_invoice_lines"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_time_entries_bill_line_id"))
        batch_op.drop_column("bill_line_id")
