"""Orders carry their quote, and the subsidy ledger follows their lifecycle: confirm reserves,
complete consumes, cancel and no-show release, refund reverses."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta

import pytest
from sqlmodel import Session

from core.errors import Conflict, InvalidState, Validation
from core.timeutil import local_datetime
from marketplace.households.models import Household, Member, ProtectedCategory
from marketplace.orders import quoting
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order, OrderStatus
from marketplace.orders.schemas import OrderCreate
from marketplace.providers.models import Provider
from pricing import ledger, settlement
from pricing import repository as pricing_repo
from pricing import service as pricing_service
from pricing.billing import PriceSnapshot
from pricing.ledger import EntryDraft
from pricing.models import EntryKind, Payer
from pricing.policy import Group, Rule, RuleKind, ServiceClass, reference_policy
from tests import factories as f

MONTH = "2026-12"
ORDERED = local_datetime(date(2026, 11, 20), time(10))
NINE = local_datetime(f.DAY, time(9))
R, C, L, V = EntryKind.RESERVE, EntryKind.CONSUME, EntryKind.RELEASE, EntryKind.REVERSAL
S, H = Payer.SUBSIDY, Payer.HOUSEHOLD


def _member(
    session: Session, *, dibao: bool = True, district_code: str | None = None
) -> tuple[Household, Member]:
    household, _ = f.make_household(session, district_code=district_code)
    member = f.add_member(session, household)
    if dibao:
        f.grant_status(session, member, ProtectedCategory.DIBAO)
    return household, member


def _order(
    session: Session,
    member: Member,
    *,
    provider: Provider | None = None,
    item_code: str = "domestic.cleaning",
    day: date = f.DAY,
    now: datetime = ORDERED,
    price: PriceSnapshot | None = None,
) -> Order:
    provider = provider or f.make_provider(session)
    item = f.item(session, item_code)
    assert member.id and provider.id and item.id
    return orders_service.create_order(
        session,
        OrderCreate(
            household_id=member.household_id,
            recipient_member_id=member.id,
            provider_id=provider.id,
            item_id=item.id,
            service_date=day,
            windows=[f.window(day, time(9), time(12))],
            duration_minutes=120,
        ),
        actor="test:household",
        now=now,
        price=price,
    )


def _serve(session: Session, order: Order, *, now: datetime | None = None) -> Order:
    provider = session.get(Provider, order.provider_id)
    assert provider is not None
    worker = f.make_worker(session, provider=provider)
    assert worker.id is not None
    start = local_datetime(order.service_date, time(9))
    order = orders_service.schedule(session, order, worker_id=worker.id, start=start, actor="d")
    order = orders_service.start_service(session, order, actor="w")
    return orders_service.complete(session, order, actor="w", now=now)


def _entries(session: Session, order: Order) -> list[tuple[EntryKind, Payer, int]]:
    return [
        (EntryKind(e.kind), Payer(e.payer), e.amount_fen)
        for e in pricing_repo.entries_of_order(session, order.public_id)
    ]


def _ok(session: Session) -> None:
    result = ledger.verify(session)
    assert result.ok, result


def _committed(session: Session, member: Member) -> int:
    assert member.id is not None
    return ledger.member_committed(session, member.id, MONTH)


class TestCreate:
    """Orders are priced by a quote that they keep."""

    def test_the_quote_is_the_price_snapshot(self, session: Session) -> None:
        _, member = _member(session)
        order = _order(session, member)
        assert (order.list_price_fen, order.subsidy_fen, order.copay_fen) == (8000, 6400, 1600)
        assert order.policy_version == "fz-2026.1"
        stored = order.price_breakdown
        assert stored["policy_version"] == "fz-2026.1" and stored["month"] == MONTH
        assert stored["group"] == "dibao" and stored["cap_fen"] == 60000
        assert stored["rule"]["percent"] == 80
        assert "低保 domestic: 80 % of the price" in stored["reason"]
        assert stored["district"] == quoting.district_code(
            session,
            session.get(Household, member.household_id),  # type: ignore[arg-type]
        )
        assert order.quoted_at == ORDERED
        assert _entries(session, order) == []


class TestConfirm:
    """Confirming reserves the subsidy and the co-pay, after checking cap and budget again."""

    def test_reserves_subsidy_and_copay(self, session: Session) -> None:
        _, member = _member(session)
        order = orders_service.confirm(session, _order(session, member), actor="provider")
        assert order.status == OrderStatus.CONFIRMED
        assert _entries(session, order) == [(R, S, 6400), (R, H, 1600)]
        subsidy = pricing_repo.entry_by_key(session, f"{order.public_id}:reserve:subsidy")
        assert subsidy is not None and subsidy.policy_version == "fz-2026.1"
        assert subsidy.district_code == order.price_breakdown["district"]
        assert subsidy.month == MONTH and subsidy.member_id == member.id
        assert _committed(session, member) == 6400
        _ok(session)

    def test_no_subsidy_reserves_only_the_copay(self, session: Session) -> None:
        _, member = _member(session, dibao=False)
        order = orders_service.confirm(session, _order(session, member), actor="provider")
        assert _entries(session, order) == [(R, H, 9000)]
        assert _committed(session, member) == 0
        _ok(session)

    def test_a_cap_used_up_since_the_quote_refuses_and_changes_nothing(
        self, session: Session
    ) -> None:
        _, member = _member(session)
        order = _order(session, member)
        # Other orders took most of the cap after this one was quoted: 63.99 yuan are left.
        _fill(session, member, order.price_breakdown["district"], 60000 - 6399)
        with pytest.raises(Conflict, match=r"the quote is out of date: .*63\.99 yuan.*quote again"):
            orders_service.confirm(session, order, actor="provider")
        session.refresh(order)
        assert order.status == OrderStatus.REQUESTED
        assert _entries(session, order) == []
        assert _committed(session, member) == 60000 - 6399
        _ok(session)

    def test_a_spent_district_budget_refuses(self, session: Session) -> None:
        _, member = _member(session, district_code="350105")
        order = _order(session, member)
        _fill(session, None, "350105", 10_000_000 - 6000)
        with pytest.raises(Conflict, match=r"district 350105 has 60\.00 yuan of its budget left"):
            orders_service.confirm(session, order, actor="provider")
        session.refresh(order)
        assert order.status == OrderStatus.REQUESTED and _entries(session, order) == []

    def test_confirming_twice_is_an_invalid_state_and_reserves_once(self, session: Session) -> None:
        _, member = _member(session)
        order = orders_service.confirm(session, _order(session, member), actor="provider")
        with pytest.raises(InvalidState):
            orders_service.confirm(session, order, actor="provider")
        assert len(_entries(session, order)) == 2

    def test_an_order_without_quote_data_records_only_the_copay(self, session: Session) -> None:
        _, member = _member(session)
        snapshot = PriceSnapshot(list_price_fen=9000, subsidy_fen=2000)
        order = _order(session, member, price=snapshot)
        assert "policy_version" not in order.price_breakdown
        order = orders_service.confirm(session, order, actor="provider")
        assert _entries(session, order) == [(R, H, 7000)]
        order = _serve(session, order)
        assert _entries(session, order) == [(R, H, 7000), (C, H, 7000)]
        assert _committed(session, member) == 0
        _ok(session)


class TestComplete:
    """Completing consumes what was reserved; the provider's statement shows it."""

    def test_consumes_the_reservations(self, session: Session) -> None:
        _, member = _member(session)
        order = orders_service.confirm(session, _order(session, member), actor="provider")
        order = _serve(session, order)
        assert order.status == OrderStatus.COMPLETED
        assert _entries(session, order)[2:] == [(C, S, 6400), (C, H, 1600)]
        assert member.id is not None
        balance = pricing_repo.member_balance(session, member.id, MONTH)
        assert balance is not None and (balance.committed_fen, balance.consumed_fen) == (
            6400,
            6400,
        )
        _ok(session)
        statement = settlement.statement(session, order.provider_id, MONTH)
        lines = [(x.order_ref, x.subsidy_fen, x.household_fen) for x in statement.lines]
        assert lines == [(order.public_id, 6400, 1600)]
        assert statement.total_fen == 8000 and statement.reconciles(session)


