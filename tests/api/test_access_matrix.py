"""The authorization matrix, generated from the application's route table.

Every route must declare its access (``api.access.allow`` or ``public``): a new route without a
declaration fails here. For every declared route and every role, a request signed in as that
role is refused with 403 exactly when the role is not admitted, and never with 401; public
routes answer without a token.

For every route with path parameters and every account it admits, the route is called with the
parameters of the account's own objects (side A) and of someone else's (side B): the own object
is never 401, 403 or 404; someone else's is 404 (ownership hides it) and left unchanged, unless
the account sees every object of that kind (``SEES``). A route whose owner, a path parameter or
a body has no entry below fails, so a new route or a new kind of object needs a rule.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any

import pytest
from fastapi.routing import APIRoute, RouteContext
from fastapi.testclient import TestClient

from api.access import Owner, api_routes, declared
from api.app import create_app
from marketplace.accounts.models import Role
from tests.api.accounts import bearer, fresh_token
from tests.api.matrix_world import (
    ROLE_OF,
    Persona,
    World,
    build_world,
    states,
    values,
)
from tests.conftest import BACKENDS, module_database

APP = create_app()
ROUTES = api_routes(APP.routes)
# Routes whose handler needs a running worker or takes long whatever the caller: the role check
# is proven by the routes beside them; they are still required to declare access above.
SLOW = {("GET", "/health/worker")}
HIDDEN = 404  # someone else's object: ``api.ownership`` answers NotFound
REFUSED = (401, 403, 404)  # never for an object the account may see


class Sees(StrEnum):
    """How much of one kind of object an account sees."""

    OWN = "own"  # its own only: someone else's is HIDDEN
    ALL = "all"  # every one, whoever's it is


P = Persona
SEES: dict[tuple[Owner, Persona], Sees] = {
    (Owner.HOUSEHOLD, P.HOUSEHOLD): Sees.OWN,
    (Owner.MEMBER, P.HOUSEHOLD): Sees.OWN,
    (Owner.MEMBER, P.PROXY): Sees.OWN,  # the elders who named its phone
    (Owner.MEMBER, P.AUDITOR): Sees.ALL,  # read only, logged
    (Owner.MEMBER, P.CIVIL_AFFAIRS_AUDITOR): Sees.ALL,
    (Owner.MEMBER, P.ADMIN): Sees.ALL,
    (Owner.ORDER, P.HOUSEHOLD): Sees.OWN,
    (Owner.ORDER, P.PROXY): Sees.OWN,
    (Owner.ORDER, P.PROVIDER_ADMIN): Sees.OWN,
    (Owner.ORDER, P.PROVIDER_DISPATCHER): Sees.OWN,
    (Owner.ORDER, P.WORKER): Sees.OWN,  # booked to it
    (Owner.ORDER, P.PLATFORM_DISPATCHER): Sees.ALL,
    (Owner.ORDER, P.AUDITOR): Sees.ALL,  # subsidised ones: both sides' orders are
    (Owner.ORDER, P.CIVIL_AFFAIRS_AUDITOR): Sees.ALL,
    (Owner.ORDER, P.ADMIN): Sees.ALL,
    (Owner.PROVIDER, P.PROVIDER_ADMIN): Sees.OWN,
    (Owner.PROVIDER, P.PROVIDER_DISPATCHER): Sees.OWN,
    (Owner.PROVIDER, P.PLATFORM_DISPATCHER): Sees.ALL,
    (Owner.PROVIDER, P.AUDITOR): Sees.ALL,
    (Owner.PROVIDER, P.CIVIL_AFFAIRS_AUDITOR): Sees.ALL,
    (Owner.PROVIDER, P.ADMIN): Sees.ALL,
    (Owner.WORKER, P.WORKER): Sees.OWN,  # itself
    (Owner.WORKER, P.PROVIDER_ADMIN): Sees.OWN,
    (Owner.WORKER, P.PROVIDER_DISPATCHER): Sees.OWN,
    (Owner.WORKER, P.PLATFORM_DISPATCHER): Sees.ALL,
    (Owner.WORKER, P.AUDITOR): Sees.ALL,
    (Owner.WORKER, P.CIVIL_AFFAIRS_AUDITOR): Sees.ALL,
    (Owner.WORKER, P.ADMIN): Sees.ALL,
    (Owner.RUN, P.PROVIDER_DISPATCHER): Sees.OWN,  # runs its provider's dispatchers started
    (Owner.RUN, P.PLATFORM_DISPATCHER): Sees.ALL,
    (Owner.RUN, P.ADMIN): Sees.ALL,
    (Owner.FINDING, P.AUDITOR): Sees.ALL,
    (Owner.FINDING, P.CIVIL_AFFAIRS_AUDITOR): Sees.ALL,
    (Owner.FINDING, P.ADMIN): Sees.ALL,
    (Owner.EXPORT, P.AUDITOR): Sees.ALL,
    (Owner.EXPORT, P.CIVIL_AFFAIRS_AUDITOR): Sees.ALL,
    (Owner.EXPORT, P.ADMIN): Sees.ALL,
    (Owner.AUDIT_RUN, P.AUDITOR): Sees.ALL,
    (Owner.AUDIT_RUN, P.CIVIL_AFFAIRS_AUDITOR): Sees.ALL,
    (Owner.AUDIT_RUN, P.ADMIN): Sees.ALL,
    (Owner.ACCOUNT, P.ADMIN): Sees.ALL,
}
"""Whose objects of a kind (the route's declared owner) each account sees."""

ROUTE_SEES: dict[tuple[str, str], Sees] = {
    # The provider directory: every signed-in account reads an active provider.
    ("GET", "/providers/{provider_id}"): Sees.ALL,
}
"""Routes that see more (or less) than their owner's rule, for every account they admit."""

Body = Callable[[dict[str, str]], dict[str, Any]]
WINDOW = {"starts_at": "2026-12-09T14:00:00+08:00", "ends_at": "2026-12-09T17:00:00+08:00"}
GPS = {"method": "gps", "lat": 26.08, "lon": 119.30, "accuracy_m": 10}
BODIES: dict[tuple[str, str], tuple[tuple[str, ...], Body]] = {
    ("POST", "/audit/findings/{finding_id}/review"): (
        (),
        lambda v: {"to": "confirmed", "reason": "unqualified_worker"},
    ),
    ("POST", "/dispatch/runs/{run_id}/urgent"): (("order_id",), lambda v: {"order": v["order_id"]}),
    ("POST", "/me/visits/{order_id}/check-in"): ((), lambda v: GPS),
    ("POST", "/me/visits/{order_id}/check-out"): ((), lambda v: {**GPS, "tasks_done": []}),
    ("POST", "/visits/{order_id}/confirm"): ((), lambda v: {"code": "000000"}),
    ("PUT", "/members/{member_id}/preferences"): ((), lambda v: {"caregiver_gender": "female"}),
    ("POST", "/members/{member_id}/protected-statuses"): (
        (),
        lambda v: {"category": "youfu", "valid_from": "2026-01-01"},
    ),
    ("POST", "/members/{member_id}/proxies"): (
        (),
        lambda v: {"name": "林女", "phone": f"137{uuid.uuid4().int % 10**8:08d}", "relation": "d"},
    ),
    ("POST", "/orders/{order_id}/cancel"): ((), lambda v: {"reason": "matrix"}),
    ("POST", "/orders/{order_id}/rating"): ((), lambda v: {"stars": 5}),
    ("POST", "/orders/{order_id}/reschedule"): (
        (),
        lambda v: {"service_date": "2026-12-09", "windows": [WINDOW], "reason": "matrix"},
    ),
    ("PUT", "/providers/{provider_id}/tariffs/{item_code}"): (
        (),
        lambda v: {"unit_price_fen": 9000},
    ),
    ("POST", "/providers/{provider_id}/workers"): (
        (),
        lambda v: {"name": "赵师傅", "gender": "male", "start_lat": 26.08, "start_lon": 119.3},
    ),
    ("POST", "/workers/{worker_id}/certificates"): (
        (),
        lambda v: {"kind": "health_certificate", "number": "HC-1", "issued_on": "2026-01-05"},
    ),
    ("POST", "/workers/{worker_id}/shift-exceptions"): (
        (),
        lambda v: {"on_date": "2026-12-09", "kind": "leave"},
    ),
    ("PUT", "/workers/{worker_id}/shifts"): ((), lambda v: {"shifts": []}),
    ("PUT", "/workers/{worker_id}/skills/{skill}"): ((), lambda v: {"level": 3}),
}
"""A body good enough to reach the handler's ownership check, per route with a body: the
values it names (besides the path's), and the body made from the side's values."""

QUERIES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/dispatch/runs/{run_id}/events"): {"timeout_s": 1},
}
"""Query parameters some routes need (or should have) to answer at once."""


