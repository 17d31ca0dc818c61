"""Build one day's dispatch problem from the database: confirmed orders and available workers.

Reads through the marketplace services and repositories and writes nothing. Times become
seconds from local (Asia/Shanghai) midnight of the day, which is the problem's epoch.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Final

from sqlmodel import Session

from core.errors import NotFound, Validation
from core.timeutil import local_datetime, to_local
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
from marketplace.catalog import service as catalog_service
from marketplace.catalog.models import Item
from marketplace.geography import service as geography_service
from marketplace.geography.models import AreaLevel
from marketplace.households import service as households_service
from marketplace.households.models import PeriodKind, PreferenceKind
from marketplace.orders import repository as orders_repository
from marketplace.orders.models import Order, OrderPriority, OrderStatus, OrderTimeWindow
from marketplace.providers import repository as providers_repository
from marketplace.providers import service as providers_service
from marketplace.providers.models import Provider, ServicePointKind
from marketplace.providers.models import Worker as WorkerRow

DAY_SECONDS: Final = 24 * 3600
# Item categories whose worker spends time with the recipient: gender and language requests apply.
CARE_CATEGORIES: Final = frozenset({"elderly_care", "escort", "disability_care"})
MEAL_CATEGORY: Final = "meal"
MAX_RIDE_SECONDS: Final = 30 * 60
PICKUP_SECONDS: Final = 60
CONTINUITY_DAYS: Final = 14
PREFERENCE_WEIGHT: Final = 1200
# Orders that were (or are being) served by their assigned worker.
SERVED: Final = (
    OrderStatus.SCHEDULED,
    OrderStatus.EN_ROUTE,
    OrderStatus.IN_SERVICE,
    OrderStatus.COMPLETED,
    OrderStatus.SETTLED,
)
_NOT_SERVICEABLE: Final = {
    PeriodKind.HOSPITAL: "the recipient is in hospital",
    PeriodKind.DECEASED: "the recipient has died",
    PeriodKind.MOVED_AWAY: "the recipient has moved away",
}


@dataclass(frozen=True, slots=True)
class SkippedOrder:
    """A confirmed order of the day left out of the problem, and why."""

    order_id: int
    public_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class BuiltProblem:
    """The problem and the way back to the database rows it came from."""

    problem: DispatchProblem
    job_orders: Mapping[str, tuple[int, ...]]
    worker_ids: Mapping[str, int]
    skipped: tuple[SkippedOrder, ...] = ()
    committed: frozenset[str] = frozenset()

    def order_ids(self, job_id: str) -> tuple[int, ...]:
        """The ids of the orders a job serves."""
        return self.job_orders[job_id]

    @property
    def planned_order_ids(self) -> list[int]:
        """The orders this problem plans (not the bookings it only works around)."""
        return sorted(
            {i for job, ids in self.job_orders.items() if job not in self.committed for i in ids}
        )


@dataclass(frozen=True, slots=True)
class _Recipient:
    protected: bool
    skip_reason: str | None
    gender: str | None
    language: str | None
    preferred: frozenset[int]
    blocked: frozenset[int]


@dataclass
class _Build:
    session: Session
    day: date
    midnight: datetime
    locations: list[tuple[float, float]] = field(default_factory=list)
    location_index: dict[tuple[float, float], int] = field(default_factory=dict)
    providers: dict[int, Provider] = field(default_factory=dict)
    pickup_points: dict[int, int | None] = field(default_factory=dict)
    recipients: dict[int, _Recipient] = field(default_factory=dict)
    windows: dict[int, list[OrderTimeWindow]] = field(default_factory=dict)

    def place(self, lat: float, lon: float) -> int:
        key = (float(lat), float(lon))
        index = self.location_index.get(key)
        if index is None:
            index = self.location_index[key] = len(self.locations)
            self.locations.append(key)
        return index

    def seconds(self, moment: datetime) -> int:
        """Seconds from local midnight of the day, clipped to the day."""
        offset = int((to_local(moment) - self.midnight).total_seconds())
        return max(0, min(DAY_SECONDS, offset))

    def provider(self, provider_id: int) -> Provider:
        if provider_id not in self.providers:
            self.providers[provider_id] = providers_service.get_or_raise(self.session, provider_id)
        return self.providers[provider_id]


def build_problem(
    session: Session,
    day: date,
    *,
    district_code: str | None = None,
    travel: TravelTimeProvider | None = None,
    fill_travel: bool = True,
    weights: Weights | None = None,
    preference_weight: int = PREFERENCE_WEIGHT,
    continuity_days: int = CONTINUITY_DAYS,
) -> BuiltProblem:
    """The dispatch problem of ``day`` (optionally of one district) from the database.

    Jobs come from the confirmed orders of the day (a meal is a pickup at the provider's kitchen
    and a delivery at home); workers are those of the orders' providers who are available that
    day, with their skills and the certificates valid that day. Orders whose recipient cannot be
    served at home that day are skipped with the reason. Travel is filled (haversine by
    default) unless ``fill_travel`` is false.
    """
    district_id = _district_id(session, district_code)
    build = _Build(session, day, local_datetime(day, time(0, 0)))
    items = {item.id: item for item in catalog_service.list_items(session)}
    categories = {c.id: c.code for c in catalog_service.list_categories(session)}
    orders = orders_repository.list_for_day(
        session, day, statuses=[OrderStatus.CONFIRMED], district_id=district_id
    )
    build.windows = orders_repository.windows_of_orders(
        session, [o.id for o in orders if o.id is not None]
    )
    worker_rows = _available_workers(build, {order.provider_id for order in orders})
    worker_public = {row.id: row.public_id for row, _ in worker_rows if row.id is not None}
    last_served = _last_served(build, items, categories, continuity_days)
    jobs: list[Job] = []
    job_orders: dict[str, tuple[int, ...]] = {}
    skipped: list[SkippedOrder] = []
    for order in orders:
        assert order.id is not None
        item = items[order.item_id]
        category = categories[item.category_id]
        made = _jobs_of(build, order, item, category, worker_public, last_served)
        if isinstance(made, str):
            skipped.append(SkippedOrder(order.id, order.public_id, made))
            continue
        for job in made:
            if job.preferred_workers:
                job = replace(job, preference_weight=preference_weight)
            jobs.append(job)
            job_orders[job.id] = (order.id,)
    # Workers serve only their provider's jobs: those of providers left without jobs idle.
    serving = {job.provider for job in jobs}
    worker_rows = [(row, w) for row, w in worker_rows if w.provider in serving]
    workers = [worker for _, worker in worker_rows]
    commitments = _commitments(build, worker_rows)
    jobs.extend(job for job, _ in commitments)
    job_orders.update({job.id: (order_id,) for job, order_id in commitments})
    problem = DispatchProblem(
        name=f"{district_code or 'all'}-{day.isoformat()}",
        epoch=build.midnight.isoformat(),
        locations=tuple(build.locations),
        workers=tuple(workers),
        jobs=tuple(jobs),
        weights=weights or Weights(),
    )
    if fill_travel and workers:
        problem = with_travel(problem, travel or HaversineTravel())
    return BuiltProblem(
        problem=problem,
        job_orders=job_orders,
        worker_ids={w.public_id: w.id for w, _ in worker_rows if w.id is not None},
        skipped=tuple(skipped),
        committed=frozenset(job.id for job, _ in commitments),
    )


def _district_id(session: Session, code: str | None) -> int | None:
    if code is None:
        return None
    area = geography_service.get_by_code(session, code)
    if area is None:
        raise NotFound(f"district {code!r} does not exist")
    if AreaLevel(area.level) is not AreaLevel.DISTRICT:
        raise Validation(f"area {code!r} is a {AreaLevel(area.level).value}, not a district")
    return area.id


# --- workers -----------------------------------------------------------------------------


def _available_workers(build: _Build, provider_ids: set[int]) -> list[tuple[WorkerRow, Worker]]:
    """Active workers of the orders' (active, licensed) providers who work that day."""
    session, day = build.session, build.day
    out: list[tuple[WorkerRow, Worker]] = []
    for row in providers_repository.active_workers_of_licensed_providers(session, day):
        if row.provider_id not in provider_ids or row.id is None:
            continue
        periods = [
            (_clock(start), _clock(end))
            for start, end in providers_service.availability(session, row.id, day)
        ]
        if not periods:
            continue
        # Gaps between the day's working periods are breaks at fixed times.
        breaks = tuple(
            Break(prev_end, prev_end, start - prev_end)
            for (_, prev_end), (start, _) in itertools.pairwise(periods)
        )
        certificates = providers_service.valid_certificates(session, row.id, day)
        out.append(
            (
                row,
                Worker(
                    id=row.public_id,
                    start_location=build.place(row.start_lat, row.start_lon),
                    end_location=build.place(row.end_lat, row.end_lon),
                    shift=Window(periods[0][0], periods[-1][1]),
                    travel_mode=str(row.travel_mode),
                    breaks=breaks,
                    max_work_seconds=row.daily_limit_minutes * 60,
                    skills=providers_service.skill_levels(session, row.id),
                    certificates=frozenset(c.kind for c in certificates),
                    gender=str(row.gender),
                    languages=frozenset(row.languages),
                    capacity=row.capacity,
                    provider=build.provider(row.provider_id).public_id,
                ),
            )
        )
    return out


