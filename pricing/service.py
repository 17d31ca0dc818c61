"""Pricing use cases: stored policy versions, provider tariffs, cap and budget checks.

Services flush and never commit; the caller's unit of work commits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.errors import Conflict, NotFound, Validation
from core.timeutil import local_date, utcnow
from pricing import repository as repo
from pricing.models import Payer, ProviderTariff, SubsidyPolicy
from pricing.policy import PolicyDocument, load_policy, policy_to_dict
from pricing.tariff import Surcharges, Tariff, Unit

# --- policy versions -----------------------------------------------------------------------


def _document(row: SubsidyPolicy) -> PolicyDocument:
    return _parsed(json.dumps(row.document, sort_keys=True, ensure_ascii=False))


@lru_cache(maxsize=64)
def _parsed(text: str) -> PolicyDocument:
    # Keyed by the document's own text: a stored version never changes, and parsing it is the
    # costly part of every quote and confirmation.
    return load_policy(json.loads(text))


def add_policy_version(
    session: Session, document: PolicyDocument, *, actor: str, today: date | None = None
) -> SubsidyPolicy:
    """Store a new policy version; it applies to orders quoted from its effective date on.

    Refuses a version name or an effective date already stored (Conflict) and a start before
    ``today`` (local), since orders quoted since then were priced under the version before.
    """
    if not actor.strip():
        raise Validation("a policy version needs the name of who adds it")
    today = today or local_date(utcnow())
    if document.effective_from < today:
        raise Validation(
            f"policy {document.version!r} would take effect on "
            f"{document.effective_from.isoformat()}, before today ({today.isoformat()}); "
            "a version applies to orders quoted from its start, so it cannot start in the past",
            location="$.effective_from",
        )
    if repo.policy_by_version(session, document.version) is not None:
        raise Conflict(f"policy version {document.version!r} is already stored")
    same_day = repo.policy_by_date(session, document.effective_from)
    if same_day is not None:
        raise Conflict(
            f"policy version {same_day.version!r} already takes effect on "
            f"{document.effective_from.isoformat()}"
        )
    row = SubsidyPolicy(
        version=document.version,
        effective_from=document.effective_from,
        document=policy_to_dict(document),
        created_by=actor[:80],
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"policy version {document.version!r} or its effective date was stored meanwhile"
        ) from exc
    return row


def policy_versions(session: Session) -> list[PolicyDocument]:
    """Every stored version, oldest first."""
    return [_document(row) for row in repo.policies(session)]


def policy_on(session: Session, day: date) -> PolicyDocument:
    """The stored version in force on ``day`` (the latest that took effect on or before it)."""
    row = repo.policy_in_force(session, day)
    if row is not None:
        return _document(row)
    if not repo.policies(session):
        raise NotFound("no subsidy policy is stored; run the database migrations")
    raise Validation(f"no subsidy policy is in effect on {day.isoformat()}")


def policy_version(session: Session, version: str) -> PolicyDocument:
    """One stored version by name, or NotFound."""
    row = repo.policy_by_version(session, version)
    if row is None:
        raise NotFound(f"policy version {version!r} is not stored")
    return _document(row)


# --- tariffs -------------------------------------------------------------------------------


def set_tariff(
    session: Session,
    *,
    provider_id: int,
    item_id: int,
    unit_price_fen: int,
    night_percent: int = 0,
    holiday_percent: int = 0,
    urgent_percent: int = 0,
    radius_m: int = 0,
    per_km_fen: int = 0,
) -> ProviderTariff:
    """Set (create or replace) a provider's price and surcharges for one item."""
    if unit_price_fen <= 0:
        raise Validation("the unit price must be positive")
    Surcharges(
        night_percent=night_percent,
        holiday_percent=holiday_percent,
        urgent_percent=urgent_percent,
        radius_m=radius_m,
        per_km_fen=per_km_fen,
    )
    row = repo.tariff(session, provider_id, item_id) or ProviderTariff(
        provider_id=provider_id, item_id=item_id, unit_price_fen=unit_price_fen
    )
    row.unit_price_fen = unit_price_fen
    row.night_percent = night_percent
    row.holiday_percent = holiday_percent
    row.urgent_percent = urgent_percent
    row.radius_m = radius_m
    row.per_km_fen = per_km_fen
    session.add(row)
    session.flush()
    return row


def tariffs_of_provider(session: Session, provider_id: int) -> Sequence[ProviderTariff]:
    """The provider's own prices (items without a row sell at the reference price)."""
    return repo.tariffs_of_provider(session, provider_id)


def priced_item_ids(session: Session, provider_ids: Sequence[int]) -> dict[int, list[int]]:
    """The items each of these providers has its own price for, in one query, by provider id."""
    return repo.priced_item_ids(session, provider_ids)


