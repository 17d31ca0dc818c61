"""The subsidy ledger: append-only, hash-chained, idempotent; tampering is found and named."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from core.db import read_only
from core.errors import Conflict, Validation
from pricing import ledger
from pricing import repository as repo
from pricing.ledger import EntryDraft
from pricing.models import GENESIS_HASH, EntryKind, LedgerEntry, LedgerHead, Payer

MONTH = "2026-12"


def draft(
    key: str,
    kind: EntryKind = EntryKind.RESERVE,
    amount: int = 8000,
    *,
    member: int = 1,
    district: str = "350102",
    payer: Payer = Payer.SUBSIDY,
    order: str = "ord-1",
) -> EntryDraft:
    return EntryDraft(
        idempotency_key=key,
        kind=kind,
        payer=payer,
        order_ref=order,
        member_id=member,
        provider_id=7,
        district_code=district,
        month=MONTH,
        amount_fen=amount,
        actor="test",
        policy_version="fz-2026.1",
    )


def _five(session: Session) -> None:
    ledger.append(session, draft("a", amount=8000))
    ledger.append(session, draft("b", EntryKind.CONSUME, 8000))
    ledger.append(session, draft("c", amount=3000, member=2, order="ord-2"))
    ledger.append(session, draft("d", EntryKind.RELEASE, 3000, member=2, order="ord-2"))
    ledger.append(session, draft("e", EntryKind.REVERSAL, 1000))
    session.commit()


def test_entries_chain_from_genesis(session: Session) -> None:
    first = ledger.append(session, draft("a"))
    second = ledger.append(session, draft("b", EntryKind.CONSUME))
    assert (first.id, second.id) == (1, 2)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    assert first.hash == ledger.entry_hash(first, GENESIS_HASH)
    head = session.get(LedgerHead, 1)
    assert head is not None and (head.last_id, head.last_hash) == (2, second.hash)
    session.commit()
    assert ledger.verify(session).ok


def test_same_key_same_entry_and_different_content_is_refused(session: Session) -> None:
    one = ledger.append(session, draft("k"))
    again = ledger.append(session, draft("k"))
    assert again.id == one.id
    with pytest.raises(Conflict, match="different entry"):
        ledger.append(session, draft("k", amount=1))
    assert len(list(repo.entries(session))) == 1


def test_drafts_are_checked() -> None:
    with pytest.raises(Validation, match="positive"):
        draft("x", amount=0)
    with pytest.raises(Validation, match="YYYY-MM"):
        EntryDraft("x", EntryKind.RESERVE, Payer.SUBSIDY, "o", 1, 1, "350102", "2026-1", 1, "t")


def test_balances_follow_the_entries_and_replay(session: Session) -> None:
    _five(session)
    # member 1: reserved 80, consumed 80, 10 reversed; member 2: reserved and released 30.
    assert ledger.member_committed(session, 1, MONTH) == 7000
    assert ledger.member_committed(session, 2, MONTH) == 0
    balance = repo.member_balance(session, 1, MONTH)
    assert balance is not None and balance.consumed_fen == 7000
    assert ledger.district_committed(session, "350102", MONTH) == 7000
    # Household and insurance shares are recorded but are not subsidy.
    ledger.append(session, draft("h", amount=2000, payer=Payer.HOUSEHOLD))
    assert ledger.member_committed(session, 1, MONTH) == 7000
    session.commit()
    result = ledger.verify(session)
    assert result.ok and result.entries == 6


# --- tampering with direct SQL -----------------------------------------------------------


def _raw(engine: Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql))


def _without_guards(engine: Engine) -> None:
    """What an attacker with the database owner's rights would do first."""
    if engine.dialect.name == "postgresql":
        _raw(engine, "ALTER TABLE ledger_entry DISABLE TRIGGER USER")
    else:
        _raw(engine, "DROP TRIGGER ledger_entry_no_update")
        _raw(engine, "DROP TRIGGER ledger_entry_no_delete")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_entry SET amount_fen = 1 WHERE id = 2",
        "DELETE FROM ledger_entry WHERE id = 2",
    ],
)
def test_the_database_refuses_changes(session: Session, engine: Engine, sql: str) -> None:
    _five(session)
    with pytest.raises(DBAPIError, match="append-only"):
        _raw(engine, sql)
    assert ledger.verify(session).ok


