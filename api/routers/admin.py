"""Administration: the protected-status review queue, subsidy policy versions, district budgets
and user accounts.

Reviewing protected-group applications is civil-affairs work: approving, rejecting or revoking
needs an administrator account with ``civil_affairs`` (another administrator gets 403). The
applications have no public id; their number is used in paths, and only administrators reach
those routes. Auditors read the queue, the policies and the budgets; every read of personal
data by an auditor or an administrator is logged.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from api import ownership
from api.access import Owner, allow
from api.deps import SessionDep
from api.idempotency import IdempotencyKey, Idempotent, replayed
from api.pagination import After, Limit, Page, decode_cursor, page, row_id
from api.problems import problem_responses
from api.routers.households import StatusPublic, status_public
from api.types import ROW_ID_MAX, NoNul, Password, PublicId, PublicIdField, Username
from core.errors import Conflict, Forbidden, Validation
from core.timeutil import local_date, utcnow
from marketplace.accounts import service as accounts_service
from marketplace.accounts.models import Role, UserAccount
from marketplace.accounts.schemas import AccountCreate
from marketplace.geography import service as geography_service
from marketplace.geography.models import AreaLevel
from marketplace.households import service as households_service
from marketplace.households.models import StatusReview
from marketplace.providers import service as providers_service
from pricing import service as pricing_service
from pricing.models import SubsidyPolicy
from pricing.policy import load_policy

router = APIRouter(prefix="/admin", tags=["admin"])

Admin = Annotated[UserAccount, allow(Role.ADMIN)]
StatusReviewer = Annotated[UserAccount, allow(Role.ADMIN, owner=Owner.MEMBER, personal_data=True)]
StatusId = Annotated[int, Path(ge=1, le=ROW_ID_MAX, description="the application's number")]
MONTH = re.compile(r"^[1-9]\d{3}-(0[1-9]|1[0-2])$")
POLICY_VERSION_MAX = 40  # subsidy_policy.version


# --- protected-status review ---------------------------------------------------------------


@router.get(
    "/protected-statuses",
    response_model=Page[StatusPublic],
    responses=problem_responses(401, 403, 422),
)
def list_protected_statuses(
    session: SessionDep,
    account: Annotated[
        UserAccount, allow(Role.ADMIN, Role.AUDITOR, owner=Owner.MEMBER, personal_data=True)
    ],
    status: Annotated[
        StatusReview | None, Query(description="only applications in this review state")
    ] = None,
    limit: Limit = 50,
    after: After = None,
) -> Page[StatusPublic]:
    """Protected-group applications of every member, by number (``?status=pending``: the
    review queue). Evidence is masked except to civil-affairs staff."""
    rows = households_service.protected_statuses_page(
        session, review=status, after_id=decode_cursor(after), limit=limit + 1
    )
    return page(rows, limit, row_id, lambda s: status_public(session, account, s))


def _reviewer(account: UserAccount) -> str:
    if not account.civil_affairs:
        raise Forbidden("reviewing protected-group status is for civil-affairs staff")
    return ownership.actor(account)


@router.post(
    "/protected-statuses/{status_id}/approve",
    response_model=StatusPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def approve_status(
    session: SessionDep, account: StatusReviewer, status_id: StatusId
) -> StatusPublic:
    """Approve a pending application (civil-affairs staff only); the member's subsidy applies to
    quotes from now on. An application already decided is 409."""
    status = households_service.approve_protected_status(
        session, status_id, verified_by=_reviewer(account)
    )
    return status_public(session, account, status)


@router.post(
    "/protected-statuses/{status_id}/reject",
    response_model=StatusPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def reject_status(
    session: SessionDep, account: StatusReviewer, status_id: StatusId
) -> StatusPublic:
    """Reject a pending application (civil-affairs staff only). An application already decided
    is 409."""
    status = households_service.reject_protected_status(
        session, status_id, verified_by=_reviewer(account)
    )
    return status_public(session, account, status)


@router.post(
    "/protected-statuses/{status_id}/revoke",
    response_model=StatusPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def revoke_status(
    session: SessionDep, account: StatusReviewer, status_id: StatusId
) -> StatusPublic:
    """Withdraw an approved status (civil-affairs staff only); the original verification stays
    on record. A status not approved is 409."""
    _reviewer(account)
    status = households_service.revoke_protected_status(session, status_id)
    return status_public(session, account, status)


# --- policies ------------------------------------------------------------------------------


class PolicyPublic(BaseModel):
    """A stored subsidy policy version and its document."""

    version: str
    effective_from: date
    title: str
    created_by: str
    created_at: datetime
    document: dict[str, Any]


def _policy_public(row: SubsidyPolicy) -> PolicyPublic:
    return PolicyPublic(
        version=row.version,
        effective_from=row.effective_from,
        title=str(row.document.get("title", "")),
        created_by=row.created_by,
        created_at=row.created_at,
        document=row.document,
    )


@router.get(
    "/policies", response_model=Page[PolicyPublic], responses=problem_responses(401, 403, 422)
)
def list_policies(
    session: SessionDep,
    account: Annotated[UserAccount, allow(Role.ADMIN, Role.AUDITOR)],
    limit: Limit = 50,
    after: After = None,
) -> Page[PolicyPublic]:
    """The stored policy versions, in the order they were added."""
    rows = pricing_service.policy_page(session, after_id=decode_cursor(after), limit=limit + 1)
    return page(rows, limit, row_id, _policy_public)


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


@router.post(
    "/policies",
    response_model=PolicyPublic,
    status_code=201,
    responses={**replayed(), **problem_responses(401, 403, 409, 422)},
)
def add_policy(
    session: SessionDep,
    account: Admin,
    document: Annotated[
        dict[str, Any],
        Body(description="a policy document, as `linli policy add` reads it (JSON)"),
    ],
    response: Response,
    idempotency_key: IdempotencyKey,
) -> Any:
    """Store a new policy version; it prices orders quoted from its effective date on, which
    cannot be in the past. A malformed document is 422 naming the JSON path; a version name or
    effective date already stored is 409."""
    once = Idempotent.of(session, account, idempotency_key, "POST", "/admin/policies", document)
    if (known := once.replay(response)) is not None:
        return known
    if _has_nul(document):
        raise Validation("$: the document must not contain NUL characters", location="$")
    policy = load_policy(document)
    if len(policy.version) > POLICY_VERSION_MAX:
        raise Validation(
            f"$.version: at most {POLICY_VERSION_MAX} characters", location="$.version"
        )
    row = pricing_service.add_policy_version(session, policy, actor=ownership.actor(account))
    public_policy = _policy_public(row)
    once.remember(public_policy)
    return public_policy


# --- budgets -------------------------------------------------------------------------------


class DistrictBudgetPublic(BaseModel):
    """A district's subsidy budget for the month (null: unlimited) and the ledger against it."""

    district_code: str
    district_name: str | None
    budget_fen: int | None
    committed_fen: int
    consumed_fen: int
    remaining_fen: int | None


