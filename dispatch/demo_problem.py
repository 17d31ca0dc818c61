"""A realistic day of home services over the demo city, without a database.

``realistic_day(orders, workers, seed)`` places care centres, cleaning firms, repair shops and
community kitchens in Fuzhou's six districts (``marketplace.demo.fuzhou``), gives them
caregivers, cleaners, repairers and couriers, and fills the day with elderly-care visits,
cleaning, repairs and lunch deliveries for households around each provider. Every constraint
of the dispatch model appears: several windows and soft lateness, skills with levels and
certificates, shifts with fixed and flexible breaks, daily limits, walking, e-bike and car
workers, meal pickup → delivery pairs with a ride limit and courier capacity, gender, language,
blocked, preferred and pinned workers, protected and urgent priorities and workload balance.

The same seed gives the same problem. Travel matrices are left out (fill them with
``dispatch.travel.with_travel``, or call ``realistic_day_with_travel``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final

from core.errors import Validation
from core.geo import Point, haversine_m
from dispatch.problem import (
    Break,
    DispatchProblem,
    Job,
    JobKind,
    Priority,
    Weights,
    Window,
    Worker,
)
from dispatch.travel import HaversineTravel, TravelTimeProvider, with_travel
from marketplace.catalog import reference
from marketplace.demo import fuzhou

H: Final = 3600
MIN: Final = 60
EPOCH: Final = "2026-12-01T00:00:00+08:00"  # a Tuesday
MAX_ORDERS: Final = 100_000
MAX_WORKERS: Final = 20_000


class Trade(StrEnum):
    """What a provider does, and so what its workers do."""

    CARE = "care"
    CLEANING = "cleaning"
    REPAIR = "repair"
    MEAL = "meal"


TRADES: Final = (Trade.CARE, Trade.CLEANING, Trade.REPAIR, Trade.MEAL)

# Share of the day's orders per trade; a meal order is one pickup → delivery pair.
ORDER_SHARE: Final[Mapping[Trade, float]] = {
    Trade.CARE: 0.28,
    Trade.CLEANING: 0.05,
    Trade.REPAIR: 0.27,
    Trade.MEAL: 0.40,
}
# Orders one worker of a trade completes in a day, part-timers included (measured with
# OR-Tools, provider by provider, on realistic_day(2000, 300)). Workers are split across
# trades by these, so that every trade is about as loaded as the whole day. 2,000 orders for
# 300 workers is a little more than a full day: about 92 % of the orders fit.
ORDERS_PER_WORKER: Final[Mapping[Trade, float]] = {
    Trade.CARE: 4.4,
    Trade.CLEANING: 1.6,
    Trade.REPAIR: 5.5,
    Trade.MEAL: 15.0,
}
PROVIDER_SIZE: Final[Mapping[Trade, int]] = {
    Trade.CARE: 12,
    Trade.CLEANING: 10,
    Trade.REPAIR: 6,
    Trade.MEAL: 6,
}
# Customers live this close (metres, straight line) to the provider's base.
REACH_M: Final[Mapping[Trade, int]] = {
    Trade.CARE: 1_500,
    Trade.CLEANING: 4_000,
    Trade.REPAIR: 5_000,
    Trade.MEAL: 1_000,
}
# Catalog items per trade with their share of the trade's orders.
ITEM_MIX: Final[Mapping[Trade, tuple[tuple[str, int], ...]]] = {
    Trade.CARE: (
        ("elderly_care.daily_living", 55),
        ("elderly_care.bathing", 10),
        ("elderly_care.dementia", 15),
        ("elderly_care.nursing", 20),
    ),
    Trade.CLEANING: (
        ("domestic.cleaning", 65),
        ("domestic.deep_cleaning", 20),
        ("domestic.cooking", 15),
    ),
    Trade.REPAIR: (("repair.plumbing", 40), ("repair.electrical", 30), ("repair.appliance", 30)),
    Trade.MEAL: (("meal.lunch", 1),),
}

# Visit lengths (minutes) to choose from, per care item.
CARE_MINUTES: Final[Mapping[str, tuple[int, ...]]] = {
    "elderly_care.daily_living": (45, 60, 60, 60, 90, 120),
    "elderly_care.bathing": (60,),
    "elderly_care.dementia": (90, 120),
    "elderly_care.nursing": (45, 60),
}
PICKUP_WINDOW: Final = Window(10 * H + 30 * MIN, 11 * H + 30 * MIN)
DELIVERY_WINDOW: Final = Window(11 * H, 12 * H + 30 * MIN)
MAX_RIDE: Final = 30 * MIN
PICKUP_SECONDS: Final = 30
DELIVERY_SECONDS: Final = 90
LUNCH: Final = Break(12 * H, 12 * H, H)
PREFERENCE_WEIGHTS: Final = (600, 900, 1200, 1800)

_ITEMS: Final = {spec.code: spec for spec in reference.ITEMS}


@dataclass
class _Provider:
    id: str
    trade: Trade
    district: fuzhou.DistrictSpec
    location: int
    point: Point
    workers: list[Worker] = field(default_factory=list)
    near: list[fuzhou.CommunityPlace] = field(default_factory=list)
    near_weights: list[float] = field(default_factory=list)
    offers: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class _Day:
    rng: random.Random
    locations: list[tuple[float, float]] = field(default_factory=list)
    providers: list[_Provider] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    pinned: set[str] = field(default_factory=set)

    def place(self, lat: float, lon: float) -> int:
        self.locations.append((lat, lon))
        return len(self.locations) - 1


def realistic_day(orders: int, workers: int, seed: int) -> DispatchProblem:
    """A day of ``orders`` orders for ``workers`` workers over the demo city (no travel)."""
    if not 1 <= orders <= MAX_ORDERS:
        raise Validation(f"orders must be between 1 and {MAX_ORDERS}, not {orders}")
    if not len(TRADES) <= workers <= MAX_WORKERS:
        raise Validation(
            f"workers must be between {len(TRADES)} (one per trade) and {MAX_WORKERS}, "
            f"not {workers}"
        )
    day = _Day(random.Random(seed))
    order_counts = dict(
        zip(TRADES, apportion(orders, [ORDER_SHARE[t] for t in TRADES]), strict=True)
    )
    load = [order_counts[t] / ORDERS_PER_WORKER[t] for t in TRADES]
    worker_counts = dict(zip(TRADES, apportion(workers, load, minimum=1), strict=True))
    _, communities = fuzhou.city()
    for trade in TRADES:
        _create_providers(day, trade, worker_counts[trade], communities)
    plan = [t for t in TRADES for _ in range(order_counts[t])]
    day.rng.shuffle(plan)
    width = len(str(orders))
    for number, trade in enumerate(plan, start=1):
        _create_order(day, f"o{number:0{width}d}", trade)
    return DispatchProblem(
        name=f"fuzhou-demo-{orders}o-{workers}w-seed{seed}",
        epoch=EPOCH,
        locations=tuple(day.locations),
        workers=tuple(w for p in day.providers for w in p.workers),
        jobs=tuple(day.jobs),
        weights=Weights(balance_per_second=1),
    )


def realistic_day_with_travel(
    orders: int, workers: int, seed: int, travel: TravelTimeProvider | None = None
) -> DispatchProblem:
    """``realistic_day`` with travel matrices (haversine by default) for every mode."""
    return with_travel(realistic_day(orders, workers, seed), travel or HaversineTravel())


def apportion(total: int, weights: Sequence[float], *, minimum: int = 0) -> list[int]:
    """Split ``total`` in proportion to ``weights`` by largest remainders, each part at least
    ``minimum`` where its weight is positive (as far as ``total`` allows)."""
    floor = [minimum if w > 0 else 0 for w in weights]
    rest = total - sum(floor)
    if rest < 0:
        raise ValueError(f"cannot give {total} a minimum of {minimum} in {len(weights)} parts")
    weight_sum = sum(weights)
    if weight_sum <= 0:
        raise ValueError("weights must not all be zero")
    exact = [rest * w / weight_sum for w in weights]
    parts = [f + math.floor(e) for f, e in zip(floor, exact, strict=True)]
    by_remainder = sorted(
        range(len(weights)), key=lambda i: (-(exact[i] - math.floor(exact[i])), i)
    )
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


# --- providers and workers ---------------------------------------------------------------


def _create_providers(
    day: _Day, trade: Trade, count: int, communities: Sequence[fuzhou.CommunityPlace]
) -> None:
    rng = day.rng
    per_district = apportion(count, [d.weight for d in fuzhou.DISTRICTS])
    for district, n in zip(fuzhou.DISTRICTS, per_district, strict=True):
        if n == 0:
            continue
        local = [c for c in communities if c.district.code == district.code]
        sizes = apportion(n, [1.0] * math.ceil(n / PROVIDER_SIZE[trade]))
        for k, size in enumerate(sizes, start=1):
            home = rng.choice(local)
            # A care centre sits at its street's centre; other providers in a community.
            anchor = home.street if trade is Trade.CARE else home.place
            lat, lon = fuzhou.offset(
                anchor.lat, anchor.lon, rng.uniform(-120, 120), rng.uniform(-120, 120)
            )
            provider = _Provider(
                id=f"p-{trade.value}-{district.code}-{k}",
                trade=trade,
                district=district,
                location=day.place(lat, lon),
                point=Point(lat, lon),
            )
            provider.workers = [_worker(day, provider, i) for i in range(size)]
            provider.offers = [
                (code, share)
                for code, share in ITEM_MIX[trade]
                if _qualified(provider.workers, code)
            ]
            _neighbourhood(provider, communities)
            day.providers.append(provider)


def _neighbourhood(provider: _Provider, communities: Sequence[fuzhou.CommunityPlace]) -> None:
    """Communities the provider's customers live in: near its base, mostly in its district."""
    distance = {
        c.place.code: haversine_m(provider.point, Point(c.place.lat, c.place.lon))
        for c in communities
    }
    by_distance = sorted(communities, key=lambda c: distance[c.place.code])
    near = [c for c in by_distance if distance[c.place.code] <= REACH_M[provider.trade]]
    provider.near = near if len(near) >= 3 else by_distance[:3]
    provider.near_weights = [
        1.0 if c.district.code == provider.district.code else 0.15 for c in provider.near
    ]


