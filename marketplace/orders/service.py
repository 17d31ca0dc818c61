"""Order use cases: create (quoted), confirm, schedule (book a worker), progress, cancel,
reschedule, refund; the ledger follows the money at each step (``accounting``).

Services flush and never commit; the caller's unit of work commits.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.errors import Conflict, InvalidState, NotFound, Validation
from core.ids import new_public_id
from core.timeutil import local_date, local_datetime, utcnow
from marketplace.catalog import service as catalog_service
from marketplace.households import service as households_service
from marketplace.households.models import Household, Member, PeriodKind
from marketplace.orders import accounting, quoting
from marketplace.orders import repository as repo
from marketplace.orders.models import (
    Frequency,
    Order,
    OrderPriority,
    OrderRating,
    OrderSeries,
    OrderStatus,
    OrderTimeWindow,
    OrderTransition,
    WorkerBooking,
)
from marketplace.orders.schemas import OrderCreate, SeriesCreate, TimeWindow
from marketplace.orders.state import OrderEvent, target
from marketplace.providers.models import Provider, Worker
from pricing import ledger
from pricing import repository as pricing_repo
from pricing import service as pricing_service
from pricing.billing import PriceSnapshot
from pricing.models import LedgerEntry, Payer

# Cancelling closer than this to the first window's start costs a fee.
FREE_CANCELLATION_HOURS = 2
# The late-cancellation fee, as a share of the household's co-pay (percent).
LATE_CANCELLATION_FEE_PERCENT = 20


def get_or_raise(session: Session, order_id: int) -> Order:
    """The order, or NotFound."""
    order = repo.get(session, order_id)
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    return order


def get_by_public_id_or_raise(session: Session, public_id: str) -> Order:
    """The order with this public id, or NotFound."""
    order = repo.get_by_public_id(session, public_id)
    if order is None:
        raise NotFound(f"order {public_id} does not exist")
    return order


def _record(
    session: Session,
    order: Order,
    event: OrderEvent,
    from_status: OrderStatus | None,
    *,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
) -> None:
    assert order.id is not None
    at = now or utcnow()
    order.updated_at = at
    session.add(
        OrderTransition(
            order_id=order.id,
            event=event.value,
            from_status=from_status.value if from_status else None,
            to_status=OrderStatus(order.status).value,
            actor=actor,
            reason=reason,
            at=at,
        )
    )


def _transition(
    session: Session,
    order: Order,
    event: OrderEvent,
    *,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
) -> Order:
    assert order.id is not None
    locked = repo.get_for_update(session, order.id)
    assert locked is not None
    current = OrderStatus(locked.status)
    locked.status = target(current, event)
    _record(session, locked, event, current, actor=actor, reason=reason, now=now)
    session.add(locked)
    session.flush()
    return locked


def _check_windows(service_date: date, windows: Sequence[TimeWindow]) -> None:
    for window in windows:
        if local_date(window.starts_at) != service_date:
            raise Validation(
                f"time window starting {window.starts_at.isoformat()} is not on the service "
                f"date {service_date.isoformat()} (Asia/Shanghai)"
            )
    ordered = sorted(windows, key=lambda w: w.starts_at)
    for a, b in itertools.pairwise(ordered):
        if b.starts_at < a.ends_at:
            raise Validation("time windows overlap")


def _free_cancel_until(windows: Sequence[TimeWindow]) -> datetime:
    return min(w.starts_at for w in windows) - timedelta(hours=FREE_CANCELLATION_HOURS)


def _add_windows(session: Session, order: Order, windows: Sequence[TimeWindow]) -> None:
    assert order.id is not None
    for window in windows:
        session.add(
            OrderTimeWindow(order_id=order.id, starts_at=window.starts_at, ends_at=window.ends_at)
        )


def _replace_windows(session: Session, order: Order, windows: Sequence[TimeWindow]) -> None:
    assert order.id is not None
    for old in repo.windows(session, order.id):
        session.delete(old)
    _add_windows(session, order, windows)
    order.free_cancel_until = _free_cancel_until(windows)


def _check_recipient(session: Session, member_id: int | None, day: date) -> None:
    """Nobody orders home services for a person recorded as deceased or moved away by then.

    A hospital stay does not refuse the order: it may end before the day, and dispatch skips
    the visit if it has not.
    """
    assert member_id is not None
    serviceable = households_service.is_serviceable(session, member_id, day)
    if not serviceable and serviceable.reason in (PeriodKind.DECEASED, PeriodKind.MOVED_AWAY):
        reason = "deceased" if serviceable.reason is PeriodKind.DECEASED else "moved away"
        raise Validation(f"the recipient is recorded as {reason} on {day.isoformat()}")


def create_order(
    session: Session,
    data: OrderCreate,
    *,
    actor: str,
    price: PriceSnapshot | None = None,
    series_id: int | None = None,
    now: datetime | None = None,
    public_id: str | None = None,
) -> Order:
    """Request a service, priced by a quote (tariff, subsidy, caps) unless ``price`` is given.

    The quote is kept in the order's price breakdown; an explicit price carries no quote, so
    the order has no subsidy in the ledger.
    """
    household = session.get(Household, data.household_id)
    if household is None:
        raise NotFound(f"household {data.household_id} does not exist")
    member = session.get(Member, data.recipient_member_id)
    if member is None or member.household_id != household.id:
        raise Validation("the recipient is not a member of this household")
    provider = session.get(Provider, data.provider_id)
    if provider is None or not provider.active:
        raise NotFound(f"provider {data.provider_id} does not exist or is inactive")
    item = catalog_service.get_item_or_raise(session, data.item_id)
    if not item.active:
        raise Validation(f"item {item.code} is no longer offered")
    _check_recipient(session, member.id, data.service_date)
    _check_windows(data.service_date, data.windows)
    duration = data.duration_minutes or item.default_duration_minutes
    at = now or utcnow()
    snapshot = price or _quoted_price(session, data, duration=duration, at=at)
    order = Order(
        public_id=public_id or new_public_id("ord"),
        household_id=data.household_id,
        recipient_member_id=data.recipient_member_id,
        provider_id=data.provider_id,
        item_id=data.item_id,
        series_id=series_id,
        ordered_by=actor,
        service_date=data.service_date,
        duration_minutes=duration,
        quantity=data.quantity,
        priority=data.priority,
        notes=data.notes,
        currency=snapshot.currency,
        list_price_fen=snapshot.list_price_fen,
        subsidy_fen=snapshot.subsidy_fen,
        ltc_fen=snapshot.ltc_fen,
        copay_fen=snapshot.copay_fen,
        price_breakdown=dict(snapshot.breakdown),
        policy_version=snapshot.policy_version,
        quoted_at=at,
        created_at=at,
        updated_at=at,
        free_cancel_until=_free_cancel_until(data.windows),
    )
    session.add(order)
    session.flush()
    _add_windows(session, order, data.windows)
    _record(session, order, OrderEvent.CREATE, None, actor=actor, now=at)
    session.flush()
    return order


def _quoted_price(
    session: Session, data: OrderCreate, *, duration: int, at: datetime
) -> PriceSnapshot:
    q = quoting.quote(
        session,
        member_id=data.recipient_member_id,
        provider_id=data.provider_id,
        item_id=data.item_id,
        start=min(w.starts_at for w in data.windows),
        minutes=duration,
        quantity=data.quantity,
        ordered_at=at,
    )
    return PriceSnapshot(
        list_price_fen=q.list_price_fen,
        subsidy_fen=q.subsidy_fen,
        ltc_fen=q.ltc_fen,
        breakdown=q.to_dict(),
        policy_version=q.policy_version,
    )


def _lock(session: Session, order: Order, event: OrderEvent) -> Order:
    """Take the ledger head lock, then the order's row; refuse an event its status forbids.

    Every path that writes ledger entries locks in this order, so two of them never wait for
    each other's second lock.
    """
    assert order.id is not None
    pricing_service.lock_ledger(session)
    locked = repo.get_for_update(session, order.id)
    assert locked is not None
    target(OrderStatus(locked.status), event)
    return locked


def confirm(session: Session, order: Order, *, actor: str, now: datetime | None = None) -> Order:
    """The provider accepts the order: its subsidy and co-pay are reserved in the ledger.

    Under the ledger lock the subsidy is checked again against the member's monthly cap and
    the district's budget as they stand now; if it no longer fits, Conflict, and the order
    stays as it was (quote again).
    """
    locked = _lock(session, order, OrderEvent.CONFIRM)
    accounting.check_reservation(session, locked)
    locked = _transition(session, locked, OrderEvent.CONFIRM, actor=actor, now=now)
    accounting.reserve(session, locked, actor=actor, now=now)
    return locked


def schedule(
    session: Session,
    order: Order,
    *,
    worker_id: int,
    start: datetime,
    actor: str,
    end: datetime | None = None,
    now: datetime | None = None,
) -> Order:
    """Book a worker for the order from ``start`` to ``end`` (default: for its duration).

    The database refuses a booking that overlaps another active booking of the same worker
    (exclusion constraint / trigger); that surfaces here as Conflict.
    """
    assert order.id is not None
    worker = session.get(Worker, worker_id)
    if worker is None or not worker.active:
        raise NotFound(f"worker {worker_id} does not exist or is inactive")
    if worker.provider_id != order.provider_id:
        raise Validation("the worker does not work for the order's provider")
    windows = repo.windows(session, order.id)
    if not any(w.starts_at <= start <= w.ends_at for w in windows):
        raise Validation("the start is outside every time window of the order")
    if end is None:
        end = start + timedelta(minutes=order.duration_minutes)
    elif end <= start:
        raise Validation("a booking must end after it starts")
    try:
        # One savepoint for the status change and the booking: a refused booking undoes both.
        with session.begin_nested():
            locked = _transition(session, order, OrderEvent.SCHEDULE, actor=actor, now=now)
            session.add(
                WorkerBooking(order_id=order.id, worker_id=worker_id, starts_at=start, ends_at=end)
            )
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"worker {worker.public_id} is already booked between "
            f"{start.isoformat()} and {end.isoformat()}"
        ) from exc
    locked.assigned_worker_id = worker_id
    locked.scheduled_start = start
    locked.scheduled_end = end
    session.add(locked)
    session.flush()
    return locked


def _release_booking(session: Session, order: Order, now: datetime | None) -> None:
    assert order.id is not None
    booking = repo.active_booking(session, order.id)
    if booking is not None:
        booking.active = False
        booking.released_at = now or utcnow()
        session.add(booking)
    order.assigned_worker_id = None
    order.scheduled_start = None
    order.scheduled_end = None


def unschedule(
    session: Session, order: Order, *, actor: str, reason: str = "", now: datetime | None = None
) -> Order:
    """Take a scheduled order off its worker's route (back to confirmed)."""
    locked = _transition(session, order, OrderEvent.UNSCHEDULE, actor=actor, reason=reason, now=now)
    _release_booking(session, locked, now)
    session.flush()
    return locked


