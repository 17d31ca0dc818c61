"""An order's money in the ledger: reserved when confirmed, consumed when completed, released
when cancelled, reversed when refunded.

Callers take the ledger head lock (``pricing.service.lock_ledger``) before they lock the order
row, so every path locks in the same order. Amounts come from the order's quote; an order
without quote data (priced before quotes existed, or with an explicit price) has no subsidy
here and only the household's co-pay is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from core.errors import Validation
from marketplace.geography import service as geography_service
from marketplace.households.models import Household
from marketplace.orders import quoting
from marketplace.orders.models import Order
from pricing import ledger
from pricing import repository as pricing_repo
from pricing import service as pricing_service
from pricing.ledger import EntryDraft
from pricing.models import EntryKind, LedgerEntry, Payer

QUOTE_KEYS = ("policy_version", "month", "district", "cap_fen")
# Payers in the order their entries are written.
PAYERS = (Payer.LTC_INSURANCE, Payer.SUBSIDY, Payer.HOUSEHOLD)


@dataclass(frozen=True, slots=True)
class Terms:
    """What the ledger needs to know about an order, from its quote."""

    order_ref: str
    member_id: int
    provider_id: int
    district: str
    month: str
    policy_version: str
    subsidy_fen: int
    copay_fen: int
    cap_fen: int
    reason: str
    ltc_fen: int = 0
    ltc_limit_fen: int = 0

    def amount(self, payer: Payer) -> int:
        """What the payer owes for the order as quoted."""
        if payer is Payer.SUBSIDY:
            return self.subsidy_fen
        if payer is Payer.LTC_INSURANCE:
            return self.ltc_fen
        return self.copay_fen


def terms(session: Session, order: Order) -> Terms:
    """The order's ledger terms; missing quote data means no subsidy."""
    breakdown = order.price_breakdown or {}
    quoted = all(breakdown.get(key) is not None for key in QUOTE_KEYS)
    if quoted:
        return Terms(
            order_ref=order.public_id,
            member_id=order.recipient_member_id,
            provider_id=order.provider_id,
            district=str(breakdown["district"]),
            month=str(breakdown["month"]),
            policy_version=str(breakdown["policy_version"]),
            subsidy_fen=order.subsidy_fen,
            copay_fen=order.copay_fen,
            cap_fen=int(breakdown["cap_fen"]),
            reason=str(breakdown.get("reason", "")),
            ltc_fen=order.ltc_fen,
            ltc_limit_fen=int(breakdown.get("ltc_limit_fen") or 0),
        )
    household = session.get(Household, order.household_id)
    assert household is not None
    code = geography_service.get_or_raise(session, household.district_id).code
    day = order.service_date
    return Terms(
        order_ref=order.public_id,
        member_id=order.recipient_member_id,
        provider_id=order.provider_id,
        # Only household entries are written for these, and they count against no budget.
        district=code[: quoting.MAX_DISTRICT_CODE],
        month=f"{day.year:04d}-{day.month:02d}",
        policy_version=order.policy_version or "",
        subsidy_fen=0,
        copay_fen=order.copay_fen,
        cap_fen=0,
        reason="",
    )


@dataclass(slots=True)
class Position:
    """One payer's entries for an order, summed by kind."""

    reserved: int = 0
    consumed: int = 0
    released: int = 0
    reversed: int = 0
    reversals: int = 0

    @property
    def held(self) -> int:
        """Reserved and neither consumed nor released yet."""
        return self.reserved - self.consumed - self.released

    @property
    def refundable(self) -> int:
        """Consumed and not yet reversed."""
        return self.consumed - self.reversed


def positions(entries: Iterable[LedgerEntry]) -> dict[Payer, Position]:
    """Each payer's position from an order's entries."""
    found = {payer: Position() for payer in Payer}
    for entry in entries:
        position = found[Payer(entry.payer)]
        kind = EntryKind(entry.kind)
        if kind is EntryKind.RESERVE:
            position.reserved += entry.amount_fen
        elif kind is EntryKind.CONSUME:
            position.consumed += entry.amount_fen
        elif kind is EntryKind.RELEASE:
            position.released += entry.amount_fen
        else:
            position.reversed += entry.amount_fen
            position.reversals += 1
    return found


def order_positions(session: Session, order: Order) -> dict[Payer, Position]:
    """Each payer's position for the order, from the ledger."""
    return positions(pricing_repo.entries_of_order(session, order.public_id))


def _fresh_positions(session: Session, order: Order, t: Terms) -> dict[Payer, Position]:
    """The order's positions; with subsidy entries to write, the member's and district's
    balances are re-read first (appends rewrite them from the values the session holds)."""
    found = order_positions(session, order)
    if found[Payer.SUBSIDY].reserved > 0:
        pricing_repo.refresh_balances(session, t.member_id, t.district, t.month)
    return found


