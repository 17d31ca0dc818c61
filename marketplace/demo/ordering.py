"""A week of demo orders through the orders service: daily lunch delivery and weekly care-visit
series, one-off cleaning, cooking, repair, escort and disability-care orders; some requested,
most confirmed, a few cancelled or rescheduled, every transition recorded.

Every event happens before the week starts (the demo city is a picture taken at 00:00 on its
first day), so nothing is recorded in the future of the snapshot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Final

from core.geo import Point, haversine_m
from core.timeutil import local_datetime
from marketplace.demo import fuzhou
from marketplace.demo.context import DemoContext
from marketplace.demo.population import DemoHousehold, DemoMember
from marketplace.demo.workforce import DemoProvider, DemoWorker, workers_for
from marketplace.households.models import (
    DisabilityLevel,
    PreferenceKind,
    ProtectedCategory,
    WorkerPreference,
)
from marketplace.orders import service as orders_service
from marketplace.orders.models import Frequency, Order, OrderPriority, OrderSeries, OrderStatus
from marketplace.orders.schemas import OrderCreate, SeriesCreate, TimeWindow
from marketplace.providers.models import ProviderKind

MATERIALIZER = "system:series-materializer"
# One-off orders per day for 3000 households (scaled to the demo's size): (weekday, weekend).
ONE_OFF_PER_DAY: Final[dict[str, tuple[int, int]]] = {
    "cleaning": (26, 38),
    "cooking": (4, 5),
    "repair": (12, 9),
    "escort": (6, 2),
    "disability": (4, 3),
}
REFERENCE_HOUSEHOLDS: Final = 3000

_CLEANING_NOTES: Final = (
    "",
    "",
    "三室一厅，重点清洁厨房油烟",
    "老人独居，请顺便擦窗",
    "节前大扫除",
)
_REPAIR_NOTES: Final[dict[str, tuple[str, ...]]] = {
    "repair.plumbing": ("厨房水管漏水", "马桶堵塞", "热水器不出热水"),
    "repair.electrical": ("卧室插座没电", "楼道灯不亮", "跳闸后无法合闸"),
    "repair.appliance": ("空调不制冷", "洗衣机不脱水", "冰箱异响"),
    "repair.lock": ("门锁坏了打不开", "钥匙丢失需换锁芯"),
}
_CANCEL_REASONS: Final = ("家里临时有事", "已自行解决", "时间不合适，改日再约", "子女回家照顾")
_RESCHEDULE_REASONS: Final = ("老人要去医院复查", "家中临时有事，改期", "子女要求改到方便的时间")


@dataclass
class OrderCounts:
    """What the order step created."""

    series: int = 0
    orders: int = 0
    by_day: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    urgent: int = 0
    worker_preferences: int = 0


@dataclass
class _Ordering:
    ctx: DemoContext
    item_ids: dict[str, int]
    offering: dict[tuple[str, str], list[DemoProvider]]
    kitchens: dict[str, list[DemoProvider]]
    counts: OrderCounts
    orders: list[Order] = field(default_factory=list)
    preferred: set[tuple[int, int]] = field(default_factory=set)
    preferences: list[WorkerPreference] = field(default_factory=list)


def create_orders(
    ctx: DemoContext,
    households: list[DemoHousehold],
    providers: list[DemoProvider],
    item_ids: dict[str, int],
) -> OrderCounts:
    """Create the week's recurring and one-off orders."""
    offering: dict[tuple[str, str], list[DemoProvider]] = {}
    kitchens: dict[str, list[DemoProvider]] = {}
    for demo in providers:
        for district in demo.district_codes:
            for code in demo.offers:
                offering.setdefault((district, code), []).append(demo)
            if demo.kind is ProviderKind.COMMUNITY_KITCHEN and "meal.lunch" in demo.offers:
                kitchens.setdefault(district, []).append(demo)
    state = _Ordering(ctx, item_ids, offering, kitchens, OrderCounts())
    series = _lunch_series(state, households) + _care_series(state, households)
    _materialize(state, series, households)
    _one_offs(state, households)
    ctx.session.add_all(state.preferences)
    ctx.session.flush()
    state.counts.worker_preferences = len(state.preferences)
    for order in state.orders:
        state.counts.by_status[OrderStatus(order.status).value] += 1
    return state.counts


