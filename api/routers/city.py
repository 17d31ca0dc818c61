"""The city at a glance: public, aggregate counts only (no personal data)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.access import public
from api.deps import SessionDep
from marketplace.geography import service as geography_service

router = APIRouter(prefix="/city", tags=["city"], dependencies=[public()])


class DistrictCount(BaseModel):
    """One district's counts."""

    code: str
    name: str
    households: int
    members: int
    orders: int


class CitySummary(BaseModel):
    """Every district, and the totals."""

    districts: list[DistrictCount]
    households: int
    members: int
    orders: int


@router.get("/summary", response_model=CitySummary)
def summary(session: SessionDep) -> CitySummary:
    """Households, members and orders per district."""
    rows = [
        DistrictCount.model_validate(d, from_attributes=True)
        for d in geography_service.district_summary(session)
    ]
    return CitySummary(
        districts=rows,
        households=sum(r.households for r in rows),
        members=sum(r.members for r in rows),
        orders=sum(r.orders for r in rows),
    )
