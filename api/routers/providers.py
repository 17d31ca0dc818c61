"""Providers and their workers: households choose a provider; a provider's admins manage its
workers (skills, certificates, shifts, leave) and its prices; its dispatchers, the platform's
and administrators follow the day's routes. Someone else's provider or worker is 404."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, BeforeValidator, Field, ValidationError
from sqlmodel import Session

from api import ownership
from api.access import EVERYONE_SIGNED_IN, Owner, allow
from api.deps import SessionDep
from api.idempotency import IdempotencyKey, Idempotent, replayed
from api.lookups import Names
from api.pagination import After, Limit, Page, decode_cursor, page, page_all, row_id
from api.problems import problem_responses
from core.errors import NotFound, Validation
from core.timeutil import local_date, utcnow
from marketplace.accounts.models import Role, UserAccount
from marketplace.catalog import service as catalog_service
from marketplace.geography import service as geography_service
from marketplace.orders import service as orders_service
from marketplace.providers import service as providers_service
from marketplace.providers.models import Gender, Provider, TravelMode, Worker
from marketplace.providers.schemas import (
    CertificateIn,
    ShiftExceptionCreate,
    ShiftIn,
    SkillIn,
    WorkerCreate,
)
from marketplace.visits import service as visits_service
from pricing import service as pricing_service
from pricing.models import ProviderTariff
from pricing.tariff import MAX_SURCHARGE_PERCENT

router = APIRouter(tags=["providers"])

MANAGING = (Role.PROVIDER_ADMIN, Role.ADMIN)
READING = (Role.PROVIDER_ADMIN, Role.DISPATCHER, Role.AUDITOR, Role.ADMIN)
ROUTES = (Role.PROVIDER_ADMIN, Role.DISPATCHER, Role.ADMIN)

ProviderId = Annotated[str, Path(max_length=40, description="the provider's public id")]
WorkerId = Annotated[str, Path(max_length=40, description="the worker's public id")]
Manager = Annotated[UserAccount, allow(*MANAGING, owner=Owner.PROVIDER)]
WorkerManager = Annotated[UserAccount, allow(*MANAGING, owner=Owner.WORKER)]


def _written_as(pattern: str, form: str) -> BeforeValidator:
    """Accept a date or time only written out in ISO 8601 (not as a number of seconds)."""
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, str) and not compiled.fullmatch(value):
            raise ValueError(f"write it as {form}")
        if isinstance(value, int | float):
            raise ValueError(f"write it as {form}")
        return value

    return BeforeValidator(check)


IsoDate = Annotated[date, _written_as(r"\d{4}-\d{2}-\d{2}", "YYYY-MM-DD")]
WallTime = Annotated[time, _written_as(r"\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?", "HH:MM[:SS]")]
Day = Annotated[
    IsoDate | None, Query(alias="date", description="the service date, YYYY-MM-DD (default: today)")
]


# --- shapes --------------------------------------------------------------------------------


class DistrictRef(BaseModel):
    """A district a provider serves."""

    code: str
    name: str


class ProviderPublic(BaseModel):
    """What anyone signed in may know about a provider to choose it."""

    id: str
    name: str
    kind: str
    grade: int
    districts: list[DistrictRef]
    priced_items: list[str] = Field(
        description="catalog items the provider sets its own price for (any other item is "
        "offered at the catalog's reference price)"
    )


class SkillPublic(BaseModel):
    """A skill and its level (1 basic … 5 expert)."""

    skill: str
    level: int


class CertificatePublic(BaseModel):
    """A certificate a worker holds."""

    kind: str
    number: str
    issued_on: date
    expires_on: date | None


class ShiftPublic(BaseModel):
    """A weekly working period (local wall-clock time; weekday 0 is Monday)."""

    weekday: int
    starts_at: time
    ends_at: time
    break_after_minutes: int | None
    break_minutes: int


class WorkerPublic(BaseModel):
    """A worker as the provider's staff see them in a list."""

    id: str
    provider: str
    name: str
    gender: str
    languages: list[str]
    travel_mode: str
    daily_limit_minutes: int
    is_volunteer: bool
    active: bool
    skills: list[SkillPublic]


