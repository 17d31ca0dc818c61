"""Service catalog: categories and items with units, durations, skills and certificates."""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Field, SQLModel

from core.dbtypes import EnumText
from marketplace.common import json_list_field


class Unit(StrEnum):
    """How an item is counted and billed."""

    HOUR = "hour"
    VISIT = "visit"
    MEAL = "meal"


class Category(SQLModel, table=True):
    """A service category such as 家政 (domestic) or 助餐 (meal delivery)."""

    __tablename__ = "category"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name_zh: str = Field(max_length=80)
    name_en: str = Field(max_length=120)
    sort_order: int = 0


class Item(SQLModel, table=True):
    """A service that can be ordered, e.g. "daily living care, per hour"."""

    __tablename__ = "item"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=60, unique=True)
    category_id: int = Field(foreign_key="category.id", index=True)
    name_zh: str = Field(max_length=120)
    name_en: str = Field(max_length=160)
    unit: Unit = Field(sa_type=EnumText(Unit, 16))
    default_duration_minutes: int = Field(gt=0)
    required_skills: list[str] = json_list_field()
    required_certificates: list[str] = json_list_field()
    reference_price_fen: int = Field(ge=0)
    guide_price_fen: int | None = Field(default=None, ge=0)
    needs_pickup: bool = False
    active: bool = True
