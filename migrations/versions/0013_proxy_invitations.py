"""proxy invitations: a relative signs up as a family proxy with a one-time code

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import core.dbtypes


revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("family_proxy", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("invitation_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "invitation_expires_at", core.dbtypes.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("family_proxy", schema=None) as batch_op:
        batch_op.drop_column("invitation_expires_at")
        batch_op.drop_column("invitation_hash")
