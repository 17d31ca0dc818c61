"""Audit report exports over HTTP: 202 and a queued export, idempotent requests, auditors and
administrators only, the file once done (each download logged), a broker that refuses the task,
and a real Celery worker building exports (and running the audit rules) to the end."""

from __future__ import annotations

import hashlib
import io
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook  # type: ignore[import-untyped]

from api.app import create_app
from audit import repository as audit_repo
from audit.tasks import build_export
from core.db import read_only, unit_of_work
from core.settings import get_settings
from marketplace.accounts.models import Role
from marketplace.providers.models import Provider
from tests import factories as f
from tests.api.accounts import (
    account_token_and_id,
    as_,
    get_as,
    member_links,
    personal_reads,
    worker_links,
)
from tests.audit.test_repository import _dibao_order, _visit
from tests.conftest import REDIS_URL, require_redis
from tests.workers import clean_env, log_text, running_worker

MONTH = "2026-12"
ZIP, XLSX = "application/zip", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OUTSIDERS = ("household", "provider", "worker", "dispatcher")


@dataclass
class World:
    """A subsidised visit in the month, and an account of every role that matters here."""

    client: TestClient
    tokens: dict[str, str]
    accounts: dict[str, int]


def _world() -> World:
    with unit_of_work() as session:
        order, member = _dibao_order(session)
        provider = session.get(Provider, order.provider_id)
        assert provider is not None
        worker = _visit(session, order, by=f.make_worker(session, provider=provider, name="王师傅"))
        made = {
            "auditor": account_token_and_id(session, "aud", Role.AUDITOR),
            "admin": account_token_and_id(session, "boss", Role.ADMIN),
            "household": account_token_and_id(
                session, "home", Role.HOUSEHOLD, **member_links(member)
            ),
            "provider": account_token_and_id(
                session, "prov", Role.PROVIDER_ADMIN, provider_id=provider.id
            ),
            "worker": account_token_and_id(session, "wkr", Role.WORKER, **worker_links(worker)),
            "dispatcher": account_token_and_id(session, "disp", Role.DISPATCHER),
        }
    return World(
        client=TestClient(create_app(), raise_server_exceptions=False),
        tokens={k: v[0] for k, v in made.items()},
        accounts={k: v[1] for k, v in made.items()},
    )


@pytest.fixture
def world(configured: str) -> World:
    return _world()


def _request(world: World, who: str = "auditor", key: str | None = None, **body: Any) -> Any:
    payload = {"month": MONTH, "format": "csv", "sample_size": 5, **body}
    headers = as_(world, who, key or uuid.uuid4().hex)
    return world.client.post("/audit/exports", json=payload, headers=headers)


def _row_id(public_id: str) -> int:
    with read_only() as session:
        row = audit_repo.export_by_public_id(session, public_id)
        assert row is not None and row.id is not None
        return row.id


def test_an_export_is_queued_with_202_and_its_url(world: World) -> None:
    made = _request(world)
    assert made.status_code == 202, made.text
    export = made.json()
    assert export["id"].startswith("exp_") and export["status"] == "queued"
    assert made.headers["Location"] == export["url"] == f"/audit/exports/{export['id']}"
    assert (export["month"], export["format"], export["sample_size"]) == (MONTH, "csv", 5)
    assert export["sample_seed"] == "linli-field-check"
    assert export["download"] is None and export["sha256"] is None
    assert export["requested_by"].startswith("auditor:")
    polled = get_as(world, "auditor", export["url"])
    assert polled.status_code == 200 and polled.json() == export
    # No worker here: there is no file yet.
    early = get_as(world, "admin", f"{export['url']}/file")
    assert early.status_code == 409
    assert early.headers["content-type"] == "application/problem+json"


def test_the_same_key_returns_the_same_export_and_another_body_is_refused(world: World) -> None:
    key = uuid.uuid4().hex
    first = _request(world, key=key)
    again = _request(world, key=key)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert _request(world, key=key, format="xlsx").status_code == 409


def test_administrators_request_too_and_the_list_is_newest_first(world: World) -> None:
    older = _request(world, "auditor").json()["id"]
    newer = _request(world, "admin", format="xlsx").json()["id"]
    listed = get_as(world, "admin", "/audit/exports", limit=1)
    assert listed.status_code == 200, listed.text
    first = listed.json()
    assert [e["id"] for e in first["items"]] == [newer] and first["next"]
    second = get_as(world, "auditor", "/audit/exports", limit=1, after=first["next"]).json()
    assert [e["id"] for e in second["items"]] == [older] and second["next"] is None


def test_nobody_else_may_request_or_read_exports(world: World) -> None:
    url = _request(world).json()["url"]
    for who in OUTSIDERS:
        assert _request(world, who).status_code == 403, who
        for path in ("/audit/exports", url, f"{url}/file"):
            assert get_as(world, who, path).status_code == 403, (who, path)


