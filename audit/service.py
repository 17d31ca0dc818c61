"""Audit use cases: run the rules over a month, keep findings, review them, claw back.

A run loads the month's facts, runs every rule and records each hit as a finding (the same
anomaly found again is the same finding). Findings move open → explained → confirmed or
dismissed, each step with a reason code; confirming one claws the subsidy of the visits
involved back with reversal entries in the ledger. Nothing is deleted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from audit import repository as repo
from audit import rules, work
from audit.facts import Hit, MonthFacts, SubjectKind, Thresholds, VisitFact
from audit.models import (
    AuditRun,
    Finding,
    FindingEvent,
    FindingStatus,
    ReasonCode,
    WorkStatus,
)
from core.errors import Conflict, InvalidState, NotFound, Validation
from core.ids import new_public_id
from core.timeutil import utcnow
from marketplace.orders import accounting
from marketplace.orders import service as orders_service
from pricing import service as pricing_service
from pricing.models import Payer

MAX_KEY = 200
MAX_SUBJECT = 160
MAX_SUMMARY = 500

EXPLAIN_CODES = frozenset(
    {
        ReasonCode.DEVICE_FAILURE,
        ReasonCode.COVERING_COLLEAGUE,
        ReasonCode.DATA_ENTRY_ERROR,
        ReasonCode.FAMILY_REQUEST,
        ReasonCode.OTHER_EXPLANATION,
    }
)
CONFIRM_CODES = frozenset(
    {
        ReasonCode.NO_SERVICE_DELIVERED,
        ReasonCode.NOT_ELIGIBLE,
        ReasonCode.OVERBILLED,
        ReasonCode.DUPLICATE_CLAIM,
        ReasonCode.UNQUALIFIED_WORKER,
        ReasonCode.RECORD_FALSIFIED,
    }
)
DISMISS_CODES = frozenset(
    {ReasonCode.FALSE_POSITIVE, ReasonCode.EXPLANATION_ACCEPTED, ReasonCode.WITHIN_POLICY}
)
CODES_FOR: Mapping[FindingStatus, frozenset[ReasonCode]] = {
    FindingStatus.EXPLAINED: EXPLAIN_CODES,
    FindingStatus.CONFIRMED: CONFIRM_CODES,
    FindingStatus.DISMISSED: DISMISS_CODES,
}
NEXT: Mapping[FindingStatus, frozenset[FindingStatus]] = {
    FindingStatus.OPEN: frozenset(
        {FindingStatus.EXPLAINED, FindingStatus.CONFIRMED, FindingStatus.DISMISSED}
    ),
    FindingStatus.EXPLAINED: frozenset({FindingStatus.CONFIRMED, FindingStatus.DISMISSED}),
    FindingStatus.CONFIRMED: frozenset(),
    FindingStatus.DISMISSED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """A finished run and the hits it produced (the findings are stored)."""

    run: AuditRun
    hits: Sequence[Hit]


def _involved(hit: Hit, visits: Mapping[str, VisitFact]) -> tuple[int, list[int]]:
    """Subsidy paid for the hit's visits, and the providers concerned."""
    found = [visits[ref] for ref in hit.visit_refs if ref in visits]
    providers = {v.provider_id for v in found}
    if hit.subject_kind is SubjectKind.PROVIDER:
        providers.add(int(hit.subject.split(":")[1]))
    return sum(v.subsidy_fen for v in found), sorted(providers)


def _apply_hit(finding: Finding, hit: Hit, visits: Mapping[str, VisitFact]) -> None:
    subsidy, providers = _involved(hit, visits)
    finding.severity = hit.severity.value
    finding.summary = hit.summary[:MAX_SUMMARY]
    finding.evidence = dict(hit.evidence)
    finding.visit_refs = list(hit.visit_refs)
    finding.provider_ids = providers
    finding.subsidy_fen = subsidy


