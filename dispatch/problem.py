"""The dispatch problem and its solution as immutable, solver-neutral data.

Times are integer seconds from the problem's epoch (local midnight of the plan's day), distances
integer metres. Locations are indices into ``DispatchProblem.locations``; travel matrices are
indexed the same way. Nothing here knows about the database or about any solver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

SCHEMA_VERSION: Final = "1.0"

# Service time by the worker's level in the job's main skill (percent of the nominal time).
LEVEL_SERVICE_PERCENT: Final[Mapping[int, int]] = MappingProxyType(
    {1: 125, 2: 110, 3: 100, 4: 90, 5: 80}
)

# Default drop penalties: protected-group and urgent jobs are the last to be dropped.
PRIORITY_PENALTY: Final[Mapping[int, int]] = MappingProxyType(
    {0: 1_000_000, 1: 10_000_000, 2: 100_000_000}
)


class JobKind(StrEnum):
    """A home visit, or one end of a meal's pickup → delivery pair."""

    SERVICE = "service"
    PICKUP = "pickup"
    DELIVERY = "delivery"


class Priority:
    """Named priority levels (higher is dropped later)."""

    NORMAL: Final = 0
    PROTECTED = 1
    URGENT = 2


@dataclass(frozen=True, slots=True)
class Window:
    """An interval [start, end] in seconds from the epoch."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window ends before it starts: [{self.start}, {self.end}]")

    def contains(self, t: int) -> bool:
        """Whether ``t`` lies in the window (both ends inclusive)."""
        return self.start <= t <= self.end


@dataclass(frozen=True, slots=True)
class Break:
    """A break of ``duration`` seconds starting between ``earliest`` and ``latest``."""

    earliest: int
    latest: int
    duration: int

    def __post_init__(self) -> None:
        if self.latest < self.earliest or self.duration <= 0:
            raise ValueError(f"invalid break {self}")


@dataclass(frozen=True, slots=True)
class Worker:
    """A worker's day: where and when it starts and ends, and what it can do."""

    id: str
    start_location: int
    end_location: int
    shift: Window
    travel_mode: str = "ebike"
    breaks: tuple[Break, ...] = ()
    max_work_seconds: int | None = None
    skills: Mapping[str, int] = field(default_factory=dict)
    certificates: frozenset[str] = frozenset()
    gender: str | None = None
    languages: frozenset[str] = frozenset()
    capacity: int = 0
    fixed_cost: int = 0
    provider: str | None = None

    def skill_level(self, skill: str) -> int:
        """The worker's level in ``skill`` (0 when it lacks the skill)."""
        return self.skills.get(skill, 0)


@dataclass(frozen=True, slots=True)
class Job:
    """Something to do at a location within one of its windows."""

    id: str
    location: int
    windows: tuple[Window, ...]
    service_seconds: int
    kind: JobKind = JobKind.SERVICE
    skills: frozenset[str] = frozenset()
    main_skill: str | None = None
    certificates: frozenset[str] = frozenset()
    required_gender: str | None = None
    required_language: str | None = None
    blocked_workers: frozenset[str] = frozenset()
    preferred_workers: tuple[str, ...] = ()
    preference_weight: int = 0
    priority: int = Priority.NORMAL
    drop_penalty: int | None = None
    demand: int = 0
    pair: str | None = None
    max_ride_seconds: int | None = None
    lateness_cost_per_second: int = 0
    max_lateness_seconds: int = 0
    provider: str | None = None
    pinned_worker: str | None = None
    pinned_rank: int | None = None
    order_ref: str | None = None

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError(f"job {self.id} has no time window")
        if self.service_seconds < 0:
            raise ValueError(f"job {self.id} has negative service time")
        if self.kind is not JobKind.SERVICE and self.pair is None:
            raise ValueError(f"{self.kind.value} job {self.id} needs its pair")

    @property
    def penalty(self) -> int:
        """What dropping this job costs in the objective."""
        if self.drop_penalty is not None:
            return self.drop_penalty
        return PRIORITY_PENALTY.get(self.priority, PRIORITY_PENALTY[0])


