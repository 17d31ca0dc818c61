"""Accounts: passwords (argon2), sign-in with a rate limit, refresh tokens with rotation and
reuse detection, revocation, and the log of personal-data reads.

Access tokens themselves are signed and checked at the edge (``api.auth``); they carry the
account's ``token_version``, so bumping it revokes every one issued before.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlmodel import Session

from core.errors import Conflict, NotFound, TooManyRequests, Unauthorized, Validation
from core.ids import new_public_id
from core.timeutil import utcnow
from marketplace.accounts import repository as repo
from marketplace.accounts import throttle
from marketplace.accounts.models import (
    IdempotencyRecord,
    LoginAttempt,
    PersonalDataRead,
    RefreshToken,
    Role,
    UserAccount,
)
from marketplace.accounts.schemas import AccountCreate
from marketplace.households import service as households_service
from marketplace.households.models import FamilyProxy
from marketplace.providers import service as providers_service

MAX_FAILURES = 5  # failed sign-ins of one user name …
FAILURE_WINDOW = timedelta(minutes=15)  # … within this window lock further attempts out
REFRESH_LIFETIME = timedelta(days=14)
# Verifying against this when the user name is unknown takes as long as a real check, so the
# time taken does not tell which user names exist.
_DUMMY_PASSWORD = secrets.token_urlsafe(16)


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(_DUMMY_PASSWORD)


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    """Whether the password matches the hash."""
    return _hasher().verify(password, password_hash)


def get_or_raise(session: Session, account_id: int) -> UserAccount:
    """The account, or NotFound."""
    account = repo.get(session, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    return account


def _check_links(session: Session, data: AccountCreate) -> None:
    """The role's links exist and belong together; nothing else is linked."""
    role = data.role
    if role is Role.HOUSEHOLD:
        if data.household_id is None or data.member_id is None:
            raise Validation("a household account names its household and its member")
        member = households_service.get_member_or_raise(session, data.member_id)
        if member.household_id != data.household_id:
            raise Validation("the member does not live in that household")
    elif data.household_id is not None or data.member_id is not None:
        raise Validation(f"a {role.value} account is not tied to a household")
    if role is Role.PROXY and not data.phone.strip():
        raise Validation("a proxy account needs the phone the elders named")
    if role in (Role.PROVIDER_ADMIN, Role.WORKER, Role.DISPATCHER):
        if data.provider_id is not None:
            providers_service.get_or_raise(session, data.provider_id)
        elif role is not Role.DISPATCHER:
            raise Validation(f"a {role.value} account names its provider")
    elif data.provider_id is not None:
        raise Validation(f"a {role.value} account is not tied to a provider")
    if role is Role.WORKER:
        if data.worker_id is None:
            raise Validation("a worker account names its worker")
        worker = providers_service.get_worker_or_raise(session, data.worker_id)
        if worker.provider_id != data.provider_id:
            raise Validation("the worker does not work for that provider")
    elif data.worker_id is not None:
        raise Validation(f"a {role.value} account is not tied to a worker")
    if data.civil_affairs and role not in (Role.AUDITOR, Role.ADMIN):
        raise Validation("only auditors and administrators can be civil-affairs staff")


def create_account(session: Session, data: AccountCreate) -> UserAccount:
    """Register an account (the password is kept only as an argon2 hash)."""
    if repo.get_by_username(session, data.username) is not None:
        raise Conflict(f"the user name {data.username!r} is taken")
    _check_links(session, data)
    account = UserAccount(
        public_id=new_public_id("usr"),
        username=data.username,
        password_hash=hash_password(data.password),
        role=data.role,
        display_name=data.display_name,
        phone=data.phone,
        household_id=data.household_id,
        member_id=data.member_id,
        provider_id=data.provider_id,
        worker_id=data.worker_id,
        civil_affairs=data.civil_affairs,
    )
    session.add(account)
    session.flush()
    return account


# Wrong invitation codes for one phone: an invitation has ~10^12 values, so this only stops
# a script from trying codes against a phone it knows.
WRONG_INVITATIONS = throttle.Throttle(
    "invitation", 5, timedelta(minutes=15), "too many wrong invitation codes for this phone"
)


