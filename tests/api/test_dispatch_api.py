"""Solve runs over HTTP: 202 and a queued run, a real Celery worker solving it, the plan, the
server-sent events, cancel, urgent insertion, and who may see which run."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api.app import create_app
from core.db import read_only, unit_of_work
from core.settings import get_settings
from dispatch import repository as dispatch_repo
from dispatch.tasks import execute_run
from marketplace.accounts.models import Role
from marketplace.demo import seed as demo
from marketplace.orders import repository as orders_repo
from marketplace.orders.models import Order, OrderPriority, OrderStatus
from marketplace.providers import service as providers_service
from marketplace.providers.models import Provider
from tests import factories as f
from tests.api.accounts import account_token, as_, member_links
from tests.conftest import REDIS_URL, require_redis
from tests.workers import clean_env, log_text, running_worker

MONDAY = date(2026, 11, 23)
DAY = MONDAY + timedelta(days=1)


@dataclass
class World:
    """Accounts of every kind that matters here, and the app."""

    client: TestClient
    tokens: dict[str, str]
    provider: int  # the provider whose dispatcher is "provider_dispatcher"


def _world(provider: Provider, other: Provider) -> World:
    with unit_of_work() as session:
        _, member = f.make_household(session)
        tokens = {
            "dispatcher": account_token(session, "platform", Role.DISPATCHER),
            "provider_dispatcher": account_token(
                session, "prov-disp", Role.DISPATCHER, provider_id=provider.id
            ),
            "other_dispatcher": account_token(
                session, "other-disp", Role.DISPATCHER, provider_id=other.id
            ),
            "admin": account_token(session, "boss", Role.ADMIN),
            "auditor": account_token(session, "aud", Role.AUDITOR),
            "household": account_token(session, "home", Role.HOUSEHOLD, **member_links(member)),
        }
    assert provider.id is not None
    return World(TestClient(create_app(), raise_server_exceptions=False), tokens, provider.id)


@pytest.fixture
def world(configured: str) -> World:
    """Accounts over two bare providers (no day to plan)."""
    with unit_of_work() as session:
        provider, other = f.make_provider(session), f.make_provider(session)
    return _world(provider, other)


def _as(world: World, who: str, key: str | None = None) -> dict[str, str]:
    return as_(world, who, key or uuid.uuid4().hex)


def _start(world: World, who: str = "dispatcher", key: str | None = None, **body: Any) -> Any:
    payload = {"date": DAY.isoformat(), "time_limit_s": 3, **body}
    return world.client.post("/dispatch/runs", json=payload, headers=_as(world, who, key))


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of each server-sent event (comments skipped)."""
    found = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if line and ":" in line[1:]
        )
        if "event" in fields:
            found.append((fields["event"], json.loads(fields["data"])))
    return found


def test_a_run_is_queued_with_202_and_its_url(world: World) -> None:
    started = _start(world)
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["id"].startswith("run_") and run["status"] == "queued"
    assert started.headers["Location"] == run["url"] == f"/dispatch/runs/{run['id']}"
    assert (run["applies"], run["time_limit_s"], run["district"]) == (True, 3.0, None)
    assert run["progress"] == {"solutions": 0, "parts_done": 0, "parts_total": 0, "objective": None}
    polled = world.client.get(run["url"], headers=_as(world, "dispatcher"))
    assert polled.status_code == 200 and polled.json() == run
    # No worker here: the plan is not there yet, and the events stop at their time limit.
    assert world.client.get(f"{run['url']}/plan", headers=_as(world, "admin")).status_code == 409
    streamed = world.client.get(
        f"{run['url']}/events", params={"timeout_s": 1}, headers=_as(world, "admin")
    )
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert [name for name, _ in _events(streamed.text)] == ["progress", "timeout"]


def test_the_same_key_returns_the_same_run_and_another_body_is_refused(world: World) -> None:
    key = uuid.uuid4().hex
    first = _start(world, key=key)
    again = _start(world, key=key)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert _start(world, key=key, time_limit_s=5).status_code == 409


