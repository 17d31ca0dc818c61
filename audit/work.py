"""The life of long audit work done by a worker (a run of the rules, a report export): queued →
running → done or failed, a bounded number of attempts, and nothing started twice.

These functions change a locked row and flush; the caller's unit of work commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, TypeVar

from sqlmodel import Session

from audit.models import WORK_FINISHED, WorkStatus
from core.timeutil import utcnow

MAX_ATTEMPTS = 3
MAX_ERROR_LENGTH = 2000


class Work(Protocol):
    """A row of long work: where it is, how often it was tried, when, and why it failed."""

    status: WorkStatus
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


W = TypeVar("W", bound=Work)


def start(session: Session, row: W | None, *, now: datetime | None = None) -> W | None:
    """Mark the (locked) row running; None when it is missing or finished already (a task
    delivered again skips it) or has been tried too often (then it is failed)."""
    if row is None or WorkStatus(row.status) in WORK_FINISHED:
        return None
    if row.attempts >= MAX_ATTEMPTS:
        _failed(row, f"gave up after {row.attempts} attempts", now)
        session.add(row)
        session.flush()
        return None
    row.status = WorkStatus.RUNNING
    row.attempts += 1
    row.started_at = now or utcnow()
    session.add(row)
    session.flush()
    return row


def fail(session: Session, row: W | None, error: str, *, now: datetime | None = None) -> W | None:
    """Mark the (locked) row failed with why; None if it is missing or finished already."""
    if row is None or WorkStatus(row.status) in WORK_FINISHED:
        return None
    _failed(row, error, now)
    session.add(row)
    session.flush()
    return row


def _failed(row: Work, error: str, now: datetime | None) -> None:
    row.status = WorkStatus.FAILED
    row.finished_at = now or utcnow()
    row.error = error[:MAX_ERROR_LENGTH]
