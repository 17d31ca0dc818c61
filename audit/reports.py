"""Auditors' reports for one service month, reconciled with the ledger to the fen.

* Spend and hours by area (district → street → community, with subtotals and a grand total), by
  provider, by protected group and by month. Money is the ledger's: consumed − reversed per
  payer (subsidy, long-term-care insurance, household) for the service month, attributed to an
  area, a provider and a group through its order (the home's areas, the order's provider, the
  group its quote was decided for; "none" without one). Hours are the month's visits: the
  time between check-in and check-out, and what was billed.
* EVV compliance per provider, from ``audit.evv.verify``.
* A reproducible random sample of subsidised visits for field checks.
* ``reconcile``: every table's totals against the ledger's own sums and the providers'
  settlement statements, to the fen, with each difference named.

Ledger money whose order cannot be found is attributed nowhere: it is listed in
``MonthReport.unattributed`` and the totals then differ from the ledger.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sqlmodel import Session

from audit import evv
from audit import repository as repo
from audit.facts import Thresholds, VisitFact
from core.errors import Validation
from pricing import settlement
from pricing.models import Payer
from pricing.policy import GROUP_LABEL, Group

NO_GROUP = "none"
NO_GROUP_LABEL = "无补贴"
DEFAULT_SAMPLE_SEED = "linli-field-check"
DEFAULT_SAMPLE_SIZE = 50
# The payers in the order reports show them.
PAYERS = (Payer.SUBSIDY, Payer.LTC_INSURANCE, Payer.HOUSEHOLD)
# Payers whose money is owed only for a visit: any of it on an order without a visit is a finding
# (the household also pays late-cancellation fees, which have no visit).
VISIT_PAYERS = (Payer.SUBSIDY, Payer.LTC_INSURANCE)


# -- rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    """What a report row adds up: visits, hours and money by payer (integer fen)."""

    visits: int = 0
    subsidised_visits: int = 0
    actual_seconds: int = 0  # check-in to check-out, summed over visits with both
    billed_minutes: int = 0
    subsidy_fen: int = 0
    ltc_insurance_fen: int = 0
    household_fen: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def fen(self, payer: Payer) -> int:
        """The payer's money."""
        if payer is Payer.SUBSIDY:
            return self.subsidy_fen
        if payer is Payer.LTC_INSURANCE:
            return self.ltc_insurance_fen
        return self.household_fen

    @property
    def total_fen(self) -> int:
        """Everything paid, by every payer."""
        return self.subsidy_fen + self.ltc_insurance_fen + self.household_fen


def add_up(figures: Iterable[Figures]) -> Figures:
    """The sum of some figures."""
    total = Figures()
    for f in figures:
        total = total + f
    return total


class RowLevel(StrEnum):
    """What an area row covers."""

    COMMUNITY = "community"
    STREET = "street"  # subtotal of its communities
    DISTRICT = "district"  # subtotal of its streets
    TOTAL = "total"  # grand total of the districts


@dataclass(frozen=True, slots=True)
class AreaRow:
    """A community, or a street's, district's or the month's subtotal (codes empty below it)."""

    level: RowLevel
    district_code: str
    district_name: str
    street_code: str
    street_name: str
    community_code: str
    community_name: str
    figures: Figures

    @property
    def code(self) -> str:
        """The code of the area the row is about ("" for the grand total)."""
        return self.community_code or self.street_code or self.district_code


@dataclass(frozen=True, slots=True)
class ProviderRow:
    """One provider's figures."""

    provider_id: int
    provider_ref: str
    name: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class GroupRow:
    """One protected group's figures ("none": no subsidy was decided for the order)."""

    group: str
    label: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class MonthRow:
    """One month's figures."""

    month: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class EvvRow:
    """A provider's EVV compliance: the share of its visits verified without a manual edit."""

    provider_id: int
    provider_ref: str
    name: str
    visits: int
    verified: int
    verified_after_edit: int
    exceptions: int

    @property
    def compliance_percent(self) -> Decimal | None:
        """Verified without edit, per cent of visits, to 0.01 (None without visits)."""
        if self.visits == 0:
            return None
        return (Decimal(self.verified) * 100 / self.visits).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )


@dataclass(frozen=True, slots=True)
class SampleRow:
    """One visit drawn for a field check (the recipient's name masked)."""

    draw: int  # 1 for the first visit drawn
    visit_ref: str
    order_ref: str
    service_date: date
    check_in_at: datetime | None
    check_out_at: datetime | None
    provider_name: str
    worker_name: str
    district_name: str
    community_name: str
    address: str
    recipient: str
    group: str
    subsidy_fen: int
    evv_status: str


