"""Celery tasks for dispatch: the edge where runs are solved and plans committed."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from celery import shared_task

from core.db import read_only, unit_of_work
from core.timeutil import LOCAL_TZ, utcnow
from dispatch import builder
from dispatch import service as dispatch_service
from dispatch.decompose import solve_by_parts
from dispatch.models import RunStatus
from dispatch.problem import JobKind
from dispatch.solver import SolveParams

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 1.0
SOLVER_KEYS = ("time_limit_s", "solution_limit", "seed", "pyvrp_share", "pyvrp_iterations")


def execute_run(run_id: int) -> str:
    """Solve a queued run and commit its plan; safe to call again for the same run."""
    with unit_of_work() as session:
        run = dispatch_service.start_run(session, run_id)
        if run is None:
            return "skipped"
        day, area = run.service_date, run.area_code
        settings: dict[str, Any] = dict(run.params)
    params = SolveParams(**{k: settings[k] for k in SOLVER_KEYS if k in settings})
    try:
        with read_only() as session:
            built = builder.build_problem(
                session, day, district_code=None if area == dispatch_service.ALL_AREAS else area
            )
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

        solution = solve_by_parts(built.problem, params, on_solution=progress, cancel=cancelled)
        with unit_of_work() as session:
            run = dispatch_service.get_run_or_raise(session, run_id)
            if run.status == RunStatus.CANCELLED:
                return "cancelled"
            source = dispatch_service.PlanSource(
                epoch=datetime.fromisoformat(built.problem.epoch).astimezone(LOCAL_TZ),
                job_orders={job: ids[0] for job, ids in built.job_orders.items()},
                job_kinds={j.id: JobKind(j.kind) for j in built.problem.jobs},
                worker_ids=built.worker_ids,
                committed=built.committed,
            )
            plan = dispatch_service.persist_plan(session, run, source, solution)
            if settings.get("apply", True):
                applied = dispatch_service.apply_plan(
                    session,
                    plan,
                    order_ids=built.planned_order_ids,
                    actor=f"dispatch:{run.public_id}",
                )
                plan.stats = {**plan.stats, "applied": dispatch_service.apply_summary(applied)}
                session.add(plan)
            run.status = RunStatus.DONE
            run.plan_id = plan.id
            run.best_objective = solution.objective
            run.finished_at = utcnow()
            session.add(run)
        return "done"
    except Exception as exc:
        log.exception("solve run %s failed", run_id)
        with unit_of_work() as session:
            run = dispatch_service.get_run_or_raise(session, run_id)
            dispatch_service.fail_run(session, run, f"{type(exc).__name__}: {exc}")
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