def _verdict(engine: Engine) -> ledger.Verification:
    with Session(engine) as fresh:
        return ledger.verify(fresh)


TAMPERING: list[tuple[str, Callable[[Engine], None], int, str]] = [
    (
        "changed amount",
        lambda e: _raw(e, "UPDATE ledger_entry SET amount_fen = 80 WHERE id = 3"),
        3,
        "content does not match its hash",
    ),
    (
        "changed member",
        lambda e: _raw(e, "UPDATE ledger_entry SET member_id = 9 WHERE id = 1"),
        1,
        "content does not match its hash",
    ),
    (
        "deleted in the middle",
        lambda e: _raw(e, "DELETE FROM ledger_entry WHERE id = 2"),
        2,
        "missing",
    ),
    (
        "deleted at the end",
        lambda e: _raw(e, "DELETE FROM ledger_entry WHERE id = 5"),
        5,
        "removed from the end",
    ),
    (
        "inserted at the end",
        lambda e: _raw(
            e,
            "INSERT INTO ledger_entry (id, idempotency_key, kind, payer, order_ref, member_id, "
            "provider_id, district_code, month, amount_fen, policy_version, reason, actor, "
            "created_at, prev_hash, hash) SELECT 6, 'forged', 'consume', 'subsidy', 'ord-9', 1, 7, "
            "'350102', '2026-12', 50000, '', '', 'x', created_at, hash, 'f' FROM ledger_entry "
            "WHERE id = 5",
        ),
        6,
        "content does not match its hash",
    ),
    (
        "renumbered",
        lambda e: _raw(e, "UPDATE ledger_entry SET id = 40 WHERE id = 4"),
        4,
        "missing",
    ),
]


@pytest.mark.parametrize(
    ("what", "tamper", "broken", "problem"), TAMPERING, ids=[t[0] for t in TAMPERING]
)
def test_tampering_is_found_and_the_first_broken_entry_named(
    session: Session,
    engine: Engine,
    what: str,
    tamper: Callable[[Engine], None],
    broken: int,
    problem: str,
) -> None:
    _five(session)
    assert _verdict(engine).ok
    _without_guards(engine)
    tamper(engine)
    verdict = _verdict(engine)
    assert not verdict.ok
    assert verdict.first_broken_id == broken, verdict
    assert problem in verdict.problem


def test_rehashed_change_breaks_the_next_link(session: Session, engine: Engine) -> None:
    """Re-hashing the changed entry still leaves the next entry pointing at the old hash."""
    _five(session)
    _without_guards(engine)
    with Session(engine) as s:
        entry = next(e for e in repo.entries(s) if e.id == 2)
        entry.amount_fen = 1
        entry.hash = ledger.entry_hash(entry, entry.prev_hash)
        s.add(entry)
        s.commit()
    verdict = _verdict(engine)
    assert verdict.first_broken_id == 3
    assert "does not link to entry 2" in verdict.problem


def test_a_well_forged_entry_at_the_end_disagrees_with_the_head(
    session: Session, engine: Engine
) -> None:
    _five(session)
    with Session(engine) as s:
        last = next(e for e in repo.entries(s) if e.id == 5)
        forged = LedgerEntry(
            **{
                **last.model_dump(warnings=False),
                "id": 6,
                "idempotency_key": "forged",
                "amount_fen": 50000,
            }
        )
        forged.prev_hash = last.hash
        forged.hash = ledger.entry_hash(forged, last.hash)
        s.add(forged)
        s.commit()
    verdict = _verdict(engine)
    assert verdict.first_broken_id == 6
    assert "head records entry 5" in verdict.problem


def test_a_changed_balance_is_reported(session: Session, engine: Engine) -> None:
    _five(session)
    _raw(engine, "UPDATE member_subsidy_balance SET committed_fen = 0 WHERE member_id = 1")
    verdict = _verdict(engine)
    assert verdict.first_broken_id is None and not verdict.ok
    assert verdict.balance_problems == (
        "member 1 2026-12: stored [0, 7000], ledger gives [7000, 7000]",
    )


