"""Errors on console pages: a page (or, for an HTMX request, a fragment) in the visitor's
language instead of problem+json; no stack trace. An expired or missing session sends the
visitor to the sign-in form.

The API's handlers (``api.problems``) stay in charge: each is wrapped, and on a console path its
answer's status (and Retry-After) is rendered as HTML. The API's own answers are unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.web.access import PREFIX, CsrfRefused
from api.web.i18n import CATALOGS
from api.web.render import render

Handler = Callable[[Request, Any], Awaitable[Response] | Response]


class Refusal(Exception):
    """A console action refused with a message of the catalog (``key``, ``values``) and a
    status; raised after the unit of work has kept what must be kept."""

    def __init__(self, status: int, key: str, **values: Any) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.values = values


def is_console(request: Request) -> bool:
    """Whether the request is for a console page."""
    path: str = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def sign_in_redirect(request: Request) -> Response:
    """To the sign-in form (an HTMX request is told to go there itself)."""
    target = f"{PREFIX}/sign-in"
    if _is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def error_page(
    request: Request,
    status: int,
    key: str,
    values: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The error as a page, or as a fragment for HTMX."""
    template = "_error.html" if _is_htmx(request) else "error.html"
    context = {"status": status, "message_key": key, "message_values": values or {}}
    return render(request, template, context, status=status, headers=headers)


def _key_for(status: int) -> str:
    key = f"error.{status}"
    return key if key in CATALOGS["zh"] else "error.other"


def _wrap(original: Handler) -> Handler:
    async def handle(request: Request, exc: Any) -> Response:
        answer = original(request, exc)
        response = await answer if isinstance(answer, Awaitable) else answer
        if not is_console(request):
            return response
        status = response.status_code
        if status == 401:
            return sign_in_redirect(request)
        headers = {}
        if "retry-after" in response.headers:
            headers["Retry-After"] = response.headers["retry-after"]
        key = "error.csrf" if isinstance(exc, CsrfRefused) else _key_for(status)
        return error_page(request, status, key, headers=headers)

    return handle


async def _refusal(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refusal)
    headers = {}
    if "seconds" in exc.values:
        headers["Retry-After"] = str(exc.values["seconds"])
    return error_page(request, exc.status, exc.key, exc.values, headers)


def install(app: FastAPI) -> None:
    """Wrap the app's error handlers (install ``api.problems`` first)."""
    for kind, handler in list(app.exception_handlers.items()):
        app.exception_handlers[kind] = _wrap(handler)
    app.add_exception_handler(Refusal, _refusal)
