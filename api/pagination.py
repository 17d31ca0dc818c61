"""Keyset pagination: ``?limit=&after=<cursor>`` → ``{"items": [...], "next": cursor | null}``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from core.errors import Validation

T = TypeVar("T")
R = TypeVar("R")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    """One page of a list and the cursor of the next (null on the last page)."""

    items: list[T]
    next: str | None = None


def encode_cursor(row_id: int) -> str:
    """An opaque cursor for the row after which the next page starts."""
    return base64.urlsafe_b64encode(f"k1:{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The row id a cursor points after (0 for the first page); Validation if it is not ours."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = text.split(":", 1)
        row_id = int(value)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise Validation("after: not a cursor this API returned") from exc
    if prefix != "k1" or row_id < 0:
        raise Validation("after: not a cursor this API returned")
    return row_id


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")]
After = Annotated[
    str | None, Query(max_length=64, description="the `next` cursor of the previous page")
]


def page(
    rows: Sequence[R], limit: int, row_id: Callable[[R], int], show: Callable[[R], T]
) -> Page[T]:
    """A page from ``limit + 1`` rows fetched in id order (the extra one says there is more)."""
    more = len(rows) > limit
    shown = rows[:limit]
    return Page[T](
        items=[show(r) for r in shown],
        next=encode_cursor(row_id(shown[-1])) if more and shown else None,
    )
