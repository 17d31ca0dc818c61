"""Areas (district → street → community → grid): what a new household picks its address from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.access import public
from api.deps import SessionDep
from api.problems import problem_responses
from marketplace.geography import service as geography_service
from marketplace.geography.models import Area, AreaLevel

router = APIRouter(prefix="/areas", tags=["geography"], dependencies=[public()])


class AreaPublic(BaseModel):
    """One area."""

    id: int
    code: str
    level: str
    name: str
    parent_id: int | None


def _public(area: Area) -> AreaPublic:
    assert area.id is not None
    return AreaPublic(
        id=area.id, code=area.code, level=str(area.level), name=area.name, parent_id=area.parent_id
    )


@router.get("", response_model=list[AreaPublic], responses=problem_responses(404, 422))
def list_areas(
    session: SessionDep,
    parent: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="an area's id")] = None,
) -> list[AreaPublic]:
    """The districts, or the areas directly under ``parent``."""
    if parent is None:
        return [_public(a) for a in geography_service.list_by_level(session, AreaLevel.DISTRICT)]
    geography_service.get_or_raise(session, parent)
    return [_public(a) for a in geography_service.list_children(session, parent)]
