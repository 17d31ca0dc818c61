"""The authorization matrix's world: two of everything (side A, whose accounts sign in, and
side B, someone else's), one database per module and backend, and fresh objects for the calls
that change state."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import Session, func, select

from api.ownership import actor
from audit.models import AuditExport, AuditRun, Finding
from core.db import read_only, unit_of_work
from core.ids import new_public_id
from core.timeutil import local_datetime
from dispatch.models import RunStatus, SolveRun
from marketplace.accounts.models import Role, UserAccount
from marketplace.households import service as households_service
from marketplace.households.models import (
    FamilyProxy,
    Household,
    Member,
    MemberPreference,
    ProtectedCategory,
    ProtectedStatus,
)
from marketplace.households.schemas import FamilyProxyCreate, ProtectedStatusCreate
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order
from marketplace.orders.schemas import OrderCreate
from marketplace.providers.models import Provider, Worker
from tests import factories as f
from tests.api.accounts import make_account, member_links, worker_links

ITEM = "domestic.cleaning"
SKILL = "cooking"
MONTH = "2026-12"
ORDERED = local_datetime(date(2026, 11, 20), time(10))
_days = itertools.count(1)  # fresh orders booked to one worker must not overlap
_phones = itertools.count(1)


class Persona(StrEnum):
    """An account that signs in to the matrix, tied to side A where its role has a side."""

    HOUSEHOLD = "household"
    PROXY = "proxy"
    PROVIDER_ADMIN = "provider_admin"
    PROVIDER_DISPATCHER = "provider_dispatcher"
    WORKER = "worker"
    PLATFORM_DISPATCHER = "platform_dispatcher"
    AUDITOR = "auditor"
    CIVIL_AFFAIRS_AUDITOR = "civil_affairs_auditor"
    ADMIN = "admin"


ROLE_OF: dict[Persona, Role] = {
    Persona.HOUSEHOLD: Role.HOUSEHOLD,
    Persona.PROXY: Role.PROXY,
    Persona.PROVIDER_ADMIN: Role.PROVIDER_ADMIN,
    Persona.PROVIDER_DISPATCHER: Role.DISPATCHER,
    Persona.WORKER: Role.WORKER,
    Persona.PLATFORM_DISPATCHER: Role.DISPATCHER,
    Persona.AUDITOR: Role.AUDITOR,
    Persona.CIVIL_AFFAIRS_AUDITOR: Role.AUDITOR,
    Persona.ADMIN: Role.ADMIN,
}


@dataclass
class Side:
    """One side's objects: path-parameter values, and the rows fresh objects are made under.

    ``values`` is keyed by path-parameter name, or by ``owner:name`` where one name means
    different objects under different owners (``run_id``: a solve run, an audit run).
    """

    name: str
    household: Household
    elder: Member
    proxy_phone: str
    provider: Provider
    worker: Worker
    dispatcher: UserAccount  # the provider's dispatcher: it starts the side's solve runs
    audit_run: AuditRun
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    """Side A (the personas' own), side B (someone else's) and the personas' public ids."""

    a: Side
    b: Side
    personas: dict[Persona, str]

    def side(self, own: bool) -> Side:
        """Side A for the own object, side B for someone else's."""
        return self.a if own else self.b


# --- the database ------------------------------------------------------------------------


# --- objects -----------------------------------------------------------------------------


def _elder(session: Session, household: Household, proxy_phone: str) -> tuple[Member, FamilyProxy]:
    """A new 低保 elder of the household, and its family proxy with this phone."""
    member = f.add_member(session, household, birth_date=date(1941, 2, 3), name="林伯")
    f.grant_status(session, member, ProtectedCategory.DIBAO)
    assert member.id is not None
    proxy = households_service.add_family_proxy(
        session, member.id, FamilyProxyCreate(name="林子", phone=proxy_phone, relation="son")
    )
    return member, proxy


def _order(session: Session, side: Side, elder: Member) -> Order:
    """A subsidised order for an elder of the side at its provider, booked to its worker."""
    assert side.household.id and elder.id and side.provider.id and side.worker.id
    item = f.item(session, ITEM)
    assert item.id is not None
    day = f.DAY + timedelta(days=next(_days))
    order = orders_service.create_order(
        session,
        OrderCreate(
            household_id=side.household.id,
            recipient_member_id=elder.id,
            provider_id=side.provider.id,
            item_id=item.id,
            service_date=day,
            windows=[f.window(day, time(9), time(12))],
            duration_minutes=120,
        ),
        actor="household",
        now=ORDERED,
    )
    assert order.subsidy_fen > 0, "the matrix's orders are subsidised (auditors see those)"
    order = orders_service.confirm(session, order, actor="provider", now=ORDERED)
    return orders_service.schedule(
        session,
        order,
        worker_id=side.worker.id,
        start=local_datetime(day, time(9)),
        actor="dispatcher",
        now=ORDERED,
    )


