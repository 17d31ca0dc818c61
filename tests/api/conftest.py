"""Fixtures of the HTTP tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from marketplace.accounts.models import Role
from tests.api.contract import populate
from tests.conftest import BACKENDS


@pytest.fixture(scope="module", params=BACKENDS)
def population(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[Role, str]]:
    """A database for the whole module (see ``contract.populate``); the public ids of its
    accounts by role."""
    yield from populate(request, tmp_path_factory)
