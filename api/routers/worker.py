"""A worker's day: its own route, check-in and check-out at each home; and the household's
confirmation with the one-time code the worker hands over at check-out.

A worker account sees only the orders booked to it (anything else is 404). A household's
address and coordinates appear in one place only: the worker's route for the service date of
the stop they belong to. Visits carry no location (the check-in coordinates are next to the
home), so no other answer reveals where a household lives.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, model_validator
from sqlmodel import Session

from api import ownership
from api.access import Owner, allow
from api.deps import SessionDep
from api.problems import problem_responses
from api.routers.providers import Day, Progress, tally
from core.errors import Validation
from core.timeutil import local_date, utcnow
from marketplace.accounts.models import Role, UserAccount
from marketplace.orders import service as orders_service
from marketplace.providers import service as providers_service
from marketplace.visits import service as visits_service
from marketplace.visits.models import CheckMethod, EditReason, Visit

router = APIRouter(tags=["visits"])

Worker = Annotated[UserAccount, allow(Role.WORKER, owner=Owner.WORKER)]
BookedWorker = Annotated[UserAccount, allow(Role.WORKER, owner=Owner.ORDER)]
OrderId = Annotated[str, Path(max_length=40, description="the order's public id")]


class RouteStop(BaseModel):
    """One stop of the worker's day, with where to go."""

    sequence: int
    order: str
    item: str
    item_name: str
    recipient: str
    address: str
    lat: float
    lon: float
    planned_start: datetime
    planned_end: datetime
    status: str
    progress: str = Field(description="done, in_service or to_do")
    notes: str
    check_in_at: datetime | None
    check_out_at: datetime | None


class MyRoute(BaseModel):
    """The worker's stops of one day, in order."""

    worker: str
    date: date
    summary: Progress
    stops: list[RouteStop]


class CheckIn(BaseModel):
    """Evidence of arriving: how it was captured and, with GPS, where (WGS-84)."""

    method: CheckMethod
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000, allow_inf_nan=False)
    reason: EditReason | None = Field(
        default=None, description="why the time is entered by hand (required with manual)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> CheckIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if self.method is CheckMethod.GPS and self.lat is None:
            raise ValueError("a GPS check needs lat and lon")
        if self.method is CheckMethod.MANUAL and self.reason is None:
            raise ValueError("a manual check needs a reason")
        return self


class CheckOut(CheckIn):
    """Evidence of leaving, and the tasks done."""

    tasks_done: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        default_factory=list, max_length=30
    )


class VisitPublic(BaseModel):
    """A visit's record (no location: it would tell where the household lives)."""

    id: str
    order: str
    worker: str
    service_date: date
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    check_in_at: datetime | None
    check_in_method: str | None
    check_out_at: datetime | None
    check_out_method: str | None
    tasks_done: list[str]
    confirmed_at: datetime | None
    confirmation_method: str | None


class CheckedOut(BaseModel):
    """The closed visit and the one-time code the household confirms it with (shown once)."""

    visit: VisitPublic
    confirmation_code: str


class ConfirmIn(BaseModel):
    """The one-time code the worker gave at check-out."""

    code: str = Field(min_length=1, max_length=12)


def _visit_public(session: Session, visit: Visit) -> VisitPublic:
    order = orders_service.get_or_raise(session, visit.order_id)
    worker = providers_service.get_worker_or_raise(session, visit.worker_id)
    return VisitPublic(
        id=visit.public_id,
        order=order.public_id,
        worker=worker.public_id,
        service_date=visit.service_date,
        scheduled_start=visit.scheduled_start,
        scheduled_end=visit.scheduled_end,
        check_in_at=visit.check_in_at,
        check_in_method=None if visit.check_in_method is None else str(visit.check_in_method),
        check_out_at=visit.check_out_at,
        check_out_method=None if visit.check_out_method is None else str(visit.check_out_method),
        tasks_done=list(visit.tasks_done),
        confirmed_at=visit.household_confirmed_at,
        confirmation_method=(
            None if visit.confirmation_method is None else str(visit.confirmation_method)
        ),
    )


