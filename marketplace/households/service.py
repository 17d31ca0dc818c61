"""Household use cases: homes, members and their ID numbers, protected status, availability
for service, caregiver preferences and family proxies."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from core import crypto
from core.errors import Conflict, InvalidState, NotFound, Validation
from core.ids import new_public_id
from core.timeutil import local_date, utcnow
from marketplace.catalog.vocab import LANGUAGES
from marketplace.geography import service as geography_service
from marketplace.geography.models import Area, AreaLevel
from marketplace.households import repository as repo
from marketplace.households.models import (
    DisabilityLevel,
    FamilyProxy,
    Household,
    LtcEntitlement,
    Member,
    MemberPreference,
    PeriodKind,
    PreferenceKind,
    ProtectedCategory,
    ProtectedStatus,
    StatusPeriod,
    StatusReview,
    WorkerPreference,
)
from marketplace.households.schemas import (
    FamilyProxyCreate,
    HouseholdCreate,
    LtcEntitlementCreate,
    MemberCreate,
    MemberPreferenceUpdate,
    ProtectedStatusCreate,
    StatusPeriodCreate,
)
from marketplace.providers import service as providers_service

ID_NUMBER_CONTEXT = "member.id_number"
EVIDENCE_CONTEXT = "protected_status.evidence"
AGE80_YEARS = 80
# ISO 7064 MOD 11-2 weights (2**(17-i) mod 11) and check characters of GB 11643-1999.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


# --- households --------------------------------------------------------------------------


def get(session: Session, household_id: int) -> Household | None:
    """The household, if it exists."""
    return repo.get(session, household_id)


def get_or_raise(session: Session, household_id: int) -> Household:
    """The household, or NotFound."""
    household = repo.get(session, household_id)
    if household is None:
        raise NotFound(f"household {household_id} does not exist")
    return household


def get_by_public_id_or_raise(session: Session, public_id: str) -> Household:
    """The household with this public id, or NotFound."""
    household = repo.get_by_public_id(session, public_id)
    if household is None:
        raise NotFound(f"household {public_id} does not exist")
    return household


def _area_at(session: Session, area_id: int, level: AreaLevel, parent_id: int | None) -> Area:
    area = geography_service.get(session, area_id)
    if area is None or AreaLevel(area.level) is not level:
        raise Validation(f"area {area_id} is not a {level.value}")
    if area.parent_id != parent_id:
        raise Validation(f"{level.value} {area_id} does not lie in area {parent_id}")
    return area


def create_household(
    session: Session, data: HouseholdCreate, *, public_id: str | None = None
) -> Household:
    """Register a home; its district, street, community and grid must nest."""
    _area_at(session, data.district_id, AreaLevel.DISTRICT, None)
    _area_at(session, data.street_id, AreaLevel.STREET, data.district_id)
    _area_at(session, data.community_id, AreaLevel.COMMUNITY, data.street_id)
    if data.grid_id is not None:
        _area_at(session, data.grid_id, AreaLevel.GRID, data.community_id)
    household = Household(
        public_id=public_id or new_public_id("hh"),
        address=data.address,
        district_id=data.district_id,
        street_id=data.street_id,
        community_id=data.community_id,
        grid_id=data.grid_id,
        lat=data.lat,
        lon=data.lon,
        phone=data.phone,
    )
    session.add(household)
    session.flush()
    return household


def list_households(session: Session, *, community_id: int | None = None) -> Sequence[Household]:
    """Households, optionally of one community."""
    return repo.list_households(session, community_id=community_id)


# --- members and ID numbers --------------------------------------------------------------


def id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character (``0``–``9`` or ``X``) for 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise Validation("an ID number starts with 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_id_number(value: str) -> str:
    """The normalised (upper-case) 18-character resident ID number, or Validation."""
    number = value.strip().upper()
    if (
        len(number) != 18
        or not number[:17].isdigit()
        or not (number[17].isdigit() or number[17] == "X")
    ):
        raise Validation("an ID number is 17 digits and a digit or X")
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise Validation("the ID number does not contain a valid birth date") from exc
    if id_check_digit(number[:17]) != number[17]:
        raise Validation("the ID number's check digit is wrong")
    return number


def id_number_birth_date(number: str) -> date:
    """The birth date written in a valid ID number."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def get_member(session: Session, member_id: int) -> Member | None:
    """The member, if it exists."""
    return repo.get_member(session, member_id)


