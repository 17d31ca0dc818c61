"""Administrative geography: district (区) → street (街道) → community (社区) → grid (网格)."""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Field, SQLModel

from core.dbtypes import EnumText


class AreaLevel(StrEnum):
    """The four levels of grid-based community management."""

    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"


AREA_LEVEL_ORDER = [AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY, AreaLevel.GRID]


class Area(SQLModel, table=True):
    """One administrative area; ``parent_id`` points one level up."""

    __tablename__ = "area"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    level: AreaLevel = Field(sa_type=EnumText(AreaLevel, 16), index=True)
    name: str = Field(max_length=80)
    parent_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    lat: float
    lon: float
