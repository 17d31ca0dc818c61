"""Quotes: an order's price under the provider's tariff and the subsidy the member gets for it.

A quote reads the member's protected groups on the service date, the stored policy version in
force on the day it is quoted, and what the member and the district have already committed this
month; it writes nothing. Orders keep their quote (``Quote.to_dict``) and are never re-priced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from sqlmodel import Session

from core.errors import Validation
from core.geo import Point, haversine_m
from core.timeutil import local_date, utcnow
from marketplace.catalog import service as catalog_service
from marketplace.geography import service as geography_service
from marketplace.households import service as households_service
from marketplace.households.models import DisabilityLevel, Household, ProtectedCategory
from marketplace.providers import service as providers_service
from marketplace.providers.models import ServicePointKind
from pricing import ledger
from pricing import service as pricing_service
from pricing.holidays import default_calendar
from pricing.policy import (
    Group,
    PolicyDocument,
    Rule,
    RuleKind,
    ServiceClass,
    SubsidyDecision,
    SubsidyRequest,
    decide,
    service_class,
)
from pricing.tariff import PriceBreakdown, price_order

# ledger_entry.district_code holds 12 characters (administrative codes have 6).
MAX_DISTRICT_CODE = 12

CATEGORY_GROUP: Mapping[ProtectedCategory, Group] = MappingProxyType(
    {
        ProtectedCategory.TEKUN: Group.TEKUN,
        ProtectedCategory.DIBAO: Group.DIBAO,
        ProtectedCategory.YOUFU: Group.YOUFU,
        ProtectedCategory.AGE80: Group.AGE80,
    }
)
DISABILITY_GROUP: Mapping[DisabilityLevel, Group] = MappingProxyType(
    {
        DisabilityLevel.MODERATE: Group.DISABILITY_MODERATE,
        DisabilityLevel.SEVERE: Group.DISABILITY_SEVERE,
        DisabilityLevel.TOTAL: Group.DISABILITY_TOTAL,
    }
)


@dataclass(frozen=True, slots=True)
class LtcCover:
    """The member's long-term-care insurance benefit as it applies to one order."""

    scheme: str
    share_percent: int
    monthly_limit_fen: int
    used_fen: int  # reserved or paid by the insurer earlier this month
    covered_fen: int  # share of the price, before the monthly limit

    @property
    def amount_fen(self) -> int:
        """What the insurer offers to pay: its share, within what is left of the limit."""
        return min(self.covered_fen, max(self.monthly_limit_fen - self.used_fen, 0))

    def to_dict(self) -> dict[str, Any]:
        """JSON for the order's price breakdown."""
        return {
            "scheme": self.scheme,
            "share_percent": self.share_percent,
            "monthly_limit_fen": self.monthly_limit_fen,
            "used_fen": self.used_fen,
            "covered_fen": self.covered_fen,
        }


def ltc_cover(
    session: Session, *, member_id: int, cls: ServiceClass, day: date, month: str, price_fen: int
) -> LtcCover | None:
    """The insurer's part of an order: its share of the price of a covered service, rounded
    down to the fen; None when the member has no benefit for the service that day."""
    benefit = households_service.ltc_entitlement_on(session, member_id, day)
    if benefit is None or cls.value not in benefit.service_classes:
        return None
    return LtcCover(
        scheme=benefit.scheme,
        share_percent=benefit.share_percent,
        monthly_limit_fen=benefit.monthly_limit_fen,
        used_fen=ledger.member_ltc_committed(session, member_id, month),
        covered_fen=price_fen * benefit.share_percent // 100,
    )


@dataclass(frozen=True, slots=True)
class Quote:
    """An order's price, who pays what and why, and the limits it was quoted against."""

    price: PriceBreakdown
    decision: SubsidyDecision
    unit: str
    groups: tuple[Group, ...]
    district: str
    month: str
    service_date: date
    quoted_at: datetime
    distance_m: int
    cap_used_fen: int
    balance_after_fen: int
    district_budget_fen: int | None
    district_remaining_fen: int | None
    ltc: LtcCover | None = None

    @property
    def policy_version(self) -> str:
        """The stored policy version the subsidy was decided under."""
        return self.decision.policy_version

    @property
    def list_price_fen(self) -> int:
        """The order's price."""
        return self.price.total_fen

    @property
    def subsidy_fen(self) -> int:
        """What the subsidy pays."""
        return self.decision.subsidy_fen

    @property
    def copay_fen(self) -> int:
        """What the household pays."""
        return self.decision.copay_fen

    @property
    def ltc_fen(self) -> int:
        """What long-term-care insurance pays."""
        return self.decision.ltc_fen

    def to_dict(self) -> dict[str, Any]:
        """The JSON kept as the order's price breakdown."""
        decision = self.decision
        return {
            **self.price.to_dict(),
            "unit": self.unit,
            "policy_version": self.policy_version,
            "month": self.month,
            "district": self.district,
            "service_date": self.service_date.isoformat(),
            "quoted_at": self.quoted_at.isoformat(),
            "distance_m": self.distance_m,
            "groups": [g.value for g in self.groups],
            "group": None if decision.group is None else decision.group.value,
            "rule": None if decision.rule is None else _rule_dict(decision.rule),
            "rule_amount_fen": decision.rule_amount_fen,
            "reason": decision.reason,
            "limited_by": decision.limited_by,
            "subsidy_fen": decision.subsidy_fen,
            "ltc_fen": decision.ltc_fen,
            "copay_fen": decision.copay_fen,
            "cap_fen": decision.cap_fen,
            "cap_used_fen": self.cap_used_fen,
            "cap_remaining_fen": decision.cap_remaining_fen,
            "balance_after_fen": self.balance_after_fen,
            "district_budget_fen": self.district_budget_fen,
            "district_remaining_fen": self.district_remaining_fen,
            "ltc": None if self.ltc is None else self.ltc.to_dict(),
            "ltc_limit_fen": None if self.ltc is None else self.ltc.monthly_limit_fen,
        }


