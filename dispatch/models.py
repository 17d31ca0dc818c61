"""Solve runs and the plans they produce, versioned per day and area."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.dbtypes import EnumText
from marketplace.common import created_at_field, json_dict_field, json_list_field, utc_field


class RunStatus(StrEnum):
    """Where a solve run is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({RunStatus.DONE, RunStatus.FAILED, RunStatus.CANCELLED})


class SolveRun(SQLModel, table=True):
    """One request to plan a day (optionally one district), and how it went."""

    __tablename__ = "solve_run"
    __table_args__ = (Index("ix_solve_run_day_area", "service_date", "area_code"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    service_date: date
    area_code: str = Field(default="all", max_length=40)
    status: RunStatus = Field(default=RunStatus.QUEUED, sa_type=EnumText(RunStatus, 12), index=True)
    params: dict[str, Any] = json_dict_field()
    requested_by: str = Field(max_length=80)
    progress_solutions: int = 0
    best_objective: int | None = None
    # A run solved as parallel parts: how many there are and how many the workers finished.
    parts_total: int = 0
    parts_done: int = 0
    error: str = Field(default="", max_length=500)
    attempts: int = 0
    plan_id: int | None = Field(default=None, foreign_key="plan.id")
    created_at: datetime = created_at_field()
    started_at: datetime | None = utc_field()
    finished_at: datetime | None = utc_field()


class Plan(SQLModel, table=True):
    """A versioned plan for one day and area; the newest version is the current one."""

    __tablename__ = "plan"
    __table_args__ = (
        UniqueConstraint("service_date", "area_code", "version", name="uq_plan_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    service_date: date
    area_code: str = Field(max_length=40)
    version: int
    objective: int
    stats: dict[str, Any] = json_dict_field()
    assigned: int = 0
    unassigned: int = 0
    created_at: datetime = created_at_field()


class PlanStop(SQLModel, table=True):
    """A stop on a worker's route in a plan (times in UTC)."""

    __tablename__ = "plan_stop"
    __table_args__ = (Index("ix_plan_stop_plan_worker", "plan_id", "worker_id", "sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    order_id: int = Field(foreign_key="service_order.id", index=True)
    job_id: str = Field(max_length=60)
    kind: str = Field(sa_type=String(12))
    sequence: int
    arrival_at: datetime = utc_field(nullable=False)
    start_at: datetime = utc_field(nullable=False)
    end_at: datetime = utc_field(nullable=False)
    travel_seconds: int
    travel_metres: int


class PlanUnassigned(SQLModel, table=True):
    """An order a plan left out, with the reasons."""

    __tablename__ = "plan_unassigned"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    order_id: int = Field(foreign_key="service_order.id", index=True)
    job_id: str = Field(max_length=60)
    reasons: list[dict[str, Any]] = json_list_field()
