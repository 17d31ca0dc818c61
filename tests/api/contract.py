"""What the schemathesis tests share: the app and its schema, the role each operation is called
as, and the database they call it on (the ``population`` fixture, in ``conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.schemas import BaseSchema

from api.access import api_routes, declared
from api.app import create_app
from core.db import unit_of_work
from marketplace.accounts import service as accounts_service
from marketplace.accounts.models import Role
from marketplace.households.models import ProtectedCategory
from tests import factories as f
from tests.api.accounts import bearer, fresh_token, one_per_role
from tests.conftest import module_database

APP = create_app()
# Prefer the role that owns the population's objects, so calls get past 404.
PREFERRED = (Role.HOUSEHOLD, Role.PROVIDER_ADMIN, Role.WORKER, Role.ADMIN, Role.DISPATCHER)


def _admitted() -> dict[tuple[str, str], tuple[Role, ...]]:
    found: dict[tuple[str, str], tuple[Role, ...]] = {}
    for method, route in api_routes(APP.routes):
        access = declared(route)
        assert access is not None
        ranked = [r for r in PREFERRED if r in access.roles] + sorted(access.roles - set(PREFERRED))
        found[(method, route.path or "")] = tuple(ranked)
    return found


ADMITTED = _admitted()


def load_schema(config: dict[str, Any] | None = None) -> BaseSchema:
    """The app's OpenAPI document as schemathesis reads it, less the worker's health (it needs
    a running Celery worker, which tests/api/test_serve_e2e.py has; here it answers 503)."""
    loaded = schemathesis.openapi.from_asgi(
        "/openapi.json",
        APP,
        config=None if config is None else SchemathesisConfig.from_dict(config),
    )
    return loaded.exclude(path="/health/worker")


def signed_in(case: Any, tokens: dict[Role, str]) -> dict[str, str]:
    """The case's headers, signed in (with a new token) as the first role its operation
    admits; public operations keep them as they are."""
    headers = dict(case.headers or {})
    roles = ADMITTED.get((case.method.upper(), case.path), ())
    if roles:
        headers.update(bearer(fresh_token(tokens[roles[0]])))
    return headers


def revive(tokens: dict[Role, str]) -> None:
    """Enable the population's accounts again (a run may have disabled them through the API)."""
    with unit_of_work() as session:
        for public_id in tokens.values():
            account = accounts_service.get_by_public_id_or_raise(session, public_id)
            if not account.active:
                accounts_service.set_active(session, account, True)


def populate(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[Role, str]]:
    """A database of the fixture's backend: one household (with an order and an approved
    status), a proxy, a provider with a worker and another household's order, and an account
    per role; yields the accounts' public ids by role."""
    with module_database(str(request.param), request, tmp_path_factory):
        with unit_of_work() as session:
            _, member = f.make_household(session)
            provider = f.make_provider(session)
            worker = f.make_worker(session, provider=provider)
            f.make_order(session, provider=provider)
            f.make_order(session, provider=provider, member=member)
            f.grant_status(session, member, ProtectedCategory.DIBAO)
            made = one_per_role(session, "st", member, worker, civil_affairs=True)
            # Long-lived for the run; logout-everywhere is called with fresh ones (signed_in).
            tokens: dict[Role, str] = {role: a.public_id for role, a in made.items()}
        yield tokens
