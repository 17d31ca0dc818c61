"""Electronic visit verification: check-in/out with evidence, confirmation, edits with reasons."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlmodel import Session

from core.errors import InvalidState, Validation
from core.timeutil import local_datetime
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order, OrderStatus
from marketplace.providers.models import Provider, Worker
from marketplace.visits import service as visits_service
from marketplace.visits.models import CheckMethod, ConfirmationMethod, EditReason
from tests import factories as f

NINE = local_datetime(f.DAY, time(9, 0))
TEN = NINE + timedelta(hours=1)


def _scheduled(session: Session) -> tuple[Order, Worker]:
    order = f.make_order(session, confirm=True)
    provider = session.get(Provider, order.provider_id)
    assert provider is not None
    worker = f.make_worker(session, provider=provider)
    assert worker.id is not None
    orders_service.schedule(session, order, worker_id=worker.id, start=NINE, actor="d")
    return order, worker


def _gps_in(session: Session, order: Order, worker: Worker) -> None:
    visits_service.check_in(
        session,
        order,
        worker_id=worker.id or 0,
        at=NINE + timedelta(minutes=2),
        method=CheckMethod.GPS,
        lat=26.0801,
        lon=119.3002,
        accuracy_m=12.0,
        actor="worker",
    )


def test_check_in_opens_visit_with_the_six_elements(session: Session) -> None:
    order, worker = _scheduled(session)
    _gps_in(session, order, worker)
    visit = visits_service.get_for_order(session, order)
    assert visit is not None
    assert (visit.item_id, visit.recipient_member_id, visit.worker_id) == (
        order.item_id,
        order.recipient_member_id,
        worker.id,
    )
    assert visit.service_date == f.DAY
    assert (visit.location_lat, visit.location_lon) == (f.FUZHOU[0], f.FUZHOU[1])
    assert visit.check_in_at == NINE + timedelta(minutes=2)
    assert visit.check_in_method == CheckMethod.GPS
    assert visit.check_in_accuracy_m == 12.0
    assert order.status == OrderStatus.IN_SERVICE


def test_check_out_completes_and_household_confirms_with_code(session: Session) -> None:
    order, worker = _scheduled(session)
    _gps_in(session, order, worker)
    visit, code = visits_service.check_out(
        session,
        order,
        at=TEN,
        method=CheckMethod.GPS,
        lat=26.08,
        lon=119.30,
        tasks_done=["bathing", "meal prep"],
        actor="worker",
    )
    assert order.status == OrderStatus.COMPLETED
    assert visit.tasks_done == ["bathing", "meal prep"]
    assert code not in (visit.confirmation_code_hash or "")
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(Validation, match="wrong"):
        visits_service.confirm_by_household(
            session, visit, method=ConfirmationMethod.CODE, at=TEN, code=wrong
        )
    visits_service.confirm_by_household(
        session, visit, method=ConfirmationMethod.CODE, at=TEN, code=code
    )
    session.commit()
    assert visit.household_confirmed_at == TEN
    with pytest.raises(InvalidState, match="already confirmed"):
        visits_service.confirm_by_household(session, visit, method=ConfirmationMethod.PHONE, at=TEN)


def test_check_out_before_check_in_is_refused(session: Session) -> None:
    order, _ = _scheduled(session)
    with pytest.raises(InvalidState, match="not checked in"):
        visits_service.check_out(session, order, at=TEN, method=CheckMethod.QR, actor="w")


def test_check_out_not_after_check_in_is_refused(session: Session) -> None:
    order, worker = _scheduled(session)
    _gps_in(session, order, worker)
    with pytest.raises(Validation, match="after check-in"):
        visits_service.check_out(session, order, at=NINE, method=CheckMethod.QR, actor="w")


def test_gps_check_in_needs_coordinates(session: Session) -> None:
    order, worker = _scheduled(session)
    with pytest.raises(Validation, match="coordinates"):
        visits_service.check_in(
            session, order, worker_id=worker.id or 0, at=NINE, method=CheckMethod.GPS, actor="w"
        )


def test_manual_check_in_needs_reason_and_is_recorded_as_edit(session: Session) -> None:
    order, worker = _scheduled(session)
    with pytest.raises(Validation, match="reason code"):
        visits_service.check_in(
            session,
            order,
            worker_id=worker.id or 0,
            at=NINE,
            method=CheckMethod.MANUAL,
            actor="staff:7",
        )
    visit = visits_service.check_in(
        session,
        order,
        worker_id=worker.id or 0,
        at=NINE,
        method=CheckMethod.MANUAL,
        actor="staff:7",
        reason_code=EditReason.DEVICE_FAILURE,
    )
    edits = visits_service.edits(session, visit)
    assert [(e.field, e.reason_code, e.editor) for e in edits] == [
        ("check_in_at", "device_failure", "staff:7")
    ]


def test_a_colleague_may_check_in_and_it_is_recorded(session: Session) -> None:
    order, _ = _scheduled(session)
    provider = session.get(Provider, order.provider_id)
    assert provider is not None
    colleague = f.make_worker(session, provider=provider, name="张师傅")
    visit = visits_service.check_in(
        session, order, worker_id=colleague.id or 0, at=NINE, method=CheckMethod.QR, actor="w"
    )
    assert visit.worker_id == colleague.id
    assert order.assigned_worker_id != colleague.id


def test_edit_keeps_old_and_new_value_with_reason(session: Session) -> None:
    order, worker = _scheduled(session)
    _gps_in(session, order, worker)
    visit, _ = visits_service.check_out(session, order, at=TEN, method=CheckMethod.QR, actor="w")
    corrected = TEN + timedelta(minutes=15)
    visits_service.edit(
        session,
        visit,
        field="check_out_at",
        value=corrected,
        reason_code=EditReason.TIME_CORRECTION,
        editor="staff:9",
    )
    (edit,) = visits_service.edits(session, visit)
    assert (edit.old_value, edit.new_value) == (TEN.isoformat(), corrected.isoformat())
    assert visit.check_out_at == corrected
    with pytest.raises(Validation, match="after check-in"):
        visits_service.edit(
            session,
            visit,
            field="check_out_at",
            value=NINE - timedelta(hours=1),
            reason_code=EditReason.TIME_CORRECTION,
            editor="staff:9",
        )
    with pytest.raises(Validation, match="cannot be edited"):
        visits_service.edit(
            session,
            visit,
            field="location_lat",
            value=[],
            reason_code=EditReason.OTHER,
            editor="staff:9",
            note="x",
        )
    with pytest.raises(Validation, match="needs a note"):
        visits_service.edit(
            session,
            visit,
            field="tasks_done",
            value=["x"],
            reason_code=EditReason.OTHER,
            editor="staff:9",
        )
