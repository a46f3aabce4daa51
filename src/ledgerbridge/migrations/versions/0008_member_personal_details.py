"""members' personal details Xero Payroll requires of an employee: date of birth, home address

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 00:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT_COLUMNS = {
    "address_line1": 500,
    "address_line2": 500,
    "city": 255,
    "region": 255,
    "postal_code": 50,
    "country": 100,
}


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))
        for name, length in _TEXT_COLUMNS.items():
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        for name in reversed(list(_TEXT_COLUMNS)):
            batch_op.drop_column(name)
        batch_op.drop_column("date_of_birth")
