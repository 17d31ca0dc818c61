"""Auditors' reports: spend and hours by area, provider, group and month; EVV compliance; the
field-check sample; reconciliation with the ledger and settlements; CSV and XLSX exports.

The month is built through the real services: two districts (one street with two
communities), two providers, the groups 低保, 80+ and none, long-term-care insurance, a
late cancellation with a fee, and visits that are verified, verified after an edit, and not.
Expected figures come from the orders' quotes, not from the ledger the reports read.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import random
import zipfile
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlmodel import Session

from audit import export, reports
from audit import repository as audit_repo
from audit.reports import CheckKind, Figures, RowLevel
from core.errors import Validation
from core.timeutil import local_datetime
from marketplace.geography.models import Area
from marketplace.households import service as households_service
from marketplace.households.models import Household, Member, ProtectedCategory
from marketplace.households.schemas import LtcEntitlementCreate
from marketplace.orders import service as orders_service
from marketplace.orders.models import Order
from marketplace.orders.schemas import OrderCreate
from marketplace.providers.models import Provider
from marketplace.visits import service as visits_service
from marketplace.visits.models import CheckMethod, EditReason
from pricing import ledger
from pricing.ledger import EntryDraft
from pricing.models import EntryKind, Payer
from pricing.policy import ServiceClass
from tests import factories as f

MONTH = "2026-12"
DISTRICT_A, DISTRICT_B = "350102", "350104"
NINE = local_datetime(f.DAY, time(9))
ORDERED = local_datetime(date(2026, 11, 20), time(10))
CLEANING, CARE = "domestic.cleaning", "elderly_care.daily_living"


@dataclass
class Month:
    """The month's rows: homes, providers and orders (o5 cancelled late, never visited)."""

    p1: Provider
    p2: Provider
    a1: Household  # district A, street S1, community C1
    a2: Household  # district A, street S1, community C2
    b1: Household  # district B
    o1: Order  # 低保 cleaning by p1 at a1: GPS both ends at home → verified
    o2: Order  # 80+ care by p1 at a2: QR in, manual out → verified after edit
    o3: Order  # 80+ insured care by p2 at b1: GPS at home → verified
    o4: Order  # unsubsidised cleaning by p2 at b1: GPS 1 km away → exception
    o5: Order  # unsubsidised cleaning by p2 at a1, cancelled late: household fee only
    minutes: dict[str, int]  # visit length per order ref


def _order(
    session: Session, member: Member, provider: Provider, item_code: str, minutes: int = 120
) -> Order:
    item = f.item(session, item_code)
    assert member.id and provider.id and item.id
    order = orders_service.create_order(
        session,
        OrderCreate(
            household_id=member.household_id,
            recipient_member_id=member.id,
            provider_id=provider.id,
            item_id=item.id,
            service_date=f.DAY,
            windows=[f.window(f.DAY, time(9), time(12))],
            duration_minutes=minutes,
        ),
        actor="household",
        now=ORDERED,
    )
    return orders_service.confirm(session, order, actor="provider", now=ORDERED)


def _serve(
    session: Session,
    order: Order,
    *,
    minutes: int,
    check_in: CheckMethod = CheckMethod.GPS,
    check_out: CheckMethod = CheckMethod.GPS,
    away_m: int = 0,
) -> None:
    provider = session.get(Provider, order.provider_id)
    household = session.get(Household, order.household_id)
    assert provider is not None and household is not None
    worker = f.make_worker(session, provider=provider, name="李阿姨")
    assert worker.id is not None
    orders_service.schedule(session, order, worker_id=worker.id, start=NINE, actor="dispatcher")
    lat = household.lat + away_m / 111_000

    def where(method: CheckMethod) -> tuple[float | None, float | None]:
        return (lat, household.lon) if method is CheckMethod.GPS else (None, None)

    def reason(method: CheckMethod) -> EditReason | None:
        return EditReason.NO_SIGNAL if method is CheckMethod.MANUAL else None

    start = NINE + timedelta(minutes=3)
    visits_service.check_in(
        session,
        order,
        worker_id=worker.id,
        at=start,
        method=check_in,
        actor="worker",
        reason_code=reason(check_in),
        lat=where(check_in)[0],
        lon=where(check_in)[1],
    )
    visits_service.check_out(
        session,
        order,
        at=start + timedelta(minutes=minutes),
        method=check_out,
        actor="staff:王" if check_out is CheckMethod.MANUAL else "worker",
        reason_code=reason(check_out),
        lat=where(check_out)[0],
        lon=where(check_out)[1],
    )


