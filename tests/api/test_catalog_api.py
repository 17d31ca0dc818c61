"""The public catalog over HTTP: categories and items, their units as the enum says."""

from __future__ import annotations

import warnings

from fastapi.testclient import TestClient

from api.app import create_app
from core.db import read_only, unit_of_work
from marketplace.catalog.models import Item, Unit
from tests import factories as f


def test_items_list_with_their_units_and_filter_by_category(configured: str) -> None:
    with unit_of_work() as session:
        f.item(session, "meal.lunch")
    with read_only() as session:
        loaded = session.get(Item, 1)
        assert loaded is not None and type(loaded.unit) is Unit  # rows load as the enum
    client = TestClient(create_app())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a serializer warning (a str where the enum is) fails
        items = client.get("/catalog/items").json()
        meals = client.get("/catalog/items", params={"category": "meal"}).json()
    assert {i["unit"] for i in items} <= {u.value for u in Unit}
    lunch = next(i for i in items if i["code"] == "meal.lunch")
    assert lunch["unit"] == "meal" and lunch["category_code"] == "meal"
    assert meals and all(i["category_code"] == "meal" for i in meals)
    assert client.get("/catalog/items", params={"category": "nope"}).status_code == 404
