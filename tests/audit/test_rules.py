"""The anomaly rules: each one fires on a tiny hand-made month and stays silent just beside it."""

from __future__ import annotations

import inspect
import itertools
import json
import math
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import rules
from audit.facts import (
    CertificateFact,
    EditFact,
    EntitlementFact,
    Hit,
    LedgerFact,
    MemberFact,
    MonthFacts,
    PeriodFact,
    Severity,
    SubjectKind,
    VisitFact,
)
from audit.rules import RULES, run_all
from core.geo import EARTH_RADIUS_M, Point, haversine_m

LOCAL = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 3)
HOME_LAT, HOME_LON = 31.2300, 121.4700
METRES_PER_DEGREE_LAT = EARTH_RADIUS_M * math.pi / 180

_ids = itertools.count(1)


# -- factories -----------------------------------------------------------------------------------


def at(hhmm: str = "09:00", day: date = DAY) -> datetime:
    """A local (Asia/Shanghai) wall-clock time as an aware UTC instant."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL).astimezone(UTC)


def north(metres: float, lat: float = HOME_LAT) -> float:
    """The latitude ``metres`` north of ``lat``."""
    return lat + metres / METRES_PER_DEGREE_LAT


def span(start: str, end: str, day: date = DAY) -> dict[str, Any]:
    """Overrides for a visit scheduled and checked in exactly from ``start`` to ``end``."""
    return {
        "service_date": day,
        "scheduled_start": at(start, day),
        "scheduled_end": at(end, day),
        "check_in_at": at(start, day),
        "check_out_at": at(end, day),
    }


def living_at(lat: float, lon: float = HOME_LON) -> dict[str, Any]:
    """Overrides for a visit to a home at (lat, lon), checked in and out right there."""
    return {
        "home_lat": lat,
        "home_lon": lon,
        "check_in_lat": lat,
        "check_in_lon": lon,
        "check_out_lat": lat,
        "check_out_lon": lon,
    }


def visit(**overrides: Any) -> VisitFact:
    """A clean one-hour visit on 3 December 09:00–10:00 at the home, unless overridden."""
    visit_id = overrides.pop("visit_id", None) or next(_ids)
    day = overrides.get("service_date", DAY)
    fields: dict[str, Any] = {
        "visit_id": visit_id,
        "visit_ref": f"v{visit_id}",
        "order_ref": f"o{visit_id}",
        "provider_id": 1,
        "worker_id": 10,
        "person_key": "p10",
        "scheduled_worker_id": 10,
        "member_id": 1,
        "household_id": 1,
        "item_code": "clean-1h",
        "service_class": "domestic",
        "billed_minutes": 60,
        "price_fen": 6000,
        "subsidy_fen": 0,
        "group": None,
        "check_in_method": "gps",
        "check_out_method": "gps",
        **span("09:00", "10:00", day),
        **living_at(HOME_LAT, HOME_LON),
    }
    fields.update(overrides)
    return VisitFact(**fields)


def member(member_id: int = 1, **overrides: Any) -> MemberFact:
    """A 76-year-old 低保 member alone in their own household, unless overridden."""
    fields: dict[str, Any] = {
        "member_id": member_id,
        "household_id": member_id,
        "id_index": f"idx-{member_id}",
        "birth_date": date(1950, 6, 1),
        "entitlements": (EntitlementFact("dibao", date(2020, 1, 1), None),),
        "monthly_cap_fen": 20_000,
    }
    fields.update(overrides)
    return MemberFact(**fields)


def month(
    *visits: VisitFact, members: Sequence[MemberFact] | None = None, **overrides: Any
) -> MonthFacts:
    """December 2026 with these visits; by default a clean member for each visit's member id."""
    if members is None:
        members = [
            member(v.member_id, household_id=v.household_id)
            for v in {v.member_id: v for v in visits}.values()
        ]
    return MonthFacts(
        month="2026-12",
        first_day=date(2026, 12, 1),
        last_day=date(2026, 12, 31),
        visits=tuple(visits),
        members=MappingProxyType({m.member_id: m for m in members}),
        **overrides,
    )


def edits(editor: str, count: int, *, when: datetime | None = None) -> tuple[EditFact, ...]:
    return tuple(
        EditFact("check_out_at", editor, when or at("18:00"), "forgot to check out")
        for _ in range(count)
    )


def evidence(hit: Hit) -> dict[str, Any]:
    """The evidence, typed loosely enough to index into."""
    return dict(hit.evidence)


def one(hits: Sequence[Hit]) -> Hit:
    assert len(hits) == 1, hits
    return hits[0]


# -- 1. missing_check ----------------------------------------------------------------------------