def register_proxy(
    session: Session,
    *,
    username: str,
    password: str,
    phone: str,
    code: str,
    display_name: str = "",
    now: datetime | None = None,
) -> tuple[UserAccount, list[FamilyProxy]]:
    """A relative signs up as a proxy with the invitation code a household gave them; the
    account and the proxies (one per elder) its phone acts for. A phone that has a proxy account
    already is Conflict: that account acts for the new elder as soon as it is named. Wrong
    codes count (``WRONG_INVITATIONS``); the caller commits even when this raises."""
    at = now or utcnow()
    WRONG_INVITATIONS.check(session, phone, now=at)
    try:
        households_service.accept_invitation(session, phone, code, now=at)
    except Validation:
        WRONG_INVITATIONS.count(session, phone, now=at)
        raise
    # Checked after the code, so nobody learns without one which phones have accounts (the
    # refusal rolls back, and the code stays open).
    if repo.account_with_role_and_phone(session, Role.PROXY.value, phone) is not None:
        raise Conflict(
            "this phone has a proxy account already: sign in with it; it acts for every elder "
            "who named this phone"
        )
    if repo.get_by_username(session, username) is not None:
        raise Conflict(f"the user name {username!r} is taken")
    account = create_account(
        session,
        AccountCreate(
            username=username,
            password=password,
            role=Role.PROXY,
            display_name=display_name,
            phone=phone,
        ),
    )
    return account, list(households_service.proxies_with_phone(session, phone))


def authenticate(
    session: Session, username: str, password: str, *, client: str = "", now: datetime | None = None
) -> UserAccount:
    """The account for these credentials; Unauthorized if they are wrong, TooManyRequests after
    ``MAX_FAILURES`` failures of the user name within ``FAILURE_WINDOW`` (every attempt is
    recorded: the caller commits even when this raises)."""
    at = now or utcnow()
    since = at - FAILURE_WINDOW
    if repo.failures_since(session, username, since) >= MAX_FAILURES:
        first = repo.oldest_failure_since(session, username, since) or at
        wait = max(int((first + FAILURE_WINDOW - at).total_seconds()) + 1, 1)
        raise TooManyRequests(
            f"too many failed sign-ins for {username!r}; try again in {wait} s", retry_after=wait
        )
    account = repo.get_by_username(session, username)
    if account is None:
        verify_password(password, _dummy_hash())
        ok = False
    else:
        ok = verify_password(password, account.password_hash) and account.active
    session.add(LoginAttempt(username=username[:80], client=client[:64], ok=ok, at=at))
    session.flush()
    if not ok or account is None:
        raise Unauthorized("wrong user name or password")
    return account


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedRefresh:
    """A refresh token as handed to the client (the raw value is never stored)."""

    token: str
    expires_at: datetime
    family: str


def issue_refresh(
    session: Session,
    account: UserAccount,
    *,
    family: str | None = None,
    now: datetime | None = None,
) -> IssuedRefresh:
    """A new refresh token for the account (a new login, or the next in a rotation)."""
    assert account.id is not None
    at = now or utcnow()
    raw = secrets.token_urlsafe(32)
    row = RefreshToken(
        token_hash=_digest(raw),
        user_id=account.id,
        family=family or secrets.token_hex(16),
        expires_at=at + REFRESH_LIFETIME,
        created_at=at,
    )
    session.add(row)
    session.flush()
    return IssuedRefresh(raw, row.expires_at, row.family)


def _revoke(session: Session, rows: Sequence[RefreshToken], at: datetime) -> None:
    for row in rows:
        row.revoked_at = at
        session.add(row)
    session.flush()


