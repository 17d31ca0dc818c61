"""reference policy as the first stored version; provider tariffs

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 08:28:58.394800
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.dbtypes
from core.timeutil import utcnow
from pricing.policy import policy_to_dict, reference_policy

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATED_BY = "migration"

subsidy_policy = sa.table(
    "subsidy_policy",
    sa.column("version", sa.String()),
    sa.column("effective_from", sa.Date()),
    sa.column("document", core.dbtypes.PortableJSON),
    sa.column("created_by", sa.String()),
    sa.column("created_at", core.dbtypes.UTCDateTime()),
)


def upgrade() -> None:
    op.create_table(
        "provider_tariff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("unit_price_fen", sa.Integer(), nullable=False),
        sa.Column("night_percent", sa.Integer(), nullable=False),
        sa.Column("holiday_percent", sa.Integer(), nullable=False),
        sa.Column("urgent_percent", sa.Integer(), nullable=False),
        sa.Column("radius_m", sa.Integer(), nullable=False),
        sa.Column("per_km_fen", sa.Integer(), nullable=False),
        sa.Column("created_at", core.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "night_percent BETWEEN 0 AND 300 AND holiday_percent BETWEEN 0 AND 300 "
            "AND urgent_percent BETWEEN 0 AND 300",
            name=op.f("ck_provider_tariff_surcharge_percents"),
        ),
        sa.CheckConstraint(
            "radius_m >= 0 AND per_km_fen >= 0", name=op.f("ck_provider_tariff_distance_surcharge")
        ),
        sa.CheckConstraint("unit_price_fen > 0", name=op.f("ck_provider_tariff_positive_price")),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_provider_tariff_item_id_item")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["provider.id"], name=op.f("fk_provider_tariff_provider_id_provider")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_tariff")),
        sa.UniqueConstraint(
            "provider_id", "item_id", name=op.f("uq_provider_tariff_provider_id_item_id")
        ),
    )
    with op.batch_alter_table("provider_tariff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_tariff_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_provider_tariff_provider_id"), ["provider_id"], unique=False
        )

    reference = reference_policy()
    op.bulk_insert(
        subsidy_policy,
        [
            {
                "version": reference.version,
                "effective_from": reference.effective_from,
                "document": policy_to_dict(reference),
                "created_by": CREATED_BY,
                "created_at": utcnow(),
            }
        ],
    )


# subsidy_policy is append-only (migration 0005): the downgrade lifts the delete guard for its
# one DELETE and puts it back, exactly as 0005 made it.
_MESSAGE = "subsidy_policy is append-only: rows are never updated or deleted"


def _delete_reference_row() -> None:
    delete = sa.text("DELETE FROM subsidy_policy WHERE version = :v AND created_by = :by")
    params = {"v": reference_policy().version, "by": CREATED_BY}
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER subsidy_policy_append_only ON subsidy_policy")
        op.get_bind().execute(delete, params)
        op.execute(
            "CREATE TRIGGER subsidy_policy_append_only BEFORE UPDATE OR DELETE ON subsidy_policy "
            "FOR EACH ROW EXECUTE FUNCTION subsidy_policy_append_only()"
        )
        return
    op.execute("DROP TRIGGER subsidy_policy_no_delete")
    op.get_bind().execute(delete, params)
    op.execute(
        "CREATE TRIGGER subsidy_policy_no_delete BEFORE DELETE ON subsidy_policy "
        f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
    )


def downgrade() -> None:
    _delete_reference_row()
    with op.batch_alter_table("provider_tariff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_tariff_provider_id"))
        batch_op.drop_index(batch_op.f("ix_provider_tariff_item_id"))

    op.drop_table("provider_tariff")
