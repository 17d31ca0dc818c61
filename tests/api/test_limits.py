"""Request bodies over the size limit are refused with 413 problem+json, announced or streamed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.problems import PROBLEM_JSON
from core.settings import get_settings

LIMIT = 4096


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("LINLI_MAX_BODY_BYTES", str(LIMIT))
    get_settings.cache_clear()
    with TestClient(create_app()) as test_client:
        yield test_client
    get_settings.cache_clear()


def _is_413(response: object) -> None:
    assert getattr(response, "status_code", None) == 413
    body = response.json()  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(PROBLEM_JSON)  # type: ignore[attr-defined]
    assert body["status"] == 413 and f"{LIMIT} bytes" in body["detail"]


def test_a_body_announced_over_the_limit_is_413_before_it_is_read(client: TestClient) -> None:
    big = b'{"note": "' + b"x" * LIMIT + b'"}'
    _is_413(client.post("/quotes", content=big, headers={"Content-Type": "application/json"}))
    _is_413(client.post("/auth/token", content=big))  # a form body too, before sign-in


def test_a_streamed_body_is_cut_off_at_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"note": "'
        for _ in range(8):
            yield b"x" * 1024
        yield b'"}'

    streamed = client.post(
        "/households/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    _is_413(streamed)


def test_a_body_within_the_limit_goes_on_to_the_route(client: TestClient) -> None:
    small = client.post("/households/register", json={"username": "x"})
    assert small.status_code == 422  # the route's own validation answered


def test_every_operation_with_a_body_declares_413() -> None:
    paths = create_app().openapi()["paths"]
    with_body = [
        (method, path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert len(with_body) > 20
    assert all("413" in paths[path][method]["responses"] for method, path in with_body)
