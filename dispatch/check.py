"""An independent feasibility checker for dispatch solutions.

It recomputes every route from the problem's travel matrices and shares no code with any solver:
the only thing imported from the model is ``service_seconds_for``, the shared definition of how
long a worker needs for a job. Conventions it checks (the definition solvers must meet):

- A route leaves the worker's start location at ``route.start`` and is back at its end location
  by ``route.end``; both lie within the shift. A route without stops is an unused worker.
- Between the previous stop's end (or ``route.start``) and a stop's start there must be time for
  the travel leg plus every break taken in that gap. ``arrival`` is the previous end plus the leg,
  delayed only by breaks taken before arriving; ``start >= arrival``.
- A start lies within one of the job's windows, or up to ``max_lateness_seconds`` past the end of
  the last one; that lateness (reported on the stop) is a soft violation.
- Working time is the route's span, ``route.end - route.start``, waiting and breaks included.
- Load is the running sum of ``job.demand`` (a delivery's demand is negative): a pickup loads, its
  delivery unloads, a service job's demand stays loaded (CVRP: the same as loading at the start).
- A job with a ``provider`` is served by a worker of that provider.
- Pinned jobs are on their pinned worker's route, in ``pinned_rank`` order among themselves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

from dispatch.problem import (
    BreakTaken,
    DispatchProblem,
    Job,
    JobKind,
    Route,
    Solution,
    Worker,
    service_seconds_for,
)


class Code(StrEnum):
    """What kind of rule a violation breaks."""

    NO_TRAVEL = "no_travel"
    UNKNOWN_WORKER = "unknown_worker"
    DUPLICATE_ROUTE = "duplicate_route"
    UNKNOWN_JOB = "unknown_job"
    DUPLICATE_JOB = "duplicate_job"
    MISSING_JOB = "missing_job"
    LOCATION = "location"
    TRAVEL = "travel"
    ARRIVAL = "arrival"
    EARLY_START = "early_start"
    TIME_WINDOW = "time_window"
    LATE = "late"
    LATENESS_MISMATCH = "lateness_mismatch"
    SERVICE_TIME = "service_time"
    SHIFT = "shift"
    ROUTE_END = "route_end"
    BREAK = "break"
    WORK_TIME = "work_time"
    SKILL = "skill"
    CERTIFICATE = "certificate"
    GENDER = "gender"
    LANGUAGE = "language"
    BLOCKED = "blocked"
    PROVIDER = "provider"
    CAPACITY = "capacity"
    NEGATIVE_LOAD = "negative_load"
    PAIR = "pair"
    RIDE_TIME = "ride_time"
    PINNED = "pinned"
    TOTALS = "totals"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule; ``hard=False`` marks something allowed but reported (lateness)."""

    code: Code
    detail: str
    job_id: str | None = None
    worker_id: str | None = None
    hard: bool = True


def is_feasible(problem: DispatchProblem, solution: Solution) -> bool:
    """Whether the solution breaks no hard rule of the problem."""
    return not any(v.hard for v in check(problem, solution))


def check(problem: DispatchProblem, solution: Solution) -> list[Violation]:
    """Every violation of the problem's rules in the solution, hard and soft."""
    out: list[Violation] = []
    if problem.travel is None:
        out.append(Violation(Code.NO_TRAVEL, "the problem has no travel matrices"))
        return out
    jobs = {j.id: j for j in problem.jobs}
    workers = {w.id: w for w in problem.workers}
    out += _check_coverage(solution, jobs)
    placed: dict[str, tuple[str, int]] = {}  # job id -> (worker id, position on the route)
    seen_workers: set[str] = set()
    for route in solution.routes:
        worker = workers.get(route.worker_id)
        if worker is None:
            out.append(
                Violation(Code.UNKNOWN_WORKER, "route of an unknown worker", None, route.worker_id)
            )
            continue
        if worker.id in seen_workers:
            out.append(Violation(Code.DUPLICATE_ROUTE, "worker has two routes", None, worker.id))
        seen_workers.add(worker.id)
        for pos, stop in enumerate(route.stops):
            placed.setdefault(stop.job_id, (worker.id, pos))
        out += _check_route(problem, worker, route, jobs)
    out += _check_pairs(solution, jobs, placed)
    out += _check_pinned(jobs, placed)
    return out


