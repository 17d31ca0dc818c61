"""A task round-trips through a real Celery worker process, on the embedded broker and on Redis.

No eager mode and no in-process worker: the worker is ``python -m celery -A api.worker worker``
in its own process, configured only through ``LINLI_*`` variables as in production; this process
is a separate client built with ``core.celery_app.create_celery``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from celery import Celery

from core.celery_app import create_celery
from core.settings import Settings
from tests.conftest import REDIS_URL

READY_TIMEOUT_S = 60.0
TASK_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RunningWorker:
    """A worker process and what a client needs to reach it."""

    proc: subprocess.Popen[bytes]
    settings: Settings
    queue: str
    log: Path


def _clean_env(data_dir: Path, broker_url: str | None) -> dict[str, str]:
    """This process's environment without any LINLI_ setting, plus the worker's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env["LINLI_DATA_DIR"] = str(data_dir)
    if broker_url:
        env["LINLI_BROKER_URL"] = broker_url
    return env


def _log_text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else "(no log)"


def _wait_until_ready(proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"worker exited with {proc.returncode} before it was ready:\n{_log_text(log)}"
            )
        if " ready." in _log_text(log):
            return
        time.sleep(0.2)
    pytest.fail(f"worker not ready after {READY_TIMEOUT_S:.0f} s:\n{_log_text(log)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _forget_redis_queue(queue: str) -> None:
    """Delete the keys kombu created for this test's queue in the test Redis database."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def worker(broker: str, tmp_path: Path) -> Iterator[RunningWorker]:
    """A real worker process on ``broker``; stopped (killed if need be) whatever the outcome."""
    data_dir = tmp_path / "var"  # not created: the worker must create what it needs
    if broker == "redis":
        broker_url: str | None = REDIS_URL
        queue = f"linli-test-{uuid.uuid4().hex[:12]}"  # shared Redis: nobody else consumes it
    else:
        broker_url = None  # the embedded default, in this test's own data folder
        queue = "celery"
    log = tmp_path / "worker.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "api.worker",
        "worker",
        "--pool=solo",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
        f"--queues={queue}",
        f"--hostname=linli-test-{uuid.uuid4().hex[:8]}@%h",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=tmp_path,  # no stray .env is read
            env=_clean_env(data_dir, broker_url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_ready(proc, log)
        settings = Settings(
            _env_file=None,
            data_dir=data_dir,
            database_url=None,
            broker_url=broker_url,
            result_backend=None,
            environment="development",
        )
        yield RunningWorker(proc=proc, settings=settings, queue=queue, log=log)
    finally:
        _stop(proc)
        if broker == "redis":
            _forget_redis_queue(queue)


@pytest.fixture
def client_app(worker: RunningWorker) -> Iterator[Celery]:
    """This test process's own Celery app, configured like the worker's."""
    app = create_celery(worker.settings)
    yield app
    app.close()


def test_ping_round_trips_through_a_worker_process(
    broker: str, worker: RunningWorker, client_app: Celery
) -> None:
    expected_transport = "redis://" if broker == "redis" else "sqla+sqlite:///"
    assert f".> transport:   {expected_transport}" in _log_text(worker.log)

    payload = f"hello-{broker}-{uuid.uuid4().hex[:6]}"
    result = client_app.send_task("linli.ping", args=[payload], queue=worker.queue)
    try:
        reply = result.get(timeout=TASK_TIMEOUT_S)
    except Exception as exc:
        pytest.fail(f"no reply ({exc!r}); worker log:\n{_log_text(worker.log)}")
    finally:
        result.forget()
    assert reply["echo"] == payload
    assert reply["pid"] == worker.proc.pid  # answered by the worker process (solo pool)...
    assert reply["pid"] != os.getpid()  # ...not run in this process
    if broker == "embedded":
        # The embedded default keeps its broker and results in the data folder, no server.
        data_dir = worker.settings.resolved_data_dir
        assert (data_dir / "celery-broker.sqlite3").exists()
        assert (data_dir / "celery-results.sqlite3").exists()