def _beside(session: Session, home: Household) -> tuple[Household, Member]:
    """A home in another community of ``home``'s street (its elder is 86: 80+)."""
    other, elder = f.make_household(session, district_code=DISTRICT_A)
    community = session.get(Area, other.community_id)
    assert community is not None
    community.parent_id = home.street_id
    other.street_id = home.street_id
    session.add_all([community, other])
    session.flush()
    return other, elder


def _month(session: Session) -> Month:
    p1, p2 = f.make_provider(session), f.make_provider(session)
    a1, _ = f.make_household(session, district_code=DISTRICT_A)
    dibao = f.add_member(session, a1, name="陈阿姨")
    f.grant_status(session, dibao, ProtectedCategory.DIBAO)
    a2, elder_a2 = _beside(session, a1)
    b1, elder_b1 = f.make_household(session, district_code=DISTRICT_B)
    assert elder_b1.id is not None
    households_service.add_ltc_entitlement(
        session,
        elder_b1.id,
        LtcEntitlementCreate(
            scheme="福州长护险",
            service_classes=[ServiceClass.CARE],
            share_percent=40,
            monthly_limit_fen=100_000,
            valid_from=date(2026, 1, 1),
            recorded_by="test:insurer",
        ),
    )
    o1 = _order(session, dibao, p1, CLEANING)
    _serve(session, o1, minutes=118)
    o2 = _order(session, elder_a2, p1, CARE, minutes=60)
    _serve(session, o2, minutes=57, check_in=CheckMethod.QR, check_out=CheckMethod.MANUAL)
    o3 = _order(session, elder_b1, p2, CARE)
    _serve(session, o3, minutes=121)
    o4 = _order(session, f.add_member(session, b1, name="林先生"), p2, CLEANING)
    _serve(session, o4, minutes=90, away_m=1000)
    o5 = _order(session, f.add_member(session, a1, name="郑女士"), p2, CLEANING)
    orders_service.cancel(
        session, o5, actor="household", reason="away", now=NINE - timedelta(hours=1)
    )
    minutes = {o1.public_id: 118, o2.public_id: 57, o3.public_id: 121, o4.public_id: 90}
    return Month(p1, p2, a1, a2, b1, o1, o2, o3, o4, o5, minutes)


def _figures(m: Month, *orders: Order) -> Figures:
    """What the orders' quotes (and a cancelled order's fee) say a row must add up to."""
    total = Figures()
    for o in orders:
        if o.public_id not in m.minutes:
            total += Figures(household_fen=o.cancellation_fee_fen)
            continue
        billed = o.price_breakdown["billed_minutes"] * o.quantity
        total += Figures(
            visits=1,
            subsidised_visits=int(o.subsidy_fen > 0),
            actual_seconds=m.minutes[o.public_id] * 60,
            billed_minutes=billed,
            subsidy_fen=o.subsidy_fen,
            ltc_insurance_fen=o.ltc_fen,
            household_fen=o.copay_fen,
        )
    return total


def _area(report: reports.MonthReport, level: RowLevel, code: str) -> Figures:
    (row,) = [r for r in report.by_area if r.level is level and r.code == code]
    return row.figures


def _code(session: Session, area_id: int | None) -> str:
    assert area_id is not None
    area = session.get(Area, area_id)
    assert area is not None
    return area.code


def test_the_scenario_is_what_the_expectations_assume(session: Session) -> None:
    m = _month(session)
    assert (m.o1.subsidy_fen, m.o1.copay_fen, m.o1.price_breakdown["group"]) == (
        6400,
        1600,
        "dibao",
    )
    assert (m.o3.ltc_fen, m.o3.subsidy_fen, m.o3.copay_fen) == (3600, 4500, 900)
    assert m.o2.price_breakdown["group"] == "age80" and m.o2.subsidy_fen > 0
    assert m.o4.subsidy_fen == m.o4.ltc_fen == 0 and m.o4.price_breakdown.get("group") is None
    assert m.o5.cancellation_fee_fen == (m.o5.copay_fen * 20 + 50) // 100 > 0


