"""Run routing engines on VRPLIB VRPTW instances and compare them to the best-known distances.

    python benchmarks/vrptw.py ../shared/benchmarks/vrptw/solomon --time-limit 10 \
        --engines pyvrp,vroom --out results.csv

Every solution is re-checked by ``dispatch.check``; see ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dispatch.bench.engines import ENGINES
from dispatch.bench.vrptw import (
    HEADER,
    Result,
    format_row,
    format_summary,
    run,
    summarize,
    write_csv,
)

__all__ = ["Result", "main", "run"]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; exits non-zero when some run is infeasible or incomplete."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("files", nargs="+", help=".vrp files, or directories of them")
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per engine run")
    ap.add_argument("--engines", default="pyvrp,vroom", help="comma-separated engine names")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--vroom-exploration", type=int, default=5, help="VROOM level 0-5")
    ap.add_argument("--out", help="write the results to this CSV file")
    args = ap.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        ap.error(f"unknown engines {unknown}; known: {sorted(ENGINES)}")

    def show(r: Result) -> None:
        print(format_row(r), flush=True)

    print(f"{HEADER} {'time':>8}")
    results = run(
        args.files,
        engines,
        args.time_limit,
        args.seed,
        vroom_exploration=args.vroom_exploration,
        on_result=show,
    )
    print()
    print(format_summary(summarize(results)))
    if args.out:
        write_csv(results, args.out)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
