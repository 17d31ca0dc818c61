"""Liveness and readiness: database, broker, and a task round-trip through a worker."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from api.access import public
from api.problems import problem_responses
from api.worker import celery
from core import db
from core.errors import DomainError
from core.settings import get_settings
from core.tasks import ping

router = APIRouter(tags=["health"], dependencies=[public()])


class WorkerUnavailable(DomainError):
    """No worker answered a ping in time."""

    status_code = 503
    code = "worker-unavailable"
    title = "No worker answered"


WORKER_TIMEOUT_S = 20.0


class ComponentStatus(BaseModel):
    """One dependency's state."""

    ok: bool
    kind: str
    detail: str = ""


class Health(BaseModel):
    """Overall health and each dependency's."""

    status: str
    database: ComponentStatus
    broker: ComponentStatus


class WorkerHealth(BaseModel):
    """A ping task's trip through the broker and a worker."""

    ok: bool
    worker: str
    round_trip_ms: int


def _check_database() -> ComponentStatus:
    url = make_url(get_settings().resolved_database_url)
    try:
        dialect = db.ping()
    except Exception as exc:
        return ComponentStatus(ok=False, kind=url.get_backend_name(), detail=type(exc).__name__)
    return ComponentStatus(ok=True, kind=dialect)


def _check_broker() -> ComponentStatus:
    transport = get_settings().resolved_broker_url.split("://", 1)[0]
    try:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        return ComponentStatus(ok=False, kind=transport, detail=type(exc).__name__)
    return ComponentStatus(ok=True, kind=transport)


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health() -> Any:
    """Database and broker status; 503 when either is down."""
    database = await run_in_threadpool(_check_database)
    broker = await run_in_threadpool(_check_broker)
    ok = database.ok and broker.ok
    body = Health(status="ok" if ok else "degraded", database=database, broker=broker)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


def _round_trip() -> WorkerHealth:
    started = time.monotonic()
    result = ping.apply_async(args=["health"])
    try:
        reply = result.get(timeout=WORKER_TIMEOUT_S)
    finally:
        result.forget()
    elapsed = round((time.monotonic() - started) * 1000)
    return WorkerHealth(
        ok=True, worker=f"{reply['hostname']}:{reply['pid']}", round_trip_ms=elapsed
    )


@router.get("/health/worker", response_model=WorkerHealth, responses=problem_responses(503))
async def worker_health() -> WorkerHealth:
    """Send a ping task through the broker and wait for a worker's answer."""
    try:
        return await run_in_threadpool(_round_trip)
    except Exception as exc:
        raise WorkerUnavailable(
            f"no worker answered within {WORKER_TIMEOUT_S:.0f} s ({type(exc).__name__})"
        ) from exc
