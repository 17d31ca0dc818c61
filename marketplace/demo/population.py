"""Demo households and the people in them: members with ID numbers, protected-group status,
hospital stays, deaths and moves, preferences and family proxies.

Rows are built in memory and inserted in batches (thousands of households must seed in
seconds); each row keeps the invariants the households service enforces: the area chain nests,
ID numbers are valid, unique, encrypted, indexed and masked, languages come from the
vocabulary, 80+ is derived from the birth date and never stored, a disability status carries
its level, approved statuses name who verified them and when.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final

from core import crypto
from marketplace.demo import fuzhou
from marketplace.demo.context import DemoContext
from marketplace.demo.fuzhou import CommunityPlace, Place
from marketplace.households import service as households_service
from marketplace.households.models import (
    DisabilityLevel,
    FamilyProxy,
    Household,
    LtcEntitlement,
    Member,
    MemberPreference,
    PeriodKind,
    ProtectedCategory,
    ProtectedStatus,
    StatusPeriod,
    StatusReview,
)
from pricing.policy import ServiceClass

P = ProtectedCategory

# Household make-up: (kind, share). Elderly-heavy, as the people who order home services are.
HOUSEHOLD_KINDS: Final = (
    ("single_elder", 0.36),
    ("elder_couple", 0.30),
    ("elder_with_child", 0.12),
    ("three_generations", 0.07),
    ("younger", 0.15),
)
# Ages of people 60 and over: (from, to, share).
ELDER_AGES: Final = ((60, 69, 0.34), (70, 79, 0.36), (80, 89, 0.24), (90, 98, 0.06))
BATCH: Final = 500

_NOTES: Final = (
    "耳背，请大声说话",
    "家中有狗，敲门前请先电话联系",
    "行动不便，请耐心等候开门",
    "只听得懂福州话",
    "请勿在午休时间（12:30–14:30）打扰",
    "楼道无电梯，住六楼",
    "糖尿病，饮食请少糖",
)
_RELATIONS_CHILD: Final = ("儿子", "女儿", "儿子", "女儿", "孙子", "孙女")
_RELATIONS_OTHER: Final = ("儿媳", "女婿", "侄子", "外甥女", "外孙女")
_MOVE_NOTES: Final = ("随子女迁居上海", "迁往厦门女儿家", "入住养老院", "户籍迁出福州")


@dataclass
class DemoMember:
    """A created member and what the order step needs to know about them."""

    member: Member
    age: int
    gender: str
    speaks: list[str]
    categories: list[ProtectedCategory] = field(default_factory=list)
    disability: DisabilityLevel | None = None
    gone: bool = False  # deceased or moved away before the week
    hospital: tuple[date, date | None, str] | None = None
    proxies: list[FamilyProxy] = field(default_factory=list)
    caregiver_gender: str | None = None

    @property
    def id(self) -> int:
        """The member's id."""
        assert self.member.id is not None
        return self.member.id

    @property
    def elder(self) -> bool:
        """Aged 60 or more."""
        return self.age >= 60

    @property
    def protected(self) -> bool:
        """In a protected group (including 80+) during the demo week."""
        return bool(self.categories) or self.age >= households_service.AGE80_YEARS

    def in_hospital_on(self, day: date) -> bool:
        """Whether a hospital stay covers ``day``."""
        if self.hospital is None:
            return False
        start, end, _ = self.hospital
        return start <= day and (end is None or day <= end)


@dataclass
class DemoHousehold:
    """A created household with its place and members."""

    household: Household
    community: CommunityPlace
    grid: Place
    kind: str
    members: list[DemoMember] = field(default_factory=list)

    @property
    def id(self) -> int:
        """The household's id."""
        assert self.household.id is not None
        return self.household.id

    @property
    def actor(self) -> str:
        """The household as the author of an order."""
        return f"household:{self.household.public_id}"


@dataclass
class PopulationCounts:
    """What the population step created."""

    households: int = 0
    members: int = 0
    protected: Counter[str] = field(default_factory=Counter)
    disability_levels: Counter[str] = field(default_factory=Counter)
    pending: int = 0
    ltc_insured: int = 0
    periods: Counter[str] = field(default_factory=Counter)
    preferences: int = 0
    proxies: int = 0


