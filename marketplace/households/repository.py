"""Household queries."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlmodel import Session, col, select

from core.db import get_many
from marketplace.households.models import (
    FamilyProxy,
    Household,
    LtcEntitlement,
    Member,
    MemberPreference,
    PeriodKind,
    ProtectedStatus,
    StatusPeriod,
    WorkerPreference,
)


def get(session: Session, household_id: int) -> Household | None:
    """The household with this id."""
    return session.get(Household, household_id)


def get_by_public_id(session: Session, public_id: str) -> Household | None:
    """The household with this public id."""
    return session.exec(select(Household).where(Household.public_id == public_id)).first()


def list_households(session: Session, *, community_id: int | None = None) -> Sequence[Household]:
    """Households, optionally of one community, by id."""
    stmt = select(Household)
    if community_id is not None:
        stmt = stmt.where(Household.community_id == community_id)
    return session.exec(stmt.order_by(col(Household.id))).all()


def get_member(session: Session, member_id: int) -> Member | None:
    """The member with this id."""
    return session.get(Member, member_id)


def members_by_id(session: Session, member_ids: Collection[int]) -> dict[int, Member]:
    """The members with these ids, by id, in one query at most."""
    return get_many(session, Member, member_ids)


def get_member_by_public_id(session: Session, public_id: str) -> Member | None:
    """The member with this public id."""
    return session.exec(select(Member).where(Member.public_id == public_id)).first()


def get_member_by_id_index(session: Session, id_index: str) -> Member | None:
    """The member whose ID-number blind index is ``id_index``."""
    return session.exec(select(Member).where(Member.id_number_index == id_index)).first()


def list_members(session: Session, household_id: int) -> Sequence[Member]:
    """The members of a household, by id."""
    stmt = select(Member).where(Member.household_id == household_id).order_by(col(Member.id))
    return session.exec(stmt).all()


def get_status(session: Session, status_id: int) -> ProtectedStatus | None:
    """The protected status with this id."""
    return session.get(ProtectedStatus, status_id)


def list_statuses(session: Session, member_id: int) -> Sequence[ProtectedStatus]:
    """Every protected status of a member, any review state, oldest first."""
    stmt = (
        select(ProtectedStatus)
        .where(ProtectedStatus.member_id == member_id)
        .order_by(col(ProtectedStatus.valid_from), col(ProtectedStatus.id))
    )
    return session.exec(stmt).all()


def list_ltc_entitlements(session: Session, member_id: int) -> Sequence[LtcEntitlement]:
    """A member's long-term-care insurance benefits, earliest first."""
    return session.exec(
        select(LtcEntitlement)
        .where(LtcEntitlement.member_id == member_id)
        .order_by(col(LtcEntitlement.valid_from), col(LtcEntitlement.id))
    ).all()


def get_period(session: Session, period_id: int) -> StatusPeriod | None:
    """The status period with this id."""
    return session.get(StatusPeriod, period_id)


def list_periods(
    session: Session, member_id: int, *, kind: PeriodKind | None = None
) -> Sequence[StatusPeriod]:
    """A member's status periods (optionally of one kind), earliest first."""
    stmt = select(StatusPeriod).where(StatusPeriod.member_id == member_id)
    if kind is not None:
        stmt = stmt.where(StatusPeriod.kind == kind.value)
    stmt = stmt.order_by(col(StatusPeriod.starts_on), col(StatusPeriod.id))
    return session.exec(stmt).all()


def get_preference(session: Session, member_id: int) -> MemberPreference | None:
    """The member's caregiver preferences."""
    return session.get(MemberPreference, member_id)


def get_worker_preference(
    session: Session, member_id: int, worker_id: int
) -> WorkerPreference | None:
    """Whether (and how) a member prefers or refuses a worker."""
    stmt = select(WorkerPreference).where(
        WorkerPreference.member_id == member_id, WorkerPreference.worker_id == worker_id
    )
    return session.exec(stmt).first()


def list_worker_preferences(session: Session, member_id: int) -> Sequence[WorkerPreference]:
    """A member's preferred and refused workers."""
    stmt = (
        select(WorkerPreference)
        .where(WorkerPreference.member_id == member_id)
        .order_by(col(WorkerPreference.id))
    )
    return session.exec(stmt).all()


def get_proxy(session: Session, proxy_id: int) -> FamilyProxy | None:
    """The family proxy with this id."""
    return session.get(FamilyProxy, proxy_id)


def get_proxy_by_phone(session: Session, member_id: int, phone: str) -> FamilyProxy | None:
    """The member's proxy with this phone number, active or not."""
    stmt = select(FamilyProxy).where(FamilyProxy.member_id == member_id, FamilyProxy.phone == phone)
    return session.exec(stmt).first()


def list_proxies(
    session: Session, *, member_id: int | None = None, phone: str | None = None, active_only: bool
) -> Sequence[FamilyProxy]:
    """Family proxies of a member and/or with a phone number."""
    stmt = select(FamilyProxy)
    if member_id is not None:
        stmt = stmt.where(FamilyProxy.member_id == member_id)
    if phone is not None:
        stmt = stmt.where(FamilyProxy.phone == phone)
    if active_only:
        stmt = stmt.where(col(FamilyProxy.active).is_(True))
    return session.exec(stmt.order_by(col(FamilyProxy.id))).all()


def get_proxy_by_public_id(session: Session, public_id: str) -> FamilyProxy | None:
    """The family proxy with this public id."""
    return session.exec(select(FamilyProxy).where(FamilyProxy.public_id == public_id)).first()


def statuses_page(
    session: Session, *, review: str | None, after_id: int, limit: int
) -> Sequence[ProtectedStatus]:
    """Protected statuses (optionally in one review state) with ids after ``after_id``, by id."""
    stmt = select(ProtectedStatus).where(col(ProtectedStatus.id) > after_id)
    if review is not None:
        stmt = stmt.where(ProtectedStatus.review == review)
    return session.exec(stmt.order_by(col(ProtectedStatus.id)).limit(limit)).all()