def tariff_for(
    session: Session,
    *,
    provider_id: int,
    item_id: int,
    unit: str,
    reference_price_fen: int,
    guide_price_fen: int | None,
) -> Tariff:
    """The provider's tariff for the item; without a row, the reference price, no surcharges."""
    row = repo.tariff(session, provider_id, item_id)
    guide = guide_price_fen or None  # a zero guide price means none was set
    if row is None:
        return Tariff(unit=Unit(unit), unit_price_fen=reference_price_fen, guide_price_fen=guide)
    return Tariff(
        unit=Unit(unit),
        unit_price_fen=row.unit_price_fen,
        guide_price_fen=guide,
        surcharges=Surcharges(
            night_percent=row.night_percent,
            holiday_percent=row.holiday_percent,
            urgent_percent=row.urgent_percent,
            radius_m=row.radius_m,
            per_km_fen=row.per_km_fen,
        ),
    )


# --- caps and budgets ----------------------------------------------------------------------


def lock_ledger(session: Session) -> None:
    """Take the ledger head lock for the rest of the transaction (take it before order rows)."""
    repo.lock_head(session)


def check_room(
    session: Session,
    *,
    member_id: int,
    district_code: str,
    month: str,
    amount_fen: int,
    cap_fen: int,
    policy_version: str,
) -> None:
    """Refuse (Conflict) a reservation that would take the member past ``cap_fen`` or the
    district past its budget in ``policy_version``; holds the ledger head lock, so the check
    and the reservation that follows it in the same transaction are atomic."""
    repo.lock_head(session)
    member, district = repo.refresh_balances(session, member_id, district_code, month)
    problems: list[str] = []
    used = member.committed_fen if member is not None else 0
    if used + amount_fen > cap_fen:
        problems.append(
            f"the member has {_yuan(max(cap_fen - used, 0))} yuan of the monthly cap "
            f"({_yuan(cap_fen)} yuan) left for {month}, the quote needs {_yuan(amount_fen)}"
        )
    budget = policy_version_budget(session, policy_version, district_code)
    if budget is not None:
        spent = district.committed_fen if district is not None else 0
        if spent + amount_fen > budget:
            problems.append(
                f"district {district_code} has {_yuan(max(budget - spent, 0))} yuan of its "
                f"budget left for {month}, the quote needs {_yuan(amount_fen)}"
            )
    if problems:
        raise Conflict(f"the quote is out of date: {'; '.join(problems)}; quote again")


def check_ltc_room(
    session: Session, *, member_id: int, month: str, amount_fen: int, limit_fen: int
) -> None:
    """Refuse (Conflict) an insurance share that would take the member past the benefit's
    monthly limit; holds the ledger head lock."""
    repo.lock_head(session)
    used = repo.member_payer_committed(session, member_id, month, Payer.LTC_INSURANCE)
    if used + amount_fen > limit_fen:
        raise Conflict(
            f"the quote is out of date: the member has {_yuan(max(limit_fen - used, 0))} yuan "
            f"of the long-term-care limit ({_yuan(limit_fen)} yuan) left for {month}, the "
            f"quote needs {_yuan(amount_fen)}; quote again"
        )


def policy_version_budget(session: Session, version: str, district_code: str) -> int | None:
    """The district's monthly budget under a stored version; None means unlimited."""
    return policy_version(session, version).district_budget_fen(district_code)


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


# --- budget report -------------------------------------------------------------------------


def policy_page(session: Session, *, after_id: int, limit: int) -> Sequence[SubsidyPolicy]:
    """Stored policy versions in the order they were added, a page: ids after ``after_id``."""
    return repo.policies_page(session, after_id=after_id, limit=limit)


@dataclass(frozen=True, slots=True)
class DistrictBudget:
    """A district's subsidy budget for a month and what the ledger holds against it."""

    district_code: str
    budget_fen: int | None  # None: unlimited
    committed_fen: int  # reserved or used
    consumed_fen: int  # used (verified visits)

    @property
    def remaining_fen(self) -> int | None:
        """What is left to commit this month (None: unlimited)."""
        if self.budget_fen is None:
            return None
        return max(self.budget_fen - self.committed_fen, 0)


def district_budgets(
    session: Session, month: str, *, policy: PolicyDocument, district_codes: Iterable[str] = ()
) -> list[DistrictBudget]:
    """Every district's budget under ``policy`` and its ledger balance for ``month``
    (``YYYY-MM``): the districts named, those the policy budgets and those with a balance,
    by code."""
    balances = {row.district_code: row for row in repo.district_balances_in(session, [month])}
    codes = set(district_codes) | set(policy.district_budgets_fen) | set(balances)
    report: list[DistrictBudget] = []
    for code in sorted(codes):
        row = balances.get(code)
        report.append(
            DistrictBudget(
                district_code=code,
                budget_fen=policy.district_budget_fen(code),
                committed_fen=row.committed_fen if row is not None else 0,
                consumed_fen=row.consumed_fen if row is not None else 0,
            )
        )
    return report


def tariffs_page(
    session: Session, provider_id: int, *, after_id: int = 0, limit: int = 50
) -> Sequence[ProviderTariff]:
    """A page of the provider's own prices, in the order they were first set."""
    return repo.tariffs_page(session, provider_id, after_id=after_id, limit=limit)