def get_member_or_raise(session: Session, member_id: int) -> Member:
    """The member, or NotFound."""
    member = repo.get_member(session, member_id)
    if member is None:
        raise NotFound(f"member {member_id} does not exist")
    return member


def get_member_by_public_id_or_raise(session: Session, public_id: str) -> Member:
    """The member with this public id, or NotFound."""
    member = repo.get_member_by_public_id(session, public_id)
    if member is None:
        raise NotFound(f"member {public_id} does not exist")
    return member


def list_members(session: Session, household_id: int) -> Sequence[Member]:
    """The members of a household."""
    get_or_raise(session, household_id)
    return repo.list_members(session, household_id)


def _check_languages(codes: Sequence[str]) -> None:
    unknown = sorted(set(codes) - LANGUAGES.keys())
    if unknown:
        raise Validation(f"unknown language: {', '.join(unknown)}", unknown=unknown)


def add_member(
    session: Session,
    household_id: int,
    data: MemberCreate,
    *,
    public_id: str | None = None,
    today: date | None = None,
) -> Member:
    """Add a person to a household; an ID number is stored encrypted, indexed and masked."""
    get_or_raise(session, household_id)
    today = today or local_date(utcnow())
    if data.birth_date > today:
        raise Validation("the birth date is in the future")
    _check_languages(data.languages)
    member = Member(
        public_id=public_id or new_public_id("mbr"),
        household_id=household_id,
        name=data.name,
        gender=data.gender.value,
        birth_date=data.birth_date,
        phone=data.phone,
        languages=list(dict.fromkeys(data.languages)),
    )
    if data.id_number is not None:
        number = validate_id_number(data.id_number)
        if id_number_birth_date(number) != data.birth_date:
            raise Validation("the ID number's birth date differs from the birth date given")
        index = crypto.blind_index(number, context=ID_NUMBER_CONTEXT)
        if repo.get_member_by_id_index(session, index) is not None:
            raise Conflict("a member with this ID number is already registered")
        member.id_number_encrypted = crypto.encrypt(number, context=ID_NUMBER_CONTEXT)
        member.id_number_index = index
        member.id_number_masked = crypto.mask_id_number(number)
    session.add(member)
    session.flush()
    return member


def find_member_by_id_number(session: Session, id_number: str) -> Member | None:
    """The member with this ID number, found through the blind index (nothing is decrypted)."""
    index = crypto.blind_index(id_number, context=ID_NUMBER_CONTEXT)
    return repo.get_member_by_id_index(session, index)


def reveal_id_number(session: Session, member_id: int) -> str | None:
    """The member's full ID number, decrypted; callers log who asked."""
    member = get_member_or_raise(session, member_id)
    if member.id_number_encrypted is None:
        return None
    return crypto.decrypt(member.id_number_encrypted, context=ID_NUMBER_CONTEXT)