class TestMissingCheck:
    def test_missing_check_out_is_medium(self) -> None:
        v = visit(check_out_at=None)
        hit = one(rules.missing_check(month(v)))
        assert (hit.rule, hit.subject_kind, hit.subject) == (
            "missing_check",
            SubjectKind.VISIT,
            v.visit_ref,
        )
        assert hit.severity is Severity.MEDIUM
        assert hit.evidence["missing"] == ["check_out"]
        assert hit.visit_refs == (v.visit_ref,)

    def test_missing_check_in_of_subsidised_visit_is_high(self) -> None:
        v = visit(check_in_at=None, subsidy_fen=3000, group="dibao")
        hit = one(rules.missing_check(month(v)))
        assert hit.severity is Severity.HIGH
        assert hit.evidence["missing"] == ["check_in"]

    def test_both_times_present(self) -> None:
        assert rules.missing_check(month(visit(subsidy_fen=3000, group="dibao"))) == []


# -- 2. far_location -----------------------------------------------------------------------------


class TestFarLocation:
    @pytest.mark.parametrize(("metres", "far"), [(299, False), (300, False), (301, True)])
    def test_check_in_at_the_radius(self, metres: int, far: bool) -> None:
        v = visit(check_in_lat=north(metres))
        distance = haversine_m(Point(HOME_LAT, HOME_LON), Point(north(metres), HOME_LON))
        assert distance == metres
        hits = rules.far_location(month(v))
        assert bool(hits) is far
        if far:
            assert hits[0].evidence["check_in_distance_m"] == metres
            assert hits[0].evidence["check_out_distance_m"] == 0

    def test_far_check_out_without_check_in_coordinates(self) -> None:
        v = visit(check_in_lat=None, check_in_lon=None, check_out_lat=north(1500))
        hit = one(rules.far_location(month(v)))
        assert hit.evidence["check_in_distance_m"] is None
        assert hit.evidence["check_out_distance_m"] == 1500

    def test_impossible_coordinates_count_as_far(self) -> None:
        hit = one(rules.far_location(month(visit(check_in_lat=91.0))))
        assert hit.evidence["invalid_coordinates"] == ["check_in"]

    def test_no_coordinates_recorded(self) -> None:
        v = visit(check_in_lat=None, check_in_lon=None, check_out_lat=None, check_out_lon=None)
        assert rules.far_location(month(v)) == []


# -- 3. other_worker -----------------------------------------------------------------------------


class TestOtherWorker:
    def test_done_by_another_worker(self) -> None:
        v = visit(scheduled_worker_id=11)
        hit = one(rules.other_worker(month(v)))
        assert hit.evidence["scheduled_worker_id"] == 11
        assert hit.evidence["worker_id"] == 10

    @pytest.mark.parametrize("scheduled", [None, 10])
    def test_booked_worker_or_unknown(self, scheduled: int | None) -> None:
        assert rules.other_worker(month(visit(scheduled_worker_id=scheduled))) == []


# -- 4. overlap ----------------------------------------------------------------------------------


class TestOverlap:
    def test_one_minute_overlap_across_providers(self) -> None:
        a = visit(**span("09:00", "10:00"))
        b = visit(provider_id=2, worker_id=20, scheduled_worker_id=20, **span("09:59", "10:30"))
        hit = one(rules.overlap(month(a, b)))
        assert (hit.subject_kind, hit.subject) == (SubjectKind.WORKER_DAY, "p10:2026-12-03")
        assert hit.severity is Severity.HIGH
        assert set(hit.visit_refs) == {a.visit_ref, b.visit_ref}
        assert hit.evidence["longest_overlap_min"] == 1.0
        assert hit.evidence["provider_ids"] == [1, 2]

    def test_touching_visits_do_not_overlap(self) -> None:
        a = visit(**span("09:00", "10:00"))
        b = visit(**span("10:00", "10:30"))
        assert rules.overlap(month(a, b)) == []

    def test_different_people_may_overlap(self) -> None:
        a = visit(**span("09:00", "10:00"))
        b = visit(person_key="p20", worker_id=20, **span("09:30", "10:30"))
        assert rules.overlap(month(a, b)) == []

    def test_visits_inside_a_long_visit_are_all_involved(self) -> None:
        a = visit(**span("09:00", "12:00"))
        b = visit(**span("09:30", "10:00"))
        c = visit(**span("11:00", "11:30"))
        d = visit(**span("12:00", "13:00"))
        hit = one(rules.overlap(month(a, b, c, d)))
        assert set(hit.visit_refs) == {a.visit_ref, b.visit_ref, c.visit_ref}

    def test_one_hit_per_day(self) -> None:
        day2 = DAY + timedelta(days=1)
        pairs = [visit(**span("09:00", "10:00", d)) for d in (DAY, DAY, day2, day2)]
        hits = rules.overlap(month(*pairs))
        assert [h.subject for h in hits] == ["p10:2026-12-03", "p10:2026-12-04"]

    def test_visits_missing_a_check_time_are_left_to_missing_check(self) -> None:
        a = visit(**span("09:00", "10:00"))
        b = visit(**{**span("09:30", "10:30"), "check_out_at": None})
        assert rules.overlap(month(a, b)) == []

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 600), st.integers(1, 240)), min_size=0, max_size=12))
    def test_finds_exactly_the_visits_that_overlap_another(
        self, intervals: list[tuple[int, int]]
    ) -> None:
        base = at("06:00")
        visits = [
            visit(
                check_in_at=base + timedelta(minutes=start),
                check_out_at=base + timedelta(minutes=start + length),
            )
            for start, length in intervals
        ]
        expected = {
            visits[i].visit_ref
            for i, (s1, l1) in enumerate(intervals)
            for j, (s2, l2) in enumerate(intervals)
            if i != j and min(s1 + l1, s2 + l2) > max(s1, s2)
        }
        found = {ref for hit in rules.overlap(month(*visits)) for ref in hit.visit_refs}
        assert found == expected