def rotate_refresh(
    session: Session, raw: str, *, now: datetime | None = None
) -> tuple[UserAccount, IssuedRefresh]:
    """Exchange a refresh token for a new one. A token used twice means it was stolen: the
    whole login (every token of its family) is revoked and the caller must sign in again."""
    at = now or utcnow()
    row = repo.refresh_by_hash(session, _digest(raw))
    if row is None:
        raise Unauthorized("unknown refresh token")
    if row.revoked_at is not None or row.used_at is not None:
        _revoke(session, repo.live_refresh_of_family(session, row.family), at)
        raise Unauthorized("refresh token already used or revoked; sign in again")
    if row.expires_at <= at:
        raise Unauthorized("refresh token expired; sign in again")
    account = get_or_raise(session, row.user_id)
    if not account.active:
        raise Unauthorized("the account is disabled")
    row.used_at = at
    session.add(row)
    return account, issue_refresh(session, account, family=row.family, now=at)


def live_login(
    session: Session, raw: str, *, now: datetime | None = None
) -> tuple[UserAccount, str]:
    """The active account a live refresh token (not used, revoked or expired) belongs to, and
    its login (family); Unauthorized otherwise. Nothing is rotated: the web console keeps one
    token for its session, so a logout, a logout everywhere or a disabled account ends it."""
    at = now or utcnow()
    row = repo.refresh_by_hash(session, _digest(raw))
    if row is None or row.revoked_at is not None or row.used_at is not None:
        raise Unauthorized("the session has ended; sign in again")
    if row.expires_at <= at:
        raise Unauthorized("the session has expired; sign in again")
    account = get_or_raise(session, row.user_id)
    if not account.active:
        raise Unauthorized("the account is disabled")
    return account, row.family


def logout(session: Session, raw: str, *, now: datetime | None = None) -> None:
    """Revoke the login the refresh token belongs to (unknown tokens are ignored)."""
    row = repo.refresh_by_hash(session, _digest(raw))
    if row is not None:
        _revoke(session, repo.live_refresh_of_family(session, row.family), now or utcnow())


def revoke_everything(
    session: Session, account: UserAccount, *, now: datetime | None = None
) -> None:
    """Sign the account out everywhere: access tokens (by version) and refresh tokens."""
    assert account.id is not None
    account.token_version += 1
    session.add(account)
    _revoke(session, repo.live_refresh_of_user(session, account.id), now or utcnow())


def set_active(session: Session, account: UserAccount, active: bool) -> UserAccount:
    """Enable or disable an account; disabling signs it out everywhere."""
    account.active = active
    session.add(account)
    if not active:
        revoke_everything(session, account)
    session.flush()
    return account


def remembered_answer(
    session: Session, account: UserAccount, key: str, request_hash: str
) -> IdempotencyRecord | None:
    """The answer given to this key before, if any; Conflict if the key came with another
    request."""
    assert account.id is not None
    record = repo.idempotency_record(session, account.id, key)
    if record is not None and record.request_hash != request_hash:
        raise Conflict(f"Idempotency-Key {key!r} was used for a different request; use a new key")
    return record


def remember_answer(
    session: Session,
    account: UserAccount,
    key: str,
    request_hash: str,
    status_code: int,
    response: dict[str, object],
) -> None:
    """Keep the answer to a request sent with an idempotency key."""
    assert account.id is not None
    session.add(
        IdempotencyRecord(
            account_id=account.id,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            response=response,
        )
    )
    session.flush()


def log_personal_read(
    session: Session, account: UserAccount, *, method: str, path: str, subject: str = ""
) -> None:
    """Record that the account read personal data."""
    assert account.id is not None
    session.add(
        PersonalDataRead(
            user_id=account.id, method=method[:8], path=path[:300], subject=subject[:120]
        )
    )
    session.flush()


def get_by_public_id_or_raise(session: Session, public_id: str) -> UserAccount:
    """The account with this public id, or NotFound."""
    account = repo.get_by_public_id(session, public_id)
    if account is None:
        raise NotFound(f"account {public_id} does not exist")
    return account


def list_page(
    session: Session, *, after_id: int, limit: int, role: Role | None = None
) -> Sequence[UserAccount]:
    """Accounts (optionally of one role), a page in id order: ids after ``after_id``."""
    return repo.accounts_page(
        session, after_id=after_id, limit=limit, role=None if role is None else role.value
    )
