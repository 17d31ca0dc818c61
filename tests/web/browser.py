"""Driving Debian's chromium: its launch arguments, signing in through the form, screenshots."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    """Debian's chromium; the test fails (never skips) without it."""
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "chromium is not on PATH: apt-get install chromium fonts-noto-cjk", pytrace=False
        )
    return path


def sign_in(page: Page, username: str, password: str) -> None:
    """Sign in through the real form."""
    page.goto("/console/sign-in")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.sign-in button[type=submit]")


def screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    """A full-page screenshot into the test's tmp dir (checked non-empty, never compared)."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000, f"{name}: empty screenshot"
    return path
