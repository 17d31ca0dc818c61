"""A large day (10,000 orders) through decomposition: parts solved by real Celery workers.

    python benchmarks/large_day.py --orders 10000 --workers 1500 --time-limit 120 \
        --celery-workers 2 --long-time-limit 600

Splits a realistic day over the demo city into self-contained parts, starts ``--celery-workers``
worker processes (solo pool, one core each) on a Redis broker (``--broker``, a fresh queue), sends
every part as a ``dispatch.solve_part`` task with its share of the time, and stitches the plans.
Then, for comparison, solves the same parts one after another in this process with
``--long-time-limit`` seconds in all (the long run). Every part's plan is re-checked by
``dispatch.check`` with its own travel. Prints wall time, jobs planned, travel and objective.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.celery_app import create_celery
from core.settings import Settings
from dispatch import jsonio
from dispatch.check import check
from dispatch.decompose import (
    CompactPart,
    explain_orphans,
    part_time_limits,
    restore,
    split,
    stitch,
)
from dispatch.demo_problem import realistic_day
from dispatch.problem import DispatchProblem, Priority, Solution
from dispatch.solver import SolveParams, solve
from dispatch.travel import HaversineTravel, with_travel


@dataclass
class Outcome:
    """How one way of solving the parts went."""

    name: str
    wall_s: float
    solution: Solution
    hard_violations: int


def _params(seed: int, limit: float) -> dict[str, float | int]:
    return {"time_limit_s": limit, "seed": seed}


def _checked(parts: Sequence[CompactPart], solutions: Sequence[Solution]) -> int:
    """Hard violations over all parts, each checked on its own (travel filled like the solver)."""
    hard = 0
    for part, solution in zip(parts, solutions, strict=True):
        sub = with_travel(part.problem, HaversineTravel())
        hard += sum(1 for v in check(sub, solution) if v.hard)
    return hard


def _start_workers(n: int, env: dict[str, str], folder: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(n):
        log = (folder / f"worker-{i}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "celery", "-A", "api.worker", "worker", "--pool=solo"),
                    *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                    f"--queues={env['LINLI_TASK_QUEUE']}",
                    f"--hostname=bench-{i}-{uuid.uuid4().hex[:6]}@%h",
                    "--loglevel=WARNING",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return procs


def by_celery(
    day: DispatchProblem,
    parts: Sequence[CompactPart],
    limit: float,
    workers: int,
    broker: str,
    seed: int,
) -> Outcome:
    """Send every part to ``workers`` real worker processes; stitch what comes back."""
    queue = f"linli-bench-{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
        env |= {"LINLI_BROKER_URL": broker, "LINLI_TASK_QUEUE": queue, "LINLI_DATA_DIR": tmp}
        procs = _start_workers(workers, env, Path(tmp))
        try:
            app = create_celery(
                Settings(_env_file=None, data_dir=Path(tmp), broker_url=broker, task_queue=queue)
            )
            limits = part_time_limits(parts, limit, workers)
            # Workers start in about a second; the wall time counts from the first send.
            started = time.monotonic()
            pending = [
                app.send_task(
                    "dispatch.solve_part",
                    args=[jsonio.problem_to_dict(p.problem), _params(seed, t)],
                )
                for p, t in zip(parts, limits, strict=True)
            ]
            results = [r.get(timeout=limit * 4 + 600) for r in pending]
            wall = time.monotonic() - started
            app.close()
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise SystemExit(f"{len(errors)} parts failed: {errors[0]}")
    compact = [jsonio.solution_from_dict(r["solution"]) for r in results]
    return _outcome("celery", day, parts, compact, wall)


def in_one_process(
    day: DispatchProblem, parts: Sequence[CompactPart], limit: float, seed: int
) -> Outcome:
    """The long run: every part in turn in this process, sharing ``limit`` seconds by size."""
    limits = part_time_limits(parts, limit, 1, min_part_seconds=0.5)
    started = time.monotonic()
    compact = []
    for part, t in zip(parts, limits, strict=True):
        sub = with_travel(part.problem, HaversineTravel())
        compact.append(solve(sub, SolveParams(time_limit_s=t, seed=seed)))
    return _outcome("long run", day, parts, compact, time.monotonic() - started)


def _outcome(
    name: str,
    day: DispatchProblem,
    parts: Sequence[CompactPart],
    compact: Sequence[Solution],
    wall: float,
) -> Outcome:
    hard = _checked(parts, compact)
    restored = [restore(s, p.locations) for p, s in zip(parts, compact, strict=True)]
    _, orphans = split(day)
    stitched = stitch(day.name, restored, explain_orphans(day, orphans), {"parts": len(parts)})
    return Outcome(name, wall, stitched, hard)


def describe(day: DispatchProblem, o: Outcome) -> str:
    """One line of figures."""
    s = o.solution
    assigned = s.assigned_job_ids
    protected = [j for j in day.jobs if j.priority >= Priority.PROTECTED]
    kept = sum(1 for j in protected if j.id in assigned)
    return (
        f"{o.name:>9}: wall {o.wall_s:7.1f} s; {len(assigned)}/{len(day.jobs)} jobs planned; "
        f"protected/urgent kept {kept}/{len(protected)}; "
        f"travel {s.total_travel_seconds / 3600:.1f} h; "
        f"objective {s.objective}; hard violations {o.hard_violations}"
    )


def main() -> int:
    """Run the benchmark; exit 1 on any hard violation."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=1_500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--celery-workers", type=int, default=2, help="0 skips the Celery run")
    ap.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    ap.add_argument("--long-time-limit", type=float, default=600.0, help="0 skips the long run")
    args = ap.parse_args()

    t0 = time.monotonic()
    day = realistic_day(args.orders, args.workers, args.seed)
    parts, orphans = split(day)
    print(
        f"day: {len(day.jobs)} jobs ({args.orders} orders), {len(day.workers)} workers, "
        f"{len(day.locations)} locations; {len(parts)} parts (largest "
        f"{max(len(p.problem.jobs) for p in parts)} jobs, {len(orphans)} jobs nobody may do); "
        f"generated and split in {time.monotonic() - t0:.1f} s",
        flush=True,
    )
    outcomes = []
    if args.celery_workers > 0:
        outcomes.append(
            by_celery(day, parts, args.time_limit, args.celery_workers, args.broker, args.seed)
        )
        print(describe(day, outcomes[-1]), flush=True)
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak memory of a worker process: {children:.0f} MB", flush=True)
    if args.long_time_limit > 0:
        outcomes.append(in_one_process(day, parts, args.long_time_limit, args.seed))
        print(describe(day, outcomes[-1]), flush=True)
    if len(outcomes) == 2:
        a, b = (o.solution for o in outcomes)
        print(
            f"decomposed in parallel vs long run: objective {a.objective - b.objective:+d} "
            f"({(a.objective - b.objective) / b.objective:+.2%}), jobs planned "
            f"{len(a.assigned_job_ids) - len(b.assigned_job_ids):+d}, travel "
            f"{(a.total_travel_seconds - b.total_travel_seconds) / 3600:+.1f} h"
        )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {own:.0f} MB")
    return 1 if any(o.hard_violations for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
