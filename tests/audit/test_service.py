"""Audit runs store findings once; findings are reviewed with reason codes; confirming one
claws the subsidy back with ledger reversals, and nothing is deleted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from audit import repository as audit_repo
from audit import service as audit_service
from audit.models import FindingStatus, ReasonCode
from core.errors import InvalidState, Validation
from marketplace.orders import accounting
from marketplace.orders import repository as orders_repo
from marketplace.providers.models import Provider
from pricing import ledger
from pricing import repository as pricing_repo
from pricing.models import EntryKind, Payer
from tests import factories as f
from tests.audit.test_repository import MONTH, _dibao_order, _visit


def _two_visits(session: Session) -> tuple[str, str]:
    """A clean visit and one done by a colleague of the booked worker; their visit refs."""
    clean, _ = _dibao_order(session)
    _visit(session, clean)
    covered, _ = _dibao_order(session)
    provider = session.get(Provider, covered.provider_id)
    assert provider is not None
    _visit(session, covered, by=f.make_worker(session, provider=provider, name="王师傅"))
    facts = audit_repo.load_month(session, MONTH)
    refs = {v.order_ref: v.visit_ref for v in facts.visits}
    return refs[clean.public_id], refs[covered.public_id]


def test_a_run_stores_each_hit_once_and_a_rerun_finds_the_same_finding(
    session: Session,
) -> None:
    _, covered = _two_visits(session)
    first = audit_service.run_month(session, MONTH, actor="auditor:张")
    assert (first.run.visits, first.run.hits, first.run.new_findings) == (2, 1, 1)
    assert first.run.hits_by_rule == {"other_worker": 1}
    assert set(first.run.seconds) == {"load", "rules", "store"} and first.run.ledger_ok
    (finding,) = audit_repo.list_findings(session, month=MONTH)
    assert (finding.rule, finding.subject, finding.status) == (
        "other_worker",
        covered,
        FindingStatus.OPEN,
    )
    assert finding.visit_refs == [covered] and finding.subsidy_fen == 6400
    again = audit_service.run_month(session, MONTH, actor="auditor:张")
    assert (again.run.hits, again.run.new_findings) == (1, 0)
    (same,) = audit_repo.list_findings(session, month=MONTH)
    assert same.id == finding.id and same.last_run_id == again.run.id
    assert same.first_run_id == first.run.id
    assert [e.to_status for e in audit_service.history(session, same)] == [FindingStatus.OPEN]


def test_confirming_claws_the_subsidy_back_with_a_reversal(session: Session) -> None:
    _two_visits(session)
    audit_service.run_month(session, MONTH, actor="auditor")
    (finding,) = audit_repo.list_findings(session, month=MONTH)
    audit_service.transition(
        session,
        finding,
        FindingStatus.EXPLAINED,
        reason_code=ReasonCode.COVERING_COLLEAGUE,
        note="the booked worker was ill",
        actor="provider:admin",
    )
    confirmed = audit_service.transition(
        session,
        finding,
        FindingStatus.CONFIRMED,
        reason_code=ReasonCode.UNQUALIFIED_WORKER,
        actor="auditor:李",
    )
    assert confirmed.clawback_fen == 6400
    (order_ref,) = audit_repo.visit_orders(session, finding.visit_refs)
    entries = pricing_repo.entries_of_order(session, order_ref)
    reversal = [e for e in entries if e.kind == EntryKind.REVERSAL]
    assert [(e.payer, e.amount_fen) for e in reversal] == [(Payer.SUBSIDY, 6400)]
    assert "finding " + finding.public_id in reversal[0].reason
    assert ledger.verify(session).ok
    steps = audit_service.history(session, confirmed)
    assert [(s.from_status, s.to_status, s.reason_code) for s in steps] == [
        (None, FindingStatus.OPEN, None),
        (FindingStatus.OPEN, FindingStatus.EXPLAINED, ReasonCode.COVERING_COLLEAGUE),
        (FindingStatus.EXPLAINED, FindingStatus.CONFIRMED, ReasonCode.UNQUALIFIED_WORKER),
    ]
    # The next run sees the visit's subsidy gone; the finding stays confirmed.
    audit_service.run_month(session, MONTH, actor="auditor")
    (after,) = audit_repo.list_findings(session, month=MONTH)
    assert after.status == FindingStatus.CONFIRMED and after.subsidy_fen == 6400


def test_a_dismissed_finding_claws_nothing_and_is_final(session: Session) -> None:
    _two_visits(session)
    audit_service.run_month(session, MONTH, actor="auditor")
    (finding,) = audit_repo.list_findings(session, month=MONTH)
    audit_service.transition(
        session,
        finding,
        FindingStatus.DISMISSED,
        reason_code=ReasonCode.EXPLANATION_ACCEPTED,
        actor="auditor",
    )
    assert finding.clawback_fen == 0
    with pytest.raises(InvalidState, match="dismissed finding cannot become confirmed"):
        audit_service.transition(
            session,
            finding,
            FindingStatus.CONFIRMED,
            reason_code=ReasonCode.OVERBILLED,
            actor="auditor",
        )
    (order_ref,) = audit_repo.visit_orders(session, finding.visit_refs)
    kinds = {e.kind for e in pricing_repo.entries_of_order(session, order_ref)}
    assert EntryKind.REVERSAL not in kinds


@pytest.mark.parametrize(
    ("to", "code", "note", "message"),
    [
        (FindingStatus.CONFIRMED, ReasonCode.FALSE_POSITIVE, "", "does not fit 'confirmed'"),
        (FindingStatus.DISMISSED, ReasonCode.OVERBILLED, "", "does not fit 'dismissed'"),
        (FindingStatus.EXPLAINED, ReasonCode.OTHER_EXPLANATION, " ", "needs a note"),
        (FindingStatus.OPEN, ReasonCode.FALSE_POSITIVE, "", "does not fit 'open'"),
    ],
)
def test_a_reason_must_fit_the_step(
    session: Session, to: FindingStatus, code: ReasonCode, note: str, message: str
) -> None:
    _two_visits(session)
    audit_service.run_month(session, MONTH, actor="auditor")
    (finding,) = audit_repo.list_findings(session, month=MONTH)
    with pytest.raises(Validation, match=message):
        audit_service.transition(session, finding, to, reason_code=code, note=note, actor="a")
    assert finding.status == FindingStatus.OPEN


def test_a_cap_overrun_claws_back_only_the_excess(session: Session) -> None:
    order, member = _dibao_order(session)
    _visit(session, order)
    # The quote's cap was 600.00; pretend the member's cap was lower by quoting against it.
    stored = orders_repo.get(session, order.id or 0)
    assert stored is not None
    stored.price_breakdown = {**stored.price_breakdown, "cap_fen": 5000}
    session.add(stored)
    session.flush()
    audit_service.run_month(session, MONTH, actor="auditor", only=["entitlement"])
    (finding,) = audit_repo.list_findings(session, month=MONTH)
    assert finding.evidence["problem"] == "over_cap" and finding.evidence["excess_fen"] == 1400
    audit_service.transition(
        session, finding, FindingStatus.CONFIRMED, reason_code=ReasonCode.OVERBILLED, actor="a"
    )
    assert finding.clawback_fen == 1400
    position = accounting.order_positions(session, stored)[Payer.SUBSIDY]
    assert (position.consumed, position.reversed) == (6400, 1400)
    assert member.id is not None
    assert audit_repo.load_month(session, MONTH).subsidy_by_member_fen[member.id] == 5000


def test_unknown_rules_are_refused(session: Session) -> None:
    with pytest.raises(Validation, match="unknown rules: made_up"):
        audit_service.run_month(session, MONTH, actor="a", only=["made_up", "overlap"])


def test_findings_page_by_id_and_filter(session: Session) -> None:
    _two_visits(session)
    _two_visits(session)
    audit_service.run_month(session, MONTH, actor="auditor")
    everything = audit_repo.list_findings(session, month=MONTH)
    assert len(everything) == 2
    first = audit_repo.list_findings(session, month=MONTH, limit=1)
    second = audit_repo.list_findings(session, month=MONTH, after_id=first[0].id or 0)
    assert [x.id for x in [*first, *second]] == [x.id for x in everything]
    assert audit_repo.list_findings(session, status=FindingStatus.CONFIRMED) == []
    assert len(audit_repo.list_findings(session, rule="other_worker")) == 2
    assert audit_service.finding_dict(everything[0])["rule"] == "other_worker"
    assert everything[0].updated_at - everything[0].created_at < timedelta(seconds=5)
