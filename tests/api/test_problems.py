"""Every error leaves the API as problem+json with the right status, never a bare 500."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from api import problems
from api.app import create_app
from core.errors import Conflict, NotFound
from marketplace.orders.models import OrderStatus
from marketplace.orders.state import OrderEvent, target


class Body(BaseModel):
    """A body with one required integer."""

    count: int


def _app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.post("/illegal")
    def illegal() -> None:
        target(OrderStatus.SETTLED, OrderEvent.CANCEL)

    @app.get("/missing")
    def missing() -> None:
        raise NotFound("order ord_x does not exist")

    @app.get("/conflict")
    def conflict() -> None:
        raise Conflict("worker already booked")

    @app.get("/integrity")
    def integrity() -> None:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    @app.post("/validate")
    def validate(body: Body) -> int:
        return body.count

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    return app


client = TestClient(_app(), raise_server_exceptions=False)


def test_illegal_transition_is_409_with_what_was_allowed() -> None:
    response = client.post("/illegal")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["detail"] == "cannot cancel an order that is settled"
    assert body["current"] == "settled"
    assert body["event"] == "cancel"
    assert "scheduled" in body["allowed_from"]


def test_domain_errors_map_to_their_status() -> None:
    assert client.get("/missing").status_code == 404
    assert client.get("/conflict").json()["title"] == "Conflict"
    assert client.get("/integrity").status_code == 409


def test_validation_names_the_field() -> None:
    response = client.post("/validate", json={"count": "many"})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "body.count"
    assert body["detail"].startswith("body.count:")


def test_unexpected_error_is_problem_json_without_internals() -> None:
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret" not in response.text


def test_every_operation_declares_503_for_a_database_down() -> None:
    paths = create_app().openapi()["paths"]
    operations = [op for ops in paths.values() for op in ops.values() if isinstance(op, dict)]
    assert len(operations) > 50
    assert all("503" in op["responses"] for op in operations)
