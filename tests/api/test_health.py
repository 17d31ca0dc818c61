"""GET /health reports the database and broker; errors are problem+json."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app


def test_health_reports_database_and_broker(configured: str, backend: str) -> None:
    client = TestClient(create_app())
    response = client.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "kind": backend, "detail": ""}
    assert body["broker"]["ok"] is True
    assert body["broker"]["kind"] == "sqla+sqlite"


def test_health_is_degraded_when_database_is_unreachable(
    monkeypatch: object, tmp_path: object
) -> None:
    import pytest

    from core.db import dispose_engines
    from core.settings import get_settings

    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("LINLI_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
        mp.setenv("LINLI_DATA_DIR", str(tmp_path))
        get_settings.cache_clear()
        dispose_engines()
        response = TestClient(create_app()).get("/health")
        assert response.status_code == 503
        assert response.json()["database"]["ok"] is False
    finally:
        mp.undo()
        get_settings.cache_clear()
        dispose_engines()


def test_unknown_route_is_problem_json(configured: str) -> None:
    response = TestClient(create_app()).get("/no-such-route")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404
