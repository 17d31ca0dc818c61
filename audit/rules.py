"""Anomaly rules: pure functions from one month's facts to findings.

Each rule is one module-level function ``rule(facts: MonthFacts) -> list[Hit]`` whose name is
the rule code (``Hit.rule``). ``RULES`` registers them with their titles and default severity;
``run_all`` runs all of them (or a chosen few) in registry order.

Conventions shared by the rules:

* A rule reads only the facts and ``facts.thresholds``; it never touches the database.
* "Completed visit" means every visit in ``facts.visits``.
* Per-visit rules report in ``facts.visits`` order; grouped rules report in sorted subject order,
  so the same month always gives the same list.
* Evidence holds JSON values only (str, int, float, bool, list, dict, None); instants are ISO
  strings, minutes are rounded to 0.1.
* Work is grouped by person, member or provider first, then sorted and swept: no rule compares
  every pair of visits of the month.
"""

from __future__ import annotations

import inspect
import math
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from types import MappingProxyType
from zoneinfo import ZoneInfo

from audit.facts import (
    CertificateFact,
    Hit,
    MemberFact,
    MonthFacts,
    PeriodFact,
    Severity,
    SubjectKind,
    VisitFact,
)
from core.geo import Point, haversine_m

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# Period kinds (marketplace.households.models.PeriodKind), group and check-method values, kept
# as plain strings: this module imports nothing above ``core.geo``.
HOSPITAL = "hospital"
DECEASED = "deceased"
MOVED_AWAY = "moved_away"
AGE80 = "age80"
AGE80_YEARS = 80
MANUAL = "manual"

# Robust z-score constants: MAD/0.6745 and 1.253314·(mean absolute deviation) both estimate the
# standard deviation of normal data (Iglewicz & Hoaglin; the second is the fallback when MAD = 0).
MAD_SCALE = 0.6745
MEAN_AD_SCALE = 1.253314
# The smallest spread a measure may have, relative to its median: keeps float noise from ever
# becoming an "outlier" when all providers are (almost) equal.
SPREAD_FLOOR = 1e-9


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One registered rule: its code, function, titles, default severity and description."""

    code: str
    function: Callable[[MonthFacts], list[Hit]]
    title: str
    title_zh: str
    severity: Severity
    description: str


# -- helpers -------------------------------------------------------------------------------------


def _point(lat: float | None, lon: float | None) -> Point | None:
    """A coordinate, or None when absent or not a place on Earth (out of range, NaN)."""
    if lat is None or lon is None:
        return None
    try:
        return Point(lat, lon)
    except ValueError:
        return None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _minutes(seconds: float) -> float:
    return round(seconds / 60, 1)


def _local_date(value: datetime) -> date:
    return value.astimezone(LOCAL_TZ).date()


def _age_on(birth_date: date, day: date) -> int:
    """Whole years on ``day`` (a 29 February birthday falls on 1 March in other years)."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def _median(sorted_values: Sequence[float]) -> float:
    n = len(sorted_values)
    mid = n // 2
    if n % 2:
        return float(sorted_values[mid])
    return (sorted_values[mid - 1] + sorted_values[mid]) / 2


def _median_without(sorted_values: Sequence[float], index: int) -> float | None:
    """The median of ``sorted_values`` with the element at ``index`` left out (None if empty)."""
    n = len(sorted_values) - 1
    if n == 0:
        return None

    def at(k: int) -> float:
        return sorted_values[k if k < index else k + 1]

    mid = n // 2
    if n % 2:
        return float(at(mid))
    return (at(mid - 1) + at(mid)) / 2


def _refs(visits: Iterable[VisitFact]) -> tuple[str, ...]:
    """Public ids in first-seen order, without repeats."""
    return tuple(dict.fromkeys(v.visit_ref for v in visits))


def _worker_day(person_key: str, day: date) -> str:
    return f"{person_key}:{day.isoformat()}"


def _timed(facts: MonthFacts) -> dict[str, list[tuple[datetime, datetime, VisitFact]]]:
    """Visits with both check times, as (check-in, check-out, visit), by person."""
    by_person: dict[str, list[tuple[datetime, datetime, VisitFact]]] = defaultdict(list)
    for v in facts.visits:
        if v.check_in_at is not None and v.check_out_at is not None:
            by_person[v.person_key].append((v.check_in_at, v.check_out_at, v))
    for timed in by_person.values():
        timed.sort(key=lambda t: (t[0], t[1], t[2].visit_ref))
    return by_person


# -- 1. missing check ----------------------------------------------------------------------------


