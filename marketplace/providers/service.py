"""Provider and worker use cases, and the qualification and availability queries of dispatch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, time

from sqlmodel import Session

from core.errors import Conflict, NotFound, Validation
from core.ids import new_public_id
from marketplace.catalog.models import Item
from marketplace.catalog.vocab import CERTIFICATES, LANGUAGES, SKILLS
from marketplace.geography import service as geography_service
from marketplace.geography.models import AreaLevel
from marketplace.providers import repository as repo
from marketplace.providers.models import (
    Provider,
    ProviderDistrict,
    ServicePoint,
    ShiftExceptionKind,
    Worker,
    WorkerCertificate,
    WorkerShift,
    WorkerShiftException,
    WorkerSkill,
)
from marketplace.providers.schemas import (
    CertificateIn,
    ProviderCreate,
    ServicePointCreate,
    ShiftExceptionCreate,
    ShiftIn,
    SkillIn,
    WorkerCreate,
    overlapping_shifts,
    seconds_of_day,
)

Interval = tuple[int, int]  # seconds since local midnight, [start, end)


# --- providers ---------------------------------------------------------------------------


def get(session: Session, provider_id: int) -> Provider | None:
    """The provider, if it exists."""
    return repo.get(session, provider_id)


def get_or_raise(session: Session, provider_id: int) -> Provider:
    """The provider, or NotFound."""
    provider = repo.get(session, provider_id)
    if provider is None:
        raise NotFound(f"provider {provider_id} does not exist")
    return provider


def get_by_public_id_or_raise(session: Session, public_id: str) -> Provider:
    """The provider with this public id, or NotFound."""
    provider = repo.get_by_public_id(session, public_id)
    if provider is None:
        raise NotFound(f"provider {public_id} does not exist")
    return provider


def _check_district(session: Session, district_id: int) -> None:
    area = geography_service.get(session, district_id)
    if area is None or AreaLevel(area.level) is not AreaLevel.DISTRICT:
        raise Validation(f"area {district_id} is not a district")


def create_provider(
    session: Session, data: ProviderCreate, *, public_id: str | None = None
) -> Provider:
    """Register a provider and the districts it serves; a licence number is held only once."""
    if repo.get_by_licence(session, data.licence_no) is not None:
        raise Conflict(f"licence {data.licence_no!r} is already registered")
    districts = sorted(set(data.district_ids))
    for district_id in districts:
        _check_district(session, district_id)
    provider = Provider(
        public_id=public_id or new_public_id("prv"),
        name=data.name,
        kind=data.kind,
        licence_no=data.licence_no,
        licence_expires_on=data.licence_expires_on,
        grade=data.grade,
        phone=data.phone,
    )
    session.add(provider)
    session.flush()
    assert provider.id is not None
    for district_id in districts:
        session.add(ProviderDistrict(provider_id=provider.id, district_id=district_id))
    session.flush()
    return provider


def list_providers(session: Session, *, district_id: int | None = None) -> Sequence[Provider]:
    """Providers, optionally only those serving one district."""
    return repo.list_providers(session, district_id=district_id)


def districts_served(session: Session, provider_id: int) -> list[int]:
    """The ids of the districts a provider serves."""
    get_or_raise(session, provider_id)
    return repo.district_ids(session, provider_id)


def add_service_point(session: Session, provider_id: int, data: ServicePointCreate) -> ServicePoint:
    """Add a base or kitchen to a provider."""
    get_or_raise(session, provider_id)
    if data.district_id is not None:
        _check_district(session, data.district_id)
    point = ServicePoint(
        provider_id=provider_id,
        kind=data.kind,
        name=data.name,
        address=data.address,
        district_id=data.district_id,
        lat=data.lat,
        lon=data.lon,
    )
    session.add(point)
    session.flush()
    return point


def districts_served_by(session: Session, provider_ids: Sequence[int]) -> dict[int, list[int]]:
    """The districts each of these providers serves, in one query, by provider id."""
    return repo.district_ids_of(session, provider_ids)


def list_service_points(session: Session, provider_id: int) -> Sequence[ServicePoint]:
    """A provider's bases and kitchens."""
    get_or_raise(session, provider_id)
    return repo.service_points(session, provider_id)