def depart(session: Session, order: Order, *, actor: str, now: datetime | None = None) -> Order:
    """The worker is on the way."""
    return _transition(session, order, OrderEvent.DEPART, actor=actor, now=now)


def start_service(
    session: Session, order: Order, *, actor: str, now: datetime | None = None
) -> Order:
    """The worker checked in at the home."""
    return _transition(session, order, OrderEvent.CHECK_IN, actor=actor, now=now)


def complete(session: Session, order: Order, *, actor: str, now: datetime | None = None) -> Order:
    """The worker checked out; the service is done and what was reserved is consumed."""
    locked = _lock(session, order, OrderEvent.COMPLETE)
    locked = _transition(session, locked, OrderEvent.COMPLETE, actor=actor, now=now)
    accounting.consume(session, locked, actor=actor, now=now)
    return locked


def settle(session: Session, order: Order, *, actor: str, now: datetime | None = None) -> Order:
    """Payment and subsidy for the order are settled."""
    return _transition(session, order, OrderEvent.SETTLE, actor=actor, now=now)


def cancellation_fee(order: Order, at: datetime) -> int:
    """The fee (fen) for cancelling at ``at``: nothing before the free window closes."""
    if order.free_cancel_until is None or at <= order.free_cancel_until:
        return 0
    return (order.copay_fen * LATE_CANCELLATION_FEE_PERCENT + 50) // 100