def _commitments(
    build: _Build, worker_rows: list[tuple[WorkerRow, Worker]]
) -> list[tuple[Job, int]]:
    """The workers' bookings already made that day, as stops pinned at their booked times.

    They come from other districts' plans, earlier runs and work under way; planning around
    them is what keeps a worker shared between areas or runs from being booked twice.
    """
    by_id = {row.id: worker for row, worker in worker_rows if row.id is not None}
    end = build.midnight + timedelta(days=1)
    rank: dict[str, int] = {}
    out: list[tuple[Job, int]] = []
    for booking, order in orders_repository.bookings_between(
        build.session, by_id, build.midnight, end
    ):
        assert order.id is not None
        worker = by_id[booking.worker_id]
        begin, finish = build.seconds(booking.starts_at), build.seconds(booking.ends_at)
        if finish <= begin:
            continue
        rank[worker.id] = rank.get(worker.id, -1) + 1
        job = Job(
            id=order.public_id,
            location=_home(build, order),
            windows=(Window(begin, begin),),
            service_seconds=finish - begin,
            priority=Priority.URGENT,
            provider=worker.provider,
            pinned_worker=worker.id,
            pinned_rank=rank[worker.id],
            order_ref=order.public_id,
        )
        out.append((job, order.id))
    return out