@dataclass(frozen=True, slots=True)
class Weights:
    """Objective weights (all integers; the objective is in abstract cost units)."""

    travel_second: int = 1
    lateness_scale: int = 1
    preference: int = 1
    balance_per_second: int = 0
    vehicle_fixed: int = 0


# A square integer matrix by location: nested tuples, or a read-only int64 array. Nested tuples
# cost ~36 bytes and ~0.15 µs to build per entry (~250 MB and ~0.8 s for 2,300 locations); the
# array form costs 8 bytes and is what providers return.
Matrix: TypeAlias = tuple[tuple[int, ...], ...] | npt.NDArray[np.int64]


def _frozen_matrix(values: npt.ArrayLike, what: str) -> npt.NDArray[np.int64]:
    array = np.array(values, dtype=np.int64)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"travel matrix {what} is not square: shape {array.shape}")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True, eq=False)
class Travel:
    """Travel matrices per travel mode: durations (s) and distances (m), square, by location."""

    durations: Mapping[str, Matrix]
    distances: Mapping[str, Matrix]

    @classmethod
    def from_arrays(
        cls, durations: Mapping[str, npt.ArrayLike], distances: Mapping[str, npt.ArrayLike]
    ) -> Travel:
        """Travel backed by read-only int64 copies of the given matrices (same modes in both)."""
        if set(durations) != set(distances):
            raise ValueError("travel durations and distances must cover the same modes")
        return cls(
            durations={m: _frozen_matrix(v, f"durations[{m}]") for m, v in durations.items()},
            distances={m: _frozen_matrix(v, f"distances[{m}]") for m, v in distances.items()},
        )

    @property
    def modes(self) -> frozenset[str]:
        """The travel modes with matrices."""
        return frozenset(self.durations)

    def duration(self, mode: str, a: int, b: int) -> int:
        """Seconds from location ``a`` to ``b`` in ``mode``."""
        return int(self.durations[mode][a][b])

    def distance(self, mode: str, a: int, b: int) -> int:
        """Metres from location ``a`` to ``b`` in ``mode``."""
        return int(self.distances[mode][a][b])

    def duration_matrix(self, mode: str) -> npt.NDArray[np.int64]:
        """The durations of ``mode`` as an int64 array (no copy when stored as one)."""
        return np.asarray(self.durations[mode], dtype=np.int64)

    def distance_matrix(self, mode: str) -> npt.NDArray[np.int64]:
        """The distances of ``mode`` as an int64 array (no copy when stored as one)."""
        return np.asarray(self.distances[mode], dtype=np.int64)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Travel):
            return NotImplemented
        return _same_matrices(self.durations, other.durations) and _same_matrices(
            self.distances, other.distances
        )


def _same_matrices(a: Mapping[str, Matrix], b: Mapping[str, Matrix]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[m], b[m]) for m in a)