class TestMonthReport:
    def test_spend_and_hours_by_area_with_subtotals(self, session: Session) -> None:
        m = _month(session)
        report = reports.month_report(session, MONTH)
        c1, c2 = _code(session, m.a1.community_id), _code(session, m.a2.community_id)
        s1, cb = _code(session, m.a1.street_id), _code(session, m.b1.community_id)
        assert _area(report, RowLevel.COMMUNITY, c1) == _figures(m, m.o1, m.o5)
        assert _area(report, RowLevel.COMMUNITY, c2) == _figures(m, m.o2)
        assert _area(report, RowLevel.STREET, s1) == _figures(m, m.o1, m.o5, m.o2)
        assert _area(report, RowLevel.DISTRICT, DISTRICT_A) == _figures(m, m.o1, m.o2, m.o5)
        assert _area(report, RowLevel.COMMUNITY, cb) == _figures(m, m.o3, m.o4)
        assert _area(report, RowLevel.DISTRICT, DISTRICT_B) == _figures(m, m.o3, m.o4)
        everything = _figures(m, m.o1, m.o2, m.o3, m.o4, m.o5)
        assert report.total == everything and report.by_area[-1].level is RowLevel.TOTAL
        assert report.by_month == (reports.MonthRow(MONTH, everything),)
        # Communities, then their street, then the district; districts by code.
        assert [(r.level.value, r.code) for r in report.by_area] == [
            ("community", min(c1, c2)),
            ("community", max(c1, c2)),
            ("street", s1),
            ("district", DISTRICT_A),
            ("community", cb),
            ("street", _code(session, m.b1.street_id)),
            ("district", DISTRICT_B),
            ("total", ""),
        ]
        assert everything.actual_seconds == (118 + 57 + 121 + 90) * 60

    def test_spend_by_provider_and_by_group(self, session: Session) -> None:
        m = _month(session)
        report = reports.month_report(session, MONTH)
        assert {r.provider_ref: r.figures for r in report.by_provider} == {
            m.p1.public_id: _figures(m, m.o1, m.o2),
            m.p2.public_id: _figures(m, m.o3, m.o4, m.o5),
        }
        assert [r.name for r in report.by_provider] == sorted([m.p1.name, m.p2.name])
        assert [(r.group, r.label, r.figures) for r in report.by_group] == [
            ("dibao", "低保", _figures(m, m.o1)),
            ("age80", "80岁以上", _figures(m, m.o2, m.o3)),
            ("none", "无补贴", _figures(m, m.o4, m.o5)),
        ]

    def test_evv_compliance_per_provider(self, session: Session) -> None:
        m = _month(session)
        report = reports.month_report(session, MONTH)
        counts = {
            r.provider_ref: (r.visits, r.verified, r.verified_after_edit, r.exceptions)
            for r in report.evv
        }
        assert counts == {m.p1.public_id: (2, 1, 1, 0), m.p2.public_id: (2, 1, 0, 1)}
        assert {r.compliance_percent for r in report.evv} == {Decimal("50.00")}

    def test_a_clawback_lowers_every_table_alike_and_still_reconciles(
        self, session: Session
    ) -> None:
        m = _month(session)
        before = reports.month_report(session, MONTH)
        orders_service.refund(
            session, m.o1, amount_fen=1400, payer=Payer.SUBSIDY, reason="audit", actor="auditor"
        )
        after = reports.month_report(session, MONTH)
        less = Figures(subsidy_fen=1400)
        c1 = _code(session, m.a1.community_id)
        assert _area(after, RowLevel.COMMUNITY, c1) + less == _area(before, RowLevel.COMMUNITY, c1)
        assert after.total + less == before.total
        assert after.by_group[0].figures + less == before.by_group[0].figures
        p1 = {r.provider_ref: r.figures for r in after.by_provider}[m.p1.public_id]
        assert p1 + less == _figures(m, m.o1, m.o2)
        reconciliation = reports.reconcile(after, session)
        assert reconciliation.ok, [c.describe() for c in reconciliation.differences]
        assert reconciliation.ledger_fen["subsidy"] == before.total.subsidy_fen - 1400

    def test_months_report_has_a_row_per_month(self, session: Session) -> None:
        m = _month(session)
        rows = reports.months_report(session, "2026-11", "2027-01")
        assert [r.month for r in rows] == ["2026-11", "2026-12", "2027-01"]
        assert rows[1].figures == _figures(m, m.o1, m.o2, m.o3, m.o4, m.o5)
        assert rows[0].figures == rows[2].figures == Figures()
        assert reports.add_up(r.figures for r in rows) == rows[1].figures
        with pytest.raises(Validation):
            reports.months_report(session, "2027-01", "2026-12")

    def test_a_month_without_work_has_only_an_empty_total(self, session: Session) -> None:
        report = reports.month_report(session, MONTH)
        assert [r.level for r in report.by_area] == [RowLevel.TOTAL]
        assert report.total == Figures()
        assert (report.by_provider, report.by_group, report.evv, report.sample) == ((),) * 4
        assert reports.reconcile(report, session).ok

    @pytest.mark.parametrize("month", ["2026-13", "2026-1", "december"])
    def test_a_bad_month_is_refused(self, session: Session, month: str) -> None:
        with pytest.raises(Validation, match="YYYY-MM"):
            reports.month_report(session, month)