def _id(item: tuple[str, RouteContext]) -> str:
    return f"{item[0]} {item[1].path}"


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """Two of everything on one database for the module, per backend."""
    with module_database(str(request.param), request, tmp_path_factory):
        yield build_world()


@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[_id(r) for r in ROUTES])
def test_every_route_declares_its_access(method: str, route: RouteContext) -> None:
    assert declared(route) is not None, f"{method} {route.path} declares no access rule"


def _path(route: RouteContext) -> str:
    """The route's path with every parameter filled by a syntactically valid made-up id."""
    return re.sub(r"\{[^}]+\}", "x_made_up_0000000000000000", route.path or "")


def test_roles_are_admitted_exactly_as_declared(world: World) -> None:
    accounts_by_role = {ROLE_OF[p]: public_id for p, public_id in world.personas.items()}
    assert set(accounts_by_role) == set(Role)
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


PATH_PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
OBJECT_ROUTES = [
    (method, route)
    for method, route in ROUTES
    if PATH_PARAMETER.search(route.path or "") and (method, route.path) not in SLOW
]


def _call(
    client: TestClient,
    method: str,
    route: RouteContext,
    persona_id: str,
    found: dict[str, str],
) -> tuple[int, str]:
    path = PATH_PARAMETER.sub(lambda m: found[m.group(1)], route.path or "")
    key = (method, route.path or "")
    body = BODIES[key][1](found) if key in BODIES else None
    headers = bearer(fresh_token(persona_id), uuid.uuid4().hex)
    got = client.request(method, path, json=body, params=QUERIES.get(key), headers=headers)
    return got.status_code, got.text[:200]