# --- workers -----------------------------------------------------------------------------


def get_worker(session: Session, worker_id: int) -> Worker | None:
    """The worker, if it exists."""
    return repo.get_worker(session, worker_id)


def get_worker_or_raise(session: Session, worker_id: int) -> Worker:
    """The worker, or NotFound."""
    worker = repo.get_worker(session, worker_id)
    if worker is None:
        raise NotFound(f"worker {worker_id} does not exist")
    return worker


def get_worker_by_public_id_or_raise(session: Session, public_id: str) -> Worker:
    """The worker with this public id, or NotFound."""
    worker = repo.get_worker_by_public_id(session, public_id)
    if worker is None:
        raise NotFound(f"worker {public_id} does not exist")
    return worker


def list_workers(
    session: Session, *, provider_id: int | None = None, active_only: bool = False
) -> Sequence[Worker]:
    """Workers, optionally of one provider and only active ones."""
    return repo.list_workers(session, provider_id=provider_id, active_only=active_only)


def _check_vocab(kind: str, codes: Iterable[str], vocabulary: dict[str, tuple[str, str]]) -> None:
    unknown = sorted(set(codes) - vocabulary.keys())
    if unknown:
        raise Validation(f"unknown {kind}: {', '.join(unknown)}", unknown=unknown)


def create_worker(session: Session, data: WorkerCreate, *, public_id: str | None = None) -> Worker:
    """Add a worker to a provider, with skills, certificates and weekly shifts."""
    provider = get_or_raise(session, data.provider_id)
    if not provider.active:
        raise Validation(f"provider {data.provider_id} is inactive")
    _check_vocab("language", data.languages, LANGUAGES)
    _check_vocab("skill", (s.skill for s in data.skills), SKILLS)
    _check_vocab("certificate kind", (c.kind for c in data.certificates), CERTIFICATES)
    worker = Worker(
        public_id=public_id or new_public_id("wkr"),
        provider_id=data.provider_id,
        name=data.name,
        gender=data.gender,
        phone=data.phone,
        languages=list(dict.fromkeys(data.languages)),
        travel_mode=data.travel_mode,
        start_lat=data.start_lat,
        start_lon=data.start_lon,
        end_lat=data.start_lat if data.end_lat is None else data.end_lat,
        end_lon=data.start_lon if data.end_lon is None else data.end_lon,
        daily_limit_minutes=data.daily_limit_minutes,
        capacity=data.capacity,
        is_volunteer=data.is_volunteer,
        is_public_benefit_post=data.is_public_benefit_post,
    )
    session.add(worker)
    session.flush()
    assert worker.id is not None
    for skill in data.skills:
        session.add(WorkerSkill(worker_id=worker.id, skill=skill.skill, level=skill.level))
    for cert in data.certificates:
        session.add(_certificate(worker.id, cert))
    for shift in data.shifts:
        session.add(_shift(worker.id, shift))
    session.flush()
    return worker


def deactivate_worker(session: Session, worker_id: int) -> Worker:
    """Stop offering a worker for new work (history stays)."""
    worker = get_worker_or_raise(session, worker_id)
    worker.active = False
    session.add(worker)
    session.flush()
    return worker


def set_skill(session: Session, worker_id: int, data: SkillIn) -> WorkerSkill:
    """Give a worker a skill, or change its level."""
    get_worker_or_raise(session, worker_id)
    _check_vocab("skill", [data.skill], SKILLS)
    row = repo.get_skill(session, worker_id, data.skill)
    if row is None:
        row = WorkerSkill(worker_id=worker_id, skill=data.skill, level=data.level)
    else:
        row.level = data.level
    session.add(row)
    session.flush()
    return row


def skill_level(session: Session, worker_id: int, skill: str) -> int | None:
    """The worker's level (1–5) in a skill, or ``None`` without that skill."""
    row = repo.get_skill(session, worker_id, skill)
    return None if row is None else row.level


def skill_levels(session: Session, worker_id: int) -> dict[str, int]:
    """Every skill of the worker with its level."""
    return {row.skill: row.level for row in repo.skills(session, worker_id)}


