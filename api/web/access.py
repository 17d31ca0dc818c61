"""Who may open a console page, and the console's session and CSRF tokens.

A console session is a login of the API's refresh-token machinery: signing in issues a refresh
token kept in an HttpOnly, SameSite=Strict cookie (``Secure`` in production); every page looks
it up (``accounts_service.live_login``), so signing out, signing out everywhere (the API's
``/auth/logout-everywhere``) or disabling the account ends the session at once. The CSRF token
is derived from the login (an HMAC of its family), so it is per session and needs no storage;
before sign-in, the form carries a random token that must match a cookie (double submit).

Pages declare their access with ``page(...)`` or ``open_page()``: the same ``Access`` as API
routes (``console=True``), the same role check and personal-data log (``api.access.admit``).
Every POST is refused (403) without the right CSRF token, whatever the route.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from sqlmodel import Session

from api.access import ACCESS_ATTRIBUTE, Access, Owner, admit
from api.deps import SessionDep
from core.errors import Forbidden, Unauthorized
from core.settings import get_settings
from marketplace.accounts import service as accounts_service
from marketplace.accounts.models import Role, UserAccount

PREFIX = "/console"
SESSION_COOKIE = "linli_session"
PRESESSION_COOKIE = "linli_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is signed in, as pages show it (plain values: error pages render after the
    request's database session has closed)."""

    role: str
    name: str


class CsrfRefused(Forbidden):
    """A state-changing request without the session's CSRF token."""

    code = "csrf"


def csrf_of(login: str) -> str:
    """The CSRF token of a login (its refresh-token family)."""
    key = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(key, b"linli-console-csrf:" + login.encode(), hashlib.sha256).hexdigest()


def new_presession_token() -> str:
    """A random token for the sign-in form and its cookie."""
    return secrets.token_urlsafe(24)


def secure_cookies() -> bool:
    """Whether cookies are sent over HTTPS only (in production)."""
    return get_settings().environment == "production"


async def submitted_csrf(request: Request) -> str | None:
    """The CSRF token a state-changing request carries (header, or form field)."""
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def _require_csrf(request: Request, submitted: str | None, expected: str | None) -> None:
    if request.method in SAFE_METHODS:
        return
    if not submitted or not expected or not hmac.compare_digest(submitted, expected):
        raise CsrfRefused(f"{request.method} {request.url.path} without a valid CSRF token")


def signed_in(session: Session, request: Request) -> tuple[UserAccount, str]:
    """The account and login of the request's session cookie; Unauthorized without one."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        raise Unauthorized("sign in first")
    return accounts_service.live_login(session, raw)


def _page_checker(access: Access) -> Callable[..., Any]:
    if access.public:

        def open_check(request: Request, submitted: str | None = Depends(submitted_csrf)) -> None:
            _require_csrf(request, submitted, request.cookies.get(PRESESSION_COOKIE))

        setattr(open_check, ACCESS_ATTRIBUTE, access)
        return open_check

    def check(
        request: Request, session: SessionDep, submitted: str | None = Depends(submitted_csrf)
    ) -> UserAccount:
        account, login = signed_in(session, request)
        token = csrf_of(login)
        request.state.console_account = Viewer(
            str(account.role), account.display_name or account.username
        )
        request.state.console_csrf = token
        _require_csrf(request, submitted, token)
        return admit(request, session, account, access)

    setattr(check, ACCESS_ATTRIBUTE, access)
    return check


def page(*roles: Role, owner: Owner = Owner.NONE, personal_data: bool = False) -> Any:
    """A console page admitting these roles; the handler gets the signed-in account."""
    if not roles:
        raise ValueError("name at least one role (or use open_page())")
    access = Access(frozenset(roles), owner, personal_data=personal_data, console=True)
    return Depends(_page_checker(access))


def open_page() -> Any:
    """A console page open to everyone (its POSTs still need the sign-in form's token)."""
    return Depends(_page_checker(Access(frozenset(), Owner.NONE, public=True, console=True)))


def home_of(account: UserAccount) -> str:
    """Where an account lands after signing in."""
    role = Role(account.role)
    if role in (Role.HOUSEHOLD, Role.PROXY):
        return f"{PREFIX}/orders"
    if role is Role.WORKER:
        return f"{PREFIX}/route"
    if role in (Role.AUDITOR, Role.ADMIN):
        return f"{PREFIX}/findings"
    return f"{PREFIX}/"
