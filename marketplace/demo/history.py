"""A month of completed, verified home visits on top of the demo city, written in bulk.

``generate_month`` gives every eligible worker of the demo city a weekly round of regular
clients near their base, repeats it on the month's working days and writes each visit with
everything a real completed order carries:

* the order, priced as ``quoting.quote`` prices it (provider tariff, distance and holiday
  surcharges, the member's protected groups on the service day, long-term-care insurance, the
  monthly cap and the district budget as they stand when the order is placed), its time window
  and its transitions (create, confirm, schedule, check-in, complete);
* the worker's active booking for the scheduled times;
* the visit: check-in and check-out a few minutes around the schedule, mostly by GPS within a
  few dozen metres of the home, some by QR code or the household's phone, a few entered by
  provider staff afterwards (a manual check with its edit and reason code), the tasks done and
  the household's confirmation;
* the ledger entries the lifecycle writes (reserve per payer when confirmed, consume at
  check-out), with the member and district balances.

The month respects what the audit rules assume of honest work: a worker's visits follow one
another with travel time between them at the worker's e-bike, walking or car speed, on the
weekdays of the worker's shifts, from the shift's start to 19:00 with half an hour for lunch
(part-timers within their shift); the worker has the item's skills and holds its certificates
for the whole month; nobody is visited while in hospital, after death or after moving away; the
subsidy is decided for the groups the member is in that day and never passes the monthly cap;
providers differ moderately and smoothly (visits per recipient, share of manual checks) and
edits are made within days, spread over many staff members. Meals are left out (they are
delivered, not visited), as are couriers and volunteers.

The 400 workers of the demo city can make about 51 000 such visits in a 31-day month; more
are refused. Bulk inserts (SQLAlchemy ``insert`` with lists of rows) stand in for the
services, whose per-row round trips would take hours for a month; everything is drawn from
generators seeded with ``seed``, so the same database and seed give the same month.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

import sqlalchemy as sa
from faker import Faker
from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from core.errors import Conflict, NotFound, Validation
from core.timeutil import local_date, local_datetime, to_local
from marketplace.catalog.models import Category, Item
from marketplace.demo import fuzhou
from marketplace.demo.context import DemoContext
from marketplace.geography.models import Area
from marketplace.households import service as households_service
from marketplace.households.models import (
    DisabilityLevel,
    Household,
    LtcEntitlement,
    Member,
    PreferenceKind,
    ProtectedCategory,
    ProtectedStatus,
    StatusPeriod,
    StatusReview,
    WorkerPreference,
)
from marketplace.orders import accounting, quoting
from marketplace.orders.models import (
    Order,
    OrderStatus,
    OrderTimeWindow,
    OrderTransition,
    WorkerBooking,
)
from marketplace.orders.state import OrderEvent
from marketplace.providers.models import (
    Provider,
    ProviderDistrict,
    ServicePoint,
    ServicePointKind,
    ShiftExceptionKind,
    Worker,
    WorkerCertificate,
    WorkerShift,
    WorkerShiftException,
    WorkerSkill,
)
from marketplace.visits.models import (
    CheckMethod,
    ConfirmationMethod,
    EditReason,
    Visit,
    VisitEdit,
)
from pricing import ledger
from pricing import service as pricing_service
from pricing.holidays import HolidayCalendar, default_calendar
from pricing.ledger import EntryDraft
from pricing.models import DistrictBalance, EntryKind, LedgerEntry, MemberBalance, Payer
from pricing.policy import (
    Group,
    PolicyDocument,
    RuleKind,
    ServiceClass,
    SubsidyRequest,
    decide,
    service_class,
)
from pricing.tariff import Tariff, price_order

# Meals are delivered, not visited, and overnight sitting happens away from the home: neither
# is a home visit with EVV evidence.
EXCLUDED_ITEMS: Final = frozenset({"meal.lunch", "meal.dinner", "escort.overnight"})
# How often a qualified worker's round uses each item (relative weights).
ITEM_WEIGHTS: Final[dict[str, float]] = {
    "elderly_care.daily_living": 50,
    "elderly_care.bathing": 12,
    "elderly_care.nursing": 60,
    "elderly_care.rehab": 60,
    "elderly_care.dementia": 8,
    "escort.hospital": 1,
    "disability_care.home": 12,
    "domestic.cleaning": 60,
    "domestic.deep_cleaning": 12,
    "domestic.cooking": 15,
    "repair.plumbing": 10,
    "repair.electrical": 10,
    "repair.appliance": 10,
    "repair.lock": 6,
}
# Durations (minutes, weight) of hourly items; visit-priced items take the catalog's minutes.
DURATIONS: Final[dict[str, tuple[tuple[int, float], ...]]] = {
    "elderly_care.daily_living": ((60, 65), (90, 28), (120, 7)),
    "elderly_care.rehab": ((60, 80), (90, 20)),
    "elderly_care.dementia": ((90, 50), (120, 50)),
    "disability_care.home": ((60, 40), (90, 45), (120, 15)),
    "domestic.cleaning": ((60, 25), (90, 40), (120, 30), (180, 5)),
    "domestic.deep_cleaning": ((180, 80), (240, 20)),
    "domestic.cooking": ((60, 40), (90, 60)),
    "escort.hospital": ((180, 70), (240, 30)),
}
TASKS: Final[dict[str, tuple[str, ...]]] = {
    "elderly_care.daily_living": ("助餐", "居室清洁", "洗衣", "陪伴聊天", "协助服药", "测量血压"),
    "elderly_care.bathing": ("助浴", "更衣", "皮肤检查", "修剪指甲"),
    "elderly_care.nursing": ("测量生命体征", "伤口护理", "用药指导", "血糖监测"),
    "elderly_care.rehab": ("关节活动训练", "步行训练", "平衡训练", "肌力训练"),
    "elderly_care.dementia": ("认知训练", "陪伴", "居家安全检查", "助餐"),
    "escort.hospital": ("陪同就医", "挂号取药", "陪同检查", "护送回家"),
    "disability_care.home": ("生活照料", "翻身拍背", "康复辅助", "居室清洁"),
    "domestic.cleaning": ("客厅清洁", "厨房清洁", "卫生间清洁", "拖地", "倒垃圾"),
    "domestic.deep_cleaning": ("厨房油烟清洁", "窗户清洁", "卫生间除垢", "家具除尘"),
    "domestic.cooking": ("买菜", "做饭", "清洗餐具"),
    "repair.plumbing": ("检查管路", "疏通", "更换配件", "试水确认"),
    "repair.electrical": ("线路检测", "更换开关插座", "通电确认"),
    "repair.appliance": ("故障检测", "更换配件", "试机确认"),
    "repair.lock": ("开锁", "更换锁芯", "试锁确认"),
}

# Travel between homes, as dispatch's default haversine model has it (dispatch.travel).
SPEEDS_KMH: Final[dict[str, float]] = {"walk": 4.5, "ebike": 15.0, "car": 25.0}
ROAD_FACTOR: Final = 1.3
# Clients come from around the worker's base: this far for each travel mode, at least the
# nearest MIN_POOL people (a thin district has few homes close by), and POOL_STEP more at a
# time when everyone in reach already has as many visits of the provider as they take.
POOL_RADIUS_M: Final[dict[str, int]] = {"walk": 1_200, "ebike": 2_500, "car": 4_000}
MIN_POOL: Final = 40
POOL_STEP: Final = 40
# Full-time days run from the shift's start to 19:00 with half an hour for lunch after the
# first visit that ends at 11:30 or later; part-timers keep their shift.
LUNCH_AFTER: Final = 11 * 60 + 30
LUNCH_MIN: Final = 30
DAY_END: Final = 19 * 60
BUFFER_MIN: Final = (2, 8)  # parking, stairs, greeting: minutes between arrival and start
# An estimate of minutes per visit beyond its duration (travel and buffer), for planning.
OVERHEAD_MIN: Final = 15
MIN_ROUND: Final = 4  # visits in a round that runs at all, when the month is thin
MAX_VISITS_PER_MEMBER_DAY: Final = 3
MEMBER_GAP_MIN: Final = 15  # one member's visits on a day keep this far apart

# How a visit's ends are captured (shares of the non-manual ones).
METHOD_SHARES: Final = ((CheckMethod.GPS, 0.82), (CheckMethod.QR, 0.12), (CheckMethod.PHONE, 0.06))
QR_WITH_LOCATION: Final = 0.6
GPS_SIGMA_M: Final = 12.0
GPS_LIMIT_M: Final = 35.0  # per axis: at most ~50 m from the home
# Per provider, a share of visits with a manual check (drawn uniformly from this range).
MANUAL_SHARE: Final = (0.012, 0.03)
# Per provider, weekly appointments per regular client (drawn uniformly from this range), and
# at most MAX_WEEKLY per client: visits per recipient spread evenly over about 4.3–8.6 a month.
APPOINTMENTS_PER_CLIENT: Final = (1.0, 1.85)
MAX_WEEKLY: Final = 2
CONFIRMED_SHARE: Final = 0.93
CORRECTION_SHARE: Final = 0.004  # visits whose tasks staff correct afterwards
EDITS_PER_STAFF: Final = 10  # a provider has one editing staff member per this many edits
MIN_STAFF: Final = 2
ORDER_LEAD_DAYS: Final = (2, 9)

_MANUAL_IN_REASONS: Final = (
    EditReason.DEVICE_FAILURE,
    EditReason.NO_SIGNAL,
    EditReason.FORGOT_CHECK_IN,
)
_MANUAL_OUT_REASONS: Final = (
    EditReason.DEVICE_FAILURE,
    EditReason.NO_SIGNAL,
    EditReason.FORGOT_CHECK_OUT,
)
_CONFIRMATIONS: Final = (
    (ConfirmationMethod.CODE, 0.7),
    (ConfirmationMethod.SIGNATURE, 0.2),
    (ConfirmationMethod.PHONE, 0.1),
)
_CHUNK: Final = 2000
_NEVER: Final = datetime(1970, 1, 1, tzinfo=UTC)

Location = tuple[float, float]


# --- public shapes -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Appointment:
    """One visit to write: the recipient, the worker, the item, the scheduled start and length."""

    member_id: int
    worker_id: int
    item_id: int
    start: datetime  # aware
    minutes: int


@dataclass(frozen=True)
class HistorySummary:
    """What a generated month (or a batch of added visits) holds."""

    month: str
    seed: int
    visits: int
    providers: int
    workers: int
    recipients: int
    subsidised: int
    list_price_fen: int
    subsidy_fen: int
    ltc_fen: int
    copay_fen: int
    manual_visits: int
    edits: int
    transitions: int
    ledger_entries: int
    by_item: dict[str, int]
    by_check_in: dict[str, int]
    visit_refs: tuple[str, ...] = field(default=(), repr=False)

    def line(self) -> str:
        """One line for a command's output."""
        return (
            f"{self.month}: {self.visits} visits by {self.workers} workers of {self.providers} "
            f"providers for {self.recipients} recipients; {self.subsidised} subsidised "
            f"(subsidy {self.subsidy_fen / 100:.2f} yuan, insurance {self.ltc_fen / 100:.2f}, "
            f"co-pay {self.copay_fen / 100:.2f}); {self.manual_visits} with a manual check, "
            f"{self.edits} edits, {self.ledger_entries} ledger entries"
        )


