"""The OR-Tools routing model: one function per dimension or constraint.

Nodes are numbered jobs first (0..J-1), then each worker's start node, then each worker's end
node. Every matrix handed to OR-Tools is indexed by node.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.constraint_solver import pywrapcp

from dispatch.eligibility import eligible
from dispatch.problem import DispatchProblem, Job, JobKind, Worker, service_seconds_for

TIME = "Time"
LOAD = "Load"
PREFERENCE = "Preference"
WORK = "Work"


@dataclass
class RoutingContext:
    """The model under construction and the maps between problem and OR-Tools indices."""

    problem: DispatchProblem
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    node_location: NDArray[np.int64]
    job_index: dict[str, int]
    vehicle_of: dict[str, int]
    service: dict[int, NDArray[np.int64]] = field(default_factory=dict)
    travel_callbacks: dict[str, int] = field(default_factory=dict)
    time_callbacks: list[int] = field(default_factory=list)
    break_intervals: list[Any] = field(default_factory=list)
    service_model: str = "by-skill-level"

    @property
    def solver(self) -> pywrapcp.Solver:
        """The underlying constraint solver."""
        return self.routing.solver()

    def index(self, job_id: str) -> int:
        """The routing index of a job's node."""
        return int(self.manager.NodeToIndex(self.job_index[job_id]))

    @property
    def time(self) -> pywrapcp.RoutingDimension:
        """The time dimension."""
        return self.routing.GetDimensionOrDie(TIME)