def skill_levels_of(session: Session, worker_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Every skill of each of these workers with its level, in one query, by worker id."""
    found: dict[int, dict[str, int]] = {wid: {} for wid in worker_ids}
    for row in repo.skills_of(session, worker_ids):
        found[row.worker_id][row.skill] = row.level
    return found


def _certificate(worker_id: int, data: CertificateIn) -> WorkerCertificate:
    return WorkerCertificate(
        worker_id=worker_id,
        kind=data.kind,
        number=data.number,
        issued_on=data.issued_on,
        expires_on=data.expires_on,
    )


def add_certificate(session: Session, worker_id: int, data: CertificateIn) -> WorkerCertificate:
    """Record a certificate a worker holds."""
    get_worker_or_raise(session, worker_id)
    _check_vocab("certificate kind", [data.kind], CERTIFICATES)
    row = _certificate(worker_id, data)
    session.add(row)
    session.flush()
    return row


def list_certificates(session: Session, worker_id: int) -> Sequence[WorkerCertificate]:
    """Every certificate of a worker, expired or not."""
    return repo.certificates(session, worker_id)


def valid_certificates(session: Session, worker_id: int, day: date) -> Sequence[WorkerCertificate]:
    """The worker's certificates valid on ``day`` (issued by then, ``expires_on`` inclusive)."""
    return repo.valid_certificates_of(session, [worker_id], day)


def _shift(worker_id: int, data: ShiftIn) -> WorkerShift:
    return WorkerShift(
        worker_id=worker_id,
        weekday=data.weekday,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        break_after_minutes=data.break_after_minutes,
        break_minutes=data.break_minutes,
    )


def add_shift(session: Session, worker_id: int, data: ShiftIn) -> WorkerShift:
    """Add a weekly shift; it may not overlap another shift on the same weekday."""
    get_worker_or_raise(session, worker_id)
    existing = [
        (s.weekday, s.starts_at, s.ends_at)
        for s in repo.shifts(session, worker_id, weekday=data.weekday)
    ]
    if overlapping_shifts([*existing, (data.weekday, data.starts_at, data.ends_at)]):
        raise Conflict("the shift overlaps another shift on the same weekday")
    row = _shift(worker_id, data)
    session.add(row)
    session.flush()
    return row


def list_shifts(session: Session, worker_id: int) -> Sequence[WorkerShift]:
    """A worker's weekly shifts, Monday first."""
    return repo.shifts(session, worker_id)


def add_shift_exception(
    session: Session, worker_id: int, data: ShiftExceptionCreate
) -> WorkerShiftException:
    """Record leave, an extra working day or changed hours on one date."""
    get_worker_or_raise(session, worker_id)
    same_day = repo.shift_exceptions(session, worker_id, start=data.on_date, end=data.on_date)
    if any(e.kind == ShiftExceptionKind.LEAVE and e.starts_at is None for e in same_day):
        raise Conflict(f"the worker already has the whole of {data.on_date.isoformat()} off")
    row = WorkerShiftException(
        worker_id=worker_id,
        on_date=data.on_date,
        kind=data.kind,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        reason=data.reason,
    )
    session.add(row)
    session.flush()
    return row


def list_shift_exceptions(
    session: Session, worker_id: int, *, start: date, end: date
) -> Sequence[WorkerShiftException]:
    """A worker's exceptions between two dates (inclusive)."""
    return repo.shift_exceptions(session, worker_id, start=start, end=end)


# --- availability ------------------------------------------------------------------------


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(intervals: Iterable[Interval], cut: Interval) -> list[Interval]:
    kept: list[Interval] = []
    for start, end in intervals:
        if cut[1] <= start or end <= cut[0]:
            kept.append((start, end))
            continue
        if start < cut[0]:
            kept.append((start, cut[0]))
        if cut[1] < end:
            kept.append((cut[1], end))
    return kept


def _shift_intervals(shift: WorkerShift) -> list[Interval]:
    start, end = seconds_of_day(shift.starts_at), seconds_of_day(shift.ends_at)
    if shift.break_after_minutes is None or shift.break_minutes <= 0:
        return [(start, end)]
    break_start = start + shift.break_after_minutes * 60
    return _subtract([(start, end)], (break_start, break_start + shift.break_minutes * 60))


def _as_time(seconds: int) -> time:
    return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)


