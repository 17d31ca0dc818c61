"""Provider statements: money owed per order from the ledger, reconciled to the fen."""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import Session

from core.errors import Validation
from pricing import ledger, settlement
from pricing.ledger import EntryDraft
from pricing.models import EntryKind, Payer
from pricing.settlement import StatementLine

R, C, L, V = EntryKind.RESERVE, EntryKind.CONSUME, EntryKind.RELEASE, EntryKind.REVERSAL


def _append(
    session: Session,
    key: str,
    kind: EntryKind,
    payer: Payer,
    amount: int,
    *,
    order: str,
    provider: int = 7,
    month: str = "2026-12",
) -> None:
    ledger.append(
        session,
        EntryDraft(
            idempotency_key=key,
            kind=kind,
            payer=payer,
            order_ref=order,
            member_id=1,
            provider_id=provider,
            district_code="350102",
            month=month,
            amount_fen=amount,
            actor="test",
        ),
    )


def _month_of_work(session: Session) -> None:
    # ord-a: served, household refunded 5.00; ord-b: cancelled late (fee 3.20);
    # ord-c: only reserved; another provider and another month are left out.
    _append(session, "a1", R, Payer.SUBSIDY, 6400, order="ord-a")
    _append(session, "a2", R, Payer.HOUSEHOLD, 1600, order="ord-a")
    _append(session, "a3", C, Payer.SUBSIDY, 6400, order="ord-a")
    _append(session, "a4", C, Payer.HOUSEHOLD, 1600, order="ord-a")
    _append(session, "a5", V, Payer.HOUSEHOLD, 500, order="ord-a")
    _append(session, "b1", R, Payer.SUBSIDY, 6400, order="ord-b")
    _append(session, "b2", R, Payer.HOUSEHOLD, 1600, order="ord-b")
    _append(session, "b3", C, Payer.HOUSEHOLD, 320, order="ord-b")
    _append(session, "b4", L, Payer.SUBSIDY, 6400, order="ord-b")
    _append(session, "b5", L, Payer.HOUSEHOLD, 1280, order="ord-b")
    _append(session, "c1", R, Payer.SUBSIDY, 1000, order="ord-c")
    _append(session, "x1", C, Payer.SUBSIDY, 9999, order="ord-x", provider=8)
    _append(session, "y1", C, Payer.SUBSIDY, 8888, order="ord-y", month="2026-11")


def test_statement_lines_and_totals(session: Session) -> None:
    _month_of_work(session)
    statement = settlement.statement(session, 7, "2026-12")
    assert statement.lines == (
        StatementLine("ord-a", subsidy_fen=6400, household_fen=1100, ltc_fen=0),
        StatementLine("ord-b", subsidy_fen=0, household_fen=320, ltc_fen=0),
    )
    assert (statement.subsidy_fen, statement.household_fen, statement.total_fen) == (
        6400,
        1420,
        7820,
    )
    assert statement.reconciles(session)
    assert settlement.statement(session, 8, "2026-12").total_fen == 9999
    assert settlement.statement(session, 7, "2027-01").lines == ()


def test_a_statement_that_differs_from_the_ledger_does_not_reconcile(session: Session) -> None:
    _month_of_work(session)
    statement = settlement.statement(session, 7, "2026-12")
    off_by_a_fen = dataclasses.replace(statement, household_fen=statement.household_fen + 1)
    assert not off_by_a_fen.reconciles(session)
    _append(session, "a6", V, Payer.SUBSIDY, 100, order="ord-a")
    assert not statement.reconciles(session)
    assert settlement.statement(session, 7, "2026-12").reconciles(session)


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-12", "2026/12"])
def test_a_month_is_yyyy_mm(session: Session, month: str) -> None:
    with pytest.raises(Validation, match="YYYY-MM"):
        settlement.statement(session, 7, month)
