"""A household's whole journey, tried as a new user would, through HTTP only.

Register, apply for 低保 status, an administrator approves it, quote, order, the provider
accepts, the dispatch run (a real Celery worker) plans it, the worker checks in and out, the
household confirms with the code, and the order is settled with the subsidy in the ledger.
Only the first administrator exists beforehand (created with ``linli account create``), in a
demo city that has providers and workers.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.db import unit_of_work
from core.settings import get_settings
from core.timeutil import local_date, utcnow
from marketplace.accounts import service as accounts
from marketplace.accounts.models import Role
from marketplace.accounts.schemas import AccountCreate
from marketplace.demo import seed as demo
from tests.conftest import REDIS_URL, require_redis
from tests.workers import clean_env, log_text, running_worker

ADMIN_PASSWORD = "first-admin-password"
PASSWORD = "journey-password-1"


def _next_weekday(after: date) -> date:
    day = after + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


class Http:
    """A client that signs in and sends bearer tokens, as an app would."""

    def __init__(self) -> None:
        self.client = TestClient(create_app(), raise_server_exceptions=False)
        self.tokens: dict[str, str] = {}

    def sign_in(self, who: str, username: str, password: str) -> None:
        response = self.client.post(
            "/auth/token", data={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        self.tokens[who] = response.json()["access_token"]

    def call(self, who: str | None, method: str, url: str, expect: int, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}))
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        if method == "POST" and who is not None:
            headers.setdefault("Idempotency-Key", uuid.uuid4().hex)
        response = self.client.request(method, url, headers=headers, **kw)
        assert response.status_code == expect, f"{method} {url}: {response.text}"
        return response.json() if response.content else None


@pytest.fixture
def city(configured: str, backend: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A demo city and the first administrator; the broker as the backend's deployment has it."""
    if backend == "postgresql":
        require_redis(REDIS_URL)
        monkeypatch.setenv("LINLI_BROKER_URL", REDIS_URL)
        monkeypatch.setenv("LINLI_TASK_QUEUE", f"linli-test-{uuid.uuid4().hex[:12]}")
        get_settings.cache_clear()
    with unit_of_work() as session:
        demo.seed_demo(
            session,
            seed=5,
            households=60,
            start_date=local_date(utcnow()) - timedelta(days=7),
            progress=False,
        )
        accounts.create_account(
            session,
            AccountCreate(
                username="admin",
                password=ADMIN_PASSWORD,
                role=Role.ADMIN,
                civil_affairs=True,
            ),
        )
    return configured


