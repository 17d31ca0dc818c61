"""Report exports built for HTTP: requested, then built by the task's steps into the same
files the export module writes, stored with their SHA-256; failures end as failed, never
running; bad requests refused."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from audit import export, exports, reports, work
from audit.models import AuditExport, WorkStatus
from audit.tasks import build_export
from core.db import read_only, unit_of_work
from core.errors import InvalidState, Validation
from core.ids import new_public_id
from tests.audit.test_reports import MONTH, _month

SAMPLE = 2


@pytest.fixture
def month(configured: str) -> str:
    """The report tests' month (two providers, districts, groups, insurance), committed."""
    with unit_of_work() as session:
        _month(session)
    return MONTH


def _request(fmt: str, month: str = MONTH) -> int:
    with unit_of_work() as session:
        row = exports.request(session, month, fmt, actor="auditor:test", sample_size=SAMPLE)
        assert row.id is not None
        return row.id


def _load(export_id: int) -> tuple[AuditExport, bytes | None]:
    with read_only() as session:
        row = session.get(AuditExport, export_id)
        assert row is not None
        session.expunge(row)
        return row, row.content


def _direct(fmt: export.Format, out: Path) -> list[Path]:
    """What ``linli audit export`` writes for the month, with the same sample."""
    with read_only() as session:
        report = reports.month_report(session, MONTH, sample_size=SAMPLE)
        reconciliation = reports.reconcile(report, session)
    return export.export_report(report, reconciliation, fmt, out)


class TestRequest:
    def test_an_export_is_queued_without_a_file(self, configured: str) -> None:
        row, content = _load(_request("csv"))
        assert row.public_id.startswith("exp_") and row.status == WorkStatus.QUEUED
        assert (row.month, row.format, row.sample_size) == (MONTH, "csv", SAMPLE)
        assert row.sample_seed == reports.DEFAULT_SAMPLE_SEED
        assert row.requested_by == "auditor:test" and row.started_at is None
        assert content is None and row.sha256 is None and row.reconciles is None

    @pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-12", "+026-12", "2026-12-01", ""])
    def test_a_bad_month_is_refused(self, configured: str, bad: str) -> None:
        with pytest.raises(Validation, match="YYYY-MM"):
            _request("csv", month=bad)

    @pytest.mark.parametrize(
        ("fmt", "size", "seed", "message"),
        [
            ("pdf", 1, "s", "csv or xlsx"),
            ("csv", -1, "s", "sample_size"),
            ("csv", 501, "s", "sample_size"),
            ("xlsx", 1, "", "sample_seed"),
            ("xlsx", 1, "a\x00b", "sample_seed"),
        ],
    )
    def test_a_bad_format_or_sample_is_refused(
        self, configured: str, fmt: str, size: int, seed: str, message: str
    ) -> None:
        with unit_of_work() as session, pytest.raises(Validation, match=message):
            exports.request(session, MONTH, fmt, actor="t", sample_size=size, sample_seed=seed)


class TestBuild:
    def test_a_csv_export_is_a_zip_of_the_files_the_cli_writes(
        self, month: str, tmp_path: Path
    ) -> None:
        export_id = _request("csv")
        assert build_export(export_id) == "done"
        row, content = _load(export_id)
        assert content is not None
        assert row.status == WorkStatus.DONE and row.started_at and row.finished_at
        assert (row.filename, row.media_type) == (f"linli-audit-{MONTH}.zip", "application/zip")
        assert row.size_bytes == len(content)
        assert row.sha256 == hashlib.sha256(content).hexdigest()
        assert (row.reconciles, row.differences, row.error) == (True, "", None)
        written = _direct("csv", tmp_path)
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            assert archive.namelist() == sorted(p.name for p in written)
            assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
            for path in written:
                assert archive.read(path.name) == path.read_bytes()

    def test_building_a_done_export_again_changes_nothing(self, month: str) -> None:
        export_id = _request("csv")
        assert build_export(export_id) == "done"
        before, _ = _load(export_id)
        assert build_export(export_id) == "skipped"
        after, _ = _load(export_id)
        assert (after.sha256, after.finished_at, after.attempts) == (
            before.sha256,
            before.finished_at,
            1,
        )

    def test_a_workbook_is_the_same_bytes_every_time(self, month: str, tmp_path: Path) -> None:
        first, second = _request("xlsx"), _request("xlsx")
        assert build_export(first) == build_export(second) == "done"
        (one, one_bytes), (two, two_bytes) = _load(first), _load(second)
        assert one.sha256 == two.sha256 and one_bytes == two_bytes
        assert one.filename == f"linli-audit-{MONTH}.xlsx"
        assert one.media_type == exports.MEDIA_TYPES["xlsx"]
        (path,) = _direct("xlsx", tmp_path)
        assert one_bytes == path.read_bytes()

    def test_a_build_that_breaks_ends_failed_with_why(self, configured: str) -> None:
        # A row no request would make (requests check the month): rendering it raises.
        with unit_of_work() as session:
            row = AuditExport(
                public_id=new_public_id("exp"),
                month="2026-13",
                format="csv",
                sample_size=1,
                sample_seed="s",
                requested_by="test",
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            export_id = row.id
        assert build_export(export_id) == "failed"
        failed, content = _load(export_id)
        assert failed.status == WorkStatus.FAILED and failed.finished_at is not None
        assert failed.error is not None and failed.error.startswith("Validation: month")
        assert content is None and failed.sha256 is None
        assert build_export(export_id) == "skipped"

    def test_an_export_tried_too_often_is_failed_not_retried(self, configured: str) -> None:
        export_id = _request("csv")
        with unit_of_work() as session:
            row = session.get(AuditExport, export_id)
            assert row is not None
            row.status, row.attempts = WorkStatus.RUNNING, work.MAX_ATTEMPTS
            session.add(row)
        assert build_export(export_id) == "skipped"
        failed, _ = _load(export_id)
        assert failed.status == WorkStatus.FAILED
        assert failed.error == f"gave up after {work.MAX_ATTEMPTS} attempts"

    def test_there_is_no_file_before_it_is_done(self, configured: str) -> None:
        export_id = _request("xlsx")
        with read_only() as session:
            row = session.get(AuditExport, export_id)
            assert row is not None
            with pytest.raises(InvalidState, match="queued"):
                exports.content(session, row)
