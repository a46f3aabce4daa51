"""contacts as tasks: the "Xero" project per organisation, a task's client, members
unassigned from a task

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 22:40:13.491357
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledgerbridge.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_unassignments",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", ledgerbridge.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ledgerbridge.db.UTCDateTime(), nullable=False),
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_task_unassignments_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_unassignments_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_task_unassignments_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_unassignments")),
        sa.UniqueConstraint("task_id", "member_id", name=op.f("uq_task_unassignments_task_id_member_id")),
    )
    with op.batch_alter_table("task_unassignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_unassignments_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_task_unassignments_task_id"), ["task_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_task_unassignments_workspace_id"), ["workspace_id"], unique=False
        )

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("xero_connection_id", sa.String(length=36), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_projects_xero_connection_id"), ["xero_connection_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_projects_xero_connection_id_xero_connections"),
            "xero_connections",
            ["xero_connection_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_tasks_client_id"), ["client_id"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_tasks_project_id_client_id"), ["project_id", "client_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tasks_client_id_clients"), "clients", ["client_id"], ["id"], ondelete="RESTRICT"
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tasks_client_id_clients"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_tasks_project_id_client_id"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_tasks_client_id"))
        batch_op.drop_column("client_id")

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_projects_xero_connection_id_xero_connections"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_projects_xero_connection_id"), type_="unique")
        batch_op.drop_column("xero_connection_id")

    with op.batch_alter_table("task_unassignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_unassignments_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_task_unassignments_task_id"))
        batch_op.drop_index(batch_op.f("ix_task_unassignments_member_id"))

    op.drop_table("task_unassignments")