# -- 5. impossible_travel ------------------------------------------------------------------------


class TestImpossibleTravel:
    # 10:00 → 10:10 is 600 s; with 120 s slack at 60 km/h a worker covers 12 000 m.
    @pytest.mark.parametrize(("metres", "impossible"), [(11_900, False), (12_100, True)])
    def test_distance_at_the_speed_limit(self, metres: int, impossible: bool) -> None:
        a = visit(**span("09:00", "10:00"))
        b = visit(member_id=2, household_id=2, **span("10:10", "11:00"), **living_at(north(metres)))
        hits = rules.impossible_travel(month(a, b))
        assert bool(hits) is impossible
        if impossible:
            hit = hits[0]
            assert (hit.subject_kind, hit.subject) == (SubjectKind.WORKER_DAY, "p10:2026-12-03")
            assert hit.visit_refs == (a.visit_ref, b.visit_ref)
            (leg,) = evidence(hit)["legs"]
            assert leg["distance_m"] == metres
            assert leg["gap_s"] == 600
            assert leg["allowed_m"] == 12_000

    def test_home_stands_in_for_missing_check_in_coordinates(self) -> None:
        a = visit(**span("09:00", "10:00"))
        b = visit(
            check_in_method="qr",
            **span("10:10", "11:00"),
            **{**living_at(north(50_000)), "check_in_lat": None, "check_in_lon": None},
        )
        assert one(rules.impossible_travel(month(a, b))).evidence["legs"]

    def test_travel_starts_where_the_previous_visit_checked_out(self) -> None:
        # The worker checked out 20 km north of the first home: the next home is right there.
        a = visit(check_out_lat=north(20_000), **span("09:00", "10:00"))
        b = visit(**span("10:10", "11:00"), **living_at(north(20_000)))
        assert rules.impossible_travel(month(a, b)) == []

    def test_overlapping_visits_are_left_to_overlap(self) -> None:
        a = visit(**span("09:00", "10:00"))
        b = visit(**span("09:30", "11:00"), **living_at(north(50_000)))
        assert rules.impossible_travel(month(a, b)) == []

    def test_other_people_do_not_chain(self) -> None:
        a = visit(**span("09:00", "10:00"))
        b = visit(person_key="p20", worker_id=20, **span("10:01", "11:00"), **living_at(40.0))
        assert rules.impossible_travel(month(a, b)) == []


# -- 6. duration_mismatch ------------------------------------------------------------------------


class TestDurationMismatch:
    @pytest.mark.parametrize(
        ("checked_out", "mismatch"),
        [("09:29", True), ("09:31", False), ("10:30", False), ("10:31", True)],
    )
    def test_ratio_limits_of_a_one_hour_visit(self, checked_out: str, mismatch: bool) -> None:
        v = visit(check_out_at=at(checked_out))
        hits = rules.duration_mismatch(month(v))
        assert bool(hits) is mismatch
        if mismatch:
            assert hits[0].evidence["planned_minutes"] == 60.0
            assert hits[0].evidence["basis"] == "schedule"

    def test_small_difference_is_tolerated_whatever_the_ratio(self) -> None:
        v = visit(**{**span("09:00", "09:20"), "check_out_at": at("09:09")})  # 9 of 20 minutes
        assert rules.duration_mismatch(month(v)) == []

    def test_billed_minutes_stand_in_for_a_missing_schedule(self) -> None:
        v = visit(scheduled_start=None, scheduled_end=None, billed_minutes=120)  # checked 60
        assert rules.duration_mismatch(month(v)) == []  # ratio exactly 0.5
        v = visit(
            scheduled_start=None, scheduled_end=None, billed_minutes=120, check_out_at=at("09:59")
        )
        hit = one(rules.duration_mismatch(month(v)))
        assert hit.evidence["basis"] == "billed"
        assert hit.evidence["actual_minutes"] == 59.0