def _check_coverage(solution: Solution, jobs: dict[str, Job]) -> list[Violation]:
    """Every job exactly once: on one route, or unassigned."""
    out: list[Violation] = []
    counts = Counter(s.job_id for r in solution.routes for s in r.stops)
    counts.update(u.job_id for u in solution.unassigned)
    for job_id, n in counts.items():
        if job_id not in jobs:
            out.append(Violation(Code.UNKNOWN_JOB, "job not in the problem", job_id))
        elif n > 1:
            out.append(Violation(Code.DUPLICATE_JOB, f"job appears {n} times", job_id))
    for job_id in jobs:
        if job_id not in counts:
            out.append(Violation(Code.MISSING_JOB, "job neither routed nor unassigned", job_id))
    return out


def _check_route(
    problem: DispatchProblem, worker: Worker, route: Route, jobs: dict[str, Job]
) -> list[Violation]:
    """Time, breaks, eligibility, load and totals along one route."""
    assert problem.travel is not None
    wid = worker.id
    mode = worker.travel_mode
    if not route.stops:
        return []  # an unused worker: nothing to walk
    if mode not in problem.travel.durations or mode not in problem.travel.distances:
        return [Violation(Code.NO_TRAVEL, f"no travel matrix for mode {mode!r}", None, wid)]
    travel = problem.travel
    out: list[Violation] = []
    breaks = sorted(route.breaks, key=lambda b: (b.start, b.end))

    def breaks_within(lo: int, hi: int) -> int:
        return sum(b.end - b.start for b in breaks if lo <= b.start and b.end <= hi)

    if route.start < worker.shift.start:
        out.append(
            Violation(
                Code.SHIFT,
                f"route starts at {route.start}, before the shift ({worker.shift.start})",
                None,
                wid,
            )
        )
    travel_s = travel_m = service_s = 0
    load = 0
    prev_loc, prev_end = worker.start_location, route.start
    for stop in route.stops:
        job = jobs.get(stop.job_id)
        if job is None:
            continue  # reported by the coverage check
        jid = job.id
        out += _check_eligibility(job, worker)
        if stop.location != job.location:
            out.append(
                Violation(
                    Code.LOCATION, f"stop at {stop.location}, job at {job.location}", jid, wid
                )
            )
        leg_s = travel.duration(mode, prev_loc, job.location)
        leg_m = travel.distance(mode, prev_loc, job.location)
        travel_s += leg_s
        travel_m += leg_m
        if (stop.travel_seconds, stop.travel_metres) != (leg_s, leg_m):
            out.append(
                Violation(
                    Code.TRAVEL,
                    f"leg reported {stop.travel_seconds} s/{stop.travel_metres} m, "
                    f"matrix says {leg_s} s/{leg_m} m",
                    jid,
                    wid,
                )
            )
        gap_breaks = breaks_within(prev_end, stop.start)
        earliest_arrival = prev_end + leg_s
        if not earliest_arrival <= stop.arrival <= earliest_arrival + gap_breaks:
            out.append(
                Violation(
                    Code.ARRIVAL,
                    f"arrival {stop.arrival}, expected {earliest_arrival} "
                    f"(+ up to {gap_breaks} s of breaks)",
                    jid,
                    wid,
                )
            )
        if stop.start < stop.arrival or stop.start - prev_end < leg_s + gap_breaks:
            out.append(
                Violation(
                    Code.EARLY_START,
                    f"starts at {stop.start}: arrival {stop.arrival}, previous end {prev_end}, "
                    f"travel {leg_s} s, breaks {gap_breaks} s",
                    jid,
                    wid,
                )
            )
        out += _check_window(job, stop.start, stop.lateness, wid)
        need = service_seconds_for(job, worker)
        service_s += need
        if stop.end - stop.start != need:
            out.append(
                Violation(
                    Code.SERVICE_TIME,
                    f"service {stop.end - stop.start} s, {wid} needs {need} s",
                    jid,
                    wid,
                )
            )
        load += job.demand
        if load > worker.capacity:
            out.append(
                Violation(
                    Code.CAPACITY, f"load {load} exceeds capacity {worker.capacity}", jid, wid
                )
            )
        if load < 0:
            out.append(Violation(Code.NEGATIVE_LOAD, f"load {load} below zero", jid, wid))
        prev_loc, prev_end = job.location, stop.end

    back_s = travel.duration(mode, prev_loc, worker.end_location)
    travel_s += back_s
    travel_m += travel.distance(mode, prev_loc, worker.end_location)
    home = prev_end + back_s + breaks_within(prev_end, route.end)
    if route.end < home:
        out.append(
            Violation(
                Code.ROUTE_END,
                f"route ends at {route.end}, cannot be back before {home}",
                None,
                wid,
            )
        )
    if max(route.end, home) > worker.shift.end:
        out.append(
            Violation(
                Code.SHIFT,
                f"back at {max(route.end, home)}, after the shift ends ({worker.shift.end})",
                None,
                wid,
            )
        )
    out += _check_breaks(worker, route, breaks)
    if worker.max_work_seconds is not None:
        work = route.end - route.start
        if work > worker.max_work_seconds:
            out.append(
                Violation(
                    Code.WORK_TIME,
                    f"works {work} s, limit {worker.max_work_seconds} s",
                    None,
                    wid,
                )
            )
    reported = (route.travel_seconds, route.travel_metres, route.service_seconds)
    if reported != (travel_s, travel_m, service_s):
        out.append(
            Violation(
                Code.TOTALS,
                f"route reports travel {route.travel_seconds} s/{route.travel_metres} m, "
                f"service {route.service_seconds} s; recomputed {travel_s} s/{travel_m} m, "
                f"{service_s} s",
                None,
                wid,
            )
        )
    return out


