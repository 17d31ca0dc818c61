"""GET /city/summary counts the seeded city per district."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from api.app import create_app
from core.db import unit_of_work
from marketplace.demo import seed as demo


def test_summary_counts_the_demo_city(configured: str) -> None:
    client = TestClient(create_app())
    empty = client.get("/city/summary").json()
    assert empty == {"districts": [], "households": 0, "members": 0, "orders": 0}

    with unit_of_work() as session:
        summary = demo.seed_demo(
            session, seed=7, households=60, start_date=date(2026, 11, 23), progress=False
        )
    body = client.get("/city/summary").json()
    assert [d["name"] for d in body["districts"]] == [
        "鼓楼区",
        "台江区",
        "仓山区",
        "马尾区",
        "晋安区",
        "长乐区",
    ]
    assert body["households"] == summary.households == 60
    assert body["members"] == summary.members
    assert body["orders"] == summary.orders
    assert sum(d["orders"] for d in body["districts"]) == body["orders"]