def record_run(
    session: Session,
    facts: MonthFacts,
    hits: Sequence[Hit],
    *,
    actor: str,
    now: datetime | None = None,
    seconds: Mapping[str, float] | None = None,
    run: AuditRun | None = None,
) -> AuditRun:
    """Store a run over ``facts`` and its hits as findings (new ones open, known ones kept):
    into ``run`` when it was queued, else a new run."""
    at = now or utcnow()
    by_rule: dict[str, int] = {}
    for hit in hits:
        by_rule[hit.rule] = by_rule.get(hit.rule, 0) + 1
    if run is None:
        run = AuditRun(public_id=new_public_id("aud"), month=facts.month, actor=actor)
    run.started_at = run.started_at or at
    run.status = WorkStatus.DONE
    run.error = None
    run.visits = len(facts.visits)
    run.hits = len(hits)
    run.ledger_ok = facts.ledger.ok
    run.hits_by_rule = dict(sorted(by_rule.items()))
    session.add(run)
    session.flush()
    assert run.id is not None
    visits = {v.visit_ref: v for v in facts.visits}
    known = repo.findings_of_month(session, facts.month)
    new: list[Finding] = []
    for hit in hits:
        key = hit.key[:MAX_KEY]
        finding = known.get(key)
        if finding is None:
            finding = Finding(
                public_id=new_public_id("fnd"),
                month=facts.month,
                key=key,
                rule=hit.rule,
                subject_kind=hit.subject_kind.value,
                subject=hit.subject[:MAX_SUBJECT],
                severity=hit.severity.value,
                summary="",
                first_run_id=run.id,
                last_run_id=run.id,
                created_at=at,
                updated_at=at,
            )
            _apply_hit(finding, hit, visits)
            known[key] = finding
            new.append(finding)
            continue
        finding.last_run_id = run.id
        if FindingStatus(finding.status) is FindingStatus.OPEN:
            _apply_hit(finding, hit, visits)
            finding.updated_at = at
        session.add(finding)
    session.add_all(new)
    session.flush()
    session.add_all(
        FindingEvent(
            finding_id=f.id or 0,
            from_status=None,
            to_status=FindingStatus.OPEN,
            actor=actor,
            note=f"found by run {run.public_id}",
            at=at,
        )
        for f in new
    )
    run.new_findings = len(new)
    run.finished_at = utcnow() if now is None else at
    run.seconds = {k: round(v, 3) for k, v in (seconds or {}).items()}
    session.add(run)
    session.flush()
    return run


def _check_rules(only: Sequence[str] | None) -> None:
    if only is not None:
        unknown = sorted(set(only) - set(rules.RULES))
        if unknown:
            raise Validation(f"unknown rules: {', '.join(unknown)}")


def run_month(
    session: Session,
    month: str,
    *,
    actor: str,
    thresholds: Thresholds | None = None,
    only: Sequence[str] | None = None,
    now: datetime | None = None,
    queued: AuditRun | None = None,
) -> RunOutcome:
    """Run the rules (all, or ``only`` these) over ``month`` and store the findings (into the
    ``queued`` run when a worker runs one requested over HTTP)."""
    _check_rules(only)
    started = time.perf_counter()
    facts = repo.load_month(session, month, thresholds=thresholds)
    loaded = time.perf_counter()
    hits = rules.run_all(facts, only)
    ruled = time.perf_counter()
    seconds = {"load": loaded - started, "rules": ruled - loaded}
    run = record_run(session, facts, hits, actor=actor, now=now, seconds=seconds, run=queued)
    run.seconds = {**run.seconds, "store": round(time.perf_counter() - ruled, 3)}
    session.add(run)
    session.flush()
    return RunOutcome(run, hits)


# --- runs queued for a worker ----------------------------------------------------------------

RUN_TASK = "audit.run"  # sent by name: the API does not import the task module
RUN_SOFT_TIME_LIMIT_S = 900  # a month of 50,000 visits runs in about 10 s
RUN_TIME_LIMIT_S = 960


def queue_run(
    session: Session,
    month: str,
    *,
    actor: str,
    only: Sequence[str] | None = None,
    now: datetime | None = None,
) -> AuditRun:
    """A run of the rules over ``month`` waiting for a worker; Conflict while another run of
    that month is queued or running (two at once would record the same findings twice)."""
    repo.month_bounds(month)  # Validation for a month that is not YYYY-MM
    _check_rules(only)
    busy = repo.unfinished_run_of_month(session, month)
    if busy is not None:
        raise Conflict(
            f"run {busy.public_id} of {month} is {busy.status}: wait for it", run=busy.public_id
        )
    run = AuditRun(
        public_id=new_public_id("aud"),
        month=month,
        actor=actor,
        status=WorkStatus.QUEUED,
        only_rules=sorted(set(only or ())),
        queued_at=now or utcnow(),
    )
    session.add(run)
    session.flush()
    return run


def get_run_or_raise(session: Session, public_id: str) -> AuditRun:
    """The audit run, or NotFound."""
    run = repo.run_by_public_id(session, public_id)
    if run is None:
        raise NotFound(f"audit run {public_id} does not exist")
    return run


def start_run(session: Session, run_id: int, *, now: datetime | None = None) -> AuditRun | None:
    """Mark a queued run running; None when it is finished already (a task delivered again
    skips it) or was tried too often (then it is failed)."""
    return work.start(session, repo.lock_run(session, run_id), now=now)