def missing_check(facts: MonthFacts) -> list[Hit]:
    """A completed visit without a check-in or a check-out time.

    High when public money paid for the visit, medium otherwise.
    """
    hits: list[Hit] = []
    for v in facts.visits:
        if v.check_in_at is not None and v.check_out_at is not None:
            continue
        missing = [
            name
            for name, at in (("check_in", v.check_in_at), ("check_out", v.check_out_at))
            if at is None
        ]
        hits.append(
            Hit(
                rule="missing_check",
                subject_kind=SubjectKind.VISIT,
                subject=v.visit_ref,
                severity=Severity.HIGH if v.subsidised else Severity.MEDIUM,
                summary=f"visit {v.visit_ref} has no {' or '.join(missing)} time"
                + (f" (subsidy {v.subsidy_fen} fen)" if v.subsidised else ""),
                evidence={
                    "missing": missing,
                    "check_in_at": _iso(v.check_in_at),
                    "check_out_at": _iso(v.check_out_at),
                    "subsidy_fen": v.subsidy_fen,
                    "billed_minutes": v.billed_minutes,
                },
                visit_refs=(v.visit_ref,),
            )
        )
    return hits


# -- 2. far location -----------------------------------------------------------------------------


def far_location(facts: MonthFacts) -> list[Hit]:
    """A check-in or check-out recorded farther than ``location_radius_m`` from the home.

    Only recorded coordinates are judged (absent ones are not). Coordinates that are present
    but are no place on Earth (out of range, NaN) count as far: they cannot be the home. A home
    without a valid coordinate cannot be judged and is skipped.
    """
    radius = facts.thresholds.location_radius_m
    hits: list[Hit] = []
    for v in facts.visits:
        ends = (
            ("check_in", v.check_in_lat, v.check_in_lon),
            ("check_out", v.check_out_lat, v.check_out_lon),
        )
        if all(lat is None or lon is None for _, lat, lon in ends):
            continue
        home = _point(v.home_lat, v.home_lon)
        if home is None:
            continue
        distances: dict[str, int | None] = {}
        far: list[str] = []
        invalid: list[str] = []
        for name, lat, lon in ends:
            if lat is None or lon is None:
                distances[name] = None
                continue
            at = _point(lat, lon)
            if at is None:
                distances[name] = None
                invalid.append(name)
                far.append(name)
                continue
            distance = haversine_m(home, at)
            distances[name] = distance
            if distance > radius:
                far.append(name)
        if not far:
            continue
        shown = ", ".join(
            f"{name.replace('_', '-')} "
            + ("invalid" if distances[name] is None else f"{distances[name]} m")
            for name in far
        )
        hits.append(
            Hit(
                rule="far_location",
                subject_kind=SubjectKind.VISIT,
                subject=v.visit_ref,
                severity=Severity.MEDIUM,
                summary=f"visit {v.visit_ref}: {shown} from home (limit {radius} m)",
                evidence={
                    "check_in_distance_m": distances["check_in"],
                    "check_out_distance_m": distances["check_out"],
                    "radius_m": radius,
                    "invalid_coordinates": invalid,
                    "check_in_method": v.check_in_method,
                    "check_out_method": v.check_out_method,
                },
                visit_refs=(v.visit_ref,),
            )
        )
    return hits


# -- 3. other worker -----------------------------------------------------------------------------


def other_worker(facts: MonthFacts) -> list[Hit]:
    """A visit done by someone other than the worker dispatch booked (when that is known)."""
    hits: list[Hit] = []
    for v in facts.visits:
        if v.scheduled_worker_id is None or v.scheduled_worker_id == v.worker_id:
            continue
        hits.append(
            Hit(
                rule="other_worker",
                subject_kind=SubjectKind.VISIT,
                subject=v.visit_ref,
                severity=Severity.MEDIUM,
                summary=f"visit {v.visit_ref} booked for worker {v.scheduled_worker_id}"
                f" but done by worker {v.worker_id}",
                evidence={
                    "scheduled_worker_id": v.scheduled_worker_id,
                    "worker_id": v.worker_id,
                    "person_key": v.person_key,
                    "provider_id": v.provider_id,
                },
                visit_refs=(v.visit_ref,),
            )
        )
    return hits


# -- 4. overlap ----------------------------------------------------------------------------------


