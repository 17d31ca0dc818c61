"""Demo providers (cleaning firms, care centres, community kitchens, repair shops, home-service
companies) and their workers, created through the providers service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Final, TypeVar

from core.geo import Point, haversine_m
from marketplace.catalog import reference
from marketplace.demo import fuzhou
from marketplace.demo.context import DemoContext
from marketplace.demo.fuzhou import CommunityPlace, DistrictSpec
from marketplace.providers import service as providers_service
from marketplace.providers.models import (
    Gender,
    Provider,
    ProviderKind,
    ServicePoint,
    ServicePointKind,
    ShiftExceptionKind,
    TravelMode,
    Worker,
)
from marketplace.providers.schemas import (
    CertificateIn,
    ProviderCreate,
    ServicePointCreate,
    ShiftExceptionCreate,
    ShiftIn,
    SkillIn,
    WorkerCreate,
)

K = ProviderKind
T = TypeVar("T")
GL, TJ, CS, MW, JA, CL = "350102", "350103", "350104", "350105", "350111", "350112"
ALL = (GL, TJ, CS, MW, JA, CL)


@dataclass(frozen=True, slots=True)
class ProviderPlan:
    """One demo provider: kind, home district, districts served and workforce size."""

    kind: ProviderKind
    home: str
    serves: tuple[str, ...]
    workers: int


def _plans(
    kind: ProviderKind, workers: int, *rows: tuple[str, tuple[str, ...]]
) -> list[ProviderPlan]:
    return [ProviderPlan(kind, home, serves, workers) for home, serves in rows]


# 40 providers, 400 workers; every district has several providers of each kind.
PROVIDER_PLANS: Final[list[ProviderPlan]] = [
    *_plans(
        K.COMMUNITY_KITCHEN,
        6,
        (GL, (GL,)),
        (GL, (GL,)),
        (TJ, (TJ,)),
        (TJ, (TJ,)),
        (CS, (CS,)),
        (CS, (CS,)),
        (JA, (JA,)),
        (JA, (JA,)),
        (MW, (MW,)),
        (CL, (CL,)),
    ),
    *_plans(
        K.CARE_CENTRE,
        16,
        (GL, (GL, TJ)),
        (GL, (GL,)),
        (TJ, (TJ, GL)),
        (CS, (CS,)),
        (CS, (CS, TJ)),
        (JA, (JA, GL)),
        (MW, (MW, CL)),
        (CL, (CL, MW)),
    ),
    *_plans(
        K.CLEANING_FIRM,
        12,
        (GL, (GL, TJ, JA)),
        (TJ, (TJ, CS, GL)),
        (CS, (CS, TJ)),
        (JA, (JA, GL, MW)),
        (GL, ALL),
        (MW, (MW, CL, JA)),
        (CL, (CL, MW)),
        (CS, (CS, GL, JA)),
    ),
    *_plans(
        K.REPAIR_SHOP,
        6,
        (GL, (GL, TJ)),
        (TJ, (TJ, CS)),
        (CS, (CS, TJ)),
        (JA, (JA, GL)),
        (MW, (MW, CL)),
        (CL, (CL, MW)),
    ),
    *_plans(
        K.HOME_SERVICE,
        10,
        (GL, (GL, JA)),
        (TJ, (TJ, GL)),
        (CS, (CS,)),
        (JA, (JA, GL, TJ)),
        (MW, (MW,)),
        (CL, (CL,)),
        (GL, (GL, TJ, CS, JA)),
        (CS, (CS, CL, MW)),
    ),
]

# The roles that make up each kind of provider's workforce (repeated to the plan's size).
ROLES: Final[dict[ProviderKind, list[str]]] = {
    K.COMMUNITY_KITCHEN: ["courier"],
    K.CARE_CENTRE: ["nurse", "nurse", "therapist", "volunteer", *["carer"] * 12],
    K.CLEANING_FIRM: ["cook", "cook", *["cleaner"] * 10],
    K.REPAIR_SHOP: ["repairer"],
    K.HOME_SERVICE: ["cook", "escort", "escort", *["cleaner"] * 3, *["carer"] * 4],
}

BRANDS: Final[tuple[str, ...]] = (
    "家安",
    "好帮手",
    "榕城",
    "闽都",
    "惠民",
    "康乐",
    "乐龄",
    "福寿",
    "安康",
    "鑫源",
    "海峡",
    "邻家",
    "温馨",
    "康馨",
    "安居",
    "颐和",
    "福乐",
    "三坊",
    "左海",
    "榕树",
    "闽江",
    "鼓岭",
    "佳洁",
    "快修",
    "诚信",
    "万家",
    "金牌",
    "阿姨来了",
)

_GENDER_FEMALE_SHARE: Final[dict[str, float]] = {
    "carer": 0.88,
    "nurse": 0.92,
    "therapist": 0.55,
    "cleaner": 0.85,
    "cook": 0.7,
    "escort": 0.6,
    "courier": 0.35,
    "repairer": 0.03,
    "volunteer": 0.65,
}

_TRAVEL: Final[dict[str, tuple[tuple[TravelMode, float], ...]]] = {
    "carer": ((TravelMode.EBIKE, 0.65), (TravelMode.WALK, 0.3), (TravelMode.CAR, 0.05)),
    "nurse": ((TravelMode.EBIKE, 0.6), (TravelMode.CAR, 0.4)),
    "therapist": ((TravelMode.CAR, 0.5), (TravelMode.EBIKE, 0.5)),
    "cleaner": ((TravelMode.EBIKE, 0.8), (TravelMode.WALK, 0.2)),
    "cook": ((TravelMode.EBIKE, 0.7), (TravelMode.WALK, 0.3)),
    "escort": ((TravelMode.EBIKE, 0.7), (TravelMode.CAR, 0.3)),
    "courier": ((TravelMode.EBIKE, 1.0),),
    "repairer": ((TravelMode.EBIKE, 0.55), (TravelMode.CAR, 0.45)),
    "volunteer": ((TravelMode.WALK, 0.7), (TravelMode.EBIKE, 0.3)),
}

# Certificate kinds: number prefix and how long one stays valid (None: no expiry).
_CERT_RULES: Final[dict[str, tuple[str, int | None]]] = {
    "elderly_carer": ("YL", None),
    "domestic_worker": ("JZ", 3 * 365),
    "nurse_licence": ("HS", 5 * 365),
    "health_certificate": ("JK", 365),
    "electrician": ("T", 6 * 365),
    "rehab_therapist": ("KF", None),
    "disability_carer": ("CJ", 3 * 365),
}

_LEAVE_REASONS: Final = ("事假", "病假", "年休假", "家中有事", "参加街道培训")
_FULL_DAY = (time(8, 0), time(17, 0), 240, 60)
_FULL_DAY_LATE = (time(8, 30), time(17, 30), 210, 60)


@dataclass
class DemoWorker:
    """A created worker with what the later steps need to know."""

    worker: Worker
    role: str
    skills: dict[str, int]
    # Certificate kinds valid on every day of the demo week.
    certificates: set[str]

    @property
    def id(self) -> int:
        """The worker's id."""
        assert self.worker.id is not None
        return self.worker.id

    def qualified_for(self, skills: tuple[str, ...], certificates: tuple[str, ...]) -> bool:
        """Whether the worker has these skills and holds these certificates all week."""
        return set(skills) <= self.skills.keys() and set(certificates) <= self.certificates


