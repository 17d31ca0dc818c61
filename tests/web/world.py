"""The small world the console's tests sign in to: a 低保 elder's household with two visits
checked out (their one-time codes kept), a neighbour with one, a third home, one worker's day
through all four homes, and an audit run that found the colleague covering one visit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlmodel import Session

from audit import repository as audit_repo
from audit import service as audit_service
from core.timeutil import local_datetime
from marketplace.accounts.models import Role
from marketplace.households import service as households_service
from marketplace.households.models import Household, Member, ProtectedCategory
from marketplace.households.schemas import MemberCreate
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order
from marketplace.orders.schemas import OrderCreate
from marketplace.providers.models import Gender, Provider, Worker
from marketplace.visits import service as visits_service
from marketplace.visits.models import CheckMethod
from tests import factories as f
from tests.api.accounts import PASSWORD, make_account, member_links, worker_links

DAY = f.DAY
MONTH = f"{DAY:%Y-%m}"
ORDERED = local_datetime(date(2026, 11, 20), time(10))
HOME = (26.0861, 119.2954)
ADDRESS = "鼓楼区三坊七巷南后街88号"
ELDER = "陈阿婆"
ELDER_BORN = date(1940, 5, 6)


def id_number(born: date, serial: str = "123") -> str:
    """A valid resident ID number (district 350102) for someone born on ``born``."""
    first17 = f"350102{born:%Y%m%d}{serial}"
    return first17 + households_service.id_check_digit(first17)


ELDER_ID = id_number(ELDER_BORN)
ELDER_ID_MASKED = ELDER_ID[:6] + "********" + ELDER_ID[-4:]


@dataclass(frozen=True)
class World:
    """Public ids, codes and sign-ins the tests use (every password is ``PASSWORD``)."""

    orders: dict[str, str]  # "a", "b" (the elder's), "c" (the neighbour's), "d"
    codes: dict[str, str]  # the one-time codes of the checked-out visits a, b and c
    finding: str  # the other_worker finding on visit a
    password: str = PASSWORD


def _home(session: Session, lat: float, lon: float, address: str) -> Household:
    home, _ = f.make_household(session, lat=lat, lon=lon)
    home.address = address
    session.add(home)
    return home


def _order(
    session: Session, member: Member, provider: Provider, worker: Worker, start: time
) -> Order:
    assert member.id is not None and provider.id is not None and worker.id is not None
    item = f.item(session, "domestic.cleaning")
    assert item.id is not None
    end = time(start.hour + 3, start.minute)
    order = orders_service.create_order(
        session,
        OrderCreate(
            household_id=member.household_id,
            recipient_member_id=member.id,
            provider_id=provider.id,
            item_id=item.id,
            service_date=DAY,
            windows=[f.window(DAY, start, end)],
            duration_minutes=120,
        ),
        actor="test:household",
        now=ORDERED,
    )
    order = orders_service.confirm(session, order, actor="test:provider", now=ORDERED)
    return orders_service.schedule(
        session,
        order,
        worker_id=worker.id,
        start=local_datetime(DAY, start),
        actor="test:dispatcher",
        now=ORDERED,
    )


def _done(session: Session, order: Order, home: Household, by: Worker, start: time) -> str:
    """Check the visit in and out at the home; the household's one-time code."""
    assert by.id is not None
    at = local_datetime(DAY, start)
    visits_service.check_in(
        session,
        order,
        worker_id=by.id,
        at=at + timedelta(minutes=3),
        method=CheckMethod.GPS,
        lat=home.lat,
        lon=home.lon,
        actor="test:worker",
    )
    _, code = visits_service.check_out(
        session,
        order,
        at=at + timedelta(minutes=121),
        method=CheckMethod.GPS,
        lat=home.lat,
        lon=home.lon,
        actor="test:worker",
    )
    return code


def seed(session: Session) -> World:
    """The world, and one account per person the tests sign in as."""
    home = _home(session, *HOME, ADDRESS)
    assert home.id is not None
    elder = households_service.add_member(
        session,
        home.id,
        MemberCreate(name=ELDER, gender=Gender.FEMALE, birth_date=ELDER_BORN, id_number=ELDER_ID),
        today=DAY,
    )
    f.grant_status(session, elder, ProtectedCategory.DIBAO)
    neighbour_home = _home(session, HOME[0] + 0.012, HOME[1] + 0.018, "鼓楼区东街口1号")
    neighbour = f.add_member(session, neighbour_home, name="林伯")
    third_home = _home(session, HOME[0] - 0.009, HOME[1] + 0.03, "台江区上下杭3号")
    third = f.add_member(session, third_home, name="王奶奶")
    provider = f.make_provider(session)
    worker = f.make_worker(session, provider=provider)
    colleague = f.make_worker(session, provider=provider, name="周师傅")

    starts = {"a": time(8), "b": time(10, 30), "c": time(13), "d": time(15, 30)}
    who = {"a": elder, "b": elder, "c": neighbour, "d": third}
    homes = {"a": home, "b": home, "c": neighbour_home}
    orders = {k: _order(session, who[k], provider, worker, starts[k]) for k in starts}
    codes = {
        # A colleague covers visit a: the audit's other_worker rule finds it.
        k: _done(session, orders[k], homes[k], colleague if k == "a" else worker, starts[k])
        for k in ("a", "b", "c")
    }
    audit_service.run_month(session, MONTH, actor="test:admin")
    covered = visits_service.get_for_order(session, orders["a"])
    assert covered is not None
    finding = next(
        found.public_id
        for found in audit_repo.list_findings(session, month=MONTH, rule="other_worker")
        if covered.public_id in found.visit_refs
    )

    make_account(session, "home", Role.HOUSEHOLD, **member_links(elder))
    make_account(session, "home.out", Role.HOUSEHOLD, **member_links(elder))
    make_account(session, "home.everywhere", Role.HOUSEHOLD, **member_links(elder))
    make_account(session, "neighbour", Role.HOUSEHOLD, **member_links(neighbour))
    make_account(session, "wkr", Role.WORKER, **worker_links(worker))
    make_account(session, "aud", Role.AUDITOR)
    make_account(session, "aud.ca", Role.AUDITOR, civil_affairs=True)
    make_account(session, "prov", Role.PROVIDER_ADMIN, provider_id=provider.id)
    return World(
        orders={k: o.public_id for k, o in orders.items()},
        codes=codes,
        finding=finding,
    )
