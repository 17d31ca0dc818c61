"""Loading a month's facts from the database: what each visit carries, the members, the
certificates, the subsidy from the ledger, the ledger's verdict."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlmodel import Session

from audit import repository as audit_repo
from audit import rules
from core.errors import Validation
from core.timeutil import local_datetime
from marketplace.households.models import Household, Member, ProtectedCategory
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order
from marketplace.orders.schemas import OrderCreate
from marketplace.providers import service as providers_service
from marketplace.providers.models import Provider, Worker
from marketplace.providers.schemas import CertificateIn
from marketplace.visits import service as visits_service
from marketplace.visits.models import CheckMethod, EditReason
from pricing.models import Payer
from tests import factories as f

MONTH = "2026-12"
NINE = local_datetime(f.DAY, time(9))
ORDERED = local_datetime(date(2026, 11, 20), time(10))


def _dibao_order(session: Session) -> tuple[Order, Member]:
    household, _ = f.make_household(session)
    member = f.add_member(session, household)
    f.grant_status(session, member, ProtectedCategory.DIBAO)
    provider = f.make_provider(session)
    item = f.item(session, "domestic.cleaning")
    assert member.id and provider.id and item.id and household.id
    order = orders_service.create_order(
        session,
        OrderCreate(
            household_id=household.id,
            recipient_member_id=member.id,
            provider_id=provider.id,
            item_id=item.id,
            service_date=f.DAY,
            windows=[f.window(f.DAY, time(9), time(12))],
            duration_minutes=120,
        ),
        actor="household",
        now=ORDERED,
    )
    return orders_service.confirm(session, order, actor="provider", now=ORDERED), member


def _visit(session: Session, order: Order, *, by: Worker | None = None) -> Worker:
    provider = session.get(Provider, order.provider_id)
    assert provider is not None
    booked = f.make_worker(session, provider=provider)
    assert booked.id is not None
    for worker in (booked, by):
        if worker is not None and worker.id is not None:
            providers_service.add_certificate(
                session,
                worker.id,
                CertificateIn(kind="domestic_worker", number="HS-1", issued_on=date(2025, 1, 1)),
            )
    orders_service.schedule(session, order, worker_id=booked.id, start=NINE, actor="dispatcher")
    worker = by or booked
    assert worker.id is not None
    household = session.get(Household, order.household_id)
    assert household is not None
    visits_service.check_in(
        session,
        order,
        worker_id=worker.id,
        at=NINE + timedelta(minutes=3),
        method=CheckMethod.GPS,
        lat=household.lat,
        lon=household.lon,
        actor="worker",
    )
    visits_service.check_out(
        session,
        order,
        at=NINE + timedelta(minutes=121),
        method=CheckMethod.MANUAL,
        reason_code=EditReason.NO_SIGNAL,
        actor="staff:王",
    )
    return booked


def test_a_subsidised_visit_carries_what_the_rules_need(session: Session) -> None:
    order, member = _dibao_order(session)
    booked = _visit(session, order)
    facts = audit_repo.load_month(session, MONTH)

    (visit,) = facts.visits
    assert (visit.order_ref, visit.provider_id, visit.member_id) == (
        order.public_id,
        order.provider_id,
        member.id,
    )
    assert visit.worker_id == visit.scheduled_worker_id == booked.id
    assert visit.person_key == f"worker:{booked.id}"  # the factory's workers have no phone
    assert (visit.item_code, visit.service_class, visit.service_date) == (
        "domestic.cleaning",
        "domestic",
        f.DAY,
    )
    assert visit.scheduled_start == NINE and visit.scheduled_end == NINE + timedelta(hours=2)
    assert visit.check_in_method == "gps" and visit.check_out_method == "manual"
    assert visit.check_out_lat is None
    assert (visit.billed_minutes, visit.price_fen, visit.subsidy_fen) == (120, 8000, 6400)
    assert visit.group == "dibao"
    assert [(e.field, e.editor, e.reason) for e in visit.edits] == [
        ("check_out_at", "staff:王", "no_signal")
    ]
    assert member.id is not None
    fact = facts.members[member.id]
    assert [e.group for e in fact.entitlements] == ["dibao"]
    assert fact.monthly_cap_fen == 60000
    assert facts.subsidy_by_member_fen[member.id] == 6400
    assert facts.ledger.ok and facts.ledger.entries == 4
    assert rules.run_all(facts) == []


def test_a_colleague_covering_is_told_apart_from_the_booking(session: Session) -> None:
    order, _ = _dibao_order(session)
    provider = session.get(Provider, order.provider_id)
    assert provider is not None
    colleague = f.make_worker(session, provider=provider, name="王师傅")
    booked = _visit(session, order, by=colleague)
    (visit,) = audit_repo.load_month(session, MONTH).visits
    assert (visit.worker_id, visit.scheduled_worker_id) == (colleague.id, booked.id)
    assert [h.rule for h in rules.other_worker(audit_repo.load_month(session, MONTH))] == [
        "other_worker"
    ]


def test_a_refund_of_subsidy_lowers_what_the_visit_and_member_count(session: Session) -> None:
    order, member = _dibao_order(session)
    _visit(session, order)
    orders_service.refund(
        session, order, amount_fen=1400, payer=Payer.SUBSIDY, reason="audit", actor="auditor"
    )
    facts = audit_repo.load_month(session, MONTH)
    assert facts.visits[0].subsidy_fen == 5000
    assert member.id is not None and facts.subsidy_by_member_fen[member.id] == 5000


def test_other_months_and_unvisited_orders_are_left_out(session: Session) -> None:
    order, _ = _dibao_order(session)
    _visit(session, order)
    _dibao_order(session)  # confirmed, never visited
    assert len(audit_repo.load_month(session, MONTH).visits) == 1
    assert audit_repo.load_month(session, "2027-01").visits == ()


def test_members_sharing_an_id_number_across_households_are_loaded(session: Session) -> None:
    a_home, _ = f.make_household(session)
    b_home, _ = f.make_household(session)
    a = f.add_member(session, a_home, name="甲")
    b = f.add_member(session, b_home, name="乙")
    a.id_number_index = b.id_number_index = "same-blind-index"
    session.add_all([a, b])
    session.flush()
    facts = audit_repo.load_month(session, MONTH)
    assert a.id is not None and b.id is not None
    assert {a.id, b.id} <= set(facts.members)
    (hit,) = rules.duplicate_beneficiary(facts)
    assert hit.subject == "same-blind-index"


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "december", "2026-12-01", ""])
def test_a_bad_month_is_refused(session: Session, month: str) -> None:
    with pytest.raises(Validation, match="YYYY-MM"):
        audit_repo.load_month(session, month)


def test_person_key_joins_one_phone_across_providers() -> None:
    assert audit_repo.person_key(1, "138-0000-1111") == audit_repo.person_key(2, "13800001111")
    assert audit_repo.person_key(1, "") == "worker:1"
    assert audit_repo.person_key(3, "12") == "worker:3"
