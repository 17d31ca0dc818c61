"""What the anomaly rules read: plain, immutable facts about one month, loaded in bulk.

The rules (``audit.rules``) are pure functions of these facts, so they are tested on small
hand-made months and run over tens of thousands of visits without touching the database.
Times are timezone-aware UTC; days are Asia/Shanghai dates; money is integer fen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType


class Severity(StrEnum):
    """How much a finding matters to an auditor."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class SubjectKind(StrEnum):
    """What a finding is about."""

    VISIT = "visit"
    WORKER_DAY = "worker_day"  # a worker (person) on one day
    MEMBER_DAY = "member_day"
    MEMBER_MONTH = "member_month"
    STAFF = "staff"  # whoever edits visit records
    ID_NUMBER = "id_number"  # one beneficiary ID (blind index) across households
    PROVIDER = "provider"
    LEDGER = "ledger"


@dataclass(frozen=True, slots=True)
class EditFact:
    """One manual change to a visit record."""

    field: str
    editor: str
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class VisitFact:
    """One visit of the month with what was scheduled, what was recorded and what was billed."""

    visit_id: int
    visit_ref: str  # public id
    order_ref: str  # public id of the order
    provider_id: int
    worker_id: int  # who did the visit
    person_key: str  # the worker as a person, the same across providers
    scheduled_worker_id: int | None  # whom dispatch booked; None when unknown
    member_id: int
    household_id: int
    item_code: str
    service_class: str  # pricing.policy.ServiceClass value
    service_date: date
    home_lat: float
    home_lon: float
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    check_in_at: datetime | None
    check_in_method: str | None  # marketplace.visits.models.CheckMethod value
    check_in_lat: float | None
    check_in_lon: float | None
    check_out_at: datetime | None
    check_out_method: str | None
    check_out_lat: float | None
    check_out_lon: float | None
    billed_minutes: int
    price_fen: int
    subsidy_fen: int  # consumed subsidy for the visit's order
    group: str | None  # the protected group the subsidy was decided for
    required_certificates: tuple[str, ...] = ()
    edits: tuple[EditFact, ...] = ()

    @property
    def subsidised(self) -> bool:
        """Whether public money paid for part of it."""
        return self.subsidy_fen > 0


@dataclass(frozen=True, slots=True)
class PeriodFact:
    """A member in hospital (from–to), deceased (from) or moved away (from)."""

    kind: str  # marketplace.households.models.PeriodKind value
    starts_on: date
    ends_on: date | None


@dataclass(frozen=True, slots=True)
class EntitlementFact:
    """An approved protected-group membership and when it is in force."""

    group: str  # pricing.policy.Group value
    valid_from: date
    valid_to: date | None


@dataclass(frozen=True, slots=True)
class CertificateFact:
    """A certificate a worker holds."""

    kind: str
    expires_on: date | None


@dataclass(frozen=True, slots=True)
class MemberFact:
    """A beneficiary: where they live, their ID's blind index, entitlements and periods."""

    member_id: int
    household_id: int
    id_index: str | None
    birth_date: date
    entitlements: tuple[EntitlementFact, ...] = ()
    periods: tuple[PeriodFact, ...] = ()
    monthly_cap_fen: int = 0  # the largest cap among the member's groups this month


@dataclass(frozen=True, slots=True)
class LedgerFact:
    """What the ledger verifier found."""

    ok: bool
    entries: int
    first_broken_id: int | None
    problem: str = ""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The limits the rules apply; documented defaults, overridable per run."""

    location_radius_m: int = 300
    max_speed_kmh: float = 60.0
    # A gap this short between two places is not "impossible" (GPS noise, neighbours).
    travel_slack_s: int = 120
    duration_low_ratio: float = 0.5
    duration_high_ratio: float = 1.5
    duration_min_difference_min: int = 20
    max_minutes_per_day: int = 24 * 60
    lock_days: int = 7  # edits later than this many days after the service date
    staff_edits_min: int = 20  # a staff member needs this many edits to be an outlier
    staff_edits_factor: float = 5.0  # and this many times the median staff member
    outlier_min_peers: int = 5
    outlier_z: float = 3.5  # robust z-score (median / MAD) for provider outliers
    outlier_min_visits: int = 50


@dataclass(frozen=True, slots=True)
class MonthFacts:
    """Everything the rules see for one month."""

    month: str  # YYYY-MM
    first_day: date
    last_day: date
    visits: tuple[VisitFact, ...]
    members: Mapping[int, MemberFact] = field(default_factory=lambda: MappingProxyType({}))
    certificates: Mapping[int, tuple[CertificateFact, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )  # worker id → certificates
    subsidy_by_member_fen: Mapping[int, int] = field(
        default_factory=lambda: MappingProxyType({})
    )  # consumed net of reversals, this month, from the ledger
    ledger: LedgerFact = LedgerFact(ok=True, entries=0, first_broken_id=None)
    thresholds: Thresholds = Thresholds()


@dataclass(frozen=True, slots=True)
class Hit:
    """One anomaly a rule found: what it is about and the evidence an auditor needs."""

    rule: str
    subject_kind: SubjectKind
    subject: str  # e.g. a visit's public id, "w:<person>:2026-12-03", "member:12:2026-12"
    severity: Severity
    summary: str
    evidence: Mapping[str, object]
    visit_refs: tuple[str, ...] = ()  # the visits involved, for clawbacks and reports

    @property
    def key(self) -> str:
        """Stable across runs: the same anomaly found again is the same finding."""
        return f"{self.rule}:{self.subject}"
