"""Catalog use cases."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from core.errors import NotFound
from marketplace.catalog import reference
from marketplace.catalog import repository as repo
from marketplace.catalog.models import Category, Item


def ensure_reference_catalog(session: Session) -> int:
    """Insert the reference categories and items that are missing; return how many were added."""
    added = 0
    by_code: dict[str, Category] = {}
    for order, spec in enumerate(reference.CATEGORIES):
        category = repo.get_category_by_code(session, spec.code)
        if category is None:
            category = Category(
                code=spec.code, name_zh=spec.name_zh, name_en=spec.name_en, sort_order=order
            )
            session.add(category)
            added += 1
        by_code[spec.code] = category
    session.flush()
    for item_spec in reference.ITEMS:
        if repo.get_item_by_code(session, item_spec.code) is not None:
            continue
        category_id = by_code[item_spec.category].id
        assert category_id is not None
        session.add(
            Item(
                code=item_spec.code,
                category_id=category_id,
                name_zh=item_spec.name_zh,
                name_en=item_spec.name_en,
                unit=item_spec.unit,
                default_duration_minutes=item_spec.minutes,
                required_skills=list(item_spec.skills),
                required_certificates=list(item_spec.certificates),
                reference_price_fen=item_spec.price_fen,
                guide_price_fen=item_spec.guide_fen,
                needs_pickup=item_spec.pickup,
            )
        )
        added += 1
    session.flush()
    return added


def get_item_or_raise(session: Session, item_id: int) -> Item:
    """The item, or NotFound."""
    item = repo.get_item(session, item_id)
    if item is None:
        raise NotFound(f"item {item_id} does not exist")
    return item


def get_item_by_code_or_raise(session: Session, code: str) -> Item:
    """The item with this code, or NotFound."""
    item = repo.get_item_by_code(session, code)
    if item is None:
        raise NotFound(f"item {code!r} does not exist")
    return item


def get_category_or_raise(session: Session, code: str) -> Category:
    """The category with this code, or NotFound."""
    category = repo.get_category_by_code(session, code)
    if category is None:
        raise NotFound(f"category {code!r} does not exist")
    return category


def category_of(session: Session, item: Item) -> Category:
    """The category an item belongs to."""
    category = session.get(Category, item.category_id)
    if category is None:
        raise NotFound(f"category {item.category_id} of item {item.code!r} does not exist")
    return category


def list_categories(session: Session) -> Sequence[Category]:
    """Every category."""
    return repo.list_categories(session)


def list_items(session: Session, *, category_code: str | None = None) -> Sequence[Item]:
    """Active items, optionally of one category (by code)."""
    category_id = None
    if category_code is not None:
        category_id = get_category_or_raise(session, category_code).id
    return repo.list_items(session, category_id=category_id)
