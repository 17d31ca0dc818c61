"""Handing long work to the Celery workers from a request: one app per broker, and the 503 a
broker that refuses a task is answered with."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from celery import Celery
from sqlmodel import Session

from core.celery_app import create_celery
from core.errors import DomainError
from core.settings import get_settings

MAX_APPS = 4
log = logging.getLogger(__name__)


class QueueUnavailable(DomainError):
    """The work could not be handed to the workers (the broker did not take it)."""

    status_code = 503
    code = "queue-unavailable"
    title = "The task queue is unavailable"


_apps: dict[tuple[str, str, str], Celery] = {}
_apps_lock = threading.Lock()


def celery() -> Celery:
    """A Celery app for the broker of the current settings (made once per broker); tasks are
    sent by name, so no task module is imported here."""
    settings = get_settings()
    key = (settings.resolved_broker_url, settings.resolved_result_backend, settings.task_queue)
    with _apps_lock:
        app = _apps.get(key)
        if app is None:
            while len(_apps) >= MAX_APPS:
                _apps.pop(next(iter(_apps))).close()
            app = _apps[key] = create_celery(settings)
        return app


def send(
    session: Session,
    task: str,
    row_id: int,
    *,
    what: str,
    soft_time_limit: int,
    time_limit: int,
    fail: Callable[[str], object],
) -> None:
    """Send committed work (row ``row_id``) to the workers as ``task``. If the broker refuses
    it, ``fail(reason)`` marks the work failed, that is committed, and QueueUnavailable (503)
    says which (``what``, e.g. "export exp_…") could not be queued."""
    try:
        celery().send_task(
            task, args=[row_id], soft_time_limit=soft_time_limit, time_limit=time_limit
        )
    except Exception as exc:
        log.exception("could not queue %s", what)
        fail(f"could not be queued: {type(exc).__name__}")
        session.commit()
        raise QueueUnavailable(
            f"{what} could not be queued ({type(exc).__name__}); try again"
        ) from exc
