"""The rows a page of responses refers to (members, providers, workers, items, areas), loaded
a kind at a time for the whole page, so a page costs the same number of queries whatever its
length."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import TypeVar

from sqlmodel import Session

from core.errors import NotFound
from marketplace.catalog import repository as catalog_repo
from marketplace.catalog.models import Item
from marketplace.geography import repository as geography_repo
from marketplace.geography.models import Area
from marketplace.households import repository as households_repo
from marketplace.households.models import Member
from marketplace.providers import repository as providers_repo
from marketplace.providers.models import Provider, Worker

R = TypeVar("R")
Loader = Callable[[Session, Collection[int]], dict[int, R]]


def _areas_by_id(session: Session, area_ids: Collection[int]) -> dict[int, Area]:
    return {a.id: a for a in geography_repo.get_many(session, list(area_ids)) if a.id is not None}


class Names:
    """Rows a page refers to, by id: ``need`` loads a page's worth in one query per kind; a row
    asked for later without being needed is looked up then (NotFound if it does not exist)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._members: dict[int, Member] = {}
        self._providers: dict[int, Provider] = {}
        self._workers: dict[int, Worker] = {}
        self._items: dict[int, Item] = {}
        self._areas: dict[int, Area] = {}

    def need(
        self,
        *,
        members: Iterable[int] = (),
        providers: Iterable[int] = (),
        workers: Iterable[int | None] = (),
        items: Iterable[int] = (),
        areas: Iterable[int] = (),
    ) -> Names:
        """Load the rows with these ids that are not loaded yet (None ids are skipped)."""
        self._load(self._members, households_repo.members_by_id, members)
        self._load(self._providers, providers_repo.by_id, providers)
        self._load(self._workers, providers_repo.workers_by_id, workers)
        self._load(self._items, catalog_repo.items_by_id, items)
        self._load(self._areas, _areas_by_id, areas)
        return self

    def _load(self, found: dict[int, R], loader: Loader[R], ids: Iterable[int | None]) -> None:
        wanted = {i for i in ids if i is not None and i not in found}
        if wanted:
            found.update(loader(self.session, wanted))

    def _one(self, found: dict[int, R], loader: Loader[R], row_id: int, what: str) -> R:
        if row_id not in found:
            self._load(found, loader, (row_id,))
        if row_id not in found:
            raise NotFound(f"{what} {row_id} does not exist")
        return found[row_id]

    def member(self, member_id: int) -> str:
        """The member's public id."""
        return self._one(
            self._members, households_repo.members_by_id, member_id, "member"
        ).public_id

    def provider(self, provider_id: int) -> str:
        """The provider's public id."""
        return self._one(self._providers, providers_repo.by_id, provider_id, "provider").public_id

    def worker(self, worker_id: int | None) -> str | None:
        """The worker's public id (None for no worker)."""
        if worker_id is None:
            return None
        return self._one(self._workers, providers_repo.workers_by_id, worker_id, "worker").public_id

    def item_row(self, item_id: int) -> Item:
        """The catalog item."""
        return self._one(self._items, catalog_repo.items_by_id, item_id, "item")

    def item(self, item_id: int) -> str:
        """The catalog item's code."""
        return self.item_row(item_id).code

    def area(self, area_id: int) -> Area | None:
        """The area, None if it does not exist."""
        if area_id not in self._areas:
            self._load(self._areas, _areas_by_id, (area_id,))
        return self._areas.get(area_id)
