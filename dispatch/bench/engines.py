"""Other routing engines (PyVRP, VROOM) run on a ``DispatchProblem`` for comparison.

Each engine takes ``(problem, time_limit_s, seed)`` and returns a ``dispatch.problem.Solution``
whose stops are scheduled here from the engine's visiting order, so that ``dispatch.check``
verifies every engine the same way. The engines cover the VRPTW part of the model only: a problem
using skills, breaks, pairs, pins or other constraints they cannot express is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import numpy as np

from dispatch.problem import (
    DispatchProblem,
    Job,
    JobKind,
    Reason,
    ReasonCode,
    Route,
    Solution,
    Stop,
    Unassigned,
    Worker,
    service_seconds_for,
)
from dispatch.solver import SolveParams, solve

Engine = Callable[[DispatchProblem, float, int], Solution]


class UnsupportedProblem(ValueError):
    """The problem uses a constraint the engine cannot express."""


def schedule(
    problem: DispatchProblem,
    orders: Mapping[str, Sequence[str]],
    *,
    objective: int = 0,
    stats: Mapping[str, int | float | str] | None = None,
    reason: str = "not placed by the engine",
) -> Solution:
    """A solution visiting each worker's jobs in the given order, each as early as possible.

    Breaks are not placed. A job reached after its last window starts on arrival, late (the
    checker reports it). Jobs not in ``orders`` are unassigned with ``reason``.
    """
    assert problem.travel is not None
    jobs = {j.id: j for j in problem.jobs}
    routes: list[Route] = []
    for worker_id, job_ids in orders.items():
        if job_ids:
            routes.append(_route(problem, problem.worker(worker_id), [jobs[j] for j in job_ids]))
    placed = {j for ids in orders.values() for j in ids}
    unassigned = tuple(
        Unassigned(j.id, (Reason(ReasonCode.DROPPED_FOR_COST, reason),), j.penalty)
        for j in problem.jobs
        if j.id not in placed
    )
    return Solution(problem.name, tuple(routes), unassigned, objective, dict(stats or {}))


def _route(problem: DispatchProblem, worker: Worker, jobs: Sequence[Job]) -> Route:
    travel = problem.travel
    assert travel is not None
    mode = worker.travel_mode
    t, loc = worker.shift.start, worker.start_location
    stops: list[Stop] = []
    for job in jobs:
        leg = travel.duration(mode, loc, job.location)
        arrival = t + leg
        window = next((w for w in job.windows if w.end >= arrival), job.windows[-1])
        start = max(arrival, window.start)
        end = start + service_seconds_for(job, worker)
        late = max(0, start - window.end)
        leg_m = travel.distance(mode, loc, job.location)
        stops.append(Stop(job.id, job.location, arrival, start, end, leg, leg_m, late))
        t, loc = end, job.location
    # Leave as late as the first visit allows: less waiting counts as less working time.
    first = stops[0]
    depart = max(worker.shift.start, first.start - first.travel_seconds)
    stops[0] = Stop(
        first.job_id,
        first.location,
        depart + first.travel_seconds,
        first.start,
        first.end,
        first.travel_seconds,
        first.travel_metres,
        first.lateness,
    )
    back = travel.duration(mode, loc, worker.end_location)
    return Route(
        worker.id,
        depart,
        t + back,
        tuple(stops),
        (),
        sum(s.travel_seconds for s in stops) + back,
        sum(s.travel_metres for s in stops) + travel.distance(mode, loc, worker.end_location),
        sum(s.end - s.start for s in stops),
    )


def _require_vrptw(problem: DispatchProblem, engine: str, *, multi_window: bool) -> None:
    """Refuse a problem the engine cannot express."""
    if problem.travel is None:
        raise UnsupportedProblem("the problem has no travel matrices")
    for w in problem.workers:
        if w.breaks or w.skills or w.certificates or w.travel_mode not in problem.travel.durations:
            raise UnsupportedProblem(f"{engine}: worker {w.id} has breaks, skills or no matrix")
    for j in problem.jobs:
        if (
            j.kind is not JobKind.SERVICE
            or j.skills
            or j.main_skill
            or j.certificates
            or j.required_gender
            or j.required_language
            or j.blocked_workers
            or j.provider
            or j.pinned_worker
            or j.max_lateness_seconds
            or (len(j.windows) > 1 and not multi_window)
        ):
            raise UnsupportedProblem(f"{engine}: job {j.id} uses a constraint it cannot express")


def _depot_groups(problem: DispatchProblem) -> list[tuple[tuple[Any, ...], list[Worker]]]:
    """Workers grouped by everything the engines see of them, in first-seen order."""
    groups: dict[tuple[Any, ...], list[Worker]] = {}
    for w in problem.workers:
        key = (
            w.start_location,
            w.end_location,
            w.shift,
            w.capacity,
            w.travel_mode,
            w.fixed_cost,
            w.max_work_seconds,
        )
        groups.setdefault(key, []).append(w)
    return list(groups.items())


def solve_pyvrp(problem: DispatchProblem, time_limit_s: float, seed: int) -> Solution:
    """PyVRP's iterated local search on the same integer matrices, minimising distance.

    Every job is required, as in PyVRP's own VRPTW setup; if no feasible solution is found the
    best infeasible one is returned, and the checker says so.
    """
    import pyvrp
    from pyvrp.constants import MAX_VALUE
    from pyvrp.stop import MaxRuntime

    _require_vrptw(problem, "pyvrp", multi_window=False)
    assert problem.travel is not None
    modes = sorted(problem.modes)
    groups = _depot_groups(problem)
    depot_locs = sorted({loc for key, _ in groups for loc in key[:2]})
    depot_of = {loc: i for i, loc in enumerate(depot_locs)}
    vehicle_types = [
        pyvrp.VehicleType(
            num_available=len(ws),
            capacity=[w.capacity],
            start_depot=depot_of[w.start_location],
            end_depot=depot_of[w.end_location],
            fixed_cost=w.fixed_cost,
            tw_early=w.shift.start,
            tw_late=w.shift.end,
            shift_duration=w.max_work_seconds if w.max_work_seconds is not None else MAX_VALUE,
            profile=modes.index(w.travel_mode),
        )
        for _, ws in groups
        for w in ws[:1]
    ]
    clients = [
        pyvrp.Client(
            j.location,
            delivery=[j.demand],
            service_duration=j.service_seconds,
            tw_early=j.windows[0].start,
            tw_late=j.windows[0].end,
        )
        for j in problem.jobs
    ]
    # PyVRP's stubs spell the matrices' type in a way numpy's own types never match.
    distances: list[Any] = [np.asarray(problem.travel.distances[m], np.int64) for m in modes]
    durations: list[Any] = [np.asarray(problem.travel.durations[m], np.int64) for m in modes]
    data = pyvrp.ProblemData(
        [pyvrp.Location(float(x), float(y)) for x, y in problem.locations],
        clients,
        [pyvrp.Depot(loc) for loc in depot_locs],
        vehicle_types,
        distances,
        durations,
    )
    result = pyvrp.solve(
        data, MaxRuntime(time_limit_s), seed=seed, collect_stats=False, display=False
    )
    free = {i: [w.id for w in ws] for i, (_, ws) in enumerate(groups)}
    orders: dict[str, list[str]] = {}
    for route in result.best.routes():
        worker_id = free[route.vehicle_type()].pop(0)
        orders[worker_id] = [problem.jobs[a.idx].id for a in route if a.is_client()]
    return schedule(
        problem,
        orders,
        objective=int(result.cost()) if result.is_feasible() else -1,
        stats={"engine": "pyvrp", "engine_feasible": int(result.is_feasible())},
        reason="not placed by PyVRP",
    )


def vroom_engine(exploration_level: int = 5) -> Engine:
    """VROOM (pyvroom) at this exploration level, one thread, stopped at the time limit."""

    def solve_vroom(problem: DispatchProblem, time_limit_s: float, seed: int) -> Solution:
        import vroom

        del seed  # VROOM is deterministic
        _require_vrptw(problem, "vroom", multi_window=True)
        assert problem.travel is not None
        inp = vroom.Input()
        for mode in sorted(problem.modes):
            inp.set_durations_matrix(mode, np.asarray(problem.travel.durations[mode]))
            inp.set_costs_matrix(mode, np.asarray(problem.travel.distances[mode]))
        for i, w in enumerate(problem.workers):
            if w.max_work_seconds is not None:
                raise UnsupportedProblem("vroom: no limit on a route's duration")
            inp.add_vehicle(
                vroom.Vehicle(
                    i,
                    start=w.start_location,
                    end=w.end_location,
                    profile=w.travel_mode,
                    capacity=[w.capacity],
                    time_window=vroom.TimeWindow(w.shift.start, w.shift.end),
                    costs=vroom.VehicleCosts(fixed=w.fixed_cost),
                )
            )
        for i, j in enumerate(problem.jobs):
            inp.add_job(
                vroom.Job(
                    i,
                    location=j.location,
                    default_service=j.service_seconds,
                    delivery=[j.demand],
                    time_windows=[vroom.TimeWindow(w.start, w.end) for w in j.windows],
                )
            )
        out = inp.solve(
            exploration_level=exploration_level,
            nb_threads=1,
            timeout=timedelta(seconds=time_limit_s),
        ).to_dict()
        orders = {
            problem.workers[r["vehicle"]].id: [
                problem.jobs[s["id"]].id for s in r["steps"] if s["type"] == "job"
            ]
            for r in out["routes"]
        }
        return schedule(
            problem,
            orders,
            objective=int(out["summary"]["cost"]),
            stats={"engine": "vroom", "exploration_level": exploration_level},
            reason="not placed by VROOM",
        )

    return solve_vroom


def linli_engine(pyvrp_share: float) -> Engine:
    """Our solver: OR-Tools on the full model, warm-started by PyVRP for ``pyvrp_share``."""

    def run(problem: DispatchProblem, time_limit_s: float, seed: int) -> Solution:
        params = SolveParams(time_limit_s=time_limit_s, seed=seed, pyvrp_share=pyvrp_share)
        return solve(problem, params)

    return run


ENGINES: dict[str, Engine] = {
    "pyvrp": solve_pyvrp,
    "vroom": vroom_engine(5),
    # The hybrid gives PyVRP most of the time where it can express the whole model (VRPTW).
    "linli": linli_engine(0.9),
    "ortools": linli_engine(0.0),
}


def register_engine(name: str, fn: Engine) -> None:
    """Make an engine available to the benchmark under ``name`` (replacing any of that name)."""
    ENGINES[name] = fn


def get_engine(name: str) -> Engine:
    """The engine registered under ``name``."""
    try:
        return ENGINES[name]
    except KeyError:
        raise KeyError(f"unknown engine {name!r}; known: {', '.join(sorted(ENGINES))}") from None