def test_a_well_forged_entry_inserted_in_the_middle_breaks_the_next_link(
    session: Session, engine: Engine
) -> None:
    """Entries 3–5 moved up one place and a correctly hashed entry put in as 3: the forged
    entry itself checks out, the one after it no longer links."""
    _five(session)
    _without_guards(engine)
    _raw(engine, "UPDATE ledger_entry SET id = id + 100 WHERE id >= 3")
    _raw(engine, "UPDATE ledger_entry SET id = id - 99 WHERE id >= 100")
    with Session(engine) as s:
        second = next(e for e in repo.entries(s) if e.id == 2)
        forged = LedgerEntry(
            **{**second.model_dump(warnings=False), "id": 3, "idempotency_key": "forged"}
        )
        forged.prev_hash = second.hash
        forged.hash = ledger.entry_hash(forged, second.hash)
        s.add(forged)
        s.commit()
    verdict = _verdict(engine)
    assert verdict.first_broken_id == 4, verdict
    assert "does not link to entry 3" in verdict.problem


# --- bulk appends ------------------------------------------------------------------------


def test_bulk_append_chains_like_single_appends_and_updates_balances(session: Session) -> None:
    ledger.append(session, draft("a", amount=8000))
    at = datetime(2026, 12, 1, 1, 30, 15, 123456, tzinfo=UTC)
    appended = ledger.append_bulk(
        session,
        [
            (draft("b", EntryKind.CONSUME, 8000), at),
            (draft("c", amount=3000, member=2, order="ord-2", district="350103"), at),
            (draft("d", amount=1500, member=2, order="ord-2", payer=Payer.HOUSEHOLD), at),
            (draft("e", EntryKind.CONSUME, 3000, member=2, order="ord-2", district="350103"), at),
            (draft("f", amount=500, member=3, order="ord-3"), at + timedelta(hours=1)),
        ],
        batch=2,
    )
    assert appended == 5
    ledger.append(session, draft("g", EntryKind.RELEASE, 500, member=3, order="ord-3"))
    session.commit()

    entries = list(repo.entries(session))
    assert [e.id for e in entries] == list(range(1, 8))
    assert [e.idempotency_key for e in entries] == list("abcdefg")
    assert entries[1].created_at == at
    prev = GENESIS_HASH
    for entry in entries:
        assert entry.prev_hash == prev and entry.hash == ledger.entry_hash(entry, prev)
        prev = entry.hash
    head = session.get(LedgerHead, 1)
    assert head is not None and (head.last_id, head.last_hash) == (7, prev)
    assert ledger.member_committed(session, 1, MONTH) == 8000
    assert ledger.member_committed(session, 2, MONTH) == 3000
    assert ledger.member_committed(session, 3, MONTH) == 0
    member_two = repo.member_balance(session, 2, MONTH)
    assert member_two is not None and member_two.consumed_fen == 3000
    assert ledger.district_committed(session, "350103", MONTH) == 3000
    assert ledger.district_committed(session, "350102", MONTH) == 8000
    result = ledger.verify(session)
    assert result.ok and result.entries == 7


def test_bulk_append_of_nothing_changes_nothing(session: Session) -> None:
    assert ledger.append_bulk(session, []) == 0
    head = session.get(LedgerHead, 1)
    assert head is not None and (head.last_id, head.last_hash) == (0, GENESIS_HASH)
    assert ledger.verify(session).ok


def test_bulk_append_refuses_a_used_key(session: Session) -> None:
    ledger.append(session, draft("a"))
    with pytest.raises(IntegrityError):
        ledger.append_bulk(session, [(draft("a"), datetime(2026, 12, 1, tzinfo=UTC))])


def test_a_read_only_session_sees_one_snapshot(session: Session, engine: Engine) -> None:
    """The verifier reads the ledger in batches: entries committed meanwhile stay out of its
    view, so it never reports the head as ahead of the chain."""
    _five(session)
    session.commit()
    with read_only(engine) as reader:
        before = ledger.verify(reader)
        with Session(engine) as writer:
            ledger.append(
                writer,
                EntryDraft(
                    idempotency_key="meanwhile",
                    kind=EntryKind.RESERVE,
                    payer=Payer.SUBSIDY,
                    order_ref="ord-meanwhile",
                    member_id=1,
                    provider_id=7,
                    district_code="350102",
                    month="2026-12",
                    amount_fen=100,
                    actor="test",
                ),
            )
            writer.commit()
        after = ledger.verify(reader)
    assert before.ok and after.ok and after.entries == before.entries == 5
    with read_only(engine) as fresh:
        assert ledger.verify(fresh).entries == 6
