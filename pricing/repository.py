"""Pricing queries: ledger entries, the chain head, balances, policy versions, tariffs."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import date

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from core.errors import Conflict
from pricing.models import (
    DistrictBalance,
    EntryKind,
    LedgerEntry,
    LedgerHead,
    MemberBalance,
    Payer,
    ProviderTariff,
    SubsidyPolicy,
)


def entry_by_key(session: Session, key: str) -> LedgerEntry | None:
    """The entry made with this idempotency key, if any."""
    return session.exec(select(LedgerEntry).where(LedgerEntry.idempotency_key == key)).first()


def lock_head(session: Session) -> LedgerHead:
    """The chain head, locked for this transaction (FOR UPDATE; SQLite writes are serial).

    Re-read even when the session holds an older copy: appending after a stale head would
    reuse an id and break the chain.
    """
    stmt = select(LedgerHead).where(LedgerHead.id == 1).with_for_update()
    head = session.exec(stmt.execution_options(populate_existing=True)).first()
    if head is None:
        raise Conflict("the ledger has no head row; run the database migrations")
    return head


def refresh_balances(
    session: Session, member_id: int, district_code: str, month: str
) -> tuple[MemberBalance | None, DistrictBalance | None]:
    """A member's and a district's balance rows, re-read even if the session holds older
    copies (call under the head lock, before checking or changing them)."""
    member = session.exec(
        select(MemberBalance)
        .where(MemberBalance.member_id == member_id, MemberBalance.month == month)
        .execution_options(populate_existing=True)
    ).first()
    district = session.exec(
        select(DistrictBalance)
        .where(DistrictBalance.district_code == district_code, DistrictBalance.month == month)
        .execution_options(populate_existing=True)
    ).first()
    return member, district


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


def member_balances_in(session: Session, months: Iterable[str]) -> Sequence[MemberBalance]:
    """Members' balance rows of these months, re-read from the database."""
    return session.exec(
        select(MemberBalance)
        .where(col(MemberBalance.month).in_(sorted(months)))
        .execution_options(populate_existing=True)
    ).all()


def district_balances_in(session: Session, months: Iterable[str]) -> Sequence[DistrictBalance]:
    """Districts' balance rows of these months, re-read from the database."""
    return session.exec(
        select(DistrictBalance)
        .where(col(DistrictBalance.month).in_(sorted(months)))
        .execution_options(populate_existing=True)
    ).all()


def member_balances(session: Session) -> Sequence[MemberBalance]:
    """Every member's monthly balance row."""
    return session.exec(select(MemberBalance)).all()


def district_balances(session: Session) -> Sequence[DistrictBalance]:
    """Every district's monthly balance row."""
    return session.exec(select(DistrictBalance)).all()


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


def policy_in_force(session: Session, day: date) -> SubsidyPolicy | None:
    """The stored version with the latest effective_from on or before ``day``."""
    return session.exec(
        select(SubsidyPolicy)
        .where(col(SubsidyPolicy.effective_from) <= day)
        .order_by(col(SubsidyPolicy.effective_from).desc())
        .limit(1)
    ).first()


def policy_by_date(session: Session, effective_from: date) -> SubsidyPolicy | None:
    """The stored version that takes effect on this date."""
    return session.exec(
        select(SubsidyPolicy).where(SubsidyPolicy.effective_from == effective_from)
    ).first()


def tariff(session: Session, provider_id: int, item_id: int) -> ProviderTariff | None:
    """The provider's tariff row for the item, if it has one."""
    return session.exec(
        select(ProviderTariff).where(
            ProviderTariff.provider_id == provider_id, ProviderTariff.item_id == item_id
        )
    ).first()


def tariffs_of_provider(session: Session, provider_id: int) -> Sequence[ProviderTariff]:
    """A provider's own prices, by item id."""
    return session.exec(
        select(ProviderTariff)
        .where(ProviderTariff.provider_id == provider_id)
        .order_by(col(ProviderTariff.item_id))
    ).all()


def priced_item_ids(session: Session, provider_ids: Collection[int]) -> dict[int, list[int]]:
    """The items each of these providers has its own price for, in one query, by provider id."""
    found: dict[int, list[int]] = {pid: [] for pid in provider_ids}
    if not found:
        return found
    stmt = (
        select(ProviderTariff.provider_id, ProviderTariff.item_id)
        .where(col(ProviderTariff.provider_id).in_(sorted(found)))
        .order_by(col(ProviderTariff.provider_id), col(ProviderTariff.item_id))
    )
    for provider_id, item_id in session.exec(stmt).all():
        found[provider_id].append(item_id)
    return found


def entries_of_provider(session: Session, provider_id: int, month: str) -> Sequence[LedgerEntry]:
    """A provider's entries for one service month, in chain order."""
    return session.exec(
        select(LedgerEntry)
        .where(LedgerEntry.provider_id == provider_id, LedgerEntry.month == month)
        .order_by(col(LedgerEntry.id))
    ).all()


def member_payer_committed(session: Session, member_id: int, month: str, payer: Payer) -> int:
    """What one payer has reserved or paid for a member in a month (in SQL): reserved, less
    released, less reversed."""
    signed = case(
        (col(LedgerEntry.kind) == EntryKind.RESERVE.value, LedgerEntry.amount_fen),
        (col(LedgerEntry.kind) == EntryKind.CONSUME.value, 0),
        else_=-col(LedgerEntry.amount_fen),
    )
    total = session.exec(
        select(func.coalesce(func.sum(signed), 0)).where(
            LedgerEntry.member_id == member_id,
            LedgerEntry.month == month,
            LedgerEntry.payer == payer.value,
        )
    ).one()
    return int(total)


def provider_sums(
    session: Session, provider_id: int, month: str
) -> dict[tuple[Payer, EntryKind], int]:
    """The sum of a provider's entry amounts for one month, by payer and kind (in SQL)."""
    rows = session.exec(
        select(LedgerEntry.payer, LedgerEntry.kind, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.provider_id == provider_id, LedgerEntry.month == month)
        .group_by(col(LedgerEntry.payer), col(LedgerEntry.kind))
    ).all()
    return {(Payer(payer), EntryKind(kind)): int(total) for payer, kind, total in rows}


def policies_page(session: Session, *, after_id: int, limit: int) -> Sequence[SubsidyPolicy]:
    """Stored policy versions with ids after ``after_id``, in the order they were added."""
    return session.exec(
        select(SubsidyPolicy)
        .where(col(SubsidyPolicy.id) > after_id)
        .order_by(col(SubsidyPolicy.id))
        .limit(limit)
    ).all()


def tariffs_page(
    session: Session, provider_id: int, *, after_id: int, limit: int
) -> Sequence[ProviderTariff]:
    """A provider's tariff rows with ids after ``after_id``, in id order, ``limit`` of them."""
    return session.exec(
        select(ProviderTariff)
        .where(ProviderTariff.provider_id == provider_id, col(ProviderTariff.id) > after_id)
        .order_by(col(ProviderTariff.id))
        .limit(limit)
    ).all()


def entries_page(session: Session, *, after_id: int, limit: int) -> Sequence[LedgerEntry]:
    """Ledger entries in chain order with ids above ``after_id``, ``limit`` of them."""
    return session.exec(
        select(LedgerEntry)
        .where(col(LedgerEntry.id) > after_id)
        .order_by(col(LedgerEntry.id))
        .limit(limit)
    ).all()
