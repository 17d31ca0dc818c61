"""The subsidy ledger: append-only entries in fen, linked by a SHA-256 hash chain.

Every append locks the chain head, so entries are written one at a time in id order; the same
lock makes cap and budget checks atomic with the reservation they guard. Balances per member
and per district are updated with each entry and can always be replayed from the entries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from core.errors import Conflict, Validation
from core.timeutil import utcnow
from pricing import repository as repo
from pricing.models import (
    GENESIS_HASH,
    DistrictBalance,
    EntryKind,
    LedgerEntry,
    LedgerHead,
    MemberBalance,
    Payer,
)

HASHED_FIELDS = (
    "id",
    "idempotency_key",
    "kind",
    "payer",
    "order_ref",
    "member_id",
    "provider_id",
    "district_code",
    "month",
    "amount_fen",
    "policy_version",
    "reason",
    "actor",
    "created_at",
)


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """An entry to append (the ledger assigns id, time and hashes)."""

    idempotency_key: str
    kind: EntryKind
    payer: Payer
    order_ref: str
    member_id: int
    provider_id: int
    district_code: str
    month: str
    amount_fen: int
    actor: str
    policy_version: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        if self.amount_fen <= 0:
            raise Validation("a ledger entry's amount must be positive (its kind gives the sign)")
        if len(self.month) != 7 or self.month[4] != "-":
            raise Validation(f"month must be YYYY-MM, not {self.month!r}")


def _content(entry: LedgerEntry) -> dict[str, object]:
    values: dict[str, object] = {}
    for name in HASHED_FIELDS:
        value = getattr(entry, name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat(timespec="microseconds")
        elif hasattr(value, "value"):
            value = value.value
        values[name] = value
    return values


def entry_hash(entry: LedgerEntry, prev_hash: str) -> str:
    """SHA-256 of the previous hash and the entry's canonical JSON content."""
    body = json.dumps(_content(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _same(entry: LedgerEntry, draft: EntryDraft) -> bool:
    return all(
        getattr(entry, name) == getattr(draft, name)
        for name in (
            "kind",
            "payer",
            "order_ref",
            "member_id",
            "provider_id",
            "district_code",
            "month",
            "amount_fen",
        )
    )


def append(session: Session, draft: EntryDraft, *, now: datetime | None = None) -> LedgerEntry:
    """Append one entry, or return the entry already made with the same idempotency key."""
    # Lock first: the key is then looked up once, and no other append can slip in between.
    head = repo.lock_head(session)
    existing = repo.entry_by_key(session, draft.idempotency_key)
    if existing is not None:
        if not _same(existing, draft):
            raise Conflict(
                f"idempotency key {draft.idempotency_key!r} was used for a different entry"
            )
        return existing
    entry = LedgerEntry(
        id=head.last_id + 1,
        idempotency_key=draft.idempotency_key,
        kind=draft.kind,
        payer=draft.payer,
        order_ref=draft.order_ref,
        member_id=draft.member_id,
        provider_id=draft.provider_id,
        district_code=draft.district_code,
        month=draft.month,
        amount_fen=draft.amount_fen,
        policy_version=draft.policy_version,
        reason=draft.reason[:200],
        actor=draft.actor[:80],
        created_at=(now or utcnow()).astimezone(UTC),
        prev_hash=head.last_hash,
        hash="",
    )
    entry.hash = entry_hash(entry, head.last_hash)
    session.add(entry)
    head.last_id, head.last_hash = entry.id, entry.hash
    session.add(head)
    if entry.payer is Payer.SUBSIDY:
        _apply_to_balances(session, entry)
    session.flush()
    return entry


def append_many(
    session: Session, drafts: Iterable[EntryDraft], *, now: datetime | None = None
) -> list[LedgerEntry]:
    """Append several entries in order (same transaction)."""
    return [append(session, d, now=now) for d in drafts]


def _row_hash(row: dict[str, Any], prev_hash: str) -> str:
    """:func:`entry_hash` of an entry given as column values (``created_at`` aware UTC)."""
    values = {name: row[name] for name in HASHED_FIELDS}
    values["created_at"] = row["created_at"].isoformat(timespec="microseconds")
    body = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def append_bulk(
    session: Session, drafts: Iterable[tuple[EntryDraft, datetime]], *, batch: int = 5000
) -> int:
    """Append many entries, each with its own time, in the given order; return how many.

    For bulk loads such as a generated month of history. The caller guarantees that every
    idempotency key is new, so keys are not looked up one by one (a reused key still fails on
    the unique index instead of returning the earlier entry). Ids, hashes and the chain head
    come out exactly as :func:`append` makes them; the member and district balances are
    updated once per (member, month) and (district, month).
    """
    head = repo.lock_head(session)
    last_id, last_hash = head.last_id, head.last_hash
    members: dict[tuple[int, str], list[int]] = {}
    districts: dict[tuple[str, str], list[int]] = {}
    rows: list[dict[str, Any]] = []
    count = 0
    for draft, at in drafts:
        last_id += 1
        row: dict[str, Any] = {
            "id": last_id,
            "idempotency_key": draft.idempotency_key,
            "kind": EntryKind(draft.kind).value,
            "payer": Payer(draft.payer).value,
            "order_ref": draft.order_ref,
            "member_id": draft.member_id,
            "provider_id": draft.provider_id,
            "district_code": draft.district_code,
            "month": draft.month,
            "amount_fen": draft.amount_fen,
            "policy_version": draft.policy_version,
            "reason": draft.reason[:200],
            "actor": draft.actor[:80],
            "created_at": at.astimezone(UTC),
            "prev_hash": last_hash,
        }
        last_hash = row["hash"] = _row_hash(row, last_hash)
        rows.append(row)
        count += 1
        if draft.payer is Payer.SUBSIDY:
            committed, consumed = effect(EntryKind(draft.kind), draft.amount_fen)
            for totals in (
                members.setdefault((draft.member_id, draft.month), [0, 0]),
                districts.setdefault((draft.district_code, draft.month), [0, 0]),
            ):
                totals[0] += committed
                totals[1] += consumed
        if len(rows) >= batch:
            session.execute(insert(LedgerEntry), rows)
            rows = []
    if rows:
        session.execute(insert(LedgerEntry), rows)
    head.last_id, head.last_hash = last_id, last_hash
    session.add(head)
    _add_to_balances(session, members, districts)
    session.flush()
    return count


def _add_to_balances(
    session: Session,
    members: dict[tuple[int, str], list[int]],
    districts: dict[tuple[str, str], list[int]],
) -> None:
    """Add [committed, consumed] totals to the balance rows (created when missing)."""
    months = {month for _, month in members} | {month for _, month in districts}
    if not months:
        return
    # Re-read under the head lock: the session may hold copies older than the rows.
    stored_members = {
        (row.member_id, row.month): row for row in repo.member_balances_in(session, months)
    }
    for (member_id, month), (committed, consumed) in members.items():
        member = stored_members.get((member_id, month)) or MemberBalance(
            member_id=member_id, month=month
        )
        member.committed_fen += committed
        member.consumed_fen += consumed
        session.add(member)
    stored_districts = {
        (row.district_code, row.month): row for row in repo.district_balances_in(session, months)
    }
    for (code, month), (committed, consumed) in districts.items():
        district = stored_districts.get((code, month)) or DistrictBalance(
            district_code=code, month=month
        )
        district.committed_fen += committed
        district.consumed_fen += consumed
        session.add(district)


# --- balances ------------------------------------------------------------------------------


def effect(kind: EntryKind, amount_fen: int) -> tuple[int, int]:
    """What an entry does to (committed, consumed) subsidy."""
    if kind is EntryKind.RESERVE:
        return amount_fen, 0
    if kind is EntryKind.CONSUME:
        return 0, amount_fen
    if kind is EntryKind.RELEASE:
        return -amount_fen, 0
    return -amount_fen, -amount_fen


def _apply_to_balances(session: Session, entry: LedgerEntry) -> None:
    committed, consumed = effect(EntryKind(entry.kind), entry.amount_fen)
    member = repo.member_balance(session, entry.member_id, entry.month, create=True)
    assert member is not None
    member.committed_fen += committed
    member.consumed_fen += consumed
    session.add(member)
    district = repo.district_balance(session, entry.district_code, entry.month, create=True)
    assert district is not None
    district.committed_fen += committed
    district.consumed_fen += consumed
    session.add(district)


def member_committed(session: Session, member_id: int, month: str) -> int:
    """Subsidy reserved or used by the member in the month."""
    row = repo.member_balance(session, member_id, month)
    return row.committed_fen if row is not None else 0


def member_ltc_committed(session: Session, member_id: int, month: str) -> int:
    """Long-term-care insurance money reserved or used for the member in the month."""
    return repo.member_payer_committed(session, member_id, month, Payer.LTC_INSURANCE)


def district_committed(session: Session, district_code: str, month: str) -> int:
    """Subsidy reserved or used in the district in the month."""
    row = repo.district_balance(session, district_code, month)
    return row.committed_fen if row is not None else 0


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """The verifier's verdict: ok, or the first broken entry and what is wrong with it."""

    entries: int
    first_broken_id: int | None = None
    problem: str = ""
    balance_problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether the chain and the balances are intact."""
        return self.first_broken_id is None and not self.problem and not self.balance_problems


def _differences(
    what: str, stored: dict[tuple[Any, str], list[int]], replayed: dict[tuple[Any, str], list[int]]
) -> list[str]:
    """Balances whose stored [committed, consumed] differ from the ledger's replay."""
    out = []
    for key in sorted(set(stored) | set(replayed)):
        if stored.get(key, [0, 0]) != replayed.get(key, [0, 0]):
            out.append(
                f"{what} {key[0]} {key[1]}: stored {stored.get(key, [0, 0])}, "
                f"ledger gives {replayed.get(key, [0, 0])}"
            )
    return out


def verify(session: Session) -> Verification:
    """Walk the chain: ids consecutive from 1, each prev_hash and hash right, head at the end.

    Also replays the subsidy balances and compares them with the stored ones.
    """
    prev_hash, expected_id, count = GENESIS_HASH, 1, 0
    members: dict[tuple[int, str], list[int]] = {}
    districts: dict[tuple[str, str], list[int]] = {}
    for entry in repo.entries(session):
        if entry.id != expected_id:
            what = "missing" if entry.id > expected_id else "out of order"
            return Verification(
                count, expected_id, f"entry {expected_id} is {what} (next id is {entry.id})"
            )
        if entry.prev_hash != prev_hash:
            return Verification(
                count, entry.id, f"entry {entry.id} does not link to entry {entry.id - 1}"
            )
        if entry_hash(entry, prev_hash) != entry.hash:
            return Verification(
                count, entry.id, f"entry {entry.id}'s content does not match its hash"
            )
        if entry.payer == Payer.SUBSIDY:
            c, u = effect(EntryKind(entry.kind), entry.amount_fen)
            m = members.setdefault((entry.member_id, entry.month), [0, 0])
            d = districts.setdefault((entry.district_code, entry.month), [0, 0])
            m[0] += c
            m[1] += u
            d[0] += c
            d[1] += u
        prev_hash, expected_id, count = entry.hash, expected_id + 1, count + 1
    head = session.get(LedgerHead, 1)
    if head is None or head.last_id != count or head.last_hash != prev_hash:
        broken = count + 1 if head is not None and head.last_id > count else count or None
        return Verification(
            count,
            broken,
            f"the chain ends at entry {count} but its head records entry "
            f"{head.last_id if head else '(no head)'}: entries were removed from the end",
        )
    stored_members = {
        (r.member_id, r.month): [r.committed_fen, r.consumed_fen]
        for r in repo.member_balances(session)
    }
    stored_districts = {
        (r.district_code, r.month): [r.committed_fen, r.consumed_fen]
        for r in repo.district_balances(session)
    }
    problems = _differences("member", stored_members, members) + _differences(
        "district", stored_districts, districts
    )
    return Verification(count, None, "", tuple(problems))


__all__ = [
    "EntryDraft",
    "Verification",
    "append",
    "append_bulk",
    "append_many",
    "district_committed",
    "effect",
    "entry_hash",
    "member_committed",
    "verify",
]
