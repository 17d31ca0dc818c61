"""Process wiring: the API server and the Celery worker beside it."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
from typing import NoReturn

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


def run_worker_foreground(pool: str | None = None, concurrency: int | None = None) -> NoReturn:
    """Become a worker: exec Celery in this process, so a supervisor's SIGTERM reaches it.

    (A child process would be orphaned when ``docker stop`` or systemd signals this one.)
    """
    get_settings().resolved_data_dir.mkdir(parents=True, exist_ok=True)
    command = worker_command(pool, concurrency)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)  # noqa: S606


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM this child when its parent dies, even by SIGKILL."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def stop_worker(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Ask a worker for a warm shutdown; kill it if it does not exit within ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_worker() -> subprocess.Popen[bytes]:
    """Start a worker process that stops when this process exits."""
    get_settings().resolved_data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(  # noqa: S603
        worker_command(), env=os.environ.copy(), preexec_fn=_die_with_parent
    )
    atexit.register(stop_worker, proc)
    return proc


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def serve(*, host: str, port: int, with_worker: bool) -> None:
    """Serve the API (and a worker) until interrupted; the worker never outlives the server.

    uvicorn shuts down gracefully on SIGTERM and then re-raises the signal under the handler
    that was installed before it started. Under Python's default handler that kills the process
    on the spot (no ``finally``, no ``atexit``) and would orphan the worker, so SIGTERM becomes
    ``SystemExit`` here and the worker is stopped on the way out.
    """
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    worker = start_worker() if with_worker else None
    try:
        uvicorn.run("api.app:app", host=host, port=port, log_level="info")
    finally:
        if worker is not None:
            stop_worker(worker)
        signal.signal(signal.SIGTERM, previous)
