"""Pricing tables: provider tariffs, subsidy policy versions, the hash-chained subsidy ledger
and its balances.

Ledger entries and policy versions are never updated or deleted: the database refuses it
(triggers, migration 0005) and the hash chain shows it if someone goes around the triggers.
Balances are caches of the ledger, written in the same transaction as each entry.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.dbtypes import EnumText, PortableJSON, UTCDateTime
from core.timeutil import utcnow

GENESIS_HASH = "0" * 64


class EntryKind(StrEnum):
    """What a ledger entry does to the money it names."""

    RESERVE = "reserve"  # held for a confirmed order: counts against caps and budgets
    CONSUME = "consume"  # the visit was verified: held money becomes owed to the provider
    RELEASE = "release"  # a reservation given back (cancellation, or less than reserved used)
    REVERSAL = "reversal"  # consumed money taken back (refund, audit clawback)


class Payer(StrEnum):
    """Who pays a share of an order's price."""

    LTC_INSURANCE = "ltc_insurance"
    SUBSIDY = "subsidy"
    HOUSEHOLD = "household"


class ProviderTariff(SQLModel, table=True):
    """A provider's own price for one catalog item, with its surcharges (local times 20:00–07:00
    are night). Without a row the item's reference price applies, with no surcharges."""

    __tablename__ = "provider_tariff"
    __table_args__ = (
        UniqueConstraint("provider_id", "item_id"),
        CheckConstraint("unit_price_fen > 0", name="positive_price"),
        CheckConstraint(
            "night_percent BETWEEN 0 AND 300 AND holiday_percent BETWEEN 0 AND 300 "
            "AND urgent_percent BETWEEN 0 AND 300",
            name="surcharge_percents",
        ),
        CheckConstraint("radius_m >= 0 AND per_km_fen >= 0", name="distance_surcharge"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="provider.id", index=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    unit_price_fen: int
    night_percent: int = 0
    holiday_percent: int = 0
    urgent_percent: int = 0
    radius_m: int = 0
    per_km_fen: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class SubsidyPolicy(SQLModel, table=True):
    """One version of the subsidy policy, as its JSON document."""

    __tablename__ = "subsidy_policy"

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=40, unique=True)
    effective_from: date = Field(unique=True)
    document: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON, nullable=False)
    created_by: str = Field(max_length=80)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class LedgerEntry(SQLModel, table=True):
    """One append-only ledger line; ``hash`` covers its content and the previous entry's hash."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="positive_amount"),
        CheckConstraint("id > 0", name="positive_id"),
    )

    # Assigned as the chain head's id + 1 under the head's lock, not by a sequence: the hash
    # covers the id, so it must be known before the row is written.
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    idempotency_key: str = Field(max_length=120, unique=True)
    kind: EntryKind = Field(sa_type=EnumText(EntryKind, 12))
    payer: Payer = Field(sa_type=EnumText(Payer, 16))
    order_ref: str = Field(max_length=32, index=True)
    member_id: int = Field(index=True)
    provider_id: int = Field(index=True)
    district_code: str = Field(max_length=12)
    month: str = Field(max_length=7, index=True)  # YYYY-MM of the service date, local time
    amount_fen: int
    policy_version: str = Field(default="", max_length=40)
    reason: str = Field(default="", max_length=200)
    actor: str = Field(max_length=80)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class LedgerHead(SQLModel, table=True):
    """The chain's last entry (one row): locked by every append, so appends are serial."""

    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_id: int = 0
    last_hash: str = Field(default=GENESIS_HASH, max_length=64)


class MemberBalance(SQLModel, table=True):
    """A member's subsidy in one month, derived from the ledger (committed = reserved or used)."""

    __tablename__ = "member_subsidy_balance"
    __table_args__ = (UniqueConstraint("member_id", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int
    month: str = Field(max_length=7)
    committed_fen: int = 0
    consumed_fen: int = 0


class DistrictBalance(SQLModel, table=True):
    """A district's subsidy budget use in one month, derived from the ledger."""

    __tablename__ = "district_subsidy_balance"
    __table_args__ = (UniqueConstraint("district_code", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    district_code: str = Field(max_length=12)
    month: str = Field(max_length=7)
    committed_fen: int = 0
    consumed_fen: int = 0


__all__ = [
    "GENESIS_HASH",
    "DistrictBalance",
    "EntryKind",
    "LedgerEntry",
    "LedgerHead",
    "MemberBalance",
    "Payer",
    "ProviderTariff",
    "SubsidyPolicy",
]
