"""List price from a unit price: billing units, minimums and rounding. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.errors import Validation

HOURLY_MINIMUM_MINUTES = 60
HOURLY_STEP_MINUTES = 15


@dataclass(frozen=True, slots=True)
class PriceSnapshot:
    """What an order was quoted at; kept with the order and never recomputed."""

    list_price_fen: int
    subsidy_fen: int = 0
    currency: str = "CNY"
    breakdown: dict[str, Any] = field(default_factory=dict)
    policy_version: str | None = None
    ltc_fen: int = 0  # paid by long-term-care insurance

    def __post_init__(self) -> None:
        if self.list_price_fen < 0 or self.subsidy_fen < 0 or self.ltc_fen < 0:
            raise Validation("prices cannot be negative")
        if self.subsidy_fen + self.ltc_fen > self.list_price_fen:
            raise Validation("subsidy and insurance cannot exceed the price")

    @property
    def copay_fen(self) -> int:
        """What the household pays."""
        return self.list_price_fen - self.subsidy_fen - self.ltc_fen


def billable_minutes(minutes: int) -> int:
    """Hourly services bill one hour minimum, then in 15-minute steps rounded up."""
    if minutes <= 0:
        raise Validation("duration must be positive")
    if minutes <= HOURLY_MINIMUM_MINUTES:
        return HOURLY_MINIMUM_MINUTES
    steps = -(-minutes // HOURLY_STEP_MINUTES)
    return steps * HOURLY_STEP_MINUTES


def list_price(unit: str, unit_price_fen: int, *, minutes: int, quantity: int = 1) -> PriceSnapshot:
    """The undiscounted price of ``quantity`` units (hourly: of ``minutes``), with breakdown."""
    if unit_price_fen < 0:
        raise Validation("unit price cannot be negative")
    if quantity <= 0:
        raise Validation("quantity must be positive")
    if unit == "hour":
        billed = billable_minutes(minutes)
        # Exact integer arithmetic; the quarter-hour steps keep it whole for prices in fen
        # divisible by 4, and anything else rounds half up to the fen.
        total = (unit_price_fen * billed * quantity * 2 + 60) // 120
        breakdown = {
            "unit": unit,
            "unit_price_fen": unit_price_fen,
            "billed_minutes": billed,
            "quantity": quantity,
        }
    else:
        total = unit_price_fen * quantity
        breakdown = {"unit": unit, "unit_price_fen": unit_price_fen, "quantity": quantity}
    return PriceSnapshot(list_price_fen=total, breakdown=breakdown)