class BudgetReport(BaseModel):
    """Every district's budget and use for one month, under the policy version in force."""

    month: str
    policy_version: str
    policy_day: date
    districts: list[DistrictBudgetPublic]


@router.get(
    "/budgets", response_model=BudgetReport, responses=problem_responses(401, 403, 404, 422)
)
def budgets(
    session: SessionDep,
    account: Annotated[UserAccount, allow(Role.ADMIN, Role.AUDITOR)],
    month: Annotated[
        str | None,
        Query(
            min_length=7,
            max_length=7,
            pattern=MONTH.pattern,
            description="YYYY-MM (default: this month)",
        ),
    ] = None,
) -> BudgetReport:
    """Per district: the monthly budget of the policy quotes for the month are priced under
    (in force today, or on the month's last day for a past month), and the subsidy committed
    (reserved or used) and consumed (verified visits) in the ledger."""
    today = local_date(utcnow())
    if month is None:
        month = f"{today.year:04d}-{today.month:02d}"
    year, number = int(month[:4]), int(month[5:])
    last_day = date(year, number, calendar.monthrange(year, number)[1])
    day = min(today, last_day)
    policy = pricing_service.policy_on(session, day)
    names = {a.code: a.name for a in geography_service.list_by_level(session, AreaLevel.DISTRICT)}
    rows = pricing_service.district_budgets(session, month, policy=policy, district_codes=names)
    return BudgetReport(
        month=month,
        policy_version=policy.version,
        policy_day=day,
        districts=[
            DistrictBudgetPublic(
                district_code=r.district_code,
                district_name=names.get(r.district_code),
                budget_fen=r.budget_fen,
                committed_fen=r.committed_fen,
                consumed_fen=r.consumed_fen,
                remaining_fen=r.remaining_fen,
            )
            for r in rows
        ],
    )


# --- users ---------------------------------------------------------------------------------


class UserIn(BaseModel):
    """A new account and, by public id, the objects its role ties it to: a household account its
    household and member; a provider admin its provider; a worker its provider and worker; a
    dispatcher optionally its provider; a proxy the phone its elders named. Only auditors and
    administrators can be civil-affairs staff."""

    username: Username
    password: Password
    role: Role
    display_name: Annotated[str, NoNul] = Field(default="", max_length=60)
    phone: Annotated[str, NoNul] = Field(default="", max_length=32)
    household: PublicIdField | None = None
    member: PublicIdField | None = None
    provider: PublicIdField | None = None
    worker: PublicIdField | None = None
    civil_affairs: bool = False


