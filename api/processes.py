"""Process wiring: the API server and the Celery worker beside it."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys

import uvicorn

from core.settings import get_settings


def worker_command(pool: str | None = None, concurrency: int | None = None) -> list[str]:
    """The command line of a Celery worker for the configured broker."""
    settings = get_settings()
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "api.worker",
        "worker",
        "--loglevel=INFO",
        f"--pool={pool or settings.worker_pool}",
        f"--concurrency={concurrency or settings.worker_concurrency}",
        "--without-gossip",
        "--without-mingle",
    ]


def run_worker_foreground(pool: str | None = None, concurrency: int | None = None) -> int:
    """Run a worker in this terminal until it exits; return its exit code."""
    get_settings().resolved_data_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.call(worker_command(pool, concurrency))  # noqa: S603


def start_worker() -> subprocess.Popen[bytes]:
    """Start a worker process that stops when this process exits."""
    get_settings().resolved_data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(worker_command(), env=os.environ.copy())  # noqa: S603

    def _stop() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

    atexit.register(_stop)
    return proc


def serve(*, host: str, port: int, with_worker: bool) -> None:
    """Serve the API (and a worker) until interrupted."""
    if with_worker:
        start_worker()
    uvicorn.run("api.app:app", host=host, port=port, log_level="info")
