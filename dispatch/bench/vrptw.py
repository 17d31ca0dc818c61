"""Solomon / Gehring–Homberger VRPTW instances as dispatch problems, and the benchmark run.

DIMACS convention: each arc is the Euclidean distance truncated to one decimal, kept as an integer
number of tenths; travel time equals distance; service times and windows are scaled by 10 too.
The benchmark objective is total distance (tenths ÷ 10 compare to the best-known ``distance_only``
values in ``bks.csv``), computed here from the matrix for every engine alike.
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from dispatch.bench.engines import get_engine, schedule, vroom_engine
from dispatch.check import check
from dispatch.problem import DispatchProblem, Job, Solution, Travel, Window, Worker

MODE = "bench"
SCALE = 10
# Far above any route's length, so an engine drops a customer only when it cannot place it.
DROP_PENALTY = 1_000_000_000
EPOCH = "2000-01-01T00:00:00+00:00"


def default_data_dir() -> Path:
    """``$LINLI_VRPTW_DIR``, else ``shared/benchmarks/vrptw`` beside the repository."""
    env = os.environ.get("LINLI_VRPTW_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "vrptw"


def dimacs_matrix(coords: Sequence[Sequence[float]]) -> tuple[tuple[int, ...], ...]:
    """Euclidean distances in tenths, truncated (exact integer arithmetic for integer coords)."""
    pts = [(float(x), float(y)) for x, y in coords]
    integral = all(x.is_integer() and y.is_integer() for x, y in pts)

    def arc(a: tuple[float, float], b: tuple[float, float]) -> int:
        dx, dy = a[0] - b[0], a[1] - b[1]
        if integral:
            return math.isqrt(int(100 * (dx * dx + dy * dy)))
        return math.floor(10 * math.hypot(dx, dy))

    return tuple(tuple(arc(a, b) for b in pts) for a in pts)


def read(path: str | Path) -> DispatchProblem:
    """A VRPLIB CVRPTW instance as a problem: ``VEHICLES`` workers at the depot, one job each."""
    import vrplib

    inst: dict[str, Any] = vrplib.read_instance(str(path), compute_edge_weights=False)
    coords = np.asarray(inst["node_coord"])
    n = len(coords)
    depot = int(np.asarray(inst.get("depot", [0]))[0])
    tw = np.rint(np.asarray(inst["time_window"], dtype=float) * SCALE).astype(int)
    service = np.broadcast_to(np.asarray(inst.get("service_time", 0), dtype=float), (n,)).copy()
    service[depot] = 0
    service_s = np.rint(service * SCALE).astype(int)
    demand = np.asarray(inst.get("demand", np.zeros(n)), dtype=int)
    matrix = dimacs_matrix(coords.tolist())
    shift = Window(int(tw[depot][0]), int(tw[depot][1]))
    vehicles = int(inst.get("vehicles", n - 1))
    width = len(str(vehicles))
    workers = tuple(
        Worker(f"v{k:0{width}d}", depot, depot, shift, MODE, capacity=int(inst["capacity"]))
        for k in range(1, vehicles + 1)
    )
    jobs = tuple(
        Job(
            str(i),
            i,
            (Window(int(tw[i][0]), int(tw[i][1])),),
            int(service_s[i]),
            demand=int(demand[i]),
            drop_penalty=DROP_PENALTY,
        )
        for i in range(n)
        if i != depot
    )
    return DispatchProblem(
        name=str(inst.get("name", Path(path).stem)),
        epoch=EPOCH,
        locations=tuple((float(x), float(y)) for x, y in coords),
        workers=workers,
        jobs=jobs,
        travel=Travel({MODE: matrix}, {MODE: matrix}),
        horizon=shift.end,
    )


def read_solution(problem: DispatchProblem, path: str | Path) -> Solution:
    """A VRPLIB ``.sol`` (routes of customer indices) as a solution of ``problem``."""
    import vrplib

    sol: dict[str, Any] = vrplib.read_solution(str(path))
    routes = [r for r in sol["routes"] if len(r)]
    if len(routes) > len(problem.workers):
        raise ValueError(f"{path}: {len(routes)} routes for {len(problem.workers)} vehicles")
    orders = {w.id: [str(int(c)) for c in r] for w, r in zip(problem.workers, routes, strict=False)}
    solution = schedule(problem, orders, stats={"engine": "bks"})
    return _with_distance(problem, solution)


def solution_distance(problem: DispatchProblem, solution: Solution) -> int:
    """Total distance in tenths: the sum of matrix arcs along every route, depot to depot."""
    assert problem.travel is not None
    total = 0
    for route in solution.routes:
        worker = problem.worker(route.worker_id)
        mode = worker.travel_mode
        path = [worker.start_location, *(s.location for s in route.stops), worker.end_location]
        total += sum(problem.travel.distance(mode, a, b) for a, b in pairwise(path))
    return total


def _with_distance(problem: DispatchProblem, solution: Solution) -> Solution:
    return Solution(
        solution.problem_name,
        solution.routes,
        solution.unassigned,
        solution_distance(problem, solution),
        solution.stats,
    )


def load_bks(path: str | Path | None = None) -> dict[str, float]:
    """Best-known distances (``distance_only`` rows, DIMACS) by instance name."""
    path = Path(path) if path is not None else default_data_dir() / "bks.csv"
    with path.open(newline="") as f:
        return {
            row["instance"]: float(row["distance"])
            for row in csv.DictReader(f)
            if row["objective"] == "distance_only"
        }


def find_bks(instance_path: Path) -> dict[str, float]:
    """The ``bks.csv`` nearest above an instance file, else the default one (empty if none)."""
    for parent in list(instance_path.resolve().parents)[:3]:
        if (parent / "bks.csv").is_file():
            return load_bks(parent / "bks.csv")
    default = default_data_dir() / "bks.csv"
    return load_bks(default) if default.is_file() else {}


def gap(distance: float, bks: float) -> float:
    """Relative gap to the best-known value: (ours − bks) / bks."""
    return (distance - bks) / bks


@dataclass(frozen=True, slots=True)
class Result:
    """One engine on one instance."""

    instance: str
    engine: str
    vehicles: int
    distance: float
    bks: float | None
    gap: float | None
    feasible: bool
    dropped: int
    seconds: float
    violations: tuple[str, ...] = field(default_factory=tuple)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Feasible, every customer served, no error: a run whose gap counts."""
        return self.feasible and self.dropped == 0 and self.error is None


