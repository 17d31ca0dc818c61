"""Who may call a route, declared on the route itself.

Every route depends on exactly one ``allow(...)`` (or ``public()``): the roles it admits, and
whose objects it touches (``owner``). The role check happens here (403 for other roles); the
ownership check happens in the handler through ``api.ownership`` (404 for someone else's
object, so ids do not tell whether an object exists). The authorization-matrix test reads these
declarations from the app's route table: a route without one fails it.

The web console's pages declare their access with the same ``Access`` (``console=True``, made by
``api.web.access``) and share the role check and the personal-data log (``admit``); they sign in
with a cookie instead of a bearer token, so ``api_routes`` leaves them out and
``console_routes`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from sqlmodel import Session
from starlette.routing import BaseRoute

from api.auth import current_account
from api.deps import SessionDep
from core.errors import Forbidden
from marketplace.accounts import service as accounts_service
from marketplace.accounts.models import Role, UserAccount


class Owner(StrEnum):
    """Whose object a route acts on, i.e. which ownership check the handler makes."""

    NONE = "none"  # no particular object (lists filtered to the caller, creation, reference data)
    HOUSEHOLD = "household"  # a household (or its members, orders)
    MEMBER = "member"  # a member (an elder a proxy acts for, the person themselves)
    ORDER = "order"
    PROVIDER = "provider"
    WORKER = "worker"
    RUN = "run"
    FINDING = "finding"
    EXPORT = "export"  # an audit report export: every auditor and administrator sees each
    AUDIT_RUN = "audit_run"  # a run of the audit rules: every auditor and administrator sees each
    ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class Access:
    """A route's declared access."""

    roles: frozenset[Role]
    owner: Owner
    public: bool = False
    personal_data: bool = False  # auditor reads are logged
    console: bool = False  # a web console page (cookie session), not an API operation


ACCESS_ATTRIBUTE = "__linli_access__"


def admit(request: Request, session: Session, account: UserAccount, access: Access) -> UserAccount:
    """The signed-in account if its role is admitted (else Forbidden); a read of personal data
    by an auditor or administrator is logged first."""
    if Role(account.role) not in access.roles:
        allowed = ", ".join(sorted(r.value for r in access.roles))
        raise Forbidden(
            f"{account.role} accounts may not {request.method} this; it is for: {allowed}"
        )
    if access.personal_data and Role(account.role) in (Role.AUDITOR, Role.ADMIN):
        # PostgreSQL text cannot hold NUL; the path is logged before it is validated.
        path = request.url.path.replace("\x00", "\\0")
        accounts_service.log_personal_read(session, account, method=request.method, path=path)
    return account


def _checker(access: Access) -> Callable[..., Any]:
    if access.public:

        def open_route() -> None:
            return None

        setattr(open_route, ACCESS_ATTRIBUTE, access)
        return open_route

    def check(
        request: Request, session: SessionDep, account: UserAccount = Depends(current_account)
    ) -> UserAccount:
        return admit(request, session, account, access)

    setattr(check, ACCESS_ATTRIBUTE, access)
    return check


def allow(*roles: Role, owner: Owner = Owner.NONE, personal_data: bool = False) -> Any:
    """A dependency admitting these roles; the handler gets the signed-in account."""
    if not roles:
        raise ValueError("name at least one role (or use public())")
    return Depends(_checker(Access(frozenset(roles), owner, personal_data=personal_data)))


def public() -> Any:
    """A dependency declaring the route open to everyone, signed in or not."""
    return Depends(_checker(Access(frozenset(), Owner.NONE, public=True)))


def declared(route: APIRoute | RouteContext) -> Access | None:
    """The access a route declares (None: it declares none, which the tests refuse)."""
    found: list[Access] = []

    def walk(dependant: Any) -> None:
        call = getattr(dependant, "call", None)
        access = getattr(call, ACCESS_ATTRIBUTE, None)
        if isinstance(access, Access):
            found.append(access)
        for sub in getattr(dependant, "dependencies", ()):
            walk(sub)

    walk(route.dependant)
    return found[0] if len(found) == 1 else None


def _routes(routes: Sequence[BaseRoute], *, console: bool) -> list[tuple[str, RouteContext]]:
    found = []
    for context in iter_route_contexts(routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        access = declared(context)
        # A route declaring nothing counts as an API route, where the matrix test refuses it.
        if (access is not None and access.console) is not console:
            continue
        found += [(method, context) for method in sorted(context.methods or ())]
    return sorted(found, key=lambda item: (item[1].path or "", item[0]))


def api_routes(routes: Sequence[BaseRoute]) -> list[tuple[str, RouteContext]]:
    """(method, route) for every API route of an app, routers included, sorted by path (web
    console pages left out)."""
    return _routes(routes, console=False)


def console_routes(routes: Sequence[BaseRoute]) -> list[tuple[str, RouteContext]]:
    """(method, route) for every web console page of an app, sorted by path."""
    return _routes(routes, console=True)


EVERYONE_SIGNED_IN = tuple(Role)
