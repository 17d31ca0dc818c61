"""The console served by uvicorn on a free loopback port, on a database seeded for the module
(SQLite and PostgreSQL), and Debian's Chromium driven by playwright (never downloaded)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy import text

from api.app import create_app
from core.db import dispose_engines, unit_of_work
from core.settings import get_settings
from tests.conftest import BACKENDS, _pg_admin, _pg_url
from tests.web.browser import CHROMIUM_ARGS, chromium
from tests.web.world import World, seed


@dataclass(frozen=True)
class Site:
    """The running console and the world it serves."""

    base_url: str
    world: World


def _serve(server: uvicorn.Server, sock: socket.socket) -> threading.Thread:
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return thread


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The real app under uvicorn (in a thread) on a database of its own, seeded once."""
    drop: str | None = None
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("console") / "db.sqlite3"
        shutil.copyfile(template, path)
        url = f"sqlite:///{path}"
    else:
        template_name: str = request.getfixturevalue("pg_template")
        drop = f"linli_web_{uuid.uuid4().hex[:12]}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{drop}" TEMPLATE "{template_name}"'))
        admin.dispose()
        url = _pg_url(drop)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LINLI_DATABASE_URL", url)
        patch.setenv("LINLI_DATA_DIR", str(tmp_path_factory.mktemp("console-var")))
        get_settings.cache_clear()
        dispose_engines()
        with unit_of_work() as session:
            world = seed(session)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(create_app(), log_level="warning", lifespan="off", access_log=False)
        )
        thread = _serve(server, sock)
        try:
            yield Site(f"http://127.0.0.1:{port}", world)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
            dispose_engines()
            get_settings.cache_clear()
    if drop is not None:
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian chromium (``executable_path``: playwright's own is never installed)."""
    path = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    """A fresh browser profile asking for Chinese (as a browser in China would)."""
    made = browser.new_context(base_url=site.base_url, locale="zh-CN")
    made.set_default_timeout(10_000)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab of the fresh profile."""
    return context.new_page()
