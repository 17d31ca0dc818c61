"""Report exports built by a worker: request one, then start, render and finish (or fail) it.

An export is a month report (``audit.reports``) written as the CSV files of ``audit.export`` in
one zip, or as the workbook, and kept with its bytes, their size and SHA-256, and whether the
month reconciles. Requesting one writes no audited data: it only queues the report. The task
(``audit.tasks``) calls the steps, each in its own transaction; these functions only flush.
"""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from audit import export, reports, work
from audit import repository as repo
from audit.models import WORK_FINISHED, AuditExport, WorkStatus
from core.errors import InvalidState, NotFound, Validation
from core.ids import new_public_id
from core.timeutil import utcnow

FORMATS: tuple[export.Format, ...] = ("csv", "xlsx")
MEDIA_TYPES: dict[str, str] = {
    "csv": "application/zip",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MAX_SAMPLE_SIZE = 500
MAX_SEED_LENGTH = 80
SHOWN_DIFFERENCES = 5
TASK = "audit.export"  # sent by name: the API does not import the task module
SOFT_TIME_LIMIT_S = 600  # a month of tens of thousands of visits renders in well under this
TIME_LIMIT_S = 660
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Built:
    """An export's file and the month's reconciliation verdict."""

    filename: str
    media_type: str
    content: bytes
    reconciles: bool
    differences: str


def _check(month: str, fmt: str, sample_size: int, sample_seed: str) -> export.Format:
    if _MONTH.fullmatch(month) is None:
        raise Validation(f"month must be YYYY-MM, got {month!r}")
    repo.month_bounds(month)
    if fmt not in FORMATS:
        raise Validation(f"format must be csv or xlsx, got {fmt!r}")
    if not 0 <= sample_size <= MAX_SAMPLE_SIZE:
        raise Validation(f"sample_size must be from 0 to {MAX_SAMPLE_SIZE}, got {sample_size}")
    if not 0 < len(sample_seed) <= MAX_SEED_LENGTH or "\x00" in sample_seed:
        raise Validation(f"sample_seed must be 1 to {MAX_SEED_LENGTH} characters, without NUL")
    return "csv" if fmt == "csv" else "xlsx"


def request(
    session: Session,
    month: str,
    fmt: str,
    *,
    actor: str,
    sample_size: int = reports.DEFAULT_SAMPLE_SIZE,
    sample_seed: str = reports.DEFAULT_SAMPLE_SEED,
) -> AuditExport:
    """Queue an export of ``month``; the caller commits, then sends the task with its id."""
    checked = _check(month, fmt, sample_size, sample_seed)
    row = AuditExport(
        public_id=new_public_id("exp"),
        month=month,
        format=checked,
        sample_size=sample_size,
        sample_seed=sample_seed,
        requested_by=actor,
    )
    session.add(row)
    session.flush()
    return row


def get_or_raise(session: Session, public_id: str) -> AuditExport:
    """The export with this public id (without its bytes), or NotFound."""
    found = repo.export_by_public_id(session, public_id)
    if found is None:
        raise NotFound(f"export {public_id} does not exist")
    return found


def newest(session: Session, *, before_id: int | None, limit: int) -> Sequence[AuditExport]:
    """Exports newest first, older than ``before_id`` when given."""
    return repo.exports_page(session, before_id=before_id, limit=limit)


def content(session: Session, row: AuditExport) -> bytes:
    """The file of a done export; InvalidState before it is done."""
    assert row.id is not None
    data = repo.export_content(session, row.id) if row.status == WorkStatus.DONE else None
    if data is None:
        raise InvalidState(f"export {row.public_id} is {row.status}: it has no file")
    return data


def start(session: Session, export_id: int, *, now: datetime | None = None) -> AuditExport | None:
    """Mark an export running; None when it is finished already (a task delivered again skips
    it) or has been tried too often (then it is failed)."""
    return work.start(session, repo.lock_export(session, export_id), now=now)


def _zip(paths: Sequence[Path]) -> bytes:
    """The files in one archive, by name, with fixed timestamps: equal files, equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(paths, key=lambda p: p.name):
            info = zipfile.ZipInfo(path.name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return out.getvalue()


def _described(reconciliation: reports.Reconciliation) -> str:
    found = reconciliation.differences
    lines = [c.describe() for c in found[:SHOWN_DIFFERENCES]]
    if len(found) > SHOWN_DIFFERENCES:
        lines.append(f"(and {len(found) - SHOWN_DIFFERENCES} more)")
    return "\n".join(lines)


def render(session: Session, month: str, fmt: str, *, sample_size: int, sample_seed: str) -> Built:
    """Build, reconcile and write the month's report (reads only); the file and verdict."""
    checked = _check(month, fmt, sample_size, sample_seed)
    report = reports.month_report(session, month, sample_size=sample_size, sample_seed=sample_seed)
    reconciliation = reports.reconcile(report, session)
    with tempfile.TemporaryDirectory(prefix="linli-export-") as folder:
        written = export.export_report(report, reconciliation, checked, Path(folder))
        if checked == "csv":
            data, filename = _zip(written), f"linli-audit-{month}.zip"
        else:
            (path,) = written
            data, filename = path.read_bytes(), path.name
    return Built(
        filename=filename,
        media_type=MEDIA_TYPES[checked],
        content=data,
        reconciles=reconciliation.ok,
        differences=_described(reconciliation),
    )


def finish(
    session: Session, export_id: int, built: Built, *, now: datetime | None = None
) -> AuditExport | None:
    """Store the file and verdict and mark the export done; None if it finished meanwhile."""
    row = repo.lock_export(session, export_id)
    if row is None or WorkStatus(row.status) in WORK_FINISHED:
        return None
    row.status = WorkStatus.DONE
    row.finished_at = now or utcnow()
    row.filename = built.filename
    row.media_type = built.media_type
    row.content = built.content
    row.size_bytes = len(built.content)
    row.sha256 = hashlib.sha256(built.content).hexdigest()
    row.reconciles = built.reconciles
    row.differences = built.differences
    row.error = None
    session.add(row)
    session.flush()
    return row


def fail(
    session: Session, export_id: int, error: str, *, now: datetime | None = None
) -> AuditExport | None:
    """Mark an export failed with why; None if it is finished already."""
    return work.fail(session, repo.lock_export(session, export_id), error, now=now)