@dataclass(frozen=True, slots=True)
class MonthReport:
    """Everything the auditors' export holds for one service month."""

    month: str
    by_area: tuple[AreaRow, ...]
    by_provider: tuple[ProviderRow, ...]
    by_group: tuple[GroupRow, ...]
    by_month: tuple[MonthRow, ...]
    evv: tuple[EvvRow, ...]
    sample: tuple[SampleRow, ...]
    sample_seed: str
    sample_size: int  # asked for; fewer when fewer subsidised visits
    sample_population: int  # subsidised visits the sample was drawn from
    unattributed: tuple[repo.LedgerMoney, ...] = ()  # ledger money whose order is unknown

    @property
    def total(self) -> Figures:
        """The grand total row of the area table."""
        return next(r.figures for r in self.by_area if r.level is RowLevel.TOTAL)


# -- pure helpers --------------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """A name as a field sheet shows it: the first character, the rest as ``*`` (王奶奶 → 王**)."""
    name = name.strip()
    if not name:
        return "*"
    return name[0] + "*" * max(len(name) - 1, 1)


def actual_seconds(v: VisitFact) -> int:
    """Whole seconds from check-in to check-out (0 unless both are there, in that order)."""
    if v.check_in_at is None or v.check_out_at is None or v.check_out_at <= v.check_in_at:
        return 0
    return int((v.check_out_at - v.check_in_at).total_seconds())


def sample_random(month: str, seed: str) -> random.Random:
    """The generator a month's sample is drawn with: seeded with SHA-256 of ``month:seed``."""
    digest = hashlib.sha256(f"{month}:{seed}".encode()).digest()
    return random.Random(int.from_bytes(digest, "big"))


def draw_sample(
    visits: Iterable[VisitFact], *, month: str, seed: str, size: int
) -> list[VisitFact]:
    """Draw ``size`` subsidised visits (all of them if fewer), in draw order.

    The candidates are sorted by public id first, so the same month, seed and visits give the
    same sample whatever order the database returned them in.
    """
    if size < 0:
        raise Validation(f"a sample size cannot be negative, got {size}")
    pool = sorted((v for v in visits if v.subsidised), key=lambda v: v.visit_ref)
    return sample_random(month, seed).sample(pool, min(size, len(pool)))


def group_label(group: str) -> str:
    """The group's Chinese name (the code itself for a group the policy does not know)."""
    if group == NO_GROUP:
        return NO_GROUP_LABEL
    try:
        return GROUP_LABEL[Group(group)]
    except (ValueError, KeyError):
        return group


def _group_order(group: str) -> tuple[int, str]:
    known = [g.value for g in Group]
    if group in known:
        return (0, f"{known.index(group):03d}")
    return (2, "") if group == NO_GROUP else (1, group)


# -- the month's figures -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Spend:
    """Per-order figures of a month with where each order is reported."""

    per_order: Mapping[str, Figures]
    places: Mapping[str, repo.OrderPlace]
    unattributed: tuple[repo.LedgerMoney, ...]

    def attributed(self) -> Iterable[tuple[repo.OrderPlace, Figures]]:
        for ref, figures in sorted(self.per_order.items()):
            place = self.places.get(ref)
            if place is not None:
                yield place, figures


def _payer_figures(payer: str, fen: int) -> Figures:
    if payer == Payer.SUBSIDY.value:
        return Figures(subsidy_fen=fen)
    if payer == Payer.LTC_INSURANCE.value:
        return Figures(ltc_insurance_fen=fen)
    return Figures(household_fen=fen)


def _spend(session: Session, month: str, visits: Sequence[VisitFact]) -> _Spend:
    money = repo.ledger_money(session, month)
    per_order: dict[str, Figures] = defaultdict(Figures)
    for m in money:
        per_order[m.order_ref] += _payer_figures(m.payer, m.net_fen)
    for v in visits:
        per_order[v.order_ref] += Figures(
            visits=1,
            subsidised_visits=int(v.subsidised),
            actual_seconds=actual_seconds(v),
            billed_minutes=v.billed_minutes,
        )
    places = repo.order_places(session, per_order)
    unattributed = tuple(m for m in money if m.order_ref not in places)
    return _Spend(per_order=dict(per_order), places=places, unattributed=unattributed)


