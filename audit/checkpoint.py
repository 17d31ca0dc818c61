"""Signed checkpoints of the subsidy ledger's head, for auditors to keep.

A checkpoint records how many entries the chain had and the id and hash of its last entry,
signed with the platform's Ed25519 key. ``pricing.ledger.verify`` alone cannot see the newest
entries deleted together with a rewritten head row, nor a chain re-hashed from start to end:
such a chain is consistent with itself. An auditor who kept an earlier checkpoint sees it, since
the entry the checkpoint names is then gone or has another hash. Auditors verify with the public
key only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlmodel import Session

from core.errors import Conflict, Validation
from core.settings import Settings, get_settings
from core.timeutil import local_date, utcnow
from pricing import ledger
from pricing import models as pricing_models
from pricing import repository as pricing_repo

FORMAT = "linli-ledger-checkpoint/1"
FILE_PREFIX = "ledger-checkpoint-"
FIELDS = ("format", "entries", "head_id", "head_hash", "taken_at", "key_id", "signature")
_HASH = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_SIGNATURE_BYTES = 64


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The ledger head at one moment, signed (Ed25519 over :meth:`payload`)."""

    format: str
    entries: int
    head_id: int
    head_hash: str
    taken_at: datetime
    key_id: str
    signature: str

    def __post_init__(self) -> None:
        if self.taken_at.tzinfo is None or self.taken_at.utcoffset() is None:
            raise Validation("a checkpoint's taken_at must be timezone-aware")

    @property
    def day(self) -> str:
        """The local (Asia/Shanghai) date it was taken, YYYY-MM-DD."""
        return local_date(self.taken_at).isoformat()

    @property
    def label(self) -> str:
        """How messages name it."""
        return f"the checkpoint of {self.day}"

    def payload(self) -> bytes:
        """The signed bytes: canonical JSON of every field but the signature."""
        values = self._values()
        del values["signature"]
        return json.dumps(values, sort_keys=True, separators=(",", ":")).encode()

    def to_json(self) -> str:
        """The file form (sorted keys, one field a line)."""
        return json.dumps(self._values(), sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str = "checkpoint") -> Checkpoint:
        """Parse the file form strictly; ``Validation`` naming ``source`` and the fault."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Validation(f"{source}: not JSON ({exc.msg}, line {exc.lineno})") from exc
        if not isinstance(data, dict):
            raise Validation(f"{source}: not a JSON object")
        missing = [name for name in FIELDS if name not in data]
        if missing:
            raise Validation(f"{source}: missing {', '.join(missing)}")
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise Validation(f"{source}: unknown field {', '.join(unknown)}")
        if data["format"] != FORMAT:
            raise Validation(
                f"{source}: format {data['format']!r} is not a Linli ledger checkpoint ({FORMAT!r})"
            )
        for name in ("entries", "head_id"):
            value = data[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise Validation(f"{source}: {name} must be a whole number ≥ 0, not {value!r}")
        if not isinstance(data["head_hash"], str) or not _HASH.fullmatch(data["head_hash"]):
            raise Validation(f"{source}: head_hash must be 64 lowercase hex digits")
        if not isinstance(data["key_id"], str) or not _KEY_ID.fullmatch(data["key_id"]):
            raise Validation(f"{source}: key_id must be 16 lowercase hex digits")
        if _b64(data["signature"], _SIGNATURE_BYTES) is None:
            raise Validation(f"{source}: signature must be base64 of {_SIGNATURE_BYTES} bytes")
        taken_at = _parse_utc(data["taken_at"])
        if taken_at is None:
            raise Validation(
                f"{source}: taken_at must be a UTC time like 2026-12-01T02:00:00+00:00, "
                f"not {data['taken_at']!r}"
            )
        return cls(
            format=data["format"],
            entries=data["entries"],
            head_id=data["head_id"],
            head_hash=data["head_hash"],
            taken_at=taken_at,
            key_id=data["key_id"],
            signature=data["signature"],
        )

    def _values(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "entries": self.entries,
            "head_id": self.head_id,
            "head_hash": self.head_hash,
            "taken_at": _utc_text(self.taken_at),
            "key_id": self.key_id,
            "signature": self.signature,
        }


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _parse_utc(value: object) -> datetime | None:
    """The instant, only if ``value`` is exactly its canonical UTC text (else the signed bytes
    would not be the ones in the file)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None or _utc_text(parsed) != value:
        return None
    return parsed.astimezone(UTC)


