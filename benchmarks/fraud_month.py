"""Fraud-detection benchmark: a clean month of home visits, anomalies planted, the audit scored.

    python benchmarks/fraud_month.py --visits 50000 --month 2026-12 --per-rule 30 \\
        --truth truth.json [--database-url URL] [--seed 1] [--break-ledger] [--out scores.csv]

Migrates the database (default: a fresh SQLite file in a temporary directory), seeds the demo
city, generates the month (``marketplace.demo.history.generate_month``), then ``inject`` plants
anomalies of every kind ``audit.rules`` looks for at known places and writes the ground truth:
each planted ``(rule, subject)`` with the subject exactly as the rule reports it, and for each
planted instance the other hits it legitimately causes ("also expected"), so that scoring can
count them neither as misses nor as false alarms. Prints the time each step took.

Then it runs the audit as ``linli audit run`` does (``audit.service.run_month``: load the month,
every rule, store the findings) on the clean month and again after planting, and scores each
rule: recall = planted found / planted, precision = planted found / (planted found + hits that
are neither planted nor also expected).

Planted rows are chosen so that they trigger only their own rule where that is possible
(other time- or place-changing plants never share a worker's day, no visit is planted twice,
certificates are not taken from substitute workers, edits stay below the edit-volume bar),
and checked with an independent re-computation of the overlap, travel and 24-hour sums.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from itertools import pairwise
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from faker import Faker
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from api.dbadmin import upgrade
from audit import export, reports
from audit import service as audit_service
from audit.facts import Thresholds
from audit.repository import person_key
from audit.rules import RULES
from core.db import make_engine, read_only, unit_of_work
from core.geo import Point, haversine_m
from core.ids import new_public_id
from core.timeutil import local_date, local_datetime
from marketplace.catalog.models import Item
from marketplace.demo import fuzhou
from marketplace.demo.history import Appointment, add_visits, generate_month, month_days
from marketplace.demo.history import travel_seconds as travel_s
from marketplace.demo.seed import is_empty, seed_demo
from marketplace.households.models import (
    Household,
    Member,
    PeriodKind,
    ProtectedCategory,
    ProtectedStatus,
    StatusPeriod,
    StatusReview,
)
from marketplace.orders.models import Order, WorkerBooking
from marketplace.providers import service as providers_service
from marketplace.providers.models import (
    Gender,
    Provider,
    TravelMode,
    Worker,
    WorkerCertificate,
    WorkerSkill,
)
from marketplace.providers.schemas import CertificateIn, ShiftIn, SkillIn, WorkerCreate
from marketplace.visits.models import CheckMethod, EditReason, Visit, VisitEdit
from pricing import ledger
from pricing.ledger import EntryDraft
from pricing.models import EntryKind, LedgerEntry, Payer

DEMO_START = date(2026, 11, 23)  # the demo week benchmarks/quotes.py seeds too
DISABILITY_GROUPS = ("disability_moderate", "disability_severe", "disability_total")
SWAP_GROUPS = ("tekun", "dibao", "youfu", *DISABILITY_GROUPS)
# A planted outlier aims this many times the rule's z limit above the median.
OUTLIER_MARGIN = 2.0
OUTLIER_STEPS = 100
MAX_EDITS_PER_NEW_STAFF = 12  # below Thresholds.staff_edits_min: never an edit-volume finding
TRAVEL_GAP_S = 0  # between two visits planted as impossible travel (touching, not overlapping)
TRAVEL_MARGIN_M = 300  # beyond what the rule would still allow
TWIN_GAP_S = 20 * 60  # a twin's visit may begin this long after the person's previous one


# --- the ground truth ----------------------------------------------------------------------


@dataclass
class GroundTruth:
    """What was planted: ``planted`` (rule, subject) pairs, and per planted key
    ("rule:subject") the further hits it legitimately causes."""

    month: str
    seed: int
    per_rule: int
    planted: list[tuple[str, str]] = field(default_factory=list)
    also_expected: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    details: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        rule: str,
        subject: str,
        what: str,
        *,
        visits: Iterable[str] = (),
        also: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Record one planted instance."""
        self.planted.append((rule, subject))
        extra = [pair for pair in also if pair != (rule, subject)]
        if extra:
            self.also_expected.setdefault(f"{rule}:{subject}", []).extend(extra)
        self.details.append(
            {"rule": rule, "subject": subject, "what": what, "visits": list(visits)}
        )

    def keys(self) -> set[str]:
        """Planted findings as ``Hit.key`` strings."""
        return {f"{rule}:{subject}" for rule, subject in self.planted}

    def expected_keys(self) -> set[str]:
        """Every finding the plants should produce (planted and also expected)."""
        also = {f"{r}:{s}" for pairs in self.also_expected.values() for r, s in pairs}
        return self.keys() | also

    def counts(self) -> dict[str, int]:
        """Planted instances per rule."""
        return dict(sorted(Counter(rule for rule, _ in self.planted).items()))

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "month": self.month,
            "seed": self.seed,
            "per_rule": self.per_rule,
            "counts": self.counts(),
            "planted": [list(pair) for pair in self.planted],
            "also_expected": {k: [list(p) for p in v] for k, v in self.also_expected.items()},
            "details": self.details,
            "skipped": self.skipped,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroundTruth:
        """Read the JSON form back."""
        return cls(
            month=data["month"],
            seed=data["seed"],
            per_rule=data["per_rule"],
            planted=[(r, s) for r, s in data["planted"]],
            also_expected={
                k: [(r, s) for r, s in v] for k, v in data.get("also_expected", {}).items()
            },
            details=list(data.get("details", [])),
            skipped=dict(data.get("skipped", {})),
        )


# --- the month as the injector sees it -----------------------------------------------------


@dataclass(slots=True)
class _V:
    id: int
    ref: str
    order_id: int
    order_ref: str
    provider_id: int
    worker_id: int
    person: str
    member_id: int
    household_id: int
    item_id: int
    item_code: str
    certificates: tuple[str, ...]
    day: date
    home: tuple[float, float]
    start: datetime | None
    end: datetime | None
    in_at: datetime | None
    in_method: str | None
    in_lat: float | None
    in_lon: float | None
    out_at: datetime | None
    out_method: str | None
    out_lat: float | None
    out_lon: float | None
    billed: int | None  # the breakdown's billed minutes (hourly items)
    duration: int
    subsidy_fen: int
    group: str | None
    cap_fen: int
    tasks: list[str]
    edited: bool

    @property
    def billed_minutes(self) -> int:
        """As the audit counts it: the breakdown's billed minutes, else the duration."""
        return self.billed if self.billed is not None else self.duration

    @property
    def clean(self) -> bool:
        """Both ends captured by GPS with coordinates, never edited."""
        return (
            self.in_at is not None
            and self.out_at is not None
            and self.in_method == CheckMethod.GPS.value
            and self.out_method == CheckMethod.GPS.value
            and self.in_lat is not None
            and self.out_lat is not None
            and not self.edited
        )


@dataclass(slots=True)
class _W:
    id: int
    public_id: str
    provider_id: int
    phone: str
    person: str
    base: tuple[float, float]
    mode: str


