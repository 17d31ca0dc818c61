"""Runs and plans: versioning, persisting a solution, applying it to orders and bookings."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlmodel import Session

from core.errors import InvalidState, Validation
from core.timeutil import local_datetime
from dispatch import repository as dispatch_repo
from dispatch import service as dispatch_service
from dispatch.models import RunStatus
from dispatch.problem import JobKind, Route, Solution, Stop
from marketplace.orders import repository as orders_repo
from marketplace.orders.models import OrderStatus
from tests import factories as f

EPOCH = local_datetime(f.DAY, time(0))
H = 3600
_S = timedelta(seconds=1)


def _source(job_orders: dict[str, int], worker_ids: dict[str, int]) -> dispatch_service.PlanSource:
    return dispatch_service.PlanSource(
        epoch=EPOCH,
        job_orders=job_orders,
        job_kinds=dict.fromkeys(job_orders, JobKind.SERVICE),
        worker_ids=worker_ids,
    )


def _solution(stops: list[tuple[str, int]], worker: str = "w") -> Solution:
    route = Route(
        worker_id=worker,
        start=8 * H,
        end=17 * H,
        stops=tuple(Stop(j, 0, s, s, s + H, 600, 1000) for j, s in stops),
    )
    return Solution("t", (route,), (), 100)


class TestRuns:
    def test_create_refuses_unknown_parameters(self, session: Session) -> None:
        with pytest.raises(Validation, match="unknown run parameters: colour"):
            dispatch_service.create_run(
                session, day=f.DAY, area_code=None, params={"colour": 1}, actor="d"
            )

    def test_start_skips_finished_runs_and_counts_attempts(self, session: Session) -> None:
        run = dispatch_service.create_run(
            session, day=f.DAY, area_code="350102", params={"time_limit_s": 5}, actor="d"
        )
        assert run.id is not None
        started = dispatch_service.start_run(session, run.id)
        assert started is not None and started.status == RunStatus.RUNNING
        assert started.attempts == 1
        dispatch_service.cancel_run(session, started)
        assert dispatch_service.start_run(session, run.id) is None
        with pytest.raises(InvalidState, match="already cancelled"):
            dispatch_service.cancel_run(session, started)

    def test_a_run_that_keeps_crashing_fails_after_three_attempts(self, session: Session) -> None:
        run = dispatch_service.create_run(session, day=f.DAY, area_code=None, params={}, actor="d")
        assert run.id is not None
        for _ in range(3):
            assert dispatch_service.start_run(session, run.id) is not None
        assert dispatch_service.start_run(session, run.id) is None
        assert run.status == RunStatus.FAILED
        assert "3 attempts" in run.error


class TestPlans:
    def _orders(self, session: Session, n: int) -> tuple[list[int], int]:
        provider = f.make_provider(session)
        orders = [
            f.make_order(
                session,
                provider=provider,
                confirm=True,
                windows=[f.window(f.DAY, time(8), time(16))],
            )
            for _ in range(n)
        ]
        worker = f.make_worker(session, provider=provider)
        assert worker.id is not None
        return [o.id for o in orders if o.id is not None], worker.id

    def test_versions_increase_per_day_and_area(self, session: Session) -> None:
        ids, wid = self._orders(session, 2)
        source = _source({"a": ids[0], "b": ids[1]}, {"w": wid})
        versions = []
        for _ in range(2):
            run = dispatch_service.create_run(
                session, day=f.DAY, area_code="350102", params={}, actor="d"
            )
            plan = dispatch_service.persist_plan(
                session, run, source, _solution([("a", 9 * H), ("b", 11 * H)])
            )
            versions.append(plan.version)
        assert versions == [1, 2]
        current = dispatch_repo.current_plan(session, f.DAY, "350102")
        assert current is not None and current.version == 2
        stops = dispatch_repo.plan_stops(session, current.id or 0)
        assert [(s.order_id, s.sequence) for s in stops] == [(ids[0], 0), (ids[1], 1)]
        assert stops[0].start_at == EPOCH + timedelta(hours=9)

    def test_apply_books_moves_and_releases(self, session: Session) -> None:
        ids, wid = self._orders(session, 3)
        source = _source({"a": ids[0], "b": ids[1], "c": ids[2]}, {"w": wid})
        run = dispatch_service.create_run(session, day=f.DAY, area_code=None, params={}, actor="d")
        first = dispatch_service.persist_plan(
            session, run, source, _solution([("a", 9 * H), ("b", 11 * H)])
        )
        result = dispatch_service.apply_plan(session, first, order_ids=ids, actor="dispatch")
        assert (result.scheduled, result.unchanged, result.unscheduled) == (2, 0, 0)
        a = orders_repo.get(session, ids[0])
        assert a is not None and a.status == OrderStatus.SCHEDULED
        assert a.scheduled_start == EPOCH + timedelta(hours=9)

        # The next version swaps a and b's times, keeps nothing else, and leaves b out.
        second = dispatch_service.persist_plan(
            session, run, source, _solution([("c", 9 * H), ("a", 11 * H)])
        )
        result = dispatch_service.apply_plan(session, second, order_ids=ids, actor="dispatch")
        assert (result.scheduled, result.unchanged, result.unscheduled) == (2, 0, 1)
        b = orders_repo.get(session, ids[1])
        assert b is not None and b.status == OrderStatus.CONFIRMED
        bookings = orders_repo.worker_bookings(session, wid)
        assert [(bk.order_id, bk.starts_at) for bk in bookings] == [
            (ids[2], EPOCH + timedelta(hours=9)),
            (ids[0], EPOCH + timedelta(hours=11)),
        ]
        # Applying the same plan again changes nothing.
        again = dispatch_service.apply_plan(session, second, order_ids=ids, actor="dispatch")
        assert (again.scheduled, again.unchanged) == (0, 2)

    def test_a_booking_made_meanwhile_is_a_reported_conflict(self, session: Session) -> None:
        from marketplace.orders import service as orders_service

        ids, wid = self._orders(session, 3)
        # Another run booked the worker for order c at 09:00 after this plan was built.
        other = orders_repo.get(session, ids[2])
        assert other is not None
        orders_service.schedule(session, other, worker_id=wid, start=EPOCH + 9 * H * _S, actor="x")
        run = dispatch_service.create_run(session, day=f.DAY, area_code=None, params={}, actor="d")
        plan = dispatch_service.persist_plan(
            session,
            run,
            _source({"a": ids[0], "b": ids[1]}, {"w": wid}),
            _solution([("a", 9 * H), ("b", 11 * H)]),
        )
        result = dispatch_service.apply_plan(session, plan, order_ids=ids[:2], actor="dispatch")
        assert result.scheduled == 1 and result.conflicts == (ids[0],)
        a, b = orders_repo.get(session, ids[0]), orders_repo.get(session, ids[1])
        assert a is not None and a.status == OrderStatus.CONFIRMED and a.assigned_worker_id is None
        assert b is not None and b.status == OrderStatus.SCHEDULED
        assert [bk.order_id for bk in orders_repo.worker_bookings(session, wid)] == [ids[2], ids[1]]
        assert dispatch_service.apply_summary(result)["conflicts"] == [ids[0]]

    def test_orders_under_way_are_not_moved(self, session: Session) -> None:
        from marketplace.orders import service as orders_service

        ids, wid = self._orders(session, 1)
        order = orders_repo.get(session, ids[0])
        assert order is not None
        orders_service.schedule(
            session, order, worker_id=wid, start=EPOCH + timedelta(hours=10), actor="d"
        )
        orders_service.start_service(session, order, actor="w")
        run = dispatch_service.create_run(session, day=f.DAY, area_code=None, params={}, actor="d")
        plan = dispatch_service.persist_plan(
            session, run, _source({"a": ids[0]}, {"w": wid}), _solution([("a", 9 * H)])
        )
        result = dispatch_service.apply_plan(session, plan, order_ids=ids, actor="dispatch")
        assert result.skipped == 1
        assert order.scheduled_start == EPOCH + timedelta(hours=10)
