"""Throttles shared by every API process: at most ``limit`` counted events of a key within a
sliding window (wrong confirmation codes of a visit, registrations from one client).

The events live in the database, so the limit holds across processes; the caller commits a
counted event even when its request then fails, as the sign-in rate limit does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from core.errors import TooManyRequests
from marketplace.accounts import repository as repo
from marketplace.accounts.models import RateEvent


@dataclass(frozen=True, slots=True)
class Throttle:
    """A limit of ``limit`` events per ``window`` for keys starting with ``prefix``."""

    prefix: str
    limit: int
    window: timedelta
    what: str  # says what was refused, for the error message

    def key(self, subject: str) -> str:
        """The key of this throttle for one subject (a visit, a client address)."""
        return f"{self.prefix}:{subject}"[:120]

    def check(self, session: Session, subject: str, *, now: datetime) -> None:
        """TooManyRequests, with the seconds to wait, when the subject is at its limit."""
        count, oldest = repo.events_since(session, self.key(subject), now - self.window)
        if count < self.limit:
            return
        first = oldest or now
        wait = max(int((first + self.window - now).total_seconds()) + 1, 1)
        raise TooManyRequests(f"{self.what}; try again in {wait} s", retry_after=wait)

    def count(self, session: Session, subject: str, *, now: datetime) -> None:
        """Count one event of the subject."""
        session.add(RateEvent(key=self.key(subject), at=now))
        session.flush()


# A one-time code has a million values: five wrong tries per quarter hour make guessing it
# take years, and a household that mistypes can still try again soon.
WRONG_CODES = Throttle(
    "visit-code", 5, timedelta(minutes=15), "too many wrong confirmation codes for this visit"
)
# Sign-ups from one client address (a whole community centre may share one).
REGISTRATIONS = Throttle(
    "register", 20, timedelta(hours=1), "too many registrations from this address"
)
