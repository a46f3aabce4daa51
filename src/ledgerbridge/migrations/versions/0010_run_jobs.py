"""runs know the job that runs them (sync_runs.job_id), so a run whose worker stopped is
closed instead of staying "running"; open issues are found per record

Revision ID: 0010_run_jobs
Revises: 0009
Create Date: 2026-12-03 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_run_jobs"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_sync_runs_job_id"), ["job_id"], unique=False)
    op.create_index(
        "ix_sync_issues_open_record", "sync_issues", ["connection_id", "record_type", "local_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_sync_issues_open_record", table_name="sync_issues")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_runs_job_id"))
        batch_op.drop_column("job_id")