@dataclass
class DemoProvider:
    """A created provider with its service points, workers and the items it can deliver."""

    provider: Provider
    kind: ProviderKind
    home: DistrictSpec
    district_codes: tuple[str, ...]
    points: list[ServicePoint] = field(default_factory=list)
    workers: list[DemoWorker] = field(default_factory=list)
    offers: list[str] = field(default_factory=list)

    @property
    def id(self) -> int:
        """The provider's id."""
        assert self.provider.id is not None
        return self.provider.id

    @property
    def kitchen(self) -> ServicePoint | None:
        """The provider's kitchen, if it has one."""
        return next((p for p in self.points if p.kind == ServicePointKind.KITCHEN), None)


# --- identifiers -------------------------------------------------------------------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_code_check(body: str) -> str:
    """The GB 11714 check character of an 8-character organisation code."""
    value = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - value % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def credit_code_check(first17: str) -> str:
    """The GB 32100 check character of a unified social credit code (统一社会信用代码)."""
    value = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - value % 31) % 31]


def credit_code(ctx: DemoContext, kind: ProviderKind, district_code: str) -> str:
    """A well-formed 18-character unified social credit code for a demo provider."""
    registrar = {
        K.CARE_CENTRE: "52",  # 民办非企业单位 registered with civil affairs
        K.COMMUNITY_KITCHEN: "52",
        K.REPAIR_SHOP: "92",  # 个体工商户
    }.get(kind, "91")  # 企业
    body = "".join(ctx.rng.choice("0123456789") for _ in range(8))
    first17 = registrar + district_code + body + organisation_code_check(body)
    return first17 + credit_code_check(first17)


