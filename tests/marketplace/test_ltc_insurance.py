"""Long-term-care insurance pays first: its share of covered services within a monthly limit,
then the subsidy, then the household; its money goes through the ledger like the others."""

from __future__ import annotations

import dataclasses
from datetime import date, time

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from core.errors import Conflict
from marketplace.households import service as households_service
from marketplace.households.models import Member
from marketplace.households.schemas import LtcEntitlementCreate
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order
from marketplace.orders.schemas import OrderCreate
from marketplace.providers.models import Provider
from pricing import ledger, settlement
from pricing import repository as pricing_repo
from pricing import service as pricing_service
from pricing.models import EntryKind, Payer
from pricing.policy import ServiceClass, reference_policy
from tests import factories as f
from tests.marketplace.test_order_ledger import ORDERED, _serve

MONTH = "2026-12"
CARE = "elderly_care.daily_living"  # 2 h at the 45.00/h guide price: 90.00
R, C, L, V = EntryKind.RESERVE, EntryKind.CONSUME, EntryKind.RELEASE, EntryKind.REVERSAL
LTC, S, H = Payer.LTC_INSURANCE, Payer.SUBSIDY, Payer.HOUSEHOLD


def _insured(
    session: Session,
    *,
    share: int = 40,
    limit: int = 100_000,
    age80: bool = True,
    valid_from: date = date(2026, 1, 1),
    valid_to: date | None = None,
) -> Member:
    household, elder = f.make_household(session)  # the elder is 86: 80+ by age
    member = elder if age80 else f.add_member(session, household)
    assert member.id is not None
    households_service.add_ltc_entitlement(
        session,
        member.id,
        LtcEntitlementCreate(
            scheme="福州长护险",
            service_classes=[ServiceClass.CARE],
            share_percent=share,
            monthly_limit_fen=limit,
            valid_from=valid_from,
            valid_to=valid_to,
            recorded_by="test:insurer",
        ),
    )
    return member


def _order(
    session: Session,
    member: Member,
    *,
    item_code: str = CARE,
    day: date = f.DAY,
    provider: Provider | None = None,
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
        now=ORDERED,
    )


def _entries(session: Session, order: Order) -> list[tuple[EntryKind, Payer, int]]:
    return [
        (EntryKind(e.kind), Payer(e.payer), e.amount_fen)
        for e in pricing_repo.entries_of_order(session, order.public_id)
    ]


def test_insurance_pays_first_then_the_subsidy_then_the_household(session: Session) -> None:
    order = _order(session, _insured(session))
    # 40 % of 90.00 by insurance; 80+ care is 50 % of the price (45.00), within the 54.00 left.
    assert (order.list_price_fen, order.ltc_fen, order.subsidy_fen, order.copay_fen) == (
        9000,
        3600,
        4500,
        900,
    )
    ltc = order.price_breakdown["ltc"]
    assert ltc["scheme"] == "福州长护险" and ltc["share_percent"] == 40
    assert order.price_breakdown["ltc_fen"] == 3600


def test_the_subsidy_is_limited_to_what_insurance_leaves(session: Session) -> None:
    order = _order(session, _insured(session, share=70))
    # Insurance 63.00; the 80+ rule would give 45.00 but only 27.00 is left.
    assert (order.ltc_fen, order.subsidy_fen, order.copay_fen) == (6300, 2700, 0)
    assert "insurance" in order.price_breakdown["reason"]


def test_an_uninsured_service_class_or_day_gets_nothing_from_insurance(session: Session) -> None:
    member = _insured(session, valid_to=date(2026, 12, 9))
    cleaning = _order(session, member, item_code="domestic.cleaning")
    assert cleaning.ltc_fen == 0 and cleaning.price_breakdown["ltc"] is None
    after = _order(session, member, day=date(2026, 12, 10))
    assert after.ltc_fen == 0
    before = _order(session, member, day=date(2026, 12, 9))
    assert before.ltc_fen == 3600


def test_the_monthly_limit_caps_the_insurer_across_orders(session: Session) -> None:
    member = _insured(session, limit=5000, age80=False)
    provider = f.make_provider(session)
    first = orders_service.confirm(session, _order(session, member, provider=provider), actor="p")
    # No protected group, so no guide price: the provider's 100.00.
    assert (first.ltc_fen, first.copay_fen) == (4000, 6000)
    second = _order(session, member, day=date(2026, 12, 11), provider=provider)
    assert (second.ltc_fen, second.copay_fen) == (1000, 9000)
    # Used this month: only what the insurer committed (reserved less released).
    assert member.id is not None
    assert ledger.member_ltc_committed(session, member.id, MONTH) == 4000