def availability(session: Session, worker_id: int, day: date) -> list[tuple[time, time]]:
    """The local wall-clock periods the worker can work on ``day``, earliest first.

    The weekly shifts of that weekday (minus fixed breaks), replaced by the day's ``extra`` or
    ``changed`` hours if there are any; then ``leave`` removes the whole day or its hours.
    An inactive worker has none.
    """
    worker = get_worker_or_raise(session, worker_id)
    if not worker.active:
        return []
    exceptions = repo.shift_exceptions(session, worker_id, start=day, end=day)
    replacing = [
        (seconds_of_day(e.starts_at), seconds_of_day(e.ends_at))
        for e in exceptions
        if e.kind != ShiftExceptionKind.LEAVE and e.starts_at is not None and e.ends_at is not None
    ]
    intervals: list[Interval]
    if replacing:
        intervals = _merge(replacing)
    else:
        weekly = repo.shifts(session, worker_id, weekday=day.weekday())
        intervals = _merge(i for shift in weekly for i in _shift_intervals(shift))
    for leave in (e for e in exceptions if e.kind == ShiftExceptionKind.LEAVE):
        if leave.starts_at is None or leave.ends_at is None:
            return []
        intervals = _subtract(
            intervals, (seconds_of_day(leave.starts_at), seconds_of_day(leave.ends_at))
        )
    return [(_as_time(start), _as_time(end)) for start, end in intervals if end > start]


# --- qualification -----------------------------------------------------------------------


def workers_qualified_for(
    session: Session, item: Item, day: date, *, district_id: int | None = None
) -> list[Worker]:
    """Active workers who may deliver ``item`` on ``day``.

    Their provider is active, licensed on that day and (with ``district_id``) serves that
    district; they have every skill the item requires and, for each certificate kind it
    requires, a certificate valid on that day. Availability is not checked here.
    """
    candidates = repo.active_workers_of_licensed_providers(session, day, district_id=district_id)
    ids = [w.id for w in candidates if w.id is not None]
    required_skills = set(item.required_skills)
    required_certs = set(item.required_certificates)
    skills: dict[int, set[str]] = defaultdict(set)
    if required_skills:
        for row in repo.skills_of(session, ids):
            skills[row.worker_id].add(row.skill)
    certs: dict[int, set[str]] = defaultdict(set)
    if required_certs:
        for cert in repo.valid_certificates_of(session, ids, day):
            certs[cert.worker_id].add(cert.kind)
    return [
        w
        for w in candidates
        if w.id is not None and required_skills <= skills[w.id] and required_certs <= certs[w.id]
    ]


# --- pages and replacements (for the API) -------------------------------------------------


def providers_page(
    session: Session, *, after_id: int = 0, limit: int = 50, district_id: int | None = None
) -> Sequence[Provider]:
    """A page of active providers in id order (optionally only those serving one district)."""
    return repo.providers_page(session, after_id=after_id, limit=limit, district_id=district_id)


def workers_page(
    session: Session, provider_id: int, *, after_id: int = 0, limit: int = 50
) -> Sequence[Worker]:
    """A page of a provider's workers, active or not, in id order."""
    return repo.workers_page(session, provider_id, after_id=after_id, limit=limit)


def certificates_page(
    session: Session, worker_id: int, *, after_id: int = 0, limit: int = 50
) -> Sequence[WorkerCertificate]:
    """A page of a worker's certificates, expired or not, in the order they were added."""
    return repo.certificates_page(session, worker_id, after_id=after_id, limit=limit)


def replace_shifts(
    session: Session, worker_id: int, shifts: Sequence[ShiftIn]
) -> Sequence[WorkerShift]:
    """Replace a worker's weekly shifts with these (none: the worker has no weekly pattern).

    Two of them overlapping on the same weekday is refused (Validation); dated exceptions
    stay as they are.
    """
    get_worker_or_raise(session, worker_id)
    if overlapping_shifts((s.weekday, s.starts_at, s.ends_at) for s in shifts):
        raise Validation("two shifts on the same weekday overlap")
    for old in repo.shifts(session, worker_id):
        session.delete(old)
    session.flush()
    for shift in shifts:
        session.add(_shift(worker_id, shift))
    session.flush()
    return repo.shifts(session, worker_id)
