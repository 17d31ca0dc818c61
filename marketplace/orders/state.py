"""The order state machine: which event moves which status to which."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from core.errors import InvalidState
from marketplace.orders.models import OrderStatus as S


class OrderEvent(StrEnum):
    """Everything that can happen to an order."""

    CREATE = "create"
    CONFIRM = "confirm"
    SCHEDULE = "schedule"
    UNSCHEDULE = "unschedule"
    DEPART = "depart"
    CHECK_IN = "check_in"
    COMPLETE = "complete"
    SETTLE = "settle"
    CANCEL = "cancel"
    NO_SHOW = "no_show"
    RESCHEDULE = "reschedule"


TRANSITIONS: Final[dict[OrderEvent, tuple[frozenset[S], S]]] = {
    OrderEvent.CONFIRM: (frozenset({S.REQUESTED}), S.CONFIRMED),
    OrderEvent.SCHEDULE: (frozenset({S.CONFIRMED}), S.SCHEDULED),
    OrderEvent.UNSCHEDULE: (frozenset({S.SCHEDULED}), S.CONFIRMED),
    OrderEvent.DEPART: (frozenset({S.SCHEDULED}), S.EN_ROUTE),
    OrderEvent.CHECK_IN: (frozenset({S.SCHEDULED, S.EN_ROUTE}), S.IN_SERVICE),
    OrderEvent.COMPLETE: (frozenset({S.IN_SERVICE}), S.COMPLETED),
    OrderEvent.SETTLE: (frozenset({S.COMPLETED}), S.SETTLED),
    OrderEvent.CANCEL: (
        frozenset({S.REQUESTED, S.CONFIRMED, S.SCHEDULED, S.EN_ROUTE}),
        S.CANCELLED,
    ),
    OrderEvent.NO_SHOW: (frozenset({S.SCHEDULED, S.EN_ROUTE}), S.NO_SHOW),
    # A rescheduled order gets new windows and goes back to be planned again.
    OrderEvent.RESCHEDULE: (frozenset({S.REQUESTED, S.CONFIRMED, S.SCHEDULED}), S.CONFIRMED),
}

TERMINAL: Final[frozenset[S]] = frozenset({S.SETTLED, S.CANCELLED, S.NO_SHOW})


def target(current: S | str, event: OrderEvent) -> S:
    """The status ``event`` leads to from ``current``, or InvalidState if it is not allowed."""
    allowed, to = TRANSITIONS[event]
    status = S(current)
    if status not in allowed:
        raise InvalidState(
            f"cannot {event.value} an order that is {status.value}",
            current=status.value,
            event=event.value,
            allowed_from=sorted(s.value for s in allowed),
        )
    if event is OrderEvent.RESCHEDULE and status is S.REQUESTED:
        return S.REQUESTED
    return to


def events_from(current: S | str) -> list[OrderEvent]:
    """Events allowed from a status (for UIs and tests)."""
    status = S(current)
    return [event for event, (allowed, _) in TRANSITIONS.items() if status in allowed]
