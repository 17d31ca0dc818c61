"""Request inputs the routers share: public ids, text without NUL, service months, row ids,
user names and passwords."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, Field

ROW_ID_MAX = 2**31 - 1  # the largest id an INTEGER column holds
PUBLIC_ID_PATTERN = r"^[A-Za-z0-9_]+$"
MONTH_PATTERN = r"^2[0-9]{3}-(0[1-9]|1[0-2])$"  # a service month, 2000-01 to 2999-12
FIRST_DAY = dt.date(2000, 1, 1)  # the service dates the months above hold
LAST_DAY = dt.date(2999, 12, 31)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_no_nul)
"""Refuses NUL characters, which PostgreSQL cannot store in text."""


def public_id_path(description: str = "a public id") -> Any:
    """A path parameter holding a public id."""
    return Path(min_length=3, max_length=40, pattern=PUBLIC_ID_PATTERN, description=description)


def public_id_query(description: str) -> Any:
    """A query parameter holding a public id."""
    return Query(min_length=3, max_length=40, pattern=PUBLIC_ID_PATTERN, description=description)


PublicId = Annotated[str, public_id_path()]
"""A public id in the path."""

PublicIdField = Annotated[str, Field(min_length=3, max_length=40, pattern=PUBLIC_ID_PATTERN)]
"""A public id in a body."""


def _month_query() -> Any:
    return Query(
        min_length=7, max_length=7, pattern=MONTH_PATTERN, description="YYYY-MM (2000–2999)"
    )


Month = Annotated[str, _month_query()]
"""A service month (``?month=YYYY-MM``), required."""

MonthFilter = Annotated[str | None, _month_query()]
"""A service month (``?month=YYYY-MM``), optional."""

Username = Annotated[str, Field(min_length=3, max_length=80, pattern=r"^[A-Za-z0-9_.@+-]+$")]
Password = Annotated[str, Field(min_length=10, max_length=128, repr=False)]
