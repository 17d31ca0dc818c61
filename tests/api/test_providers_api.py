"""Providers over HTTP: choosing one, a provider admin managing its own workers and prices (and
404 on anyone else's), the readers each role is, idempotent creation, tariffs in quotes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api.app import create_app
from core.db import unit_of_work
from marketplace.accounts.models import PersonalDataRead, Role
from marketplace.geography.models import AreaLevel
from marketplace.households.models import ProtectedCategory
from marketplace.providers.models import ProviderDistrict
from tests import factories as f
from tests.api.accounts import account_token, as_, member_links, worker_links
from tests.api.quotes import quote_cleaning


@dataclass
class World:
    """Two providers with an admin each, readers of several roles, a household."""

    client: TestClient
    tokens: dict[str, str]
    provider: str  # the first provider (serves one district)
    other_provider: str
    inactive_provider: str
    district: str  # the district code the first provider serves
    worker: str  # a worker of the first provider
    other_worker: str  # a worker of the second provider
    member: str  # the household's 低保 member


@pytest.fixture
def world(configured: str) -> World:
    with unit_of_work() as session:
        home, _ = f.make_household(session)
        member = f.add_member(session, home)
        f.grant_status(session, member, ProtectedCategory.DIBAO)
        areas = f.make_areas(session)
        district = areas[AreaLevel.DISTRICT]
        provider = f.make_provider(session)
        assert provider.id is not None and district.id is not None
        session.add(ProviderDistrict(provider_id=provider.id, district_id=district.id))
        other = f.make_provider(session)
        inactive = f.make_provider(session)
        inactive.active = False
        session.add(inactive)
        worker = f.make_worker(session, provider=provider)
        other_worker = f.make_worker(session, provider=other, name="张师傅")
        f.item(session, "domestic.cleaning")
        tokens = {
            "household": account_token(session, "home", Role.HOUSEHOLD, **member_links(member)),
            "admin1": account_token(session, "prov1", Role.PROVIDER_ADMIN, provider_id=provider.id),
            "admin2": account_token(session, "prov2", Role.PROVIDER_ADMIN, provider_id=other.id),
            "dispatcher1": account_token(
                session, "disp1", Role.DISPATCHER, provider_id=provider.id
            ),
            "dispatcher2": account_token(session, "disp2", Role.DISPATCHER, provider_id=other.id),
            "platform": account_token(session, "platform", Role.DISPATCHER),
            "worker": account_token(session, "wkr", Role.WORKER, **worker_links(worker)),
            "auditor": account_token(session, "aud", Role.AUDITOR),
            "admin": account_token(session, "root", Role.ADMIN),
        }
        return World(
            client=TestClient(create_app(), raise_server_exceptions=False),
            tokens=tokens,
            provider=provider.public_id,
            other_provider=other.public_id,
            inactive_provider=inactive.public_id,
            district=district.code,
            worker=worker.public_id,
            other_worker=other_worker.public_id,
            member=member.public_id,
        )


def _worker_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "陈阿姨",
        "gender": "female",
        "phone": "13700000001",
        "languages": ["zh", "cdo"],
        "start_lat": 26.07,
        "start_lon": 119.29,
        "skills": [{"skill": "housekeeping", "level": 3}],
        "certificates": [{"kind": "domestic_worker", "number": "DW-1", "issued_on": "2024-01-01"}],
        "shifts": [{"weekday": 0, "starts_at": "08:00", "ends_at": "17:00"}],
    }
    return {**body, **changes}


def _add_worker(world: World, who: str, provider: str, body: dict[str, Any], key: str) -> Any:
    return world.client.post(
        f"/providers/{provider}/workers", json=body, headers=as_(world, who, key)
    )


def test_every_signed_in_role_lists_the_active_providers(world: World) -> None:
    assert world.client.get("/providers").status_code == 401
    body = world.client.get("/providers", headers=as_(world, "household")).json()
    ids = [p["id"] for p in body["items"]]
    assert world.provider in ids and world.other_provider in ids
    assert world.inactive_provider not in ids
    mine = next(p for p in body["items"] if p["id"] == world.provider)
    assert [d["code"] for d in mine["districts"]] == [world.district]
    assert mine["kind"] == "care_centre" and mine["priced_items"] == []
    # One district: only the provider serving it; an unknown district is 404.
    served = world.client.get(
        "/providers", params={"district": world.district}, headers=as_(world, "worker")
    ).json()
    assert [p["id"] for p in served["items"]] == [world.provider]
    unknown = world.client.get(
        "/providers", params={"district": "nowhere"}, headers=as_(world, "household")
    )
    assert unknown.status_code == 404
    # Pages follow the cursor.
    first = world.client.get("/providers", params={"limit": 1}, headers=as_(world, "auditor"))
    assert len(first.json()["items"]) == 1 and first.json()["next"]
    # An inactive provider is hidden from households, not from its staff's administrators.
    hidden = world.client.get(
        f"/providers/{world.inactive_provider}", headers=as_(world, "household")
    )
    assert hidden.status_code == 404
    shown = world.client.get(f"/providers/{world.inactive_provider}", headers=as_(world, "admin"))
    assert shown.status_code == 200


def test_a_provider_admin_adds_a_worker_once_per_key(world: World) -> None:
    key = uuid.uuid4().hex
    created = _add_worker(world, "admin1", world.provider, _worker_body(), key)
    assert created.status_code == 201, created.text
    worker = created.json()
    assert worker["id"].startswith("wkr_") and worker["provider"] == world.provider
    assert worker["skills"] == [{"skill": "housekeeping", "level": 3}]
    assert worker["certificates"][0]["kind"] == "domestic_worker"
    assert worker["end_lat"] == 26.07  # the route ends where it starts
    again = _add_worker(world, "admin1", world.provider, _worker_body(), key)
    assert again.status_code == 200 and again.json() == worker
    changed = _add_worker(world, "admin1", world.provider, _worker_body(name="别人"), key)
    assert changed.status_code == 409
    listed = world.client.get(
        f"/providers/{world.provider}/workers", headers=as_(world, "admin1")
    ).json()
    assert [w["id"] for w in listed["items"]] == [world.worker, worker["id"]]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start_lat": 91}, "start_lat"),
        ({"languages": ["klingon"]}, None),
        ({"skills": [{"skill": "juggling"}]}, None),
        ({"end_lat": 26.0}, None),  # an end latitude without its longitude
        (
            {
                "shifts": [
                    {"weekday": 1, "starts_at": "08:00", "ends_at": "12:00"},
                    {"weekday": 1, "starts_at": "11:00", "ends_at": "15:00"},
                ]
            },
            None,
        ),
    ],
)
def test_a_worker_that_breaks_a_rule_is_422(
    world: World, changes: dict[str, Any], field: str | None
) -> None:
    response = _add_worker(world, "admin1", world.provider, _worker_body(**changes), "k" * 16)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert any(field in e["field"] for e in response.json()["errors"])


def test_a_provider_admin_manages_shifts_skills_certificates_and_leave(world: World) -> None:
    me = as_(world, "admin1")
    base = f"/workers/{world.worker}"
    shifts = [
        {"weekday": 0, "starts_at": "08:00", "ends_at": "12:00"},
        {"weekday": 0, "starts_at": "13:00", "ends_at": "17:00"},
        {
            "weekday": 2,
            "starts_at": "08:00",
            "ends_at": "17:00",
            "break_after_minutes": 240,
            "break_minutes": 60,
        },
    ]
    put = world.client.put(f"{base}/shifts", json={"shifts": shifts}, headers=me)
    assert put.status_code == 200, put.text
    assert [(s["weekday"], s["starts_at"]) for s in put.json()["shifts"]] == [
        (0, "08:00:00"),
        (0, "13:00:00"),
        (2, "08:00:00"),
    ]
    overlapping = [*shifts, {"weekday": 2, "starts_at": "16:00", "ends_at": "18:00"}]
    refused = world.client.put(f"{base}/shifts", json={"shifts": overlapping}, headers=me)
    assert refused.status_code == 422
    assert len(world.client.get(base, headers=me).json()["shifts"]) == 3  # unchanged

    skill = world.client.put(f"{base}/skills/cooking", json={"level": 4}, headers=me)
    assert skill.json() == {"skill": "cooking", "level": 4}
    assert world.client.put(
        f"{base}/skills/juggling", json={"level": 1}, headers=me
    ).status_code == (422)
    assert world.client.put(
        f"{base}/skills/cooking", json={"level": 6}, headers=me
    ).status_code == (422)

    cert = {"kind": "health_certificate", "number": "HC-9", "issued_on": "2026-01-05"}
    added = world.client.post(
        f"{base}/certificates", json=cert, headers=as_(world, "admin1", uuid.uuid4().hex)
    )
    assert added.status_code == 201, added.text
    listed = world.client.get(f"{base}/certificates", headers=me).json()
    assert [c["number"] for c in listed["items"]] == ["HC-9"] and listed["next"] is None
    backwards = {**cert, "expires_on": "2025-01-01"}
    assert (
        world.client.post(
            f"{base}/certificates", json=backwards, headers=as_(world, "admin1", "x" * 10)
        ).status_code
        == 422
    )

    # Monday 2026-12-07: the weekly shifts, then a morning off.
    day = {"date": "2026-12-07"}
    free = world.client.get(f"{base}/availability", params=day, headers=me).json()
    assert [(p["starts_at"], p["ends_at"]) for p in free["periods"]] == [
        ("08:00:00", "12:00:00"),
        ("13:00:00", "17:00:00"),
    ]
    leave = {
        "on_date": "2026-12-07",
        "kind": "leave",
        "starts_at": "08:00",
        "ends_at": "12:00",
        "reason": "体检",
    }
    noted = world.client.post(
        f"{base}/shift-exceptions", json=leave, headers=as_(world, "admin1", uuid.uuid4().hex)
    )
    assert noted.status_code == 201, noted.text
    free = world.client.get(f"{base}/availability", params=day, headers=me).json()
    assert [(p["starts_at"], p["ends_at"]) for p in free["periods"]] == [("13:00:00", "17:00:00")]

    gone = world.client.post(f"{base}/deactivate", headers=me)
    assert gone.status_code == 200 and gone.json()["active"] is False


def test_another_providers_workers_and_prices_are_404(world: World) -> None:
    theirs = f"/workers/{world.other_worker}"
    cert = {"kind": "health_certificate", "number": "HC-1", "issued_on": "2026-01-05"}
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/providers/{world.other_provider}/workers", None),
        ("POST", f"/providers/{world.other_provider}/workers", _worker_body()),
        ("GET", f"/providers/{world.other_provider}/tariffs", None),
        (
            "PUT",
            f"/providers/{world.other_provider}/tariffs/domestic.cleaning",
            {"unit_price_fen": 1},
        ),
        ("GET", f"/providers/{world.other_provider}/routes", None),
        ("GET", theirs, None),
        ("PUT", f"{theirs}/shifts", {"shifts": []}),
        ("PUT", f"{theirs}/skills/cooking", {"level": 2}),
        ("GET", f"{theirs}/certificates", None),
        ("POST", f"{theirs}/certificates", cert),
        ("POST", f"{theirs}/deactivate", None),
        ("GET", f"{theirs}/availability", None),
    ]
    for method, path, body in attempts:
        response = world.client.request(
            method, path, json=body, headers=as_(world, "admin1", uuid.uuid4().hex)
        )
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    # The same made-up id and a real one answer alike.
    made_up = world.client.get("/workers/wkr_made_up_0000000000", headers=as_(world, "admin1"))
    assert made_up.status_code == 404
    assert (
        made_up.json()["title"]
        == world.client.get(theirs, headers=as_(world, "admin1")).json()["title"]
    )


def test_readers_read_and_only_managers_write(world: World) -> None:
    workers = f"/providers/{world.provider}/workers"
    for who, status in [
        ("dispatcher1", 200),
        ("platform", 200),
        ("auditor", 200),
        ("admin", 200),
        ("dispatcher2", 404),  # another provider's dispatcher
        ("worker", 403),
        ("household", 403),
    ]:
        got = world.client.get(workers, headers=as_(world, who))
        assert got.status_code == status, (who, got.text)
    # A worker sees itself, not a colleague.
    assert world.client.get(
        f"/workers/{world.worker}", headers=as_(world, "worker")
    ).status_code == (200)
    assert (
        world.client.get(f"/workers/{world.other_worker}", headers=as_(world, "worker")).status_code
        == 404
    )
    # Dispatchers and auditors read but do not write; the administrator writes.
    for who, status in [("dispatcher1", 403), ("auditor", 403), ("admin", 200)]:
        put = world.client.put(
            f"/workers/{world.worker}/shifts", json={"shifts": []}, headers=as_(world, who)
        )
        assert put.status_code == status, (who, put.text)
    # The auditor's reads of worker data are logged.
    with unit_of_work() as session:
        logged = session.exec(select(PersonalDataRead)).all()
        assert any(r.path == workers for r in logged)


def test_a_provider_prices_its_items_and_quotes_follow_capped_by_the_guide(world: World) -> None:
    url = f"/providers/{world.provider}/tariffs/domestic.cleaning"
    set_ = world.client.put(
        url, json={"unit_price_fen": 3500, "night_percent": 20}, headers=as_(world, "admin1")
    )
    assert set_.status_code == 200, set_.text
    assert set_.json()["unit_price_fen"] == 3500 and set_.json()["guide_price_fen"] == 4000
    listed = world.client.get(
        f"/providers/{world.provider}/tariffs", headers=as_(world, "dispatcher1")
    ).json()
    assert [(t["item"], t["unit_price_fen"]) for t in listed["items"]] == [
        ("domestic.cleaning", 3500)
    ]
    chosen = world.client.get(f"/providers/{world.provider}", headers=as_(world, "household"))
    assert chosen.json()["priced_items"] == ["domestic.cleaning"]

    def quoted() -> int:
        return int(quote_cleaning(world)["list_price_fen"])

    assert quoted() == 7000  # two hours at 35 yuan
    raised = world.client.put(url, json={"unit_price_fen": 6000}, headers=as_(world, "admin1"))
    assert raised.status_code == 200
    assert quoted() == 8000  # capped at the guide price, 40 yuan an hour

    for body, status in [
        ({"unit_price_fen": 0}, 422),
        ({"unit_price_fen": 100, "night_percent": 301}, 422),
        ({"unit_price_fen": 100, "per_km_fen": -1}, 422),
    ]:
        assert world.client.put(url, json=body, headers=as_(world, "admin1")).status_code == status
    unknown = world.client.put(
        f"/providers/{world.provider}/tariffs/no.such.item",
        json={"unit_price_fen": 100},
        headers=as_(world, "admin1"),
    )
    assert unknown.status_code == 404
    assert (
        world.client.put(
            url, json={"unit_price_fen": 100}, headers=as_(world, "dispatcher1")
        ).status_code
        == 403
    )