class UserPublic(BaseModel):
    """An account (never its password)."""

    id: str
    username: str
    role: str
    display_name: str
    phone: str
    civil_affairs: bool
    active: bool
    household: str | None
    member: str | None
    provider: str | None
    worker: str | None
    created_at: datetime


def _user_public(session: Session, account: UserAccount) -> UserPublic:
    household = (
        None
        if account.household_id is None
        else households_service.get_or_raise(session, account.household_id).public_id
    )
    member = (
        None
        if account.member_id is None
        else households_service.get_member_or_raise(session, account.member_id).public_id
    )
    provider = (
        None
        if account.provider_id is None
        else providers_service.get_or_raise(session, account.provider_id).public_id
    )
    worker = (
        None
        if account.worker_id is None
        else providers_service.get_worker_or_raise(session, account.worker_id).public_id
    )
    return UserPublic(
        id=account.public_id,
        username=account.username,
        role=str(account.role),
        display_name=account.display_name,
        phone=account.phone,
        civil_affairs=account.civil_affairs,
        active=account.active,
        household=household,
        member=member,
        provider=provider,
        worker=worker,
        created_at=account.created_at,
    )


@router.post(
    "/users",
    response_model=UserPublic,
    status_code=201,
    responses={**replayed(), **problem_responses(401, 403, 404, 409, 422)},
)
def create_user(
    session: SessionDep,
    account: Admin,
    body: UserIn,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> Any:
    """Create an account of any role. A linked object that does not exist is 404, a link the
    role does not take 422, a user name already taken 409."""
    once = Idempotent.of(session, account, idempotency_key, "POST", "/admin/users", body)
    if (known := once.replay(response)) is not None:
        return known
    links: dict[str, int | None] = {
        "household_id": None
        if body.household is None
        else households_service.get_by_public_id_or_raise(session, body.household).id,
        "member_id": None
        if body.member is None
        else households_service.get_member_by_public_id_or_raise(session, body.member).id,
        "provider_id": None
        if body.provider is None
        else providers_service.get_by_public_id_or_raise(session, body.provider).id,
        "worker_id": None
        if body.worker is None
        else providers_service.get_worker_by_public_id_or_raise(session, body.worker).id,
    }
    created = accounts_service.create_account(
        session,
        AccountCreate(
            username=body.username,
            password=body.password,
            role=body.role,
            display_name=body.display_name,
            phone=body.phone,
            civil_affairs=body.civil_affairs,
            **links,
        ),
    )
    public_user = _user_public(session, created)
    once.remember(public_user)
    return public_user


@router.get("/users", response_model=Page[UserPublic], responses=problem_responses(401, 403, 422))
def list_users(
    session: SessionDep,
    account: Annotated[UserAccount, allow(Role.ADMIN, owner=Owner.ACCOUNT, personal_data=True)],
    role: Annotated[Role | None, Query(description="only accounts of this role")] = None,
    limit: Limit = 50,
    after: After = None,
) -> Page[UserPublic]:
    """Accounts, in the order they were created."""
    rows = accounts_service.list_page(
        session, after_id=decode_cursor(after), limit=limit + 1, role=role
    )
    return page(rows, limit, row_id, lambda a: _user_public(session, a))


def _set_active(session: Session, account: UserAccount, user_id: str, active: bool) -> UserPublic:
    target = accounts_service.get_by_public_id_or_raise(session, user_id)
    if target.id == account.id and not active:
        raise Conflict("an administrator cannot disable their own account")
    return _user_public(session, accounts_service.set_active(session, target, active))


@router.post(
    "/users/{user_id}/disable",
    response_model=UserPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def disable_user(
    session: SessionDep,
    account: Annotated[UserAccount, allow(Role.ADMIN, owner=Owner.ACCOUNT)],
    user_id: PublicId,
) -> UserPublic:
    """Disable an account: it can no longer sign in, and every token it holds stops working
    at once (idempotent). Disabling one's own account is 409."""
    return _set_active(session, account, user_id, False)


@router.post(
    "/users/{user_id}/enable",
    response_model=UserPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def enable_user(
    session: SessionDep,
    account: Annotated[UserAccount, allow(Role.ADMIN, owner=Owner.ACCOUNT)],
    user_id: PublicId,
) -> UserPublic:
    """Enable a disabled account again (it signs in afresh; idempotent)."""
    return _set_active(session, account, user_id, True)