def age_on(birth_date: date, day: date) -> int:
    """Whole years of age on ``day`` (a 29 February birthday counts from 1 March)."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def _birthday(birth_date: date, years: int) -> date:
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:  # 29 February in a common year
        return date(birth_date.year + years, 3, 1)


# --- protected status --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActiveStatus:
    """A protected-group status in force on a day; ``status_id`` is ``None`` when derived."""

    category: ProtectedCategory
    valid_from: date
    valid_to: date | None = None
    disability_level: DisabilityLevel | None = None
    status_id: int | None = None

    @property
    def derived(self) -> bool:
        """Whether the status follows from data (age) rather than an approved application."""
        return self.status_id is None


def get_status_or_raise(session: Session, status_id: int) -> ProtectedStatus:
    """The protected status, or NotFound."""
    status = repo.get_status(session, status_id)
    if status is None:
        raise NotFound(f"protected status {status_id} does not exist")
    return status


def list_protected_statuses(session: Session, member_id: int) -> Sequence[ProtectedStatus]:
    """Every status application of a member, whatever its review."""
    get_member_or_raise(session, member_id)
    return repo.list_statuses(session, member_id)


def _overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (b_to is None or a_from <= b_to) and (a_to is None or b_from <= a_to)


def _mask_tail(value: str) -> str:
    """All but the last four characters hidden (short values entirely)."""
    visible = value[-4:] if len(value) > 4 else ""
    return "*" * (len(value) - len(visible)) + visible


def apply_protected_status(
    session: Session, member_id: int, data: ProtectedStatusCreate
) -> ProtectedStatus:
    """Apply for a protected-group status; it waits for review, evidence encrypted."""
    get_member_or_raise(session, member_id)
    for other in repo.list_statuses(session, member_id):
        if (
            other.category == data.category
            and other.review in (StatusReview.PENDING, StatusReview.APPROVED)
            and _overlaps(other.valid_from, other.valid_to, data.valid_from, data.valid_to)
        ):
            raise Conflict(
                f"a {data.category.value} status that overlaps these dates is already "
                f"{StatusReview(other.review).value}",
                status_id=other.id,
            )
    status = ProtectedStatus(
        member_id=member_id,
        category=data.category,
        disability_level=data.disability_level,
        review=StatusReview.PENDING,
        evidence_kind=data.evidence_kind,
        evidence_encrypted=(
            crypto.encrypt(data.evidence, context=EVIDENCE_CONTEXT) if data.evidence else None
        ),
        certificate_no_masked=_mask_tail(data.certificate_no),
        valid_from=data.valid_from,
        valid_to=data.valid_to,
    )
    session.add(status)
    session.flush()
    return status


def _review(
    session: Session,
    status_id: int,
    outcome: StatusReview,
    *,
    allowed_from: StatusReview,
    verified_by: str | None,
    now: datetime | None,
) -> ProtectedStatus:
    if verified_by is not None and not verified_by.strip():
        raise Validation("the reviewer must be named")
    status = get_status_or_raise(session, status_id)
    if status.review != allowed_from:
        raise InvalidState(
            f"a {StatusReview(status.review).value} status cannot become {outcome.value}",
            review=StatusReview(status.review).value,
        )
    status.review = outcome
    if verified_by is not None:
        status.verified_by = verified_by
        status.verified_at = now or utcnow()
    session.add(status)
    session.flush()
    return status


def approve_protected_status(
    session: Session, status_id: int, *, verified_by: str, now: datetime | None = None
) -> ProtectedStatus:
    """Approve a pending application, recording who verified it and when."""
    return _review(
        session,
        status_id,
        StatusReview.APPROVED,
        allowed_from=StatusReview.PENDING,
        verified_by=verified_by,
        now=now,
    )


def reject_protected_status(
    session: Session, status_id: int, *, verified_by: str, now: datetime | None = None
) -> ProtectedStatus:
    """Reject a pending application, recording who reviewed it and when."""
    return _review(
        session,
        status_id,
        StatusReview.REJECTED,
        allowed_from=StatusReview.PENDING,
        verified_by=verified_by,
        now=now,
    )


def revoke_protected_status(session: Session, status_id: int) -> ProtectedStatus:
    """Withdraw an approved status; the original verification stays on record."""
    return _review(
        session,
        status_id,
        StatusReview.REVOKED,
        allowed_from=StatusReview.APPROVED,
        verified_by=None,
        now=None,
    )


def reveal_evidence(session: Session, status_id: int) -> str | None:
    """The status application's evidence text, decrypted; callers log who asked."""
    status = get_status_or_raise(session, status_id)
    if status.evidence_encrypted is None:
        return None
    return crypto.decrypt(status.evidence_encrypted, context=EVIDENCE_CONTEXT)


