"""Active bookings of one worker may not overlap (exclusion constraint / triggers).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OVERLAP = (
    "SELECT 1 FROM worker_booking b WHERE b.worker_id = NEW.worker_id AND b.active "
    "AND b.starts_at < NEW.ends_at AND b.ends_at > NEW.starts_at"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE worker_booking ADD CONSTRAINT ex_worker_booking_no_overlap "
            "EXCLUDE USING gist (worker_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            "WHERE (active)"
        )
        return
    # SQLite has no exclusion constraints. Triggers check under BEGIN IMMEDIATE, which
    # serialises writers, so the check and the insert cannot interleave with another writer.
    op.execute(
        "CREATE TRIGGER worker_booking_no_overlap_insert BEFORE INSERT ON worker_booking "
        f"WHEN NEW.active AND EXISTS ({_OVERLAP}) "
        "BEGIN SELECT RAISE(ABORT, 'ex_worker_booking_no_overlap: worker already booked'); END"
    )
    op.execute(
        "CREATE TRIGGER worker_booking_no_overlap_update BEFORE UPDATE OF "
        "worker_id, starts_at, ends_at, active ON worker_booking "
        f"WHEN NEW.active AND EXISTS ({_OVERLAP} AND b.id != NEW.id) "
        "BEGIN SELECT RAISE(ABORT, 'ex_worker_booking_no_overlap: worker already booked'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE worker_booking DROP CONSTRAINT ex_worker_booking_no_overlap")
        return
    op.execute("DROP TRIGGER worker_booking_no_overlap_update")
    op.execute("DROP TRIGGER worker_booking_no_overlap_insert")
