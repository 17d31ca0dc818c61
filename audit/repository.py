"""The audit's queries: one month's visits and everything the rules need, loaded in bulk.

A handful of set-based queries (no per-visit round trips), so a month of tens of thousands of
visits loads in seconds on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import defer
from sqlmodel import Session, col
from sqlmodel import select as sqlmodel_select

from audit.facts import (
    CertificateFact,
    EditFact,
    EntitlementFact,
    LedgerFact,
    MemberFact,
    MonthFacts,
    PeriodFact,
    Thresholds,
    VisitFact,
)
from audit.models import (
    AuditExport,
    AuditRun,
    Finding,
    FindingEvent,
    FindingStatus,
    WorkStatus,
)
from core.errors import Validation
from marketplace.catalog.models import Category, Item
from marketplace.geography.models import Area
from marketplace.households.models import (
    Household,
    Member,
    ProtectedCategory,
    ProtectedStatus,
    StatusPeriod,
    StatusReview,
)
from marketplace.orders.models import Order, WorkerBooking
from marketplace.providers.models import Provider, Worker, WorkerCertificate
from marketplace.visits.models import Visit, VisitEdit
from pricing import ledger
from pricing.models import EntryKind, LedgerEntry, Payer
from pricing.policy import CATEGORY_CLASS

# Protected-status categories as policy groups (disability by its assessed level).
_GROUP_OF_CATEGORY = {
    ProtectedCategory.TEKUN.value: "tekun",
    ProtectedCategory.DIBAO.value: "dibao",
    ProtectedCategory.YOUFU.value: "youfu",
    ProtectedCategory.AGE80.value: "age80",
}


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of a ``YYYY-MM`` month; Validation for anything else."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except ValueError as exc:
        raise Validation(f"month must be YYYY-MM, got {month!r}") from exc
    if len(month) != 7:
        raise Validation(f"month must be YYYY-MM, got {month!r}")
    after = (first + timedelta(days=32)).replace(day=1)
    return first, after - timedelta(days=1)


def person_key(worker_id: int, phone: str | None) -> str:
    """A worker as a person across providers: the registered phone number, else the row."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    return f"tel:{digits}" if len(digits) >= 7 else f"worker:{worker_id}"


def _group(category: str, level: str | None) -> str:
    if category == ProtectedCategory.DISABILITY.value:
        return f"disability_{level}"
    return _GROUP_OF_CATEGORY[category]


def _billed_minutes(breakdown: Mapping[str, Any], duration: int, quantity: int) -> int:
    billed = breakdown.get("billed_minutes")
    if isinstance(billed, int):
        return billed * max(quantity, 1)
    return duration


_NET_KINDS = (EntryKind.CONSUME.value, EntryKind.REVERSAL.value)


def _signed(kind: str, total: int | None) -> int:
    """A ledger sum counted as consumed (+) or reversed (−)."""
    return int(total or 0) if kind == EntryKind.CONSUME.value else -int(total or 0)


def _net_subsidy(session: Session, month: str, by: Any, *where: Any) -> dict[Any, int]:
    """Subsidy consumed less reversed in the service month, summed by one ledger column (of the
    entries matching ``where`` too)."""
    rows = session.execute(
        select(by, col(LedgerEntry.kind), func.sum(col(LedgerEntry.amount_fen)))
        .where(
            col(LedgerEntry.month) == month,
            col(LedgerEntry.payer) == Payer.SUBSIDY.value,
            col(LedgerEntry.kind).in_(_NET_KINDS),
            *where,
        )
        .group_by(by, col(LedgerEntry.kind))
    ).all()
    out: dict[Any, int] = defaultdict(int)
    for key, kind, total in rows:
        out[key] += _signed(kind, total)
    return dict(out)


def _subsidy_by_order(session: Session, month: str, *where: Any) -> dict[str, int]:
    """Subsidy consumed and not reversed, per order, for the service month."""
    return _net_subsidy(session, month, col(LedgerEntry.order_ref), *where)