def _load(session: Session, first: date, last: date) -> tuple[list[_V], dict[int, _W]]:
    workers: dict[int, _W] = {}
    for w in session.exec(select(Worker).order_by(col(Worker.id))):
        assert w.id is not None
        workers[w.id] = _W(
            w.id,
            w.public_id,
            w.provider_id,
            w.phone,
            person_key(w.id, w.phone),
            (w.start_lat, w.start_lon),
            str(w.travel_mode),
        )
    edited = {
        visit_id
        for (visit_id,) in session.execute(
            sa.select(col(VisitEdit.visit_id))
            .join(Visit, col(Visit.id) == col(VisitEdit.visit_id))
            .where(col(Visit.service_date) >= first, col(Visit.service_date) <= last)
        )
    }
    stmt = (
        sa.select(
            Visit,
            col(Order.public_id),
            col(Order.provider_id),
            col(Order.duration_minutes),
            col(Order.subsidy_fen),
            col(Order.price_breakdown),
            col(Item.code),
            col(Item.required_certificates),
        )
        .join(Order, col(Order.id) == col(Visit.order_id))
        .join(Item, col(Item.id) == col(Visit.item_id))
        .where(col(Visit.service_date) >= first, col(Visit.service_date) <= last)
        .order_by(col(Visit.id))
    )
    visits: list[_V] = []
    for v, ref, provider_id, duration, subsidy, breakdown, code, certificates in session.execute(
        stmt
    ):
        assert v.id is not None
        breakdown = breakdown or {}
        billed = breakdown.get("billed_minutes")
        visits.append(
            _V(
                id=v.id,
                ref=v.public_id,
                order_id=v.order_id,
                order_ref=ref,
                provider_id=provider_id,
                worker_id=v.worker_id,
                person=workers[v.worker_id].person,
                member_id=v.recipient_member_id,
                household_id=v.household_id,
                item_id=v.item_id,
                item_code=code,
                certificates=tuple(certificates or ()),
                day=v.service_date,
                home=(v.location_lat, v.location_lon),
                start=v.scheduled_start,
                end=v.scheduled_end,
                in_at=v.check_in_at,
                in_method=None if v.check_in_method is None else str(v.check_in_method),
                in_lat=v.check_in_lat,
                in_lon=v.check_in_lon,
                out_at=v.check_out_at,
                out_method=None if v.check_out_method is None else str(v.check_out_method),
                out_lat=v.check_out_lat,
                out_lon=v.check_out_lon,
                billed=billed if isinstance(billed, int) else None,
                duration=duration,
                subsidy_fen=subsidy,
                group=breakdown.get("group"),
                cap_fen=int(breakdown.get("cap_fen") or 0),
                tasks=list(v.tasks_done),
                edited=v.id in edited,
            )
        )
    return visits, workers


# --- independent re-computation of what the time rules would see ---------------------------


def _metres(a: tuple[float, float], b: tuple[float, float]) -> int:
    return haversine_m(Point(*a), Point(*b))


def _where_out(v: _V) -> tuple[float, float]:
    return (v.out_lat, v.out_lon) if v.out_lat is not None and v.out_lon is not None else v.home


def _where_in(v: _V) -> tuple[float, float]:
    return (v.in_lat, v.in_lon) if v.in_lat is not None and v.in_lon is not None else v.home


def _person_findings(visits: Iterable[_V], th: Thresholds) -> tuple[set[date], set[date]]:
    """Days with overlapping visits and days with impossible travel, for one person's visits."""
    timed = sorted(
        (v for v in visits if v.in_at is not None and v.out_at is not None),
        key=lambda v: (v.in_at, v.out_at, v.ref),
    )
    overlaps: set[date] = set()
    last_end: datetime | None = None
    for v in timed:
        assert v.in_at is not None
        assert v.out_at is not None
        if v.out_at <= v.in_at:
            continue
        if last_end is not None and v.in_at < last_end:
            overlaps.add(v.day)
        if last_end is None or v.out_at > last_end:
            last_end = v.out_at
    travel: set[date] = set()
    speed = th.max_speed_kmh / 3.6
    for a, b in pairwise(timed):
        assert a.out_at is not None
        assert b.in_at is not None
        gap = (b.in_at - a.out_at).total_seconds()
        if gap >= 0 and _metres(_where_out(a), _where_in(b)) > speed * (gap + th.travel_slack_s):
            travel.add(b.day)
    return overlaps, travel


def _when(v: _V) -> datetime:
    """When the visit began (its check-in, else its schedule)."""
    at = v.in_at or v.start
    assert at is not None
    return at


def _overlaps(a: _V, b: _V) -> bool:
    if a.in_at is None or a.out_at is None or b.in_at is None or b.out_at is None:
        return False
    return a.in_at < b.out_at and b.in_at < a.out_at


def _robust_z(values: dict[int, float]) -> dict[int, float]:
    """Robust z-scores as ``audit.rules.provider_outlier`` documents them."""
    ordered = sorted(values.values())
    median = statistics.median(ordered)
    deviations = [abs(x - median) for x in ordered]
    mad = statistics.median(deviations)
    scale = mad / 0.6745 if mad > 0 else 1.253314 * statistics.fmean(deviations)
    if scale <= 0:
        return dict.fromkeys(values, 0.0)
    scale = max(scale, 1e-9 * max(abs(median), 1.0))
    return {p: (x - median) / scale for p, x in values.items()}


# --- the injector --------------------------------------------------------------------------


