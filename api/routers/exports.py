"""Audit report exports over HTTP: request one (202: queued for a Celery worker), poll it,
list them, download the finished file.

Who: auditors and administrators, both to request and to read. Requesting an export is a read,
not a write of audited data: it queues a report of the month as it stands and writes only the
export's own row (status and file), so it stays within the auditors' read-only access. Every
auditor and administrator sees every export. The file holds the field-check sample (names
masked, addresses shown), so each download is logged as a personal-data read.

The export is committed before its task is sent (``audit.export``, by name, to the broker of
this process's settings); the worker reloads it by id and skips it if it is finished.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from api import ownership, queue
from api.access import Owner, allow
from api.deps import SessionDep
from api.idempotency import Idempotent, key_header, replayed
from api.pagination import After, Limit, Page, decode_cursor, page, row_id
from api.problems import problem_responses
from api.types import MONTH_PATTERN, public_id_path
from audit import exports
from audit import reports as audit_reports
from audit.models import AuditExport, WorkStatus
from marketplace.accounts.models import Role, UserAccount

router = APIRouter(tags=["audit"])

Exporter = Annotated[UserAccount, allow(Role.AUDITOR, Role.ADMIN, owner=Owner.EXPORT)]
FileReader = Annotated[
    UserAccount, allow(Role.AUDITOR, Role.ADMIN, owner=Owner.EXPORT, personal_data=True)
]
ExportId = Annotated[str, public_id_path("an export's public id")]
ExportKey = Annotated[str, key_header("export")]
EXPORT_ROUTE = "audit_export"
FILE_ROUTE = "audit_export_file"


class ExportIn(BaseModel):
    """The month to export, the file's format and the field-check sample to draw."""

    model_config = ConfigDict(extra="forbid")

    month: str = Field(
        min_length=7, max_length=7, pattern=MONTH_PATTERN, description="the service month, YYYY-MM"
    )
    format: Literal["csv", "xlsx"] = Field(
        description="csv: a zip of one CSV file per table; xlsx: one workbook"
    )
    sample_size: int = Field(
        default=audit_reports.DEFAULT_SAMPLE_SIZE,
        ge=0,
        le=exports.MAX_SAMPLE_SIZE,
        strict=True,  # a whole number, not true/false or 5.0
        description="visits drawn for field checks",
    )
    sample_seed: str = Field(
        default=audit_reports.DEFAULT_SAMPLE_SEED,
        min_length=1,
        max_length=exports.MAX_SEED_LENGTH,
        pattern=r"^[^\x00]*$",
        description="the sample's seed (the same seed draws the same visits)",
    )


class ExportPublic(BaseModel):
    """A report export: its request, where it is, and once done its file and whether the
    month reconciles."""

    id: str
    month: str
    format: str
    sample_size: int
    sample_seed: str
    status: str
    requested_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    reconciles: bool | None = Field(
        description="whether the report reconciles with the ledger and settlements to the fen"
    )
    differences: str = Field(description="the first reconciliation differences, described")
    error: str | None
    filename: str | None
    media_type: str | None
    size_bytes: int | None
    sha256: str | None = Field(description="the file's SHA-256, hex")
    url: str
    download: str | None = Field(description="the file's URL, once the export is done")


def _url(request: Request, row: AuditExport) -> str:
    return str(request.app.url_path_for(EXPORT_ROUTE, export_id=row.public_id))


def _public(request: Request, row: AuditExport) -> ExportPublic:
    done = row.status == WorkStatus.DONE
    return ExportPublic(
        id=row.public_id,
        month=row.month,
        format=row.format,
        sample_size=row.sample_size,
        sample_seed=row.sample_seed,
        status=str(row.status),
        requested_by=row.requested_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        reconciles=row.reconciles,
        differences=row.differences,
        error=row.error,
        filename=row.filename if done else None,
        media_type=row.media_type if done else None,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        url=_url(request, row),
        download=str(request.app.url_path_for(FILE_ROUTE, export_id=row.public_id))
        if done
        else None,
    )


