"""Electronic visit verification: check-in, check-out, household confirmation, edits.

Check-in and check-out move the order (in service, completed). A different worker than the
scheduled one may check in (it happens: a colleague covers); the audit rules flag it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from core.errors import InvalidState, NotFound, Validation
from core.ids import new_public_id
from core.timeutil import local_date
from marketplace.accounts import throttle
from marketplace.catalog import service as catalog_service
from marketplace.households import service as households_service
from marketplace.households.models import Household
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order
from marketplace.providers.models import Worker
from marketplace.visits import repository as repo
from marketplace.visits.models import CheckMethod, ConfirmationMethod, EditReason, Visit, VisitEdit

EDITABLE_FIELDS = frozenset({"check_in_at", "check_out_at", "tasks_done", "worker_id"})


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def get_or_raise(session: Session, visit_id: int) -> Visit:
    """The visit, or NotFound."""
    visit = repo.get(session, visit_id)
    if visit is None:
        raise NotFound(f"visit {visit_id} does not exist")
    return visit


def get_for_order(session: Session, order: Order) -> Visit | None:
    """The order's visit, if any."""
    assert order.id is not None
    return repo.get_for_order(session, order.id)


def _check_coordinates(lat: float | None, lon: float | None, method: CheckMethod) -> None:
    if method is CheckMethod.GPS and (lat is None or lon is None):
        raise Validation("a GPS check needs coordinates")
    if lat is not None and not -90 <= lat <= 90:
        raise Validation("latitude out of range")
    if lon is not None and not -180 <= lon <= 180:
        raise Validation("longitude out of range")


def check_in(
    session: Session,
    order: Order,
    *,
    worker_id: int,
    at: datetime,
    method: CheckMethod,
    lat: float | None = None,
    lon: float | None = None,
    accuracy_m: float | None = None,
    actor: str,
    reason_code: EditReason | None = None,
) -> Visit:
    """The worker arrives: open the visit with its six EVV elements and the order goes in service.

    A manual check-in is an after-the-fact entry and must carry a reason code.
    """
    assert order.id is not None
    _check_coordinates(lat, lon, method)
    if method is CheckMethod.MANUAL and reason_code is None:
        raise Validation("a manual check-in needs a reason code")
    worker = session.get(Worker, worker_id)
    if worker is None:
        raise NotFound(f"worker {worker_id} does not exist")
    if worker.provider_id != order.provider_id:
        raise Validation("the worker does not work for the order's provider")
    if repo.get_for_order(session, order.id) is not None:
        raise InvalidState("this order already has a visit")
    household = session.get(Household, order.household_id)
    assert household is not None
    order = orders_service.start_service(session, order, actor=actor, now=at)
    assert order.id is not None
    visit = Visit(
        public_id=new_public_id("vis"),
        order_id=order.id,
        item_id=order.item_id,
        recipient_member_id=order.recipient_member_id,
        household_id=order.household_id,
        worker_id=worker_id,
        service_date=local_date(at),
        location_lat=household.lat,
        location_lon=household.lon,
        scheduled_start=order.scheduled_start,
        scheduled_end=order.scheduled_end,
        check_in_at=at,
        check_in_method=method,
        check_in_lat=lat,
        check_in_lon=lon,
        check_in_accuracy_m=accuracy_m,
    )
    session.add(visit)
    session.flush()
    if method is CheckMethod.MANUAL:
        assert reason_code is not None
        _record_edit(session, visit, "check_in_at", None, at.isoformat(), reason_code, actor)
    return visit


def check_out(
    session: Session,
    order: Order,
    *,
    at: datetime,
    method: CheckMethod,
    lat: float | None = None,
    lon: float | None = None,
    accuracy_m: float | None = None,
    tasks_done: Sequence[str] = (),
    actor: str,
    reason_code: EditReason | None = None,
) -> tuple[Visit, str]:
    """The worker leaves: close the visit, complete the order, and issue a confirmation code.

    Returns the visit and the one-time code the household uses to confirm (only its hash is
    stored).
    """
    _check_coordinates(lat, lon, method)
    if method is CheckMethod.MANUAL and reason_code is None:
        raise Validation("a manual check-out needs a reason code")
    visit = get_for_order(session, order)
    if visit is None:
        raise InvalidState("the worker has not checked in")
    if visit.check_out_at is not None:
        raise InvalidState("the visit is already checked out")
    assert visit.check_in_at is not None
    if at <= visit.check_in_at:
        raise Validation("check-out must be after check-in")
    orders_service.complete(session, order, actor=actor, now=at)
    code = f"{secrets.randbelow(1_000_000):06d}"
    visit.check_out_at = at
    visit.check_out_method = method
    visit.check_out_lat = lat
    visit.check_out_lon = lon
    visit.check_out_accuracy_m = accuracy_m
    visit.tasks_done = list(tasks_done)
    visit.confirmation_code_hash = _hash_code(code)
    session.add(visit)
    session.flush()
    if method is CheckMethod.MANUAL:
        assert reason_code is not None
        _record_edit(session, visit, "check_out_at", None, at.isoformat(), reason_code, actor)
    return visit, code


