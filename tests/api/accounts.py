"""Accounts, their access tokens and the request headers that carry them, for the HTTP tests."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi.testclient import TestClient
from sqlmodel import col, select

from api.auth import create_access_token
from core.db import read_only, unit_of_work
from marketplace.accounts import repository as accounts_repo
from marketplace.accounts import service as accounts_service
from marketplace.accounts.models import PersonalDataRead, Role, UserAccount
from marketplace.accounts.schemas import AccountCreate
from marketplace.households.models import Member
from marketplace.providers.models import Worker

PASSWORD = "api-tests-password-1"


def member_links(member: Member) -> dict[str, Any]:
    """The links of a household account of ``member`` (its household and itself)."""
    return {"household_id": member.household_id, "member_id": member.id}


def worker_links(worker: Worker) -> dict[str, Any]:
    """The links of ``worker``'s own account (its provider and itself)."""
    return {"provider_id": worker.provider_id, "worker_id": worker.id}


def make_account(session: Any, username: str, role: Role, **links: Any) -> UserAccount:
    """A new account of ``role`` (password ``PASSWORD``), tied to the objects in ``links``
    (``household_id=…``, ``provider_id=…``, ``phone=…``, ``civil_affairs=True`` …)."""
    return accounts_service.create_account(
        session,
        AccountCreate.model_validate(
            {"username": username, "password": PASSWORD, "role": role, **links}
        ),
    )


def account_token(session: Any, username: str, role: Role, **links: Any) -> str:
    """A new account's access token (see ``make_account``)."""
    return create_access_token(make_account(session, username, role, **links))[0]


def account_token_and_id(session: Any, username: str, role: Role, **links: Any) -> tuple[str, int]:
    """A new account's access token and row id (see ``make_account``)."""
    account = make_account(session, username, role, **links)
    assert account.id is not None
    return create_access_token(account)[0], account.id


def one_per_role(
    session: Any, prefix: str, member: Member, worker: Worker, **admin: Any
) -> dict[Role, UserAccount]:
    """An account of every role, ``{prefix}-{role}``: the household's of ``member``, a proxy
    (phone 13800000000), the admin of ``worker``'s provider, the worker, a platform
    dispatcher, an auditor and an administrator (``admin``: its links, as ``civil_affairs``)."""
    links: dict[Role, dict[str, Any]] = {
        Role.HOUSEHOLD: member_links(member),
        Role.PROXY: {"phone": "13800000000"},
        Role.PROVIDER_ADMIN: {"provider_id": worker.provider_id},
        Role.WORKER: worker_links(worker),
        Role.ADMIN: admin,
    }
    return {
        role: make_account(session, f"{prefix}-{role.value}", role, **links.get(role, {}))
        for role in Role
    }


def fresh_token(public_id: str) -> str:
    """A new access token for the account (a route may have revoked its earlier ones)."""
    with unit_of_work() as session:
        account = accounts_repo.get_by_public_id(session, public_id)
        assert account is not None
        return create_access_token(account)[0]


def personal_reads(account_id: int) -> list[str]:
    """The personal-data reads logged for the account, in order (``METHOD /path``)."""
    with read_only() as session:
        rows = session.exec(
            select(PersonalDataRead)
            .where(PersonalDataRead.user_id == account_id)
            .order_by(col(PersonalDataRead.id))
        ).all()
        return [f"{r.method} {r.path}" for r in rows]


def bearer(token: str, key: str | None = None) -> dict[str, str]:
    """Headers signing a request in with ``token`` (and, given one, an Idempotency-Key)."""
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


class SignedIn(Protocol):
    """A test's world: its client, and access tokens by who holds them."""

    @property
    def client(self) -> TestClient: ...

    @property
    def tokens(self) -> dict[str, str]: ...


def as_(world: SignedIn, who: str, key: str | None = None) -> dict[str, str]:
    """Headers signing a request in as ``who`` of the world (and, given one, an
    Idempotency-Key)."""
    return bearer(world.tokens[who], key)


def get_as(world: SignedIn, who: str, path: str, **params: Any) -> Any:
    """``GET path?params`` signed in as ``who`` of the world."""
    return world.client.get(path, params=params, headers=as_(world, who))