def _check_window(job: Job, start: int, reported_lateness: int, wid: str) -> list[Violation]:
    """The start within a window, or late past the last one within the job's allowance."""
    last_end = max(w.end for w in job.windows)
    lateness = max(0, start - last_end)
    if not any(w.contains(start) for w in job.windows) and (
        lateness == 0 or lateness > job.max_lateness_seconds
    ):
        spans = ", ".join(f"[{w.start}, {w.end}]" for w in job.windows)
        allowed = f" (+{job.max_lateness_seconds} s late)" if job.max_lateness_seconds else ""
        return [
            Violation(Code.TIME_WINDOW, f"starts at {start}, outside {spans}{allowed}", job.id, wid)
        ]
    out: list[Violation] = []
    if lateness > 0:
        out.append(Violation(Code.LATE, f"{lateness} s late", job.id, wid, hard=False))
    if reported_lateness != lateness:
        out.append(
            Violation(
                Code.LATENESS_MISMATCH,
                f"stop reports {reported_lateness} s late, recomputed {lateness} s",
                job.id,
                wid,
            )
        )
    return out


def _check_eligibility(job: Job, worker: Worker) -> list[Violation]:
    """Skills, certificates, gender, language, blocks and provider."""
    out: list[Violation] = []
    jid, wid = job.id, worker.id
    missing = sorted(s for s in job.skills if worker.skill_level(s) <= 0)
    if missing:
        out.append(Violation(Code.SKILL, f"lacks skills {missing}", jid, wid))
    certs = sorted(job.certificates - worker.certificates)
    if certs:
        out.append(Violation(Code.CERTIFICATE, f"lacks certificates {certs}", jid, wid))
    if job.required_gender is not None and worker.gender != job.required_gender:
        out.append(
            Violation(
                Code.GENDER, f"needs {job.required_gender}, worker is {worker.gender}", jid, wid
            )
        )
    if job.required_language is not None and job.required_language not in worker.languages:
        out.append(
            Violation(Code.LANGUAGE, f"worker does not speak {job.required_language}", jid, wid)
        )
    if wid in job.blocked_workers:
        out.append(Violation(Code.BLOCKED, "the household blocked this worker", jid, wid))
    if job.provider is not None and worker.provider != job.provider:
        out.append(
            Violation(
                Code.PROVIDER,
                f"job is with provider {job.provider}, worker with {worker.provider}",
                jid,
                wid,
            )
        )
    return out


