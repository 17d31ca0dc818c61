"""Households: addresses in the area tree, members and ID numbers, protected status,
status periods, preferences and family proxies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlmodel import Session

from core import crypto
from core.errors import Conflict, InvalidState, NotFound, Validation
from marketplace.geography import service as geography
from marketplace.geography.models import Area, AreaLevel
from marketplace.households import service as households
from marketplace.households.models import (
    DisabilityLevel,
    Household,
    Member,
    PeriodKind,
    PreferenceKind,
    ProtectedCategory,
    StatusReview,
)
from marketplace.households.schemas import (
    FamilyProxyCreate,
    HouseholdCreate,
    MemberCreate,
    MemberPreferenceUpdate,
    ProtectedStatusCreate,
    StatusPeriodCreate,
)
from marketplace.providers import service as providers
from marketplace.providers.models import Gender, ProviderKind, Worker
from marketplace.providers.schemas import ProviderCreate, WorkerCreate

BIRTH = date(1946, 5, 20)


def ident(row: Any) -> int:
    assert row.id is not None
    return int(row.id)


def id_number(birth: date, *, region: str = "350102", seq: str = "123") -> str:
    """A valid resident ID, computed here independently of the code under test."""
    body = f"{region}{birth:%Y%m%d}{seq}"
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    check = (12 - sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11) % 11
    return body + ("X" if check == 10 else str(check))


def wrong_check(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("0" if last != "0" else "1")


@dataclass
class Tree:
    district: Area
    street: Area
    community: Area
    grid: Area


def area(session: Session, code: str, level: AreaLevel, parent: Area | None = None) -> Area:
    return geography.create_area(
        session,
        code=code,
        name=code,
        level=level,
        lat=26.08,
        lon=119.30,
        parent_id=None if parent is None else parent.id,
    )


def tree(session: Session, prefix: str = "gl") -> Tree:
    d = area(session, prefix, AreaLevel.DISTRICT)
    s = area(session, f"{prefix}.s", AreaLevel.STREET, d)
    c = area(session, f"{prefix}.s.c", AreaLevel.COMMUNITY, s)
    g = area(session, f"{prefix}.s.c.g", AreaLevel.GRID, c)
    return Tree(d, s, c, g)


def household(session: Session, t: Tree | None = None) -> Household:
    t = t or tree(session)
    return households.create_household(
        session,
        HouseholdCreate(
            address="南后街 12 号",
            district_id=ident(t.district),
            street_id=ident(t.street),
            community_id=ident(t.community),
            grid_id=ident(t.grid),
            lat=26.085,
            lon=119.296,
        ),
    )


def member(
    session: Session,
    hh: Household | None = None,
    *,
    birth: date = BIRTH,
    number: str | None = None,
    name: str = "陈奶奶",
) -> Member:
    hh = hh or household(session)
    return households.add_member(
        session,
        ident(hh),
        MemberCreate(name=name, gender=Gender.FEMALE, birth_date=birth, id_number=number),
    )


def a_worker(session: Session) -> Worker:
    district = geography.list_by_level(session, AreaLevel.DISTRICT)[0]
    prov = providers.create_provider(
        session,
        ProviderCreate(
            name="p", kind=ProviderKind.CARE_CENTRE, licence_no="L1", district_ids=[ident(district)]
        ),
    )
    return providers.create_worker(
        session,
        WorkerCreate(
            provider_id=ident(prov), name="王师傅", gender=Gender.MALE, start_lat=26, start_lon=119
        ),
    )


def dibao(**kw: Any) -> ProtectedStatusCreate:
    values: dict[str, Any] = {
        "category": ProtectedCategory.DIBAO,
        "evidence_kind": "低保证",
        "evidence": "低保证 FZ-2024-778812, 鼓楼区民政局",
        "certificate_no": "FZ-2024-778812",
        "valid_from": date(2026, 1, 1),
        "valid_to": date(2026, 12, 31),
    }
    return ProtectedStatusCreate(**(values | kw))


class TestCreateHousehold:
    def test_consistent_address(self, session: Session) -> None:
        hh = household(session)
        session.commit()
        assert households.get_by_public_id_or_raise(session, hh.public_id).id == hh.id

    def test_without_grid(self, session: Session) -> None:
        t = tree(session)
        hh = households.create_household(
            session,
            HouseholdCreate(
                address="a",
                district_id=ident(t.district),
                street_id=ident(t.street),
                community_id=ident(t.community),
                lat=26,
                lon=119,
            ),
        )
        assert hh.grid_id is None

    def test_community_of_another_street_is_refused(self, session: Session) -> None:
        t = tree(session)
        other = area(session, "gl.s2", AreaLevel.STREET, t.district)
        with pytest.raises(Validation, match="does not lie in"):
            households.create_household(
                session,
                HouseholdCreate(
                    address="a",
                    district_id=ident(t.district),
                    street_id=ident(other),
                    community_id=ident(t.community),
                    lat=26,
                    lon=119,
                ),
            )

    def test_ids_at_the_wrong_level_are_refused(self, session: Session) -> None:
        t = tree(session)
        with pytest.raises(Validation, match="is not a street"):
            households.create_household(
                session,
                HouseholdCreate(
                    address="a",
                    district_id=ident(t.district),
                    street_id=ident(t.community),
                    community_id=ident(t.grid),
                    lat=26,
                    lon=119,
                ),
            )

    def test_coordinates_out_of_range(self) -> None:
        with pytest.raises(ValidationError):
            HouseholdCreate(
                address="a", district_id=1, street_id=2, community_id=3, lat=-91, lon=119
            )


class TestIdNumber:
    def test_correct_check_digit(self) -> None:
        number = id_number(BIRTH)
        assert households.validate_id_number(number.lower()) == number
        assert households.id_check_digit(number[:17]) == number[17]

    def test_check_digit_x(self) -> None:
        # Find a sequence whose check character is X, so the X branch is exercised.
        number = next(
            n for seq in range(1000) if (n := id_number(BIRTH, seq=f"{seq:03d}")).endswith("X")
        )
        assert households.validate_id_number(number) == number

    def test_wrong_check_digit(self) -> None:
        with pytest.raises(Validation, match="check digit"):
            households.validate_id_number(wrong_check(id_number(BIRTH)))

    @pytest.mark.parametrize(
        "bad",
        ["35010219460520123", "3501021946052012345", "35010219461320123X", "A50102194605201230"],
    )
    def test_malformed(self, bad: str) -> None:
        with pytest.raises(Validation):
            households.validate_id_number(bad)


class TestAddMember:
    def test_id_number_encrypted_indexed_and_masked(self, session: Session) -> None:
        number = id_number(BIRTH)
        m = member(session, number=number)
        session.commit()
        assert m.id_number_masked == number[:6] + "********" + number[-4:]
        assert m.id_number_index == crypto.blind_index(number, context="member.id_number")
        stored = session.execute(
            text("SELECT id_number_encrypted FROM member WHERE id = :id"), {"id": m.id}
        ).scalar_one()
        assert number.encode() not in bytes(stored)
        assert number[6:14].encode() not in bytes(stored)
        assert households.reveal_id_number(session, ident(m)) == number

    def test_wrong_check_digit_is_refused(self, session: Session) -> None:
        with pytest.raises(Validation, match="check digit"):
            member(session, number=wrong_check(id_number(BIRTH)))

    def test_id_birth_date_must_match(self, session: Session) -> None:
        with pytest.raises(Validation, match="birth date"):
            member(session, number=id_number(BIRTH + timedelta(days=1)))

    def test_same_id_number_twice_is_a_conflict(self, session: Session) -> None:
        hh = household(session)
        member(session, hh, number=id_number(BIRTH))
        with pytest.raises(Conflict):
            member(session, hh, number=id_number(BIRTH), name="someone else")

    def test_without_id_number(self, session: Session) -> None:
        m = member(session)
        assert m.id_number_encrypted is None
        assert households.reveal_id_number(session, ident(m)) is None

    def test_unknown_language(self, session: Session) -> None:
        hh = household(session)
        with pytest.raises(Validation, match="language"):
            households.add_member(
                session,
                ident(hh),
                MemberCreate(name="x", gender=Gender.MALE, birth_date=BIRTH, languages=["xx"]),
            )

    def test_unknown_household(self, session: Session) -> None:
        with pytest.raises(NotFound):
            households.add_member(
                session, 404, MemberCreate(name="x", gender=Gender.MALE, birth_date=BIRTH)
            )


class TestFindMemberByIdNumber:
    def test_finds_through_the_blind_index(self, session: Session) -> None:
        number = id_number(BIRTH)
        hh = household(session)
        member(
            session, hh, name="other", birth=date(1950, 1, 1), number=id_number(date(1950, 1, 1))
        )
        m = member(session, hh, number=number)
        session.commit()
        found = households.find_member_by_id_number(session, f" {number.lower()} ")
        assert found is not None and found.id == m.id
        assert households.find_member_by_id_number(session, id_number(BIRTH, seq="999")) is None


class TestProtectedStatusReview:
    def test_apply_then_approve(self, session: Session) -> None:
        m = member(session)
        status = households.apply_protected_status(session, ident(m), dibao())
        assert status.review == StatusReview.PENDING
        assert status.certificate_no_masked == "**********8812"
        assert status.evidence_encrypted is not None
        assert b"778812" not in status.evidence_encrypted
        at = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
        households.approve_protected_status(session, ident(status), verified_by="民政-张", now=at)
        session.commit()
        session.expire_all()
        reloaded = households.get_status_or_raise(session, ident(status))
        assert reloaded.review == StatusReview.APPROVED
        assert (reloaded.verified_by, reloaded.verified_at) == ("民政-张", at)
        assert households.reveal_evidence(session, ident(status)) == dibao().evidence

    def test_reject_records_the_reviewer(self, session: Session) -> None:
        m = member(session)
        status = households.apply_protected_status(session, ident(m), dibao())
        households.reject_protected_status(session, ident(status), verified_by="民政-李")
        assert status.review == StatusReview.REJECTED
        assert status.verified_by == "民政-李"
        assert status.verified_at is not None

    @pytest.mark.parametrize("first", ["approve", "reject"])
    def test_only_pending_can_be_reviewed(self, session: Session, first: str) -> None:
        m = member(session)
        status = households.apply_protected_status(session, ident(m), dibao())
        review = getattr(households, f"{first}_protected_status")
        review(session, ident(status), verified_by="a")
        with pytest.raises(InvalidState):
            households.approve_protected_status(session, ident(status), verified_by="b")
        with pytest.raises(InvalidState):
            households.reject_protected_status(session, ident(status), verified_by="b")

    def test_revoke_only_approved(self, session: Session) -> None:
        m = member(session)
        status = households.apply_protected_status(session, ident(m), dibao())
        with pytest.raises(InvalidState):
            households.revoke_protected_status(session, ident(status))
        households.approve_protected_status(session, ident(status), verified_by="a")
        day = date(2026, 3, 1)  # before her 80th birthday, so only the dibao status counts
        assert len(households.active_statuses(session, ident(m), day)) == 1
        households.revoke_protected_status(session, ident(status))
        assert status.review == StatusReview.REVOKED
        assert status.verified_by == "a"
        assert households.active_statuses(session, ident(m), day) == []

    def test_overlapping_application_is_a_conflict(self, session: Session) -> None:
        m = member(session)
        households.apply_protected_status(session, ident(m), dibao())
        with pytest.raises(Conflict):
            households.apply_protected_status(
                session, ident(m), dibao(valid_from=date(2026, 12, 31), valid_to=None)
            )
        later = households.apply_protected_status(
            session, ident(m), dibao(valid_from=date(2027, 1, 1), valid_to=None)
        )
        assert later.id is not None

    def test_schema_rules(self) -> None:
        with pytest.raises(ValidationError, match="derived"):
            dibao(category=ProtectedCategory.AGE80)
        with pytest.raises(ValidationError, match="disability level"):
            dibao(category=ProtectedCategory.DISABILITY)
        with pytest.raises(ValidationError, match="valid_to"):
            dibao(valid_to=date(2025, 1, 1))
        ok = dibao(category=ProtectedCategory.DISABILITY, disability_level=DisabilityLevel.SEVERE)
        assert ok.disability_level is DisabilityLevel.SEVERE


class TestActiveStatuses:
    def test_approved_and_within_dates(self, session: Session) -> None:
        m = member(session, birth=date(1960, 1, 1))
        approved = households.apply_protected_status(session, ident(m), dibao())
        households.approve_protected_status(session, ident(approved), verified_by="a")
        households.apply_protected_status(  # still pending: not active
            session,
            ident(m),
            dibao(category=ProtectedCategory.DISABILITY, disability_level=DisabilityLevel.TOTAL),
        )
        session.commit()

        def categories(day: date) -> list[ProtectedCategory]:
            return [s.category for s in households.active_statuses(session, ident(m), day)]

        assert categories(date(2025, 12, 31)) == []
        assert categories(date(2026, 1, 1)) == [ProtectedCategory.DIBAO]
        assert categories(date(2026, 12, 31)) == [ProtectedCategory.DIBAO]
        assert categories(date(2027, 1, 1)) == []

    def test_age80_from_the_80th_birthday(self, session: Session) -> None:
        m = member(session, birth=date(1946, 5, 20))
        session.commit()
        assert households.active_statuses(session, ident(m), date(2026, 5, 19)) == []
        on_birthday = households.active_statuses(session, ident(m), date(2026, 5, 20))
        assert [(s.category, s.valid_from, s.derived) for s in on_birthday] == [
            (ProtectedCategory.AGE80, date(2026, 5, 20), True)
        ]

    def test_age80_leap_day_birthday(self, session: Session) -> None:
        m = member(session, birth=date(1944, 2, 29))
        assert households.active_statuses(session, ident(m), date(2024, 2, 28)) == []
        assert len(households.active_statuses(session, ident(m), date(2024, 2, 29))) == 1
        assert households.age_on(date(1948, 2, 29), date(2028, 2, 28)) == 79
        assert households.age_on(date(1948, 2, 29), date(2028, 2, 29)) == 80

    def test_unknown_member(self, session: Session) -> None:
        with pytest.raises(NotFound):
            households.active_statuses(session, 404, date(2026, 1, 1))


class TestServiceability:
    def _period(self, session: Session, m: Member, kind: PeriodKind, start: date, **kw: Any) -> int:
        period = households.record_status_period(
            session,
            ident(m),
            StatusPeriodCreate(kind=kind, starts_on=start, recorded_by="社区-王", **kw),
        )
        return ident(period)

    def test_hospital_boundary_days(self, session: Session) -> None:
        m = member(session)
        self._period(session, m, PeriodKind.HOSPITAL, date(2026, 3, 10), ends_on=date(2026, 3, 14))
        session.commit()
        check = households.is_serviceable
        assert check(session, ident(m), date(2026, 3, 9)).serviceable
        first = check(session, ident(m), date(2026, 3, 10))
        assert (first.serviceable, first.reason) == (False, PeriodKind.HOSPITAL)
        assert not check(session, ident(m), date(2026, 3, 14))
        assert check(session, ident(m), date(2026, 3, 15))

    def test_open_hospital_stay_then_discharge(self, session: Session) -> None:
        m = member(session)
        pid = self._period(session, m, PeriodKind.HOSPITAL, date(2026, 3, 10))
        assert not households.is_serviceable(session, ident(m), date(2026, 4, 30))
        households.end_hospital_stay(session, pid, ends_on=date(2026, 3, 20))
        assert households.is_serviceable(session, ident(m), date(2026, 3, 21))
        with pytest.raises(InvalidState):
            households.end_hospital_stay(session, pid, ends_on=date(2026, 3, 25))

    @pytest.mark.parametrize("kind", [PeriodKind.DECEASED, PeriodKind.MOVED_AWAY])
    def test_on_and_after_death_or_move(self, session: Session, kind: PeriodKind) -> None:
        m = member(session)
        pid = self._period(session, m, kind, date(2026, 7, 1))
        session.commit()
        assert households.is_serviceable(session, ident(m), date(2026, 6, 30))
        on_day = households.is_serviceable(session, ident(m), date(2026, 7, 1))
        assert (on_day.serviceable, on_day.reason, on_day.period_id) == (False, kind, pid)
        assert not households.is_serviceable(session, ident(m), date(2030, 1, 1))

    def test_death_outranks_hospital(self, session: Session) -> None:
        m = member(session)
        self._period(session, m, PeriodKind.HOSPITAL, date(2026, 7, 1))
        self._period(session, m, PeriodKind.DECEASED, date(2026, 7, 3))
        result = households.is_serviceable(session, ident(m), date(2026, 7, 5))
        assert result.reason is PeriodKind.DECEASED

    def test_overlapping_hospital_stays_and_second_death_are_conflicts(
        self, session: Session
    ) -> None:
        m = member(session)
        self._period(session, m, PeriodKind.HOSPITAL, date(2026, 3, 1), ends_on=date(2026, 3, 5))
        with pytest.raises(Conflict):
            self._period(session, m, PeriodKind.HOSPITAL, date(2026, 3, 5))
        self._period(session, m, PeriodKind.DECEASED, date(2026, 8, 1))
        with pytest.raises(Conflict):
            self._period(session, m, PeriodKind.DECEASED, date(2026, 8, 2))

    def test_death_has_no_end(self) -> None:
        with pytest.raises(ValidationError):
            StatusPeriodCreate(
                kind=PeriodKind.DECEASED,
                starts_on=date(2026, 1, 1),
                ends_on=date(2026, 1, 2),
                recorded_by="x",
            )


class TestPreferences:
    def test_set_and_replace(self, session: Session) -> None:
        m = member(session)
        households.set_preference(
            session,
            ident(m),
            MemberPreferenceUpdate(caregiver_gender=Gender.FEMALE, language="cdo"),
        )
        households.set_preference(session, ident(m), MemberPreferenceUpdate(language="zh"))
        session.commit()
        pref = households.get_preference(session, ident(m))
        assert pref is not None
        assert (pref.caregiver_gender, pref.language) == (None, "zh")

    def test_unknown_language(self, session: Session) -> None:
        m = member(session)
        with pytest.raises(Validation):
            households.set_preference(session, ident(m), MemberPreferenceUpdate(language="tlh"))

    def test_prefer_and_block_workers(self, session: Session) -> None:
        m = member(session)
        w = a_worker(session)
        first = households.add_worker_preference(
            session, ident(m), ident(w), PreferenceKind.PREFERRED
        )
        again = households.add_worker_preference(
            session, ident(m), ident(w), PreferenceKind.PREFERRED
        )
        assert first.id == again.id
        session.commit()
        with pytest.raises(Conflict):
            households.add_worker_preference(session, ident(m), ident(w), PreferenceKind.BLOCKED)
        assert households.remove_worker_preference(session, ident(m), ident(w))
        households.add_worker_preference(session, ident(m), ident(w), PreferenceKind.BLOCKED)
        session.commit()
        blocked = households.worker_ids_by_preference(session, ident(m), PreferenceKind.BLOCKED)
        assert blocked == {w.id}

    def test_unknown_worker(self, session: Session) -> None:
        m = member(session)
        with pytest.raises(NotFound):
            households.add_worker_preference(session, ident(m), 999, PreferenceKind.BLOCKED)


class TestFamilyProxies:
    def _proxy(self, session: Session, m: Member, phone: str = "13800000001") -> int:
        proxy = households.add_family_proxy(
            session, ident(m), FamilyProxyCreate(name="陈小明", phone=phone, relation="儿子")
        )
        return ident(proxy)

    def test_add_and_order_for(self, session: Session) -> None:
        hh = household(session)
        mother, father = member(session, hh), member(session, hh, name="陈爷爷")
        pid = self._proxy(session, mother)
        session.commit()
        assert households.can_order_for(session, pid, ident(mother))
        assert not households.can_order_for(session, pid, ident(father))
        assert not households.can_order_for(session, 999, ident(mother))
        assert [p.id for p in households.proxies_with_phone(session, "13800000001")] == [pid]

    def test_duplicate_phone_for_the_same_member_is_a_conflict(self, session: Session) -> None:
        hh = household(session)
        mother, father = member(session, hh), member(session, hh, name="陈爷爷")
        self._proxy(session, mother)
        self._proxy(session, father)  # same relative for another member is fine
        with pytest.raises(Conflict):
            self._proxy(session, mother)

    def test_deactivate(self, session: Session) -> None:
        m = member(session)
        pid = self._proxy(session, m)
        households.deactivate_family_proxy(session, pid)
        session.commit()
        assert not households.can_order_for(session, pid, ident(m))
        assert households.list_family_proxies(session, ident(m)) == []
        # Re-adding the same number brings the proxy back rather than duplicating it.
        assert self._proxy(session, m) == pid
        assert households.can_order_for(session, pid, ident(m))

    def test_deactivate_unknown(self, session: Session) -> None:
        with pytest.raises(NotFound):
            households.deactivate_family_proxy(session, 999)

    def test_proxy_without_order_rights(self, session: Session) -> None:
        m = member(session)
        proxy = households.add_family_proxy(
            session,
            ident(m),
            FamilyProxyCreate(name="x", phone="139", relation="女儿", can_order=False),
        )
        assert not households.can_order_for(session, ident(proxy), ident(m))