def _area_rows(spend: _Spend, names: Mapping[int, repo.AreaName]) -> tuple[AreaRow, ...]:
    tree: dict[int, dict[int, dict[int, Figures]]] = defaultdict(lambda: defaultdict(dict))
    for place, figures in spend.attributed():
        communities = tree[place.district_id][place.street_id]
        communities[place.community_id] = communities.get(place.community_id, Figures()) + figures

    def name(area_id: int) -> repo.AreaName:
        return names.get(area_id, repo.AreaName(code=f"#{area_id}", name=""))

    def by_code(ids: Iterable[int]) -> list[int]:
        return sorted(ids, key=lambda i: (name(i).code, i))

    rows: list[AreaRow] = []
    grand = Figures()
    for d in by_code(tree):
        district, district_total = name(d), Figures()
        for s in by_code(tree[d]):
            street, street_total = name(s), Figures()
            for c in by_code(tree[d][s]):
                community, figures = name(c), tree[d][s][c]
                street_total += figures
                rows.append(
                    AreaRow(
                        RowLevel.COMMUNITY,
                        district.code,
                        district.name,
                        street.code,
                        street.name,
                        community.code,
                        community.name,
                        figures,
                    )
                )
            district_total += street_total
            rows.append(
                AreaRow(
                    RowLevel.STREET,
                    district.code,
                    district.name,
                    street.code,
                    street.name,
                    "",
                    "",
                    street_total,
                )
            )
        grand += district_total
        rows.append(
            AreaRow(RowLevel.DISTRICT, district.code, district.name, "", "", "", "", district_total)
        )
    rows.append(AreaRow(RowLevel.TOTAL, "", "", "", "", "", "", grand))
    return tuple(rows)


def _provider_rows(
    spend: _Spend, names: Mapping[int, repo.ProviderName]
) -> tuple[ProviderRow, ...]:
    found: dict[int, Figures] = defaultdict(Figures)
    for place, figures in spend.attributed():
        found[place.provider_id] += figures
    rows = [
        ProviderRow(
            provider_id=pid,
            provider_ref=names[pid].public_id if pid in names else f"#{pid}",
            name=names[pid].name if pid in names else "",
            figures=figures,
        )
        for pid, figures in found.items()
    ]
    return tuple(sorted(rows, key=lambda r: (r.name, r.provider_ref)))


def _group_rows(spend: _Spend) -> tuple[GroupRow, ...]:
    found: dict[str, Figures] = defaultdict(Figures)
    for place, figures in spend.attributed():
        found[place.group or NO_GROUP] += figures
    return tuple(
        GroupRow(group=g, label=group_label(g), figures=found[g])
        for g in sorted(found, key=_group_order)
    )


def _evv_rows(
    results: Sequence[evv.EvvResult], names: Mapping[int, repo.ProviderName]
) -> tuple[EvvRow, ...]:
    rows = [
        EvvRow(
            provider_id=c.provider_id,
            provider_ref=names[c.provider_id].public_id if c.provider_id in names else "",
            name=names[c.provider_id].name if c.provider_id in names else "",
            visits=c.visits,
            verified=c.verified,
            verified_after_edit=c.verified_after_edit,
            exceptions=c.exceptions,
        )
        for c in evv.compliance(results)
    ]
    return tuple(sorted(rows, key=lambda r: (r.name, r.provider_ref)))


def _sample_rows(
    session: Session,
    drawn: Sequence[VisitFact],
    spend: _Spend,
    providers: Mapping[int, repo.ProviderName],
    areas: Mapping[int, repo.AreaName],
    results: Mapping[str, evv.EvvResult],
) -> tuple[SampleRow, ...]:
    people = repo.visit_people(session, (v.visit_id for v in drawn))
    rows: list[SampleRow] = []
    for draw, v in enumerate(drawn, start=1):
        place = spend.places[v.order_ref]
        person = people.get(v.visit_id, repo.VisitPeople("", "", ""))
        district = areas.get(place.district_id, repo.AreaName("", ""))
        community = areas.get(place.community_id, repo.AreaName("", ""))
        provider = providers.get(v.provider_id, repo.ProviderName("", ""))
        rows.append(
            SampleRow(
                draw=draw,
                visit_ref=v.visit_ref,
                order_ref=v.order_ref,
                service_date=v.service_date,
                check_in_at=v.check_in_at,
                check_out_at=v.check_out_at,
                provider_name=provider.name,
                worker_name=person.worker_name,
                district_name=district.name,
                community_name=community.name,
                address=person.address,
                recipient=mask_name(person.recipient_name),
                group=place.group or NO_GROUP,
                subsidy_fen=v.subsidy_fen,
                evv_status=results[v.visit_ref].status.value,
            )
        )
    return tuple(rows)


