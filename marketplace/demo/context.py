"""What every seeding step shares: the session, the seeded generators, the clock and progress."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from faker import Faker
from sqlmodel import Session
from tqdm import tqdm

from core.ids import new_public_id
from core.timeutil import local_datetime
from marketplace.demo import fuzhou


@dataclass
class DemoContext:
    """Seeded randomness and a clock derived from the demo week's first day.

    Everything the demo writes comes from ``rng`` and ``fake`` (both seeded) and from
    ``start``; nothing reads the wall clock, so the same seed gives the same rows.
    """

    session: Session
    rng: random.Random
    fake: Faker
    start: date
    bar: tqdm[Any] | None = None
    seed: int = 0
    _surnames: list[str] = field(default_factory=list)
    _surname_weights: list[int] = field(default_factory=list)
    _estimates: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._surnames = [name for name, _ in fuzhou.SURNAMES]
        self._surname_weights = [weight for _, weight in fuzhou.SURNAMES]

    def side_rng(self, purpose: str) -> random.Random:
        """A generator of its own for a later addition to the demo, seeded from the demo's seed,
        so drawing from it leaves every row the main generator makes as it was."""
        return random.Random(f"{self.seed}:{purpose}")

    # --- time ----------------------------------------------------------------------------

    @property
    def end(self) -> date:
        """The last day of the demo week."""
        return self.start + timedelta(days=6)

    @property
    def week(self) -> list[date]:
        """The seven days of the demo week."""
        return [self.start + timedelta(days=i) for i in range(7)]

    @property
    def snapshot(self) -> datetime:
        """The moment the demo city is a picture of: the start of the week's first day."""
        return self.at(self.start, time(0, 0))

    def at(self, day: date, clock: time) -> datetime:
        """A local (Asia/Shanghai) wall-clock time on ``day``, as an aware UTC datetime."""
        return local_datetime(day, clock).astimezone(UTC)

    def office_time(self, day: date) -> datetime:
        """A random moment in office hours (08:30–17:30) on ``day``."""
        minutes = self.rng.randint(8 * 60 + 30, 17 * 60 + 30)
        return self.at(day, time(minutes // 60, minutes % 60))

    def days_before(self, low: int, high: int) -> date:
        """A day between ``low`` and ``high`` days before the demo week starts."""
        return self.start - timedelta(days=self.rng.randint(low, high))

    def moment_between(self, earliest: datetime, latest: datetime) -> datetime:
        """A whole-minute moment in [earliest, latest] (``earliest`` if the range is empty)."""
        span = int((latest - earliest).total_seconds() // 60)
        if span <= 0:
            return earliest
        return earliest + timedelta(minutes=self.rng.randint(0, span))

    # --- identities ----------------------------------------------------------------------

    def public_id(self, prefix: str) -> str:
        """A public id from the seeded generator (reproducible; production ids use the OS)."""
        return new_public_id(prefix, self.rng)

    def surname(self) -> str:
        """A surname, weighted as in Fuzhou."""
        return self.rng.choices(self._surnames, weights=self._surname_weights)[0]

    def given_name(self, gender: str) -> str:
        """A given name of one or two characters."""
        first = self.fake.first_name_male() if gender == "male" else self.fake.first_name_female()
        if len(first) == 1 and self.rng.random() < 0.55:
            second = (
                self.fake.first_name_male() if gender == "male" else self.fake.first_name_female()
            )
            first += second[0]
        return str(first)

    def person_name(self, gender: str, surname: str | None = None) -> str:
        """A full name: surname then given name."""
        return (surname or self.surname()) + self.given_name(gender)

    def mobile(self) -> str:
        """An 11-digit mobile number."""
        return str(self.fake.phone_number())

    def landline(self) -> str:
        """A Fuzhou (0591) landline number."""
        return f"0591-{self.rng.choice('2368')}{self.rng.randrange(10**7):07d}"

    # --- progress ------------------------------------------------------------------------

    def plan(self, estimates: dict[str, int]) -> None:
        """Announce the phases to come with their estimated steps, so the bar's total is right
        from the start."""
        self._estimates = dict(estimates)
        if self.bar is not None:
            self.bar.total = sum(self._estimates.values())
            self.bar.refresh()

    def phase(self, name: str, steps: int) -> None:
        """Start a named phase of ``steps`` steps on the progress bar."""
        self._estimates.pop(name, None)
        if self.bar is not None:
            self.bar.set_description(name)
            self.bar.total = self.bar.n + steps + sum(self._estimates.values())
            self.bar.refresh()

    def tick(self, steps: int = 1) -> None:
        """Advance the progress bar."""
        if self.bar is not None:
            self.bar.update(steps)
