"""Households and their members: sign-up, members and their ID numbers, family proxies,
caregiver preferences and protected-group applications with their evidence.

ID numbers and evidence are masked (``350102********1234``; evidence text as ``********``)
except to the person themselves (``account.member_id``) and to civil-affairs staff
(``civil_affairs``), who get them decrypted. Reads by auditors and administrators are logged.

A proxy acts for the elders who named its phone: it reads them (``can_order`` or not) and, when
it may order for them, sets their preferences and applies for their protected status. Only the
household manages its members' proxies.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, ValidationInfo, field_validator
from sqlmodel import Session

from api import ownership
from api.access import Owner, allow, public
from api.deps import SessionDep
from api.idempotency import IdempotencyKey, Idempotent, replayed
from api.pagination import After, Limit, Page, page_of_loaded
from api.problems import problem_responses
from api.types import ROW_ID_MAX, NoNul, Password, PublicId, Username
from core.errors import TooManyRequests, Validation
from core.timeutil import utcnow
from marketplace.accounts import service as accounts_service
from marketplace.accounts import throttle
from marketplace.accounts.models import Role, UserAccount
from marketplace.accounts.schemas import AccountCreate
from marketplace.households import service as households_service
from marketplace.households.models import (
    FamilyProxy,
    Household,
    Member,
    MemberPreference,
    ProtectedStatus,
)
from marketplace.households.schemas import (
    FamilyProxyCreate,
    HouseholdCreate,
    MemberCreate,
    MemberPreferenceUpdate,
    ProtectedStatusCreate,
)
from marketplace.providers.models import Gender

router = APIRouter(tags=["households"])

EVIDENCE_MASK = "********"


# --- inputs --------------------------------------------------------------------------------

AreaId = Annotated[int, Field(ge=1, le=ROW_ID_MAX)]


class HouseholdIn(HouseholdCreate):
    """A home: its address, its district, street, community and (optional) grid ids, which must
    nest, and its coordinates."""

    address: Annotated[str, NoNul] = Field(min_length=1, max_length=200)
    district_id: AreaId
    street_id: AreaId
    community_id: AreaId
    grid_id: AreaId | None = None
    phone: Annotated[str, NoNul] = Field(default="", max_length=32)


class MemberIn(MemberCreate):
    """A person of the household; ``id_number`` is the 18-character resident ID (optional),
    checked here (check digit, birth date) and stored encrypted."""

    name: Annotated[str, NoNul] = Field(min_length=1, max_length=60)
    phone: Annotated[str, NoNul] = Field(default="", max_length=32)
    languages: list[Annotated[str, Field(min_length=1, max_length=16)]] = Field(
        default_factory=lambda: ["zh"], max_length=8, description="language codes"
    )
    id_number: str | None = Field(default=None, min_length=1, max_length=24, repr=False)

    @field_validator("id_number")
    @classmethod
    def _valid_id_number(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        try:
            number = households_service.validate_id_number(value)
        except Validation as exc:
            raise ValueError(exc.detail) from exc
        born = info.data.get("birth_date")
        if born is not None and households_service.id_number_birth_date(number) != born:
            raise ValueError("the ID number's birth date differs from the birth date given")
        return number


class RegistrationIn(BaseModel):
    """A household signing up: its home, its first member and the account's credentials."""

    household: HouseholdIn
    member: MemberIn
    username: Username
    password: Password
    display_name: Annotated[str, NoNul] = Field(default="", max_length=60)


class ProxyIn(FamilyProxyCreate):
    """A relative allowed to see (and with ``can_order``, order for) a member; their account
    signs in with this phone."""

    name: Annotated[str, NoNul] = Field(min_length=1, max_length=60)
    phone: Annotated[str, NoNul] = Field(min_length=1, max_length=32)
    relation: Annotated[str, NoNul] = Field(min_length=1, max_length=30)


class ProxyRegistrationIn(BaseModel):
    """A relative signing up as a proxy with the invitation code the household gave them."""

    phone: Annotated[str, NoNul] = Field(min_length=1, max_length=32)
    invitation_code: str = Field(min_length=8, max_length=8, pattern=r"^[0-9A-Za-z]{8}$")
    username: Username
    password: Password
    display_name: Annotated[str, NoNul] = Field(default="", max_length=60)