@dataclass
class _Injector:
    session: Session
    month: str
    first: date
    last: date
    rng: random.Random
    fake: Faker
    th: Thresholds
    per_rule: int
    truth: GroundTruth
    visits: list[_V] = field(default_factory=list)
    workers: dict[int, _W] = field(default_factory=dict)
    by_person: dict[str, list[_V]] = field(default_factory=dict)
    used_visits: set[int] = field(default_factory=set)
    used_days: set[tuple[str, date]] = field(default_factory=set)
    used_members: set[int] = field(default_factory=set)
    used_workers: set[int] = field(default_factory=set)
    excluded_providers: set[int] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    item_skills: dict[int, frozenset[str]] = field(default_factory=dict)
    editors: set[str] = field(default_factory=set)

    def reload(self) -> None:
        """Read the month as it now stands."""
        self.session.flush()
        self.visits, self.workers = _load(self.session, self.first, self.last)
        self.by_person = defaultdict(list)
        for v in self.visits:
            self.by_person[v.person].append(v)
        self.phones = {w.phone for w in self.workers.values()}
        self.item_skills = {
            i.id: frozenset(i.required_skills)
            for i in self.session.exec(select(Item)).all()
            if i.id is not None
        }
        self.editors |= {e for (e,) in self.session.execute(sa.select(col(VisitEdit.editor)))}

    # -- helpers -------------------------------------------------------------------------

    def _free(self, v: _V) -> bool:
        return (
            v.id not in self.used_visits
            and (v.person, v.day) not in self.used_days
            and v.member_id not in self.used_members
            and v.provider_id not in self.excluded_providers
        )

    def _candidates(self, *, clean: bool = True) -> list[_V]:
        found = [v for v in self.visits if self._free(v) and (v.clean or not clean)]
        self.rng.shuffle(found)
        return found

    def _use(self, v: _V) -> None:
        self.used_visits.add(v.id)
        self.used_days.add((v.person, v.day))
        self.used_members.add(v.member_id)

    def _side_effects(self, person: str, day: date, rule: str) -> list[tuple[str, str]] | None:
        """The time findings of ``person`` now; None when one falls outside ``day`` or is
        not ``rule`` (the plant must be undone), else the pairs besides the planted one."""
        overlaps, travel = _person_findings(self.by_person[person], self.th)
        found = {("overlap", d) for d in overlaps} | {("impossible_travel", d) for d in travel}
        if any(d != day for _, d in found):
            return None
        return [(r, f"{person}:{d.isoformat()}") for r, d in sorted(found) if r != rule]

    def _move(self, v: _V, person: str) -> None:
        """File the visit under another person (its worker changes)."""
        self.by_person[v.person].remove(v)
        v.person = person
        self.by_person.setdefault(person, []).append(v)

    def _visit_row(self, v: _V) -> Visit:
        row = self.session.get(Visit, v.id)
        assert row is not None
        return row

    def _staff_name(self, provider_id: int) -> str:
        """A new staff member of the provider, named as the generator names its staff."""
        row = self.session.get(Provider, provider_id)
        assert row is not None
        while True:
            name = f"staff:{row.public_id}:{self.fake.name()}"
            if name not in self.editors:
                self.editors.add(name)
                return name

    def _new_phone(self) -> str:
        while True:
            phone = f"199{self.rng.randrange(10**8):08d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def _new_worker(
        self, model: Worker, *, provider_id: int, phone: str, base: tuple[float, float]
    ) -> Worker:
        """A worker with the model's skills and every certificate valid for years."""
        assert model.id is not None
        skills = self.session.exec(
            select(WorkerSkill).where(col(WorkerSkill.worker_id) == model.id)
        ).all()
        kinds = {
            c.kind
            for c in self.session.exec(
                select(WorkerCertificate).where(col(WorkerCertificate.worker_id) == model.id)
            ).all()
        }
        return self._create_worker(
            provider_id=provider_id,
            phone=phone,
            base=base,
            mode=str(model.travel_mode),
            skills={s.skill: s.level for s in skills},
            certificates=kinds,
        )

    def _create_worker(
        self,
        *,
        provider_id: int,
        phone: str,
        base: tuple[float, float],
        mode: str,
        skills: dict[str, int],
        certificates: Iterable[str],
    ) -> Worker:
        gender = Gender.FEMALE if self.rng.random() < 0.7 else Gender.MALE
        issued = self.first - timedelta(days=self.rng.randint(100, 900))
        worker = providers_service.create_worker(
            self.session,
            WorkerCreate(
                provider_id=provider_id,
                name=self.fake.name_female() if gender is Gender.FEMALE else self.fake.name_male(),
                gender=gender,
                phone=phone,
                languages=["zh"],
                travel_mode=TravelMode(mode),
                start_lat=base[0],
                start_lon=base[1],
                skills=[SkillIn(skill=s, level=level) for s, level in sorted(skills.items())],
                certificates=[
                    CertificateIn(
                        kind=kind,
                        number=f"X{self.rng.randrange(10**9):09d}",
                        issued_on=issued,
                        expires_on=self.last + timedelta(days=3 * 365),
                    )
                    for kind in sorted(certificates)
                ],
                shifts=[
                    ShiftIn(weekday=d, starts_at=clock(8, 0), ends_at=clock(19, 0))
                    for d in range(6)
                ],
            ),
            public_id=new_public_id("wkr", self.rng),
        )
        assert worker.id is not None
        self.used_workers.add(worker.id)
        return worker

    # -- provider outliers (first: they add and change many visits) ---------------------

    def provider_outliers(self) -> None:
        """One or a few providers far above their peers in visits per recipient (phantom
        visits by extra workers to the provider's own clients) and in manual check-ins."""
        th = self.th
        visits: Counter[int] = Counter()
        manual: Counter[int] = Counter()
        recipients: dict[int, set[int]] = defaultdict(set)
        for v in self.visits:
            visits[v.provider_id] += 1
            recipients[v.provider_id].add(v.member_id)
            if CheckMethod.MANUAL.value in (v.in_method, v.out_method):
                manual[v.provider_id] += 1
        eligible = sorted(p for p, n in visits.items() if n >= th.outlier_min_visits)
        if len(eligible) < max(th.outlier_min_peers, 1):
            self.truth.skipped["provider_outlier"] = (
                f"only {len(eligible)} providers have {th.outlier_min_visits} visits; the rule "
                f"needs {th.outlier_min_peers}"
            )
            return
        count = min(self.per_rule, max(1, len(eligible) // 10))
        by_size = sorted(eligible, key=lambda p: (len(recipients[p]), p))
        small = by_size[: max(2 * count, len(by_size) // 2)]
        chosen = self.rng.sample(small, count)
        rest = [p for p in eligible if p not in chosen]
        chosen_manual = self.rng.sample(rest, min(count, len(rest)))
        ratio = {p: visits[p] / len(recipients[p]) for p in eligible}
        share = {p: manual[p] / visits[p] for p in eligible}
        target_ratio = self._outlier_target(ratio, chosen)
        target_share = self._outlier_target(share, chosen_manual)
        for p in chosen:
            extra = math.ceil(target_ratio * len(recipients[p])) - visits[p]
            self._phantom_visits(p, extra)
            self.truth.add(
                "provider_outlier",
                f"provider:{p}:visits_per_recipient",
                f"{extra} extra visits by new workers to the provider's "
                f"{len(recipients[p])} clients (about {target_ratio:.1f} visits per recipient)",
            )
        for p in chosen_manual:
            wanted = math.ceil(target_share * visits[p]) - manual[p]
            done = self._manual_checks(p, wanted)
            self.truth.add(
                "provider_outlier",
                f"provider:{p}:manual_check_share",
                f"{done} check-ins turned manual (share about {target_share:.2f})",
            )
        self.excluded_providers |= set(chosen) | set(chosen_manual)
        self.reload()
        self._check_outliers({"visits_per_recipient": chosen, "manual_check_share": chosen_manual})

    def _outlier_target(self, values: dict[int, float], chosen: Sequence[int]) -> float:
        """A value far enough above the other providers for ``chosen`` to stand out, all of
        them together."""
        peers = {p: x for p, x in values.items() if p not in chosen}
        ordered = sorted(peers.values())
        median = statistics.median(ordered)
        deviations = [abs(x - median) for x in ordered]
        mad = statistics.median(deviations)
        scale = mad / 0.6745 if mad > 0 else 1.253314 * statistics.fmean(deviations)
        step = max(scale, 0.05 * abs(median), 1e-3)
        target = median + OUTLIER_MARGIN * self.th.outlier_z * step
        # The planted values widen the spread the rule measures them against: raise until
        # they clear the bar with the margin. (With very few peers the z-score of a value far
        # above the rest stops growing with it; _check_outliers reports what was reached.)
        for _ in range(OUTLIER_STEPS):
            z = _robust_z({**peers, **dict.fromkeys(chosen, target)})
            if min(z[p] for p in chosen) >= OUTLIER_MARGIN * self.th.outlier_z:
                break
            target += step
        return target

    def _check_outliers(self, planted: dict[str, list[int]]) -> None:
        """After planting: every planted provider stands out; any other that now does too is
        an expected consequence."""
        visits: Counter[int] = Counter()
        manual: Counter[int] = Counter()
        recipients: dict[int, set[int]] = defaultdict(set)
        for v in self.visits:
            visits[v.provider_id] += 1
            recipients[v.provider_id].add(v.member_id)
            if CheckMethod.MANUAL.value in (v.in_method, v.out_method):
                manual[v.provider_id] += 1
        eligible = [p for p, n in visits.items() if n >= self.th.outlier_min_visits]
        measures = {
            "visits_per_recipient": {p: visits[p] / len(recipients[p]) for p in eligible},
            "manual_check_share": {p: manual[p] / visits[p] for p in eligible},
        }
        for measure, chosen in planted.items():
            z = _robust_z(measures[measure])
            for p in chosen:
                if z.get(p, 0.0) <= self.th.outlier_z:
                    self.truth.skipped[f"provider:{p}:{measure}"] = (
                        f"planted, but only reaches robust z {z.get(p, 0.0):.1f}"
                    )
            others = [
                ("provider_outlier", f"provider:{p}:{measure}")
                for p in sorted(z)
                if p not in chosen and z[p] > self.th.outlier_z
            ]
            if others and chosen:
                key = f"provider_outlier:provider:{chosen[0]}:{measure}"
                self.truth.also_expected.setdefault(key, []).extend(others)

    def _phantom_visits(self, provider_id: int, extra: int) -> None:
        """``extra`` visits to the provider's own recipients, by new workers every day."""
        own = [v for v in self.visits if v.provider_id == provider_id]
        model_rows = self.session.exec(
            select(Worker).where(col(Worker.id).in_(sorted({v.worker_id for v in own})))
        ).all()
        skills: dict[str, int] = {}
        kinds: set[str] = set()
        for w in model_rows:
            assert w.id is not None
            for s in self.session.exec(
                select(WorkerSkill).where(col(WorkerSkill.worker_id) == w.id)
            ).all():
                skills[s.skill] = max(skills.get(s.skill, 1), s.level)
            kinds |= {
                c.kind
                for c in self.session.exec(
                    select(WorkerCertificate).where(col(WorkerCertificate.worker_id) == w.id)
                ).all()
            }
        base = self.workers[own[0].worker_id].base
        usual: dict[int, Counter[tuple[int, int]]] = defaultdict(Counter)
        homes: dict[int, tuple[float, float]] = {}
        billed: Counter[tuple[int, date]] = Counter()
        for v in self.visits:
            billed[(v.member_id, v.day)] += v.billed_minutes
        for v in own:
            usual[v.member_id][(v.item_id, v.duration)] += 1
            homes[v.member_id] = v.home
        blocked = self._blocked_days(list(usual))
        clients = sorted(usual)
        days = [
            self.first + timedelta(days=i)
            for i in range((self.last - self.first).days + 1)
            if (self.first + timedelta(days=i)).weekday() < 6
        ]
        appointments: list[Appointment] = []
        served: set[tuple[int, date]] = set()
        while len(appointments) < extra:
            worker = self._create_worker(
                provider_id=provider_id,
                phone=self._new_phone(),
                base=base,
                mode="ebike",
                skills=skills,
                certificates=kinds,
            )
            assert worker.id is not None
            before = len(appointments)
            for day in days:
                here, cursor = base, 8 * 60
                while len(appointments) < extra:
                    open_clients = [
                        m
                        for m in clients
                        if (m, day) not in served
                        and day not in blocked.get(m, ())
                        and billed[(m, day)] <= 12 * 60
                    ]
                    if not open_clients:
                        break
                    m = min(open_clients, key=lambda m: (_metres(here, homes[m]), m))
                    (item_id, minutes), _ = usual[m].most_common(1)[0]
                    start = cursor + math.ceil(travel_s(here, homes[m], "ebike") / 60) + 10
                    start = -(-start // 5) * 5
                    if start + minutes > 19 * 60:
                        break
                    appointments.append(
                        Appointment(
                            member_id=m,
                            worker_id=worker.id,
                            item_id=item_id,
                            start=local_datetime(day, clock(start // 60, start % 60)),
                            minutes=minutes,
                        )
                    )
                    served.add((m, day))
                    billed[(m, day)] += minutes
                    here, cursor = homes[m], start + minutes
            if len(appointments) == before:
                break  # every client is served every day already
        add_visits(self.session, appointments, seed=self.rng.randrange(10**9), month=self.month)

    def _blocked_days(self, members: Sequence[int]) -> dict[int, set[date]]:
        """Days of the month each member cannot be served (hospital, deceased, moved)."""
        out: dict[int, set[date]] = defaultdict(set)
        for member_id, starts, ends in self.session.execute(
            sa.select(
                col(StatusPeriod.member_id), col(StatusPeriod.starts_on), col(StatusPeriod.ends_on)
            ).where(col(StatusPeriod.member_id).in_(list(members)))
        ):
            day = self.first
            while day <= self.last:
                if starts <= day and (ends is None or day <= ends):
                    out[member_id].add(day)
                day += timedelta(days=1)
        return out

    def _manual_checks(self, provider_id: int, wanted: int) -> int:
        own = [v for v in self.visits if v.provider_id == provider_id and v.clean]
        chosen = self.rng.sample(own, min(wanted, len(own)))
        staff: list[str] = []
        for i, v in enumerate(chosen):
            if i % MAX_EDITS_PER_NEW_STAFF == 0:
                staff.append(self._staff_name(provider_id))
            row = self._visit_row(v)
            assert v.in_at is not None
            row.check_in_method = CheckMethod.MANUAL
            row.check_in_lat = row.check_in_lon = row.check_in_accuracy_m = None
            self.session.add(row)
            self.session.add(
                VisitEdit(
                    visit_id=v.id,
                    field="check_in_at",
                    old_value=None,
                    new_value=v.in_at.isoformat(),
                    reason_code=self.rng.choice(
                        [
                            EditReason.DEVICE_FAILURE,
                            EditReason.NO_SIGNAL,
                            EditReason.FORGOT_CHECK_IN,
                        ]
                    ),
                    editor=staff[-1],
                    at=v.in_at + timedelta(minutes=self.rng.randint(30, 36 * 60)),
                )
            )
        return len(chosen)

    # -- per-visit plants ----------------------------------------------------------------

    def missing_check(self) -> None:
        """Completed visits without a check-out (or check-in) time."""
        planted = 0
        for v in self._candidates():
            if planted >= self.per_rule:
                break
            which = "check_in" if self.rng.random() < 0.3 else "check_out"
            saved = (v.in_at, v.out_at)
            if which == "check_in":
                v.in_at = None
            else:
                v.out_at = None
            also = self._side_effects(v.person, v.day, "missing_check")
            if also is None or also:
                v.in_at, v.out_at = saved
                continue
            row = self._visit_row(v)
            setattr(row, f"{which}_at", None)
            setattr(row, f"{which}_method", None)
            setattr(row, f"{which}_lat", None)
            setattr(row, f"{which}_lon", None)
            setattr(row, f"{which}_accuracy_m", None)
            self.session.add(row)
            self._use(v)
            self.truth.add("missing_check", v.ref, f"{which} removed", visits=[v.ref])
            planted += 1

    def far_location(self) -> None:
        """Check-ins recorded 1.5–3 km from the home."""
        planted = 0
        for v in self._candidates():
            if planted >= self.per_rule:
                break
            distance = self.rng.uniform(1_500, 3_000)
            angle = self.rng.uniform(0, 2 * math.pi)
            lat, lon = fuzhou.offset(
                v.home[0], v.home[1], distance * math.cos(angle), distance * math.sin(angle)
            )
            saved = (v.in_lat, v.in_lon)
            v.in_lat, v.in_lon = lat, lon
            also = self._side_effects(v.person, v.day, "far_location")
            if also is None or also:
                v.in_lat, v.in_lon = saved
                continue
            row = self._visit_row(v)
            row.check_in_lat, row.check_in_lon = lat, lon
            self.session.add(row)
            self._use(v)
            self.truth.add(
                "far_location", v.ref, f"check-in moved {distance:.0f} m away", visits=[v.ref]
            )
            planted += 1

    def other_worker(self) -> None:
        """Visits done by a colleague (off that day) instead of the booked worker."""
        held = self._qualifications()
        busy = {(v.worker_id, v.day) for v in self.visits}
        by_provider: dict[int, list[_W]] = defaultdict(list)
        for w in self.workers.values():
            by_provider[w.provider_id].append(w)
        planted = 0
        for v in self._candidates():
            if planted >= self.per_rule:
                break
            substitutes = [
                w
                for w in by_provider[v.provider_id]
                if w.id != v.worker_id
                and w.person != v.person
                and w.id not in self.used_workers
                and (w.id, v.day) not in busy
                and (w.person, v.day) not in self.used_days
                and self._qualified(held, w.id, v)
            ]
            if not substitutes:
                continue
            w = self.rng.choice(substitutes)
            old_person, old_worker = v.person, v.worker_id
            self._move(v, w.person)
            v.worker_id = w.id
            also = self._side_effects(w.person, v.day, "other_worker")
            if also is None or also:
                self._move(v, old_person)
                v.worker_id = old_worker
                continue
            row = self._visit_row(v)
            row.worker_id = w.id
            self.session.add(row)
            self._use(v)
            self.used_days.add((old_person, v.day))
            self.used_workers.add(w.id)
            busy.add((w.id, v.day))
            self.truth.add(
                "other_worker",
                v.ref,
                f"done by worker {w.id} instead of the booked one",
                visits=[v.ref],
            )
            planted += 1

    def _qualifications(self) -> tuple[dict[int, set[str]], dict[int, dict[str, date | None]]]:
        skills: dict[int, set[str]] = defaultdict(set)
        for worker_id, skill in self.session.execute(
            sa.select(col(WorkerSkill.worker_id), col(WorkerSkill.skill))
        ):
            skills[worker_id].add(skill)
        certs: dict[int, dict[str, date | None]] = defaultdict(dict)
        for worker_id, kind, expires in self.session.execute(
            sa.select(
                col(WorkerCertificate.worker_id),
                col(WorkerCertificate.kind),
                col(WorkerCertificate.expires_on),
            )
        ):
            held = certs[worker_id]
            if kind not in held or (
                held[kind] is not None and (expires is None or expires > held[kind])
            ):
                held[kind] = expires
        return skills, certs

    def _qualified(
        self,
        held: tuple[dict[int, set[str]], dict[int, dict[str, date | None]]],
        worker_id: int,
        v: _V,
    ) -> bool:
        skills, certs = held
        needed = self.item_skills.get(v.item_id, frozenset())
        if not needed <= skills[worker_id]:
            return False
        for kind in v.certificates:
            if kind not in certs[worker_id]:
                return False
            expires = certs[worker_id][kind]
            if expires is not None and expires < v.day:
                return False
        return True

    def overlap(self) -> None:
        """Two visits of one person at once: within a worker's day (a later visit's times
        moved into an earlier one), and across providers (a colleague at another provider
        registered with the same phone takes over a visit that overlaps)."""
        across = self.per_rule // 3
        self._overlap_within(self.per_rule - across)
        self._overlap_across(across)

    def _days(self) -> list[tuple[str, date, list[_V]]]:
        by_day: dict[tuple[str, date], list[_V]] = defaultdict(list)
        for v in self.visits:
            by_day[(v.person, v.day)].append(v)
        out = [
            (person, day, sorted(vs, key=lambda v: (_when(v), v.ref)))
            for (person, day), vs in by_day.items()
            if (person, day) not in self.used_days
        ]
        out.sort(key=lambda t: (t[0], t[1]))
        self.rng.shuffle(out)
        return out

    def _overlap_within(self, count: int) -> None:
        planted = 0
        for person, day, day_visits in self._days():
            if planted >= count:
                break
            pairs = [
                (a, b)
                for a, b in pairwise(day_visits)
                if self._free(a) and self._free(b) and a.clean and b.clean
            ]
            if not pairs:
                continue
            a, b = self.rng.choice(pairs)
            assert a.in_at is not None
            assert a.out_at is not None
            assert b.in_at is not None
            assert b.out_at is not None
            saved = (b.in_at, b.out_at)
            stay = b.out_at - b.in_at
            b.in_at = a.in_at + (a.out_at - a.in_at) / 2
            b.in_at = b.in_at.replace(microsecond=0)
            b.out_at = b.in_at + stay
            also = self._side_effects(person, day, "overlap")
            overlaps, _ = _person_findings(self.by_person[person], self.th)
            if also is None or day not in overlaps:
                b.in_at, b.out_at = saved
                continue
            row = self._visit_row(b)
            row.check_in_at, row.check_out_at = b.in_at, b.out_at
            self.session.add(row)
            for v in (a, b):
                self._use(v)
            subject = f"{person}:{day.isoformat()}"
            self.truth.add(
                "overlap",
                subject,
                "a visit's check times moved into the worker's previous visit",
                visits=[a.ref, b.ref],
                also=also,
            )
            planted += 1

    def _overlap_across(self, count: int) -> None:
        planted = 0
        by_day: dict[date, list[_V]] = defaultdict(list)
        for v in self.visits:
            by_day[v.day].append(v)
        for person, day, day_visits in self._days():
            if planted >= count:
                break
            mine = [v for v in day_visits if v.in_at and v.out_at]
            if not mine or not all(self._free(v) for v in mine):
                continue
            worker = self.workers[mine[0].worker_id]
            others = [
                v
                for v in by_day[day]
                if v.provider_id != worker.provider_id
                and v.clean
                and self._free(v)
                and any(_overlaps(u, v) for u in mine)
                and min(_metres(v.home, u.home) for u in mine) < 3_000
            ]
            if not others:
                continue
            v = self.rng.choice(others)
            old_person = v.person
            self._move(v, person)
            also = self._side_effects(person, day, "overlap")
            overlaps, _ = _person_findings(self.by_person[person], self.th)
            if also is None or day not in overlaps:
                self._move(v, old_person)
                continue
            twin = self._hand_to_twin(v, worker)
            for u in (*mine, v):
                self._use(u)
            self.used_days.add((old_person, day))
            self.truth.add(
                "overlap",
                f"{person}:{day.isoformat()}",
                f"worker {twin} of provider {v.provider_id} shares the phone of worker "
                f"{worker.id} of provider {worker.provider_id} and has an overlapping visit",
                visits=[v.ref, *(u.ref for u in mine)],
                also=also,
            )
            planted += 1

    def impossible_travel(self) -> None:
        """A visit beginning right as the previous one ended, kilometres away: a worker's next
        visit moved up, or (where a worker's day has no such pair) a colleague at another
        provider with the same phone, visiting far away just after."""
        planted = self._travel_within(self.per_rule)
        self._travel_across(self.per_rule - planted)

    def _travel_within(self, count: int) -> int:
        planted = 0
        speed = self.th.max_speed_kmh / 3.6
        needed = speed * (TRAVEL_GAP_S + self.th.travel_slack_s) + TRAVEL_MARGIN_M
        for person, day, day_visits in self._days():
            if planted >= count:
                break
            pairs = [
                (a, b)
                for a, b in pairwise(day_visits)
                if self._free(a)
                and self._free(b)
                and a.clean
                and b.clean
                and _metres(_where_out(a), _where_in(b)) > needed
            ]
            if not pairs:
                continue
            a, b = self.rng.choice(pairs)
            assert a.out_at is not None
            assert b.in_at is not None
            assert b.out_at is not None
            saved = (b.in_at, b.out_at)
            stay = b.out_at - b.in_at
            b.in_at = a.out_at + timedelta(seconds=TRAVEL_GAP_S)
            b.out_at = b.in_at + stay
            also = self._side_effects(person, day, "impossible_travel")
            _, travel = _person_findings(self.by_person[person], self.th)
            if also is None or also or day not in travel or local_date(b.in_at) != day:
                b.in_at, b.out_at = saved
                continue
            row = self._visit_row(b)
            row.check_in_at, row.check_out_at = b.in_at, b.out_at
            self.session.add(row)
            for v in (a, b):
                self._use(v)
            self.truth.add(
                "impossible_travel",
                f"{person}:{day.isoformat()}",
                f"{_metres(_where_out(a), _where_in(b))} m covered in {TRAVEL_GAP_S} s",
                visits=[a.ref, b.ref],
            )
            planted += 1
        return planted

    def _travel_across(self, count: int) -> int:
        planted = 0
        speed = self.th.max_speed_kmh / 3.6
        by_day: dict[date, list[_V]] = defaultdict(list)
        for v in self.visits:
            if v.clean and self._free(v):
                by_day[v.day].append(v)
        for person, day, day_visits in self._days():
            if planted >= count:
                break
            mine = [v for v in day_visits if v.in_at and v.out_at]
            if not mine or not all(self._free(v) for v in mine):
                continue
            worker = self.workers[mine[0].worker_id]
            others: list[_V] = []
            for v in by_day[day]:
                if v.provider_id == worker.provider_id or any(_overlaps(u, v) for u in mine):
                    continue
                for u in mine:
                    assert u.out_at is not None
                    assert v.in_at is not None
                    gap = (v.in_at - u.out_at).total_seconds()
                    allowed = speed * (gap + self.th.travel_slack_s) + TRAVEL_MARGIN_M
                    if 0 <= gap <= TWIN_GAP_S and _metres(_where_out(u), _where_in(v)) > allowed:
                        others.append(v)
                        break
            if not others:
                continue
            v = self.rng.choice(others)
            old_person = v.person
            self._move(v, person)
            also = self._side_effects(person, day, "impossible_travel")
            _, travel = _person_findings(self.by_person[person], self.th)
            if also is None or also or day not in travel:
                self._move(v, old_person)
                continue
            twin = self._hand_to_twin(v, worker)
            for u in (*mine, v):
                self._use(u)
            self.used_days.add((old_person, day))
            by_day[day].remove(v)
            self.truth.add(
                "impossible_travel",
                f"{person}:{day.isoformat()}",
                f"worker {twin} of provider {v.provider_id} shares the phone of worker "
                f"{worker.id} of provider {worker.provider_id} and visits far away just after",
                visits=[v.ref, *(u.ref for u in mine)],
            )
            planted += 1
        return planted

    def _hand_to_twin(self, v: _V, like: _W) -> int:
        """Give the visit (and its booking) to a new worker of its provider who has ``like``'s
        phone, so the audit sees one person working for two providers; the new worker's id."""
        model = self.session.get(Worker, v.worker_id)
        assert model is not None
        twin = self._new_worker(
            model,
            provider_id=v.provider_id,
            phone=like.phone,
            base=self.workers[v.worker_id].base,
        )
        assert twin.id is not None
        row = self._visit_row(v)
        row.worker_id = twin.id
        self.session.add(row)
        booking = self.session.exec(
            select(WorkerBooking).where(
                col(WorkerBooking.order_id) == v.order_id, col(WorkerBooking.active)
            )
        ).one()
        booking.worker_id = twin.id
        self.session.add(booking)
        order = self.session.get(Order, v.order_id)
        assert order is not None
        order.assigned_worker_id = twin.id
        self.session.add(order)
        v.worker_id = twin.id
        return twin.id

    def duration_mismatch(self) -> None:
        """Visits checked out after a fifth to a third of the planned time."""
        planted = 0
        for v in self._candidates():
            if planted >= self.per_rule:
                break
            if v.start is None or v.end is None or v.in_at is None:
                continue
            planned = (v.end - v.start).total_seconds()
            if planned < 60 * 60:
                continue
            saved = v.out_at
            v.out_at = v.in_at + timedelta(seconds=round(planned * self.rng.uniform(0.2, 0.35)))
            also = self._side_effects(v.person, v.day, "duration_mismatch")
            if also is None or also:
                v.out_at = saved
                continue
            row = self._visit_row(v)
            row.check_out_at = v.out_at
            self.session.add(row)
            self._use(v)
            self.truth.add("duration_mismatch", v.ref, "checked out far too early", visits=[v.ref])
            planted += 1

    def over_24h(self) -> None:
        """Billed minutes inflated past a day's 1440: half on a worker's day, half on a
        member's day (which inflates that worker's day too)."""
        person_day: Counter[tuple[str, date]] = Counter()
        member_day: Counter[tuple[int, date]] = Counter()
        for v in self.visits:
            person_day[(v.person, v.day)] += v.billed_minutes
            member_day[(v.member_id, v.day)] += v.billed_minutes
        limit = self.th.max_minutes_per_day
        members = self.per_rule // 2
        planted = 0
        for v in self._candidates(clean=False):
            if planted >= self.per_rule:
                break
            if v.billed is None:
                continue
            t_person, t_member = person_day[(v.person, v.day)], member_day[(v.member_id, v.day)]
            worker_subject = f"{v.person}:{v.day.isoformat()}"
            member_subject = f"member:{v.member_id}:{v.day.isoformat()}"
            if planted < members:
                billed = limit - (t_member - v.billed) + 30
                rule_subject, also = member_subject, [("over_24h", worker_subject)]
                what = "billed minutes inflated past a day for the member (and the worker)"
            else:
                if t_person - t_member < 30:
                    continue
                billed = limit - (t_person - v.billed) + 30
                rule_subject, also = worker_subject, []
                what = "billed minutes inflated past a day for the worker"
            order = self.session.get(Order, v.order_id)
            assert order is not None
            order.price_breakdown = {**order.price_breakdown, "billed_minutes": billed}
            self.session.add(order)
            person_day[(v.person, v.day)] += billed - v.billed
            member_day[(v.member_id, v.day)] += billed - v.billed
            v.billed = billed
            self._use(v)
            self.truth.add("over_24h", rule_subject, what, visits=[v.ref], also=also)
            planted += 1

    def hospital_or_deceased(self) -> None:
        """Visits on a day the member was in hospital (a one-day stay), or on or after the
        day recorded as their death or move away."""
        with_periods = {m for (m,) in self.session.execute(sa.select(col(StatusPeriod.member_id)))}
        by_member: dict[int, list[_V]] = defaultdict(list)
        for v in self.visits:
            by_member[v.member_id].append(v)
        members = sorted(m for m in by_member if m not in with_periods)
        self.rng.shuffle(members)
        planted = 0
        kinds = (PeriodKind.HOSPITAL, PeriodKind.DECEASED, PeriodKind.MOVED_AWAY)
        for i, m in enumerate(members):
            if planted >= self.per_rule:
                break
            own = by_member[m]
            if not all(self._free(v) for v in own):
                continue
            kind = kinds[i % 3]
            day = (
                self.rng.choice(own).day if kind is PeriodKind.HOSPITAL else max(v.day for v in own)
            )
            covered = [v for v in own if v.day == day]
            self.session.add(
                StatusPeriod(
                    member_id=m,
                    kind=kind,
                    starts_on=day,
                    ends_on=day if kind is PeriodKind.HOSPITAL else None,
                    note=self.rng.choice(fuzhou.HOSPITALS) if kind is PeriodKind.HOSPITAL else "",
                    recorded_by=f"网格员 {self.fake.name()}",
                    created_at=local_datetime(day + timedelta(days=2), clock(10, 0)),
                )
            )
            for v in own:
                self._use(v)
            for v in covered:
                self.truth.add(
                    "hospital_or_deceased",
                    v.ref,
                    f"member {m} recorded {kind.value.replace('_', ' ')} from {day}",
                    visits=[v.ref],
                )
                planted += 1

    def entitlement(self) -> None:
        """Subsidy decided for a group the member is not in, and subsidy consumed beyond the
        member's monthly cap (a second consume entry for one order)."""
        groups: dict[int, list[tuple[str, date, date | None]]] = defaultdict(list)
        for member_id, category, level, valid_from, valid_to in self.session.execute(
            sa.select(
                col(ProtectedStatus.member_id),
                col(ProtectedStatus.category),
                col(ProtectedStatus.disability_level),
                col(ProtectedStatus.valid_from),
                col(ProtectedStatus.valid_to),
            ).where(col(ProtectedStatus.review) == StatusReview.APPROVED.value)
        ):
            group = (
                f"disability_{level}"
                if category == ProtectedCategory.DISABILITY.value
                else str(category)
            )
            groups[member_id].append((group, valid_from, valid_to))
        over_cap = self.per_rule // 3
        swapped = 0
        for v in self._candidates(clean=False):
            if swapped >= self.per_rule - over_cap:
                break
            if v.subsidy_fen <= 0:
                continue
            held = {
                g for g, f, t in groups[v.member_id] if f <= v.day and (t is None or v.day <= t)
            }
            options = [g for g in SWAP_GROUPS if g not in held]
            group = self.rng.choice(options)
            order = self.session.get(Order, v.order_id)
            assert order is not None
            order.price_breakdown = {**order.price_breakdown, "group": group}
            self.session.add(order)
            self._use(v)
            self.truth.add("entitlement", v.ref, f"subsidy recorded for {group}", visits=[v.ref])
            swapped += 1
        by_member: dict[int, list[_V]] = defaultdict(list)
        for v in self.visits:
            by_member[v.member_id].append(v)
        consumed = self._subsidy_by_member()
        members = sorted(
            m
            for m, own in by_member.items()
            if any(v.subsidy_fen > 0 for v in own) and all(self._free(v) for v in own)
        )
        self.rng.shuffle(members)
        for m in members[:over_cap]:
            own = by_member[m]
            cap = max(v.cap_fen for v in own)
            last = max((v for v in own if v.subsidy_fen > 0), key=lambda v: (v.day, v.ref))
            amount = cap - consumed.get(m, 0) + self.rng.randint(500, 5_000)
            household = self.session.get(Household, last.household_id)
            assert household is not None
            original = self.session.exec(
                select(LedgerEntry).where(
                    col(LedgerEntry.order_ref) == last.order_ref,
                    col(LedgerEntry.payer) == Payer.SUBSIDY.value,
                )
            ).first()
            assert original is not None
            ledger.append(
                self.session,
                EntryDraft(
                    idempotency_key=f"{last.order_ref}:consume:subsidy:again",
                    kind=EntryKind.CONSUME,
                    payer=Payer.SUBSIDY,
                    order_ref=last.order_ref,
                    member_id=m,
                    provider_id=last.provider_id,
                    district_code=original.district_code,
                    month=self.month,
                    amount_fen=amount,
                    actor=f"provider:{last.provider_id}",
                    policy_version=original.policy_version,
                    reason="service completed",
                ),
                now=local_datetime(last.day + timedelta(days=1), clock(10, 0)),
            )
            for v in own:
                self._use(v)
            self.truth.add(
                "entitlement",
                f"member:{m}:{self.month}",
                f"{amount} fen more subsidy consumed for order {last.order_ref}, past the "
                f"{cap} fen cap",
                visits=[v.ref for v in own if v.subsidy_fen > 0],
            )

    def _subsidy_by_member(self) -> dict[int, int]:
        out: Counter[int] = Counter()
        for member_id, kind, total in self.session.execute(
            sa.select(
                col(LedgerEntry.member_id),
                col(LedgerEntry.kind),
                sa.func.sum(col(LedgerEntry.amount_fen)),
            )
            .where(
                col(LedgerEntry.month) == self.month,
                col(LedgerEntry.payer) == Payer.SUBSIDY.value,
                col(LedgerEntry.kind).in_([EntryKind.CONSUME.value, EntryKind.REVERSAL.value]),
            )
            .group_by(col(LedgerEntry.member_id), col(LedgerEntry.kind))
        ):
            out[member_id] += int(total) if kind == EntryKind.CONSUME.value else -int(total)
        return dict(out)

    def certificate(self) -> None:
        """Visits whose worker lacks the certificate the item needs (removed, for a worker
        with few such visits) or holds it expired (its expiry moved to the day before the
        worker's last such visit)."""
        needing: dict[tuple[int, str], list[_V]] = defaultdict(list)
        for v in self.visits:
            for kind in v.certificates:
                needing[(v.worker_id, kind)].append(v)
        options = [
            (key, vs)
            for key, vs in sorted(needing.items())
            if key[0] not in self.used_workers
            and all(
                v.id not in self.used_visits and v.provider_id not in self.excluded_providers
                for v in vs
            )
        ]
        self.rng.shuffle(options)
        planted = removed = 0
        for (worker_id, kind), vs in options:
            if planted >= self.per_rule:
                break
            if worker_id in self.used_workers:
                continue
            certs = self.session.exec(
                select(WorkerCertificate).where(
                    col(WorkerCertificate.worker_id) == worker_id,
                    col(WorkerCertificate.kind) == kind,
                )
            ).all()
            if not certs:
                continue
            if len(vs) <= 4 and removed < self.per_rule // 2:
                for cert in certs:
                    self.session.delete(cert)
                hit = vs
                what = f"worker {worker_id}'s {kind} certificate removed"
                removed += len(hit)
            else:
                expires = max(v.day for v in vs) - timedelta(days=1)
                if any(c.issued_on > expires for c in certs):
                    continue
                for cert in certs:
                    cert.expires_on = expires
                    self.session.add(cert)
                hit = [v for v in vs if v.day > expires]
                what = f"worker {worker_id}'s {kind} certificate expired on {expires}"
            self.used_workers.add(worker_id)
            self.used_visits |= {v.id for v in vs}
            for v in hit:
                self.truth.add("certificate", v.ref, what, visits=[v.ref])
                planted += 1

    def late_edit(self) -> None:
        """Task corrections entered one to three weeks after the lock period."""
        editors = self._editors_by_provider()
        for v in self._candidates(clean=False)[: self.per_rule]:
            staff = editors[v.provider_id]
            # The provider's least busy editor, so that edit volumes stay even.
            editor = (
                min(staff, key=lambda e: (staff[e], e))
                if staff
                else self._staff_name(v.provider_id)
            )
            staff[editor] += 1
            days = self.th.lock_days + self.rng.randint(1, 21)
            at = local_datetime(v.day + timedelta(days=days), clock(self.rng.randint(9, 17), 5))
            self._edit_tasks(v, editor, at, EditReason.TASKS_CORRECTION)
            self._use(v)
            self.truth.add(
                "late_edit", v.ref, f"edited {days} days after the service", visits=[v.ref]
            )

    def _edit_tasks(self, v: _V, editor: str, at: datetime, reason: EditReason) -> None:
        row = self._visit_row(v)
        old = ",".join(row.tasks_done)
        row.tasks_done = [*row.tasks_done, "补录服务内容"]
        self.session.add(row)
        self.session.add(
            VisitEdit(
                visit_id=v.id,
                field="tasks_done",
                old_value=old[:200],
                new_value=",".join(row.tasks_done)[:200],
                reason_code=reason,
                editor=editor,
                at=at,
            )
        )
        v.edited = True

    def _editors_by_provider(self) -> dict[int, Counter[str]]:
        self.session.flush()
        out: dict[int, Counter[str]] = defaultdict(Counter)
        for provider_id, editor in self.session.execute(
            sa.select(col(Order.provider_id), col(VisitEdit.editor))
            .join(Visit, col(Visit.id) == col(VisitEdit.visit_id))
            .join(Order, col(Order.id) == col(Visit.order_id))
            .where(col(Visit.service_date) >= self.first, col(Visit.service_date) <= self.last)
        ):
            out[provider_id][editor] += 1
        return out

    def edit_volume(self) -> None:
        """Staff members who edit far more visit records than the others (within the lock
        period, so no edit is late)."""
        counts = sorted(c for staff in self._editors_by_provider().values() for c in staff.values())
        heavy = min(self.per_rule, max(1, len(counts) // 4))
        # A heavy editor's peers are every other editor, the other heavy ones included.
        peers = sorted([*counts, *([math.inf] * (heavy - 1))])
        median = statistics.median(peers) if peers else 0
        if median == math.inf:
            self.truth.skipped["edit_volume"] = "too few editors to stand out from"
            return
        edits = max(self.th.staff_edits_min, math.floor(self.th.staff_edits_factor * median) + 3)
        candidates = self._candidates(clean=False)
        by_provider: dict[int, list[_V]] = defaultdict(list)
        for v in candidates:
            by_provider[v.provider_id].append(v)
        providers = [p for p in sorted(by_provider) if len(by_provider[p]) >= edits]
        self.rng.shuffle(providers)
        for p in providers[:heavy]:
            editor = self._staff_name(p)
            chosen = self.rng.sample(by_provider[p], edits)
            for v in chosen:
                at = local_datetime(v.day, clock(19, 30)) + timedelta(hours=self.rng.randint(1, 48))
                self._edit_tasks(v, editor, at, EditReason.TASKS_CORRECTION)
                self.used_visits.add(v.id)
            self.truth.add(
                "edit_volume",
                editor,
                f"{edits} edits (peer median about {median:g})",
                visits=[v.ref for v in chosen],
            )

    def duplicate_beneficiary(self) -> None:
        """One person's ID number registered again as a member of another household."""
        member_ids = sorted(
            {v.member_id for v in self.visits if v.member_id not in self.used_members}
        )
        self.rng.shuffle(member_ids)
        households = [
            h
            for (h,) in self.session.execute(
                sa.select(col(Household.id)).order_by(col(Household.id))
            )
        ]
        indexes: Counter[str] = Counter(
            i
            for (i,) in self.session.execute(
                sa.select(col(Member.id_number_index)).where(
                    col(Member.id_number_index).is_not(None)
                )
            )
        )
        planted = 0
        for member_id in member_ids:
            if planted >= self.per_rule:
                break
            member = self.session.get(Member, member_id)
            assert member is not None
            if member.id_number_index is None or indexes[member.id_number_index] > 1:
                continue
            other = self.rng.choice([h for h in households if h != member.household_id])
            self.session.add(
                Member(
                    public_id=new_public_id("mbr", self.rng),
                    household_id=other,
                    name=member.name,
                    gender=member.gender,
                    birth_date=member.birth_date,
                    phone="",
                    languages=list(member.languages),
                    id_number_encrypted=member.id_number_encrypted,
                    id_number_index=member.id_number_index,
                    id_number_masked=member.id_number_masked,
                    created_at=local_datetime(self.first - timedelta(days=40), clock(10, 0)),
                )
            )
            indexes[member.id_number_index] += 1
            self.used_members.add(member_id)
            self.truth.add(
                "duplicate_beneficiary",
                member.id_number_index,
                f"member {member_id}'s ID number registered again in household {other}",
            )
            planted += 1

    def ledger_break(self) -> None:
        """One co-pay entry of the month changed behind the ledger's back (raw SQL, with the
        append-only triggers lifted for the statement and put back)."""
        self.session.flush()
        ids = sorted(
            i
            for (i,) in self.session.execute(
                sa.select(col(LedgerEntry.id)).where(
                    col(LedgerEntry.month) == self.month,
                    col(LedgerEntry.payer) == Payer.HOUSEHOLD.value,
                )
            )
        )
        if not ids:
            self.truth.skipped["ledger_break"] = "no co-pay entry to tamper with"
            return
        target = self.rng.choice(ids)
        _tamper(
            self.session,
            f"UPDATE ledger_entry SET amount_fen = amount_fen + 100 WHERE id = {target}",
        )
        self.truth.add(
            "ledger_break", f"ledger:{target}", f"entry {target}'s amount raised by 100 fen"
        )


def _tamper(session: Session, statement: str) -> None:
    """Run one statement on ledger_entry without its append-only guards, then restore them."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE ledger_entry DISABLE TRIGGER USER"))
        connection.execute(text(statement))
        connection.execute(text("ALTER TABLE ledger_entry ENABLE TRIGGER USER"))
        return
    triggers = connection.execute(
        text(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'trigger' AND tbl_name = 'ledger_entry'"
        )
    ).all()
    for name, _ in triggers:
        connection.execute(text(f'DROP TRIGGER "{name}"'))
    connection.execute(text(statement))
    for _, sql in triggers:
        connection.execute(text(sql))


def inject(
    session: Session,
    *,
    month: str,
    seed: int,
    per_rule: int,
    thresholds: Thresholds | None = None,
    break_ledger: bool = False,
) -> GroundTruth:
    """Plant about ``per_rule`` anomalies of every rule into a generated month; flushes (the
    caller commits) and returns the ground truth.

    Provider outliers are planted on a few providers only (they are outliers against the
    others) and one ledger break at most (the verifier names the first broken entry);
    ``break_ledger`` plants it, last, since it breaks the ledger for everything after.
    ``thresholds`` are the ones the audit will run with (default: ``Thresholds()``).
    """
    first, last = month_days(month)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    injector = _Injector(
        session=session,
        month=month,
        first=first,
        last=last,
        rng=random.Random(f"fraud:{seed}"),
        fake=fake,
        th=thresholds or Thresholds(),
        per_rule=per_rule,
        truth=GroundTruth(month=month, seed=seed, per_rule=per_rule),
    )
    injector.reload()
    injector.provider_outliers()
    for plant in (
        injector.missing_check,
        injector.far_location,
        injector.other_worker,
        injector.overlap,
        injector.impossible_travel,
        injector.duration_mismatch,
        injector.over_24h,
        injector.hospital_or_deceased,
        injector.entitlement,
        injector.certificate,
        injector.late_edit,
        injector.edit_volume,
        injector.duplicate_beneficiary,
    ):
        plant()
    if break_ledger:
        injector.ledger_break()
    else:
        injector.truth.skipped["ledger_break"] = "not planted (break_ledger=False)"
    session.flush()
    return injector.truth


# --- scoring -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleScore:
    """One rule's result against the ground truth."""

    rule: str
    planted: int
    found: int  # planted and reported
    false_alarms: int  # reported, neither planted nor expected as a side effect
    side_effects: int  # reported and expected as a side effect of another plant

    @property
    def recall(self) -> float | None:
        """Planted found / planted (None when nothing was planted)."""
        return self.found / self.planted if self.planted else None

    @property
    def precision(self) -> float | None:
        """Planted found / (planted found + false alarms) (None when nothing was reported)."""
        reported = self.found + self.false_alarms
        return self.found / reported if reported else None


def score(truth: GroundTruth, hit_keys: Iterable[tuple[str, str]]) -> list[RuleScore]:
    """Per rule, what the audit found of what was planted, and what it reported besides."""
    planted = set(truth.planted)
    also = {pair for pairs in truth.also_expected.values() for pair in pairs}
    reported = set(hit_keys)
    scores = []
    for rule in RULES:
        mine = {pair for pair in planted if pair[0] == rule}
        hits = {pair for pair in reported if pair[0] == rule}
        scores.append(
            RuleScore(
                rule=rule,
                planted=len(mine),
                found=len(mine & hits),
                false_alarms=len(hits - mine - also),
                side_effects=len((hits - mine) & also),
            )
        )
    return scores


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _audit(engine: Engine, month: str, label: str) -> tuple[list[tuple[str, str]], str]:
    """Run and store the month's audit like ``linli audit run``; its hits and a timing line."""
    started = time.monotonic()
    with unit_of_work(engine) as session:
        outcome = audit_service.run_month(session, month, actor=f"benchmark:{label}")
        run = outcome.run
        line = (
            f"audit of the {label} month: {run.visits} visits, {run.hits} hits, "
            f"{run.new_findings} new findings, ledger {'ok' if run.ledger_ok else 'broken'}, "
            f"{time.monotonic() - started:.1f} s ("
            + ", ".join(f"{k} {v:.1f} s" for k, v in run.seconds.items())
            + ")"
        )
        hits = [(h.rule, h.subject) for h in outcome.hits]
    return hits, line


def write_scores(scores: Sequence[RuleScore], path: Path) -> None:
    """The per-rule scores as CSV."""
    lines = ["rule,planted,found,false_alarms,side_effects,recall,precision"]
    lines += [
        f"{s.rule},{s.planted},{s.found},{s.false_alarms},{s.side_effects},"
        f"{_ratio(s.recall)},{_ratio(s.precision)}"
        for s in scores
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- command line ----------------------------------------------------------------------------


def _database_size(url: str) -> str:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
        return f"{size / 1e6:.0f} MB"
    return "n/a"


def main() -> int:
    """Seed the demo city, generate the month, plant the anomalies, write the ground truth."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--visits", type=int, default=50_000)
    ap.add_argument("--month", default="2026-12")
    ap.add_argument("--per-rule", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--households", type=int, default=3000, help="demo city size when seeding")
    ap.add_argument("--database-url", help="default: a fresh SQLite file in a temporary directory")
    ap.add_argument("--truth", type=Path, default=Path("fraud_month_truth.json"))
    ap.add_argument("--break-ledger", action="store_true", help="also plant a ledger break")
    ap.add_argument("--out", type=Path, help="write the per-rule scores as CSV")
    ap.add_argument("--no-audit", action="store_true", help="plant only; do not run the audit")
    ap.add_argument("--export", type=Path, metavar="DIR", help="also export the month (csv+xlsx)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'fraud_month.sqlite3'}"
        t0 = time.monotonic()
        upgrade(url)
        engine: Engine = make_engine(url)
        t1 = time.monotonic()
        print(f"migrated in {t1 - t0:.1f} s")
        with unit_of_work(engine) as session:
            if is_empty(session):
                seed_demo(session, seed=2026, households=args.households, start_date=DEMO_START)
        t2 = time.monotonic()
        print(f"seeded the demo city in {t2 - t1:.1f} s")
        with unit_of_work(engine) as session:
            summary = generate_month(session, month=args.month, visits=args.visits, seed=args.seed)
        t3 = time.monotonic()
        print(f"generated in {t3 - t2:.1f} s: {summary.line()}")
        if not args.no_audit:
            clean_hits, line = _audit(engine, args.month, "clean")
            print(line)
            print(f"  hits on the clean month: {len(clean_hits)}")
            t3 = time.monotonic()
        with unit_of_work(engine) as session:
            truth = inject(
                session,
                month=args.month,
                seed=args.seed,
                per_rule=args.per_rule,
                break_ledger=args.break_ledger,
            )
        t4 = time.monotonic()
        counts = ", ".join(f"{rule} {n}" for rule, n in truth.counts().items())
        print(f"injected in {t4 - t3:.1f} s: {len(truth.planted)} planted ({counts})")
        for rule, why in truth.skipped.items():
            print(f"  skipped {rule}: {why}")
        args.truth.write_text(json.dumps(truth.to_dict(), ensure_ascii=False, indent=1))
        if not args.no_audit:
            hits, line = _audit(engine, args.month, "planted")
            print(line)
            scores = score(truth, hits)
            print(
                f"{'rule':<24}{'planted':>8}{'found':>7}{'false':>7}{'side':>6}"
                f"{'recall':>8}{'precision':>10}"
            )
            for s in scores:
                print(
                    f"{s.rule:<24}{s.planted:>8}{s.found:>7}{s.false_alarms:>7}"
                    f"{s.side_effects:>6}{_ratio(s.recall):>8}{_ratio(s.precision):>10}"
                )
            if args.out:
                write_scores(scores, args.out)
                print(f"scores written to {args.out}")
        if args.export:
            started = time.monotonic()
            with read_only(engine) as session:
                report = reports.month_report(session, args.month)
                built = time.monotonic()
                reconciliation = reports.reconcile(report, session)
            checked = time.monotonic()
            for fmt in ("csv", "xlsx"):
                export.export_report(report, reconciliation, fmt, args.export)
            verdict = "to the fen"
            if not reconciliation.ok:
                verdict = "NOT: " + reconciliation.differences[0].describe()
            print(
                f"report built in {built - started:.1f} s, reconciled in {checked - built:.1f} s "
                f"({verdict}), csv + xlsx written in {time.monotonic() - checked:.1f} s "
                f"to {args.export}"
            )
        engine.dispose()  # SQLite folds its write-ahead log back into the file
        print(f"ground truth written to {args.truth}; database {_database_size(url)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