# --- people ------------------------------------------------------------------------------


def _elder_age(ctx: DemoContext) -> int:
    low, high, _ = ctx.rng.choices(ELDER_AGES, weights=[w for *_, w in ELDER_AGES])[0]
    return ctx.rng.randint(low, high)


def _birth_date(ctx: DemoContext, age: int) -> date:
    """A birth date giving ``age`` whole years on the first day of the demo week."""
    latest = _years_before(ctx.start, age)
    earliest = _years_before(ctx.start, age + 1) + timedelta(days=1)
    return earliest + timedelta(days=ctx.rng.randint(0, (latest - earliest).days))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return date(day.year - years, 2, 28)


def _ages(ctx: DemoContext, kind: str) -> list[int]:
    rng = ctx.rng
    if kind == "single_elder":
        return [_elder_age(ctx)]
    if kind == "elder_couple":
        first = _elder_age(ctx)
        return [first, min(99, max(60, first + rng.randint(-6, 6)))]
    if kind == "elder_with_child":
        elder = max(_elder_age(ctx), 70)
        return [elder, max(30, elder - rng.randint(24, 34))]
    if kind == "three_generations":
        elder = max(_elder_age(ctx), 72)
        child = max(35, elder - rng.randint(24, 32))
        return [elder, child, max(6, child - rng.randint(24, 32))]
    size = rng.choices([1, 2, 3], weights=[25, 45, 30])[0]
    adult = rng.randint(25, 59)
    ages = [adult]
    if size >= 2:
        ages.append(min(59, max(22, adult + rng.randint(-4, 4))))
    if size == 3:
        ages.append(max(1, adult - rng.randint(22, 34)))
    return ages


def _genders(ctx: DemoContext, kind: str, count: int) -> list[str]:
    rng = ctx.rng
    if kind == "single_elder":
        return ["female" if rng.random() < 0.65 else "male"]
    if count >= 2 and kind in {"elder_couple", "younger"}:
        first = "male" if rng.random() < 0.5 else "female"
        rest = ["female" if first == "male" else "male"]
        rest += ["female" if rng.random() < 0.5 else "male" for _ in range(count - 2)]
        return [first, *rest]
    return ["female" if rng.random() < 0.5 else "male" for _ in range(count)]


def _languages(ctx: DemoContext, age: int) -> list[str]:
    rng = ctx.rng
    roll = rng.random()
    if age >= 60:
        languages = ["cdo"] if roll < 0.2 else ["zh", "cdo"] if roll < 0.9 else ["zh"]
    elif age >= 18:
        languages = ["zh", "cdo"] if roll < 0.45 else ["zh"]
    else:
        languages = ["zh", "cdo"] if roll < 0.15 else ["zh"]
    if rng.random() < 0.03:
        languages.append("nan")
    if age < 60 and rng.random() < 0.04:
        languages.append("en")
    return languages


def id_number(ctx: DemoContext, district: fuzhou.DistrictSpec, birth: date, gender: str) -> str:
    """A synthetic resident ID number: division code, birth date, sequence (odd for men), and
    the ISO 7064 MOD 11-2 check character."""
    code = district.code
    if (
        district.former_code
        and district.former_until_year
        and birth.year < district.former_until_year
    ):
        code = district.former_code
    sequence = ctx.rng.randrange(500) * 2 + (1 if gender == "male" else 0)
    first17 = f"{code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + households_service.id_check_digit(first17)


# --- households and members --------------------------------------------------------------


def _address(ctx: DemoContext, district: fuzhou.DistrictSpec) -> str:
    rng = ctx.rng
    if rng.random() < 0.2:
        lane = rng.choice(district.lanes)
        place = f"{lane}{rng.randint(1, 60)}号{rng.randint(1, 3)}{rng.randint(1, 4):02d}室"
    else:
        road = rng.choice(district.roads)
        number = rng.randint(1, 399)
        building = f"{rng.randint(1, 12)}座" if rng.random() < 0.5 else ""
        room = f"{rng.randint(1, 18)}{rng.randint(1, 6):02d}室"
        place = f"{road}{number}号{building}{room}"
    return f"{fuzhou.CITY_NAME}{district.name}{place}"


