"""The demo city: deterministic, complete, consistent with the services' invariants."""

from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session, SQLModel, col
from sqlmodel import select as sql_select
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from core import crypto
from core.db import make_engine, unit_of_work
from core.errors import Conflict
from core.geo import Point, haversine_m
from core.timeutil import local_date, local_datetime
from marketplace.accounts import service as accounts_service
from marketplace.accounts.models import Role
from marketplace.catalog.models import Item
from marketplace.demo import accounts as demo_accounts
from marketplace.demo import fuzhou
from marketplace.demo.accounts import DEMO_PASSWORD
from marketplace.demo.seed import DemoSummary, default_start_date, seed_demo
from marketplace.geography.models import Area, AreaLevel
from marketplace.households import service as households_service
from marketplace.households.models import (
    DisabilityLevel,
    FamilyProxy,
    Household,
    LtcEntitlement,
    Member,
    PeriodKind,
    ProtectedCategory,
    ProtectedStatus,
    StatusPeriod,
    StatusReview,
)
from marketplace.orders.models import Order, OrderStatus, OrderTimeWindow, OrderTransition
from marketplace.providers import service as providers_service
from marketplace.providers.models import (
    Provider,
    ProviderKind,
    ServicePoint,
    ServicePointKind,
    TravelMode,
    Worker,
    WorkerCertificate,
    WorkerShift,
    WorkerShiftException,
)
from pricing.models import LedgerEntry, Payer
from tests.conftest import BACKENDS, database_copy

SEED = 2026
HOUSEHOLDS = 150
MONDAY = date(2026, 11, 23)
WEEK = [MONDAY + timedelta(days=i) for i in range(7)]
SNAPSHOT = local_datetime(MONDAY, time(0, 0))
DISTRICTS = {
    "350102": "鼓楼区",
    "350103": "台江区",
    "350104": "仓山区",
    "350105": "马尾区",
    "350111": "晋安区",
    "350112": "长乐区",
}
ENCRYPTED = {
    ("member", "id_number_encrypted"): households_service.ID_NUMBER_CONTEXT,
    ("protected_status", "evidence_encrypted"): households_service.EVIDENCE_CONTEXT,
}


def seed_into(url: str, *, seed: int = SEED, households: int = HOUSEHOLDS) -> DemoSummary:
    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            return seed_demo(
                session, seed=seed, households=households, start_date=MONDAY, progress=False
            )
    finally:
        engine.dispose()


