"""Providers (organisations) and their workers: skills, certificates, shifts, exceptions."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.dbtypes import EnumText
from marketplace.common import created_at_field, json_list_field


class ProviderKind(StrEnum):
    """What kind of organisation a provider is."""

    CLEANING_FIRM = "cleaning_firm"
    CARE_CENTRE = "care_centre"
    COMMUNITY_KITCHEN = "community_kitchen"
    REPAIR_SHOP = "repair_shop"
    HOME_SERVICE = "home_service"


class ServicePointKind(StrEnum):
    """A provider's base (where workers start) or kitchen (where meals are picked up)."""

    BASE = "base"
    KITCHEN = "kitchen"


class Gender(StrEnum):
    """Gender as recorded for caregiver-matching preferences."""

    FEMALE = "female"
    MALE = "male"


class TravelMode(StrEnum):
    """How a worker moves between stops."""

    WALK = "walk"
    EBIKE = "ebike"
    CAR = "car"


class ShiftExceptionKind(StrEnum):
    """A dated change to the weekly pattern."""

    LEAVE = "leave"  # not available at all (whole day, or the given hours)
    EXTRA = "extra"  # works on a day the pattern does not cover
    CHANGED = "changed"  # works different hours that day


class Provider(SQLModel, table=True):
    """A licensed organisation offering services."""

    __tablename__ = "provider"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=120)
    kind: ProviderKind = Field(sa_type=EnumText(ProviderKind, 32))
    licence_no: str = Field(max_length=40, unique=True)
    licence_expires_on: date | None = None
    grade: int = Field(default=3, ge=1, le=5)
    phone: str = Field(default="", max_length=32)
    active: bool = True
    created_at: datetime = created_at_field()

    __table_args__ = (CheckConstraint("grade BETWEEN 1 AND 5", name="grade"),)


class ProviderDistrict(SQLModel, table=True):
    """A district a provider serves."""

    __tablename__ = "provider_district"

    provider_id: int = Field(foreign_key="provider.id", primary_key=True)
    district_id: int = Field(foreign_key="area.id", primary_key=True)


class ServicePoint(SQLModel, table=True):
    """A provider's base or kitchen."""

    __tablename__ = "service_point"

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="provider.id", index=True)
    kind: ServicePointKind = Field(sa_type=EnumText(ServicePointKind, 16))
    name: str = Field(max_length=120)
    address: str = Field(max_length=200)
    district_id: int | None = Field(default=None, foreign_key="area.id")
    lat: float
    lon: float


class Worker(SQLModel, table=True):
    """A caregiver, cleaner, repairer or courier employed by (or volunteering for) a provider."""

    __tablename__ = "worker"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    provider_id: int = Field(foreign_key="provider.id", index=True)
    name: str = Field(max_length=60)
    gender: Gender = Field(sa_type=EnumText(Gender, 8))
    phone: str = Field(default="", max_length=32)
    languages: list[str] = json_list_field()
    travel_mode: TravelMode = Field(sa_type=EnumText(TravelMode, 8))
    start_lat: float
    start_lon: float
    end_lat: float
    end_lon: float
    daily_limit_minutes: int = Field(default=480, gt=0, le=24 * 60)
    capacity: int = Field(default=0, ge=0)
    is_volunteer: bool = False
    is_public_benefit_post: bool = False
    active: bool = True
    created_at: datetime = created_at_field()


class WorkerSkill(SQLModel, table=True):
    """A skill a worker has, at a level from 1 (basic) to 5 (expert)."""

    __tablename__ = "worker_skill"
    __table_args__ = (
        UniqueConstraint("worker_id", "skill", name="uq_worker_skill"),
        CheckConstraint("level BETWEEN 1 AND 5", name="level"),
    )

    id: int | None = Field(default=None, primary_key=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    skill: str = Field(max_length=40)
    level: int = Field(default=1, ge=1, le=5)


class WorkerCertificate(SQLModel, table=True):
    """A certificate held by a worker, valid until ``expires_on`` (inclusive)."""

    __tablename__ = "worker_certificate"
    __table_args__ = (
        CheckConstraint("expires_on IS NULL OR expires_on >= issued_on", name="dates"),
    )

    id: int | None = Field(default=None, primary_key=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    kind: str = Field(max_length=40)
    number: str = Field(max_length=60)
    issued_on: date
    expires_on: date | None = None


class WorkerShift(SQLModel, table=True):
    """A weekly working period, in local (Asia/Shanghai) wall-clock time; weekday 0 = Monday."""

    __tablename__ = "worker_shift"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("ends_at > starts_at", name="order"),
        CheckConstraint("break_minutes >= 0", name="break"),
    )

    id: int | None = Field(default=None, primary_key=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    weekday: int = Field(ge=0, le=6)
    starts_at: time
    ends_at: time
    break_after_minutes: int | None = Field(default=None, ge=0)
    break_minutes: int = Field(default=0, ge=0)


class WorkerShiftException(SQLModel, table=True):
    """A dated exception to the weekly shifts: leave, an extra day, or changed hours."""

    __tablename__ = "worker_shift_exception"

    id: int | None = Field(default=None, primary_key=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    on_date: date = Field(index=True)
    kind: ShiftExceptionKind = Field(sa_type=EnumText(ShiftExceptionKind, 16))
    starts_at: time | None = None
    ends_at: time | None = None
    reason: str = Field(default="", max_length=200)
