"""A worker's day over HTTP: its own route (addresses only for that day's stops), check-in,
check-out, the household's confirmation with the one-time code, the ledger consumed; another
worker gets 404; the provider follows the day's progress."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.db import unit_of_work
from core.timeutil import local_datetime
from marketplace.accounts.models import Role
from marketplace.households.models import ProtectedCategory
from marketplace.orders import service as orders_service
from pricing import repository as pricing_repo
from pricing.models import EntryKind, Payer
from tests import factories as f
from tests.api.accounts import account_token, as_, member_links, worker_links

DAY = "2026-12-07"
NEXT_DAY = "2026-12-08"
ADDRESS = "鼓楼区三坊七巷南后街88号"
LAT, LON = 26.0861234, 119.2954321


@dataclass
class World:
    """A household (its 低保 member), a neighbour, a provider with two workers, its admin and
    dispatcher, another provider's admin."""

    client: TestClient
    tokens: dict[str, str]
    member: str
    neighbour_member: str
    provider: str
    worker_ids: dict[str, int]  # "worker" / "colleague" → row id
    workers: dict[str, str]  # "worker" / "colleague" → public id


@pytest.fixture
def world(configured: str) -> World:
    with unit_of_work() as session:
        home, _ = f.make_household(session, lat=LAT, lon=LON)
        home.address = ADDRESS
        session.add(home)
        member = f.add_member(session, home)
        f.grant_status(session, member, ProtectedCategory.DIBAO)
        _, neighbour = f.make_household(session)
        provider = f.make_provider(session)
        other_provider = f.make_provider(session)
        worker = f.make_worker(session, provider=provider)
        colleague = f.make_worker(session, provider=provider, name="周师傅")
        f.item(session, "domestic.cleaning")
        assert worker.id is not None and colleague.id is not None
        tokens = {
            "household": account_token(session, "home", Role.HOUSEHOLD, **member_links(member)),
            "neighbour": account_token(
                session,
                "neighbour",
                Role.HOUSEHOLD,
                **member_links(neighbour),
            ),
            "worker": account_token(session, "wkr", Role.WORKER, **worker_links(worker)),
            "colleague": account_token(
                session, "colleague", Role.WORKER, **worker_links(colleague)
            ),
            "provider": account_token(
                session, "prov", Role.PROVIDER_ADMIN, provider_id=provider.id
            ),
            "dispatcher": account_token(session, "disp", Role.DISPATCHER, provider_id=provider.id),
            "other_provider": account_token(
                session, "prov2", Role.PROVIDER_ADMIN, provider_id=other_provider.id
            ),
        }
        return World(
            client=TestClient(create_app(), raise_server_exceptions=False),
            tokens=tokens,
            member=member.public_id,
            neighbour_member=neighbour.public_id,
            provider=provider.public_id,
            worker_ids={"worker": worker.id, "colleague": colleague.id},
            workers={"worker": worker.public_id, "colleague": colleague.public_id},
        )


def _booked(
    world: World,
    *,
    who: str = "household",
    member: str | None = None,
    day: str = DAY,
    start: time = time(9),
    worker: str = "worker",
) -> str:
    """An order the household places over HTTP, confirmed and scheduled to ``worker``."""
    end = time(start.hour + 3)
    body = {
        "member": member or world.member,
        "provider": world.provider,
        "item": "domestic.cleaning",
        "service_date": day,
        "windows": [
            {
                "starts_at": f"{day}T{start.isoformat()}+08:00",
                "ends_at": f"{day}T{end.isoformat()}+08:00",
            }
        ],
        "duration_minutes": 120,
    }
    created = world.client.post("/orders", json=body, headers=as_(world, who, uuid.uuid4().hex))
    assert created.status_code == 201, created.text
    order_id: str = created.json()["id"]
    with unit_of_work() as session:
        order = orders_service.get_by_public_id_or_raise(session, order_id)
        order = orders_service.confirm(session, order, actor="provider")
        orders_service.schedule(
            session,
            order,
            worker_id=world.worker_ids[worker],
            start=local_datetime(order.service_date, start),
            actor="dispatcher",
        )
    return order_id


def _route(world: World, who: str, day: str) -> dict[str, Any]:
    response = world.client.get("/me/route", params={"date": day}, headers=as_(world, who))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _gps(**extra: Any) -> dict[str, Any]:
    return {"method": "gps", "lat": LAT, "lon": LON, "accuracy_m": 8.5, **extra}