def _near(ctx: DemoContext, place: Place, sigma_m: float, limit_m: float) -> tuple[float, float]:
    north = max(-limit_m, min(limit_m, ctx.rng.gauss(0, sigma_m)))
    east = max(-limit_m, min(limit_m, ctx.rng.gauss(0, sigma_m)))
    return fuzhou.offset(place.lat, place.lon, north, east)


def _community_weights(communities: tuple[CommunityPlace, ...]) -> list[float]:
    per_district = Counter(c.district.code for c in communities)
    return [c.district.weight / per_district[c.district.code] for c in communities]


def create_households(
    ctx: DemoContext,
    count: int,
    area_ids: dict[str, int],
    communities: tuple[CommunityPlace, ...],
    counts: PopulationCounts,
) -> list[DemoHousehold]:
    """Create ``count`` households with 1–3 members each, in batches."""
    ctx.phase("households", count)
    weights = _community_weights(communities)
    kinds = [k for k, _ in HOUSEHOLD_KINDS]
    kind_weights = [w for _, w in HOUSEHOLD_KINDS]
    used_numbers: set[str] = set()
    households: list[DemoHousehold] = []
    for first in range(0, count, BATCH):
        batch: list[DemoHousehold] = []
        for _ in range(min(BATCH, count - first)):
            community = ctx.rng.choices(communities, weights=weights)[0]
            grid = ctx.rng.choice(community.grids)
            lat, lon = _near(ctx, grid, 90.0, 300.0)
            household = Household(
                public_id=ctx.public_id("hh"),
                address=_address(ctx, community.district),
                district_id=area_ids[community.district.code],
                street_id=area_ids[community.street.code],
                community_id=area_ids[community.place.code],
                grid_id=area_ids[grid.code],
                lat=lat,
                lon=lon,
                phone=ctx.landline() if ctx.rng.random() < 0.6 else ctx.mobile(),
                created_at=ctx.office_time(ctx.days_before(30, 2500)),
            )
            batch.append(
                DemoHousehold(household, community, grid, ctx.rng.choices(kinds, kind_weights)[0])
            )
        ctx.session.add_all([h.household for h in batch])
        ctx.session.flush()
        members: list[Member] = []
        for demo in batch:
            _add_members(ctx, demo, used_numbers)
            members.extend(m.member for m in demo.members)
        ctx.session.add_all(members)
        ctx.session.flush()
        households.extend(batch)
        counts.households += len(batch)
        counts.members += len(members)
        ctx.tick(len(batch))
    return households


def _add_members(ctx: DemoContext, demo: DemoHousehold, used_numbers: set[str]) -> None:
    ages = _ages(ctx, demo.kind)
    genders = _genders(ctx, demo.kind, len(ages))
    family_name = ctx.surname()
    for position, (age, gender) in enumerate(zip(ages, genders, strict=True)):
        # Children carry the family name; a spouse keeps their own.
        spouse = position == 1 and demo.kind in {"elder_couple", "younger"}
        surname = ctx.surname() if spouse else family_name
        birth = _birth_date(ctx, age)
        number = id_number(ctx, demo.community.district, birth, gender)
        while number in used_numbers:
            number = id_number(ctx, demo.community.district, birth, gender)
        used_numbers.add(number)
        households_service.validate_id_number(number)
        speaks = _languages(ctx, age)
        has_mobile = age >= 14 and ctx.rng.random() < (
            0.95 if age < 60 else 0.6 if age < 80 else 0.3
        )
        member = Member(
            public_id=ctx.public_id("mbr"),
            household_id=demo.id,
            name=ctx.person_name(gender, surname),
            gender=gender,
            birth_date=birth,
            phone=ctx.mobile() if has_mobile else "",
            languages=speaks,
            id_number_encrypted=crypto.encrypt(
                number, context=households_service.ID_NUMBER_CONTEXT
            ),
            id_number_index=crypto.blind_index(
                number, context=households_service.ID_NUMBER_CONTEXT
            ),
            id_number_masked=crypto.mask_id_number(number),
            created_at=demo.household.created_at,
        )
        demo.members.append(DemoMember(member, age, gender, speaks))


