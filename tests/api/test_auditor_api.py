"""The auditor's view over HTTP: subsidised orders, visits with EVV verdicts, the ledger and its
verification, findings with their history; auditors only read (and are logged), administrators
run the rules and review findings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from audit import service as audit_service
from audit import tasks as audit_tasks
from core.db import read_only, unit_of_work
from marketplace.accounts.models import Role
from marketplace.orders import service as orders_service
from marketplace.orders.schemas import OrderCreate
from marketplace.providers.models import Provider
from pricing import repository as pricing_repo
from pricing.models import EntryKind
from tests import factories as f
from tests.api.accounts import account_token_and_id, as_, get_as, personal_reads
from tests.audit.test_repository import ORDERED, _dibao_order, _visit

MONTH = "2026-12"


@dataclass
class World:
    """A subsidised visit done by a colleague of the booked worker, an unsubsidised order."""

    client: TestClient
    tokens: dict[str, str]
    accounts: dict[str, int]
    order: str
    plain_order: str
    provider: str


@pytest.fixture
def world(configured: str) -> World:
    with unit_of_work() as session:
        order, _ = _dibao_order(session)
        provider = session.get(Provider, order.provider_id)
        assert provider is not None
        _visit(session, order, by=f.make_worker(session, provider=provider, name="王师傅"))
        household, _ = f.make_household(session)
        younger = f.add_member(session, household)  # 64, no protected group: no subsidy
        item = f.item(session, "domestic.cleaning")
        assert household.id and younger.id and provider.id and item.id
        plain = orders_service.create_order(
            session,
            OrderCreate(
                household_id=household.id,
                recipient_member_id=younger.id,
                provider_id=provider.id,
                item_id=item.id,
                service_date=f.DAY,
                windows=[f.window(f.DAY, time(14), time(16))],
                duration_minutes=60,
            ),
            actor="test:household",
            now=ORDERED,
        )
        assert plain.subsidy_fen == plain.ltc_fen == 0
        made = {
            "auditor": account_token_and_id(session, "aud", Role.AUDITOR),
            "admin": account_token_and_id(session, "boss", Role.ADMIN),
            "provider": account_token_and_id(
                session, "prov", Role.PROVIDER_ADMIN, provider_id=provider.id
            ),
            "dispatcher": account_token_and_id(session, "disp", Role.DISPATCHER),
        }
        return World(
            client=TestClient(create_app(), raise_server_exceptions=False),
            tokens={k: v[0] for k, v in made.items()},
            accounts={k: v[1] for k, v in made.items()},
            order=order.public_id,
            plain_order=plain.public_id,
            provider=provider.public_id,
        )


def _reads(world: World, who: str) -> list[str]:
    return personal_reads(world.accounts[who])


def test_subsidised_orders_only_a_page_at_a_time(world: World) -> None:
    got = get_as(world, "auditor", "/audit/orders", month=MONTH)
    assert got.status_code == 200, got.text
    (order,) = got.json()["items"]
    assert order["id"] == world.order and order["id"] != world.plain_order
    assert (order["subsidy_fen"], order["copay_fen"], order["group"]) == (6400, 1600, "dibao")
    assert order["provider"] == world.provider and order["worker"].startswith("wkr_")
    assert get_as(world, "auditor", "/audit/orders", month="2027-01").json()["items"] == []
    assert (
        get_as(world, "admin", "/audit/orders", provider=world.provider).json()["items"][0]["id"]
        == world.order
    )
    unknown = get_as(world, "auditor", "/audit/orders", provider="prv_00000000000000000000")
    assert unknown.status_code == 404
    for who in ("provider", "dispatcher"):
        assert get_as(world, who, "/audit/orders").status_code == 403


def test_visits_carry_their_evv_verdict(world: World) -> None:
    got = get_as(world, "auditor", "/audit/visits", month=MONTH)
    assert got.status_code == 200, got.text
    (visit,) = got.json()["items"]
    assert visit["order"] == world.order and visit["id"].startswith("vis")
    # Checked in by GPS at the home, checked out by hand: verified, after an edit.
    assert visit["evv"] == {"status": "verified_after_edit", "reasons": []}
    assert (visit["check_in_method"], visit["check_out_method"], visit["edits"]) == (
        "gps",
        "manual",
        1,
    )
    assert visit["worker"] != visit["scheduled_worker"]  # a colleague covered
    assert visit["subsidy_fen"] == 6400
    assert get_as(world, "auditor", "/audit/visits", month="2027-01").json()["items"] == []
    assert get_as(world, "auditor", "/audit/visits").status_code == 422  # the month is required


def test_the_ledger_page_by_page_and_its_verdict(world: World) -> None:
    numbers: list[int] = []
    after: str | None = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 3}
        if after:
            params["after"] = after
        page = get_as(world, "auditor", "/audit/ledger", **params).json()
        numbers += [e["number"] for e in page["items"]]
        after = page["next"]
        if after is None:
            break
    with read_only() as session:
        entries = list(pricing_repo.entries(session))
        assert numbers == [e.id for e in entries]
    first = get_as(world, "auditor", "/audit/ledger", limit=1).json()["items"][0]
    assert first["order"] == world.order and first["kind"] == "reserve"
    assert first["prev_hash"] == "0" * 64 and len(first["hash"]) == 64
    verdict = get_as(world, "auditor", "/audit/ledger/verify")
    assert verdict.status_code == 200
    assert verdict.json() == {
        "ok": True,
        "entries": len(numbers),
        "first_broken": None,
        "problem": "",
        "balance_problems": [],
    }
    assert get_as(world, "auditor", "/audit/ledger", after="not-a-cursor").status_code == 422


def test_only_an_administrator_runs_the_rules_and_reviews(world: World) -> None:
    key = uuid.uuid4().hex
    refused = world.client.post(
        "/audit/runs", json={"month": MONTH}, headers=as_(world, "auditor", key)
    )
    assert refused.status_code == 403
    queued = world.client.post(
        "/audit/runs", json={"month": MONTH}, headers=as_(world, "admin", key)
    )
    assert queued.status_code == 202, queued.text
    assert (
        queued.headers["Location"] == queued.json()["url"] == f"/audit/runs/{queued.json()['id']}"
    )
    assert queued.json()["status"] == "queued" and queued.json()["finished_at"] is None
    again = world.client.post(
        "/audit/runs", json={"month": MONTH}, headers=as_(world, "admin", key)
    )
    assert again.status_code == 200 and again.json()["id"] == queued.json()["id"]
    other = world.client.post(
        "/audit/runs", json={"month": "2027-01"}, headers=as_(world, "admin", key)
    )
    assert other.status_code == 409
    # One run of a month at a time: two would record the same findings twice.
    busy = world.client.post(
        "/audit/runs", json={"month": MONTH}, headers=as_(world, "admin", uuid.uuid4().hex)
    )
    assert busy.status_code == 409 and queued.json()["id"] in busy.json()["detail"]

    # What the worker runs (audit.tasks), here in-process: tests/api/test_exports_api.py has
    # the real worker.
    with unit_of_work() as session:
        run_row = audit_service.get_run_or_raise(session, queued.json()["id"])
        assert run_row.id is not None
        row_id = run_row.id
    assert audit_tasks.run_queued(row_id) == "done"
    assert audit_tasks.run_queued(row_id) == "skipped"  # delivered twice: run once
    run = get_as(world, "auditor", queued.json()["url"]).json()
    assert run["status"] == "done" and run["finished_at"] is not None
    assert (run["visits"], run["hits"], run["new_findings"], run["ledger_ok"]) == (1, 1, 1, True)
    assert run["hits_by_rule"] == {"other_worker": 1}
    assert [r["id"] for r in get_as(world, "auditor", "/audit/runs").json()["items"]] == [run["id"]]

    listed = get_as(world, "auditor", "/audit/findings", month=MONTH, status="open")
    assert listed.status_code == 200
    (finding,) = listed.json()["items"]
    assert (finding["rule"], finding["status"], finding["subsidy_fen"]) == (
        "other_worker",
        "open",
        6400,
    )
    assert get_as(world, "auditor", "/audit/findings", status="confirmed").json()["items"] == []
    assert get_as(world, "auditor", "/audit/findings", status="closed").status_code == 422

    path = f"/audit/findings/{finding['id']}"
    detail = get_as(world, "auditor", path).json()
    assert [(h["from_status"], h["to_status"]) for h in detail["history"]] == [(None, "open")]
    review = {"to": "confirmed", "reason": "unqualified_worker", "note": "not the booked one"}
    assert (
        world.client.post(f"{path}/review", json=review, headers=as_(world, "auditor"))
    ).status_code == 403
    mismatched = {"to": "confirmed", "reason": "false_positive"}
    assert (
        world.client.post(f"{path}/review", json=mismatched, headers=as_(world, "admin"))
    ).status_code == 422
    confirmed = world.client.post(f"{path}/review", json=review, headers=as_(world, "admin"))
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert (body["status"], body["clawback_fen"]) == ("confirmed", 6400)
    assert [h["to_status"] for h in body["history"]] == ["open", "confirmed"]
    assert body["history"][-1]["reason_code"] == "unqualified_worker"
    assert get_as(world, "auditor", path).json() == body
    with read_only() as session:
        kinds = [e.kind for e in pricing_repo.entries_of_order(session, world.order)]
    assert kinds.count(EntryKind.REVERSAL) == 1
    twice = world.client.post(f"{path}/review", json=review, headers=as_(world, "admin"))
    assert twice.status_code == 409
    assert get_as(world, "auditor", "/audit/findings/fnd_00000000000000000000").status_code == 404


def test_every_auditor_read_of_personal_data_is_logged(world: World) -> None:
    for path, params in [
        ("/audit/orders", {}),
        ("/audit/visits", {"month": MONTH}),
        ("/audit/ledger", {}),
        ("/audit/ledger/verify", {}),
        ("/audit/findings", {}),
    ]:
        assert get_as(world, "auditor", path, **params).status_code == 200
    assert _reads(world, "auditor") == [
        "GET /audit/orders",
        "GET /audit/visits",
        "GET /audit/ledger",
        "GET /audit/findings",
    ]  # the chain's verdict shows nobody's data
