"""Order queries."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from marketplace.households.models import Household
from marketplace.orders.models import (
    Order,
    OrderRating,
    OrderSeries,
    OrderStatus,
    OrderTimeWindow,
    OrderTransition,
    WorkerBooking,
)


def get(session: Session, order_id: int) -> Order | None:
    """The order with this id."""
    return session.get(Order, order_id)


def get_by_public_id(session: Session, public_id: str) -> Order | None:
    """The order with this public id."""
    return session.exec(select(Order).where(Order.public_id == public_id)).first()


def get_for_update(session: Session, order_id: int) -> Order | None:
    """The order, row-locked until the transaction ends (PostgreSQL; SQLite writers serialise)."""
    stmt = select(Order).where(Order.id == order_id).with_for_update()
    return session.exec(stmt.execution_options(populate_existing=True)).first()


def windows(session: Session, order_id: int) -> Sequence[OrderTimeWindow]:
    """The order's time windows, earliest first."""
    stmt = (
        select(OrderTimeWindow)
        .where(OrderTimeWindow.order_id == order_id)
        .order_by(col(OrderTimeWindow.starts_at))
    )
    return session.exec(stmt).all()


def windows_of_orders(
    session: Session, order_ids: Sequence[int]
) -> dict[int, list[OrderTimeWindow]]:
    """The time windows of many orders in one query, earliest first, by order id."""
    found: dict[int, list[OrderTimeWindow]] = {oid: [] for oid in order_ids}
    if not order_ids:
        return found
    stmt = (
        select(OrderTimeWindow)
        .where(col(OrderTimeWindow.order_id).in_(list(order_ids)))
        .order_by(col(OrderTimeWindow.order_id), col(OrderTimeWindow.starts_at))
    )
    for window in session.exec(stmt).all():
        found[window.order_id].append(window)
    return found


def transitions(session: Session, order_id: int) -> Sequence[OrderTransition]:
    """The order's recorded transitions, oldest first."""
    stmt = (
        select(OrderTransition)
        .where(OrderTransition.order_id == order_id)
        .order_by(col(OrderTransition.id))
    )
    return session.exec(stmt).all()


def active_booking(session: Session, order_id: int) -> WorkerBooking | None:
    """The order's active booking, if it is scheduled."""
    stmt = select(WorkerBooking).where(
        WorkerBooking.order_id == order_id, col(WorkerBooking.active).is_(True)
    )
    return session.exec(stmt).first()


def worker_bookings(session: Session, worker_id: int) -> Sequence[WorkerBooking]:
    """A worker's active bookings, in time order."""
    stmt = (
        select(WorkerBooking)
        .where(WorkerBooking.worker_id == worker_id, col(WorkerBooking.active).is_(True))
        .order_by(col(WorkerBooking.starts_at))
    )
    return session.exec(stmt).all()


def bookings_between(
    session: Session, worker_ids: Collection[int], start: datetime, end: datetime
) -> Sequence[tuple[WorkerBooking, Order]]:
    """Active bookings of these workers that overlap [start, end), with their orders."""
    if not worker_ids:
        return []
    stmt = (
        select(WorkerBooking, Order)
        .join(Order, col(Order.id) == col(WorkerBooking.order_id))
        .where(
            col(WorkerBooking.worker_id).in_(list(worker_ids)),
            col(WorkerBooking.active).is_(True),
            col(WorkerBooking.starts_at) < end,
            col(WorkerBooking.ends_at) > start,
        )
        .order_by(col(WorkerBooking.worker_id), col(WorkerBooking.starts_at))
    )
    return [(booking, order) for booking, order in session.exec(stmt).all()]


def series_dates(session: Session, series_id: int) -> set[date]:
    """Service dates that already have an order from this series."""
    stmt = select(Order).where(Order.series_id == series_id)
    return {order.service_date for order in session.exec(stmt).all()}


def get_series(session: Session, series_id: int) -> OrderSeries | None:
    """The recurring series with this id."""
    return session.get(OrderSeries, series_id)


