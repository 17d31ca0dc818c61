"""Pricing queries: ledger entries, the chain head, balances, policy versions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlmodel import Session, col, select

from core.errors import Conflict
from pricing.models import DistrictBalance, LedgerEntry, LedgerHead, MemberBalance, SubsidyPolicy


def entry_by_key(session: Session, key: str) -> LedgerEntry | None:
    """The entry made with this idempotency key, if any."""
    return session.exec(select(LedgerEntry).where(LedgerEntry.idempotency_key == key)).first()


def lock_head(session: Session) -> LedgerHead:
    """The chain head, locked for this transaction (FOR UPDATE; SQLite writes are serial)."""
    head = session.exec(select(LedgerHead).where(LedgerHead.id == 1).with_for_update()).first()
    if head is None:
        raise Conflict("the ledger has no head row; run the database migrations")
    return head


def member_balance(
    session: Session, member_id: int, month: str, *, create: bool = False
) -> MemberBalance | None:
    """The member's balance row for the month (created empty when asked)."""
    row = session.exec(
        select(MemberBalance).where(
            MemberBalance.member_id == member_id, MemberBalance.month == month
        )
    ).first()
    if row is None and create:
        row = MemberBalance(member_id=member_id, month=month)
        session.add(row)
    return row


def district_balance(
    session: Session, district_code: str, month: str, *, create: bool = False
) -> DistrictBalance | None:
    """The district's balance row for the month (created empty when asked)."""
    row = session.exec(
        select(DistrictBalance).where(
            DistrictBalance.district_code == district_code, DistrictBalance.month == month
        )
    ).first()
    if row is None and create:
        row = DistrictBalance(district_code=district_code, month=month)
        session.add(row)
    return row


def entries(session: Session, *, batch: int = 2000) -> Iterator[LedgerEntry]:
    """Every entry in chain order, read in batches."""
    last = 0
    while True:
        rows = session.exec(
            select(LedgerEntry)
            .where(col(LedgerEntry.id) > last)
            .order_by(col(LedgerEntry.id))
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def entries_of_order(session: Session, order_ref: str) -> Sequence[LedgerEntry]:
    """An order's entries in chain order."""
    return session.exec(
        select(LedgerEntry).where(LedgerEntry.order_ref == order_ref).order_by(col(LedgerEntry.id))
    ).all()


def policies(session: Session) -> Sequence[SubsidyPolicy]:
    """Every stored policy version, oldest first."""
    return session.exec(select(SubsidyPolicy).order_by(col(SubsidyPolicy.effective_from))).all()


def policy_by_version(session: Session, version: str) -> SubsidyPolicy | None:
    """One stored policy version."""
    return session.exec(select(SubsidyPolicy).where(SubsidyPolicy.version == version)).first()
