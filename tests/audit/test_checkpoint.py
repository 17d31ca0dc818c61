"""Signed ledger checkpoints: signing and strict files, tampering found against kept checkpoints
(even a chain re-hashed to be consistent with itself), the ``linli audit`` commands."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from api.cli import app
from audit import checkpoint as checkpoints
from audit.checkpoint import Checkpoint, CheckResult
from core.db import get_engine, unit_of_work
from core.errors import Conflict, Validation
from core.settings import Settings
from pricing import ledger
from pricing import repository as repo
from pricing.ledger import EntryDraft
from pricing.models import GENESIS_HASH, EntryKind, LedgerEntry, Payer
from tests.pricing.test_ledger import _five, _raw, _without_guards, draft
from tests.workers import clean_env

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 on 2026-12-01 in Asia/Shanghai
DAY = timedelta(days=1)
OTHER_KEY = base64.b64encode(b"another-installation-signing-key").decode()
HASH = "ab" * 32
runner = CliRunner()


def _other() -> Settings:
    return Settings(_env_file=None, audit_signing_key=OTHER_KEY)


def _signed(**changes: Any) -> Checkpoint:
    values: dict[str, Any] = {"entries": 5, "head_id": 5, "head_hash": HASH, "taken_at": NOW}
    return checkpoints.sign(**{**values, **changes})


# --- signatures and files -------------------------------------------------------------------


def test_a_checkpoint_round_trips_and_verifies_with_the_public_key_only() -> None:
    cp = _signed(taken_at=NOW.replace(microsecond=123456))
    back = Checkpoint.from_json(cp.to_json())
    assert back == cp
    assert back.taken_at == NOW and back.day == "2026-12-01"
    public = checkpoints.public_key()
    assert checkpoints.verify_signature(back, public)
    assert back.key_id == hashlib.sha256(base64.b64decode(public)).hexdigest()[:16]
    assert json.loads(cp.to_json())["taken_at"] == "2026-12-01T02:00:00+00:00"
    assert cp.payload() == (
        b'{"entries":5,"format":"linli-ledger-checkpoint/1","head_hash":"' + HASH.encode() + b'",'
        b'"head_id":5,"key_id":"'
        + cp.key_id.encode()
        + b'","taken_at":"2026-12-01T02:00:00+00:00"}'
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("entries", 9),
        ("head_id", 4),
        ("head_hash", "cd" * 32),
        ("taken_at", NOW + DAY),
        ("format", "linli-ledger-checkpoint/2"),
    ],
)
def test_a_changed_field_is_refused(name: str, value: Any) -> None:
    changed = replace(_signed(), **{name: value})
    assert not checkpoints.verify_signature(changed, checkpoints.public_key())
    problem = checkpoints.signature_problem(changed, checkpoints.public_key())
    assert problem is not None and "was changed after signing" in problem


def test_a_signature_from_another_key_is_refused() -> None:
    theirs = checkpoints.sign(entries=5, head_id=5, head_hash=HASH, taken_at=NOW, settings=_other())
    ours, their_key = checkpoints.public_key(), checkpoints.public_key(_other())
    assert checkpoints.verify_signature(theirs, their_key)
    assert not checkpoints.verify_signature(theirs, ours)
    assert checkpoints.signature_problem(theirs, ours) == (
        f"the checkpoint of 2026-12-01 (entry 5) was signed with key {theirs.key_id}, "
        f"not with key {checkpoints.key_id(ours)}"
    )
    # Claiming our key id does not help: the signature is still theirs.
    claimed = replace(theirs, key_id=checkpoints.key_id(ours))
    assert not checkpoints.verify_signature(claimed, ours)


def _file(**changes: Any) -> str:
    data = json.loads(_signed().to_json())
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "x.json: not JSON (Expecting property name enclosed in double quotes, line 1)"),
        ("[1]", "x.json: not a JSON object"),
        (json.dumps({"format": "linli-ledger-checkpoint/1"}), "x.json: missing entries, head_id"),
        (_file(extra=1), "x.json: unknown field extra"),
        (_file(format="something/1"), "x.json: format 'something/1' is not a Linli ledger"),
        (_file(entries="5"), "x.json: entries must be a whole number ≥ 0, not '5'"),
        (_file(head_id=-1), "x.json: head_id must be a whole number ≥ 0, not -1"),
        (_file(head_id=True), "x.json: head_id must be a whole number ≥ 0, not True"),
        (_file(head_hash="AB" * 32), "x.json: head_hash must be 64 lowercase hex digits"),
        (_file(key_id="xyz"), "x.json: key_id must be 16 lowercase hex digits"),
        (_file(signature="not base64!"), "x.json: signature must be base64 of 64 bytes"),
        (_file(signature="AAAA"), "x.json: signature must be base64 of 64 bytes"),
        (_file(taken_at="2026-12-01T02:00:00Z"), "x.json: taken_at must be a UTC time like"),
        (_file(taken_at="2026-12-01T10:00:00+08:00"), "x.json: taken_at must be a UTC time"),
        (_file(taken_at="yesterday"), "x.json: taken_at must be a UTC time"),
    ],
)
def test_malformed_files_are_refused_naming_the_fault(text: str, message: str) -> None:
    with pytest.raises(Validation) as caught:
        Checkpoint.from_json(text, source="x.json")
    assert caught.value.detail.startswith(message), caught.value.detail
    assert "\n" not in caught.value.detail


def test_a_malformed_public_key_is_refused() -> None:
    with pytest.raises(Validation, match="public key must be base64 of 32 bytes"):
        checkpoints.verify_signature(_signed(), "c2hvcnQ=")


def test_production_refuses_the_default_signing_key() -> None:
    production = {
        "environment": "production",
        "secret_key": "s" * 40,
        "data_key": "cHJvZHVjdGlvbi1kYXRhLWtleS0zMi1ieXRlcy1sb25n",
        "index_key": "i" * 40,
    }
    with pytest.raises(ValueError, match="LINLI_AUDIT_SIGNING_KEY must be set outside dev"):
        Settings.model_validate(production)
    ok = Settings.model_validate({**production, "audit_signing_key": OTHER_KEY})
    assert checkpoints.public_key(ok) == checkpoints.public_key(_other())


def test_a_malformed_signing_key_is_a_configuration_error() -> None:
    bad = Settings(_env_file=None, audit_signing_key="c2hvcnQ=")
    with pytest.raises(ValueError, match="LINLI_AUDIT_SIGNING_KEY must be base64 of a 32-byte"):
        checkpoints.public_key(bad)


# --- taking and checking against the database ------------------------------------------------


def _take(engine: Engine, now: datetime) -> Checkpoint:
    with Session(engine) as s:
        return checkpoints.take(s, now=now)


def _check(engine: Engine, *kept: Checkpoint, key: str | None = None) -> CheckResult:
    with Session(engine) as s:
        return checkpoints.check(s, kept, key or checkpoints.public_key())


def _five_with_checkpoints(session: Session, engine: Engine) -> list[Checkpoint]:
    """The five entries of the ledger tests, with checkpoints kept after entries 1, 3 and 5 on
    2026-12-01, -02 and -03."""
    kept = []
    drafts = [
        draft("a", amount=8000),
        draft("b", EntryKind.CONSUME, 8000),
        draft("c", amount=3000, member=2, order="ord-2"),
        draft("d", EntryKind.RELEASE, 3000, member=2, order="ord-2"),
        draft("e", EntryKind.REVERSAL, 1000),
    ]
    for batch, day in (([0], 0), ([1, 2], 1), ([3, 4], 2)):
        ledger.append_many(session, [drafts[i] for i in batch])
        session.commit()
        kept.append(_take(engine, NOW + day * DAY))
    assert [(c.head_id, c.entries, c.day) for c in kept] == [
        (1, 1, "2026-12-01"),
        (3, 3, "2026-12-02"),
        (5, 5, "2026-12-03"),
    ]
    return kept


def test_an_intact_ledger_holds_against_its_checkpoints(session: Session, engine: Engine) -> None:
    kept = _five_with_checkpoints(session, engine)
    head = repo.lock_head(session)
    assert (kept[-1].head_id, kept[-1].head_hash) == (head.last_id, head.last_hash)
    session.rollback()
    result = _check(engine, *reversed(kept))
    assert result.ok and result.first_broken_id is None and result.problem == ""
    assert result.summary() == (
        "ledger ok: 5 entries; 3 checkpoints hold (newest 2026-12-03, entry 5)"
    )
    assert _check(engine).summary() == "ledger ok: 5 entries; no checkpoints to check"
    assert _check(engine, kept[0]).summary() == (
        "ledger ok: 5 entries; 1 checkpoint holds (newest 2026-12-01, entry 1)"
    )


def test_an_empty_ledger_can_be_checkpointed(engine: Engine) -> None:
    empty = _take(engine, NOW)
    assert (empty.entries, empty.head_id, empty.head_hash) == (0, 0, GENESIS_HASH)
    assert _check(engine, empty).ok


def test_no_checkpoint_of_a_broken_ledger(session: Session, engine: Engine) -> None:
    _five(session)
    _without_guards(engine)
    _raw(engine, "UPDATE ledger_entry SET amount_fen = 1 WHERE id = 3")
    with pytest.raises(Conflict) as refused:
        _take(engine, NOW)
    assert refused.value.detail == (
        "no checkpoint signed: ledger broken at entry 3: entry 3's content does not match its hash"
    )


def _delete_newest_and_rewrite_head(engine: Engine) -> None:
    _raw(engine, "DELETE FROM ledger_entry WHERE id > 3")
    _raw(
        engine,
        "UPDATE ledger_head SET last_id = 3, "
        "last_hash = (SELECT hash FROM ledger_entry WHERE id = 3)",
    )


def _insert_in_the_middle(engine: Engine) -> None:
    """Entries 3–5 moved up one place and a correctly hashed entry put in as 3."""
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


TAMPERING: list[tuple[str, Callable[[Engine], None], int, str]] = [
    (
        "updated row",
        lambda e: _raw(e, "UPDATE ledger_entry SET amount_fen = 80 WHERE id = 3"),
        3,
        "entry 3's content does not match its hash",
    ),
    (
        "deleted row",
        lambda e: _raw(e, "DELETE FROM ledger_entry WHERE id = 2"),
        2,
        "entry 2 is missing (next id is 3)",
    ),
    (
        # The verifier sees the first entry that no longer links (4); the checkpoint of entry 3
        # sees the forged entry itself.
        "inserted in the middle",
        _insert_in_the_middle,
        3,
        "entry 3's hash differs from the checkpoint of 2026-12-02",
    ),
    (
        "newest deleted",
        lambda e: _raw(e, "DELETE FROM ledger_entry WHERE id > 3"),
        4,
        "entries after 3 are gone: the ledger ends at 3, the checkpoint of 2026-12-03 "
        "recorded 5 (hash ",
    ),
    (
        "newest deleted, head rewritten",
        _delete_newest_and_rewrite_head,
        4,
        "entries after 3 are gone: the ledger ends at 3, the checkpoint of 2026-12-03 "
        "recorded 5 (hash ",
    ),
    (
        "every entry deleted",
        lambda e: _raw(e, "DELETE FROM ledger_entry"),
        1,
        "every entry is gone: the checkpoint of 2026-12-01 recorded 1 (hash ",
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
    kept = _five_with_checkpoints(session, engine)
    _without_guards(engine)
    tamper(engine)
    result = _check(engine, *kept)
    assert not result.ok
    assert result.first_broken_id == broken, result.problems
    assert result.problem.startswith(problem), result.problem
    line = result.summary()
    assert line.startswith(f"ledger broken at entry {broken}: {problem}") and "\n" not in line


def test_deleting_the_newest_entries_with_the_head_fools_the_chain_walk_only(
    session: Session, engine: Engine
) -> None:
    kept = _five_with_checkpoints(session, engine)
    _without_guards(engine)
    _delete_newest_and_rewrite_head(engine)
    result = _check(engine, *kept)
    # The chain and its head agree; only the replayed balances and the checkpoint object.
    assert result.verification.first_broken_id is None and not result.verification.problem
    assert [(p.source, p.entry_id) for p in result.problems] == [
        ("checkpoint", 4),
        ("balances", None),
    ]
    assert result.summary().endswith("(and 1 more problem)")


# --- an attacker who rewrites the whole chain consistently ----------------------------------

Replay = list[tuple[EntryDraft, datetime]]


def _rewrite(engine: Engine, change: Callable[[Replay], Replay]) -> None:
    """Empty the ledger and append a changed history through the ledger's own code, with the
    original times: every hash, the head and the balances then agree with each other."""
    with Session(engine) as s:
        history = [
            (
                EntryDraft(
                    idempotency_key=e.idempotency_key,
                    kind=EntryKind(e.kind),
                    payer=Payer(e.payer),
                    order_ref=e.order_ref,
                    member_id=e.member_id,
                    provider_id=e.provider_id,
                    district_code=e.district_code,
                    month=e.month,
                    amount_fen=e.amount_fen,
                    actor=e.actor,
                    policy_version=e.policy_version,
                    reason=e.reason,
                ),
                e.created_at,
            )
            for e in repo.entries(s)
        ]
    _without_guards(engine)
    _raw(engine, "DELETE FROM ledger_entry")
    _raw(engine, "DELETE FROM member_subsidy_balance")
    _raw(engine, "DELETE FROM district_subsidy_balance")
    _raw(engine, f"UPDATE ledger_head SET last_id = 0, last_hash = '{GENESIS_HASH}'")
    with Session(engine) as s:
        for entry_draft, at in change(history):
            ledger.append(s, entry_draft, now=at)
        s.commit()


REWRITES: list[tuple[str, Callable[[Replay], Replay], int, str]] = [
    (
        "newest dropped",
        lambda history: history[:3],
        4,
        "entries after 3 are gone: the ledger ends at 3, the checkpoint of 2026-12-03 recorded 5",
    ),
    (
        "an amount changed",
        lambda history: [
            (replace(d, amount_fen=100) if d.idempotency_key == "b" else d, at) for d, at in history
        ],
        3,
        "entry 3's hash differs from the checkpoint of 2026-12-02",
    ),
]


@pytest.mark.parametrize(
    ("what", "change", "broken", "problem"), REWRITES, ids=[r[0] for r in REWRITES]
)
def test_a_rehashed_rewritten_chain_passes_the_verifier_but_not_a_kept_checkpoint(
    session: Session,
    engine: Engine,
    what: str,
    change: Callable[[Replay], Replay],
    broken: int,
    problem: str,
) -> None:
    kept = _five_with_checkpoints(session, engine)
    _rewrite(engine, change)
    with Session(engine) as s:
        assert ledger.verify(s).ok  # the chain is consistent with itself
    result = _check(engine, *kept)
    assert result.verification.ok
    assert not result.ok
    assert result.first_broken_id == broken, result.problems
    assert result.problem.startswith(problem), result.problem
    # Checkpoint 1 still holds: the rewrite is placed after it.
    assert all(p.entry_id != 1 for p in result.problems)


def test_a_rewritten_entry_is_placed_between_the_checkpoints(
    session: Session, engine: Engine
) -> None:
    kept = _five_with_checkpoints(session, engine)
    _rewrite(engine, REWRITES[1][1])
    assert _check(engine, *kept).problem.endswith(
        "the chain was rewritten after entry 1, where the checkpoint of 2026-12-01 still holds"
    )


def test_a_checkpoint_with_more_entries_than_the_ledger_has_fails(
    session: Session, engine: Engine
) -> None:
    _five(session)
    head = repo.lock_head(session)
    claims_more = checkpoints.sign(
        entries=9, head_id=head.last_id, head_hash=head.last_hash, taken_at=NOW
    )
    session.rollback()
    result = _check(engine, claims_more)
    assert result.problem == (
        "the ledger has 5 entries, fewer than the 9 the checkpoint of 2026-12-01 recorded"
    )


def test_a_checkpoint_that_is_not_genuine_is_reported_and_not_used(
    session: Session, engine: Engine
) -> None:
    kept = _five_with_checkpoints(session, engine)
    # A forged checkpoint that would accuse an intact ledger of losing entries.
    forged = replace(kept[-1], entries=7, head_id=7)
    result = _check(engine, kept[0], forged)
    assert [p.source for p in result.problems] == ["signature"]
    assert result.summary() == (
        "checkpoint refused: the checkpoint of 2026-12-03 (entry 7) does not match its "
        "signature: it was changed after signing"
    )
    other = _check(engine, *kept, key=checkpoints.public_key(_other()))
    assert len(other.problems) == 3 and other.first_broken_id is None
    assert "was signed with key" in other.problem


# --- the command line --------------------------------------------------------------------------


def test_cli_public_key() -> None:
    done = runner.invoke(app, ["audit", "public-key"])
    key = checkpoints.public_key()
    assert (done.exit_code, done.output) == (
        0,
        f"public key: {key}\nkey id: {checkpoints.key_id(key)}\n",
    )


def test_cli_checkpoint_and_verify_ledger(configured: str, tmp_path: Path) -> None:
    with unit_of_work() as s:
        _five(s)
    first = runner.invoke(app, ["audit", "checkpoint"])
    assert first.exit_code == 0, first.output
    [daily] = sorted(checkpoints.default_dir().iterdir())
    taken = checkpoints.load(daily)
    assert daily.name == f"ledger-checkpoint-{taken.day}.json"
    assert (taken.entries, taken.head_id) == (5, 5)
    assert first.output == (
        f"{daily}: entry 5 (hash {taken.head_hash}), 5 entries, key {taken.key_id}\n"
    )
    kept = tmp_path / "kept"
    assert runner.invoke(app, ["audit", "checkpoint", "--out", str(kept)]).exit_code == 0

    default = runner.invoke(app, ["audit", "verify-ledger"])
    assert (default.exit_code, default.output) == (
        0,
        f"ledger ok: 5 entries; 1 checkpoint holds (newest {taken.day}, entry 5)\n",
    )
    both = runner.invoke(
        app, ["audit", "verify-ledger", "--checkpoint", str(daily), "--checkpoints-dir", str(kept)]
    )
    assert (both.exit_code, both.output) == (
        0,
        f"ledger ok: 5 entries; 2 checkpoints hold (newest {taken.day}, entry 5)\n",
    )

    other = runner.invoke(
        app, ["audit", "verify-ledger", "--public-key", checkpoints.public_key(_other())]
    )
    assert other.exit_code == 1
    assert other.output.startswith("checkpoint refused: the checkpoint of ")
    bad_key = runner.invoke(app, ["audit", "verify-ledger", "--public-key", "nope"])
    assert isinstance(bad_key.exception, Validation)

    engine = get_engine()
    _without_guards(engine)
    _delete_newest_and_rewrite_head(engine)
    assert runner.invoke(app, ["ledger", "verify"]).output.startswith("ledger broken: balances")
    broken = runner.invoke(app, ["audit", "verify-ledger", "--checkpoints-dir", str(kept)])
    assert broken.exit_code == 1
    assert broken.output == (
        f"ledger broken at entry 4: entries after 3 are gone: the ledger ends at 3, the "
        f"checkpoint of {taken.day} recorded 5 (hash {taken.head_hash[:12]}…) (and 1 more "
        "problem)\n"
    )
    refused = runner.invoke(app, ["audit", "checkpoint", "--out", str(tmp_path / "new")])
    assert isinstance(refused.exception, Conflict)
    assert not (tmp_path / "new").exists()


def test_cli_bad_checkpoint_files_are_one_line_errors(tmp_path: Path) -> None:
    broken = tmp_path / "ledger-checkpoint-2026-12-01.json"
    broken.write_text(_file(head_hash="x"), encoding="utf-8")
    missing = tmp_path / "nowhere"
    for args, message in [
        (["--checkpoint", str(broken)], f"{broken}: head_hash must be 64 lowercase hex digits"),
        (["--checkpoints-dir", str(missing)], f"no such folder: {missing}"),
    ]:
        # Through the console script's entry point, as a user runs it.
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", "audit", "verify-ledger", *args],
            capture_output=True,
            text=True,
            env=clean_env(tmp_path / "var"),
            timeout=120,
            check=False,
        )
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr.splitlines() == [f"error: {message}"]