def _rule_dict(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": rule.kind.value, "text": rule.describe()}
    if rule.kind is RuleKind.SHARE:
        out["percent"] = rule.percent
    elif rule.kind is RuleKind.PER_UNIT:
        out["amount_fen"] = rule.amount_fen
        out["unit"] = rule.unit
    return out


def groups_on(session: Session, member_id: int, day: date) -> tuple[Group, ...]:
    """The member's protected groups on ``day`` (approved statuses in force, 80+ by age)."""
    found: set[Group] = set()
    for status in households_service.active_statuses(session, member_id, day):
        if status.category is ProtectedCategory.DISABILITY:
            if status.disability_level is not None:
                found.add(DISABILITY_GROUP[status.disability_level])
        else:
            found.add(CATEGORY_GROUP[status.category])
    return tuple(g for g in Group if g in found)


def district_code(session: Session, household: Household) -> str:
    """The code of the household's district, as the policy and the ledger name it."""
    code = geography_service.get_or_raise(session, household.district_id).code
    if len(code) > MAX_DISTRICT_CODE:
        raise Validation(
            f"district code {code!r} is longer than the ledger's {MAX_DISTRICT_CODE} characters"
        )
    return code


def distance_from_base(session: Session, provider_id: int, household: Household) -> int:
    """Metres from the provider's first base to the home; 0 when it has no base."""
    for point in providers_service.list_service_points(session, provider_id):
        if ServicePointKind(point.kind) is ServicePointKind.BASE:
            return haversine_m(Point(point.lat, point.lon), Point(household.lat, household.lon))
    return 0


def _subsidised(policy: PolicyDocument, groups: tuple[Group, ...], cls: ServiceClass) -> bool:
    return any(policy.rule(group, cls).kind is not RuleKind.NONE for group in groups)


def quote(
    session: Session,
    *,
    member_id: int,
    provider_id: int,
    item_id: int,
    start: datetime,
    minutes: int,
    quantity: int = 1,
    parts_fen: int = 0,
    ordered_at: datetime | None = None,
) -> Quote:
    """Price a service for a member and decide its subsidy under the policy in force today.

    The guide price caps the labour when one of the member's groups has a subsidy rule for the
    service. The monthly cap and the district budget are read as they stand; confirming the
    order checks them again under the ledger lock.
    """
    at = ordered_at or utcnow()
    member = households_service.get_member_or_raise(session, member_id)
    household = households_service.get_or_raise(session, member.household_id)
    providers_service.get_or_raise(session, provider_id)
    item = catalog_service.get_item_or_raise(session, item_id)
    cls = service_class(catalog_service.category_of(session, item).code)

    day = local_date(start)
    month = f"{day.year:04d}-{day.month:02d}"
    district = district_code(session, household)
    groups = groups_on(session, member_id, day)
    policy = pricing_service.policy_on(session, local_date(at))

    tariff = pricing_service.tariff_for(
        session,
        provider_id=provider_id,
        item_id=item_id,
        unit=item.unit,
        reference_price_fen=item.reference_price_fen,
        guide_price_fen=item.guide_price_fen,
    )
    distance = distance_from_base(session, provider_id, household)
    price = price_order(
        tariff,
        start=start,
        minutes=minutes,
        quantity=quantity,
        ordered_at=at,
        distance_m=distance,
        parts_fen=parts_fen,
        subsidised=_subsidised(policy, groups, cls),
        holidays=default_calendar(),
    )

    ltc = ltc_cover(
        session, member_id=member_id, cls=cls, day=day, month=month, price_fen=price.total_fen
    )
    cap_used = ledger.member_committed(session, member_id, month)
    budget = policy.district_budget_fen(district)
    remaining: int | None = None
    if budget is not None:
        remaining = max(budget - ledger.district_committed(session, district, month), 0)
    decision = decide(
        policy,
        SubsidyRequest(
            groups=frozenset(groups),
            service_class=cls,
            price_fen=price.total_fen,
            subsidisable_fen=price.subsidisable_fen,
            billed_minutes=price.billed_minutes,
            quantity=quantity,
            unit=str(item.unit),
            cap_used_fen=cap_used,
            district_remaining_fen=remaining,
            district=district,
            ltc_fen=0 if ltc is None else ltc.amount_fen,
        ),
    )
    return Quote(
        price=price,
        decision=decision,
        unit=str(item.unit),
        groups=groups,
        district=district,
        month=month,
        service_date=day,
        quoted_at=at,
        distance_m=distance,
        cap_used_fen=cap_used,
        balance_after_fen=decision.cap_remaining_fen - decision.subsidy_fen,
        district_budget_fen=budget,
        district_remaining_fen=remaining,
        ltc=ltc,
    )


__all__ = [
    "LtcCover",
    "Quote",
    "distance_from_base",
    "district_code",
    "groups_on",
    "ltc_cover",
    "quote",
]
