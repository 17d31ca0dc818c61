"""A page of a list costs the same number of SQL statements whatever its length (no N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from api.app import create_app
from core.db import get_engine, unit_of_work
from marketplace.accounts.models import Role
from marketplace.catalog.vocab import SKILLS
from marketplace.geography.models import AreaLevel
from marketplace.providers import service as providers_service
from marketplace.providers.models import ProviderDistrict
from marketplace.providers.schemas import SkillIn
from pricing import service as pricing_service
from tests import factories as f
from tests.api.accounts import account_token, bearer

SMALL, LARGE = 5, 50


@dataclass
class Listed:
    """A client, an administrator's token and the provider whose workers are listed."""

    client: TestClient
    token: str
    provider: str


@pytest.fixture
def listed(configured: str) -> Listed:
    """An administrator (who sees every order) and a provider with no workers yet."""
    with unit_of_work() as session:
        staffed = f.make_provider(session)
        token = account_token(session, "admin", Role.ADMIN)
        return Listed(TestClient(create_app()), token, staffed.public_id)


def _seed(listed: Listed, count: int) -> None:
    """``count`` more orders, each for its own member from its own provider (serving a district
    of its own, pricing an item), with two windows; ``count`` more workers of the listed
    provider, each with a skill."""
    with unit_of_work() as session:
        item = f.item(session, "domestic.cleaning")
        staffed = providers_service.get_by_public_id_or_raise(session, listed.provider)
        assert item.id is not None
        assert staffed.id is not None
        skills = sorted(SKILLS)
        for n in range(count):
            provider = f.make_provider(session)
            district = f.make_areas(session)[AreaLevel.DISTRICT]
            assert provider.id is not None
            assert district.id is not None
            session.add(ProviderDistrict(provider_id=provider.id, district_id=district.id))
            pricing_service.set_tariff(
                session, provider_id=provider.id, item_id=item.id, unit_price_fen=5000 + n
            )
            f.make_order(
                session,
                provider=provider,
                windows=[
                    f.window(f.DAY, time(9, 0), time(10, 0)),
                    f.window(f.DAY, time(14, 0), time(15, 0)),
                ],
            )
            worker = f.make_worker(session, provider=staffed)
            assert worker.id is not None
            providers_service.set_skill(session, worker.id, SkillIn(skill=skills[n % len(skills)]))


@pytest.fixture
def statements(listed: Listed) -> Iterator[list[str]]:
    """The SQL statements run on the application's engine while the test runs."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def _cost(listed: Listed, seen: list[str], path: str, expected: int) -> int:
    """The statements one GET of the page runs (after a first GET warms what is cached)."""
    url = path.format(provider=listed.provider)
    headers = bearer(listed.token)
    assert listed.client.get(url, params={"limit": 200}, headers=headers).status_code == 200
    seen.clear()
    response = listed.client.get(url, params={"limit": 200}, headers=headers)
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == expected
    return len(seen)


# Each list and how many of its rows are not seeded orders (the provider of the workers).
LISTS = [
    pytest.param("/orders", 0, id="orders"),
    pytest.param("/providers", 1, id="providers"),
    pytest.param("/providers/{provider}/workers", 0, id="workers"),
]


@pytest.mark.parametrize(("path", "others"), LISTS)
def test_a_page_costs_the_same_whatever_its_length(
    listed: Listed, statements: list[str], path: str, others: int
) -> None:
    _seed(listed, SMALL)
    small = _cost(listed, statements, path, SMALL + others)
    _seed(listed, LARGE - SMALL)
    large = _cost(listed, statements, path, LARGE + others)
    assert large == small, f"{path}: {small} statements for {SMALL} rows, {large} for {LARGE}"
    assert small <= 10, f"{path}: {small} statements for one page"