class WorkerDetail(WorkerPublic):
    """A worker with contact, start and end points, shifts and certificates."""

    phone: str
    start_lat: float
    start_lon: float
    end_lat: float
    end_lon: float
    capacity: int
    is_public_benefit_post: bool
    shifts: list[ShiftPublic]
    certificates: list[CertificatePublic]


class ShiftBody(ShiftIn):
    """A weekly working period in local wall-clock time; weekday 0 is Monday."""

    starts_at: WallTime
    ends_at: WallTime
    break_after_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    break_minutes: int = Field(default=0, ge=0, le=24 * 60)


class CertificateBody(CertificateIn):
    """A certificate (kind from the certificate vocabulary), valid to ``expires_on``."""

    issued_on: IsoDate
    expires_on: IsoDate | None = None


class ShiftExceptionBody(ShiftExceptionCreate):
    """Leave (without times: the whole day), an extra working day or changed hours."""

    on_date: IsoDate
    starts_at: WallTime | None = None
    ends_at: WallTime | None = None


class WorkerIn(BaseModel):
    """A new worker of the provider; the route ends where it starts unless an end is given."""

    name: str = Field(min_length=1, max_length=60)
    gender: Gender
    phone: str = Field(default="", max_length=32)
    languages: list[Annotated[str, Field(min_length=1, max_length=8)]] = Field(
        default_factory=lambda: ["zh"], min_length=1, max_length=8, description="language codes"
    )
    travel_mode: TravelMode = TravelMode.EBIKE
    start_lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    start_lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    end_lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    end_lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    daily_limit_minutes: int = Field(default=480, gt=0, le=24 * 60)
    capacity: int = Field(default=0, ge=0, le=1000)
    is_volunteer: bool = False
    is_public_benefit_post: bool = False
    skills: list[SkillIn] = Field(default_factory=list, max_length=20)
    certificates: list[CertificateBody] = Field(default_factory=list, max_length=20)
    shifts: list[ShiftBody] = Field(default_factory=list, max_length=28)


class ShiftsIn(BaseModel):
    """The worker's whole weekly pattern (it replaces the one before)."""

    shifts: list[ShiftBody] = Field(max_length=28)


class WorkerShifts(BaseModel):
    """A worker's weekly pattern."""

    worker: str
    shifts: list[ShiftPublic]


class SkillLevelIn(BaseModel):
    """The level of a skill (1 basic … 5 expert)."""

    level: int = Field(ge=1, le=5)


class ShiftExceptionPublic(BaseModel):
    """A dated change to the weekly pattern."""

    worker: str
    on_date: date
    kind: str
    starts_at: time | None
    ends_at: time | None
    reason: str


class Period(BaseModel):
    """A local wall-clock period."""

    starts_at: time
    ends_at: time


class Availability(BaseModel):
    """When a worker can work on a day (weekly pattern, exceptions and leave applied)."""

    worker: str
    date: date
    periods: list[Period]


class TariffIn(BaseModel):
    """The provider's price for one item (integer fen per unit) and its surcharges.

    A government guide price, where the catalog has one, caps the price at quote time.
    """

    unit_price_fen: int = Field(gt=0, le=10_000_000)
    night_percent: int = Field(default=0, ge=0, le=MAX_SURCHARGE_PERCENT)
    holiday_percent: int = Field(default=0, ge=0, le=MAX_SURCHARGE_PERCENT)
    urgent_percent: int = Field(default=0, ge=0, le=MAX_SURCHARGE_PERCENT)
    radius_m: int = Field(default=0, ge=0, le=1_000_000)
    per_km_fen: int = Field(default=0, ge=0, le=1_000_000)


