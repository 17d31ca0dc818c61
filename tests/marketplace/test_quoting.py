"""Quotes: the provider's tariff, the member's groups on the service day, the stored policy in
force on the quote day, the monthly cap and the district budget."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from sqlmodel import Session

from core.errors import Validation
from core.timeutil import local_datetime
from marketplace.households.models import DisabilityLevel, Household, Member, ProtectedCategory
from marketplace.orders import quoting
from marketplace.orders.quoting import Quote
from marketplace.providers import service as providers_service
from marketplace.providers.models import Provider, ServicePointKind
from marketplace.providers.schemas import ServicePointCreate
from pricing import ledger
from pricing import service as pricing_service
from pricing.ledger import EntryDraft
from pricing.models import EntryKind, Payer
from pricing.policy import Group
from tests import factories as f

MONTH = "2026-12"
ORDERED = local_datetime(date(2026, 11, 20), time(10))
NINE = local_datetime(f.DAY, time(9))


def _quote(
    session: Session,
    member: Member,
    provider: Provider,
    item_code: str,
    *,
    minutes: int = 120,
    quantity: int = 1,
    start: datetime = NINE,
    ordered_at: datetime = ORDERED,
) -> Quote:
    assert member.id and provider.id
    item_id = f.item(session, item_code).id
    assert item_id is not None
    return quoting.quote(
        session,
        member_id=member.id,
        provider_id=provider.id,
        item_id=item_id,
        start=start,
        minutes=minutes,
        quantity=quantity,
        ordered_at=ordered_at,
    )


def _dibao(session: Session, **kw: object) -> tuple[Household, Member]:
    household, _ = f.make_household(session, **kw)  # type: ignore[arg-type]
    member = f.add_member(session, household)
    f.grant_status(session, member, ProtectedCategory.DIBAO)
    return household, member


def _reserve(
    session: Session, *, member_id: int, district: str, amount: int, key: str = "filler"
) -> None:
    ledger.append(
        session,
        EntryDraft(
            idempotency_key=key,
            kind=EntryKind.RESERVE,
            payer=Payer.SUBSIDY,
            order_ref=key,
            member_id=member_id,
            provider_id=0,
            district_code=district,
            month=MONTH,
            amount_fen=amount,
            actor="test",
        ),
    )


class TestSubsidy:
    """Who gets what under the reference policy."""

    def test_dibao_cleaning_gets_80_percent_of_the_guide_price(self, session: Session) -> None:
        _, member = _dibao(session)
        q = _quote(session, member, f.make_provider(session), "domestic.cleaning")
        # 45.00/h provider price, capped at the 40.00/h guide for a subsidised order: 80.00.
        assert (q.list_price_fen, q.subsidy_fen, q.copay_fen) == (8000, 6400, 1600)
        assert q.price.capped_by_guide
        assert q.groups == (Group.DIBAO,)
        assert q.decision.group is Group.DIBAO and q.decision.rule is not None
        assert q.decision.rule.percent == 80
        assert q.policy_version == "fz-2026.1"
        assert (q.month, q.cap_used_fen, q.balance_after_fen) == (MONTH, 0, 60000 - 6400)
        stored = q.to_dict()
        for key in ("policy_version", "month", "district", "cap_fen", "group", "rule", "reason"):
            assert key in stored
        assert stored["group"] == "dibao" and stored["cap_fen"] == 60000
        assert stored["billed_minutes"] == 120 and stored["total_fen"] == 8000

    def test_someone_in_no_group_pays_the_provider_price(self, session: Session) -> None:
        household, _ = f.make_household(session)
        member = f.add_member(session, household)
        q = _quote(session, member, f.make_provider(session), "domestic.cleaning")
        assert (q.list_price_fen, q.subsidy_fen, q.copay_fen) == (9000, 0, 9000)
        assert not q.price.capped_by_guide
        assert q.groups == () and q.decision.reason == "no protected group"
        assert q.to_dict()["group"] is None

    def test_80_plus_meal_is_paid_per_meal(self, session: Session) -> None:
        _, elder = f.make_household(session)  # 86 on the service day
        q = _quote(session, elder, f.make_provider(session), "meal.lunch", minutes=5, quantity=2)
        assert q.groups == (Group.AGE80,)
        assert (q.list_price_fen, q.subsidy_fen, q.copay_fen) == (3000, 1000, 2000)
        assert "5.00 yuan per meal × 2" in q.decision.reason

    def test_80_is_counted_on_the_service_day(self, session: Session) -> None:
        household, _ = f.make_household(session)
        turning = f.add_member(session, household, birth_date=date(1946, 12, 2))
        provider = f.make_provider(session)
        day_before = _quote(session, turning, provider, "meal.lunch", minutes=5)
        birthday = _quote(
            session,
            turning,
            provider,
            "meal.lunch",
            minutes=5,
            start=local_datetime(date(2026, 12, 2), time(11)),
        )
        assert (day_before.groups, day_before.subsidy_fen) == ((), 0)
        assert (birthday.groups, birthday.subsidy_fen) == ((Group.AGE80,), 500)

    def test_disability_level_names_the_group(self, session: Session) -> None:
        household, _ = f.make_household(session)
        member = f.add_member(session, household)
        f.grant_status(session, member, ProtectedCategory.DISABILITY, level=DisabilityLevel.SEVERE)
        q = _quote(session, member, f.make_provider(session), "elderly_care.daily_living")
        assert q.groups == (Group.DISABILITY_SEVERE,)
        # 45.00 yuan per hour for 120 min, within the 90.00 guide-capped price.
        assert (q.list_price_fen, q.subsidy_fen) == (9000, 9000)

    def test_a_status_not_yet_in_force_does_not_count(self, session: Session) -> None:
        household, _ = f.make_household(session)
        member = f.add_member(session, household)
        f.grant_status(session, member, ProtectedCategory.DIBAO, valid_from=date(2026, 12, 2))
        q = _quote(session, member, f.make_provider(session), "domestic.cleaning")
        assert (q.groups, q.subsidy_fen) == ((), 0)


class TestLimits:
    """The monthly cap and the district budget as they stand when quoting."""

    def test_cap_nearly_used_limits_the_subsidy(self, session: Session) -> None:
        _, member = _dibao(session)
        assert member.id is not None
        district = quoting.district_code(session, _household(session, member))
        _reserve(session, member_id=member.id, district=district, amount=59000)
        q = _quote(session, member, f.make_provider(session), "domestic.cleaning")
        assert (q.subsidy_fen, q.copay_fen) == (1000, 7000)
        assert q.decision.limited_by == "cap"
        assert "limited by the monthly cap (600.00 yuan, 10.00 yuan left)" in q.decision.reason
        assert (q.cap_used_fen, q.balance_after_fen) == (59000, 0)

    def test_spent_district_budget_gives_no_subsidy(self, session: Session) -> None:
        _, member = _dibao(session, district_code="350102")
        # Someone else in the district used up its whole month (300 000.00 yuan).
        _reserve(session, member_id=999, district="350102", amount=30_000_000)
        q = _quote(session, member, f.make_provider(session), "domestic.cleaning")
        assert (q.subsidy_fen, q.copay_fen) == (0, 8000)
        assert q.decision.limited_by == "budget"
        assert "district 350102 budget for the month is spent" in q.decision.reason
        assert (q.district_budget_fen, q.district_remaining_fen) == (30_000_000, 0)

    def test_a_district_without_a_budget_is_unlimited(self, session: Session) -> None:
        _, member = _dibao(session)
        q = _quote(session, member, f.make_provider(session), "domestic.cleaning")
        assert q.district_budget_fen is None and q.district_remaining_fen is None


class TestTariffs:
    """A provider's own prices and surcharges, stored as data."""

    def test_the_provider_tariff_and_its_surcharges_apply(self, session: Session) -> None:
        household, _ = f.make_household(session)
        member = f.add_member(session, household)
        provider = f.make_provider(session)
        assert provider.id is not None
        item = f.item(session, "domestic.cleaning")
        assert item.id is not None
        pricing_service.set_tariff(
            session,
            provider_id=provider.id,
            item_id=item.id,
            unit_price_fen=5000,
            night_percent=50,
            radius_m=3000,
            per_km_fen=200,
        )
        # A base about 5.6 km north of the home: 3 started km beyond the 3 km radius.
        providers_service.add_service_point(
            session,
            provider.id,
            ServicePointCreate(
                kind=ServicePointKind.BASE,
                name="总部",
                address="鼓楼区测试路99号",
                lat=f.FUZHOU[0] + 0.05,
                lon=f.FUZHOU[1],
            ),
        )
        night = local_datetime(f.DAY, time(20, 30))
        q = _quote(session, member, provider, "domestic.cleaning", start=night)
        kinds = {line.kind: line.fen for line in q.price.lines}
        assert kinds == {"labour": 10000, "night": 5000, "distance": 600}
        assert 5000 < q.distance_m < 6000
        assert q.list_price_fen == 15600

    def test_the_tariff_can_be_replaced(self, session: Session) -> None:
        provider = f.make_provider(session)
        item = f.item(session, "domestic.cleaning")
        assert provider.id and item.id
        first = pricing_service.set_tariff(
            session, provider_id=provider.id, item_id=item.id, unit_price_fen=5000
        )
        again = pricing_service.set_tariff(
            session, provider_id=provider.id, item_id=item.id, unit_price_fen=5500
        )
        assert again.id == first.id and again.unit_price_fen == 5500
        with pytest.raises(Validation, match="night_percent"):
            pricing_service.set_tariff(
                session,
                provider_id=provider.id,
                item_id=item.id,
                unit_price_fen=5500,
                night_percent=400,
            )


def test_no_policy_in_force_on_the_quote_day_is_refused(session: Session) -> None:
    _, member = _dibao(session)
    with pytest.raises(Validation, match="no subsidy policy is in effect on 2025-12-31"):
        _quote(
            session,
            member,
            f.make_provider(session),
            "domestic.cleaning",
            ordered_at=local_datetime(date(2025, 12, 31), time(12)),
        )


def _household(session: Session, member: Member) -> Household:
    household = session.get(Household, member.household_id)
    assert household is not None
    return household