# -- 7. over_24h ---------------------------------------------------------------------------------


class TestOver24h:
    @pytest.mark.parametrize(("last_minutes", "over"), [(480, False), (481, True)])
    def test_person_day(self, last_minutes: int, over: bool) -> None:
        visits = [
            visit(member_id=m, household_id=m, billed_minutes=b)
            for m, b in ((1, 480), (2, 480), (3, last_minutes))
        ]
        hits = rules.over_24h(month(*visits))
        assert bool(hits) is over
        if over:
            hit = hits[0]
            assert (hit.subject_kind, hit.subject) == (SubjectKind.WORKER_DAY, "p10:2026-12-03")
            assert hit.evidence["billed_minutes"] == 1441
            assert len(hit.visit_refs) == 3

    @pytest.mark.parametrize(("last_minutes", "over"), [(720, False), (721, True)])
    def test_member_day(self, last_minutes: int, over: bool) -> None:
        visits = [
            visit(person_key=f"p{w}", worker_id=w, billed_minutes=b)
            for w, b in ((1, 720), (2, last_minutes))
        ]
        hits = rules.over_24h(month(*visits))
        assert bool(hits) is over
        if over:
            hit = hits[0]
            assert (hit.subject_kind, hit.subject) == (
                SubjectKind.MEMBER_DAY,
                "member:1:2026-12-03",
            )

    def test_days_are_separate(self) -> None:
        visits = [
            visit(billed_minutes=1000, service_date=DAY + timedelta(days=d)) for d in range(2)
        ]
        assert rules.over_24h(month(*visits)) == []


# -- 8. hospital_or_deceased ---------------------------------------------------------------------


def in_period(kind: str, starts_on: date, ends_on: date | None, day: date) -> list[Hit]:
    v = visit(service_date=day)
    return rules.hospital_or_deceased(
        month(v, members=[member(periods=(PeriodFact(kind, starts_on, ends_on),))])
    )


class TestHospitalOrDeceased:
    @pytest.mark.parametrize(
        ("day", "inside"),
        [
            (date(2026, 11, 30), False),
            (date(2026, 12, 1), True),
            (date(2026, 12, 5), True),
            (date(2026, 12, 6), False),
        ],
    )
    def test_hospital_stay_inclusive(self, day: date, inside: bool) -> None:
        hits = in_period("hospital", date(2026, 12, 1), date(2026, 12, 5), day)
        assert bool(hits) is inside
        if inside:
            assert hits[0].severity is Severity.HIGH
            assert hits[0].evidence["kinds"] == ["hospital"]

    def test_open_hospital_stay(self) -> None:
        assert in_period("hospital", date(2026, 12, 1), None, date(2026, 12, 20))

    @pytest.mark.parametrize(("day", "after"), [(date(2026, 12, 2), False), (DAY, True)])
    def test_deceased_is_critical(self, day: date, after: bool) -> None:
        hits = in_period("deceased", DAY, None, day)
        assert bool(hits) is after
        if after:
            assert hits[0].severity is Severity.CRITICAL

    def test_an_end_date_does_not_undo_a_death(self) -> None:
        hit = one(in_period("deceased", date(2026, 11, 1), date(2026, 11, 2), DAY))
        assert hit.severity is Severity.CRITICAL

    @pytest.mark.parametrize(
        ("day", "after"), [(date(2026, 12, 9), False), (date(2026, 12, 10), True)]
    )
    def test_moved_away(self, day: date, after: bool) -> None:
        assert bool(in_period("moved_away", date(2026, 12, 10), None, day)) is after


# -- 9. entitlement ------------------------------------------------------------------------------


def subsidised(**overrides: Any) -> VisitFact:
    return visit(**{"subsidy_fen": 3000, "group": "dibao", **overrides})