class PreferenceIn(MemberPreferenceUpdate):
    """The caregiver gender and language the member asks for (null: no preference)."""

    language: str | None = Field(default=None, min_length=1, max_length=16)
    note: Annotated[str, NoNul] = Field(default="", max_length=200)


class StatusApplicationIn(ProtectedStatusCreate):
    """An application for a protected-group status (``age80`` follows from the birth date); the
    evidence text is stored encrypted, the certificate number only masked."""

    evidence_kind: Annotated[str, NoNul] = Field(default="", max_length=60)
    certificate_no: Annotated[str, NoNul] = Field(default="", max_length=40, repr=False)


# --- outputs -------------------------------------------------------------------------------


class PreferencePublic(BaseModel):
    """A member's caregiver preferences."""

    caregiver_gender: Gender | None
    language: str | None
    note: str


class MemberPublic(BaseModel):
    """A member; ``id_number`` is masked unless ``id_number_revealed``."""

    id: str
    household: str
    name: str
    gender: str
    birth_date: date
    phone: str
    languages: list[str]
    id_number: str | None
    id_number_revealed: bool
    created_at: datetime


class MemberDetail(MemberPublic):
    """A member and their caregiver preferences."""

    preference: PreferencePublic | None


class HouseholdPublic(BaseModel):
    """A household."""

    id: str
    address: str
    district_id: int
    street_id: int
    community_id: int
    grid_id: int | None
    lat: float
    lon: float
    phone: str
    created_at: datetime


class HouseholdWithMembers(HouseholdPublic):
    """A household and its members."""

    members: list[MemberPublic]


class RegisteredAccount(BaseModel):
    """The account a registration created (sign in with POST /auth/token)."""

    id: str
    username: str
    role: str


class Registration(BaseModel):
    """What a registration created."""

    household: HouseholdPublic
    member: MemberPublic
    account: RegisteredAccount


class ProxyPublic(BaseModel):
    """A family proxy of a member."""

    id: str
    member: str
    name: str
    phone: str
    relation: str
    can_order: bool
    active: bool
    created_at: datetime
    invitation_expires_at: datetime | None = Field(
        description="until when the open sign-up invitation works (null: none open)"
    )


class Invitation(BaseModel):
    """A one-time code the relative signs up with (POST /proxies/register), shown only here."""

    proxy: str
    invitation_code: str
    expires_at: datetime


class ProxyAdded(ProxyPublic):
    """The new proxy and its sign-up invitation (the code is shown once: a replay of the same
    request answers null; issue a new one with POST /proxies/{id}/invitation)."""

    invitation_code: str | None


class ProxyRegistration(BaseModel):
    """The proxy account a relative made and the members it acts for."""

    account: RegisteredAccount
    acts_for: list[str] = Field(description="the members' public ids")


class StatusPublic(BaseModel):
    """A protected-group application and its review; ``id`` is the application's number.
    ``evidence`` is masked unless ``evidence_revealed``."""

    id: int
    member: str
    category: str
    disability_level: str | None
    review: str
    evidence_kind: str
    evidence: str | None
    evidence_revealed: bool
    certificate_no_masked: str
    valid_from: date
    valid_to: date | None
    verified_by: str | None
    verified_at: datetime | None
    created_at: datetime


# --- presenting ----------------------------------------------------------------------------


def sees_personal_data(account: UserAccount, member: Member) -> bool:
    """Whether the account gets the member's ID number and evidence unmasked: the person
    themselves, or civil-affairs staff."""
    return account.civil_affairs or (
        account.member_id is not None and account.member_id == member.id
    )


def member_public(
    session: Session, account: UserAccount, member: Member, household: Household | None = None
) -> MemberPublic:
    """The member as this account may see it."""
    assert member.id is not None
    home = household or households_service.get_or_raise(session, member.household_id)
    revealed = sees_personal_data(account, member) and member.id_number_encrypted is not None
    return MemberPublic(
        id=member.public_id,
        household=home.public_id,
        name=member.name,
        gender=member.gender,
        birth_date=member.birth_date,
        phone=member.phone,
        languages=list(member.languages),
        id_number=(
            households_service.reveal_id_number(session, member.id)
            if revealed
            else member.id_number_masked
        ),
        id_number_revealed=revealed,
        created_at=member.created_at,
    )


def _preference_public(preference: MemberPreference | None) -> PreferencePublic | None:
    if preference is None:
        return None
    return PreferencePublic(
        caregiver_gender=None
        if preference.caregiver_gender is None
        else Gender(preference.caregiver_gender),
        language=preference.language,
        note=preference.note,
    )