# --- protected status --------------------------------------------------------------------

_EVIDENCE: Final[dict[ProtectedCategory, tuple[str, str]]] = {
    P.TEKUN: ("特困人员救助供养证", "TK"),
    P.DIBAO: ("最低生活保障证", "DB"),
    P.YOUFU: ("优抚对象证", "YF"),
    P.DISABILITY: ("失能等级评估报告", "PG"),
}


def _mask_tail(value: str) -> str:
    return "*" * (len(value) - 4) + value[-4:]


def _status(
    ctx: DemoContext,
    demo: DemoHousehold,
    person: DemoMember,
    category: ProtectedCategory,
    *,
    level: DisabilityLevel | None = None,
    pending: bool = False,
) -> ProtectedStatus:
    rng = ctx.rng
    evidence_kind, prefix = _EVIDENCE[category]
    if category is P.DISABILITY and person.age < 60 and rng.random() < 0.7:
        evidence_kind = "中华人民共和国残疾人证"
    certificate = f"{prefix}{demo.community.district.code}{rng.randrange(10**8):08d}"
    valid_to: date | None = None
    if pending:
        # Applied for recently; valid from the first of next month once approved.
        first_next = (ctx.start.replace(day=1) + timedelta(days=32)).replace(day=1)
        valid_from = first_next
    elif category is P.DIBAO:
        # 低保 is reviewed every year: the current approval started within the last year.
        valid_from = ctx.days_before(10, 340)
        valid_to = valid_from + timedelta(days=364)
    elif category is P.DISABILITY and evidence_kind == "失能等级评估报告":
        # A disability (失能) assessment is valid for two years.
        valid_from = ctx.days_before(10, 700)
        valid_to = valid_from + timedelta(days=729)
    else:
        valid_from = ctx.days_before(30, 3000)
    street = demo.community.street.name
    reviewer = f"{street}民政办 {ctx.person_name('female' if rng.random() < 0.6 else 'male')}"
    verified_at: datetime | None = None
    if not pending:
        verified_at = ctx.office_time(valid_from - timedelta(days=rng.randint(1, 20)))
    applied = ctx.office_time(
        (valid_from if pending else valid_from - timedelta(days=21))
        - timedelta(days=rng.randint(5, 30))
    )
    evidence = f"{evidence_kind} {certificate}；{street}{demo.community.place.name}入户核查"
    if level is not None:
        evidence += f"；评估等级 {level.value}"
    return ProtectedStatus(
        member_id=person.id,
        category=category,
        disability_level=level,
        review=StatusReview.PENDING if pending else StatusReview.APPROVED,
        evidence_kind=evidence_kind,
        evidence_encrypted=crypto.encrypt(evidence, context=households_service.EVIDENCE_CONTEXT),
        certificate_no_masked=_mask_tail(certificate),
        verified_by=None if pending else reviewer,
        verified_at=verified_at,
        valid_from=valid_from,
        valid_to=valid_to,
        created_at=min(applied, ctx.snapshot - timedelta(hours=1)),
    )


def _disability_level(ctx: DemoContext, age: int) -> DisabilityLevel:
    weights = (45, 35, 20) if age >= 80 else (55, 35, 10)
    return ctx.rng.choices(
        [DisabilityLevel.MODERATE, DisabilityLevel.SEVERE, DisabilityLevel.TOTAL], weights
    )[0]