class TestCancel:
    """Cancelling releases; a late cancellation's fee is consumed from the co-pay."""

    def test_an_early_cancellation_releases_everything(self, session: Session) -> None:
        _, member = _member(session)
        order = orders_service.confirm(session, _order(session, member), actor="provider")
        order = orders_service.cancel(
            session, order, actor="household", reason="不需要了", now=NINE - timedelta(days=1)
        )
        assert order.cancellation_fee_fen == 0
        assert _entries(session, order)[2:] == [(L, S, 6400), (L, H, 1600)]
        assert _committed(session, member) == 0
        _ok(session)

    def test_a_late_cancellation_consumes_the_fee_and_releases_the_rest(
        self, session: Session
    ) -> None:
        _, member = _member(session)
        order = orders_service.confirm(session, _order(session, member), actor="provider")
        order = orders_service.cancel(
            session, order, actor="household", reason="临时有事", now=NINE - timedelta(minutes=30)
        )
        # 20 % of the 16.00 co-pay; the subsidy is released in full.
        assert order.cancellation_fee_fen == 320
        assert _entries(session, order)[2:] == [(C, H, 320), (L, S, 6400), (L, H, 1280)]
        assert _committed(session, member) == 0
        statement = settlement.statement(session, order.provider_id, MONTH)
        assert (statement.subsidy_fen, statement.household_fen) == (0, 320)
        assert statement.reconciles(session)
        _ok(session)

    def test_cancelling_a_requested_order_writes_nothing(self, session: Session) -> None:
        _, member = _member(session)
        order = orders_service.cancel(
            session, _order(session, member), actor="household", reason="x"
        )
        assert _entries(session, order) == []
        _ok(session)

    def test_a_no_show_releases_everything(self, session: Session) -> None:
        _, member = _member(session)
        order = orders_service.confirm(session, _order(session, member), actor="provider")
        provider = session.get(Provider, order.provider_id)
        assert provider is not None
        worker = f.make_worker(session, provider=provider)
        assert worker.id is not None
        order = orders_service.schedule(session, order, worker_id=worker.id, start=NINE, actor="d")
        order = orders_service.mark_no_show(session, order, actor="w", reason="nobody home")
        assert _entries(session, order)[2:] == [(L, S, 6400), (L, H, 1600)]
        assert _committed(session, member) == 0
        _ok(session)


