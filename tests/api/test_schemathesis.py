"""schemathesis over every operation of the OpenAPI document: no 5xx, no status the operation
does not declare, no response that breaks its schema, no wrong content type, invalid input
refused.

Each operation is called with the token of a role it admits (read from the route's access
declaration), on a database holding one household, a proxy, a provider with a worker and
orders (``tests/api/contract.py``), so ids from the fixtures reach past 404 where schemathesis
uses them. Examples per operation are bounded (``LINLI_TEST_SCHEMATHESIS_EXAMPLES``, default 25)
so CI stays short. ``test_schemathesis_stateful.py`` chains the operations along their links.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from schemathesis import checks

from marketplace.accounts.models import Role
from tests.api.contract import load_schema, signed_in

EXAMPLES = int(os.environ.get("LINLI_TEST_SCHEMATHESIS_EXAMPLES", "25"))
schema = load_schema()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_api_keeps_its_contract(case: Any, population: dict[Role, str]) -> None:
    # Business rules (a window's end after its start, a date not in the past) refuse some
    # schema-valid bodies with 422 by design, so "valid data is accepted" is not checked.
    case.call_and_validate(
        headers=signed_in(case, population), excluded_checks=[checks.positive_data_acceptance]
    )
