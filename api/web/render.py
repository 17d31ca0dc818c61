"""Rendering console pages: the templates, their filters and the headers every page carries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from api.web.access import CSRF_FIELD, PREFIX, PRESESSION_COOKIE, secure_cookies
from api.web.i18n import LANG_COOKIE, LANGS, Translator, negotiate
from core.timeutil import to_local

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
STATIC_DIR = HERE / "static"
YEAR_SECONDS = 365 * 24 * 3600
# Scripts and styles come from our own static folder only (htmx is vendored, no CDN).
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def yuan(fen: int) -> str:
    """Integer fen as yuan with two decimals (``-12.05``), never through a float."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def local_time(value: datetime | None) -> str:
    """``09:30`` in Asia/Shanghai (empty for none)."""
    return "" if value is None else to_local(value).strftime("%H:%M")


def local_datetime(value: datetime | None) -> str:
    """``2026-12-07 09:30`` in Asia/Shanghai (empty for none)."""
    return "" if value is None else to_local(value).strftime("%Y-%m-%d %H:%M")


TEMPLATES.env.filters["yuan"] = yuan
TEMPLATES.env.filters["local_time"] = local_time
TEMPLATES.env.filters["local_datetime"] = local_datetime


def _relative(url: URL) -> str:
    return f"{url.path}?{url.query}" if url.query else url.path


def switch_language_url(request: Request, lang: str) -> str:
    """This page in the other language (the start page after a POST)."""
    other = "en" if lang == "zh" else "zh"
    if request.method != "GET":  # the page answered a POST: go to a page that has a GET
        signed_in = getattr(request.state, "console_account", None) is not None
        return f"{PREFIX}/?lang={other}" if signed_in else f"{PREFIX}/sign-in?lang={other}"
    return _relative(request.url.include_query_params(lang=other))


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A template rendered in the request's language, with the session's CSRF token."""
    lang = negotiate(request)
    values: dict[str, Any] = {
        "lang": lang,
        "t": Translator(lang),
        "account": getattr(request.state, "console_account", None),
        "csrf": getattr(request.state, "console_csrf", ""),
        "csrf_field": CSRF_FIELD,
        "prefix": PREFIX,
        "switch_language": switch_language_url(request, lang),
        **(context or {}),
    }
    response = TEMPLATES.TemplateResponse(
        request, template, values, status_code=status, headers=dict(headers or {})
    )
    response.headers["Cache-Control"] = "no-store"  # the back button asks the server again
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    remember_language(request, response)
    presession = getattr(request.state, "console_new_presession", None)
    if presession:
        set_cookie(response, PRESESSION_COOKIE, presession, max_age=3600)
    return response


def remember_language(request: Request, response: Response) -> None:
    """Keep a language asked for with ``?lang=`` in a cookie."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        set_cookie(response, LANG_COOKIE, asked, max_age=YEAR_SECONDS)


def set_cookie(response: Response, name: str, value: str, *, max_age: int) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, for the console's paths, Secure in
    production."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(),
    )
