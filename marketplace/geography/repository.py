"""Geography queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from marketplace.geography.models import Area, AreaLevel
from marketplace.households.models import Household, Member
from marketplace.orders.models import Order


def get(session: Session, area_id: int) -> Area | None:
    """The area with this id."""
    return session.get(Area, area_id)


def get_by_code(session: Session, code: str) -> Area | None:
    """The area with this code."""
    return session.exec(select(Area).where(Area.code == code)).first()


def get_many(session: Session, area_ids: Sequence[int]) -> Sequence[Area]:
    """The areas with these ids (missing ids are left out)."""
    if not area_ids:
        return []
    return session.exec(select(Area).where(col(Area.id).in_(area_ids))).all()


def list_children(session: Session, parent_id: int) -> Sequence[Area]:
    """The areas directly below ``parent_id``, by code."""
    stmt = select(Area).where(Area.parent_id == parent_id).order_by(col(Area.code))
    return session.exec(stmt).all()


def list_by_level(session: Session, level: AreaLevel) -> Sequence[Area]:
    """Every area of one level, by code."""
    stmt = select(Area).where(Area.level == level.value).order_by(col(Area.code))
    return session.exec(stmt).all()


def district_counts(session: Session) -> list[tuple[Area, int, int, int]]:
    """Per district: households, members and orders (all time), in code order."""
    districts = list_by_level(session, AreaLevel.DISTRICT)
    households = dict(
        session.exec(
            select(Household.district_id, func.count()).group_by(col(Household.district_id))
        ).all()
    )
    members = dict(
        session.exec(
            select(Household.district_id, func.count())
            .join(Member, col(Member.household_id) == col(Household.id))
            .group_by(col(Household.district_id))
        ).all()
    )
    orders = dict(
        session.exec(
            select(Household.district_id, func.count())
            .join(Order, col(Order.household_id) == col(Household.id))
            .group_by(col(Household.district_id))
        ).all()
    )
    return [
        (d, households.get(d.id or 0, 0), members.get(d.id or 0, 0), orders.get(d.id or 0, 0))
        for d in sorted(districts, key=lambda a: a.code)
    ]
