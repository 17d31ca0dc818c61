"""``linli demo accounts``: one sign-in per role on the demo city, so every user's view of the
API can be tried at once (never on a real deployment: the password is public).

The accounts are tied to objects that make each view non-empty: a household whose member is in
a protected group and has orders this week, a family proxy of an elder, the provider of that
household's order with its dispatcher and a worker qualified for the order, a platform
dispatcher, a civil-affairs auditor (sees ID numbers), a plain auditor (sees them masked) and an
administrator.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from core.errors import Conflict
from marketplace.accounts import repository as accounts_repo
from marketplace.accounts import service as accounts_service
from marketplace.accounts.models import Role
from marketplace.accounts.schemas import AccountCreate
from marketplace.catalog import service as catalog_service
from marketplace.households import service as households_service
from marketplace.households.models import FamilyProxy, Member, ProtectedStatus, StatusReview
from marketplace.orders.models import Order, OrderStatus
from marketplace.providers import service as providers_service
from marketplace.providers.models import Worker

DEMO_PASSWORD = "linli-demo-2026"  # noqa: S105 - public on purpose: demo data only


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """A demo sign-in: its user name, role and what it stands for."""

    username: str
    role: Role
    stands_for: str


def _ordering_household(session: Session) -> tuple[Member, Order]:
    """A protected member's confirmed order of the demo week (the lowest id: deterministic)."""
    found = session.exec(
        select(Member, Order)
        .join(Order, col(Order.recipient_member_id) == col(Member.id))
        .join(ProtectedStatus, col(ProtectedStatus.member_id) == col(Member.id))
        .where(
            col(ProtectedStatus.review) == StatusReview.APPROVED.value,
            col(Order.status) == OrderStatus.CONFIRMED.value,
        )
        .order_by(col(Order.id))
    ).first()
    if found is None:
        raise Conflict("the demo city has no confirmed order of a protected member: seed it first")
    return found


def _worker_for(session: Session, order: Order) -> Worker:
    """A worker of the order's provider qualified for it (the lowest id)."""
    item = catalog_service.get_item_or_raise(session, order.item_id)
    household = households_service.get_or_raise(session, order.household_id)
    qualified = providers_service.workers_qualified_for(
        session, item, order.service_date, district_id=household.district_id
    )
    ours = sorted((w for w in qualified if w.provider_id == order.provider_id), key=_id)
    if not ours:
        raise Conflict("the provider of the demo household's order has no qualified worker")
    return ours[0]


def _id(worker: Worker) -> int:
    return worker.id or 0


def seed_accounts(session: Session, password: str = DEMO_PASSWORD) -> list[DemoAccount]:
    """Create the demo accounts; Conflict if any of their user names is taken already."""
    member, order = _ordering_household(session)
    proxy = session.exec(
        select(FamilyProxy)
        .where(col(FamilyProxy.active).is_(True), col(FamilyProxy.can_order).is_(True))
        .order_by(col(FamilyProxy.id))
    ).first()
    provider = providers_service.get_or_raise(session, order.provider_id)
    worker = _worker_for(session, order)
    wanted: list[tuple[AccountCreate, str]] = [
        (
            AccountCreate(
                username="household",
                password=password,
                role=Role.HOUSEHOLD,
                display_name=member.name,
                household_id=member.household_id,
                member_id=member.id,
            ),
            f"{member.name}, a protected member with orders this week",
        ),
        (
            AccountCreate(
                username="provider",
                password=password,
                role=Role.PROVIDER_ADMIN,
                provider_id=provider.id,
            ),
            f"the administrator of {provider.name}",
        ),
        (
            AccountCreate(
                username="provider.dispatcher",
                password=password,
                role=Role.DISPATCHER,
                provider_id=provider.id,
            ),
            f"the dispatcher of {provider.name}",
        ),
        (
            AccountCreate(
                username="worker",
                password=password,
                role=Role.WORKER,
                display_name=worker.name,
                provider_id=provider.id,
                worker_id=worker.id,
            ),
            f"{worker.name}, a worker of {provider.name}",
        ),
        (
            AccountCreate(username="dispatcher", password=password, role=Role.DISPATCHER),
            "the platform's dispatcher (every provider, books plans)",
        ),
        (
            AccountCreate(
                username="auditor", password=password, role=Role.AUDITOR, civil_affairs=True
            ),
            "a civil-affairs auditor (sees ID numbers and evidence)",
        ),
        (
            AccountCreate(username="auditor2", password=password, role=Role.AUDITOR),
            "an auditor (sees personal data masked)",
        ),
        (
            AccountCreate(username="admin", password=password, role=Role.ADMIN),
            "an administrator (policies, budgets, users, approvals)",
        ),
    ]
    if proxy is not None:
        wanted.insert(
            1,
            (
                AccountCreate(
                    username="proxy",
                    password=password,
                    role=Role.PROXY,
                    display_name=proxy.name,
                    phone=proxy.phone,
                ),
                f"{proxy.name}, family ({proxy.relation}) acting for an elder",
            ),
        )
    made: list[DemoAccount] = []
    for data, stands_for in wanted:
        accounts_service.create_account(session, data)
        made.append(DemoAccount(data.username, data.role, stands_for))
    return made


def has_accounts(session: Session) -> bool:
    """Whether the demo accounts exist (the administrator's user name is taken)."""
    return accounts_repo.get_by_username(session, "admin") is not None
