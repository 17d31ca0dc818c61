"""Re-plan a running day: freeze what is done or under way, insert new (urgent) jobs, move as
few existing visits as possible.

Only a neighbourhood of routes is re-solved: the workers eligible for the new jobs and closest
to them. Every other route is kept exactly as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from dispatch.eligibility import eligible
from dispatch.explain import explain_job
from dispatch.problem import (
    Break,
    DispatchProblem,
    Job,
    JobKind,
    Route,
    Solution,
    Unassigned,
    Window,
    Worker,
)
from dispatch.solver import SolveParams, solve

# Keeping a visit on its current worker is worth more than any travel saving we would accept.
STAY_WEIGHT = 100_000


@dataclass(frozen=True)
class Reoptimized:
    """The new solution and how much of the old plan changed."""

    solution: Solution
    changed_routes: tuple[str, ...]
    moved_visits: int
    neighbourhood: tuple[str, ...]


def _frozen_prefix(route: Route, now: int) -> int:
    """How many stops of the route have started by ``now`` (done or under way)."""
    count = 0
    for stop in route.stops:
        if stop.start < now:
            count += 1
        else:
            break
    return count


def _neighbourhood(
    problem: DispatchProblem, solution: Solution, new_jobs: Sequence[Job], size: int
) -> list[Worker]:
    travel = problem.travel
    assert travel is not None
    scored: list[tuple[int, str]] = []
    for worker in problem.workers:
        if not any(eligible(job, worker) for job in new_jobs):
            continue
        route = solution.route_of(worker.id)
        places = [worker.start_location] + ([s.location for s in route.stops] if route else [])
        closeness = min(
            travel.duration(worker.travel_mode, p, job.location) for p in places for job in new_jobs
        )
        scored.append((closeness, worker.id))
    chosen = {wid for _, wid in sorted(scored)[:size]}
    return [w for w in problem.workers if w.id in chosen]


def _on_board(job: Job, picked: dict[str, int]) -> Job:
    """A delivery whose meal is already picked up becomes a visit with a hot-food deadline.

    The meal is on board, so it no longer takes a pickup; its load is not counted again
    (the courier's capacity was checked when it was picked up).
    """
    if job.kind is not JobKind.DELIVERY or job.pair not in picked:
        return job
    deadline = picked[job.pair] + (job.max_ride_seconds or 10**9)
    windows = tuple(
        Window(w.start, min(w.end, deadline)) for w in job.windows if w.start <= deadline
    ) or (Window(deadline, deadline),)
    return replace(
        job, kind=JobKind.SERVICE, pair=None, demand=0, windows=windows, max_ride_seconds=None
    )


def insert_jobs(
    problem: DispatchProblem,
    solution: Solution,
    new_jobs: Sequence[Job],
    *,
    now: int,
    params: SolveParams | None = None,
    neighbourhood: int = 8,
) -> Reoptimized:
    """Insert ``new_jobs`` into a running day at time ``now`` (seconds from the epoch)."""
    params = params or SolveParams(time_limit_s=1.0, metaheuristic="GUIDED_LOCAL_SEARCH")
    full = replace(problem, jobs=problem.jobs + tuple(new_jobs))
    local_workers = _neighbourhood(full, solution, new_jobs, neighbourhood)
    sub_workers: list[Worker] = []
    sub_jobs: list[Job] = list(new_jobs)
    frozen: dict[str, Route] = {}
    initial: dict[str, list[str]] = {}
    for worker in local_workers:
        route = solution.route_of(worker.id)
        stops = route.stops if route else ()
        k = _frozen_prefix(route, now) if route else 0
        start_loc, start_time = worker.start_location, max(worker.shift.start, now)
        if k:
            assert route is not None
            last = stops[k - 1]
            start_loc, start_time = last.location, max(start_time, last.end)
            frozen[worker.id] = replace(route, stops=stops[:k])
        if start_time >= worker.shift.end:
            continue
        taken = sum(1 for b in (route.breaks if route else ()) if b.start < now)
        pending = sorted(worker.breaks, key=lambda b: b.earliest)[taken:]
        breaks = tuple(
            Break(max(b.earliest, start_time), max(b.latest, start_time), b.duration)
            for b in pending
        )
        sub_workers.append(
            replace(
                worker,
                start_location=start_loc,
                shift=Window(start_time, worker.shift.end),
                breaks=breaks,
                max_work_seconds=None
                if worker.max_work_seconds is None
                else max(0, worker.max_work_seconds - (start_time - worker.shift.start)),
            )
        )
        remaining = [s.job_id for s in stops[k:]]
        initial[worker.id] = remaining
        picked = {s.job_id: s.end for s in stops[:k]}
        for job_id in remaining:
            job = _on_board(problem.job(job_id), picked)
            sub_jobs.append(
                replace(job, preferred_workers=(worker.id,), preference_weight=STAY_WEIGHT)
            )
    sub = replace(problem, workers=tuple(sub_workers), jobs=tuple(sub_jobs), name=problem.name)
    sub_solution = solve(sub, replace(params, initial_routes=initial))

    old_routes = {r.worker_id: r for r in solution.routes}
    new_routes: dict[str, Route] = {}
    for route in sub_solution.routes:
        head = frozen.get(route.worker_id)
        if head is not None:
            tail = list(route.stops)
            if tail and head.stops:
                # The sub-route began at `now`; the worker could leave right after its last
                # frozen stop, which is how every other arrival is counted.
                prev_end = head.stops[-1].end
                paused = sum(
                    b.end - b.start for b in route.breaks if prev_end <= b.start < tail[0].start
                )
                tail[0] = replace(tail[0], arrival=prev_end + tail[0].travel_seconds + paused)
            route = replace(
                route,
                start=head.start,
                breaks=tuple(b for b in head.breaks if b.start < now) + route.breaks,
                stops=head.stops + tuple(tail),
                travel_seconds=route.travel_seconds + sum(s.travel_seconds for s in head.stops),
                travel_metres=route.travel_metres + sum(s.travel_metres for s in head.stops),
                service_seconds=route.service_seconds + sum(s.end - s.start for s in head.stops),
            )
        new_routes[route.worker_id] = route
    local_ids = {w.id for w in sub_workers}
    routes: list[Route] = []
    for worker in problem.workers:
        if worker.id in local_ids:
            if worker.id in new_routes:
                routes.append(new_routes[worker.id])
            elif worker.id in frozen:
                routes.append(frozen[worker.id])
        elif worker.id in old_routes:
            routes.append(old_routes[worker.id])
    changed = tuple(
        sorted(
            wid
            for wid in local_ids | set(frozen)
            if (old_routes[wid].job_ids if wid in old_routes else [])
            != (new_routes[wid].job_ids if wid in new_routes else [])
        )
    )
    old_owner = {s.job_id: r.worker_id for r in solution.routes for s in r.stops}
    new_owner = {s.job_id: r.worker_id for r in routes for s in r.stops}
    moved = sum(1 for j, w in old_owner.items() if new_owner.get(j) != w)
    weight = problem.weights.travel_second
    merged = Solution(
        problem.name,
        tuple(routes),
        (),
        sum(r.travel_seconds for r in routes) * weight,
        {**sub_solution.stats, "mode": "insert", "neighbourhood": len(sub_workers)},
    )
    # Jobs left out before keep their reasons; only what is newly left out is explained.
    before = {u.job_id: u for u in solution.unassigned}
    fresh = [j for j in full.jobs if j.id not in merged.assigned_job_ids and j.id not in before]
    kept = tuple(u for jid, u in before.items() if jid not in merged.assigned_job_ids)
    unassigned = kept + tuple(
        Unassigned(j.id, explain_job(full, j, merged), j.penalty) for j in fresh
    )
    merged = replace(
        merged,
        unassigned=unassigned,
        objective=merged.objective + sum(u.penalty for u in unassigned),
    )
    return Reoptimized(merged, changed, moved, tuple(w.id for w in sub_workers))
