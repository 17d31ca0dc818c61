"""Billing units: one-hour minimum, 15-minute steps, integer fen."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import Validation
from pricing.billing import PriceSnapshot, billable_minutes, list_price


@pytest.mark.parametrize(
    ("minutes", "billed"), [(1, 60), (60, 60), (61, 75), (75, 75), (76, 90), (181, 195)]
)
def test_billable_minutes(minutes: int, billed: int) -> None:
    assert billable_minutes(minutes) == billed


def test_hourly_price_and_breakdown() -> None:
    snap = list_price("hour", 5000, minutes=100)
    assert snap.list_price_fen == 8750
    assert snap.copay_fen == 8750
    assert snap.breakdown == {
        "unit": "hour",
        "unit_price_fen": 5000,
        "billed_minutes": 105,
        "quantity": 1,
    }


def test_per_meal_price_times_quantity() -> None:
    assert list_price("meal", 1500, minutes=5, quantity=3).list_price_fen == 4500


def test_odd_unit_price_rounds_half_up_to_the_fen() -> None:
    # 33 fen/h for 75 min = 41.25 fen → 41
    assert list_price("hour", 33, minutes=75).list_price_fen == 41
    # 2 fen/h for 75 min = 2.5 fen → 3
    assert list_price("hour", 2, minutes=75).list_price_fen == 3


@given(st.integers(0, 100_000), st.integers(1, 600))
def test_hourly_price_is_never_below_one_hour(unit_price: int, minutes: int) -> None:
    assert list_price("hour", unit_price, minutes=minutes).list_price_fen >= unit_price


def test_refuses_bad_input() -> None:
    with pytest.raises(Validation):
        billable_minutes(0)
    with pytest.raises(Validation):
        list_price("visit", -1, minutes=30)
    with pytest.raises(Validation):
        PriceSnapshot(list_price_fen=100, subsidy_fen=101)