def _clock(at: time) -> int:
    return at.hour * 3600 + at.minute * 60 + at.second


# --- recipients --------------------------------------------------------------------------


def _recipient(build: _Build, member_id: int) -> _Recipient:
    if member_id in build.recipients:
        return build.recipients[member_id]
    session, day = build.session, build.day
    serviceable = households_service.is_serviceable(session, member_id, day)
    skip_reason: str | None = None
    if not serviceable:
        skip_reason = (
            "the recipient cannot be served at home"
            if serviceable.reason is None
            else _NOT_SERVICEABLE[PeriodKind(serviceable.reason)]
        )
    preference = households_service.get_preference(session, member_id)
    recipient = _Recipient(
        protected=bool(households_service.active_statuses(session, member_id, day)),
        skip_reason=skip_reason,
        gender=None if preference is None else preference.caregiver_gender,
        language=None if preference is None else preference.language,
        preferred=frozenset(
            households_service.worker_ids_by_preference(
                session, member_id, PreferenceKind.PREFERRED
            )
        ),
        blocked=frozenset(
            households_service.worker_ids_by_preference(session, member_id, PreferenceKind.BLOCKED)
        ),
    )
    build.recipients[member_id] = recipient
    return recipient


def _last_served(
    build: _Build, items: Mapping[int | None, Item], categories: Mapping[int | None, str], days: int
) -> dict[tuple[int, str], int]:
    """The worker who most recently served each (recipient, item category) in the past days."""
    latest: dict[tuple[int, str], tuple[date, datetime | None, int, int]] = {}
    for back in range(days, 0, -1):
        earlier = build.day - timedelta(days=back)
        for order in orders_repository.list_for_day(build.session, earlier, statuses=SERVED):
            if order.assigned_worker_id is None or order.id is None:
                continue
            key = (order.recipient_member_id, categories[items[order.item_id].category_id])
            seen = (order.service_date, order.scheduled_start, order.id, order.assigned_worker_id)
            best = latest.get(key)
            if best is None or _later(seen, best):
                latest[key] = seen
    return {key: value[3] for key, value in latest.items()}


def _later(
    a: tuple[date, datetime | None, int, int], b: tuple[date, datetime | None, int, int]
) -> bool:
    if a[0] != b[0]:
        return a[0] > b[0]
    if a[1] is not None and b[1] is not None and a[1] != b[1]:
        return a[1] > b[1]
    return a[2] > b[2]


# --- jobs --------------------------------------------------------------------------------


