"""Keyset pagination: ``?limit=&after=<cursor>`` → ``{"items": [...], "next": cursor | null}``."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Generic, Protocol, TypeVar

from fastapi import Query
from pydantic import BaseModel

from api.types import ROW_ID_MAX
from core.errors import Validation
from core.settings import get_settings

T = TypeVar("T")
R = TypeVar("R")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    """One page of a list and the cursor of the next (null on the last page)."""

    items: list[T]
    next: str | None = None


_ROUNDS = 4
_MASK32 = 0xFFFFFFFF
CURSOR_PATTERN = r"^[0-9a-f]{16}$"


def _round(half: int, i: int) -> int:
    key = get_settings().secret_key.get_secret_value().encode()
    digest = hmac.new(key, f"cursor:{i}:{half}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big")


def encode_cursor(row_id: int) -> str:
    """An opaque cursor for the row after which the next page starts: the id through a keyed
    permutation of 64-bit numbers (a Feistel network), so cursors do not reveal row counts."""
    left, right = (row_id >> 32) & _MASK32, row_id & _MASK32
    for i in range(_ROUNDS):
        left, right = right, left ^ _round(right, i)
    return f"{(left << 32) | right:016x}"


def decode_cursor(cursor: str | None) -> int:
    """The row id a cursor points after (0 for the first page). Every 16-hex-digit string is a
    cursor of some position, so a made-up one gives a page, possibly empty, never an error."""
    if not cursor:
        return 0
    if re.fullmatch(CURSOR_PATTERN, cursor) is None:
        raise Validation("after: not a cursor this API returned")
    value = int(cursor, 16)
    left, right = value >> 32, value & _MASK32
    for i in reversed(range(_ROUNDS)):
        left, right = right ^ _round(left, i), left
    # Past every real row (id columns are 32-bit INTEGER): an empty page, not an overflow.
    return min((left << 32) | right, ROW_ID_MAX)


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")]
After = Annotated[
    str | None,
    Query(pattern=CURSOR_PATTERN, description="the `next` cursor of the previous page"),
]


class _Stored(Protocol):
    @property
    def id(self) -> int | None: ...


S = TypeVar("S", bound=_Stored)


def row_id(row: _Stored) -> int:
    """A stored row's id: how ``page`` orders rows and makes their cursors."""
    assert row.id is not None
    return row.id


def page(
    rows: Sequence[R], limit: int, row_id: Callable[[R], int], show: Callable[[R], T]
) -> Page[T]:
    """A page from ``limit + 1`` rows fetched in id order (the extra one says there is more)."""
    return page_all(rows, limit, row_id, lambda shown: [show(r) for r in shown])


def page_all(
    rows: Sequence[R],
    limit: int,
    row_id: Callable[[R], int],
    show_all: Callable[[Sequence[R]], list[T]],
) -> Page[T]:
    """As ``page``, with the page's rows shown all at once (``show_all`` can then load what
    they refer to in one query per kind, not one per row)."""
    more = len(rows) > limit
    shown = rows[:limit]
    return Page[T](
        items=show_all(shown),
        next=encode_cursor(row_id(shown[-1])) if more and shown else None,
    )


def page_of_loaded(
    rows: Iterable[S], after: str | None, limit: int, show: Callable[[S], T]
) -> Page[T]:
    """A page of rows already loaded, in any order: those after the cursor, in id order."""
    after_id = decode_cursor(after)
    kept = sorted((r for r in rows if row_id(r) > after_id), key=row_id)
    return page(kept[: limit + 1], limit, row_id, show)
