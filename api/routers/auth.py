"""Sign-in (OAuth2 password flow), token refresh, sign-out, and who am I."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from api.access import EVERYONE_SIGNED_IN, allow, public
from api.auth import create_access_token
from api.deps import SessionDep
from api.problems import problem_responses
from core.errors import TooManyRequests, Unauthorized
from marketplace.accounts import service as accounts_service
from marketplace.accounts.models import UserAccount

router = APIRouter(prefix="/auth", tags=["auth"])
SignedIn = Annotated[UserAccount, allow(*EVERYONE_SIGNED_IN)]


class TokenPair(BaseModel):
    """An access token (bearer) and the refresh token that renews it."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int
    refresh_token: str
    refresh_expires_at: datetime


class RefreshIn(BaseModel):
    """A refresh token to exchange or revoke."""

    refresh_token: str = Field(min_length=1, max_length=200)


class AccountPublic(BaseModel):
    """The signed-in account."""

    id: str
    username: str
    role: str
    display_name: str


def _pair(account: UserAccount, refresh: accounts_service.IssuedRefresh) -> TokenPair:
    token, seconds = create_access_token(account)
    return TokenPair(
        access_token=token,
        expires_in=seconds,
        refresh_token=refresh.token,
        refresh_expires_at=refresh.expires_at,
    )


@router.post(
    "/token",
    response_model=TokenPair,
    responses=problem_responses(401, 422, 429),
    dependencies=[public()],
)
def sign_in(
    request: Request,
    session: SessionDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenPair:
    """Exchange a user name and password for tokens (OAuth2 password flow)."""
    client = request.client.host if request.client else ""
    try:
        account = accounts_service.authenticate(
            session, form.username, form.password, client=client
        )
    except (Unauthorized, TooManyRequests):
        # The failed attempt must count towards the rate limit even though the request fails.
        session.commit()
        raise
    return _pair(account, accounts_service.issue_refresh(session, account))


@router.post(
    "/refresh",
    response_model=TokenPair,
    responses=problem_responses(401, 422),
    dependencies=[public()],
)
def refresh(session: SessionDep, body: RefreshIn) -> TokenPair:
    """Exchange a refresh token for a new pair; the old refresh token is spent."""
    try:
        account, issued = accounts_service.rotate_refresh(session, body.refresh_token)
    except Unauthorized:
        session.commit()  # a detected reuse revokes the login: keep that
        raise
    return _pair(account, issued)


@router.post("/logout", status_code=204, responses=problem_responses(422), dependencies=[public()])
def logout(session: SessionDep, body: RefreshIn) -> Response:
    """End the login the refresh token belongs to."""
    accounts_service.logout(session, body.refresh_token)
    return Response(status_code=204)


@router.post("/logout-everywhere", status_code=204, responses=problem_responses(401, 403))
def logout_everywhere(session: SessionDep, account: SignedIn) -> Response:
    """Revoke every token of the signed-in account."""
    accounts_service.revoke_everything(session, account)
    return Response(status_code=204)


@router.get("/me", response_model=AccountPublic, responses=problem_responses(401, 403))
def me(account: SignedIn) -> AccountPublic:
    """The signed-in account."""
    return AccountPublic(
        id=account.public_id,
        username=account.username,
        role=str(account.role),
        display_name=account.display_name,
    )
