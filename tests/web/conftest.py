"""The console served by uvicorn on a free loopback port, on a database seeded for the module
(SQLite and PostgreSQL), and Debian's Chromium driven by playwright (never downloaded)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from api.app import create_app
from core.db import unit_of_work
from tests.conftest import BACKENDS, module_database
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
    with module_database(str(request.param), request, tmp_path_factory):
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
