"""Celery tasks for dispatch: the edge where runs are solved and plans committed."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from celery import chord, shared_task

from core.db import read_only, unit_of_work
from core.timeutil import LOCAL_TZ, utcnow
from dispatch import builder, jsonio
from dispatch import service as dispatch_service
from dispatch.decompose import (
    CompactPart,
    explain_orphans,
    part_time_limits,
    restore,
    solve_by_parts,
    split,
    stitch,
)
from dispatch.models import FINISHED, RunStatus
from dispatch.problem import Job, JobKind, Solution
from dispatch.solver import SolveParams, solve
from dispatch.travel import HaversineTravel, with_travel

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 1.0
SOLVER_KEYS = ("time_limit_s", "solution_limit", "seed", "pyvrp_share", "pyvrp_iterations")


def execute_run(run_id: int) -> str:
    """Solve a queued run and commit its plan; safe to call again for the same run.

    With ``parts_in_parallel`` ≥ 2 in the run's parameters and more than one independent part,
    the parts go to the Celery workers as ``dispatch.solve_part`` tasks and a chord's callback
    (``dispatch.finish_run``) stitches and commits the plan: the call returns "dispatched".
    """
    with unit_of_work() as session:
        run = dispatch_service.start_run(session, run_id)
        if run is None:
            return "skipped"
        day, area = run.service_date, run.area_code
        settings: dict[str, Any] = dict(run.params)
    params = SolveParams(**{k: settings[k] for k in SOLVER_KEYS if k in settings})
    parallel = int(settings.get("parts_in_parallel", 0))
    try:
        with read_only() as session:
            built = builder.build_problem(
                session,
                day,
                district_code=None if area == dispatch_service.ALL_AREAS else area,
                # Parts fill their own travel: the whole day's matrices need not exist.
                fill_travel=parallel < 2,
            )
        if parallel >= 2:
            parts, orphans = split(built.problem)
            if len(parts) > 1:
                _dispatch_parts(run_id, built, parts, orphans, params, parallel, settings)
                return "dispatched"
        cancelled = threading.Event()
        last = [0.0]

        def progress(count: int, objective: int) -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_EVERY_S:
                return
            last[0] = now
            with unit_of_work() as s:
                if not dispatch_service.record_progress(s, run_id, count, objective):
                    cancelled.set()

        problem = built.problem
        if problem.travel is None and problem.workers:
            problem = with_travel(problem, HaversineTravel())
        solution = solve_by_parts(problem, params, on_solution=progress, cancel=cancelled)
        return _commit(run_id, _source(built), built.planned_order_ids, solution, settings)
    except Exception as exc:
        log.exception("solve run %s failed", run_id)
        _fail(run_id, f"{type(exc).__name__}: {exc}")
        return "failed"


def _source(built: builder.BuiltProblem) -> dispatch_service.PlanSource:
    return dispatch_service.PlanSource(
        epoch=datetime.fromisoformat(built.problem.epoch).astimezone(LOCAL_TZ),
        job_orders={job: ids[0] for job, ids in built.job_orders.items()},
        job_kinds={j.id: JobKind(j.kind) for j in built.problem.jobs},
        worker_ids=built.worker_ids,
        committed=built.committed,
    )


def _fail(run_id: int, error: str) -> None:
    with unit_of_work() as session:
        run = dispatch_service.get_run_or_raise(session, run_id)
        if RunStatus(run.status) not in FINISHED:
            dispatch_service.fail_run(session, run, error)


def _finished(run_id: int) -> str | None:
    """The run's status when it is finished already (cancelled, failed or done), else None."""
    with read_only() as session:
        status = RunStatus(dispatch_service.get_run_or_raise(session, run_id).status)
    return str(status) if status in FINISHED else None


def _commit(
    run_id: int,
    source: dispatch_service.PlanSource,
    order_ids: list[int],
    solution: Solution,
    settings: dict[str, Any],
) -> str:
    """Persist the solution as the next plan version and (by default) book it."""
    with unit_of_work() as session:
        run = dispatch_service.get_run_or_raise(session, run_id)
        if RunStatus(run.status) in FINISHED:
            # Cancelled meanwhile, or a redelivered run's twin finished first.
            return str(run.status)
        plan = dispatch_service.persist_plan(session, run, source, solution)
        if settings.get("apply", True):
            applied = dispatch_service.apply_plan(
                session, plan, order_ids=order_ids, actor=f"dispatch:{run.public_id}"
            )
            plan.stats = {**plan.stats, "applied": dispatch_service.apply_summary(applied)}
            session.add(plan)
        run.status = RunStatus.DONE
        run.plan_id = plan.id
        run.best_objective = solution.objective
        run.finished_at = utcnow()
        session.add(run)
    return "done"