def _b64(value: object, size: int) -> bytes | None:
    """The decoded bytes if ``value`` is strict base64 of exactly ``size`` bytes."""
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


# --- keys ----------------------------------------------------------------------------------


def signing_key(settings: Settings | None = None) -> Ed25519PrivateKey:
    """The configured Ed25519 signing key (``LINLI_AUDIT_SIGNING_KEY``)."""
    settings = settings or get_settings()
    seed = _b64(settings.audit_signing_key.get_secret_value(), 32)
    if seed is None:
        raise ValueError("LINLI_AUDIT_SIGNING_KEY must be base64 of a 32-byte Ed25519 seed")
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key(settings: Settings | None = None) -> str:
    """The configured key's raw public key, base64: what auditors verify with."""
    raw = signing_key(settings).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _load_public_key(public_key_b64: str) -> tuple[Ed25519PublicKey, bytes]:
    raw = _b64(public_key_b64.strip(), 32)
    if raw is None:
        raise Validation("the public key must be base64 of 32 bytes (see `linli audit public-key`)")
    return Ed25519PublicKey.from_public_bytes(raw), raw


def key_id(public_key_b64: str) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key."""
    _, raw = _load_public_key(public_key_b64)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(
    *,
    entries: int,
    head_id: int,
    head_hash: str,
    taken_at: datetime,
    settings: Settings | None = None,
) -> Checkpoint:
    """A checkpoint of the given head, signed with the configured key."""
    private = signing_key(settings)
    unsigned = Checkpoint(
        format=FORMAT,
        entries=entries,
        head_id=head_id,
        head_hash=head_hash,
        # Whole seconds: the file's text is the signed text, and it carries no microseconds.
        taken_at=taken_at.astimezone(UTC).replace(microsecond=0),
        key_id=key_id(public_key(settings)),
        signature="",
    )
    signature = base64.b64encode(private.sign(unsigned.payload())).decode()
    return replace(unsigned, signature=signature)


def signature_problem(checkpoint: Checkpoint, public_key_b64: str) -> str | None:
    """Why the checkpoint's signature does not verify with this public key, or None."""
    public, _ = _load_public_key(public_key_b64)
    expected_id = key_id(public_key_b64)
    what = f"{checkpoint.label} (entry {checkpoint.head_id})"
    if checkpoint.key_id != expected_id:
        return f"{what} was signed with key {checkpoint.key_id}, not with key {expected_id}"
    changed = f"{what} does not match its signature: it was changed after signing"
    raw = _b64(checkpoint.signature, _SIGNATURE_BYTES)
    if raw is None:
        return changed
    try:
        public.verify(raw, checkpoint.payload())
    except InvalidSignature:
        return changed
    return None


def verify_signature(checkpoint: Checkpoint, public_key_b64: str) -> bool:
    """Whether the checkpoint is exactly as signed by the holder of this public key."""
    return signature_problem(checkpoint, public_key_b64) is None


# --- taking and checking -------------------------------------------------------------------


def describe(verdict: ledger.Verification) -> str:
    """The verifier's verdict in one line, as ``linli ledger verify`` prints it."""
    if verdict.ok:
        return f"ledger ok: {verdict.entries} entries"
    if verdict.first_broken_id is not None or verdict.problem:
        return f"ledger broken at entry {verdict.first_broken_id}: {verdict.problem}"
    return f"ledger broken: {_balances_text(verdict.balance_problems)}"


def _balances_text(problems: Sequence[str]) -> str:
    more = len(problems) - 1
    return f"balances differ from the entries: {problems[0]}" + (
        f" (and {more} more)" if more else ""
    )


