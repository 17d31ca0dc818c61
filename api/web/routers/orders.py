"""A household's (or a proxy's) orders, and confirming a visit with the worker's code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import Response

from api import ownership
from api.access import Owner
from api.deps import SessionDep
from api.pagination import decode_cursor, encode_cursor
from api.web.access import PREFIX, page
from api.web.errors import Refusal
from api.web.render import render
from core.errors import DomainError, InvalidState, TooManyRequests, Validation
from core.timeutil import utcnow
from marketplace.accounts.models import Role, UserAccount
from marketplace.catalog import service as catalog_service
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order
from marketplace.providers import service as providers_service
from marketplace.visits import service as visits_service
from marketplace.visits.models import Visit

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Household = Annotated[UserAccount, page(Role.HOUSEHOLD, Role.PROXY, owner=Owner.ORDER)]
PAGE = 50
# What a refused confirmation tells the household (message keys of the catalogs).
CONFIRM_MESSAGES: dict[type[DomainError], str] = {
    Validation: "confirm.wrong_code",
    TooManyRequests: "confirm.too_many",
    InvalidState: "confirm.not_ready",
}


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One order as the household's list shows it."""

    id: str
    service_date: date
    item_zh: str
    item_en: str
    provider: str
    status: str
    list_price_fen: int
    ltc_fen: int
    subsidy_fen: int
    copay_fen: int
    confirmable: bool  # checked out, not confirmed yet
    confirmed: bool


def _line(
    order: Order, visit: Visit | None, items: dict[int, tuple[str, str]], names: dict[int, str]
) -> OrderLine:
    return OrderLine(
        id=order.public_id,
        service_date=order.service_date,
        item_zh=items[order.item_id][0],
        item_en=items[order.item_id][1],
        provider=names[order.provider_id],
        status=str(order.status),
        list_price_fen=order.list_price_fen,
        ltc_fen=order.ltc_fen,
        subsidy_fen=order.subsidy_fen,
        copay_fen=order.copay_fen,
        confirmable=visit is not None
        and visit.check_out_at is not None
        and visit.household_confirmed_at is None,
        confirmed=visit is not None and visit.household_confirmed_at is not None,
    )


@router.get("/orders")
def my_orders(
    request: Request,
    session: SessionDep,
    account: Household,
    after: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The orders the account may see (as ``GET /orders``), oldest first, a page at a time."""
    rows = list(
        orders_service.list_page(
            session,
            ownership.order_scope(session, account),
            after_id=decode_cursor(after),
            limit=PAGE + 1,
        )
    )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    visits = visits_service.visits_of_orders(session, [o.id for o in rows if o.id is not None])
    items: dict[int, tuple[str, str]] = {}
    names: dict[int, str] = {}
    for order in rows:
        if order.item_id not in items:
            item = catalog_service.get_item_or_raise(session, order.item_id)
            items[order.item_id] = (item.name_zh, item.name_en)
        if order.provider_id not in names:
            names[order.provider_id] = providers_service.get_or_raise(
                session, order.provider_id
            ).name
    lines = [_line(o, visits.get(o.id or 0), items, names) for o in rows]
    next_page = encode_cursor(rows[-1].id or 0) if more and rows else None
    return render(request, "orders.html", {"orders": lines, "next_page": next_page})


@router.post("/orders/{order_id}/confirm")
def confirm_visit(
    request: Request,
    session: SessionDep,
    account: Household,
    order_id: Annotated[str, Path(max_length=40)],
    code: Annotated[str, Form(min_length=1, max_length=12)],
) -> Response:
    """Confirm the order's visit with the worker's one-time code, as
    ``POST /visits/{order_id}/confirm`` does (an HTMX fragment: the result or the error)."""
    order = ownership.order_for(session, account, order_id)
    try:
        visits_service.confirm_with_code(
            session, order, code.strip(), actor=ownership.actor(account), at=utcnow()
        )
    except Validation as exc:
        session.commit()  # a wrong code counts towards the limit even though the request fails
        raise Refusal(422, CONFIRM_MESSAGES[Validation]) from exc
    except TooManyRequests as exc:
        seconds = int(exc.extra.get("retry_after", 1))
        raise Refusal(429, CONFIRM_MESSAGES[TooManyRequests], seconds=seconds) from exc
    except InvalidState as exc:
        raise Refusal(409, CONFIRM_MESSAGES[InvalidState]) from exc
    return render(
        request,
        "_confirmed.html",
        {"order_id": order.public_id},
        headers={"HX-Retarget": f"#visit-{order.public_id}", "HX-Reswap": "innerHTML"},
    )