def active_statuses(session: Session, member_id: int, day: date) -> list[ActiveStatus]:
    """The member's statuses in force on ``day``: approved and valid, plus 80+ by age."""
    member = get_member_or_raise(session, member_id)
    active = [
        ActiveStatus(
            category=ProtectedCategory(s.category),
            valid_from=s.valid_from,
            valid_to=s.valid_to,
            disability_level=None
            if s.disability_level is None
            else DisabilityLevel(s.disability_level),
            status_id=s.id,
        )
        for s in repo.list_statuses(session, member_id)
        if s.review == StatusReview.APPROVED
        and s.valid_from <= day
        and (s.valid_to is None or day <= s.valid_to)
    ]
    if age_on(member.birth_date, day) >= AGE80_YEARS:
        active.append(
            ActiveStatus(
                category=ProtectedCategory.AGE80,
                valid_from=_birthday(member.birth_date, AGE80_YEARS),
            )
        )
    return active


# --- status periods ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Serviceability:
    """Whether a member can be served at home on a day, and if not, why."""

    serviceable: bool
    reason: PeriodKind | None = None
    period_id: int | None = None

    def __bool__(self) -> bool:
        return self.serviceable


def record_status_period(
    session: Session, member_id: int, data: StatusPeriodCreate
) -> StatusPeriod:
    """Record a hospital stay, a death or a move away."""
    get_member_or_raise(session, member_id)
    for other in repo.list_periods(session, member_id, kind=data.kind):
        if data.kind is not PeriodKind.HOSPITAL:
            raise Conflict(f"{data.kind.value} is already recorded", period_id=other.id)
        if _overlaps(other.starts_on, other.ends_on, data.starts_on, data.ends_on):
            raise Conflict("the hospital stay overlaps another one", period_id=other.id)
    period = StatusPeriod(
        member_id=member_id,
        kind=data.kind,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        note=data.note,
        recorded_by=data.recorded_by,
    )
    session.add(period)
    session.flush()
    return period


def end_hospital_stay(session: Session, period_id: int, *, ends_on: date) -> StatusPeriod:
    """Record the discharge day (the last day in hospital) of an open hospital stay."""
    period = repo.get_period(session, period_id)
    if period is None:
        raise NotFound(f"status period {period_id} does not exist")
    if period.kind != PeriodKind.HOSPITAL or period.ends_on is not None:
        raise InvalidState("only an open hospital stay can be ended")
    if ends_on < period.starts_on:
        raise Validation("the discharge day is before the admission day")
    period.ends_on = ends_on
    session.add(period)
    session.flush()
    return period


def list_status_periods(session: Session, member_id: int) -> Sequence[StatusPeriod]:
    """A member's hospital stays, death and move away, earliest first."""
    get_member_or_raise(session, member_id)
    return repo.list_periods(session, member_id)


_PERIOD_PRECEDENCE = {PeriodKind.DECEASED: 0, PeriodKind.MOVED_AWAY: 1, PeriodKind.HOSPITAL: 2}


def is_serviceable(session: Session, member_id: int, day: date) -> Serviceability:
    """Not in hospital that day (both ends inclusive), not deceased or moved away by then."""
    get_member_or_raise(session, member_id)
    blocking = [
        p
        for p in repo.list_periods(session, member_id)
        if p.starts_on <= day and (p.ends_on is None or day <= p.ends_on)
    ]
    if not blocking:
        return Serviceability(serviceable=True)
    first = min(blocking, key=lambda p: _PERIOD_PRECEDENCE[PeriodKind(p.kind)])
    return Serviceability(serviceable=False, reason=PeriodKind(first.kind), period_id=first.id)


# --- long-term-care insurance -----------------------------------------------------------


def add_ltc_entitlement(
    session: Session, member_id: int, data: LtcEntitlementCreate
) -> LtcEntitlement:
    """Record the insurer's benefit for a member; benefits of one member may not overlap."""
    get_member_or_raise(session, member_id)
    for other in repo.list_ltc_entitlements(session, member_id):
        if _overlaps(other.valid_from, other.valid_to, data.valid_from, data.valid_to):
            raise Conflict(
                "the member already has a long-term-care benefit in that period",
                entitlement_id=other.id,
            )
    row = LtcEntitlement(
        member_id=member_id,
        scheme=data.scheme,
        service_classes=[c.value for c in data.service_classes],
        share_percent=data.share_percent,
        monthly_limit_fen=data.monthly_limit_fen,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        recorded_by=data.recorded_by,
    )
    session.add(row)
    session.flush()
    return row


