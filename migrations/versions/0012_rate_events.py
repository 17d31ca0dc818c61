"""rate events: throttles on wrong confirmation codes and registrations

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 14:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import core.dbtypes


revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("at", core.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_event")),
    )
    with op.batch_alter_table("rate_event", schema=None) as batch_op:
        batch_op.create_index("ix_rate_event_key_at", ["key", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rate_event", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_event_key_at")
    op.drop_table("rate_event")
