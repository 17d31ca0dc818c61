"""Splitting a day into independent parts loses nothing and keeps every rule."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dispatch.check import check
from dispatch.decompose import (
    components,
    explain_orphans,
    part_time_limits,
    restore,
    solve_by_parts,
    split,
    stitch,
)
from dispatch.demo_problem import realistic_day, realistic_day_with_travel
from dispatch.problem import DispatchProblem, JobKind, ReasonCode
from dispatch.solver import SolveParams, solve
from tests.dispatch.tiny import job, problem, worker

PARAMS = SolveParams(time_limit_s=4, metaheuristic="GREEDY_DESCENT")


def _two_providers() -> DispatchProblem:
    workers = [
        worker("a1", provider="A"),
        worker("a2", provider="A"),
        worker("b1", provider="B", start_location=7, end_location=7, capacity=4),
    ]
    pick = replace(job("p", 2, 10, 11, kind=JobKind.PICKUP, pair="d", demand=1), provider="B")
    drop = replace(job("d", 5, 10, 12, kind=JobKind.DELIVERY, pair="p", demand=-1), provider="B")
    jobs = [
        job("x", 1, provider="A"),
        job("y", 3, provider="A"),
        pick,
        drop,
        job("plumbing", 4, provider="A", skills=frozenset({"plumbing"})),
    ]
    return problem(workers, jobs)


def test_components_follow_providers_and_keep_pairs_together() -> None:
    p = _two_providers()
    parts = components(p)
    by_jobs = {frozenset(j.id for j in part.jobs): {w.id for w in part.workers} for part in parts}
    assert by_jobs == {
        frozenset({"x", "y"}): {"a1", "a2"},
        frozenset({"p", "d"}): {"b1"},
        frozenset({"plumbing"}): set(),
    }


def test_solving_by_parts_is_feasible_and_explains_the_rest() -> None:
    p = _two_providers()
    by_parts = solve_by_parts(p, PARAMS)
    whole = solve(p, PARAMS)
    assert by_parts.assigned_job_ids == whole.assigned_job_ids == {"x", "y", "p", "d"}
    assert [v for v in check(p, by_parts) if v.hard] == []
    (left,) = by_parts.unassigned
    assert (left.job_id, left.reasons[0].code) == ("plumbing", ReasonCode.NO_SKILL)
    assert by_parts.stats["parts"] == 3


# --- self-contained parts (what the Celery workers solve) --------------------------------


def test_split_parts_are_self_contained_and_solve_like_the_whole_day() -> None:
    day = realistic_day_with_travel(orders=60, workers=16, seed=3)
    parts, orphans = split(day)
    assert len(parts) > 1
    # Every job lands in exactly one part or among the orphans; every worker in one part.
    placed = [j.id for p in parts for j in p.problem.jobs] + [j.id for j in orphans]
    assert sorted(placed) == sorted(j.id for j in day.jobs)
    assert len({w.id for p in parts for w in p.problem.workers}) == sum(
        len(p.problem.workers) for p in parts
    )
    # Tiny parts find their only solution at once and idle to the time limit: keep it short.
    params = SolveParams(solution_limit=40, time_limit_s=1, seed=2)
    solutions = []
    for part in parts:
        sub = part.problem
        assert sub.travel is not None
        n = len(sub.locations)
        assert n < len(day.locations)
        assert all(len(m) == n for m in sub.travel.durations.values())
        # Same places, same travel, only renumbered.
        for j in sub.jobs:
            assert day.locations[part.locations[j.location]] == sub.locations[j.location]
            assert day.job(j.id).location == part.locations[j.location]
        mode = sub.workers[0].travel_mode
        a, b = 0, n - 1
        assert sub.travel.duration(mode, a, b) == day.travel.duration(  # type: ignore[union-attr]
            mode, part.locations[a], part.locations[b]
        )
        solution = restore(solve(sub, params), part.locations)
        # The same part solved with the whole day's numbering plans the same routes.
        whole_numbering = replace(
            day,
            workers=tuple(day.worker(w.id) for w in sub.workers),
            jobs=tuple(day.job(j.id) for j in sub.jobs),
        )
        uncompact = solve(whole_numbering, params)
        assert [r.job_ids for r in solution.routes] == [r.job_ids for r in uncompact.routes]
        assert [[s.location for s in r.stops] for r in solution.routes] == [
            [s.location for s in r.stops] for r in uncompact.routes
        ]
        solutions.append(solution)
    stitched = stitch(day.name, solutions, explain_orphans(day, orphans), {"parts": len(parts)})
    assert [v for v in check(day, stitched) if v.hard] == []
    left = {u.job_id for u in stitched.unassigned}
    assert left.isdisjoint(stitched.assigned_job_ids)
    assert left | stitched.assigned_job_ids == {j.id for j in day.jobs}
    assert all(u.reasons for u in stitched.unassigned)
    assert stitched.objective == sum(s.objective for s in solutions)


def test_orphans_are_explained_without_travel() -> None:
    p = replace(_two_providers(), travel=None)
    parts, orphans = split(p)
    assert [j.id for j in orphans] == ["plumbing"]
    assert all(part.problem.travel is None for part in parts)
    (why,) = explain_orphans(p, orphans)
    assert why.reasons[0].code == ReasonCode.NO_SKILL


def test_part_time_limits_share_the_solvers_by_size() -> None:
    day = realistic_day(orders=200, workers=40, seed=5)
    parts, _ = split(day)
    sizes = [len(p.problem.jobs) for p in parts]
    assert sizes == sorted(sizes, reverse=True)
    limits = part_time_limits(parts, 10.0, parallel=2)
    floor = min(1.0, 2 * 9.5 / (2 * len(parts)))
    assert all(floor <= t <= 9.5 for t in limits)
    assert limits[0] > 2 * limits[-1]
    assert limits == sorted(limits, reverse=True)
    # Two solvers' worth of time, less the 5 % reserve, all handed out.
    assert sum(limits) == pytest.approx(2 * 9.5)
    # Little time for many parts: half goes in equal floors, half by size.
    tight = part_time_limits(parts, 1.0, parallel=1)
    assert sum(tight) == pytest.approx(0.95)
    assert tight[-1] == pytest.approx(0.95 / (2 * len(parts)) * (1 + 1 / sum(sizes) * len(parts)))
    assert part_time_limits([], 10.0, parallel=2) == []
