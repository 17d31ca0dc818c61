"""Quotes and orders over HTTP: ownership per role, the idempotency key, keyset pages, cancel."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.db import unit_of_work
from marketplace.accounts import repository as accounts_repo
from marketplace.accounts.models import Role
from marketplace.households import service as households_service
from marketplace.households.models import ProtectedCategory
from marketplace.households.schemas import FamilyProxyCreate
from marketplace.orders import service as orders_service
from tests import factories as f
from tests.api.accounts import account_token, as_, member_links, worker_links
from tests.api.quotes import quote_cleaning

PROXY_PHONE = "13900001111"


@dataclass
class World:
    """Two households, a proxy for the first one's elder, a provider, its worker, tokens."""

    client: TestClient
    tokens: dict[str, str]
    member: str  # the first household's 低保 member
    elder: str  # the first household's elder (the proxy acts for them)
    other_member: str  # the second household's member
    provider: str


@pytest.fixture
def world(configured: str) -> World:
    with unit_of_work() as session:
        home, elder = f.make_household(session)
        member = f.add_member(session, home)
        f.grant_status(session, member, ProtectedCategory.DIBAO)
        _, other = f.make_household(session)
        provider = f.make_provider(session)
        worker = f.make_worker(session, provider=provider)
        f.item(session, "domestic.cleaning")
        assert elder.id is not None
        households_service.add_family_proxy(
            session,
            elder.id,
            FamilyProxyCreate(name="女儿", phone=PROXY_PHONE, relation="daughter"),
        )
        tokens = {
            "household": account_token(session, "home1", Role.HOUSEHOLD, **member_links(member)),
            "other": account_token(session, "home2", Role.HOUSEHOLD, **member_links(other)),
            "proxy": account_token(session, "daughter", Role.PROXY, phone=PROXY_PHONE),
            "provider": account_token(
                session, "prov", Role.PROVIDER_ADMIN, provider_id=provider.id
            ),
            "worker": account_token(session, "wkr", Role.WORKER, **worker_links(worker)),
            "auditor": account_token(session, "aud", Role.AUDITOR),
        }
        world = World(
            client=TestClient(create_app(), raise_server_exceptions=False),
            tokens=tokens,
            member=member.public_id,
            elder=elder.public_id,
            other_member=other.public_id,
            provider=provider.public_id,
        )
    return world


def _order_body(world: World, member: str, day: str = "2026-12-07") -> dict[str, Any]:
    return {
        "member": member,
        "provider": world.provider,
        "item": "domestic.cleaning",
        "service_date": day,
        "windows": [{"starts_at": f"{day}T09:00:00+08:00", "ends_at": f"{day}T12:00:00+08:00"}],
        "duration_minutes": 120,
    }


def _create(world: World, who: str, body: dict[str, Any], key: str | None = None) -> Any:
    return world.client.post("/orders", json=body, headers=as_(world, who, key or uuid.uuid4().hex))


def test_a_household_quotes_then_orders_and_sees_the_same_price(world: World) -> None:
    q = quote_cleaning(world)
    assert (q["list_price_fen"], q["subsidy_fen"], q["copay_fen"]) == (8000, 6400, 1600)
    assert q["group"] == "dibao" and q["balance_after_fen"] == 60000 - 6400
    created = _create(world, "household", _order_body(world, world.member))
    assert created.status_code == 201, created.text
    order = created.json()
    assert (order["status"], order["subsidy_fen"], order["copay_fen"]) == ("requested", 6400, 1600)
    assert order["member"] == world.member and order["id"].startswith("ord_")


