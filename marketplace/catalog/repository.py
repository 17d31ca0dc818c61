"""Catalog queries."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlmodel import Session, col, select

from core.db import get_many
from marketplace.catalog.models import Category, Item


def get_category_by_code(session: Session, code: str) -> Category | None:
    """The category with this code, if any."""
    return session.exec(select(Category).where(Category.code == code)).first()


def get_item(session: Session, item_id: int) -> Item | None:
    """The item with this id, if any."""
    return session.get(Item, item_id)


def items_by_id(session: Session, item_ids: Collection[int]) -> dict[int, Item]:
    """The items with these ids, by id, in one query at most."""
    return get_many(session, Item, item_ids)


def get_item_by_code(session: Session, code: str) -> Item | None:
    """The item with this code, if any."""
    return session.exec(select(Item).where(Item.code == code)).first()


def list_categories(session: Session) -> Sequence[Category]:
    """Every category in display order."""
    return session.exec(select(Category).order_by(col(Category.sort_order), col(Category.id))).all()


def list_items(session: Session, *, category_id: int | None = None) -> Sequence[Item]:
    """Active items, optionally of one category."""
    stmt = select(Item).where(col(Item.active).is_(True))
    if category_id is not None:
        stmt = stmt.where(Item.category_id == category_id)
    return session.exec(stmt.order_by(col(Item.category_id), col(Item.code))).all()
