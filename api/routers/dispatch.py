"""Solve runs over HTTP: start one (202: queued for a Celery worker), poll it or follow its
server-sent events, cancel it, read its plan, and put an urgent order into a planned day.

Who: administrators and dispatchers. An administrator and a platform dispatcher (an account
without a provider) see every run; a provider's dispatcher sees the runs its provider's
dispatchers started (``ownership.run_visible``), and in a plan only its provider's routes and
left-out orders.

A run plans the whole day (or one district) for every provider: the problem builder has no
provider filter. Booking such a plan moves other providers' orders, so a run a provider's
dispatcher starts is a proposal, solved but not applied (``applies`` is false); the runs of
platform dispatchers and administrators book their plans.

The run is committed before its task is sent (``dispatch.solve_run``, by name, to the broker
of this process's settings); the worker reloads it by id and skips it if it is finished.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from api import ownership, queue
from api.access import Owner, allow
from api.deps import SessionDep
from api.idempotency import Idempotent, key_header, replayed
from api.problems import problem_responses
from api.types import FIRST_DAY, LAST_DAY, PublicIdField, public_id_path
from core.db import read_only
from core.errors import InvalidState, NotFound, Validation
from dispatch import repository as dispatch_repo
from dispatch import service as dispatch_service
from dispatch.models import FINISHED, RunStatus, SolveRun
from marketplace.accounts.models import Role, UserAccount
from marketplace.geography import service as geography_service
from marketplace.geography.models import AreaLevel
from marketplace.households import service as households_service
from marketplace.orders import quoting
from marketplace.orders import service as orders_service
from marketplace.orders.models import OrderStatus

router = APIRouter(tags=["dispatch"])
log = logging.getLogger(__name__)

Dispatcher = Annotated[UserAccount, allow(Role.DISPATCHER, Role.ADMIN, owner=Owner.RUN)]
Starter = Annotated[UserAccount, allow(Role.DISPATCHER, Role.ADMIN)]
RunId = Annotated[str, public_id_path("a run's public id")]
RunKey = Annotated[str, key_header("run")]
SOLVE_TASK = "dispatch.solve_run"
RUN_ROUTE = "dispatch_run"
POLL_S = 0.5
KEEPALIVE_S = 15.0


class RunIn(BaseModel):
    """A day (optionally one district) to plan, and how long the solver may take."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date = Field(description="the service date to plan")
    district: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="a district's code (default: every district)",
    )
    time_limit_s: float = Field(default=10, gt=0, le=3600, description="the solver's limit")
    parts_in_parallel: int = Field(
        default=0,
        ge=0,
        le=64,
        description="solve the day's independent parts on this many workers side by side",
    )


class UrgentIn(BaseModel):
    """An order to put into the run's day with urgent priority."""

    model_config = ConfigDict(extra="forbid")

    order: PublicIdField = Field(description="its public id")
    time_limit_s: float | None = Field(
        default=None, gt=0, le=3600, description="the re-plan's limit (default: the run's)"
    )


class RunProgress(BaseModel):
    """How far the solve is: solutions found (parts done, for a parallel run), the best
    objective so far."""

    solutions: int
    parts_done: int
    parts_total: int
    objective: int | None


class RunPublic(BaseModel):
    """A solve run."""

    id: str
    status: str
    service_date: dt.date
    district: str | None
    time_limit_s: float
    parts_in_parallel: int
    applies: bool = Field(description="whether the plan is booked when the run is done")
    progress: RunProgress
    error: str
    plan: str | None = Field(description="the plan's public id, once the run is done")
    plan_version: int | None
    requested_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    url: str


class ReasonPublic(BaseModel):
    """Why an order was left out."""

    code: str
    detail: str
    workers: list[str]


class StopPublic(BaseModel):
    """A stop on a worker's route (times in UTC)."""

    order: str
    job: str
    kind: str
    sequence: int
    arrival_at: dt.datetime
    start_at: dt.datetime
    end_at: dt.datetime
    travel_seconds: int
    travel_metres: int


class RoutePublic(BaseModel):
    """One worker's day in the plan."""

    worker: str
    stops: list[StopPublic]


class UnassignedPublic(BaseModel):
    """An order the plan left out, with the reasons."""

    order: str
    job: str
    reasons: list[ReasonPublic]


class PlanPublic(BaseModel):
    """A run's plan: routes per worker and the orders left out."""

    id: str
    run: str
    service_date: dt.date
    district: str | None
    version: int
    objective: int
    assigned: int
    unassigned: int
    stats: dict[str, Any]
    routes: list[RoutePublic]
    left_out: list[UnassignedPublic]
    created_at: dt.datetime


