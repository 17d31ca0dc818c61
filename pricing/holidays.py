"""Statutory holiday calendar (法定节假日) for the holiday surcharge."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from core.errors import Validation


@dataclass(frozen=True)
class HolidayCalendar:
    """The statutory holiday days; swapped rest days are not holidays."""

    days: frozenset[date]
    version: str | None = None

    def is_holiday(self, day: date) -> bool:
        """Whether ``day`` is a statutory holiday."""
        return day in self.days

    @classmethod
    def from_dict(cls, data: object) -> HolidayCalendar:
        """Parse ``{"version": "...", "days": [{"date": "2026-01-01", "name": "元旦"}, ...]}``."""
        if not isinstance(data, dict):
            raise Validation("a holiday calendar must be an object with a version and days")
        version = data.get("version")
        if not isinstance(version, str) or not version:
            raise Validation("a holiday calendar needs a non-empty version string")
        entries = data.get("days")
        if not isinstance(entries, list):
            raise Validation("a holiday calendar needs a list of days")
        days: set[date] = set()
        for entry in entries:
            day = _parse_entry(entry)
            if day in days:
                raise Validation(f"holiday {day.isoformat()} is listed twice")
            days.add(day)
        return cls(days=frozenset(days), version=version)


def _parse_entry(entry: object) -> date:
    if not isinstance(entry, dict):
        raise Validation("each holiday must be an object with a date and a name")
    text = entry.get("date")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise Validation(f"holiday {text!r} needs a name")
    if not isinstance(text, str):
        raise Validation(f"holiday {name!r} needs a date as YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Validation(f"holiday date {text!r} is not a valid YYYY-MM-DD date") from None
    # fromisoformat also accepts forms such as 20260101 or 2026-W01-4; the file uses one form.
    if day.isoformat() != text:
        raise Validation(f"holiday date {text!r} is not written as YYYY-MM-DD")
    return day


@cache
def default_calendar() -> HolidayCalendar:
    """The shipped calendar, ``pricing/data/holidays.json``."""
    resource = resources.files("pricing") / "data" / "holidays.json"
    return HolidayCalendar.from_dict(json.loads(resource.read_text(encoding="utf-8")))
