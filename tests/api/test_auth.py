"""Sign-in over HTTP: OAuth2 password flow, bearer access tokens, refresh rotation, sign-out,
the rate limit, and problem+json for every refusal."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import ALGORITHM, ISSUER
from core.db import unit_of_work
from core.settings import get_settings
from core.timeutil import utcnow
from marketplace.accounts import service as accounts
from marketplace.accounts.models import Role
from marketplace.accounts.schemas import AccountCreate

PASSWORD = "correct-horse-battery"


@pytest.fixture
def client(configured: str) -> TestClient:
    with unit_of_work() as session:
        accounts.create_account(
            session,
            AccountCreate(username="auditor1", password=PASSWORD, role=Role.AUDITOR),
        )
    return TestClient(create_app())


def _sign_in(client: TestClient, password: str = PASSWORD) -> dict[str, object]:
    response = client.post("/auth/token", data={"username": "auditor1", "password": password})
    body: dict[str, object] = response.json()
    body["status"] = response.status_code
    return body


def _bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_sign_in_and_ask_who_i_am(client: TestClient) -> None:
    tokens = _sign_in(client)
    assert tokens["status"] == 200 and tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    me = client.get("/auth/me", headers=_bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "auditor1" and me.json()["role"] == "auditor"


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "sign in first"),
        ({"Authorization": "Bearer nonsense"}, "not valid"),
        ({"Authorization": "Basic YTpi"}, "sign in first"),
    ],
)
def test_no_or_bad_token_is_401_problem(
    client: TestClient, headers: dict[str, str], detail: str
) -> None:
    response = client.get("/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert detail in response.json()["detail"]


def test_expired_or_forged_tokens_are_refused(client: TestClient) -> None:
    sub = client.get("/auth/me", headers=_bearer(_sign_in(client)["access_token"])).json()["id"]
    now = utcnow()
    claims = {"iss": ISSUER, "sub": sub, "ver": 0, "role": "admin"}
    key = get_settings().secret_key.get_secret_value()
    expired = jwt.encode(
        {**claims, "exp": int((now - timedelta(minutes=1)).timestamp())}, key, ALGORITHM
    )
    forged = jwt.encode(
        {**claims, "exp": int((now + timedelta(minutes=5)).timestamp())},
        "a-guessed-key-long-enough-for-hs256-signing!",
        ALGORITHM,
    )
    assert "expired" in client.get("/auth/me", headers=_bearer(expired)).json()["detail"]
    assert client.get("/auth/me", headers=_bearer(forged)).status_code == 401


def test_refresh_rotates_and_replay_ends_the_login(client: TestClient) -> None:
    first = _sign_in(client)
    renewed = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert renewed.status_code == 200
    second = renewed.json()
    assert client.get("/auth/me", headers=_bearer(second["access_token"])).status_code == 200
    replay = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    # The replay revoked the login (committed although the request failed).
    again = client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert again.status_code == 401


def test_logout_and_logout_everywhere(client: TestClient) -> None:
    tokens = _sign_in(client)
    assert (
        client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code
        == 204
    )
    assert (
        client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code
        == 401
    )
    other = _sign_in(client)
    assert (
        client.post("/auth/logout-everywhere", headers=_bearer(other["access_token"])).status_code
        == 204
    )
    # The access token itself no longer works: its version is behind the account's.
    revoked = client.get("/auth/me", headers=_bearer(other["access_token"]))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]


def test_wrong_passwords_are_counted_even_though_they_fail(client: TestClient) -> None:
    for _ in range(accounts.MAX_FAILURES):
        assert _sign_in(client, "wrong-password")["status"] == 401
    locked = client.post("/auth/token", data={"username": "auditor1", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.headers["content-type"] == "application/problem+json"
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60 + 1


def test_sign_in_without_fields_names_them(client: TestClient) -> None:
    response = client.post("/auth/token", data={"username": "auditor1"})
    assert response.status_code == 422
    assert any(e["field"] == "body.password" for e in response.json()["errors"])
