"""members to Xero: the auto-sync-new-members setting, payroll defaults, member exports

Revision ID: 0007
Revises: 0006 (contacts as tasks, another branch of work; check when merging)
Create Date: 2026-11-21 22:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledgerbridge.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auto_sync_new_members", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("default_payroll_calendar_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("default_earnings_rate_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("sync_settings", schema=None) as batch_op:
        batch_op.alter_column("auto_sync_new_members", server_default=None)

    op.create_table(
        "member_exports",
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("target", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("xero_id", sa.String(length=64), nullable=True),
        sa.Column("payload_hash", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_at", ledgerbridge.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", ledgerbridge.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ledgerbridge.db.UTCDateTime(), nullable=False),
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["xero_connections.id"],
            name=op.f("fk_member_exports_connection_id_xero_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_exports_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_member_exports_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_exports")),
        sa.UniqueConstraint(
            "connection_id", "member_id", name=op.f("uq_member_exports_connection_id_member_id")
        ),
    )
    with op.batch_alter_table("member_exports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_exports_connection_id"), ["connection_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_exports_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_exports_workspace_id"), ["workspace_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("member_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_exports_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_member_exports_member_id"))
        batch_op.drop_index(batch_op.f("ix_member_exports_connection_id"))
    op.drop_table("member_exports")
    with op.batch_alter_table("sync_settings", schema=None) as batch_op:
        batch_op.drop_column("default_earnings_rate_id")
        batch_op.drop_column("default_payroll_calendar_id")
        batch_op.drop_column("auto_sync_new_members")
