"""``linli serve`` end to end: the API and its Celery worker process, started and stopped together.

Runs the real console script in a subprocess, as ``make run`` does: on the embedded default (a
SQLite database and broker in a fresh data folder) and on a fresh PostgreSQL database with the
machine's Redis. After SIGTERM no worker process may be left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import BACKENDS, _pg_admin, _pg_url, redis_url, require_redis

HEALTH_TIMEOUT_S = 60.0
STACKS = ["embedded"] + (["postgresql-redis"] if "postgresql" in BACKENDS else [])
LINLI = str(Path(sys.executable).with_name("linli"))


@dataclass(frozen=True)
class Stack:
    """Where a served Linli keeps its data, as environment variables."""

    env: dict[str, str]
    cwd: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> set[int]:
    """Direct children of ``pid``, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def _wait_gone(pid: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def _kill_session(proc: subprocess.Popen[bytes]) -> None:
    """Kill a process started with ``start_new_session`` and anything left in its group."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env["LINLI_DATA_DIR"] = str(data_dir)
    return env


def _admin_execute(statement: str) -> None:
    admin = _pg_admin()
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    """A migrated, empty Linli: SQLite + embedded broker, or a new PostgreSQL database + Redis."""
    env = _base_env(tmp_path / "var")
    database: str | None = None
    if request.param == "postgresql-redis":
        url = redis_url(14)
        require_redis(url)
        database = f"linli_serve_{uuid.uuid4().hex[:12]}"
        _admin_execute(f'CREATE DATABASE "{database}"')
        env["LINLI_DATABASE_URL"] = _pg_url(database)
        env["LINLI_BROKER_URL"] = url
    try:
        done = subprocess.run(
            [LINLI, "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        yield Stack(env=env, cwd=tmp_path)
    finally:
        if database is not None:
            _admin_execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@dataclass
class Served:
    """A running ``linli serve`` and its log."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no log)"


@pytest.fixture
def served(stack: Stack) -> Iterator[Served]:
    """``linli serve`` in its own session; everything in it is killed at teardown regardless."""
    port = _free_port()
    log = stack.cwd / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [LINLI, "serve", "--port", str(port)],
            cwd=stack.cwd,
            env=stack.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group to clean up even if the test fails
        )
    try:
        yield Served(proc=proc, port=port, log=log)
    finally:
        _kill_session(proc)


def _wait_healthy(served: Served) -> dict[str, object]:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if served.proc.poll() is not None:
            pytest.fail(f"linli serve exited with {served.proc.returncode}:\n{served.log_text()}")
        try:
            response = httpx.get(f"http://127.0.0.1:{served.port}/health", timeout=5)
        except httpx.TransportError as exc:
            last = repr(exc)
        else:
            if response.status_code == 200:
                body: dict[str, object] = response.json()
                return body
            last = f"{response.status_code} {response.text}"
        time.sleep(0.25)
    pytest.fail(f"/health not 200 after {HEALTH_TIMEOUT_S:.0f} s ({last}):\n{served.log_text()}")


def test_serve_runs_api_and_worker_and_stops_both(stack: Stack, served: Served) -> None:
    health = _wait_healthy(served)
    expected = "sqlite" if "LINLI_DATABASE_URL" not in stack.env else "postgresql"
    broker = "sqla+sqlite" if "LINLI_BROKER_URL" not in stack.env else "redis"
    assert health["database"] == {"ok": True, "kind": expected, "detail": ""}
    assert health["broker"] == {"ok": True, "kind": broker, "detail": ""}

    response = httpx.get(f"http://127.0.0.1:{served.port}/health/worker", timeout=40)
    assert response.status_code == 200, f"{response.text}\n{served.log_text()}"
    answer = response.json()
    assert answer["ok"] is True
    worker_pid = int(answer["worker"].rsplit(":", 1)[1])
    assert worker_pid != served.proc.pid
    assert worker_pid in _children(served.proc.pid), "the answer came from another worker"

    served.proc.send_signal(signal.SIGTERM)
    try:
        code = served.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"linli serve ignored SIGTERM for 30 s:\n{served.log_text()}")
    assert _wait_gone(worker_pid), f"worker {worker_pid} outlived the server (orphan)"
    assert code == 0, served.log_text()  # a graceful stop, not death by signal


def test_serve_stops_the_worker_even_when_killed(stack: Stack, served: Served) -> None:
    """SIGKILL leaves no chance to clean up: the worker follows its parent (PR_SET_PDEATHSIG)."""
    _wait_healthy(served)
    deadline = time.monotonic() + 10
    while not (workers := _children(served.proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers) == 1, workers
    (worker_pid,) = workers
    served.proc.kill()
    served.proc.wait(timeout=10)
    assert _wait_gone(worker_pid), f"worker {worker_pid} outlived a killed server (orphan)"


def test_linli_worker_is_the_celery_process(tmp_path: Path) -> None:
    """``linli worker`` execs Celery, so a supervisor's SIGTERM reaches the worker itself."""
    env = _base_env(tmp_path / "var")
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [LINLI, "worker"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while " ready." not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker did not come up:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        assert _children(proc.pid) == set()  # solo pool: no child processes at all
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        assert code == 0, log.read_text(errors="replace")
        assert "Warm shutdown" in log.read_text(errors="replace")
    finally:
        _kill_session(proc)
