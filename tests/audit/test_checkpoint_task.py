"""The daily checkpoint runs in a real Celery worker process and beat schedules it daily."""

from __future__ import annotations

from pathlib import Path

from celery.schedules import crontab
from sqlmodel import Session

from api.dbadmin import upgrade
from audit import checkpoint
from core.celery_app import celery_config, create_celery
from core.db import make_engine
from core.settings import Settings
from pricing import ledger
from pricing.ledger import EntryDraft
from pricing.models import EntryKind, Payer
from tests.workers import clean_env, log_text, running_worker

TASK_TIMEOUT_S = 60.0


def test_beat_sends_the_checkpoint_every_day_after_midnight() -> None:
    schedule = celery_config(Settings(_env_file=None))["beat_schedule"]
    entry = schedule["ledger-checkpoint-daily"]
    assert entry["task"] == "audit.checkpoint"
    assert entry["schedule"] == crontab(hour=0, minute=5)


def test_the_worker_writes_a_signed_checkpoint_of_the_ledger(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    url = f"sqlite:///{data_dir / 'linli.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        ledger.append(
            session,
            EntryDraft(
                idempotency_key="k1",
                kind=EntryKind.RESERVE,
                payer=Payer.SUBSIDY,
                order_ref="ord-1",
                member_id=1,
                provider_id=1,
                district_code="350102",
                month="2026-12",
                amount_fen=500,
                actor="test",
            ),
        )
        session.commit()
    engine.dispose()
    settings = Settings(_env_file=None, data_dir=data_dir, environment="development")
    log = tmp_path / "worker.log"
    with running_worker(tmp_path, clean_env(data_dir), log):
        app = create_celery(settings)
        result = app.send_task("audit.checkpoint")
        try:
            written = Path(result.get(timeout=TASK_TIMEOUT_S))
        except Exception as exc:
            raise AssertionError(f"no checkpoint ({exc!r}); worker log:\n{log_text(log)}") from exc
        finally:
            result.forget()
            app.close()
    assert written.parent == data_dir / "checkpoints"
    taken = checkpoint.load(written)
    assert (taken.entries, taken.head_id) == (1, 1)
    assert checkpoint.verify_signature(taken, checkpoint.public_key(settings))