def month_report(
    session: Session,
    month: str,
    *,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    sample_seed: str = DEFAULT_SAMPLE_SEED,
    thresholds: Thresholds | None = None,
) -> MonthReport:
    """The auditors' report for the service month ``YYYY-MM``, from the database as it stands."""
    repo.month_bounds(month)
    if sample_size < 0:
        raise Validation(f"a sample size cannot be negative, got {sample_size}")
    visits = repo.month_visits(session, month)
    spend = _spend(session, month, visits)
    places = spend.places.values()
    areas = repo.area_names(
        session,
        {i for p in places for i in (p.district_id, p.street_id, p.community_id)},
    )
    providers = repo.provider_names(session, {p.provider_id for p in places})
    results = [evv.verify(v, thresholds) for v in visits]
    drawn = draw_sample(visits, month=month, seed=sample_seed, size=sample_size)
    by_area = _area_rows(spend, areas)
    return MonthReport(
        month=month,
        by_area=by_area,
        by_provider=_provider_rows(spend, providers),
        by_group=_group_rows(spend),
        by_month=(MonthRow(month, by_area[-1].figures),),
        evv=_evv_rows(results, providers),
        sample=_sample_rows(
            session, drawn, spend, providers, areas, {r.visit_ref: r for r in results}
        ),
        sample_seed=sample_seed,
        sample_size=sample_size,
        sample_population=sum(1 for v in visits if v.subsidised),
        unattributed=spend.unattributed,
    )


def _months(first_month: str, last_month: str) -> list[str]:
    first, _ = repo.month_bounds(first_month)
    last, _ = repo.month_bounds(last_month)
    if last < first:
        raise Validation(f"{last_month} is before {first_month}")
    months: list[str] = []
    year, number = first.year, first.month
    while (year, number) <= (last.year, last.month):
        months.append(f"{year:04d}-{number:02d}")
        year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return months


def months_report(session: Session, first_month: str, last_month: str) -> tuple[MonthRow, ...]:
    """A row per month from ``first_month`` to ``last_month`` (inclusive); ``add_up`` them for
    the range. Each row equals that month's ``month_report(...).by_month`` row."""
    rows: list[MonthRow] = []
    for month in _months(first_month, last_month):
        spend = _spend(session, month, repo.month_visits(session, month))
        rows.append(MonthRow(month, add_up(figures for _, figures in spend.attributed())))
    return tuple(rows)


# -- reconciliation ------------------------------------------------------------------------------


class CheckKind(StrEnum):
    """What a reconciliation line compares."""

    BY_AREA = "by_area"  # the community rows' sum vs the ledger
    AREA_TOTAL_ROW = "area_total_row"  # the area table's grand total row vs the ledger
    BY_PROVIDER = "by_provider"  # the provider rows' sum vs the ledger
    BY_GROUP = "by_group"  # the group rows' sum vs the ledger
    BY_MONTH = "by_month"  # the month rows' sum vs the ledger
    SETTLEMENTS = "settlements"  # the providers' statements summed vs the ledger
    ON_VISITS = "on_visits"  # ledger money on orders visited in the month vs the ledger
    PROVIDER_STATEMENT = "provider_statement"  # a provider row vs its settlement statement
    AREA_SUBTOTAL = "area_subtotal"  # a street or district subtotal vs the rows under it


@dataclass(frozen=True, slots=True)
class Check:
    """One figure against what it must equal, to the fen."""

    kind: CheckKind
    payer: str
    subject: str  # a provider's public id, an area code, or "" for the whole month
    name: str  # the subject's name, for people
    fen: int
    expected_fen: int

    @property
    def ok(self) -> bool:
        """Whether the two agree to the fen."""
        return self.fen == self.expected_fen

    @property
    def difference_fen(self) -> int:
        """How far the figure is from what it must equal."""
        return self.fen - self.expected_fen

    def describe(self) -> str:
        """One line for people."""
        about = f" {self.subject}" if self.subject else ""
        verdict = "=" if self.ok else "≠"
        return (
            f"{self.kind.value}{about} {self.payer}: {self.fen} fen {verdict} "
            f"{self.expected_fen} fen (difference {self.difference_fen:+d})"
        )


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """A report checked against the ledger and the providers' settlements."""

    month: str
    ledger_fen: Mapping[str, int]  # the ledger's consumed − reversed per payer
    checks: tuple[Check, ...]
    unattributed: tuple[str, ...]  # order refs with ledger money but no order
    without_visit: tuple[str, ...]  # order refs with subsidy or LTC money but no visit

    @property
    def ok(self) -> bool:
        """Whether every figure agrees to the fen."""
        return all(c.ok for c in self.checks)

    @property
    def differences(self) -> tuple[Check, ...]:
        """The figures that do not agree."""
        return tuple(c for c in self.checks if not c.ok)