def test_the_same_key_returns_the_same_order_and_another_body_is_refused(world: World) -> None:
    key = uuid.uuid4().hex
    body = _order_body(world, world.member)
    first = _create(world, "household", body, key)
    again = _create(world, "household", body, key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    changed = _create(world, "household", {**body, "duration_minutes": 180}, key)
    assert changed.status_code == 409
    assert changed.headers["content-type"] == "application/problem+json"
    assert "different request" in changed.json()["detail"]
    listed = world.client.get("/orders", headers=as_(world, "household")).json()
    assert [o["id"] for o in listed["items"]] == [first.json()["id"]]
    # Another account may use the same key for its own order.
    assert _create(world, "other", _order_body(world, world.other_member), key).status_code == 201


def test_an_order_without_a_key_names_the_header(world: World) -> None:
    response = world.client.post(
        "/orders", json=_order_body(world, world.member), headers=as_(world, "household")
    )
    assert response.status_code == 422
    assert any("idempotency-key" in e["field"].lower() for e in response.json()["errors"])


def test_nobody_orders_for_someone_elses_member(world: World) -> None:
    for who, member in [
        ("household", world.other_member),
        ("other", world.member),
        ("proxy", world.member),  # the proxy acts for the elder only
    ]:
        response = _create(world, who, _order_body(world, member))
        assert response.status_code == 404, (who, response.text)
    assert _create(world, "proxy", _order_body(world, world.elder)).status_code == 201


def test_each_role_sees_only_its_orders(world: World) -> None:
    mine = _create(world, "household", _order_body(world, world.member)).json()["id"]
    elders = _create(world, "proxy", _order_body(world, world.elder)).json()["id"]
    theirs = _create(world, "other", _order_body(world, world.other_member)).json()["id"]

    def ids(who: str) -> set[str]:
        body = world.client.get("/orders", headers=as_(world, who)).json()
        return {o["id"] for o in body["items"]}

    assert ids("household") == {mine, elders}  # the elder lives in the same household
    assert ids("other") == {theirs}
    assert ids("proxy") == {elders}
    assert ids("provider") == {mine, elders, theirs}
    assert ids("worker") == set()  # nothing booked to the worker yet
    assert ids("auditor") == {mine}  # the only subsidised one
    for who, order, status in [
        ("other", mine, 404),
        ("proxy", mine, 404),
        ("worker", mine, 404),
        ("auditor", theirs, 404),
        ("auditor", mine, 200),
        ("provider", theirs, 200),
    ]:
        got = world.client.get(f"/orders/{order}", headers=as_(world, who))
        assert got.status_code == status, (who, order, got.text)


def test_pages_follow_the_cursor(world: World) -> None:
    made = [
        _create(world, "household", _order_body(world, world.member, f"2026-12-{d:02d}")).json()[
            "id"
        ]
        for d in (7, 8, 9)
    ]
    seen: list[str] = []
    after: str | None = None
    for _ in range(4):
        params: dict[str, Any] = {"limit": 2}
        if after:
            params["after"] = after
        body = world.client.get("/orders", params=params, headers=as_(world, "household")).json()
        seen += [o["id"] for o in body["items"]]
        after = body["next"]
        if after is None:
            break
    assert seen == made
    bad = world.client.get("/orders", params={"after": "!!"}, headers=as_(world, "household"))
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["query.after"]
    # A made-up cursor is a position like any other: a page (here past the end), not an error.
    made_up = world.client.get(
        "/orders", params={"after": "ffffffffffffffff"}, headers=as_(world, "household")
    )
    assert made_up.status_code == 200


def test_cancel_by_the_household_and_not_by_the_auditor(world: World) -> None:
    order = _create(world, "household", _order_body(world, world.member)).json()["id"]
    refused = world.client.post(
        f"/orders/{order}/cancel", json={"reason": "x"}, headers=as_(world, "auditor")
    )
    assert refused.status_code == 403
    done = world.client.post(
        f"/orders/{order}/cancel", json={"reason": "plans changed"}, headers=as_(world, "household")
    )
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    again = world.client.post(
        f"/orders/{order}/cancel", json={"reason": "again"}, headers=as_(world, "household")
    )
    assert again.status_code == 409


def test_a_booked_order_is_the_workers(world: World) -> None:
    order_id = _create(world, "household", _order_body(world, world.member)).json()["id"]
    with unit_of_work() as session:
        order = orders_service.get_by_public_id_or_raise(session, order_id)
        order = orders_service.confirm(session, order, actor="provider")
        account = accounts_repo.get_by_username(session, "wkr")
        assert account is not None and account.worker_id is not None
        start = f.window(order.service_date, time(9), time(11)).starts_at
        orders_service.schedule(
            session, order, worker_id=account.worker_id, start=start, actor="dispatcher"
        )
    got = world.client.get(f"/orders/{order_id}", headers=as_(world, "worker"))
    assert got.status_code == 200 and got.json()["status"] == "scheduled"


def test_the_provider_confirms_and_the_household_reschedules(world: World) -> None:
    order = _create(world, "household", _order_body(world, world.member)).json()["id"]
    assert (
        world.client.post(f"/orders/{order}/confirm", headers=as_(world, "household")).status_code
        == 403
    )
    confirmed = world.client.post(f"/orders/{order}/confirm", headers=as_(world, "provider"))
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    again = world.client.post(f"/orders/{order}/confirm", headers=as_(world, "provider"))
    assert again.status_code == 409
    moved = world.client.post(
        f"/orders/{order}/reschedule",
        json={
            "service_date": "2026-12-09",
            "windows": [
                {"starts_at": "2026-12-09T14:00:00+08:00", "ends_at": "2026-12-09T17:00:00+08:00"}
            ],
            "reason": "a doctor's appointment",
        },
        headers=as_(world, "household"),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["service_date"] == "2026-12-09"
    assert (
        world.client.post(
            f"/orders/{order}/rating", json={"stars": 4}, headers=as_(world, "household")
        ).status_code
        == 409
    )  # not done yet
