"""Real threads that act on orders at the same moment, each in its own committed transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

from core.errors import Conflict
from marketplace.orders import repository as orders_repo
from marketplace.orders.models import Order


def race(
    engine: Engine, order_ids: list[int], act: Callable[[Session, Order, int], object], won: str
) -> list[str]:
    """Run ``act(session, order, i)`` for every order at once (released by a barrier).

    Each result is ``won``, "conflict" (Conflict raised), or "error:Type:message".
    """
    barrier = threading.Barrier(len(order_ids))
    results: list[str] = [""] * len(order_ids)

    def attempt(i: int, order_id: int) -> None:
        with Session(engine) as session:
            barrier.wait()
            try:
                order = orders_repo.get(session, order_id)
                assert order is not None
                act(session, order, i)
                session.commit()
                results[i] = won
            except Conflict:
                session.rollback()
                results[i] = "conflict"
            except Exception as exc:  # a test failure, reported with the type
                session.rollback()
                results[i] = f"error:{type(exc).__name__}:{exc}"

    threads = [threading.Thread(target=attempt, args=(i, oid)) for i, oid in enumerate(order_ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results
