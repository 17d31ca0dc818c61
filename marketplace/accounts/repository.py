"""Account queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from marketplace.accounts.models import (
    IdempotencyRecord,
    LoginAttempt,
    RateEvent,
    RefreshToken,
    UserAccount,
)


def get(session: Session, account_id: int) -> UserAccount | None:
    """The account with this id."""
    return session.get(UserAccount, account_id)


def get_by_username(session: Session, username: str) -> UserAccount | None:
    """The account with this user name."""
    return session.exec(select(UserAccount).where(col(UserAccount.username) == username)).first()


def account_with_role_and_phone(session: Session, role: str, phone: str) -> UserAccount | None:
    """An account of this role registered with this phone number."""
    return session.exec(
        select(UserAccount).where(col(UserAccount.role) == role, col(UserAccount.phone) == phone)
    ).first()


def get_by_public_id(session: Session, public_id: str) -> UserAccount | None:
    """The account with this public id."""
    return session.exec(select(UserAccount).where(col(UserAccount.public_id) == public_id)).first()


def failures_since(session: Session, username: str, since: datetime) -> int:
    """Failed sign-ins for the user name since ``since``."""
    return int(
        session.exec(
            select(func.count(col(LoginAttempt.id))).where(
                col(LoginAttempt.username) == username,
                col(LoginAttempt.at) >= since,
                col(LoginAttempt.ok).is_(False),
            )
        ).one()
    )


def oldest_failure_since(session: Session, username: str, since: datetime) -> datetime | None:
    """The first failed sign-in for the user name since ``since``."""
    return session.exec(
        select(func.min(col(LoginAttempt.at))).where(
            col(LoginAttempt.username) == username,
            col(LoginAttempt.at) >= since,
            col(LoginAttempt.ok).is_(False),
        )
    ).one()


def events_since(session: Session, key: str, since: datetime) -> tuple[int, datetime | None]:
    """How many throttled events of ``key`` since ``since``, and the oldest of them."""
    count, oldest = session.exec(
        select(func.count(col(RateEvent.id)), func.min(col(RateEvent.at))).where(
            col(RateEvent.key) == key, col(RateEvent.at) >= since
        )
    ).one()
    return int(count), oldest


def refresh_by_hash(session: Session, token_hash: str) -> RefreshToken | None:
    """The refresh token with this hash, locked for its rotation."""
    return session.exec(
        select(RefreshToken)
        .where(col(RefreshToken.token_hash) == token_hash)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def live_refresh_of_family(session: Session, family: str) -> Sequence[RefreshToken]:
    """A login's refresh tokens not yet revoked."""
    return session.exec(
        select(RefreshToken).where(
            col(RefreshToken.family) == family, col(RefreshToken.revoked_at).is_(None)
        )
    ).all()


def live_refresh_of_user(session: Session, user_id: int) -> Sequence[RefreshToken]:
    """An account's refresh tokens not yet revoked."""
    return session.exec(
        select(RefreshToken).where(
            col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None)
        )
    ).all()


def idempotency_record(session: Session, account_id: int, key: str) -> IdempotencyRecord | None:
    """The remembered answer to the account's request with this key."""
    return session.exec(
        select(IdempotencyRecord).where(
            col(IdempotencyRecord.account_id) == account_id, col(IdempotencyRecord.key) == key
        )
    ).first()


def accounts_page(
    session: Session, *, after_id: int, limit: int, role: str | None = None
) -> Sequence[UserAccount]:
    """Accounts (optionally of one role) with ids after ``after_id``, by id."""
    stmt = select(UserAccount).where(col(UserAccount.id) > after_id)
    if role is not None:
        stmt = stmt.where(col(UserAccount.role) == role)
    return session.exec(stmt.order_by(col(UserAccount.id)).limit(limit)).all()
