"""Database engines and sessions: SQLite (WAL, immediate writers) or PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, SQLModel, col, select

from core.settings import get_settings

M = TypeVar("M", bound=SQLModel)
SQLITE_BUSY_TIMEOUT_S = 30
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is
        # deferred and breaks SAVEPOINT); every transaction then takes the write lock up front,
        # so concurrent writers queue on busy_timeout instead of failing on lock upgrade.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """A new engine for ``url`` with Linli's per-dialect settings."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def get_engine(url: str | None = None) -> Engine:
    """The shared engine for ``url`` (default: the configured database)."""
    settings = get_settings()
    key = url or settings.resolved_database_url
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = make_engine(key, echo=settings.sql_echo)
            _engines[key] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, forks)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises.

    This is the edge: request dependencies, tasks and CLI commands use it; services only flush.
    """
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_only(engine: Engine | None = None) -> Iterator[Session]:
    """A session for reads only, always rolled back: a deferred transaction on SQLite, a
    REPEATABLE READ one on PostgreSQL, so every query of it sees the same snapshot (a verifier
    walking the ledger in batches must not see entries committed half-way)."""
    eng = engine or get_engine()
    with eng.connect() as conn:
        if eng.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        conn = conn.execution_options(sqlite_begin="DEFERRED")
        with Session(bind=conn) as session:
            try:
                yield session
            finally:
                session.rollback()


def get_many(session: Session, model: type[M], ids: Collection[int]) -> dict[int, M]:
    """The rows of ``model`` with these ids, by id (missing ids are left out): those the
    session already holds, and the rest in one ``IN`` query."""
    found: dict[int, M] = {}
    missing: set[int] = set()
    for row_id in ids:
        held = session.identity_map.get(identity_key(model, row_id))
        if held is not None and not inspect(held).expired_attributes:
            found[row_id] = held
        else:
            missing.add(row_id)
    if missing:
        key = col(getattr(model, "id"))  # noqa: B009 - every table here has an integer id
        for row in session.exec(select(model).where(key.in_(sorted(missing)))).all():
            found[getattr(row, "id")] = row  # noqa: B009
    return found


def ping(engine: Engine | None = None) -> str:
    """Run ``SELECT 1``; return the dialect name."""
    eng = engine or get_engine()
    with eng.connect() as conn:
        conn.execute(text("SELECT 1"))
    return eng.dialect.name
