"""The auditor's view over HTTP: subsidised orders, visits with their EVV verdicts, the
subsidy ledger and its verification, and the findings of the anomaly rules with their history.

Who: auditors read, and never write (the issue: "auditor (read-only)"); administrators read
too. Every read that shows personal data is logged (``allow(..., personal_data=True)``).
Reviewing a finding may claw subsidy back, so ``POST /audit/findings/{id}/review`` is for
administrators only (as is running the rules, ``api.routers.audit_runs``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from api import ownership
from api.access import Owner, allow
from api.deps import SessionDep
from api.lookups import Names
from api.pagination import After, Limit, Page, decode_cursor, page, page_all, row_id
from api.problems import problem_responses
from api.types import Month, MonthFilter, public_id_path, public_id_query
from audit import evv
from audit import repository as audit_repo
from audit import service as audit_service
from audit.facts import VisitFact
from audit.models import Finding, FindingStatus, ReasonCode
from core.db import read_only
from marketplace.accounts.models import Role, UserAccount
from marketplace.orders import repository as orders_repo
from marketplace.orders.models import Order
from marketplace.providers import service as providers_service
from pricing import ledger
from pricing import repository as pricing_repo
from pricing.models import LedgerEntry

router = APIRouter(tags=["audit"])

Reader = Annotated[
    UserAccount, allow(Role.AUDITOR, Role.ADMIN, owner=Owner.ORDER, personal_data=True)
]
FindingReader = Annotated[
    UserAccount, allow(Role.AUDITOR, Role.ADMIN, owner=Owner.FINDING, personal_data=True)
]


ProviderFilter = Annotated[str | None, public_id_query("only this provider's (public id)")]
FindingId = Annotated[str, public_id_path("a finding's public id")]


def _provider_id(session: Session, public_id: str | None) -> int | None:
    if public_id is None:
        return None
    return providers_service.get_by_public_id_or_raise(session, public_id).id


# --- orders ----------------------------------------------------------------------------------


class AuditOrder(BaseModel):
    """A subsidised order: who, what, when, and who pays what (fen)."""

    id: str
    status: str
    member: str
    provider: str
    item: str
    service_date: dt.date
    worker: str | None
    list_price_fen: int
    ltc_fen: int
    subsidy_fen: int
    copay_fen: int
    group: str | None
    policy_version: str | None


def _order(names: Names, order: Order) -> AuditOrder:
    group = (order.price_breakdown or {}).get("group")
    return AuditOrder(
        id=order.public_id,
        status=str(order.status),
        member=names.member(order.recipient_member_id),
        provider=names.provider(order.provider_id),
        item=names.item(order.item_id),
        service_date=order.service_date,
        worker=names.worker(order.assigned_worker_id),
        list_price_fen=order.list_price_fen,
        ltc_fen=order.ltc_fen,
        subsidy_fen=order.subsidy_fen,
        copay_fen=order.copay_fen,
        group=group if isinstance(group, str) else None,
        policy_version=order.policy_version,
    )


def _orders(session: Session, orders: Sequence[Order]) -> list[AuditOrder]:
    names = Names(session).need(
        members=[o.recipient_member_id for o in orders],
        providers=[o.provider_id for o in orders],
        items=[o.item_id for o in orders],
        workers=[o.assigned_worker_id for o in orders],
    )
    return [_order(names, o) for o in orders]


@router.get(
    "/audit/orders",
    response_model=Page[AuditOrder],
    responses=problem_responses(401, 403, 404, 422),
)
def audit_orders(
    session: SessionDep,
    account: Reader,
    month: MonthFilter = None,
    provider: ProviderFilter = None,
    limit: Limit = 50,
    after: After = None,
) -> Page[AuditOrder]:
    """Orders paid in part by the subsidy or long-term-care insurance, oldest first, a page at
    a time; optionally of one service month and one provider."""
    first, last = audit_repo.month_bounds(month) if month is not None else (None, None)
    rows = orders_repo.subsidised_page(
        session,
        first=first,
        last=last,
        provider_id=_provider_id(session, provider),
        after_id=decode_cursor(after),
        limit=limit + 1,
    )
    return page_all(rows, limit, row_id, lambda shown: _orders(session, shown))


# --- visits ----------------------------------------------------------------------------------


class EvvVerdict(BaseModel):
    """The EVV verdict on a visit: verified, verified after an edit, or an exception (why)."""

    status: str
    reasons: list[str]


class AuditVisit(BaseModel):
    """A visit of a subsidised order with its record and its EVV verdict."""

    id: str
    order: str
    provider: str
    worker: str
    scheduled_worker: str | None
    member: str
    item: str
    service_date: dt.date
    scheduled_start: dt.datetime | None
    scheduled_end: dt.datetime | None
    check_in_at: dt.datetime | None
    check_in_method: str | None
    check_out_at: dt.datetime | None
    check_out_method: str | None
    edits: int
    billed_minutes: int
    price_fen: int
    subsidy_fen: int
    evv: EvvVerdict


def _visit(names: Names, v: VisitFact) -> AuditVisit:
    verdict = evv.verify(v)
    return AuditVisit(
        id=v.visit_ref,
        order=v.order_ref,
        provider=names.provider(v.provider_id),
        worker=names.worker(v.worker_id) or "",
        scheduled_worker=names.worker(v.scheduled_worker_id),
        member=names.member(v.member_id),
        item=v.item_code,
        service_date=v.service_date,
        scheduled_start=v.scheduled_start,
        scheduled_end=v.scheduled_end,
        check_in_at=v.check_in_at,
        check_in_method=v.check_in_method,
        check_out_at=v.check_out_at,
        check_out_method=v.check_out_method,
        edits=len(v.edits),
        billed_minutes=v.billed_minutes,
        price_fen=v.price_fen,
        subsidy_fen=v.subsidy_fen,
        evv=EvvVerdict(status=verdict.status.value, reasons=list(verdict.reasons)),
    )


def _visits(session: Session, facts: Sequence[VisitFact]) -> list[AuditVisit]:
    names = Names(session).need(
        members=[v.member_id for v in facts],
        providers=[v.provider_id for v in facts],
        workers=[w for v in facts for w in (v.worker_id, v.scheduled_worker_id)],
    )
    return [_visit(names, v) for v in facts]


@router.get(
    "/audit/visits",
    response_model=Page[AuditVisit],
    responses=problem_responses(401, 403, 404, 422),
)
def audit_visits(
    session: SessionDep,
    account: Reader,
    month: Month,
    provider: ProviderFilter = None,
    limit: Limit = 50,
    after: After = None,
) -> Page[AuditVisit]:
    """The month's visits of subsidised orders with each one's EVV verdict, a page at a time
    (optionally one provider's)."""
    facts = audit_repo.visits_page(
        session,
        month,
        provider_id=_provider_id(session, provider),
        after_id=decode_cursor(after),
        limit=limit + 1,
    )
    return page_all(facts, limit, lambda v: v.visit_id, lambda shown: _visits(session, shown))


# --- the ledger ------------------------------------------------------------------------------


class LedgerEntryPublic(BaseModel):
    """One ledger entry; ``number`` is its place in the hash chain."""

    number: int
    kind: str
    payer: str
    order: str
    member: str
    provider: str
    district: str
    month: str
    amount_fen: int
    policy_version: str
    reason: str
    actor: str
    created_at: dt.datetime
    prev_hash: str
    hash: str


def _entry(names: Names, entry: LedgerEntry) -> LedgerEntryPublic:
    return LedgerEntryPublic(
        number=entry.id,
        kind=str(entry.kind),
        payer=str(entry.payer),
        order=entry.order_ref,
        member=names.member(entry.member_id),
        provider=names.provider(entry.provider_id),
        district=entry.district_code,
        month=entry.month,
        amount_fen=entry.amount_fen,
        policy_version=entry.policy_version,
        reason=entry.reason,
        actor=entry.actor,
        created_at=entry.created_at,
        prev_hash=entry.prev_hash,
        hash=entry.hash,
    )


def _entries(session: Session, entries: Sequence[LedgerEntry]) -> list[LedgerEntryPublic]:
    names = Names(session).need(
        members=[e.member_id for e in entries], providers=[e.provider_id for e in entries]
    )
    return [_entry(names, e) for e in entries]


@router.get(
    "/audit/ledger",
    response_model=Page[LedgerEntryPublic],
    responses=problem_responses(401, 403, 422),
)
def audit_ledger(
    session: SessionDep, account: Reader, limit: Limit = 50, after: After = None
) -> Page[LedgerEntryPublic]:
    """The subsidy ledger's entries in chain order, a page at a time."""
    rows = pricing_repo.entries_page(session, after_id=decode_cursor(after), limit=limit + 1)
    return page_all(rows, limit, lambda e: e.id, lambda shown: _entries(session, shown))


class LedgerVerdict(BaseModel):
    """The chain walk's verdict: intact, or the first broken entry and what is wrong."""

    ok: bool
    entries: int
    first_broken: int | None
    problem: str
    balance_problems: list[str]


@router.get(
    "/audit/ledger/verify",
    response_model=LedgerVerdict,
    responses=problem_responses(401, 403),
)
def verify_ledger(
    account: Annotated[UserAccount, allow(Role.AUDITOR, Role.ADMIN)],
) -> LedgerVerdict:
    """Walk the whole hash chain (ids, links, hashes, the head) in one snapshot and replay the
    balances against the stored ones."""
    with read_only() as session:
        verdict = ledger.verify(session)
    return LedgerVerdict(
        ok=verdict.ok,
        entries=verdict.entries,
        first_broken=verdict.first_broken_id,
        problem=verdict.problem,
        balance_problems=list(verdict.balance_problems),
    )


# --- findings --------------------------------------------------------------------------------


class FindingPublic(BaseModel):
    """An anomaly found in a month, with its evidence and review status."""

    id: str
    month: str
    rule: str
    subject: str
    severity: str
    status: str
    summary: str
    subsidy_fen: int
    clawback_fen: int
    visits: list[str]
    evidence: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class FindingEventPublic(BaseModel):
    """One step of a finding's review."""

    from_status: str | None
    to_status: str
    reason_code: str | None
    note: str
    actor: str
    at: dt.datetime


class FindingDetail(FindingPublic):
    """A finding with its review history, oldest first."""

    history: list[FindingEventPublic]


def _finding(finding: Finding) -> FindingPublic:
    return FindingPublic(
        **audit_service.finding_dict(finding),
        created_at=finding.created_at,
        updated_at=finding.updated_at,
    )


def _detail(session: Session, finding: Finding) -> FindingDetail:
    return FindingDetail(
        **_finding(finding).model_dump(),
        history=[
            FindingEventPublic(
                from_status=None if e.from_status is None else str(e.from_status),
                to_status=str(e.to_status),
                reason_code=None if e.reason_code is None else str(e.reason_code),
                note=e.note,
                actor=e.actor,
                at=e.at,
            )
            for e in audit_service.history(session, finding)
        ],
    )


@router.get(
    "/audit/findings",
    response_model=Page[FindingPublic],
    responses=problem_responses(401, 403, 422),
)
def audit_findings(
    session: SessionDep,
    account: FindingReader,
    month: MonthFilter = None,
    status: FindingStatus | None = None,
    rule: Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")] = None,
    limit: Limit = 50,
    after: After = None,
) -> Page[FindingPublic]:
    """Findings, oldest first, a page at a time; optionally of one month, status or rule."""
    rows = audit_repo.list_findings(
        session,
        month=month,
        status=status,
        rule=rule,
        after_id=decode_cursor(after),
        limit=limit + 1,
    )
    return page(rows, limit, row_id, _finding)


@router.get(
    "/audit/findings/{finding_id}",
    response_model=FindingDetail,
    responses=problem_responses(401, 403, 404, 422),
)
def audit_finding(
    session: SessionDep, account: FindingReader, finding_id: FindingId
) -> FindingDetail:
    """One finding with its evidence and its review history."""
    return _detail(session, audit_service.get_finding_or_raise(session, finding_id))


# --- administrators: review a finding (runs of the rules: api.routers.audit_runs) -------------


class ReviewIn(BaseModel):
    """The next step of a finding's review and why."""

    model_config = ConfigDict(extra="forbid")

    to: FindingStatus = Field(description="explained, confirmed or dismissed")
    reason: ReasonCode
    note: str = Field(default="", max_length=1000, pattern=r"^[^\x00]*$")


@router.post(
    "/audit/findings/{finding_id}/review",
    response_model=FindingDetail,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def review_finding(
    session: SessionDep,
    account: Annotated[UserAccount, allow(Role.ADMIN, owner=Owner.FINDING)],
    finding_id: FindingId,
    body: ReviewIn,
) -> FindingDetail:
    """Move a finding on: explained, confirmed (its visits' subsidy is clawed back with
    reversal entries) or dismissed, with a reason code that fits. Administrators only."""
    finding = audit_service.get_finding_or_raise(session, finding_id)
    moved = audit_service.transition(
        session,
        finding,
        body.to,
        reason_code=body.reason,
        actor=ownership.actor(account),
        note=body.note,
    )
    return _detail(session, moved)
