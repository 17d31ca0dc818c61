"""Quotes and orders: a household (or a proxy for an elder) prices a service, orders it,
follows and cancels it; providers, workers, dispatchers and auditors see the orders that are
theirs to see."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from api import ownership
from api.access import Owner, allow
from api.deps import SessionDep
from api.idempotency import Idempotent, key_header, replayed
from api.lookups import Names
from api.pagination import After, Limit, Page, decode_cursor, page_all, row_id
from api.problems import problem_responses
from marketplace.accounts.models import Role, UserAccount
from marketplace.catalog import service as catalog_service
from marketplace.catalog.models import Item
from marketplace.households.models import Member
from marketplace.orders import quoting
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order, OrderPriority, OrderTimeWindow
from marketplace.orders.schemas import OrderCreate, TimeWindow
from marketplace.providers import service as providers_service
from marketplace.providers.models import Provider

router = APIRouter(tags=["orders"])

ORDERING = (Role.HOUSEHOLD, Role.PROXY)
SEEING = (
    Role.HOUSEHOLD,
    Role.PROXY,
    Role.PROVIDER_ADMIN,
    Role.WORKER,
    Role.DISPATCHER,
    Role.AUDITOR,
    Role.ADMIN,
)
Orderer = Annotated[UserAccount, allow(*ORDERING, owner=Owner.MEMBER)]


class _ServiceFor(BaseModel):
    """For whom, from which provider, which item (a quote's or an order's)."""

    member: str = Field(max_length=32, description="the recipient's public id")
    provider: str = Field(max_length=32, description="the provider's public id")
    item: str = Field(max_length=60, description="catalog item code")


class QuoteRequest(_ServiceFor):
    """What to price: for whom, from which provider, which item, when and how long."""

    start: datetime = Field(description="when the service starts (with a time zone)")
    minutes: int = Field(gt=0, le=24 * 60)
    quantity: int = Field(default=1, gt=0, le=50)


class PriceLine(BaseModel):
    """One line of the price."""

    kind: str
    fen: int
    detail: str


class QuotePublic(BaseModel):
    """The price, who pays what and why, and what is left of the member's monthly cap."""

    list_price_fen: int
    ltc_fen: int
    subsidy_fen: int
    copay_fen: int
    lines: list[PriceLine]
    policy_version: str
    group: str | None
    rule: str | None
    reason: str
    cap_fen: int
    cap_remaining_fen: int
    balance_after_fen: int
    month: str


class OrderIn(_ServiceFor):
    """A service to order."""

    service_date: date
    windows: list[TimeWindow] = Field(min_length=1, max_length=4)
    duration_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    quantity: int = Field(default=1, gt=0, le=50)
    priority: OrderPriority = OrderPriority.NORMAL
    notes: str = Field(default="", max_length=500)


class CancelIn(BaseModel):
    """Why the order is cancelled."""

    reason: str = Field(min_length=1, max_length=200)


class OrderPublic(BaseModel):
    """An order as its owner sees it."""

    id: str
    status: str
    member: str
    provider: str
    item: str
    service_date: date
    windows: list[TimeWindow]
    duration_minutes: int
    quantity: int
    priority: str
    list_price_fen: int
    ltc_fen: int
    subsidy_fen: int
    copay_fen: int
    cancellation_fee_fen: int
    policy_version: str | None
    created_at: datetime


def _publics(session: Session, orders: Sequence[Order]) -> list[OrderPublic]:
    """The orders as their owners see them, in a fixed number of queries however many."""
    names = Names(session).need(
        members=[o.recipient_member_id for o in orders],
        providers=[o.provider_id for o in orders],
        items=[o.item_id for o in orders],
    )
    windows = orders_service.windows_of_orders(session, [row_id(o) for o in orders])
    return [_shown(names, windows[row_id(o)], o) for o in orders]


def _public(session: Session, order: Order) -> OrderPublic:
    return _publics(session, [order])[0]


