"""A large day's parts solved side by side by two real Celery workers, stitched by a chord.

The embedded default (SQLite database, server-less broker) and production (PostgreSQL, Redis)
each run it end to end; the plan must be as sound as one solved in a single process.
"""

from __future__ import annotations

import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlmodel import Session

from core.celery_app import create_celery
from core.db import get_engine, unit_of_work
from core.settings import Settings
from dispatch import jsonio
from dispatch import repository as dispatch_repo
from dispatch import service as dispatch_service
from dispatch.demo_problem import realistic_day
from dispatch.models import FINISHED, RunStatus
from dispatch.tasks import finish_run, solve_part
from tests.conftest import REDIS_URL, require_redis
from tests.dispatch.test_runs import _check_plan, _new_run, _seed
from tests.workers import clean_env, log_text, running_worker

PARALLEL = {"time_limit_s": 4, "seed": 1, "parts_in_parallel": 2}


def _wait_finished(run_id: int, timeout_s: float, logs: list[Path]) -> tuple[RunStatus, str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with Session(get_engine()) as session:
            run = dispatch_repo.get_run(session, run_id)
            assert run is not None
            if RunStatus(run.status) in FINISHED:
                return RunStatus(run.status), run.error
        time.sleep(0.5)
    pytest.fail("the run did not finish:\n" + "\n---\n".join(log_text(p) for p in logs))


def test_parts_are_solved_by_two_workers_and_stitched(
    configured: str, backend: str, tmp_path: Path
) -> None:
    _seed()
    run_id = _new_run(PARALLEL)
    data_dir = tmp_path / "celery"
    settings: dict[str, str] = {"database_url": configured}
    if backend == "postgresql":
        require_redis(REDIS_URL)
        settings |= {"broker_url": REDIS_URL, "task_queue": f"linli-test-{uuid.uuid4().hex[:12]}"}
    env = clean_env(data_dir, **settings)
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    queue = settings.get("task_queue", "celery")
    with ExitStack() as stack:
        for log in logs:
            stack.enter_context(running_worker(tmp_path, env, log, queue))
        client = create_celery(
            Settings(
                _env_file=None,
                data_dir=data_dir,
                broker_url=settings.get("broker_url"),
                task_queue=queue,
            )
        )
        result = client.send_task("dispatch.solve_run", args=[run_id])
        assert result.get(timeout=120) == "dispatched"
        status, error = _wait_finished(run_id, 180, logs)
        assert status == RunStatus.DONE, error
        client.close()
    _check_plan(run_id)
    with Session(get_engine()) as session:
        run = dispatch_repo.get_run(session, run_id)
        assert run is not None
        plan = dispatch_repo.get_plan(session, run.plan_id or 0)
        assert plan is not None
        assert plan.stats["mode"] == "parallel parts"
        parts = int(plan.stats["parts"])
        assert parts > 2
        # Progress counted every part the workers finished, and their objectives.
        assert run.parts_total == run.parts_done == parts
        assert run.best_objective == plan.objective
    # Both workers solved parts.
    solved = [log_text(p).count("dispatch.solve_part[") for p in logs]
    assert all(n > 0 for n in solved), solved


def test_a_failed_part_fails_the_run_and_a_finished_run_is_left_alone(configured: str) -> None:
    _seed()
    run_id = _new_run(PARALLEL)
    context = {"locations": [[0], [1]]}
    assert finish_run([{"solution": {}}, {"error": "MemoryError: x"}], run_id, context) == "failed"
    with Session(get_engine()) as session:
        run = dispatch_repo.get_run(session, run_id)
        assert run is not None and run.status == RunStatus.FAILED
        assert run.error == "1 of 2 parts failed: MemoryError: x"
    # A late (or redelivered) callback for a finished run commits nothing.
    assert finish_run([], run_id, {"locations": []}) == "failed"
    with Session(get_engine()) as session:
        again = dispatch_repo.get_run(session, run_id)
        assert again is not None and again.error == run.error
        assert again.finished_at == run.finished_at
        assert dispatch_repo.latest_version(session, run.service_date, run.area_code) == 0


def test_a_part_of_a_cancelled_run_is_not_solved(configured: str) -> None:
    _seed()
    run_id = _new_run(PARALLEL)
    part = jsonio.problem_to_dict(realistic_day(orders=12, workers=4, seed=1))
    params = {"time_limit_s": 1, "seed": 1}
    # Without a run it needs no database and returns the plan.
    alone = solve_part(part, params)
    assert set(alone) == {"solution"}
    assert jsonio.solution_from_dict(alone["solution"]).routes
    with unit_of_work() as session:
        dispatch_service.start_parts(session, run_id, 2)
    assert "solution" in solve_part(part, params, run_id=run_id)
    with unit_of_work() as session:
        run = dispatch_service.get_run_or_raise(session, run_id)
        assert (run.parts_total, run.parts_done) == (2, 1)
        dispatch_service.cancel_run(session, run)
    assert solve_part(part, params, run_id=run_id) == {"error": "the run is over"}
    with Session(get_engine()) as session:
        after = dispatch_repo.get_run(session, run_id)
        assert after is not None and after.parts_done == 1