# --- helpers -----------------------------------------------------------------------------


def _pick_provider(state: _Ordering, district: str, item_code: str) -> DemoProvider | None:
    candidates = state.offering.get((district, item_code), [])
    if not candidates:
        return None
    # Households choose better-graded providers; orders follow capacity (qualified workers).
    weights = [p.provider.grade * len(workers_for(p, item_code)) for p in candidates]
    return state.ctx.rng.choices(candidates, weights=weights)[0]


def _orderer(ctx: DemoContext, demo: DemoHousehold, person: DemoMember) -> str:
    """Who placed the order: a family proxy, the community on the elder's behalf, or the
    household itself."""
    proxies = [p for p in person.proxies if p.can_order]
    roll = ctx.rng.random()
    if proxies and roll < 0.45:
        return f"proxy:{ctx.rng.choice(proxies).public_id}"
    if person.protected and roll < 0.7:
        return f"community:{demo.community.place.code}"
    return demo.actor


def _window(day: date, start: time, end: time) -> TimeWindow:
    return TimeWindow(starts_at=local_datetime(day, start), ends_at=local_datetime(day, end))


def _created_before(ctx: DemoContext, earliest_days: int) -> datetime:
    """A moment in the days before the week (08:00–21:00), at least half an hour before it."""
    day = ctx.days_before(1, earliest_days)
    moment = ctx.at(day, time(8, 0)) + timedelta(minutes=ctx.rng.randint(0, 13 * 60))
    return min(moment, ctx.snapshot - timedelta(hours=2))


def _after(ctx: DemoContext, moment: datetime, low: int, high: int) -> datetime:
    """Some minutes after ``moment``, but before the snapshot."""
    later = moment + timedelta(minutes=ctx.rng.randint(low, high))
    latest = ctx.snapshot - timedelta(minutes=1)
    return later if later < latest else max(moment + timedelta(minutes=1), latest)


def _prefer_worker(state: _Ordering, person: DemoMember, demo: DemoProvider, item: str) -> None:
    """Some elders ask for a caregiver they know; a few refuse one."""
    rng = state.ctx.rng
    qualified = workers_for(demo, item)
    if person.caregiver_gender is not None:
        matching = [w for w in qualified if w.worker.gender == person.caregiver_gender]
        qualified = matching or qualified
    if not qualified:
        return
    roll = rng.random()
    chosen: DemoWorker | None = None
    kind = PreferenceKind.PREFERRED
    if roll < 0.3:
        chosen = rng.choice(qualified)
    elif roll < 0.33 and len(qualified) > 1:
        chosen, kind = rng.choice(qualified), PreferenceKind.BLOCKED
    if chosen is None or (person.id, chosen.id) in state.preferred:
        return
    state.preferred.add((person.id, chosen.id))
    state.preferences.append(
        WorkerPreference(
            member_id=person.id,
            worker_id=chosen.id,
            kind=kind,
            created_at=_created_before(state.ctx, 60),
        )
    )


# --- recurring series --------------------------------------------------------------------


def _series(
    state: _Ordering,
    demo: DemoHousehold,
    person: DemoMember,
    provider: DemoProvider,
    item: str,
    *,
    frequency: Frequency,
    weekdays: list[int],
    window: tuple[time, time],
    duration: int | None = None,
    quantity: int = 1,
) -> OrderSeries:
    ctx = state.ctx
    starts_on = ctx.days_before(3, 400)
    series = orders_service.create_series(
        ctx.session,
        SeriesCreate(
            household_id=demo.id,
            recipient_member_id=person.id,
            provider_id=provider.id,
            item_id=state.item_ids[item],
            frequency=frequency,
            weekdays=weekdays,
            window_start=window[0],
            window_end=window[1],
            duration_minutes=duration,
            quantity=quantity,
            starts_on=starts_on,
        ),
        actor=_orderer(ctx, demo, person),
        public_id=ctx.public_id("ser"),
    )
    # create_series takes no clock: date the series from the demo's own timeline.
    series.created_at = ctx.office_time(starts_on - timedelta(days=ctx.rng.randint(2, 10)))
    state.counts.series += 1
    return series


