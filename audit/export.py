"""The auditors' export of a month report: CSV files or one XLSX workbook.

Tables: spend by area, provider, group and month; EVV compliance; the field-check sample; the
reconciliation. Money is shown in yuan with two decimals, made exactly from the integer fen
(which sit in the next column); hours to two decimals next to the raw seconds or minutes.
CSV files are UTF-8 with a byte-order mark so that Excel reads Chinese; the workbook has a
sheet per table with a bold, frozen header row and typed numbers. The same report always
gives the same bytes (no timestamps inside).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Literal

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.writer.excel import ExcelWriter  # type: ignore[import-untyped]
from sqlmodel import Session

from audit import reports
from audit.facts import Thresholds
from core.errors import Validation
from core.money import FEN_PER_YUAN, Money
from core.timeutil import to_local

Format = Literal["csv", "xlsx"]
Kind = Literal["text", "int", "yuan", "hours", "percent", "date", "datetime"]
Cell = str | int | Decimal | date | datetime | None

TOTAL = "total"
TOTAL_LABEL = "合计"
_CENT = Decimal("0.01")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_NUMBER_FORMATS: dict[Kind, str] = {
    "int": "0",
    "yuan": "#,##0.00",
    "hours": "0.00",
    "percent": "0.00",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
}


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its header and what its cells hold."""

    key: str
    kind: Kind = "text"


@dataclass(frozen=True, slots=True)
class Table:
    """One exported table: a CSV file's stem and a sheet's name."""

    name: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]


# -- cells ---------------------------------------------------------------------------------------


def yuan(money: Money) -> Decimal:
    """The amount in yuan with exactly two decimals (1250 fen → 12.50)."""
    return (Decimal(money.fen) / FEN_PER_YUAN).quantize(_CENT)


def hours(amount: int, per_hour: int) -> Decimal:
    """Seconds (per_hour 3600) or minutes (60) as hours, to 0.01, half up."""
    return (Decimal(amount) / per_hour).quantize(_CENT, rounding=ROUND_HALF_UP)


def _local(value: datetime | None) -> datetime | None:
    """An instant as the Asia/Shanghai wall-clock time, without zone (what a sheet can hold)."""
    return None if value is None else to_local(value).replace(tzinfo=None)


def _money_columns(prefix: str) -> tuple[Column, Column]:
    return Column(f"{prefix}_yuan", "yuan"), Column(f"{prefix}_fen", "int")


def _money_cells(fen: int) -> tuple[Decimal, int]:
    return yuan(Money(fen)), fen


FIGURE_COLUMNS = (
    Column("visits", "int"),
    Column("subsidised_visits", "int"),
    Column("actual_hours", "hours"),
    Column("actual_seconds", "int"),
    Column("billed_hours", "hours"),
    Column("billed_minutes", "int"),
    *_money_columns("subsidy"),
    *_money_columns("ltc_insurance"),
    *_money_columns("household"),
    *_money_columns("total"),
)


def _figure_cells(f: reports.Figures) -> tuple[Cell, ...]:
    return (
        f.visits,
        f.subsidised_visits,
        hours(f.actual_seconds, 3600),
        f.actual_seconds,
        hours(f.billed_minutes, 60),
        f.billed_minutes,
        *_money_cells(f.subsidy_fen),
        *_money_cells(f.ltc_insurance_fen),
        *_money_cells(f.household_fen),
        *_money_cells(f.total_fen),
    )


# -- tables --------------------------------------------------------------------------------------


def _area_table(report: reports.MonthReport) -> Table:
    keys = ("level", "district_code", "district_name", "street_code", "street_name")
    columns = tuple(Column(k) for k in (*keys, "community_code", "community_name"))
    rows = tuple(
        (
            r.level.value,
            r.district_code,
            r.district_name,
            r.street_code,
            r.street_name,
            r.community_code,
            r.community_name,
            *_figure_cells(r.figures),
        )
        for r in report.by_area
    )
    return Table("spend_by_area", columns + FIGURE_COLUMNS, rows)


