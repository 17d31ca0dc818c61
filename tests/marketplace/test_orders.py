"""Orders: the state machine, transitions with who and when, windows, fees, recurrence."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlmodel import Session

from core.errors import Conflict, InvalidState, Validation
from core.timeutil import local_datetime
from marketplace.orders import repository as orders_repo
from marketplace.orders import service as orders_service
from marketplace.orders.models import Frequency, Order, OrderSeries, OrderStatus
from marketplace.orders.schemas import OrderCreate, SeriesCreate
from marketplace.orders.state import TRANSITIONS, OrderEvent, events_from, target
from marketplace.providers.models import Provider, Worker
from tests import factories as f

NINE = local_datetime(f.DAY, time(9, 0))


def _provider_of(session: Session, order: Order) -> Provider:
    provider = session.get(Provider, order.provider_id)
    assert provider is not None
    return provider


def _scheduled(session: Session, *, start: object = NINE) -> tuple[Order, Worker]:
    order = f.make_order(session, confirm=True)
    worker = f.make_worker(session, provider=_provider_of(session, order))
    assert worker.id is not None
    order = orders_service.schedule(
        session, order, worker_id=worker.id, start=NINE, actor="dispatcher:1"
    )
    return order, worker


class TestStateMachine:
    """Pure rules of which event may move which status."""

    @pytest.mark.parametrize("status", list(OrderStatus))
    @pytest.mark.parametrize("event", [e for e in OrderEvent if e is not OrderEvent.CREATE])
    def test_every_pair_is_allowed_or_refused(self, status: OrderStatus, event: OrderEvent) -> None:
        allowed, to = TRANSITIONS[event]
        if status in allowed:
            assert target(status, event) in {to, OrderStatus.REQUESTED}
        else:
            with pytest.raises(InvalidState) as err:
                target(status, event)
            assert err.value.extra["current"] == status.value
            assert err.value.extra["event"] == event.value

    def test_terminal_statuses_allow_nothing(self) -> None:
        for status in (OrderStatus.SETTLED, OrderStatus.CANCELLED, OrderStatus.NO_SHOW):
            assert events_from(status) == []


class TestCreate:
    """Creating an order validates its parts and keeps a price snapshot."""

    def test_price_snapshot_and_first_transition(self, session: Session) -> None:
        order = f.make_order(session, duration_minutes=100)
        # daily living care for the factory's 86-year-old: the 80+ care subsidy caps the price
        # at the 45.00/h guide price; 100 min billed as 105 min (15-minute steps) = 78.75
        assert order.list_price_fen == 7875
        assert order.copay_fen + order.subsidy_fen == order.list_price_fen
        assert order.price_breakdown["billed_minutes"] == 105
        assert order.public_id.startswith("ord_") and len(order.public_id) == 24
        history = orders_service.transitions(session, order)
        assert [(t.event, t.to_status, t.actor) for t in history] == [
            ("create", "requested", "test:household")
        ]

    def test_window_on_another_day_is_refused(self, session: Session) -> None:
        with pytest.raises(Validation, match="not on the service date"):
            f.make_order(session, windows=[f.window(f.DAY + timedelta(days=1), time(9), time(10))])

    def test_overlapping_windows_are_refused(self, session: Session) -> None:
        windows = [f.window(f.DAY, time(9), time(11)), f.window(f.DAY, time(10), time(12))]
        with pytest.raises(Validation, match="overlap"):
            f.make_order(session, windows=windows)

    def test_two_windows_are_kept_in_order(self, session: Session) -> None:
        windows = [f.window(f.DAY, time(14), time(16)), f.window(f.DAY, time(9), time(10))]
        order = f.make_order(session, windows=windows)
        kept = orders_service.windows_of(session, order)
        assert [w.starts_at for w in kept] == [windows[1].starts_at, windows[0].starts_at]
        # Free cancellation ends two hours before the earliest window.
        assert order.free_cancel_until == windows[1].starts_at - timedelta(hours=2)

    def test_recipient_must_belong_to_household(self, session: Session) -> None:
        household, _ = f.make_household(session)
        _, stranger = f.make_household(session)
        provider = f.make_provider(session)
        item = f.item(session)
        assert household.id and stranger.id and provider.id and item.id
        with pytest.raises(Validation, match="not a member"):
            orders_service.create_order(
                session,
                OrderCreate(
                    household_id=household.id,
                    recipient_member_id=stranger.id,
                    provider_id=provider.id,
                    item_id=item.id,
                    service_date=f.DAY,
                    windows=[f.window(f.DAY, time(9), time(10))],
                ),
                actor="test",
            )


class TestLifecycle:
    """The happy path and its branches, recorded with actor and time."""

    def test_full_path_records_every_transition(self, session: Session) -> None:
        order, _ = _scheduled(session)
        assert order.scheduled_end == NINE + timedelta(minutes=60)
        order = orders_service.depart(session, order, actor="worker:1")
        order = orders_service.start_service(session, order, actor="worker:1")
        order = orders_service.complete(session, order, actor="worker:1")
        order = orders_service.settle(session, order, actor="system:settlement")
        session.commit()
        history = orders_service.transitions(session, order)
        assert [(t.event, t.from_status, t.to_status) for t in history] == [
            ("create", None, "requested"),
            ("confirm", "requested", "confirmed"),
            ("schedule", "confirmed", "scheduled"),
            ("depart", "scheduled", "en_route"),
            ("check_in", "en_route", "in_service"),
            ("complete", "in_service", "completed"),
            ("settle", "completed", "settled"),
        ]
        assert history[2].actor == "dispatcher:1"
        assert all(t.at.tzinfo is not None for t in history)

    def test_illegal_transition_is_refused_and_nothing_changes(self, session: Session) -> None:
        order = f.make_order(session)
        session.commit()
        with pytest.raises(InvalidState, match="cannot complete an order that is requested"):
            orders_service.complete(session, order, actor="worker:1")
        session.rollback()
        reloaded = orders_repo.get(session, order.id or 0)
        assert reloaded is not None and reloaded.status == OrderStatus.REQUESTED
        assert len(orders_service.transitions(session, reloaded)) == 1

    def test_settled_order_cannot_be_cancelled(self, session: Session) -> None:
        order, _ = _scheduled(session)
        orders_service.start_service(session, order, actor="w")
        orders_service.complete(session, order, actor="w")
        orders_service.settle(session, order, actor="s")
        with pytest.raises(InvalidState):
            orders_service.cancel(session, order, actor="h", reason="changed my mind")

    def test_schedule_outside_windows_is_refused(self, session: Session) -> None:
        order = f.make_order(session, confirm=True)
        worker = f.make_worker(session, provider=_provider_of(session, order))
        with pytest.raises(Validation, match="outside every time window"):
            orders_service.schedule(
                session,
                order,
                worker_id=worker.id or 0,
                start=NINE + timedelta(hours=3),
                actor="d",
            )

    def test_worker_of_another_provider_is_refused(self, session: Session) -> None:
        order = f.make_order(session, confirm=True)
        other = f.make_worker(session, provider=f.make_provider(session))
        with pytest.raises(Validation, match="does not work for"):
            orders_service.schedule(session, order, worker_id=other.id or 0, start=NINE, actor="d")

    def test_overlapping_booking_is_refused_and_adjacent_is_fine(self, session: Session) -> None:
        first, worker = _scheduled(session)
        provider = _provider_of(session, first)
        second = f.make_order(session, provider=provider, confirm=True)
        with pytest.raises(Conflict, match="already booked"):
            orders_service.schedule(
                session,
                second,
                worker_id=worker.id or 0,
                start=NINE + timedelta(minutes=30),
                actor="d",
            )
        # The refused booking left the session usable and the order still confirmed.
        assert orders_repo.get(session, second.id or 0).status == OrderStatus.CONFIRMED  # type: ignore[union-attr]
        adjacent = f.make_order(
            session,
            provider=provider,
            confirm=True,
            windows=[f.window(f.DAY, time(10), time(12))],
        )
        orders_service.schedule(
            session,
            adjacent,
            worker_id=worker.id or 0,
            start=NINE + timedelta(hours=1),
            actor="d",
        )
        session.commit()
        assert len(orders_repo.worker_bookings(session, worker.id or 0)) == 2

    def test_cancel_releases_the_booking_so_the_slot_is_free(self, session: Session) -> None:
        first, worker = _scheduled(session)
        orders_service.cancel(
            session, first, actor="household", reason="hospital", now=NINE - timedelta(days=1)
        )
        assert first.cancellation_fee_fen == 0
        again = f.make_order(session, provider=_provider_of(session, first), confirm=True)
        orders_service.schedule(session, again, worker_id=worker.id or 0, start=NINE, actor="d")
        session.commit()
        assert [b.order_id for b in orders_repo.worker_bookings(session, worker.id or 0)] == [
            again.id
        ]

    def test_late_cancellation_costs_a_fee(self, session: Session) -> None:
        order, _ = _scheduled(session)
        late = NINE - timedelta(minutes=30)
        order = orders_service.cancel(session, order, actor="household", reason="x", now=late)
        assert order.status == OrderStatus.CANCELLED
        # 20 % of the 22.50 co-pay (45.00 at the guide price, half of it subsidised for 80+).
        assert order.cancellation_fee_fen == 450
        history = orders_service.transitions(session, order)
        assert (history[-1].event, history[-1].reason, history[-1].at) == ("cancel", "x", late)

    def test_cancel_needs_a_reason(self, session: Session) -> None:
        order = f.make_order(session)
        with pytest.raises(Validation, match="reason"):
            orders_service.cancel(session, order, actor="h", reason="  ")

    def test_no_show_releases_booking(self, session: Session) -> None:
        order, worker = _scheduled(session)
        orders_service.mark_no_show(session, order, actor="worker:1", reason="nobody home")
        assert order.status == OrderStatus.NO_SHOW
        assert orders_repo.worker_bookings(session, worker.id or 0) == []

    def test_reschedule_moves_windows_and_unassigns(self, session: Session) -> None:
        order, worker = _scheduled(session)
        new_day = f.DAY + timedelta(days=2)
        order = orders_service.reschedule(
            session,
            order,
            service_date=new_day,
            windows=[f.window(new_day, time(14), time(15))],
            actor="household",
            reason="clinic",
        )
        assert order.status == OrderStatus.CONFIRMED
        assert order.service_date == new_day
        assert order.assigned_worker_id is None
        assert orders_repo.worker_bookings(session, worker.id or 0) == []
        assert orders_service.transitions(session, order)[-1].event == "reschedule"


class TestSeries:
    """Recurring orders generate one confirmed order per service day, once."""

    def _series(self, session: Session, frequency: Frequency, weekdays: list[int]) -> OrderSeries:
        household, member = f.make_household(session)
        provider = f.make_provider(session)
        item = f.item(session, "meal.lunch")
        assert household.id and member.id and provider.id and item.id
        return orders_service.create_series(
            session,
            SeriesCreate(
                household_id=household.id,
                recipient_member_id=member.id,
                provider_id=provider.id,
                item_id=item.id,
                frequency=frequency,
                weekdays=weekdays,
                window_start=time(11),
                window_end=time(12),
                starts_on=date(2026, 11, 30),
                ends_on=date(2026, 12, 13),
            ),
            actor="household",
        )

    def test_daily_lunch_for_a_week_and_idempotent(self, session: Session) -> None:
        series = self._series(session, Frequency.DAILY, [])
        week = (date(2026, 11, 30), date(2026, 12, 6))
        created = orders_service.materialize_series(session, series, *week, actor="system")
        assert [o.service_date for o in created] == [
            date(2026, 11, 30) + timedelta(days=i) for i in range(7)
        ]
        assert all(o.status == OrderStatus.CONFIRMED for o in created)
        again = orders_service.materialize_series(session, series, *week, actor="system")
        assert again == []
        session.commit()

    def test_weekly_on_monday_and_thursday_within_end_date(self, session: Session) -> None:
        series = self._series(session, Frequency.WEEKLY, [0, 3])
        created = orders_service.materialize_series(
            session,
            series,
            date(2026, 11, 1),
            date(2026, 12, 31),
            actor="system",
        )
        assert [o.service_date.isoformat() for o in created] == [
            "2026-11-30",
            "2026-12-03",
            "2026-12-07",
            "2026-12-10",
        ]

    def test_weekly_without_weekdays_is_invalid(self) -> None:
        with pytest.raises(ValueError, match="weekday"):
            SeriesCreate(
                household_id=1,
                recipient_member_id=1,
                provider_id=1,
                item_id=1,
                frequency=Frequency.WEEKLY,
                weekdays=[],
                window_start=time(9),
                window_end=time(10),
                starts_on=date(2026, 12, 1),
            )


class TestRecipientStatus:
    """Orders for someone recorded as deceased or moved away are refused; hospital is not."""

    def _period(self, session: Session, member_id: int, kind: str, start: date) -> None:
        from marketplace.households import service as households_service
        from marketplace.households.models import PeriodKind
        from marketplace.households.schemas import StatusPeriodCreate

        households_service.record_status_period(
            session,
            member_id,
            StatusPeriodCreate(kind=PeriodKind(kind), starts_on=start, recorded_by="staff:1"),
        )

    def _order(self, session: Session, household_id: int, member_id: int) -> Order:
        provider = f.make_provider(session)
        item = f.item(session)
        assert provider.id is not None
        assert item.id is not None
        return orders_service.create_order(
            session,
            OrderCreate(
                household_id=household_id,
                recipient_member_id=member_id,
                provider_id=provider.id,
                item_id=item.id,
                service_date=f.DAY,
                windows=[f.window(f.DAY, time(9), time(10))],
            ),
            actor="test",
        )

    @pytest.mark.parametrize(
        ("kind", "refused"), [("deceased", True), ("moved_away", True), ("hospital", False)]
    )
    def test_status_on_the_day(self, session: Session, kind: str, refused: bool) -> None:
        household, member = f.make_household(session)
        assert household.id is not None
        assert member.id is not None
        self._period(session, member.id, kind, f.DAY - timedelta(days=3))
        if refused:
            with pytest.raises(Validation, match="recorded as"):
                self._order(session, household.id, member.id)
        else:
            assert self._order(session, household.id, member.id).status == OrderStatus.REQUESTED

    def test_death_after_the_day_does_not_refuse(self, session: Session) -> None:
        household, member = f.make_household(session)
        assert household.id is not None
        assert member.id is not None
        self._period(session, member.id, "deceased", f.DAY + timedelta(days=1))
        assert self._order(session, household.id, member.id).id is not None
