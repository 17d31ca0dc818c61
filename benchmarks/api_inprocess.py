"""In-process cost of POST /quotes and POST /orders: SQL statements and milliseconds per request.

    python benchmarks/api_inprocess.py [--quotes 300] [--orders 100] [--households 60] \\
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--profile out.prof]

Creates a fresh PostgreSQL database seeded as ``benchmarks/api_load.py`` seeds it, then sends
the load benchmark's requests one at a time through httpx's ASGI transport (no network, no
uvicorn), counting the statements each request runs. ``--profile`` writes a cProfile of the
timed requests (with FastAPI's threadpool run inline, so that the profile sees all of it).
Cheaper than the Locust run, and it says where a request's time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_load import _prepare


def _bodies(person: dict[str, Any], rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    hour = rng.choice(["09", "10", "14", "15"])
    start = f"{person['day']}T{hour}:00:00+08:00"
    end_hour = {"09": "12", "10": "13", "14": "17", "15": "18"}[hour]
    quote = {
        "member": person["member"],
        "provider": person["provider"],
        "item": "domestic.cleaning",
        "start": start,
        "minutes": rng.choice([60, 90, 120]),
    }
    order = {
        "member": person["member"],
        "provider": person["provider"],
        "item": "domestic.cleaning",
        "service_date": person["day"],
        "windows": [{"starts_at": start, "ends_at": f"{person['day']}T{end_hour}:00:00+08:00"}],
        "duration_minutes": 120,
    }
    return quote, order


def _report(name: str, ms: list[float], cpu: list[float], statements: list[int]) -> None:
    ms_sorted = sorted(ms)
    p99 = ms_sorted[min(len(ms_sorted) - 1, int(len(ms_sorted) * 0.99))]
    print(
        f"{name:<12} {len(ms):>4} requests: {statistics.mean(ms):5.1f} ms mean, "
        f"p50 {statistics.median(ms):5.1f} ms, p99 {p99:5.1f} ms, "
        f"API process CPU {statistics.mean(cpu):5.1f} ms/request, "
        f"{statistics.mean(statements):.1f} statements/request "
        f"(min {min(statements)}, max {max(statements)})"
    )


def main() -> int:
    """Run the measurement and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--quotes", type=int, default=300)
    ap.add_argument("--orders", type=int, default=100)
    ap.add_argument("--households", type=int, default=60)
    ap.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--profile", help="write a cProfile of the timed requests here")
    ap.add_argument(
        "--inline-threadpool",
        action="store_true",
        help="run sync dependencies and endpoints on the event loop (what the hops cost)",
    )
    ap.add_argument("--show-sql", action="store_true", help="print one request's statements")
    ap.add_argument("--keep", action="store_true", help="keep the database (prints its URL)")
    args = ap.parse_args()

    name = f"linli_inproc_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            people = json.loads(_prepare(url, args.households, Path(tmp)).read_text())
            _run(args, people)
    finally:
        if args.keep:
            print(f"kept {url}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


def _inline_threadpool() -> None:
    """Run FastAPI's sync dependencies and endpoints on the event loop's thread, so that one
    cProfile sees the whole request (the threadpool hides it in worker threads)."""
    import fastapi.concurrency
    import fastapi.dependencies.utils
    import fastapi.routing

    async def inline(func: Any, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    for module in (fastapi.concurrency, fastapi.dependencies.utils, fastapi.routing):
        module.run_in_threadpool = inline  # type: ignore[attr-defined]


def _run(args: argparse.Namespace, people: list[dict[str, Any]]) -> None:
    from core.db import get_engine

    if args.profile or args.inline_threadpool:
        _inline_threadpool()
    from api.app import create_app

    counted = [0]
    shown: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counted[0] += 1
        shown.append(" ".join(statement.split())[:160])

    event.listen(get_engine(), "before_cursor_execute", count)
    rng = random.Random(7)
    work: list[tuple[str, dict[str, Any], dict[str, str]]] = []
    for i in range(args.quotes + args.orders):
        person = people[i % len(people)]
        headers = {"Authorization": f"Bearer {person['token']}"}
        quote, order = _bodies(person, rng)
        if i < args.quotes:
            work.append(("/quotes", quote, headers))
        else:
            work.append(("/orders", order, {**headers, "Idempotency-Key": uuid.uuid4().hex}))

    async def send_all() -> None:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for path, body, headers in work[:5] + work[-5:]:  # warm up: imports, pool, caches
                fresh = {**headers, "Idempotency-Key": uuid.uuid4().hex}
                await client.post(path, json=body, headers=fresh if path == "/orders" else headers)
            profiler = cProfile.Profile() if args.profile else None
            if profiler is not None:
                profiler.enable()
            for path, body, headers in work:
                counted[0] = 0
                shown.clear()
                t0, c0 = time.perf_counter(), time.process_time()
                response = await client.post(path, json=body, headers=headers)
                elapsed = (time.perf_counter() - t0) * 1000
                cpu = (time.process_time() - c0) * 1000
                if response.status_code >= 400:  # the demo has deceased and hospitalised members
                    failed[path] = failed.get(path, 0) + 1
                    continue
                if args.show_sql and path not in printed:
                    printed.add(path)
                    print(f"--- POST {path}", *shown, sep="\n  ")
                results[path][0].append(elapsed)
                results[path][1].append(cpu)
                results[path][2].append(counted[0])
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile)

    results: dict[str, tuple[list[float], list[float], list[int]]] = {
        "/quotes": ([], [], []),
        "/orders": ([], [], []),
    }
    failed: dict[str, int] = {}
    printed: set[str] = set()
    asyncio.run(send_all())
    for path, (ms, cpu, statements) in results.items():
        if ms:
            _report(f"POST {path}", ms, cpu, statements)
    if failed:
        print(f"refused (4xx, left out): {failed}")


if __name__ == "__main__":
    raise SystemExit(main())