# --- providers ---------------------------------------------------------------------------


def _weighted(ctx: DemoContext, options: tuple[tuple[T, float], ...]) -> T:
    values = [v for v, _ in options]
    weights = [w for _, w in options]
    return ctx.rng.choices(values, weights=weights)[0]


def _street_address(ctx: DemoContext, district: DistrictSpec) -> str:
    road = ctx.rng.choice(district.roads)
    return f"{fuzhou.CITY_NAME}{district.name}{road}{ctx.rng.randint(1, 300)}号"


def _provider_name(
    ctx: DemoContext, plan: ProviderPlan, community: CommunityPlace, brands: list[str]
) -> str:
    district = fuzhou.district_by_code(plan.home)
    if plan.kind is K.COMMUNITY_KITCHEN:
        return f"{community.place.name}长者食堂"
    if plan.kind is K.CARE_CENTRE:
        return f"{district.name}{community.street.name}居家养老服务中心"
    brand = brands.pop()
    if plan.kind is K.CLEANING_FIRM:
        return f"福州{brand}家政服务有限公司"
    if plan.kind is K.REPAIR_SHOP:
        return f"福州市{district.name}{brand}家电水电维修部"
    return f"福州{brand}家庭服务有限公司"


def _grade(ctx: DemoContext) -> int:
    return _weighted(ctx, ((1, 3.0), (2, 8.0), (3, 30.0), (4, 40.0), (5, 19.0)))


def create_providers(
    ctx: DemoContext, area_ids: dict[str, int], communities: tuple[CommunityPlace, ...]
) -> list[DemoProvider]:
    """Create every planned provider with its districts and service points."""
    ctx.phase("providers", len(PROVIDER_PLANS))
    brands = list(BRANDS)
    ctx.rng.shuffle(brands)
    by_district: dict[str, list[CommunityPlace]] = {}
    for community in communities:
        by_district.setdefault(community.district.code, []).append(community)
    used: set[str] = set()
    providers: list[DemoProvider] = []
    for plan in PROVIDER_PLANS:
        district = fuzhou.district_by_code(plan.home)
        candidates = by_district[plan.home]
        # One street-level care centre per street.
        if plan.kind is K.CARE_CENTRE:
            candidates = [c for c in candidates if c.street.code not in used]
        elif plan.kind is K.COMMUNITY_KITCHEN:
            # Kitchens of one district lie apart, so each feeds its own part of it.
            others = [
                Point(p.kitchen.lat, p.kitchen.lon)
                for p in providers
                if p.kitchen is not None and p.home.code == plan.home
            ]
            candidates = [
                c
                for c in candidates
                if all(haversine_m(Point(c.place.lat, c.place.lon), o) > 3_000 for o in others)
            ]
        home_community = ctx.rng.choice(candidates)
        used.add(
            home_community.street.code if plan.kind is K.CARE_CENTRE else home_community.place.code
        )
        provider = providers_service.create_provider(
            ctx.session,
            ProviderCreate(
                name=_provider_name(ctx, plan, home_community, brands),
                kind=plan.kind,
                licence_no=credit_code(ctx, plan.kind, plan.home),
                licence_expires_on=ctx.start + timedelta(days=ctx.rng.randint(200, 3000)),
                grade=_grade(ctx),
                phone=ctx.landline(),
                district_ids=[area_ids[code] for code in plan.serves],
            ),
            public_id=ctx.public_id("prv"),
        )
        provider.created_at = ctx.office_time(ctx.days_before(200, 3000))
        demo = DemoProvider(provider, plan.kind, district, plan.serves)
        demo.points.append(_service_point(ctx, demo, home_community, area_ids, first=True))
        if len(plan.serves) >= 3:
            # Bigger firms keep a second base in another district they serve.
            other = ctx.rng.choice(by_district[ctx.rng.choice(plan.serves[1:])])
            demo.points.append(_service_point(ctx, demo, other, area_ids, first=False))
        providers.append(demo)
        ctx.tick()
    return providers