def _check_breaks(worker: Worker, route: Route, taken: list[BreakTaken]) -> list[Violation]:
    """Each required break taken once, within its window, not during service or another break."""
    out: list[Violation] = []
    wid = worker.id
    free = list(taken)
    # Earliest deadline first: a greedy match is exact for interval windows like these.
    for need in sorted(worker.breaks, key=lambda b: (b.latest, b.earliest)):
        match = next(
            (
                b
                for b in free
                if need.earliest <= b.start <= need.latest and b.end - b.start >= need.duration
            ),
            None,
        )
        if match is None:
            out.append(
                Violation(
                    Code.BREAK,
                    f"no {need.duration} s break starting in [{need.earliest}, {need.latest}]",
                    None,
                    wid,
                )
            )
        else:
            free.remove(match)
    for b in free:
        out.append(Violation(Code.BREAK, f"break [{b.start}, {b.end}] is not required", None, wid))
    for b in taken:
        if b.end <= b.start:
            out.append(Violation(Code.BREAK, f"break [{b.start}, {b.end}] is empty", None, wid))
        for stop in route.stops:
            if b.start < stop.end and stop.start < b.end:
                out.append(
                    Violation(
                        Code.BREAK,
                        f"break [{b.start}, {b.end}] overlaps service [{stop.start}, {stop.end}]",
                        stop.job_id,
                        wid,
                    )
                )
    for a, b in pairwise(taken):
        if b.start < a.end:
            out.append(
                Violation(
                    Code.BREAK,
                    f"breaks [{a.start}, {a.end}] and [{b.start}, {b.end}] overlap",
                    None,
                    wid,
                )
            )
    return out


def _check_pairs(
    solution: Solution, jobs: dict[str, Job], placed: dict[str, tuple[str, int]]
) -> list[Violation]:
    """Pickup before its delivery on one route, within the ride time; both or neither placed."""
    out: list[Violation] = []
    stops = {s.job_id: s for r in solution.routes for s in r.stops}
    for pickup in jobs.values():
        if pickup.kind is not JobKind.PICKUP or pickup.pair is None:
            continue
        delivery = jobs.get(pickup.pair)
        if delivery is None:
            continue
        p, d = placed.get(pickup.id), placed.get(delivery.id)
        if p is None and d is None:
            continue
        if p is None or d is None:
            out.append(
                Violation(
                    Code.PAIR,
                    f"only one of pickup {pickup.id} and delivery {delivery.id} is placed",
                    pickup.id,
                )
            )
            continue
        if p[0] != d[0]:
            out.append(
                Violation(
                    Code.PAIR,
                    f"pickup on {p[0]}, delivery {delivery.id} on {d[0]}",
                    pickup.id,
                    d[0],
                )
            )
            continue
        if d[1] < p[1]:
            out.append(
                Violation(Code.PAIR, f"delivery {delivery.id} before its pickup", pickup.id, p[0])
            )
            continue
        limits = [x for x in (pickup.max_ride_seconds, delivery.max_ride_seconds) if x is not None]
        ride = stops[delivery.id].start - stops[pickup.id].end
        if limits and ride > min(limits):
            out.append(
                Violation(
                    Code.RIDE_TIME,
                    f"ride {ride} s, limit {min(limits)} s",
                    delivery.id,
                    p[0],
                )
            )
    return out


def _check_pinned(jobs: dict[str, Job], placed: dict[str, tuple[str, int]]) -> list[Violation]:
    """Pinned jobs on their worker, in rank order."""
    out: list[Violation] = []
    ranked: dict[str, list[tuple[int, int, str]]] = {}
    for job in jobs.values():
        if job.pinned_worker is None:
            continue
        where = placed.get(job.id)
        if where is None or where[0] != job.pinned_worker:
            on = "unassigned" if where is None else f"on {where[0]}"
            out.append(
                Violation(
                    Code.PINNED,
                    f"pinned to {job.pinned_worker}, {on}",
                    job.id,
                    job.pinned_worker,
                )
            )
        elif job.pinned_rank is not None:
            ranked.setdefault(where[0], []).append((job.pinned_rank, where[1], job.id))
    for wid, items in ranked.items():
        items.sort()
        for (_, pos_a, a), (_, pos_b, b) in pairwise(items):
            if pos_b < pos_a:
                out.append(Violation(Code.PINNED, f"{b} visited before {a}", b, wid))
    return out