def _nearest_kitchen(state: _Ordering, demo: DemoHousehold) -> DemoProvider | None:
    kitchens = state.kitchens.get(demo.community.district.code, [])
    home = Point(demo.household.lat, demo.household.lon)

    def distance(kitchen: DemoProvider) -> int:
        point = kitchen.kitchen or kitchen.points[0]
        return haversine_m(home, Point(point.lat, point.lon))

    return min(kitchens, key=distance) if kitchens else None


def _lunch_series(state: _Ordering, households: list[DemoHousehold]) -> list[OrderSeries]:
    """Daily lunch delivery from the nearest community kitchen for many elders."""
    ctx = state.ctx
    rng = ctx.rng
    ctx.phase("lunch series", len(households))
    created: list[OrderSeries] = []
    for demo in households:
        ctx.tick()
        elders = sorted((m for m in demo.members if m.elder and not m.gone), key=lambda m: -m.age)
        if not elders:
            continue
        person = elders[0]
        share = 0.30 if person.protected else 0.12 if person.age >= 70 else 0.04
        if rng.random() >= share:
            continue
        kitchen = _nearest_kitchen(state, demo)
        if kitchen is None:
            continue
        roll = rng.random()
        frequency, weekdays = Frequency.DAILY, []
        if roll >= 0.9:
            frequency, weekdays = Frequency.WEEKLY, [0, 1, 2, 3, 4, 5]
        elif roll >= 0.75:
            frequency, weekdays = Frequency.WEEKLY, [0, 1, 2, 3, 4]
        window = rng.choice(
            [(time(10, 45), time(12, 0)), (time(11, 0), time(12, 15)), (time(11, 0), time(12, 30))]
        )
        created.append(
            _series(
                state,
                demo,
                person,
                kitchen,
                "meal.lunch",
                frequency=frequency,
                weekdays=weekdays,
                window=window,
                quantity=2 if len(elders) > 1 and rng.random() < 0.6 else 1,
            )
        )
    return created


def _care_item(ctx: DemoContext, person: DemoMember) -> str:
    rng = ctx.rng
    if not person.elder:
        return "disability_care.home"
    if person.disability in {DisabilityLevel.SEVERE, DisabilityLevel.TOTAL}:
        return rng.choices(
            ["elderly_care.bathing", "elderly_care.nursing", "elderly_care.daily_living"],
            [35, 25, 40],
        )[0]
    if person.disability is DisabilityLevel.MODERATE and rng.random() < 0.3:
        return "elderly_care.rehab"
    if person.age >= 85 and rng.random() < 0.2:
        return "elderly_care.dementia"
    return "elderly_care.daily_living"


def _care_share(person: DemoMember) -> float:
    if person.disability in {DisabilityLevel.SEVERE, DisabilityLevel.TOTAL}:
        return 0.6
    if person.disability is DisabilityLevel.MODERATE:
        return 0.4 if person.elder else 0.3
    if not person.elder:
        return 0.0
    if ProtectedCategory.TEKUN in person.categories:
        return 0.5
    if person.age >= 80:
        return 0.22
    if person.categories:
        return 0.25
    return 0.04 if person.age >= 70 else 0.01


def _care_series(state: _Ordering, households: list[DemoHousehold]) -> list[OrderSeries]:
    """Weekly home-care visits (and disability home care) on one to three weekdays."""
    ctx = state.ctx
    rng = ctx.rng
    ctx.phase("care series", len(households))
    created: list[OrderSeries] = []
    for demo in households:
        ctx.tick()
        for person in demo.members:
            if person.gone or rng.random() >= _care_share(person):
                continue
            item = _care_item(ctx, person)
            district = demo.community.district.code
            provider = _pick_provider(state, district, item)
            if provider is None:
                item = "elderly_care.daily_living" if person.elder else item
                provider = _pick_provider(state, district, item)
            if provider is None:
                continue
            duration = rng.choice([60, 90, 120]) if item == "elderly_care.daily_living" else None
            long_visit = (duration or 0) >= 120 or item == "elderly_care.dementia"
            windows = (
                [(time(8, 30), time(10, 0)), (time(14, 0), time(15, 0))]
                if long_visit
                else [
                    (time(8, 30), time(10, 30)),
                    (time(9, 0), time(11, 0)),
                    (time(14, 0), time(16, 0)),
                    (time(14, 30), time(16, 0)),
                ]
            )
            days = sorted(rng.sample(range(6), rng.choices([1, 2, 3], [40, 40, 20])[0]))
            created.append(
                _series(
                    state,
                    demo,
                    person,
                    provider,
                    item,
                    frequency=Frequency.WEEKLY,
                    weekdays=days,
                    window=rng.choice(windows),
                    duration=duration,
                )
            )
            _prefer_worker(state, person, provider, item)
    return created