class TestRefund:
    """Refunds reverse consumed money, never more than was consumed."""

    def test_household_refunds_and_a_subsidy_clawback(self, session: Session) -> None:
        _, member = _member(session)
        order = _serve(session, orders_service.confirm(session, _order(session, member), actor="p"))
        first = orders_service.refund(
            session, order, amount_fen=600, payer=H, reason="late arrival", actor="support"
        )
        second = orders_service.refund(
            session, order, amount_fen=1000, payer=H, reason="goodwill", actor="support"
        )
        assert (first.idempotency_key, second.idempotency_key) == (
            f"{order.public_id}:reversal:household:1",
            f"{order.public_id}:reversal:household:2",
        )
        with pytest.raises(Validation, match="0 fen of household money"):
            orders_service.refund(session, order, amount_fen=1, payer=H, reason="x", actor="s")
        orders_service.refund(
            session, order, amount_fen=6400, payer=S, reason="audit: no visit", actor="auditor"
        )
        with pytest.raises(Validation, match="cannot reverse 1"):
            orders_service.refund(session, order, amount_fen=1, payer=S, reason="x", actor="s")
        assert _entries(session, order)[4:] == [(V, H, 600), (V, H, 1000), (V, S, 6400)]
        assert member.id is not None
        balance = pricing_repo.member_balance(session, member.id, MONTH)
        assert balance is not None and (balance.committed_fen, balance.consumed_fen) == (0, 0)
        statement = settlement.statement(session, order.provider_id, MONTH)
        assert (statement.subsidy_fen, statement.household_fen, statement.total_fen) == (0, 0, 0)
        assert statement.reconciles(session)
        _ok(session)

    def test_nothing_to_refund_before_completion(self, session: Session) -> None:
        _, member = _member(session)
        order = orders_service.confirm(session, _order(session, member), actor="provider")
        with pytest.raises(Validation, match="consumed and not yet reversed"):
            orders_service.refund(session, order, amount_fen=100, payer=H, reason="x", actor="s")
        with pytest.raises(Validation, match="positive"):
            orders_service.refund(session, order, amount_fen=0, payer=H, reason="x", actor="s")