def _application(session: Session, side: Side) -> ProtectedStatus:
    """A pending 优抚 application for a new member of the side's household."""
    member = f.add_member(session, side.household)
    assert member.id is not None
    return households_service.apply_protected_status(
        session,
        member.id,
        ProtectedStatusCreate(category=ProtectedCategory.YOUFU, valid_from=date(2026, 1, 1)),
    )


def _run(session: Session, side: Side) -> SolveRun:
    """A finished solve run of the orders' first day, started by the side's dispatcher."""
    run = SolveRun(
        public_id=new_public_id("run"),
        service_date=f.DAY,
        area_code="*",
        params={"time_limit_s": 3},
        requested_by=actor(side.dispatcher),
        status=RunStatus.DONE,
    )
    session.add(run)
    session.flush()
    return run


def _finding(session: Session, side: Side) -> Finding:
    """An open finding about the side's provider."""
    assert side.provider.id is not None and side.audit_run.id is not None
    key = f"matrix:{uuid.uuid4().hex}"
    finding = Finding(
        public_id=new_public_id("fnd"),
        month=MONTH,
        key=key,
        rule="matrix",
        subject_kind="provider",
        subject=side.provider.public_id,
        severity="low",
        summary="made by the authorization matrix",
        provider_ids=[side.provider.id],
        first_run_id=side.audit_run.id,
        last_run_id=side.audit_run.id,
        updated_at=ORDERED,
    )
    session.add(finding)
    session.flush()
    return finding


def _export(session: Session, side: Side) -> AuditExport:
    """A queued export (nobody builds it here)."""
    export = AuditExport(
        public_id=new_public_id("exp"),
        month=MONTH,
        format="csv",
        sample_size=5,
        sample_seed="linli-field-check",
        requested_by=f"auditor:{side.name}",
    )
    session.add(export)
    session.flush()
    return export


def _side(session: Session, name: str) -> Side:
    audit_run = AuditRun(
        public_id=new_public_id("aud"), month=MONTH, actor="matrix", started_at=ORDERED
    )
    session.add(audit_run)
    session.flush()
    household, _ = f.make_household(session)
    provider = f.make_provider(session)
    worker = f.make_worker(session, provider=provider)
    phone = f"1390000{next(_phones):04d}"
    dispatcher = make_account(
        session, f"mx-{name}-dispatcher", Role.DISPATCHER, provider_id=provider.id
    )
    elder, proxy = _elder(session, household, phone)
    side = Side(name, household, elder, phone, provider, worker, dispatcher, audit_run)
    user = make_account(session, f"mx-{name}-user", Role.DISPATCHER)
    status = _application(session, side)
    side.values = {
        "member_id": side.elder.public_id,
        "proxy_id": proxy.public_id,
        "order_id": _order(session, side, elder).public_id,
        "status_id": str(status.id),
        "provider_id": provider.public_id,
        "worker_id": worker.public_id,
        "run:run_id": _run(session, side).public_id,
        "audit_run:run_id": audit_run.public_id,
        "finding_id": _finding(session, side).public_id,
        "export_id": _export(session, side).public_id,
        "user_id": user.public_id,
        "item_code": ITEM,
        "skill": SKILL,
    }
    return side


def build_world() -> World:
    """Both sides and the personas (side A's where the role has a side)."""
    with unit_of_work() as session:
        a, b = _side(session, "a"), _side(session, "b")
        links: dict[Persona, dict[str, Any]] = {
            Persona.HOUSEHOLD: member_links(a.elder),
            Persona.PROXY: {"phone": a.proxy_phone},
            Persona.PROVIDER_ADMIN: {"provider_id": a.provider.id},
            Persona.WORKER: worker_links(a.worker),
            Persona.CIVIL_AFFAIRS_AUDITOR: {"civil_affairs": True},
            # Approving an application needs civil-affairs staff.
            Persona.ADMIN: {"civil_affairs": True},
        }
        personas: dict[Persona, str] = {
            p: make_account(session, f"mx-{p.value}", ROLE_OF[p], **links.get(p, {})).public_id
            for p in Persona
            if p is not Persona.PROVIDER_DISPATCHER
        }
        personas[Persona.PROVIDER_DISPATCHER] = a.dispatcher.public_id
        return World(a, b, personas)