def _household_public(household: Household) -> HouseholdPublic:
    return HouseholdPublic(
        id=household.public_id,
        address=household.address,
        district_id=household.district_id,
        street_id=household.street_id,
        community_id=household.community_id,
        grid_id=household.grid_id,
        lat=household.lat,
        lon=household.lon,
        phone=household.phone,
        created_at=household.created_at,
    )


def _proxy_public(proxy: FamilyProxy, member: Member) -> ProxyPublic:
    return ProxyPublic(
        id=proxy.public_id,
        member=member.public_id,
        name=proxy.name,
        phone=proxy.phone,
        relation=proxy.relation,
        can_order=proxy.can_order,
        active=proxy.active,
        created_at=proxy.created_at,
        invitation_expires_at=proxy.invitation_expires_at,
    )


def status_public(
    session: Session,
    account: UserAccount,
    status: ProtectedStatus,
    member: Member | None = None,
    *,
    reveal: bool = True,
) -> StatusPublic:
    """A protected-status application as this account may see it (``reveal=False``: evidence
    masked whoever asks)."""
    assert status.id is not None
    whose = member or households_service.get_member_or_raise(session, status.member_id)
    revealed = (
        reveal and sees_personal_data(account, whose) and status.evidence_encrypted is not None
    )
    if revealed:
        evidence = households_service.reveal_evidence(session, status.id)
    else:
        evidence = None if status.evidence_encrypted is None else EVIDENCE_MASK
    return StatusPublic(
        id=status.id,
        member=whose.public_id,
        category=str(status.category),
        disability_level=None if status.disability_level is None else str(status.disability_level),
        review=str(status.review),
        evidence_kind=status.evidence_kind,
        evidence=evidence,
        evidence_revealed=revealed,
        certificate_no_masked=status.certificate_no_masked,
        valid_from=status.valid_from,
        valid_to=status.valid_to,
        verified_by=status.verified_by,
        verified_at=status.verified_at,
        created_at=status.created_at,
    )


def _count_sign_up(request: Request, session: Session) -> datetime:
    """Count a sign-up try from the client's address (429 past the limit) and commit it, so the
    tries refused afterwards count too; the time it was counted at."""
    client = request.client.host if request.client else ""
    now = utcnow()
    throttle.REGISTRATIONS.check(session, client, now=now)
    throttle.REGISTRATIONS.count(session, client, now=now)
    session.commit()
    return now


# --- households ----------------------------------------------------------------------------

HouseholdAccount = Annotated[UserAccount, allow(Role.HOUSEHOLD, owner=Owner.HOUSEHOLD)]


@router.post(
    "/households/register",
    response_model=Registration,
    status_code=201,
    responses=problem_responses(409, 422, 429),
    dependencies=[public()],
)
def register(request: Request, session: SessionDep, body: RegistrationIn) -> Registration:
    """Sign a new household up: its home, its first member and a household account, in one
    transaction. Sign in afterwards with POST /auth/token. A user name or ID number already
    registered is 409; more than 20 sign-ups from one address within an hour, 429."""
    _count_sign_up(request, session)
    household = households_service.create_household(session, body.household)
    assert household.id is not None
    member = households_service.add_member(session, household.id, body.member)
    account = accounts_service.create_account(
        session,
        AccountCreate(
            username=body.username,
            password=body.password,
            role=Role.HOUSEHOLD,
            display_name=body.display_name or body.member.name,
            phone=body.member.phone,
            household_id=household.id,
            member_id=member.id,
        ),
    )
    return Registration(
        household=_household_public(household),
        member=member_public(session, account, member, household),
        account=RegisteredAccount(
            id=account.public_id, username=account.username, role=str(account.role)
        ),
    )


@router.get(
    "/households/me", response_model=HouseholdWithMembers, responses=problem_responses(401, 403)
)
def my_household(session: SessionDep, account: HouseholdAccount) -> HouseholdWithMembers:
    """The caller's household and its members."""
    assert account.household_id is not None
    household = households_service.get_or_raise(session, account.household_id)
    members = households_service.list_members(session, account.household_id)
    return HouseholdWithMembers(
        **_household_public(household).model_dump(),
        members=[member_public(session, account, m, household) for m in members],
    )