def _service_point(
    ctx: DemoContext,
    demo: DemoProvider,
    community: CommunityPlace,
    area_ids: dict[str, int],
    *,
    first: bool,
) -> ServicePoint:
    kitchen = demo.kind is K.COMMUNITY_KITCHEN
    if demo.kind is K.CARE_CENTRE and first:
        lat, lon = fuzhou.offset(
            community.street.lat, community.street.lon, ctx.rng.uniform(-60, 60), 0.0
        )
    else:
        lat, lon = fuzhou.offset(
            community.place.lat,
            community.place.lon,
            ctx.rng.uniform(-120, 120),
            ctx.rng.uniform(-120, 120),
        )
    if kitchen:
        name = f"{community.place.name}长者食堂厨房"
    elif first:
        name = f"{demo.provider.name}（总部）"
    else:
        name = f"{demo.provider.name}{community.street.name}服务站"
    return providers_service.add_service_point(
        ctx.session,
        demo.id,
        ServicePointCreate(
            kind=ServicePointKind.KITCHEN if kitchen else ServicePointKind.BASE,
            name=name[:120],
            address=_street_address(ctx, community.district),
            district_id=area_ids[community.district.code],
            lat=lat,
            lon=lon,
        ),
    )


# --- workers -----------------------------------------------------------------------------


def _level(ctx: DemoContext, low: int, high: int) -> int:
    return ctx.rng.randint(low, high)


def _skills(ctx: DemoContext, role: str, index: int) -> dict[str, int]:
    rng = ctx.rng
    skills: dict[str, int] = {}
    if role == "carer":
        skills["personal_care"] = _level(ctx, 2, 5)
        # The first carers of a team cover dementia and disability care.
        if index % 6 == 0 or rng.random() < 0.3:
            skills["dementia_care"] = _level(ctx, 2, 5)
        if index % 6 == 1 or rng.random() < 0.25:
            skills["disability_care"] = _level(ctx, 2, 5)
        if rng.random() < 0.5:
            skills["escort"] = _level(ctx, 1, 4)
    elif role == "nurse":
        skills["nursing"] = _level(ctx, 3, 5)
        skills["personal_care"] = _level(ctx, 2, 4)
    elif role == "therapist":
        skills["rehabilitation"] = _level(ctx, 3, 5)
        skills["personal_care"] = _level(ctx, 1, 3)
    elif role == "cleaner":
        skills["housekeeping"] = _level(ctx, 2, 5)
        if rng.random() < 0.6:
            skills["deep_cleaning"] = _level(ctx, 2, 5)
        if rng.random() < 0.2:
            skills["cooking"] = _level(ctx, 1, 4)
    elif role == "cook":
        skills["cooking"] = _level(ctx, 3, 5)
        skills["housekeeping"] = _level(ctx, 2, 4)
    elif role == "escort":
        skills["escort"] = _level(ctx, 2, 5)
        skills["personal_care"] = _level(ctx, 1, 3)
    elif role == "courier":
        skills["meal_delivery"] = _level(ctx, 1, 4)
    elif role == "repairer":
        trades = ["plumbing", "electrical", "appliance_repair", "locksmith"]
        chosen = [trades[index % 4]]  # every shop covers all four trades
        chosen += rng.sample([t for t in trades if t != chosen[0]], rng.randint(1, 2))
        for trade in trades:
            if trade in chosen:
                skills[trade] = _level(ctx, 2, 5)
    elif role == "volunteer":
        skills["escort"] = _level(ctx, 1, 2)
        skills["personal_care"] = 1
    return skills


def _certificate_kinds(ctx: DemoContext, role: str, skills: dict[str, int]) -> list[str]:
    kinds: list[str] = []
    if role in {"carer", "escort"} and (role == "carer" or ctx.rng.random() < 0.5):
        kinds.append("elderly_carer")
    if role == "nurse":
        kinds.append("nurse_licence")
        if ctx.rng.random() < 0.5:
            kinds.append("elderly_carer")
    if role == "therapist":
        kinds.append("rehab_therapist")
    if "disability_care" in skills:
        kinds.append("disability_carer")
    if role in {"cleaner", "cook"}:
        kinds.append("domestic_worker")
    if "cooking" in skills or role == "courier":
        kinds.append("health_certificate")
    if "electrical" in skills:
        kinds.append("electrician")
    return kinds


