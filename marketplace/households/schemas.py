"""Household, member, status and proxy inputs."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field, model_validator

from marketplace.households.models import DisabilityLevel, PeriodKind, ProtectedCategory
from marketplace.providers.models import Gender
from pricing.policy import ServiceClass


class HouseholdCreate(BaseModel):
    """A home: its address, its place in the area hierarchy and its coordinates."""

    address: str = Field(min_length=1, max_length=200)
    district_id: int
    street_id: int
    community_id: int
    grid_id: int | None = None
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    phone: str = Field(default="", max_length=32)


class MemberCreate(BaseModel):
    """A person living in the household; ``id_number`` is the 18-character resident ID."""

    name: str = Field(min_length=1, max_length=60)
    gender: Gender
    birth_date: date
    phone: str = Field(default="", max_length=32)
    languages: list[str] = Field(default_factory=lambda: ["zh"])
    id_number: str | None = Field(default=None, max_length=24, repr=False)


class ProtectedStatusCreate(BaseModel):
    """An application for a protected-group status, with its (encrypted) evidence.

    ``age80`` is not applied for: it follows from the birth date.
    """

    category: ProtectedCategory
    disability_level: DisabilityLevel | None = None
    evidence_kind: str = Field(default="", max_length=60)
    evidence: str = Field(default="", max_length=4000, repr=False)
    certificate_no: str = Field(default="", max_length=40, repr=False)
    valid_from: date
    valid_to: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ProtectedStatusCreate:
        if self.category is ProtectedCategory.AGE80:
            raise ValueError("age80 is derived from the birth date, not applied for")
        if (self.category is ProtectedCategory.DISABILITY) != (self.disability_level is not None):
            raise ValueError("a disability level is given exactly for the disability category")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to must not be before valid_from")
        return self


class StatusPeriodCreate(BaseModel):
    """In hospital from–to (open-ended while still there); deceased from; moved away from."""

    kind: PeriodKind
    starts_on: date
    ends_on: date | None = None
    note: str = Field(default="", max_length=200)
    recorded_by: str = Field(min_length=1, max_length=80)

    @model_validator(mode="after")
    def _consistent(self) -> StatusPeriodCreate:
        if self.kind is not PeriodKind.HOSPITAL and self.ends_on is not None:
            raise ValueError(f"a {self.kind.value} period has no end date")
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class LtcEntitlementCreate(BaseModel):
    """A long-term-care insurance benefit: the insurer's share of covered services and its
    monthly limit."""

    scheme: str = Field(min_length=1, max_length=60)
    service_classes: list[ServiceClass] = Field(min_length=1, max_length=4)
    share_percent: int = Field(gt=0, le=100)
    monthly_limit_fen: int = Field(ge=0, le=10_000_000)
    valid_from: date
    valid_to: date | None = None
    recorded_by: str = Field(min_length=1, max_length=80)

    @model_validator(mode="after")
    def _consistent(self) -> LtcEntitlementCreate:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to must not be before valid_from")
        if len(set(self.service_classes)) != len(self.service_classes):
            raise ValueError("service_classes lists a class twice")
        return self


class MemberPreferenceUpdate(BaseModel):
    """The caregiver gender and language a member asks for (``None``: no preference)."""

    caregiver_gender: Gender | None = None
    language: str | None = Field(default=None, max_length=16)
    note: str = Field(default="", max_length=200)


class FamilyProxyCreate(BaseModel):
    """A relative allowed to order for (and see the orders of) a member."""

    name: str = Field(min_length=1, max_length=60)
    phone: str = Field(min_length=1, max_length=32)
    relation: str = Field(min_length=1, max_length=30)
    can_order: bool = True
