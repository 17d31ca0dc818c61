"""A generated month of home visits: complete like orders the services complete, consistent
with the ledger and the settlement, deterministic, clean for the audit rules; and every anomaly
the fraud benchmark plants into it is found, with nothing else."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import Engine, func, text
from sqlmodel import Session, col, select

from audit import repository as audit_repo
from audit import rules
from audit.facts import Hit
from core.db import make_engine, unit_of_work
from core.errors import Conflict, Validation
from core.geo import Point, haversine_m
from core.timeutil import local_date
from marketplace.catalog.models import Item
from marketplace.demo.history import HistorySummary, generate_month
from marketplace.households.models import StatusPeriod
from marketplace.orders import accounting, quoting
from marketplace.orders.models import (
    Order,
    OrderStatus,
    OrderTimeWindow,
    OrderTransition,
    WorkerBooking,
)
from marketplace.providers.models import WorkerCertificate, WorkerSkill
from marketplace.visits.models import CheckMethod, Visit, VisitEdit
from pricing import ledger, settlement
from pricing.models import EntryKind, LedgerEntry, Payer
from tests.conftest import BACKENDS, _pg_admin, _pg_url
from tests.marketplace.test_demo import canonical_dump, seed_into

MONTH = "2026-12"
FIRST, LAST = date(2026, 12, 1), date(2026, 12, 31)
SEED = 11
VISITS = 300
# Enough visits for at least five providers with 50 each: provider outliers can be planted.
INJECTED_VISITS = 1000
PER_RULE = 3
LOCK_DAYS = 7


def _benchmark() -> ModuleType:
    """benchmarks/fraud_month.py, loaded from its file: the benchmarks folder is no package."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "fraud_month.py"
    spec = importlib.util.spec_from_file_location("fraud_month", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fraud_month = _benchmark()


# --- databases: one seeded city per backend, copied for each month --------------------------


def _copy(url: str, backend: str, folder: Path) -> str:
    """A copy of the database at ``url`` (which nobody may be connected to)."""
    if backend == "sqlite":
        path = folder / f"copy-{uuid.uuid4().hex[:8]}.sqlite3"
        shutil.copyfile(url.removeprefix("sqlite:///"), path)
        return f"sqlite:///{path}"
    source = url.rsplit("/", 1)[1]
    name = f"linli_hist_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    admin.dispose()
    return _pg_url(name)


def _drop(url: str, backend: str) -> None:
    if backend == "sqlite":
        return
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class City:
    backend: str
    url: str
    folder: Path


@pytest.fixture(scope="module", params=BACKENDS)
def city(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[City]:
    """The demo city of 150 households, seeded once per backend for this module."""
    backend = str(request.param)
    folder = tmp_path_factory.mktemp("history")
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        url = _copy(f"sqlite:///{template}", backend, folder)
    else:
        url = _copy(_pg_url(request.getfixturevalue("pg_template")), backend, folder)
    seed_into(url)
    yield City(backend, url, folder)
    _drop(url, backend)


@dataclass
class Month:
    url: str
    engine: Engine
    summary: HistorySummary


def _generated(city: City, visits: int, seed: int = SEED) -> tuple[str, HistorySummary]:
    url = _copy(city.url, city.backend, city.folder)
    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            summary = generate_month(session, month=MONTH, visits=visits, seed=seed)
    finally:
        engine.dispose()
    return url, summary


@pytest.fixture(scope="module")
def month(city: City) -> Iterator[Month]:
    """A clean month of VISITS visits on a copy of the city."""
    url, summary = _generated(city, VISITS)
    engine = make_engine(url)
    yield Month(url, engine, summary)
    engine.dispose()
    _drop(url, city.backend)


@pytest.fixture
def db(month: Month) -> Iterator[Session]:
    with Session(month.engine) as session:
        yield session


def _visits(db: Session) -> list[Visit]:
    return list(
        db.exec(
            select(Visit).where(col(Visit.service_date) >= FIRST, col(Visit.service_date) <= LAST)
        ).all()
    )


# --- the clean month -----------------------------------------------------------------------


class TestGeneratedMonth:
    """Every visit is a completed order with everything the services would have written."""

    def test_the_month_has_the_visits_asked_for(self, db: Session, month: Month) -> None:
        visits = _visits(db)
        assert len(visits) == VISITS == month.summary.visits
        assert {local_date(v.scheduled_start) for v in visits if v.scheduled_start} <= {
            FIRST + timedelta(days=i) for i in range(31)
        }
        assert len({v.service_date for v in visits}) > 10
        assert month.summary.workers > 10 and month.summary.providers > 5
        assert set(month.summary.visit_refs) == {v.public_id for v in visits}
        methods = Counter(v.check_in_method for v in visits)
        assert methods[CheckMethod.GPS] > VISITS * 0.6
        assert methods[CheckMethod.QR] + methods[CheckMethod.PHONE] > 0

    def test_each_visit_has_its_completed_order_booking_window_and_history(
        self, db: Session
    ) -> None:
        orders = {o.id: o for o in db.exec(select(Order)).all()}
        bookings = {b.order_id: b for b in db.exec(select(WorkerBooking)).all() if b.active}
        windows = {w.order_id: w for w in db.exec(select(OrderTimeWindow)).all()}
        history: dict[int, list[OrderTransition]] = defaultdict(list)
        for t in db.exec(select(OrderTransition).order_by(col(OrderTransition.id))).all():
            history[t.order_id].append(t)
        for v in _visits(db):
            order = orders[v.order_id]
            assert order.status == OrderStatus.COMPLETED
            assert order.scheduled_start is not None and v.scheduled_start is not None
            assert (order.recipient_member_id, order.household_id, order.item_id) == (
                v.recipient_member_id,
                v.household_id,
                v.item_id,
            )
            assert order.service_date == v.service_date == local_date(order.scheduled_start)
            assert order.assigned_worker_id == v.worker_id
            booking = bookings[v.order_id]
            assert (booking.worker_id, booking.starts_at, booking.ends_at) == (
                v.worker_id,
                v.scheduled_start,
                v.scheduled_end,
            )
            assert order.scheduled_end == order.scheduled_start + timedelta(
                minutes=order.duration_minutes
            )
            window = windows[v.order_id]
            assert window.starts_at <= v.scheduled_start <= window.ends_at
            steps = history[v.order_id]
            assert [t.event for t in steps] == [
                "create",
                "confirm",
                "schedule",
                "check_in",
                "complete",
            ]
            assert steps[-1].to_status == OrderStatus.COMPLETED
            assert [t.at for t in steps] == sorted(t.at for t in steps)
            assert steps[-1].at == v.check_out_at
            assert steps[0].at == order.created_at < booking.created_at <= v.scheduled_start

    def test_prices_add_up_and_the_ledger_follows_each_order(self, db: Session) -> None:
        entries: dict[str, list[LedgerEntry]] = defaultdict(list)
        for e in db.exec(select(LedgerEntry).where(LedgerEntry.month == MONTH)).all():
            entries[e.order_ref].append(e)
        orders = db.exec(select(Order).where(col(Order.service_date) >= FIRST)).all()
        assert orders and sum(1 for o in orders if o.subsidy_fen > 0) > 0
        for order in orders:
            assert order.copay_fen + order.subsidy_fen + order.ltc_fen == order.list_price_fen
            breakdown = order.price_breakdown
            for key in (*accounting.QUOTE_KEYS, "reason", "ltc_limit_fen", "group"):
                assert key in breakdown, key
            terms = accounting.terms(db, order)
            assert terms.month == MONTH and terms.policy_version == order.policy_version
            assert (breakdown["group"] is None) == (not breakdown["groups"])
            positions = accounting.order_positions(db, order)
            for payer in Payer:
                owed = terms.amount(payer)
                assert positions[payer].reserved == positions[payer].consumed == owed, payer
            keys = {e.idempotency_key for e in entries[order.public_id]}
            assert keys == {
                f"{order.public_id}:{kind}:{payer.value}"
                for kind in ("reserve", "consume")
                for payer in Payer
                if terms.amount(payer) > 0
            }
            reserved = [e for e in entries[order.public_id] if e.kind == EntryKind.RESERVE]
            consumed = [e for e in entries[order.public_id] if e.kind == EntryKind.CONSUME]
            assert max(e.id for e in reserved) < min(e.id for e in consumed)

    def test_ledger_verifies_and_statements_reconcile(self, db: Session) -> None:
        assert ledger.verify(db).ok
        by_provider: dict[int, list[Order]] = defaultdict(list)
        for o in db.exec(select(Order).where(col(Order.service_date) >= FIRST)).all():
            by_provider[o.provider_id].append(o)
        for provider_id in sorted(by_provider)[:6]:
            statement = settlement.statement(db, provider_id, MONTH)
            assert statement.reconciles(db)
            own = by_provider[provider_id]
            assert statement.subsidy_fen == sum(o.subsidy_fen for o in own)
            assert statement.household_fen == sum(o.copay_fen for o in own)
            assert statement.ltc_fen == sum(o.ltc_fen for o in own)

    def test_subsidy_within_caps_and_for_groups_the_member_is_in(self, db: Session) -> None:
        subsidy: Counter[int] = Counter()
        caps: dict[int, int] = defaultdict(int)
        for order in db.exec(select(Order).where(col(Order.service_date) >= FIRST)).all():
            subsidy[order.recipient_member_id] += order.subsidy_fen
            caps[order.recipient_member_id] = max(
                caps[order.recipient_member_id], order.price_breakdown["cap_fen"]
            )
            if order.subsidy_fen:
                groups = quoting.groups_on(db, order.recipient_member_id, order.service_date)
                assert order.price_breakdown["group"] in {g.value for g in groups}
        assert all(total <= caps[member] for member, total in subsidy.items())

    def test_check_ins_near_the_home_and_the_schedule(self, db: Session) -> None:
        for v in _visits(db):
            assert v.check_in_at is not None and v.check_out_at is not None
            assert v.scheduled_start is not None and v.scheduled_end is not None
            assert abs(v.check_in_at - v.scheduled_start) < timedelta(minutes=60)
            planned = v.scheduled_end - v.scheduled_start
            assert 0.9 < (v.check_out_at - v.check_in_at) / planned < 1.1
            home = Point(v.location_lat, v.location_lon)
            for lat, lon in ((v.check_in_lat, v.check_in_lon), (v.check_out_lat, v.check_out_lon)):
                if lat is not None and lon is not None:
                    assert haversine_m(home, Point(lat, lon)) <= 50
            if v.check_in_method == CheckMethod.GPS:
                assert v.check_in_lat is not None and v.check_in_accuracy_m is not None
            assert v.tasks_done
            if v.household_confirmed_at is not None:
                assert v.household_confirmed_at > v.check_out_at
                assert v.confirmation_method is not None and v.confirmation_code_hash

    def test_manual_checks_carry_their_edit_made_within_the_lock(self, db: Session) -> None:
        visits = {v.id: v for v in _visits(db)}
        edits = [e for e in db.exec(select(VisitEdit)).all() if e.visit_id in visits]
        edited = {(e.visit_id, e.field) for e in edits}
        for v in visits.values():
            if v.check_in_method == CheckMethod.MANUAL:
                assert (v.id, "check_in_at") in edited and v.check_in_lat is None
            if v.check_out_method == CheckMethod.MANUAL:
                assert (v.id, "check_out_at") in edited
        for e in edits:
            assert e.reason_code and e.editor.startswith("staff:")
            assert 0 <= (local_date(e.at) - visits[e.visit_id].service_date).days <= LOCK_DAYS

    def test_workers_qualified_and_members_at_home(self, db: Session) -> None:
        items = {i.id: i for i in db.exec(select(Item)).all()}
        skills: dict[int, set[str]] = defaultdict(set)
        for s in db.exec(select(WorkerSkill)).all():
            skills[s.worker_id].add(s.skill)
        certificates: dict[int, list[WorkerCertificate]] = defaultdict(list)
        for c in db.exec(select(WorkerCertificate)).all():
            certificates[c.worker_id].append(c)
        periods: dict[int, list[StatusPeriod]] = defaultdict(list)
        for p in db.exec(select(StatusPeriod)).all():
            periods[p.member_id].append(p)
        for v in _visits(db):
            item = items[v.item_id]
            assert not item.code.startswith("meal.")
            assert set(item.required_skills) <= skills[v.worker_id]
            for kind in item.required_certificates:
                assert any(
                    c.kind == kind and (c.expires_on is None or c.expires_on >= v.service_date)
                    for c in certificates[v.worker_id]
                ), (v.public_id, kind)
            for p in periods[v.recipient_member_id]:
                assert not p.starts_on <= v.service_date <= (p.ends_on or date.max)

    def test_the_audit_finds_nothing(self, db: Session) -> None:
        facts = audit_repo.load_month(db, MONTH)
        assert len(facts.visits) == VISITS
        assert rules.run_all(facts) == []

    def test_a_month_is_generated_once(self, db: Session) -> None:
        with pytest.raises(Conflict, match="already has"):
            generate_month(db, month=MONTH, visits=10, seed=SEED)
        db.rollback()


def test_more_visits_than_the_workforce_can_make_are_refused(city: City) -> None:
    url = _copy(city.url, city.backend, city.folder)
    engine = make_engine(url)
    try:
        with Session(engine) as session, pytest.raises(Validation, match="can make about"):
            generate_month(session, month=MONTH, visits=200_000, seed=SEED)
    finally:
        engine.dispose()
        _drop(url, city.backend)


TABLES = (
    "service_order",
    "order_time_window",
    "order_transition",
    "worker_booking",
    "visit",
    "visit_edit",
    "ledger_entry",
    "ledger_head",
    "member_subsidy_balance",
    "district_subsidy_balance",
)


def test_scoring_counts_misses_false_alarms_and_side_effects() -> None:
    truth = fraud_month.GroundTruth(month="2026-12", seed=1, per_rule=2)
    truth.add("overlap", "p1:2026-12-03", "x", also=[("impossible_travel", "p1:2026-12-03")])
    truth.add("overlap", "p2:2026-12-04", "x")
    hits = [
        ("overlap", "p1:2026-12-03"),
        ("impossible_travel", "p1:2026-12-03"),
        ("overlap", "p9:2026-12-09"),
    ]
    by_rule = {s.rule: s for s in fraud_month.score(truth, hits)}
    overlap, travel = by_rule["overlap"], by_rule["impossible_travel"]
    assert (overlap.planted, overlap.found, overlap.false_alarms) == (2, 1, 1)
    assert (overlap.recall, overlap.precision) == (0.5, 0.5)
    assert (travel.planted, travel.side_effects, travel.false_alarms) == (0, 1, 0)
    assert (travel.recall, travel.precision) == (None, None)


def test_the_same_seed_gives_the_same_month(city: City) -> None:
    urls = [_generated(city, VISITS, seed=seed)[0] for seed in (5, 5, 6)]
    try:
        one, two, three = (canonical_dump(url) for url in urls)
    finally:
        for url in urls:
            _drop(url, city.backend)
    for table in TABLES:
        assert one[table], table
        assert one[table] == two[table], table
    assert one["visit"] != three["visit"]


# --- the fraud benchmark's plants ------------------------------------------------------------


@dataclass
class Injected:
    url: str
    truth: Any  # fraud_month.GroundTruth
    hits: list[Hit]


@pytest.fixture(scope="module")
def injected(city: City) -> Iterator[Injected]:
    """A month of INJECTED_VISITS visits with PER_RULE anomalies of every kind planted."""
    url, _ = _generated(city, INJECTED_VISITS)
    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            truth = fraud_month.inject(
                session, month=MONTH, seed=SEED, per_rule=PER_RULE, break_ledger=True
            )
        with Session(engine) as session:
            hits = rules.run_all(audit_repo.load_month(session, MONTH))
        yield Injected(url, truth, hits)
    finally:
        engine.dispose()
        _drop(url, city.backend)


class TestInjection:
    """Every planted (rule, subject) is found, and nothing the truth does not expect."""

    def test_every_rule_is_planted(self, injected: Injected) -> None:
        counts = injected.truth.counts()
        assert set(counts) == set(rules.RULES), injected.truth.skipped
        assert counts["ledger_break"] == 1
        assert all(n >= 1 for n in counts.values())
        assert counts["missing_check"] == counts["far_location"] == PER_RULE
        assert len(set(injected.truth.planted)) == len(injected.truth.planted)

    def test_every_planted_anomaly_is_found(self, injected: Injected) -> None:
        found = {h.key for h in injected.hits}
        missed = injected.truth.keys() - found
        assert not missed, sorted(missed)

    def test_nothing_else_is_found(self, injected: Injected) -> None:
        unexpected = {h.key for h in injected.hits} - injected.truth.expected_keys()
        assert not unexpected, sorted(unexpected)

    def test_the_ledger_break_names_the_tampered_entry(self, injected: Injected) -> None:
        (hit,) = [h for h in injected.hits if h.rule == "ledger_break"]
        assert ("ledger_break", hit.subject) in injected.truth.planted
        engine = make_engine(injected.url)
        try:
            with Session(engine) as session:
                verdict = ledger.verify(session)
                count = session.exec(select(func.count(col(LedgerEntry.id)))).one()
        finally:
            engine.dispose()
        assert not verdict.ok and hit.subject == f"ledger:{verdict.first_broken_id}"
        assert count > INJECTED_VISITS

    def test_every_rule_scores_full_recall_and_precision(self, injected: Injected) -> None:
        scores = fraud_month.score(injected.truth, [(h.rule, h.subject) for h in injected.hits])
        assert [s.rule for s in scores] == list(rules.RULES)
        for s in scores:
            assert (s.recall, s.precision) == (1.0, 1.0), s

    def test_the_truth_is_json(self, injected: Injected) -> None:
        data = json.loads(json.dumps(injected.truth.to_dict(), ensure_ascii=False))
        again = fraud_month.GroundTruth.from_dict(data)
        assert again.planted == injected.truth.planted
        assert again.also_expected == injected.truth.also_expected
        assert data["counts"] == injected.truth.counts()
