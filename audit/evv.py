"""Electronic visit verification: is each visit's record complete and credible?

A visit is *verified* when the six elements (service, recipient, date, location, worker, start
and end) are recorded with a capture method for each end, and the evidence puts the worker at
the home; *verified after edit* when it is otherwise verified but someone changed the record by
hand; an *exception* otherwise, with the reasons. EVV compliance of a provider is the share of
its visits verified without a manual edit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from audit.facts import Thresholds, VisitFact
from core.geo import Point, haversine_m

# Methods that are evidence of presence at the home by themselves: a QR code fixed in the home,
# a call from the household's registered phone.
AT_HOME_METHODS = frozenset({"qr", "phone"})
MANUAL = "manual"


class EvvStatus(StrEnum):
    """The verdict on one visit."""

    VERIFIED = "verified"
    VERIFIED_AFTER_EDIT = "verified_after_edit"
    EXCEPTION = "exception"


@dataclass(frozen=True, slots=True)
class EvvResult:
    """A visit's verdict and, for an exception, why."""

    visit_ref: str
    provider_id: int
    status: EvvStatus
    reasons: tuple[str, ...] = ()


def _located(
    method: str | None, lat: float | None, lon: float | None, v: VisitFact, radius: int
) -> str | None:
    """Why this end of the visit does not put the worker at the home (None: it does)."""
    if method is None:
        return "no capture method"
    if method in AT_HOME_METHODS:
        return None
    if method == MANUAL:
        return None  # judged as an edit, not as a location
    if lat is None or lon is None:
        return "GPS without coordinates"
    try:
        distance = haversine_m(Point(v.home_lat, v.home_lon), Point(lat, lon))
    except ValueError:
        return "coordinates out of range"
    return None if distance <= radius else f"{distance} m from the home"


def verify(v: VisitFact, thresholds: Thresholds | None = None) -> EvvResult:
    """The EVV verdict on one visit."""
    radius = (thresholds or Thresholds()).location_radius_m
    reasons: list[str] = []
    if not v.item_code:
        reasons.append("service missing")
    if v.member_id <= 0:
        reasons.append("recipient missing")
    if v.worker_id <= 0:
        reasons.append("worker missing")
    if v.check_in_at is None:
        reasons.append("check-in missing")
    if v.check_out_at is None:
        reasons.append("check-out missing")
    if v.check_in_at is not None and v.check_out_at is not None and v.check_out_at <= v.check_in_at:
        reasons.append("check-out not after check-in")
    for end, method, lat, lon, at in (
        ("check-in", v.check_in_method, v.check_in_lat, v.check_in_lon, v.check_in_at),
        ("check-out", v.check_out_method, v.check_out_lat, v.check_out_lon, v.check_out_at),
    ):
        if at is None:
            continue
        problem = _located(method, lat, lon, v, radius)
        if problem is not None:
            reasons.append(f"{end}: {problem}")
    edited = bool(v.edits) or MANUAL in (v.check_in_method, v.check_out_method)
    if reasons:
        status = EvvStatus.EXCEPTION
    elif edited:
        status = EvvStatus.VERIFIED_AFTER_EDIT
    else:
        status = EvvStatus.VERIFIED
    return EvvResult(v.visit_ref, v.provider_id, status, tuple(reasons))


@dataclass(frozen=True, slots=True)
class Compliance:
    """A provider's EVV figures for a set of visits."""

    provider_id: int
    visits: int
    verified: int
    verified_after_edit: int
    exceptions: int

    @property
    def rate(self) -> float:
        """Share of visits verified without a manual edit (1.0 with no visits)."""
        return self.verified / self.visits if self.visits else 1.0


def compliance(results: Iterable[EvvResult]) -> list[Compliance]:
    """EVV compliance per provider, by provider id."""
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    index = {
        EvvStatus.VERIFIED: 1,
        EvvStatus.VERIFIED_AFTER_EDIT: 2,
        EvvStatus.EXCEPTION: 3,
    }
    for result in results:
        row = counts[result.provider_id]
        row[0] += 1
        row[index[result.status]] += 1
    return [Compliance(provider, c[0], c[1], c[2], c[3]) for provider, c in sorted(counts.items())]
