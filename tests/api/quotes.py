"""The quote several HTTP tests ask for."""

from __future__ import annotations

from typing import Any, Protocol

from tests.api.accounts import SignedIn, as_


class QuotingWorld(SignedIn, Protocol):
    """A test's world with a household (``tokens["household"]``), its member and a provider."""

    @property
    def member(self) -> str: ...

    @property
    def provider(self) -> str: ...


def quote_cleaning(world: QuotingWorld) -> dict[str, Any]:
    """The household's quote for two hours of domestic cleaning for the world's member from the
    world's provider, on 2026-12-07 from 09:00 (answered 200)."""
    quoted = world.client.post(
        "/quotes",
        json={
            "member": world.member,
            "provider": world.provider,
            "item": "domestic.cleaning",
            "start": "2026-12-07T09:00:00+08:00",
            "minutes": 120,
        },
        headers=as_(world, "household"),
    )
    assert quoted.status_code == 200, quoted.text
    body: dict[str, Any] = quoted.json()
    return body