def cancel(
    session: Session, order: Order, *, actor: str, reason: str, now: datetime | None = None
) -> Order:
    """Cancel the order; a late cancellation records a fee.

    The fee is consumed from the household's reservation and the rest of it released; the
    subsidy is always released in full.
    """
    if not reason.strip():
        raise Validation("a cancellation needs a reason")
    at = now or utcnow()
    locked = _lock(session, order, OrderEvent.CANCEL)
    locked = _transition(session, locked, OrderEvent.CANCEL, actor=actor, reason=reason, now=at)
    locked.cancellation_fee_fen = cancellation_fee(locked, at)
    locked.cancel_reason = reason
    _release_booking(session, locked, at)
    session.add(locked)
    session.flush()
    accounting.release(
        session,
        locked,
        actor=actor,
        reason=f"cancelled: {reason}",
        now=at,
        household_fee_fen=locked.cancellation_fee_fen,
    )
    return locked


def mark_no_show(
    session: Session, order: Order, *, actor: str, reason: str, now: datetime | None = None
) -> Order:
    """Nobody was home (or the worker never came); the booking and the reserved money are
    released."""
    locked = _lock(session, order, OrderEvent.NO_SHOW)
    locked = _transition(session, locked, OrderEvent.NO_SHOW, actor=actor, reason=reason, now=now)
    _release_booking(session, locked, now)
    session.flush()
    accounting.release(session, locked, actor=actor, reason=f"no-show: {reason}", now=now)
    return locked


