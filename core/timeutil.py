"""Time: timezone-aware, stored in UTC, shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def ensure_aware(value: datetime) -> datetime:
    """Refuse naive datetimes: an instant without a zone is ambiguous."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"naive datetime not allowed: {value.isoformat()}")
    return value


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC."""
    return ensure_aware(value).astimezone(UTC)


def to_local(value: datetime) -> datetime:
    """The same instant in Asia/Shanghai, for display."""
    return ensure_aware(value).astimezone(LOCAL_TZ)


def local_datetime(day: date, at: time) -> datetime:
    """A wall-clock time on a local (Asia/Shanghai) day, as an aware datetime."""
    return datetime.combine(day, at, tzinfo=LOCAL_TZ)


def local_date(value: datetime) -> date:
    """The Asia/Shanghai calendar day of an instant."""
    return to_local(value).date()


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """UTC start (inclusive) and end (exclusive) of a local calendar day."""
    start = local_datetime(day, time(0, 0))
    return to_utc(start), to_utc(start + timedelta(days=1))


def format_local(value: datetime) -> str:
    """Display form: ``2026-11-27 09:30`` in Asia/Shanghai."""
    return to_local(value).strftime("%Y-%m-%d %H:%M")
