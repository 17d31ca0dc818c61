"""schemathesis over every operation of the OpenAPI document: no 5xx, no status the operation
does not declare, no response that breaks its schema, no wrong content type, invalid input
refused.

Each operation is called with the token of a role it admits (read from the route's access
declaration), on a database holding one household, a proxy, a provider with a worker and an
order, so ids from the fixtures reach past 404 where schemathesis uses them. Examples per
operation are bounded (``LINLI_TEST_SCHEMATHESIS_EXAMPLES``, default 25) so CI stays short.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from sqlalchemy import text

from api.access import api_routes, declared
from api.app import create_app
from core.db import dispose_engines, unit_of_work
from core.settings import get_settings
from marketplace.accounts.models import Role
from tests import factories as f
from tests.api.accounts import bearer, fresh_token, one_per_role
from tests.conftest import BACKENDS, _pg_admin, _pg_url

EXAMPLES = int(os.environ.get("LINLI_TEST_SCHEMATHESIS_EXAMPLES", "25"))
APP = create_app()
# The worker's health needs a running Celery worker (tests/api/test_serve_e2e.py has one); here
# it would answer 503 by design.
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(path="/health/worker")
ADMITTED: dict[tuple[str, str], tuple[Role, ...]] = {}
for method, route in api_routes(APP.routes):
    access = declared(route)
    assert access is not None
    # Prefer the role that owns the fixtures' objects, so calls get past 404.
    order = (Role.HOUSEHOLD, Role.PROVIDER_ADMIN, Role.WORKER, Role.ADMIN, Role.DISPATCHER)
    ranked = [r for r in order if r in access.roles] + sorted(access.roles - set(order))
    ADMITTED[(method, route.path or "")] = tuple(ranked)


@pytest.fixture(scope="module", params=BACKENDS)
def population(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[Role, str]]:
    """A database for the whole module, with one account per role; their tokens."""
    backend = str(request.param)
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("schemathesis") / "db.sqlite3"
        shutil.copyfile(template, path)
        url = f"sqlite:///{path}"
        drop = None
    else:
        template_name: str = request.getfixturevalue("pg_template")
        name = f"linli_st_{uuid.uuid4().hex[:12]}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
        admin.dispose()
        url, drop = _pg_url(name), name
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LINLI_DATABASE_URL", url)
        patch.setenv("LINLI_DATA_DIR", str(tmp_path_factory.mktemp("schemathesis-var")))
        get_settings.cache_clear()
        dispose_engines()
        with unit_of_work() as session:
            _, member = f.make_household(session)
            provider = f.make_provider(session)
            worker = f.make_worker(session, provider=provider)
            f.make_order(session, provider=provider)
            made = one_per_role(session, "st", member, worker, civil_affairs=True)
            # Long-lived for the run; logout-everywhere is called with fresh ones below.
            tokens: dict[Role, str] = {role: a.public_id for role, a in made.items()}
        yield tokens
        dispose_engines()
        get_settings.cache_clear()
    if drop is not None:
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))
        admin.dispose()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_api_keeps_its_contract(case: Any, population: dict[Role, str]) -> None:
    roles = ADMITTED.get((case.method.upper(), case.path), ())
    headers = dict(case.headers or {})
    if roles:
        headers.update(bearer(fresh_token(population[roles[0]])))
    # Business rules (a window's end after its start, a date not in the past) refuse some
    # schema-valid bodies with 422 by design, so "valid data is accepted" is not checked.
    case.call_and_validate(headers=headers, excluded_checks=[checks.positive_data_acceptance])
