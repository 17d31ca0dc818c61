"""EVV verdicts on single visits and compliance per provider."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from audit.evv import Compliance, EvvStatus, compliance, verify
from audit.facts import EditFact, Thresholds
from tests.audit.test_rules import HOME_LAT, north, visit


def test_a_gps_visit_at_the_home_is_verified() -> None:
    result = verify(visit())
    assert (result.status, result.reasons) == (EvvStatus.VERIFIED, ())


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"check_in_at": None}, "check-in missing"),
        ({"check_out_at": None}, "check-out missing"),
        ({"check_in_method": None}, "check-in: no capture method"),
        ({"check_out_lat": None}, "check-out: GPS without coordinates"),
        ({"check_in_lat": north(301)}, "check-in: 301 m from the home"),
        ({"item_code": ""}, "service missing"),
        ({"check_in_lat": 91.0}, "check-in: coordinates out of range"),
    ],
)
def test_an_incomplete_or_distant_record_is_an_exception(
    overrides: dict[str, object], reason: str
) -> None:
    result = verify(visit(**overrides))
    assert result.status is EvvStatus.EXCEPTION
    assert reason in result.reasons, result.reasons


def test_the_radius_is_inclusive_and_configurable() -> None:
    assert verify(visit(check_in_lat=north(299))).status is EvvStatus.VERIFIED
    far = visit(check_in_lat=north(450))
    assert verify(far).status is EvvStatus.EXCEPTION
    assert verify(far, Thresholds(location_radius_m=500)).status is EvvStatus.VERIFIED


@pytest.mark.parametrize("method", ["qr", "phone"])
def test_qr_and_phone_prove_presence_without_coordinates(method: str) -> None:
    v = visit(check_in_method=method, check_in_lat=None, check_in_lon=None)
    assert verify(v).status is EvvStatus.VERIFIED


def test_a_manual_entry_or_an_edit_is_verified_after_edit() -> None:
    manual = visit(check_out_method="manual", check_out_lat=None, check_out_lon=None)
    assert verify(manual).status is EvvStatus.VERIFIED_AFTER_EDIT
    edit = EditFact(
        field="check_in_at", editor="staff", at=datetime(2026, 12, 3, tzinfo=UTC), reason="x"
    )
    assert verify(visit(edits=(edit,))).status is EvvStatus.VERIFIED_AFTER_EDIT
    # An edit does not make an exception good.
    assert verify(visit(edits=(edit,), check_out_at=None)).status is EvvStatus.EXCEPTION


def test_compliance_is_the_share_verified_without_edit_per_provider() -> None:
    results = [
        verify(visit(provider_id=1)),
        verify(visit(provider_id=1)),
        verify(visit(provider_id=1, check_in_method="manual")),
        verify(visit(provider_id=1, check_in_at=None)),
        verify(visit(provider_id=2, check_in_lat=north(1000, HOME_LAT))),
    ]
    assert compliance(results) == [Compliance(1, 4, 2, 1, 1), Compliance(2, 1, 0, 0, 1)]
    assert compliance(results)[0].rate == 0.5
    assert Compliance(3, 0, 0, 0, 0).rate == 1.0