def overlap(facts: MonthFacts) -> list[Hit]:
    """One person in two visits at once: their [check-in, check-out) intervals overlap.

    Only visits with both check times and a positive duration take part (a missing time is
    ``missing_check``'s finding; touching intervals do not overlap). Visits are grouped by
    person (``person_key``, so across providers), sorted by check-in and swept once, keeping the
    visit that ends last: a visit starting before that end overlaps it. Every visit that
    overlaps any other is found this way. One hit per person and day; a pair is filed under the
    service date of the later-starting visit (so a late visit crossing midnight still counts).
    ``pairs`` in the evidence are the pairs the sweep saw (each visit with the open visit that
    ends last), not necessarily every overlapping pair.
    """
    by_day: dict[tuple[str, date], list[tuple[VisitFact, VisitFact, float]]] = defaultdict(list)
    for person, timed in _timed(facts).items():
        last: tuple[datetime, VisitFact] | None = None  # the visit so far that ends last
        for start, end, v in timed:
            if end <= start:
                continue
            if last is not None and start < last[0]:
                seconds = (min(end, last[0]) - start).total_seconds()
                by_day[(person, v.service_date)].append((last[1], v, seconds))
            if last is None or end > last[0]:
                last = (end, v)
    hits: list[Hit] = []
    for (person, day), pairs in sorted(by_day.items(), key=lambda item: item[0]):
        involved = _refs(v for pair in pairs for v in pair[:2])
        longest = max(seconds for _, _, seconds in pairs)
        providers = sorted({v.provider_id for pair in pairs for v in pair[:2]})
        hits.append(
            Hit(
                rule="overlap",
                subject_kind=SubjectKind.WORKER_DAY,
                subject=_worker_day(person, day),
                severity=Severity.HIGH,
                summary=f"{person} on {day.isoformat()}: {len(involved)} visits overlap"
                f" (longest overlap {_minutes(longest)} min)",
                evidence={
                    "person_key": person,
                    "date": day.isoformat(),
                    "pairs": [[a.visit_ref, b.visit_ref, _minutes(s)] for a, b, s in pairs],
                    "longest_overlap_min": _minutes(longest),
                    "provider_ids": providers,
                },
                visit_refs=involved,
            )
        )
    return hits


# -- 5. impossible travel ------------------------------------------------------------------------


def impossible_travel(facts: MonthFacts) -> list[Hit]:
    """Consecutive visits of one person too far apart for the time between them.

    A person's visits with both check times are ordered by check-in (across the month, so a
    pair around midnight is seen too). For each visit and the one before it, the distance from
    where the earlier visit checked out (its check-out coordinates, else its home) to where the
    later one checked in (its check-in coordinates, else its home) must be coverable at
    ``max_speed_kmh`` within the gap plus ``travel_slack_s``. Visits without coordinates still
    take part: a QR or phone check-in proves the home, and a manual one claims it. Overlapping
    pairs (negative gap) are ``overlap``'s finding and skipped here. One hit per person and day
    (the later visit's service date); ``visit_refs`` holds both visits of each offending leg.
    """
    speed_m_per_s = facts.thresholds.max_speed_kmh / 3.6
    slack = facts.thresholds.travel_slack_s
    by_day: dict[tuple[str, date], list[tuple[VisitFact, VisitFact, int, float, float]]] = (
        defaultdict(list)
    )
    for person, timed in _timed(facts).items():
        for (_, prev_end, prev), (start, _, nxt) in pairwise(timed):
            gap = (start - prev_end).total_seconds()
            if gap < 0:
                continue
            origin = _point(prev.check_out_lat, prev.check_out_lon) or _point(
                prev.home_lat, prev.home_lon
            )
            target = _point(nxt.check_in_lat, nxt.check_in_lon) or _point(
                nxt.home_lat, nxt.home_lon
            )
            if origin is None or target is None:
                continue
            distance = haversine_m(origin, target)
            allowed = speed_m_per_s * (gap + slack)
            if distance > allowed:
                by_day[(person, nxt.service_date)].append((prev, nxt, distance, gap, allowed))
    hits: list[Hit] = []
    for (person, day), legs in sorted(by_day.items(), key=lambda item: item[0]):
        worst = max(legs, key=lambda leg: leg[2] / (leg[3] + slack))
        hits.append(
            Hit(
                rule="impossible_travel",
                subject_kind=SubjectKind.WORKER_DAY,
                subject=_worker_day(person, day),
                severity=Severity.HIGH,
                summary=f"{person} on {day.isoformat()}: {len(legs)} leg(s) faster than"
                f" {facts.thresholds.max_speed_kmh:g} km/h (worst {worst[2] / 1000:.1f} km"
                f" in {_minutes(worst[3])} min)",
                evidence={
                    "person_key": person,
                    "date": day.isoformat(),
                    "max_speed_kmh": facts.thresholds.max_speed_kmh,
                    "travel_slack_s": slack,
                    "legs": [
                        {
                            "from": a.visit_ref,
                            "to": b.visit_ref,
                            "distance_m": distance,
                            "gap_s": round(gap),
                            "allowed_m": round(allowed),
                            "speed_kmh": round(distance / gap * 3.6, 1) if gap > 0 else None,
                        }
                        for a, b, distance, gap, allowed in legs
                    ],
                },
                visit_refs=_refs(v for leg in legs for v in leg[:2]),
            )
        )
    return hits


# -- 6. duration mismatch ------------------------------------------------------------------------