def ltc_entitlement_on(session: Session, member_id: int, day: date) -> LtcEntitlement | None:
    """The member's long-term-care benefit in force on ``day``, if any."""
    for row in repo.list_ltc_entitlements(session, member_id):
        if row.valid_from <= day and (row.valid_to is None or day <= row.valid_to):
            return row
    return None


def list_ltc_entitlements(session: Session, member_id: int) -> Sequence[LtcEntitlement]:
    """A member's long-term-care benefits, earliest first."""
    get_member_or_raise(session, member_id)
    return repo.list_ltc_entitlements(session, member_id)


# --- preferences -------------------------------------------------------------------------


def get_preference(session: Session, member_id: int) -> MemberPreference | None:
    """The member's caregiver gender and language preferences, if set."""
    return repo.get_preference(session, member_id)


def set_preference(
    session: Session, member_id: int, data: MemberPreferenceUpdate
) -> MemberPreference:
    """Set (replace) the caregiver gender and language a member asks for."""
    get_member_or_raise(session, member_id)
    if data.language is not None:
        _check_languages([data.language])
    preference = repo.get_preference(session, member_id) or MemberPreference(member_id=member_id)
    preference.caregiver_gender = (
        None if data.caregiver_gender is None else data.caregiver_gender.value
    )
    preference.language = data.language
    preference.note = data.note
    session.add(preference)
    session.flush()
    return preference


def add_worker_preference(
    session: Session, member_id: int, worker_id: int, kind: PreferenceKind
) -> WorkerPreference:
    """Mark a worker as preferred or blocked; a worker cannot be both (Conflict)."""
    get_member_or_raise(session, member_id)
    providers_service.get_worker_or_raise(session, worker_id)
    existing = repo.get_worker_preference(session, member_id, worker_id)
    if existing is not None:
        if existing.kind != kind:
            raise Conflict(
                f"worker {worker_id} is already {PreferenceKind(existing.kind).value} "
                "for this member; remove that first"
            )
        return existing
    row = WorkerPreference(member_id=member_id, worker_id=worker_id, kind=kind)
    session.add(row)
    session.flush()
    return row


def remove_worker_preference(session: Session, member_id: int, worker_id: int) -> bool:
    """Forget a preferred or blocked worker; whether there was one."""
    existing = repo.get_worker_preference(session, member_id, worker_id)
    if existing is None:
        return False
    session.delete(existing)
    session.flush()
    return True


def list_worker_preferences(session: Session, member_id: int) -> Sequence[WorkerPreference]:
    """A member's preferred and blocked workers."""
    return repo.list_worker_preferences(session, member_id)


def worker_ids_by_preference(session: Session, member_id: int, kind: PreferenceKind) -> set[int]:
    """The ids of the workers a member prefers (or blocks)."""
    return {p.worker_id for p in repo.list_worker_preferences(session, member_id) if p.kind == kind}


# --- family proxies ----------------------------------------------------------------------


def get_proxy_or_raise(session: Session, proxy_id: int) -> FamilyProxy:
    """The family proxy, or NotFound."""
    proxy = repo.get_proxy(session, proxy_id)
    if proxy is None:
        raise NotFound(f"family proxy {proxy_id} does not exist")
    return proxy


def add_family_proxy(
    session: Session, member_id: int, data: FamilyProxyCreate, *, public_id: str | None = None
) -> FamilyProxy:
    """Let a relative order for a member; one phone number per member (a former, deactivated
    proxy with that number is reactivated with the new details)."""
    get_member_or_raise(session, member_id)
    proxy = repo.get_proxy_by_phone(session, member_id, data.phone)
    if proxy is not None and proxy.active:
        raise Conflict("this phone number is already a proxy for the member", proxy_id=proxy.id)
    if proxy is None:
        proxy = FamilyProxy(
            public_id=public_id or new_public_id("fp"),
            member_id=member_id,
            phone=data.phone,
            name=data.name,
            relation=data.relation,
        )
    proxy.name = data.name
    proxy.relation = data.relation
    proxy.can_order = data.can_order
    proxy.active = True
    session.add(proxy)
    session.flush()
    return proxy