def _provider_table(report: reports.MonthReport) -> Table:
    rows = [(r.provider_ref, r.name, *_figure_cells(r.figures)) for r in report.by_provider]
    total = reports.add_up(r.figures for r in report.by_provider)
    rows.append((TOTAL, TOTAL_LABEL, *_figure_cells(total)))
    columns = (Column("provider_ref"), Column("provider_name"), *FIGURE_COLUMNS)
    return Table("spend_by_provider", columns, tuple(rows))


def _group_table(report: reports.MonthReport) -> Table:
    rows = [(r.group, r.label, *_figure_cells(r.figures)) for r in report.by_group]
    total = reports.add_up(r.figures for r in report.by_group)
    rows.append((TOTAL, TOTAL_LABEL, *_figure_cells(total)))
    columns = (Column("group"), Column("group_label"), *FIGURE_COLUMNS)
    return Table("spend_by_group", columns, tuple(rows))


def _month_table(report: reports.MonthReport) -> Table:
    rows = tuple((r.month, *_figure_cells(r.figures)) for r in report.by_month)
    return Table("spend_by_month", (Column("month"), *FIGURE_COLUMNS), rows)


def _evv_table(report: reports.MonthReport) -> Table:
    columns = (
        Column("provider_ref"),
        Column("provider_name"),
        Column("visits", "int"),
        Column("verified", "int"),
        Column("verified_after_edit", "int"),
        Column("exceptions", "int"),
        Column("compliance_percent", "percent"),
    )
    rows: list[tuple[Cell, ...]] = [
        (
            r.provider_ref,
            r.name,
            r.visits,
            r.verified,
            r.verified_after_edit,
            r.exceptions,
            r.compliance_percent,
        )
        for r in report.evv
    ]
    total = reports.EvvRow(
        provider_id=0,
        provider_ref=TOTAL,
        name=TOTAL_LABEL,
        visits=sum(r.visits for r in report.evv),
        verified=sum(r.verified for r in report.evv),
        verified_after_edit=sum(r.verified_after_edit for r in report.evv),
        exceptions=sum(r.exceptions for r in report.evv),
    )
    rows.append(
        (
            total.provider_ref,
            total.name,
            total.visits,
            total.verified,
            total.verified_after_edit,
            total.exceptions,
            total.compliance_percent,
        )
    )
    return Table("evv_compliance", columns, tuple(rows))


def _sample_table(report: reports.MonthReport) -> Table:
    columns = (
        Column("draw", "int"),
        Column("visit_ref"),
        Column("order_ref"),
        Column("service_date", "date"),
        Column("check_in_at", "datetime"),
        Column("check_out_at", "datetime"),
        Column("provider_name"),
        Column("worker_name"),
        Column("district_name"),
        Column("community_name"),
        Column("address"),
        Column("recipient"),
        Column("group"),
        *_money_columns("subsidy"),
        Column("evv_status"),
        Column("month"),
        Column("seed"),
        Column("population", "int"),
    )
    rows = tuple(
        (
            s.draw,
            s.visit_ref,
            s.order_ref,
            s.service_date,
            _local(s.check_in_at),
            _local(s.check_out_at),
            s.provider_name,
            s.worker_name,
            s.district_name,
            s.community_name,
            s.address,
            s.recipient,
            s.group,
            *_money_cells(s.subsidy_fen),
            s.evv_status,
            report.month,
            report.sample_seed,
            report.sample_population,
        )
        for s in report.sample
    )
    return Table("sample", columns, rows)