def test_bad_requests_and_unknown_exports_are_problems(world: World) -> None:
    for body in (
        {"month": "2026-13"},
        {"format": "pdf"},
        {"sample_size": 501},
        {"sample_size": -1},
        {"sample_size": True},
        {"sample_seed": ""},
        {"extra": 1},
    ):
        assert _request(world, **body).status_code == 422, body
    no_key = world.client.post(
        "/audit/exports", json={"month": MONTH, "format": "csv"}, headers=as_(world, "auditor")
    )
    assert no_key.status_code == 422
    for path in ("/audit/exports/exp_unknown", "/audit/exports/exp_unknown/file"):
        assert get_as(world, "auditor", path).status_code == 404


def test_the_file_is_an_attachment_and_each_download_is_logged(world: World) -> None:
    export = _request(world).json()
    assert build_export(_row_id(export["id"])) == "done"  # in process: no worker needed here
    done = get_as(world, "auditor", export["url"]).json()
    assert done["status"] == "done" and done["download"] == f"{export['url']}/file"
    assert done["reconciles"] is True and done["differences"] == ""
    got = get_as(world, "auditor", done["download"])
    assert got.status_code == 200
    assert got.headers["content-type"] == ZIP
    assert got.headers["content-disposition"] == f'attachment; filename="linli-audit-{MONTH}.zip"'
    assert hashlib.sha256(got.content).hexdigest() == done["sha256"]
    # Reading the export's status shows no personal data; its file does.
    assert personal_reads(world.accounts["auditor"]) == [f"GET {done['download']}"]


def test_a_broker_that_refuses_the_task_fails_the_export(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LINLI_BROKER_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    # Results stay in SQLite: a Redis result store would retry for long before giving up.
    monkeypatch.setenv("LINLI_RESULT_BACKEND", f"db+sqlite:///{tmp_path / 'results.sqlite3'}")
    get_settings.cache_clear()
    refused = _request(world)
    assert refused.status_code == 503, refused.text
    assert refused.json()["type"].endswith("queue-unavailable")
    (export,) = get_as(world, "auditor", "/audit/exports").json()["items"]
    assert export["status"] == "failed" and export["error"].startswith("could not be queued")


# --- through a real worker -----------------------------------------------------------------


@pytest.fixture
def worker_world(configured: str, backend: str, monkeypatch: pytest.MonkeyPatch) -> World:
    """The world; on PostgreSQL the broker is Redis (own queue), on SQLite the embedded one."""
    if backend == "postgresql":
        require_redis(REDIS_URL)
        monkeypatch.setenv("LINLI_BROKER_URL", REDIS_URL)
        monkeypatch.setenv("LINLI_TASK_QUEUE", f"linli-test-{uuid.uuid4().hex[:12]}")
        get_settings.cache_clear()
    return _world()


def _worker_env(configured: str) -> dict[str, str]:
    settings = get_settings()
    extra = {"database_url": configured, "task_queue": settings.task_queue}
    if settings.broker_url:
        extra["broker_url"] = settings.broker_url
    return clean_env(settings.data_dir, **extra)


def _until_finished(world: World, url: str, log: Path, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        shown: dict[str, Any] = get_as(world, "auditor", url).json()
        if shown["status"] in ("done", "failed"):
            return shown
        time.sleep(0.5)
    pytest.fail(f"{url} not finished after {timeout_s:.0f} s:\n{log_text(log)}")


def test_a_worker_builds_both_formats_and_runs_the_rules_to_the_end(
    worker_world: World, configured: str, tmp_path: Path
) -> None:
    world = worker_world
    csv_export = _request(world, format="csv").json()
    xlsx_export = _request(world, "admin", format="xlsx").json()
    queued_run = world.client.post(
        "/audit/runs", json={"month": MONTH}, headers=as_(world, "admin", uuid.uuid4().hex)
    )
    assert queued_run.status_code == 202, queued_run.text
    log = tmp_path / "worker.log"
    with running_worker(tmp_path, _worker_env(configured), log, get_settings().task_queue):
        csv_done = _until_finished(world, csv_export["url"], log)
        xlsx_done = _until_finished(world, xlsx_export["url"], log)
        run_done = _until_finished(world, queued_run.json()["url"], log)
    # The audit run (audit.run) went through the same worker.
    assert run_done["status"] == "done", f"{run_done}\n{log_text(log)}"
    assert run_done["visits"] == 1 and run_done["ledger_ok"] is True
    assert run_done["started_at"] and run_done["finished_at"]
    for done, media in ((csv_done, ZIP), (xlsx_done, XLSX)):
        assert done["status"] == "done", f"{done}\n{log_text(log)}"
        assert done["started_at"] and done["finished_at"] and done["reconciles"] is True
        got = get_as(world, "auditor", done["download"])
        assert got.status_code == 200 and got.headers["content-type"] == media
        assert hashlib.sha256(got.content).hexdigest() == done["sha256"]
        assert len(got.content) == done["size_bytes"]
        with zipfile.ZipFile(io.BytesIO(got.content)) as archive:
            assert archive.testzip() is None
            names = archive.namelist()
        if media == ZIP:
            assert "sample.csv" in names and "reconciliation.csv" in names
        else:
            book = load_workbook(io.BytesIO(got.content))
            assert "sample" in book.sheetnames and book["sample"].max_row == 2  # one visit
