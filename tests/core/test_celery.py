"""A task round-trips through a real Celery worker process, on the embedded broker and on Redis.

No eager mode and no in-process worker: the worker is ``python -m celery -A api.worker worker``
in its own process, configured only through ``LINLI_*`` variables as in production; this process
is a separate client built with ``core.celery_app.create_celery``.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from celery import Celery

from core.celery_app import create_celery
from core.settings import Settings
from tests.conftest import REDIS_URL
from tests.workers import clean_env, log_text, running_worker

TASK_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RunningWorker:
    """A worker process and what a client needs to reach it."""

    proc: subprocess.Popen[bytes]
    settings: Settings
    queue: str
    log: Path


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
    env = clean_env(data_dir, **({"broker_url": broker_url} if broker_url else {}))
    # cwd: no stray .env is read
    with running_worker(tmp_path, env, log, queue) as proc:
        settings = Settings(
            _env_file=None,
            data_dir=data_dir,
            database_url=None,
            broker_url=broker_url,
            result_backend=None,
            environment="development",
        )
        try:
            yield RunningWorker(proc=proc, settings=settings, queue=queue, log=log)
        finally:
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
    assert f".> transport:   {expected_transport}" in log_text(worker.log)

    payload = f"hello-{broker}-{uuid.uuid4().hex[:6]}"
    result = client_app.send_task("linli.ping", args=[payload], queue=worker.queue)
    try:
        reply = result.get(timeout=TASK_TIMEOUT_S)
    except Exception as exc:
        pytest.fail(f"no reply ({exc!r}); worker log:\n{log_text(worker.log)}")
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