def _reconciliation_table(reconciliation: reports.Reconciliation) -> Table:
    columns = (
        Column("check"),
        Column("payer"),
        Column("subject"),
        Column("name"),
        *_money_columns("value"),
        *_money_columns("expected"),
        Column("difference_fen", "int"),
        Column("ok"),
    )
    rows: list[tuple[Cell, ...]] = [
        ("ledger", payer.value, "", "", *_money_cells(fen), *_money_cells(fen), 0, "yes")
        for payer in reports.PAYERS
        for fen in [reconciliation.ledger_fen.get(payer.value, 0)]
    ]
    rows.extend(
        (
            c.kind.value,
            c.payer,
            c.subject,
            c.name,
            *_money_cells(c.fen),
            *_money_cells(c.expected_fen),
            c.difference_fen,
            "yes" if c.ok else "no",
        )
        for c in reconciliation.checks
    )
    return Table("reconciliation", columns, tuple(rows))


def report_tables(
    report: reports.MonthReport, reconciliation: reports.Reconciliation
) -> tuple[Table, ...]:
    """The report and its reconciliation as the tables the export writes, in sheet order."""
    return (
        _area_table(report),
        _provider_table(report),
        _group_table(report),
        _month_table(report),
        _evv_table(report),
        _sample_table(report),
        _reconciliation_table(reconciliation),
    )


# -- writers -------------------------------------------------------------------------------------


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(tables: Sequence[Table], out_dir: Path) -> list[Path]:
    """A ``<table>.csv`` per table in ``out_dir`` (UTF-8 with BOM, CRLF lines)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for table in tables:
        path = out_dir / f"{table.name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.key for c in table.columns])
            writer.writerows([_csv_cell(v) for v in row] for row in table.rows)
        paths.append(path)
    return paths


def _stable_zip(data: bytes) -> bytes:
    """The same archive with every member's timestamp fixed, so equal content is equal bytes."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_EPOCH)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def write_xlsx(tables: Sequence[Table], path: Path, *, title: str = "") -> Path:
    """One workbook with a sheet per table: bold frozen header, typed and formatted cells."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in tables:
        sheet = workbook.create_sheet(table.name[:31])
        sheet.append([c.key for c in table.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for row in table.rows:
            sheet.append(list(row))
        for index, column in enumerate(table.columns, start=1):
            letter = get_column_letter(index)
            widest = max([len(column.key)] + [len(_csv_cell(r[index - 1])) for r in table.rows])
            sheet.column_dimensions[letter].width = min(max(widest + 2, 8), 60)
            number_format = _NUMBER_FORMATS.get(column.kind)
            if number_format is not None:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = number_format
    fixed = datetime(2000, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    workbook.properties.creator = "Linli"
    workbook.properties.title = title
    workbook.properties.created = workbook.properties.modified = fixed
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_stable_zip(buffer.getvalue()))
    return path


def export_report(
    report: reports.MonthReport,
    reconciliation: reports.Reconciliation,
    fmt: Format,
    out_dir: Path,
) -> list[Path]:
    """Write a report already built: the CSV files, or ``linli-audit-YYYY-MM.xlsx``."""
    tables = report_tables(report, reconciliation)
    if fmt == "csv":
        return write_csv(tables, out_dir)
    if fmt == "xlsx":
        path = out_dir / f"linli-audit-{report.month}.xlsx"
        return [write_xlsx(tables, path, title=f"Linli audit {report.month}")]
    raise Validation(f"format must be csv or xlsx, got {fmt!r}")


def export_month(
    session: Session,
    month: str,
    fmt: Format,
    out_dir: Path,
    *,
    sample_size: int = reports.DEFAULT_SAMPLE_SIZE,
    sample_seed: str = reports.DEFAULT_SAMPLE_SEED,
    thresholds: Thresholds | None = None,
) -> list[Path]:
    """Build, reconcile and write the month's report; the paths written, in table order."""
    if fmt not in ("csv", "xlsx"):
        raise Validation(f"format must be csv or xlsx, got {fmt!r}")
    report = reports.month_report(
        session, month, sample_size=sample_size, sample_seed=sample_seed, thresholds=thresholds
    )
    return export_report(report, reports.reconcile(report, session), fmt, out_dir)
