"""A limit on request bodies: larger ones are refused with 413 problem+json before they fill the
server's memory, whether they announce their length or stream it in chunks."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response
from core.settings import get_settings


class BodyLimit:
    """ASGI middleware refusing request bodies over ``LINLI_MAX_BODY_BYTES``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = get_settings().max_body_bytes
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            text = declared.decode("latin-1").strip()
            if not text.isdigit():
                await _refuse(scope, receive, send, 400, "Content-Length is not a number")
                return
            if int(text) > limit:
                await _refuse(scope, receive, send, 413, _too_large(limit))
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Raised inside the body read: FastAPI passes HTTPException through, and
                    # the problem handlers answer it.
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, counted, send)


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    titles = {400: "Bad request", 413: "Content too large"}
    response = problem_response(
        Request(scope), status, f"http-{status}", titles[status], detail, {"Connection": "close"}
    )
    await response(scope, receive, send)