class TestEntitlement:
    @pytest.mark.parametrize(("valid_to", "entitled"), [(date(2026, 12, 2), False), (DAY, True)])
    def test_entitlement_in_force_on_the_service_date(self, valid_to: date, entitled: bool) -> None:
        m = member(entitlements=(EntitlementFact("dibao", date(2025, 1, 1), valid_to),))
        hits = rules.entitlement(month(subsidised(), members=[m]))
        assert bool(hits) is not entitled
        if hits:
            assert hits[0].evidence["problem"] == "not_entitled"
            assert hits[0].severity is Severity.HIGH

    def test_another_group_does_not_count(self) -> None:
        m = member(entitlements=(EntitlementFact("tekun", date(2025, 1, 1), None),))
        assert one(rules.entitlement(month(subsidised(), members=[m])))

    @pytest.mark.parametrize(("has_any", "hit"), [(True, False), (False, True)])
    def test_without_a_recorded_group_any_entitlement_will_do(
        self, has_any: bool, hit: bool
    ) -> None:
        m = member(
            entitlements=(EntitlementFact("youfu", date(2025, 1, 1), None),) if has_any else ()
        )
        assert bool(rules.entitlement(month(subsidised(group=None), members=[m]))) is hit

    @pytest.mark.parametrize(
        ("birth_date", "eighty"), [(date(1946, 12, 4), False), (date(1946, 12, 3), True)]
    )
    def test_age80_follows_the_birth_date(self, birth_date: date, eighty: bool) -> None:
        m = member(birth_date=birth_date, entitlements=())
        hits = rules.entitlement(month(subsidised(group="age80"), members=[m]))
        assert bool(hits) is not eighty

    def test_unsubsidised_visit_needs_no_entitlement(self) -> None:
        assert rules.entitlement(month(visit(), members=[member(entitlements=())])) == []

    def test_unknown_beneficiary(self) -> None:
        v = subsidised(member_id=99)
        hit = one(rules.entitlement(month(v, members=[member(1)])))
        assert hit.evidence["problem"] == "unknown_member"
        assert hit.subject == v.visit_ref

    @pytest.mark.parametrize(("consumed", "over"), [(20_000, False), (20_001, True)])
    def test_monthly_cap(self, consumed: int, over: bool) -> None:
        paid = subsidised()
        unpaid = visit()
        facts = month(paid, unpaid, subsidy_by_member_fen={1: consumed})
        hits = rules.entitlement(facts)
        assert bool(hits) is over
        if over:
            hit = hits[0]
            assert (hit.subject_kind, hit.subject) == (SubjectKind.MEMBER_MONTH, "member:1:2026-12")
            assert hit.evidence["excess_fen"] == 1
            assert hit.visit_refs == (paid.visit_ref,)


# -- 10. certificate -----------------------------------------------------------------------------


def with_certificates(*held: CertificateFact) -> list[Hit]:
    v = visit(required_certificates=("health",))
    return rules.certificate(month(v, certificates={10: held}))


class TestCertificate:
    def test_missing(self) -> None:
        hit = one(with_certificates(CertificateFact("first_aid", None)))
        assert hit.evidence["missing"] == ["health"]

    def test_expired_the_day_before(self) -> None:
        hit = one(with_certificates(CertificateFact("health", date(2026, 12, 2))))
        assert hit.evidence["expired"] == {"health": "2026-12-02"}

    @pytest.mark.parametrize("expires_on", [DAY, None])
    def test_valid_through_its_expiry_day(self, expires_on: date | None) -> None:
        assert with_certificates(CertificateFact("health", expires_on)) == []

    def test_the_latest_of_several_counts(self) -> None:
        old = CertificateFact("health", date(2025, 12, 2))
        renewed = CertificateFact("health", date(2027, 12, 2))
        assert with_certificates(old, renewed) == []

    def test_nothing_required(self) -> None:
        assert rules.certificate(month(visit())) == []


# -- 11. late_edit and edit_volume ---------------------------------------------------------------


class TestLateEdit:
    # Service on 3 December, lock 7 days: 10 December (Shanghai) is the last day allowed.
    @pytest.mark.parametrize(
        ("local_day", "hhmm", "late"),
        [(date(2026, 12, 10), "23:59", False), (date(2026, 12, 11), "00:01", True)],
    )
    def test_lock_days_in_shanghai_time(self, local_day: date, hhmm: str, late: bool) -> None:
        edit = EditFact("check_in_at", "alice", at(hhmm, local_day), "late paperwork")
        hits = rules.late_edit(month(visit(edits=(edit,))))
        assert bool(hits) is late
        if late:
            assert edit.at.date() == date(2026, 12, 10)  # still the 10th in UTC
            assert evidence(hits[0])["edits"][0]["days_after"] == 8

    def test_no_edits(self) -> None:
        assert rules.late_edit(month(visit())) == []


