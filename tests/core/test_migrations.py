"""Migrations upgrade an empty database to head and downgrade back, on both databases."""

from __future__ import annotations

from sqlalchemy import inspect

from api import dbadmin
from core.db import make_engine


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_from_empty_then_downgrade_to_base(db_url: str) -> None:
    # The fixture's database is already at head; go down to nothing and back up.
    assert dbadmin.current_revision(url=db_url) == dbadmin.head_revision()
    assert "service_order" in _tables(db_url)

    dbadmin.downgrade(db_url, "base")
    assert dbadmin.current_revision(url=db_url) is None
    assert _tables(db_url) == set()

    dbadmin.upgrade(db_url, "head")
    assert dbadmin.current_revision(url=db_url) == dbadmin.head_revision()
    assert {"service_order", "worker_booking", "visit", "household"} <= _tables(db_url)


def test_models_match_migrations(db_url: str) -> None:
    """Autogenerate finds nothing to add: the migrations describe exactly the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from migrations.metadata import metadata

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, metadata)
    finally:
        engine.dispose()
    assert diff == []