# --- fresh objects for calls that change state ---------------------------------------------

Fresh = Callable[[Session, World, Side, Persona], str]
"""A new object of one side for one call (made under the side's household, provider …)."""


def _fresh_worker(session: Session, world: World, side: Side, persona: Persona) -> str:
    if ROLE_OF[persona] is Role.WORKER:
        return side.worker.public_id  # a worker's own worker is itself
    return f.make_worker(session, provider=side.provider).public_id


FRESH: dict[str, Fresh] = {
    "member_id": lambda s, w, side, p: _elder(s, side.household, side.proxy_phone)[0].public_id,
    "proxy_id": lambda s, w, side, p: _elder(s, side.household, side.proxy_phone)[1].public_id,
    # A new elder too: a member's subsidy runs out after a few orders in a month.
    "order_id": lambda s, w, side, p: (
        _order(s, side, _elder(s, side.household, side.proxy_phone)[0]).public_id
    ),
    "status_id": lambda s, w, side, p: str(_application(s, side).id),
    "worker_id": _fresh_worker,
    "run:run_id": lambda s, w, side, p: _run(s, side).public_id,
    "finding_id": lambda s, w, side, p: _finding(s, side).public_id,
    "export_id": lambda s, w, side, p: _export(s, side).public_id,
}
"""Path parameters whose objects a call may change, so each such call gets new ones (the
others, a provider, an account, an item code, are shared: no call hides them)."""


def key(table: Mapping[str, Any], owner: str, name: str) -> str | None:
    """The key of a path parameter in a table: ``owner:name`` before ``name``."""
    return next((k for k in (f"{owner}:{name}", name) if k in table), None)


def values(
    world: World, *, own: bool, owner: str, names: list[str], persona: Persona, fresh: bool
) -> dict[str, str]:
    """The side's value of each path parameter named, for a route of this owner (new objects
    with ``fresh``); a name without a value is left out."""
    side = world.side(own)
    found: dict[str, str] = {}
    with unit_of_work() as session:
        for name in names:
            make = key(FRESH, owner, name) if fresh else None
            known = key(side.values, owner, name)
            if make is not None:
                found[name] = FRESH[make](session, world, side, persona)
            elif known is not None:
                found[name] = side.values[known]
    return found


# --- what a call on someone else's object must leave as it was ------------------------------


def _row(row: Any) -> dict[str, Any] | None:
    return None if row is None else dict(row.model_dump())


def _by_public_id(model: Any) -> Callable[[Session, str], Any]:
    def read(session: Session, public_id: str) -> Any:
        return _row(session.exec(select(model).where(model.public_id == public_id)).first())

    return read


def _member(session: Session, public_id: str) -> Any:
    member = session.exec(select(Member).where(Member.public_id == public_id)).first()
    if member is None:
        return None

    def count(model: Any) -> int:
        return session.exec(select(func.count()).where(model.member_id == member.id)).one()

    return (
        _row(member),
        count(FamilyProxy),
        count(ProtectedStatus),
        _row(session.get(MemberPreference, member.id)),
    )


STATES: dict[str, Callable[[Session, str], Any]] = {
    "order_id": _by_public_id(Order),
    "proxy_id": _by_public_id(FamilyProxy),
    "member_id": _member,
    "status_id": lambda session, value: _row(session.get(ProtectedStatus, int(value))),
    "provider_id": _by_public_id(Provider),
    "worker_id": _by_public_id(Worker),
    "run:run_id": _by_public_id(SolveRun),
    "audit_run:run_id": _by_public_id(AuditRun),
    "finding_id": _by_public_id(Finding),
    "export_id": _by_public_id(AuditExport),
    "user_id": _by_public_id(UserAccount),
}
"""The rows behind each kind of path parameter, read whole."""


def states(owner: str, found: dict[str, str]) -> dict[str, Any]:
    """The rows behind the path parameters given (of a route of this owner), as they are now."""
    with read_only() as session:
        return {
            name: STATES[k](session, value)
            for name, value in found.items()
            if (k := key(STATES, owner, name)) is not None
        }
