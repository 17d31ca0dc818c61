"""Signed access tokens and the request dependencies that turn a bearer token into an account.

Access tokens are HS256 JWTs signed with ``LINLI_SECRET_KEY``, short-lived, carrying the
account's public id, role and token version (bumped to revoke them all). Refresh tokens are
opaque and live in the database (``marketplace.accounts``).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from api.deps import SessionDep
from core.errors import Unauthorized
from core.settings import get_settings
from core.timeutil import utcnow
from marketplace.accounts import repository as accounts_repo
from marketplace.accounts.models import UserAccount

ALGORITHM = "HS256"
ISSUER = "linli"
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def create_access_token(account: UserAccount, *, now: datetime | None = None) -> tuple[str, int]:
    """A signed access token for the account and its lifetime in seconds."""
    settings = get_settings()
    at = now or utcnow()
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": account.public_id,
        "role": str(account.role),
        "ver": account.token_version,
        "jti": secrets.token_hex(8),
        "iat": int(at.timestamp()),
        "exp": int((at + lifetime).timestamp()),
    }
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)
    return token, int(lifetime.total_seconds())


def decode_access_token(token: str) -> dict[str, Any]:
    """The token's claims; Unauthorized if it is malformed, forged or expired."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            get_settings().secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "ver", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("the access token has expired; refresh it") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("the access token is not valid") from exc
    return claims


def current_account(
    session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> UserAccount:
    """The signed-in account; Unauthorized without a good, current token."""
    if token is None:
        raise Unauthorized("sign in first (Authorization: Bearer <access token>)")
    claims = decode_access_token(token)
    account = accounts_repo.get_by_public_id(session, str(claims["sub"]))
    if account is None or not account.active or claims["ver"] != account.token_version:
        raise Unauthorized("the access token has been revoked; sign in again")
    return account


CurrentAccount = Annotated[UserAccount, Depends(current_account)]