def _append(
    session: Session,
    t: Terms,
    *,
    kind: EntryKind,
    payer: Payer,
    amount_fen: int,
    key: str,
    actor: str,
    reason: str,
    now: datetime | None,
) -> LedgerEntry | None:
    if amount_fen <= 0:
        return None
    return ledger.append(
        session,
        EntryDraft(
            idempotency_key=key,
            kind=kind,
            payer=payer,
            order_ref=t.order_ref,
            member_id=t.member_id,
            provider_id=t.provider_id,
            district_code=t.district,
            month=t.month,
            amount_fen=amount_fen,
            actor=actor,
            policy_version=t.policy_version,
            reason=reason,
        ),
        now=now,
    )


def check_reservation(session: Session, order: Order) -> None:
    """Refuse (Conflict) to reserve a subsidy that no longer fits the member's cap or the
    district's budget, or an insurance share beyond its monthly limit; call under the ledger
    head lock."""
    t = terms(session, order)
    if t.ltc_fen > 0:
        pricing_service.check_ltc_room(
            session,
            member_id=t.member_id,
            month=t.month,
            amount_fen=t.ltc_fen,
            limit_fen=t.ltc_limit_fen,
        )
    if t.subsidy_fen <= 0:
        return
    pricing_service.check_room(
        session,
        member_id=t.member_id,
        district_code=t.district,
        month=t.month,
        amount_fen=t.subsidy_fen,
        cap_fen=t.cap_fen,
        policy_version=t.policy_version,
    )


def reserve(session: Session, order: Order, *, actor: str, now: datetime | None) -> None:
    """Hold the subsidy and the co-pay for a confirmed order (right after
    :func:`check_reservation`, which read the balances afresh under the lock)."""
    t = terms(session, order)
    reasons = {Payer.SUBSIDY: t.reason, Payer.HOUSEHOLD: "co-pay"}
    for payer in PAYERS:
        reason = reasons.get(payer, "long-term-care insurance")
        _append(
            session,
            t,
            kind=EntryKind.RESERVE,
            payer=payer,
            amount_fen=t.amount(payer),
            key=f"{t.order_ref}:reserve:{payer.value}",
            actor=actor,
            reason=reason,
            now=now,
        )


def consume(session: Session, order: Order, *, actor: str, now: datetime | None) -> None:
    """The service was done: what is held becomes owed to the provider."""
    t = terms(session, order)
    held = _fresh_positions(session, order, t)
    for payer in PAYERS:
        _append(
            session,
            t,
            kind=EntryKind.CONSUME,
            payer=payer,
            amount_fen=held[payer].held,
            key=f"{t.order_ref}:consume:{payer.value}",
            actor=actor,
            reason="service completed",
            now=now,
        )


def release(
    session: Session,
    order: Order,
    *,
    actor: str,
    reason: str,
    now: datetime | None,
    household_fee_fen: int = 0,
) -> None:
    """Give back what is held; a household fee is consumed out of its reservation first."""
    t = terms(session, order)
    held = _fresh_positions(session, order, t)
    fee = min(household_fee_fen, held[Payer.HOUSEHOLD].held)
    _append(
        session,
        t,
        kind=EntryKind.CONSUME,
        payer=Payer.HOUSEHOLD,
        amount_fen=fee,
        key=f"{t.order_ref}:consume:{Payer.HOUSEHOLD.value}",
        actor=actor,
        reason=f"cancellation fee; {reason}",
        now=now,
    )
    for payer in PAYERS:
        rest = held[payer].held - (fee if payer is Payer.HOUSEHOLD else 0)
        _append(
            session,
            t,
            kind=EntryKind.RELEASE,
            payer=payer,
            amount_fen=rest,
            key=f"{t.order_ref}:release:{payer.value}",
            actor=actor,
            reason=reason,
            now=now,
        )


def reverse(
    session: Session,
    order: Order,
    *,
    amount_fen: int,
    payer: Payer,
    reason: str,
    actor: str,
    now: datetime | None,
) -> LedgerEntry:
    """Take back consumed money (a refund to the household, a subsidy clawback)."""
    if payer not in PAYERS:
        raise Validation(f"nothing is refunded to {payer.value}")
    t = terms(session, order)
    position = _fresh_positions(session, order, t)[payer]
    if amount_fen > position.refundable:
        raise Validation(
            f"order {order.public_id} has {position.refundable} fen of {payer.value} money "
            f"consumed and not yet reversed; cannot reverse {amount_fen}"
        )
    entry = _append(
        session,
        t,
        kind=EntryKind.REVERSAL,
        payer=payer,
        amount_fen=amount_fen,
        key=f"{order.public_id}:reversal:{payer.value}:{position.reversals + 1}",
        actor=actor,
        reason=reason,
        now=now,
    )
    assert entry is not None
    return entry