def expand(files: Iterable[str | Path]) -> list[Path]:
    """Files as given; a directory stands for its ``*.vrp`` files, sorted."""
    out: list[Path] = []
    for f in map(Path, files):
        out += sorted(f.glob("*.vrp")) if f.is_dir() else [f]
    return out


def run_one(
    problem: DispatchProblem,
    engine: str,
    time_limit: float,
    seed: int,
    bks: float | None,
    *,
    vroom_exploration: int | None = None,
) -> Result:
    """Solve with one engine, re-check the solution independently, measure distance and gap."""
    fn = vroom_engine(vroom_exploration) if engine == "vroom" and vroom_exploration else None
    fn = fn or get_engine(engine)
    t0 = time.perf_counter()
    try:
        solution = fn(problem, time_limit, seed)
    except Exception as exc:  # a failed engine is a result of the benchmark, not a crash
        seconds = time.perf_counter() - t0
        return Result(
            problem.name, engine, 0, 0.0, bks, None, False, 0, seconds, (), f"{exc!r}"[:200]
        )
    seconds = time.perf_counter() - t0
    hard = [v for v in check(problem, solution) if v.hard]
    distance = solution_distance(problem, solution) / SCALE
    return Result(
        instance=problem.name,
        engine=engine,
        vehicles=sum(1 for r in solution.routes if r.stops),
        distance=distance,
        bks=bks,
        gap=gap(distance, bks) if bks else None,
        feasible=not hard,
        dropped=len(solution.unassigned),
        seconds=seconds,
        violations=tuple(f"{v.code}:{v.job_id or v.worker_id}" for v in hard[:5]),
    )


def run(
    files: Iterable[str | Path],
    engines: Sequence[str],
    time_limit: float,
    seed: int = 1,
    *,
    vroom_exploration: int | None = None,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Every engine on every instance, one after another (never in parallel)."""
    results: list[Result] = []
    for path in expand(files):
        problem = read(path)
        bks = find_bks(path).get(problem.name)
        for engine in engines:
            res = run_one(
                problem, engine, time_limit, seed, bks, vroom_exploration=vroom_exploration
            )
            results.append(res)
            if on_result is not None:
                on_result(res)
    return results


HEADER = f"{'instance':<10} {'engine':<7} {'veh':>4} {'distance':>10} {'gap %':>7}  {'ok':<10}"


def format_row(r: Result) -> str:
    """One table line."""
    gap_s = f"{100 * r.gap:7.2f}" if r.gap is not None else f"{'-':>7}"
    status = (
        "ERROR"
        if r.error
        else "yes"
        if r.ok
        else f"DROP {r.dropped}"
        if r.feasible
        else f"NO ({len(r.violations)}+)"
    )
    return (
        f"{r.instance:<10} {r.engine:<7} {r.vehicles:>4} {r.distance:>10.1f} {gap_s}  "
        f"{status:<10} {r.seconds:6.1f} s"
    )


def format_table(results: Sequence[Result]) -> str:
    """The results as a fixed-width table."""
    return "\n".join([f"{HEADER} {'time':>8}", *(format_row(r) for r in results)])


@dataclass(frozen=True, slots=True)
class Summary:
    """One engine over all instances; the mean gap is over its ``ok`` runs with a BKS."""

    engine: str
    runs: int
    ok: int
    mean_gap: float | None
    within_0_1: int
    failed: int
    mean_seconds: float


def summarize(results: Sequence[Result]) -> list[Summary]:
    """Per engine, in first-seen order."""
    out: list[Summary] = []
    for engine in dict.fromkeys(r.engine for r in results):
        rs = [r for r in results if r.engine == engine]
        gaps = [r.gap for r in rs if r.ok and r.gap is not None]
        out.append(
            Summary(
                engine=engine,
                runs=len(rs),
                ok=sum(r.ok for r in rs),
                mean_gap=sum(gaps) / len(gaps) if gaps else None,
                within_0_1=sum(g <= 0.001 for g in gaps),
                failed=sum(not r.ok for r in rs),
                mean_seconds=sum(r.seconds for r in rs) / len(rs),
            )
        )
    return out


def format_summary(summaries: Sequence[Summary]) -> str:
    """The summary as text."""
    lines = []
    for s in summaries:
        mean = f"{100 * s.mean_gap:.2f} %" if s.mean_gap is not None else "-"
        lines.append(
            f"{s.engine:<7} mean gap {mean} over {s.ok}/{s.runs}; within 0.1 %: {s.within_0_1}; "
            f"infeasible, incomplete or failed: {s.failed}; mean {s.mean_seconds:.1f} s"
        )
    return "\n".join(lines)


def write_csv(results: Sequence[Result], path: str | Path) -> None:
    """The results, one row each."""
    rows = [asdict(r) | {"violations": " ".join(r.violations), "ok": r.ok} for r in results]
    names = [*(rows[0] if rows else dict.fromkeys(Result.__dataclass_fields__))]
    with Path(path).open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=names)
        w.writeheader()
        w.writerows(rows)