def _jobs_of(
    build: _Build,
    order: Order,
    item: Item,
    category: str,
    worker_public: Mapping[int, str],
    last_served: Mapping[tuple[int, str], int],
) -> list[Job] | str:
    """The job(s) of an order, or why it is skipped."""
    recipient = _recipient(build, order.recipient_member_id)
    if recipient.skip_reason is not None:
        return recipient.skip_reason
    windows = _windows(build, order)
    if not windows:
        return f"no time window falls on {build.day.isoformat()}"
    provider = build.provider(order.provider_id)
    if order.priority == OrderPriority.URGENT:
        priority = Priority.URGENT
    elif recipient.protected:
        priority = Priority.PROTECTED
    else:
        priority = Priority.NORMAL
    care = category in CARE_CATEGORIES
    preferred = sorted(recipient.preferred)
    continuity = last_served.get((order.recipient_member_id, category))
    if category != MEAL_CATEGORY and continuity is not None and continuity not in preferred:
        preferred.append(continuity)
    job = Job(
        id=order.public_id,
        location=_home(build, order),
        windows=windows,
        service_seconds=order.duration_minutes * 60,
        skills=frozenset(item.required_skills),
        main_skill=item.required_skills[0] if item.required_skills else None,
        certificates=frozenset(item.required_certificates),
        required_gender=recipient.gender if care else None,
        required_language=recipient.language if care else None,
        blocked_workers=frozenset(
            worker_public[w] for w in recipient.blocked if w in worker_public
        ),
        preferred_workers=tuple(worker_public[w] for w in preferred if w in worker_public),
        priority=priority,
        provider=provider.public_id,
        order_ref=order.public_id,
    )
    if category != MEAL_CATEGORY:
        return [job]
    assert provider.id is not None
    kitchen = _pickup_point(build, provider.id)
    if kitchen is None:
        return "the meal's provider has no kitchen or base to pick it up from"
    return list(_meal_pair(job, kitchen, order.quantity))


def _windows(build: _Build, order: Order) -> tuple[Window, ...]:
    windows = []
    assert order.id is not None
    for row in build.windows.get(order.id, []):
        start, end = build.seconds(row.starts_at), build.seconds(row.ends_at)
        if start < end or (start == end and 0 < start < DAY_SECONDS):
            windows.append(Window(start, end))
    return tuple(sorted(windows, key=lambda w: w.start))


def _home(build: _Build, order: Order) -> int:
    household = households_service.get_or_raise(build.session, order.household_id)
    return build.place(household.lat, household.lon)


def _pickup_point(build: _Build, provider_id: int) -> int | None:
    """The location of the provider's kitchen, or of its base if it has no kitchen."""
    if provider_id not in build.pickup_points:
        points = providers_service.list_service_points(build.session, provider_id)
        ranked = sorted(points, key=lambda p: (p.kind != ServicePointKind.KITCHEN, p.id or 0))
        build.pickup_points[provider_id] = (
            build.place(ranked[0].lat, ranked[0].lon) if ranked else None
        )
    return build.pickup_points[provider_id]


def _meal_pair(delivery: Job, kitchen: int, quantity: int) -> tuple[Job, Job]:
    """A pickup at the kitchen and the delivery at home within the maximum ride."""
    pickup_id, delivery_id = f"{delivery.id}-pickup", f"{delivery.id}-delivery"
    first, last = delivery.windows[0], delivery.windows[-1]
    pickup = replace(
        delivery,
        id=pickup_id,
        location=kitchen,
        windows=(Window(max(0, first.start - MAX_RIDE_SECONDS - PICKUP_SECONDS), last.end),),
        service_seconds=PICKUP_SECONDS,
        kind=JobKind.PICKUP,
        pair=delivery_id,
        demand=quantity,
        preferred_workers=(),
    )
    return pickup, replace(
        delivery,
        id=delivery_id,
        kind=JobKind.DELIVERY,
        pair=pickup_id,
        demand=-quantity,
        max_ride_seconds=MAX_RIDE_SECONDS,
        preferred_workers=(),
    )


def describe(built: BuiltProblem) -> str:
    """One line: how many jobs, orders, workers and skipped orders."""
    problem = built.problem
    orders = {o for ids in built.job_orders.values() for o in ids}
    return (
        f"{problem.name}: {len(problem.jobs)} jobs from {len(orders)} orders, "
        f"{len(problem.workers)} workers, {len(problem.locations)} places, "
        f"{len(built.skipped)} orders skipped"
    )