# --- the broker ------------------------------------------------------------------------------


def _enqueue(session: Session, run: SolveRun, time_limit_s: float) -> None:
    """Send the committed run to the workers, with Celery limits above the solver's (as
    ``dispatch.tasks.enqueue`` does); a run the broker refuses is failed, and 503."""
    assert run.id is not None
    queue.send(
        session,
        SOLVE_TASK,
        run.id,
        what=f"run {run.public_id}",
        soft_time_limit=int(time_limit_s * 2 + 60),
        time_limit=int(time_limit_s * 2 + 120),
        fail=lambda reason: dispatch_service.fail_run(session, run, reason),
    )


# --- shapes ----------------------------------------------------------------------------------


def _url(request: Request, run: SolveRun) -> str:
    return str(request.app.url_path_for(RUN_ROUTE, run_id=run.public_id))


def _public(session: Session, run: SolveRun, url: str) -> RunPublic:
    plan = dispatch_repo.get_plan(session, run.plan_id) if run.plan_id is not None else None
    params = run.params or {}
    return RunPublic(
        id=run.public_id,
        status=str(run.status),
        service_date=run.service_date,
        district=None if run.area_code == dispatch_service.ALL_AREAS else run.area_code,
        time_limit_s=float(params.get("time_limit_s", 10)),
        parts_in_parallel=int(params.get("parts_in_parallel", 0)),
        applies=bool(params.get("apply", True)),
        progress=RunProgress(
            solutions=run.progress_solutions,
            parts_done=run.parts_done,
            parts_total=run.parts_total,
            objective=run.best_objective,
        ),
        error=run.error,
        plan=None if plan is None else plan.public_id,
        plan_version=None if plan is None else plan.version,
        requested_by=run.requested_by,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        url=url,
    )


def _replayed(request: Request, response: Response, once: Idempotent) -> RunPublic | None:
    """The run this key started before, answered 200 with its URL; None for a new key
    (Conflict if the key came with another request)."""
    known = once.known()
    if known is None:
        return None
    run = dispatch_repo.get_run_by_public_id(once.session, str(known.response.get("id", "")))
    if run is None:
        raise NotFound("the run this key started no longer exists")
    url = _url(request, run)
    response.status_code = 200
    response.headers["Location"] = url
    return _public(once.session, run, url)


