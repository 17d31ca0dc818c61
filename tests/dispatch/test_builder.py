"""build_problem: one day's dispatch problem from the database, on both backends."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from api.cli import app
from core.errors import NotFound, Validation
from core.timeutil import local_datetime
from dispatch import jsonio
from dispatch.builder import (
    CONTINUITY_DAYS,
    MAX_RIDE_SECONDS,
    PREFERENCE_WEIGHT,
    BuiltProblem,
    build_problem,
    describe,
)
from dispatch.check import check
from dispatch.problem import Break, Job, JobKind, Priority, Window
from dispatch.solver import SolveParams, solve
from marketplace.catalog import service as catalog_service
from marketplace.demo.seed import seed_demo
from marketplace.geography import service as geography_service
from marketplace.households import service as households_service
from marketplace.households.models import (
    Household,
    Member,
    PeriodKind,
    PreferenceKind,
    ProtectedCategory,
)
from marketplace.households.schemas import (
    MemberPreferenceUpdate,
    ProtectedStatusCreate,
    StatusPeriodCreate,
)
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order, OrderPriority, OrderStatus
from marketplace.orders.schemas import OrderCreate, TimeWindow
from marketplace.providers import service as providers_service
from marketplace.providers.models import (
    Gender,
    Provider,
    ProviderKind,
    ServicePointKind,
    ShiftExceptionKind,
    TravelMode,
    WorkerCertificate,
)
from marketplace.providers.models import Worker as WorkerRow
from marketplace.providers.schemas import (
    CertificateIn,
    ServicePointCreate,
    ShiftExceptionCreate,
    ShiftIn,
    SkillIn,
    WorkerCreate,
)
from tests.factories import DAY, FUZHOU, item, make_household, make_provider, window

H = 3600
MONDAY = date(2026, 11, 23)


# --- helpers -----------------------------------------------------------------------------


def _worker(
    session: Session,
    provider: Provider,
    *,
    skills: dict[str, int] | None = None,
    certificates: list[CertificateIn] | None = None,
    gender: Gender = Gender.FEMALE,
    languages: tuple[str, ...] = ("zh", "cdo"),
    works_on: date | None = DAY,
    capacity: int = 0,
) -> WorkerRow:
    """A carer (by default) who works 08:00–17:00 with lunch at 12:00 on ``works_on``."""
    assert provider.id is not None
    shifts = (
        []
        if works_on is None
        else [
            ShiftIn(
                weekday=works_on.weekday(),
                starts_at=time(8, 0),
                ends_at=time(17, 0),
                break_after_minutes=240,
                break_minutes=60,
            )
        ]
    )
    return providers_service.create_worker(
        session,
        WorkerCreate(
            provider_id=provider.id,
            name="陈阿姨",
            gender=gender,
            languages=list(languages),
            travel_mode=TravelMode.WALK,
            start_lat=26.081,
            start_lon=119.301,
            daily_limit_minutes=420,
            capacity=capacity,
            skills=[SkillIn(skill=s, level=v) for s, v in (skills or {"personal_care": 4}).items()],
            certificates=certificates
            if certificates is not None
            else [CertificateIn(kind="elderly_carer", number="YL1", issued_on=date(2020, 1, 1))],
            shifts=shifts,
        ),
    )


def _young(session: Session, member: Member) -> Member:
    """The member made 60, so that no 80+ status makes them protected."""
    member.birth_date = date(1966, 3, 1)
    session.add(member)
    session.flush()
    return member


def _order(
    session: Session,
    household: Household,
    member: Member,
    provider: Provider,
    *,
    day: date = DAY,
    item_code: str = "elderly_care.daily_living",
    windows: list[TimeWindow] | None = None,
    duration_minutes: int | None = 60,
    quantity: int = 1,
    priority: OrderPriority = OrderPriority.NORMAL,
    confirm: bool = True,
) -> Order:
    assert household.id and member.id and provider.id
    catalog_item = item(session, item_code)
    assert catalog_item.id is not None
    order = orders_service.create_order(
        session,
        OrderCreate(
            household_id=household.id,
            recipient_member_id=member.id,
            provider_id=provider.id,
            item_id=catalog_item.id,
            service_date=day,
            windows=windows or [window(day, time(9, 0), time(11, 0))],
            duration_minutes=duration_minutes,
            quantity=quantity,
            priority=priority,
        ),
        actor="test:household",
    )
    if confirm:
        order = orders_service.confirm(session, order, actor="test:provider")
    return order


def _served(session: Session, order: Order, worker: WorkerRow, *, complete: bool) -> Order:
    assert worker.id is not None
    start = local_datetime(order.service_date, time(9, 30))
    order = orders_service.schedule(session, order, worker_id=worker.id, start=start, actor="t")
    if complete:
        for step in (orders_service.depart, orders_service.start_service, orders_service.complete):
            order = step(session, order, actor="t")
    return order


def _job_of(built: BuiltProblem, order: Order) -> Job:
    assert order.id is not None
    ids = [job_id for job_id, orders in built.job_orders.items() if order.id in orders]
    assert len(ids) == 1, ids
    return built.problem.job(ids[0])


# --- the demo city -----------------------------------------------------------------------


class TestDemoCity:
    """A seeded small city, one day of one district."""

    def test_day_of_one_district(self, session: Session) -> None:
        seed_demo(session, seed=2026, households=150, start_date=MONDAY, progress=False)
        day, code = MONDAY + timedelta(days=1), "350102"
        district = geography_service.get_by_code_or_raise(session, code)
        expected = set(
            session.exec(
                select(Order.id)
                .join(Household, col(Household.id) == col(Order.household_id))
                .where(Order.service_date == day, Order.status == OrderStatus.CONFIRMED)
                .where(Household.district_id == district.id)
            ).all()
        )
        built = build_problem(session, day, district_code=code)
        problem = built.problem
        covered = {o for ids in built.job_orders.values() for o in ids}
        assert covered | {s.order_id for s in built.skipped} == expected
        assert expected and covered
        assert problem.epoch == "2026-11-24T00:00:00+08:00"
        assert problem.travel is not None and problem.travel.modes == problem.modes
        orders = {o.id: o for o in session.exec(select(Order).where(col(Order.id).in_(covered)))}
        items = {i.id: i for i in catalog_service.list_items(session)}
        for job in problem.jobs:
            assert all(0 <= w.start <= w.end <= 24 * H for w in job.windows)
            (order_id,) = built.job_orders[job.id]
            order = orders[order_id]
            statuses = households_service.active_statuses(session, order.recipient_member_id, day)
            if order.priority == OrderPriority.URGENT:
                assert job.priority == Priority.URGENT
            else:
                assert job.priority == (Priority.PROTECTED if statuses else Priority.NORMAL)
            assert job.skills == set(items[order.item_id].required_skills)
        assert {j.priority for j in problem.jobs} >= {Priority.NORMAL, Priority.PROTECTED}
        meals = [o for o in orders.values() if items[o.item_id].needs_pickup]
        assert meals, "the demo has lunch deliveries every day"
        for order in meals:
            pickup = problem.job(f"{order.public_id}-pickup")
            delivery = problem.job(f"{order.public_id}-delivery")
            assert (pickup.kind, delivery.kind) == (JobKind.PICKUP, JobKind.DELIVERY)
            assert (pickup.pair, delivery.pair) == (delivery.id, pickup.id)
            assert (pickup.demand, delivery.demand) == (order.quantity, -order.quantity)
            assert delivery.max_ride_seconds == MAX_RIDE_SECONDS
            points = providers_service.list_service_points(session, order.provider_id)
            kitchen = next(p for p in points if p.kind == ServicePointKind.KITCHEN)
            assert problem.locations[pickup.location] == (kitchen.lat, kitchen.lon)
        # A quick solve of the district's day breaks no hard rule.
        solution = solve(problem, SolveParams(time_limit_s=5, solution_limit=10))
        assert not [v for v in check(problem, solution) if v.hard]

        # Someone on leave that day, and a certificate that ran out the day before.
        by_id = {w.id: w for w in problem.workers}
        present = [w for w in problem.workers if w.certificates]
        on_leave, expiring = present[0], present[-1]
        assert on_leave.id != expiring.id
        providers_service.add_shift_exception(
            session,
            built.worker_ids[on_leave.id],
            ShiftExceptionCreate(on_date=day, kind=ShiftExceptionKind.LEAVE, reason="病假"),
        )
        kind = sorted(expiring.certificates)[0]
        for cert in session.exec(
            select(WorkerCertificate).where(
                WorkerCertificate.worker_id == built.worker_ids[expiring.id],
                WorkerCertificate.kind == kind,
            )
        ):
            cert.expires_on = day - timedelta(days=1)
            cert.issued_on = min(cert.issued_on, day - timedelta(days=400))
            session.add(cert)
        session.flush()
        again = build_problem(session, day, district_code=code)
        workers = {w.id: w for w in again.problem.workers}
        assert on_leave.id not in workers
        assert kind not in workers[expiring.id].certificates
        assert workers[expiring.id].certificates == by_id[expiring.id].certificates - {kind}
        assert "350102-2026-11-24" in describe(again)


# --- workers -----------------------------------------------------------------------------


class TestWorkers:
    def test_shift_limit_skills_and_places(self, session: Session) -> None:
        provider = make_provider(session)
        worker = _worker(session, provider, skills={"personal_care": 4, "dementia_care": 2})
        household, member = make_household(session)
        _order(session, household, member, provider)
        built = build_problem(session, DAY)
        (got,) = built.problem.workers
        assert got.id == worker.public_id and built.worker_ids[got.id] == worker.id
        assert got.shift == Window(8 * H, 17 * H)
        assert got.breaks == (Break(12 * H, 12 * H, H),)  # the gap in the day is a fixed break
        assert got.max_work_seconds == 420 * 60
        assert dict(got.skills) == {"personal_care": 4, "dementia_care": 2}
        assert got.certificates == {"elderly_carer"}
        assert got.languages == {"zh", "cdo"} and got.gender == "female"
        assert got.travel_mode == "walk" and got.provider == provider.public_id
        assert built.problem.locations[got.start_location] == (26.081, 119.301)
        assert got.end_location == got.start_location

    def test_changed_hours_replace_the_weekly_shift(self, session: Session) -> None:
        provider = make_provider(session)
        worker = _worker(session, provider)
        assert worker.id is not None
        providers_service.add_shift_exception(
            session,
            worker.id,
            ShiftExceptionCreate(
                on_date=DAY,
                kind=ShiftExceptionKind.CHANGED,
                starts_at=time(10, 0),
                ends_at=time(19, 0),
            ),
        )
        household, member = make_household(session)
        _order(session, household, member, provider)
        (got,) = build_problem(session, DAY).problem.workers
        assert got.shift == Window(10 * H, 19 * H) and got.breaks == ()

    def test_absent_workers_are_left_out(self, session: Session) -> None:
        provider = make_provider(session)
        present = _worker(session, provider)
        on_leave = _worker(session, provider)
        _worker(session, provider, works_on=DAY + timedelta(days=1))  # not this weekday
        inactive = _worker(session, provider)
        assert on_leave.id is not None and inactive.id is not None
        providers_service.add_shift_exception(
            session, on_leave.id, ShiftExceptionCreate(on_date=DAY, kind=ShiftExceptionKind.LEAVE)
        )
        providers_service.deactivate_worker(session, inactive.id)
        _worker(session, make_provider(session))  # another provider, no orders today
        household, member = make_household(session)
        _order(session, household, member, provider)
        built = build_problem(session, DAY)
        assert [w.id for w in built.problem.workers] == [present.public_id]

    def test_only_certificates_valid_that_day(self, session: Session) -> None:
        provider = make_provider(session)
        certificates = [
            CertificateIn(
                kind="elderly_carer",
                number="A",
                issued_on=date(2020, 1, 1),
                expires_on=DAY - timedelta(days=1),
            ),
            CertificateIn(
                kind="nurse_licence", number="B", issued_on=date(2020, 1, 1), expires_on=DAY
            ),
            CertificateIn(kind="health_certificate", number="C", issued_on=DAY + timedelta(days=1)),
            CertificateIn(kind="disability_carer", number="D", issued_on=DAY),
        ]
        _worker(session, provider, certificates=certificates)
        household, member = make_household(session)
        _order(session, household, member, provider)
        (got,) = build_problem(session, DAY).problem.workers
        assert got.certificates == {"nurse_licence", "disability_carer"}


# --- jobs --------------------------------------------------------------------------------


class TestJobs:
    def test_only_confirmed_orders_of_the_day(self, session: Session) -> None:
        provider = make_provider(session)
        _worker(session, provider)
        household, member = make_household(session)
        today = _order(session, household, member, provider)
        _order(session, household, member, provider, confirm=False)
        _order(session, household, member, provider, day=DAY + timedelta(days=1))
        cancelled = _order(session, household, member, provider)
        orders_service.cancel(session, cancelled, actor="t", reason="不需要了")
        built = build_problem(session, DAY)
        assert dict(built.job_orders) == {today.public_id: (today.id,)}
        assert built.skipped == ()

    def test_windows_service_and_item(self, session: Session) -> None:
        provider = make_provider(session)
        _worker(session, provider)
        household, member = make_household(session, lat=26.07, lon=119.31)
        windows = [window(DAY, time(14, 0), time(15, 30)), window(DAY, time(8, 30), time(10, 0))]
        order = _order(session, household, member, provider, windows=windows, duration_minutes=90)
        job = _job_of(build_problem(session, DAY), order)
        assert job.windows == (Window(8 * H + 1800, 10 * H), Window(14 * H, 15 * H + 1800))
        assert job.service_seconds == 90 * 60
        assert job.skills == {"personal_care"} and job.main_skill == "personal_care"
        assert job.certificates == {"elderly_carer"}
        assert job.provider == provider.public_id and job.order_ref == order.public_id
        assert job.kind is JobKind.SERVICE

    def test_priorities(self, session: Session) -> None:
        provider = make_provider(session)
        _worker(session, provider)
        h1, old = make_household(session)  # 86 years old: protected (80+)
        h2, young = make_household(session)
        _young(session, young)
        h3, dibao = make_household(session)
        _young(session, dibao)
        assert dibao.id is not None
        status = households_service.apply_protected_status(
            session,
            dibao.id,
            ProtectedStatusCreate(category=ProtectedCategory.DIBAO, valid_from=DAY),
        )
        assert status.id is not None
        households_service.approve_protected_status(session, status.id, verified_by="民政局")
        h4, urgent = make_household(session)
        _young(session, urgent)
        expected = [
            (_order(session, h1, old, provider), Priority.PROTECTED),
            (_order(session, h2, young, provider), Priority.NORMAL),
            (_order(session, h3, dibao, provider), Priority.PROTECTED),
            (_order(session, h4, urgent, provider, priority=OrderPriority.URGENT), Priority.URGENT),
        ]
        built = build_problem(session, DAY)
        assert [_job_of(built, o).priority for o, _ in expected] == [p for _, p in expected]

    def test_gender_and_language_requests_apply_to_care(self, session: Session) -> None:
        provider = make_provider(session)
        _worker(session, provider)
        household, member = make_household(session)
        assert member.id is not None
        households_service.set_preference(
            session,
            member.id,
            MemberPreferenceUpdate(caregiver_gender=Gender.FEMALE, language="cdo"),
        )
        care = _order(session, household, member, provider)
        repair = _order(session, household, member, provider, item_code="repair.plumbing")
        built = build_problem(session, DAY)
        assert (_job_of(built, care).required_gender, _job_of(built, care).required_language) == (
            "female",
            "cdo",
        )
        assert _job_of(built, repair).required_gender is None
        assert _job_of(built, repair).required_language is None

    def test_blocked_preferred_and_continuity(self, session: Session) -> None:
        provider = make_provider(session)
        liked = _worker(session, provider)
        refused = _worker(session, provider)
        last = _worker(session, provider)
        long_ago = _worker(session, provider)
        cleaner = _worker(session, provider)
        household, member = make_household(session)
        assert member.id and liked.id and refused.id
        households_service.add_worker_preference(
            session, member.id, liked.id, PreferenceKind.PREFERRED
        )
        households_service.add_worker_preference(
            session, member.id, refused.id, PreferenceKind.BLOCKED
        )
        earlier = DAY - timedelta(days=3)
        _served(
            session, _order(session, household, member, provider, day=earlier), last, complete=True
        )
        too_old = DAY - timedelta(days=CONTINUITY_DAYS + 1)
        _served(
            session,
            _order(session, household, member, provider, day=too_old),
            long_ago,
            complete=True,
        )
        other = _order(
            session,
            household,
            member,
            provider,
            day=DAY - timedelta(days=1),
            item_code="domestic.cleaning",
        )
        _served(session, other, cleaner, complete=False)
        order = _order(session, household, member, provider)
        job = _job_of(build_problem(session, DAY), order)
        assert job.blocked_workers == {refused.public_id}
        assert job.preferred_workers == (liked.public_id, last.public_id)
        assert job.preference_weight == PREFERENCE_WEIGHT

    def test_no_preference_no_weight(self, session: Session) -> None:
        provider = make_provider(session)
        _worker(session, provider)
        household, member = make_household(session)
        order = _order(session, household, member, provider)
        job = _job_of(build_problem(session, DAY), order)
        assert job.preferred_workers == () and job.preference_weight == 0
        assert job.blocked_workers == frozenset()

    def test_meal_is_a_pickup_at_the_kitchen_and_a_delivery(self, session: Session) -> None:
        kitchen = make_provider(session, kind=ProviderKind.COMMUNITY_KITCHEN)
        assert kitchen.id is not None
        providers_service.add_service_point(
            session,
            kitchen.id,
            ServicePointCreate(
                kind=ServicePointKind.BASE, name="总部", address="a", lat=26.09, lon=119.29
            ),
        )
        providers_service.add_service_point(
            session,
            kitchen.id,
            ServicePointCreate(
                kind=ServicePointKind.KITCHEN, name="食堂", address="b", lat=26.085, lon=119.295
            ),
        )
        courier = [
            CertificateIn(kind="health_certificate", number="JK", issued_on=date(2026, 1, 1))
        ]
        _worker(session, kitchen, skills={"meal_delivery": 3}, certificates=courier, capacity=8)
        household, member = make_household(session)
        order = _order(
            session,
            household,
            member,
            kitchen,
            item_code="meal.lunch",
            windows=[window(DAY, time(11, 0), time(12, 30))],
            duration_minutes=None,
            quantity=2,
        )
        built = build_problem(session, DAY)
        problem = built.problem
        pickup = problem.job(f"{order.public_id}-pickup")
        delivery = problem.job(f"{order.public_id}-delivery")
        assert built.job_orders[pickup.id] == built.job_orders[delivery.id] == (order.id,)
        assert problem.locations[pickup.location] == (26.085, 119.295)
        assert problem.locations[delivery.location] == FUZHOU
        assert (pickup.demand, delivery.demand) == (2, -2)
        assert delivery.max_ride_seconds == MAX_RIDE_SECONDS
        assert delivery.windows == (Window(11 * H, 12 * H + 1800),)
        assert pickup.windows[0].start <= 11 * H - MAX_RIDE_SECONDS
        assert pickup.skills == delivery.skills == {"meal_delivery"}
        solution = solve(problem, SolveParams(time_limit_s=5, solution_limit=5))
        assert solution.assigned_job_ids == {pickup.id, delivery.id}

    def test_meal_without_any_service_point_is_skipped(self, session: Session) -> None:
        kitchen = make_provider(session, kind=ProviderKind.COMMUNITY_KITCHEN)
        household, member = make_household(session)
        order = _order(
            session, household, member, kitchen, item_code="meal.lunch", duration_minutes=None
        )
        built = build_problem(session, DAY)
        assert built.problem.jobs == ()
        assert [(s.order_id, s.public_id) for s in built.skipped] == [(order.id, order.public_id)]
        assert "kitchen" in built.skipped[0].reason

    def test_recipient_in_hospital_is_skipped(self, session: Session) -> None:
        provider = make_provider(session)
        _worker(session, provider)
        household, member = make_household(session)
        assert member.id is not None
        households_service.record_status_period(
            session,
            member.id,
            StatusPeriodCreate(
                kind=PeriodKind.HOSPITAL,
                starts_on=DAY - timedelta(days=2),
                ends_on=DAY,
                recorded_by="社区",
            ),
        )
        order = _order(session, household, member, provider)
        built = build_problem(session, DAY)
        assert built.problem.jobs == ()
        assert [s.order_id for s in built.skipped] == [order.id]
        assert built.skipped[0].reason == "the recipient is in hospital"
        assert built.problem.workers == ()  # nothing left for the provider's worker to do

    def test_district_filter(self, session: Session) -> None:
        provider = make_provider(session)
        _worker(session, provider)
        h1, m1 = make_household(session)
        h2, m2 = make_household(session)
        inside = _order(session, h1, m1, provider)
        _order(session, h2, m2, provider)
        code = geography_service.get_or_raise(session, h1.district_id).code
        built = build_problem(session, DAY, district_code=code)
        assert dict(built.job_orders) == {inside.public_id: (inside.id,)}
        assert built.problem.name == f"{code}-{DAY.isoformat()}"

    def test_bookings_already_made_are_pinned_stops(self, session: Session) -> None:
        provider = make_provider(session)
        worker = _worker(session, provider)
        h1, m1 = make_household(session)
        h2, m2 = make_household(session)
        assert h1.district_id != h2.district_id
        new = _order(session, h1, m1, provider, windows=[window(DAY, time(9, 0), time(11, 0))])
        # Booked 09:30–10:30 by another district's plan: the new order must go around it.
        booked = _served(session, _order(session, h2, m2, provider), worker, complete=False)
        code = geography_service.get_or_raise(session, h1.district_id).code
        built = build_problem(session, DAY, district_code=code)
        assert built.committed == {booked.public_id}
        assert built.planned_order_ids == [new.id]
        pinned = _job_of(built, booked)
        assert pinned.pinned_worker == worker.public_id and pinned.pinned_rank == 0
        assert pinned.windows == (Window(9 * H + 1800, 9 * H + 1800),)
        assert pinned.service_seconds == H and pinned.priority == Priority.URGENT
        solution = solve(built.problem, SolveParams(solution_limit=50, seed=1))
        assert check(built.problem, solution) == []
        assert solution.unassigned == ()
        (route,) = solution.routes
        stops = {s.job_id: s for s in route.stops}
        planned, kept = stops[new.public_id], stops[booked.public_id]
        assert kept.start == 9 * H + 1800
        assert planned.end <= kept.start or planned.start >= kept.end

    def test_finished_and_released_bookings_are_not_commitments(self, session: Session) -> None:
        provider = make_provider(session)
        worker = _worker(session, provider)
        household, member = make_household(session)
        new = _order(session, household, member, provider)
        moved = _served(
            session, _order(session, household, member, provider), worker, complete=False
        )
        orders_service.unschedule(session, moved, actor="t", reason="改时间")
        done = _served(session, _order(session, household, member, provider), worker, complete=True)
        built = build_problem(session, DAY)
        # The completed visit still holds its time; the released booking does not.
        assert built.committed == {done.public_id}
        assert set(built.job_orders) == {new.public_id, done.public_id, moved.public_id}

    def test_unknown_district(self, session: Session) -> None:
        with pytest.raises(NotFound):
            build_problem(session, DAY, district_code="999999")
        _, member = make_household(session)
        household = session.get(Household, member.household_id)
        assert household is not None
        street = geography_service.get_or_raise(session, household.street_id)
        with pytest.raises(Validation):
            build_problem(session, DAY, district_code=street.code)

    def test_empty_day(self, session: Session) -> None:
        built = build_problem(session, DAY)
        assert built.problem.jobs == () and built.problem.workers == ()
        assert built.problem.travel is None

    def test_without_travel(self, session: Session) -> None:
        provider = make_provider(session)
        _worker(session, provider)
        household, member = make_household(session)
        _order(session, household, member, provider)
        assert build_problem(session, DAY, fill_travel=False).problem.travel is None


# --- linli dispatch build ----------------------------------------------------------------


class TestBuildCommand:
    def test_writes_the_days_problem(
        self, configured: str, session: Session, tmp_path: Path
    ) -> None:
        provider = make_provider(session)
        _worker(session, provider)
        household, member = make_household(session)
        order = _order(session, household, member, provider)
        session.commit()
        out = tmp_path / "day.json"
        result = CliRunner().invoke(
            app, ["dispatch", "build", "--date", DAY.isoformat(), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        problem = jsonio.load_problem(out)
        assert [j.id for j in problem.jobs] == [order.public_id]
        assert problem.travel is None
        assert "1 jobs from 1 orders, 1 workers" in result.stderr

    def test_refuses_a_bad_date(self, configured: str) -> None:
        result = CliRunner().invoke(app, ["dispatch", "build", "--date", "tomorrow"])
        assert result.exit_code != 0
        assert "is not a date" in str(result.exception)