def _materialize(
    state: _Ordering, series: list[OrderSeries], households: list[DemoHousehold]
) -> None:
    """Generate the week's orders of every series (as the weekly job does, the Friday evening
    before), then cancel those of recipients who are in hospital that day."""
    ctx = state.ctx
    ctx.phase("series orders", len(series))
    people = {m.id: (h, m) for h in households for m in h.members}
    codes = {item_id: code for code, item_id in state.item_ids.items()}
    run_at = ctx.at(ctx.start - timedelta(days=3), time(18, 0))
    for one in series:
        created = orders_service.materialize_series(
            ctx.session,
            one,
            ctx.start,
            ctx.end,
            actor=MATERIALIZER,
            now=run_at,
            # The demo's public ids come from its seed (the ledger names orders by them).
            public_ids=lambda: ctx.public_id("ord"),
        )
        for order in created:
            _count(state, order, codes[one.item_id].split(".")[0])
            demo, person = people[one.recipient_member_id]
            if person.in_hospital_on(order.service_date) and person.hospital is not None:
                when = ctx.moment_between(
                    max(run_at, ctx.at(person.hospital[0], time(9, 0))) + timedelta(minutes=30),
                    ctx.snapshot - timedelta(minutes=10),
                )
                orders_service.cancel(
                    ctx.session,
                    order,
                    actor=_orderer(ctx, demo, person),
                    reason=f"受助对象住院（{person.hospital[2]}）",
                    now=when,
                )
        state.orders.extend(created)
        ctx.tick()


def _count(state: _Ordering, order: Order, category: str) -> None:
    state.counts.orders += 1
    state.counts.by_day[order.service_date.isoformat()] += 1
    state.counts.by_category[category] += 1
    if order.priority == OrderPriority.URGENT:
        state.counts.urgent += 1


# --- one-off orders ----------------------------------------------------------------------

WindowPlan = Callable[[date], list[TimeWindow]]


def _one_offs(state: _Ordering, households: list[DemoHousehold]) -> None:
    ctx = state.ctx
    rng = ctx.rng
    scale = len(households) / REFERENCE_HOUSEHOLDS
    plan: list[tuple[date, str]] = []
    for day in ctx.week:
        weekend = day.weekday() >= 5
        for kind, (weekday_n, weekend_n) in ONE_OFF_PER_DAY.items():
            expected = (weekend_n if weekend else weekday_n) * scale
            n = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
            plan.extend((day, kind) for _ in range(n))
    ctx.phase("one-off orders", len(plan))
    everyone = [(h, m) for h in households for m in h.members if not m.gone]
    adults = [(h, m) for h, m in everyone if m.age >= 18]
    elders = [(h, m) for h, m in everyone if m.elder or m.disability is not None]
    disabled = [(h, m) for h, m in everyone if m.disability is not None]
    for day, kind in plan:
        ctx.tick()
        pool = {"escort": elders, "disability": disabled}.get(kind, adults)
        candidates = [pool[rng.randrange(len(pool))] for _ in range(5)] if pool else []
        free = [(h, m) for h, m in candidates if not m.in_hospital_on(day)]
        if not free:
            continue
        demo, person = free[0]
        if kind == "cleaning":
            _one_off_cleaning(state, demo, person, day)
        elif kind == "cooking":
            _one_off(state, demo, person, day, "domestic.cooking", _cooking_windows(ctx))
        elif kind == "repair":
            _one_off_repair(state, demo, person, day)
        elif kind == "escort":
            where = rng.choice(fuzhou.HOSPITALS)
            _one_off(
                state,
                demo,
                person,
                day,
                "escort.hospital",
                [(time(7, 30), time(8, 30))],
                duration=rng.choice([180, 240]),
                urgent=rng.random() < 0.15,
                notes=f"陪同前往{where}复诊",
            )
        else:
            windows = rng.choice([[(time(9, 0), time(10, 30))], [(time(14, 30), time(16, 0))]])
            _one_off(state, demo, person, day, "disability_care.home", windows)


