"""Re-optimising a running day: frozen stops stay, the urgent job goes in, little moves."""

from __future__ import annotations

from dataclasses import replace

from dispatch.check import check
from dispatch.problem import DispatchProblem, JobKind, Priority, Solution
from dispatch.reoptimize import insert_jobs
from dispatch.solver import SolveParams, solve
from tests.dispatch.tiny import H, job, problem, worker

PARAMS = SolveParams(time_limit_s=5, metaheuristic="GREEDY_DESCENT")


def _day() -> tuple[DispatchProblem, Solution]:
    workers = [worker("w1"), worker("w2", start_location=6, end_location=6)]
    jobs = [
        job("a", 1, 8.5, 9),
        job("b", 2, 10, 11),
        job("c", 3, 14, 15),
        job("d", 5, 9, 10),
        job("e", 6, 13, 15),
    ]
    p = problem(workers, jobs)
    return p, solve(p, PARAMS)


def test_urgent_job_is_inserted_and_the_past_is_frozen() -> None:
    p, before = _day()
    assert before.unassigned == ()
    urgent = job("urgent", 4, 12, 13, priority=Priority.URGENT)
    now = 11 * H + 1800
    result = insert_jobs(p, before, [urgent], now=now, params=PARAMS)
    after = result.solution
    where = {s.job_id: r.worker_id for r in after.routes for s in r.stops}
    assert "urgent" in where
    assert set(where) == {"a", "b", "c", "d", "e", "urgent"}
    # Everything that started before `now` is exactly as it was.
    old = {s.job_id: s for r in before.routes for s in r.stops}
    new = {s.job_id: s for r in after.routes for s in r.stops}
    for job_id, stop in old.items():
        if stop.start < now:
            assert new[job_id] == stop
    assert result.moved_visits == 0
    assert len(result.changed_routes) == 1
    full = replace(p, jobs=(*p.jobs, urgent))
    assert [v for v in check(full, after) if v.hard] == []


def test_meal_already_picked_up_keeps_its_ride_limit() -> None:
    courier = worker("c1", capacity=4)
    pick = replace(
        job("p", 3, 10, 10.5, kind=JobKind.PICKUP, pair="d", demand=1), service_seconds=60
    )
    drop = replace(
        job("d", 6, 10, 12, kind=JobKind.DELIVERY, pair="p", demand=-1),
        service_seconds=60,
        max_ride_seconds=40 * 60,
    )
    p = problem([courier], [pick, drop])
    before = solve(p, PARAMS)
    picked_at = next(s for s in before.routes[0].stops if s.job_id == "p")
    now = picked_at.start + 30
    result = insert_jobs(p, before, [job("x", 1, 13, 16)], now=now, params=PARAMS)
    stops = {s.job_id: s for s in result.solution.routes[0].stops}
    assert stops["d"].start - stops["p"].end <= 40 * 60
    assert "x" in stops