def canonical_dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every column of every table, rows by primary key; ciphertexts (which carry a random
    nonce) replaced by the plaintext they hold."""
    engine = make_engine(url)
    dump: dict[str, list[tuple[Any, ...]]] = {}
    try:
        with engine.connect() as conn:
            for table in SQLModel.metadata.sorted_tables:
                rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
                names = [c.name for c in table.columns]
                dump[table.name] = [
                    tuple(
                        crypto.decrypt(value, context=ENCRYPTED[(table.name, name)])
                        if (table.name, name) in ENCRYPTED and value is not None
                        else value
                        for name, value in zip(names, row, strict=True)
                    )
                    for row in rows
                ]
    finally:
        engine.dispose()
    return dump


def check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2, computed here independently of the code under test."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    value = (12 - sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11) % 11
    return "X" if value == 10 else str(value)


# --- determinism (SQLite: two fresh files per comparison) ---------------------------------


class TestDeterminism:
    """The same seed gives the same rows; another seed gives other people, same map."""

    def test_same_seed_identical_data_other_seed_different(
        self, sqlite_template: Path, tmp_path: Path
    ) -> None:
        urls = {}
        for name in ("determinism_first", "determinism_second", "determinism_other_seed"):
            path = tmp_path / f"{name}.sqlite3"
            shutil.copyfile(sqlite_template, path)
            urls[name] = f"sqlite:///{path}"
        seed_into(urls["determinism_first"])
        seed_into(urls["determinism_second"])
        seed_into(urls["determinism_other_seed"], seed=SEED + 1)

        first = canonical_dump(urls["determinism_first"])
        second = canonical_dump(urls["determinism_second"])
        other = canonical_dump(urls["determinism_other_seed"])

        assert len(first["household"]) == HOUSEHOLDS
        for table in ("area", "provider", "worker", "member", "service_order", "order_transition"):
            assert first[table], f"{table} is empty"
        assert first == second
        assert other["area"] == first["area"]  # the map does not depend on the seed
        for table in ("household", "member", "worker", "protected_status", "service_order"):
            assert other[table] != first[table], table


# --- one seeded city per backend, shared by the read-only checks --------------------------


@dataclass
class City:
    engine: Engine
    summary: DemoSummary


@pytest.fixture(scope="module", params=BACKENDS)
def city(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[City]:
    """A demo city of 150 households, seeded once per backend for this module."""
    with database_copy(str(request.param), request, tmp_path_factory.mktemp("demo-city")) as url:
        summary = seed_into(url)
        engine = make_engine(url)
        try:
            yield City(engine, summary)
        finally:
            engine.dispose()


@pytest.fixture
def db(city: City) -> Iterator[Session]:
    with Session(city.engine) as session:
        yield session


class TestGeography:
    """Six real districts; every household sits consistently in the area tree."""

    def test_six_districts_with_streets_communities_and_grids(self, db: Session) -> None:
        areas = db.exec(sql_select(Area)).all()
        districts = {a.code: a.name for a in areas if a.level == AreaLevel.DISTRICT}
        assert districts == DISTRICTS
        children: dict[int | None, list[Area]] = defaultdict(list)
        for area in areas:
            children[area.parent_id].append(area)
        for area in areas:
            below = children[area.id]
            if area.level == AreaLevel.DISTRICT:
                assert len(below) >= 4, area.name
            elif area.level == AreaLevel.STREET:
                assert 3 <= len(below) <= 5, area.name
            elif area.level == AreaLevel.COMMUNITY:
                assert 2 <= len(below) <= 4, area.name
            else:
                assert below == []
        gulou_streets = {a.name for a in children[next(a.id for a in areas if a.code == "350102")]}
        assert {
            "鼓东街道",
            "鼓西街道",
            "温泉街道",
            "东街街道",
            "南街街道",
            "洪山镇",
        } <= gulou_streets

    def test_areas_lie_near_their_parents(self, db: Session) -> None:
        areas = {a.id: a for a in db.exec(sql_select(Area)).all()}
        for area in areas.values():
            if area.parent_id is None:
                assert haversine_m(Point(area.lat, area.lon), Point(*fuzhou.CITY_CENTRE)) < 40_000
                continue
            parent = areas[area.parent_id]
            limit = 1_000 if area.level != AreaLevel.STREET else 20_000  # 琅岐 is an island
            assert haversine_m(Point(area.lat, area.lon), Point(parent.lat, parent.lon)) < limit

    def test_every_household_is_consistent_with_the_hierarchy(
        self, db: Session, city: City
    ) -> None:
        areas = {a.id: a for a in db.exec(sql_select(Area)).all()}
        households = db.exec(sql_select(Household)).all()
        assert len(households) == HOUSEHOLDS == city.summary.households
        for h in households:
            assert h.grid_id is not None
            district, street = areas[h.district_id], areas[h.street_id]
            community, grid = areas[h.community_id], areas[h.grid_id]
            assert district.level == AreaLevel.DISTRICT
            assert (street.level, street.parent_id) == (AreaLevel.STREET, district.id)
            assert (community.level, community.parent_id) == (AreaLevel.COMMUNITY, street.id)
            assert (grid.level, grid.parent_id) == (AreaLevel.GRID, community.id)
            assert haversine_m(Point(h.lat, h.lon), Point(community.lat, community.lon)) < 1_200
            assert h.address.startswith(f"福州市{district.name}")
            assert "号" in h.address and h.address.endswith("室")
        assert {h.district_id for h in households} == {
            a.id for a in areas.values() if a.level == AreaLevel.DISTRICT
        }


class TestPeople:
    """Members: elderly-heavy, valid encrypted ID numbers, plausible protected groups."""

    def test_members_per_household_and_ages(self, db: Session) -> None:
        members = db.exec(sql_select(Member)).all()
        per_household = Counter(m.household_id for m in members)
        assert set(per_household.values()) <= {1, 2, 3}
        assert len(per_household) == HOUSEHOLDS
        ages = [households_service.age_on(m.birth_date, MONDAY) for m in members]
        elders = sum(1 for a in ages if a >= 60)
        assert elders / len(ages) > 0.5
        assert 0.1 < sum(1 for a in ages if a >= 80) / len(ages) < 0.35
        assert max(ages) <= 99
        assert all(lang in {"zh", "cdo", "nan", "en"} for m in members for lang in m.languages)
        assert sum(1 for m in members if "cdo" in m.languages) / len(members) > 0.4

    def test_every_id_number_decrypts_to_a_valid_id(self, db: Session) -> None:
        members = db.exec(sql_select(Member)).all()
        households = {h.id: h for h in db.exec(sql_select(Household)).all()}
        areas = {a.id: a for a in db.exec(sql_select(Area)).all()}
        seen: set[str] = set()
        for m in members:
            assert m.id_number_encrypted is not None
            number = crypto.decrypt(
                m.id_number_encrypted, context=households_service.ID_NUMBER_CONTEXT
            )
            assert len(number) == 18 and number[:17].isdigit()
            assert number[17] == check_digit(number[:17])
            assert number[6:14] == f"{m.birth_date:%Y%m%d}"
            assert int(number[16]) % 2 == (1 if m.gender == "male" else 0)
            district = areas[households[m.household_id].district_id]
            assert number[:6] in {district.code, fuzhou.district_by_code(district.code).former_code}
            assert m.id_number_masked == crypto.mask_id_number(number)
            assert m.id_number_index == crypto.blind_index(
                number, context=households_service.ID_NUMBER_CONTEXT
            )
            assert number not in seen
            seen.add(number)

    def test_protected_groups_at_plausible_shares(self, db: Session, city: City) -> None:
        members = db.exec(sql_select(Member)).all()
        statuses = db.exec(sql_select(ProtectedStatus)).all()
        approved = [s for s in statuses if s.review == StatusReview.APPROVED]
        share = Counter(ProtectedCategory(s.category) for s in approved)
        n = len(members)
        assert share[ProtectedCategory.TEKUN] / n <= 0.04
        assert 0.005 <= share[ProtectedCategory.DIBAO] / n <= 0.12
        assert share[ProtectedCategory.YOUFU] / n <= 0.05
        assert 0.02 <= share[ProtectedCategory.DISABILITY] / n <= 0.12
        assert 0.04 <= len({s.member_id for s in approved}) / n <= 0.25
        assert ProtectedCategory.AGE80 not in share  # derived from the birth date, never stored
        assert city.summary.protected["age80"] == sum(
            1 for m in members if households_service.age_on(m.birth_date, MONDAY) >= 80
        )
        for s in approved:
            assert s.verified_by and s.verified_at is not None and s.evidence_kind
            assert s.verified_at <= SNAPSHOT
            assert s.valid_to is None or s.valid_to >= WEEK[-1]
            assert (s.disability_level is not None) == (s.category == ProtectedCategory.DISABILITY)
            assert s.evidence_encrypted is not None
            assert s.certificate_no_masked.startswith("*")

    def test_long_term_care_insurance_pays_for_care_of_the_insured(
        self, db: Session, city: City
    ) -> None:
        benefits = db.exec(sql_select(LtcEntitlement)).all()
        assert len(benefits) == city.summary.ltc_insured > 0
        insured = {b.member_id for b in benefits}
        assert len(insured) == len(benefits)
        levels = {
            s.member_id: s.disability_level
            for s in db.exec(sql_select(ProtectedStatus)).all()
            if s.disability_level is not None
        }
        assert all(levels[m] in (DisabilityLevel.SEVERE, DisabilityLevel.TOTAL) for m in insured)
        orders = db.exec(sql_select(Order)).all()
        covered = [o for o in orders if o.ltc_fen > 0]
        assert covered and all(o.recipient_member_id in insured for o in covered)
        entries = db.exec(
            sql_select(LedgerEntry).where(LedgerEntry.payer == Payer.LTC_INSURANCE.value)
        ).all()
        assert {e.order_ref for e in entries} <= {o.public_id for o in covered}
        assert entries

    def test_status_periods_preferences_and_proxies(self, db: Session) -> None:
        periods = db.exec(sql_select(StatusPeriod)).all()
        kinds = Counter(PeriodKind(p.kind) for p in periods)
        assert kinds[PeriodKind.HOSPITAL] >= 1
        assert kinds[PeriodKind.DECEASED] >= 1 and kinds[PeriodKind.MOVED_AWAY] >= 1
        for p in periods:
            assert p.starts_on < MONDAY and p.recorded_by
            assert p.kind == PeriodKind.HOSPITAL or p.ends_on is None
        proxies = db.execute(text("SELECT count(*) FROM family_proxy")).scalar_one()
        preferences = db.execute(
            text("SELECT count(*) FROM member_preference WHERE language = 'cdo'")
        ).scalar_one()
        assert proxies > HOUSEHOLDS * 0.2
        assert preferences > HOUSEHOLDS * 0.1


class TestWorkforce:
    """Dozens of providers, hundreds of workers, qualified for what their providers offer."""

    def test_providers_and_workers(self, db: Session, city: City) -> None:
        providers = db.exec(sql_select(Provider)).all()
        kinds = Counter(ProviderKind(p.kind) for p in providers)
        assert set(kinds) == set(ProviderKind) and len(providers) == 40
        assert all(1 <= p.grade <= 5 and len(p.licence_no) == 18 for p in providers)
        points = db.exec(sql_select(ServicePoint)).all()
        kitchens = {pt.provider_id for pt in points if pt.kind == ServicePointKind.KITCHEN}
        assert kitchens == {p.id for p in providers if p.kind == ProviderKind.COMMUNITY_KITCHEN}
        workers = db.exec(sql_select(Worker)).all()
        assert len(workers) == 400 == city.summary.workers
        assert {w.provider_id for w in workers} == {p.id for p in providers}
        couriers = [w for w in workers if w.capacity > 0]
        assert couriers and all(
            6 <= w.capacity <= 12 and w.travel_mode == TravelMode.EBIKE for w in couriers
        )
        assert {TravelMode(w.travel_mode) for w in workers} == set(TravelMode)
        assert any(w.is_volunteer for w in workers) and any(
            w.is_public_benefit_post for w in workers
        )
        assert sum(1 for w in workers if "cdo" in w.languages) / len(workers) > 0.4
        shifts = db.exec(sql_select(WorkerShift)).all()
        assert {s.worker_id for s in shifts} == {w.id for w in workers}
        exceptions = db.exec(sql_select(WorkerShiftException)).all()
        assert exceptions and all(MONDAY <= e.on_date <= WEEK[-1] for e in exceptions)
        certificates = db.exec(sql_select(WorkerCertificate)).all()
        expired = [c for c in certificates if c.expires_on is not None and c.expires_on < MONDAY]
        assert 0 < len(expired) < len(certificates) * 0.1

    def test_every_order_has_a_qualified_worker_at_its_provider(self, db: Session) -> None:
        orders = db.exec(sql_select(Order)).all()
        households = {h.id: h for h in db.exec(sql_select(Household)).all()}
        items = {i.id: i for i in db.exec(sql_select(Item)).all()}
        qualified: dict[tuple[int, date, int], set[int]] = {}
        for order in orders:
            district = households[order.household_id].district_id
            key = (order.item_id, order.service_date, district)
            if key not in qualified:
                workers = providers_service.workers_qualified_for(
                    db, items[order.item_id], order.service_date, district_id=district
                )
                qualified[key] = {w.provider_id for w in workers}
            assert order.provider_id in qualified[key], (order.public_id, items[order.item_id].code)


class TestOrders:
    """A week of orders on every day, made through the orders service."""

    def test_orders_on_every_day_with_recorded_transitions(self, db: Session, city: City) -> None:
        orders = db.exec(sql_select(Order)).all()
        assert len(orders) == city.summary.orders
        by_day = Counter(o.service_date for o in orders)
        assert set(by_day) == set(WEEK)
        assert {OrderStatus(o.status) for o in orders} <= {
            OrderStatus.REQUESTED,
            OrderStatus.CONFIRMED,
            OrderStatus.CANCELLED,
        }
        assert sum(1 for o in orders if o.series_id is not None) > len(orders) / 2
        assert any(o.series_id is None for o in orders)
        transitions: dict[int, list[OrderTransition]] = defaultdict(list)
        for t in db.exec(sql_select(OrderTransition).order_by(col(OrderTransition.id))).all():
            transitions[t.order_id].append(t)
        for o in orders:
            history = transitions[o.id or 0]
            assert history[0].event == "create" and history[0].from_status is None
            assert history[-1].to_status == o.status
            assert [t.at for t in history] == sorted(t.at for t in history)
            assert all(t.at <= SNAPSHOT and t.actor for t in history)
            if o.status == OrderStatus.CANCELLED:
                assert o.cancel_reason
            assert o.list_price_fen > 0
            assert o.copay_fen + o.subsidy_fen + o.ltc_fen == o.list_price_fen

    def test_windows_fall_on_the_service_date(self, db: Session) -> None:
        orders = {o.id: o for o in db.exec(sql_select(Order)).all()}
        windows = db.exec(sql_select(OrderTimeWindow)).all()
        assert {w.order_id for w in windows} == set(orders)
        for w in windows:
            assert local_date(w.starts_at) == orders[w.order_id].service_date
            assert w.ends_at > w.starts_at
        per_order = Counter(w.order_id for w in windows)
        assert max(per_order.values()) == 2

    def test_nobody_in_hospital_deceased_or_gone_gets_a_live_order(self, db: Session) -> None:
        periods = db.exec(sql_select(StatusPeriod)).all()
        live = db.exec(
            sql_select(Order).where(col(Order.status) != OrderStatus.CANCELLED.value)
        ).all()
        for o in live:
            for p in periods:
                if p.member_id == o.recipient_member_id:
                    ends = p.ends_on or date.max
                    assert not p.starts_on <= o.service_date <= ends, (o.public_id, p.kind)

    def test_lunch_delivery_every_day(self, db: Session) -> None:
        lunch = db.exec(sql_select(Item).where(Item.code == "meal.lunch")).one()
        days = db.exec(sql_select(col(Order.service_date)).where(Order.item_id == lunch.id)).all()
        assert set(days) == set(WEEK)


# --- the command ---------------------------------------------------------------------------


def test_default_start_date_is_monday_of_this_week() -> None:
    assert default_start_date(date(2026, 11, 27)) == MONDAY  # Friday
    assert default_start_date(date(2026, 11, 29)) == MONDAY  # Sunday
    assert default_start_date(MONDAY) == MONDAY


def test_seed_command_seeds_once_and_skips_when_not_empty(configured: str) -> None:
    runner = CliRunner()
    args = ["demo", "seed", "--households", "12", "--start-date", "2026-11-23", "--no-progress"]

    first = runner.invoke(app, [*args, "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "12 households" in first.output and "40 providers" in first.output

    second = runner.invoke(app, [*args, "--if-empty"])
    assert second.exit_code == 0, second.output
    assert second.output.strip() == "demo seed skipped: the database already has households"

    again = runner.invoke(app, args)
    assert again.exit_code != 0
    assert isinstance(again.exception, Conflict)

    engine = make_engine(configured)
    try:
        with Session(engine) as session:
            assert session.exec(sql_select(func.count(col(Household.id)))).one() == 12
    finally:
        engine.dispose()


def test_seed_command_rejects_a_bad_start_date(configured: str) -> None:
    result = CliRunner().invoke(app, ["demo", "seed", "--start-date", "23/11/2026"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_demo_accounts_stand_for_real_objects_of_the_city(db: Session) -> None:
    made = demo_accounts.seed_accounts(db)
    assert {a.role for a in made} == set(Role)
    by_name = {
        a.username: accounts_service.authenticate(db, a.username, DEMO_PASSWORD) for a in made
    }
    household = by_name["household"]
    assert household.member_id is not None
    statuses = households_service.list_protected_statuses(db, household.member_id)
    assert any(s.review == StatusReview.APPROVED for s in statuses)
    orders = db.exec(
        sql_select(Order).where(col(Order.recipient_member_id) == household.member_id)
    ).all()
    assert any(o.status == OrderStatus.CONFIRMED for o in orders)
    provider_ids = {o.provider_id for o in orders if o.status == OrderStatus.CONFIRMED}
    assert by_name["provider"].provider_id in provider_ids
    assert by_name["provider.dispatcher"].provider_id == by_name["provider"].provider_id
    assert by_name["dispatcher"].provider_id is None
    worker = by_name["worker"]
    assert worker.provider_id == by_name["provider"].provider_id and worker.worker_id is not None
    proxy = by_name["proxy"]
    assert (
        db.exec(sql_select(FamilyProxy).where(col(FamilyProxy.phone) == proxy.phone)).first()
        is not None
    )
    assert by_name["auditor"].civil_affairs and not by_name["auditor2"].civil_affairs
    assert demo_accounts.has_accounts(db)
    with pytest.raises(Conflict):
        demo_accounts.seed_accounts(db)
    db.rollback()


def test_demo_accounts_command_once_then_sign_in_over_http(configured: str) -> None:
    runner = CliRunner()
    seeded = runner.invoke(
        app, ["demo", "seed", "--households", "60", "--start-date", "2026-11-23", "--no-progress"]
    )
    assert seeded.exit_code == 0, seeded.output
    short = runner.invoke(app, ["demo", "accounts", "--password", "short"])
    assert short.exit_code == 2 and "10 characters" in short.output
    first = runner.invoke(app, ["demo", "accounts", "--if-empty"])
    assert first.exit_code == 0, first.output
    listed = first.output.splitlines()[1:]
    assert [line.split()[0] for line in listed] == [
        "household", "proxy", "provider", "provider.dispatcher", "worker",
        "dispatcher", "auditor", "auditor2", "admin",
    ]  # fmt: skip
    again = runner.invoke(app, ["demo", "accounts", "--if-empty"])
    assert again.output.strip() == "demo accounts skipped: they exist already"
    with TestClient(create_app()) as client:
        for line in listed:
            username, role = line.split()[:2]
            token = client.post(
                "/auth/token", data={"username": username, "password": DEMO_PASSWORD}
            )
            assert token.status_code == 200, token.text
            bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
            me = client.get("/auth/me", headers=bearer)
            assert me.json()["role"] == role
        orders = client.get("/orders", headers=bearer)  # the administrator sees every order
        assert orders.status_code == 200 and orders.json()["items"]
