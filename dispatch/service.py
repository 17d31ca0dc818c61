"""Solve runs and plans: create, cancel, persist a solution as a plan version, apply it.

Services flush and never commit; the task (dispatch/tasks.py) and the CLI are the edges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from core.errors import Conflict, InvalidState, NotFound, Validation
from core.ids import new_public_id
from core.timeutil import utcnow
from dispatch import repository as repo
from dispatch.models import FINISHED, Plan, PlanStop, PlanUnassigned, RunStatus, SolveRun
from dispatch.problem import JobKind, Solution
from marketplace.orders import service as orders_service
from marketplace.orders.models import OrderStatus

ALL_AREAS = "all"
# Parameters a caller may set on a run; anything else is refused rather than ignored.
RUN_PARAMS = frozenset(
    {
        "time_limit_s",
        "solution_limit",
        "seed",
        "pyvrp_share",
        "pyvrp_iterations",
        "apply",
        "parts_in_parallel",
    }
)
MAX_ATTEMPTS = 3


def create_run(
    session: Session,
    *,
    day: date,
    area_code: str | None,
    params: Mapping[str, Any],
    actor: str,
) -> SolveRun:
    """Queue a run; the caller commits, then enqueues the task with the run's id."""
    unknown = set(params) - RUN_PARAMS
    if unknown:
        raise Validation(f"unknown run parameters: {', '.join(sorted(unknown))}")
    limit = params.get("time_limit_s", 10)
    if not isinstance(limit, int | float) or not 0 < limit <= 3600:
        raise Validation("time_limit_s must be between 0 and 3600 seconds")
    parallel = params.get("parts_in_parallel", 0)
    if not isinstance(parallel, int) or isinstance(parallel, bool) or not 0 <= parallel <= 64:
        raise Validation("parts_in_parallel must be a whole number from 0 to 64")
    run = SolveRun(
        public_id=new_public_id("run"),
        service_date=day,
        area_code=area_code or ALL_AREAS,
        params=dict(params),
        requested_by=actor,
    )
    session.add(run)
    session.flush()
    return run


def get_run_or_raise(session: Session, run_id: int) -> SolveRun:
    """The run, or NotFound."""
    run = repo.get_run(session, run_id)
    if run is None:
        raise NotFound(f"solve run {run_id} does not exist")
    return run


def cancel_run(session: Session, run: SolveRun, *, now: datetime | None = None) -> SolveRun:
    """Cancel a queued or running run (a running solve stops at its next solution)."""
    assert run.id is not None
    locked = repo.get_run_for_update(session, run.id)
    assert locked is not None
    if RunStatus(locked.status) in FINISHED:
        raise InvalidState(f"the run is already {locked.status}")
    locked.status = RunStatus.CANCELLED
    locked.finished_at = now or utcnow()
    session.add(locked)
    session.flush()
    return locked


def start_run(session: Session, run_id: int, *, now: datetime | None = None) -> SolveRun | None:
    """Mark a run running; None when it is finished already (a redelivered task skips it)."""
    run = repo.get_run_for_update(session, run_id)
    if run is None or RunStatus(run.status) in FINISHED:
        return None
    if run.attempts >= MAX_ATTEMPTS:
        fail_run(session, run, f"gave up after {run.attempts} attempts", now=now)
        return None
    run.status = RunStatus.RUNNING
    run.attempts += 1
    run.started_at = now or utcnow()
    session.add(run)
    session.flush()
    return run


def record_progress(session: Session, run_id: int, solutions: int, objective: int) -> bool:
    """Store the best objective so far; return False when the run was cancelled meanwhile."""
    run = repo.get_run_for_update(session, run_id)
    if run is None or run.status == RunStatus.CANCELLED:
        return False
    run.progress_solutions = solutions
    run.best_objective = objective
    session.add(run)
    session.flush()
    return True


def start_parts(session: Session, run_id: int, total: int) -> None:
    """Note that the run's day goes to the workers as ``total`` parallel parts."""
    run = get_run_or_raise(session, run_id)
    run.parts_total = total
    run.parts_done = 0
    run.best_objective = None
    session.add(run)
    session.flush()


def run_is_open(session: Session, run_id: int) -> bool:
    """Whether the run still wants work done (not cancelled, failed or done)."""
    run = repo.get_run(session, run_id)
    return run is not None and RunStatus(run.status) not in FINISHED


def record_part_done(session: Session, run_id: int, objective: int) -> bool:
    """Count one finished part and add its objective; False when the run is over meanwhile."""
    run = repo.get_run_for_update(session, run_id)
    if run is None or RunStatus(run.status) in FINISHED:
        return False
    run.parts_done += 1
    run.progress_solutions = run.parts_done
    run.best_objective = (run.best_objective or 0) + objective
    session.add(run)
    session.flush()
    return True


def fail_run(session: Session, run: SolveRun, error: str, *, now: datetime | None = None) -> None:
    """Mark a run failed with a short error."""
    run.status = RunStatus.FAILED
    run.error = error[:500]
    run.finished_at = now or utcnow()
    session.add(run)
    session.flush()