def test_bad_requests_are_problems_not_crashes(world: World) -> None:
    cases: list[tuple[dict[str, Any], int]] = [
        ({"time_limit_s": 0}, 422),
        ({"time_limit_s": 3601}, 422),
        ({"parts_in_parallel": 65}, 422),
        ({"date": "2026-13-01"}, 422),
        ({"date": "1999-12-31"}, 422),
        ({"district": "000000"}, 404),
        ({"district": "a b"}, 422),
        ({"surprise": 1}, 422),
    ]
    for body, status in cases:
        response = _start(world, **body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    missing_key = world.client.post(
        "/dispatch/runs",
        json={"date": DAY.isoformat()},
        headers=as_(world, "dispatcher"),
    )
    assert missing_key.status_code == 422


def test_households_and_auditors_may_not_start_or_read_runs(world: World) -> None:
    run = _start(world).json()
    for who in ("household", "auditor"):
        assert _start(world, who).status_code == 403
        assert world.client.get(run["url"], headers=_as(world, who)).status_code == 403
        assert world.client.delete(run["url"], headers=_as(world, who)).status_code == 403


def test_a_providers_dispatcher_sees_its_providers_runs_only(world: World) -> None:
    mine = _start(world, "provider_dispatcher")
    assert mine.status_code == 202
    run = mine.json()
    assert run["applies"] is False  # a proposal: it would move other providers' orders
    assert run["requested_by"].startswith("dispatcher:usr_")
    platform = _start(world).json()
    for who, url, status in [
        ("provider_dispatcher", run["url"], 200),
        ("dispatcher", run["url"], 200),
        ("admin", run["url"], 200),
        ("other_dispatcher", run["url"], 404),
        ("provider_dispatcher", platform["url"], 404),
        ("provider_dispatcher", "/dispatch/runs/run_00000000000000000000", 404),
    ]:
        got = world.client.get(url, headers=_as(world, who))
        assert got.status_code == status, (who, url, got.text)
    assert (
        world.client.delete(run["url"], headers=_as(world, "other_dispatcher")).status_code == 404
    )


def test_cancel_a_queued_run_then_not_again(world: World) -> None:
    run = _start(world).json()
    cancelled = world.client.delete(run["url"], headers=_as(world, "dispatcher"))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = world.client.delete(run["url"], headers=_as(world, "dispatcher"))
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    streamed = world.client.get(f"{run['url']}/events", headers=_as(world, "dispatcher"))
    assert [name for name, _ in _events(streamed.text)] == ["cancelled"]
    plan = world.client.get(f"{run['url']}/plan", headers=_as(world, "dispatcher"))
    assert plan.status_code == 409 and "cancelled" in plan.json()["detail"]


def test_unknown_runs_are_404_at_once(world: World) -> None:
    for method, path in [
        ("GET", "/dispatch/runs/run_unknown"),
        ("GET", "/dispatch/runs/run_unknown/events"),
        ("GET", "/dispatch/runs/run_unknown/plan"),
        ("DELETE", "/dispatch/runs/run_unknown"),
    ]:
        response = world.client.request(method, path, headers=_as(world, "dispatcher"))
        assert response.status_code == 404, (method, path)
    urgent = world.client.post(
        "/dispatch/runs/run_unknown/urgent",
        json={"order": "ord_unknown"},
        headers=_as(world, "dispatcher"),
    )
    assert urgent.status_code == 404


# --- through a real worker -----------------------------------------------------------------


@pytest.fixture
def demo_world(configured: str, backend: str, monkeypatch: pytest.MonkeyPatch) -> World:
    """The demo city with a day to plan; on PostgreSQL the broker is Redis (own queue)."""
    if backend == "postgresql":
        require_redis(REDIS_URL)
        monkeypatch.setenv("LINLI_BROKER_URL", REDIS_URL)
        monkeypatch.setenv("LINLI_TASK_QUEUE", f"linli-test-{uuid.uuid4().hex[:12]}")
        get_settings.cache_clear()
    with unit_of_work() as session:
        demo.seed_demo(session, seed=11, households=80, start_date=MONDAY, progress=False)
        busy = [o.provider_id for o in orders_repo.list_for_day(session, DAY)]
        provider = session.get(Provider, max(set(busy), key=busy.count))
        other = f.make_provider(session)
    assert provider is not None
    return _world(provider, other)


def _worker_env(configured: str) -> dict[str, str]:
    settings = get_settings()
    extra = {"database_url": configured, "task_queue": settings.task_queue}
    if settings.broker_url:
        extra["broker_url"] = settings.broker_url
    return clean_env(settings.data_dir, **extra)


def _follow(world: World, url: str, log: Path) -> list[tuple[str, dict[str, Any]]]:
    streamed = world.client.get(
        f"{url}/events", params={"timeout_s": 180}, headers=_as(world, "dispatcher")
    )
    assert streamed.status_code == 200, streamed.text
    events = _events(streamed.text)
    assert events and events[-1][0] == "done", f"{events[-1:]}\n{log_text(log)}"
    return events


def test_a_day_is_solved_by_a_worker_and_its_plan_read(
    demo_world: World, configured: str, tmp_path: Path
) -> None:
    world = demo_world
    run = _start(world).json()
    assert run["status"] == "queued"
    log = tmp_path / "worker.log"
    with running_worker(tmp_path, _worker_env(configured), log, get_settings().task_queue):
        events = _follow(world, run["url"], log)
        # One event per change, ending with the final status; the last carries the result.
        statuses = [data["status"] for _, data in events]
        assert statuses[-1] == "done" and set(statuses) <= {"queued", "running", "done"}
        assert len({json.dumps(data, sort_keys=True) for _, data in events}) == len(events)
        done = world.client.get(run["url"], headers=_as(world, "dispatcher")).json()
        assert done == events[-1][1]
        assert done["plan"].startswith("pln_") and done["plan_version"] == 1
        assert done["progress"]["objective"] is not None and done["finished_at"]

        plan = world.client.get(f"{run['url']}/plan", headers=_as(world, "dispatcher"))
        assert plan.status_code == 200, plan.text
        body = plan.json()
        assert body["id"] == done["plan"] and body["assigned"] > 0
        assert body["routes"] and all(r["worker"].startswith("wkr_") for r in body["routes"])
        for route in body["routes"]:
            starts = [s["start_at"] for s in route["stops"]]
            assert starts == sorted(starts)
            assert all(s["arrival_at"] <= s["start_at"] < s["end_at"] for s in route["stops"])
        assert all(u["reasons"] and u["reasons"][0]["code"] for u in body["left_out"])
        with read_only() as session:
            scheduled = session.exec(
                select(Order).where(Order.service_date == DAY, Order.status == "scheduled")
            ).all()
            booked = {o.id: (o.assigned_worker_id, o.scheduled_start) for o in scheduled}
        assert len(booked) == body["assigned"]

        mine = world.client.get(run["url"], headers=_as(world, "provider_dispatcher"))
        assert mine.status_code == 404  # the platform's run

        finished = world.client.delete(run["url"], headers=_as(world, "dispatcher"))
        assert finished.status_code == 409

        # An urgent order for the day: a new run plans it around the bookings made.
        with unit_of_work() as session:
            provider = session.get(Provider, world.provider)
            order = f.make_order(session, provider=provider, day=DAY, confirm=True)
        urgent = world.client.post(
            f"{run['url']}/urgent",
            json={"order": order.public_id},
            headers=_as(world, "dispatcher"),
        )
        assert urgent.status_code == 202, urgent.text
        again = urgent.json()
        assert again["id"] != run["id"] and urgent.headers["Location"] == again["url"]
        _follow(world, again["url"], log)
    replanned = world.client.get(f"{again['url']}/plan", headers=_as(world, "dispatcher")).json()
    assert replanned["version"] == 2
    planned = {s["order"] for r in replanned["routes"] for s in r["stops"]}
    left_out = {u["order"] for u in replanned["left_out"]}
    assert order.public_id in planned | left_out
    with read_only() as session:
        urgent_order = orders_repo.get_by_public_id(session, order.public_id)
        assert urgent_order is not None and urgent_order.priority == OrderPriority.URGENT
        for order_id, (worker_id, start) in booked.items():
            kept = session.get(Order, order_id)
            assert kept is not None and kept.status == OrderStatus.SCHEDULED
            assert (kept.assigned_worker_id, kept.scheduled_start) == (worker_id, start)
    if order.public_id in planned:  # booked now: asking again is refused
        refused = world.client.post(
            f"{again['url']}/urgent",
            json={"order": order.public_id},
            headers=_as(world, "dispatcher"),
        )
        assert refused.status_code == 409, refused.text


def test_a_providers_dispatcher_reads_its_providers_part_of_a_plan(demo_world: World) -> None:
    world = demo_world
    run = _start(world, "provider_dispatcher").json()
    with read_only() as session:
        stored = dispatch_repo.get_run_by_public_id(session, run["id"])
        assert stored is not None and stored.id is not None
        run_id = stored.id
    assert execute_run(run_id) == "done"  # in process: no worker needed for this
    theirs = world.client.get(f"{run['url']}/plan", headers=_as(world, "provider_dispatcher"))
    everyone = world.client.get(f"{run['url']}/plan", headers=_as(world, "dispatcher"))
    assert theirs.status_code == everyone.status_code == 200
    mine, full = theirs.json(), everyone.json()
    with read_only() as session:
        own_workers = {
            w.public_id for w in providers_service.list_workers(session, provider_id=world.provider)
        }
        own_orders = {
            o.public_id
            for o in orders_repo.list_for_day(session, DAY)
            if o.provider_id == world.provider
        }
        # Not applied: a provider's dispatcher's plan books nothing.
        assert not [
            o for o in orders_repo.list_for_day(session, DAY) if o.status == OrderStatus.SCHEDULED
        ]
    assert mine["routes"] and {r["worker"] for r in mine["routes"]} <= own_workers
    assert {u["order"] for u in mine["left_out"]} <= own_orders
    assert len(full["routes"]) > len(mine["routes"])