def _subsidy_by_member(session: Session, month: str) -> dict[int, int]:
    """Subsidy consumed and not reversed, per member, for the service month."""
    return _net_subsidy(session, month, col(LedgerEntry.member_id))


def _visit_rows() -> Select[Any]:
    """A query of visits with what a VisitFact takes from their order, item, category, worker
    and active booking (``_visit_fact``); the caller filters and orders it."""
    booking = (
        select(col(WorkerBooking.order_id), col(WorkerBooking.worker_id))
        .where(col(WorkerBooking.active))
        .subquery()
    )
    return (
        select(
            Visit,
            col(Order.public_id),
            col(Order.provider_id),
            col(Order.duration_minutes),
            col(Order.quantity),
            col(Order.list_price_fen),
            col(Order.price_breakdown),
            col(Item.code),
            col(Item.required_certificates),
            col(Category.code),
            col(Worker.phone),
            booking.c.worker_id,
        )
        .join(Order, col(Order.id) == col(Visit.order_id))
        .join(Item, col(Item.id) == col(Visit.item_id))
        .join(Category, col(Category.id) == col(Item.category_id))
        .join(Worker, col(Worker.id) == col(Visit.worker_id))
        .outerjoin(booking, booking.c.order_id == col(Visit.order_id))
    )


def _edit_facts(
    session: Session, visit_ids: Sequence[int] | Select[Any]
) -> dict[int, list[EditFact]]:
    """The edits of the visits (ids, or a query of them), per visit, in the order made."""
    edits: dict[int, list[EditFact]] = defaultdict(list)
    for visit_id, field, editor, at, reason in session.execute(
        select(
            col(VisitEdit.visit_id),
            col(VisitEdit.field),
            col(VisitEdit.editor),
            col(VisitEdit.at),
            col(VisitEdit.reason_code),
        )
        .where(col(VisitEdit.visit_id).in_(visit_ids))
        .order_by(col(VisitEdit.id))
    ):
        edits[visit_id].append(EditFact(field=field, editor=editor, at=at, reason=str(reason)))
    return edits


def _visit_fact(
    row: Sequence[Any], subsidy: Mapping[str, int], edits: Mapping[int, list[EditFact]]
) -> VisitFact:
    """A row of ``_visit_rows`` as the rules see it, with its order's net subsidy (by order ref)
    and the visit's edits (by visit id)."""
    (
        v,
        order_ref,
        provider_id,
        duration,
        quantity,
        price,
        breakdown,
        item_code,
        certificates,
        category,
        phone,
        booked,
    ) = row
    breakdown = breakdown or {}
    assert v.id is not None
    cls = CATEGORY_CLASS.get(category)
    return VisitFact(
        visit_id=v.id,
        visit_ref=v.public_id,
        order_ref=order_ref,
        provider_id=provider_id,
        worker_id=v.worker_id,
        person_key=person_key(v.worker_id, phone),
        scheduled_worker_id=booked,
        member_id=v.recipient_member_id,
        household_id=v.household_id,
        item_code=item_code,
        service_class=cls.value if cls is not None else category,
        service_date=v.service_date,
        home_lat=v.location_lat,
        home_lon=v.location_lon,
        scheduled_start=v.scheduled_start,
        scheduled_end=v.scheduled_end,
        check_in_at=v.check_in_at,
        check_in_method=None if v.check_in_method is None else str(v.check_in_method),
        check_in_lat=v.check_in_lat,
        check_in_lon=v.check_in_lon,
        check_out_at=v.check_out_at,
        check_out_method=None if v.check_out_method is None else str(v.check_out_method),
        check_out_lat=v.check_out_lat,
        check_out_lon=v.check_out_lon,
        billed_minutes=_billed_minutes(breakdown, duration, quantity),
        price_fen=price,
        subsidy_fen=max(subsidy.get(order_ref, 0), 0),
        group=breakdown.get("group"),
        required_certificates=tuple(certificates or ()),
        edits=tuple(edits.get(v.id, ())),
    )