def travel_seconds(a: Location, b: Location, mode: str) -> int:
    """Seconds from ``a`` to ``b`` (lat, lon) by ``mode``: straight line × road factor."""
    metres = haversine_m_fast(a, b) * ROAD_FACTOR
    return math.ceil(metres * 3.6 / SPEEDS_KMH.get(mode, SPEEDS_KMH["ebike"]))


def haversine_m_fast(a: Location, b: Location) -> float:
    """Great-circle metres between two (lat, lon) pairs (core.geo without the validation)."""
    phi1, phi2 = math.radians(a[0]), math.radians(b[0])
    h = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(h)))


def month_days(month: str) -> tuple[date, date]:
    """First and last day of a ``YYYY-MM`` month (Validation otherwise)."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except ValueError as exc:
        raise Validation(f"month must be YYYY-MM, not {month!r}") from exc
    if len(month) != 7:
        raise Validation(f"month must be YYYY-MM, not {month!r}")
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


# --- the city as the generator sees it -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Item:
    id: int
    code: str
    unit: str
    cls: ServiceClass
    minutes: int
    skills: frozenset[str]
    certificates: tuple[str, ...]
    reference_price_fen: int
    guide_price_fen: int | None


@dataclass(slots=True)
class _Provider:
    id: int
    public_id: str
    active: bool
    licence_expires_on: date | None
    districts: frozenset[str]
    base: Location | None


@dataclass(slots=True)
class _Worker:
    id: int
    public_id: str
    provider_id: int
    mode: str
    base: Location
    part_time: bool
    field_worker: bool  # neither a volunteer nor a courier, and active
    skills: frozenset[str]
    certificates: dict[str, date | None]
    shifts: dict[int, list[tuple[time, time]]]
    leave: set[date]

    def holds(self, kinds: Iterable[str], first: date, last: date) -> bool:
        """Whether the worker holds every kind, valid on every day of [first, last]."""
        for kind in kinds:
            if kind not in self.certificates:
                return False
            expires = self.certificates[kind]
            if expires is not None and expires < last:
                return False
        return True


@dataclass(slots=True)
class _Household:
    id: int
    public_id: str
    location: Location
    district: str
    community: str


@dataclass(slots=True)
class _Member:
    id: int
    household_id: int
    birth_date: date
    statuses: list[tuple[str, str | None, date, date | None]] = field(default_factory=list)
    periods: list[tuple[date, date | None]] = field(default_factory=list)
    ltc: list[LtcEntitlement] = field(default_factory=list)

    @property
    def disabled(self) -> bool:
        """Whether an approved disability status was ever recorded."""
        return any(c == ProtectedCategory.DISABILITY.value for c, *_ in self.statuses)

    def age_on(self, day: date) -> int:
        """Whole years on ``day``."""
        return households_service.age_on(self.birth_date, day)

    def groups_on(self, day: date) -> tuple[Group, ...]:
        """Protected groups on ``day``, in policy order, as ``quoting.groups_on`` finds them."""
        found: set[Group] = set()
        for category, level, valid_from, valid_to in self.statuses:
            if valid_from > day or (valid_to is not None and day > valid_to):
                continue
            if category == ProtectedCategory.DISABILITY.value:
                if level is not None:
                    found.add(quoting.DISABILITY_GROUP[DisabilityLevel(level)])
            else:
                found.add(quoting.CATEGORY_GROUP[ProtectedCategory(category)])
        if self.age_on(day) >= households_service.AGE80_YEARS:
            found.add(Group.AGE80)
        return tuple(g for g in Group if g in found)

    def serviceable(self, day: date) -> bool:
        """Not in hospital, deceased or moved away on ``day``."""
        return not any(
            starts <= day and (ends is None or day <= ends) for starts, ends in self.periods
        )

    def ltc_on(self, day: date) -> LtcEntitlement | None:
        """The long-term-care benefit in force on ``day``."""
        for row in self.ltc:
            if row.valid_from <= day and (row.valid_to is None or day <= row.valid_to):
                return row
        return None


@dataclass(slots=True)
class _City:
    items: dict[int, _Item]
    providers: dict[int, _Provider]
    workers: dict[int, _Worker]
    households: dict[int, _Household]
    members: dict[int, _Member]
    provider_names: dict[int, str]
    blocked: set[tuple[int, int]]  # (member, worker) the member refuses


def _load_city(session: Session) -> _City:
    """Everything the generator reads, in a few set-based queries."""
    categories: dict[int, str] = dict(
        session.execute(sa.select(col(Category.id), col(Category.code))).all()
    )
    items: dict[int, _Item] = {}
    for item in session.exec(select(Item).order_by(col(Item.id))):
        assert item.id is not None
        items[item.id] = _Item(
            id=item.id,
            code=item.code,
            unit=str(item.unit),
            cls=service_class(categories[item.category_id]),
            minutes=item.default_duration_minutes,
            skills=frozenset(item.required_skills),
            certificates=tuple(item.required_certificates),
            reference_price_fen=item.reference_price_fen,
            guide_price_fen=item.guide_price_fen,
        )
    area_codes: dict[int, str] = dict(
        session.execute(sa.select(col(Area.id), col(Area.code))).all()
    )
    served: dict[int, set[str]] = defaultdict(set)
    for provider_id, district_id in session.execute(
        sa.select(col(ProviderDistrict.provider_id), col(ProviderDistrict.district_id))
    ):
        served[provider_id].add(area_codes[district_id])
    bases: dict[int, Location] = {}
    for provider_id, kind, lat, lon in session.execute(
        sa.select(
            col(ServicePoint.provider_id),
            col(ServicePoint.kind),
            col(ServicePoint.lat),
            col(ServicePoint.lon),
        ).order_by(col(ServicePoint.id))
    ):
        # The first base, as quoting.distance_from_base measures from it.
        if kind == ServicePointKind.BASE.value and provider_id not in bases:
            bases[provider_id] = (lat, lon)
    providers: dict[int, _Provider] = {}
    names: dict[int, str] = {}
    for p in session.exec(select(Provider).order_by(col(Provider.id))):
        assert p.id is not None
        providers[p.id] = _Provider(
            p.id,
            p.public_id,
            p.active,
            p.licence_expires_on,
            frozenset(served[p.id]),
            bases.get(p.id),
        )
        names[p.id] = p.name
    skills: dict[int, set[str]] = defaultdict(set)
    for worker_id, skill in session.execute(
        sa.select(col(WorkerSkill.worker_id), col(WorkerSkill.skill))
    ):
        skills[worker_id].add(skill)
    certificates: dict[int, dict[str, date | None]] = defaultdict(dict)
    for worker_id, kind, expires in session.execute(
        sa.select(
            col(WorkerCertificate.worker_id),
            col(WorkerCertificate.kind),
            col(WorkerCertificate.expires_on),
        ).order_by(col(WorkerCertificate.id))
    ):
        held = certificates[worker_id]
        # Of several certificates of one kind, the latest expiry counts (none: never expires).
        if kind not in held or (
            held[kind] is not None and (expires is None or expires > held[kind])
        ):
            held[kind] = expires
    shifts: dict[int, dict[int, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
    for worker_id, weekday, starts, ends in session.execute(
        sa.select(
            col(WorkerShift.worker_id),
            col(WorkerShift.weekday),
            col(WorkerShift.starts_at),
            col(WorkerShift.ends_at),
        ).order_by(col(WorkerShift.id))
    ):
        shifts[worker_id][weekday].append((starts, ends))
    leave: dict[int, set[date]] = defaultdict(set)
    for worker_id, on_date, kind in session.execute(
        sa.select(
            col(WorkerShiftException.worker_id),
            col(WorkerShiftException.on_date),
            col(WorkerShiftException.kind),
        )
    ):
        # Leave for part of a day keeps the worker off the whole day's round.
        if kind == ShiftExceptionKind.LEAVE.value:
            leave[worker_id].add(on_date)
    workers: dict[int, _Worker] = {}
    for w in session.exec(select(Worker).order_by(col(Worker.id))):
        assert w.id is not None
        workers[w.id] = _Worker(
            id=w.id,
            public_id=w.public_id,
            provider_id=w.provider_id,
            mode=str(w.travel_mode),
            base=(w.start_lat, w.start_lon),
            part_time=w.daily_limit_minutes < 480,
            field_worker=w.active and not w.is_volunteer and w.capacity == 0,
            skills=frozenset(skills[w.id]),
            certificates=dict(certificates[w.id]),
            shifts={d: sorted(s) for d, s in shifts[w.id].items()},
            leave=leave[w.id],
        )
    households: dict[int, _Household] = {}
    for hid, public_id, lat, lon, district_id, community_id in session.execute(
        sa.select(
            col(Household.id),
            col(Household.public_id),
            col(Household.lat),
            col(Household.lon),
            col(Household.district_id),
            col(Household.community_id),
        ).order_by(col(Household.id))
    ):
        households[hid] = _Household(
            hid, public_id, (lat, lon), area_codes[district_id], area_codes[community_id]
        )
    members: dict[int, _Member] = {}
    for mid, household_id, birth_date in session.execute(
        sa.select(col(Member.id), col(Member.household_id), col(Member.birth_date)).order_by(
            col(Member.id)
        )
    ):
        members[mid] = _Member(mid, household_id, birth_date)
    for member_id, category, level, valid_from, valid_to in session.execute(
        sa.select(
            col(ProtectedStatus.member_id),
            col(ProtectedStatus.category),
            col(ProtectedStatus.disability_level),
            col(ProtectedStatus.valid_from),
            col(ProtectedStatus.valid_to),
        )
        .where(col(ProtectedStatus.review) == StatusReview.APPROVED.value)
        .order_by(col(ProtectedStatus.id))
    ):
        members[member_id].statuses.append((str(category), level, valid_from, valid_to))
    for member_id, starts, ends in session.execute(
        sa.select(
            col(StatusPeriod.member_id), col(StatusPeriod.starts_on), col(StatusPeriod.ends_on)
        ).order_by(col(StatusPeriod.id))
    ):
        members[member_id].periods.append((starts, ends))
    for benefit in session.exec(select(LtcEntitlement).order_by(col(LtcEntitlement.id))):
        members[benefit.member_id].ltc.append(benefit)
    blocked = {
        (member_id, worker_id)
        for member_id, worker_id in session.execute(
            sa.select(col(WorkerPreference.member_id), col(WorkerPreference.worker_id)).where(
                col(WorkerPreference.kind) == PreferenceKind.BLOCKED.value
            )
        )
    }
    return _City(items, providers, workers, households, members, names, blocked)


# --- weekly rounds -------------------------------------------------------------------------


@dataclass(slots=True)
class _Stop:
    member_id: int
    item: _Item
    start: int  # minutes after local midnight
    minutes: int
    visits: int  # dates of the round on which the member can be served


@dataclass(slots=True)
class _Round:
    """One worker's regular clients on one weekday, in visiting order."""

    worker: _Worker
    weekday: int
    blocks: list[tuple[int, int]]
    dates: list[date]
    items: list[_Item]
    capacity: int
    target: int = 0
    stops: list[_Stop] = field(default_factory=list)
    block: int = 0
    cursor: int = 0
    location: Location = (0.0, 0.0)
    full: bool = False
    lunch: bool = False  # taken already (part-timers never stop for it)


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def _blocks(worker: _Worker, weekday: int) -> list[tuple[int, int]]:
    """The working blocks of a weekday (minutes after midnight)."""
    shifts = worker.shifts.get(weekday, [])
    if not shifts:
        return []
    if worker.part_time:
        return [(_minutes(s), _minutes(e)) for s, e in shifts]
    start = min(_minutes(s) for s, _ in shifts)
    return [(start, DAY_END)]