class TestEditVolume:
    def counts(self, **per_editor: int) -> list[Hit]:
        v = visit(edits=tuple(e for name, n in per_editor.items() for e in edits(name, n)))
        return rules.edit_volume(month(v))

    def test_far_above_the_others(self) -> None:
        hit = one(self.counts(alice=20, bob=1, carol=1))
        assert (hit.subject_kind, hit.subject) == (SubjectKind.STAFF, "alice")
        assert hit.evidence["edits"] == 20
        assert hit.evidence["peer_median"] == 1.0

    def test_below_the_minimum(self) -> None:
        assert self.counts(alice=19, bob=1, carol=1) == []

    def test_not_more_than_the_factor(self) -> None:
        assert self.counts(alice=20, bob=4, carol=4) == []  # 20 = 5 × 4
        assert [h.subject for h in self.counts(alice=20, bob=4, carol=3)] == ["alice"]

    def test_two_editors_can_differ(self) -> None:
        assert [h.subject for h in self.counts(alice=100, bob=1)] == ["alice"]

    @pytest.mark.parametrize(("n", "hit"), [(19, False), (20, True)])
    def test_a_lone_editor_is_judged_by_the_minimum(self, n: int, hit: bool) -> None:
        assert bool(self.counts(alice=n)) is hit


# -- 12. duplicate_beneficiary -------------------------------------------------------------------


class TestDuplicateBeneficiary:
    def test_one_id_in_two_households(self) -> None:
        a = visit(member_id=1, household_id=1)
        b = visit(member_id=2, household_id=2)
        members = [member(1, id_index="X"), member(2, id_index="X"), member(3, id_index="Y")]
        hit = one(rules.duplicate_beneficiary(month(a, b, members=members)))
        assert (hit.subject_kind, hit.subject) == (SubjectKind.ID_NUMBER, "X")
        assert hit.evidence["member_ids"] == [1, 2]
        assert hit.evidence["household_ids"] == [1, 2]
        assert set(hit.visit_refs) == {a.visit_ref, b.visit_ref}

    def test_same_household_or_no_index(self) -> None:
        members = [
            member(1, household_id=1, id_index="X"),
            member(2, household_id=1, id_index="X"),
            member(3, household_id=3, id_index=None),
            member(4, household_id=4, id_index=None),
        ]
        assert rules.duplicate_beneficiary(month(visit(), members=members)) == []


# -- 13. provider_outlier ------------------------------------------------------------------------


def provider_visits(
    provider_id: int, n: int = 50, *, recipients: int = 10, manual: int = 0
) -> list[VisitFact]:
    return [
        visit(
            provider_id=provider_id,
            member_id=provider_id * 100 + i % recipients,
            check_in_method="manual" if i < manual else "gps",
        )
        for i in range(n)
    ]


class TestProviderOutlier:
    NORMAL = (10, 10, 9, 10, 11)  # recipients of the normal providers: visits/recipient ≈ 5

    def peers(self, count: int = 5) -> list[VisitFact]:
        return [
            v
            for p, r in enumerate(self.NORMAL[:count], 1)
            for v in provider_visits(p, recipients=r)
        ]

    def test_many_visits_per_recipient(self) -> None:
        hit = one(rules.provider_outlier(month(*self.peers(), *provider_visits(6, recipients=2))))
        assert (hit.subject_kind, hit.subject) == (
            SubjectKind.PROVIDER,
            "provider:6:visits_per_recipient",
        )
        assert hit.evidence["value"] == 25.0
        assert hit.severity is Severity.LOW

    def test_manual_check_ins_when_everyone_else_has_none(self) -> None:
        hit = one(rules.provider_outlier(month(*self.peers(), *provider_visits(6, manual=50))))
        assert hit.subject == "provider:6:manual_check_share"
        assert hit.evidence["mad"] == 0.0  # judged by the mean-absolute-deviation fallback

    def test_a_small_provider_is_not_compared(self) -> None:
        small = provider_visits(6, n=49, recipients=1)
        assert rules.provider_outlier(month(*self.peers(), *small)) == []

    def test_too_few_peers(self) -> None:
        facts = month(*self.peers(3), *provider_visits(6, recipients=2))
        assert rules.provider_outlier(facts) == []

    def test_equal_providers(self) -> None:
        facts = month(*(v for p in range(1, 7) for v in provider_visits(p)))
        assert rules.provider_outlier(facts) == []


# -- 14. ledger_break ----------------------------------------------------------------------------


class TestLedgerBreak:
    def test_broken(self) -> None:
        ledger = LedgerFact(ok=False, entries=120, first_broken_id=42, problem="hash mismatch")
        hit = one(rules.ledger_break(month(ledger=ledger)))
        assert (hit.subject_kind, hit.severity) == (SubjectKind.LEDGER, Severity.CRITICAL)
        assert hit.evidence["first_broken_id"] == 42
        assert "42" in hit.summary

    def test_intact(self) -> None:
        assert rules.ledger_break(month(ledger=LedgerFact(True, 120, None))) == []


# -- registry and run_all ------------------------------------------------------------------------


