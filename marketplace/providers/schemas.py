"""Provider and worker inputs."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, time

from pydantic import BaseModel, Field, model_validator

from marketplace.providers.models import (
    Gender,
    ProviderKind,
    ServicePointKind,
    ShiftExceptionKind,
    TravelMode,
)


def seconds_of_day(at: time) -> int:
    """Seconds since local midnight of a wall-clock time."""
    return at.hour * 3600 + at.minute * 60 + at.second


class ProviderCreate(BaseModel):
    """A licensed organisation and the districts it serves."""

    name: str = Field(min_length=1, max_length=120)
    kind: ProviderKind
    licence_no: str = Field(min_length=1, max_length=40)
    licence_expires_on: date | None = None
    grade: int = Field(default=3, ge=1, le=5)
    phone: str = Field(default="", max_length=32)
    district_ids: list[int] = Field(min_length=1)


class ServicePointCreate(BaseModel):
    """A base where workers start, or a kitchen where meals are picked up."""

    kind: ServicePointKind
    name: str = Field(min_length=1, max_length=120)
    address: str = Field(min_length=1, max_length=200)
    district_id: int | None = None
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class SkillIn(BaseModel):
    """A skill code (see ``catalog.vocab.SKILLS``) at a level from 1 (basic) to 5 (expert)."""

    skill: str = Field(min_length=1, max_length=40)
    level: int = Field(default=1, ge=1, le=5)


class CertificateIn(BaseModel):
    """A certificate (kind from ``catalog.vocab.CERTIFICATES``), valid to ``expires_on``."""

    kind: str = Field(min_length=1, max_length=40)
    number: str = Field(min_length=1, max_length=60)
    issued_on: date
    expires_on: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> CertificateIn:
        if self.expires_on is not None and self.expires_on < self.issued_on:
            raise ValueError("expires_on must not be before issued_on")
        return self


class ShiftIn(BaseModel):
    """A weekly working period in local wall-clock time; weekday 0 is Monday.

    A break of ``break_minutes`` starts ``break_after_minutes`` after the shift starts.
    """

    weekday: int = Field(ge=0, le=6)
    starts_at: time
    ends_at: time
    break_after_minutes: int | None = Field(default=None, ge=0)
    break_minutes: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> ShiftIn:
        if self.starts_at.tzinfo is not None or self.ends_at.tzinfo is not None:
            raise ValueError("shift times are local wall-clock times without a zone")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if (self.break_minutes > 0) != (self.break_after_minutes is not None):
            raise ValueError("a break needs both break_after_minutes and break_minutes > 0")
        if self.break_after_minutes is not None:
            length = seconds_of_day(self.ends_at) - seconds_of_day(self.starts_at)
            end_of_break = (self.break_after_minutes + self.break_minutes) * 60
            if self.break_after_minutes == 0 or end_of_break >= length:
                raise ValueError("the break must lie strictly inside the shift")
        return self


def overlapping_shifts(shifts: Iterable[tuple[int, time, time]]) -> bool:
    """Whether two of these ``(weekday, starts_at, ends_at)`` periods overlap."""
    by_day: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for weekday, starts_at, ends_at in shifts:
        by_day[weekday].append((starts_at, ends_at))
    for periods in by_day.values():
        ordered = sorted(periods)
        if any(b[0] < a[1] for a, b in itertools.pairwise(ordered)):
            return True
    return False


class WorkerCreate(BaseModel):
    """A worker with their skills, certificates and weekly shifts.

    The route ends where it starts unless ``end_lat``/``end_lon`` are given.
    """

    provider_id: int
    name: str = Field(min_length=1, max_length=60)
    gender: Gender
    phone: str = Field(default="", max_length=32)
    languages: list[str] = Field(default_factory=lambda: ["zh"])
    travel_mode: TravelMode = TravelMode.EBIKE
    start_lat: float = Field(ge=-90, le=90)
    start_lon: float = Field(ge=-180, le=180)
    end_lat: float | None = Field(default=None, ge=-90, le=90)
    end_lon: float | None = Field(default=None, ge=-180, le=180)
    daily_limit_minutes: int = Field(default=480, gt=0, le=24 * 60)
    capacity: int = Field(default=0, ge=0)
    is_volunteer: bool = False
    is_public_benefit_post: bool = False
    skills: list[SkillIn] = Field(default_factory=list)
    certificates: list[CertificateIn] = Field(default_factory=list)
    shifts: list[ShiftIn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> WorkerCreate:
        if (self.end_lat is None) != (self.end_lon is None):
            raise ValueError("give both end_lat and end_lon, or neither")
        skills = [s.skill for s in self.skills]
        if len(set(skills)) != len(skills):
            raise ValueError("a skill is listed twice")
        if overlapping_shifts((s.weekday, s.starts_at, s.ends_at) for s in self.shifts):
            raise ValueError("two shifts on the same weekday overlap")
        return self


class ShiftExceptionCreate(BaseModel):
    """A dated change to the weekly shifts, in local wall-clock time.

    ``leave`` without times is a whole day off, with times it removes those hours;
    ``extra`` and ``changed`` give the hours worked that day instead of the weekly shifts.
    """

    on_date: date
    kind: ShiftExceptionKind
    starts_at: time | None = None
    ends_at: time | None = None
    reason: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _consistent(self) -> ShiftExceptionCreate:
        if (self.starts_at is None) != (self.ends_at is None):
            raise ValueError("give both starts_at and ends_at, or neither")
        if self.starts_at is None:
            if self.kind is not ShiftExceptionKind.LEAVE:
                raise ValueError(f"a {self.kind.value} exception needs starts_at and ends_at")
            return self
        assert self.ends_at is not None
        if self.starts_at.tzinfo is not None or self.ends_at.tzinfo is not None:
            raise ValueError("exception times are local wall-clock times without a zone")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self