def _visits(
    session: Session, first: date, last: date, month: str
) -> tuple[list[VisitFact], dict[int, int]]:
    """The month's visits and, per member, the largest cap their orders were quoted against."""
    subsidy = _subsidy_by_order(session, month)
    in_month = and_(col(Visit.service_date) >= first, col(Visit.service_date) <= last)
    edits = _edit_facts(session, select(col(Visit.id)).where(in_month))
    caps: dict[int, int] = defaultdict(int)
    facts: list[VisitFact] = []
    stmt = _visit_rows().where(in_month).order_by(col(Visit.service_date), col(Visit.id))
    for row in session.execute(stmt):
        fact = _visit_fact(row, subsidy, edits)
        cap = (row.price_breakdown or {}).get("cap_fen")
        if isinstance(cap, int):
            caps[fact.member_id] = max(caps[fact.member_id], cap)
        facts.append(fact)
    return facts, dict(caps)


def _duplicate_id_members(session: Session) -> set[int]:
    """Members whose ID number (blind index) is registered in more than one household."""
    shared = (
        select(col(Member.id_number_index))
        .where(col(Member.id_number_index).is_not(None))
        .group_by(col(Member.id_number_index))
        .having(func.count(func.distinct(col(Member.household_id))) > 1)
    )
    return {
        member_id
        for (member_id,) in session.execute(
            select(col(Member.id)).where(col(Member.id_number_index).in_(shared))
        )
    }


def _chunks(ids: Iterable[int], size: int = 5000) -> Iterable[list[int]]:
    """Sorted ids in slices small enough for any database's parameter limit."""
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def _members(
    session: Session, member_ids: Iterable[int], caps: Mapping[int, int]
) -> dict[int, MemberFact]:
    rows: list[tuple[int, int, str | None, date]] = []
    entitled: dict[int, list[EntitlementFact]] = defaultdict(list)
    periods: dict[int, list[PeriodFact]] = defaultdict(list)
    for chunk in _chunks(member_ids):
        rows.extend(
            session.execute(
                select(
                    col(Member.id),
                    col(Member.household_id),
                    col(Member.id_number_index),
                    col(Member.birth_date),
                ).where(col(Member.id).in_(chunk))
            ).all()
        )
        for member_id, category, level, valid_from, valid_to in session.execute(
            select(
                col(ProtectedStatus.member_id),
                col(ProtectedStatus.category),
                col(ProtectedStatus.disability_level),
                col(ProtectedStatus.valid_from),
                col(ProtectedStatus.valid_to),
            ).where(
                col(ProtectedStatus.member_id).in_(chunk),
                col(ProtectedStatus.review) == StatusReview.APPROVED.value,
            )
        ):
            entitled[member_id].append(
                EntitlementFact(
                    group=_group(str(category), None if level is None else str(level)),
                    valid_from=valid_from,
                    valid_to=valid_to,
                )
            )
        for member_id, kind, starts_on, ends_on in session.execute(
            select(
                col(StatusPeriod.member_id),
                col(StatusPeriod.kind),
                col(StatusPeriod.starts_on),
                col(StatusPeriod.ends_on),
            ).where(col(StatusPeriod.member_id).in_(chunk))
        ):
            periods[member_id].append(
                PeriodFact(kind=str(kind), starts_on=starts_on, ends_on=ends_on)
            )
    return {
        member_id: MemberFact(
            member_id=member_id,
            household_id=household_id,
            id_index=id_index,
            birth_date=birth_date,
            entitlements=tuple(entitled.get(member_id, ())),
            periods=tuple(periods.get(member_id, ())),
            monthly_cap_fen=caps.get(member_id, 0),
        )
        for member_id, household_id, id_index, birth_date in rows
    }


def _certificates(
    session: Session, worker_ids: Iterable[int]
) -> dict[int, tuple[CertificateFact, ...]]:
    found: dict[int, list[CertificateFact]] = defaultdict(list)
    for chunk in _chunks(worker_ids):
        for worker_id, kind, expires_on in session.execute(
            select(
                col(WorkerCertificate.worker_id),
                col(WorkerCertificate.kind),
                col(WorkerCertificate.expires_on),
            ).where(col(WorkerCertificate.worker_id).in_(chunk))
        ):
            found[worker_id].append(CertificateFact(kind=kind, expires_on=expires_on))
    return {worker_id: tuple(rows) for worker_id, rows in found.items()}


