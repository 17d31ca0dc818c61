"""A provider's monthly settlement statement, from the ledger alone.

For each order of the service month: the subsidy owed (consumed − reversed), what the household
paid (consumed − refunded) and long-term-care insurance. Reservations and releases are not
money owed, so they do not appear.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session

from core.errors import Validation
from pricing import repository as repo
from pricing.models import EntryKind, LedgerEntry, Payer

_SIGN = {EntryKind.CONSUME: 1, EntryKind.REVERSAL: -1}


@dataclass(frozen=True, slots=True)
class StatementLine:
    """What one order earned the provider in the month, by payer (fen)."""

    order_ref: str
    subsidy_fen: int
    household_fen: int
    ltc_fen: int

    @property
    def total_fen(self) -> int:
        """Everything owed to the provider for the order."""
        return self.subsidy_fen + self.household_fen + self.ltc_fen


@dataclass(frozen=True, slots=True)
class Statement:
    """A provider's statement for one service month (YYYY-MM)."""

    provider_id: int
    month: str
    lines: tuple[StatementLine, ...]
    subsidy_fen: int
    household_fen: int
    ltc_fen: int

    @property
    def total_fen(self) -> int:
        """Everything owed to the provider for the month."""
        return self.subsidy_fen + self.household_fen + self.ltc_fen

    def reconciles(self, session: Session) -> bool:
        """Whether the totals equal the ledger's own sums for the provider and month (SQL)."""
        return reconciles(session, self)


def build_statement(provider_id: int, month: str, entries: Iterable[LedgerEntry]) -> Statement:
    """The statement from the provider's entries of the month (pure)."""
    by_order: dict[str, dict[Payer, int]] = {}
    for entry in entries:
        if entry.provider_id != provider_id or entry.month != month:
            raise Validation(f"entry {entry.id} is not the provider's for {month}")
        sign = _SIGN.get(EntryKind(entry.kind))
        if sign is None:
            continue
        amounts = by_order.setdefault(entry.order_ref, dict.fromkeys(Payer, 0))
        amounts[Payer(entry.payer)] += sign * entry.amount_fen
    lines = tuple(
        StatementLine(
            order_ref=ref,
            subsidy_fen=amounts[Payer.SUBSIDY],
            household_fen=amounts[Payer.HOUSEHOLD],
            ltc_fen=amounts[Payer.LTC_INSURANCE],
        )
        for ref, amounts in sorted(by_order.items())
    )
    return Statement(
        provider_id=provider_id,
        month=month,
        lines=lines,
        subsidy_fen=sum(line.subsidy_fen for line in lines),
        household_fen=sum(line.household_fen for line in lines),
        ltc_fen=sum(line.ltc_fen for line in lines),
    )


def _check_month(month: str) -> None:
    year, dash, number = month.partition("-")
    if not (dash and len(year) == 4 and year.isdigit() and len(number) == 2 and number.isdigit()):
        raise Validation(f"month must be YYYY-MM, not {month!r}")
    if not 1 <= int(number) <= 12:
        raise Validation(f"month must be YYYY-MM, not {month!r}")


def statement(session: Session, provider_id: int, month: str) -> Statement:
    """The provider's statement for the service month."""
    _check_month(month)
    entries = repo.entries_of_provider(session, provider_id, month)
    return build_statement(provider_id, month, entries)


def reconciles(session: Session, statement: Statement) -> bool:
    """Whether the statement's totals equal, to the fen, consumed − reversed per payer as the
    database sums the provider's entries of the month."""
    sums = repo.provider_sums(session, statement.provider_id, statement.month)

    def net(payer: Payer) -> int:
        return sums.get((payer, EntryKind.CONSUME), 0) - sums.get((payer, EntryKind.REVERSAL), 0)

    return (statement.subsidy_fen, statement.household_fen, statement.ltc_fen) == (
        net(Payer.SUBSIDY),
        net(Payer.HOUSEHOLD),
        net(Payer.LTC_INSURANCE),
    )