def refund(
    session: Session,
    order: Order,
    *,
    amount_fen: int,
    payer: Payer,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> LedgerEntry:
    """Reverse consumed money: a refund to the household, or an audit clawback of the subsidy.

    Refuses more than the payer's consumed money not yet reversed (Validation).
    """
    if amount_fen <= 0:
        raise Validation("a refund must be a positive amount")
    if not reason.strip():
        raise Validation("a refund needs a reason")
    assert order.id is not None
    pricing_service.lock_ledger(session)
    locked = repo.get_for_update(session, order.id)
    assert locked is not None
    return accounting.reverse(
        session, locked, amount_fen=amount_fen, payer=payer, reason=reason, actor=actor, now=now
    )


def reschedule(
    session: Session,
    order: Order,
    *,
    service_date: date,
    windows: Sequence[TimeWindow],
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> Order:
    """Move the order to new windows; any booking is released and it is planned again."""
    if not windows:
        raise Validation("a reschedule needs at least one time window")
    _check_windows(service_date, windows)
    locked = _transition(session, order, OrderEvent.RESCHEDULE, actor=actor, reason=reason, now=now)
    _release_booking(session, locked, now)
    locked.service_date = service_date
    _replace_windows(session, locked, windows)
    session.add(locked)
    session.flush()
    return locked


def booking_of(session: Session, order: Order) -> WorkerBooking | None:
    """The order's active booking, if it is booked."""
    assert order.id is not None
    return repo.active_booking(session, order.id)


def list_page(
    session: Session, scope: repo.OrderScope, *, after_id: int = 0, limit: int = 50
) -> Sequence[Order]:
    """A page of the orders in ``scope``, in id order after ``after_id``."""
    return repo.list_page(session, scope, after_id=after_id, limit=limit)


def transitions(session: Session, order: Order) -> Sequence[OrderTransition]:
    """The order's history."""
    assert order.id is not None
    return repo.transitions(session, order.id)


def windows_of(session: Session, order: Order) -> Sequence[OrderTimeWindow]:
    """The order's time windows."""
    assert order.id is not None
    return repo.windows(session, order.id)


def windows_of_orders(
    session: Session, order_ids: Sequence[int]
) -> dict[int, list[OrderTimeWindow]]:
    """The time windows of many orders, in one query, by order id."""
    return repo.windows_of_orders(session, order_ids)


def create_series(
    session: Session, data: SeriesCreate, *, actor: str, public_id: str | None = None
) -> OrderSeries:
    """Create a recurring order; call :func:`materialize_series` to generate its orders."""
    member = session.get(Member, data.recipient_member_id)
    if member is None or member.household_id != data.household_id:
        raise Validation("the recipient is not a member of this household")
    item = catalog_service.get_item_or_raise(session, data.item_id)
    series = OrderSeries(
        public_id=public_id or new_public_id("ser"),
        household_id=data.household_id,
        recipient_member_id=data.recipient_member_id,
        provider_id=data.provider_id,
        item_id=data.item_id,
        frequency=data.frequency,
        weekdays=sorted(set(data.weekdays)),
        window_start=data.window_start,
        window_end=data.window_end,
        duration_minutes=data.duration_minutes or item.default_duration_minutes,
        quantity=data.quantity,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        created_by=actor,
    )
    session.add(series)
    session.flush()
    return series


def series_dates(series: OrderSeries, start: date, end: date) -> list[date]:
    """The dates in [start, end] on which the series has a service."""
    first = max(start, series.starts_on)
    last = min(end, series.ends_on) if series.ends_on else end
    days: list[date] = []
    day = first
    while day <= last:
        if series.frequency == Frequency.DAILY or day.weekday() in series.weekdays:
            days.append(day)
        day += timedelta(days=1)
    return days


def materialize_series(
    session: Session,
    series: OrderSeries,
    start: date,
    end: date,
    *,
    actor: str,
    now: datetime | None = None,
    public_ids: Callable[[], str] | None = None,
) -> list[Order]:
    """Create (and confirm) the series' orders in [start, end]; existing dates are skipped.

    ``public_ids`` draws each new order's public id (default: random from the OS).
    """
    if not series.active:
        raise Validation("the series is not active")
    assert series.id is not None
    existing = repo.series_dates(session, series.id)
    created: list[Order] = []
    for day in series_dates(series, start, end):
        if day in existing:
            continue
        window = TimeWindow(
            starts_at=local_datetime(day, series.window_start),
            ends_at=local_datetime(day, series.window_end),
        )
        order = create_order(
            session,
            OrderCreate(
                household_id=series.household_id,
                recipient_member_id=series.recipient_member_id,
                provider_id=series.provider_id,
                item_id=series.item_id,
                service_date=day,
                windows=[window],
                duration_minutes=series.duration_minutes,
                quantity=series.quantity,
            ),
            actor=actor,
            series_id=series.id,
            now=now,
            public_id=public_ids() if public_ids is not None else None,
        )
        created.append(confirm(session, order, actor=f"series:{series.public_id}", now=now))
    return created


def bookings_on_day(
    session: Session,
    day: date,
    *,
    provider_id: int | None = None,
    worker_id: int | None = None,
) -> Sequence[tuple[WorkerBooking, Order]]:
    """The day's routes as booked: active bookings of orders for ``day`` with their orders, by
    worker and start time (optionally one provider's orders or one worker's)."""
    return repo.bookings_on_day(session, day, provider_id=provider_id, worker_id=worker_id)


def progress_of(status: OrderStatus | str) -> str:
    """Where a booked order stands on the day: ``done``, ``in_service`` or ``to_do``
    (``dropped`` for an order that will not be served)."""
    current = OrderStatus(status)
    if current in (OrderStatus.COMPLETED, OrderStatus.SETTLED):
        return "done"
    if current is OrderStatus.IN_SERVICE:
        return "in_service"
    if current in (OrderStatus.CANCELLED, OrderStatus.NO_SHOW):
        return "dropped"
    return "to_do"


def mark_urgent(
    session: Session, order: Order, *, actor: str, reason: str = "", now: datetime | None = None
) -> Order:
    """Have dispatch plan the order first (and drop it last). The price stays as quoted: this
    is the dispatcher's call, not a new urgent order. Recorded in the order's history."""
    assert order.id is not None
    locked = repo.get_for_update(session, order.id)
    assert locked is not None
    if OrderPriority(locked.priority) is OrderPriority.URGENT:
        return locked
    at = now or utcnow()
    status = OrderStatus(locked.status).value
    locked.priority = OrderPriority.URGENT
    locked.updated_at = at
    session.add(locked)
    session.add(
        OrderTransition(
            order_id=order.id,
            event="mark_urgent",
            from_status=status,
            to_status=status,
            actor=actor,
            reason=reason[:200],
            at=at,
        )
    )
    session.flush()
    return locked


@dataclass(frozen=True, slots=True)
class SubsidyBalance:
    """A member's subsidy and long-term-care insurance money in one service month (fen)."""

    month: str
    as_of: date  # the day the member's groups, the policy and the LTC benefit are read on
    groups: tuple[str, ...]
    policy_version: str
    cap_fen: int
    committed_fen: int  # reserved or used
    consumed_fen: int  # used (visits verified)
    ltc_scheme: str | None
    ltc_limit_fen: int
    ltc_committed_fen: int

    @property
    def remaining_fen(self) -> int:
        """What is left of the monthly cap."""
        return max(self.cap_fen - self.committed_fen, 0)

    @property
    def ltc_remaining_fen(self) -> int:
        """What is left of the insurer's monthly limit."""
        return max(self.ltc_limit_fen - self.ltc_committed_fen, 0)


def _month_days(month: str) -> tuple[date, date]:
    year, dash, number = month.partition("-")
    if not (dash and len(year) == 4 and year.isdigit() and len(number) == 2 and number.isdigit()):
        raise Validation(f"month must be YYYY-MM, not {month!r}")
    if not (1 <= int(number) <= 12 and 1900 <= int(year) <= 2999):
        raise Validation(f"month must be YYYY-MM, not {month!r}")
    first = date(int(year), int(number), 1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def subsidy_balance(
    session: Session, member_id: int, month: str, *, today: date | None = None
) -> SubsidyBalance:
    """The member's monthly cap and what is committed against it, and the insurer's limit and
    what it has committed, for the service month ``YYYY-MM``.

    The cap is the largest of the member's groups' caps under the policy in force, both read
    on ``as_of``: today within the month, else its first or last day.
    """
    first, last = _month_days(month)
    households_service.get_member_or_raise(session, member_id)
    as_of = min(max(today or local_date(utcnow()), first), last)
    groups = quoting.groups_on(session, member_id, as_of)
    policy = pricing_service.policy_on(session, as_of)
    row = pricing_repo.member_balance(session, member_id, month)
    benefit = households_service.ltc_entitlement_on(session, member_id, as_of)
    return SubsidyBalance(
        month=month,
        as_of=as_of,
        groups=tuple(g.value for g in groups),
        policy_version=policy.version,
        cap_fen=max((policy.monthly_cap_fen.get(g, 0) for g in groups), default=0),
        committed_fen=0 if row is None else row.committed_fen,
        consumed_fen=0 if row is None else row.consumed_fen,
        ltc_scheme=None if benefit is None else benefit.scheme,
        ltc_limit_fen=0 if benefit is None else benefit.monthly_limit_fen,
        ltc_committed_fen=ledger.member_ltc_committed(session, member_id, month),
    )


RATEABLE = frozenset({OrderStatus.COMPLETED, OrderStatus.SETTLED})


def rate(session: Session, order: Order, *, stars: int, comment: str, actor: str) -> OrderRating:
    """The household rates a service it received, once."""
    if OrderStatus(order.status) not in RATEABLE:
        raise InvalidState("only a completed order can be rated")
    if not 1 <= stars <= 5:
        raise Validation("stars are 1 to 5")
    assert order.id is not None
    if repo.rating_of(session, order.id) is not None:
        raise Conflict("this order is rated already")
    rating = OrderRating(order_id=order.id, stars=stars, comment=comment, rated_by=actor)
    session.add(rating)
    session.flush()
    return rating


def rating_of(session: Session, order: Order) -> OrderRating | None:
    """The order's rating, if any."""
    assert order.id is not None
    return repo.rating_of(session, order.id)
