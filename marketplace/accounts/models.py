"""User accounts, their refresh tokens, login attempts and the log of personal-data reads."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.dbtypes import EnumText
from marketplace.common import created_at_field, json_dict_field, utc_field


class Role(StrEnum):
    """What an account may do; ownership narrows it to the account's own objects."""

    HOUSEHOLD = "household"  # a member who orders for their household
    PROXY = "proxy"  # family acting for elders who named them (marketplace FamilyProxy)
    PROVIDER_ADMIN = "provider_admin"
    WORKER = "worker"
    DISPATCHER = "dispatcher"  # of one provider, or of the platform when provider_id is None
    AUDITOR = "auditor"  # reads, never writes
    ADMIN = "admin"


class UserAccount(SQLModel, table=True):
    """Someone who signs in, with the role and the objects the role is tied to."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(
            "(role <> 'household') OR (household_id IS NOT NULL AND member_id IS NOT NULL)",
            name="household_link",
        ),
        CheckConstraint("(role <> 'worker') OR (worker_id IS NOT NULL)", name="worker_link"),
        CheckConstraint(
            "(role NOT IN ('provider_admin', 'worker')) OR (provider_id IS NOT NULL)",
            name="provider_link",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    username: str = Field(max_length=80, unique=True)
    password_hash: str = Field(max_length=200)
    role: Role = Field(sa_type=EnumText(Role, 16), index=True)
    display_name: str = Field(default="", max_length=60)
    phone: str = Field(default="", max_length=32)  # a proxy's phone names the elders it serves
    household_id: int | None = Field(default=None, foreign_key="household.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    provider_id: int | None = Field(default=None, foreign_key="provider.id", index=True)
    worker_id: int | None = Field(default=None, foreign_key="worker.id", unique=True)
    # Authorised civil-affairs staff see ID numbers and evidence unmasked.
    civil_affairs: bool = False
    active: bool = True
    # Bumped to revoke every access token issued before (they carry the version).
    token_version: int = 0
    created_at: datetime = created_at_field()


class RefreshToken(SQLModel, table=True):
    """A refresh token (only its hash is kept); rotated on use, revoked on logout or reuse."""

    __tablename__ = "refresh_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    family: str = Field(max_length=32, index=True)  # every rotation of one login
    expires_at: datetime = utc_field(nullable=False)
    used_at: datetime | None = utc_field()
    revoked_at: datetime | None = utc_field()
    created_at: datetime = created_at_field()


class LoginAttempt(SQLModel, table=True):
    """A password sign-in attempt, for the rate limit (shared by every API process)."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_username_at", "username", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=80)
    client: str = Field(default="", max_length=64)
    ok: bool
    at: datetime = created_at_field()


class RateEvent(SQLModel, table=True):
    """One counted event of a throttled action (a wrong confirmation code, a registration),
    under a key naming the action and its subject; shared by every API process."""

    __tablename__ = "rate_event"
    __table_args__ = (Index("ix_rate_event_key_at", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120)
    at: datetime = created_at_field()


class PersonalDataRead(SQLModel, table=True):
    """An auditor's (or civil-affairs officer's) read of personal data: who, what, when."""

    __tablename__ = "personal_data_read"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    method: str = Field(max_length=8)
    path: str = Field(max_length=300)
    subject: str = Field(default="", max_length=120)
    at: datetime = created_at_field()


class IdempotencyRecord(SQLModel, table=True):
    """The answer to a creating request sent with an ``Idempotency-Key``, kept per account so
    the same request sent again gets the same answer instead of a second object."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("account_id", "key", name="uq_idempotency_account_key"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="user_account.id")
    key: str = Field(max_length=100)
    request_hash: str = Field(max_length=64)  # method, path and body
    status_code: int
    response: dict[str, Any] = json_dict_field()
    created_at: datetime = created_at_field()
