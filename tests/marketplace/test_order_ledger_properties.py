"""Random sequences of order operations keep the money invariants after every step.

Quote and create, confirm, complete, cancel (early or late) and refund, on a few members of one
district under a policy version with small caps and a small district budget; each example runs
on a fresh copy of the migrated SQLite database.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session

from core.db import make_engine
from core.errors import DomainError
from core.timeutil import local_datetime
from marketplace.households import service as households_service
from marketplace.households.models import ProtectedCategory
from marketplace.households.schemas import LtcEntitlementCreate
from marketplace.orders import accounting
from marketplace.orders import repository as orders_repo
from marketplace.orders import service as orders_service
from marketplace.orders.models import OrderStatus
from marketplace.orders.schemas import OrderCreate
from marketplace.providers.models import Provider
from pricing import ledger, settlement
from pricing import service as pricing_service
from pricing.models import Payer
from pricing.policy import Group, ServiceClass, reference_policy
from tests import factories as f

DISTRICT = "900900"
MONTH = "2026-12"
# Small enough that two one-hour orders reach a cap or the budget.
BUDGET = 8000
CAPS = {Group.DIBAO: 6000, Group.TEKUN: 6000, Group.AGE80: 1500}
ORDERED = local_datetime(date(2026, 11, 20), time(10))
NINE = local_datetime(f.DAY, time(9))
ITEMS = ("domestic.cleaning", "elderly_care.daily_living", "meal.lunch")
# Members: 低保, 特困, nobody special, 86 years old; the last two insured for long-term care.
MEMBER_CAPS = (CAPS[Group.DIBAO], CAPS[Group.TEKUN], 0, CAPS[Group.AGE80])
LTC_LIMIT = 5000  # long-term-care insurance: 40 % of the price, this much a month


@dataclasses.dataclass
class World:
    """Ids of the rows an example works on."""

    member_ids: list[int]
    provider_id: int
    item_ids: dict[str, int]
    order_ids: list[int]


def _build(session: Session) -> World:
    policy = dataclasses.replace(
        reference_policy(),
        version="small-1",
        effective_from=date(2026, 11, 1),
        monthly_cap_fen={**reference_policy().monthly_cap_fen, **CAPS},
        district_budgets_fen={DISTRICT: BUDGET},
    )
    pricing_service.add_policy_version(session, policy, actor="test", today=date(2026, 11, 1))
    household, elder = f.make_household(session, district_code=DISTRICT)
    dibao = f.add_member(session, household, name="低保")
    f.grant_status(session, dibao, ProtectedCategory.DIBAO)
    tekun = f.add_member(session, household, name="特困")
    f.grant_status(session, tekun, ProtectedCategory.TEKUN)
    plain = f.add_member(session, household, name="普通")
    for insured in (plain, elder):
        assert insured.id is not None
        households_service.add_ltc_entitlement(
            session,
            insured.id,
            LtcEntitlementCreate(
                scheme="长护险",
                service_classes=[ServiceClass.CARE, ServiceClass.DOMESTIC, ServiceClass.MEAL],
                share_percent=40,
                monthly_limit_fen=LTC_LIMIT,
                valid_from=date(2026, 1, 1),
                recorded_by="test",
            ),
        )
    provider = f.make_provider(session)
    items = {code: f.item(session, code).id or 0 for code in ITEMS}
    members = [m.id or 0 for m in (dibao, tekun, plain, elder)]
    session.commit()
    return World(members, provider.id or 0, items, [])


@contextmanager
def _fresh_db(template: Path, folder: Path) -> Iterator[Engine]:
    path = folder / f"{uuid.uuid4().hex}.sqlite3"
    shutil.copyfile(template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        yield engine
    finally:
        engine.dispose()
        path.unlink()


Step = tuple[object, ...]

creates = st.tuples(
    st.just("create"),
    st.sampled_from([0, 0, 1, 1, 2, 3]),
    st.sampled_from(ITEMS),
    st.integers(1, 4),
)
steps = st.one_of(
    creates,
    # Confirmations are where caps and budgets are defended: draw them most often.
    st.tuples(st.just("confirm"), st.integers(0, 5)),
    st.tuples(
        st.just("confirm_each"),
    ),
    st.tuples(st.just("complete"), st.integers(0, 5)),
    st.tuples(st.just("cancel"), st.integers(0, 5), st.booleans()),
    st.tuples(
        st.just("refund"),
        st.integers(0, 5),
        st.sampled_from([Payer.HOUSEHOLD, Payer.SUBSIDY, Payer.LTC_INSURANCE]),
        st.integers(1, 3000),
    ),
)


def _apply(session: Session, world: World, step: Step) -> None:
    name = step[0]
    if name == "create":
        _, who, item_code, hours = step
        assert isinstance(who, int) and isinstance(item_code, str) and isinstance(hours, int)
        member_id = world.member_ids[who]
        order = orders_service.create_order(
            session,
            OrderCreate(
                household_id=_household_id(session, member_id),
                recipient_member_id=member_id,
                provider_id=world.provider_id,
                item_id=world.item_ids[item_code],
                service_date=f.DAY,
                windows=[f.window(f.DAY, time(9), time(12))],
                duration_minutes=60 * hours,
            ),
            actor="household",
            now=ORDERED,
        )
        assert order.id is not None
        world.order_ids.append(order.id)
        return
    if not world.order_ids:
        return
    index = step[1]
    assert isinstance(index, int)
    found = orders_repo.get(session, world.order_ids[index % len(world.order_ids)])
    assert found is not None
    order = found
    if name == "confirm":
        orders_service.confirm(session, order, actor="provider", now=ORDERED)
    elif name == "complete":
        if order.status == OrderStatus.CONFIRMED:
            provider = session.get(Provider, world.provider_id)
            assert provider is not None
            worker = f.make_worker(session, provider=provider)
            order = orders_service.schedule(
                session, order, worker_id=worker.id or 0, start=NINE, actor="dispatcher"
            )
            order = orders_service.start_service(session, order, actor="worker")
        orders_service.complete(session, order, actor="worker", now=NINE + timedelta(hours=2))
    elif name == "cancel":
        late = step[2]
        at = NINE - (timedelta(minutes=30) if late else timedelta(days=1))
        orders_service.cancel(session, order, actor="household", reason="changed plans", now=at)
    else:
        _, _, payer, amount = step
        assert isinstance(payer, Payer) and isinstance(amount, int)
        orders_service.refund(
            session, order, amount_fen=amount, payer=payer, reason="refund", actor="support"
        )


def _expand(world: World, step: Step) -> list[Step]:
    """A step as single operations: "confirm_each" tries every order in turn."""
    if step[0] == "confirm_each":
        return [("confirm", i) for i in range(len(world.order_ids))]
    return [step]


def _household_id(session: Session, member_id: int) -> int:
    from marketplace.households.models import Member

    member = session.get(Member, member_id)
    assert member is not None
    return member.household_id


def _check(session: Session, world: World) -> None:
    for member_id, cap in zip(world.member_ids, MEMBER_CAPS, strict=True):
        assert ledger.member_committed(session, member_id, MONTH) <= cap
    assert ledger.district_committed(session, DISTRICT, MONTH) <= BUDGET
    for insured in world.member_ids[2:]:
        assert 0 <= ledger.member_ltc_committed(session, insured, MONTH) <= LTC_LIMIT
    for order_id in world.order_ids:
        order = orders_repo.get(session, order_id)
        assert order is not None
        assert order.copay_fen + order.subsidy_fen + order.ltc_fen == order.list_price_fen
        assert min(order.subsidy_fen, order.copay_fen, order.ltc_fen) >= 0
        quoted = {
            Payer.SUBSIDY: order.subsidy_fen,
            Payer.HOUSEHOLD: order.copay_fen,
            Payer.LTC_INSURANCE: order.ltc_fen,
        }
        held = accounting.order_positions(session, order)
        for payer, position in held.items():
            assert position.held >= 0 and position.refundable >= 0
            assert position.reserved <= quoted[payer]
        status = OrderStatus(order.status)
        if status is OrderStatus.REQUESTED:
            assert all(p.reserved == 0 for p in held.values())
        if status in (OrderStatus.COMPLETED, OrderStatus.CANCELLED):
            assert all(p.held == 0 for p in held.values())
        if status is OrderStatus.CONFIRMED or status is OrderStatus.SCHEDULED:
            assert all(held[payer].held == quoted[payer] for payer in held)
    verdict = ledger.verify(session)
    assert verdict.ok, verdict
    assert settlement.statement(session, world.provider_id, MONTH).reconciles(session)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the examples' database copies."""
    return tmp_path_factory.mktemp("ledger-properties")


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(creates, min_size=2, max_size=6), st.lists(steps, min_size=1, max_size=20))
def test_money_invariants_hold_after_every_step(
    sqlite_template: Path, scratch: Path, first: list[Step], then: list[Step]
) -> None:
    with _fresh_db(sqlite_template, scratch) as engine, Session(engine) as session:
        world = _build(session)
        for drawn in first + then:
            for step in _expand(world, drawn):
                try:
                    _apply(session, world, step)
                    session.commit()
                except DomainError:
                    session.rollback()
                _check(session, world)
                session.rollback()  # end the read transaction (SQLite holds the write lock)