def _certificates(ctx: DemoContext, kinds: list[str]) -> tuple[list[CertificateIn], set[str]]:
    """Certificates of these kinds; a few have expired (or expire this week), to exercise the
    rule that an expired certificate does not qualify."""
    rng = ctx.rng
    expiring = [k for k in kinds if _CERT_RULES[k][1] is not None]
    lapsed_kind = rng.choice(expiring) if expiring and rng.random() < 0.05 else None
    certificates: list[CertificateIn] = []
    valid_all_week: set[str] = set()
    for kind in kinds:
        prefix, days = _CERT_RULES[kind]
        number = f"{prefix}{rng.randint(2015, ctx.start.year)}{rng.randrange(10**8):08d}"
        if days is None:
            issued = ctx.days_before(60, 3000)
            expires = None
        elif kind == lapsed_kind:
            # Ran out up to two months ago, or runs out during the demo week.
            expires = ctx.start + timedelta(days=rng.randint(-60, 5))
            issued = expires - timedelta(days=days)
        else:
            issued = ctx.days_before(14, days - 14)
            expires = issued + timedelta(days=days)
        certificates.append(
            CertificateIn(kind=kind, number=number, issued_on=issued, expires_on=expires)
        )
        if expires is None or expires >= ctx.end:
            valid_all_week.add(kind)
    return certificates, valid_all_week


def _weekly(
    days: list[int], shape: tuple[time, time, int, int] | tuple[time, time]
) -> list[ShiftIn]:
    if len(shape) == 4:
        start, end, after, minutes = shape
        return [
            ShiftIn(
                weekday=d,
                starts_at=start,
                ends_at=end,
                break_after_minutes=after,
                break_minutes=minutes,
            )
            for d in days
        ]
    start, end = shape[0], shape[1]
    return [ShiftIn(weekday=d, starts_at=start, ends_at=end) for d in days]


def _shifts(ctx: DemoContext, role: str, index: int) -> tuple[list[ShiftIn], int, bool]:
    """Weekly shifts, the daily limit (minutes) and whether the worker is part-time."""
    rng = ctx.rng
    if role == "courier":
        day_off = (index + rng.randint(0, 6)) % 7
        days = [d for d in range(7) if d != day_off]
        lunch = _weekly(days, (time(10, 0), time(13, 30)))
        dinner = _weekly(days, (time(16, 0), time(18, 30)))
        return sorted([*lunch, *dinner], key=lambda s: (s.weekday, s.starts_at)), 360, False
    if role == "volunteer":
        days = sorted(rng.sample(range(6), 2))
        return _weekly(days, (time(8, 30), time(11, 30))), 180, True
    if role in {"carer", "cleaner", "escort"} and rng.random() < 0.15:
        days = sorted(rng.sample(range(6), rng.randint(3, 4)))
        hours = rng.choice([(time(8, 0), time(12, 0)), (time(14, 0), time(18, 0))])
        return _weekly(days, hours), 240, True
    if role in {"carer", "nurse", "therapist"}:
        day_off = 6 if rng.random() < 0.7 else rng.randint(0, 5)
    else:
        day_off = rng.randint(0, 6) if rng.random() < 0.6 else 6
    days = [d for d in range(7) if d != day_off]
    shape = _FULL_DAY if rng.random() < 0.7 else _FULL_DAY_LATE
    if role == "repairer":
        shape = (time(8, 30), time(18, 0), 210, 60)
    return _weekly(days, shape), 480, False


def _languages(ctx: DemoContext, role: str) -> list[str]:
    languages = ["zh"]
    cdo_share = {"volunteer": 0.85, "carer": 0.65, "courier": 0.7}.get(role, 0.55)
    if ctx.rng.random() < cdo_share:
        languages.append("cdo")
    if ctx.rng.random() < 0.05:
        languages.append("nan")
    if ctx.rng.random() < (0.15 if role in {"nurse", "therapist"} else 0.02):
        languages.append("en")
    return languages