def test_register_to_settled_through_http(city: str, tmp_path: Path) -> None:
    http = Http()
    day = _next_weekday(local_date(utcnow()))

    # A new household finds its district, street and community, and registers.
    district = http.call(None, "GET", "/areas", 200)[0]
    street = http.call(None, "GET", f"/areas?parent={district['id']}", 200)[0]
    community = http.call(None, "GET", f"/areas?parent={street['id']}", 200)[0]
    registered = http.call(
        None,
        "POST",
        "/households/register",
        201,
        json={
            "household": {
                "address": f"{street['name']}{community['name']}1号",
                "district_id": district["id"],
                "street_id": street["id"],
                "community_id": community["id"],
                "lat": 26.08,
                "lon": 119.30,
            },
            "member": {"name": "林秀英", "gender": "female", "birth_date": "1958-04-02"},
            "username": "lin.xiuying",
            "password": PASSWORD,
        },
    )
    member = registered["member"]["id"]
    http.sign_in("household", "lin.xiuying", PASSWORD)

    # She applies for 低保; the civil-affairs administrator approves it.
    http.call(
        "household",
        "POST",
        f"/members/{member}/protected-statuses",
        201,
        json={
            "category": "dibao",
            "valid_from": (day - timedelta(days=30)).isoformat(),
            "evidence_kind": "低保证",
            "certificate_no": "DB350102000123",
        },
    )
    http.sign_in("admin", "admin", ADMIN_PASSWORD)
    pending = http.call("admin", "GET", "/admin/protected-statuses?status=pending", 200)
    (application,) = [a for a in pending["items"] if a["member"] == member]
    http.call("admin", "POST", f"/admin/protected-statuses/{application['id']}/approve", 200)

    # A cleaning firm serving her district; she quotes and orders.
    providers = http.call("household", "GET", "/providers?limit=200", 200)["items"]
    provider = next(
        p
        for p in providers
        if p["kind"] == "cleaning_firm" and district["code"] in [d["code"] for d in p["districts"]]
    )
    start = f"{day.isoformat()}T09:00:00+08:00"
    quote = http.call(
        "household",
        "POST",
        "/quotes",
        200,
        json={
            "member": member,
            "provider": provider["id"],
            "item": "domestic.cleaning",
            "start": start,
            "minutes": 120,
        },
    )
    assert quote["group"] == "dibao" and quote["subsidy_fen"] > 0
    order = http.call(
        "household",
        "POST",
        "/orders",
        201,
        json={
            "member": member,
            "provider": provider["id"],
            "item": "domestic.cleaning",
            "service_date": day.isoformat(),
            "windows": [{"starts_at": start, "ends_at": f"{day.isoformat()}T12:00:00+08:00"}],
            "duration_minutes": 120,
        },
    )
    assert (order["subsidy_fen"], order["copay_fen"]) == (quote["subsidy_fen"], quote["copay_fen"])

    # The administrator gives the provider and the platform dispatcher their accounts; the
    # provider accepts the order.
    for username, role, links in [
        ("firm-admin", "provider_admin", {"provider": provider["id"]}),
        ("dispatch", "dispatcher", {}),
    ]:
        http.call(
            "admin",
            "POST",
            "/admin/users",
            201,
            json={"username": username, "password": PASSWORD, "role": role, **links},
        )
    http.sign_in("firm", "firm-admin", PASSWORD)
    http.sign_in("dispatcher", "dispatch", PASSWORD)
    confirmed = http.call("firm", "POST", f"/orders/{order['id']}/confirm", 200)
    assert confirmed["status"] == "confirmed"

    # The dispatch run plans the day with a real worker process.
    settings = get_settings()
    extra = {"database_url": city, "task_queue": settings.task_queue}
    if settings.broker_url:
        extra["broker_url"] = settings.broker_url
    log = tmp_path / "worker.log"
    with running_worker(tmp_path, clean_env(settings.data_dir, **extra), log, settings.task_queue):
        run = http.call(
            "dispatcher",
            "POST",
            "/dispatch/runs",
            202,
            json={"date": day.isoformat(), "district": district["code"], "time_limit_s": 3},
        )
        deadline = time.monotonic() + 180
        while run["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
            run = http.call("dispatcher", "GET", run["url"], 200)
        assert run["status"] == "done", f"{json.dumps(run)}\n{log_text(log)}"
    plan = http.call("dispatcher", "GET", f"{run['url']}/plan", 200)
    (worker_id,) = [
        r["worker"]
        for r in plan["routes"]
        if any(s.get("order") == order["id"] for s in r["stops"])
    ]

    # The worker gets an account, sees the stop, checks in and out at the home.
    http.call(
        "admin",
        "POST",
        "/admin/users",
        201,
        json={
            "username": "the-worker",
            "password": PASSWORD,
            "role": "worker",
            "provider": provider["id"],
            "worker": worker_id,
        },
    )
    http.sign_in("worker", "the-worker", PASSWORD)
    route = http.call("worker", "GET", f"/me/route?date={day.isoformat()}", 200)
    (stop,) = [s for s in route["stops"] if s["order"] == order["id"]]
    where = {"lat": stop["lat"], "lon": stop["lon"], "method": "gps"}
    http.call("worker", "POST", f"/me/visits/{order['id']}/check-in", 200, json=where)
    checked_out = http.call(
        "worker",
        "POST",
        f"/me/visits/{order['id']}/check-out",
        200,
        json={**where, "tasks_done": ["kitchen", "floors"]},
    )
    code = checked_out["confirmation_code"]

    # The household confirms with the code; the order is settled, the subsidy consumed.
    http.call("household", "POST", f"/visits/{order['id']}/confirm", 200, json={"code": code})
    settled = http.call("household", "GET", f"/orders/{order['id']}", 200)
    assert settled["status"] == "settled"
    month = day.strftime("%Y-%m")
    balance = http.call("household", "GET", f"/subsidy/balance?member={member}&month={month}", 200)
    assert balance["consumed_fen"] == order["subsidy_fen"]
    http.call("household", "POST", f"/orders/{order['id']}/rating", 201, json={"stars": 5})
    http.call(
        "admin",
        "POST",
        "/admin/users",
        201,
        json={"username": "auditor", "password": PASSWORD, "role": "auditor"},
    )
    http.sign_in("auditor", "auditor", PASSWORD)
    entries = http.call("auditor", "GET", "/audit/ledger?limit=200", 200)["items"]
    mine = [(e["kind"], e["payer"], e["amount_fen"]) for e in entries if e["order"] == order["id"]]
    assert ("consume", "subsidy", order["subsidy_fen"]) in mine
    assert ("consume", "household", order["copay_fen"]) in mine
    assert http.call("auditor", "GET", "/audit/ledger/verify", 200)["ok"] is True
