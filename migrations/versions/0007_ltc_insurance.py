"""long-term-care insurance: members' benefits and the insurer's share of an order

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 10:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import core.dbtypes

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ltc_entitlement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column(
            "service_classes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("share_percent", sa.Integer(), nullable=False),
        sa.Column("monthly_limit_fen", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", core.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_ltc_entitlement_dates")
        ),
        sa.CheckConstraint(
            "share_percent > 0 AND share_percent <= 100", name=op.f("ck_ltc_entitlement_share")
        ),
        sa.CheckConstraint("monthly_limit_fen >= 0", name=op.f("ck_ltc_entitlement_limit")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_ltc_entitlement_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ltc_entitlement")),
    )
    with op.batch_alter_table("ltc_entitlement") as batch:
        batch.create_index(batch.f("ix_ltc_entitlement_member_id"), ["member_id"], unique=False)

    with op.batch_alter_table("service_order") as batch:
        batch.add_column(sa.Column("ltc_fen", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint(batch.f("ck_service_order_price_adds_up"), type_="check")
        batch.create_check_constraint(
            "price_adds_up", "copay_fen + subsidy_fen + ltc_fen = list_price_fen"
        )


def downgrade() -> None:
    with op.batch_alter_table("service_order") as batch:
        batch.drop_constraint(batch.f("ck_service_order_price_adds_up"), type_="check")
        batch.create_check_constraint("price_adds_up", "copay_fen + subsidy_fen = list_price_fen")
        batch.drop_column("ltc_fen")
    with op.batch_alter_table("ltc_entitlement") as batch:
        batch.drop_index(batch.f("ix_ltc_entitlement_member_id"))
    op.drop_table("ltc_entitlement")
