"""Concurrent bookings of one worker into overlapping time: the database lets only one through.

Real threads, real transactions, committed data: PostgreSQL's exclusion constraint and SQLite's
trigger under BEGIN IMMEDIATE must each refuse all but one.
"""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.dbtypes import UTCDateTime
from core.timeutil import local_datetime
from marketplace.orders import repository as orders_repo
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order, OrderStatus
from tests import factories as f
from tests.races import race

THREADS = 8


def _setup(engine: Engine) -> tuple[int, list[int]]:
    with Session(engine) as session:
        provider = f.make_provider(session)
        worker = f.make_worker(session, provider=provider)
        orders = [
            f.make_order(
                session,
                provider=provider,
                confirm=True,
                windows=[f.window(f.DAY, time(8), time(12))],
            )
            for _ in range(THREADS)
        ]
        session.commit()
        assert worker.id is not None
        return worker.id, [o.id for o in orders if o.id is not None]


def _race(engine: Engine, worker_id: int, order_ids: list[int], stagger_min: int) -> list[str]:
    def book(session: Session, order: Order, i: int) -> None:
        start = local_datetime(f.DAY, time(9)) + timedelta(minutes=i * stagger_min)
        orders_service.schedule(session, order, worker_id=worker_id, start=start, actor=f"t:{i}")

    return race(engine, order_ids, book, "booked")


def test_only_one_of_concurrent_overlapping_bookings_wins(engine: Engine) -> None:
    worker_id, order_ids = _setup(engine)
    # Starts 5 minutes apart, each 60 minutes long: every pair overlaps.
    results = _race(engine, worker_id, order_ids, stagger_min=5)
    assert sorted(results) == ["booked"] + ["conflict"] * (THREADS - 1), results

    with Session(engine) as session:
        bookings = orders_repo.worker_bookings(session, worker_id)
        assert len(bookings) == 1
        statuses = sorted(orders_repo.get(session, oid).status for oid in order_ids)  # type: ignore[union-attr]
        assert statuses.count(OrderStatus.SCHEDULED) == 1
        assert statuses.count(OrderStatus.CONFIRMED) == THREADS - 1


def test_concurrent_non_overlapping_bookings_all_win(engine: Engine) -> None:
    worker_id, order_ids = _setup(engine)
    results = _race(engine, worker_id, order_ids[:4], stagger_min=60)
    assert results == ["booked"] * 4
    with Session(engine) as session:
        assert len(orders_repo.worker_bookings(session, worker_id)) == 4


def test_the_database_itself_refuses_overlap(engine: Engine) -> None:
    """Bypassing the service: a raw INSERT of an overlapping active booking fails."""
    worker_id, order_ids = _setup(engine)
    with Session(engine) as session:
        order = orders_repo.get(session, order_ids[0])
        assert order is not None
        orders_service.schedule(
            session, order, worker_id=worker_id, start=local_datetime(f.DAY, time(9)), actor="t"
        )
        session.commit()
    insert = text(
        "INSERT INTO worker_booking (order_id, worker_id, starts_at, ends_at, active, created_at) "
        "VALUES (:o, :w, :s, :e, :a, :s)"
    )

    def bind(value: object) -> object:
        return UTCDateTime().process_bind_param(value, engine.dialect)  # type: ignore[arg-type]

    start = local_datetime(f.DAY, time(9, 30))
    params = {
        "o": order_ids[1],
        "w": worker_id,
        "s": bind(start),
        "e": bind(start + timedelta(hours=1)),
        "a": True,
    }
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert, params)
    # An inactive (released) booking does not block.
    with engine.begin() as conn:
        conn.execute(insert, {**params, "a": False})