def test_the_worker_sees_only_its_own_stops_of_the_day_asked(world: World) -> None:
    afternoon = _booked(world, start=time(14))
    morning = _booked(world, start=time(9))
    tomorrow = _booked(world, day=NEXT_DAY, member=world.neighbour_member, who="neighbour")
    colleagues = _booked(world, member=world.neighbour_member, who="neighbour", worker="colleague")

    today = _route(world, "worker", DAY)
    assert today["worker"] == world.workers["worker"] and today["date"] == DAY
    assert [s["order"] for s in today["stops"]] == [morning, afternoon]  # in time order
    assert [s["sequence"] for s in today["stops"]] == [1, 2]
    first = today["stops"][0]
    assert (first["address"], first["lat"], first["lon"]) == (ADDRESS, LAT, LON)
    assert first["status"] == "scheduled" and first["item"] == "domestic.cleaning"
    assert today["summary"] == {"stops": 2, "done": 0, "in_service": 0, "to_do": 2}

    next_day = _route(world, "worker", NEXT_DAY)
    assert [s["order"] for s in next_day["stops"]] == [tomorrow]
    assert ADDRESS not in json.dumps(next_day, ensure_ascii=False)  # not that day's stop

    empty = _route(world, "worker", "2026-12-09")
    assert empty["stops"] == [] and empty["summary"]["stops"] == 0

    assert [s["order"] for s in _route(world, "colleague", DAY)["stops"]] == [colleagues]
    for who in ("household", "provider", "dispatcher"):
        refused = world.client.get("/me/route", params={"date": DAY}, headers=as_(world, who))
        assert refused.status_code == 403, who
    bad = world.client.get("/me/route", params={"date": "07/12/2026"}, headers=as_(world, "worker"))
    assert bad.status_code == 422


def test_check_in_check_out_and_the_households_code_complete_the_order(world: World) -> None:
    order_id = _booked(world)
    base = f"/me/visits/{order_id}"

    # Someone else's order is 404 to the colleague, before and after check-in.
    assert (
        world.client.post(f"{base}/check-in", json=_gps(), headers=as_(world, "colleague"))
    ).status_code == 404

    checked_in = world.client.post(f"{base}/check-in", json=_gps(), headers=as_(world, "worker"))
    assert checked_in.status_code == 200, checked_in.text
    visit = checked_in.json()
    assert visit["order"] == order_id and visit["worker"] == world.workers["worker"]
    assert visit["check_in_method"] == "gps" and visit["check_out_at"] is None
    assert _route(world, "worker", DAY)["stops"][0]["progress"] == "in_service"
    again = world.client.post(f"{base}/check-in", json=_gps(), headers=as_(world, "worker"))
    assert again.status_code == 409

    # The household cannot confirm before check-out.
    early = world.client.post(
        f"/visits/{order_id}/confirm", json={"code": "000000"}, headers=as_(world, "household")
    )
    assert early.status_code == 409

    assert (
        world.client.post(
            f"{base}/check-out", json=_gps(tasks_done=["扫地"]), headers=as_(world, "colleague")
        )
    ).status_code == 404
    checked_out = world.client.post(
        f"{base}/check-out",
        json=_gps(tasks_done=["扫地", "拖地", "擦窗"]),
        headers=as_(world, "worker"),
    )
    assert checked_out.status_code == 200, checked_out.text
    out = checked_out.json()
    code = out["confirmation_code"]
    assert len(code) == 6 and code.isdigit()
    assert out["visit"]["tasks_done"] == ["扫地", "拖地", "擦窗"]
    assert out["visit"]["check_out_at"] is not None

    order = world.client.get(f"/orders/{order_id}", headers=as_(world, "household")).json()
    assert order["status"] == "completed"
    with unit_of_work() as session:
        entries = pricing_repo.entries_of_order(session, order_id)
        consumed = {e.payer: e.amount_fen for e in entries if e.kind == EntryKind.CONSUME}
    assert consumed[Payer.SUBSIDY] == order["subsidy_fen"] > 0
    assert consumed[Payer.HOUSEHOLD] == order["copay_fen"]

    # The neighbour cannot confirm it; a wrong code is 422; the right one confirms once.
    confirm = f"/visits/{order_id}/confirm"
    assert (
        world.client.post(confirm, json={"code": code}, headers=as_(world, "neighbour"))
    ).status_code == 404
    wrong = "000000" if code != "000000" else "111111"
    refused = world.client.post(confirm, json={"code": wrong}, headers=as_(world, "household"))
    assert refused.status_code == 422 and "wrong" in refused.json()["detail"]
    done = world.client.post(confirm, json={"code": code}, headers=as_(world, "household"))
    assert done.status_code == 200, done.text
    assert done.json()["confirmed_at"] is not None and done.json()["confirmation_method"] == "code"
    twice = world.client.post(confirm, json={"code": code}, headers=as_(world, "household"))
    assert twice.status_code == 409
    assert (
        world.client.post(confirm, json={"code": code}, headers=as_(world, "worker"))
    ).status_code == 403


def test_guessing_the_code_is_stopped_after_five_wrong_tries(world: World) -> None:
    order_id = _booked(world)
    base = f"/me/visits/{order_id}"
    assert world.client.post(
        f"{base}/check-in", json=_gps(), headers=as_(world, "worker")
    ).is_success
    out = world.client.post(f"{base}/check-out", json=_gps(), headers=as_(world, "worker"))
    code = out.json()["confirmation_code"]
    confirm = f"/visits/{order_id}/confirm"
    wrongs = [f"{(int(code) + k) % 1_000_000:06d}" for k in range(1, 6)]
    for wrong in wrongs:
        refused = world.client.post(confirm, json={"code": wrong}, headers=as_(world, "household"))
        assert refused.status_code == 422, refused.text
    # Each wrong try was kept although its request failed: the sixth is refused, right or not.
    locked = world.client.post(confirm, json={"code": code}, headers=as_(world, "household"))
    assert locked.status_code == 429, locked.text
    assert locked.headers["content-type"].startswith("application/problem+json")
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60 + 1
    assert "wrong confirmation codes" in locked.json()["detail"]
    order = world.client.get(f"/orders/{order_id}", headers=as_(world, "household")).json()
    assert order["status"] == "completed"  # not settled: the visit is still unconfirmed