def _worker(day: _Day, provider: _Provider, index: int) -> Worker:
    rng = day.rng
    trade = provider.trade
    skills: dict[str, int] = {}
    certificates: list[str] = []
    capacity = 0
    if trade is Trade.CARE:
        if index % 6 == 1:  # one nurse in six
            skills = {"nursing": rng.randint(3, 5), "personal_care": rng.randint(2, 4)}
            certificates = ["nurse_licence"] + (["elderly_carer"] if rng.random() < 0.5 else [])
        else:
            skills = {"personal_care": rng.randint(2, 5)}
            if index % 6 in (0, 3) or rng.random() < 0.25:
                skills["dementia_care"] = rng.randint(2, 5)
            certificates = ["elderly_carer"]
        female, cdo = 0.88, 0.65
        mode = _pick(rng, (("ebike", 0.7), ("walk", 0.25), ("car", 0.05)))
    elif trade is Trade.CLEANING:
        skills = {"housekeeping": rng.randint(2, 5)}
        if index % 3 == 0 or rng.random() < 0.5:
            skills["deep_cleaning"] = rng.randint(2, 5)
        certificates = ["domestic_worker"]
        if index % 4 == 1 or rng.random() < 0.15:
            skills["cooking"] = rng.randint(2, 5)
            certificates.append("health_certificate")
        female, cdo = 0.85, 0.55
        mode = _pick(rng, (("ebike", 0.75), ("walk", 0.25)))
    elif trade is Trade.REPAIR:
        trades = ["plumbing", "electrical", "appliance_repair"]
        main = trades[index % 3]  # every shop covers every trade
        chosen = [main] + (
            [rng.choice([t for t in trades if t != main])] if rng.random() < 0.6 else []
        )
        skills = {t: rng.randint(2, 5) for t in trades if t in chosen}
        certificates = ["electrician"] if "electrical" in skills else []
        female, cdo = 0.03, 0.5
        mode = _pick(rng, (("car", 0.75), ("ebike", 0.25)))
    else:
        skills = {"meal_delivery": rng.randint(1, 4)}
        certificates = ["health_certificate"]
        capacity = rng.randint(6, 12)
        female, cdo = 0.35, 0.7
        mode = "ebike"
    if rng.random() < 0.03:
        # A certificate that lapsed before the day: the worker keeps the skill, not the right.
        lapsing = [c for c in certificates if c != "elderly_carer"]
        if lapsing:
            certificates.remove(rng.choice(lapsing))
    languages = ["zh"] + (["cdo"] if rng.random() < cdo else [])
    if rng.random() < 0.05:
        languages.append("nan")
    shift, breaks, limit = _shift(rng, trade)
    return Worker(
        id=f"{provider.id}-w{index + 1:02d}",
        start_location=provider.location,
        end_location=provider.location,
        shift=shift,
        travel_mode=mode,
        breaks=breaks,
        max_work_seconds=limit,
        skills=skills,
        certificates=frozenset(certificates),
        gender="female" if rng.random() < female else "male",
        languages=frozenset(languages),
        capacity=capacity,
        provider=provider.id,
    )


