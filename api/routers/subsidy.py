"""Subsidy money over HTTP: what is left of a member's monthly cap (and of long-term-care
insurance), and a provider's monthly settlement statement with whether it reconciles.

Who: a member's balance for the household's own members, a proxy's elders and administrators
(``ownership.member_for``); a statement for the provider's own admins, auditors and
administrators (``ownership.provider_for``). Auditors' and administrators' reads are logged.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api import ownership
from api.access import Owner, allow
from api.deps import SessionDep
from api.problems import problem_responses
from api.types import Month, MonthFilter, public_id_query
from core.db import read_only
from core.timeutil import local_date, utcnow
from marketplace.accounts.models import Role, UserAccount
from marketplace.orders import service as orders_service
from pricing import settlement

router = APIRouter(tags=["subsidy"])


class LtcBalance(BaseModel):
    """Long-term-care insurance in the month: its monthly limit and what it has committed."""

    scheme: str | None = Field(description="the benefit in force (null: none)")
    limit_fen: int
    committed_fen: int
    remaining_fen: int


class BalancePublic(BaseModel):
    """A member's subsidy in one service month (fen): the cap of their groups, what is
    committed (reserved or used) and consumed (visits verified), and what remains."""

    member: str
    month: str
    as_of: dt.date = Field(description="the day groups, policy and benefit are read on")
    groups: list[str]
    policy_version: str
    cap_fen: int
    committed_fen: int
    consumed_fen: int
    remaining_fen: int
    ltc: LtcBalance


class StatementLinePublic(BaseModel):
    """What one order earned the provider in the month, by payer (fen)."""

    order: str
    subsidy_fen: int
    household_fen: int
    ltc_fen: int
    total_fen: int


class StatementPublic(BaseModel):
    """A provider's settlement statement for one service month, from the ledger alone."""

    provider: str
    month: str
    lines: list[StatementLinePublic]
    subsidy_fen: int
    household_fen: int
    ltc_fen: int
    total_fen: int
    reconciles: bool = Field(
        description="whether the totals equal the ledger's own sums for the provider and month"
    )


@router.get(
    "/subsidy/balance",
    response_model=BalancePublic,
    responses=problem_responses(401, 403, 404, 422),
)
def balance(
    session: SessionDep,
    account: Annotated[
        UserAccount,
        allow(Role.HOUSEHOLD, Role.PROXY, Role.ADMIN, owner=Owner.MEMBER, personal_data=True),
    ],
    member: Annotated[str, public_id_query("the member's public id")],
    month: MonthFilter = None,
) -> BalancePublic:
    """A member's monthly subsidy cap, committed, consumed and remaining, and long-term-care
    insurance committed against its limit, for a service month (default: this month)."""
    found = ownership.member_for(session, account, member, ordering=False)
    assert found.id is not None
    today = local_date(utcnow())
    shown = orders_service.subsidy_balance(
        session, found.id, month or f"{today.year:04d}-{today.month:02d}", today=today
    )
    return BalancePublic(
        member=found.public_id,
        month=shown.month,
        as_of=shown.as_of,
        groups=list(shown.groups),
        policy_version=shown.policy_version,
        cap_fen=shown.cap_fen,
        committed_fen=shown.committed_fen,
        consumed_fen=shown.consumed_fen,
        remaining_fen=shown.remaining_fen,
        ltc=LtcBalance(
            scheme=shown.ltc_scheme,
            limit_fen=shown.ltc_limit_fen,
            committed_fen=shown.ltc_committed_fen,
            remaining_fen=shown.ltc_remaining_fen,
        ),
    )


@router.get(
    "/subsidy/statements",
    response_model=StatementPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def statement(
    session: SessionDep,
    account: Annotated[
        UserAccount,
        allow(
            Role.PROVIDER_ADMIN, Role.AUDITOR, Role.ADMIN, owner=Owner.PROVIDER, personal_data=True
        ),
    ],
    provider: Annotated[str, public_id_query("the provider's public id")],
    month: Month,
) -> StatementPublic:
    """The provider's settlement statement for a service month: per order, the subsidy owed,
    what the household paid and long-term-care insurance (consumed less reversed), the totals,
    and whether they reconcile with the ledger's own sums."""
    found = ownership.provider_for(session, account, provider)
    assert found.id is not None
    with read_only() as snapshot:  # the statement and the check read the same ledger
        made = settlement.statement(snapshot, found.id, month)
        reconciles = settlement.reconciles(snapshot, made)
    return StatementPublic(
        provider=found.public_id,
        month=made.month,
        lines=[
            StatementLinePublic(
                order=line.order_ref,
                subsidy_fen=line.subsidy_fen,
                household_fen=line.household_fen,
                ltc_fen=line.ltc_fen,
                total_fen=line.total_fen,
            )
            for line in made.lines
        ],
        subsidy_fen=made.subsidy_fen,
        household_fen=made.household_fen,
        ltc_fen=made.ltc_fen,
        total_fen=made.total_fen,
        reconciles=reconciles,
    )