class TariffPublic(BaseModel):
    """A provider's own price for an item, beside the catalog's reference and guide price."""

    item: str
    unit: str
    unit_price_fen: int
    reference_price_fen: int
    guide_price_fen: int | None
    night_percent: int
    holiday_percent: int
    urgent_percent: int
    radius_m: int
    per_km_fen: int


class Progress(BaseModel):
    """How far the day has got: stops done, in service, still to do."""

    stops: int = 0
    done: int = 0
    in_service: int = 0
    to_do: int = 0


class StopProgress(BaseModel):
    """One stop of a worker's day as the provider follows it (no household address)."""

    sequence: int
    order: str
    item: str
    planned_start: datetime
    planned_end: datetime
    status: str
    progress: str = Field(description="done, in_service or to_do")
    check_in_at: datetime | None
    check_out_at: datetime | None
    confirmed_at: datetime | None


class WorkerDay(BaseModel):
    """One worker's stops of the day, in order, and their progress."""

    worker: str
    name: str
    summary: Progress
    stops: list[StopProgress]


class ProviderDay(BaseModel):
    """The provider's routes for a day and the day's progress."""

    provider: str
    date: date
    summary: Progress
    workers: list[WorkerDay]


# --- helpers -------------------------------------------------------------------------------


def _providers_public(session: Session, providers: Sequence[Provider]) -> list[ProviderPublic]:
    """The providers with their districts and priced items, in a fixed number of queries."""
    ids = [row_id(p) for p in providers]
    served = providers_service.districts_served_by(session, ids)
    priced = pricing_service.priced_item_ids(session, ids)
    names = Names(session).need(
        areas=[a for pid in ids for a in served[pid]],
        items=[i for pid in ids for i in priced[pid]],
    )

    def shown(provider: Provider) -> ProviderPublic:
        districts = [names.area(a) for a in served[row_id(provider)]]
        return ProviderPublic(
            id=provider.public_id,
            name=provider.name,
            kind=str(provider.kind),
            grade=provider.grade,
            districts=[DistrictRef(code=a.code, name=a.name) for a in districts if a is not None],
            priced_items=sorted(names.item(i) for i in priced[row_id(provider)]),
        )

    return [shown(p) for p in providers]


def _provider_public(session: Session, provider: Provider) -> ProviderPublic:
    return _providers_public(session, [provider])[0]


def _shift(row: Any) -> ShiftPublic:
    return ShiftPublic.model_validate(row, from_attributes=True)


def _certificate(row: Any) -> CertificatePublic:
    return CertificatePublic.model_validate(row, from_attributes=True)


def _workers_public(session: Session, workers: Sequence[Worker]) -> list[WorkerPublic]:
    """The workers with their provider and skills, in a fixed number of queries."""
    names = Names(session).need(providers=[w.provider_id for w in workers])
    levels = providers_service.skill_levels_of(session, [row_id(w) for w in workers])
    return [
        WorkerPublic(
            id=worker.public_id,
            provider=names.provider(worker.provider_id),
            name=worker.name,
            gender=str(worker.gender),
            languages=list(worker.languages),
            travel_mode=str(worker.travel_mode),
            daily_limit_minutes=worker.daily_limit_minutes,
            is_volunteer=worker.is_volunteer,
            active=worker.active,
            skills=[
                SkillPublic(skill=skill, level=level)
                for skill, level in sorted(levels[row_id(worker)].items())
            ],
        )
        for worker in workers
    ]


def _worker_public(session: Session, worker: Worker) -> WorkerPublic:
    return _workers_public(session, [worker])[0]


