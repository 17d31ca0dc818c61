"""Why a job is unassigned: checked in order from the hardest cause to the softest."""

from __future__ import annotations

from dispatch.eligibility import mismatches
from dispatch.problem import (
    DispatchProblem,
    Job,
    Reason,
    ReasonCode,
    Route,
    Solution,
    Unassigned,
    Worker,
    service_seconds_for,
)


def _reachable(problem: DispatchProblem, job: Job, worker: Worker) -> bool:
    """Whether the worker could serve the job alone in its day (ignoring its other stops)."""
    travel = problem.travel
    assert travel is not None
    there = travel.duration(worker.travel_mode, worker.start_location, job.location)
    back = travel.duration(worker.travel_mode, job.location, worker.end_location)
    service = service_seconds_for(job, worker)
    earliest = worker.shift.start + there
    latest_end = worker.shift.end - back
    for window in job.windows:
        start = max(earliest, window.start)
        fits_window = start <= window.end + job.max_lateness_seconds
        fits_day = start + service <= latest_end
        limit = worker.max_work_seconds
        if fits_window and fits_day and (limit is None or there + service + back <= limit):
            return True
    return False


def _shift_overlaps(job: Job, worker: Worker) -> bool:
    return any(
        w.start <= worker.shift.end and w.end + job.max_lateness_seconds >= worker.shift.start
        for w in job.windows
    )


def _insertion_detour(
    problem: DispatchProblem, job: Job, route: Route, worker: Worker
) -> int | None:
    """The cheapest added travel (s) to fit the job into the route keeping every window."""
    travel = problem.travel
    assert travel is not None
    mode = worker.travel_mode
    stops = list(route.stops)
    locations = [worker.start_location] + [s.location for s in stops] + [worker.end_location]
    best: int | None = None
    for pos in range(len(stops) + 1):
        a, b = locations[pos], locations[pos + 1]
        detour = (
            travel.duration(mode, a, job.location)
            + travel.duration(mode, job.location, b)
            - travel.duration(mode, a, b)
        )
        if best is not None and detour >= best:
            continue
        # Re-time the route with the job inserted at pos; every later stop must keep its window.
        t = route.start if pos == 0 else stops[pos - 1].end
        ok = True
        sequence = [job, *[problem.job(s.job_id) for s in stops[pos:]]]
        prev = a
        for candidate in sequence:
            t += travel.duration(mode, prev, candidate.location)
            start = _earliest_start(candidate, t)
            if start is None:
                ok = False
                break
            t = start + service_seconds_for(candidate, worker)
            prev = candidate.location
        if ok and t + travel.duration(mode, prev, worker.end_location) <= worker.shift.end:
            best = detour
    return best


def _earliest_start(job: Job, arrival: int) -> int | None:
    for window in sorted(job.windows, key=lambda w: w.start):
        start = max(arrival, window.start)
        if start <= window.end + job.max_lateness_seconds:
            return start
    return None


def explain_job(
    problem: DispatchProblem, job: Job, solution: Solution | None = None
) -> tuple[Reason, ...]:
    """The reasons ``job`` could not be (or was not) planned."""
    workers = problem.workers
    if not workers:
        return (Reason(ReasonCode.NO_SHIFT, "no worker is available on this day"),)
    skilled = [w for w in workers if job.skills <= w.skills.keys()]
    if not skilled:
        missing = sorted(job.skills)
        return (Reason(ReasonCode.NO_SKILL, f"no worker has all of: {', '.join(missing)}"),)
    certified = [w for w in skilled if job.certificates <= w.certificates]
    if not certified:
        needed = ", ".join(sorted(job.certificates))
        return (
            Reason(
                ReasonCode.NO_CERTIFICATE,
                f"no skilled worker holds a valid {needed} on this day",
                tuple(w.id for w in skilled),
            ),
        )
    matching = [w for w in certified if not set(mismatches(job, w)) - {"capacity"}]
    if not matching:
        why = sorted({m for w in certified for m in mismatches(job, w)})
        return (
            Reason(
                ReasonCode.NO_MATCHING_WORKER,
                f"qualified workers are excluded by: {', '.join(why)}",
                tuple(w.id for w in certified),
            ),
        )
    carrying = [w for w in matching if job.demand == 0 or abs(job.demand) <= w.capacity]
    if not carrying:
        return (
            Reason(
                ReasonCode.CAPACITY,
                f"{abs(job.demand)} units exceed every courier's capacity",
                tuple(w.id for w in matching),
            ),
        )
    on_shift = [w for w in carrying if _shift_overlaps(job, w)]
    if not on_shift:
        return (
            Reason(
                ReasonCode.NO_SHIFT,
                "no eligible worker's shift covers the job's time windows",
                tuple(w.id for w in carrying),
            ),
        )
    reachable = [w for w in on_shift if _reachable(problem, job, w)]
    if not reachable:
        return (
            Reason(
                ReasonCode.UNREACHABLE,
                "no eligible worker can get there and finish inside the window and shift",
                tuple(w.id for w in on_shift),
            ),
        )
    detail = f"left out: dropping costs {job.penalty}"
    if solution is not None and problem.travel is not None:
        detours = []
        for worker in reachable:
            route = solution.route_of(worker.id)
            if route is None:
                detours.append((0, worker.id))
                continue
            detour = _insertion_detour(problem, job, route, worker)
            if detour is not None:
                detours.append((detour, worker.id))
        if detours:
            cost, who = min(detours)
            detail += f"; the cheapest window-feasible insertion adds {cost} s of travel ({who})"
        else:
            detail += "; no eligible worker's route has room for it in its windows"
    return (Reason(ReasonCode.DROPPED_FOR_COST, detail, tuple(w.id for w in reachable)),)


def explain_unassigned(problem: DispatchProblem, solution: Solution) -> tuple[Unassigned, ...]:
    """Reasons for every job the solution left out."""
    assigned = solution.assigned_job_ids
    return tuple(
        Unassigned(job.id, explain_job(problem, job, solution), job.penalty)
        for job in problem.jobs
        if job.id not in assigned
    )