def confirm_by_household(
    session: Session,
    visit: Visit,
    *,
    method: ConfirmationMethod,
    at: datetime,
    code: str | None = None,
) -> Visit:
    """The household confirms the visit happened (with the one-time code when method is code).

    Wrong codes are counted (``throttle.WRONG_CODES``): past the limit every try is refused
    with TooManyRequests for a while, right code or not. The caller commits even when this
    raises, so the count holds."""
    if visit.check_out_at is None:
        raise InvalidState("a visit can be confirmed only after check-out")
    if visit.household_confirmed_at is not None:
        raise InvalidState("the visit is already confirmed")
    if method is ConfirmationMethod.CODE:
        if code is None or visit.confirmation_code_hash is None:
            raise Validation("the confirmation code is required")
        subject = visit.public_id
        throttle.WRONG_CODES.check(session, subject, now=at)
        if not hmac.compare_digest(_hash_code(code), visit.confirmation_code_hash):
            # Counted even though the request fails: the caller commits before re-raising.
            throttle.WRONG_CODES.count(session, subject, now=at)
            raise Validation("the confirmation code is wrong")
    visit.household_confirmed_at = at
    visit.confirmation_method = method
    session.add(visit)
    session.flush()
    return visit


def _record_edit(
    session: Session,
    visit: Visit,
    field: str,
    old: str | None,
    new: str | None,
    reason: EditReason,
    editor: str,
    note: str = "",
) -> VisitEdit:
    assert visit.id is not None
    edit = VisitEdit(
        visit_id=visit.id,
        field=field,
        old_value=old,
        new_value=new,
        reason_code=reason,
        note=note,
        editor=editor,
    )
    session.add(edit)
    session.flush()
    return edit


def edit(
    session: Session,
    visit: Visit,
    *,
    field: str,
    value: datetime | int | list[str],
    reason_code: EditReason,
    editor: str,
    note: str = "",
) -> VisitEdit:
    """Correct a visit record; the old and new value and the reason are kept."""
    if field not in EDITABLE_FIELDS:
        raise Validation(f"field {field!r} cannot be edited")
    if reason_code is EditReason.OTHER and not note.strip():
        raise Validation("reason 'other' needs a note")
    old = getattr(visit, field)
    if field in ("check_in_at", "check_out_at"):
        if not isinstance(value, datetime):
            raise Validation(f"{field} needs a datetime")
        new_in = value if field == "check_in_at" else visit.check_in_at
        new_out = value if field == "check_out_at" else visit.check_out_at
        if new_in is not None and new_out is not None and new_out <= new_in:
            raise Validation("check-out must be after check-in")
        old_text, new_text = (old.isoformat() if old else None), value.isoformat()
    elif field == "worker_id":
        if not isinstance(value, int) or session.get(Worker, value) is None:
            raise Validation("worker_id must name an existing worker")
        old_text, new_text = str(old), str(value)
    else:
        if not isinstance(value, list):
            raise Validation("tasks_done needs a list of task names")
        old_text, new_text = ",".join(old), ",".join(value)
    setattr(visit, field, value)
    session.add(visit)
    return _record_edit(session, visit, field, old_text, new_text, reason_code, editor, note)


def edits(session: Session, visit: Visit) -> Sequence[VisitEdit]:
    """The visit's edit history."""
    assert visit.id is not None
    return repo.edits(session, visit.id)


def visits_of_orders(session: Session, order_ids: Sequence[int]) -> dict[int, Visit]:
    """The visits of these orders, by order id (orders without a visit are left out)."""
    return {visit.order_id: visit for visit in repo.for_orders(session, order_ids)}


def confirm_with_code(
    session: Session, order: Order, code: str, *, actor: str, at: datetime
) -> Visit:
    """The household confirms the order's visit with the worker's one-time code, and the order
    is settled (its money is final). InvalidState before check-in; wrong codes as in
    ``confirm_by_household``: the caller commits even when this raises Validation."""
    visit = get_for_order(session, order)
    if visit is None:
        raise InvalidState("the worker has not checked in yet")
    confirmed = confirm_by_household(
        session, visit, method=ConfirmationMethod.CODE, at=at, code=code
    )
    orders_service.settle(session, order, actor=actor, now=at)
    return confirmed


@dataclass(frozen=True, slots=True)
class StopOfDay:
    """One stop of a worker's day, with the household's address (that day's stops only)."""

    sequence: int
    order: Order
    item_code: str
    item_name_zh: str
    item_name_en: str
    recipient: str
    address: str
    lat: float
    lon: float
    planned_start: datetime
    planned_end: datetime
    progress: str
    visit: Visit | None


def worker_day(session: Session, worker_id: int, on: date) -> list[StopOfDay]:
    """The worker's booked stops of one service date, in order. Addresses appear only for the
    stops of the date asked (the rule the worker's route follows)."""
    booked = orders_service.bookings_on_day(session, on, worker_id=worker_id)
    visits = visits_of_orders(session, [o.id for _, o in booked if o.id])
    stops: list[StopOfDay] = []
    for booking, order in booked:
        assert order.id is not None
        if order.service_date != on:  # the query says so; the address rule depends on it
            continue
        household = households_service.get_or_raise(session, order.household_id)
        member = households_service.get_member_or_raise(session, order.recipient_member_id)
        item = catalog_service.get_item_or_raise(session, order.item_id)
        stops.append(
            StopOfDay(
                sequence=len(stops) + 1,
                order=order,
                item_code=item.code,
                item_name_zh=item.name_zh,
                item_name_en=item.name_en,
                recipient=member.name,
                address=household.address,
                lat=household.lat,
                lon=household.lon,
                planned_start=booking.starts_at,
                planned_end=booking.ends_at,
                progress=orders_service.progress_of(order.status),
                visit=visits.get(order.id),
            )
        )
    return stops


def visits_by_public_ids(session: Session, public_ids: Sequence[str]) -> list[Visit]:
    """The visits with these public ids, in the order asked (unknown ids are left out)."""
    found = {visit.public_id: visit for visit in repo.by_public_ids(session, public_ids)}
    return [found[ref] for ref in public_ids if ref in found]
