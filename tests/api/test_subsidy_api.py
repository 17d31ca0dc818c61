"""Subsidy money over HTTP: a member's monthly balance for the member's own household or proxy,
a provider's statement for its admins and auditors, and auditors' reads logged."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.db import read_only, unit_of_work
from marketplace.accounts.models import Role
from marketplace.households import service as households_service
from marketplace.households.schemas import FamilyProxyCreate
from marketplace.orders import service as orders_service
from marketplace.providers.models import Provider
from pricing import service as pricing_service
from tests import factories as f
from tests.api.accounts import account_token_and_id, get_as, member_links, personal_reads
from tests.audit.test_repository import ORDERED, _dibao_order, _visit
from tests.marketplace.test_ltc_insurance import _insured, _order

PROXY_PHONE = "13900002222"
MONTH = "2026-12"


@dataclass
class World:
    """A 低保 member whose visit was served, an insured elder with a proxy, their provider."""

    client: TestClient
    tokens: dict[str, str]
    accounts: dict[str, int]
    member: str
    elder: str
    other_member: str
    provider: str
    other_provider: str
    order: str


@pytest.fixture
def world(configured: str) -> World:
    with unit_of_work() as session:
        order, member = _dibao_order(session)
        _visit(session, order)  # checked out: the subsidy and the co-pay are consumed
        provider = session.get(Provider, order.provider_id)
        assert provider is not None and member.id is not None
        elder = _insured(session)
        assert elder.id is not None
        households_service.add_family_proxy(
            session, elder.id, FamilyProxyCreate(name="儿子", phone=PROXY_PHONE, relation="son")
        )
        insured = _order(session, elder, provider=provider)
        orders_service.confirm(session, insured, actor="test:provider", now=ORDERED)
        _, other = f.make_household(session)
        other_provider = f.make_provider(session)
        made = {
            "household": account_token_and_id(
                session,
                "home1",
                Role.HOUSEHOLD,
                **member_links(member),
            ),
            "other": account_token_and_id(session, "home2", Role.HOUSEHOLD, **member_links(other)),
            "proxy": account_token_and_id(session, "son", Role.PROXY, phone=PROXY_PHONE),
            "provider": account_token_and_id(
                session, "prov", Role.PROVIDER_ADMIN, provider_id=provider.id
            ),
            "other_provider": account_token_and_id(
                session, "prov2", Role.PROVIDER_ADMIN, provider_id=other_provider.id
            ),
            "auditor": account_token_and_id(session, "aud", Role.AUDITOR),
            "admin": account_token_and_id(session, "boss", Role.ADMIN),
            "dispatcher": account_token_and_id(session, "disp", Role.DISPATCHER),
        }
        return World(
            client=TestClient(create_app(), raise_server_exceptions=False),
            tokens={k: v[0] for k, v in made.items()},
            accounts={k: v[1] for k, v in made.items()},
            member=member.public_id,
            elder=elder.public_id,
            other_member=other.public_id,
            provider=provider.public_id,
            other_provider=other_provider.public_id,
            order=order.public_id,
        )


def _reads(world: World, who: str) -> list[str]:
    return personal_reads(world.accounts[who])


def test_a_household_sees_its_members_balance(world: World) -> None:
    got = get_as(world, "household", "/subsidy/balance", member=world.member, month=MONTH)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["groups"] == ["dibao"] and body["as_of"] == "2026-12-01"
    # 低保: a 600.00 monthly cap; one 2-hour cleaning (64.00 subsidy) served and verified.
    assert (body["cap_fen"], body["committed_fen"], body["consumed_fen"]) == (60000, 6400, 6400)
    assert body["remaining_fen"] == 60000 - 6400
    assert body["ltc"] == {"scheme": None, "limit_fen": 0, "committed_fen": 0, "remaining_fen": 0}
    # Another month: nothing committed yet.
    later = get_as(world, "household", "/subsidy/balance", member=world.member, month="2027-01")
    assert later.status_code == 200
    assert (later.json()["committed_fen"], later.json()["remaining_fen"]) == (0, 60000)


def test_a_proxy_sees_its_elders_insurance_against_its_limit(world: World) -> None:
    got = get_as(world, "proxy", "/subsidy/balance", member=world.elder, month=MONTH)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["groups"] == ["age80"]
    # Confirmed, not yet served: 40 % of 90.00 held by the insurer, 45.00 by the subsidy.
    assert body["ltc"] == {
        "scheme": "福州长护险",
        "limit_fen": 100_000,
        "committed_fen": 3600,
        "remaining_fen": 100_000 - 3600,
    }
    assert (body["committed_fen"], body["consumed_fen"]) == (4500, 0)
    with read_only() as session:
        policy = pricing_service.policy_on(session, f.DAY)
    assert body["policy_version"] == policy.version
    assert body["remaining_fen"] == body["cap_fen"] - 4500


def test_someone_elses_member_is_not_found(world: World) -> None:
    for who, member in [
        ("household", world.other_member),
        ("household", world.elder),
        ("other", world.member),
        ("proxy", world.member),  # the proxy acts for the elder only
        ("household", "mem_00000000000000000000"),
    ]:
        got = get_as(world, who, "/subsidy/balance", member=member, month=MONTH)
        assert got.status_code == 404, (who, member, got.text)
    for who in ("auditor", "provider", "dispatcher"):
        got = get_as(world, who, "/subsidy/balance", member=world.member, month=MONTH)
        assert got.status_code == 403, who


def test_a_malformed_month_is_a_problem(world: World) -> None:
    for month in ("2026-13", "2026-1", "26-12", "2026-12-01", "１２３４-12", "9999-12", ""):
        got = get_as(world, "household", "/subsidy/balance", member=world.member, month=month)
        assert got.status_code == 422, (month, got.text)
        assert got.headers["content-type"] == "application/problem+json"
        statement = get_as(
            world, "auditor", "/subsidy/statements", provider=world.provider, month=month
        )
        assert statement.status_code == 422, (month, statement.text)


def test_a_statement_reconciles_and_is_the_providers_own(world: World) -> None:
    got = get_as(world, "provider", "/subsidy/statements", provider=world.provider, month=MONTH)
    assert got.status_code == 200, got.text
    body = got.json()
    # Only served (consumed) money is owed: the insured elder's order is merely confirmed.
    assert body["lines"] == [
        {
            "order": world.order,
            "subsidy_fen": 6400,
            "household_fen": 1600,
            "ltc_fen": 0,
            "total_fen": 8000,
        }
    ]
    assert (body["subsidy_fen"], body["household_fen"], body["total_fen"]) == (6400, 1600, 8000)
    assert body["reconciles"] is True
    for who, provider, status in [
        ("other_provider", world.provider, 404),
        ("provider", world.other_provider, 404),
        ("provider", "prv_00000000000000000000", 404),
        ("auditor", world.provider, 200),
        ("admin", world.provider, 200),
        ("household", world.provider, 403),
        ("dispatcher", world.provider, 403),
    ]:
        answer = get_as(world, who, "/subsidy/statements", provider=provider, month=MONTH)
        assert answer.status_code == status, (who, provider, answer.text)
    empty = get_as(
        world, "auditor", "/subsidy/statements", provider=world.provider, month="2027-01"
    )
    assert empty.json()["lines"] == [] and empty.json()["reconciles"] is True


def test_auditors_and_administrators_reads_are_logged(world: World) -> None:
    assert _reads(world, "auditor") == []
    get_as(world, "auditor", "/subsidy/statements", provider=world.provider, month=MONTH)
    get_as(world, "admin", "/subsidy/balance", member=world.member, month=MONTH)
    get_as(world, "provider", "/subsidy/statements", provider=world.provider, month=MONTH)
    assert _reads(world, "auditor") == ["GET /subsidy/statements"]
    assert _reads(world, "admin") == ["GET /subsidy/balance"]
    assert _reads(world, "provider") == []