def create_context(problem: DispatchProblem) -> RoutingContext:
    """The index manager and an empty routing model for ``problem``."""
    jobs, workers = problem.jobs, problem.workers
    n_jobs, n_workers = len(jobs), len(workers)
    starts = [n_jobs + v for v in range(n_workers)]
    ends = [n_jobs + n_workers + v for v in range(n_workers)]
    manager = pywrapcp.RoutingIndexManager(n_jobs + 2 * n_workers, n_workers, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    node_location = np.array(
        [j.location for j in jobs]
        + [w.start_location for w in workers]
        + [w.end_location for w in workers],
        dtype=np.int64,
    )
    return RoutingContext(
        problem=problem,
        manager=manager,
        routing=routing,
        node_location=node_location,
        job_index={j.id: i for i, j in enumerate(jobs)},
        vehicle_of={w.id: v for v, w in enumerate(workers)},
    )


def _node_matrix(ctx: RoutingContext, mode: str) -> NDArray[np.int64]:
    travel = ctx.problem.travel
    assert travel is not None, "fill the travel matrices before building the model"
    loc = np.asarray(travel.durations[mode], dtype=np.int64)
    return loc[np.ix_(ctx.node_location, ctx.node_location)]


def _service_vector(ctx: RoutingContext, worker: Worker) -> NDArray[np.int64]:
    vector = np.zeros(len(ctx.node_location), dtype=np.int64)
    for i, job in enumerate(ctx.problem.jobs):
        vector[i] = service_seconds_for(job, worker)
    return vector


def add_travel_costs(ctx: RoutingContext) -> None:
    """Arc cost = travel seconds in the worker's mode, times the travel weight."""
    weight = ctx.problem.weights.travel_second
    for mode in sorted(ctx.problem.modes):
        matrix = _node_matrix(ctx, mode) * weight
        ctx.travel_callbacks[mode] = ctx.routing.RegisterTransitMatrix(matrix.tolist())
    for v, worker in enumerate(ctx.problem.workers):
        ctx.routing.SetArcCostEvaluatorOfVehicle(ctx.travel_callbacks[worker.travel_mode], v)
        if worker.fixed_cost or ctx.problem.weights.vehicle_fixed:
            ctx.routing.SetFixedCostOfVehicle(
                worker.fixed_cost + ctx.problem.weights.vehicle_fixed, v
            )


# Above this, per-skill-level service matrices would not fit in memory (one N×N int64 each).
TRANSIT_MATRIX_BUDGET_BYTES = 1 << 30


def add_time_dimension(ctx: RoutingContext) -> None:
    """Time: the transit out of a node is its service time (by the worker's skill) plus travel.

    Workers with the same travel mode and the same service times share one matrix. When that
    would take more matrices than memory allows, each mode uses the slowest worker's service
    time for everyone: routes stay feasible for the real, shorter times, only less tight.
    """
    vectors = {w.id: _service_vector(ctx, w) for w in ctx.problem.workers}
    keys = {(w.travel_mode, vectors[w.id].tobytes()) for w in ctx.problem.workers}
    nodes = len(ctx.node_location)
    if len(keys) * nodes * nodes * 8 > TRANSIT_MATRIX_BUDGET_BYTES:
        slowest: dict[str, NDArray[np.int64]] = {}
        for worker in ctx.problem.workers:
            current = slowest.get(worker.travel_mode)
            vector = vectors[worker.id]
            slowest[worker.travel_mode] = vector if current is None else np.maximum(current, vector)
        vectors = {w.id: slowest[w.travel_mode] for w in ctx.problem.workers}
        ctx.service_model = "slowest-per-mode"
    classes: dict[tuple[str, bytes], int] = {}
    travel_by_mode: dict[str, NDArray[np.int64]] = {}
    for worker in ctx.problem.workers:
        service = vectors[worker.id]
        key = (worker.travel_mode, service.tobytes())
        if key not in classes:
            if worker.travel_mode not in travel_by_mode:
                travel_by_mode[worker.travel_mode] = _node_matrix(ctx, worker.travel_mode)
            matrix = travel_by_mode[worker.travel_mode] + service[:, None]
            classes[key] = ctx.routing.RegisterTransitMatrix(matrix.tolist())
        ctx.time_callbacks.append(classes[key])
        ctx.service[ctx.vehicle_of[worker.id]] = service
    horizon = ctx.problem.horizon
    ctx.routing.AddDimensionWithVehicleTransits(ctx.time_callbacks, horizon, horizon, False, TIME)


def add_time_windows(ctx: RoutingContext) -> None:
    """Service starts inside one of the job's windows; lateness past the last is soft if allowed."""
    time = ctx.time
    for job in ctx.problem.jobs:
        windows = sorted(job.windows, key=lambda w: w.start)
        index = ctx.index(job.id)
        latest = windows[-1].end + job.max_lateness_seconds
        time.CumulVar(index).SetRange(windows[0].start, latest)
        for a, b in itertools.pairwise(windows):
            if b.start - 1 >= a.end + 1:
                time.CumulVar(index).RemoveInterval(a.end + 1, b.start - 1)
        if job.max_lateness_seconds and job.lateness_cost_per_second:
            cost = job.lateness_cost_per_second * ctx.problem.weights.lateness_scale
            time.SetCumulVarSoftUpperBound(index, windows[-1].end, cost)


def add_shifts(ctx: RoutingContext) -> None:
    """Each route starts and ends inside its worker's shift; start late, end early."""
    time = ctx.time
    for v, worker in enumerate(ctx.problem.workers):
        start, end = ctx.routing.Start(v), ctx.routing.End(v)
        time.CumulVar(start).SetRange(worker.shift.start, worker.shift.end)
        time.CumulVar(end).SetRange(worker.shift.start, worker.shift.end)
        ctx.routing.AddVariableMaximizedByFinalizer(time.CumulVar(start))
        ctx.routing.AddVariableMinimizedByFinalizer(time.CumulVar(end))
    for job in ctx.problem.jobs:
        ctx.routing.AddVariableMinimizedByFinalizer(time.CumulVar(ctx.index(job.id)))


def add_working_time_limits(ctx: RoutingContext) -> None:
    """A worker's day (first start to last end, waiting included) stays within its limit."""
    for v, worker in enumerate(ctx.problem.workers):
        if worker.max_work_seconds is not None:
            ctx.time.SetSpanUpperBoundForVehicle(worker.max_work_seconds, v)


def add_breaks(ctx: RoutingContext) -> None:
    """Breaks are taken between visits (never during service), within their allowed start."""
    size = ctx.routing.Size()
    for v, worker in enumerate(ctx.problem.workers):
        if not worker.breaks:
            continue
        intervals = [
            ctx.solver.FixedDurationIntervalVar(
                b.earliest, b.latest, b.duration, False, f"break-{worker.id}-{k}"
            )
            for k, b in enumerate(worker.breaks)
        ]
        visit = [0] * size
        service = ctx.service[v]
        for index in range(size):
            if not ctx.routing.IsStart(index) and not ctx.routing.IsEnd(index):
                visit[index] = int(service[ctx.manager.IndexToNode(index)])
        ctx.time.SetBreakIntervalsOfVehicle(intervals, v, visit)
        for interval in intervals:
            ctx.routing.AddIntervalToAssignment(interval)
        ctx.break_intervals.append((v, intervals))


def add_eligibility(ctx: RoutingContext) -> None:
    """Skills, certificates, gender, language, blocked workers, provider and pins are hard."""
    workers = ctx.problem.workers
    for job in ctx.problem.jobs:
        allowed = [v for v, w in enumerate(workers) if eligible(job, w)]
        if not allowed:
            # OR-Tools reads an empty list as "any vehicle": make the node inactive instead.
            ctx.routing.ActiveVar(ctx.index(job.id)).SetMax(0)
        elif len(allowed) < len(workers):
            # -1 keeps the job droppable; its disjunction decides whether dropping is allowed.
            ctx.routing.VehicleVar(ctx.index(job.id)).SetValues([-1, *allowed])


def add_capacity(ctx: RoutingContext) -> None:
    """Meals picked up and not yet delivered never exceed the courier's capacity."""
    if not any(j.demand for j in ctx.problem.jobs):
        return
    demand = [0] * len(ctx.node_location)
    for i, job in enumerate(ctx.problem.jobs):
        demand[i] = job.demand
    callback = ctx.routing.RegisterUnaryTransitVector(demand)
    capacities = [w.capacity for w in ctx.problem.workers]
    ctx.routing.AddDimensionWithVehicleCapacity(callback, 0, capacities, True, LOAD)


def add_pickup_delivery(ctx: RoutingContext) -> None:
    """A meal is picked up before it is delivered, by the same courier, within its ride time."""
    time = ctx.time
    for job in ctx.problem.jobs:
        if job.kind is not JobKind.PICKUP:
            continue
        assert job.pair is not None
        delivery = ctx.problem.job(job.pair)
        p, d = ctx.index(job.id), ctx.index(delivery.id)
        ctx.routing.AddPickupAndDelivery(p, d)
        ctx.solver.Add(ctx.routing.VehicleVar(p) == ctx.routing.VehicleVar(d))
        ctx.solver.Add(time.CumulVar(p) <= time.CumulVar(d))
        if delivery.max_ride_seconds is not None:
            # Ride = delivery start − pickup end. The pickup's service time can differ by worker;
            # bounding with the shortest keeps the limit for every worker.
            shortest = min(
                (service_seconds_for(job, w) for w in ctx.problem.workers if eligible(job, w)),
                default=job.service_seconds,
            )
            ctx.solver.Add(
                time.CumulVar(d) - time.CumulVar(p) <= delivery.max_ride_seconds + shortest
            )


def add_preferences(ctx: RoutingContext) -> None:
    """Soft: a job done by a worker other than its preferred ones costs its preference weight."""
    jobs = ctx.problem.jobs
    if not any(j.preferred_workers and j.preference_weight for j in jobs):
        return
    scale = ctx.problem.weights.preference
    callbacks: list[int] = []
    cache: dict[bytes, int] = {}
    for worker in ctx.problem.workers:
        vector = np.zeros(len(ctx.node_location), dtype=np.int64)
        for i, job in enumerate(jobs):
            if job.preferred_workers and worker.id not in job.preferred_workers:
                vector[i] = job.preference_weight * scale
        key = vector.tobytes()
        if key not in cache:
            cache[key] = ctx.routing.RegisterUnaryTransitVector(vector.tolist())
        callbacks.append(cache[key])
    big = int(sum(j.preference_weight for j in jobs) * scale) + 1
    ctx.routing.AddDimensionWithVehicleTransits(callbacks, 0, big, True, PREFERENCE)
    ctx.routing.GetDimensionOrDie(PREFERENCE).SetSpanCostCoefficientForAllVehicles(1)


def add_balance(ctx: RoutingContext) -> None:
    """Soft: service time above the average per worker is penalised, spreading the work."""
    weight = ctx.problem.weights.balance_per_second
    if weight <= 0 or not ctx.problem.workers:
        return
    nominal = [0] * len(ctx.node_location)
    for i, job in enumerate(ctx.problem.jobs):
        nominal[i] = job.service_seconds
    callback = ctx.routing.RegisterUnaryTransitVector(nominal)
    ctx.routing.AddDimension(callback, 0, ctx.problem.horizon, True, WORK)
    work = ctx.routing.GetDimensionOrDie(WORK)
    target = sum(nominal) // len(ctx.problem.workers)
    for v in range(len(ctx.problem.workers)):
        work.SetCumulVarSoftUpperBound(ctx.routing.End(v), target, weight)


PINNED_PENALTY = 10**12


def add_drop_penalties(ctx: RoutingContext) -> None:
    """Every job is optional at its penalty; a pinned job's penalty dwarfs everything else.

    Pinned jobs stay droppable in principle so that insertion heuristics can start from an
    empty plan; their penalty keeps them planned whenever they fit.
    """
    for job in ctx.problem.jobs:
        pinned = job.pinned_worker is not None and job.pinned_worker in ctx.vehicle_of
        penalty = PINNED_PENALTY if pinned else job.penalty
        if job.kind is not JobKind.SERVICE:
            penalty = max(1, penalty // 2)
        ctx.routing.AddDisjunction([ctx.index(job.id)], penalty)


# More than any difference of two times in a day's model (the horizon is two days).
PIN_ORDER_SLACK = 3 * 24 * 3600


def add_pins(ctx: RoutingContext) -> None:
    """Pinned jobs stay on their worker, in their pinned order."""
    pinned: dict[str, list[Job]] = {}
    for job in ctx.problem.jobs:
        if job.pinned_worker is not None and job.pinned_worker in ctx.vehicle_of:
            pinned.setdefault(job.pinned_worker, []).append(job)
    for jobs in pinned.values():
        ranked = sorted(
            (j for j in jobs if j.pinned_rank is not None), key=lambda j: j.pinned_rank or 0
        )
        for a, b in itertools.pairwise(ranked):
            ia, ib = ctx.index(a.id), ctx.index(b.id)
            # Only when both are planned: a dropped pinned stop must not hold the other back.
            both = ctx.solver.Min(ctx.routing.ActiveVar(ia), ctx.routing.ActiveVar(ib))
            ctx.solver.Add(
                ctx.time.CumulVar(ia) + 1 + PIN_ORDER_SLACK * both
                <= ctx.time.CumulVar(ib) + PIN_ORDER_SLACK
            )


def build(problem: DispatchProblem) -> RoutingContext:
    """The full model for ``problem``."""
    ctx = create_context(problem)
    add_travel_costs(ctx)
    add_time_dimension(ctx)
    add_time_windows(ctx)
    add_shifts(ctx)
    add_working_time_limits(ctx)
    add_eligibility(ctx)
    add_capacity(ctx)
    add_pickup_delivery(ctx)
    add_breaks(ctx)
    add_preferences(ctx)
    add_balance(ctx)
    add_drop_penalties(ctx)
    add_pins(ctx)
    return ctx
