"""Split a day into independent parts and solve them separately.

Workers only serve their own provider's jobs and only jobs they qualify for, so the day falls
apart into parts that share no worker and no job: solving each alone loses nothing but search
time. Parts are solved in turn in one process (``solve_by_parts``), or made self-contained
(``split``: renumbered locations, own travel) so that Celery workers can solve them side by side
and ``stitch`` puts their solutions back together.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from dispatch.eligibility import eligible
from dispatch.explain import explain_unassigned
from dispatch.problem import DispatchProblem, Job, Route, Solution, Travel, Unassigned, Worker
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


@dataclass(frozen=True)
class CompactPart:
    """A part as a problem of its own: only its locations, renumbered, with their travel."""

    problem: DispatchProblem
    locations: tuple[int, ...]  # the part's location index → the whole problem's index


def compact(problem: DispatchProblem, part: Part, suffix: str) -> CompactPart:
    """The part with only the locations it uses (travel sliced when the problem has it)."""
    used = sorted(
        {j.location for j in part.jobs}
        | {w.start_location for w in part.workers}
        | {w.end_location for w in part.workers}
    )
    index = {loc: k for k, loc in enumerate(used)}
    workers = tuple(
        replace(w, start_location=index[w.start_location], end_location=index[w.end_location])
        for w in part.workers
    )
    jobs = tuple(replace(j, location=index[j.location]) for j in part.jobs)
    travel = None
    if problem.travel is not None:
        modes = {w.travel_mode for w in workers}
        rows = np.array(used, dtype=np.int64)
        pick = np.ix_(rows, rows)
        travel = Travel.from_arrays(
            {m: np.asarray(problem.travel.durations[m])[pick] for m in modes},
            {m: np.asarray(problem.travel.distances[m])[pick] for m in modes},
        )
    sub = DispatchProblem(
        name=f"{problem.name}/{suffix}",
        epoch=problem.epoch,
        locations=tuple(problem.locations[i] for i in used),
        workers=workers,
        jobs=jobs,
        weights=problem.weights,
        travel=travel,
    )
    return CompactPart(sub, tuple(used))


def split(problem: DispatchProblem) -> tuple[list[CompactPart], tuple[Job, ...]]:
    """Self-contained parts, largest first, and the jobs no worker of the day may do."""
    parts: list[CompactPart] = []
    orphans: list[Job] = []
    for i, part in enumerate(components(problem)):
        if part.workers:
            parts.append(compact(problem, part, f"part{i}"))
        else:
            orphans.extend(part.jobs)
    return parts, tuple(orphans)


def restore(solution: Solution, locations: Sequence[int]) -> Solution:
    """A part's solution with its stops' locations back in the whole problem's numbering."""
    routes = tuple(
        replace(r, stops=tuple(replace(s, location=locations[s.location]) for s in r.stops))
        for r in solution.routes
    )
    return replace(solution, routes=routes)


def explain_orphans(problem: DispatchProblem, orphans: Sequence[Job]) -> tuple[Unassigned, ...]:
    """Reasons for jobs no worker may do (eligibility alone decides: no travel is needed)."""
    from dispatch.explain import explain_job

    return tuple(Unassigned(j.id, explain_job(problem, j), j.penalty) for j in orphans)


def stitch(
    name: str,
    solutions: Sequence[Solution],
    orphans: Sequence[Unassigned],
    stats: dict[str, object],
) -> Solution:
    """One solution from self-contained parts' (restored) solutions and the orphans' reasons."""
    routes: tuple[Route, ...] = tuple(r for s in solutions for r in s.routes)
    return Solution(
        name,
        routes,
        tuple(u for s in solutions for u in s.unassigned) + tuple(orphans),
        # Like ``merge``: jobs no worker may do are not part of any solver's objective.
        sum(s.objective for s in solutions),
        {k: v for k, v in stats.items() if isinstance(v, int | float | str)},
    )


def part_time_limits(
    parts: Sequence[CompactPart], time_limit_s: float, parallel: int, min_part_seconds: float = 1.0
) -> list[float]:
    """Seconds for each part when ``parallel`` solvers share them.

    The solvers' time (``parallel`` × the limit, less a reserve for stitching) gives every part
    ``min_part_seconds`` (at most half of it in all) and shares the rest by number of jobs; no
    part gets more than the limit.
    """
    budget = time_limit_s * (1 - EXPLAIN_RESERVE)
    if not parts:
        return []
    total_time = budget * max(1, parallel)
    # The floors never take more than half: the rest always follows the parts' sizes.
    floor = min(min_part_seconds, total_time / (2 * len(parts)))
    spare = total_time - floor * len(parts)
    total_jobs = sum(len(p.problem.jobs) for p in parts) or 1
    return [min(budget, floor + spare * len(p.problem.jobs) / total_jobs) for p in parts]
