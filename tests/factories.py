"""Factory functions with keyword-only defaults: the smallest valid rows for tests."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time

from sqlmodel import Session, select

from core.ids import new_public_id
from core.timeutil import local_datetime
from marketplace.catalog import service as catalog_service
from marketplace.catalog.models import Item
from marketplace.geography.models import Area, AreaLevel
from marketplace.households import service as households_service
from marketplace.households.models import (
    DisabilityLevel,
    Household,
    Member,
    ProtectedCategory,
    ProtectedStatus,
)
from marketplace.households.schemas import ProtectedStatusCreate
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order
from marketplace.orders.schemas import OrderCreate, TimeWindow
from marketplace.providers.models import Gender, Provider, ProviderKind, TravelMode, Worker

_seq = itertools.count(1)

FUZHOU = (26.08, 119.30)
DAY = date(2026, 12, 1)  # a Tuesday


def make_areas(session: Session, *, district_code: str | None = None) -> dict[AreaLevel, Area]:
    """A district → street → community → grid chain (in an existing district if its code is
    already there)."""
    n = next(_seq)
    chain: dict[AreaLevel, Area] = {}
    parent_id: int | None = None
    for level in (AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY, AreaLevel.GRID):
        # Districts get a six-digit code like real ones (the ledger keeps at most 12 characters).
        code = f"9{n:05d}" if level is AreaLevel.DISTRICT else f"T{n}-{level.value}"
        if level is AreaLevel.DISTRICT and district_code is not None:
            existing = session.exec(select(Area).where(Area.code == district_code)).first()
            if existing is not None:
                chain[level], parent_id = existing, existing.id
                continue
            code = district_code
        area = Area(
            code=code,
            level=level,
            name=f"{level.value} {n}",
            parent_id=parent_id,
            lat=FUZHOU[0],
            lon=FUZHOU[1],
        )
        session.add(area)
        session.flush()
        chain[level] = area
        parent_id = area.id
    return chain


def make_household(
    session: Session,
    *,
    lat: float = FUZHOU[0],
    lon: float = FUZHOU[1],
    district_code: str | None = None,
) -> tuple[Household, Member]:
    """A household with one elderly member (86 on DAY)."""
    areas = make_areas(session, district_code=district_code)
    household = Household(
        public_id=new_public_id("hh"),
        address="鼓楼区测试路1号",
        district_id=areas[AreaLevel.DISTRICT].id or 0,
        street_id=areas[AreaLevel.STREET].id or 0,
        community_id=areas[AreaLevel.COMMUNITY].id or 0,
        grid_id=areas[AreaLevel.GRID].id,
        lat=lat,
        lon=lon,
    )
    session.add(household)
    session.flush()
    assert household.id is not None
    member = Member(
        public_id=new_public_id("mem"),
        household_id=household.id,
        name="王奶奶",
        gender="female",
        birth_date=date(1940, 5, 1),
        languages=["cdo"],
    )
    session.add(member)
    session.flush()
    return household, member


def add_member(
    session: Session,
    household: Household,
    *,
    birth_date: date = date(1962, 3, 1),
    name: str = "陈阿姨",
) -> Member:
    """Another member of ``household`` (64 on DAY by default: no protected group by age)."""
    assert household.id is not None
    member = Member(
        public_id=new_public_id("mem"),
        household_id=household.id,
        name=name,
        gender="female",
        birth_date=birth_date,
    )
    session.add(member)
    session.flush()
    return member


def grant_status(
    session: Session,
    member: Member,
    category: ProtectedCategory,
    *,
    level: DisabilityLevel | None = None,
    valid_from: date = date(2026, 1, 1),
    valid_to: date | None = None,
) -> ProtectedStatus:
    """An approved protected-group status for ``member``."""
    assert member.id is not None
    applied = households_service.apply_protected_status(
        session,
        member.id,
        ProtectedStatusCreate(
            category=category, disability_level=level, valid_from=valid_from, valid_to=valid_to
        ),
    )
    assert applied.id is not None
    return households_service.approve_protected_status(
        session, applied.id, verified_by="test:civil-affairs"
    )


def make_provider(session: Session, *, kind: ProviderKind = ProviderKind.CARE_CENTRE) -> Provider:
    """An active provider."""
    n = next(_seq)
    provider = Provider(
        public_id=new_public_id("prv"),
        name=f"测试服务中心{n}",
        kind=kind,
        licence_no=f"LIC-{n:06d}",
        grade=4,
    )
    session.add(provider)
    session.flush()
    return provider


def make_worker(session: Session, *, provider: Provider, name: str = "李阿姨") -> Worker:
    """An active worker of ``provider``."""
    assert provider.id is not None
    worker = Worker(
        public_id=new_public_id("wkr"),
        provider_id=provider.id,
        name=name,
        gender=Gender.FEMALE,
        languages=["zh", "cdo"],
        travel_mode=TravelMode.EBIKE,
        start_lat=FUZHOU[0],
        start_lon=FUZHOU[1],
        end_lat=FUZHOU[0],
        end_lon=FUZHOU[1],
    )
    session.add(worker)
    session.flush()
    return worker


def item(session: Session, code: str = "elderly_care.daily_living") -> Item:
    """A reference catalog item (the catalog is loaded on first use)."""
    catalog_service.ensure_reference_catalog(session)
    return catalog_service.get_item_by_code_or_raise(session, code)


def window(day: date, start: time, end: time) -> TimeWindow:
    """A local (Asia/Shanghai) time window on ``day``."""
    return TimeWindow(starts_at=local_datetime(day, start), ends_at=local_datetime(day, end))


def make_order(
    session: Session,
    *,
    provider: Provider | None = None,
    day: date = DAY,
    windows: list[TimeWindow] | None = None,
    item_code: str = "elderly_care.daily_living",
    duration_minutes: int | None = 60,
    confirm: bool = False,
    now: datetime | None = None,
    member: Member | None = None,
) -> Order:
    """A requested (or confirmed) order for a new household (or for ``member``)."""
    if member is None:
        _, member = make_household(session)
    provider = provider or make_provider(session)
    assert member.id and provider.id
    catalog_item = item(session, item_code)
    assert catalog_item.id is not None
    order = orders_service.create_order(
        session,
        OrderCreate(
            household_id=member.household_id,
            recipient_member_id=member.id,
            provider_id=provider.id,
            item_id=catalog_item.id,
            service_date=day,
            windows=windows or [window(day, time(9, 0), time(11, 0))],
            duration_minutes=duration_minutes,
        ),
        actor="test:household",
        now=now,
    )
    if confirm:
        order = orders_service.confirm(session, order, actor="test:provider", now=now)
    return order
