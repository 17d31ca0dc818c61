"""Audit runs, findings and each finding's history; report exports requested over HTTP."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.dbtypes import EnumText
from marketplace.common import created_at_field, json_dict_field, json_list_field, utc_field


class FindingStatus(StrEnum):
    """Where a finding is in its review: open → explained → confirmed or dismissed."""

    OPEN = "open"
    EXPLAINED = "explained"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class ReasonCode(StrEnum):
    """Why a finding moved: an explanation, a confirmation or a dismissal."""

    # explained (by the provider or found by the auditor)
    DEVICE_FAILURE = "device_failure"
    COVERING_COLLEAGUE = "covering_colleague"
    DATA_ENTRY_ERROR = "data_entry_error"
    FAMILY_REQUEST = "family_request"
    OTHER_EXPLANATION = "other_explanation"
    # confirmed
    NO_SERVICE_DELIVERED = "no_service_delivered"
    NOT_ELIGIBLE = "not_eligible"
    OVERBILLED = "overbilled"
    DUPLICATE_CLAIM = "duplicate_claim"
    UNQUALIFIED_WORKER = "unqualified_worker"
    RECORD_FALSIFIED = "record_falsified"
    # dismissed
    FALSE_POSITIVE = "false_positive"
    EXPLANATION_ACCEPTED = "explanation_accepted"
    WITHIN_POLICY = "within_policy"


class WorkStatus(StrEnum):
    """Where long audit work (a run of the rules, a report export) is: queued → running → done
    or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


WORK_FINISHED = frozenset({WorkStatus.DONE, WorkStatus.FAILED})


class AuditRun(SQLModel, table=True):
    """One run of every anomaly rule over one service month."""

    __tablename__ = "audit_run"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    month: str = Field(max_length=7, index=True)
    actor: str = Field(max_length=80)
    # Queued over HTTP for a worker, or run at once from the command line (then done).
    status: WorkStatus = Field(
        default=WorkStatus.DONE, sa_type=EnumText(WorkStatus, 12), index=True
    )
    only_rules: list[str] = json_list_field()  # empty: every rule
    queued_at: datetime | None = utc_field()
    started_at: datetime | None = utc_field()
    finished_at: datetime | None = utc_field()
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=Text)
    visits: int = 0
    hits: int = 0
    new_findings: int = 0
    ledger_ok: bool = True
    hits_by_rule: dict[str, Any] = json_dict_field()
    seconds: dict[str, Any] = json_dict_field()  # load, rules, store


class Finding(SQLModel, table=True):
    """An anomaly found in a month, with its evidence and review status.

    Found again by a later run, it is the same finding (same month and key); its evidence is
    refreshed while it is open.
    """

    __tablename__ = "audit_finding"
    __table_args__ = (UniqueConstraint("month", "key", name="uq_audit_finding_month_key"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    month: str = Field(max_length=7, index=True)
    key: str = Field(max_length=200)
    rule: str = Field(max_length=40, index=True)
    subject_kind: str = Field(max_length=20)
    subject: str = Field(max_length=160)
    severity: str = Field(max_length=10)
    status: FindingStatus = Field(
        default=FindingStatus.OPEN, sa_type=EnumText(FindingStatus, 12), index=True
    )
    summary: str = Field(max_length=500)
    evidence: dict[str, Any] = json_dict_field()
    visit_refs: list[str] = json_list_field()
    provider_ids: list[int] = json_list_field()
    subsidy_fen: int = 0  # subsidy paid for the visits involved
    clawback_fen: int = 0  # reversed from the ledger when confirmed
    first_run_id: int = Field(foreign_key="audit_run.id")
    last_run_id: int = Field(foreign_key="audit_run.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = utc_field(nullable=False)


class FindingEvent(SQLModel, table=True):
    """One step of a finding's review, with who took it and why."""

    __tablename__ = "audit_finding_event"

    id: int | None = Field(default=None, primary_key=True)
    finding_id: int = Field(foreign_key="audit_finding.id", index=True)
    from_status: FindingStatus | None = Field(default=None, sa_type=EnumText(FindingStatus, 12))
    to_status: FindingStatus = Field(sa_type=EnumText(FindingStatus, 12))
    reason_code: ReasonCode | None = Field(default=None, sa_type=EnumText(ReasonCode, 24))
    note: str = Field(default="", max_length=1000)
    actor: str = Field(max_length=80)
    at: datetime = created_at_field()


class AuditExport(SQLModel, table=True):
    """A month report written as CSV files (one zip) or a workbook, built by a worker and kept
    with its bytes until downloaded."""

    __tablename__ = "audit_export"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    month: str = Field(max_length=7, index=True)
    format: str = Field(max_length=4)
    sample_size: int
    sample_seed: str = Field(max_length=80)
    status: WorkStatus = Field(
        default=WorkStatus.QUEUED, sa_type=EnumText(WorkStatus, 12), index=True
    )
    requested_by: str = Field(max_length=80)
    attempts: int = 0
    created_at: datetime = created_at_field()
    started_at: datetime | None = utc_field()
    finished_at: datetime | None = utc_field()
    reconciles: bool | None = None
    differences: str = Field(default="", sa_type=Text)  # the first few, described
    error: str | None = Field(default=None, sa_type=Text)
    filename: str = Field(default="", max_length=80)
    media_type: str = Field(default="", max_length=80)
    size_bytes: int | None = None
    sha256: str | None = Field(default=None, max_length=64)
    content: bytes | None = Field(default=None, sa_type=LargeBinary)
