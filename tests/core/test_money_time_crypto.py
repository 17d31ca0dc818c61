"""Core value types: money in fen, aware UTC time, personal-data encryption, settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from cryptography.exceptions import InvalidTag

from core import crypto
from core.geo import Point, haversine_m
from core.ids import new_public_id
from core.money import Money
from core.settings import Settings
from core.timeutil import local_datetime, local_day_bounds, to_local, to_utc


class TestMoney:
    def test_parse_yuan_exactly(self) -> None:
        assert Money.yuan("12.50").fen == 1250
        assert Money.yuan(3).fen == 300
        with pytest.raises(ValueError, match="decimal"):
            Money.yuan("0.001")
        with pytest.raises(ValueError, match="not a money"):
            Money.yuan("abc")

    def test_refuses_floats_and_mixed_currency(self) -> None:
        with pytest.raises(TypeError):
            Money(1.5)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="currency"):
            _ = Money(100) + Money(100, "USD")

    def test_arithmetic_and_display(self) -> None:
        assert str(Money(12345) - Money(45)) == "¥123.00"
        assert str(-Money(5)) == "-¥0.05"
        assert Money(999).share(1, 3) == Money(333)
        assert Money(1000).times(3) == Money(3000)


class TestTime:
    def test_local_day_bounds_are_utc(self) -> None:
        start, end = local_day_bounds(date(2026, 12, 1))
        assert start == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
        assert (end - start).total_seconds() == 86400

    def test_naive_datetimes_are_refused(self) -> None:
        with pytest.raises(ValueError, match="naive"):
            to_utc(datetime(2026, 12, 1, 9, 0))

    def test_round_trip_local(self) -> None:
        nine = local_datetime(date(2026, 12, 1), time(9))
        assert to_utc(nine).hour == 1
        assert to_local(to_utc(nine)) == nine


class TestCrypto:
    def test_encrypt_round_trip_and_context_binding(self) -> None:
        blob = crypto.encrypt("350102194005011234", context="member.id_number")
        assert b"350102" not in blob
        assert crypto.decrypt(blob, context="member.id_number") == "350102194005011234"
        with pytest.raises(InvalidTag):
            crypto.decrypt(blob, context="other.column")

    def test_blind_index_is_stable_and_keyed(self) -> None:
        a = crypto.blind_index("35010219400501123x", context="c")
        assert a == crypto.blind_index(" 35010219400501123X ", context="c")
        other = Settings(index_key="another-key")
        assert a != crypto.blind_index("35010219400501123X", context="c", settings=other)

    def test_mask(self) -> None:
        assert crypto.mask_id_number("350102194005011234") == "350102********1234"


def test_settings_refuse_default_secrets_outside_development() -> None:
    with pytest.raises(ValueError, match="LINLI_SECRET_KEY"):
        Settings(environment="production")
    ok = Settings(
        environment="production",
        secret_key="s" * 40,
        data_key="cHJvZHVjdGlvbi1kYXRhLWtleS0zMi1ieXRlcy1sb25n",
        index_key="i" * 40,
        audit_signing_key="c2lnbmluZy1rZXktb2YtdGhpcnR5LXR3by1ieXRlcyE=",
    )
    assert ok.environment == "production"


def test_default_urls_are_embedded(tmp_path: object) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.resolved_database_url.startswith("sqlite:///")
    assert s.resolved_broker_url.startswith("sqla+sqlite:///")
    assert s.resolved_result_backend.startswith("db+sqlite:///")
    redis = Settings(broker_url="redis://127.0.0.1:6379/0")
    assert redis.resolved_result_backend == "redis://127.0.0.1:6379/0"


def test_public_ids_are_random_and_reproducible_only_with_a_seed() -> None:
    import random

    assert new_public_id("ord") != new_public_id("ord")
    assert new_public_id("ord", random.Random(1)) == new_public_id("ord", random.Random(1))


def test_haversine_fuzhou_to_mawei() -> None:
    # Gulou centre to Mawei: about 17 km.
    d = haversine_m(Point(26.082, 119.296), Point(25.991, 119.455))
    assert 16_000 < d < 19_000