def duration_mismatch(facts: MonthFacts) -> list[Hit]:
    """Checked-in time far from the planned duration, relatively and absolutely.

    Actual minutes are check-out minus check-in; planned minutes are the scheduled end minus
    start, else the billed minutes. A hit needs both a ratio outside
    [``duration_low_ratio``, ``duration_high_ratio``] and an absolute difference of at least
    ``duration_min_difference_min`` minutes. A planned duration of zero or less has no ratio
    and is judged by the difference alone. Visits missing a check time are skipped.
    """
    th = facts.thresholds
    hits: list[Hit] = []
    for v in facts.visits:
        if v.check_in_at is None or v.check_out_at is None:
            continue
        actual = (v.check_out_at - v.check_in_at).total_seconds() / 60
        if v.scheduled_start is not None and v.scheduled_end is not None:
            planned = (v.scheduled_end - v.scheduled_start).total_seconds() / 60
            basis = "schedule"
        else:
            planned = float(v.billed_minutes)
            basis = "billed"
        difference = abs(actual - planned)
        if difference < th.duration_min_difference_min:
            continue
        ratio = actual / planned if planned > 0 else None
        if ratio is not None and th.duration_low_ratio <= ratio <= th.duration_high_ratio:
            continue
        hits.append(
            Hit(
                rule="duration_mismatch",
                subject_kind=SubjectKind.VISIT,
                subject=v.visit_ref,
                severity=Severity.MEDIUM,
                summary=f"visit {v.visit_ref}: {round(actual, 1)} min checked in vs"
                f" {round(planned, 1)} min planned ({basis})",
                evidence={
                    "actual_minutes": round(actual, 1),
                    "planned_minutes": round(planned, 1),
                    "basis": basis,
                    "ratio": None if ratio is None else round(ratio, 3),
                    "difference_minutes": round(difference, 1),
                    "billed_minutes": v.billed_minutes,
                },
                visit_refs=(v.visit_ref,),
            )
        )
    return hits


# -- 7. over 24 h --------------------------------------------------------------------------------


def over_24h(facts: MonthFacts) -> list[Hit]:
    """More billed minutes in one day than a day has, per person or per member.

    Sums ``billed_minutes`` of all the day's visits (by service date) per person and per member;
    a hit when the sum exceeds ``max_minutes_per_day``. Worker days come first, then member
    days, each sorted.
    """
    limit = facts.thresholds.max_minutes_per_day
    by_person: dict[tuple[str, date], list[VisitFact]] = defaultdict(list)
    by_member: dict[tuple[int, date], list[VisitFact]] = defaultdict(list)
    for v in facts.visits:
        by_person[(v.person_key, v.service_date)].append(v)
        by_member[(v.member_id, v.service_date)].append(v)
    hits: list[Hit] = []
    groups: list[tuple[SubjectKind, str, str, list[VisitFact]]] = []
    for (person, day), visits in sorted(by_person.items(), key=lambda item: item[0]):
        groups.append((SubjectKind.WORKER_DAY, _worker_day(person, day), person, visits))
    for (member, day), visits in sorted(by_member.items(), key=lambda item: item[0]):
        groups.append(
            (
                SubjectKind.MEMBER_DAY,
                f"member:{member}:{day.isoformat()}",
                f"member {member}",
                visits,
            )
        )
    for kind, subject, who, visits in groups:
        total = sum(v.billed_minutes for v in visits)
        if total <= limit:
            continue
        day = visits[0].service_date
        hits.append(
            Hit(
                rule="over_24h",
                subject_kind=kind,
                subject=subject,
                severity=Severity.MEDIUM,
                summary=f"{who} on {day.isoformat()}: {total} billed minutes in"
                f" {len(visits)} visits (limit {limit})",
                evidence={
                    "date": day.isoformat(),
                    "billed_minutes": total,
                    "limit_minutes": limit,
                    "visits": len(visits),
                },
                visit_refs=_refs(visits),
            )
        )
    return hits


# -- 8. hospital or deceased ---------------------------------------------------------------------


def _period_covers(period: PeriodFact, day: date) -> bool:
    if day < period.starts_on:
        return False
    if period.kind == DECEASED:
        return True  # an end date on a death is meaningless
    return period.ends_on is None or day <= period.ends_on