def execute_run(session: Session, run_id: int) -> RunOutcome | None:
    """Run a started run's rules and store its findings; None if it is not running."""
    run = repo.lock_run(session, run_id)
    if run is None or WorkStatus(run.status) is not WorkStatus.RUNNING:
        return None
    return run_month(session, run.month, actor=run.actor, only=run.only_rules or None, queued=run)


def fail_run(
    session: Session, run_id: int, error: str, *, now: datetime | None = None
) -> AuditRun | None:
    """Mark a run failed with why; None if it is finished already."""
    return work.fail(session, repo.lock_run(session, run_id), error, now=now)


def runs_newest(session: Session, *, before_id: int | None, limit: int) -> Sequence[AuditRun]:
    """Audit runs newest first (keyset pages)."""
    return repo.runs_page(session, before_id=before_id, limit=limit)


# --- review ----------------------------------------------------------------------------------


def get_finding_or_raise(session: Session, public_id: str) -> Finding:
    """The finding, or NotFound."""
    finding = repo.finding_by_public_id(session, public_id)
    if finding is None:
        raise NotFound(f"finding {public_id} does not exist")
    return finding


def _clawback_plan(session: Session, finding: Finding) -> list[tuple[str, int]]:
    """(order public id, subsidy fen to reverse) for a confirmed finding's visits.

    A cap overrun claws back only the excess, newest visits first; every other finding claws
    back what is still refundable of each visit's subsidy.
    """
    refs = repo.visit_orders(session, finding.visit_refs)
    refundable: list[tuple[str, int]] = []
    for order_ref in refs:
        order = orders_service.get_by_public_id_or_raise(session, order_ref)
        position = accounting.order_positions(session, order)[Payer.SUBSIDY]
        if position.refundable > 0:
            refundable.append((order_ref, position.refundable))
    if finding.evidence.get("problem") == "over_cap":
        left = int(finding.evidence.get("excess_fen", 0))
        plan = []
        for order_ref, amount in reversed(refundable):
            if left <= 0:
                break
            take = min(amount, left)
            plan.append((order_ref, take))
            left -= take
        return plan
    return refundable


def transition(
    session: Session,
    finding: Finding,
    to: FindingStatus,
    *,
    reason_code: ReasonCode,
    actor: str,
    note: str = "",
    now: datetime | None = None,
) -> Finding:
    """Move a finding on in its review; confirming claws back the subsidy involved."""
    if reason_code not in CODES_FOR.get(to, frozenset()):
        allowed = ", ".join(sorted(c.value for c in CODES_FOR.get(to, frozenset())))
        raise Validation(
            f"reason {reason_code.value!r} does not fit {to.value!r}; use one of: {allowed}"
        )
    if reason_code is ReasonCode.OTHER_EXPLANATION and not note.strip():
        raise Validation("an 'other' explanation needs a note")
    assert finding.id is not None
    if to is FindingStatus.CONFIRMED:
        # The ledger first, as every path that writes entries does; then the finding.
        pricing_service.lock_ledger(session)
    locked = repo.lock_finding(session, finding.id)
    assert locked is not None
    current = FindingStatus(locked.status)
    if to not in NEXT[current]:
        raise InvalidState(f"a {current.value} finding cannot become {to.value}")
    at = now or utcnow()
    if to is FindingStatus.CONFIRMED:
        total = 0
        for order_ref, amount in _clawback_plan(session, locked):
            order = orders_service.get_by_public_id_or_raise(session, order_ref)
            orders_service.refund(
                session,
                order,
                amount_fen=amount,
                payer=Payer.SUBSIDY,
                reason=f"audit clawback: finding {locked.public_id} ({locked.rule})",
                actor=actor,
                now=at,
            )
            total += amount
        locked.clawback_fen = total
    locked.status = to
    locked.updated_at = at
    session.add(locked)
    session.add(
        FindingEvent(
            finding_id=locked.id or 0,
            from_status=current,
            to_status=to,
            reason_code=reason_code,
            note=note,
            actor=actor,
            at=at,
        )
    )
    session.flush()
    return locked


def history(session: Session, finding: Finding) -> Sequence[FindingEvent]:
    """The finding's review steps, oldest first."""
    assert finding.id is not None
    return repo.finding_events(session, finding.id)


def finding_dict(finding: Finding) -> dict[str, Any]:
    """A finding as plain JSON values (CLI and exports)."""
    return {
        "id": finding.public_id,
        "month": finding.month,
        "rule": finding.rule,
        "subject": finding.subject,
        "severity": finding.severity,
        "status": str(finding.status),
        "summary": finding.summary,
        "subsidy_fen": finding.subsidy_fen,
        "clawback_fen": finding.clawback_fen,
        "visits": list(finding.visit_refs),
        "evidence": dict(finding.evidence),
    }