def _shift(rng: random.Random, trade: Trade) -> tuple[Window, tuple[Break, ...], int]:
    """Shift, breaks and daily working-time limit."""
    if trade is Trade.MEAL:
        start = rng.choice([10 * H, 10 * H, 10 * H + 30 * MIN])
        return Window(start, 14 * H), (), 3 * H + 30 * MIN
    if trade is Trade.REPAIR:
        # On the road all day: a 45-minute lunch whenever it fits between 11:30 and 13:30.
        return (
            Window(8 * H + 30 * MIN, 18 * H),
            (Break(11 * H + 30 * MIN, 13 * H + 30 * MIN, 45 * MIN),),
            8 * H,
        )
    if rng.random() < 0.12:
        return Window(8 * H, 12 * H), (), 4 * H  # part-time mornings
    start = 8 * H if rng.random() < 0.8 else 8 * H + 30 * MIN
    limit = 8 * H if rng.random() < 0.85 else 6 * H + 30 * MIN
    return Window(start, start + 9 * H), (LUNCH,), limit


def _staff(provider: _Provider) -> float:
    """Full-time equivalents: what a provider can take on."""
    return sum((w.max_work_seconds or 8 * H) / (8 * H) for w in provider.workers)


def _pick(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    return rng.choices([v for v, _ in options], weights=[w for _, w in options])[0]


def _qualified(workers: Sequence[Worker], item_code: str) -> list[Worker]:
    spec = _ITEMS[item_code]
    return [
        w
        for w in workers
        if set(spec.skills) <= w.skills.keys() and set(spec.certificates) <= w.certificates
    ]


# --- orders and jobs ---------------------------------------------------------------------


def _create_order(day: _Day, order_id: str, trade: Trade) -> None:
    rng = day.rng
    candidates = [p for p in day.providers if p.trade is trade and p.offers]
    provider = rng.choices(candidates, weights=[_staff(p) for p in candidates])[0]
    item = rng.choices(
        [code for code, _ in provider.offers], weights=[share for _, share in provider.offers]
    )[0]
    community = rng.choices(provider.near, weights=provider.near_weights)[0]
    spot = rng.choice(community.grids) if community.grids else community.place
    # Meals go to the kitchen's own streets; other trades' customers are more spread out.
    spread = 120 if trade is Trade.MEAL else 300
    distance, bearing = rng.uniform(20, spread), rng.uniform(0, 2 * math.pi)
    lat, lon = fuzhou.offset(
        spot.lat, spot.lon, distance * math.cos(bearing), distance * math.sin(bearing)
    )
    home = day.place(lat, lon)
    if trade is Trade.MEAL:
        day.jobs.extend(_meal(day, order_id, provider, home))
    elif trade is Trade.CARE:
        day.jobs.append(_care(day, order_id, provider, item, home))
    elif trade is Trade.CLEANING:
        day.jobs.append(_cleaning(day, order_id, provider, item, home))
    else:
        day.jobs.append(_repair(day, order_id, provider, item, home))


def _base_job(order_id: str, suffix: str, provider: _Provider, item: str, location: int) -> Job:
    spec = _ITEMS[item]
    return Job(
        id=f"{order_id}-{suffix}",
        location=location,
        windows=(Window(8 * H, 17 * H),),
        service_seconds=spec.minutes * MIN,
        skills=frozenset(spec.skills),
        main_skill=spec.skills[0],
        certificates=frozenset(spec.certificates),
        provider=provider.id,
        order_ref=order_id,
    )


def _window(rng: random.Random, starts: Sequence[int], lengths: Sequence[int]) -> Window:
    start = rng.choice(starts)
    return Window(start, start + rng.choice(lengths))


def _care(day: _Day, order_id: str, provider: _Provider, item: str, home: int) -> Job:
    rng = day.rng
    minutes = rng.choice(CARE_MINUTES[item])
    lengths = [H, 90 * MIN, 2 * H, 2 * H, 3 * H, 3 * H]
    mornings = [8 * H, 8 * H + 30 * MIN, 9 * H, 9 * H + 30 * MIN, 10 * H, 10 * H + 30 * MIN]
    afternoons = [13 * H, 13 * H + 30 * MIN, 14 * H, 14 * H + 30 * MIN, 15 * H]
    first = _window(rng, mornings if rng.random() < 0.6 else afternoons, lengths)
    windows = [first]
    if rng.random() < 0.35:  # "this morning or this afternoon"
        other = afternoons if first.start < 12 * H else mornings
        windows.append(_window(rng, other, [H, 90 * MIN, 2 * H]))
    windows.sort(key=lambda w: w.start)
    job = _base_job(order_id, "care", provider, item, home)
    qualified = _qualified(provider.workers, item)
    gender: str | None = None
    roll = rng.random()
    if roll < 0.15 and any(w.gender == "female" for w in qualified):
        gender = "female"
    elif roll < 0.18 and any(w.gender == "male" for w in qualified):
        gender = "male"
    matching = [w for w in qualified if gender is None or w.gender == gender]
    language: str | None = None
    if rng.random() < 0.22 and any("cdo" in w.languages for w in matching):
        language = "cdo"
        matching = [w for w in matching if "cdo" in w.languages]
    blocked: tuple[str, ...] = ()
    if rng.random() < 0.04 and len(matching) >= 2:
        refused = rng.choice(matching)
        blocked = (refused.id,)
        matching = [w for w in matching if w.id != refused.id]
    preferred: tuple[str, ...] = ()
    pinned: str | None = None
    if rng.random() < 0.35 and matching:
        favourite = rng.choice(matching)
        preferred = (favourite.id,)
        end = windows[0].start + minutes * MIN
        if (
            rng.random() < 0.1
            and len(windows) == 1
            and favourite.id not in day.pinned
            and favourite.shift.start <= windows[0].start
            and end <= 12 * H
        ):
            # An appointment already agreed with this caregiver.
            pinned = favourite.id
            day.pinned.add(favourite.id)
    return replace(
        job,
        windows=tuple(windows),
        service_seconds=minutes * MIN,
        required_gender=gender,
        required_language=language,
        blocked_workers=frozenset(blocked),
        preferred_workers=preferred,
        preference_weight=rng.choice(PREFERENCE_WEIGHTS) if preferred else 0,
        priority=Priority.PROTECTED if rng.random() < 0.2 else Priority.NORMAL,
        pinned_worker=pinned,
    )


def _cleaning(day: _Day, order_id: str, provider: _Provider, item: str, home: int) -> Job:
    rng = day.rng
    job = _base_job(order_id, "clean", provider, item, home)
    morning, afternoon = Window(8 * H, 12 * H), Window(13 * H, 17 * H)
    windows: tuple[Window, ...]
    if item == "domestic.cooking":
        minutes, windows = 90, (Window(9 * H + 30 * MIN, 10 * H + 30 * MIN),)
    else:
        minutes = 180 if item == "domestic.deep_cleaning" else rng.choice([120, 150, 180])
        roll = rng.random()
        windows = (
            (morning, afternoon) if roll < 0.25 else (morning,) if roll < 0.65 else (afternoon,)
        )
    qualified = _qualified(provider.workers, item)
    blocked: frozenset[str] = frozenset()
    if rng.random() < 0.03 and len(qualified) >= 2:
        blocked = frozenset({rng.choice(qualified).id})
    preferred: tuple[str, ...] = ()
    if rng.random() < 0.15:
        regulars = [w for w in qualified if w.id not in blocked]
        preferred = (rng.choice(regulars).id,) if regulars else ()
    late = item != "domestic.cooking" and rng.random() < 0.3
    return replace(
        job,
        windows=windows,
        service_seconds=minutes * MIN,
        blocked_workers=blocked,
        preferred_workers=preferred,
        preference_weight=rng.choice(PREFERENCE_WEIGHTS) if preferred else 0,
        priority=Priority.PROTECTED if rng.random() < 0.05 else Priority.NORMAL,
        # "Up to a quarter of an hour late is fine, but we'd rather not."
        max_lateness_seconds=15 * MIN if late else 0,
        lateness_cost_per_second=2 if late else 0,
    )


def _repair(day: _Day, order_id: str, provider: _Provider, item: str, home: int) -> Job:
    rng = day.rng
    job = _base_job(order_id, "repair", provider, item, home)
    if rng.random() < 0.1:
        # Urgent (a burst pipe, no power): within about three hours of the call.
        start = rng.choice([8 * H + 30 * MIN, 9 * H, 10 * H, 13 * H, 14 * H])
        return replace(
            job,
            windows=(Window(start, start + 3 * H),),
            service_seconds=H,
            priority=Priority.URGENT,
        )
    morning = Window(8 * H + 30 * MIN, 12 * H)
    afternoon = Window(13 * H, 17 * H)
    roll = rng.random()
    windows = (morning, afternoon) if roll < 0.2 else (morning,) if roll < 0.6 else (afternoon,)
    late = rng.random() < 0.25
    blocked: frozenset[str] = frozenset()
    qualified = _qualified(provider.workers, item)
    if rng.random() < 0.02 and len(qualified) >= 2:
        blocked = frozenset({rng.choice(qualified).id})
    return replace(
        job,
        windows=windows,
        service_seconds=H,
        blocked_workers=blocked,
        priority=Priority.PROTECTED if rng.random() < 0.05 else Priority.NORMAL,
        max_lateness_seconds=30 * MIN if late else 0,
        lateness_cost_per_second=1 if late else 0,
    )


def _meal(day: _Day, order_id: str, provider: _Provider, home: int) -> tuple[Job, Job]:
    """Lunch: picked up at the kitchen, delivered hot within half an hour."""
    priority = Priority.PROTECTED if day.rng.random() < 0.25 else Priority.NORMAL
    base = _base_job(order_id, "pickup", provider, "meal.lunch", provider.location)
    pickup = replace(
        base,
        windows=(PICKUP_WINDOW,),
        service_seconds=PICKUP_SECONDS,
        kind=JobKind.PICKUP,
        pair=f"{order_id}-delivery",
        demand=1,
        priority=priority,
    )
    delivery = replace(
        base,
        id=f"{order_id}-delivery",
        location=home,
        windows=(DELIVERY_WINDOW,),
        service_seconds=DELIVERY_SECONDS,
        kind=JobKind.DELIVERY,
        pair=pickup.id,
        demand=-1,
        max_ride_seconds=MAX_RIDE,
        priority=priority,
    )
    return pickup, delivery