def hospital_or_deceased(facts: MonthFacts) -> list[Hit]:
    """A visit on a day the member could not be served at home.

    In hospital (from ``starts_on`` to ``ends_on`` inclusive, or open-ended), deceased (on or
    after ``starts_on``) or moved away (on or after ``starts_on``, until ``ends_on`` if the
    member moved back). Critical when the member was deceased, high otherwise. Visits of
    unknown members are ``entitlement``'s finding.
    """
    hits: list[Hit] = []
    for v in facts.visits:
        member = facts.members.get(v.member_id)
        if member is None or not member.periods:
            continue
        covering = [p for p in member.periods if _period_covers(p, v.service_date)]
        if not covering:
            continue
        kinds = sorted({p.kind for p in covering})
        hits.append(
            Hit(
                rule="hospital_or_deceased",
                subject_kind=SubjectKind.VISIT,
                subject=v.visit_ref,
                severity=Severity.CRITICAL if DECEASED in kinds else Severity.HIGH,
                summary=f"visit {v.visit_ref} on {v.service_date.isoformat()}: member"
                f" {v.member_id} {'/'.join(k.replace('_', ' ') for k in kinds)}",
                evidence={
                    "member_id": v.member_id,
                    "service_date": v.service_date.isoformat(),
                    "kinds": kinds,
                    "periods": [
                        {
                            "kind": p.kind,
                            "starts_on": p.starts_on.isoformat(),
                            "ends_on": None if p.ends_on is None else p.ends_on.isoformat(),
                        }
                        for p in covering
                    ],
                    "subsidy_fen": v.subsidy_fen,
                },
                visit_refs=(v.visit_ref,),
            )
        )
    return hits


# -- 9. entitlement ------------------------------------------------------------------------------


def _in_force(member: MemberFact, group: str | None, day: date) -> bool:
    """Whether ``member`` belongs to ``group`` on ``day`` (any group when None).

    ``age80`` follows from the birth date alone, as in the household service.
    """
    if (group is None or group == AGE80) and _age_on(member.birth_date, day) >= AGE80_YEARS:
        return True
    if group == AGE80:
        return False
    return any(
        (group is None or e.group == group)
        and e.valid_from <= day
        and (e.valid_to is None or day <= e.valid_to)
        for e in member.entitlements
    )


def entitlement(facts: MonthFacts) -> list[Hit]:
    """Subsidy without a right to it, or beyond the member's monthly cap.

    Per visit: the member is unknown (any visit, high when subsidised); or the visit was
    subsidised and the member was not in the visit's group on the service date (with no
    group recorded: in no group at all; ``age80`` by age on the service date). Per member:
    the month's consumed subsidy (from the ledger) above ``monthly_cap_fen``, with all that
    member's subsidised visits.
    """
    hits: list[Hit] = []
    for v in facts.visits:
        member = facts.members.get(v.member_id)
        if member is None:
            hits.append(
                Hit(
                    rule="entitlement",
                    subject_kind=SubjectKind.VISIT,
                    subject=v.visit_ref,
                    severity=Severity.HIGH if v.subsidised else Severity.MEDIUM,
                    summary=f"visit {v.visit_ref}: unknown beneficiary member {v.member_id}",
                    evidence={
                        "problem": "unknown_member",
                        "member_id": v.member_id,
                        "household_id": v.household_id,
                        "subsidy_fen": v.subsidy_fen,
                    },
                    visit_refs=(v.visit_ref,),
                )
            )
            continue
        if not v.subsidised or _in_force(member, v.group, v.service_date):
            continue
        wanted = v.group or "any group"
        hits.append(
            Hit(
                rule="entitlement",
                subject_kind=SubjectKind.VISIT,
                subject=v.visit_ref,
                severity=Severity.HIGH,
                summary=f"visit {v.visit_ref}: {v.subsidy_fen} fen subsidy but member"
                f" {v.member_id} not in {wanted} on {v.service_date.isoformat()}",
                evidence={
                    "problem": "not_entitled",
                    "member_id": v.member_id,
                    "group": v.group,
                    "service_date": v.service_date.isoformat(),
                    "subsidy_fen": v.subsidy_fen,
                    "age": _age_on(member.birth_date, v.service_date),
                    "entitlements": [
                        {
                            "group": e.group,
                            "valid_from": e.valid_from.isoformat(),
                            "valid_to": None if e.valid_to is None else e.valid_to.isoformat(),
                        }
                        for e in member.entitlements
                    ],
                },
                visit_refs=(v.visit_ref,),
            )
        )
    over = sorted(
        (m, total)
        for m, total in facts.subsidy_by_member_fen.items()
        if m in facts.members and total > facts.members[m].monthly_cap_fen
    )
    if over:
        subsidised: dict[int, list[VisitFact]] = defaultdict(list)
        for v in facts.visits:
            if v.subsidised:
                subsidised[v.member_id].append(v)
        for m, total in over:
            cap = facts.members[m].monthly_cap_fen
            hits.append(
                Hit(
                    rule="entitlement",
                    subject_kind=SubjectKind.MEMBER_MONTH,
                    subject=f"member:{m}:{facts.month}",
                    severity=Severity.HIGH,
                    summary=f"member {m} in {facts.month}: {total} fen subsidy over the"
                    f" {cap} fen monthly cap",
                    evidence={
                        "problem": "over_cap",
                        "member_id": m,
                        "month": facts.month,
                        "subsidy_fen": total,
                        "cap_fen": cap,
                        "excess_fen": total - cap,
                    },
                    visit_refs=_refs(subsidised.get(m, ())),
                )
            )
    return hits


