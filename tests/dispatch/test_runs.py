"""Solve runs end to end: database → problem → solver → plan → bookings, in process and through
a real Celery worker; a redelivered or cancelled run does no harm."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.celery_app import create_celery
from core.db import get_engine, unit_of_work
from core.settings import Settings
from dispatch import repository as dispatch_repo
from dispatch import service as dispatch_service
from dispatch.models import RunStatus
from dispatch.tasks import execute_run
from marketplace.demo import seed as demo
from marketplace.geography import service as geography
from marketplace.geography.models import AreaLevel
from marketplace.households.models import Household
from marketplace.orders.models import Order, OrderStatus, WorkerBooking
from tests.workers import clean_env, log_text, running_worker

MONDAY = date(2026, 11, 23)
DAY = MONDAY + timedelta(days=1)
FAST = {"time_limit_s": 3, "seed": 1}


def _seed() -> None:
    with unit_of_work() as session:
        demo.seed_demo(session, seed=11, households=80, start_date=MONDAY, progress=False)


def _new_run(params: Mapping[str, object], area: str | None = None) -> int:
    with unit_of_work() as session:
        run = dispatch_service.create_run(
            session, day=DAY, area_code=area, params=params, actor="test:dispatcher"
        )
        assert run.id is not None
        return run.id


def _check_plan(run_id: int) -> None:
    with Session(get_engine()) as session:
        run = dispatch_repo.get_run(session, run_id)
        assert run is not None
        assert run.status == RunStatus.DONE, run.error
        assert run.plan_id is not None
        plan = dispatch_repo.get_plan(session, run.plan_id)
        assert plan is not None and plan.version == 1
        stops = dispatch_repo.plan_stops(session, plan.id or 0)
        assert plan.assigned > 0
        orders = session.exec(select(Order).where(Order.service_date == DAY)).all()
        scheduled = [o for o in orders if o.status == OrderStatus.SCHEDULED]
        assert len(scheduled) == plan.assigned
        planned_orders = {s.order_id for s in stops}
        assert {o.id for o in scheduled} == planned_orders
        for order in scheduled:
            assert order.scheduled_start is not None
            assert order.scheduled_start.date() in (DAY, DAY - timedelta(days=1))  # UTC date
        bookings = session.exec(select(WorkerBooking).where(WorkerBooking.active)).all()
        assert len(bookings) == len(scheduled)
        by_worker: dict[int, list[WorkerBooking]] = {}
        for b in bookings:
            by_worker.setdefault(b.worker_id, []).append(b)
        for items in by_worker.values():
            items.sort(key=lambda b: b.starts_at)
            for a, b in itertools.pairwise(items):
                assert a.ends_at <= b.starts_at
        left_out = dispatch_repo.plan_unassigned(session, plan.id or 0)
        assert all(u.reasons and u.reasons[0]["code"] for u in left_out)


def test_run_in_process_plans_and_books_and_is_idempotent(configured: str) -> None:
    _seed()
    run_id = _new_run(FAST)
    assert execute_run(run_id) == "done"
    _check_plan(run_id)
    # A redelivered task finds the run finished and does nothing.
    assert execute_run(run_id) == "skipped"
    with Session(get_engine()) as session:
        assert dispatch_repo.latest_version(session, DAY, "all") == 1


def test_district_runs_plan_around_each_others_bookings(configured: str) -> None:
    """Providers serve several districts: a later district's run must not double-book."""
    _seed()
    with Session(get_engine()) as session:
        districts = [a.code for a in geography.list_by_level(session, AreaLevel.DISTRICT)]
    committed_stops = 0
    for code in districts:
        run_id = _new_run(FAST, area=code)
        assert execute_run(run_id) == "done"
        with Session(get_engine()) as session:
            run = dispatch_repo.get_run(session, run_id)
            assert run is not None and run.status == RunStatus.DONE, run and run.error
            plan = dispatch_repo.get_plan(session, run.plan_id or 0)
            if plan is None:
                continue
            assert plan.stats["applied"]["conflicts"] == []
            stops = dispatch_repo.plan_stops(session, plan.id or 0)
            planned_here = {
                o.id
                for o in session.exec(select(Order).where(Order.service_date == DAY)).all()
                if o.id is not None and _district_of(session, o) == code
            }
            committed_stops += sum(1 for s in stops if s.order_id not in planned_here)
    # Some worker served an earlier district: its bookings showed up as fixed stops.
    assert committed_stops > 0
    with Session(get_engine()) as session:
        scheduled = session.exec(
            select(Order).where(Order.service_date == DAY, Order.status == OrderStatus.SCHEDULED)
        ).all()
        assert scheduled
        bookings = session.exec(select(WorkerBooking).where(WorkerBooking.active)).all()
        assert len(bookings) == len(scheduled)


def _district_of(session: Session, order: Order) -> str:
    household = session.get(Household, order.household_id)
    assert household is not None
    return geography.get_or_raise(session, household.district_id).code


def test_cancelled_run_is_not_solved(configured: str) -> None:
    _seed()
    run_id = _new_run(FAST)
    with unit_of_work() as session:
        dispatch_service.cancel_run(session, dispatch_service.get_run_or_raise(session, run_id))
    assert execute_run(run_id) == "skipped"


def test_run_through_a_real_worker(configured: str, tmp_path: Path) -> None:
    _seed()
    run_id = _new_run(FAST)
    data_dir = tmp_path / "worker"
    log = tmp_path / "worker.log"
    env = clean_env(data_dir, database_url=configured)
    with running_worker(tmp_path, env, log):
        client = create_celery(Settings(data_dir=data_dir))
        result = client.send_task("dispatch.solve_run", args=[run_id])
        try:
            assert result.get(timeout=120) == "done"
        except Exception:
            pytest.fail(f"the worker did not finish the run:\n{log_text(log)}")
    _check_plan(run_id)
