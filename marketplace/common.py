"""Field helpers shared by marketplace models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field

from core.dbtypes import PortableJSON, UTCDateTime
from core.timeutil import utcnow


def created_at_field() -> Any:
    """A ``created_at`` column defaulting to now (UTC)."""
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def utc_field(*, nullable: bool = True, index: bool = False) -> Any:
    """An aware UTC datetime column."""
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)
    return Field(sa_type=UTCDateTime, nullable=False, index=index)


def json_list_field() -> Any:
    """A JSON array column defaulting to empty."""
    return Field(default_factory=list, sa_type=PortableJSON, nullable=False)


def json_dict_field() -> Any:
    """A JSON object column defaulting to empty."""
    return Field(default_factory=dict, sa_type=PortableJSON, nullable=False)


__all__ = ["created_at_field", "datetime", "json_dict_field", "json_list_field", "utc_field"]
