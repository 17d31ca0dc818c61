"""Households, members, protected-group status, status periods, preferences and proxies."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.dbtypes import EnumText
from marketplace.common import created_at_field, json_list_field, utc_field


class ProtectedCategory(StrEnum):
    """Protected groups entitled to free or reduced-price services."""

    TEKUN = "tekun"  # 特困 extremely poor
    DIBAO = "dibao"  # 低保 minimum-living allowance
    YOUFU = "youfu"  # 优抚 entitled groups (veterans, martyrs' families)
    AGE80 = "age80"  # 80 岁以上 aged 80 or more
    DISABILITY = "disability"  # 残疾 / 失能 assessed disability


class DisabilityLevel(StrEnum):
    """Assessed disability (失能) level."""

    MODERATE = "moderate"  # 中度
    SEVERE = "severe"  # 重度
    TOTAL = "total"  # 完全失能


class StatusReview(StrEnum):
    """Where a protected-group status is in its review."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


class PeriodKind(StrEnum):
    """A period in which a member cannot (or can no longer) receive services at home."""

    HOSPITAL = "hospital"
    DECEASED = "deceased"
    MOVED_AWAY = "moved_away"


class PreferenceKind(StrEnum):
    """Whether a household wants or refuses a given worker."""

    PREFERRED = "preferred"
    BLOCKED = "blocked"


class Household(SQLModel, table=True):
    """A home at an address, placed in the district → street → community → grid hierarchy."""

    __tablename__ = "household"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    address: str = Field(max_length=200)
    district_id: int = Field(foreign_key="area.id", index=True)
    street_id: int = Field(foreign_key="area.id", index=True)
    community_id: int = Field(foreign_key="area.id", index=True)
    grid_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    lat: float
    lon: float
    phone: str = Field(default="", max_length=32)
    created_at: datetime = created_at_field()


class Member(SQLModel, table=True):
    """A person living in a household; the recipient of services."""

    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    name: str = Field(max_length=60)
    gender: str = Field(sa_type=String(8))
    birth_date: date
    phone: str = Field(default="", max_length=32)
    languages: list[str] = json_list_field()
    id_number_encrypted: bytes | None = Field(default=None, sa_type=LargeBinary)
    # Keyed HMAC of the ID number: exact look-up (and duplicate detection) without decrypting.
    id_number_index: str | None = Field(default=None, max_length=64, index=True)
    id_number_masked: str | None = Field(default=None, max_length=24)
    created_at: datetime = created_at_field()


class ProtectedStatus(SQLModel, table=True):
    """A member's membership of a protected group, with evidence and who verified it."""

    __tablename__ = "protected_status"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="dates"),
        CheckConstraint(
            "(category = 'disability') = (disability_level IS NOT NULL)",
            name="disability_level",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    category: ProtectedCategory = Field(sa_type=EnumText(ProtectedCategory, 16))
    disability_level: DisabilityLevel | None = Field(
        default=None, sa_type=EnumText(DisabilityLevel, 16)
    )
    review: StatusReview = Field(default=StatusReview.PENDING, sa_type=EnumText(StatusReview, 16))
    evidence_kind: str = Field(default="", max_length=60)
    evidence_encrypted: bytes | None = Field(default=None, sa_type=LargeBinary)
    certificate_no_masked: str = Field(default="", max_length=40)
    verified_by: str | None = Field(default=None, max_length=80)
    verified_at: datetime | None = utc_field()
    valid_from: date
    valid_to: date | None = None
    created_at: datetime = created_at_field()


class StatusPeriod(SQLModel, table=True):
    """In hospital from–to; deceased from; moved away from."""

    __tablename__ = "status_period"
    __table_args__ = (CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    kind: PeriodKind = Field(sa_type=EnumText(PeriodKind, 16))
    starts_on: date
    ends_on: date | None = None
    note: str = Field(default="", max_length=200)
    recorded_by: str = Field(max_length=80)
    created_at: datetime = created_at_field()


class LtcEntitlement(SQLModel, table=True):
    """A member's long-term-care insurance benefit (长护险), as the insurer assessed it.

    The insurer pays ``share_percent`` of the price of covered services, up to
    ``monthly_limit_fen`` a calendar month, before the subsidy and the household.
    """

    __tablename__ = "ltc_entitlement"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="dates"),
        CheckConstraint("share_percent > 0 AND share_percent <= 100", name="share"),
        CheckConstraint("monthly_limit_fen >= 0", name="limit"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    scheme: str = Field(max_length=60)
    service_classes: list[str] = json_list_field()
    share_percent: int
    monthly_limit_fen: int
    valid_from: date
    valid_to: date | None = None
    recorded_by: str = Field(max_length=80)
    created_at: datetime = created_at_field()


class MemberPreference(SQLModel, table=True):
    """Caregiver gender and language a member asks for."""

    __tablename__ = "member_preference"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    caregiver_gender: str | None = Field(default=None, sa_type=String(8))
    language: str | None = Field(default=None, max_length=16)
    note: str = Field(default="", max_length=200)


class WorkerPreference(SQLModel, table=True):
    """A worker the member prefers or refuses."""

    __tablename__ = "worker_preference"
    __table_args__ = (UniqueConstraint("member_id", "worker_id", name="uq_worker_preference"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    kind: PreferenceKind = Field(sa_type=EnumText(PreferenceKind, 16))
    created_at: datetime = created_at_field()


class FamilyProxy(SQLModel, table=True):
    """A family member allowed to order (and see orders) for an elder."""

    __tablename__ = "family_proxy"
    __table_args__ = (UniqueConstraint("member_id", "phone", name="uq_family_proxy_phone"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    name: str = Field(max_length=60)
    phone: str = Field(max_length=32)
    relation: str = Field(max_length=30)
    can_order: bool = True
    active: bool = True
    created_at: datetime = created_at_field()
    # The relative signs up with a one-time invitation code (only its hash is kept).
    invitation_hash: str | None = Field(default=None, max_length=64)
    invitation_expires_at: datetime | None = utc_field()
