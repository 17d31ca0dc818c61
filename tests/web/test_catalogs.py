"""The two message catalogs have the same keys, and every key the templates and pages use
exists (the keys built from enums included)."""

from __future__ import annotations

import re
from pathlib import Path

from api.web import i18n
from api.web.routers.orders import CONFIRM_MESSAGES
from audit.facts import Severity
from audit.models import FindingStatus
from marketplace.orders.models import OrderStatus

TEMPLATES = Path(i18n.__file__).parent / "templates"
USED = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']""")
PROGRESS = ("done", "in_service", "to_do", "dropped")


def test_both_catalogs_have_exactly_the_same_keys() -> None:
    assert set(i18n.ZH) - set(i18n.EN) == set()
    assert set(i18n.EN) - set(i18n.ZH) == set()


def test_every_key_used_exists() -> None:
    found = {key for path in TEMPLATES.glob("*.html") for key in USED.findall(path.read_text())}
    assert len(found) > 50  # the pattern finds them
    # ``t("status." ~ order.status)``: the prefix is checked with every value of its enum below.
    prefixes = {key for key in found if key.endswith(".")}
    assert prefixes == {"status.", "finding_status.", "severity.", "progress."}
    used = found - prefixes
    used |= {f"status.{s.value}" for s in OrderStatus}
    used |= {f"finding_status.{s.value}" for s in FindingStatus}
    used |= {f"severity.{s.value}" for s in Severity}
    used |= {f"progress.{p}" for p in PROGRESS}
    used |= set(CONFIRM_MESSAGES.values()) | {"sign_in.wrong", "sign_in.locked", "error.csrf"}
    used |= {f"error.{s}" for s in (400, 401, 403, 404, 409, 422, 429, 500, 503)}
    assert used - set(i18n.ZH) == set()


def test_the_language_is_asked_for_remembered_or_negotiated() -> None:
    from starlette.requests import Request

    def request(query: str = "", cookie: str = "", accept: str = "") -> Request:
        headers = [(b"accept-language", accept.encode())]
        if cookie:
            headers.append((b"cookie", f"{i18n.LANG_COOKIE}={cookie}".encode()))
        scope = {"type": "http", "query_string": query.encode(), "headers": headers}
        return Request(scope)

    assert i18n.negotiate(request()) == "zh"
    assert i18n.negotiate(request(accept="en-US,en;q=0.9")) == "en"
    assert i18n.negotiate(request(accept="fr, en;q=0.5, zh;q=0.8")) == "zh"
    assert i18n.negotiate(request(cookie="en", accept="zh-CN")) == "en"
    assert i18n.negotiate(request(query="lang=zh", cookie="en")) == "zh"
    assert i18n.negotiate(request(query="lang=xx", cookie="fr")) == "zh"