@dataclass(frozen=True)
class PlanSource:
    """What persisting a solution needs from the problem it was built from."""

    epoch: datetime
    job_orders: Mapping[str, int]
    job_kinds: Mapping[str, JobKind]
    worker_ids: Mapping[str, int]
    # Jobs that stand for bookings made elsewhere: shown on routes, not counted as planned.
    committed: frozenset[str] = frozenset()


def persist_plan(
    session: Session,
    run: SolveRun,
    source: PlanSource,
    solution: Solution,
) -> Plan:
    """Store the solution as the next plan version for the run's day and area."""
    version = repo.latest_version(session, run.service_date, run.area_code) + 1
    assigned = len(
        {source.job_orders[j] for j in solution.assigned_job_ids if j not in source.committed}
    )
    left_out = len(
        {
            source.job_orders[u.job_id]
            for u in solution.unassigned
            if u.job_id not in source.committed
        }
    )
    plan = Plan(
        public_id=new_public_id("pln"),
        service_date=run.service_date,
        area_code=run.area_code,
        version=version,
        objective=solution.objective,
        stats=dict(solution.stats),
        assigned=assigned,
        unassigned=left_out,
    )
    session.add(plan)
    session.flush()
    assert plan.id is not None
    at = source.epoch
    for route in solution.routes:
        worker_id = source.worker_ids[route.worker_id]
        for seq, stop in enumerate(route.stops):
            session.add(
                PlanStop(
                    plan_id=plan.id,
                    worker_id=worker_id,
                    order_id=source.job_orders[stop.job_id],
                    job_id=stop.job_id,
                    kind=source.job_kinds[stop.job_id].value,
                    sequence=seq,
                    arrival_at=at + timedelta(seconds=stop.arrival),
                    start_at=at + timedelta(seconds=stop.start),
                    end_at=at + timedelta(seconds=stop.end),
                    travel_seconds=stop.travel_seconds,
                    travel_metres=stop.travel_metres,
                )
            )
    for unassigned in solution.unassigned:
        session.add(
            PlanUnassigned(
                plan_id=plan.id,
                order_id=source.job_orders[unassigned.job_id],
                job_id=unassigned.job_id,
                reasons=[
                    {**asdict(r), "code": r.code.value, "workers": list(r.workers)}
                    for r in unassigned.reasons
                ],
            )
        )
    session.flush()
    return plan


@dataclass(frozen=True)
class ApplyResult:
    """What applying a plan changed."""

    scheduled: int
    unchanged: int
    unscheduled: int
    skipped: int
    # Orders whose worker was booked meanwhile (another run applied first); left confirmed.
    conflicts: tuple[int, ...] = ()


def _booking_stops(stops: Sequence[PlanStop]) -> dict[int, PlanStop]:
    """The stop that books the worker for each order: the visit, or a meal's delivery."""
    chosen: dict[int, PlanStop] = {}
    for stop in stops:
        if stop.kind == JobKind.PICKUP.value:
            continue
        chosen[stop.order_id] = stop
    return chosen


def apply_plan(
    session: Session, plan: Plan, *, order_ids: Sequence[int], actor: str
) -> ApplyResult:
    """Schedule the plan's orders onto their workers; take the left-out ones off.

    Only confirmed or scheduled orders move; anything under way or finished is left alone.
    Every release happens before any new booking, so the plan never collides with itself. A
    booking the database refuses (the worker was booked by someone else since the problem was
    built) leaves that order confirmed and is reported in ``conflicts``; the rest still apply.
    """
    assert plan.id is not None
    booking = _booking_stops(repo.plan_stops(session, plan.id))
    movable = (OrderStatus.CONFIRMED, OrderStatus.SCHEDULED)
    orders = {oid: orders_service.get_or_raise(session, oid) for oid in order_ids}
    scheduled = unchanged = unscheduled = skipped = 0
    to_book: list[tuple[int, PlanStop]] = []
    for oid, order in orders.items():
        status = OrderStatus(order.status)
        if status not in movable:
            skipped += 1
            continue
        stop = booking.get(oid)
        same = (
            stop is not None
            and status is OrderStatus.SCHEDULED
            and order.assigned_worker_id == stop.worker_id
            and order.scheduled_start == stop.start_at
            and order.scheduled_end == stop.end_at
        )
        if same:
            unchanged += 1
            continue
        if status is OrderStatus.SCHEDULED:
            orders_service.unschedule(session, order, actor=actor, reason=f"plan {plan.public_id}")
            if stop is None:
                unscheduled += 1
        if stop is not None:
            to_book.append((oid, stop))
    conflicts: list[int] = []
    for oid, stop in to_book:
        try:
            orders_service.schedule(
                session,
                orders[oid],
                worker_id=stop.worker_id,
                start=stop.start_at,
                end=stop.end_at,
                actor=actor,
            )
        except Conflict:
            conflicts.append(oid)
            continue
        scheduled += 1
    return ApplyResult(scheduled, unchanged, unscheduled, skipped, tuple(conflicts))


def apply_summary(result: ApplyResult) -> dict[str, Any]:
    """What applying changed, as plain data for the plan's stats."""
    return {**asdict(result), "conflicts": list(result.conflicts)}


def worker_route(session: Session, plan: Plan, worker_id: int) -> Sequence[PlanStop]:
    """One worker's stops in the plan, in order."""
    assert plan.id is not None
    return repo.plan_stops(session, plan.id, worker_id)