def _subtotal_checks(rows: Sequence[AreaRow]) -> list[Check]:
    """Each street and district subtotal against the rows under it (only those that differ)."""
    under_street: dict[tuple[str, str], Figures] = defaultdict(Figures)
    under_district: dict[str, Figures] = defaultdict(Figures)
    for row in rows:
        if row.level is RowLevel.COMMUNITY:
            under_street[(row.district_code, row.street_code)] += row.figures
        elif row.level is RowLevel.STREET:
            under_district[row.district_code] += row.figures
    checks: list[Check] = []
    for row in rows:
        if row.level is RowLevel.STREET:
            expected = under_street[(row.district_code, row.street_code)]
            subject, name = row.street_code, row.street_name
        elif row.level is RowLevel.DISTRICT:
            expected = under_district[row.district_code]
            subject, name = row.district_code, row.district_name
        else:
            continue
        checks.extend(
            Check(
                CheckKind.AREA_SUBTOTAL,
                payer.value,
                subject,
                name,
                row.figures.fen(payer),
                expected.fen(payer),
            )
            for payer in PAYERS
            if row.figures.fen(payer) != expected.fen(payer)
        )
    return checks


def reconcile(report: MonthReport, session: Session) -> Reconciliation:
    """Check the report to the fen against the ledger's sums for its month (per payer: the
    area, provider, group and month tables, the providers' settlement statements, the money
    on visited orders) and each provider row against the provider's statement."""
    month = report.month
    ledger_fen = repo.ledger_net(session, month)
    statements = {
        pid: settlement.statement(session, pid, month)
        for pid in repo.ledger_providers(session, month)
    }
    without_visit = repo.ledger_money_without_visit(session, month)
    communities = [r.figures for r in report.by_area if r.level is RowLevel.COMMUNITY]
    totals = [r.figures for r in report.by_area if r.level is RowLevel.TOTAL]
    tables = {
        CheckKind.BY_AREA: add_up(communities),
        CheckKind.AREA_TOTAL_ROW: add_up(totals),
        CheckKind.BY_PROVIDER: add_up(r.figures for r in report.by_provider),
        CheckKind.BY_GROUP: add_up(r.figures for r in report.by_group),
        CheckKind.BY_MONTH: add_up(r.figures for r in report.by_month),
    }
    checks: list[Check] = []
    for payer in PAYERS:
        expected = ledger_fen.get(payer.value, 0)
        for kind, figures in tables.items():
            checks.append(Check(kind, payer.value, "", "", figures.fen(payer), expected))
        stated = sum(_statement_fen(s, payer) for s in statements.values())
        checks.append(Check(CheckKind.SETTLEMENTS, payer.value, "", "", stated, expected))
        if payer in VISIT_PAYERS:
            off = sum(m.net_fen for m in without_visit if m.payer == payer.value)
            checks.append(Check(CheckKind.ON_VISITS, payer.value, "", "", expected - off, expected))
    checks.extend(_provider_checks(session, report, statements))
    checks.extend(_subtotal_checks(report.by_area))
    return Reconciliation(
        month=month,
        ledger_fen=dict(ledger_fen),
        checks=tuple(checks),
        unattributed=tuple(sorted({m.order_ref for m in report.unattributed})),
        without_visit=tuple(
            sorted(
                {
                    m.order_ref
                    for m in without_visit
                    if m.payer in {p.value for p in VISIT_PAYERS} and m.net_fen != 0
                }
            )
        ),
    )


def _statement_fen(statement: settlement.Statement, payer: Payer) -> int:
    if payer is Payer.SUBSIDY:
        return statement.subsidy_fen
    if payer is Payer.LTC_INSURANCE:
        return statement.ltc_fen
    return statement.household_fen


def _provider_checks(
    session: Session, report: MonthReport, statements: Mapping[int, settlement.Statement]
) -> list[Check]:
    rows = {r.provider_id: r for r in report.by_provider}
    names = repo.provider_names(session, set(statements) - set(rows))
    checks: list[Check] = []
    ordered = sorted(set(rows) | set(statements))
    for pid in ordered:
        row = rows.get(pid)
        if row is not None:
            ref, name, figures = row.provider_ref, row.name, row.figures
        else:
            known = names.get(pid, repo.ProviderName(f"#{pid}", ""))
            ref, name, figures = known.public_id, known.name, Figures()
        statement = statements.get(pid)
        for payer in PAYERS:
            stated = 0 if statement is None else _statement_fen(statement, payer)
            checks.append(
                Check(
                    CheckKind.PROVIDER_STATEMENT, payer.value, ref, name, figures.fen(payer), stated
                )
            )
    return checks
