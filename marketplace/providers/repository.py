"""Provider and worker queries."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

from sqlmodel import Session, col, or_, select

from core.db import get_many
from marketplace.providers.models import (
    Provider,
    ProviderDistrict,
    ServicePoint,
    Worker,
    WorkerCertificate,
    WorkerShift,
    WorkerShiftException,
    WorkerSkill,
)


def get(session: Session, provider_id: int) -> Provider | None:
    """The provider with this id."""
    return session.get(Provider, provider_id)


def by_id(session: Session, provider_ids: Collection[int]) -> dict[int, Provider]:
    """The providers with these ids, by id, in one query at most."""
    return get_many(session, Provider, provider_ids)


def get_by_public_id(session: Session, public_id: str) -> Provider | None:
    """The provider with this public id."""
    return session.exec(select(Provider).where(Provider.public_id == public_id)).first()


def get_by_licence(session: Session, licence_no: str) -> Provider | None:
    """The provider holding this licence number."""
    return session.exec(select(Provider).where(Provider.licence_no == licence_no)).first()


def list_providers(session: Session, *, district_id: int | None = None) -> Sequence[Provider]:
    """Providers, optionally only those serving one district, by name."""
    stmt = select(Provider)
    if district_id is not None:
        stmt = stmt.join(ProviderDistrict, col(ProviderDistrict.provider_id) == col(Provider.id))
        stmt = stmt.where(ProviderDistrict.district_id == district_id)
    return session.exec(stmt.order_by(col(Provider.name), col(Provider.id))).all()


def district_ids(session: Session, provider_id: int) -> list[int]:
    """The districts a provider serves."""
    stmt = (
        select(ProviderDistrict.district_id)
        .where(ProviderDistrict.provider_id == provider_id)
        .order_by(col(ProviderDistrict.district_id))
    )
    return list(session.exec(stmt).all())


def district_ids_of(session: Session, provider_ids: Collection[int]) -> dict[int, list[int]]:
    """The districts each of these providers serves, in one query, by provider id."""
    found: dict[int, list[int]] = {pid: [] for pid in provider_ids}
    if not found:
        return found
    stmt = (
        select(ProviderDistrict.provider_id, ProviderDistrict.district_id)
        .where(col(ProviderDistrict.provider_id).in_(sorted(found)))
        .order_by(col(ProviderDistrict.provider_id), col(ProviderDistrict.district_id))
    )
    for provider_id, district_id in session.exec(stmt).all():
        found[provider_id].append(district_id)
    return found


def service_points(session: Session, provider_id: int) -> Sequence[ServicePoint]:
    """A provider's bases and kitchens."""
    stmt = (
        select(ServicePoint)
        .where(ServicePoint.provider_id == provider_id)
        .order_by(col(ServicePoint.id))
    )
    return session.exec(stmt).all()


def get_service_point(session: Session, point_id: int) -> ServicePoint | None:
    """The service point with this id."""
    return session.get(ServicePoint, point_id)


def get_worker(session: Session, worker_id: int) -> Worker | None:
    """The worker with this id."""
    return session.get(Worker, worker_id)


def workers_by_id(session: Session, worker_ids: Collection[int]) -> dict[int, Worker]:
    """The workers with these ids, by id, in one query at most."""
    return get_many(session, Worker, worker_ids)


def get_worker_by_public_id(session: Session, public_id: str) -> Worker | None:
    """The worker with this public id."""
    return session.exec(select(Worker).where(Worker.public_id == public_id)).first()


def list_workers(
    session: Session, *, provider_id: int | None = None, active_only: bool = False
) -> Sequence[Worker]:
    """Workers, optionally of one provider and only active ones, by id."""
    stmt = select(Worker)
    if provider_id is not None:
        stmt = stmt.where(Worker.provider_id == provider_id)
    if active_only:
        stmt = stmt.where(col(Worker.active).is_(True))
    return session.exec(stmt.order_by(col(Worker.id))).all()


def active_workers_of_licensed_providers(
    session: Session, day: date, *, district_id: int | None = None
) -> Sequence[Worker]:
    """Active workers of active providers whose licence is valid on ``day``.

    With ``district_id``, only providers serving that district.
    """
    stmt = (
        select(Worker)
        .join(Provider, col(Provider.id) == col(Worker.provider_id))
        .where(col(Worker.active).is_(True), col(Provider.active).is_(True))
        .where(
            or_(
                col(Provider.licence_expires_on).is_(None),
                col(Provider.licence_expires_on) >= day,
            )
        )
    )
    if district_id is not None:
        stmt = stmt.join(
            ProviderDistrict, col(ProviderDistrict.provider_id) == col(Provider.id)
        ).where(ProviderDistrict.district_id == district_id)
    return session.exec(stmt.order_by(col(Worker.id))).all()