def take(
    session: Session, *, now: datetime | None = None, settings: Settings | None = None
) -> Checkpoint:
    """Verify the whole ledger and sign its head; ``Conflict`` if the ledger is broken.

    Holds the head lock while it verifies, so appends wait and the signed head is the verified
    one.
    """
    head = pricing_repo.lock_head(session)
    verdict = ledger.verify(session)
    if not verdict.ok:
        raise Conflict(f"no checkpoint signed: {describe(verdict)}")
    return sign(
        entries=verdict.entries,
        head_id=head.last_id,
        head_hash=head.last_hash,
        taken_at=now or utcnow(),
        settings=settings,
    )


Source = Literal["checkpoint", "ledger", "balances", "signature"]
# At the same entry, a checkpoint's finding says more than the verifier's (it names the
# checkpoint and the recorded hash); findings without an entry come after those with one.
_ORDER: dict[Source, int] = {"checkpoint": 0, "ledger": 1, "balances": 2, "signature": 3}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing found wrong: the entry it breaks at (if known) and what."""

    source: Source
    entry_id: int | None
    message: str

    def line(self) -> str:
        """The problem as one line of text."""
        if self.source == "signature":
            return f"checkpoint refused: {self.message}"
        if self.entry_id is None:
            return f"ledger broken: {self.message}"
        return f"ledger broken at entry {self.entry_id}: {self.message}"


@dataclass(frozen=True)
class CheckResult:
    """The ledger's own verdict and the kept checkpoints' verdicts, first problem first."""

    verification: ledger.Verification
    checkpoints: tuple[Checkpoint, ...]
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether the chain is intact and every checkpoint holds."""
        return not self.problems

    @property
    def first_broken_id(self) -> int | None:
        """The entry the first problem breaks at (None if ok or not about one entry)."""
        return self.problems[0].entry_id if self.problems else None

    @property
    def problem(self) -> str:
        """The first problem's message ("" if ok)."""
        return self.problems[0].message if self.problems else ""

    def summary(self) -> str:
        """One line: what holds, or the first problem (and how many more)."""
        if self.problems:
            more = len(self.problems) - 1
            return self.problems[0].line() + (
                f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
            )
        head = f"ledger ok: {self.verification.entries} entries"
        if not self.checkpoints:
            return f"{head}; no checkpoints to check"
        newest = self.checkpoints[-1]
        n = len(self.checkpoints)
        holds = f"{n} checkpoint holds" if n == 1 else f"{n} checkpoints hold"
        return f"{head}; {holds} (newest {newest.day}, entry {newest.head_id})"


@dataclass
class _Walk:
    count: int = 0
    last_id: int = 0
    hashes: dict[int, str] = field(default_factory=dict)


def _walk(session: Session, wanted: set[int]) -> _Walk:
    """Count the rows and collect the hashes of the wanted ids, whatever their order or gaps."""
    walk = _Walk(hashes={0: pricing_models.GENESIS_HASH} if 0 in wanted else {})
    for entry in pricing_repo.entries(session):
        walk.count += 1
        walk.last_id = max(walk.last_id, entry.id)
        if entry.id in wanted:
            walk.hashes[entry.id] = entry.hash
    return walk


def _short(digest: str) -> str:
    return f"{digest[:12]}…"


def _checkpoint_problem(cp: Checkpoint, walk: _Walk, holding: list[Checkpoint]) -> Problem | None:
    recorded = f"recorded {cp.head_id} (hash {_short(cp.head_hash)})"
    stored = walk.hashes.get(cp.head_id)
    if stored is None:
        if walk.last_id == 0:
            return Problem("checkpoint", 1, f"every entry is gone: {cp.label} {recorded}")
        if walk.last_id < cp.head_id:
            return Problem(
                "checkpoint",
                walk.last_id + 1,
                f"entries after {walk.last_id} are gone: the ledger ends at {walk.last_id}, "
                f"{cp.label} {recorded}",
            )
        return Problem(
            "checkpoint", cp.head_id, f"entry {cp.head_id} is gone: {cp.label} {recorded}"
        )
    if stored != cp.head_hash:
        earlier = [h for h in holding if h.head_id < cp.head_id]
        where = (
            f" after entry {earlier[-1].head_id}, where {earlier[-1].label} still holds"
            if earlier
            else ""
        )
        return Problem(
            "checkpoint",
            cp.head_id,
            f"entry {cp.head_id}'s hash differs from {cp.label} ({_short(cp.head_hash)} then, "
            f"{_short(stored)} now): the chain was rewritten{where}",
        )
    if walk.count < cp.entries:
        return Problem(
            "checkpoint",
            walk.count + 1,
            f"the ledger has {walk.count} entries, fewer than the {cp.entries} {cp.label} recorded",
        )
    return None


