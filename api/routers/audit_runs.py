"""Runs of the audit rules over HTTP: an administrator queues one (202: a Celery worker runs
it), auditors and administrators poll it and list them.

Running the rules writes findings, so only administrators start runs (auditors read, never
write). A month has at most one run queued or running at a time. The run is committed before
its task is sent (``audit.run``, by name); the worker reloads it by id and skips it if it is
finished. ``linli audit run`` runs the rules at once, without a worker.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

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
from audit import rules
from audit import service as audit_service
from audit.models import AuditRun
from marketplace.accounts.models import Role, UserAccount

router = APIRouter(tags=["audit"])

Reader = Annotated[UserAccount, allow(Role.AUDITOR, Role.ADMIN, owner=Owner.AUDIT_RUN)]
RunId = Annotated[str, public_id_path("an audit run's public id")]
RunKey = Annotated[str, key_header("run")]
RUN_ROUTE = "audit_run"


class AuditRunIn(BaseModel):
    """The service month to run the rules over (and, optionally, only some rules)."""

    model_config = ConfigDict(extra="forbid")

    month: str = Field(min_length=7, max_length=7, pattern=MONTH_PATTERN, description="YYYY-MM")
    rules: list[Annotated[str, Field(max_length=40, pattern=r"^[a-z_]+$")]] = Field(
        default_factory=list,
        max_length=len(rules.RULES),
        description=f"only these rules (default: every rule): {', '.join(sorted(rules.RULES))}",
    )


class AuditRunPublic(BaseModel):
    """A run of the rules over a month: where it is and, once done, what it found."""

    id: str
    month: str
    status: str = Field(description="queued, running, done or failed")
    rules: list[str] = Field(description="the rules run (empty: every rule)")
    requested_by: str
    queued_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    visits: int
    hits: int
    new_findings: int
    ledger_ok: bool
    hits_by_rule: dict[str, int]
    error: str | None
    url: str


def _url(request: Request, run: AuditRun) -> str:
    return str(request.app.url_path_for(RUN_ROUTE, run_id=run.public_id))


def _public(request: Request, run: AuditRun) -> AuditRunPublic:
    return AuditRunPublic(
        id=run.public_id,
        month=run.month,
        status=str(run.status),
        rules=list(run.only_rules),
        requested_by=run.actor,
        queued_at=run.queued_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        visits=run.visits,
        hits=run.hits,
        new_findings=run.new_findings,
        ledger_ok=run.ledger_ok,
        hits_by_rule={str(k): int(v) for k, v in run.hits_by_rule.items()},
        error=run.error,
        url=_url(request, run),
    )


def _enqueue(session: Session, run: AuditRun) -> None:
    """Send the committed run to the workers; one the broker refuses is failed, and 503."""
    assert run.id is not None
    run_id = run.id
    queue.send(
        session,
        audit_service.RUN_TASK,
        run_id,
        what=f"audit run {run.public_id}",
        soft_time_limit=audit_service.RUN_SOFT_TIME_LIMIT_S,
        time_limit=audit_service.RUN_TIME_LIMIT_S,
        fail=lambda reason: audit_service.fail_run(session, run_id, reason),
    )


@router.post(
    "/audit/runs",
    response_model=AuditRunPublic,
    status_code=202,
    responses={
        **replayed("The run this key queued before", AuditRunPublic),
        202: {"description": "Queued; poll the run at the Location URL"},
        **problem_responses(401, 403, 409, 422, 503),
    },
)
def queue_run(
    request: Request,
    response: Response,
    session: SessionDep,
    account: Annotated[UserAccount, allow(Role.ADMIN)],
    body: AuditRunIn,
    idempotency_key: RunKey,
) -> AuditRunPublic:
    """Run the anomaly rules over a service month and store the findings (the same anomaly
    found again is the same finding): queued for a worker, answered with 202 and its URL
    (``Location``). Another run of the month queued or running: 409. The same key with the
    same request returns the same run (200); with another request, 409. Administrators only."""
    once = Idempotent.of(session, account, idempotency_key, "POST", "/audit/runs", body)
    known = once.known()
    if known is not None:
        run = audit_service.get_run_or_raise(session, str(known.response.get("id", "")))
        response.status_code = 200
        response.headers["Location"] = _url(request, run)
        return _public(request, run)
    run = audit_service.queue_run(
        session, body.month, actor=ownership.actor(account), only=body.rules or None
    )
    once.remember({"id": run.public_id}, 202)
    session.commit()  # the worker must find the run: commit before the task is sent
    _enqueue(session, run)
    response.headers["Location"] = _url(request, run)
    return _public(request, run)


@router.get(
    "/audit/runs", response_model=Page[AuditRunPublic], responses=problem_responses(401, 403, 422)
)
def list_runs(
    request: Request, session: SessionDep, account: Reader, limit: Limit = 50, after: After = None
) -> Page[AuditRunPublic]:
    """Runs of the rules, newest first, a page at a time."""
    rows = audit_service.runs_newest(
        session, before_id=decode_cursor(after) if after else None, limit=limit + 1
    )
    return page(rows, limit, row_id, lambda r: _public(request, r))


@router.get(
    "/audit/runs/{run_id}",
    name=RUN_ROUTE,
    response_model=AuditRunPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def get_run(
    request: Request, session: SessionDep, account: Reader, run_id: RunId
) -> AuditRunPublic:
    """A run: its status and, once done, the visits it looked at, its hits by rule, the new
    findings and whether the ledger verified; the error if it failed."""
    return _public(request, audit_service.get_run_or_raise(session, run_id))
