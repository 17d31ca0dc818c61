"""A worker's route of one day: the stops in order, their progress, and the day as a map."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.access import Owner
from api.deps import SessionDep
from api.routers.providers import Day, tally
from api.web.access import PREFIX, page
from api.web.render import render
from api.web.svg import project
from core.timeutil import local_date, utcnow
from marketplace.accounts.models import Role, UserAccount
from marketplace.visits import service as visits_service

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Worker = Annotated[UserAccount, page(Role.WORKER, owner=Owner.WORKER)]


@router.get("/route")
def my_route(request: Request, session: SessionDep, account: Worker, day: Day = None) -> Response:
    """The worker's own stops of one service date (as ``GET /me/route``: addresses of that
    date's stops only), with the day drawn as a map."""
    on = day or local_date(utcnow())
    stops = visits_service.worker_day(session, account.worker_id or -1, on)
    route_map = project([(s.sequence, s.lat, s.lon) for s in stops])
    return render(
        request,
        "route.html",
        {
            "day": on,
            "stops": stops,
            "summary": tally([s.progress for s in stops]),
            "map": route_map,
        },
    )
