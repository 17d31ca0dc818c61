"""``linli demo seed``: a deterministic demo of Fuzhou's six urban districts.

All randomness comes from ``random.Random(seed)`` and a ``Faker("zh_CN")`` seeded with the same
seed, every timestamp from the demo week's first day, public ids from the seeded generator:
the same seed and size give the same rows. (Ciphertexts differ between runs, because
encryption draws a fresh nonce; the plaintexts they hold are the same.)
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from faker import Faker
from sqlalchemy import func
from sqlmodel import Session, col, select
from tqdm import tqdm

from core.errors import Conflict, Validation
from core.timeutil import local_date, utcnow
from marketplace.catalog import service as catalog_service
from marketplace.demo import fuzhou, ordering, population, workforce
from marketplace.demo.context import DemoContext
from marketplace.geography import service as geography_service
from marketplace.geography.models import AreaLevel
from marketplace.households.models import Household
from marketplace.orders.models import OrderTransition
from marketplace.providers.models import WorkerCertificate

DEFAULT_SEED = 2026
DEFAULT_HOUSEHOLDS = 3000
MAX_HOUSEHOLDS = 200_000

# District 350102, street 350102001, community 350102001001, grid 35010200100101.
_LEVEL_BY_CODE_LENGTH = {
    6: AreaLevel.DISTRICT,
    9: AreaLevel.STREET,
    12: AreaLevel.COMMUNITY,
    14: AreaLevel.GRID,
}
_PLURALS = {
    AreaLevel.DISTRICT: "districts",
    AreaLevel.STREET: "streets",
    AreaLevel.COMMUNITY: "communities",
    AreaLevel.GRID: "grids",
}
_CATEGORY_LABELS = {
    "tekun": "特困",
    "dibao": "低保",
    "youfu": "优抚",
    "disability": "失能/残疾",
    "age80": "80+",
}


@dataclass(frozen=True)
class DemoSummary:
    """Counts of what the demo seed created."""

    seed: int
    start_date: date
    areas: dict[str, int]
    households: int
    members: int
    aged_60_plus: int
    # Approved statuses by category; ``age80`` is derived from birth dates (no rows).
    protected: dict[str, int]
    disability_levels: dict[str, int]
    pending_applications: int
    ltc_insured: int
    status_periods: dict[str, int]
    member_preferences: int
    worker_preferences: int
    family_proxies: int
    providers: dict[str, int]
    service_points: int
    workers: int
    certificates_expired: int
    shift_exceptions: int
    series: int
    orders: int
    orders_by_day: dict[str, int]
    orders_by_status: dict[str, int]
    orders_by_category: dict[str, int]
    urgent_orders: int
    transitions: int

    @property
    def end_date(self) -> date:
        """The last day of the demo week."""
        return self.start_date + timedelta(days=6)

    def line(self) -> str:
        """One line for the command's output."""
        areas = ", ".join(
            f"{self.areas.get(level.value, 0)} {_PLURALS[level]}" for level in AreaLevel
        )
        protected = ", ".join(
            f"{_CATEGORY_LABELS.get(k, k)} {v}" for k, v in self.protected.items()
        )
        days = "/".join(str(self.orders_by_day.get(d, 0)) for d in self._days())
        return (
            f"demo city (seed {self.seed}, week {self.start_date}–{self.end_date}): {areas}; "
            f"{self.households} households, {self.members} members ({self.aged_60_plus} aged 60+); "
            f"protected: {protected}; {sum(self.providers.values())} providers, "
            f"{self.workers} workers; {self.series} series, {self.orders} orders "
            f"(per day {days}), {self.transitions} transitions"
        )

    def _days(self) -> list[str]:
        return [(self.start_date + timedelta(days=i)).isoformat() for i in range(7)]


def default_start_date(today: date | None = None) -> date:
    """Monday of the current week in Asia/Shanghai."""
    day = today or local_date(utcnow())
    return day - timedelta(days=day.weekday())


def is_empty(session: Session) -> bool:
    """Whether no household exists yet."""
    return session.exec(select(Household.id).limit(1)).first() is None


