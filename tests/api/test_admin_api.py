"""Administration over HTTP: civil-affairs review of protected-status applications (approval
gives the member the subsidy in the next quote), policy versions, district budgets, and user
accounts (a disabled account's token stops working)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.db import unit_of_work
from core.timeutil import local_date, utcnow
from marketplace.accounts.models import Role
from marketplace.orders import service as orders_service
from pricing.policy import policy_to_dict, reference_policy
from tests import factories as f
from tests.api.accounts import account_token, as_, member_links
from tests.api.quotes import quote_cleaning


@dataclass
class World:
    """A household with a member of 64 (no group by age), its provider, staff accounts."""

    client: TestClient
    tokens: dict[str, str]
    member: str
    other_member: str
    provider: str
    worker: str
    household: str


@pytest.fixture
def world(configured: str) -> World:
    with unit_of_work() as session:
        home, _ = f.make_household(session, district_code="350102")
        member = f.add_member(session, home)
        _, other = f.make_household(session, district_code="350103")
        provider = f.make_provider(session)
        worker = f.make_worker(session, provider=provider)
        f.item(session, "domestic.cleaning")
        tokens = {
            "household": account_token(session, "home1", Role.HOUSEHOLD, **member_links(member)),
            "auditor": account_token(session, "aud", Role.AUDITOR),
            "admin": account_token(session, "adm", Role.ADMIN),
            "civil": account_token(session, "civil", Role.ADMIN, civil_affairs=True),
            "dispatcher": account_token(session, "disp", Role.DISPATCHER),
        }
        return World(
            client=TestClient(create_app(), raise_server_exceptions=False),
            tokens=tokens,
            member=member.public_id,
            other_member=other.public_id,
            provider=provider.public_id,
            worker=worker.public_id,
            household=home.public_id,
        )


def _as(world: World, who: str, *, key: bool = False) -> dict[str, str]:
    return as_(world, who, uuid.uuid4().hex if key else None)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def _apply(world: World, member: str, category: str = "dibao") -> int:
    applied = world.client.post(
        f"/members/{member}/protected-statuses",
        json={
            "category": category,
            "evidence_kind": "低保证",
            "evidence": "低保证 2026-0042",
            "valid_from": "2026-01-01",
        },
        headers=_as(world, "household", key=True),
    )
    assert applied.status_code == 201, applied.text
    status_id: int = applied.json()["id"]
    return status_id


# --- protected-status review ---------------------------------------------------------------


def test_an_approved_application_gives_the_member_the_dibao_subsidy(world: World) -> None:
    status_id = _apply(world, world.member)
    before = quote_cleaning(world)
    # Unsubsidised, the provider's price is not capped at the guide price.
    assert (before["subsidy_fen"], before["copay_fen"], before["group"]) == (0, 9000, None)

    approve = f"/admin/protected-statuses/{status_id}/approve"
    assert (
        "civil-affairs"
        in _problem(world.client.post(approve, headers=_as(world, "admin")), 403)["detail"]
    )
    _problem(world.client.post(approve, headers=_as(world, "auditor")), 403)
    _problem(world.client.post(approve, headers=_as(world, "household")), 403)
    assert quote_cleaning(world)["subsidy_fen"] == 0  # still pending

    approved = world.client.post(approve, headers=_as(world, "civil"))
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["review"] == "approved" and body["verified_by"].startswith("admin:usr_")
    assert (body["evidence"], body["evidence_revealed"]) == ("低保证 2026-0042", True)

    after = quote_cleaning(world)
    assert (after["subsidy_fen"], after["copay_fen"], after["group"]) == (6400, 1600, "dibao")
    _problem(world.client.post(approve, headers=_as(world, "civil")), 409)  # already decided
    reject = f"/admin/protected-statuses/{status_id}/reject"
    _problem(world.client.post(reject, headers=_as(world, "civil")), 409)
    _problem(
        world.client.post("/admin/protected-statuses/999999/approve", headers=_as(world, "civil")),
        404,
    )
    _problem(
        world.client.post("/admin/protected-statuses/0/approve", headers=_as(world, "civil")), 422
    )

    revoked = world.client.post(
        f"/admin/protected-statuses/{status_id}/revoke", headers=_as(world, "civil")
    )
    assert revoked.status_code == 200 and revoked.json()["review"] == "revoked"
    assert quote_cleaning(world)["subsidy_fen"] == 0


def test_the_review_queue_pages_and_filters_by_review(world: World) -> None:
    made = [
        _apply(world, world.member, "dibao"),
        _apply(world, world.member, "youfu"),
        _apply(world, world.member, "tekun"),
    ]
    rejected = world.client.post(
        f"/admin/protected-statuses/{made[1]}/reject", headers=_as(world, "civil")
    )
    assert rejected.status_code == 200 and rejected.json()["review"] == "rejected"

    def pending(who: str) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(5):
            params: dict[str, Any] = {"status": "pending", "limit": 1}
            if after:
                params["after"] = after
            got = world.client.get(
                "/admin/protected-statuses", params=params, headers=_as(world, who)
            )
            assert got.status_code == 200, got.text
            seen += got.json()["items"]
            after = got.json()["next"]
            if after is None:
                break
        return seen

    assert [s["id"] for s in pending("admin")] == [made[0], made[2]]
    assert {s["evidence"] for s in pending("auditor")} == {"********"}
    assert {s["evidence"] for s in pending("civil")} == {"低保证 2026-0042"}
    everything = world.client.get("/admin/protected-statuses", headers=_as(world, "admin")).json()
    assert [s["review"] for s in everything["items"]] == ["pending", "rejected", "pending"]
    assert (
        world.client.get("/admin/protected-statuses", headers=_as(world, "dispatcher")).status_code
        == 403
    )
    bad = world.client.get(
        "/admin/protected-statuses", params={"status": "maybe"}, headers=_as(world, "admin")
    )
    _problem(bad, 422)


# --- policies ------------------------------------------------------------------------------


def _document(version: str, days_ahead: int) -> dict[str, Any]:
    document = copy.deepcopy(policy_to_dict(reference_policy()))
    document["version"] = version
    document["effective_from"] = (local_date(utcnow()) + timedelta(days=days_ahead)).isoformat()
    return document


def test_policy_versions_are_added_and_bad_documents_refused(world: World) -> None:
    listed = world.client.get("/admin/policies", headers=_as(world, "auditor"))
    assert listed.status_code == 200, listed.text
    assert [p["version"] for p in listed.json()["items"]] == ["fz-2026.1"]

    good = _document("fz-2027.1", 40)
    good["district_budgets_fen"]["350102"] = 123_456
    added = world.client.post("/admin/policies", json=good, headers=_as(world, "admin", key=True))
    assert added.status_code == 201, added.text
    assert added.json()["version"] == "fz-2027.1"
    assert added.json()["document"]["district_budgets_fen"]["350102"] == 123_456
    assert added.json()["created_by"].startswith("admin:usr_")
    versions = world.client.get("/admin/policies", headers=_as(world, "admin")).json()["items"]
    assert [p["version"] for p in versions] == ["fz-2026.1", "fz-2027.1"]

    _problem(
        world.client.post("/admin/policies", json=good, headers=_as(world, "admin", key=True)), 409
    )
    missing = {k: v for k, v in _document("x-1", 50).items() if k != "title"}
    assert (
        _problem(
            world.client.post(
                "/admin/policies", json=missing, headers=_as(world, "admin", key=True)
            ),
            422,
        )["detail"]
        == "$.title: required"
    )
    wrong_rule = _document("x-2", 50)
    wrong_rule["rules"]["dibao"]["care"] = {"kind": "share", "percent": 120}
    assert (
        _problem(
            world.client.post(
                "/admin/policies", json=wrong_rule, headers=_as(world, "admin", key=True)
            ),
            422,
        )["detail"]
        == "$.rules.dibao.care.percent: must be between 1 and 100"
    )
    past = _document("x-3", -1)
    assert (
        "before today"
        in _problem(
            world.client.post("/admin/policies", json=past, headers=_as(world, "admin", key=True)),
            422,
        )["detail"]
    )
    long_name = _document("x" * 41, 60)
    assert _problem(
        world.client.post("/admin/policies", json=long_name, headers=_as(world, "admin", key=True)),
        422,
    )["detail"].startswith("$.version")
    nul = _document("x-4", 60)
    nul["title"] = "a\x00b"
    _problem(
        world.client.post("/admin/policies", json=nul, headers=_as(world, "admin", key=True)), 422
    )
    _problem(
        world.client.post("/admin/policies", json=[1], headers=_as(world, "admin", key=True)), 422
    )
    _problem(
        world.client.post(
            "/admin/policies", json=_document("x-5", 70), headers=_as(world, "auditor", key=True)
        ),
        403,
    )
    versions = world.client.get("/admin/policies", headers=_as(world, "admin")).json()["items"]
    assert [p["version"] for p in versions] == ["fz-2026.1", "fz-2027.1"]


# --- budgets -------------------------------------------------------------------------------


def test_the_budget_report_shows_what_the_ledger_holds_per_district(world: World) -> None:
    def district(who: str, code: str, month: str = "2026-12") -> dict[str, Any]:
        got = world.client.get("/admin/budgets", params={"month": month}, headers=_as(world, who))
        assert got.status_code == 200, got.text
        assert got.json()["policy_version"] == "fz-2026.1"
        rows: dict[str, dict[str, Any]] = {d["district_code"]: d for d in got.json()["districts"]}
        return rows[code]

    empty = district("admin", "350102")
    assert (empty["budget_fen"], empty["committed_fen"], empty["remaining_fen"]) == (
        30_000_000,
        0,
        30_000_000,
    )
    assert empty["district_name"] is not None  # the test district is an area

    status_id = _apply(world, world.member)
    assert (
        world.client.post(
            f"/admin/protected-statuses/{status_id}/approve", headers=_as(world, "civil")
        ).status_code
        == 200
    )
    day = "2026-12-07"
    order = world.client.post(
        "/orders",
        json={
            "member": world.member,
            "provider": world.provider,
            "item": "domestic.cleaning",
            "service_date": day,
            "windows": [{"starts_at": f"{day}T09:00:00+08:00", "ends_at": f"{day}T12:00:00+08:00"}],
            "duration_minutes": 120,
        },
        headers=_as(world, "household", key=True),
    )
    assert order.status_code == 201, order.text
    with unit_of_work() as session:
        row = orders_service.get_by_public_id_or_raise(session, order.json()["id"])
        orders_service.confirm(session, row, actor="provider")

    held = district("auditor", "350102")
    assert (held["committed_fen"], held["consumed_fen"], held["remaining_fen"]) == (
        6400,
        0,
        30_000_000 - 6400,
    )
    assert district("admin", "350103")["committed_fen"] == 0
    assert district("admin", "350102", "2027-01")["committed_fen"] == 0
    for month in ("2026-13", "26-12", "2026-1"):
        bad = world.client.get(
            "/admin/budgets", params={"month": month}, headers=_as(world, "admin")
        )
        _problem(bad, 422)
    _problem(world.client.get("/admin/budgets", headers=_as(world, "household")), 403)
    before_any_policy = world.client.get(
        "/admin/budgets", params={"month": "2020-01"}, headers=_as(world, "admin")
    )
    _problem(before_any_policy, 422)


# --- users ---------------------------------------------------------------------------------


def _sign_in(world: World, username: str, password: str) -> Any:
    return world.client.post("/auth/token", data={"username": username, "password": password})


def test_users_are_created_listed_disabled_and_enabled(world: World) -> None:
    new_worker = {
        "username": "li.ayi",
        "password": "worker-password-1",
        "role": "worker",
        "display_name": "李阿姨",
        "provider": world.provider,
        "worker": world.worker,
    }
    created = world.client.post(
        "/admin/users", json=new_worker, headers=_as(world, "admin", key=True)
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["id"].startswith("usr_") and "password" not in user
    assert (user["provider"], user["worker"], user["active"]) == (
        world.provider,
        world.worker,
        True,
    )
    _problem(
        world.client.post("/admin/users", json=new_worker, headers=_as(world, "admin", key=True)),
        409,
    )
    changes: list[tuple[dict[str, Any], int]] = [
        ({"username": "w2", "worker": None}, 422),  # too short a name
        ({"username": "worker2", "worker": None}, 422),  # a worker names its worker
        ({"username": "worker3", "provider": "prv_00000000000000000000"}, 404),
        ({"username": "worker4", "role": "household"}, 422),
        ({"username": "auditor2", "role": "auditor", "provider": None, "worker": None}, 201),
    ]
    for change, status in changes:
        got = world.client.post(
            "/admin/users", json={**new_worker, **change}, headers=_as(world, "admin", key=True)
        )
        assert got.status_code == status, (change, got.text)
    _problem(
        world.client.post("/admin/users", json=new_worker, headers=_as(world, "civil", key=False)),
        422,
    )
    _problem(
        world.client.post("/admin/users", json=new_worker, headers=_as(world, "auditor", key=True)),
        403,
    )

    names: list[str] = []
    after: str | None = None
    for _ in range(20):
        params: dict[str, Any] = {"limit": 3}
        if after:
            params["after"] = after
        got = world.client.get("/admin/users", params=params, headers=_as(world, "admin"))
        assert got.status_code == 200, got.text
        names += [u["username"] for u in got.json()["items"]]
        after = got.json()["next"]
        if after is None:
            break
    assert names == ["home1", "aud", "adm", "civil", "disp", "li.ayi", "auditor2"]
    workers = world.client.get(
        "/admin/users", params={"role": "worker"}, headers=_as(world, "admin")
    )
    assert [u["username"] for u in workers.json()["items"]] == ["li.ayi"]

    signed_in = _sign_in(world, "li.ayi", "worker-password-1")
    assert signed_in.status_code == 200, signed_in.text
    token = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert world.client.get("/auth/me", headers=token).status_code == 200

    disabled = world.client.post(f"/admin/users/{user['id']}/disable", headers=_as(world, "admin"))
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    _problem(world.client.get("/auth/me", headers=token), 401)
    _problem(_sign_in(world, "li.ayi", "worker-password-1"), 401)

    enabled = world.client.post(f"/admin/users/{user['id']}/enable", headers=_as(world, "admin"))
    assert enabled.status_code == 200 and enabled.json()["active"] is True
    _problem(world.client.get("/auth/me", headers=token), 401)  # old tokens stay revoked
    assert _sign_in(world, "li.ayi", "worker-password-1").status_code == 200

    me = world.client.get("/auth/me", headers=_as(world, "admin")).json()["id"]
    assert (
        "own account"
        in _problem(
            world.client.post(f"/admin/users/{me}/disable", headers=_as(world, "admin")), 409
        )["detail"]
    )
    _problem(
        world.client.post(
            "/admin/users/usr_00000000000000000000/disable", headers=_as(world, "admin")
        ),
        404,
    )
    _problem(
        world.client.post(f"/admin/users/{user['id']}/disable", headers=_as(world, "auditor")), 403
    )
