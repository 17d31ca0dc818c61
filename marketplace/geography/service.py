"""Geography use cases: build the district → street → community → grid tree and walk it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from core.errors import Conflict, NotFound, Validation
from core.geo import Point
from marketplace.geography import repository as repo
from marketplace.geography.models import AREA_LEVEL_ORDER, Area, AreaLevel


@dataclass(frozen=True, slots=True)
class AreaPath:
    """The ids of an area and of every level above it (``None`` below the area's own level)."""

    district_id: int
    street_id: int | None = None
    community_id: int | None = None
    grid_id: int | None = None


def _level_index(level: AreaLevel | str) -> int:
    return AREA_LEVEL_ORDER.index(AreaLevel(level))


def get(session: Session, area_id: int) -> Area | None:
    """The area, if it exists."""
    return repo.get(session, area_id)


def get_or_raise(session: Session, area_id: int) -> Area:
    """The area, or NotFound."""
    area = repo.get(session, area_id)
    if area is None:
        raise NotFound(f"area {area_id} does not exist")
    return area


def get_by_code(session: Session, code: str) -> Area | None:
    """The area with this code, if any."""
    return repo.get_by_code(session, code)


def get_by_code_or_raise(session: Session, code: str) -> Area:
    """The area with this code, or NotFound."""
    area = repo.get_by_code(session, code)
    if area is None:
        raise NotFound(f"area {code!r} does not exist")
    return area


def create_area(
    session: Session,
    *,
    code: str,
    name: str,
    level: AreaLevel,
    lat: float,
    lon: float,
    parent_id: int | None = None,
) -> Area:
    """Add an area; a district has no parent, every other level's parent is one level up."""
    level = AreaLevel(level)
    code = code.strip()
    if not code or len(code) > 40:
        raise Validation("area code must be 1 to 40 characters")
    if not name.strip() or len(name) > 80:
        raise Validation("area name must be 1 to 80 characters")
    try:
        Point(lat, lon)
    except ValueError as exc:
        raise Validation(str(exc)) from exc
    index = _level_index(level)
    if index == 0:
        if parent_id is not None:
            raise Validation("a district has no parent area")
    else:
        if parent_id is None:
            raise Validation(f"a {level.value} needs a parent area")
        parent = get_or_raise(session, parent_id)
        expected = AREA_LEVEL_ORDER[index - 1]
        if AreaLevel(parent.level) is not expected:
            raise Validation(
                f"the parent of a {level.value} must be a {expected.value}, "
                f"not a {AreaLevel(parent.level).value}"
            )
    if repo.get_by_code(session, code) is not None:
        raise Conflict(f"area code {code!r} is already used")
    area = Area(code=code, name=name, level=level, parent_id=parent_id, lat=lat, lon=lon)
    session.add(area)
    session.flush()
    return area


def list_children(session: Session, area_id: int) -> Sequence[Area]:
    """The areas directly below this one (NotFound if it does not exist)."""
    get_or_raise(session, area_id)
    return repo.list_children(session, area_id)


def list_by_level(session: Session, level: AreaLevel) -> Sequence[Area]:
    """Every area of one level."""
    return repo.list_by_level(session, AreaLevel(level))


def ancestors(session: Session, area_id: int) -> list[Area]:
    """The areas above this one, district first (empty for a district)."""
    area = get_or_raise(session, area_id)
    chain: list[Area] = []
    while area.parent_id is not None:
        area = get_or_raise(session, area.parent_id)
        chain.append(area)
    chain.reverse()
    return chain


def path(session: Session, area_id: int) -> AreaPath:
    """The ids of this area and its ancestors, by level, for roll-ups."""
    area = get_or_raise(session, area_id)
    ids: dict[AreaLevel, int] = {}
    for node in [*ancestors(session, area_id), area]:
        assert node.id is not None
        ids[AreaLevel(node.level)] = node.id
    return AreaPath(
        district_id=ids[AreaLevel.DISTRICT],
        street_id=ids.get(AreaLevel.STREET),
        community_id=ids.get(AreaLevel.COMMUNITY),
        grid_id=ids.get(AreaLevel.GRID),
    )


@dataclass(frozen=True)
class DistrictSummary:
    """How many households, members and orders a district has."""

    code: str
    name: str
    households: int
    members: int
    orders: int


def district_summary(session: Session) -> list[DistrictSummary]:
    """Per-district counts, for a first look at the city."""
    return [
        DistrictSummary(area.code, area.name, households, members, orders)
        for area, households, members, orders in repo.district_counts(session)
    ]
