"""Providers and workers: registration, skills, certificates, shifts and the dispatch queries."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from core.errors import Conflict, NotFound, Validation
from marketplace.catalog.models import Category, Item, Unit
from marketplace.geography import service as geography
from marketplace.geography.models import Area, AreaLevel
from marketplace.providers import service as providers
from marketplace.providers.models import (
    Gender,
    Provider,
    ProviderKind,
    ServicePointKind,
    ShiftExceptionKind,
    Worker,
)
from marketplace.providers.schemas import (
    CertificateIn,
    ProviderCreate,
    ServicePointCreate,
    ShiftExceptionCreate,
    ShiftIn,
    SkillIn,
    WorkerCreate,
)

MONDAY = date(2026, 3, 2)
TUESDAY = MONDAY + timedelta(days=1)


def ident(row: Any) -> int:
    assert row.id is not None
    return int(row.id)


def district(session: Session, code: str = "gl") -> Area:
    return geography.create_area(
        session, code=code, name=code, level=AreaLevel.DISTRICT, lat=26.08, lon=119.30
    )


def street(session: Session, parent: Area, code: str = "gl.dj") -> Area:
    return geography.create_area(
        session,
        code=code,
        name=code,
        level=AreaLevel.STREET,
        lat=26.09,
        lon=119.30,
        parent_id=parent.id,
    )


def provider(
    session: Session,
    *,
    districts: list[Area],
    licence_no: str = "FZ-2026-001",
    licence_expires_on: date | None = None,
) -> Provider:
    return providers.create_provider(
        session,
        ProviderCreate(
            name="安心家政",
            kind=ProviderKind.CARE_CENTRE,
            licence_no=licence_no,
            licence_expires_on=licence_expires_on,
            district_ids=[ident(d) for d in districts],
        ),
    )


def worker(
    session: Session,
    prov: Provider,
    *,
    name: str = "林阿姨",
    skills: tuple[tuple[str, int], ...] = (("personal_care", 3),),
    certificates: tuple[tuple[str, date | None], ...] = (),
    shifts: tuple[ShiftIn, ...] = (),
    languages: tuple[str, ...] = ("zh", "cdo"),
) -> Worker:
    return providers.create_worker(
        session,
        WorkerCreate(
            provider_id=ident(prov),
            name=name,
            gender=Gender.FEMALE,
            languages=list(languages),
            start_lat=26.08,
            start_lon=119.30,
            skills=[SkillIn(skill=s, level=level) for s, level in skills],
            certificates=[
                CertificateIn(kind=k, number=f"C-{k}", issued_on=date(2020, 1, 1), expires_on=exp)
                for k, exp in certificates
            ],
            shifts=list(shifts),
        ),
    )


def item(
    session: Session, *, skills: list[str], certificates: list[str], code: str = "care.test"
) -> Item:
    category = Category(code=f"cat.{code}", name_zh="测试", name_en="Test")
    session.add(category)
    session.flush()
    row = Item(
        code=code,
        category_id=ident(category),
        name_zh="测试服务",
        name_en="Test service",
        unit=Unit.HOUR,
        default_duration_minutes=60,
        required_skills=skills,
        required_certificates=certificates,
        reference_price_fen=5000,
    )
    session.add(row)
    session.flush()
    return row


def shift(weekday: int, start: str, end: str, **kw: Any) -> ShiftIn:
    return ShiftIn(
        weekday=weekday, starts_at=time.fromisoformat(start), ends_at=time.fromisoformat(end), **kw
    )


def hours(*pairs: tuple[str, str]) -> list[tuple[time, time]]:
    return [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in pairs]


class TestCreateProvider:
    def test_registers_districts(self, session: Session) -> None:
        gl, ta = district(session, "gl"), district(session, "ta")
        prov = provider(session, districts=[gl, ta])
        session.commit()
        assert providers.districts_served(session, ident(prov)) == sorted([ident(gl), ident(ta)])
        assert prov.public_id.startswith("prv_")
        assert [p.id for p in providers.list_providers(session, district_id=ident(ta))] == [prov.id]

    def test_duplicate_licence_is_a_conflict(self, session: Session) -> None:
        gl = district(session)
        provider(session, districts=[gl])
        session.commit()
        with pytest.raises(Conflict, match="licence"):
            provider(session, districts=[gl])

    def test_a_street_is_not_a_district(self, session: Session) -> None:
        gl = district(session)
        dj = street(session, gl)
        with pytest.raises(Validation, match="not a district"):
            provider(session, districts=[dj])

    def test_unknown_district(self, session: Session) -> None:
        with pytest.raises(Validation):
            providers.create_provider(
                session,
                ProviderCreate(
                    name="x", kind=ProviderKind.REPAIR_SHOP, licence_no="L", district_ids=[777]
                ),
            )


class TestAddServicePoint:
    def test_base_and_kitchen(self, session: Session) -> None:
        gl = district(session)
        prov = provider(session, districts=[gl])
        for kind in (ServicePointKind.BASE, ServicePointKind.KITCHEN):
            providers.add_service_point(
                session,
                ident(prov),
                ServicePointCreate(
                    kind=kind, name=kind.value, address="杨桥路 1 号", lat=26.08, lon=119.29
                ),
            )
        session.commit()
        points = providers.list_service_points(session, ident(prov))
        assert [p.kind for p in points] == ["base", "kitchen"]

    def test_coordinates_out_of_range(self) -> None:
        with pytest.raises(ValidationError):
            ServicePointCreate(kind=ServicePointKind.BASE, name="b", address="a", lat=26, lon=200)

    def test_unknown_provider(self, session: Session) -> None:
        with pytest.raises(NotFound):
            providers.add_service_point(
                session,
                404,
                ServicePointCreate(kind=ServicePointKind.BASE, name="b", address="a", lat=1, lon=1),
            )


class TestCreateWorker:
    def test_with_skills_certificates_and_shifts(self, session: Session) -> None:
        prov = provider(session, districts=[district(session)])
        w = worker(
            session,
            prov,
            skills=(("personal_care", 4), ("cooking", 2)),
            certificates=(("elderly_carer", date(2030, 1, 1)),),
            shifts=(shift(0, "08:00", "12:00"), shift(0, "13:00", "17:00")),
        )
        session.commit()
        assert (w.end_lat, w.end_lon) == (w.start_lat, w.start_lon)
        assert providers.skill_levels(session, ident(w)) == {"cooking": 2, "personal_care": 4}
        assert providers.skill_level(session, ident(w), "cooking") == 2
        assert providers.skill_level(session, ident(w), "plumbing") is None
        assert [c.kind for c in providers.list_certificates(session, ident(w))] == ["elderly_carer"]
        assert len(providers.list_shifts(session, ident(w))) == 2

    @pytest.mark.parametrize(
        ("field", "overrides"),
        [
            ("skill", {"skills": (("juggling", 1),)}),
            ("certificate kind", {"certificates": (("pilot_licence", None),)}),
            ("language", {"languages": ("klingon",)}),
        ],
    )
    def test_unknown_vocabulary_is_refused(
        self, session: Session, field: str, overrides: dict[str, Any]
    ) -> None:
        prov = provider(session, districts=[district(session)])
        with pytest.raises(Validation, match=f"unknown {field}"):
            worker(session, prov, **overrides)

    def test_skill_level_out_of_range(self) -> None:
        with pytest.raises(ValidationError):
            SkillIn(skill="cooking", level=6)

    def test_overlapping_shifts_in_the_input(self) -> None:
        with pytest.raises(ValidationError, match="overlap"):
            WorkerCreate(
                provider_id=1,
                name="x",
                gender=Gender.MALE,
                start_lat=26,
                start_lon=119,
                shifts=[shift(2, "08:00", "12:00"), shift(2, "11:00", "15:00")],
            )

    def test_certificate_expiring_before_issue(self) -> None:
        with pytest.raises(ValidationError, match="expires_on"):
            CertificateIn(
                kind="elderly_carer",
                number="1",
                issued_on=date(2025, 1, 1),
                expires_on=date(2024, 1, 1),
            )

    def test_unknown_provider(self, session: Session) -> None:
        with pytest.raises(NotFound):
            providers.create_worker(
                session,
                WorkerCreate(
                    provider_id=999, name="x", gender=Gender.MALE, start_lat=26, start_lon=119
                ),
            )


class TestShiftInput:
    def test_break_inside_the_shift(self) -> None:
        s = shift(0, "08:00", "17:00", break_after_minutes=240, break_minutes=60)
        assert s.break_minutes == 60

    @pytest.mark.parametrize(
        ("start", "end", "extra"),
        [
            ("12:00", "08:00", {}),
            ("08:00", "12:00", {"break_after_minutes": 230, "break_minutes": 30}),
            ("08:00", "12:00", {"break_minutes": 30}),
        ],
    )
    def test_refused(self, start: str, end: str, extra: dict[str, int]) -> None:
        with pytest.raises(ValidationError):
            shift(0, start, end, **extra)


class TestSetSkill:
    def test_adds_then_changes_level(self, session: Session) -> None:
        w = worker(session, provider(session, districts=[district(session)]))
        providers.set_skill(session, ident(w), SkillIn(skill="nursing", level=2))
        providers.set_skill(session, ident(w), SkillIn(skill="nursing", level=5))
        session.commit()
        assert providers.skill_level(session, ident(w), "nursing") == 5

    def test_unknown_skill(self, session: Session) -> None:
        w = worker(session, provider(session, districts=[district(session)]))
        with pytest.raises(Validation):
            providers.set_skill(session, ident(w), SkillIn(skill="alchemy", level=1))


class TestAddShift:
    def test_adds_beside_an_existing_shift(self, session: Session) -> None:
        w = worker(session, provider(session, districts=[district(session)]))
        providers.add_shift(session, ident(w), shift(1, "08:00", "12:00"))
        providers.add_shift(session, ident(w), shift(1, "12:00", "16:00"))
        session.commit()
        assert providers.availability(session, ident(w), TUESDAY) == hours(("08:00", "16:00"))

    def test_overlap_with_an_existing_shift_is_a_conflict(self, session: Session) -> None:
        w = worker(session, provider(session, districts=[district(session)]))
        providers.add_shift(session, ident(w), shift(1, "08:00", "12:00"))
        with pytest.raises(Conflict):
            providers.add_shift(session, ident(w), shift(1, "11:59", "16:00"))


class TestShiftExceptionInput:
    def test_whole_day_leave_needs_no_times(self) -> None:
        e = ShiftExceptionCreate(on_date=MONDAY, kind=ShiftExceptionKind.LEAVE)
        assert e.starts_at is None

    @pytest.mark.parametrize(
        ("kind", "start", "end"),
        [
            (ShiftExceptionKind.EXTRA, None, None),
            (ShiftExceptionKind.CHANGED, time(9), None),
            (ShiftExceptionKind.LEAVE, time(12), time(9)),
        ],
    )
    def test_refused(self, kind: ShiftExceptionKind, start: time | None, end: time | None) -> None:
        with pytest.raises(ValidationError):
            ShiftExceptionCreate(on_date=MONDAY, kind=kind, starts_at=start, ends_at=end)


class TestAvailability:
    def _worker(self, session: Session) -> Worker:
        return worker(
            session,
            provider(session, districts=[district(session)]),
            shifts=(shift(0, "08:00", "17:00", break_after_minutes=240, break_minutes=60),),
        )

    def _except(
        self,
        session: Session,
        w: Worker,
        kind: ShiftExceptionKind,
        start: str | None = None,
        end: str | None = None,
        on: date = MONDAY,
    ) -> None:
        providers.add_shift_exception(
            session,
            ident(w),
            ShiftExceptionCreate(
                on_date=on,
                kind=kind,
                starts_at=None if start is None else time.fromisoformat(start),
                ends_at=None if end is None else time.fromisoformat(end),
            ),
        )

    def test_weekly_shift_with_its_break(self, session: Session) -> None:
        w = self._worker(session)
        session.commit()
        assert providers.availability(session, ident(w), MONDAY) == hours(
            ("08:00", "12:00"), ("13:00", "17:00")
        )
        assert providers.availability(session, ident(w), TUESDAY) == []
        assert providers.availability(session, ident(w), MONDAY + timedelta(days=7)) == hours(
            ("08:00", "12:00"), ("13:00", "17:00")
        )

    def test_whole_day_leave(self, session: Session) -> None:
        w = self._worker(session)
        self._except(session, w, ShiftExceptionKind.LEAVE)
        session.commit()
        assert providers.availability(session, ident(w), MONDAY) == []
        assert providers.availability(session, ident(w), MONDAY + timedelta(days=7)) != []

    def test_leave_for_some_hours(self, session: Session) -> None:
        w = self._worker(session)
        self._except(session, w, ShiftExceptionKind.LEAVE, "10:00", "14:00")
        session.commit()
        assert providers.availability(session, ident(w), MONDAY) == hours(
            ("08:00", "10:00"), ("14:00", "17:00")
        )

    def test_extra_day(self, session: Session) -> None:
        w = self._worker(session)
        self._except(session, w, ShiftExceptionKind.EXTRA, "09:00", "11:30", on=TUESDAY)
        session.commit()
        assert providers.availability(session, ident(w), TUESDAY) == hours(("09:00", "11:30"))

    def test_changed_hours_replace_the_weekly_shift(self, session: Session) -> None:
        w = self._worker(session)
        self._except(session, w, ShiftExceptionKind.CHANGED, "14:00", "20:00")
        self._except(session, w, ShiftExceptionKind.LEAVE, "15:00", "16:00")
        session.commit()
        assert providers.availability(session, ident(w), MONDAY) == hours(
            ("14:00", "15:00"), ("16:00", "20:00")
        )

    def test_nothing_after_a_whole_day_leave(self, session: Session) -> None:
        w = self._worker(session)
        self._except(session, w, ShiftExceptionKind.LEAVE)
        with pytest.raises(Conflict):
            self._except(session, w, ShiftExceptionKind.EXTRA, "09:00", "10:00")

    def test_inactive_worker_has_none(self, session: Session) -> None:
        w = self._worker(session)
        providers.deactivate_worker(session, ident(w))
        session.commit()
        assert providers.availability(session, ident(w), MONDAY) == []

    def test_unknown_worker(self, session: Session) -> None:
        with pytest.raises(NotFound):
            providers.availability(session, 31337, MONDAY)


class TestValidCertificates:
    def test_expiring_today_is_valid_yesterday_is_not(self, session: Session) -> None:
        today = date(2026, 5, 20)
        w = worker(
            session,
            provider(session, districts=[district(session)]),
            certificates=(
                ("elderly_carer", today),
                ("health_certificate", today - timedelta(days=1)),
                ("domestic_worker", None),
            ),
        )
        session.commit()
        kinds = {c.kind for c in providers.valid_certificates(session, ident(w), today)}
        assert kinds == {"elderly_carer", "domestic_worker"}
        tomorrow = {
            c.kind
            for c in providers.valid_certificates(session, ident(w), today + timedelta(days=1))
        }
        assert tomorrow == {"domestic_worker"}

    def test_not_yet_issued_is_not_valid(self, session: Session) -> None:
        w = worker(session, provider(session, districts=[district(session)]))
        providers.add_certificate(
            session,
            ident(w),
            CertificateIn(kind="nurse_licence", number="N1", issued_on=date(2026, 6, 1)),
        )
        session.commit()
        assert providers.valid_certificates(session, ident(w), date(2026, 5, 31)) == []
        assert len(providers.valid_certificates(session, ident(w), date(2026, 6, 1))) == 1

    def test_unknown_kind_is_refused(self, session: Session) -> None:
        w = worker(session, provider(session, districts=[district(session)]))
        with pytest.raises(Validation):
            providers.add_certificate(
                session,
                ident(w),
                CertificateIn(kind="wizard", number="W", issued_on=date(2020, 1, 1)),
            )


class TestWorkersQualifiedFor:
    def test_filters_by_skill_certificate_and_district(self, session: Session) -> None:
        gl, ta = district(session, "gl"), district(session, "ta")
        in_gl = provider(session, districts=[gl], licence_no="GL-1")
        in_ta = provider(session, districts=[ta], licence_no="TA-1")
        day = date(2026, 5, 20)
        good = worker(
            session,
            in_gl,
            name="good",
            skills=(("personal_care", 3), ("nursing", 2)),
            certificates=(("elderly_carer", day),),
        )
        worker(  # missing the nursing skill
            session,
            in_gl,
            name="no-skill",
            skills=(("personal_care", 5),),
            certificates=(("elderly_carer", None),),
        )
        worker(  # certificate expired the day before
            session,
            in_gl,
            name="expired",
            skills=(("personal_care", 3), ("nursing", 2)),
            certificates=(("elderly_carer", day - timedelta(days=1)),),
        )
        elsewhere = worker(
            session,
            in_ta,
            name="other-district",
            skills=(("personal_care", 3), ("nursing", 2)),
            certificates=(("elderly_carer", None),),
        )
        care = item(session, skills=["personal_care", "nursing"], certificates=["elderly_carer"])
        session.commit()

        in_district = providers.workers_qualified_for(session, care, day, district_id=ident(gl))
        assert [w.name for w in in_district] == ["good"]
        anywhere = providers.workers_qualified_for(session, care, day)
        assert {w.id for w in anywhere} == {good.id, elsewhere.id}
        next_day = providers.workers_qualified_for(
            session, care, day + timedelta(days=1), district_id=ident(gl)
        )
        assert next_day == []

    def test_item_without_requirements_takes_every_active_worker(self, session: Session) -> None:
        prov = provider(session, districts=[district(session)])
        a = worker(session, prov, name="a", skills=())
        b = worker(session, prov, name="b", skills=())
        providers.deactivate_worker(session, ident(b))
        delivery = item(session, skills=[], certificates=[], code="meal.test")
        session.commit()
        assert [w.id for w in providers.workers_qualified_for(session, delivery, MONDAY)] == [a.id]

    def test_provider_with_an_expired_licence_is_left_out(self, session: Session) -> None:
        prov = provider(
            session, districts=[district(session)], licence_expires_on=date(2026, 1, 31)
        )
        worker(session, prov, skills=())
        anything = item(session, skills=[], certificates=[])
        session.commit()
        assert len(providers.workers_qualified_for(session, anything, date(2026, 1, 31))) == 1
        assert providers.workers_qualified_for(session, anything, date(2026, 2, 1)) == []


class TestGetWorker:
    def test_by_public_id(self, session: Session) -> None:
        w = worker(session, provider(session, districts=[district(session)]))
        session.commit()
        assert providers.get_worker_by_public_id_or_raise(session, w.public_id).id == w.id
        with pytest.raises(NotFound):
            providers.get_worker_by_public_id_or_raise(session, "wkr_nope")