def _shift_exception(
    ctx: DemoContext, worker: DemoWorker, shifts: list[ShiftIn]
) -> ShiftExceptionCreate | None:
    """Leave, an extra day or changed hours on one day of the demo week, for some workers."""
    rng = ctx.rng
    working = sorted({s.weekday for s in shifts})
    days_off = [d for d in range(7) if d not in working]
    roll = rng.random()
    if roll < 0.07 and working:
        day = week_day(ctx.start, rng.choice(working))
        return ShiftExceptionCreate(
            on_date=day, kind=ShiftExceptionKind.LEAVE, reason=rng.choice(_LEAVE_REASONS)
        )
    if roll < 0.10 and working:
        weekday = rng.choice(working)
        day = week_day(ctx.start, weekday)
        last = max(s.ends_at for s in shifts if s.weekday == weekday)
        first = min(s.starts_at for s in shifts if s.weekday == weekday)
        if last <= time(15, 0):
            return None
        return ShiftExceptionCreate(
            on_date=day,
            kind=ShiftExceptionKind.LEAVE,
            starts_at=max(first, time(14, 0)),
            ends_at=last,
            reason="下午看病",
        )
    if roll < 0.12 and days_off and worker.role != "volunteer":
        day = week_day(ctx.start, rng.choice(days_off))
        return ShiftExceptionCreate(
            on_date=day,
            kind=ShiftExceptionKind.EXTRA,
            starts_at=time(8, 0),
            ends_at=time(12, 0),
            reason="加班顶岗",
        )
    if roll < 0.14 and working and worker.role != "courier":
        day = week_day(ctx.start, rng.choice(working))
        return ShiftExceptionCreate(
            on_date=day,
            kind=ShiftExceptionKind.CHANGED,
            starts_at=time(10, 0),
            ends_at=time(19, 0),
            reason="调班",
        )
    return None


def create_workers(ctx: DemoContext, providers: list[DemoProvider]) -> int:
    """Create every provider's workers (with skills, certificates, shifts and exceptions);
    return the number of shift exceptions recorded."""
    ctx.phase("workers", sum(p.workers for p in PROVIDER_PLANS))
    exceptions = 0
    for demo, plan in zip(providers, PROVIDER_PLANS, strict=True):
        roles = ROLES[plan.kind]
        for index in range(plan.workers):
            role = roles[index % len(roles)]
            gender = Gender.FEMALE if ctx.rng.random() < _GENDER_FEMALE_SHARE[role] else Gender.MALE
            skills = _skills(ctx, role, index)
            certificates, valid = _certificates(ctx, _certificate_kinds(ctx, role, skills))
            shifts, daily_limit, part_time = _shifts(ctx, role, index)
            base = demo.points[index % len(demo.points)]
            courier = role == "courier"
            worker = providers_service.create_worker(
                ctx.session,
                WorkerCreate(
                    provider_id=demo.id,
                    name=ctx.person_name(gender.value),
                    gender=gender,
                    phone=ctx.mobile(),
                    languages=_languages(ctx, role),
                    travel_mode=_weighted(ctx, _TRAVEL[role]),
                    start_lat=base.lat,
                    start_lon=base.lon,
                    daily_limit_minutes=daily_limit,
                    capacity=ctx.rng.randint(6, 12) if courier else 0,
                    is_volunteer=role == "volunteer" or (courier and ctx.rng.random() < 0.1),
                    is_public_benefit_post=(
                        (courier and ctx.rng.random() < 0.2)
                        or (role == "carer" and part_time and ctx.rng.random() < 0.5)
                    ),
                    skills=[SkillIn(skill=s, level=level) for s, level in skills.items()],
                    certificates=certificates,
                    shifts=shifts,
                ),
                public_id=ctx.public_id("wkr"),
            )
            worker.created_at = ctx.office_time(ctx.days_before(30, 1500))
            demo_worker = DemoWorker(worker, role, skills, valid)
            demo.workers.append(demo_worker)
            exception = _shift_exception(ctx, demo_worker, shifts)
            if exception is not None:
                providers_service.add_shift_exception(ctx.session, demo_worker.id, exception)
                exceptions += 1
            ctx.tick()
        demo.offers = [
            spec.code
            for spec in reference.ITEMS
            if any(w.qualified_for(spec.skills, spec.certificates) for w in demo.workers)
        ]
    return exceptions


def workers_for(demo: DemoProvider, item_code: str) -> list[DemoWorker]:
    """The provider's workers qualified for an item all week."""
    spec = next(s for s in reference.ITEMS if s.code == item_code)
    return [w for w in demo.workers if w.qualified_for(spec.skills, spec.certificates)]


def week_day(start: date, weekday: int) -> date:
    """The date in the week from ``start`` that falls on ``weekday``."""
    return start + timedelta(days=(weekday - start.weekday()) % 7)
