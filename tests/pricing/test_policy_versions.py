"""Stored policy versions: the reference version from the migration, adding versions, the
version in force on a day; the database keeps them as history."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from core.errors import Conflict, Validation
from pricing import repository as repo
from pricing import service as pricing_service
from pricing.policy import PolicyDocument, reference_policy

REF = reference_policy()
TODAY = date(2026, 11, 27)


def _version(name: str, starts: date) -> PolicyDocument:
    return dataclasses.replace(REF, version=name, effective_from=starts)


def test_the_migration_stores_the_reference_policy(session: Session) -> None:
    assert pricing_service.policy_versions(session) == [REF]
    (row,) = repo.policies(session)
    assert row.created_by == "migration"


def test_a_new_version_is_in_force_from_its_first_day(session: Session) -> None:
    v2 = _version("fz-2026.2", date(2026, 12, 15))
    row = pricing_service.add_policy_version(session, v2, actor="admin:li", today=TODAY)
    assert (row.version, row.created_by) == ("fz-2026.2", "admin:li")
    assert pricing_service.policy_versions(session) == [REF, v2]
    assert pricing_service.policy_on(session, date(2026, 12, 14)) == REF
    assert pricing_service.policy_on(session, date(2026, 12, 15)) == v2
    assert pricing_service.policy_on(session, date(2027, 6, 1)) == v2
    assert pricing_service.policy_version(session, "fz-2026.2") == v2


def test_starting_today_is_allowed_and_yesterday_is_not(session: Session) -> None:
    pricing_service.add_policy_version(
        session, _version("today", TODAY), actor="admin", today=TODAY
    )
    with pytest.raises(Validation, match="cannot start in the past") as err:
        pricing_service.add_policy_version(
            session, _version("late", date(2026, 11, 26)), actor="admin", today=TODAY
        )
    assert err.value.extra["location"] == "$.effective_from"


def test_a_version_name_or_start_date_is_used_once(session: Session) -> None:
    pricing_service.add_policy_version(
        session, _version("v2", date(2027, 1, 1)), actor="admin", today=TODAY
    )
    with pytest.raises(Conflict, match="'v2' is already stored"):
        pricing_service.add_policy_version(
            session, _version("v2", date(2027, 2, 1)), actor="admin", today=TODAY
        )
    with pytest.raises(Conflict, match="already takes effect on 2027-01-01"):
        pricing_service.add_policy_version(
            session, _version("v3", date(2027, 1, 1)), actor="admin", today=TODAY
        )
    assert [d.version for d in pricing_service.policy_versions(session)] == ["fz-2026.1", "v2"]


def test_no_version_before_the_first(session: Session) -> None:
    with pytest.raises(Validation, match="no subsidy policy is in effect on 2025-12-31"):
        pricing_service.policy_on(session, date(2025, 12, 31))


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE subsidy_policy SET created_by = 'someone'",
        "DELETE FROM subsidy_policy",
    ],
)
def test_stored_versions_cannot_be_changed(session: Session, engine: Engine, sql: str) -> None:
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(sql))
    assert pricing_service.policy_versions(session) == [REF]
