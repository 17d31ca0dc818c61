"""Quote throughput and latency over the demo city.

    python benchmarks/quotes.py --quotes 2000 [--database-url URL]

Seeds the demo city into a fresh SQLite file (or uses ``--database-url``, which must already
hold a seeded city), then quotes random (member, provider, item, time) combinations one after
another in one process, each in its own read-only session as a request would. Prints quotes per
second and the latency percentiles.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path

from sqlmodel import Session, select

from api.dbadmin import upgrade
from core.db import make_engine, read_only, unit_of_work
from core.timeutil import local_datetime
from marketplace.catalog.models import Item
from marketplace.demo.seed import seed_demo
from marketplace.households.models import Member
from marketplace.orders import quoting
from marketplace.providers.models import Provider


def main() -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--quotes", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--database-url", help="a database with the demo city already seeded")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        engine = make_engine(url)
        if args.database_url is None:
            upgrade(url)
            t0 = time.monotonic()
            with unit_of_work(engine) as session:
                seed_demo(session, seed=2026, start_date=date(2026, 11, 23), progress=False)
            print(f"seeded the demo city in {time.monotonic() - t0:.1f} s")
        with Session(engine) as session:
            members = [i for i in session.exec(select(Member.id)).all() if i is not None]
            providers = [i for i in session.exec(select(Provider.id)).all() if i is not None]
            items = [i for i in session.exec(select(Item.id)).all() if i is not None]
        rng = random.Random(args.seed)
        day = date(2026, 11, 30)
        latencies: list[float] = []
        subsidised = 0
        started = time.monotonic()
        for _ in range(args.quotes):
            hour = rng.randrange(7, 20)
            t = time.perf_counter()
            with read_only(engine) as session:
                q = quoting.quote(
                    session,
                    member_id=rng.choice(members),
                    provider_id=rng.choice(providers),
                    item_id=rng.choice(items),
                    start=local_datetime(day, clock(hour, 0)),
                    minutes=rng.choice([60, 90, 120]),
                    ordered_at=local_datetime(day - timedelta(days=1), clock(9, 0)),
                )
            latencies.append(time.perf_counter() - t)
            subsidised += q.subsidy_fen > 0
        wall = time.monotonic() - started
        engine.dispose()
    ms = sorted(x * 1000 for x in latencies)

    def pick(percent: int) -> float:
        return ms[min(len(ms) - 1, int(percent / 100 * len(ms)))]

    print(
        f"{len(ms)} quotes in {wall:.1f} s: {len(ms) / wall:.0f} quotes/s on one thread; "
        f"latency p50 {pick(50):.1f} ms, p95 {pick(95):.1f} ms, p99 {pick(99):.1f} ms, "
        f"max {ms[-1]:.1f} ms, mean {statistics.fmean(ms):.1f} ms; {subsidised} subsidised"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