def _worker_detail(session: Session, worker: Worker) -> WorkerDetail:
    assert worker.id is not None
    return WorkerDetail(
        **_worker_public(session, worker).model_dump(),
        phone=worker.phone,
        start_lat=worker.start_lat,
        start_lon=worker.start_lon,
        end_lat=worker.end_lat,
        end_lon=worker.end_lon,
        capacity=worker.capacity,
        is_public_benefit_post=worker.is_public_benefit_post,
        shifts=[_shift(s) for s in providers_service.list_shifts(session, worker.id)],
        certificates=[
            _certificate(c) for c in providers_service.list_certificates(session, worker.id)
        ],
    )


def _tariffs_public(session: Session, rows: Sequence[ProviderTariff]) -> list[TariffPublic]:
    """The tariffs with their items, in a fixed number of queries."""
    names = Names(session).need(items=[r.item_id for r in rows])

    def shown(row: ProviderTariff) -> TariffPublic:
        item = names.item_row(row.item_id)
        return TariffPublic(
            item=item.code,
            unit=str(item.unit),
            unit_price_fen=row.unit_price_fen,
            reference_price_fen=item.reference_price_fen,
            guide_price_fen=item.guide_price_fen or None,
            night_percent=row.night_percent,
            holiday_percent=row.holiday_percent,
            urgent_percent=row.urgent_percent,
            radius_m=row.radius_m,
            per_km_fen=row.per_km_fen,
        )

    return [shown(r) for r in rows]


def _tariff_public(session: Session, row: ProviderTariff) -> TariffPublic:
    return _tariffs_public(session, [row])[0]


def _district_id(session: Session, code: str | None) -> int | None:
    if code is None:
        return None
    area = geography_service.get_by_code(session, code)
    if area is None:
        raise NotFound(f"district {code} does not exist")
    assert area.id is not None
    return area.id


def _worker_create(provider_id: int, body: WorkerIn) -> WorkerCreate:
    """The domain's input; its cross-field rules (end point, repeated skills, overlapping
    shifts) answer 422 like the rest of the body's."""
    try:
        return WorkerCreate.model_validate({**body.model_dump(), "provider_id": provider_id})
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
            for err in exc.errors()
        ]
        raise Validation(errors[0]["message"], errors=errors) from None


def tally(progress: list[str]) -> Progress:
    """Count stops by progress (done, in service, to do)."""
    counts = Counter(progress)
    return Progress(
        stops=len(progress),
        done=counts["done"],
        in_service=counts["in_service"],
        to_do=counts["to_do"],
    )


# --- providers -----------------------------------------------------------------------------


@router.get(
    "/providers",
    response_model=Page[ProviderPublic],
    responses=problem_responses(401, 403, 404, 422),
)
def list_providers(
    session: SessionDep,
    account: Annotated[UserAccount, allow(*EVERYONE_SIGNED_IN)],
    limit: Limit = 50,
    after: After = None,
    district: Annotated[
        str | None, Query(max_length=40, description="only providers serving this district")
    ] = None,
) -> Page[ProviderPublic]:
    """Active providers, with the districts they serve and the items they price themselves."""
    rows = providers_service.providers_page(
        session,
        after_id=decode_cursor(after),
        limit=limit + 1,
        district_id=_district_id(session, district),
    )
    return page_all(rows, limit, row_id, lambda shown: _providers_public(session, shown))


