"""Locust users for the API load benchmark (``benchmarks/api_load.py`` starts everything).

Each user is a signed-in household that quotes (3 in 4 requests) and orders (1 in 4, with a
fresh Idempotency-Key) a cleaning for its member from one of the demo's cleaning firms.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from itertools import count
from typing import Any

from locust import HttpUser, constant, task

PEOPLE: list[dict[str, Any]] = json.loads(
    open(os.environ["LINLI_LOAD_PEOPLE"], encoding="utf-8").read()  # noqa: SIM115
)
_next = count()


class Household(HttpUser):
    """A household quoting and ordering as fast as the API answers."""

    wait_time = constant(0)

    def on_start(self) -> None:
        person = PEOPLE[next(_next) % len(PEOPLE)]
        self.member = person["member"]
        self.provider = person["provider"]
        self.day = person["day"]
        self.headers = {"Authorization": f"Bearer {person['token']}"}

    def _start(self) -> str:
        hour = random.choice(["09", "10", "14", "15"])
        return f"{self.day}T{hour}:00:00+08:00"

    @task(3)
    def quote(self) -> None:
        body = {
            "member": self.member,
            "provider": self.provider,
            "item": "domestic.cleaning",
            "start": self._start(),
            "minutes": random.choice([60, 90, 120]),
        }
        self.client.post("/quotes", json=body, headers=self.headers, name="POST /quotes")

    @task(1)
    def order(self) -> None:
        start = self._start()
        end = start.replace("T09:", "T12:").replace("T10:", "T13:")
        end = end.replace("T14:", "T17:").replace("T15:", "T18:")
        body = {
            "member": self.member,
            "provider": self.provider,
            "item": "domestic.cleaning",
            "service_date": self.day,
            "windows": [{"starts_at": start, "ends_at": end}],
            "duration_minutes": 120,
        }
        headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex}
        self.client.post("/orders", json=body, headers=headers, name="POST /orders")