def _rules(method: str, route: RouteContext) -> tuple[Owner, list[str], dict[Persona, Sees]]:
    """The route's owner, path-parameter names and each admitted persona's rule;
    AssertionError when one is missing."""
    where = f"{method} {route.path}"
    access = declared(route)
    assert access is not None, f"{where} declares no access rule"
    names = PATH_PARAMETER.findall(route.path or "")
    key = (method, route.path or "")
    original = route.original_route
    if isinstance(original, APIRoute) and original.body_field is not None:
        assert key in BODIES, f"{where}: no body in BODIES (one that reaches the ownership check)"
    rules: dict[Persona, Sees] = {}
    for persona, role in ROLE_OF.items():
        if role not in access.roles:
            continue
        rule = ROUTE_SEES.get(key) or SEES.get((access.owner, persona))
        assert rule is not None, (
            f"{where}: no rule in SEES for (Owner.{access.owner.name}, {persona.value}): "
            "does this account see every such object or only its own?"
        )
        rules[persona] = rule
    return access.owner, names, rules


@pytest.mark.parametrize(("method", "route"), OBJECT_ROUTES, ids=[_id(r) for r in OBJECT_ROUTES])
def test_own_and_someone_elses_objects(method: str, route: RouteContext, world: World) -> None:
    owner, names, rules = _rules(method, route)
    key = (method, route.path or "")
    needs = names + [n for n in BODIES.get(key, ((), None))[0] if n not in names]
    client = TestClient(APP, raise_server_exceptions=False)
    wrong: list[str] = []
    for persona, rule in rules.items():
        where = f"{method} {route.path} as {persona.value}"
        # A call that may change state gets new objects, so no earlier call decides its answer.
        fresh = method != "GET"
        theirs, mine = (
            values(world, own=own, owner=owner.value, names=needs, persona=persona, fresh=fresh)
            for own in (False, True)
        )
        missing = [n for n in needs if n not in theirs or n not in mine]
        assert not missing, (
            f"{method} {route.path}: no fixture for path parameter {missing[0]} "
            f"(of Owner.{owner.name}): add it to the sides' values in tests/api/matrix_world.py"
        )
        # Someone else's first: it must not change anything the own call then finds.
        before = states(owner.value, theirs)
        status, said = _call(client, method, route, world.personas[persona], theirs)
        if rule is Sees.OWN:
            if status != HIDDEN:
                wrong.append(f"{where}: someone else's answered {status}, not {HIDDEN}: {said}")
            if states(owner.value, theirs) != before:
                wrong.append(f"{where}: someone else's object changed ({status})")
        elif status in REFUSED or status >= 500:
            wrong.append(f"{where}: someone else's answered {status}, sees all: {said}")
        status, said = _call(client, method, route, world.personas[persona], mine)
        if status in REFUSED or status >= 500:
            wrong.append(f"{where}: its own answered {status}: {said}")
    assert not wrong, "\n".join(wrong)