@router.get(
    "/providers/{provider_id}",
    response_model=ProviderPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def get_provider(
    session: SessionDep,
    account: Annotated[UserAccount, allow(*EVERYONE_SIGNED_IN, owner=Owner.PROVIDER)],
    provider_id: ProviderId,
) -> ProviderPublic:
    """One provider (an inactive one only to its own staff and administrators)."""
    try:
        provider = providers_service.get_by_public_id_or_raise(session, provider_id)
    except NotFound:
        raise NotFound(f"provider {provider_id} does not exist") from None
    if not provider.active:
        provider = ownership.provider_for(session, account, provider_id)
    return _provider_public(session, provider)


# --- workers -------------------------------------------------------------------------------


@router.get(
    "/providers/{provider_id}/workers",
    response_model=Page[WorkerPublic],
    responses=problem_responses(401, 403, 404, 422),
)
def list_workers(
    session: SessionDep,
    account: Annotated[UserAccount, allow(*READING, owner=Owner.PROVIDER, personal_data=True)],
    provider_id: ProviderId,
    limit: Limit = 50,
    after: After = None,
) -> Page[WorkerPublic]:
    """The provider's workers, active or not, a page at a time."""
    provider = ownership.provider_for(session, account, provider_id)
    assert provider.id is not None
    rows = providers_service.workers_page(
        session, provider.id, after_id=decode_cursor(after), limit=limit + 1
    )
    return page_all(rows, limit, row_id, lambda shown: _workers_public(session, shown))


@router.post(
    "/providers/{provider_id}/workers",
    response_model=WorkerDetail,
    status_code=201,
    responses={
        **replayed("The worker this key added before", WorkerDetail),
        **problem_responses(401, 403, 404, 409, 422),
    },
)
def add_worker(
    session: SessionDep,
    account: Manager,
    provider_id: ProviderId,
    body: WorkerIn,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> Any:
    """Add a worker, with skills, certificates and weekly shifts. The same key and body return
    the same worker (200); the same key with another body is 409."""
    once = Idempotent.of(
        session, account, idempotency_key, "POST", f"/providers/{provider_id}/workers", body
    )
    if (known := once.replay(response)) is not None:
        return known
    provider = ownership.provider_for(session, account, provider_id, managing=True)
    assert provider.id is not None
    worker = providers_service.create_worker(session, _worker_create(provider.id, body))
    detail = _worker_detail(session, worker)
    once.remember(detail)
    return detail


@router.get(
    "/workers/{worker_id}",
    response_model=WorkerDetail,
    responses=problem_responses(401, 403, 404, 422),
)
def get_worker(
    session: SessionDep,
    account: Annotated[
        UserAccount,
        allow(*READING, Role.WORKER, owner=Owner.WORKER, personal_data=True),
    ],
    worker_id: WorkerId,
) -> WorkerDetail:
    """One worker (a worker account sees itself)."""
    return _worker_detail(session, ownership.worker_for(session, account, worker_id))


@router.post(
    "/workers/{worker_id}/deactivate",
    response_model=WorkerDetail,
    responses=problem_responses(401, 403, 404, 422),
)
def deactivate_worker(
    session: SessionDep, account: WorkerManager, worker_id: WorkerId
) -> WorkerDetail:
    """Stop offering the worker for new work (bookings and history stay)."""
    worker = ownership.worker_for(session, account, worker_id, managing=True)
    assert worker.id is not None
    return _worker_detail(session, providers_service.deactivate_worker(session, worker.id))


@router.put(
    "/workers/{worker_id}/shifts",
    response_model=WorkerShifts,
    responses=problem_responses(401, 403, 404, 422),
)
def replace_shifts(
    session: SessionDep, account: WorkerManager, worker_id: WorkerId, body: ShiftsIn
) -> WorkerShifts:
    """Replace the worker's weekly pattern (two shifts overlapping on a weekday: 422)."""
    worker = ownership.worker_for(session, account, worker_id, managing=True)
    assert worker.id is not None
    rows = providers_service.replace_shifts(session, worker.id, body.shifts)
    return WorkerShifts(worker=worker.public_id, shifts=[_shift(s) for s in rows])


@router.put(
    "/workers/{worker_id}/skills/{skill}",
    response_model=SkillPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def set_skill(
    session: SessionDep,
    account: WorkerManager,
    worker_id: WorkerId,
    skill: Annotated[str, Path(max_length=40, description="skill code")],
    body: SkillLevelIn,
) -> SkillPublic:
    """Give the worker a skill, or change its level (an unknown skill code: 422)."""
    worker = ownership.worker_for(session, account, worker_id, managing=True)
    assert worker.id is not None
    row = providers_service.set_skill(session, worker.id, SkillIn(skill=skill, level=body.level))
    return SkillPublic(skill=row.skill, level=row.level)


@router.get(
    "/workers/{worker_id}/certificates",
    response_model=Page[CertificatePublic],
    responses=problem_responses(401, 403, 404, 422),
)
def list_certificates(
    session: SessionDep,
    account: Annotated[
        UserAccount,
        allow(*READING, Role.WORKER, owner=Owner.WORKER, personal_data=True),
    ],
    worker_id: WorkerId,
    limit: Limit = 50,
    after: After = None,
) -> Page[CertificatePublic]:
    """The worker's certificates, expired or not, a page at a time."""
    worker = ownership.worker_for(session, account, worker_id)
    assert worker.id is not None
    rows = providers_service.certificates_page(
        session, worker.id, after_id=decode_cursor(after), limit=limit + 1
    )
    return page(rows, limit, row_id, _certificate)


@router.post(
    "/workers/{worker_id}/certificates",
    response_model=CertificatePublic,
    status_code=201,
    responses={
        **replayed("The certificate this key added", CertificatePublic),
        **problem_responses(401, 403, 404, 409, 422),
    },
)
def add_certificate(
    session: SessionDep,
    account: WorkerManager,
    worker_id: WorkerId,
    body: CertificateBody,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> Any:
    """Record a certificate the worker holds (an unknown kind: 422)."""
    once = Idempotent.of(
        session, account, idempotency_key, "POST", f"/workers/{worker_id}/certificates", body
    )
    if (known := once.replay(response)) is not None:
        return known
    worker = ownership.worker_for(session, account, worker_id, managing=True)
    assert worker.id is not None
    public = _certificate(providers_service.add_certificate(session, worker.id, body))
    once.remember(public)
    return public


@router.post(
    "/workers/{worker_id}/shift-exceptions",
    response_model=ShiftExceptionPublic,
    status_code=201,
    responses={
        **replayed("The exception this key added", ShiftExceptionPublic),
        **problem_responses(401, 403, 404, 409, 422),
    },
)
def add_shift_exception(
    session: SessionDep,
    account: WorkerManager,
    worker_id: WorkerId,
    body: ShiftExceptionBody,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> Any:
    """Record leave, an extra working day or changed hours on one date (a second exception on
    a day already wholly off: 409)."""
    once = Idempotent.of(
        session, account, idempotency_key, "POST", f"/workers/{worker_id}/shift-exceptions", body
    )
    if (known := once.replay(response)) is not None:
        return known
    worker = ownership.worker_for(session, account, worker_id, managing=True)
    assert worker.id is not None
    row = providers_service.add_shift_exception(session, worker.id, body)
    public = ShiftExceptionPublic(
        worker=worker.public_id,
        on_date=row.on_date,
        kind=str(row.kind),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        reason=row.reason,
    )
    once.remember(public)
    return public


@router.get(
    "/workers/{worker_id}/availability",
    response_model=Availability,
    responses=problem_responses(401, 403, 404, 422),
)
def availability(
    session: SessionDep,
    account: Annotated[UserAccount, allow(*READING, Role.WORKER, owner=Owner.WORKER)],
    worker_id: WorkerId,
    day: Day = None,
) -> Availability:
    """When the worker can work on a day: weekly shifts, exceptions and leave applied."""
    worker = ownership.worker_for(session, account, worker_id)
    assert worker.id is not None
    on = day or local_date(utcnow())
    periods = providers_service.availability(session, worker.id, on)
    return Availability(
        worker=worker.public_id,
        date=on,
        periods=[Period(starts_at=start, ends_at=end) for start, end in periods],
    )


# --- tariffs -------------------------------------------------------------------------------


@router.get(
    "/providers/{provider_id}/tariffs",
    response_model=Page[TariffPublic],
    responses=problem_responses(401, 403, 404, 422),
)
def list_tariffs(
    session: SessionDep,
    account: Annotated[UserAccount, allow(*READING, owner=Owner.PROVIDER)],
    provider_id: ProviderId,
    limit: Limit = 50,
    after: After = None,
) -> Page[TariffPublic]:
    """The provider's own prices (items without one sell at the catalog's reference price)."""
    provider = ownership.provider_for(session, account, provider_id)
    assert provider.id is not None
    rows = pricing_service.tariffs_page(
        session, provider.id, after_id=decode_cursor(after), limit=limit + 1
    )
    return page_all(rows, limit, row_id, lambda shown: _tariffs_public(session, shown))


@router.put(
    "/providers/{provider_id}/tariffs/{item_code}",
    response_model=TariffPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def set_tariff(
    session: SessionDep,
    account: Manager,
    provider_id: ProviderId,
    item_code: Annotated[str, Path(max_length=60, description="catalog item code")],
    body: TariffIn,
) -> TariffPublic:
    """Set the provider's price and surcharges for one item (replacing any before). Quotes
    cap the price at the item's government guide price, where it has one."""
    provider = ownership.provider_for(session, account, provider_id, managing=True)
    item = catalog_service.get_item_by_code_or_raise(session, item_code)
    assert provider.id is not None
    assert item.id is not None
    row = pricing_service.set_tariff(
        session,
        provider_id=provider.id,
        item_id=item.id,
        unit_price_fen=body.unit_price_fen,
        night_percent=body.night_percent,
        holiday_percent=body.holiday_percent,
        urgent_percent=body.urgent_percent,
        radius_m=body.radius_m,
        per_km_fen=body.per_km_fen,
    )
    return _tariff_public(session, row)


# --- the day's routes ----------------------------------------------------------------------


@router.get(
    "/providers/{provider_id}/routes",
    response_model=ProviderDay,
    responses=problem_responses(401, 403, 404, 422),
)
def routes_of_day(
    session: SessionDep,
    account: Annotated[UserAccount, allow(*ROUTES, owner=Owner.PROVIDER)],
    provider_id: ProviderId,
    day: Day = None,
) -> ProviderDay:
    """Each worker's booked stops of the day in order, where each stands (check-in, check-out,
    the household's confirmation) and the day's progress. No household addresses."""
    provider = ownership.provider_for(session, account, provider_id)
    assert provider.id is not None
    on = day or local_date(utcnow())
    booked = orders_service.bookings_on_day(session, on, provider_id=provider.id)
    visits = visits_service.visits_of_orders(session, [o.id for _, o in booked if o.id])
    items: dict[int, str] = {}
    by_worker: dict[int, list[StopProgress]] = {}
    for booking, order in booked:
        assert order.id is not None
        if order.item_id not in items:
            items[order.item_id] = catalog_service.get_item_or_raise(session, order.item_id).code
        visit = visits.get(order.id)
        stops = by_worker.setdefault(booking.worker_id, [])
        stops.append(
            StopProgress(
                sequence=len(stops) + 1,
                order=order.public_id,
                item=items[order.item_id],
                planned_start=booking.starts_at,
                planned_end=booking.ends_at,
                status=str(order.status),
                progress=orders_service.progress_of(order.status),
                check_in_at=visit.check_in_at if visit else None,
                check_out_at=visit.check_out_at if visit else None,
                confirmed_at=visit.household_confirmed_at if visit else None,
            )
        )
    workers = []
    for worker_id, stops in by_worker.items():
        worker = providers_service.get_worker_or_raise(session, worker_id)
        workers.append(
            WorkerDay(
                worker=worker.public_id,
                name=worker.name,
                summary=tally([s.progress for s in stops]),
                stops=stops,
            )
        )
    return ProviderDay(
        provider=provider.public_id,
        date=on,
        summary=tally([s.progress for w in workers for s in w.stops]),
        workers=workers,
    )
