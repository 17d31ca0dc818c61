"""A provider's tariff for one catalog item and the price of one order. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Any

from core.errors import Validation
from core.timeutil import to_local
from pricing.billing import billable_minutes
from pricing.holidays import HolidayCalendar

MAX_SURCHARGE_PERCENT = 300


class Unit(StrEnum):
    """How a catalog item is priced."""

    HOUR = "hour"
    VISIT = "visit"
    MEAL = "meal"


@dataclass(frozen=True, slots=True)
class Surcharges:
    """Extra charges on labour (percent) and for distance; times are local Asia/Shanghai."""

    night_percent: int = 0
    night_start: time = time(20, 0)
    night_end: time = time(7, 0)
    holiday_percent: int = 0
    urgent_percent: int = 0
    radius_m: int = 0
    per_km_fen: int = 0

    def __post_init__(self) -> None:
        for name in ("night_percent", "holiday_percent", "urgent_percent"):
            percent = getattr(self, name)
            if not 0 <= percent <= MAX_SURCHARGE_PERCENT:
                raise Validation(
                    f"{name} must be between 0 and {MAX_SURCHARGE_PERCENT}, not {percent}"
                )
        if self.radius_m < 0:
            raise Validation("the distance surcharge radius cannot be negative")
        if self.per_km_fen < 0:
            raise Validation("the per-km distance surcharge cannot be negative")
        if self.night_start.tzinfo is not None or self.night_end.tzinfo is not None:
            raise Validation("the night window is local wall-clock time, without a time zone")
        if self.night_start == self.night_end:
            raise Validation("the night window must start and end at different times")

    def is_night(self, local_start: time) -> bool:
        """Whether a service starting at this local wall-clock time starts in the night window."""
        if self.night_start > self.night_end:  # the window spans midnight
            return local_start >= self.night_start or local_start < self.night_end
        return self.night_start <= local_start < self.night_end


@dataclass(frozen=True, slots=True)
class Tariff:
    """A provider's price for one catalog item, per unit, with its surcharges."""

    unit: Unit
    unit_price_fen: int
    guide_price_fen: int | None = None
    surcharges: Surcharges = field(default_factory=Surcharges)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "unit", Unit(self.unit))
        except ValueError:
            raise Validation(f"unknown pricing unit {self.unit!r}") from None
        if self.unit_price_fen <= 0:
            raise Validation("the unit price must be positive")
        if self.guide_price_fen is not None and self.guide_price_fen <= 0:
            raise Validation("the government guide price must be positive")


@dataclass(frozen=True, slots=True)
class PriceLine:
    """One line of a price: labour, a surcharge or parts."""

    kind: str
    fen: int
    detail: str


@dataclass(frozen=True, slots=True)
class PriceBreakdown:
    """The price of one order, line by line, as quoted."""

    lines: tuple[PriceLine, ...]
    total_fen: int
    subsidisable_fen: int
    labour_fen: int
    parts_fen: int
    unit_price_fen: int
    capped_by_guide: bool
    billed_minutes: int | None
    quantity: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, stored with the order."""
        return {
            "lines": [
                {"kind": line.kind, "fen": line.fen, "detail": line.detail} for line in self.lines
            ],
            "total_fen": self.total_fen,
            "subsidisable_fen": self.subsidisable_fen,
            "labour_fen": self.labour_fen,
            "parts_fen": self.parts_fen,
            "unit_price_fen": self.unit_price_fen,
            "capped_by_guide": self.capped_by_guide,
            "billed_minutes": self.billed_minutes,
            "quantity": self.quantity,
        }


def price_order(
    tariff: Tariff,
    *,
    start: datetime,
    minutes: int,
    quantity: int = 1,
    ordered_at: datetime,
    distance_m: int = 0,
    parts_fen: int = 0,
    subsidised: bool = False,
    holidays: HolidayCalendar,
) -> PriceBreakdown:
    """Price one order: labour (guide-capped when subsidised), surcharges on labour, parts."""
    _check_aware(start, "the service start")
    _check_aware(ordered_at, "the order time")
    if minutes <= 0:
        raise Validation("the service duration in minutes must be positive")
    if quantity < 1:
        raise Validation("the quantity must be at least 1")
    if distance_m < 0:
        raise Validation("the distance cannot be negative")
    if parts_fen < 0:
        raise Validation("the parts price cannot be negative")

    unit_price = tariff.unit_price_fen
    guide = tariff.guide_price_fen
    capped = False
    if subsidised and guide is not None and guide < unit_price:
        unit_price, capped = guide, True

    billed: int | None
    if tariff.unit is Unit.HOUR:
        billed = billable_minutes(minutes)
        labour = _div_half_up(unit_price * billed * quantity, 60)
        amount = _duration(billed) if quantity == 1 else f"{quantity} × {_duration(billed)}"
    else:
        billed = None
        labour = unit_price * quantity
        amount = f"{quantity} {tariff.unit.value}{'s' if quantity > 1 else ''}"
    per = "h" if tariff.unit is Unit.HOUR else tariff.unit.value
    detail = f"{amount} at {_yuan(unit_price)} yuan/{per}"
    if capped:
        detail += f" (capped at the guide price; provider price {_yuan(tariff.unit_price_fen)})"
    lines = [PriceLine("labour", labour, detail)]

    rules = tariff.surcharges
    local_start = to_local(start)
    service_day = local_start.date()
    percents = (
        ("night", rules.night_percent, rules.is_night(local_start.time())),
        ("holiday", rules.holiday_percent, holidays.is_holiday(service_day)),
        ("urgent", rules.urgent_percent, to_local(ordered_at).date() == service_day),
    )
    for kind, percent, applies in percents:
        if applies and percent > 0:
            fen = _div_half_up(labour * percent, 100)
            lines.append(PriceLine(kind, fen, f"{kind} +{percent} % of labour"))

    extra_m = max(0, distance_m - rules.radius_m)
    started_km = -(-extra_m // 1000)
    if started_km > 0 and rules.per_km_fen > 0:
        lines.append(
            PriceLine(
                "distance",
                started_km * rules.per_km_fen,
                f"{started_km} km beyond {_km(rules.radius_m)} km"
                f" at {_yuan(rules.per_km_fen)} yuan/km",
            )
        )

    if parts_fen > 0:
        lines.append(PriceLine("parts", parts_fen, "parts, not surcharged or subsidised"))

    total = sum(line.fen for line in lines)
    return PriceBreakdown(
        lines=tuple(lines),
        total_fen=total,
        subsidisable_fen=total - parts_fen,
        labour_fen=labour,
        parts_fen=parts_fen,
        unit_price_fen=unit_price,
        capped_by_guide=capped,
        billed_minutes=billed,
        quantity=quantity,
    )


def _check_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise Validation(f"{what} must be a timezone-aware datetime")


def _div_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _km(metres: int) -> str:
    whole, rest = divmod(metres, 1000)
    return f"{whole}.{rest:03d}".rstrip("0").rstrip(".") if rest else str(whole)


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"
