"""payroll timesheets: mappings to Payroll AU and the record of timesheets sent

Revision ID: 0005
Revises: 0004 (chained after 0004, time invoicing, which was committed meanwhile; check
         when merging)
Create Date: 2026-11-21 22:14:56.033043
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledgerbridge.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payroll_mappings",
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "member", "work_type", "project", "task", name="mappingkind", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("local_id", sa.String(length=36), nullable=False),
        sa.Column("xero_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", ledgerbridge.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ledgerbridge.db.UTCDateTime(), nullable=False),
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["xero_connections.id"],
            name=op.f("fk_payroll_mappings_connection_id_xero_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_payroll_mappings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payroll_mappings")),
        sa.UniqueConstraint(
            "connection_id", "kind", "local_id", name=op.f("uq_payroll_mappings_connection_id_kind_local_id")
        ),
    )
    with op.batch_alter_table("payroll_mappings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payroll_mappings_connection_id"), ["connection_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_payroll_mappings_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "timesheet_exports",
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("employee_name", sa.String(length=255), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("sending", "sent", "failed", name="exportstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("xero_status", sa.String(length=20), nullable=False),
        sa.Column("timesheet_id", sa.String(length=64), nullable=True),
        sa.Column("hours", ledgerbridge.db.DecimalType(2), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
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
            name=op.f("fk_timesheet_exports_connection_id_xero_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_timesheet_exports_member_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_timesheet_exports_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timesheet_exports")),
        sa.UniqueConstraint(
            "connection_id",
            "employee_id",
            "period_start",
            "period_end",
            name=op.f("uq_timesheet_exports_connection_id_employee_id_period_start_period_end"),
        ),
    )
    with op.batch_alter_table("timesheet_exports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_timesheet_exports_connection_id"), ["connection_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_timesheet_exports_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_timesheet_exports_workspace_id"), ["workspace_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("timesheet_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timesheet_exports_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_timesheet_exports_member_id"))
        batch_op.drop_index(batch_op.f("ix_timesheet_exports_connection_id"))

    op.drop_table("timesheet_exports")
    with op.batch_alter_table("payroll_mappings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payroll_mappings_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_payroll_mappings_connection_id"))

    op.drop_table("payroll_mappings")
