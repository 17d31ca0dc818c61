"""Catalog: categories and items (public, read-only)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from api.access import public
from api.deps import SessionDep
from api.problems import problem_responses
from marketplace.catalog import service as catalog_service
from marketplace.catalog.schemas import CategoryPublic, ItemPublic

router = APIRouter(prefix="/catalog", tags=["catalog"], dependencies=[public()])


@router.get("/categories", response_model=list[CategoryPublic])
def list_categories(session: SessionDep) -> list[CategoryPublic]:
    """Every service category."""
    return [
        CategoryPublic.model_validate(c, from_attributes=True)
        for c in catalog_service.list_categories(session)
    ]


@router.get("/items", response_model=list[ItemPublic], responses=problem_responses(404, 422))
def list_items(
    session: SessionDep,
    category: str | None = Query(default=None, max_length=40, description="category code"),
) -> list[ItemPublic]:
    """Active items, optionally of one category."""
    categories = {c.id: c.code for c in catalog_service.list_categories(session)}
    return [
        ItemPublic.model_validate(
            {**item.model_dump(), "category_code": categories[item.category_id]}
        )
        for item in catalog_service.list_items(session, category_code=category)
    ]
