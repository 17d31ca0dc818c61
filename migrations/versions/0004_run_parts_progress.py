"""solve runs count their parallel parts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("solve_run") as batch:
        batch.add_column(sa.Column("parts_total", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("parts_done", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("solve_run") as batch:
        batch.drop_column("parts_done")
        batch.drop_column("parts_total")
