"""Real Celery worker processes for tests: started like production, always stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

READY_TIMEOUT_S = 60.0


def clean_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any LINLI_ setting, plus the worker's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env["LINLI_DATA_DIR"] = str(data_dir)
    env.update({f"LINLI_{k.upper()}": v for k, v in settings.items()})
    return env


def log_text(path: Path) -> str:
    """What the worker wrote so far."""
    return path.read_text(errors="replace") if path.exists() else "(no log)"


def _wait_until_ready(proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"worker exited with {proc.returncode} before it was ready:\n{log_text(log)}"
            )
        if " ready." in log_text(log):
            return
        time.sleep(0.2)
    pytest.fail(f"worker not ready after {READY_TIMEOUT_S:.0f} s:\n{log_text(log)}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it does not go."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@contextmanager
def running_worker(
    cwd: Path, env: dict[str, str], log: Path, queue: str = "celery"
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m celery -A api.worker worker`` (solo pool), ready on entry, stopped on exit."""
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
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_ready(proc, log)
        yield proc
    finally:
        stop(proc)
