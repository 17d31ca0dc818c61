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
from dispatch import repository as dispatch_repo
from dispatch.models import SolveRun
from marketplace.accounts import repository as accounts_repo
from marketplace.accounts.models import Role, UserAccount
from marketplace.households import service as households_service
from marketplace.households.models import FamilyProxy, Member
from marketplace.orders import repository as orders_repo
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order
from marketplace.providers import service as providers_service
from marketplace.providers.models import Provider, Worker


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


def member_to_read(session: Session, account: UserAccount, public_id: str) -> Member:
    """A member the account may read: as ``member_for`` (household, proxy, administrator), and
    every member for an auditor (read only; the route logs the read), or NotFound."""
    if Role(account.role) is not Role.AUDITOR:
        return member_for(session, account, public_id, ordering=False)
    try:
        return households_service.get_member_by_public_id_or_raise(session, public_id)
    except NotFound:
        raise NotFound(f"member {public_id} does not exist") from None


def family_proxy_for(session: Session, account: UserAccount, public_id: str) -> FamilyProxy:
    """A family proxy of one of the household account's own members, or NotFound."""
    try:
        proxy = households_service.get_proxy_by_public_id_or_raise(session, public_id)
        member = households_service.get_member_or_raise(session, proxy.member_id)
    except NotFound:
        member = None
    if (
        member is None
        or Role(account.role) is not Role.HOUSEHOLD
        or member.household_id != account.household_id
    ):
        raise NotFound(f"family proxy {public_id} does not exist")
    return proxy


def _provider_allowed(account: UserAccount, provider_id: int, *, managing: bool) -> bool:
    """Whether the account may read (or, ``managing``, change) this provider's objects: its own
    provider admins; its dispatchers and the platform's (read); auditors (read); admins."""
    role = Role(account.role)
    if role is Role.ADMIN:
        return True
    if role is Role.PROVIDER_ADMIN:
        return account.provider_id == provider_id
    if managing:
        return False
    if role is Role.DISPATCHER:
        return account.provider_id is None or account.provider_id == provider_id
    return role is Role.AUDITOR


def provider_for(
    session: Session, account: UserAccount, public_id: str, *, managing: bool = False
) -> Provider:
    """A provider whose workers, tariffs and routes the account may read (``managing``:
    change), or NotFound."""
    try:
        provider = providers_service.get_by_public_id_or_raise(session, public_id)
    except NotFound:
        provider = None
    if provider is None or provider.id is None:
        raise NotFound(f"provider {public_id} does not exist")
    if not _provider_allowed(account, provider.id, managing=managing):
        raise NotFound(f"provider {public_id} does not exist")
    return provider


def worker_for(
    session: Session, account: UserAccount, public_id: str, *, managing: bool = False
) -> Worker:
    """A worker the account may read (``managing``: change): as for its provider, and a worker
    account reads itself; or NotFound."""
    try:
        worker = providers_service.get_worker_by_public_id_or_raise(session, public_id)
    except NotFound:
        worker = None
    if worker is None:
        raise NotFound(f"worker {public_id} does not exist")
    if Role(account.role) is Role.WORKER:
        allowed = not managing and worker.id is not None and worker.id == account.worker_id
    else:
        allowed = _provider_allowed(account, worker.provider_id, managing=managing)
    if not allowed:
        raise NotFound(f"worker {public_id} does not exist")
    return worker


def actor(account: UserAccount) -> str:
    """Who did something, as orders, visits, reviews and solve runs record it (``role:account
    public id``; ``run_visible`` reads a run's starter back from it)."""
    return f"{account.role}:{account.public_id}"


def run_visible(session: Session, account: UserAccount, run: SolveRun) -> bool:
    """Whether the account may see (and act on) the run: an administrator and a platform
    dispatcher (no provider) every run; a provider's dispatcher the runs its provider's
    dispatchers started."""
    role = Role(account.role)
    if role is Role.ADMIN or (role is Role.DISPATCHER and account.provider_id is None):
        return True
    if role is not Role.DISPATCHER:
        return False
    _, _, starter_id = run.requested_by.partition(":")
    starter = accounts_repo.get_by_public_id(session, starter_id) if starter_id else None
    return starter is not None and starter.provider_id == account.provider_id


def run_for(session: Session, account: UserAccount, public_id: str) -> SolveRun:
    """A solve run the account may see, or NotFound."""
    run = dispatch_repo.get_run_by_public_id(session, public_id)
    if run is None or not run_visible(session, account, run):
        raise NotFound(f"solve run {public_id} does not exist")
    return run