class TestReconcile:
    def test_a_built_month_reconciles_to_the_fen(self, session: Session) -> None:
        m = _month(session)
        report = reports.month_report(session, MONTH)
        reconciliation = reports.reconcile(report, session)
        assert reconciliation.ok, [c.describe() for c in reconciliation.differences]
        everything = _figures(m, m.o1, m.o2, m.o3, m.o4, m.o5)
        assert dict(reconciliation.ledger_fen) == {
            "subsidy": everything.subsidy_fen,
            "ltc_insurance": everything.ltc_insurance_fen,
            "household": everything.household_fen,
        }
        kinds = {(c.kind, c.payer) for c in reconciliation.checks}
        for payer in ("subsidy", "ltc_insurance", "household"):
            for kind in (CheckKind.BY_AREA, CheckKind.BY_PROVIDER, CheckKind.SETTLEMENTS):
                assert (kind, payer) in kinds
        statements = [c for c in reconciliation.checks if c.kind is CheckKind.PROVIDER_STATEMENT]
        assert {c.subject for c in statements} == {m.p1.public_id, m.p2.public_id}
        assert reconciliation.unattributed == reconciliation.without_visit == ()

    def test_a_changed_row_is_reported(self, session: Session) -> None:
        _month(session)
        report = reports.month_report(session, MONTH)
        i, row = next((i, r) for i, r in enumerate(report.by_area) if r.level is RowLevel.COMMUNITY)
        changed = dataclasses.replace(
            row, figures=row.figures + Figures(subsidy_fen=1)
        )  # one fen more in one community
        tampered = dataclasses.replace(
            report, by_area=(*report.by_area[:i], changed, *report.by_area[i + 1 :])
        )
        reconciliation = reports.reconcile(tampered, session)
        assert not reconciliation.ok
        assert {(c.kind, c.subject, c.difference_fen) for c in reconciliation.differences} == {
            (CheckKind.BY_AREA, "", 1),
            (CheckKind.AREA_SUBTOTAL, row.street_code, -1),  # the street's row is now 1 short
        }

    def test_a_changed_provider_row_disagrees_with_its_statement(self, session: Session) -> None:
        m = _month(session)
        report = reports.month_report(session, MONTH)
        first = report.by_provider[0]
        changed = dataclasses.replace(first, figures=first.figures + Figures(household_fen=-5))
        tampered = dataclasses.replace(report, by_provider=(changed, *report.by_provider[1:]))
        differences = reports.reconcile(tampered, session).differences
        assert {(c.kind, c.payer, c.subject, c.difference_fen) for c in differences} == {
            (CheckKind.BY_PROVIDER, "household", "", -5),
            (CheckKind.PROVIDER_STATEMENT, "household", first.provider_ref, -5),
        }
        assert first.provider_ref in {m.p1.public_id, m.p2.public_id}

    def test_ledger_money_without_an_order_is_found(self, session: Session) -> None:
        m = _month(session)
        assert m.p1.id is not None
        ledger.append(
            session,
            EntryDraft(
                idempotency_key="forged:consume",
                kind=EntryKind.CONSUME,
                payer=Payer.SUBSIDY,
                order_ref="ord-forged",
                member_id=1,
                provider_id=m.p1.id,
                district_code=DISTRICT_A,
                month=MONTH,
                amount_fen=2500,
                actor="someone",
            ),
        )
        report = reports.month_report(session, MONTH)
        assert [(u.order_ref, u.net_fen) for u in report.unattributed] == [("ord-forged", 2500)]
        assert report.total == _figures(m, m.o1, m.o2, m.o3, m.o4, m.o5)  # attributed nowhere
        reconciliation = reports.reconcile(report, session)
        assert reconciliation.unattributed == reconciliation.without_visit == ("ord-forged",)
        off = {(c.kind, c.subject, c.difference_fen) for c in reconciliation.differences}
        assert off == {
            (CheckKind.BY_AREA, "", -2500),
            (CheckKind.AREA_TOTAL_ROW, "", -2500),
            (CheckKind.BY_PROVIDER, "", -2500),
            (CheckKind.BY_GROUP, "", -2500),
            (CheckKind.BY_MONTH, "", -2500),
            (CheckKind.ON_VISITS, "", -2500),
            (CheckKind.PROVIDER_STATEMENT, m.p1.public_id, -2500),
        }
        assert {c.payer for c in reconciliation.differences} == {"subsidy"}

    def test_subsidy_consumed_for_an_order_never_visited_is_found(self, session: Session) -> None:
        m = _month(session)
        unvisited = _order(session, f.add_member(session, m.a1, name="黄伯"), m.p1, CLEANING)
        ledger.append(
            session,
            EntryDraft(
                idempotency_key=f"{unvisited.public_id}:extra",
                kind=EntryKind.CONSUME,
                payer=Payer.SUBSIDY,
                order_ref=unvisited.public_id,
                member_id=unvisited.recipient_member_id,
                provider_id=unvisited.provider_id,
                district_code=DISTRICT_A,
                month=MONTH,
                amount_fen=3000,
                actor="someone",
            ),
        )
        report = reports.month_report(session, MONTH)
        # Attributed like any order's money, so the tables agree with the ledger and statements…
        assert report.total.subsidy_fen == _figures(m, m.o1, m.o2, m.o3).subsidy_fen + 3000
        reconciliation = reports.reconcile(report, session)
        # …but it is not backed by a visit.
        assert [(c.kind, c.payer, c.difference_fen) for c in reconciliation.differences] == [
            (CheckKind.ON_VISITS, "subsidy", -3000)
        ]
        assert reconciliation.without_visit == (unvisited.public_id,)


