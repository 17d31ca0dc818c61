"""Households over HTTP: sign-up then sign-in, members seen only by their household, its proxies
and staff, ID numbers and evidence masked except to the person and civil-affairs staff, logged
staff reads, family proxies, preferences and protected-status applications."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, func, select

from api.app import create_app
from core.db import unit_of_work
from core.errors import Validation
from core.timeutil import utcnow
from marketplace.accounts import repository as accounts_repo
from marketplace.accounts.models import IdempotencyRecord, PersonalDataRead, Role
from marketplace.households import service as households_service
from marketplace.households.schemas import FamilyProxyCreate, MemberCreate
from marketplace.providers.models import Gender
from tests import factories as f
from tests.api.accounts import account_token, as_, member_links, personal_reads, worker_links

PROXY_PHONE = "13900002222"


def id_number(born: date, serial: str = "123") -> str:
    """A valid resident ID number (district 350102) for someone born on ``born``."""
    first17 = f"350102{born:%Y%m%d}{serial}"
    return first17 + households_service.id_check_digit(first17)


def masked(number: str) -> str:
    return number[:6] + "********" + number[-4:]


@dataclass
class World:
    """Areas to register in; a household whose member ``me`` holds the account, with an elder
    (a proxy acts for them); another household; staff of every kind."""

    client: TestClient
    areas: dict[str, int]
    tokens: dict[str, str]
    me: str  # the household account's own member (has an ID number)
    me_id_number: str
    elder: str  # same household, ID number, the proxy's elder
    elder_id_number: str
    other_member: str  # another household's member


@pytest.fixture
def world(configured: str) -> World:
    with unit_of_work() as session:
        chain = f.make_areas(session, district_code="350102")
        home, _ = f.make_household(session, district_code="350102")
        assert home.id is not None
        me_number = id_number(date(1970, 3, 5))
        me = households_service.add_member(
            session,
            home.id,
            MemberCreate(
                name="林先生", gender=Gender.MALE, birth_date=date(1970, 3, 5), id_number=me_number
            ),
        )
        elder_number = id_number(date(1942, 8, 9), "456")
        elder = households_service.add_member(
            session,
            home.id,
            MemberCreate(
                name="林奶奶",
                gender=Gender.FEMALE,
                birth_date=date(1942, 8, 9),
                id_number=elder_number,
            ),
        )
        assert elder.id is not None
        households_service.add_family_proxy(
            session, elder.id, FamilyProxyCreate(name="女儿", phone=PROXY_PHONE, relation="女儿")
        )
        _, other = f.make_household(session)
        provider = f.make_provider(session)
        worker = f.make_worker(session, provider=provider)
        tokens = {
            "household": account_token(session, "home1", Role.HOUSEHOLD, **member_links(me)),
            "other": account_token(session, "home2", Role.HOUSEHOLD, **member_links(other)),
            "proxy": account_token(session, "daughter", Role.PROXY, phone=PROXY_PHONE),
            "worker": account_token(session, "wkr", Role.WORKER, **worker_links(worker)),
            "auditor": account_token(session, "aud", Role.AUDITOR),
            "admin": account_token(session, "adm", Role.ADMIN),
            "civil": account_token(session, "civil", Role.ADMIN, civil_affairs=True),
            "civil_auditor": account_token(session, "civil-aud", Role.AUDITOR, civil_affairs=True),
        }
        return World(
            client=TestClient(create_app(), raise_server_exceptions=False),
            areas={level.value: area.id or 0 for level, area in chain.items()},
            tokens=tokens,
            me=me.public_id,
            me_id_number=me_number,
            elder=elder.public_id,
            elder_id_number=elder_number,
            other_member=other.public_id,
        )


def _key() -> str:
    return uuid.uuid4().hex


def _registration(world: World, username: str, **member: Any) -> dict[str, Any]:
    return {
        "household": {
            "address": "鼓楼区温泉路 8 号 3 座 502",
            "district_id": world.areas["district"],
            "street_id": world.areas["street"],
            "community_id": world.areas["community"],
            "grid_id": world.areas["grid"],
            "lat": 26.09,
            "lon": 119.31,
            "phone": "059187000000",
        },
        "member": {
            "name": "陈伯",
            "gender": "male",
            "birth_date": "1950-06-01",
            "phone": "13800001234",
            "languages": ["zh", "cdo"],
            **member,
        },
        "username": username,
        "password": "a-long-password-1",
    }


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


# --- registration --------------------------------------------------------------------------


def test_a_household_registers_signs_in_and_adds_a_member(world: World) -> None:
    number = id_number(date(1950, 6, 1), "777")
    signed_up = world.client.post(
        "/households/register", json=_registration(world, "chenbo", id_number=number)
    )
    assert signed_up.status_code == 201, signed_up.text
    created = signed_up.json()
    assert created["household"]["id"].startswith("hh_")
    assert created["member"]["id"].startswith("mbr_")
    assert created["member"]["household"] == created["household"]["id"]
    # The person themselves sees their own ID number.
    assert created["member"]["id_number"] == number and created["member"]["id_number_revealed"]
    assert created["account"]["role"] == "household"

    tokens = world.client.post(
        "/auth/token", data={"username": "chenbo", "password": "a-long-password-1"}
    )
    assert tokens.status_code == 200, tokens.text
    signed_in = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    mine = world.client.get("/households/me", headers=signed_in)
    assert mine.status_code == 200, mine.text
    assert mine.json()["id"] == created["household"]["id"]
    assert [m["id"] for m in mine.json()["members"]] == [created["member"]["id"]]

    spouse_number = id_number(date(1952, 2, 29), "888")
    spouse = {
        "name": "陈姨",
        "gender": "female",
        "birth_date": "1952-02-29",
        "id_number": spouse_number.lower(),  # normalised to an upper-case X
    }
    key = _key()
    added = world.client.post(
        "/households/me/members", json=spouse, headers={**signed_in, "Idempotency-Key": key}
    )
    assert added.status_code == 201, added.text
    # Another member's number is masked even to their household.
    assert added.json()["id_number"] == masked(spouse_number)
    assert not added.json()["id_number_revealed"]
    again = world.client.post(
        "/households/me/members", json=spouse, headers={**signed_in, "Idempotency-Key": key}
    )
    assert (again.status_code, again.json()) == (200, added.json())
    changed = world.client.post(
        "/households/me/members",
        json={**spouse, "name": "陈阿姨"},
        headers={**signed_in, "Idempotency-Key": key},
    )
    _problem(changed, 409)
    members = world.client.get("/households/me", headers=signed_in).json()["members"]
    assert [m["id_number"] for m in members] == [number, masked(spouse_number)]


def test_registrations_from_one_address_are_limited(world: World) -> None:
    # Every try that reaches the service counts, the refused ones too (here: a taken name).
    for i in range(20):
        tried = world.client.post("/households/register", json=_registration(world, "home1"))
        assert tried.status_code == 409, (i, tried.text)
    refused = world.client.post("/households/register", json=_registration(world, "late"))
    assert _problem(refused, 429)["detail"].startswith("too many registrations")
    assert 0 < int(refused.headers["Retry-After"]) <= 3601
    # Another address is not affected.
    with TestClient(world.client.app, client=("198.51.100.7", 50000)) as other:
        elsewhere = other.post("/households/register", json=_registration(world, "late"))
    assert elsewhere.status_code == 201, elsewhere.text


def test_registration_refuses_a_taken_name_and_a_bad_id_number_and_keeps_nothing(
    world: World,
) -> None:
    number = id_number(date(1950, 6, 1), "321")
    taken = world.client.post(
        "/households/register", json=_registration(world, "home1", id_number=number)
    )
    assert "home1" in _problem(taken, 409)["detail"]
    # Nothing of the refused sign-up was kept: the same ID number registers now.
    assert (
        world.client.post(
            "/households/register", json=_registration(world, "fresh", id_number=number)
        ).status_code
        == 201
    )
    again = world.client.post(
        "/households/register", json=_registration(world, "fresh2", id_number=number)
    )
    assert "ID number" in _problem(again, 409)["detail"]

    wrong_digit = number[:-1] + ("0" if number[-1] != "0" else "1")
    for bad, says in [
        (wrong_digit, "check digit"),
        (id_number(date(1951, 6, 1)), "birth date"),
        ("35010219500601", "17 digits"),
    ]:
        refused = world.client.post(
            "/households/register", json=_registration(world, "someone", id_number=bad)
        )
        errors = _problem(refused, 422)["errors"]
        assert [e["field"] for e in errors] == ["body.member.id_number"], errors
        assert says in errors[0]["message"]
    misplaced = _registration(world, "someone")
    misplaced["household"]["street_id"] = world.areas["community"]
    assert (
        "street"
        in _problem(world.client.post("/households/register", json=misplaced), 422)["detail"]
    )
    for field, value in [("lat", 91), ("district_id", 2**40), ("address", "a\x00b")]:
        body = _registration(world, "someone")
        body["household"][field] = value
        refused = world.client.post("/households/register", json=body)
        assert _problem(refused, 422)["errors"][0]["field"] == f"body.household.{field}"


# --- members and masking -------------------------------------------------------------------


def test_a_member_is_seen_by_its_household_its_proxy_and_staff_only(world: World) -> None:
    cases = [
        ("household", world.elder, 200),
        ("household", world.other_member, 404),
        ("other", world.elder, 404),
        ("proxy", world.elder, 200),
        ("proxy", world.me, 404),  # the proxy acts for the elder only
        ("admin", world.other_member, 200),
        ("auditor", world.elder, 200),
        ("worker", world.elder, 403),
        ("household", "mbr_00000000000000000000", 404),
    ]
    for who, member, status in cases:
        got = world.client.get(f"/members/{member}", headers=as_(world, who))
        assert got.status_code == status, (who, member, got.text)
    assert world.client.get(f"/members/{world.elder}").status_code == 401
    # A malformed id is refused before any query (NUL cannot even be stored by PostgreSQL).
    # (Not as an auditor or administrator yet: api.access logs their read, path and all, first.)
    assert world.client.get("/members/x%00y", headers=as_(world, "household")).status_code == 422


def test_id_numbers_are_masked_except_to_the_person_and_civil_affairs(world: World) -> None:
    def seen(who: str, member: str) -> tuple[str, bool]:
        body = world.client.get(f"/members/{member}", headers=as_(world, who)).json()
        return body["id_number"], body["id_number_revealed"]

    assert seen("household", world.me) == (world.me_id_number, True)  # themselves
    assert seen("household", world.elder) == (masked(world.elder_id_number), False)
    assert seen("proxy", world.elder) == (masked(world.elder_id_number), False)
    assert seen("admin", world.elder) == (masked(world.elder_id_number), False)
    assert seen("auditor", world.elder) == (masked(world.elder_id_number), False)
    assert seen("civil", world.elder) == (world.elder_id_number, True)
    assert seen("civil_auditor", world.elder) == (world.elder_id_number, True)


def _reads(username: str) -> list[str]:
    with unit_of_work() as session:
        account = accounts_repo.get_by_username(session, username)
        assert account is not None and account.id is not None
        account_id = account.id
    return personal_reads(account_id)


def test_every_staff_read_of_a_member_is_logged(world: World) -> None:
    for path in (f"/members/{world.elder}", f"/members/{world.elder}/protected-statuses"):
        assert world.client.get(path, headers=as_(world, "auditor")).status_code == 200
        assert world.client.get(path, headers=as_(world, "civil")).status_code == 200
        assert world.client.get(path, headers=as_(world, "household")).status_code == 200
    expected = [
        f"GET /members/{world.elder}",
        f"GET /members/{world.elder}/protected-statuses",
    ]
    assert _reads("aud") == expected
    assert _reads("civil") == expected
    assert _reads("home1") == []  # a household reading its own members is not logged
    with unit_of_work() as session:
        total = session.exec(select(func.count(col(PersonalDataRead.id)))).one()
    assert total == 4


# --- family proxies ------------------------------------------------------------------------


def test_the_household_manages_its_members_proxies(world: World) -> None:
    son = {"name": "儿子", "phone": "13700003333", "relation": "son", "can_order": True}
    added = world.client.post(
        f"/members/{world.me}/proxies", json=son, headers=as_(world, "household", _key())
    )
    assert added.status_code == 201, added.text
    proxy_id = added.json()["id"]
    assert proxy_id.startswith("fp_") and added.json()["member"] == world.me
    twice = world.client.post(
        f"/members/{world.me}/proxies", json=son, headers=as_(world, "household", _key())
    )
    _problem(twice, 409)
    for who, status in [("other", 404), ("proxy", 403), ("admin", 403)]:
        refused = world.client.post(
            f"/members/{world.me}/proxies", json=son, headers=as_(world, who, _key())
        )
        assert refused.status_code == status, (who, refused.text)

    listed = world.client.get(f"/members/{world.me}/proxies", headers=as_(world, "household"))
    assert [p["id"] for p in listed.json()["items"]] == [proxy_id]
    assert (
        world.client.get(f"/members/{world.me}/proxies", headers=as_(world, "other")).status_code
        == 404
    )

    # The son's proxy account sees the member until the household withdraws the proxy.
    with unit_of_work() as session:
        world.tokens["son"] = account_token(session, "son", Role.PROXY, phone="13700003333")
    assert world.client.get(f"/members/{world.me}", headers=as_(world, "son")).status_code == 200
    not_theirs = world.client.post(f"/proxies/{proxy_id}/deactivate", headers=as_(world, "other"))
    _problem(not_theirs, 404)
    done = world.client.post(f"/proxies/{proxy_id}/deactivate", headers=as_(world, "household"))
    assert done.status_code == 200 and done.json()["active"] is False
    assert world.client.get(f"/members/{world.me}", headers=as_(world, "son")).status_code == 404
    listed = world.client.get(f"/members/{world.me}/proxies", headers=as_(world, "household"))
    assert [(p["id"], p["active"]) for p in listed.json()["items"]] == [(proxy_id, False)]


def _invite(world: World, phone: str, name: str = "孙女") -> dict[str, Any]:
    relative = {"name": name, "phone": phone, "relation": "granddaughter", "can_order": True}
    added = world.client.post(
        f"/members/{world.elder}/proxies", json=relative, headers=as_(world, "household", _key())
    )
    assert added.status_code == 201, added.text
    body: dict[str, Any] = added.json()
    return body


def _sign_up(world: World, phone: str, code: str, username: str = "granddaughter") -> Any:
    return world.client.post(
        "/proxies/register",
        json={
            "phone": phone,
            "invitation_code": code,
            "username": username,
            "password": "a-long-password-1",
        },
    )


def test_a_relative_signs_up_as_a_proxy_with_the_households_invitation(world: World) -> None:
    phone = "13900001111"
    added = _invite(world, phone)
    code = added["invitation_code"]
    assert len(code) == 8 and added["invitation_expires_at"] is not None
    # The code is shown once: the list shows only that an invitation is open.
    listed = world.client.get(f"/members/{world.elder}/proxies", headers=as_(world, "household"))
    shown = next(p for p in listed.json()["items"] if p["id"] == added["id"])
    assert "invitation_code" not in shown and shown["invitation_expires_at"] is not None

    # A wrong code, or the right one for another phone, opens nothing.
    wrong = "".join("2" if c != "2" else "3" for c in code)
    assert "wrong, used or expired" in _problem(_sign_up(world, phone, wrong), 422)["detail"]
    _problem(_sign_up(world, "13900002222", code), 422)

    made = _sign_up(world, phone, code.lower())  # typed in lower case: still the code
    assert made.status_code == 201, made.text
    assert made.json()["acts_for"] == [world.elder]
    assert made.json()["account"]["role"] == "proxy"
    token = world.client.post(
        "/auth/token", data={"username": "granddaughter", "password": "a-long-password-1"}
    ).json()["access_token"]
    mine = {"Authorization": f"Bearer {token}"}
    assert world.client.get(f"/members/{world.elder}", headers=mine).status_code == 200
    assert world.client.get(f"/members/{world.me}", headers=mine).status_code == 404

    # Spent: the code works once; a second sign-up for that phone needs no code at all.
    _problem(_sign_up(world, phone, code, username="again"), 422)
    again = world.client.post(f"/proxies/{added['id']}/invitation", headers=as_(world, "household"))
    assert again.status_code == 201, again.text
    taken = _sign_up(world, phone, again.json()["invitation_code"], username="again")
    assert "sign in with it" in _problem(taken, 409)["detail"]


def test_a_new_invitation_replaces_the_old_and_a_withdrawn_proxy_has_none(world: World) -> None:
    phone = "13900003333"
    added = _invite(world, phone)
    for who, status in [("other", 404), ("proxy", 403), ("admin", 403)]:
        refused = world.client.post(f"/proxies/{added['id']}/invitation", headers=as_(world, who))
        assert refused.status_code == status, (who, refused.text)
    renewed = world.client.post(
        f"/proxies/{added['id']}/invitation", headers=as_(world, "household")
    ).json()["invitation_code"]
    _problem(_sign_up(world, phone, added["invitation_code"]), 422)  # the old one stopped
    withdrawn = world.client.post(
        f"/proxies/{added['id']}/deactivate", headers=as_(world, "household")
    )
    assert withdrawn.json()["invitation_expires_at"] is None
    _problem(_sign_up(world, phone, renewed), 422)
    _problem(
        world.client.post(f"/proxies/{added['id']}/invitation", headers=as_(world, "household")),
        409,
    )


def test_guessing_invitation_codes_for_a_phone_is_stopped(world: World) -> None:
    phone = "13900004444"
    code = _invite(world, phone)["invitation_code"]
    for k in range(5):
        guess = f"{k + 2}" * 8
        if guess != code:
            _problem(_sign_up(world, phone, guess), 422)
    locked = _sign_up(world, phone, code)
    assert "wrong invitation codes" in _problem(locked, 429)["detail"]
    assert int(locked.headers["Retry-After"]) > 0


def test_an_invitation_expires_after_a_week(world: World) -> None:
    with unit_of_work() as session:
        member = households_service.get_member_by_public_id_or_raise(session, world.elder)
        assert member.id is not None
        proxy = households_service.add_family_proxy(
            session, member.id, FamilyProxyCreate(name="侄子", phone="13900005555", relation="侄子")
        )
        assert proxy.id is not None
        start = utcnow()
        code, expires = households_service.issue_invitation(session, proxy.id, now=start)
        assert expires == start + timedelta(days=7)
        with pytest.raises(Validation):
            households_service.accept_invitation(
                session, "13900005555", code, now=expires + timedelta(seconds=1)
            )
        spent = households_service.accept_invitation(
            session, "13900005555", code, now=expires - timedelta(seconds=1)
        )
        assert spent.id == proxy.id and spent.invitation_hash is None


def test_preferences_are_set_by_the_household_and_an_ordering_proxy(world: World) -> None:
    wish = {"caregiver_gender": "female", "language": "cdo", "note": "上午最好"}
    for who, member, status in [
        ("household", world.elder, 200),
        ("proxy", world.elder, 200),
        ("proxy", world.me, 404),
        ("other", world.elder, 404),
        ("admin", world.elder, 403),
    ]:
        put = world.client.put(f"/members/{member}/preferences", json=wish, headers=as_(world, who))
        assert put.status_code == status, (who, put.text)
    shown = world.client.get(f"/members/{world.elder}", headers=as_(world, "household")).json()
    assert shown["preference"] == wish
    unknown = world.client.put(
        f"/members/{world.elder}/preferences",
        json={"language": "klingon"},
        headers=as_(world, "household"),
    )
    assert "klingon" in _problem(unknown, 422)["detail"]
    # A proxy who may not order reads the elder but does not change their preferences.
    with unit_of_work() as session:
        elder = households_service.get_member_by_public_id_or_raise(session, world.elder)
        assert elder.id is not None
        households_service.add_family_proxy(
            session,
            elder.id,
            FamilyProxyCreate(name="侄子", phone="13600004444", relation="nephew", can_order=False),
        )
        world.tokens["nephew"] = account_token(session, "nephew", Role.PROXY, phone="13600004444")
    assert (
        world.client.get(f"/members/{world.elder}", headers=as_(world, "nephew")).status_code == 200
    )
    refused = world.client.put(
        f"/members/{world.elder}/preferences", json=wish, headers=as_(world, "nephew")
    )
    _problem(refused, 404)


# --- protected-status applications ---------------------------------------------------------


def _apply(world: World, who: str, member: str, **fields: Any) -> Any:
    body = {
        "category": "dibao",
        "evidence_kind": "低保证",
        "evidence": "福州市低保证 第 2026-0012 号，户主林奶奶",
        "certificate_no": "DB2026001234",
        "valid_from": "2026-01-01",
        "valid_to": "2026-12-31",
        **fields,
    }
    return world.client.post(
        f"/members/{member}/protected-statuses", json=body, headers=as_(world, who, _key())
    )


def test_applications_keep_their_evidence_masked_except_to_self_and_civil_affairs(
    world: World,
) -> None:
    applied = _apply(world, "proxy", world.elder)
    assert applied.status_code == 201, applied.text
    status = applied.json()
    assert (status["review"], status["member"]) == ("pending", world.elder)
    assert (status["evidence"], status["evidence_revealed"]) == ("********", False)
    assert status["certificate_no_masked"] == "********1234"
    own = _apply(world, "household", world.me, evidence="本人残疾证", category="youfu")
    assert own.status_code == 201, own.text
    # The answer does not echo evidence (it is kept with the Idempotency-Key); reads reveal it.
    assert (own.json()["evidence"], own.json()["evidence_revealed"]) == ("********", False)
    with unit_of_work() as session:
        kept = [r.response for r in session.exec(select(IdempotencyRecord)).all()]
    assert len(kept) == 2 and "本人残疾证" not in json.dumps(kept, ensure_ascii=False)

    def evidence(who: str, member: str) -> list[str | None]:
        got = world.client.get(f"/members/{member}/protected-statuses", headers=as_(world, who))
        assert got.status_code == 200, (who, got.text)
        return [s["evidence"] for s in got.json()["items"]]

    assert evidence("household", world.elder) == ["********"]
    assert evidence("auditor", world.elder) == ["********"]
    assert evidence("admin", world.elder) == ["********"]
    assert evidence("civil", world.elder) == ["福州市低保证 第 2026-0012 号，户主林奶奶"]
    assert evidence("household", world.me) == ["本人残疾证"]
    for who, member, status_code in [
        ("other", world.elder, 404),
        ("proxy", world.me, 404),
        ("worker", world.elder, 403),
    ]:
        got = world.client.get(f"/members/{member}/protected-statuses", headers=as_(world, who))
        assert got.status_code == status_code, (who, got.text)


def test_applications_that_break_the_rules_are_refused(world: World) -> None:
    assert _apply(world, "household", world.elder).status_code == 201
    overlapping = _apply(world, "household", world.elder, valid_from="2026-06-01")
    assert "overlaps" in _problem(overlapping, 409)["detail"]
    _problem(_apply(world, "household", world.elder, category="age80"), 422)
    _problem(_apply(world, "household", world.elder, category="disability"), 422)
    backwards = _apply(world, "household", world.elder, valid_to="2025-01-01")
    _problem(backwards, 422)
    _problem(_apply(world, "other", world.elder, category="youfu"), 404)
    _problem(_apply(world, "auditor", world.elder, category="youfu"), 403)
    no_key = world.client.post(
        f"/members/{world.elder}/protected-statuses",
        json={"category": "youfu", "valid_from": "2026-01-01"},
        headers=as_(world, "household"),
    )
    assert any("idempotency-key" in e["field"].lower() for e in _problem(no_key, 422)["errors"])