# -- 10. certificate -----------------------------------------------------------------------------


def _best_expiry(certificates: Iterable[CertificateFact]) -> dict[str, date | None]:
    """Per kind, the latest expiry the worker holds (None: never expires)."""
    best: dict[str, date | None] = {}
    for c in certificates:
        if c.kind not in best:
            best[c.kind] = c.expires_on
            continue
        held = best[c.kind]
        if held is not None and (c.expires_on is None or c.expires_on > held):
            best[c.kind] = c.expires_on
    return best


def certificate(facts: MonthFacts) -> list[Hit]:
    """A visit needing a certificate the worker lacks, or holds expired on the service date.

    A certificate is valid through its ``expires_on`` day; without one it never expires. Of
    several certificates of one kind the latest counts.
    """
    expiries: dict[int, dict[str, date | None]] = {}
    hits: list[Hit] = []
    for v in facts.visits:
        if not v.required_certificates:
            continue
        held = expiries.get(v.worker_id)
        if held is None:
            held = _best_expiry(facts.certificates.get(v.worker_id, ()))
            expiries[v.worker_id] = held
        missing: list[str] = []
        expired: dict[str, str] = {}
        for kind in v.required_certificates:
            if kind not in held:
                missing.append(kind)
                continue
            expires_on = held[kind]
            if expires_on is not None and expires_on < v.service_date:
                expired[kind] = expires_on.isoformat()
        if not missing and not expired:
            continue
        problems = [f"no {k}" for k in missing] + [f"{k} expired {d}" for k, d in expired.items()]
        hits.append(
            Hit(
                rule="certificate",
                subject_kind=SubjectKind.VISIT,
                subject=v.visit_ref,
                severity=Severity.MEDIUM,
                summary=f"visit {v.visit_ref} by worker {v.worker_id} on"
                f" {v.service_date.isoformat()}: {', '.join(problems)}",
                evidence={
                    "worker_id": v.worker_id,
                    "service_date": v.service_date.isoformat(),
                    "required": list(v.required_certificates),
                    "missing": missing,
                    "expired": expired,
                },
                visit_refs=(v.visit_ref,),
            )
        )
    return hits


# -- 11. late edit and edit volume ---------------------------------------------------------------


def late_edit(facts: MonthFacts) -> list[Hit]:
    """A visit record edited more than ``lock_days`` days after its service date.

    The edit's day is its Asia/Shanghai calendar date. One hit per visit, listing its late
    edits.
    """
    lock = facts.thresholds.lock_days
    hits: list[Hit] = []
    for v in facts.visits:
        if not v.edits:
            continue
        late = [
            (e, days) for e in v.edits if (days := (_local_date(e.at) - v.service_date).days) > lock
        ]
        if not late:
            continue
        latest = max(days for _, days in late)
        hits.append(
            Hit(
                rule="late_edit",
                subject_kind=SubjectKind.VISIT,
                subject=v.visit_ref,
                severity=Severity.MEDIUM,
                summary=f"visit {v.visit_ref} edited {len(late)} time(s) up to {latest} days"
                f" after its service date (lock {lock} days)",
                evidence={
                    "service_date": v.service_date.isoformat(),
                    "lock_days": lock,
                    "edits": [
                        {
                            "field": e.field,
                            "editor": e.editor,
                            "at": e.at.isoformat(),
                            "days_after": days,
                            "reason": e.reason,
                        }
                        for e, days in late
                    ],
                },
                visit_refs=(v.visit_ref,),
            )
        )
    return hits


def edit_volume(facts: MonthFacts) -> list[Hit]:
    """A staff member who edits visit records far more than the others.

    Counts the edits on the month's visits per editor. A hit needs at least
    ``staff_edits_min`` edits and more than ``staff_edits_factor`` times the median count of
    the *other* editors (those with at least one edit). Leaving the editor out of their own
    reference keeps a heavy editor from raising the bar (with the editor included, two editors
    could never differ by more than a factor 2 from their median). A lone editor has no peers
    and is judged by ``staff_edits_min`` alone.
    """
    th = facts.thresholds
    counts: Counter[str] = Counter()
    edited: dict[str, list[VisitFact]] = defaultdict(list)
    for v in facts.visits:
        for e in v.edits:
            counts[e.editor] += 1
            edited[e.editor].append(v)
    ordered = sorted(counts.values())
    hits: list[Hit] = []
    for editor in sorted(counts):
        n = counts[editor]
        if n < th.staff_edits_min:
            continue
        peers = _median_without(ordered, bisect_left(ordered, n))
        if peers is not None and n <= th.staff_edits_factor * peers:
            continue
        reference = "no other editor" if peers is None else f"peer median {peers:g}"
        hits.append(
            Hit(
                rule="edit_volume",
                subject_kind=SubjectKind.STAFF,
                subject=editor,
                severity=Severity.MEDIUM,
                summary=f"{editor} made {n} edits in {facts.month} ({reference})",
                evidence={
                    "editor": editor,
                    "edits": n,
                    "peer_median": peers,
                    "editors": len(ordered),
                    "factor": th.staff_edits_factor,
                    "min_edits": th.staff_edits_min,
                    "visits_edited": len(_refs(edited[editor])),
                },
                visit_refs=_refs(edited[editor]),
            )
        )
    return hits