class TestSample:
    def test_the_sample_is_reproducible_and_follows_the_seed(self, session: Session) -> None:
        m = _month(session)
        report = reports.month_report(session, MONTH, sample_size=2, sample_seed="2027 spot check")
        again = reports.month_report(session, MONTH, sample_size=2, sample_seed="2027 spot check")
        assert report.sample == again.sample and len(report.sample) == 2
        assert report.sample_population == 3  # o1, o2, o3 carry subsidy; o4 does not
        subsidised = {m.o1.public_id, m.o2.public_id, m.o3.public_id}
        assert {s.order_ref for s in report.sample} <= subsidised
        samples = {
            tuple(
                s.visit_ref
                for s in reports.month_report(
                    session, MONTH, sample_size=2, sample_seed=seed
                ).sample
            )
            for seed in (f"seed {n}" for n in range(12))
        }
        assert len(samples) > 1

    def test_the_draw_is_the_published_procedure_whatever_the_row_order(
        self, session: Session
    ) -> None:
        _month(session)
        visits = audit_repo.month_visits(session, MONTH)
        drawn = reports.draw_sample(visits, month=MONTH, seed="x", size=2)
        assert reports.draw_sample(visits[::-1], month=MONTH, seed="x", size=2) == drawn
        pool = sorted((v for v in visits if v.subsidy_fen > 0), key=lambda v: v.visit_ref)
        digest = hashlib.sha256(f"{MONTH}:x".encode()).digest()
        assert drawn == random.Random(int.from_bytes(digest, "big")).sample(pool, 2)
        assert len(reports.draw_sample(visits, month=MONTH, seed="x", size=10)) == len(pool)
        with pytest.raises(Validation):
            reports.draw_sample(visits, month=MONTH, seed="x", size=-1)

    def test_a_sampled_visit_shows_what_a_field_check_needs(self, session: Session) -> None:
        m = _month(session)
        report = reports.month_report(session, MONTH, sample_size=3)
        (row,) = [s for s in report.sample if s.order_ref == m.o1.public_id]
        assert (row.recipient, row.address, row.worker_name) == ("陈**", m.a1.address, "李阿姨")
        assert (row.provider_name, row.group, row.subsidy_fen) == (m.p1.name, "dibao", 6400)
        assert (row.service_date, row.evv_status) == (f.DAY, "verified")
        assert sorted(s.draw for s in report.sample) == [1, 2, 3]

    def test_names_are_masked_after_the_first_character(self) -> None:
        assert reports.mask_name("王奶奶") == "王**"
        assert reports.mask_name("李") == "李*"
        assert reports.mask_name("  ") == "*"