def _shown(names: Names, windows: Sequence[OrderTimeWindow], order: Order) -> OrderPublic:
    return OrderPublic(
        id=order.public_id,
        status=str(order.status),
        member=names.member(order.recipient_member_id),
        provider=names.provider(order.provider_id),
        item=names.item(order.item_id),
        service_date=order.service_date,
        windows=[TimeWindow(starts_at=w.starts_at, ends_at=w.ends_at) for w in windows],
        duration_minutes=order.duration_minutes,
        quantity=order.quantity,
        priority=str(order.priority),
        list_price_fen=order.list_price_fen,
        ltc_fen=order.ltc_fen,
        subsidy_fen=order.subsidy_fen,
        copay_fen=order.copay_fen,
        cancellation_fee_fen=order.cancellation_fee_fen,
        policy_version=order.policy_version,
        created_at=order.created_at,
    )


# The handlers hold these rows for the whole request: the session's identity map keeps a row
# only while something references it, and the quote and the response look the rows up by id
# again (a query each if they were let go).
class _Rows(NamedTuple):
    """The body's member, provider and item."""

    member: Member
    provider: Provider
    item: Item

    @property
    def household(self) -> int:
        return self.member.household_id

    @property
    def member_id(self) -> int:
        return row_id(self.member)

    @property
    def provider_id(self) -> int:
        return row_id(self.provider)

    @property
    def item_id(self) -> int:
        return row_id(self.item)


def _service_for(session: Session, account: UserAccount, body: _ServiceFor) -> _Rows:
    """The body's member (one the account may order for, or 404), the provider and the
    item."""
    return _Rows(
        ownership.member_for(session, account, body.member, ordering=True),
        providers_service.get_by_public_id_or_raise(session, body.provider),
        catalog_service.get_item_by_code_or_raise(session, body.item),
    )


@router.post("/quotes", response_model=QuotePublic, responses=problem_responses(401, 403, 404, 422))
def quote(session: SessionDep, account: Orderer, body: QuoteRequest) -> QuotePublic:
    """Price a service for a member before ordering it (nothing is stored)."""
    rows = _service_for(session, account, body)
    q = quoting.quote(
        session,
        member_id=rows.member_id,
        provider_id=rows.provider_id,
        item_id=rows.item_id,
        start=body.start,
        minutes=body.minutes,
        quantity=body.quantity,
    )
    data = q.to_dict()
    return QuotePublic(
        list_price_fen=q.list_price_fen,
        ltc_fen=q.ltc_fen,
        subsidy_fen=q.subsidy_fen,
        copay_fen=q.copay_fen,
        lines=[PriceLine(**line) for line in data["lines"]],
        policy_version=q.policy_version,
        group=data["group"],
        rule=None if data["rule"] is None else data["rule"]["text"],
        reason=data["reason"],
        cap_fen=data["cap_fen"],
        cap_remaining_fen=data["cap_remaining_fen"],
        balance_after_fen=data["balance_after_fen"],
        month=q.month,
    )


@router.post(
    "/orders",
    response_model=OrderPublic,
    status_code=201,
    responses={
        **replayed("The order this key created before", OrderPublic),
        **problem_responses(401, 403, 404, 409, 422),
    },
)
def create_order(
    session: SessionDep,
    account: Orderer,
    body: OrderIn,
    response: Response,
    idempotency_key: Annotated[str, key_header("order")],
) -> Any:
    """Order a service; it is priced by a quote and kept with it. Resending the same request with
    the same key returns the same order (200); the same key with another request is 409."""
    once = Idempotent.of(session, account, idempotency_key, "POST", "/orders", body)
    if (known := once.replay(response)) is not None:
        return known
    rows = _service_for(session, account, body)
    order = orders_service.create_order(
        session,
        OrderCreate(
            household_id=rows.household,
            recipient_member_id=rows.member_id,
            provider_id=rows.provider_id,
            item_id=rows.item_id,
            service_date=body.service_date,
            windows=body.windows,
            duration_minutes=body.duration_minutes,
            quantity=body.quantity,
            priority=body.priority,
            notes=body.notes,
        ),
        actor=ownership.actor(account),
    )
    public = _public(session, order)
    once.remember(public)
    return public