def check(session: Session, checkpoints: Sequence[Checkpoint], public_key_b64: str) -> CheckResult:
    """Verify the ledger and hold it against every kept checkpoint.

    A checkpoint holds when its signature verifies with ``public_key_b64``, the entry it names
    still has the recorded hash, and the ledger has at least as many entries. A checkpoint whose
    signature fails is reported and not otherwise used: its numbers cannot be trusted.
    """
    ordered = sorted(checkpoints, key=lambda c: (c.head_id, c.taken_at))
    problems: list[Problem] = []
    genuine: list[Checkpoint] = []
    for cp in ordered:
        refused = signature_problem(cp, public_key_b64)
        if refused is None:
            genuine.append(cp)
        else:
            problems.append(Problem("signature", None, refused))
    verdict = ledger.verify(session)
    if verdict.first_broken_id is not None or verdict.problem:
        problems.append(Problem("ledger", verdict.first_broken_id, verdict.problem))
    elif verdict.balance_problems:
        problems.append(Problem("balances", None, _balances_text(verdict.balance_problems)))
    walk = _walk(session, {cp.head_id for cp in genuine})
    holding: list[Checkpoint] = []
    for cp in genuine:
        found = _checkpoint_problem(cp, walk, holding)
        if found is None:
            holding.append(cp)
        else:
            problems.append(found)
    problems.sort(key=lambda p: (p.entry_id is None, p.entry_id or 0, _ORDER[p.source]))
    return CheckResult(verdict, tuple(ordered), tuple(problems))


# --- files ---------------------------------------------------------------------------------


def default_dir(settings: Settings | None = None) -> Path:
    """Where the daily checkpoint is written unless told otherwise: ``<data_dir>/checkpoints``."""
    return (settings or get_settings()).resolved_data_dir / "checkpoints"


def file_name(checkpoint: Checkpoint) -> str:
    """``ledger-checkpoint-YYYY-MM-DD.json`` for the local day it was taken."""
    return f"{FILE_PREFIX}{checkpoint.day}.json"


def write(checkpoint: Checkpoint, directory: Path) -> Path:
    """Write the checkpoint into ``directory`` (created if need be); a later one of the same day
    replaces the earlier. Returns the file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name(checkpoint)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(checkpoint.to_json(), encoding="utf-8")
    # Atomic: a reader (or a crash) never sees half a checkpoint.
    os.replace(partial, path)
    return path


def load(path: Path) -> Checkpoint:
    """Read one checkpoint file (``Validation`` naming the file if it is malformed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise Validation(f"{path}: not UTF-8 text") from exc
    return Checkpoint.from_json(text, source=str(path))


def load_dir(directory: Path) -> list[Checkpoint]:
    """Every ``ledger-checkpoint-*.json`` in the folder, by name."""
    if not directory.is_dir():
        raise FileNotFoundError(f"no such folder: {directory}")
    return [load(p) for p in sorted(directory.glob(f"{FILE_PREFIX}*.json"))]


__all__ = [
    "FORMAT",
    "CheckResult",
    "Checkpoint",
    "Problem",
    "check",
    "default_dir",
    "describe",
    "file_name",
    "key_id",
    "load",
    "load_dir",
    "public_key",
    "sign",
    "signature_problem",
    "signing_key",
    "take",
    "verify_signature",
    "write",
]
