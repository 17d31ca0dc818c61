"""API load benchmark: quote and order-create over loopback against PostgreSQL, 2 API workers.

    python benchmarks/api_load.py [--users 20] [--seconds 60] [--households 600] \\
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Creates a fresh PostgreSQL database, migrates and seeds the demo city, signs up one account per
household with a member to order for, starts ``uvicorn api.app:app --workers 2`` on a free
loopback port, runs Locust headless (``benchmarks/locust_api.py``: 3 quotes to 1 order) and
prints p50, p99 and requests per second for each. Needs the ``bench`` extra (locust).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(url: str, households: int, folder: Path) -> Path:
    """Migrate and seed; one account and token per household; the people file for Locust."""
    os.environ["LINLI_DATABASE_URL"] = url
    os.environ["LINLI_ACCESS_TOKEN_MINUTES"] = "600"
    from api.auth import create_access_token
    from api.dbadmin import upgrade
    from core.db import unit_of_work
    from core.settings import get_settings
    from core.timeutil import local_date, utcnow
    from marketplace.accounts import service as accounts
    from marketplace.accounts.models import Role
    from marketplace.accounts.schemas import AccountCreate
    from marketplace.demo.seed import seed_demo
    from marketplace.households.models import Household, Member
    from marketplace.providers.models import Provider, ProviderKind

    get_settings.cache_clear()
    upgrade(url)
    today = local_date(utcnow())
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    people = []
    with unit_of_work() as session:
        seed_demo(session, seed=3, households=households, start_date=today, progress=False)
        firms = [
            p for p in session.query(Provider).all() if p.kind == ProviderKind.CLEANING_FIRM.value
        ]
        for i, home in enumerate(session.query(Household).all()):
            member = session.query(Member).filter(Member.household_id == home.id).first()
            if member is None:
                continue
            account = accounts.create_account(
                session,
                AccountCreate(
                    username=f"load{i}",
                    password="load-password-1",
                    role=Role.HOUSEHOLD,
                    household_id=home.id,
                    member_id=member.id,
                ),
            )
            people.append(
                {
                    "token": create_access_token(account)[0],
                    "member": member.public_id,
                    "provider": firms[i % len(firms)].public_id,
                    "day": day.isoformat(),
                }
            )
    path = folder / "people.json"
    path.write_text(json.dumps(people))
    return path


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("uvicorn exited before it was ready")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("uvicorn not ready after 60 s")


def main() -> int:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--households", type=int, default=600)
    ap.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()

    name = f"linli_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
    server: subprocess.Popen[bytes] | None = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            started = time.monotonic()
            people = _prepare(url, args.households, folder)
            print(f"prepared {args.households} households in {time.monotonic() - started:.1f} s")
            port = _free_port()
            env = {**os.environ, "LINLI_DATABASE_URL": url, "LINLI_DATA_DIR": str(folder)}
            server = subprocess.Popen(
                [
                    *(sys.executable, "-m", "uvicorn", "api.app:app", "--workers", "2"),
                    *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
                ],
                env=env,
            )
            _wait_ready(port, server)
            prefix = folder / "locust"
            subprocess.run(
                [
                    *(sys.executable, "-m", "locust", "-f", str(HERE / "locust_api.py")),
                    *("--headless", "-u", str(args.users), "-r", str(args.users)),
                    *("-t", f"{args.seconds}s", "--host", f"http://127.0.0.1:{port}"),
                    *("--csv", str(prefix), "--only-summary"),
                ],
                env={**env, "LINLI_LOAD_PEOPLE": str(people)},
                check=False,
            )
            with open(f"{prefix}_stats.csv", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
            print(f"\n{args.users} users, {args.seconds} s, 2 uvicorn workers, PostgreSQL")
            for row in rows:
                slowest = float(row["Max Response Time"])
                print(
                    f"{row['Name']:<16} {int(row['Request Count']):>7} requests, "
                    f"{int(row['Failure Count']):>4} failed, {float(row['Requests/s']):7.1f}/s, "
                    f"p50 {row['50%']} ms, p99 {row['99%']} ms, max {slowest:.0f} ms"
                )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