def _enqueue(session: Session, row: AuditExport) -> None:
    """Send the committed export to the workers; one the broker refuses is failed, and 503."""
    assert row.id is not None
    export_id = row.id
    queue.send(
        session,
        exports.TASK,
        export_id,
        what=f"export {row.public_id}",
        soft_time_limit=exports.SOFT_TIME_LIMIT_S,
        time_limit=exports.TIME_LIMIT_S,
        fail=lambda reason: exports.fail(session, export_id, reason),
    )


def _replayed(request: Request, response: Response, once: Idempotent) -> ExportPublic | None:
    """The export this key requested before, answered 200 with its URL; None for a new key
    (Conflict if the key came with another request)."""
    known = once.known()
    if known is None:
        return None
    row = exports.get_or_raise(once.session, str(known.response.get("id", "")))
    response.status_code = 200
    response.headers["Location"] = _url(request, row)
    return _public(request, row)


@router.post(
    "/audit/exports",
    response_model=ExportPublic,
    status_code=202,
    responses={
        **replayed("The export this key requested before", ExportPublic),
        202: {"description": "Queued; poll the export at the Location URL"},
        **problem_responses(401, 403, 404, 409, 422, 503),
    },
)
def request_export(
    request: Request,
    response: Response,
    session: SessionDep,
    account: Exporter,
    body: ExportIn,
    idempotency_key: ExportKey,
) -> ExportPublic:
    """Export a month report (spend by area, provider, group and month, EVV compliance, the
    field-check sample, the reconciliation) as CSV files in a zip or one workbook: queued for a
    worker, answered with 202 and its URL (``Location``). The same key with the same request
    returns the same export (200); with another request, 409."""
    once = Idempotent.of(session, account, idempotency_key, "POST", "/audit/exports", body)
    if (known := _replayed(request, response, once)) is not None:
        return known
    row = exports.request(
        session,
        body.month,
        body.format,
        actor=ownership.actor(account),
        sample_size=body.sample_size,
        sample_seed=body.sample_seed,
    )
    once.remember({"id": row.public_id}, 202)
    session.commit()  # the worker must find the export: commit before the task is sent
    _enqueue(session, row)
    response.headers["Location"] = _url(request, row)
    return _public(request, row)


@router.get(
    "/audit/exports",
    response_model=Page[ExportPublic],
    responses=problem_responses(401, 403, 422),
)
def list_exports(
    request: Request, session: SessionDep, account: Exporter, limit: Limit = 50, after: After = None
) -> Page[ExportPublic]:
    """Exports, newest first, a page at a time."""
    rows = exports.newest(
        session, before_id=decode_cursor(after) if after else None, limit=limit + 1
    )
    return page(rows, limit, row_id, lambda r: _public(request, r))


@router.get(
    "/audit/exports/{export_id}",
    name=EXPORT_ROUTE,
    response_model=ExportPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def get_export(
    request: Request, session: SessionDep, account: Exporter, export_id: ExportId
) -> ExportPublic:
    """An export: its status, when it started and finished, and once done the file's name,
    size and SHA-256, whether the month reconciles, and the ``download`` URL."""
    return _public(request, exports.get_or_raise(session, export_id))


@router.get(
    "/audit/exports/{export_id}/file",
    name=FILE_ROUTE,
    response_class=Response,
    responses={
        200: {
            "description": "The export's file, as an attachment",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in exports.MEDIA_TYPES.values()
            },
        },
        **problem_responses(401, 403, 404, 409, 422),
    },
)
def download_export(session: SessionDep, account: FileReader, export_id: ExportId) -> Response:
    """The finished export's file (a zip of CSV files, or the workbook); 409 until the export
    is done. The field-check sample in it is personal data: each download is logged."""
    row = exports.get_or_raise(session, export_id)
    data = exports.content(session, row)
    return Response(
        content=data,
        media_type=row.media_type,
        headers={"Content-Disposition": f'attachment; filename="{row.filename}"'},
    )
