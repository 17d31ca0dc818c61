"""Shared fixtures: every database test runs on SQLite and on the real PostgreSQL.

Set ``LINLI_TEST_BACKENDS=sqlite`` to run the SQLite half only (it is never skipped silently:
an unreachable PostgreSQL or Redis fails the run unless it was left out on purpose).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from api.dbadmin import upgrade
from core.db import dispose_engines, make_engine
from core.settings import get_settings

PG_ADMIN_URL = os.environ.get(
    "LINLI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LINLI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = [
    b.strip() for b in os.environ.get("LINLI_TEST_BACKENDS", "sqlite,postgresql").split(",")
]


def _pg_admin() -> Engine:
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def _pg_url(database: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied for each test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    dispose_engines()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated to head, used as the template for each test's copy."""
    name = f"linli_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(_pg_url(name))
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for this test (a copy of the session's template)."""
    with database_copy(backend, request, tmp_path) as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on this test's database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on this test's database; tests flush or commit as the edge would."""
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def configured(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """Point the application's settings at this test's database (for API and CLI tests)."""
    monkeypatch.setenv("LINLI_DATABASE_URL", db_url)
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    dispose_engines()
    yield db_url
    dispose_engines()
    get_settings.cache_clear()


@contextmanager
def database_copy(backend: str, request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    """A migrated database of ``backend`` (a copy of the session's template, in ``folder`` for
    SQLite), dropped afterwards: for fixtures wider than one test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = folder / "db.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("pg_template")
    name = f"linli_t_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    try:
        yield _pg_url(name)
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def module_database(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database for a whole module, the application's settings pointed at it."""
    with (
        database_copy(backend, request, tmp_path_factory.mktemp("module-db")) as url,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("LINLI_DATABASE_URL", url)
        patch.setenv("LINLI_DATA_DIR", str(tmp_path_factory.mktemp("module-var")))
        get_settings.cache_clear()
        dispose_engines()
        try:
            yield url
        finally:
            dispose_engines()
            get_settings.cache_clear()


# --- Celery brokers ------------------------------------------------------------------------
# Tests that run a real worker do so on the embedded broker (kombu's sqla+sqlite transport with
# a db+sqlite result backend, no server) and on the machine's Redis. Redis belongs to the
# production half: it is left out only when LINLI_TEST_BACKENDS leaves out PostgreSQL (or names
# "redis" explicitly); otherwise an unreachable Redis fails the test, it is never skipped.

BROKERS = ["embedded"] + (["redis"] if {"postgresql", "redis"} & set(BACKENDS) else [])


def redis_url(db: int) -> str:
    """The test Redis (``LINLI_TEST_REDIS_URL``) on another logical database."""
    return make_url(REDIS_URL).set(database=str(db)).render_as_string(hide_password=False)


def require_redis(url: str) -> None:
    """Fail (never skip) when the test Redis does not answer."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(
            f"Redis at {url} is unreachable ({exc!r}); start it, or set "
            "LINLI_TEST_BACKENDS=sqlite to leave the Redis half out"
        )
    finally:
        client.close()


@pytest.fixture(params=BROKERS)
def broker(request: pytest.FixtureRequest) -> str:
    """The Celery broker under test: "embedded" or "redis"."""
    name = str(request.param)
    if name == "redis":
        require_redis(REDIS_URL)
    return name
