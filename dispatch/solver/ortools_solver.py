"""Solve a dispatch problem with OR-Tools routing: a pure function of problem and parameters."""

from __future__ import annotations

import threading
import time as clock
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from dispatch.explain import explain_unassigned
from dispatch.problem import (
    BreakTaken,
    DispatchProblem,
    Reason,
    ReasonCode,
    Route,
    Solution,
    Stop,
    Unassigned,
    service_seconds_for,
)
from dispatch.solver import pyvrp_warm
from dispatch.solver.model import RoutingContext, build
from dispatch.solver.params import SolveParams

ProgressCallback = Callable[[int, int], None]


def search_parameters(params: SolveParams) -> Any:
    """OR-Tools search parameters from ours."""
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, params.first_solution
    )
    search.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, params.metaheuristic
    )
    search.time_limit.FromMilliseconds(max(1, int(params.time_limit_s * 1000)))
    if params.solution_limit is not None:
        search.solution_limit = params.solution_limit
    search.log_search = params.log_search
    return search


def pinned_routes(problem: DispatchProblem) -> dict[str, list[str]]:
    """Each worker's pinned jobs in pinned order: a start the search can always extend."""
    routes: dict[str, list[tuple[int, str]]] = {}
    for job in problem.jobs:
        if job.pinned_worker is not None:
            rank = job.pinned_rank if job.pinned_rank is not None else 0
            routes.setdefault(job.pinned_worker, []).append((rank, job.id))
    return {w: [j for _, j in sorted(items)] for w, items in routes.items()}


def _initial_assignment(ctx: RoutingContext, params: SolveParams, search: Any) -> Any:
    ctx.routing.CloseModelWithParameters(search)
    routes: list[list[int]] = []
    for worker in ctx.problem.workers:
        ids = params.initial_routes.get(worker.id, ())
        routes.append([ctx.job_index[j] for j in ids if j in ctx.job_index])
    return ctx.routing.ReadAssignmentFromRoutes(routes, True)


def solve(
    problem: DispatchProblem,
    params: SolveParams | None = None,
    *,
    on_solution: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Solution:
    """Plan the day. ``on_solution(count, objective)`` reports progress; ``cancel`` stops early."""
    params = params or SolveParams()
    time_limit = params.time_limit_s
    if problem.travel is None:
        raise ValueError("the problem has no travel matrices; fill them first (with_travel)")
    started = clock.monotonic()
    warm_seconds = 0.0
    if params.pyvrp_share > 0 and not params.initial_routes:
        warm = pyvrp_warm.warm_routes(
            problem,
            params.time_limit_s * params.pyvrp_share,
            params.seed,
            params.pyvrp_iterations,
        )
        warm_seconds = clock.monotonic() - started
        if warm:
            params = replace(
                params,
                initial_routes=warm,
                time_limit_s=max(0.1, params.time_limit_s - warm_seconds),
            )
    ctx = build(problem)
    search = search_parameters(params)
    found = [0]

    def _on_solution() -> None:
        found[0] += 1
        if on_solution is not None:
            on_solution(found[0], int(ctx.routing.CostVar().Max()))
        if cancel is not None and cancel.is_set():
            ctx.routing.solver().FinishCurrentSearch()

    ctx.routing.AddAtSolutionCallback(_on_solution)
    if not params.initial_routes and any(j.pinned_worker for j in problem.jobs):
        params = replace(params, initial_routes=pinned_routes(problem))
    fell_back = False
    if params.initial_routes:
        initial = _initial_assignment(ctx, params, search)
        assignment = (
            None
            if initial is None
            else ctx.routing.SolveFromAssignmentWithParameters(initial, search)
        )
        if assignment is None:
            # A start the model cannot extend (say pinned stops that no longer fit in order):
            # build a first solution from scratch with the time left rather than give up.
            fell_back = True
            left = time_limit - (clock.monotonic() - started)
            if left > 0.05:
                retry = search_parameters(replace(params, time_limit_s=left))
                assignment = ctx.routing.SolveWithParameters(retry)
    else:
        assignment = ctx.routing.SolveWithParameters(search)
    elapsed = clock.monotonic() - started
    stats: dict[str, int | float | str] = {
        "engine": "ortools",
        "status": int(ctx.routing.status()),
        "seconds": round(elapsed, 3),
        "solutions": found[0],
        "seed": params.seed,
        "time_limit_s": time_limit,
        "service_model": ctx.service_model,
        "warm_start_s": round(warm_seconds, 3),
        "warm_start": "pyvrp" if warm_seconds else ("routes" if params.initial_routes else "none"),
    }
    if fell_back:
        stats["warm_start"] = "routes refused; solved from scratch"
    if assignment is None:
        reason = Reason(ReasonCode.NO_SOLUTION, "the solver found no plan within its limits")
        unassigned = tuple(Unassigned(j.id, (reason,), j.penalty) for j in problem.jobs)
        return Solution(problem.name, (), unassigned, 0, stats)
    routes = extract_routes(ctx, assignment)
    solution = Solution(problem.name, routes, (), int(assignment.ObjectiveValue()), stats)
    return replace(solution, unassigned=explain_unassigned(problem, solution))


def extract_routes(ctx: RoutingContext, assignment: Any) -> tuple[Route, ...]:
    """Routes with arrival, start, end and the leg before each stop, read from the assignment."""
    problem, routing, manager = ctx.problem, ctx.routing, ctx.manager
    travel = problem.travel
    assert travel is not None
    time = ctx.time
    breaks_of: dict[int, list[BreakTaken]] = {}
    for v, intervals in ctx.break_intervals:
        taken = [
            BreakTaken(assignment.StartValue(iv), assignment.StartValue(iv) + iv.DurationMin())
            for iv in intervals
            if assignment.PerformedValue(iv)
        ]
        breaks_of[v] = sorted(taken, key=lambda b: b.start)
    routes: list[Route] = []
    for v, worker in enumerate(problem.workers):
        index = routing.Start(v)
        route_start = assignment.Value(time.CumulVar(index))
        prev_loc, prev_end = worker.start_location, route_start
        breaks = breaks_of.get(v, [])
        stops: list[Stop] = []
        index = assignment.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            job = problem.jobs[manager.IndexToNode(index)]
            start = assignment.Value(time.CumulVar(index))
            leg_s = travel.duration(worker.travel_mode, prev_loc, job.location)
            leg_m = travel.distance(worker.travel_mode, prev_loc, job.location)
            paused = sum(b.end - b.start for b in breaks if prev_end <= b.start < start)
            arrival = prev_end + leg_s + paused
            end = start + service_seconds_for(job, worker)
            lateness = max(0, start - max(w.end for w in job.windows))
            stops.append(Stop(job.id, job.location, arrival, start, end, leg_s, leg_m, lateness))
            prev_loc, prev_end = job.location, end
            index = assignment.Value(routing.NextVar(index))
        if not stops:
            continue
        back_s = travel.duration(worker.travel_mode, prev_loc, worker.end_location)
        back_m = travel.distance(worker.travel_mode, prev_loc, worker.end_location)
        route_end = assignment.Value(time.CumulVar(index))
        routes.append(
            Route(
                worker_id=worker.id,
                start=route_start,
                end=route_end,
                stops=tuple(stops),
                breaks=tuple(breaks),
                travel_seconds=sum(s.travel_seconds for s in stops) + back_s,
                travel_metres=sum(s.travel_metres for s in stops) + back_m,
                service_seconds=sum(s.end - s.start for s in stops),
            )
        )
    return tuple(routes)