def _ledger_fact(session: Session) -> LedgerFact:
    verdict = ledger.verify(session)
    problem = verdict.problem
    if not problem and verdict.balance_problems:
        problem = "balances differ from the entries: " + verdict.balance_problems[0]
    return LedgerFact(
        ok=verdict.ok,
        entries=verdict.entries,
        first_broken_id=verdict.first_broken_id,
        problem=problem,
    )


def load_month(session: Session, month: str, *, thresholds: Thresholds | None = None) -> MonthFacts:
    """Everything the anomaly rules read for ``month``, from the database as it stands."""
    first, last = month_bounds(month)
    visits, caps = _visits(session, first, last, month)
    member_ids = {v.member_id for v in visits} | _duplicate_id_members(session)
    # Households' members (not only recipients) never matter to the rules; only these do.
    members = _members(session, member_ids, caps)
    return MonthFacts(
        month=month,
        first_day=first,
        last_day=last,
        visits=tuple(visits),
        members=MappingProxyType(members),
        certificates=MappingProxyType(_certificates(session, (v.worker_id for v in visits))),
        subsidy_by_member_fen=MappingProxyType(_subsidy_by_member(session, month)),
        ledger=_ledger_fact(session),
        thresholds=thresholds or Thresholds(),
    )


# --- runs and findings ---------------------------------------------------------------------


def findings_of_month(session: Session, month: str) -> dict[str, Finding]:
    """The month's findings by key."""
    return {
        f.key: f
        for f in session.exec(sqlmodel_select(Finding).where(col(Finding.month) == month)).all()
    }