def _dispatch_parts(
    run_id: int,
    built: builder.BuiltProblem,
    parts: list[CompactPart],
    orphans: tuple[Job, ...],
    params: SolveParams,
    parallel: int,
    settings: dict[str, Any],
) -> None:
    """Send the parts to the workers; a chord callback stitches and commits them."""
    limits = part_time_limits(parts, params.time_limit_s, parallel)
    source = _source(built)
    context = {
        "name": built.problem.name,
        "epoch": built.problem.epoch,
        "job_orders": dict(source.job_orders),
        "job_kinds": {k: v.value for k, v in source.job_kinds.items()},
        "worker_ids": dict(source.worker_ids),
        "committed": sorted(source.committed),
        "order_ids": built.planned_order_ids,
        "locations": [list(p.locations) for p in parts],
        "orphans": jsonio.solution_to_dict(
            Solution(built.problem.name, (), explain_orphans(built.problem, orphans), 0)
        ),
        "settings": settings,
    }
    with unit_of_work() as session:
        dispatch_service.start_parts(session, run_id, len(parts))
    header = [
        solve_part.signature(
            args=(jsonio.problem_to_dict(part.problem), _part_params(params, limit)),
            kwargs={"run_id": run_id},
            soft_time_limit=int(limit * 2 + 60),
            time_limit=int(limit * 2 + 120),
        )
        for part, limit in zip(parts, limits, strict=True)
    ]
    chord(header)(finish_run.s(run_id, context))


def _part_params(params: SolveParams, limit: float) -> dict[str, Any]:
    out = {k: getattr(params, k) for k in SOLVER_KEYS}
    out["time_limit_s"] = limit
    return out


@shared_task(name="dispatch.solve_part", acks_late=True, reject_on_worker_lost=True)
def solve_part(
    problem: dict[str, Any], params: dict[str, Any], run_id: int | None = None
) -> dict[str, Any]:
    """Solve one self-contained part: its solution, or the error it hit.

    Without ``run_id`` no database is touched; with it, a part of a cancelled run is not
    solved and a solved part is counted in the run's progress.
    """
    try:
        if run_id is not None:
            with read_only() as session:
                if not dispatch_service.run_is_open(session, run_id):
                    return {"error": "the run is over"}
        sub = jsonio.problem_from_dict(problem)
        if sub.travel is None:
            sub = with_travel(sub, HaversineTravel())
        solution = solve(sub, SolveParams(**{k: params[k] for k in SOLVER_KEYS if k in params}))
        if run_id is not None:
            with unit_of_work() as session:
                dispatch_service.record_part_done(session, run_id, solution.objective)
        return {"solution": jsonio.solution_to_dict(solution)}
    except Exception as exc:  # the chord callback fails the run with it
        log.exception("solving part %s failed", problem.get("name"))
        return {"error": f"{type(exc).__name__}: {exc}"}


@shared_task(name="dispatch.finish_run", acks_late=True, reject_on_worker_lost=True)
def finish_run(results: list[dict[str, Any]], run_id: int, context: dict[str, Any]) -> str:
    """Chord callback: stitch the parts' solutions and commit the run's plan."""
    finished = _finished(run_id)
    if finished is not None:
        return finished
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        _fail(run_id, f"{len(errors)} of {len(results)} parts failed: {errors[0]}")
        return "failed"
    try:
        solutions = [
            restore(jsonio.solution_from_dict(r["solution"]), locations)
            for r, locations in zip(results, context["locations"], strict=True)
        ]
        orphans = jsonio.solution_from_dict(context["orphans"]).unassigned
        stats: dict[str, object] = {"engine": "ortools", "mode": "parallel parts"}
        stats["parts"] = len(solutions)
        solution = stitch(context["name"], solutions, orphans, stats)
        source = dispatch_service.PlanSource(
            epoch=datetime.fromisoformat(context["epoch"]).astimezone(LOCAL_TZ),
            job_orders=context["job_orders"],
            job_kinds={k: JobKind(v) for k, v in context["job_kinds"].items()},
            worker_ids=context["worker_ids"],
            committed=frozenset(context["committed"]),
        )
        return _commit(run_id, source, context["order_ids"], solution, context["settings"])
    except Exception as exc:
        log.exception("finishing run %s failed", run_id)
        _fail(run_id, f"{type(exc).__name__}: {exc}")
        return "failed"


@shared_task(name="dispatch.solve_run", acks_late=True, reject_on_worker_lost=True)
def solve_run(run_id: int) -> str:
    """Celery entry point: solve run ``run_id``."""
    return execute_run(run_id)


def enqueue(run_id: int, time_limit_s: float) -> str:
    """Send a committed run to the workers, with Celery limits above the solver's own."""
    result = solve_run.apply_async(
        args=[run_id],
        soft_time_limit=int(time_limit_s * 2 + 60),
        time_limit=int(time_limit_s * 2 + 120),
    )
    return str(result.id)