@router.post(
    "/households/me/members",
    response_model=MemberPublic,
    status_code=201,
    responses={**replayed(), **problem_responses(401, 403, 409, 422)},
)
def add_member(
    session: SessionDep,
    account: HouseholdAccount,
    body: MemberIn,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> Any:
    """Add a person to the caller's household. A known ID number is 409; the same key and body
    again return the same member (200)."""
    assert account.household_id is not None
    once = Idempotent.of(session, account, idempotency_key, "POST", "/households/me/members", body)
    if (known := once.replay(response)) is not None:
        return known
    member = households_service.add_member(session, account.household_id, body)
    public_member = member_public(session, account, member)
    once.remember(public_member)
    return public_member


# --- members -------------------------------------------------------------------------------

MEMBER_READERS = (Role.HOUSEHOLD, Role.PROXY, Role.ADMIN, Role.AUDITOR)
MemberReader = Annotated[
    UserAccount, allow(*MEMBER_READERS, owner=Owner.MEMBER, personal_data=True)
]
MemberActor = Annotated[UserAccount, allow(Role.HOUSEHOLD, Role.PROXY, owner=Owner.MEMBER)]


@router.get(
    "/members/{member_id}",
    response_model=MemberDetail,
    responses=problem_responses(401, 403, 404, 422),
)
def get_member(session: SessionDep, account: MemberReader, member_id: PublicId) -> MemberDetail:
    """A member: the household's own, an elder the proxy acts for; any for administrators and
    auditors (their reads are logged)."""
    member = ownership.member_to_read(session, account, member_id)
    assert member.id is not None
    return MemberDetail(
        **member_public(session, account, member).model_dump(),
        preference=_preference_public(households_service.get_preference(session, member.id)),
    )


@router.put(
    "/members/{member_id}/preferences",
    response_model=PreferencePublic,
    responses=problem_responses(401, 403, 404, 422),
)
def set_preferences(
    session: SessionDep, account: MemberActor, member_id: PublicId, body: PreferenceIn
) -> PreferencePublic:
    """Set (replace) the caregiver gender and language the member asks for."""
    member = ownership.member_for(session, account, member_id, ordering=True)
    assert member.id is not None
    preference = _preference_public(households_service.set_preference(session, member.id, body))
    assert preference is not None
    return preference


# --- family proxies ------------------------------------------------------------------------


@router.post(
    "/members/{member_id}/proxies",
    response_model=ProxyAdded,
    status_code=201,
    responses={**replayed(), **problem_responses(401, 403, 404, 409, 422)},
)
def add_proxy(
    session: SessionDep,
    account: Annotated[UserAccount, allow(Role.HOUSEHOLD, owner=Owner.MEMBER)],
    member_id: PublicId,
    body: ProxyIn,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> Any:
    """Let a relative see (and order for) one of the household's members. The answer carries a
    one-time invitation code (valid 7 days) the relative signs up with at POST /proxies/register;
    a relative with a proxy account for this phone already acts for the member at once. A phone
    already acting for the member is 409."""
    member = ownership.member_for(session, account, member_id, ordering=False)
    assert member.id is not None
    once = Idempotent.of(
        session, account, idempotency_key, "POST", f"/members/{member.public_id}/proxies", body
    )
    if (known := once.replay(response)) is not None:
        return known
    proxy = households_service.add_family_proxy(session, member.id, body)
    assert proxy.id is not None
    code, _ = households_service.issue_invitation(session, proxy.id, now=utcnow())
    shown = _proxy_public(proxy, member)
    # The code is kept only as a hash: the remembered answer (for a replay) leaves it out.
    once.remember(ProxyAdded(**shown.model_dump(), invitation_code=None))
    return ProxyAdded(**shown.model_dump(), invitation_code=code)


@router.post(
    "/proxies/{proxy_id}/invitation",
    response_model=Invitation,
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def invite_proxy(
    session: SessionDep,
    account: Annotated[UserAccount, allow(Role.HOUSEHOLD, owner=Owner.MEMBER)],
    proxy_id: PublicId,
) -> Invitation:
    """A new sign-up code for the relative (the earlier one stops working); a withdrawn proxy
    is 409."""
    proxy = ownership.family_proxy_for(session, account, proxy_id)
    assert proxy.id is not None
    code, expires = households_service.issue_invitation(session, proxy.id, now=utcnow())
    return Invitation(proxy=proxy.public_id, invitation_code=code, expires_at=expires)


@router.post(
    "/proxies/register",
    response_model=ProxyRegistration,
    status_code=201,
    responses=problem_responses(409, 422, 429),
    dependencies=[public()],
)
def register_proxy(
    request: Request, session: SessionDep, body: ProxyRegistrationIn
) -> ProxyRegistration:
    """A relative signs up as a family proxy with their phone and the invitation code the
    household gave them; sign in afterwards with POST /auth/token. A wrong, used or expired
    code is 422 (five wrong codes for a phone within 15 minutes: 429); a phone with a proxy
    account already, or a taken user name, 409."""
    now = _count_sign_up(request, session)
    try:
        account, proxies = accounts_service.register_proxy(
            session,
            username=body.username,
            password=body.password,
            phone=body.phone,
            code=body.invitation_code,
            display_name=body.display_name,
            now=now,
        )
    except (Validation, TooManyRequests):
        session.commit()  # a wrong code counts towards the limit even though the request fails
        raise
    return ProxyRegistration(
        account=RegisteredAccount(
            id=account.public_id, username=account.username, role=str(account.role)
        ),
        acts_for=[
            households_service.get_member_or_raise(session, p.member_id).public_id
            for p in proxies  # a relative acts for a few elders: no batch needed
        ],
    )


@router.get(
    "/members/{member_id}/proxies",
    response_model=Page[ProxyPublic],
    responses=problem_responses(401, 403, 404, 422),
)
def list_proxies(
    session: SessionDep,
    account: Annotated[
        UserAccount, allow(Role.HOUSEHOLD, Role.ADMIN, owner=Owner.MEMBER, personal_data=True)
    ],
    member_id: PublicId,
    limit: Limit = 50,
    after: After = None,
) -> Page[ProxyPublic]:
    """The member's family proxies, active and withdrawn, in the order they were added."""
    member = ownership.member_for(session, account, member_id, ordering=False)
    assert member.id is not None
    rows = households_service.list_family_proxies(session, member.id, active_only=False)
    return page_of_loaded(rows, after, limit, lambda p: _proxy_public(p, member))


@router.post(
    "/proxies/{proxy_id}/deactivate",
    response_model=ProxyPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def deactivate_proxy(
    session: SessionDep,
    account: Annotated[UserAccount, allow(Role.HOUSEHOLD, owner=Owner.MEMBER)],
    proxy_id: PublicId,
) -> ProxyPublic:
    """Withdraw a proxy's rights at once (idempotent): its account no longer sees the member."""
    proxy = ownership.family_proxy_for(session, account, proxy_id)
    assert proxy.id is not None
    member = households_service.get_member_or_raise(session, proxy.member_id)
    return _proxy_public(households_service.deactivate_family_proxy(session, proxy.id), member)


# --- protected status ----------------------------------------------------------------------


@router.post(
    "/members/{member_id}/protected-statuses",
    response_model=StatusPublic,
    status_code=201,
    responses={**replayed(), **problem_responses(401, 403, 404, 409, 422)},
)
def apply_for_status(
    session: SessionDep,
    account: MemberActor,
    member_id: PublicId,
    body: StatusApplicationIn,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> Any:
    """Apply for a protected-group status for the member; it waits for civil-affairs review.
    The answer does not echo the evidence (it is kept, with the Idempotency-Key, masked). An
    application of the same category overlapping a pending or approved one is 409."""
    member = ownership.member_for(session, account, member_id, ordering=True)
    assert member.id is not None
    once = Idempotent.of(
        session,
        account,
        idempotency_key,
        "POST",
        f"/members/{member.public_id}/protected-statuses",
        body,
    )
    if (known := once.replay(response)) is not None:
        return known
    status = households_service.apply_protected_status(session, member.id, body)
    public_status = status_public(session, account, status, member, reveal=False)
    once.remember(public_status)
    return public_status


@router.get(
    "/members/{member_id}/protected-statuses",
    response_model=Page[StatusPublic],
    responses=problem_responses(401, 403, 404, 422),
)
def list_statuses(
    session: SessionDep,
    account: MemberReader,
    member_id: PublicId,
    limit: Limit = 50,
    after: After = None,
) -> Page[StatusPublic]:
    """The member's protected-status applications, whatever their review, by number."""
    member = ownership.member_to_read(session, account, member_id)
    assert member.id is not None
    rows = households_service.list_protected_statuses(session, member.id)
    return page_of_loaded(rows, after, limit, lambda s: status_public(session, account, s, member))
