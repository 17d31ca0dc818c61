"""A realistic day over the demo city: plan it, check it, and insert one urgent order.

    python benchmarks/realistic_day.py --orders 2000 --workers 300 --time-limit 60

Prints the plan's size and quality, the independent checker's verdict, peak memory, and the
time and number of changed routes to insert one urgent order into the planned day.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from collections import Counter
from dataclasses import replace

from dispatch.check import check
from dispatch.decompose import components, solve_by_parts
from dispatch.demo_problem import realistic_day_with_travel
from dispatch.eligibility import eligible
from dispatch.problem import DispatchProblem, JobKind, Priority, Solution, Window
from dispatch.reoptimize import insert_jobs
from dispatch.solver import SolveParams, solve


def main() -> int:
    """Run the benchmark; exit 1 on any hard violation."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--pyvrp-share", type=float, default=0.0)
    ap.add_argument(
        "--monolithic",
        type=float,
        default=0.0,
        metavar="S",
        help="also solve the whole day as one model for S seconds and compare (0: skip)",
    )
    args = ap.parse_args()

    t0 = time.monotonic()
    problem = realistic_day_with_travel(args.orders, args.workers, args.seed)
    t1 = time.monotonic()
    parts = components(problem)
    print(
        f"problem: {len(problem.jobs)} jobs ({args.orders} orders), {len(problem.workers)} "
        f"workers, {len(problem.locations)} locations, {len(parts)} independent parts "
        f"(largest {max(len(p.jobs) for p in parts)} jobs); built in {t1 - t0:.1f} s"
    )
    params = SolveParams(time_limit_s=args.time_limit, seed=args.seed, pyvrp_share=args.pyvrp_share)
    solution = solve_by_parts(problem, params)
    t2 = time.monotonic()
    hard = [v for v in check(problem, solution) if v.hard]
    kinds = Counter(j.kind.value for j in problem.jobs if j.id not in solution.assigned_job_ids)
    reasons = Counter(u.reasons[0].code.value for u in solution.unassigned)
    protected = [j for j in problem.jobs if j.priority >= Priority.PROTECTED]
    kept = sum(1 for j in protected if j.id in solution.assigned_job_ids)
    print(
        f"plan: {len(solution.assigned_job_ids)}/{len(problem.jobs)} jobs assigned on "
        f"{len(solution.routes)} routes in {t2 - t1:.1f} s (limit {args.time_limit:.0f} s); "
        f"travel {solution.total_travel_seconds / 3600:.0f} h; protected/urgent kept "
        f"{kept}/{len(protected)}; hard violations {len(hard)}"
    )
    print(f"unassigned by kind {dict(kinds)}; by first reason {dict(reasons)}")
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")

    rng = random.Random(args.seed)
    template = rng.choice(
        [j for j in problem.jobs if j.kind is JobKind.SERVICE and j.id in solution.assigned_job_ids]
    )
    now = 10 * 3600
    urgent = replace(
        template,
        id="urgent-1",
        windows=(Window(now + 1800, now + 4 * 3600),),
        priority=Priority.URGENT,
        preferred_workers=(),
        pinned_worker=None,
    )
    assert any(eligible(urgent, w) for w in problem.workers)
    t3 = time.monotonic()
    result = insert_jobs(problem, solution, [urgent], now=now)
    t4 = time.monotonic()
    placed = "urgent-1" in result.solution.assigned_job_ids
    print(
        f"urgent insert at 10:00: {'placed' if placed else 'NOT placed'} in {t4 - t3:.2f} s; "
        f"routes changed {len(result.changed_routes)} of {len(solution.routes)}; "
        f"visits moved to another worker {result.moved_visits}; "
        f"neighbourhood {len(result.neighbourhood)} routes"
    )
    if args.monolithic > 0 and _monolithic(problem, solution, args.monolithic, args.seed):
        return 1
    return 1 if hard else 0


def _monolithic(problem: DispatchProblem, by_parts: Solution, limit: float, seed: int) -> int:
    """Solve the whole day as one OR-Tools model; print how it compares with the parts."""
    t0 = time.monotonic()
    whole = solve(problem, SolveParams(time_limit_s=limit, seed=seed))
    took = time.monotonic() - t0
    hard = sum(1 for v in check(problem, whole) if v.hard)
    a, b = len(by_parts.assigned_job_ids), len(whole.assigned_job_ids)
    print(
        f"one model ({limit:.0f} s): {b}/{len(problem.jobs)} jobs assigned in {took:.1f} s "
        f"({whole.stats.get('solutions')} solutions); travel "
        f"{whole.total_travel_seconds / 3600:.0f} h; objective {whole.objective}; hard "
        f"violations {hard}; peak memory "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    print(
        f"parts vs one model: objective {by_parts.objective - whole.objective:+d} "
        f"({(by_parts.objective - whole.objective) / whole.objective:+.2%}), jobs assigned "
        f"{a - b:+d}, travel "
        f"{(by_parts.total_travel_seconds - whole.total_travel_seconds) / 3600:+.1f} h"
    )
    return hard


if __name__ == "__main__":
    raise SystemExit(main())
