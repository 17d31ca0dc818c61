"""Tariffs and order prices: units, guide cap, surcharges, parts, rounding; holiday calendar."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import Validation
from core.timeutil import LOCAL_TZ, local_datetime
from pricing.holidays import HolidayCalendar, default_calendar
from pricing.tariff import (
    PriceBreakdown,
    PriceLine,
    Surcharges,
    Tariff,
    Unit,
    price_order,
)

NO_HOLIDAYS = HolidayCalendar(days=frozenset())
WORKDAY = date(2026, 3, 10)  # a Tuesday, no holiday
DAY_BEFORE = local_datetime(WORKDAY - timedelta(days=1), time(9, 0))
ALL_SURCHARGES = Surcharges(
    night_percent=20, holiday_percent=100, urgent_percent=50, radius_m=2000, per_km_fen=500
)


def price(
    tariff: Tariff,
    *,
    start: datetime | None = None,
    minutes: int = 60,
    ordered_at: datetime = DAY_BEFORE,
    holidays: HolidayCalendar = NO_HOLIDAYS,
    **kwargs: Any,
) -> PriceBreakdown:
    return price_order(
        tariff,
        start=start or local_datetime(WORKDAY, time(10, 0)),
        minutes=minutes,
        ordered_at=ordered_at,
        holidays=holidays,
        **kwargs,
    )


def kinds(breakdown: PriceBreakdown) -> dict[str, int]:
    return {line.kind: line.fen for line in breakdown.lines}


class TestHourly:
    def test_whole_quarter_hours_bill_as_they_are(self) -> None:
        b = price(Tariff(Unit.HOUR, 4500), minutes=75)
        assert b.billed_minutes == 75
        assert b.labour_fen == b.total_fen == 5625
        assert b.lines == (PriceLine("labour", 5625, "1 h 15 min at 45.00 yuan/h"),)

    def test_a_started_quarter_hour_is_billed_in_full(self) -> None:
        b = price(Tariff(Unit.HOUR, 4500), minutes=76)
        assert b.billed_minutes == 90
        assert b.total_fen == 6750
        assert b.lines[0].detail == "1 h 30 min at 45.00 yuan/h"

    def test_one_hour_minimum(self) -> None:
        b = price(Tariff(Unit.HOUR, 4500), minutes=30)
        assert b.billed_minutes == 60
        assert b.total_fen == 4500
        assert b.lines[0].detail == "1 h at 45.00 yuan/h"

    def test_quantity_multiplies(self) -> None:
        b = price(Tariff(Unit.HOUR, 4500), minutes=75, quantity=2)
        assert b.total_fen == 11250
        assert b.quantity == 2
        assert b.lines[0].detail == "2 × 1 h 15 min at 45.00 yuan/h"


class TestPerVisitAndPerMeal:
    def test_visit_price_times_quantity_ignores_duration(self) -> None:
        b = price(Tariff(Unit.VISIT, 8000), minutes=200, quantity=2)
        assert b.total_fen == b.labour_fen == 16000
        assert b.billed_minutes is None
        assert b.lines[0].detail == "2 visits at 80.00 yuan/visit"

    def test_meal_price_times_quantity(self) -> None:
        b = price(Tariff(Unit.MEAL, 1550), minutes=5, quantity=3)
        assert b.total_fen == 4650
        assert b.lines[0].detail == "3 meals at 15.50 yuan/meal"

    def test_unit_given_as_text_is_coerced(self) -> None:
        assert Tariff("meal", 1500).unit is Unit.MEAL  # type: ignore[arg-type]


class TestGuidePrice:
    def test_subsidised_order_is_capped_at_the_guide_and_flagged(self) -> None:
        b = price(Tariff(Unit.HOUR, 5000, guide_price_fen=4000), subsidised=True)
        assert b.unit_price_fen == 4000
        assert b.capped_by_guide is True
        assert b.total_fen == 4000
        assert "capped at the guide price" in b.lines[0].detail

    def test_unsubsidised_order_pays_the_provider_price(self) -> None:
        b = price(Tariff(Unit.HOUR, 5000, guide_price_fen=4000), subsidised=False)
        assert b.unit_price_fen == 5000
        assert b.capped_by_guide is False
        assert b.total_fen == 5000

    def test_provider_price_below_the_guide_is_not_raised(self) -> None:
        b = price(Tariff(Unit.VISIT, 3500, guide_price_fen=4000), subsidised=True)
        assert b.unit_price_fen == 3500
        assert b.capped_by_guide is False
        assert b.total_fen == 3500

    def test_no_guide_price_no_cap(self) -> None:
        b = price(Tariff(Unit.MEAL, 2000), subsidised=True)
        assert (b.unit_price_fen, b.capped_by_guide) == (2000, False)

    def test_surcharges_apply_to_the_capped_labour(self) -> None:
        tariff = Tariff(Unit.HOUR, 5000, 4000, Surcharges(night_percent=20))
        b = price(tariff, start=local_datetime(WORKDAY, time(21, 0)), subsidised=True)
        assert kinds(b) == {"labour": 4000, "night": 800}


class TestSurcharges:
    tariff = Tariff(Unit.HOUR, 6000, surcharges=ALL_SURCHARGES)

    def test_none_applies_on_a_weekday_morning_booked_ahead_nearby(self) -> None:
        assert kinds(price(self.tariff, distance_m=2000)) == {"labour": 6000}

    def test_night_alone(self) -> None:
        b = price(self.tariff, start=local_datetime(WORKDAY, time(21, 0)))
        assert kinds(b) == {"labour": 6000, "night": 1200}
        assert b.lines[1].detail == "night +20 % of labour"

    def test_holiday_alone(self) -> None:
        calendar = HolidayCalendar(days=frozenset({WORKDAY}))
        b = price(self.tariff, holidays=calendar)
        assert kinds(b) == {"labour": 6000, "holiday": 6000}

    def test_urgent_alone(self) -> None:
        b = price(self.tariff, ordered_at=local_datetime(WORKDAY, time(8, 0)))
        assert kinds(b) == {"labour": 6000, "urgent": 3000}

    def test_all_add_on_labour_without_compounding(self) -> None:
        day = date(2026, 10, 1)
        b = price(
            self.tariff,
            start=local_datetime(day, time(21, 0)),
            ordered_at=local_datetime(day, time(8, 0)),
            distance_m=5000,
            holidays=default_calendar(),
        )
        assert kinds(b) == {
            "labour": 6000,
            "night": 1200,
            "holiday": 6000,
            "urgent": 3000,
            "distance": 1500,
        }
        assert b.total_fen == 17700
        assert b.labour_fen == 6000

    @pytest.mark.parametrize(
        ("at", "night"),
        [
            (time(19, 59), False),
            (time(20, 0), True),
            (time(23, 59), True),
            (time(0, 0), True),
            (time(6, 59), True),
            (time(7, 0), False),
            (time(12, 0), False),
        ],
    )
    def test_night_window_edges(self, at: time, night: bool) -> None:
        b = price(self.tariff, start=local_datetime(WORKDAY, at))
        assert ("night" in kinds(b)) is night

    @pytest.mark.parametrize(
        ("at", "night"), [(time(23, 59), False), (time(0, 0), True), (time(5, 59), True)]
    )
    def test_night_window_that_does_not_span_midnight(self, at: time, night: bool) -> None:
        rules = Surcharges(night_percent=10, night_start=time(0, 0), night_end=time(6, 0))
        b = price(Tariff(Unit.VISIT, 1000, surcharges=rules), start=local_datetime(WORKDAY, at))
        assert ("night" in kinds(b)) is night

    def test_night_is_judged_on_local_time(self) -> None:
        start = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)  # 20:30 in Shanghai
        assert "night" in kinds(price(self.tariff, start=start))

    def test_holiday_comes_from_the_calendar(self) -> None:
        calendar = default_calendar()
        eve = price(
            self.tariff,
            start=local_datetime(date(2026, 2, 16), time(10, 0)),
            ordered_at=local_datetime(date(2026, 2, 10), time(9, 0)),
            holidays=calendar,
        )
        swapped_rest_day = price(
            self.tariff, start=local_datetime(date(2026, 2, 20), time(10, 0)), holidays=calendar
        )
        assert kinds(eve)["holiday"] == 6000
        assert "holiday" not in kinds(swapped_rest_day)

    def test_urgent_compares_local_dates_across_the_utc_boundary(self) -> None:
        start = local_datetime(date(2026, 12, 2), time(10, 0))  # 02:00 UTC on Dec 2
        ordered_same_local_day = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # Dec 2 01:00 local
        ordered_day_before = datetime(2026, 12, 1, 15, 59, tzinfo=UTC)  # Dec 1 23:59 local
        urgent = price(self.tariff, start=start, ordered_at=ordered_same_local_day)
        assert kinds(urgent)["urgent"] == 3000
        assert "urgent" not in kinds(price(self.tariff, start=start, ordered_at=ordered_day_before))

    @pytest.mark.parametrize(
        ("distance_m", "fen", "detail"),
        [
            (0, None, None),
            (2000, None, None),
            (2001, 500, "1 km beyond 2 km at 5.00 yuan/km"),
            (3000, 500, "1 km beyond 2 km at 5.00 yuan/km"),
            (3001, 1000, "2 km beyond 2 km at 5.00 yuan/km"),
            (5000, 1500, "3 km beyond 2 km at 5.00 yuan/km"),
        ],
    )
    def test_distance_per_started_km_beyond_the_radius(
        self, distance_m: int, fen: int | None, detail: str | None
    ) -> None:
        lines = [
            line
            for line in price(self.tariff, distance_m=distance_m).lines
            if line.kind == "distance"
        ]
        assert lines == ([] if fen is None else [PriceLine("distance", fen, str(detail))])

    def test_no_distance_charge_without_a_per_km_price(self) -> None:
        tariff = Tariff(Unit.VISIT, 1000, surcharges=Surcharges(radius_m=1000))
        assert kinds(price(tariff, distance_m=50_000)) == {"labour": 1000}

    def test_zero_percent_adds_no_line(self) -> None:
        b = price(
            Tariff(Unit.VISIT, 1000),
            start=local_datetime(WORKDAY, time(22, 0)),
            ordered_at=local_datetime(WORKDAY, time(8, 0)),
        )
        assert kinds(b) == {"labour": 1000}


class TestRepairParts:
    def test_parts_are_neither_surcharged_nor_subsidisable(self) -> None:
        tariff = Tariff(
            Unit.VISIT, 8000, surcharges=Surcharges(night_percent=50, urgent_percent=50)
        )
        b = price(
            tariff,
            start=local_datetime(WORKDAY, time(22, 0)),
            ordered_at=local_datetime(WORKDAY, time(21, 0)),
            parts_fen=12000,
        )
        assert kinds(b) == {"labour": 8000, "night": 4000, "urgent": 4000, "parts": 12000}
        assert b.total_fen == 28000
        assert b.parts_fen == 12000
        assert b.subsidisable_fen == 16000

    def test_no_parts_no_line(self) -> None:
        assert "parts" not in kinds(price(Tariff(Unit.VISIT, 8000)))


class TestRounding:
    @pytest.mark.parametrize(("unit_fen", "labour"), [(2, 3), (33, 41), (6, 8), (30, 38)])
    def test_hourly_labour_rounds_half_up(self, unit_fen: int, labour: int) -> None:
        # 75 min: 2 → 2.5 → 3; 33 → 41.25 → 41; 6 → 7.5 → 8; 30 → 37.5 → 38
        assert price(Tariff(Unit.HOUR, unit_fen), minutes=75).labour_fen == labour

    @pytest.mark.parametrize(("unit_fen", "night"), [(5, 1), (4, 0), (15, 2), (14, 1)])
    def test_surcharge_rounds_half_up(self, unit_fen: int, night: int) -> None:
        # 10 %: 0.5 → 1, 0.4 → 0, 1.5 → 2, 1.4 → 1
        tariff = Tariff(Unit.VISIT, unit_fen, surcharges=Surcharges(night_percent=10))
        b = price(tariff, start=local_datetime(WORKDAY, time(23, 0)))
        assert kinds(b)["night"] == night


class TestToDict:
    def test_is_json_friendly_and_complete(self) -> None:
        b = price(
            Tariff(Unit.HOUR, 4500, surcharges=ALL_SURCHARGES),
            minutes=30,
            distance_m=2500,
            parts_fen=300,
        )
        data = b.to_dict()
        assert json.loads(json.dumps(data)) == data
        assert data == {
            "lines": [
                {"kind": "labour", "fen": 4500, "detail": "1 h at 45.00 yuan/h"},
                {"kind": "distance", "fen": 500, "detail": "1 km beyond 2 km at 5.00 yuan/km"},
                {"kind": "parts", "fen": 300, "detail": "parts, not surcharged or subsidised"},
            ],
            "total_fen": 5300,
            "subsidisable_fen": 5000,
            "labour_fen": 4500,
            "parts_fen": 300,
            "unit_price_fen": 4500,
            "capped_by_guide": False,
            "billed_minutes": 60,
            "quantity": 1,
        }


NAIVE = datetime(2026, 3, 10, 10, 0)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Tariff(Unit.HOUR, 0), "unit price must be positive"),
        (lambda: Tariff(Unit.HOUR, -100), "unit price must be positive"),
        (lambda: Tariff(Unit.HOUR, 100, guide_price_fen=0), "guide price must be positive"),
        (lambda: Tariff("day", 100), "unknown pricing unit 'day'"),  # type: ignore[arg-type]
        (lambda: Surcharges(night_percent=301), "night_percent must be between 0 and 300"),
        (lambda: Surcharges(urgent_percent=-1), "urgent_percent must be between 0 and 300"),
        (lambda: Surcharges(radius_m=-1), "radius cannot be negative"),
        (lambda: Surcharges(per_km_fen=-1), "per-km distance surcharge cannot be negative"),
        (
            lambda: Surcharges(night_start=time(7, 0), night_end=time(7, 0)),
            "night window must start and end at different times",
        ),
        (
            lambda: Surcharges(night_start=time(20, 0, tzinfo=UTC)),
            "night window is local wall-clock time",
        ),
        (lambda: price(Tariff(Unit.HOUR, 100), minutes=0), "duration in minutes must be positive"),
        (lambda: price(Tariff(Unit.MEAL, 100), minutes=-5), "duration in minutes must be positive"),
        (lambda: price(Tariff(Unit.MEAL, 100), quantity=0), "quantity must be at least 1"),
        (lambda: price(Tariff(Unit.VISIT, 100), distance_m=-1), "distance cannot be negative"),
        (lambda: price(Tariff(Unit.VISIT, 100), parts_fen=-1), "parts price cannot be negative"),
        (
            lambda: price(Tariff(Unit.VISIT, 100), start=NAIVE),
            "service start must be a timezone-aware datetime",
        ),
        (
            lambda: price(Tariff(Unit.VISIT, 100), ordered_at=NAIVE),
            "order time must be a timezone-aware datetime",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(Validation, match=message):
        make()


# --- properties --------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2026, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.sampled_from([UTC, LOCAL_TZ]),
)
surcharges = st.builds(
    Surcharges,
    night_percent=st.integers(0, 300),
    holiday_percent=st.integers(0, 300),
    urgent_percent=st.integers(0, 300),
    radius_m=st.integers(0, 10_000),
    per_km_fen=st.integers(0, 2_000),
)


def tariffs(units: st.SearchStrategy[Unit] = st.sampled_from(Unit)) -> st.SearchStrategy[Tariff]:
    return st.builds(
        Tariff,
        unit=units,
        unit_price_fen=st.integers(1, 100_000),
        guide_price_fen=st.none() | st.integers(1, 100_000),
        surcharges=surcharges,
    )


@st.composite
def orders(
    draw: st.DrawFn, units: st.SearchStrategy[Unit] = st.sampled_from(Unit)
) -> dict[str, Any]:
    start = draw(instants)
    return {
        "tariff": draw(tariffs(units)),
        "start": start,
        "ordered_at": start - timedelta(minutes=draw(st.integers(0, 3 * 24 * 60))),
        "minutes": draw(st.integers(1, 600)),
        "quantity": draw(st.integers(1, 5)),
        "distance_m": draw(st.integers(0, 30_000)),
        "parts_fen": draw(st.integers(0, 100_000)),
        "subsidised": draw(st.booleans()),
        "holidays": default_calendar(),
    }


@given(orders())
def test_totals_add_up(order: dict[str, Any]) -> None:
    b = price_order(**order)
    assert b.total_fen == sum(line.fen for line in b.lines)
    assert b.subsidisable_fen == b.total_fen - b.parts_fen
    assert b.parts_fen == order["parts_fen"]
    assert all(line.fen >= 0 for line in b.lines)
    assert b.lines[0] == PriceLine("labour", b.labour_fen, b.lines[0].detail)


@given(orders(st.just(Unit.HOUR)), st.integers(0, 600))
def test_hourly_total_never_falls_with_more_minutes(order: dict[str, Any], more: int) -> None:
    shorter = price_order(**order)
    longer = price_order(**{**order, "minutes": order["minutes"] + more})
    assert shorter.total_fen <= longer.total_fen


@given(orders())
def test_unit_price_applied_is_capped_only_when_subsidised(order: dict[str, Any]) -> None:
    b = price_order(**order)
    tariff: Tariff = order["tariff"]
    assert b.unit_price_fen <= tariff.unit_price_fen
    if order["subsidised"] and tariff.guide_price_fen is not None:
        assert b.unit_price_fen <= tariff.guide_price_fen
        assert b.capped_by_guide is (tariff.guide_price_fen < tariff.unit_price_fen)
    else:
        assert b.unit_price_fen == tariff.unit_price_fen
        assert b.capped_by_guide is False


# --- holiday calendar --------------------------------------------------------------------

STATUTORY_DAYS = {
    "元旦": ["2026-01-01", "2027-01-01"],
    "春节": [
        "2026-02-16",
        "2026-02-17",
        "2026-02-18",
        "2026-02-19",
        "2027-02-05",
        "2027-02-06",
        "2027-02-07",
        "2027-02-08",
    ],
    "清明节": ["2026-04-05", "2027-04-05"],
    "劳动节": ["2026-05-01", "2026-05-02", "2027-05-01", "2027-05-02"],
    "端午节": ["2026-06-19", "2027-06-09"],
    "中秋节": ["2026-09-25", "2027-09-15"],
    "国庆节": ["2026-10-01", "2026-10-02", "2026-10-03", "2027-10-01", "2027-10-02", "2027-10-03"],
}


class TestHolidayCalendar:
    def test_shipped_file_has_exactly_the_statutory_days(self) -> None:
        calendar = default_calendar()
        expected = {date.fromisoformat(d) for days in STATUTORY_DAYS.values() for d in days}
        assert len(expected) == 26
        assert calendar.days == expected
        assert calendar.version

    def test_shipped_file_names_each_day_in_chinese(self) -> None:
        raw = json.loads(
            (resources.files("pricing") / "data" / "holidays.json").read_text(encoding="utf-8")
        )
        names: dict[str, list[str]] = {}
        for entry in raw["days"]:
            names.setdefault(entry["name"], []).append(entry["date"])
        assert names == STATUTORY_DAYS

    @pytest.mark.parametrize(
        ("day", "holiday"),
        [
            (date(2026, 2, 16), True),  # 除夕
            (date(2026, 2, 20), False),  # a swapped rest day, not statutory
            (date(2026, 10, 4), False),
            (date(2027, 6, 9), True),
        ],
    )
    def test_is_holiday(self, day: date, holiday: bool) -> None:
        assert default_calendar().is_holiday(day) is holiday

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (
                {"version": "v", "days": [{"date": "2026-01-01", "name": "元旦"}] * 2},
                "holiday 2026-01-01 is listed twice",
            ),
            (
                {"version": "v", "days": [{"date": "2026-02-30", "name": "春节"}]},
                "'2026-02-30' is not a valid YYYY-MM-DD date",
            ),
            (
                {"version": "v", "days": [{"date": "20260101", "name": "元旦"}]},
                "'20260101' is not written as YYYY-MM-DD",
            ),
            ({"version": "v", "days": [{"date": "2026-01-01"}]}, "needs a name"),
            ({"version": "v", "days": [{"name": "元旦"}]}, "needs a date"),
            ({"days": []}, "needs a non-empty version"),
            ({"version": "v"}, "needs a list of days"),
            (["2026-01-01"], "must be an object"),
        ],
    )
    def test_from_dict_refuses_bad_data(self, data: object, message: str) -> None:
        with pytest.raises(Validation, match=message):
            HolidayCalendar.from_dict(data)

    def test_from_dict_reads_days(self) -> None:
        calendar = HolidayCalendar.from_dict(
            {"version": "test", "days": [{"date": "2026-03-10", "name": "测试"}]}
        )
        assert calendar.days == {date(2026, 3, 10)}
        assert calendar.version == "test"
