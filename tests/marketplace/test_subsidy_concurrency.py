"""Concurrent confirmations and completions of one member's orders never take the member past
the monthly cap.

Each quote fits the cap alone, not all together. Real threads, each with its own session and
commit: the ledger head lock serialises the re-checks (PostgreSQL FOR UPDATE, SQLite
BEGIN IMMEDIATE), so exactly as many win as fit and the others get Conflict.
"""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from core.errors import Conflict
from core.timeutil import local_datetime
from marketplace.households.models import ProtectedCategory
from marketplace.orders import quoting
from marketplace.orders import repository as orders_repo
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order, OrderStatus
from marketplace.orders.schemas import OrderCreate
from marketplace.providers.models import Provider
from pricing import ledger
from pricing import repository as pricing_repo
from pricing.ledger import EntryDraft
from pricing.models import EntryKind, Payer
from tests import factories as f
from tests.races import race

THREADS = 8
MONTH = "2026-12"
CAP = 60000  # 低保
SUBSIDY = 6400  # 80 % of a two-hour cleaning at the 40.00/h guide price
ALREADY_USED = CAP - 2 * SUBSIDY - 200  # room for two more orders, not three
ORDERED = local_datetime(date(2026, 11, 20), time(10))


def _setup(engine: Engine) -> tuple[int, list[int]]:
    with Session(engine) as session:
        household, _ = f.make_household(session)
        member = f.add_member(session, household)
        f.grant_status(session, member, ProtectedCategory.DIBAO)
        provider = f.make_provider(session)
        item = f.item(session, "domestic.cleaning")
        assert member.id and provider.id and item.id and household.id
        ledger.append(
            session,
            EntryDraft(
                idempotency_key="earlier-orders",
                kind=EntryKind.RESERVE,
                payer=Payer.SUBSIDY,
                order_ref="earlier",
                member_id=member.id,
                provider_id=provider.id,
                district_code=quoting.district_code(session, household),
                month=MONTH,
                amount_fen=ALREADY_USED,
                actor="test",
            ),
        )
        order_ids = []
        for i in range(THREADS):
            day = f.DAY.replace(day=1 + i)
            order = orders_service.create_order(
                session,
                OrderCreate(
                    household_id=household.id,
                    recipient_member_id=member.id,
                    provider_id=provider.id,
                    item_id=item.id,
                    service_date=day,
                    windows=[f.window(day, time(9), time(12))],
                    duration_minutes=120,
                ),
                actor="test:household",
                now=ORDERED,
            )
            assert order.subsidy_fen == SUBSIDY and order.id is not None
            order_ids.append(order.id)
        session.commit()
        return member.id, order_ids


def _race(engine: Engine, order_ids: list[int]) -> list[str]:
    def confirm(session: Session, order: Order, i: int) -> None:
        orders_service.confirm(session, order, actor=f"thread:{i}")

    return race(engine, order_ids, confirm, "confirmed")


def test_concurrent_confirmations_stay_within_the_cap(engine: Engine) -> None:
    member_id, order_ids = _setup(engine)
    results = _race(engine, order_ids)
    assert sorted(results) == ["confirmed"] * 2 + ["conflict"] * (THREADS - 2), results

    with Session(engine) as session:
        committed = ledger.member_committed(session, member_id, MONTH)
        assert committed == ALREADY_USED + 2 * SUBSIDY <= CAP
        for order_id, result in zip(order_ids, results, strict=True):
            order = orders_repo.get(session, order_id)
            assert order is not None
            entries = pricing_repo.entries_of_order(session, order.public_id)
            if result == "confirmed":
                assert order.status == OrderStatus.CONFIRMED and len(entries) == 2
            else:
                assert order.status == OrderStatus.REQUESTED and entries == []
        verdict = ledger.verify(session)
        assert verdict.ok and verdict.entries == 1 + 2 * 2, verdict


def test_a_long_lived_session_sees_what_others_committed(engine: Engine) -> None:
    """A session that read the member's balance earlier (and keeps objects across commits)
    checks and updates it as it stands now, not as it remembers it."""
    member_id, order_ids = _setup(engine)
    with Session(engine, expire_on_commit=False) as remembering:
        # Held, so the session's identity map keeps it (and its values) across commits.
        remembered = pricing_repo.member_balance(remembering, member_id, MONTH)
        assert remembered is not None and remembered.committed_fen == ALREADY_USED
        remembering.commit()
        with Session(engine) as other:
            order = orders_repo.get(other, order_ids[0])
            assert order is not None
            orders_service.confirm(other, order, actor="other")
            other.commit()
        order = orders_repo.get(remembering, order_ids[1])
        assert order is not None
        orders_service.confirm(remembering, order, actor="remembering")
        remembering.commit()
        third = orders_repo.get(remembering, order_ids[2])
        assert third is not None
        with pytest.raises(Conflict, match="quote again"):
            orders_service.confirm(remembering, third, actor="remembering")
        remembering.rollback()
        assert remembered.committed_fen == ALREADY_USED + 2 * SUBSIDY
    with Session(engine) as session:
        assert ledger.member_committed(session, member_id, MONTH) == ALREADY_USED + 2 * SUBSIDY
        verdict = ledger.verify(session)
        assert verdict.ok, verdict


def _start(engine: Engine, order_ids: list[int]) -> None:
    """Confirm, schedule (one worker each) and start the orders."""
    with Session(engine) as session:
        for order_id in order_ids:
            order = orders_repo.get(session, order_id)
            assert order is not None
            order = orders_service.confirm(session, order, actor="provider")
            provider = session.get(Provider, order.provider_id)
            assert provider is not None
            worker = f.make_worker(session, provider=provider)
            assert worker.id is not None
            start = local_datetime(order.service_date, time(9))
            order = orders_service.schedule(
                session, order, worker_id=worker.id, start=start, actor="dispatcher"
            )
            orders_service.start_service(session, order, actor="worker")
        session.commit()


def test_completions_racing_confirmations_and_retries_keep_the_cap(engine: Engine) -> None:
    """A visit under way is completed three times at once (a phone retrying) while five more
    orders are confirmed: the visit is consumed once, the one confirmation that fits wins, and
    the member never goes past the cap."""
    member_id, order_ids = _setup(engine)
    under_way, waiting = order_ids[0], order_ids[1:6]
    _start(engine, [under_way])

    def act(session: Session, order: Order, i: int) -> None:
        if i < 3:
            orders_service.complete(session, order, actor=f"thread:{i}")
        else:
            orders_service.confirm(session, order, actor=f"thread:{i}")

    results = race(engine, [under_way] * 3 + waiting, act, "done")
    completions, confirmations = results[:3], results[3:]
    # Later completions find the visit completed: an invalid state, nothing written.
    assert sorted(r.split(":")[0] for r in completions) == ["done", "error", "error"]
    assert all("InvalidState" in r for r in completions if r != "done"), completions
    assert sorted(confirmations) == ["conflict"] * 4 + ["done"], confirmations

    with Session(engine) as session:
        balance = pricing_repo.member_balance(session, member_id, MONTH)
        assert balance is not None
        assert balance.committed_fen == ALREADY_USED + 2 * SUBSIDY <= CAP
        assert balance.consumed_fen == SUBSIDY
        order = orders_repo.get(session, under_way)
        assert order is not None and order.status == OrderStatus.COMPLETED
        kinds = [e.kind for e in pricing_repo.entries_of_order(session, order.public_id)]
        assert sorted(kinds) == ["consume", "consume", "reserve", "reserve"]
        verdict = ledger.verify(session)
        assert verdict.ok, verdict
