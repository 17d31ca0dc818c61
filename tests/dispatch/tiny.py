"""Tiny named instances on a line of locations 1 km apart (10 min by e-bike, 4 by car)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dispatch.problem import DispatchProblem, Job, Travel, Window, Worker

H = 3600
N = 8
SECONDS_PER_KM = {"walk": 800, "ebike": 600, "car": 240}


def line_travel(n: int = N) -> Travel:
    """Locations 0..n-1 on a line, 1 km apart."""
    durations = {
        mode: tuple(tuple(abs(i - j) * s for j in range(n)) for i in range(n))
        for mode, s in SECONDS_PER_KM.items()
    }
    distances = {
        mode: tuple(tuple(abs(i - j) * 1000 for j in range(n)) for i in range(n))
        for mode in SECONDS_PER_KM
    }
    return Travel(durations, distances)


def worker(wid: str = "w1", **kw: Any) -> Worker:
    """A worker at location 0, 08:00–17:00 by e-bike."""
    base = Worker(wid, 0, 0, Window(8 * H, 17 * H))
    return replace(base, **kw)


def job(jid: str, location: int, start_h: float = 8, end_h: float = 17, **kw: Any) -> Job:
    """A one-hour job with one window."""
    base = Job(jid, location, (Window(int(start_h * H), int(end_h * H)),), H)
    return replace(base, **kw)


def problem(workers: list[Worker], jobs: list[Job], **kw: Any) -> DispatchProblem:
    """A problem on the line."""
    locations = tuple((26.0 + i * 0.009, 119.3) for i in range(N))
    return DispatchProblem(
        "tiny",
        "2026-12-01T00:00:00+08:00",
        locations,
        tuple(workers),
        tuple(jobs),
        line_travel(),
        **kw,
    )