def quiet_month() -> MonthFacts:
    """A small month with some of everything, none of it anomalous."""
    later = DAY + timedelta(days=1)
    visits = [
        visit(**span("08:00", "09:00")),
        visit(
            member_id=2,
            household_id=2,
            subsidy_fen=3000,
            group="dibao",
            required_certificates=("health",),
            edits=(EditFact("check_out_at", "alice", at("18:00"), "typo"),),
            **span("09:30", "10:30"),
            **living_at(north(3000)),
        ),
        visit(
            member_id=3,
            household_id=3,
            subsidy_fen=2000,
            group="age80",
            check_in_method="qr",
            check_in_lat=None,
            check_in_lon=None,
            **span("08:00", "10:00", later),
        ),
        visit(person_key="p20", worker_id=20, scheduled_worker_id=None, member_id=1),
    ]
    members = [member(1), member(2), member(3, birth_date=date(1940, 1, 1), entitlements=())]
    return month(
        *visits,
        members=members,
        certificates={10: (CertificateFact("health", None),)},
        subsidy_by_member_fen={2: 3000, 3: 2000},
        ledger=LedgerFact(True, 10, None),
    )


def noisy_month() -> MonthFacts:
    """A month in which every rule finds something."""
    providers = [v for p in range(1, 6) for v in provider_visits(p)] + provider_visits(
        6, recipients=2
    )
    visits = [
        visit(check_out_at=None),  # missing_check
        visit(check_in_lat=north(1000)),  # far_location
        visit(scheduled_worker_id=11),  # other_worker
        visit(person_key="p2", **span("09:00", "10:00")),  # overlap
        visit(person_key="p2", **span("09:30", "10:30")),
        visit(person_key="p3", **span("09:00", "10:00")),  # impossible_travel
        visit(person_key="p3", **span("10:05", "11:00"), **living_at(north(30_000))),
        visit(check_out_at=at("09:10")),  # duration_mismatch
        visit(person_key="p4", billed_minutes=1500),  # over_24h
        visit(member_id=2, household_id=2),  # hospital_or_deceased, duplicate_beneficiary
        visit(member_id=3, household_id=3),  # duplicate_beneficiary
        visit(subsidy_fen=3000, group="tekun"),  # entitlement
        visit(required_certificates=("health",)),  # certificate
        visit(edits=edits("alice", 25, when=at("10:00", date(2026, 12, 20)))),  # late, volume
        visit(edits=edits("bob", 1) + edits("carol", 1)),
        *providers,  # provider_outlier
    ]
    members = [
        member(1),
        member(2, id_index="same", periods=(PeriodFact("deceased", date(2026, 11, 1), None),)),
        member(3, id_index="same"),
        *(member(v.member_id) for v in providers),
    ]
    return month(
        *visits,
        members=members,
        ledger=LedgerFact(ok=False, entries=5, first_broken_id=3, problem="hash mismatch"),
    )


class TestRegistry:
    def test_registers_exactly_the_rule_functions(self) -> None:
        functions = {
            f
            for name, f in inspect.getmembers(rules, inspect.isfunction)
            if f.__module__ == rules.__name__ and not name.startswith("_") and f is not run_all
        }
        assert {spec.function for spec in RULES.values()} == functions
        assert len(functions) == 15

    def test_codes_are_unique_function_names_with_titles(self) -> None:
        codes = [spec.code for spec in RULES.values()]
        assert len(set(codes)) == len(codes)
        for code, spec in RULES.items():
            assert code == spec.code == spec.function.__name__
            assert spec.title and spec.description
            assert any("\u4e00" <= ch <= "\u9fff" for ch in spec.title_zh)

    def test_quiet_month(self) -> None:
        assert run_all(quiet_month()) == []

    def test_noisy_month_trips_every_rule(self) -> None:
        hits = run_all(noisy_month())
        assert {h.rule for h in hits} == set(RULES)
        assert [h.rule for h in hits] == sorted(
            (h.rule for h in hits), key=list(RULES).index
        )  # registry order
        assert len({h.key for h in hits}) == len(hits)
        for h in hits:
            json.dumps(dict(h.evidence))
            assert h.summary

    def test_only_some_rules(self) -> None:
        hits = run_all(noisy_month(), only={"ledger_break", "overlap"})
        assert {h.rule for h in hits} == {"ledger_break", "overlap"}

    def test_unknown_rule_code(self) -> None:
        with pytest.raises(ValueError, match="no_such_rule"):
            run_all(quiet_month(), only=["overlap", "no_such_rule"])


# -- a large clean month -------------------------------------------------------------------------

SLOTS = ("08:00", "10:00", "13:00", "15:00")
GROUPS = ("dibao", "tekun", "youfu")