def test_a_version_starting_mid_month_leaves_earlier_quotes_alone(session: Session) -> None:
    _, member = _member(session)
    provider = f.make_provider(session)
    day = date(2026, 12, 20)
    before = _order(session, member, provider=provider, day=day, now=ORDERED)
    assert (before.subsidy_fen, before.policy_version) == (6400, "fz-2026.1")

    reference = reference_policy()
    rules = dict(reference.rules)
    rules[Group.DIBAO] = {**rules[Group.DIBAO], ServiceClass.DOMESTIC: Rule(RuleKind.SHARE, 50)}
    v2 = dataclasses.replace(
        reference, version="fz-2026.2", effective_from=date(2026, 12, 15), rules=rules
    )
    pricing_service.add_policy_version(session, v2, actor="admin", today=date(2026, 12, 1))

    mid_month = local_datetime(date(2026, 12, 16), time(8))
    orders_service.confirm(session, before, actor="provider", now=mid_month)
    _serve(session, before, now=local_datetime(day, time(11)))
    entries = pricing_repo.entries_of_order(session, before.public_id)
    subsidy = [(e.kind, e.amount_fen, e.policy_version) for e in entries if e.payer == S]
    assert subsidy == [(R, 6400, "fz-2026.1"), (C, 6400, "fz-2026.1")]

    after = _order(session, member, provider=provider, day=day, now=mid_month)
    assert (after.subsidy_fen, after.policy_version) == (4000, "fz-2026.2")
    assert after.price_breakdown["rule"]["percent"] == 50
    _ok(session)


def test_series_orders_are_in_the_ledger_under_their_public_ids(session: Session) -> None:
    from marketplace.orders.models import Frequency
    from marketplace.orders.schemas import SeriesCreate

    _, member = _member(session)
    provider = f.make_provider(session)
    lunch = f.item(session, "meal.lunch")
    assert member.id and provider.id and lunch.id
    series = orders_service.create_series(
        session,
        SeriesCreate(
            household_id=member.household_id,
            recipient_member_id=member.id,
            provider_id=provider.id,
            item_id=lunch.id,
            frequency=Frequency.DAILY,
            window_start=time(11),
            window_end=time(12),
            starts_on=f.DAY,
        ),
        actor="test",
    )
    ids = iter(f"ord_series_{i}" for i in range(10))
    created = orders_service.materialize_series(
        session,
        series,
        f.DAY,
        f.DAY + timedelta(days=2),
        actor="materializer",
        now=ORDERED,
        public_ids=lambda: next(ids),
    )
    assert [o.public_id for o in created] == ["ord_series_0", "ord_series_1", "ord_series_2"]
    for order in created:
        # 低保 meal: 70 % of 15.00.
        assert _entries(session, order) == [(R, S, 1050), (R, H, 450)]
    assert _committed(session, member) == 3 * 1050
    _ok(session)


def _fill(session: Session, member: Member | None, district: str, amount: int) -> None:
    """Reserve ``amount`` of subsidy for the member (or a stranger) in the district."""
    ledger.append(
        session,
        EntryDraft(
            idempotency_key=f"fill:{district}:{amount}",
            kind=EntryKind.RESERVE,
            payer=Payer.SUBSIDY,
            order_ref="elsewhere",
            member_id=member.id if member is not None and member.id else 999_999,
            provider_id=0,
            district_code=district,
            month=MONTH,
            amount_fen=amount,
            actor="test",
        ),
    )
