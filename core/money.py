"""Money as integer fen (分) with a currency. Never floats."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CNY = "CNY"
FEN_PER_YUAN = 100


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in the currency's smallest unit (fen for CNY)."""

    fen: int
    currency: str = CNY

    def __post_init__(self) -> None:
        if not isinstance(self.fen, int) or isinstance(self.fen, bool):
            raise TypeError(f"Money needs integer fen, got {type(self.fen).__name__}")

    @classmethod
    def yuan(cls, amount: str | int | Decimal, currency: str = CNY) -> Money:
        """Parse a yuan amount exactly ("12.50" → 1250 fen); more than 2 decimals is refused."""
        try:
            value = Decimal(str(amount))
        except InvalidOperation as exc:
            raise ValueError(f"not a money amount: {amount!r}") from exc
        fen = value * FEN_PER_YUAN
        if fen != fen.to_integral_value():
            raise ValueError(f"amount has more than 2 decimal places: {amount!r}")
        return cls(int(fen), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.fen + other.fen, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.fen - other.fen, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.fen, self.currency)

    def times(self, quantity: int) -> Money:
        """Multiply by an integer quantity."""
        return Money(self.fen * quantity, self.currency)

    def share(self, numerator: int, denominator: int) -> Money:
        """A fraction of this amount, rounded half up to the fen (e.g. a percentage fee)."""
        value = (Decimal(self.fen) * numerator / denominator).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        return Money(int(value), self.currency)

    def __str__(self) -> str:
        sign = "-" if self.fen < 0 else ""
        whole, part = divmod(abs(self.fen), FEN_PER_YUAN)
        symbol = "¥" if self.currency == CNY else f"{self.currency} "
        return f"{sign}{symbol}{whole}.{part:02d}"


ZERO = Money(0)
