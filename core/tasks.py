"""Infrastructure tasks."""

from __future__ import annotations

import os
import socket
from typing import Any

from celery import shared_task

from core.timeutil import utcnow


@shared_task(name="linli.ping")
def ping(payload: str = "ping") -> dict[str, Any]:
    """Echo back with the worker's identity, to prove a task round-trips."""
    return {
        "echo": payload,
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "at": utcnow().isoformat(),
    }