def _suits(item: _Item, member: _Member, day: date) -> bool:
    """Whether the item is something this member would be given."""
    age = member.age_on(day)
    if item.code == "disability_care.home":
        return member.disabled
    if item.code == "elderly_care.dementia":
        return age >= 75
    if item.code == "elderly_care.rehab":
        return member.disabled or age >= 65
    if item.cls is ServiceClass.CARE:
        return age >= 60 or member.disabled
    return True


def _weighted(rng: random.Random, options: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _planar(a: Location, b: Location) -> float:
    """Squared equirectangular distance: enough to rank nearby points."""
    dy = a[0] - b[0]
    dx = (a[1] - b[1]) * 0.9  # cos(26°)
    return dx * dx + dy * dy


class _Planner:
    """Builds every worker's weekly rounds for a month and expands them into appointments."""

    def __init__(self, city: _City, first: date, last: date, rng: random.Random) -> None:
        self.city = city
        self.first, self.last = first, last
        self.rng = rng
        self.days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        self.busy: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        self.with_provider: set[tuple[int, int, int]] = set()  # (provider, member, weekday)
        self.weekly: Counter[tuple[int, int]] = Counter()  # (provider, member) → appointments
        self.recipients: dict[int, list[int]] = defaultdict(list)
        self.recipient_set: dict[int, set[int]] = defaultdict(set)
        self.reuse: dict[int, float] = {}
        self.ranked: dict[int, list[int]] = {}
        self.pools: dict[int, list[int]] = {}
        self.pool_sets: dict[int, set[int]] = {}
        self.cumulative: dict[int, list[float]] = {}
        self.rounds: list[_Round] = []
        self.total = 0

    # -- set-up -----------------------------------------------------------------------

    def prepare(self) -> None:
        """Pick eligible workers, their items, rounds and client pools."""
        city, first, last = self.city, self.first, self.last
        candidates = [
            m
            for m in city.members.values()
            if m.age_on(first) >= 18
            and sum(1 for d in self.days if m.serviceable(d)) * 2 >= len(self.days)
        ]
        by_district: dict[str, list[_Member]] = defaultdict(list)
        for m in candidates:
            by_district[city.households[m.household_id].district].append(m)
        for provider_id in sorted(city.providers):
            # Weekly appointments per client u, uniform: reuse a client with chance 1 − 1/u.
            u = self.rng.uniform(*APPOINTMENTS_PER_CLIENT)
            self.reuse[provider_id] = 1 - 1 / u
        for worker in city.workers.values():
            provider = city.providers[worker.provider_id]
            licensed = provider.licence_expires_on is None or provider.licence_expires_on >= last
            if not (worker.field_worker and provider.active and licensed) or not worker.shifts:
                continue
            items = [
                item
                for item in city.items.values()
                if item.code not in EXCLUDED_ITEMS
                and item.code in ITEM_WEIGHTS
                and item.skills <= worker.skills
                and worker.holds(item.certificates, first, last)
            ]
            if not items:
                continue
            ranked = self._ranked(worker, provider, by_district, items)
            if not ranked:
                continue
            self.ranked[worker.id] = ranked
            self.pools[worker.id], self.pool_sets[worker.id] = [], set()
            self.cumulative[worker.id] = []
            radius = POOL_RADIUS_M.get(worker.mode, POOL_RADIUS_M["ebike"])
            near = sum(
                1
                for m in ranked
                if haversine_m_fast(
                    worker.base, city.households[city.members[m].household_id].location
                )
                <= radius
            )
            self._grow(worker.id, max(near, MIN_POOL))
            mean_minutes = sum(self._mean_minutes(i) * ITEM_WEIGHTS[i.code] for i in items) / sum(
                ITEM_WEIGHTS[i.code] for i in items
            )
            for weekday in sorted(worker.shifts):
                blocks = _blocks(worker, weekday)
                dates = [d for d in self.days if d.weekday() == weekday and d not in worker.leave]
                capacity = sum(
                    max(0, (end - start) // int(mean_minutes + OVERHEAD_MIN))
                    for start, end in blocks
                )
                if capacity and dates:
                    self.rounds.append(
                        _Round(
                            worker,
                            weekday,
                            blocks,
                            dates,
                            items,
                            capacity,
                            location=worker.base,
                            lunch=worker.part_time,
                        )
                    )

    def _ranked(
        self,
        worker: _Worker,
        provider: _Provider,
        by_district: dict[str, list[_Member]],
        items: list[_Item],
    ) -> list[int]:
        """Members in the provider's districts who suit one of the worker's items, nearest to
        the worker's base first."""
        ranked: list[tuple[float, int]] = []
        for district in sorted(provider.districts):
            for m in by_district.get(district, ()):
                if (m.id, worker.id) in self.city.blocked:
                    continue
                if not any(_suits(i, m, self.first) for i in items):
                    continue
                home = self.city.households[m.household_id].location
                ranked.append((_planar(worker.base, home), m.id))
        ranked.sort()
        return [member_id for _, member_id in ranked]

    def _grow(self, worker_id: int, size: int) -> bool:
        """Widen the worker's pool to the nearest ``size`` members; False if it cannot grow."""
        ranked, pool = self.ranked[worker_id], self.pools[worker_id]
        if len(pool) >= len(ranked):
            return False
        cumulative, members = self.cumulative[worker_id], self.city.members
        total = cumulative[-1] if cumulative else 0.0
        for member_id in ranked[len(pool) : size]:
            member = members[member_id]
            # Protected elders use home services most, younger adults least.
            groups = member.groups_on(self.first)
            total += 3.0 if groups else 2.0 if member.age_on(self.first) >= 60 else 0.5
            pool.append(member_id)
            cumulative.append(total)
            self.pool_sets[worker_id].add(member_id)
        return True

    @staticmethod
    def _mean_minutes(item: _Item) -> float:
        options = DURATIONS.get(item.code)
        if not options:
            return float(item.minutes)
        return sum(m * w for m, w in options) / sum(w for _, w in options)

    # -- filling rounds ---------------------------------------------------------------

    def plan(self, visits: int) -> list[tuple[_Round, _Stop, date]]:
        """Fill the rounds until they give at least ``visits`` visits, then drop the surplus."""
        if not self.rounds:
            raise Validation("the database has no worker who could visit anyone this month")
        estimate = sum(r.capacity * len(r.dates) for r in self.rounds)
        share = min(1.0, visits * 1.04 / estimate)
        order = list(self.rounds)
        self.rng.shuffle(order)
        for r in order:
            wanted = share * r.capacity
            # In a thin month fewer rounds run, each still a real day's work.
            day = max(wanted, min(r.capacity, MIN_ROUND))
            if self.rng.random() < wanted / day:
                r.target = int(day) + (1 if self.rng.random() < day - int(day) else 0)
            r.cursor, r.location = r.blocks[0][0], r.worker.base
            self._fill(r)
        while self.total < visits:
            growing = [r for r in order if not r.full and r.target] or [
                r for r in order if not r.full
            ]
            if not growing:
                raise Validation(
                    f"the demo city's workforce can make about {self.total} visits in "
                    f"{self.first:%Y-%m}; {visits} were asked for"
                )
            self.rng.shuffle(growing)
            for r in growing:
                r.target += 1
                self._fill(r)
                if self.total >= visits:
                    break
        planned = [
            (r, stop, day)
            for r in sorted(self.rounds, key=lambda r: (r.worker.id, r.weekday))
            for stop in r.stops
            for day in r.dates
            if self.city.members[stop.member_id].serviceable(day)
        ]
        assert len(planned) == self.total
        # A few regular visits do not happen (the client cancelled that week): the surplus.
        dropped = set(self.rng.sample(range(len(planned)), len(planned) - visits))
        return [p for i, p in enumerate(planned) if i not in dropped]

    def _fill(self, r: _Round) -> None:
        while len(r.stops) < r.target and not r.full:
            if self._place(r):
                continue
            # Nothing more fits in this block: the next starts where this one ended.
            r.block += 1
            if r.block >= len(r.blocks):
                r.full = True
                return
            r.cursor = r.blocks[r.block][0]

    def _place(self, r: _Round) -> bool:
        """Add one client to the round at the end of the current block, if one fits."""
        block_end = r.blocks[r.block][1]
        worker = r.worker
        if not r.lunch and r.cursor >= LUNCH_AFTER:
            r.cursor += LUNCH_MIN
            r.lunch = True
        for _ in range(3):
            candidates = self._candidates(r)
            if not candidates:
                # Everyone near enough already has this provider's visits: look farther out.
                pool = self.pools[worker.id]
                if self._grow(worker.id, len(pool) + POOL_STEP):
                    candidates = self._candidates(r)
            for member in candidates:
                home = self.city.households[member.household_id].location
                travel = math.ceil(travel_seconds(r.location, home, worker.mode) / 60)
                start = r.cursor + travel + self.rng.randint(*BUFFER_MIN)
                start = -(-start // 5) * 5
                choice = self._service(r, member, block_end - start)
                if choice is None:
                    continue
                item, minutes = choice
                end = start + minutes
                taken = self.busy[(member.id, r.weekday)]
                if len(taken) >= MAX_VISITS_PER_MEMBER_DAY or any(
                    start < b + MEMBER_GAP_MIN and a < end + MEMBER_GAP_MIN for a, b in taken
                ):
                    continue
                taken.append((start, end))
                provider_id = worker.provider_id
                self.with_provider.add((provider_id, member.id, r.weekday))
                self.weekly[(provider_id, member.id)] += 1
                if member.id not in self.recipient_set[provider_id]:
                    self.recipient_set[provider_id].add(member.id)
                    self.recipients[provider_id].append(member.id)
                count = sum(1 for d in r.dates if member.serviceable(d))
                r.stops.append(_Stop(member.id, item, start, minutes, count))
                self.total += count
                r.cursor, r.location = end, home
                return True
        return False

    def _candidates(self, r: _Round) -> list[_Member]:
        """Clients for the round's next stop, nearest to where the worker is first: existing
        recipients of the provider (by the provider's reuse share) or new ones."""
        worker = r.worker
        provider_id = worker.provider_id
        pool_set = self.pool_sets[worker.id]
        known = self.recipients[provider_id]

        def free(m: int) -> bool:
            return (provider_id, m, r.weekday) not in self.with_provider and self.weekly[
                (provider_id, m)
            ] < MAX_WEEKLY

        candidates: list[int] = []
        if known and self.rng.random() < self.reuse[provider_id]:
            sample = self.rng.sample(known, min(12, len(known)))
            candidates = [m for m in sample if m in pool_set and free(m)]
        if not candidates:
            drawn = self.rng.choices(
                self.pools[worker.id], cum_weights=self.cumulative[worker.id], k=16
            )
            fresh = [m for m in drawn if m not in self.recipient_set[provider_id] and free(m)]
            candidates = fresh or [m for m in drawn if free(m)]
        members = self.city.members
        households = self.city.households
        return [
            members[m]
            for m in sorted(
                dict.fromkeys(candidates),
                key=lambda m: _planar(r.location, households[members[m].household_id].location),
            )
        ]

    def _service(self, r: _Round, member: _Member, room: int) -> tuple[_Item, int] | None:
        """An item the member suits and a duration that fits in ``room`` minutes."""
        options = [
            (item, minutes, ITEM_WEIGHTS[item.code] * weight)
            for item in r.items
            if _suits(item, member, self.first)
            for minutes, weight in DURATIONS.get(item.code, ((item.minutes, 1.0),))
            if minutes <= room
        ]
        if not options:
            return None
        item, minutes, _ = self.rng.choices(options, weights=[w for *_, w in options])[0]
        return item, minutes


# --- pricing -------------------------------------------------------------------------------


class _Pricer:
    """Quotes orders as ``quoting.quote`` does, with the month's caps, budgets and insurance
    limits kept in memory (initially as the ledger has them)."""

    def __init__(self, session: Session, city: _City, months: Iterable[str]) -> None:
        self.session = session
        self.city = city
        self.holidays: HolidayCalendar = default_calendar()
        wanted = sorted(set(months))
        self.member_used: dict[tuple[int, str], int] = {
            (m, month): committed
            for m, month, committed in session.execute(
                sa.select(
                    col(MemberBalance.member_id),
                    col(MemberBalance.month),
                    col(MemberBalance.committed_fen),
                ).where(col(MemberBalance.month).in_(wanted))
            )
        }
        self.district_used: dict[tuple[str, str], int] = {
            (code, month): committed
            for code, month, committed in session.execute(
                sa.select(
                    col(DistrictBalance.district_code),
                    col(DistrictBalance.month),
                    col(DistrictBalance.committed_fen),
                ).where(col(DistrictBalance.month).in_(wanted))
            )
        }
        self.ltc_used: dict[tuple[int, str], int] = defaultdict(int)
        for m, month, kind, total in session.execute(
            sa.select(
                col(LedgerEntry.member_id),
                col(LedgerEntry.month),
                col(LedgerEntry.kind),
                func.sum(col(LedgerEntry.amount_fen)),
            )
            .where(
                col(LedgerEntry.month).in_(wanted),
                col(LedgerEntry.payer) == Payer.LTC_INSURANCE.value,
            )
            .group_by(col(LedgerEntry.member_id), col(LedgerEntry.month), col(LedgerEntry.kind))
        ):
            # As ledger.member_ltc_committed: reserved, less released and reversed.
            if kind == EntryKind.RESERVE.value:
                self.ltc_used[(m, month)] += int(total)
            elif kind != EntryKind.CONSUME.value:
                self.ltc_used[(m, month)] -= int(total)
        self.tariffs: dict[tuple[int, int], Tariff] = {}
        self.policies: dict[date, PolicyDocument] = {}
        self.distances: dict[tuple[int, int], int] = {}

    def quote(
        self,
        member_id: int,
        provider_id: int,
        item: _Item,
        start: datetime,
        minutes: int,
        ordered_at: datetime,
    ) -> quoting.Quote:
        """The quote for one order, counted against the member's cap and the budgets."""
        member = self.city.members[member_id]
        household = self.city.households[member.household_id]
        day = local_date(start)
        month = f"{day.year:04d}-{day.month:02d}"
        district = household.district
        groups = member.groups_on(day)
        ordered_on = local_date(ordered_at)
        policy = self.policies.get(ordered_on)
        if policy is None:
            policy = self.policies[ordered_on] = pricing_service.policy_on(self.session, ordered_on)
        tariff = self.tariffs.get((provider_id, item.id))
        if tariff is None:
            tariff = self.tariffs[(provider_id, item.id)] = pricing_service.tariff_for(
                self.session,
                provider_id=provider_id,
                item_id=item.id,
                unit=item.unit,
                reference_price_fen=item.reference_price_fen,
                guide_price_fen=item.guide_price_fen,
            )
        distance = self.distances.get((provider_id, household.id))
        if distance is None:
            base = self.city.providers[provider_id].base
            distance = 0 if base is None else round(haversine_m_fast(base, household.location))
            self.distances[(provider_id, household.id)] = distance
        subsidised = any(policy.rule(g, item.cls).kind is not RuleKind.NONE for g in groups)
        price = price_order(
            tariff,
            start=start,
            minutes=minutes,
            ordered_at=ordered_at,
            distance_m=distance,
            subsidised=subsidised,
            holidays=self.holidays,
        )
        benefit = member.ltc_on(day)
        ltc: quoting.LtcCover | None = None
        if benefit is not None and item.cls.value in benefit.service_classes:
            ltc = quoting.LtcCover(
                scheme=benefit.scheme,
                share_percent=benefit.share_percent,
                monthly_limit_fen=benefit.monthly_limit_fen,
                used_fen=self.ltc_used[(member_id, month)],
                covered_fen=price.total_fen * benefit.share_percent // 100,
            )
        cap_used = self.member_used.get((member_id, month), 0)
        budget = policy.district_budget_fen(district)
        remaining: int | None = None
        if budget is not None:
            remaining = max(budget - self.district_used.get((district, month), 0), 0)
        decision = decide(
            policy,
            SubsidyRequest(
                groups=frozenset(groups),
                service_class=item.cls,
                price_fen=price.total_fen,
                subsidisable_fen=price.subsidisable_fen,
                billed_minutes=price.billed_minutes,
                quantity=1,
                unit=item.unit,
                cap_used_fen=cap_used,
                district_remaining_fen=remaining,
                district=district,
                ltc_fen=0 if ltc is None else ltc.amount_fen,
            ),
        )
        self.member_used[(member_id, month)] = cap_used + decision.subsidy_fen
        self.district_used[(district, month)] = (
            self.district_used.get((district, month), 0) + decision.subsidy_fen
        )
        self.ltc_used[(member_id, month)] += decision.ltc_fen
        return quoting.Quote(
            price=price,
            decision=decision,
            unit=item.unit,
            groups=groups,
            district=district,
            month=month,
            service_date=day,
            quoted_at=ordered_at,
            distance_m=distance,
            cap_used_fen=cap_used,
            balance_after_fen=decision.cap_remaining_fen - decision.subsidy_fen,
            district_budget_fen=budget,
            district_remaining_fen=remaining,
            ltc=ltc,
        )


# --- one visit, from order to ledger ---------------------------------------------------------


@dataclass(slots=True)
class _End:
    at: datetime
    method: CheckMethod
    lat: float | None = None
    lon: float | None = None
    accuracy: float | None = None


@dataclass(slots=True)
class _Edit:
    field: str
    old: str | None
    new: str | None
    reason: EditReason
    editor: str
    at: datetime


@dataclass(slots=True)
class _Visit:
    seq: int
    member: _Member
    household: _Household
    worker: _Worker
    provider: _Provider
    item: _Item
    day: date
    start: datetime
    end: datetime
    minutes: int
    check_in: _End | None = None
    check_out: _End | None = None
    edits: list[_Edit] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    created_at: datetime = _NEVER
    confirmed_at: datetime = _NEVER
    scheduled_at: datetime = _NEVER
    ordered_by: str = ""
    quote: quoting.Quote | None = None
    confirmation: tuple[ConfirmationMethod, datetime, str] | None = None
    order_ref: str = ""
    visit_ref: str = ""
    window: tuple[datetime, datetime] | None = None


def _near_home(rng: random.Random, home: Location) -> tuple[float, float]:
    """A GPS fix a few dozen metres at most from the home."""
    north = max(-GPS_LIMIT_M, min(GPS_LIMIT_M, rng.gauss(0, GPS_SIGMA_M)))
    east = max(-GPS_LIMIT_M, min(GPS_LIMIT_M, rng.gauss(0, GPS_SIGMA_M)))
    return fuzhou.offset(home[0], home[1], north, east)


def _end(rng: random.Random, at: datetime, method: CheckMethod, home: Location) -> _End:
    """One end of a visit; GPS (and a QR scan, mostly) comes with the phone's location."""
    if method is CheckMethod.GPS or (method is CheckMethod.QR and rng.random() < QR_WITH_LOCATION):
        lat, lon = _near_home(rng, home)
        return _End(at, method, lat, lon, round(rng.uniform(4, 25), 1))
    return _End(at, method)


def _simulate(visits: list[_Visit], rng: random.Random) -> None:
    """Check-in and check-out of one worker's day: near the schedule, never before the worker
    can have travelled from the previous home."""
    previous: tuple[datetime, Location] | None = None
    for v in visits:
        home = v.household.location
        arrive = v.start + timedelta(minutes=rng.randint(-4, 6), seconds=rng.randint(0, 59))
        if previous is not None:
            travel = travel_seconds(previous[1], home, v.worker.mode)
            arrive = max(arrive, previous[0] + timedelta(seconds=travel + rng.randint(60, 240)))
        stay = timedelta(seconds=round(v.minutes * 60 * rng.uniform(0.93, 1.07)))
        method = _weighted(rng, METHOD_SHARES)
        v.check_in = _end(rng, arrive, method, home)
        out_method = method if rng.random() < 0.9 else CheckMethod.GPS
        v.check_out = _end(rng, arrive + stay, out_method, home)
        previous = (arrive + stay, home)


def _staff(ctx: DemoContext, provider: _Provider, count: int) -> list[str]:
    """``count`` distinct staff members of the provider, as visit editors name them."""
    names: list[str] = []
    while len(names) < count:
        person = ctx.person_name("female" if ctx.rng.random() < 0.7 else "male")
        name = f"staff:{provider.public_id}:{person}"
        if name not in names:
            names.append(name)
    return names


def _manual(visits: list[_Visit], ctx: DemoContext, *, manual: bool) -> None:
    """Per provider, a few manual checks entered by staff (with their edit) and a few task
    corrections, spread evenly over the provider's staff, always within days."""
    rng = ctx.rng
    by_provider: dict[int, list[_Visit]] = defaultdict(list)
    for v in visits:
        by_provider[v.provider.id].append(v)
    for provider_id in sorted(by_provider):
        own = by_provider[provider_id]
        share = rng.uniform(*MANUAL_SHARE) if manual else 0.0
        chosen = rng.sample(own, round(share * len(own)))
        corrected = rng.sample(own, round(CORRECTION_SHARE * len(own))) if manual else []
        edits = len(chosen) + len(corrected)
        if not edits:
            continue
        staff = _staff(ctx, own[0].provider, max(MIN_STAFF, math.ceil(edits / EDITS_PER_STAFF)))
        turn = rng.randrange(len(staff))
        for v in chosen:
            assert v.check_in is not None
            assert v.check_out is not None
            roll = rng.random()
            ends = ["in"] if roll < 0.7 else ["out"] if roll < 0.9 else ["in", "out"]
            for which in ends:
                editor = staff[turn % len(staff)]
                turn += 1
                end = v.check_in if which == "in" else v.check_out
                reasons = _MANUAL_IN_REASONS if which == "in" else _MANUAL_OUT_REASONS
                entered = end.at + timedelta(minutes=rng.randint(20, 36 * 60))
                replaced = _End(end.at, CheckMethod.MANUAL)
                if which == "in":
                    v.check_in = replaced
                else:
                    v.check_out = replaced
                v.edits.append(
                    _Edit(
                        f"check_{which}_at",
                        None,
                        end.at.isoformat(),
                        rng.choice(reasons),
                        editor,
                        entered,
                    )
                )
        for v in corrected:
            assert v.check_out is not None
            editor = staff[turn % len(staff)]
            turn += 1
            extra = rng.choice([t for t in TASKS[v.item.code] if t not in v.tasks] or ["其他"])
            old = ",".join(v.tasks)
            v.tasks = [*v.tasks, extra]
            v.edits.append(
                _Edit(
                    "tasks_done",
                    old,
                    ",".join(v.tasks),
                    EditReason.TASKS_CORRECTION,
                    editor,
                    v.check_out.at + timedelta(minutes=rng.randint(60, 3 * 24 * 60)),
                )
            )


def _timeline(v: _Visit, rng: random.Random) -> None:
    """When the order was placed, confirmed and scheduled, and by whom it was placed."""
    lead = rng.randint(*ORDER_LEAD_DAYS)
    placed_on = v.day - timedelta(days=lead)
    v.created_at = local_datetime(placed_on, time(8, 0)).astimezone(UTC) + timedelta(
        minutes=rng.randint(0, 12 * 60), seconds=rng.randint(0, 59)
    )
    v.confirmed_at = v.created_at + timedelta(minutes=rng.randint(5, 180))
    evening = local_datetime(v.day - timedelta(days=1), time(16, 0)).astimezone(UTC)
    v.scheduled_at = max(
        evening + timedelta(minutes=rng.randint(0, 240)), v.confirmed_at + timedelta(minutes=5)
    )
    if v.member.groups_on(v.day) and rng.random() < 0.3:
        v.ordered_by = f"community:{v.household.community}"
    else:
        v.ordered_by = f"household:{v.household.public_id}"


def _confirm(v: _Visit, rng: random.Random) -> None:
    """The tasks done and, for most visits, the household's confirmation."""
    assert v.check_out is not None
    v.tasks = sorted(
        rng.sample(TASKS[v.item.code], min(len(TASKS[v.item.code]), rng.randint(2, 3)))
    )
    if rng.random() >= CONFIRMED_SHARE:
        return
    method = _weighted(rng, _CONFIRMATIONS)
    delay = rng.randint(30, 300) if method is ConfirmationMethod.PHONE else rng.randint(1, 20)
    code = f"{rng.randrange(1_000_000):06d}"
    v.confirmation = (method, v.check_out.at + timedelta(minutes=delay), code)


# --- writing -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Written:
    visits: int = 0
    transitions: int = 0
    edits: int = 0
    drafts: list[tuple[EntryDraft, datetime, int]] = field(default_factory=list)


def _window(v: _Visit, rng: random.Random) -> tuple[datetime, datetime]:
    """The order's time window: on the half hour, holding the scheduled start."""
    local = to_local(v.start)
    opens = local.hour * 60 + local.minute - rng.choice([0, 30, 60])
    opens -= opens % 30
    starts = local_datetime(v.day, time(opens // 60, opens % 60)).astimezone(UTC)
    return starts, starts + timedelta(minutes=rng.choice([90, 120, 150]))


def _write_chunk(session: Session, chunk: list[_Visit], rng: random.Random, out: _Written) -> None:
    """Insert a chunk of visits with their orders, windows, transitions, bookings and edits;
    collect their ledger drafts."""
    orders: list[dict[str, Any]] = []
    for v in chunk:
        q = v.quote
        assert q is not None
        assert v.check_out is not None
        opens, _ = v.window = _window(v, rng)
        orders.append(
            {
                "public_id": v.order_ref,
                "household_id": v.household.id,
                "recipient_member_id": v.member.id,
                "provider_id": v.provider.id,
                "item_id": v.item.id,
                "series_id": None,
                "ordered_by": v.ordered_by,
                "service_date": v.day,
                "duration_minutes": v.minutes,
                "quantity": 1,
                "status": OrderStatus.COMPLETED.value,
                "priority": "normal",
                "notes": "",
                "currency": "CNY",
                "list_price_fen": q.list_price_fen,
                "subsidy_fen": q.subsidy_fen,
                "copay_fen": q.copay_fen,
                "ltc_fen": q.ltc_fen,
                "price_breakdown": q.to_dict(),
                "policy_version": q.policy_version,
                "quoted_at": v.created_at,
                "free_cancel_until": opens - timedelta(hours=2),
                "cancellation_fee_fen": 0,
                "cancel_reason": "",
                "assigned_worker_id": v.worker.id,
                "scheduled_start": v.start,
                "scheduled_end": v.end,
                "created_at": v.created_at,
                "updated_at": v.check_out.at,
            }
        )
    order_ids = list(
        session.scalars(
            insert(Order).returning(col(Order.id), sort_by_parameter_order=True), orders
        )
    )
    windows: list[dict[str, Any]] = []
    transitions: list[dict[str, Any]] = []
    bookings: list[dict[str, Any]] = []
    visits: list[dict[str, Any]] = []
    for v, order_id in zip(chunk, order_ids, strict=True):
        assert v.check_in is not None
        assert v.check_out is not None
        assert v.window is not None
        opens, closes = v.window
        windows.append({"order_id": order_id, "starts_at": opens, "ends_at": closes})
        provider_actor = f"provider:{v.provider.public_id}"
        worker_actor = f"worker:{v.worker.public_id}"
        manual_editors = {e.field: e for e in v.edits if e.field in ("check_in_at", "check_out_at")}
        in_edit, out_edit = manual_editors.get("check_in_at"), manual_editors.get("check_out_at")
        steps = (
            (OrderEvent.CREATE, None, OrderStatus.REQUESTED, v.ordered_by, v.created_at),
            (
                OrderEvent.CONFIRM,
                OrderStatus.REQUESTED,
                OrderStatus.CONFIRMED,
                provider_actor,
                v.confirmed_at,
            ),
            (
                OrderEvent.SCHEDULE,
                OrderStatus.CONFIRMED,
                OrderStatus.SCHEDULED,
                provider_actor,
                v.scheduled_at,
            ),
            (
                OrderEvent.CHECK_IN,
                OrderStatus.SCHEDULED,
                OrderStatus.IN_SERVICE,
                in_edit.editor if in_edit else worker_actor,
                v.check_in.at,
            ),
            (
                OrderEvent.COMPLETE,
                OrderStatus.IN_SERVICE,
                OrderStatus.COMPLETED,
                out_edit.editor if out_edit else worker_actor,
                v.check_out.at,
            ),
        )
        for event, before, after, actor, at in steps:
            transitions.append(
                {
                    "order_id": order_id,
                    "event": event.value,
                    "from_status": None if before is None else before.value,
                    "to_status": after.value,
                    "actor": actor,
                    "reason": "",
                    "at": at,
                }
            )
        bookings.append(
            {
                "order_id": order_id,
                "worker_id": v.worker.id,
                "starts_at": v.start,
                "ends_at": v.end,
                "active": True,
                "created_at": v.scheduled_at,
                "released_at": None,
            }
        )
        confirmation = v.confirmation
        visits.append(
            {
                "public_id": v.visit_ref,
                "order_id": order_id,
                "item_id": v.item.id,
                "recipient_member_id": v.member.id,
                "household_id": v.household.id,
                "worker_id": v.worker.id,
                "service_date": v.day,
                "location_lat": v.household.location[0],
                "location_lon": v.household.location[1],
                "scheduled_start": v.start,
                "scheduled_end": v.end,
                "check_in_at": v.check_in.at,
                "check_in_method": v.check_in.method.value,
                "check_in_lat": v.check_in.lat,
                "check_in_lon": v.check_in.lon,
                "check_in_accuracy_m": v.check_in.accuracy,
                "check_out_at": v.check_out.at,
                "check_out_method": v.check_out.method.value,
                "check_out_lat": v.check_out.lat,
                "check_out_lon": v.check_out.lon,
                "check_out_accuracy_m": v.check_out.accuracy,
                "tasks_done": v.tasks,
                "confirmation_code_hash": hashlib.sha256(confirmation[2].encode()).hexdigest()
                if confirmation
                else None,
                "household_confirmed_at": confirmation[1] if confirmation else None,
                "confirmation_method": confirmation[0].value if confirmation else None,
                "created_at": in_edit.at if in_edit else v.check_in.at,
            }
        )
        _ledger_drafts(v, provider_actor, out_edit.editor if out_edit else worker_actor, out)
    session.execute(insert(OrderTimeWindow), windows)
    session.execute(insert(OrderTransition), transitions)
    session.execute(insert(WorkerBooking), bookings)
    visit_ids = list(
        session.scalars(
            insert(Visit).returning(col(Visit.id), sort_by_parameter_order=True), visits
        )
    )
    edits = [
        {
            "visit_id": visit_id,
            "field": e.field,
            "old_value": e.old,
            "new_value": e.new,
            "reason_code": e.reason.value,
            "note": "",
            "editor": e.editor,
            "at": e.at,
        }
        for v, visit_id in zip(chunk, visit_ids, strict=True)
        for e in v.edits
    ]
    if edits:
        session.execute(insert(VisitEdit), edits)
    out.visits += len(chunk)
    out.transitions += len(transitions)
    out.edits += len(edits)


def _ledger_drafts(v: _Visit, confirmer: str, completer: str, out: _Written) -> None:
    """The entries confirming (reserve) and completing (consume) the order write, as
    ``accounting.reserve`` and ``accounting.consume`` would."""
    q = v.quote
    assert q is not None
    assert v.check_out is not None
    amounts = {
        Payer.LTC_INSURANCE: q.ltc_fen,
        Payer.SUBSIDY: q.subsidy_fen,
        Payer.HOUSEHOLD: q.copay_fen,
    }
    reasons = {
        Payer.LTC_INSURANCE: "long-term-care insurance",
        Payer.SUBSIDY: q.decision.reason,
        Payer.HOUSEHOLD: "co-pay",
    }
    for kind, actor, at, reason in (
        (EntryKind.RESERVE, confirmer, v.confirmed_at, None),
        (EntryKind.CONSUME, completer, v.check_out.at, "service completed"),
    ):
        for payer in accounting.PAYERS:
            if amounts[payer] <= 0:
                continue
            draft = EntryDraft(
                idempotency_key=f"{v.order_ref}:{kind.value}:{payer.value}",
                kind=kind,
                payer=payer,
                order_ref=v.order_ref,
                member_id=v.member.id,
                provider_id=v.provider.id,
                district_code=q.district,
                month=q.month,
                amount_fen=amounts[payer],
                actor=actor,
                policy_version=q.policy_version,
                reason=reason or reasons[payer],
            )
            out.drafts.append((draft, at, v.seq))


def _write(
    session: Session,
    city: _City,
    appointments: Sequence[Appointment],
    *,
    seed: int,
    manual: bool,
) -> tuple[list[_Visit], _Written]:
    """Turn appointments into complete visits and write them (orders, bookings, visits,
    edits, ledger)."""
    rng = random.Random(f"history:{seed}:visits")
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    visits: list[_Visit] = []
    for seq, a in enumerate(appointments):
        member = city.members.get(a.member_id)
        worker = city.workers.get(a.worker_id)
        item = city.items.get(a.item_id)
        if member is None or worker is None or item is None:
            raise NotFound(f"appointment {seq}: unknown member, worker or item")
        start = a.start.astimezone(UTC)
        visits.append(
            _Visit(
                seq=seq,
                member=member,
                household=city.households[member.household_id],
                worker=worker,
                provider=city.providers[worker.provider_id],
                item=item,
                day=local_date(start),
                start=start,
                end=start + timedelta(minutes=a.minutes),
                minutes=a.minutes,
            )
        )
    if not visits:
        return [], _Written()
    # The context lends the demo's seeded names and public ids; its clock is not used.
    ctx = DemoContext(session=session, rng=rng, fake=fake, start=min(v.day for v in visits))
    by_day: dict[tuple[int, date], list[_Visit]] = defaultdict(list)
    for v in visits:
        by_day[(v.worker.id, v.day)].append(v)
    for key in sorted(by_day):
        _simulate(sorted(by_day[key], key=lambda v: v.start), rng)
    for v in visits:
        _confirm(v, rng)
        _timeline(v, rng)
        v.order_ref = ctx.public_id("ord")
        v.visit_ref = ctx.public_id("vis")
    _manual(visits, ctx, manual=manual)
    pricer = _Pricer(session, city, {f"{v.day:%Y-%m}" for v in visits})
    for v in sorted(visits, key=lambda v: (v.created_at, v.seq)):
        v.quote = pricer.quote(v.member.id, v.provider.id, v.item, v.start, v.minutes, v.created_at)
    out = _Written()
    ordered = sorted(visits, key=lambda v: (v.day, v.worker.id, v.start))
    for first in range(0, len(ordered), _CHUNK):
        _write_chunk(session, ordered[first : first + _CHUNK], rng, out)
    out.drafts.sort(key=lambda d: (d[1], d[2]))
    ledger.append_bulk(session, ((draft, at) for draft, at, _ in out.drafts))
    session.flush()
    return visits, out


def _manual_check(v: _Visit) -> bool:
    return any(
        end is not None and end.method is CheckMethod.MANUAL for end in (v.check_in, v.check_out)
    )


def _summary(month: str, seed: int, visits: list[_Visit], out: _Written) -> HistorySummary:
    quotes = [v.quote for v in visits if v.quote is not None]
    return HistorySummary(
        month=month,
        seed=seed,
        visits=len(visits),
        providers=len({v.provider.id for v in visits}),
        workers=len({v.worker.id for v in visits}),
        recipients=len({v.member.id for v in visits}),
        subsidised=sum(1 for q in quotes if q.subsidy_fen > 0),
        list_price_fen=sum(q.list_price_fen for q in quotes),
        subsidy_fen=sum(q.subsidy_fen for q in quotes),
        ltc_fen=sum(q.ltc_fen for q in quotes),
        copay_fen=sum(q.copay_fen for q in quotes),
        manual_visits=sum(1 for v in visits if _manual_check(v)),
        edits=out.edits,
        transitions=out.transitions,
        ledger_entries=len(out.drafts),
        by_item=dict(sorted(Counter(v.item.code for v in visits).items())),
        by_check_in=dict(
            sorted(Counter(v.check_in.method.value for v in visits if v.check_in).items())
        ),
        visit_refs=tuple(v.visit_ref for v in visits),
    )


# --- entry points ----------------------------------------------------------------------------


def generate_month(session: Session, *, month: str, visits: int, seed: int) -> HistorySummary:
    """Write ``visits`` completed, verified home visits in ``month`` into a seeded demo city.

    Flushes; the caller commits. Refuses (Conflict) a month that already has visits and
    (Validation) more visits than the city's workforce can make in the month.
    """
    first, last = month_days(month)
    if visits < 1:
        raise Validation("a month of history needs at least one visit")
    existing = session.execute(
        sa.select(func.count(col(Visit.id))).where(
            col(Visit.service_date) >= first, col(Visit.service_date) <= last
        )
    ).scalar_one()
    if existing:
        raise Conflict(f"{month} already has {existing} visits")
    city = _load_city(session)
    planner = _Planner(city, first, last, random.Random(f"history:{seed}:plan"))
    planner.prepare()
    appointments = [
        Appointment(
            member_id=stop.member_id,
            worker_id=r.worker.id,
            item_id=stop.item.id,
            start=local_datetime(day, time(stop.start // 60, stop.start % 60)),
            minutes=stop.minutes,
        )
        for r, stop, day in planner.plan(visits)
    ]
    written, out = _write(session, city, appointments, seed=seed, manual=True)
    return _summary(month, seed, written, out)


def add_visits(
    session: Session, appointments: Sequence[Appointment], *, seed: int, month: str | None = None
) -> HistorySummary:
    """Write these appointments as completed visits, exactly as ``generate_month`` writes its
    own (priced against the caps as they stand, all checks by GPS, QR or phone).

    Give all appointments of one worker on one day in one call: check times are simulated per
    worker-day (and the caller keeps them from overlapping the worker's other visits).
    """
    city = _load_city(session)
    written, out = _write(session, city, appointments, seed=seed, manual=False)
    label = month or (f"{written[0].day:%Y-%m}" if written else "")
    return _summary(label, seed, written, out)


__all__ = [
    "Appointment",
    "HistorySummary",
    "add_visits",
    "generate_month",
    "month_days",
    "travel_seconds",
]
