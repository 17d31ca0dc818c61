"""Visit queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from marketplace.visits.models import Visit, VisitEdit


def get(session: Session, visit_id: int) -> Visit | None:
    """The visit with this id."""
    return session.get(Visit, visit_id)


def get_for_order(session: Session, order_id: int) -> Visit | None:
    """The visit of an order, if one was opened."""
    return session.exec(select(Visit).where(Visit.order_id == order_id)).first()


def edits(session: Session, visit_id: int) -> Sequence[VisitEdit]:
    """A visit's edits, oldest first."""
    stmt = select(VisitEdit).where(VisitEdit.visit_id == visit_id).order_by(col(VisitEdit.id))
    return session.exec(stmt).all()


def for_orders(session: Session, order_ids: Sequence[int]) -> Sequence[Visit]:
    """The visits of these orders (those that have one)."""
    if not order_ids:
        return []
    stmt = select(Visit).where(col(Visit.order_id).in_(list(order_ids))).order_by(col(Visit.id))
    return session.exec(stmt).all()


def by_public_ids(session: Session, public_ids: Sequence[str]) -> Sequence[Visit]:
    """The visits with these public ids (unknown ids are left out), by id."""
    if not public_ids:
        return []
    stmt = select(Visit).where(col(Visit.public_id).in_(list(public_ids))).order_by(col(Visit.id))
    return session.exec(stmt).all()