def list_findings(
    session: Session,
    *,
    month: str | None = None,
    status: FindingStatus | None = None,
    rule: str | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> Sequence[Finding]:
    """Findings in id order from ``after_id`` (keyset pages), optionally filtered."""
    stmt = sqlmodel_select(Finding).where(col(Finding.id) > after_id)
    if month is not None:
        stmt = stmt.where(col(Finding.month) == month)
    if status is not None:
        stmt = stmt.where(col(Finding.status) == status.value)
    if rule is not None:
        stmt = stmt.where(col(Finding.rule) == rule)
    return session.exec(stmt.order_by(col(Finding.id)).limit(limit)).all()


def finding_by_public_id(session: Session, public_id: str) -> Finding | None:
    """The finding with this public id."""
    return session.exec(sqlmodel_select(Finding).where(col(Finding.public_id) == public_id)).first()


def lock_finding(session: Session, finding_id: int) -> Finding | None:
    """The finding, locked for a status change (FOR UPDATE on PostgreSQL)."""
    return session.exec(
        sqlmodel_select(Finding)
        .where(col(Finding.id) == finding_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def finding_events(session: Session, finding_id: int) -> Sequence[FindingEvent]:
    """A finding's review history, oldest first."""
    return session.exec(
        sqlmodel_select(FindingEvent)
        .where(col(FindingEvent.finding_id) == finding_id)
        .order_by(col(FindingEvent.id))
    ).all()


def runs_of_month(session: Session, month: str) -> Sequence[AuditRun]:
    """The month's audit runs, oldest first."""
    return session.exec(
        sqlmodel_select(AuditRun).where(col(AuditRun.month) == month).order_by(col(AuditRun.id))
    ).all()


def visit_orders(session: Session, visit_refs: Sequence[str]) -> list[str]:
    """The public ids of the visits' orders, in the order the visits are given."""
    if not visit_refs:
        return []
    found: dict[str, str] = {}
    for start in range(0, len(visit_refs), 5000):
        chunk = list(visit_refs[start : start + 5000])
        rows = session.execute(
            select(col(Visit.public_id), col(Order.public_id))
            .join(Order, col(Order.id) == col(Visit.order_id))
            .where(col(Visit.public_id).in_(chunk))
        ).all()
        found.update((visit, order) for visit, order in rows)
    return [found[ref] for ref in visit_refs if ref in found]


# --- reports -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerMoney:
    """One order's money from one payer in a service month: consumed − reversed (fen)."""

    order_ref: str
    provider_id: int  # as the ledger records it
    payer: str  # pricing.models.Payer value
    net_fen: int


@dataclass(frozen=True, slots=True)
class OrderPlace:
    """Where an order's money and hours are reported: its provider, home areas and group."""

    order_ref: str
    provider_id: int
    household_id: int
    district_id: int
    street_id: int
    community_id: int
    group: str | None  # the protected group the quote's subsidy was decided for


@dataclass(frozen=True, slots=True)
class AreaName:
    """An area's code and name."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class ProviderName:
    """A provider's public id and name."""

    public_id: str
    name: str


@dataclass(frozen=True, slots=True)
class VisitPeople:
    """Who a field check meets: the worker, the recipient (unmasked) and the home's address."""

    worker_name: str
    recipient_name: str
    address: str


def _str_chunks(values: Iterable[str], size: int = 5000) -> Iterable[list[str]]:
    """Sorted strings in slices small enough for any database's parameter limit."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def ledger_money(session: Session, month: str) -> list[LedgerMoney]:
    """Every order's consumed − reversed money of the service month, per payer, by order ref."""
    net: dict[tuple[str, int, str], int] = defaultdict(int)
    for ref, provider_id, payer, kind, total in session.execute(
        select(
            col(LedgerEntry.order_ref),
            col(LedgerEntry.provider_id),
            col(LedgerEntry.payer),
            col(LedgerEntry.kind),
            func.sum(col(LedgerEntry.amount_fen)),
        )
        .where(col(LedgerEntry.month) == month, col(LedgerEntry.kind).in_(_NET_KINDS))
        .group_by(
            col(LedgerEntry.order_ref),
            col(LedgerEntry.provider_id),
            col(LedgerEntry.payer),
            col(LedgerEntry.kind),
        )
    ):
        net[(ref, provider_id, str(payer))] += _signed(str(kind), total)
    return [
        LedgerMoney(order_ref=ref, provider_id=provider_id, payer=payer, net_fen=fen)
        for (ref, provider_id, payer), fen in sorted(net.items())
    ]


def ledger_net(session: Session, month: str) -> dict[str, int]:
    """The service month's consumed − reversed money per payer, as the database sums it."""
    out = {payer.value: 0 for payer in Payer}
    for payer, kind, total in session.execute(
        select(col(LedgerEntry.payer), col(LedgerEntry.kind), func.sum(col(LedgerEntry.amount_fen)))
        .where(col(LedgerEntry.month) == month, col(LedgerEntry.kind).in_(_NET_KINDS))
        .group_by(col(LedgerEntry.payer), col(LedgerEntry.kind))
    ):
        out[str(payer)] = out.get(str(payer), 0) + _signed(str(kind), total)
    return out


def ledger_providers(session: Session, month: str) -> list[int]:
    """The providers with ledger entries (of any kind) in the service month, by id."""
    return sorted(
        provider_id
        for (provider_id,) in session.execute(
            select(col(LedgerEntry.provider_id))
            .where(col(LedgerEntry.month) == month)
            .group_by(col(LedgerEntry.provider_id))
        )
    )


def ledger_money_without_visit(session: Session, month: str) -> list[LedgerMoney]:
    """Net money of the service month on orders with no visit that month (or no order at all)."""
    first, last = month_bounds(month)
    visited = (
        select(col(Order.public_id))
        .join(Visit, col(Visit.order_id) == col(Order.id))
        .where(col(Visit.service_date) >= first, col(Visit.service_date) <= last)
    )
    net: dict[tuple[str, int, str], int] = defaultdict(int)
    for ref, provider_id, payer, kind, total in session.execute(
        select(
            col(LedgerEntry.order_ref),
            col(LedgerEntry.provider_id),
            col(LedgerEntry.payer),
            col(LedgerEntry.kind),
            func.sum(col(LedgerEntry.amount_fen)),
        )
        .where(
            col(LedgerEntry.month) == month,
            col(LedgerEntry.kind).in_(_NET_KINDS),
            col(LedgerEntry.order_ref).not_in(visited),
        )
        .group_by(
            col(LedgerEntry.order_ref),
            col(LedgerEntry.provider_id),
            col(LedgerEntry.payer),
            col(LedgerEntry.kind),
        )
    ):
        net[(ref, provider_id, str(payer))] += _signed(str(kind), total)
    return [
        LedgerMoney(order_ref=ref, provider_id=provider_id, payer=payer, net_fen=fen)
        for (ref, provider_id, payer), fen in sorted(net.items())
    ]


def order_places(session: Session, order_refs: Iterable[str]) -> dict[str, OrderPlace]:
    """The orders with these public ids (unknown ids are left out), with their home's areas."""
    found: dict[str, OrderPlace] = {}
    for chunk in _str_chunks(order_refs):
        rows = session.execute(
            select(
                col(Order.public_id),
                col(Order.provider_id),
                col(Order.household_id),
                col(Household.district_id),
                col(Household.street_id),
                col(Household.community_id),
                col(Order.price_breakdown),
            )
            .join(Household, col(Household.id) == col(Order.household_id))
            .where(col(Order.public_id).in_(chunk))
        )
        for ref, provider_id, household_id, district, street, community, breakdown in rows:
            group = (breakdown or {}).get("group")
            found[ref] = OrderPlace(
                order_ref=ref,
                provider_id=provider_id,
                household_id=household_id,
                district_id=district,
                street_id=street,
                community_id=community,
                group=group if isinstance(group, str) and group else None,
            )
    return found


def area_names(session: Session, area_ids: Iterable[int]) -> dict[int, AreaName]:
    """Codes and names of these areas (unknown ids are left out)."""
    found: dict[int, AreaName] = {}
    for chunk in _chunks(area_ids):
        for area_id, code, name in session.execute(
            select(col(Area.id), col(Area.code), col(Area.name)).where(col(Area.id).in_(chunk))
        ):
            found[area_id] = AreaName(code=code, name=name)
    return found


def provider_names(session: Session, provider_ids: Iterable[int]) -> dict[int, ProviderName]:
    """Public ids and names of these providers (unknown ids are left out)."""
    found: dict[int, ProviderName] = {}
    for chunk in _chunks(provider_ids):
        for provider_id, public_id, name in session.execute(
            select(col(Provider.id), col(Provider.public_id), col(Provider.name)).where(
                col(Provider.id).in_(chunk)
            )
        ):
            found[provider_id] = ProviderName(public_id=public_id, name=name)
    return found


def visit_people(session: Session, visit_ids: Iterable[int]) -> dict[int, VisitPeople]:
    """For these visits: the worker's and recipient's names and the home's address."""
    found: dict[int, VisitPeople] = {}
    for chunk in _chunks(visit_ids):
        for visit_id, worker_name, recipient_name, address in session.execute(
            select(col(Visit.id), col(Worker.name), col(Member.name), col(Household.address))
            .join(Worker, col(Worker.id) == col(Visit.worker_id))
            .join(Member, col(Member.id) == col(Visit.recipient_member_id))
            .join(Household, col(Household.id) == col(Visit.household_id))
            .where(col(Visit.id).in_(chunk))
        ):
            found[visit_id] = VisitPeople(
                worker_name=worker_name, recipient_name=recipient_name, address=address
            )
    return found


def month_visits(session: Session, month: str) -> tuple[VisitFact, ...]:
    """The month's visits as the rules see them, without members, certificates or the ledger's
    verdict (the reports need only these)."""
    first, last = month_bounds(month)
    visits, _ = _visits(session, first, last, month)
    return tuple(visits)


# --- the auditor's pages ---------------------------------------------------------------------


def visits_page(
    session: Session,
    month: str,
    *,
    provider_id: int | None = None,
    subsidised_only: bool = True,
    after_id: int = 0,
    limit: int = 50,
) -> list[VisitFact]:
    """One keyset page of the month's visits in id order after ``after_id``, as the rules see
    them (members, certificates and the ledger's verdict aside); by default only visits of
    orders paid in part by the subsidy or long-term-care insurance."""
    first, last = month_bounds(month)
    stmt = _visit_rows().where(
        col(Visit.service_date) >= first,
        col(Visit.service_date) <= last,
        col(Visit.id) > after_id,
    )
    if provider_id is not None:
        stmt = stmt.where(col(Order.provider_id) == provider_id)
    if subsidised_only:
        stmt = stmt.where((col(Order.subsidy_fen) > 0) | (col(Order.ltc_fen) > 0))
    rows = session.execute(stmt.order_by(col(Visit.id)).limit(limit)).all()
    if not rows:
        return []
    edits = _edit_facts(session, [row[0].id for row in rows])
    refs = sorted({str(row[1]) for row in rows})
    subsidy = _subsidy_by_order(session, month, col(LedgerEntry.order_ref).in_(refs))
    return [_visit_fact(row, subsidy, edits) for row in rows]


# -- report exports ------------------------------------------------------------------------------

# An export's bytes are read only by its download; everywhere else touching them is a mistake.
_WITHOUT_CONTENT = defer(AuditExport.content, raiseload=True)  # type: ignore[arg-type]


def export_by_public_id(session: Session, public_id: str) -> AuditExport | None:
    """The export with this public id (its bytes not loaded)."""
    return session.exec(
        sqlmodel_select(AuditExport)
        .where(col(AuditExport.public_id) == public_id)
        .options(_WITHOUT_CONTENT)
    ).first()


def lock_export(session: Session, export_id: int) -> AuditExport | None:
    """The export, locked for a status change (FOR UPDATE on PostgreSQL; bytes not loaded)."""
    return session.exec(
        sqlmodel_select(AuditExport)
        .where(col(AuditExport.id) == export_id)
        .options(_WITHOUT_CONTENT)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def exports_page(session: Session, *, before_id: int | None, limit: int) -> Sequence[AuditExport]:
    """Exports newest first, those older than ``before_id`` (keyset pages; bytes not loaded)."""
    stmt = sqlmodel_select(AuditExport).options(_WITHOUT_CONTENT)
    if before_id is not None:
        stmt = stmt.where(col(AuditExport.id) < before_id)
    return session.exec(stmt.order_by(col(AuditExport.id).desc()).limit(limit)).all()


def export_content(session: Session, export_id: int) -> bytes | None:
    """An export's file bytes (None until it is built)."""
    stmt = sqlmodel_select(col(AuditExport.content)).where(col(AuditExport.id) == export_id)
    return session.exec(stmt).first()


def run_by_public_id(session: Session, public_id: str) -> AuditRun | None:
    """The audit run with this public id."""
    return session.exec(
        sqlmodel_select(AuditRun).where(col(AuditRun.public_id) == public_id)
    ).first()


def lock_run(session: Session, run_id: int) -> AuditRun | None:
    """The audit run, locked for a status change (FOR UPDATE on PostgreSQL)."""
    return session.exec(
        sqlmodel_select(AuditRun)
        .where(col(AuditRun.id) == run_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def unfinished_run_of_month(session: Session, month: str) -> AuditRun | None:
    """A queued or running audit run of the month, if any."""
    return session.exec(
        sqlmodel_select(AuditRun).where(
            col(AuditRun.month) == month,
            col(AuditRun.status).in_([WorkStatus.QUEUED.value, WorkStatus.RUNNING.value]),
        )
    ).first()


def runs_page(session: Session, *, before_id: int | None, limit: int) -> Sequence[AuditRun]:
    """Audit runs newest first, those older than ``before_id`` (keyset pages)."""
    stmt = sqlmodel_select(AuditRun)
    if before_id is not None:
        stmt = stmt.where(col(AuditRun.id) < before_id)
    return session.exec(stmt.order_by(col(AuditRun.id).desc()).limit(limit)).all()
