"""Request dependencies: the unit of work lives here, at the edge."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlmodel import Session

from core.db import unit_of_work


def get_session() -> Iterator[Session]:
    """One session per request; committed when the handler returns, rolled back if it raises."""
    with unit_of_work() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
