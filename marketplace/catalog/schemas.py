"""Catalog I/O shapes."""

from __future__ import annotations

from sqlmodel import SQLModel

from marketplace.catalog.models import Unit


class CategoryPublic(SQLModel):
    """A category as shown to users."""

    code: str
    name_zh: str
    name_en: str


class ItemPublic(SQLModel):
    """An item as shown to users."""

    code: str
    category_code: str
    name_zh: str
    name_en: str
    unit: Unit
    default_duration_minutes: int
    required_skills: list[str]
    required_certificates: list[str]
    reference_price_fen: int
    guide_price_fen: int | None