def _cooking_windows(ctx: DemoContext) -> list[tuple[time, time]]:
    return ctx.rng.choice([[(time(10, 0), time(10, 30))], [(time(16, 0), time(16, 30))]])


def _one_off_cleaning(state: _Ordering, demo: DemoHousehold, person: DemoMember, day: date) -> None:
    rng = state.ctx.rng
    deep = rng.random() < 0.2
    item = "domestic.deep_cleaning" if deep else "domestic.cleaning"
    windows: list[tuple[time, time]]
    if rng.random() < 0.35:
        windows = [(time(9, 0), time(10, 30)), (time(14, 0), time(15, 30))]
    else:
        windows = [
            rng.choice(
                [(time(8, 30), time(10, 0)), (time(9, 0), time(11, 0)), (time(14, 0), time(16, 0))]
            )
        ]
    duration = rng.choice([180, 240]) if deep else rng.choice([120, 120, 180])
    _one_off(
        state,
        demo,
        person,
        day,
        item,
        windows,
        duration=duration,
        notes=rng.choice(_CLEANING_NOTES),
    )


def _one_off_repair(state: _Ordering, demo: DemoHousehold, person: DemoMember, day: date) -> None:
    rng = state.ctx.rng
    item = rng.choices(list(_REPAIR_NOTES), [35, 25, 25, 15])[0]
    urgent = rng.random() < 0.25
    windows: list[tuple[time, time]]
    if urgent:
        windows = [(time(8, 30), time(12, 0))]
    elif rng.random() < 0.3:
        windows = [(time(9, 0), time(11, 0)), (time(15, 0), time(17, 0))]
    else:
        windows = [rng.choice([(time(9, 0), time(12, 0)), (time(14, 0), time(17, 0))])]
    _one_off(
        state,
        demo,
        person,
        day,
        item,
        windows,
        urgent=urgent,
        notes=rng.choice(_REPAIR_NOTES[item]),
    )


def _one_off(
    state: _Ordering,
    demo: DemoHousehold,
    person: DemoMember,
    day: date,
    item: str,
    windows: list[tuple[time, time]],
    *,
    duration: int | None = None,
    urgent: bool = False,
    notes: str = "",
) -> None:
    ctx = state.ctx
    rng = ctx.rng
    provider = _pick_provider(state, demo.community.district.code, item)
    if provider is None:
        return
    created_at = _created_before(ctx, 7)
    order = orders_service.create_order(
        ctx.session,
        OrderCreate(
            household_id=demo.id,
            recipient_member_id=person.id,
            provider_id=provider.id,
            item_id=state.item_ids[item],
            service_date=day,
            windows=[_window(day, start, end) for start, end in windows],
            duration_minutes=duration,
            priority=OrderPriority.URGENT if urgent else OrderPriority.NORMAL,
            notes=notes,
        ),
        actor=_orderer(ctx, demo, person),
        now=created_at,
        public_id=ctx.public_id("ord"),
    )
    _count(state, order, item.split(".")[0])
    state.orders.append(order)
    fate = rng.random()
    if fate < 0.10:
        return  # still waiting for the provider to accept
    provider_actor = f"provider:{provider.provider.public_id}"
    confirmed_at = _after(ctx, created_at, 5, 180)
    order = orders_service.confirm(ctx.session, order, actor=provider_actor, now=confirmed_at)
    if fate < 0.86:
        return
    later = _after(ctx, confirmed_at, 30, 24 * 60)
    if fate < 0.92:
        orders_service.cancel(
            ctx.session,
            order,
            actor=_orderer(ctx, demo, person),
            reason=rng.choice(_CANCEL_REASONS),
            now=later,
        )
        return
    new_day = min(ctx.end, day + timedelta(days=rng.randint(1, 3)))
    if person.in_hospital_on(new_day):
        new_day = day
    new_windows = [rng.choice([(time(9, 0), time(11, 0)), (time(14, 0), time(16, 0))])]
    orders_service.reschedule(
        ctx.session,
        order,
        service_date=new_day,
        windows=[_window(new_day, start, end) for start, end in new_windows],
        actor=_orderer(ctx, demo, person),
        reason=rng.choice(_RESCHEDULE_REASONS),
        now=later,
    )
    if new_day != day:
        state.counts.by_day[day.isoformat()] -= 1
        state.counts.by_day[new_day.isoformat()] += 1