def add_protected_statuses(
    ctx: DemoContext, households: list[DemoHousehold], counts: PopulationCounts
) -> None:
    """Approved statuses at realistic shares (特困 ~1 %, 低保 ~4 %, 优抚 ~2 %, disability ~5 %
    of people), plus a handful of applications still pending review."""
    ctx.phase("protected status", len(households))
    rows: list[ProtectedStatus] = []
    ltc: list[LtcEntitlement] = []
    ltc_rng = ctx.side_rng("ltc")
    rng = ctx.rng
    for demo in households:
        dibao_household = rng.random() < 0.04
        for person in demo.members:
            granted: list[ProtectedStatus] = []
            if demo.kind == "single_elder" and not dibao_household and rng.random() < 0.06:
                granted.append(_status(ctx, demo, person, P.TEKUN))
            elif dibao_household:
                granted.append(_status(ctx, demo, person, P.DIBAO))
            elif person.age >= 18 and rng.random() < 0.003:
                rows.append(_status(ctx, demo, person, P.DIBAO, pending=True))
                counts.pending += 1
            if rng.random() < (0.03 if person.elder else 0.004 if person.age >= 18 else 0):
                granted.append(_status(ctx, demo, person, P.YOUFU))
            disability_share = 0.12 if person.age >= 80 else 0.05 if person.elder else 0.02
            if rng.random() < disability_share:
                level = _disability_level(ctx, person.age)
                granted.append(_status(ctx, demo, person, P.DISABILITY, level=level))
                person.disability = level
                counts.disability_levels[level.value] += 1
                benefit = _ltc_benefit(ctx, ltc_rng, person, level)
                if benefit is not None:
                    ltc.append(benefit)
                    counts.ltc_insured += 1
            for status in granted:
                person.categories.append(ProtectedCategory(status.category))
                counts.protected[ProtectedCategory(status.category).value] += 1
            if person.age >= households_service.AGE80_YEARS:
                counts.protected[P.AGE80.value] += 1
            rows.extend(granted)
        ctx.tick()
    for first in range(0, len(rows), BATCH * 4):
        ctx.session.add_all(rows[first : first + BATCH * 4])
        ctx.session.flush()
    ctx.session.add_all(ltc)
    ctx.session.flush()


# Long-term-care insurance (长护险) for assessed severe and total disability: the insurer's share
# of care and its monthly limit. Demo figures in the range of the national pilots.
LTC_BENEFITS = {
    DisabilityLevel.SEVERE: (70, 120_000),
    DisabilityLevel.TOTAL: (80, 180_000),
}
LTC_INSURED_SHARE = 0.6  # of people aged 60+ with such an assessment


def _ltc_benefit(
    ctx: DemoContext, rng: random.Random, person: DemoMember, level: DisabilityLevel
) -> LtcEntitlement | None:
    if level not in LTC_BENEFITS or not person.elder or rng.random() >= LTC_INSURED_SHARE:
        return None
    share, limit = LTC_BENEFITS[level]
    return LtcEntitlement(
        member_id=person.id,
        scheme="福州市长期护理保险",
        service_classes=[ServiceClass.CARE.value],
        share_percent=share,
        monthly_limit_fen=limit,
        valid_from=ctx.start - timedelta(days=rng.randint(30, 700)),
        recorded_by="福州市医保局",
        created_at=ctx.snapshot - timedelta(days=30),
    )


# --- hospital stays, deaths, moves -------------------------------------------------------


def add_status_periods(
    ctx: DemoContext, households: list[DemoHousehold], counts: PopulationCounts
) -> None:
    """A few elders in hospital this week, a handful deceased or moved away before it."""
    rng = ctx.rng
    elders = [(h, m) for h in households for m in h.members if m.elder]
    n = len(elders)
    hospital = rng.sample(elders, min(n, max(1, round(n * 0.008))))
    taken = {id(m) for _, m in hospital}
    rest = [(h, m) for h, m in elders if id(m) not in taken]
    deceased = rng.sample(rest, min(len(rest), max(1, round(n * 0.0015))))
    taken |= {id(m) for _, m in deceased}
    rest = [(h, m) for h, m in rest if id(m) not in taken]
    moved = rng.sample(rest, min(len(rest), max(1, round(n * 0.0015))))
    rows: list[StatusPeriod] = []

    def recorder(demo: DemoHousehold) -> str:
        name = ctx.person_name("female" if rng.random() < 0.7 else "male")
        return f"{demo.grid.name}网格员 {name}"

    for demo, person in hospital:
        starts = ctx.days_before(1, 6)
        ends = None if rng.random() < 0.25 else ctx.start + timedelta(days=rng.randint(0, 6))
        where = rng.choice(fuzhou.HOSPITALS)
        person.hospital = (starts, ends, where)
        rows.append(_period(ctx, person, PeriodKind.HOSPITAL, starts, ends, where, recorder(demo)))
    for demo, person in deceased:
        person.gone = True
        day = ctx.days_before(7, 60)
        rows.append(
            _period(ctx, person, PeriodKind.DECEASED, day, None, "家属告知", recorder(demo))
        )
    for demo, person in moved:
        person.gone = True
        day = ctx.days_before(7, 90)
        note = rng.choice(_MOVE_NOTES)
        rows.append(_period(ctx, person, PeriodKind.MOVED_AWAY, day, None, note, recorder(demo)))
    for row in rows:
        counts.periods[PeriodKind(row.kind).value] += 1
    ctx.session.add_all(rows)
    ctx.session.flush()