# Invitation codes: 8 characters of an alphabet without look-alikes (0/O, 1/I/L), about 10^12
# values, so a hash without salt does not give the code away; valid for a week.
INVITATION_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
INVITATION_LENGTH = 8
INVITATION_LIFETIME = timedelta(days=7)


def _invitation_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def issue_invitation(session: Session, proxy_id: int, *, now: datetime) -> tuple[str, datetime]:
    """A new one-time sign-up code for the proxy (any earlier one stops working) and when it
    expires. Only its hash is kept."""
    proxy = get_proxy_or_raise(session, proxy_id)
    if not proxy.active:
        raise InvalidState("the proxy was withdrawn: add it again to invite the relative")
    code = "".join(secrets.choice(INVITATION_ALPHABET) for _ in range(INVITATION_LENGTH))
    proxy.invitation_hash = _invitation_hash(code)
    proxy.invitation_expires_at = now + INVITATION_LIFETIME
    session.add(proxy)
    session.flush()
    return code, proxy.invitation_expires_at


def accept_invitation(session: Session, phone: str, code: str, *, now: datetime) -> FamilyProxy:
    """Spend the invitation code of the active proxy with this phone; Validation when no such
    code is open (wrong, used, expired, withdrawn or for another phone)."""
    digest = _invitation_hash(code)
    for proxy in repo.list_proxies(session, phone=phone, active_only=True):
        if (
            proxy.invitation_hash is not None
            and hmac.compare_digest(proxy.invitation_hash, digest)
            and proxy.invitation_expires_at is not None
            and proxy.invitation_expires_at > now
        ):
            proxy.invitation_hash = None
            proxy.invitation_expires_at = None
            session.add(proxy)
            session.flush()
            return proxy
    raise Validation("the invitation code is wrong, used or expired for this phone")


def deactivate_family_proxy(session: Session, proxy_id: int) -> FamilyProxy:
    """Withdraw a proxy's rights (idempotent)."""
    proxy = get_proxy_or_raise(session, proxy_id)
    proxy.active = False
    proxy.invitation_hash = None
    proxy.invitation_expires_at = None
    session.add(proxy)
    session.flush()
    return proxy


def list_family_proxies(
    session: Session, member_id: int, *, active_only: bool = True
) -> Sequence[FamilyProxy]:
    """A member's family proxies."""
    return repo.list_proxies(session, member_id=member_id, active_only=active_only)


def proxies_with_phone(session: Session, phone: str) -> Sequence[FamilyProxy]:
    """The active proxies registered with a phone number (one per member they act for)."""
    return repo.list_proxies(session, phone=phone, active_only=True)


def can_order_for(session: Session, proxy_id: int, member_id: int) -> bool:
    """Whether this proxy is active, may order, and acts for this member."""
    proxy = repo.get_proxy(session, proxy_id)
    return proxy is not None and proxy.active and proxy.can_order and proxy.member_id == member_id


def get_proxy_by_public_id_or_raise(session: Session, public_id: str) -> FamilyProxy:
    """The family proxy with this public id, or NotFound."""
    proxy = repo.get_proxy_by_public_id(session, public_id)
    if proxy is None:
        raise NotFound(f"family proxy {public_id} does not exist")
    return proxy


def protected_statuses_page(
    session: Session, *, review: StatusReview | None, after_id: int, limit: int
) -> Sequence[ProtectedStatus]:
    """Status applications of every member (optionally in one review state), a page in id
    order: those with ids after ``after_id``, at most ``limit``."""
    return repo.statuses_page(
        session,
        review=None if review is None else review.value,
        after_id=after_id,
        limit=limit,
    )