@dataclass(frozen=True)
class DispatchProblem:
    """Workers, jobs and travel for one plan (one day, one area).

    Not slotted, so that the id indexes below are computed once per problem and cached.
    """

    name: str
    epoch: str
    locations: tuple[tuple[float, float], ...]
    workers: tuple[Worker, ...]
    jobs: tuple[Job, ...]
    travel: Travel | None = None
    weights: Weights = Weights()
    horizon: int = 24 * 3600
    version: str = SCHEMA_VERSION

    def __post_init__(self) -> None:
        n = len(self.locations)
        ids = [w.id for w in self.workers]
        if len(set(ids)) != len(ids):
            raise ValueError("worker ids must be unique")
        job_ids = [j.id for j in self.jobs]
        if len(set(job_ids)) != len(job_ids):
            raise ValueError("job ids must be unique")
        for w in self.workers:
            if not (0 <= w.start_location < n and 0 <= w.end_location < n):
                raise ValueError(f"worker {w.id} refers to a missing location")
        for j in self.jobs:
            if not 0 <= j.location < n:
                raise ValueError(f"job {j.id} refers to a missing location")
            if j.pair is not None:
                other = self.job_index.get(j.pair)
                if other is None or other.pair != j.id:
                    raise ValueError(f"job {j.id}'s pair {j.pair} does not point back")
        if self.travel is not None:
            for mode, matrix in self.travel.durations.items():
                if len(matrix) != n or any(len(row) != n for row in matrix):
                    raise ValueError(f"travel matrix for {mode} is not {n}×{n}")

    @cached_property
    def job_index(self) -> Mapping[str, Job]:
        """Jobs by id."""
        return MappingProxyType({j.id: j for j in self.jobs})

    @cached_property
    def worker_index(self) -> Mapping[str, Worker]:
        """Workers by id."""
        return MappingProxyType({w.id: w for w in self.workers})

    def job(self, job_id: str) -> Job:
        """The job with this id."""
        return self.job_index[job_id]

    def worker(self, worker_id: str) -> Worker:
        """The worker with this id."""
        return self.worker_index[worker_id]

    @property
    def modes(self) -> frozenset[str]:
        """Travel modes the workers use."""
        return frozenset(w.travel_mode for w in self.workers)


def service_seconds_for(job: Job, worker: Worker) -> int:
    """The time ``worker`` needs for ``job``: a more skilled worker is quicker."""
    if job.main_skill is None:
        return job.service_seconds
    level = max(1, min(5, worker.skill_level(job.main_skill) or 3))
    return job.service_seconds * LEVEL_SERVICE_PERCENT[level] // 100


class ReasonCode(StrEnum):
    """Why a job was left unassigned."""

    NO_SKILL = "no_skill"
    NO_CERTIFICATE = "no_certificate"
    NO_MATCHING_WORKER = "no_matching_worker"
    NO_SHIFT = "no_shift"
    CAPACITY = "capacity"
    UNREACHABLE = "unreachable_in_time"
    DROPPED_FOR_COST = "dropped_for_cost"
    NO_SOLUTION = "no_solution"


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason a job is unassigned, with a human-readable detail."""

    code: ReasonCode
    detail: str
    workers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Stop:
    """A visit on a route: when the worker arrives, starts and ends, and the leg before it."""

    job_id: str
    location: int
    arrival: int
    start: int
    end: int
    travel_seconds: int
    travel_metres: int
    lateness: int = 0


@dataclass(frozen=True, slots=True)
class BreakTaken:
    """A break placed on a route."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Route:
    """One worker's day."""

    worker_id: str
    start: int
    end: int
    stops: tuple[Stop, ...]
    breaks: tuple[BreakTaken, ...] = ()
    travel_seconds: int = 0
    travel_metres: int = 0
    service_seconds: int = 0

    @property
    def job_ids(self) -> list[str]:
        """The jobs in visiting order."""
        return [s.job_id for s in self.stops]


@dataclass(frozen=True, slots=True)
class Unassigned:
    """A job left out of the plan, with why."""

    job_id: str
    reasons: tuple[Reason, ...]
    penalty: int = 0


@dataclass(frozen=True, slots=True)
class Solution:
    """Routes for the workers, unassigned jobs with reasons, and how the solve went."""

    problem_name: str
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    objective: int
    stats: Mapping[str, int | float | str] = field(default_factory=dict)
    version: str = SCHEMA_VERSION

    def route_of(self, worker_id: str) -> Route | None:
        """The route of a worker, if it has one."""
        for r in self.routes:
            if r.worker_id == worker_id:
                return r
        return None

    @property
    def assigned_job_ids(self) -> set[str]:
        """Every job placed on some route."""
        return {s.job_id for r in self.routes for s in r.stops}

    @property
    def total_travel_seconds(self) -> int:
        """Travel time over all routes."""
        return sum(r.travel_seconds for r in self.routes)

    @property
    def total_travel_metres(self) -> int:
        """Travel distance over all routes."""
        return sum(r.travel_metres for r in self.routes)