def skills(session: Session, worker_id: int) -> Sequence[WorkerSkill]:
    """A worker's skills, by code."""
    stmt = (
        select(WorkerSkill)
        .where(WorkerSkill.worker_id == worker_id)
        .order_by(col(WorkerSkill.skill))
    )
    return session.exec(stmt).all()


def get_skill(session: Session, worker_id: int, skill: str) -> WorkerSkill | None:
    """One skill of a worker."""
    stmt = select(WorkerSkill).where(WorkerSkill.worker_id == worker_id, WorkerSkill.skill == skill)
    return session.exec(stmt).first()


def skills_of(session: Session, worker_ids: Sequence[int]) -> Sequence[WorkerSkill]:
    """The skills of several workers at once."""
    if not worker_ids:
        return []
    stmt = select(WorkerSkill).where(col(WorkerSkill.worker_id).in_(worker_ids))
    return session.exec(stmt).all()


def certificates(session: Session, worker_id: int) -> Sequence[WorkerCertificate]:
    """Every certificate of a worker, expired or not."""
    stmt = (
        select(WorkerCertificate)
        .where(WorkerCertificate.worker_id == worker_id)
        .order_by(col(WorkerCertificate.kind), col(WorkerCertificate.id))
    )
    return session.exec(stmt).all()


def valid_certificates_of(
    session: Session, worker_ids: Sequence[int], day: date
) -> Sequence[WorkerCertificate]:
    """Certificates of these workers issued on or before ``day`` and not expired (inclusive)."""
    if not worker_ids:
        return []
    stmt = (
        select(WorkerCertificate)
        .where(col(WorkerCertificate.worker_id).in_(worker_ids))
        .where(WorkerCertificate.issued_on <= day)
        .where(
            or_(
                col(WorkerCertificate.expires_on).is_(None),
                col(WorkerCertificate.expires_on) >= day,
            )
        )
        .order_by(col(WorkerCertificate.worker_id), col(WorkerCertificate.kind))
    )
    return session.exec(stmt).all()


def shifts(
    session: Session, worker_id: int, *, weekday: int | None = None
) -> Sequence[WorkerShift]:
    """A worker's weekly shifts (optionally of one weekday), in order."""
    stmt = select(WorkerShift).where(WorkerShift.worker_id == worker_id)
    if weekday is not None:
        stmt = stmt.where(WorkerShift.weekday == weekday)
    stmt = stmt.order_by(col(WorkerShift.weekday), col(WorkerShift.starts_at))
    return session.exec(stmt).all()


def shift_exceptions(
    session: Session, worker_id: int, *, start: date, end: date
) -> Sequence[WorkerShiftException]:
    """A worker's dated exceptions from ``start`` to ``end`` (inclusive)."""
    stmt = (
        select(WorkerShiftException)
        .where(WorkerShiftException.worker_id == worker_id)
        .where(WorkerShiftException.on_date >= start, WorkerShiftException.on_date <= end)
        .order_by(col(WorkerShiftException.on_date), col(WorkerShiftException.id))
    )
    return session.exec(stmt).all()


def providers_page(
    session: Session, *, after_id: int, limit: int, district_id: int | None = None
) -> Sequence[Provider]:
    """Active providers with ids after ``after_id`` (optionally only those serving one
    district), in id order, ``limit`` of them."""
    stmt = select(Provider).where(col(Provider.active).is_(True), col(Provider.id) > after_id)
    if district_id is not None:
        serving = select(ProviderDistrict.provider_id).where(
            ProviderDistrict.district_id == district_id
        )
        stmt = stmt.where(col(Provider.id).in_(serving))
    return session.exec(stmt.order_by(col(Provider.id)).limit(limit)).all()


def workers_page(
    session: Session, provider_id: int, *, after_id: int, limit: int
) -> Sequence[Worker]:
    """A provider's workers with ids after ``after_id``, in id order, ``limit`` of them."""
    stmt = (
        select(Worker)
        .where(Worker.provider_id == provider_id, col(Worker.id) > after_id)
        .order_by(col(Worker.id))
        .limit(limit)
    )
    return session.exec(stmt).all()


def certificates_page(
    session: Session, worker_id: int, *, after_id: int, limit: int
) -> Sequence[WorkerCertificate]:
    """A worker's certificates with ids after ``after_id``, in id order, ``limit`` of them."""
    stmt = (
        select(WorkerCertificate)
        .where(WorkerCertificate.worker_id == worker_id, col(WorkerCertificate.id) > after_id)
        .order_by(col(WorkerCertificate.id))
        .limit(limit)
    )
    return session.exec(stmt).all()
