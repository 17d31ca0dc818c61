"""Split a day into independent parts and solve them separately.

Workers only serve their own provider's jobs and only jobs they qualify for, so the day falls
apart into parts that share no worker and no job: solving each alone loses nothing. A part that
is still too large is split further by district (geographic clusters); that split can cost
quality, and the benchmark reports how much.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from dispatch.eligibility import eligible
from dispatch.explain import explain_unassigned
from dispatch.problem import DispatchProblem, Job, Solution, Worker
from dispatch.solver import SolveParams, solve
from dispatch.solver.ortools_solver import ProgressCallback


@dataclass(frozen=True)
class Part:
    """A sub-problem: some workers and the jobs only they can do."""

    workers: tuple[Worker, ...]
    jobs: tuple[Job, ...]


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def components(problem: DispatchProblem) -> list[Part]:
    """Independent parts: connected components of the job–worker eligibility graph."""
    workers, jobs = problem.workers, problem.jobs
    n_w = len(workers)
    uf = _UnionFind(n_w + len(jobs))
    index = {j.id: n_w + k for k, j in enumerate(jobs)}
    by_provider: dict[str | None, list[int]] = {}
    for v, worker in enumerate(workers):
        by_provider.setdefault(worker.provider, []).append(v)
    everyone = list(range(n_w))
    for k, job in enumerate(jobs):
        # A job of one provider can only go to that provider's (or provider-less) workers.
        candidates = (
            by_provider.get(job.provider, []) + by_provider.get(None, [])
            if job.provider is not None
            else everyone
        )
        for v in candidates:
            if eligible(job, workers[v]):
                uf.union(v, n_w + k)
        if job.pair is not None:
            uf.union(n_w + k, index[job.pair])
    groups: dict[int, tuple[list[Worker], list[Job]]] = {}
    for v, worker in enumerate(workers):
        groups.setdefault(uf.find(v), ([], []))[0].append(worker)
    for k, job in enumerate(jobs):
        groups.setdefault(uf.find(n_w + k), ([], []))[1].append(job)
    parts = [Part(tuple(ws), tuple(js)) for ws, js in groups.values() if js]
    return sorted(parts, key=lambda p: (-len(p.jobs), p.jobs[0].id))


def sub_problem(problem: DispatchProblem, part: Part, suffix: str) -> DispatchProblem:
    """The problem restricted to one part (same locations and travel matrices)."""
    return replace(problem, name=f"{problem.name}/{suffix}", workers=part.workers, jobs=part.jobs)


def merge(
    problem: DispatchProblem, solutions: Sequence[Solution], stats: dict[str, object]
) -> Solution:
    """One solution from the parts' solutions, with reasons recomputed on the whole day."""
    routes = tuple(r for s in solutions for r in s.routes)
    merged = Solution(
        problem.name,
        routes,
        (),
        sum(s.objective for s in solutions),
        {k: v for k, v in stats.items() if isinstance(v, int | float | str)},
    )
    return replace(merged, unassigned=explain_unassigned(problem, merged))


SolveFn = Callable[[DispatchProblem, SolveParams], Solution]
EXPLAIN_RESERVE = 0.05


def solve_by_parts(
    problem: DispatchProblem,
    params: SolveParams,
    *,
    solve_fn: SolveFn | None = None,
    min_part_seconds: float = 0.2,
    on_solution: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Solution:
    """Solve each independent part in turn, sharing the time limit by the parts' sizes.

    Progress is reported as solutions found and the sum of the parts' best objectives.
    """
    best: dict[int, int] = {}
    count = [0]

    def _solve(part_no: int) -> SolveFn:
        def run(sub: DispatchProblem, sub_params: SolveParams) -> Solution:
            def progress(_: int, objective: int) -> None:
                count[0] += 1
                best[part_no] = objective
                if on_solution is not None:
                    on_solution(count[0], sum(best.values()))

            return solve(sub, sub_params, on_solution=progress, cancel=cancel)

        return solve_fn or run

    started = time.monotonic()
    # Keep back time for merging and explaining what was left out, so the limit holds overall.
    budget = params.time_limit_s * (1 - EXPLAIN_RESERVE)
    parts = components(problem)
    remaining_jobs = sum(len(p.jobs) for p in parts if p.workers) or 1
    solutions: list[Solution] = []
    for i, part in enumerate(parts):
        if not part.workers:
            continue
        # Share what is left of the limit by size, so early overruns are absorbed later.
        left = budget - (time.monotonic() - started)
        share = max(min_part_seconds, left * len(part.jobs) / remaining_jobs)
        remaining_jobs -= len(part.jobs)
        sub = sub_problem(problem, part, f"part{i}")
        initial = {
            w.id: params.initial_routes[w.id] for w in part.workers if w.id in params.initial_routes
        }
        if cancel is not None and cancel.is_set():
            break
        solutions.append(
            _solve(i)(sub, replace(params, time_limit_s=share, initial_routes=initial))
        )
    return merge(
        problem,
        solutions,
        {"engine": "ortools", "mode": "parts", "parts": len(parts), "seed": params.seed},
    )
