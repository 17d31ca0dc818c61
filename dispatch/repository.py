"""Queries for solve runs and plans."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from dispatch.models import Plan, PlanStop, PlanUnassigned, SolveRun
from marketplace.orders.models import Order
from marketplace.providers.models import Worker as WorkerRow


def get_run(session: Session, run_id: int) -> SolveRun | None:
    """The run with this id."""
    return session.get(SolveRun, run_id)


def get_run_by_public_id(session: Session, public_id: str) -> SolveRun | None:
    """The run with this public id."""
    return session.exec(select(SolveRun).where(SolveRun.public_id == public_id)).first()


def get_run_for_update(session: Session, run_id: int) -> SolveRun | None:
    """The run, row-locked (PostgreSQL) and freshly read."""
    stmt = select(SolveRun).where(SolveRun.id == run_id).with_for_update()
    return session.exec(stmt.execution_options(populate_existing=True)).first()


def latest_version(session: Session, day: date, area_code: str) -> int:
    """The newest plan version for a day and area (0 when there is none)."""
    stmt = select(func.max(Plan.version)).where(
        Plan.service_date == day, Plan.area_code == area_code
    )
    return int(session.exec(stmt).one() or 0)


def current_plan(session: Session, day: date, area_code: str) -> Plan | None:
    """The newest plan for a day and area."""
    stmt = (
        select(Plan)
        .where(Plan.service_date == day, Plan.area_code == area_code)
        .order_by(col(Plan.version).desc())
    )
    return session.exec(stmt).first()


def get_plan(session: Session, plan_id: int) -> Plan | None:
    """The plan with this id."""
    return session.get(Plan, plan_id)


def plan_stops(session: Session, plan_id: int, worker_id: int | None = None) -> Sequence[PlanStop]:
    """A plan's stops by worker and sequence (optionally one worker's)."""
    stmt = select(PlanStop).where(PlanStop.plan_id == plan_id)
    if worker_id is not None:
        stmt = stmt.where(PlanStop.worker_id == worker_id)
    return session.exec(stmt.order_by(col(PlanStop.worker_id), col(PlanStop.sequence))).all()


def plan_unassigned(session: Session, plan_id: int) -> Sequence[PlanUnassigned]:
    """Orders a plan left out."""
    stmt = select(PlanUnassigned).where(PlanUnassigned.plan_id == plan_id)
    return session.exec(stmt.order_by(col(PlanUnassigned.id))).all()


def plan_stops_with_refs(session: Session, plan_id: int) -> list[tuple[PlanStop, str, str, int]]:
    """A plan's stops by worker and sequence, each with the worker's and the order's public
    ids and the worker's provider (one query, for showing the plan)."""
    stmt = (
        select(PlanStop, WorkerRow.public_id, Order.public_id, WorkerRow.provider_id)
        .join(WorkerRow, col(WorkerRow.id) == col(PlanStop.worker_id))
        .join(Order, col(Order.id) == col(PlanStop.order_id))
        .where(PlanStop.plan_id == plan_id)
        .order_by(col(PlanStop.worker_id), col(PlanStop.sequence))
    )
    return [(stop, worker, order, provider) for stop, worker, order, provider in session.exec(stmt)]


def plan_unassigned_with_refs(
    session: Session, plan_id: int
) -> list[tuple[PlanUnassigned, str, int]]:
    """Orders a plan left out, each with the order's public id and provider."""
    stmt = (
        select(PlanUnassigned, Order.public_id, Order.provider_id)
        .join(Order, col(Order.id) == col(PlanUnassigned.order_id))
        .where(PlanUnassigned.plan_id == plan_id)
        .order_by(col(PlanUnassigned.id))
    )
    return [(row, order, provider) for row, order, provider in session.exec(stmt)]
