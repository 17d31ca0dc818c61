"""The Celery application: a server-less SQLite broker by default, Redis in production."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import Any

from celery import Celery
from celery.schedules import crontab

from core.settings import Settings, get_settings

# Longer than any solve we allow; Redis redelivers unacked tasks after this.
VISIBILITY_TIMEOUT_S = 4 * 3600


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings shared by every deployment."""
    broker = settings.resolved_broker_url
    transport_options: dict[str, Any] = {"visibility_timeout": VISIBILITY_TIMEOUT_S}
    if broker.startswith("sqla+"):
        # kombu's SQLAlchemy transport hands every transport option to create_engine(), which
        # refuses unknown keywords (the worker dies at start-up); it has no visibility timeout.
        transport_options = {}
    return {
        "broker_url": broker,
        "result_backend": settings.resolved_result_backend,
        "broker_transport_options": transport_options,
        "result_backend_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT_S},
        "broker_connection_retry_on_startup": True,
        "task_default_queue": settings.task_queue,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "timezone": settings.timezone,
        "enable_utc": True,
        # A task whose worker dies is redelivered, not lost (see FIELD-NOTES: Celery under faults).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "result_backend_always_retry": True,
        "result_expires": 7 * 24 * 3600,
        "task_track_started": True,
        "worker_hijack_root_logger": False,
        # Beat (one per deployment) sends it; the task lives in audit.tasks (by name only here).
        "beat_schedule": {
            "ledger-checkpoint-daily": {
                "task": "audit.checkpoint",
                "schedule": crontab(hour=0, minute=5),
            }
        },
    }


def _ensure_sqlite_folders(*urls: str) -> None:
    """Create the folders of SQLite-file brokers and result backends (SQLite makes no folders)."""
    for url in urls:
        scheme, _, path = url.partition(":///")
        if scheme in ("sqla+sqlite", "db+sqlite") and path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def _declare_embedded_queue(app: Celery) -> None:
    """Create the default queue's row in the embedded broker, one process at a time.

    kombu's SQLAlchemy transport creates a queue with a non-atomic get-or-create: when the API
    (publishing) and a fresh worker (consuming) declare it at the same moment, one of them hits
    UNIQUE(kombu_queue.name) and the worker dies with an unrecoverable error. Declaring under an
    exclusive file lock as soon as an app exists means later declares always find the row.
    """
    broker = str(app.conf.broker_url)
    path = broker.partition(":///")[2]
    if not broker.startswith("sqla+sqlite") or not path or path == ":memory:":
        return
    with open(f"{path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with app.connection_for_write() as conn:
                conn.default_channel.queue_declare(app.conf.task_default_queue)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def create_celery(settings: Settings | None = None) -> Celery:
    """A Celery app configured from settings; task modules are registered by the caller."""
    settings = settings or get_settings()
    _ensure_sqlite_folders(settings.resolved_broker_url, settings.resolved_result_backend)
    app = Celery("linli")
    app.conf.update(celery_config(settings))
    _declare_embedded_queue(app)
    return app
