"""Splitting a day into independent parts loses nothing and keeps every rule."""

from __future__ import annotations

from dataclasses import replace

from dispatch.check import check
from dispatch.decompose import components, solve_by_parts
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
