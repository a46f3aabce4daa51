"""sync issues say whose words they hold (sync_issues.from_xero), so "Xero said" is shown
only before Xero's own words

Revision ID: 0011_issue_from_xero
Revises: 0010_org_numbers
Create Date: 2026-12-04 17:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_issue_from_xero"
down_revision: str | None = "0010_org_numbers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_issues", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_xero", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("sync_issues", schema=None) as batch_op:
        batch_op.drop_column("from_xero")