# -- 12. duplicate beneficiary -------------------------------------------------------------------


def duplicate_beneficiary(facts: MonthFacts) -> list[Hit]:
    """One ID number (its blind index) registered as members of two or more households."""
    by_index: dict[str, list[MemberFact]] = defaultdict(list)
    for member in facts.members.values():
        if member.id_index is not None:
            by_index[member.id_index].append(member)
    duplicates = {
        index: members
        for index, members in by_index.items()
        if len({m.household_id for m in members}) > 1
    }
    if not duplicates:
        return []
    visits_of: dict[int, list[VisitFact]] = defaultdict(list)
    for v in facts.visits:
        visits_of[v.member_id].append(v)
    hits: list[Hit] = []
    for index in sorted(duplicates):
        members = sorted(duplicates[index], key=lambda m: m.member_id)
        households = sorted({m.household_id for m in members})
        refs = _refs(v for m in members for v in visits_of.get(m.member_id, ()))
        hits.append(
            Hit(
                rule="duplicate_beneficiary",
                subject_kind=SubjectKind.ID_NUMBER,
                subject=index,
                severity=Severity.HIGH,
                summary=f"one ID number held by {len(members)} members in"
                f" {len(households)} households ({len(refs)} visits this month)",
                evidence={
                    "member_ids": [m.member_id for m in members],
                    "household_ids": households,
                    "visits": len(refs),
                },
                visit_refs=refs,
            )
        )
    return hits


# -- 13. provider outlier ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Spread:
    median: float
    mad: float
    scale: float  # a robust estimate of the standard deviation; 0 when all values are equal


def _spread(values: Iterable[float]) -> _Spread:
    ordered = sorted(values)
    median = _median(ordered)
    deviations = sorted(abs(x - median) for x in ordered)
    mad = _median(deviations)
    mean_ad = math.fsum(deviations) / len(deviations)
    scale = mad / MAD_SCALE if mad > 0 else MEAN_AD_SCALE * mean_ad
    if scale > 0:
        scale = max(scale, SPREAD_FLOOR * max(abs(median), 1.0))
    return _Spread(median, mad, scale)


def provider_outlier(facts: MonthFacts) -> list[Hit]:
    """A provider far above its peers in visits per recipient or in manual check-ins.

    Providers with at least ``outlier_min_visits`` visits are compared on two measures:
    ``visits_per_recipient`` (visits / distinct members) and ``manual_check_share`` (the share
    of visits whose check-in or check-out was entered manually). With at least
    ``outlier_min_peers`` such providers, a robust z-score 0.6745·(x − median)/MAD above
    ``outlier_z`` is a hit (high side only). When MAD is 0 (most providers equal) the scale
    falls back to 1.253314 × the mean absolute deviation; the scale never goes below 1e-9
    relative to the median, and when all values are equal nobody is an outlier.
    """
    th = facts.thresholds
    visits: Counter[int] = Counter()
    manual: Counter[int] = Counter()
    recipients: dict[int, set[int]] = defaultdict(set)
    for v in facts.visits:
        visits[v.provider_id] += 1
        recipients[v.provider_id].add(v.member_id)
        if v.check_in_method == MANUAL or v.check_out_method == MANUAL:
            manual[v.provider_id] += 1
    eligible = sorted(p for p, n in visits.items() if n >= th.outlier_min_visits)
    if len(eligible) < max(th.outlier_min_peers, 1):
        return []
    measures: dict[str, dict[int, tuple[float, int, int]]] = {
        "visits_per_recipient": {
            p: (visits[p] / len(recipients[p]), visits[p], len(recipients[p])) for p in eligible
        },
        "manual_check_share": {p: (manual[p] / visits[p], manual[p], visits[p]) for p in eligible},
    }
    spreads = {
        measure: _spread(x for x, _, _ in values.values()) for measure, values in measures.items()
    }
    hits: list[Hit] = []
    for p in eligible:
        for measure, values in measures.items():
            spread = spreads[measure]
            x, numerator, denominator = values[p]
            if spread.scale == 0 or x <= spread.median:
                continue
            z = (x - spread.median) / spread.scale
            if z <= th.outlier_z:
                continue
            hits.append(
                Hit(
                    rule="provider_outlier",
                    subject_kind=SubjectKind.PROVIDER,
                    subject=f"provider:{p}:{measure}",
                    severity=Severity.LOW,
                    summary=f"provider {p}: {measure.replace('_', ' ')} {x:.3g} vs median"
                    f" {spread.median:.3g} of {len(eligible)} providers (robust z {z:.1f})",
                    evidence={
                        "provider_id": p,
                        "measure": measure,
                        "value": round(x, 4),
                        "numerator": numerator,
                        "denominator": denominator,
                        "median": round(spread.median, 4),
                        "mad": round(spread.mad, 6),
                        "z": round(z, 2),
                        "z_limit": th.outlier_z,
                        "providers": len(eligible),
                    },
                )
            )
    return hits


