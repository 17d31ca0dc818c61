"""queued audit runs: a run requested over HTTP waits for a worker

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import core.dbtypes


revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_run", schema=None) as batch_op:
        # Runs before this revision all ran at once: they are done.
        batch_op.add_column(
            sa.Column("status", sa.String(length=12), nullable=False, server_default="done")
        )
        batch_op.add_column(
            sa.Column(
                "only_rules",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
                nullable=False,
                server_default="[]",
            )
        )
        batch_op.add_column(
            sa.Column("queued_at", core.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.alter_column(
            "started_at", existing_type=core.dbtypes.UTCDateTime(timezone=True), nullable=True
        )
        batch_op.create_index(batch_op.f("ix_audit_run_status"), ["status"], unique=False)


def downgrade() -> None:
    # A run that never started gets its queueing time, so the column can be NOT NULL again.
    op.execute("UPDATE audit_run SET started_at = queued_at WHERE started_at IS NULL")
    op.execute("DELETE FROM audit_run WHERE started_at IS NULL")
    with op.batch_alter_table("audit_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_run_status"))
        batch_op.alter_column(
            "started_at", existing_type=core.dbtypes.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.drop_column("error")
        batch_op.drop_column("attempts")
        batch_op.drop_column("queued_at")
        batch_op.drop_column("only_rules")
        batch_op.drop_column("status")
