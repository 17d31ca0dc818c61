"""The Idempotency-Key of the routes that create something: the header, what a key is bound to,
and the answer a key got before.

A key is kept per account with a keyed hash of the request (method, path and canonical body)
and the answer it got. The same key with the same request gets that answer again (200); the
same key with another request is 409 (``accounts_service.remembered_answer``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header, Response
from pydantic import BaseModel
from sqlmodel import Session

from core.settings import get_settings
from marketplace.accounts import service as accounts_service
from marketplace.accounts.models import IdempotencyRecord, UserAccount

HEADER = "Idempotency-Key"


def _header(description: str) -> Any:
    return Header(alias=HEADER, min_length=8, max_length=100, description=description)


def key_header(thing: str) -> Any:
    """The Idempotency-Key header of a route that creates a ``thing`` (``Annotated[str, ...]``)."""
    return _header(f"a fresh random key per {thing}; resending it returns the same {thing}")


IdempotencyKey = Annotated[
    str, _header("a fresh random key per new object; resending it returns the same object")
]
"""The Idempotency-Key header of a route that creates an object."""


def replayed(
    description: str = "The object this Idempotency-Key created before",
    model: type[BaseModel] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses=`` entry of the 200 a key sent again is answered with."""
    entry: dict[str, Any] = {"description": description}
    if model is not None:
        entry = {"model": model, **entry}
    return {200: entry}


def request_hash(method: str, path: str, body: BaseModel | dict[str, Any]) -> str:
    """What an Idempotency-Key is bound to: the request line and the canonical body, through a
    keyed hash (a body may hold an ID number, whose few possible values a plain hash would give
    away)."""
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    key = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(key, f"{method} {path}\n{canonical}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Idempotent:
    """A request sent with an Idempotency-Key by an account, and the hash the key is bound to."""

    session: Session
    account: UserAccount
    key: str
    digest: str

    @classmethod
    def of(
        cls,
        session: Session,
        account: UserAccount,
        key: str,
        method: str,
        path: str,
        body: BaseModel | dict[str, Any],
    ) -> Idempotent:
        """The request ``method path`` with ``body``, sent with ``key``."""
        return cls(session, account, key, request_hash(method, path, body))

    def known(self) -> IdempotencyRecord | None:
        """What the key was answered before, None for a new key; Conflict (409) if the key came
        with another request."""
        return accounts_service.remembered_answer(self.session, self.account, self.key, self.digest)

    def replay(self, response: Response) -> Any | None:
        """The answer the key got before (answered 200), None for a new key; Conflict (409) if
        the key came with another request."""
        known = self.known()
        if known is None:
            return None
        response.status_code = 200
        return known.response

    def remember(self, answer: BaseModel | dict[str, object], status_code: int = 201) -> None:
        """Keep the answer for the key (in the request's transaction)."""
        shown = answer.model_dump(mode="json") if isinstance(answer, BaseModel) else answer
        accounts_service.remember_answer(
            self.session, self.account, self.key, self.digest, status_code, shown
        )