@router.get("/me/route", response_model=MyRoute, responses=problem_responses(401, 403, 422))
def my_route(
    session: SessionDep,
    account: Worker,
    day: Day = None,
) -> MyRoute:
    """The worker's own stops of one service date, in order, with each household's address and
    coordinates; only that date's stops (another date shows that date's own, or none)."""
    on = day or local_date(utcnow())
    stops = [
        RouteStop(
            sequence=stop.sequence,
            order=stop.order.public_id,
            item=stop.item_code,
            item_name=stop.item_name_zh,
            recipient=stop.recipient,
            address=stop.address,
            lat=stop.lat,
            lon=stop.lon,
            planned_start=stop.planned_start,
            planned_end=stop.planned_end,
            status=str(stop.order.status),
            progress=stop.progress,
            notes=stop.order.notes,
            check_in_at=stop.visit.check_in_at if stop.visit else None,
            check_out_at=stop.visit.check_out_at if stop.visit else None,
        )
        for stop in visits_service.worker_day(session, account.worker_id or -1, on)
    ]
    worker = providers_service.get_worker_or_raise(session, account.worker_id or -1)
    return MyRoute(
        worker=worker.public_id,
        date=on,
        summary=tally([s.progress for s in stops]),
        stops=stops,
    )


@router.post(
    "/me/visits/{order_id}/check-in",
    response_model=VisitPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def check_in(
    session: SessionDep, account: BookedWorker, order_id: OrderId, body: CheckIn
) -> VisitPublic:
    """Arrive at the home: the visit opens and the order goes in service (an order not booked
    to this worker: 404; checked in already: 409)."""
    order = ownership.order_for(session, account, order_id)
    assert account.worker_id is not None
    visit = visits_service.check_in(
        session,
        order,
        worker_id=account.worker_id,
        at=utcnow(),
        method=body.method,
        lat=body.lat,
        lon=body.lon,
        accuracy_m=body.accuracy_m,
        actor=ownership.actor(account),
        reason_code=body.reason,
    )
    return _visit_public(session, visit)


@router.post(
    "/me/visits/{order_id}/check-out",
    response_model=CheckedOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def check_out(
    session: SessionDep, account: BookedWorker, order_id: OrderId, body: CheckOut
) -> CheckedOut:
    """Leave the home: the visit closes, the order is completed (the reserved money is
    consumed) and the household gets a one-time code to confirm the visit with. The code is
    shown only here; only its hash is kept."""
    order = ownership.order_for(session, account, order_id)
    visit, code = visits_service.check_out(
        session,
        order,
        at=utcnow(),
        method=body.method,
        lat=body.lat,
        lon=body.lon,
        accuracy_m=body.accuracy_m,
        tasks_done=body.tasks_done,
        actor=ownership.actor(account),
        reason_code=body.reason,
    )
    return CheckedOut(visit=_visit_public(session, visit), confirmation_code=code)


@router.post(
    "/visits/{order_id}/confirm",
    response_model=VisitPublic,
    responses=problem_responses(401, 403, 404, 409, 422, 429),
)
def confirm_visit(
    session: SessionDep,
    account: Annotated[UserAccount, allow(Role.HOUSEHOLD, Role.PROXY, owner=Owner.ORDER)],
    order_id: OrderId,
    body: ConfirmIn,
) -> VisitPublic:
    """The household (or its proxy) confirms the visit happened with the worker's one-time code
    (a wrong code: 422; five wrong codes within 15 minutes: 429 with Retry-After, whatever the
    code; not checked out yet or confirmed already: 409)."""
    order = ownership.order_for(session, account, order_id)
    try:
        confirmed = visits_service.confirm_with_code(
            session, order, body.code, actor=ownership.actor(account), at=utcnow()
        )
    except Validation:
        session.commit()  # a wrong code counts towards the limit even though the request fails
        raise
    return _visit_public(session, confirmed)
