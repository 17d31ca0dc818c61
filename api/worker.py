"""The Celery app with every task module registered; ``celery -A api.worker worker`` runs it."""

from __future__ import annotations

from celery import Celery

from core.celery_app import create_celery

TASK_MODULES = ["core.tasks", "dispatch.tasks", "audit.tasks"]


def build_celery() -> Celery:
    """Create the configured Celery app and import every task module."""
    app = create_celery()
    app.conf.include = TASK_MODULES
    app.set_default()
    return app


celery = build_celery()
app = celery