# -- 14. ledger break ----------------------------------------------------------------------------


def ledger_break(facts: MonthFacts) -> list[Hit]:
    """The ledger verifier found the hash chain or balances broken.

    One critical hit, subject ``ledger:<first broken entry id>`` (just ``ledger`` when the
    verifier names no entry), so the same break found again is the same finding.
    """
    ledger = facts.ledger
    if ledger.ok:
        return []
    where = "" if ledger.first_broken_id is None else f" at entry {ledger.first_broken_id}"
    return [
        Hit(
            rule="ledger_break",
            subject_kind=SubjectKind.LEDGER,
            subject="ledger"
            if ledger.first_broken_id is None
            else f"ledger:{ledger.first_broken_id}",
            severity=Severity.CRITICAL,
            summary=f"ledger broken{where} ({ledger.entries} entries)"
            + (f": {ledger.problem}" if ledger.problem else ""),
            evidence={
                "first_broken_id": ledger.first_broken_id,
                "entries": ledger.entries,
                "problem": ledger.problem,
            },
        )
    ]


# -- registry ------------------------------------------------------------------------------------


def _spec(
    function: Callable[[MonthFacts], list[Hit]], title: str, title_zh: str, severity: Severity
) -> RuleSpec:
    return RuleSpec(
        code=function.__name__,
        function=function,
        title=title,
        title_zh=title_zh,
        severity=severity,
        description=inspect.getdoc(function) or "",
    )


_SPECS = (
    _spec(missing_check, "Missing check-in or check-out", "签到或签退缺失", Severity.MEDIUM),
    _spec(far_location, "Checked in away from the home", "签到位置偏离服务地址", Severity.MEDIUM),
    _spec(other_worker, "Visit by another worker than booked", "非派单人员上门", Severity.MEDIUM),
    _spec(overlap, "Overlapping visits of one person", "同一人员服务时间重叠", Severity.HIGH),
    _spec(impossible_travel, "Impossible travel between visits", "行程时间不可能", Severity.HIGH),
    _spec(duration_mismatch, "Duration far from planned", "服务时长与计划不符", Severity.MEDIUM),
    _spec(over_24h, "More than a day's minutes in one day", "单日服务时长超限", Severity.MEDIUM),
    _spec(
        hospital_or_deceased,
        "Visit while in hospital, deceased or moved away",
        "住院、死亡或迁出期间服务",
        Severity.HIGH,
    ),
    _spec(
        entitlement, "Subsidy without entitlement or over cap", "补贴资格不符或超限", Severity.HIGH
    ),
    _spec(certificate, "Missing or expired certificate", "服务人员资质缺失或过期", Severity.MEDIUM),
    _spec(late_edit, "Record edited after the lock period", "超期修改服务记录", Severity.MEDIUM),
    _spec(
        edit_volume, "Unusually many edits by one staff member", "工作人员修改过多", Severity.MEDIUM
    ),
    _spec(
        duplicate_beneficiary,
        "One ID number in several households",
        "同一身份证跨户重复登记",
        Severity.HIGH,
    ),
    _spec(provider_outlier, "Provider far from its peers", "服务机构指标异常", Severity.LOW),
    _spec(ledger_break, "Ledger chain broken", "资金账本校验失败", Severity.CRITICAL),
)

RULES: Mapping[str, RuleSpec] = MappingProxyType({spec.code: spec for spec in _SPECS})
assert len(RULES) == len(_SPECS), "duplicate rule code"


def run_all(facts: MonthFacts, only: Collection[str] | None = None) -> list[Hit]:
    """Run every registered rule (or only the codes in ``only``) in registry order.

    Unknown codes in ``only`` are refused with ``ValueError`` rather than silently skipped.
    """
    if only is not None:
        unknown = set(only) - RULES.keys()
        if unknown:
            raise ValueError(f"unknown rule code(s): {', '.join(sorted(unknown))}")
    hits: list[Hit] = []
    for code, spec in RULES.items():
        if only is None or code in only:
            hits.extend(spec.function(facts))
    return hits
