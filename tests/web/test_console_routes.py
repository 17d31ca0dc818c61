"""The console's routes beside the API's: every page declares its access like an API route
(``console=True``), none is in the OpenAPI or the API's authorization matrix, each refuses the
roles it does not admit, a signed-out visitor goes to the sign-in form, and every POST is
refused without the CSRF token. (The browser tests cover the pages themselves.)"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.access import Access, api_routes, console_routes, declared
from api.app import create_app
from api.web.access import PREFIX, SESSION_COOKIE
from core.db import unit_of_work
from marketplace.accounts import service as accounts_service
from marketplace.accounts.models import Role
from tests import factories as f
from tests.api.accounts import one_per_role

APP = create_app()
CONSOLE = console_routes(APP.routes)


def test_every_console_route_declares_console_access_and_stays_out_of_the_api() -> None:
    assert len(CONSOLE) >= 9
    for method, route in CONSOLE:
        access = declared(route)
        assert isinstance(access, Access) and access.console, f"{method} {route.path}"
        assert (route.path or "").startswith(PREFIX + "/")
    api = {(m, r.path) for m, r in api_routes(APP.routes)}
    assert api and not any((p or "").startswith(PREFIX) for _, p in api)
    assert not {(m, r.path) for m, r in CONSOLE} & api
    every = {(m, r.path) for m, r in CONSOLE} | api
    from fastapi.routing import APIRoute

    declared_anywhere = {
        (m, r.path) for r in APP.routes if isinstance(r, APIRoute) for m in r.methods or ()
    }
    assert declared_anywhere <= every  # no route escapes both lists


def test_no_console_route_is_in_the_openapi() -> None:
    paths = TestClient(APP).get("/openapi.json").json()["paths"]
    assert paths and not [p for p in paths if p.startswith(PREFIX)]


def _path(path: str | None) -> str:
    return re.sub(r"\{[^}]+\}", "x_made_up_0000000000000000", path or "")


@pytest.fixture
def sessions(configured: str) -> dict[Role, str]:
    """A console session cookie per role."""
    with unit_of_work() as session:
        _, member = f.make_household(session)
        worker = f.make_worker(session, provider=f.make_provider(session))
        accounts = one_per_role(session, "console", member, worker)
        return {
            role: accounts_service.issue_refresh(session, account).token
            for role, account in accounts.items()
        }


def test_roles_are_admitted_exactly_as_declared(sessions: dict[Role, str]) -> None:
    client = TestClient(APP, raise_server_exceptions=False, follow_redirects=False)
    wrong: list[str] = []
    for method, route in CONSOLE:
        access = declared(route)
        assert access is not None
        path = _path(route.path)
        if method != "GET":
            # Without the CSRF token every POST is refused, signed in or not.
            for role, cookie in sessions.items():
                client.cookies.set(SESSION_COOKIE, cookie, path=PREFIX)
                status = client.request(method, path, data={}).status_code
                if status != 403:
                    wrong.append(f"{method} {route.path} as {role.value} without CSRF: {status}")
            client.cookies.clear()
            continue
        if access.public:
            continue
        client.cookies.clear()
        anonymous = client.get(path)
        if anonymous.status_code != 303 or anonymous.headers["location"] != f"{PREFIX}/sign-in":
            wrong.append(f"GET {route.path} signed out: {anonymous.status_code}")
        for role, cookie in sessions.items():
            client.cookies.set(SESSION_COOKIE, cookie, path=PREFIX)
            answer = client.get(path)
            status = answer.status_code
            if status >= 500 or status == 401:
                wrong.append(f"GET {route.path} as {role.value}: {status}")
            elif role in access.roles and status == 403:
                wrong.append(f"GET {route.path} as {role.value}: 403, admitted")
            elif role not in access.roles and status != 403:
                wrong.append(f"GET {route.path} as {role.value}: {status}, not 403")
            elif status >= 400 and "text/html" not in answer.headers["content-type"]:
                wrong.append(f"GET {route.path} as {role.value}: {status} not a page")
        client.cookies.clear()
    assert not wrong, "\n".join(wrong)


def test_errors_are_pages_in_the_chosen_language(sessions: dict[Role, str]) -> None:
    client = TestClient(APP, raise_server_exceptions=False)
    client.cookies.set(SESSION_COOKIE, sessions[Role.AUDITOR], path=PREFIX)
    missing = client.get(f"{PREFIX}/findings/fnd_00000000000000000000?lang=en")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]
    assert "This page does not exist" in missing.text and "Traceback" not in missing.text
    bad = client.get(f"{PREFIX}/findings?month=2026-13&lang=zh")
    assert bad.status_code == 422 and "输入有误" in bad.text
    nowhere = client.get(f"{PREFIX}/nowhere")
    assert nowhere.status_code == 404 and "页面不存在" in nowhere.text
    api = client.get("/orders/ord_00000000000000000000")  # the API still answers problem+json
    assert api.headers["content-type"].startswith("application/problem+json")


def test_session_cookies_are_secure_in_production(
    sessions: dict[Role, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.web import access

    monkeypatch.setattr(access, "secure_cookies", lambda: True)
    from api.web import render

    monkeypatch.setattr(render, "secure_cookies", lambda: True)
    page = TestClient(APP).get(f"{PREFIX}/sign-in")
    cookie = page.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