@router.get("/orders", response_model=Page[OrderPublic], responses=problem_responses(401, 403, 422))
def list_orders(
    session: SessionDep,
    account: Annotated[UserAccount, allow(*SEEING, owner=Owner.ORDER, personal_data=True)],
    limit: Limit = 50,
    after: After = None,
) -> Page[OrderPublic]:
    """The orders the caller may see, oldest first, a page at a time."""
    rows = orders_service.list_page(
        session,
        ownership.order_scope(session, account),
        after_id=decode_cursor(after),
        limit=limit + 1,
    )
    return page_all(rows, limit, row_id, lambda shown: _publics(session, shown))


@router.get(
    "/orders/{order_id}", response_model=OrderPublic, responses=problem_responses(401, 403, 404)
)
def get_order(
    session: SessionDep,
    account: Annotated[UserAccount, allow(*SEEING, owner=Owner.ORDER, personal_data=True)],
    order_id: str,
) -> OrderPublic:
    """One order."""
    return _public(session, ownership.order_for(session, account, order_id))


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def cancel_order(
    session: SessionDep,
    account: Annotated[
        UserAccount,
        allow(Role.HOUSEHOLD, Role.PROXY, Role.PROVIDER_ADMIN, Role.ADMIN, owner=Owner.ORDER),
    ],
    order_id: str,
    body: CancelIn,
) -> OrderPublic:
    """Cancel an order; a late cancellation costs the household the fee its terms name."""
    order = ownership.order_for(session, account, order_id)
    cancelled = orders_service.cancel(
        session, order, actor=ownership.actor(account), reason=body.reason
    )
    return _public(session, cancelled)


class RescheduleIn(BaseModel):
    """New day and windows, and why."""

    service_date: date
    windows: list[TimeWindow] = Field(min_length=1, max_length=4)
    reason: str = Field(min_length=1, max_length=200)


class RatingIn(BaseModel):
    """How the service was."""

    stars: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=500)


class RatingPublic(BaseModel):
    """The household's rating of an order."""

    order: str
    stars: int
    comment: str
    created_at: datetime


def _actor(account: UserAccount) -> str:
    return f"{account.role}:{account.public_id}"


@router.post(
    "/orders/{order_id}/confirm",
    response_model=OrderPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def confirm_order(
    session: SessionDep,
    account: Annotated[UserAccount, allow(Role.PROVIDER_ADMIN, Role.ADMIN, owner=Owner.ORDER)],
    order_id: str,
) -> OrderPublic:
    """The provider accepts the order: its subsidy and co-pay are reserved (409 when the cap or
    budget no longer has room: quote again)."""
    order = ownership.order_for(session, account, order_id)
    return _public(session, orders_service.confirm(session, order, actor=_actor(account)))


@router.post(
    "/orders/{order_id}/reschedule",
    response_model=OrderPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def reschedule_order(
    session: SessionDep,
    account: Annotated[
        UserAccount,
        allow(Role.HOUSEHOLD, Role.PROXY, Role.PROVIDER_ADMIN, Role.ADMIN, owner=Owner.ORDER),
    ],
    order_id: str,
    body: RescheduleIn,
) -> OrderPublic:
    """Move the order to another day or windows; a booking is released and planned again."""
    order = ownership.order_for(session, account, order_id)
    moved = orders_service.reschedule(
        session,
        order,
        service_date=body.service_date,
        windows=body.windows,
        actor=_actor(account),
        reason=body.reason,
    )
    return _public(session, moved)


@router.post(
    "/orders/{order_id}/rating",
    response_model=RatingPublic,
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def rate_order(
    session: SessionDep,
    account: Annotated[UserAccount, allow(Role.HOUSEHOLD, Role.PROXY, owner=Owner.ORDER)],
    order_id: str,
    body: RatingIn,
) -> RatingPublic:
    """Rate a completed order, once."""
    order = ownership.order_for(session, account, order_id)
    rating = orders_service.rate(
        session, order, stars=body.stars, comment=body.comment, actor=_actor(account)
    )
    return RatingPublic(
        order=order.public_id,
        stars=rating.stars,
        comment=rating.comment,
        created_at=rating.created_at,
    )