def _create_areas(ctx: DemoContext) -> tuple[dict[str, int], dict[str, int]]:
    places, _ = fuzhou.city()
    ctx.phase("areas", len(places))
    ids: dict[str, int] = {}
    levels: Counter[str] = Counter()
    for place in places:
        level = _LEVEL_BY_CODE_LENGTH[len(place.code)]
        area = geography_service.create_area(
            ctx.session,
            code=place.code,
            name=place.name,
            level=level,
            lat=place.lat,
            lon=place.lon,
            parent_id=ids[place.parent_code] if place.parent_code else None,
        )
        assert area.id is not None
        ids[place.code] = area.id
        levels[level.value] += 1
        ctx.tick()
    return ids, dict(levels)


def seed_demo(
    session: Session,
    *,
    seed: int = DEFAULT_SEED,
    households: int = DEFAULT_HOUSEHOLDS,
    start_date: date,
    progress: bool = False,
) -> DemoSummary:
    """Build the demo city into an empty database (flushes; the caller commits)."""
    if not 1 <= households <= MAX_HOUSEHOLDS:
        raise Validation(f"the demo needs between 1 and {MAX_HOUSEHOLDS} households")
    if not is_empty(session) or geography_service.get_by_code(session, fuzhou.DISTRICTS[0].code):
        raise Conflict(
            "the database already holds households or the demo's areas; "
            "the demo city is seeded into an empty database"
        )
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    bar = tqdm(file=sys.stderr, unit="step", desc="demo city") if progress else None
    try:
        ctx = DemoContext(session=session, rng=rng, fake=fake, start=start_date, bar=bar, seed=seed)
        places, communities = fuzhou.city()
        ctx.plan(
            {
                "areas": len(places),
                "providers": len(workforce.PROVIDER_PLANS),
                "workers": sum(p.workers for p in workforce.PROVIDER_PLANS),
                "households": households,
                "protected status": households,
                "preferences and proxies": households,
                "lunch series": households,
                "care series": households,
                "series orders": households * 31 // 100,
                "one-off orders": households * 43 // 100,
            }
        )
        catalog_service.ensure_reference_catalog(session)
        # Held for the whole seed: the session's identity map keeps rows only while referenced,
        # and the orders service looks every item up again.
        items = catalog_service.list_items(session)
        item_ids = {item.code: item.id for item in items if item.id is not None}
        area_ids, area_counts = _create_areas(ctx)
        providers = workforce.create_providers(ctx, area_ids, communities)
        exceptions = workforce.create_workers(ctx, providers)
        counts = population.PopulationCounts()
        homes = population.create_households(ctx, households, area_ids, communities, counts)
        population.add_protected_statuses(ctx, homes, counts)
        population.add_status_periods(ctx, homes, counts)
        population.add_preferences_and_proxies(ctx, homes, counts)
        orders = ordering.create_orders(ctx, homes, providers, item_ids)
        session.flush()
    finally:
        if bar is not None:
            bar.close()
    transitions = session.exec(select(func.count(col(OrderTransition.id)))).one()
    expired = session.exec(
        select(func.count(col(WorkerCertificate.id))).where(
            col(WorkerCertificate.expires_on) < start_date
        )
    ).one()
    people = [m for h in homes for m in h.members]
    return DemoSummary(
        seed=seed,
        start_date=start_date,
        areas=area_counts,
        households=counts.households,
        members=counts.members,
        aged_60_plus=sum(1 for m in people if m.elder),
        protected={k: counts.protected.get(k, 0) for k in _CATEGORY_LABELS},
        disability_levels=dict(sorted(counts.disability_levels.items())),
        pending_applications=counts.pending,
        ltc_insured=counts.ltc_insured,
        status_periods=dict(sorted(counts.periods.items())),
        member_preferences=counts.preferences,
        worker_preferences=orders.worker_preferences,
        family_proxies=counts.proxies,
        providers=dict(Counter(p.kind.value for p in providers)),
        service_points=sum(len(p.points) for p in providers),
        workers=sum(len(p.workers) for p in providers),
        certificates_expired=expired,
        shift_exceptions=exceptions,
        series=orders.series,
        orders=orders.orders,
        orders_by_day=dict(sorted(orders.by_day.items())),
        orders_by_status={str(k): v for k, v in sorted(orders.by_status.items())},
        orders_by_category=dict(sorted(orders.by_category.items())),
        urgent_orders=orders.urgent,
        transitions=transitions,
    )
