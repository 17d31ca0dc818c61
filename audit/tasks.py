"""Celery tasks for the audit: the daily signed checkpoint of the ledger head."""

from __future__ import annotations

from celery import shared_task

from audit import checkpoint
from core.db import read_only


@shared_task(name="audit.checkpoint")
def daily_checkpoint() -> str:
    """Verify the ledger, sign its head and write the day's checkpoint file; its path."""
    with read_only() as session:
        taken = checkpoint.take(session)
    return str(checkpoint.write(taken, checkpoint.default_dir()))
