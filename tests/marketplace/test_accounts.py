"""Accounts: links checked per role, argon2 passwords, a sign-in rate limit, refresh tokens
rotated with reuse detection, revocation everywhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from core.errors import Conflict, TooManyRequests, Unauthorized, Validation
from core.timeutil import utcnow
from marketplace.accounts import service as accounts
from marketplace.accounts import throttle
from marketplace.accounts.models import Role, UserAccount
from marketplace.accounts.schemas import AccountCreate
from tests import factories as f

PASSWORD = "correct-horse-battery"


def _household_account(session: Session, username: str = "chen") -> UserAccount:
    household, member = f.make_household(session)
    return accounts.create_account(
        session,
        AccountCreate(
            username=username,
            password=PASSWORD,
            role=Role.HOUSEHOLD,
            household_id=household.id,
            member_id=member.id,
        ),
    )


def test_the_password_is_kept_only_as_an_argon2_hash(session: Session) -> None:
    account = _household_account(session)
    assert PASSWORD not in account.password_hash
    assert account.password_hash.startswith("$argon2id$")
    assert accounts.verify_password(PASSWORD, account.password_hash)
    assert not accounts.verify_password(PASSWORD + "x", account.password_hash)


def test_sign_in_with_the_right_password_only(session: Session) -> None:
    account = _household_account(session)
    assert accounts.authenticate(session, "chen", PASSWORD).id == account.id
    with pytest.raises(Unauthorized, match="wrong user name or password"):
        accounts.authenticate(session, "chen", "wrong-password")
    with pytest.raises(Unauthorized, match="wrong user name or password"):
        accounts.authenticate(session, "nobody", PASSWORD)
    accounts.set_active(session, account, False)
    with pytest.raises(Unauthorized):
        accounts.authenticate(session, "chen", PASSWORD)


def test_five_failures_lock_the_user_name_for_fifteen_minutes(session: Session) -> None:
    _household_account(session)
    now = utcnow()
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(Unauthorized):
            accounts.authenticate(session, "chen", "wrong-password", now=now)
    with pytest.raises(TooManyRequests) as locked:
        accounts.authenticate(session, "chen", PASSWORD, now=now + timedelta(minutes=1))
    assert 14 * 60 <= locked.value.extra["retry_after"] <= 15 * 60 + 1
    later = now + accounts.FAILURE_WINDOW + timedelta(seconds=1)
    assert accounts.authenticate(session, "chen", PASSWORD, now=later).username == "chen"


def test_a_refresh_token_rotates_and_a_reused_one_ends_the_login(session: Session) -> None:
    account = _household_account(session)
    first = accounts.issue_refresh(session, account)
    who, second = accounts.rotate_refresh(session, first.token)
    assert who.id == account.id and second.family == first.family
    assert second.token != first.token
    with pytest.raises(Unauthorized, match="already used"):
        accounts.rotate_refresh(session, first.token)  # stolen and replayed
    with pytest.raises(Unauthorized, match="already used or revoked"):
        accounts.rotate_refresh(session, second.token)  # the whole login is gone
    other = accounts.issue_refresh(session, account)  # another device's login is untouched
    assert accounts.rotate_refresh(session, other.token)[0].id == account.id


def test_logout_expiry_and_revoking_everything(session: Session) -> None:
    account = _household_account(session)
    token = accounts.issue_refresh(session, account)
    accounts.logout(session, token.token)
    with pytest.raises(Unauthorized):
        accounts.rotate_refresh(session, token.token)
    old = accounts.issue_refresh(session, account, now=utcnow() - timedelta(days=15))
    with pytest.raises(Unauthorized, match="expired"):
        accounts.rotate_refresh(session, old.token)
    with pytest.raises(Unauthorized, match="unknown"):
        accounts.rotate_refresh(session, "made-up")
    live = accounts.issue_refresh(session, account)
    version = account.token_version
    accounts.revoke_everything(session, account)
    assert account.token_version == version + 1
    with pytest.raises(Unauthorized):
        accounts.rotate_refresh(session, live.token)


def test_user_names_are_unique(session: Session) -> None:
    _household_account(session)
    with pytest.raises(Conflict, match="taken"):
        _household_account(session)


def test_links_fit_the_role(session: Session) -> None:
    household, member = f.make_household(session)
    other, _ = f.make_household(session)
    provider = f.make_provider(session)
    worker = f.make_worker(session, provider=provider)
    other_provider = f.make_provider(session)

    def make(**kw: object) -> UserAccount:
        return accounts.create_account(
            session, AccountCreate.model_validate({"password": PASSWORD, **kw})
        )

    bad: list[tuple[dict[str, object], str]] = [
        ({"role": "household", "household_id": household.id}, "names its household"),
        (
            {"role": "household", "household_id": other.id, "member_id": member.id},
            "does not live in that household",
        ),
        ({"role": "worker", "provider_id": provider.id}, "names its worker"),
        (
            {"role": "worker", "provider_id": other_provider.id, "worker_id": worker.id},
            "does not work for that provider",
        ),
        ({"role": "provider_admin"}, "names its provider"),
        ({"role": "auditor", "provider_id": provider.id}, "not tied to a provider"),
        ({"role": "admin", "household_id": household.id}, "not tied to a household"),
        ({"role": "proxy"}, "needs the phone"),
        ({"role": "dispatcher", "civil_affairs": True}, "civil-affairs"),
    ]
    for i, (links, message) in enumerate(bad):
        with pytest.raises(Validation, match=message):
            make(username=f"bad{i}", **links)
    assert make(username="worker1", role="worker", provider_id=provider.id, worker_id=worker.id).id
    assert make(username="dispatcher1", role="dispatcher").provider_id is None
    assert make(username="auditor1", role="auditor", civil_affairs=True).civil_affairs


@pytest.mark.parametrize(
    ("field", "value"),
    [("password", "short"), ("username", "a b"), ("username", "x"), ("role", "superuser")],
)
def test_account_input_is_checked(field: str, value: str) -> None:
    data = {"username": "chen", "password": PASSWORD, "role": "auditor", field: value}
    with pytest.raises(ValidationError):
        AccountCreate.model_validate(data)


def test_a_throttle_counts_per_subject_within_a_sliding_window(session: Session) -> None:
    limit = throttle.Throttle("t", 3, timedelta(minutes=10), "too many tries")
    start = utcnow()
    for k in range(3):
        limit.check(session, "a", now=start + timedelta(minutes=k))
        limit.count(session, "a", now=start + timedelta(minutes=k))
    with pytest.raises(TooManyRequests) as refused:
        limit.check(session, "a", now=start + timedelta(minutes=3))
    assert refused.value.extra["retry_after"] == 7 * 60 + 1  # until the first event leaves
    limit.check(session, "b", now=start + timedelta(minutes=3))  # another subject is free
    throttle.Throttle("u", 1, timedelta(minutes=10), "x").check(session, "a", now=start)
    with pytest.raises(TooManyRequests):
        limit.check(session, "a", now=start + timedelta(minutes=10))
    limit.check(session, "a", now=start + timedelta(minutes=10, seconds=1))  # the first has left