def _check_day(day: dt.date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Validation(f"date must be between {FIRST_DAY} and {LAST_DAY}")


def _check_district(session: Session, code: str | None) -> None:
    if code is None:
        return
    area = geography_service.get_by_code(session, code)
    if area is None:
        raise NotFound(f"district {code!r} does not exist")
    if AreaLevel(area.level) is not AreaLevel.DISTRICT:
        raise Validation(f"area {code!r} is a {AreaLevel(area.level).value}, not a district")


def _applies(account: UserAccount) -> bool:
    """Whether the account's runs book their plans (not a provider's dispatcher's)."""
    return not (Role(account.role) is Role.DISPATCHER and account.provider_id is not None)


def _queue(
    request: Request,
    response: Response,
    session: Session,
    account: UserAccount,
    *,
    day: dt.date,
    district: str | None,
    params: dict[str, Any],
    once: Idempotent,
) -> RunPublic:
    """Create the run, remember it under the key, commit, then send it to the workers."""
    run = dispatch_service.create_run(
        session,
        day=day,
        area_code=district,
        params={**params, "apply": _applies(account)},
        actor=ownership.actor(account),
    )
    once.remember({"id": run.public_id}, 202)
    session.commit()  # the worker must find the run: commit before the task is sent
    _enqueue(session, run, float(params["time_limit_s"]))
    url = _url(request, run)
    response.headers["Location"] = url
    return _public(session, run, url)


# --- routes ----------------------------------------------------------------------------------


@router.post(
    "/dispatch/runs",
    response_model=RunPublic,
    status_code=202,
    responses={
        **replayed("The run this key started before", RunPublic),
        202: {"description": "Queued; poll the run at the Location URL"},
        **problem_responses(401, 403, 404, 409, 422, 503),
    },
)
def start_run(
    request: Request,
    response: Response,
    session: SessionDep,
    account: Starter,
    body: RunIn,
    idempotency_key: RunKey,
) -> RunPublic:
    """Plan a day (optionally one district): the run is queued for a worker, answered with
    202 and its URL (``Location``); poll it or follow its events. The same key with the same
    request returns the same run (200); with another request, 409."""
    once = Idempotent.of(session, account, idempotency_key, "POST", "/dispatch/runs", body)
    if (known := _replayed(request, response, once)) is not None:
        return known
    _check_day(body.date)
    _check_district(session, body.district)
    return _queue(
        request,
        response,
        session,
        account,
        day=body.date,
        district=body.district,
        params={"time_limit_s": body.time_limit_s, "parts_in_parallel": body.parts_in_parallel},
        once=once,
    )


@router.get(
    "/dispatch/runs/{run_id}",
    name=RUN_ROUTE,
    response_model=RunPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def get_run(request: Request, session: SessionDep, account: Dispatcher, run_id: RunId) -> RunPublic:
    """A run: its status, progress (solutions, parts done of total, best objective so far),
    error and plan."""
    run = ownership.run_for(session, account, run_id)
    return _public(session, run, _url(request, run))


class EventStream(StreamingResponse):
    """A text/event-stream response."""

    media_type = "text/event-stream"


def _event(name: str, data: RunPublic, number: int) -> str:
    return f"id: {number}\nevent: {name}\ndata: {data.model_dump_json()}\n\n"


def _snapshot(run_id: int, url: str) -> RunPublic | None:
    """The run as it stands, read in a short read-only transaction."""
    with read_only() as session:
        run = dispatch_repo.get_run(session, run_id)
        return None if run is None else _public(session, run, url)


async def _events(run_id: int, url: str, timeout_s: float) -> AsyncIterator[str]:
    """One ``progress`` event per change of the run, ending with an event named after its
    final status (``done``, ``failed``, ``cancelled``), or ``timeout`` when ``timeout_s``
    passes first. Polls the database every ``POLL_S`` seconds; waits without a thread."""
    deadline = time.monotonic() + timeout_s
    last: str | None = None
    quiet_since = time.monotonic()
    number = 0
    while True:
        try:
            shown = await run_in_threadpool(_snapshot, run_id, url)
        except Exception:
            log.exception("reading run %s for its events failed", run_id)
            yield "event: error\ndata: {}\n\n"
            return
        if shown is None:
            return
        snapshot = shown.model_dump_json()
        finished = RunStatus(shown.status) in FINISHED
        if finished or snapshot != last:
            number += 1
            yield _event(shown.status if finished else "progress", shown, number)
            last, quiet_since = snapshot, time.monotonic()
        if finished:
            return
        now = time.monotonic()
        if now >= deadline:
            number += 1
            yield _event("timeout", shown, number)
            return
        if now - quiet_since >= KEEPALIVE_S:
            yield ": keep-alive\n\n"
            quiet_since = now
        await asyncio.sleep(min(POLL_S, max(deadline - now, 0)))


@router.get(
    "/dispatch/runs/{run_id}/events",
    response_class=EventStream,
    responses={
        200: {
            "description": "Server-sent events: `progress` per change, then the final status",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 403, 404, 422),
    },
)
def run_events(
    request: Request,
    session: SessionDep,
    account: Dispatcher,
    run_id: RunId,
    timeout_s: Annotated[
        int, Query(ge=1, le=3600, description="end the stream after this many seconds")
    ] = 600,
) -> EventStream:
    """Follow a run as server-sent events: one ``progress`` event per change (the run's JSON
    as data), ending with an event named after its final status, or ``timeout``."""
    run = ownership.run_for(session, account, run_id)
    assert run.id is not None
    url = _url(request, run)
    # End this request's transaction now: on SQLite it holds the write lock, which the worker
    # needs to record the progress this stream is waiting for.
    session.commit()
    return EventStream(
        _events(run.id, url, timeout_s),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.delete(
    "/dispatch/runs/{run_id}",
    response_model=RunPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def cancel_run(
    request: Request, session: SessionDep, account: Dispatcher, run_id: RunId
) -> RunPublic:
    """Cancel a queued or running run (a running solve stops at its next solution, parts not
    yet solved are skipped); 409 when it is finished already."""
    run = ownership.run_for(session, account, run_id)
    cancelled = dispatch_service.cancel_run(session, run)
    return _public(session, cancelled, _url(request, cancelled))


def _provider_filter(account: UserAccount) -> int | None:
    if Role(account.role) is Role.DISPATCHER:
        return account.provider_id
    return None


@router.get(
    "/dispatch/runs/{run_id}/plan",
    response_model=PlanPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def get_plan(session: SessionDep, account: Dispatcher, run_id: RunId) -> PlanPublic:
    """The run's plan: each worker's route with its stops and times, and the orders left out
    with the reasons (a provider's dispatcher sees its provider's only); 409 before the run
    is done."""
    run = ownership.run_for(session, account, run_id)
    plan = dispatch_repo.get_plan(session, run.plan_id) if run.plan_id is not None else None
    if plan is None or plan.id is None:
        raise InvalidState(f"run {run.public_id} is {run.status}: it has no plan")
    only = _provider_filter(account)
    routes: dict[str, list[StopPublic]] = {}
    for stop, worker, order, provider in dispatch_repo.plan_stops_with_refs(session, plan.id):
        if only is not None and provider != only:
            continue
        routes.setdefault(worker, []).append(
            StopPublic(
                order=order,
                job=stop.job_id,
                kind=stop.kind,
                sequence=stop.sequence,
                arrival_at=stop.arrival_at,
                start_at=stop.start_at,
                end_at=stop.end_at,
                travel_seconds=stop.travel_seconds,
                travel_metres=stop.travel_metres,
            )
        )
    left_out = [
        UnassignedPublic(
            order=order,
            job=row.job_id,
            reasons=[
                ReasonPublic(
                    code=str(r.get("code", "")),
                    detail=str(r.get("detail", "")),
                    workers=[str(w) for w in r.get("workers", [])],
                )
                for r in row.reasons
            ],
        )
        for row, order, provider in dispatch_repo.plan_unassigned_with_refs(session, plan.id)
        if only is None or provider == only
    ]
    return PlanPublic(
        id=plan.public_id,
        run=run.public_id,
        service_date=plan.service_date,
        district=None if plan.area_code == dispatch_service.ALL_AREAS else plan.area_code,
        version=plan.version,
        objective=plan.objective,
        assigned=plan.assigned,
        unassigned=plan.unassigned,
        stats=dict(plan.stats),
        routes=[RoutePublic(worker=w, stops=stops) for w, stops in routes.items()],
        left_out=left_out,
        created_at=plan.created_at,
    )


@router.post(
    "/dispatch/runs/{run_id}/urgent",
    response_model=RunPublic,
    status_code=202,
    responses={
        **replayed("The re-plan this key started before", RunPublic),
        202: {"description": "The re-plan is queued; poll it at the Location URL"},
        **problem_responses(401, 403, 404, 409, 422, 503),
    },
)
def insert_urgent(
    request: Request,
    response: Response,
    session: SessionDep,
    account: Dispatcher,
    run_id: RunId,
    body: UrgentIn,
    idempotency_key: RunKey,
) -> RunPublic:
    """Put a confirmed order of the run's day (and district) into the plan, urgently: the
    order is marked urgent and a new run re-plans the day, queued like any run (202, the new
    run). The workers' bookings made since are fixed stops of the new problem, so no booked
    visit moves; only orders still unbooked are planned around them."""
    run = ownership.run_for(session, account, run_id)
    path = f"/dispatch/runs/{run.public_id}/urgent"
    once = Idempotent.of(session, account, idempotency_key, "POST", path, body)
    if (known := _replayed(request, response, once)) is not None:
        return known
    if RunStatus(run.status) is not RunStatus.DONE:
        raise InvalidState(f"run {run.public_id} is {run.status}: there is no plan to insert into")
    order = ownership.order_for(session, account, body.order)
    if order.service_date != run.service_date:
        raise Validation(
            f"order {order.public_id} is for {order.service_date}, the run plans {run.service_date}"
        )
    if run.area_code != dispatch_service.ALL_AREAS:
        household = households_service.get_or_raise(session, order.household_id)
        if quoting.district_code(session, household) != run.area_code:
            raise Validation(f"order {order.public_id} is not in district {run.area_code}")
    if OrderStatus(order.status) is not OrderStatus.CONFIRMED:
        raise InvalidState(
            f"order {order.public_id} is {order.status}: only a confirmed order can be planned"
        )
    orders_service.mark_urgent(
        session, order, actor=ownership.actor(account), reason=f"urgent into {run.public_id}"
    )
    params = run.params or {}
    limit = body.time_limit_s or float(params.get("time_limit_s", 10))
    return _queue(
        request,
        response,
        session,
        account,
        day=run.service_date,
        district=None if run.area_code == dispatch_service.ALL_AREAS else run.area_code,
        params={
            "time_limit_s": limit,
            "parts_in_parallel": int(params.get("parts_in_parallel", 0)),
        },
        once=once,
    )