@pytest.mark.parametrize(
    "body",
    [
        {"method": "gps"},  # GPS without coordinates
        {"method": "manual"},  # manual without a reason
        {"method": "gps", "lat": 91, "lon": 119.3},
        {"method": "gps", "lat": 26.1, "lon": -181},
        {"method": "qr", "lat": 26.1},  # half a position
        {"method": "teleport"},
        {"method": "gps", "lat": 26.1, "lon": 119.3, "accuracy_m": -1},
    ],
)
def test_a_check_in_without_good_evidence_is_422(world: World, body: dict[str, Any]) -> None:
    order_id = _booked(world)
    response = world.client.post(
        f"/me/visits/{order_id}/check-in", json=body, headers=as_(world, "worker")
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_manual_check_in_with_a_reason_is_accepted(world: World) -> None:
    order_id = _booked(world)
    response = world.client.post(
        f"/me/visits/{order_id}/check-in",
        json={"method": "manual", "reason": "no_signal"},
        headers=as_(world, "worker"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["check_in_method"] == "manual"


def test_no_answer_but_the_days_route_shows_where_the_household_lives(world: World) -> None:
    order_id = _booked(world)
    seen: list[str] = []

    def keep(response: Any) -> Any:
        assert response.status_code < 500, response.text
        seen.append(response.text)
        return response

    for who in ("household", "worker", "provider", "dispatcher"):
        keep(world.client.get(f"/orders/{order_id}", headers=as_(world, who)))
        keep(world.client.get("/orders", headers=as_(world, who)))
    keep(
        world.client.get(
            f"/providers/{world.provider}/routes",
            params={"date": DAY},
            headers=as_(world, "provider"),
        )
    )
    keep(world.client.get(f"/workers/{world.workers['worker']}", headers=as_(world, "worker")))
    for day in (NEXT_DAY, "2026-12-06"):
        keep(world.client.get("/me/route", params={"date": day}, headers=as_(world, "worker")))
    base = f"/me/visits/{order_id}"
    keep(world.client.post(f"{base}/check-in", json=_gps(), headers=as_(world, "worker")))
    out = keep(world.client.post(f"{base}/check-out", json=_gps(), headers=as_(world, "worker")))
    code = out.json()["confirmation_code"]
    keep(
        world.client.post(
            f"/visits/{order_id}/confirm", json={"code": code}, headers=as_(world, "household")
        )
    )
    for text in seen:
        assert ADDRESS not in text and str(LAT) not in text and str(LON) not in text, text
    # The day's own route does show it.
    assert ADDRESS in json.dumps(_route(world, "worker", DAY), ensure_ascii=False)


def test_the_provider_follows_the_days_progress(world: World) -> None:
    first = _booked(world, start=time(8))
    second = _booked(world, start=time(14))
    covered = _booked(world, member=world.neighbour_member, who="neighbour", worker="colleague")
    _booked(world, day=NEXT_DAY)
    worker = as_(world, "worker")
    world.client.post(f"/me/visits/{first}/check-in", json=_gps(), headers=worker)
    world.client.post(f"/me/visits/{first}/check-out", json=_gps(), headers=worker)
    world.client.post(
        f"/me/visits/{covered}/check-in", json=_gps(), headers=as_(world, "colleague")
    )

    url = f"/providers/{world.provider}/routes"
    day = world.client.get(url, params={"date": DAY}, headers=as_(world, "dispatcher"))
    assert day.status_code == 200, day.text
    body = day.json()
    assert body["summary"] == {"stops": 3, "done": 1, "in_service": 1, "to_do": 1}
    by_worker = {w["worker"]: w for w in body["workers"]}
    mine = by_worker[world.workers["worker"]]
    assert [s["order"] for s in mine["stops"]] == [first, second]
    assert [s["status"] for s in mine["stops"]] == ["completed", "scheduled"]
    assert mine["stops"][0]["check_in_at"] and mine["stops"][0]["check_out_at"]
    assert mine["summary"] == {"stops": 2, "done": 1, "in_service": 0, "to_do": 1}
    theirs = by_worker[world.workers["colleague"]]
    assert theirs["summary"] == {"stops": 1, "done": 0, "in_service": 1, "to_do": 0}
    assert ADDRESS not in day.text

    for who, status in [("provider", 200), ("other_provider", 404), ("worker", 403)]:
        got = world.client.get(url, params={"date": DAY}, headers=as_(world, who))
        assert got.status_code == status, (who, got.text)
    quiet = world.client.get(url, params={"date": "2026-12-10"}, headers=as_(world, "provider"))
    assert quiet.json()["workers"] == [] and quiet.json()["summary"]["stops"] == 0
