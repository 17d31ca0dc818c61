"""Signing in and out of the console, and the start page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from api.access import EVERYONE_SIGNED_IN
from api.deps import SessionDep
from api.web.access import (
    PREFIX,
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    home_of,
    new_presession_token,
    open_page,
    page,
    signed_in,
)
from api.web.render import remember_language, render, set_cookie
from core.errors import TooManyRequests, Unauthorized
from core.timeutil import utcnow
from marketplace.accounts import service as accounts_service
from marketplace.accounts.models import UserAccount

router = APIRouter(prefix=PREFIX, include_in_schema=False)
SignedIn = Annotated[UserAccount, page(*EVERYONE_SIGNED_IN)]


def _sign_in_form(
    request: Request, *, status: int = 200, error: str = "", seconds: int = 0, username: str = ""
) -> Response:
    token = request.cookies.get(PRESESSION_COOKIE)
    if not token:
        token = new_presession_token()
        request.state.console_new_presession = token
    request.state.console_csrf = token
    headers = {"Retry-After": str(seconds)} if seconds else None
    context = {"error": error, "seconds": seconds, "username": username}
    return render(request, "sign_in.html", context, status=status, headers=headers)


@router.get("/sign-in", dependencies=[open_page()])
def sign_in_form(request: Request, session: SessionDep) -> Response:
    """The sign-in form (a visitor still signed in goes to their start page)."""
    try:
        account, _ = signed_in(session, request)
    except Unauthorized:
        return _sign_in_form(request)
    return RedirectResponse(home_of(account), status_code=303)


@router.post("/sign-in", dependencies=[open_page()])
def sign_in(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    """Check the user name and password (the API's rate limit applies) and start a session."""
    client = request.client.host if request.client else ""
    try:
        account = accounts_service.authenticate(session, username, password, client=client)
    except Unauthorized:
        # The failed attempt must count towards the rate limit even though sign-in fails.
        session.commit()
        return _sign_in_form(request, status=401, error="sign_in.wrong", username=username)
    except TooManyRequests as exc:
        session.commit()
        seconds = int(exc.extra.get("retry_after", 1))
        return _sign_in_form(
            request, status=429, error="sign_in.locked", seconds=seconds, username=username
        )
    issued = accounts_service.issue_refresh(session, account)
    response = RedirectResponse(home_of(account), status_code=303)
    lifetime = int((issued.expires_at - utcnow()).total_seconds())
    set_cookie(response, SESSION_COOKIE, issued.token, max_age=lifetime)
    response.delete_cookie(PRESESSION_COOKIE, path=PREFIX)
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep, account: SignedIn) -> Response:
    """End this session (its refresh-token login is revoked: the cookie is worthless now)."""
    accounts_service.logout(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@router.get("/")
def start(request: Request, account: SignedIn) -> Response:
    """The signed-in account's start page."""
    home = home_of(account)
    if home != f"{PREFIX}/":
        response = RedirectResponse(home, status_code=303)
        remember_language(request, response)
        return response
    return render(request, "home.html")
