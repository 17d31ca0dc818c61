"""Without chromium the browser tests fail with the line that installs it; they never skip."""

from __future__ import annotations

import pytest

from tests.web import browser


def test_missing_chromium_fails_with_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium fonts-noto-cjk"):
        browser.chromium()