def _period(
    ctx: DemoContext,
    person: DemoMember,
    kind: PeriodKind,
    starts: date,
    ends: date | None,
    note: str,
    recorded_by: str,
) -> StatusPeriod:
    recorded = ctx.office_time(starts) + timedelta(hours=ctx.rng.randint(0, 30))
    return StatusPeriod(
        member_id=person.id,
        kind=kind,
        starts_on=starts,
        ends_on=ends,
        note=note,
        recorded_by=recorded_by,
        created_at=min(recorded, ctx.snapshot - timedelta(minutes=30)),
    )


# --- preferences and proxies -------------------------------------------------------------


def add_preferences_and_proxies(
    ctx: DemoContext, households: list[DemoHousehold], counts: PopulationCounts
) -> None:
    """Caregiver gender and language for many elders (福州话 for those who speak it), and
    family proxies (children, mostly) for many elders."""
    ctx.phase("preferences and proxies", len(households))
    rng = ctx.rng
    preferences: list[MemberPreference] = []
    proxies: list[FamilyProxy] = []
    for demo in households:
        co_resident_child = demo.kind in {"elder_with_child", "three_generations"}
        for person in demo.members:
            if not person.elder or person.gone:
                continue
            gender: str | None = None
            if person.gender == "female" and rng.random() < 0.55:
                gender = "female"
            elif person.gender == "male" and rng.random() < 0.2:
                gender = rng.choice(["male", "female"])
            language = None
            if "cdo" in person.speaks and (person.speaks == ["cdo"] or rng.random() < 0.55):
                language = "cdo"
            note = rng.choice(_NOTES) if rng.random() < 0.12 else ""
            if person.speaks == ["cdo"]:
                note = "只听得懂福州话"
            if gender is not None or language is not None or note:
                preferences.append(
                    MemberPreference(
                        member_id=person.id,
                        caregiver_gender=gender,
                        language=language,
                        note=note,
                    )
                )
                person.caregiver_gender = gender
            share = 0.3 if co_resident_child else 0.65 if person.age >= 75 else 0.4
            if rng.random() < share:
                for _ in range(1 if rng.random() < 0.7 else 2):
                    proxies.append(_proxy(ctx, demo, person))
        ctx.tick()
    ctx.session.add_all(preferences)
    ctx.session.flush()
    ctx.session.add_all(proxies)
    ctx.session.flush()
    counts.preferences += len(preferences)
    counts.proxies += len(proxies)


def _proxy(ctx: DemoContext, demo: DemoHousehold, person: DemoMember) -> FamilyProxy:
    rng = ctx.rng
    family = person.member.name[0]
    if rng.random() < 0.8:
        relation = rng.choice(_RELATIONS_CHILD)
        gender = "male" if relation in {"儿子", "孙子"} else "female"
        # A daughter's children (外孙) carry another name; keep it simple and plausible.
        name = ctx.person_name(
            gender, family if person.gender == "male" or gender == "male" else None
        )
    else:
        relation = rng.choice(_RELATIONS_OTHER)
        gender = "female" if relation in {"儿媳", "外甥女", "外孙女"} else "male"
        name = ctx.person_name(gender)
    existing = {p.phone for p in person.proxies}
    phone = ctx.mobile()
    while phone in existing:
        phone = ctx.mobile()
    proxy = FamilyProxy(
        public_id=ctx.public_id("fp"),
        member_id=person.id,
        name=name,
        phone=phone,
        relation=relation,
        can_order=rng.random() < 0.9,
        created_at=demo.household.created_at + timedelta(days=rng.randint(0, 20)),
    )
    person.proxies.append(proxy)
    return proxy