def test_confirming_past_the_limit_since_the_quote_is_refused(session: Session) -> None:
    member = _insured(session, limit=5000, age80=False)
    provider = f.make_provider(session)
    a = _order(session, member, provider=provider)
    b = _order(session, member, day=date(2026, 12, 11), provider=provider)
    assert a.ltc_fen == b.ltc_fen == 4000  # both quoted before either was confirmed
    orders_service.confirm(session, a, actor="p")
    with pytest.raises(Conflict, match="long-term-care limit"):
        orders_service.confirm(session, b, actor="p")
    assert _entries(session, b) == []


def test_the_ledger_follows_every_payer_through_completion_and_refund(session: Session) -> None:
    order = orders_service.confirm(session, _order(session, _insured(session)), actor="p")
    assert _entries(session, order) == [(R, LTC, 3600), (R, S, 4500), (R, H, 900)]
    order = _serve(session, order)
    assert _entries(session, order)[3:] == [(C, LTC, 3600), (C, S, 4500), (C, H, 900)]
    statement = settlement.statement(session, order.provider_id, MONTH)
    assert (statement.ltc_fen, statement.subsidy_fen, statement.household_fen) == (
        3600,
        4500,
        900,
    )
    assert statement.total_fen == order.list_price_fen and statement.reconciles(session)
    orders_service.refund(
        session, order, amount_fen=3600, payer=LTC, reason="insurer audit", actor="insurer"
    )
    statement = settlement.statement(session, order.provider_id, MONTH)
    assert statement.ltc_fen == 0 and statement.reconciles(session)
    assert ledger.verify(session).ok


def test_a_cancellation_releases_the_insurers_share(session: Session) -> None:
    member = _insured(session)
    order = orders_service.confirm(session, _order(session, member), actor="p")
    orders_service.cancel(session, order, actor="household", reason="better", now=ORDERED)
    assert _entries(session, order)[3:] == [(L, LTC, 3600), (L, S, 4500), (L, H, 900)]
    assert member.id is not None
    assert ledger.member_ltc_committed(session, member.id, MONTH) == 0


def test_subsidy_first_when_the_policy_says_so(session: Session) -> None:
    policy = dataclasses.replace(
        reference_policy(),
        version="subsidy-first",
        effective_from=date(2026, 11, 1),
        payer_order=("subsidy", "ltc_insurance", "household"),
    )
    pricing_service.add_policy_version(session, policy, actor="test", today=date(2026, 11, 1))
    order = _order(session, _insured(session, share=70))
    # The subsidy's 45.00 first, then insurance's 63.00 within the 45.00 left.
    assert (order.subsidy_fen, order.ltc_fen, order.copay_fen) == (4500, 4500, 0)


def test_benefits_of_one_member_may_not_overlap(session: Session) -> None:
    member = _insured(session, valid_to=date(2026, 12, 31))
    assert member.id is not None
    again = LtcEntitlementCreate(
        scheme="x",
        service_classes=[ServiceClass.CARE],
        share_percent=50,
        monthly_limit_fen=1,
        valid_from=date(2026, 12, 31),
        recorded_by="t",
    )
    with pytest.raises(Conflict, match="already has a long-term-care benefit"):
        households_service.add_ltc_entitlement(session, member.id, again)
    later = again.model_copy(update={"valid_from": date(2027, 1, 1)})
    households_service.add_ltc_entitlement(session, member.id, later)
    assert len(households_service.list_ltc_entitlements(session, member.id)) == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("share_percent", 0),
        ("share_percent", 101),
        ("monthly_limit_fen", -1),
        ("service_classes", []),
        ("service_classes", ["care", "care"]),
        ("service_classes", ["gardening"]),
        ("valid_to", date(2025, 12, 31)),
    ],
)
def test_a_benefit_is_checked(field: str, value: object) -> None:
    data: dict[str, object] = {
        "scheme": "x",
        "service_classes": ["care"],
        "share_percent": 50,
        "monthly_limit_fen": 100,
        "valid_from": date(2026, 1, 1),
        "recorded_by": "t",
    }
    with pytest.raises(ValidationError):
        LtcEntitlementCreate.model_validate({**data, field: value})


def test_insurance_alone_makes_no_subsidy(session: Session) -> None:
    """An insured member of no protected group pays what insurance leaves."""
    order = _order(session, _insured(session, age80=False))
    assert (order.ltc_fen, order.subsidy_fen, order.copay_fen) == (4000, 0, 6000)
    assert order.price_breakdown["reason"] == "no protected group"