def _csv(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _yuan_of(fen: int) -> Decimal:
    return Decimal(fen) / 100


class TestExport:
    def test_csv_files_hold_the_reports_figures(self, session: Session, tmp_path: Path) -> None:
        m = _month(session)
        paths = export.export_month(session, MONTH, "csv", tmp_path, sample_size=2)
        assert [p.name for p in paths] == [
            "spend_by_area.csv",
            "spend_by_provider.csv",
            "spend_by_group.csv",
            "spend_by_month.csv",
            "evv_compliance.csv",
            "sample.csv",
            "reconciliation.csv",
        ]
        report = reports.month_report(session, MONTH, sample_size=2)
        area = _csv(tmp_path / "spend_by_area.csv")
        assert len(area) == len(report.by_area)
        for line, row in zip(area, report.by_area, strict=True):
            assert (line["level"], line["community_name"]) == (row.level.value, row.community_name)
            assert int(line["subsidy_fen"]) == row.figures.subsidy_fen
            assert Decimal(line["subsidy_yuan"]) == _yuan_of(row.figures.subsidy_fen)
            assert int(line["household_fen"]) == row.figures.household_fen
            assert int(line["actual_seconds"]) == row.figures.actual_seconds
        total = area[-1]
        everything = _figures(m, m.o1, m.o2, m.o3, m.o4, m.o5)
        assert int(total["total_fen"]) == everything.total_fen
        assert (
            total["total_yuan"] == f"{everything.total_fen // 100}.{everything.total_fen % 100:02d}"
        )
        assert Decimal(total["actual_hours"]) == Decimal(everything.actual_seconds / 3600).quantize(
            Decimal("0.01")
        )
        providers = _csv(tmp_path / "spend_by_provider.csv")
        assert {p["provider_ref"]: int(p["ltc_insurance_fen"]) for p in providers} == {
            m.p1.public_id: 0,
            m.p2.public_id: m.o3.ltc_fen,
            "total": m.o3.ltc_fen,
        }
        groups = _csv(tmp_path / "spend_by_group.csv")
        assert (groups[0]["group"], groups[0]["group_label"]) == ("dibao", "低保")
        evv = _csv(tmp_path / "evv_compliance.csv")
        assert {e["provider_ref"]: e["compliance_percent"] for e in evv} == {
            m.p1.public_id: "50.00",
            m.p2.public_id: "50.00",
            "total": "50.00",
        }
        sample = _csv(tmp_path / "sample.csv")
        assert [s["visit_ref"] for s in sample] == [s.visit_ref for s in report.sample]
        assert all(s["recipient"].endswith("**") for s in sample)
        assert {s["seed"] for s in sample} == {reports.DEFAULT_SAMPLE_SEED}
        reconciliation = _csv(tmp_path / "reconciliation.csv")
        assert {r["ok"] for r in reconciliation} == {"yes"}
        ledger_rows = {
            r["payer"]: int(r["value_fen"]) for r in reconciliation if r["check"] == "ledger"
        }
        assert ledger_rows == {
            "subsidy": everything.subsidy_fen,
            "ltc_insurance": everything.ltc_insurance_fen,
            "household": everything.household_fen,
        }

    def test_the_workbook_holds_the_same_figures_as_numbers(
        self, session: Session, tmp_path: Path
    ) -> None:
        _month(session)
        (path,) = export.export_month(session, MONTH, "xlsx", tmp_path, sample_size=2)
        assert path.name == f"linli-audit-{MONTH}.xlsx"
        report = reports.month_report(session, MONTH, sample_size=2)
        book = load_workbook(path)
        assert book.sheetnames == [
            "spend_by_area",
            "spend_by_provider",
            "spend_by_group",
            "spend_by_month",
            "evv_compliance",
            "sample",
            "reconciliation",
        ]
        for sheet in book.worksheets:
            assert sheet.freeze_panes == "A2"
            assert all(cell.font.bold for cell in sheet[1])
        sheet = book["spend_by_area"]
        header = [c.value for c in sheet[1]]
        lines = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(2, values_only=True)]
        assert len(lines) == len(report.by_area)
        for line, row in zip(lines, report.by_area, strict=True):
            assert line["subsidy_fen"] == row.figures.subsidy_fen
            assert isinstance(line["subsidy_yuan"], int | float)
            assert Decimal(str(line["subsidy_yuan"])) == _yuan_of(row.figures.subsidy_fen)
            assert Decimal(str(line["total_yuan"])) == _yuan_of(row.figures.total_fen)
            assert line["visits"] == row.figures.visits
        assert sheet.cell(2, header.index("subsidy_yuan") + 1).number_format == "#,##0.00"
        sample = book["sample"]
        assert sample.max_row == 1 + len(report.sample)
        assert sample.cell(2, 4).value.date() == report.sample[0].service_date
        rec = book["reconciliation"]
        ok_column = [c.value for c in rec[1]].index("ok")
        assert {r[ok_column] for r in rec.iter_rows(2, values_only=True)} == {"yes"}

    def test_the_same_month_gives_the_same_bytes(self, session: Session, tmp_path: Path) -> None:
        _month(session)
        first = export.export_month(session, MONTH, "xlsx", tmp_path / "a")
        second = export.export_month(session, MONTH, "xlsx", tmp_path / "b")
        assert first[0].read_bytes() == second[0].read_bytes()
        with zipfile.ZipFile(first[0]) as archive:
            assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        one = export.export_month(session, MONTH, "csv", tmp_path / "c")
        two = export.export_month(session, MONTH, "csv", tmp_path / "d")
        assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]

    def test_a_failed_reconciliation_is_exported_as_such(
        self, session: Session, tmp_path: Path
    ) -> None:
        _month(session)
        report = reports.month_report(session, MONTH)
        tampered = dataclasses.replace(report, by_month=())
        reconciliation = reports.reconcile(tampered, session)
        export.export_report(tampered, reconciliation, "csv", tmp_path)
        failed = [r for r in _csv(tmp_path / "reconciliation.csv") if r["ok"] == "no"]
        assert {(r["check"], r["payer"]) for r in failed} == {
            ("by_month", "subsidy"),
            ("by_month", "ltc_insurance"),
            ("by_month", "household"),
        }
        assert all(int(r["value_fen"]) == 0 < int(r["expected_fen"]) for r in failed)

    def test_an_unknown_format_is_refused(self, session: Session, tmp_path: Path) -> None:
        with pytest.raises(Validation, match="csv or xlsx"):
            export.export_month(session, MONTH, "pdf", tmp_path)  # type: ignore[arg-type]

    def test_yuan_are_exact(self) -> None:
        from core.money import Money

        assert export.yuan(Money(1250)) == Decimal("12.50")
        assert export.yuan(Money(-7)) == Decimal("-0.07")
        assert str(export.yuan(Money(123456789012))) == "1234567890.12"
        assert export.hours(5400, 3600) == Decimal("1.50")
