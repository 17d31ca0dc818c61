"""The authorization matrix, generated from the application's route table.

Every route must declare its access (``api.access.allow`` or ``public``): a new route without a
declaration fails here. For every declared route and every role, a request signed in as that
role is refused with 403 exactly when the role is not admitted, and never with 401; public
routes answer without a token. (The own-versus-someone-else's-object dimension is tested per
router with real objects.)
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import RouteContext
from fastapi.testclient import TestClient

from api.access import api_routes, declared
from api.app import create_app
from core.db import unit_of_work
from marketplace.accounts.models import Role, UserAccount
from tests import factories as f
from tests.api.accounts import bearer, fresh_token, one_per_role

APP = create_app()
ROUTES = api_routes(APP.routes)
# Routes whose handler needs a running worker or takes long whatever the caller: the role check
# is proven by the routes beside them; they are still required to declare access above.
SLOW = {("GET", "/health/worker")}


def _id(item: tuple[str, RouteContext]) -> str:
    return f"{item[0]} {item[1].path}"


@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[_id(r) for r in ROUTES])
def test_every_route_declares_its_access(method: str, route: RouteContext) -> None:
    assert declared(route) is not None, f"{method} {route.path} declares no access rule"


def _accounts() -> dict[Role, UserAccount]:
    """One account per role, each tied to objects of its own."""
    with unit_of_work() as session:
        _, member = f.make_household(session)
        worker = f.make_worker(session, provider=f.make_provider(session))
        return one_per_role(session, "matrix", member, worker)


@pytest.fixture
def accounts_by_role(configured: str) -> dict[Role, str]:
    """Each role's account, by public id."""
    return {role: account.public_id for role, account in _accounts().items()}


def _path(route: RouteContext) -> str:
    """The route's path with every parameter filled by a syntactically valid made-up id."""
    return re.sub(r"\{[^}]+\}", "x_made_up_0000000000000000", route.path or "")


def test_roles_are_admitted_exactly_as_declared(accounts_by_role: dict[Role, str]) -> None:
    client = TestClient(APP, raise_server_exceptions=False)
    wrong: list[str] = []
    for method, route in ROUTES:
        if (method, route.path) in SLOW:
            continue
        access = declared(route)
        assert access is not None
        if access.public:
            status = client.request(method, _path(route)).status_code
            if status in (401, 403):
                wrong.append(f"{method} {route.path} public but {status} without a token")
            continue
        anonymous = client.request(method, _path(route)).status_code
        if anonymous != 401:
            wrong.append(f"{method} {route.path}: {anonymous} without a token, not 401")
        for role, public_id in accounts_by_role.items():
            headers = bearer(fresh_token(public_id))
            status = client.request(method, _path(route), headers=headers).status_code
            admitted = role in access.roles
            if status >= 500:
                wrong.append(f"{method} {route.path} as {role.value}: {status}")
            elif admitted and status in (401, 403):
                wrong.append(f"{method} {route.path} as {role.value}: {status}, admitted")
            elif not admitted and status != 403:
                wrong.append(f"{method} {route.path} as {role.value}: {status}, not 403")
    assert not wrong, "\n".join(wrong)