def list_for_day(
    session: Session,
    day: date,
    *,
    statuses: Sequence[OrderStatus] | None = None,
    district_id: int | None = None,
) -> Sequence[Order]:
    """Orders for one service date, optionally only in some statuses or one district."""
    stmt = select(Order).where(Order.service_date == day)
    if district_id is not None:
        stmt = stmt.join(Household, col(Household.id) == col(Order.household_id)).where(
            Household.district_id == district_id
        )
    if statuses:
        stmt = stmt.where(col(Order.status).in_([s.value for s in statuses]))
    return session.exec(stmt.order_by(col(Order.id))).all()


def list_for_household(session: Session, household_id: int) -> Sequence[Order]:
    """A household's orders, newest service date first."""
    stmt = (
        select(Order)
        .where(Order.household_id == household_id)
        .order_by(col(Order.service_date).desc(), col(Order.id).desc())
    )
    return session.exec(stmt).all()


@dataclass(frozen=True, slots=True)
class OrderScope:
    """Which orders a caller may see; every set field narrows (none set: all orders)."""

    household_id: int | None = None
    member_ids: frozenset[int] | None = None
    provider_id: int | None = None
    worker_id: int | None = None
    subsidised_only: bool = False


def list_page(session: Session, scope: OrderScope, *, after_id: int, limit: int) -> Sequence[Order]:
    """Orders in the scope with ids above ``after_id``, in id order, ``limit`` of them."""
    stmt = select(Order).where(col(Order.id) > after_id)
    if scope.household_id is not None:
        stmt = stmt.where(col(Order.household_id) == scope.household_id)
    if scope.member_ids is not None:
        stmt = stmt.where(col(Order.recipient_member_id).in_(sorted(scope.member_ids)))
    if scope.provider_id is not None:
        stmt = stmt.where(col(Order.provider_id) == scope.provider_id)
    if scope.worker_id is not None:
        booked = select(WorkerBooking.order_id).where(
            col(WorkerBooking.worker_id) == scope.worker_id, col(WorkerBooking.active)
        )
        stmt = stmt.where(col(Order.id).in_(booked))
    if scope.subsidised_only:
        stmt = stmt.where((col(Order.subsidy_fen) > 0) | (col(Order.ltc_fen) > 0))
    return session.exec(stmt.order_by(col(Order.id)).limit(limit)).all()


def bookings_on_day(
    session: Session,
    day: date,
    *,
    provider_id: int | None = None,
    worker_id: int | None = None,
) -> Sequence[tuple[WorkerBooking, Order]]:
    """Active bookings of orders for one service date (optionally of one provider's orders or
    one worker), with their orders, by worker and start time."""
    stmt = (
        select(WorkerBooking, Order)
        .join(Order, col(Order.id) == col(WorkerBooking.order_id))
        .where(col(WorkerBooking.active).is_(True), Order.service_date == day)
    )
    if provider_id is not None:
        stmt = stmt.where(Order.provider_id == provider_id)
    if worker_id is not None:
        stmt = stmt.where(WorkerBooking.worker_id == worker_id)
    stmt = stmt.order_by(
        col(WorkerBooking.worker_id), col(WorkerBooking.starts_at), col(WorkerBooking.id)
    )
    return [(booking, order) for booking, order in session.exec(stmt).all()]


def subsidised_page(
    session: Session,
    *,
    first: date | None = None,
    last: date | None = None,
    provider_id: int | None = None,
    after_id: int,
    limit: int,
) -> Sequence[Order]:
    """Orders paid in part by the subsidy or long-term-care insurance, in id order after
    ``after_id`` (optionally served from ``first`` to ``last``, or one provider's)."""
    stmt = select(Order).where(
        col(Order.id) > after_id, (col(Order.subsidy_fen) > 0) | (col(Order.ltc_fen) > 0)
    )
    if first is not None:
        stmt = stmt.where(col(Order.service_date) >= first)
    if last is not None:
        stmt = stmt.where(col(Order.service_date) <= last)
    if provider_id is not None:
        stmt = stmt.where(col(Order.provider_id) == provider_id)
    return session.exec(stmt.order_by(col(Order.id)).limit(limit)).all()


def rating_of(session: Session, order_id: int) -> OrderRating | None:
    """The order's rating, if the household gave one."""
    return session.exec(select(OrderRating).where(col(OrderRating.order_id) == order_id)).first()
