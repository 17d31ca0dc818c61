"""Whose objects an account may touch. Someone else's object is NotFound (404), so an id never
tells whether the object exists.

- a household account: its household, its members and their orders;
- a proxy: the elders who named its phone (active family-proxy records), and their orders;
- a provider admin, or a provider's dispatcher: that provider's orders;
- a platform dispatcher and an administrator: every order;
- a worker: orders booked to it;
- an auditor: subsidised orders (subsidy or long-term-care insurance), read only.
"""

from __future__ import annotations

from sqlmodel import Session

from core.errors import NotFound
from marketplace.accounts.models import Role, UserAccount
from marketplace.households import service as households_service
from marketplace.households.models import Member
from marketplace.orders import repository as orders_repo
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order


def proxy_member_ids(session: Session, account: UserAccount, *, ordering: bool = False) -> set[int]:
    """The members a proxy account acts for (with ``ordering``: may order for)."""
    return {
        p.member_id
        for p in households_service.proxies_with_phone(session, account.phone)
        if p.active and (p.can_order or not ordering)
    }


def member_for(session: Session, account: UserAccount, public_id: str, *, ordering: bool) -> Member:
    """A member the account may see (``ordering``: may order for), or NotFound."""
    try:
        member = households_service.get_member_by_public_id_or_raise(session, public_id)
    except NotFound:
        member = None
    role = Role(account.role)
    allowed = member is not None and (
        (role is Role.HOUSEHOLD and member.household_id == account.household_id)
        or (
            role is Role.PROXY
            and member.id in proxy_member_ids(session, account, ordering=ordering)
        )
        or (role is Role.ADMIN and not ordering)
    )
    if not allowed or member is None:
        raise NotFound(f"member {public_id} does not exist")
    return member


def order_scope(session: Session, account: UserAccount) -> orders_repo.OrderScope:
    """The orders the account may see, as a query scope."""
    role = Role(account.role)
    if role is Role.HOUSEHOLD:
        return orders_repo.OrderScope(household_id=account.household_id)
    if role is Role.PROXY:
        return orders_repo.OrderScope(member_ids=frozenset(proxy_member_ids(session, account)))
    if role in (Role.PROVIDER_ADMIN, Role.DISPATCHER) and account.provider_id is not None:
        return orders_repo.OrderScope(provider_id=account.provider_id)
    if role is Role.WORKER:
        return orders_repo.OrderScope(worker_id=account.worker_id or -1)
    if role is Role.AUDITOR:
        return orders_repo.OrderScope(subsidised_only=True)
    return orders_repo.OrderScope()


def _in_scope(session: Session, scope: orders_repo.OrderScope, order: Order) -> bool:
    if scope.household_id is not None and order.household_id != scope.household_id:
        return False
    if scope.member_ids is not None and order.recipient_member_id not in scope.member_ids:
        return False
    if scope.provider_id is not None and order.provider_id != scope.provider_id:
        return False
    if scope.worker_id is not None:
        booking = orders_service.booking_of(session, order)
        if booking is None or booking.worker_id != scope.worker_id:
            return False
    return not scope.subsidised_only or order.subsidy_fen > 0 or order.ltc_fen > 0


def order_for(session: Session, account: UserAccount, public_id: str) -> Order:
    """An order the account may see, or NotFound."""
    try:
        order = orders_service.get_by_public_id_or_raise(session, public_id)
    except NotFound:
        order = None
    if order is None or not _in_scope(session, order_scope(session, account), order):
        raise NotFound(f"order {public_id} does not exist")
    return order
