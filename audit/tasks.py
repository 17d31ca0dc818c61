"""Celery tasks for the audit: the daily signed checkpoint of the ledger head, and the runs of
the rules and report exports requested over HTTP."""

from __future__ import annotations

import logging

from celery import shared_task

from audit import checkpoint, exports
from audit import service as audit_service
from core.db import read_only, unit_of_work

log = logging.getLogger(__name__)


@shared_task(name="audit.checkpoint")
def daily_checkpoint() -> str:
    """Verify the ledger, sign its head and write the day's checkpoint file; its path."""
    with read_only() as session:
        taken = checkpoint.take(session)
    return str(checkpoint.write(taken, checkpoint.default_dir()))


def build_export(export_id: int) -> str:
    """Build a queued export and store its file: "done", "failed", or "skipped" when it is
    finished already (building again is a no-op). Every error ends the export as failed."""
    with unit_of_work() as session:
        row = exports.start(session, export_id)
        if row is None:
            return "skipped"
        month, fmt, size, seed = row.month, row.format, row.sample_size, row.sample_seed
    try:
        with read_only() as session:
            built = exports.render(session, month, fmt, sample_size=size, sample_seed=seed)
        with unit_of_work() as session:
            exports.finish(session, export_id, built)
        return "done"
    except Exception as exc:
        log.exception("audit export %s failed", export_id)
        with unit_of_work() as session:
            exports.fail(session, export_id, f"{type(exc).__name__}: {exc}")
        return "failed"


@shared_task(name=exports.TASK, acks_late=True, reject_on_worker_lost=True)
def export(export_id: int) -> str:
    """Celery entry point: build export ``export_id``."""
    return build_export(export_id)


def run_queued(run_id: int) -> str:
    """Run a queued audit run's rules and store its findings: "done", "failed", or "skipped"
    when it is finished already. Every error ends the run as failed."""
    with unit_of_work() as session:
        if audit_service.start_run(session, run_id) is None:
            return "skipped"
    try:
        with unit_of_work() as session:
            outcome = audit_service.execute_run(session, run_id)
        return "skipped" if outcome is None else "done"
    except Exception as exc:
        log.exception("audit run %s failed", run_id)
        with unit_of_work() as session:
            audit_service.fail_run(session, run_id, f"{type(exc).__name__}: {exc}")
        return "failed"


@shared_task(name=audit_service.RUN_TASK, acks_late=True, reject_on_worker_lost=True)
def run(run_id: int) -> str:
    """Celery entry point: run queued audit run ``run_id``."""
    return run_queued(run_id)