def clean_month(workers: int, *, providers: int = 8, days: int = 31, seed: int = 7) -> MonthFacts:
    """``workers × days × 4`` plausible visits, all of them in order.

    Providers are alike by construction (same workers, members and visits each), so the
    provider measures are equal; everything else is jittered within the thresholds.
    """
    assert workers % providers == 0
    rng = random.Random(seed)
    pool = 100  # members per provider
    members: dict[int, MemberFact] = {}
    homes: dict[int, tuple[float, float]] = {}
    for p in range(providers):
        for k in range(pool):
            m = p * pool + k + 1
            old = k % 5 == 0
            members[m] = member(
                m,
                household_id=(m + 1) // 2,
                birth_date=date(1940, 1, 1) if old else date(1955, 1, 1),
                entitlements=()
                if old
                else (EntitlementFact(GROUPS[k % 3], date(2020, 1, 1), None),),
                monthly_cap_fen=200_000,
            )
            homes[m] = (HOME_LAT + rng.uniform(-0.02, 0.02), HOME_LON + rng.uniform(-0.02, 0.02))
    visits: list[VisitFact] = []
    next_member = [0] * providers
    subsidy: dict[int, int] = {}
    staff = [f"staff{i}" for i in range(10)]
    n = 0
    for d in range(days):
        day = date(2026, 12, 1) + timedelta(days=d)
        for w in range(workers):
            p = w % providers
            for slot in SLOTS:
                m = p * pool + next_member[p] % pool + 1
                next_member[p] += 1
                n += 1
                lat, lon = homes[m]
                start = at(slot, day)
                check_in = start + timedelta(minutes=rng.randint(-5, 5))
                subsidised = m % 2 == 0
                group = "age80" if (m - 1) % pool % 5 == 0 else GROUPS[(m - 1) % pool % 3]
                fen = 2000 if subsidised else 0
                subsidy[m] = subsidy.get(m, 0) + fen
                visits.append(
                    VisitFact(
                        visit_id=n,
                        visit_ref=f"v{n}",
                        order_ref=f"o{n}",
                        provider_id=p + 1,
                        worker_id=w + 1,
                        person_key=f"p{w + 1}",
                        scheduled_worker_id=w + 1,
                        member_id=m,
                        household_id=members[m].household_id,
                        item_code="clean-1h",
                        service_class="domestic",
                        service_date=day,
                        home_lat=lat,
                        home_lon=lon,
                        scheduled_start=start,
                        scheduled_end=start + timedelta(hours=1),
                        check_in_at=check_in,
                        check_in_method=rng.choice(("gps", "qr")),
                        check_in_lat=lat + rng.uniform(-0.0003, 0.0003),
                        check_in_lon=lon + rng.uniform(-0.0003, 0.0003),
                        check_out_at=check_in + timedelta(minutes=rng.randint(50, 70)),
                        check_out_method="gps",
                        check_out_lat=lat,
                        check_out_lon=lon,
                        billed_minutes=60,
                        price_fen=6000,
                        subsidy_fen=fen,
                        group=group if subsidised else None,
                        required_certificates=("health",) if n % 3 == 0 else (),
                        edits=(
                            (
                                EditFact(
                                    "check_out_at",
                                    staff[n // 50 % 10],
                                    start + timedelta(days=2),
                                    "fix",
                                ),
                            )
                            if n % 50 == 0
                            else ()
                        ),
                    )
                )
    return MonthFacts(
        month="2026-12",
        first_day=date(2026, 12, 1),
        last_day=date(2026, 12, 31),
        visits=tuple(visits),
        members=MappingProxyType(members),
        certificates=MappingProxyType(
            {w + 1: (CertificateFact("health", date(2027, 6, 30)),) for w in range(workers)}
        ),
        subsidy_by_member_fen=MappingProxyType(subsidy),
        ledger=LedgerFact(True, len(visits), None),
    )


def test_a_large_clean_month_is_silent() -> None:
    facts = clean_month(160)
    assert len(facts.visits) == 19_840
    hits = run_all(facts)
    assert hits == [], [h.summary for h in hits[:5]]


def test_the_clean_month_is_silent_for_its_own_sake() -> None:
    """Spoiling a single visit of the generated month is noticed, so silence means something."""
    facts = clean_month(8, days=2)
    first, second = facts.visits[0], facts.visits[1]
    assert first.check_in_at is not None
    moved = first.check_in_at + timedelta(minutes=30)
    spoiled = {
        "far_location": replace(first, check_in_lat=north(5000, first.home_lat)),
        "overlap": replace(second, check_in_at=moved, check_out_at=moved + timedelta(hours=1)),
        "missing_check": replace(second, check_out_at=None),
    }
    for code, bad in spoiled.items():
        visits = tuple(bad if v.visit_id == bad.visit_id else v for v in facts.visits)
        assert {h.rule for h in run_all(replace(facts, visits=visits))} == {code}
