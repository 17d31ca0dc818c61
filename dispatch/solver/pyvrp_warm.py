"""PyVRP's hybrid genetic search on the part of the model it can express, as a warm start.

PyVRP has no skills, breaks, worker-dependent service times, ride-time limits or soft
preferences. Eligibility becomes per-worker routing profiles (a location only ineligible jobs
use is made unreachable), breaks shorten the shift, multiple windows become a client group
(visit one of them), meal pairs become shipments. OR-Tools then repairs and improves the routes
under the full model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyvrp
from pyvrp.stop import MaxIterations, MaxRuntime

from dispatch.eligibility import eligible
from dispatch.problem import DispatchProblem, Job, JobKind

UNREACHABLE = 10**9
MATRIX_BUDGET_BYTES = 400 * 2**20


@dataclass
class PyvrpModel:
    """PyVRP's data and the way back from its indices to ours."""

    data: pyvrp.ProblemData
    client_job: list[str] = field(default_factory=list)
    shipment_jobs: list[tuple[str, str]] = field(default_factory=list)
    workers: list[str] = field(default_factory=list)


def _profiles(
    problem: DispatchProblem,
) -> tuple[list[tuple[str, frozenset[int]]], list[int]] | None:
    """Distinct (mode, unreachable locations) per worker, or None when too many to hold."""
    jobs_at: dict[int, list[Job]] = {}
    for job in problem.jobs:
        jobs_at.setdefault(job.location, []).append(job)
    keys: list[tuple[str, frozenset[int]]] = []
    index: dict[tuple[str, frozenset[int]], int] = {}
    of_worker: list[int] = []
    for worker in problem.workers:
        blocked = frozenset(
            loc for loc, jobs in jobs_at.items() if not any(eligible(j, worker) for j in jobs)
        )
        key = (worker.travel_mode, blocked)
        if key not in index:
            index[key] = len(keys)
            keys.append(key)
        of_worker.append(index[key])
    n = len(problem.locations)
    if len(keys) * 2 * n * n * 8 > MATRIX_BUDGET_BYTES:
        return None
    return keys, of_worker


def build(problem: DispatchProblem) -> PyvrpModel | None:
    """PyVRP data for ``problem``; None when it would not fit in memory."""
    travel = problem.travel
    assert travel is not None
    found = _profiles(problem)
    if found is None:
        return None
    keys, profile_of = found
    dims = 1 if any(j.demand for j in problem.jobs) else 0
    model = PyvrpModel(data=None)  # type: ignore[arg-type]

    locations = [pyvrp.Location(lon, lat) for lat, lon in problem.locations]
    depot_locations = sorted(
        {w.start_location for w in problem.workers} | {w.end_location for w in problem.workers}
    )
    depot_of = {loc: i for i, loc in enumerate(depot_locations)}
    depots = [pyvrp.Depot(location=loc) for loc in depot_locations]

    clients: list[pyvrp.Client] = []
    groups: list[pyvrp.ClientGroup] = []
    shipments: list[pyvrp.Shipment] = []
    for job in problem.jobs:
        if job.kind is JobKind.DELIVERY:
            continue
        if job.kind is JobKind.PICKUP:
            assert job.pair is not None
            drop = problem.job(job.pair)
            pw, dw = job.windows[0], drop.windows[0]
            shipments.append(
                pyvrp.Shipment(
                    pickup_location=job.location,
                    delivery_location=drop.location,
                    pickup_tw_early=pw.start,
                    pickup_tw_late=max(w.end for w in job.windows),
                    pickup_service_duration=job.service_seconds,
                    delivery_tw_early=dw.start,
                    delivery_tw_late=max(w.end for w in drop.windows),
                    delivery_service_duration=drop.service_seconds,
                    amount=[abs(job.demand)] if dims else [],
                    prize=job.penalty + drop.penalty,
                    required=False,
                )
            )
            model.shipment_jobs.append((job.id, drop.id))
            continue
        members: list[int] = []
        for window in sorted(job.windows, key=lambda w: w.start):
            members.append(len(clients))
            clients.append(
                pyvrp.Client(
                    location=job.location,
                    # A service job's demand is load brought from the depot (VRPTW convention).
                    delivery=[max(0, job.demand)] if dims else [],
                    pickup=[max(0, -job.demand)] if dims else [],
                    service_duration=job.service_seconds,
                    tw_early=window.start,
                    tw_late=window.end + job.max_lateness_seconds,
                    prize=job.penalty,
                    required=False,
                    group=len(groups) if len(job.windows) > 1 else None,
                )
            )
            model.client_job.append(job.id)
        if len(job.windows) > 1:
            groups.append(pyvrp.ClientGroup(members, required=False))

    matrices: list[Any] = []  # PyVRP's stubs want ndarray[int]; these are int64 arrays
    for mode, blocked in keys:
        matrix = np.asarray(travel.durations[mode], dtype=np.int64).copy()
        if blocked:
            cut = np.fromiter(blocked, dtype=np.int64)
            matrix[:, cut] = UNREACHABLE
            matrix[cut, :] = UNREACHABLE
            np.fill_diagonal(matrix, 0)
        matrices.append(matrix)

    vehicle_types = []
    for v, worker in enumerate(problem.workers):
        shift_length = worker.shift.end - worker.shift.start
        if worker.max_work_seconds is not None:
            shift_length = min(shift_length, worker.max_work_seconds)
        shift_length -= sum(b.duration for b in worker.breaks)
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=1,
                capacity=[worker.capacity] if dims else [],
                start_depot=depot_of[worker.start_location],
                end_depot=depot_of[worker.end_location],
                fixed_cost=worker.fixed_cost + problem.weights.vehicle_fixed,
                tw_early=worker.shift.start,
                tw_late=worker.shift.end,
                shift_duration=max(0, shift_length),
                unit_distance_cost=problem.weights.travel_second,
                profile=profile_of[v],
                name=worker.id,
            )
        )
        model.workers.append(worker.id)
    model.data = pyvrp.ProblemData(
        locations,
        clients,
        depots,
        vehicle_types,
        matrices,
        matrices,
        groups=groups,
        shipments=shipments,
    )
    return model


def warm_routes(
    problem: DispatchProblem, time_limit_s: float, seed: int, iterations: int | None = None
) -> dict[str, list[str]] | None:
    """PyVRP's best routes as job ids per worker; None if it cannot model the problem.

    With ``iterations`` the search stops on a count, not the clock, so it is reproducible.
    """
    model = build(problem)
    if model is None or not problem.jobs:
        return None
    stop = MaxIterations(iterations) if iterations is not None else MaxRuntime(time_limit_s)
    result = pyvrp.solve(model.data, stop, seed=seed, display=False)
    routes: dict[str, list[str]] = {}
    for route in result.best.routes():
        worker = model.workers[route.vehicle_type()]
        sequence: list[str] = []
        for activity in route.schedule():
            if activity.is_client():
                sequence.append(model.client_job[activity.idx])
            elif activity.is_pickup():
                sequence.append(model.shipment_jobs[activity.idx][0])
            elif activity.is_delivery():
                sequence.append(model.shipment_jobs[activity.idx][1])
        if sequence:
            routes[worker] = sequence
    return routes
