"""The audit commands: run the rules over a month, list findings, review one."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from core.db import read_only, unit_of_work
from marketplace.providers.models import Provider
from pricing import repository as pricing_repo
from pricing.models import EntryKind
from tests import factories as f
from tests.audit.test_repository import _dibao_order, _visit

runner = CliRunner()


def _covered_visit() -> str:
    """A subsidised visit done by a colleague of the booked worker; its order's public id."""
    with unit_of_work() as session:
        order, _ = _dibao_order(session)
        provider = session.get(Provider, order.provider_id)
        assert provider is not None
        _visit(session, order, by=f.make_worker(session, provider=provider, name="王师傅"))
        return order.public_id


def test_run_list_and_confirm_a_finding(configured: str) -> None:
    order_ref = _covered_visit()
    ran = runner.invoke(app, ["audit", "run", "--month", "2026-12"])
    assert ran.exit_code == 0, ran.output
    first, *per_rule = ran.output.splitlines()
    assert ": 1 visits, 1 hits, 1 new findings; ledger ok;" in first
    assert [line.split() for line in per_rule] == [["other_worker", "1"]]

    listed = runner.invoke(app, ["audit", "findings", "--month", "2026-12"])
    assert listed.exit_code == 0, listed.output
    (line,) = listed.output.splitlines()
    finding, status, severity, rule, subsidy, _summary = line.split("\t")
    assert (status, rule, subsidy) == ("open", "other_worker", "¥64.00")
    assert severity in {"low", "medium", "high", "critical"}

    reviewed = runner.invoke(
        app,
        [
            *("audit", "review", finding, "--to", "confirmed"),
            *("--reason", "unqualified_worker", "--actor", "auditor:李"),
        ],
    )
    assert reviewed.exit_code == 0, reviewed.output
    assert reviewed.output == f"{finding} confirmed; ¥64.00 of subsidy clawed back\n"
    with read_only() as session:
        kinds = [e.kind for e in pricing_repo.entries_of_order(session, order_ref)]
    assert kinds.count(EntryKind.REVERSAL) == 1
    confirmed = runner.invoke(app, ["audit", "findings", "--month", "2026-12", "--status", "open"])
    assert confirmed.output == "no findings for 2026-12\n"


def test_export_writes_csv_and_xlsx_that_reconcile(configured: str, tmp_path: Path) -> None:
    _covered_visit()
    for fmt, names in [
        ("csv", {"spend_by_area.csv", "evv_compliance.csv", "sample.csv", "reconciliation.csv"}),
        ("xlsx", {"linli-audit-2026-12.xlsx"}),
    ]:
        out = tmp_path / fmt
        done = runner.invoke(
            app, ["audit", "export", "--month", "2026-12", "--format", fmt, "--out", str(out)]
        )
        assert done.exit_code == 0, done.output
        *paths, verdict = done.output.splitlines()
        assert names <= {Path(p).name for p in paths} and all(Path(p).exists() for p in paths)
        assert verdict == "reconciles with the ledger and the settlements to the fen (2026-12)"
    with (tmp_path / "csv" / "spend_by_provider.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["provider_ref"], r["subsidy_fen"]) for r in rows][-1] == ("total", "6400")


def test_bad_input_is_a_one_line_error(configured: str) -> None:
    for args, message in [
        (["run", "--month", "2026-13"], "month must be YYYY-MM"),
        (["export", "--month", "2026-12", "--format", "pdf"], "--format must be csv or xlsx"),
        (["run", "--month", "2026-12", "--rule", "nope"], "unknown rules: nope"),
        (["findings", "--month", "2026-12", "--status", "closed"], "--status"),
        (["review", "fnd_x", "--to", "confirmed", "--reason", "x", "--actor", "a"], "--reason"),
        (
            ["review", "fnd_x", "--to", "confirmed", "--reason", "overbilled", "--actor", "a"],
            "finding fnd_x does not exist",
        ),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", "audit", *args],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            timeout=120,
            check=False,
        )
        assert done.returncode != 0 and done.stdout == "", (args, done.stdout)
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, lines)
        assert message in lines[0], (args, lines)


def test_demo_history_then_an_audit_that_finds_nothing(configured: str) -> None:
    seeded = runner.invoke(
        app, ["demo", "seed", "--households", "150", "--start-date", "2026-11-23", "--no-progress"]
    )
    assert seeded.exit_code == 0, seeded.output
    made = runner.invoke(app, ["demo", "history", "--month", "2026-10", "--visits", "300"])
    assert made.exit_code == 0, made.output
    assert made.output.startswith("2026-10: 300 visits by ")
    again = runner.invoke(
        app, ["demo", "history", "--month", "2026-10", "--visits", "300", "--if-empty"]
    )
    assert (again.exit_code, again.output) == (
        0,
        "demo history skipped: 2026-10 already has 300 visits\n",
    )
    refused = runner.invoke(app, ["demo", "history", "--month", "2026-10", "--visits", "300"])
    assert refused.exit_code != 0 and "already has 300 visits" in str(refused.exception)
    ran = runner.invoke(app, ["audit", "run", "--month", "2026-10"])
    assert ran.exit_code == 0, ran.output
    assert ": 300 visits, 0 hits, 0 new findings; ledger ok;" in ran.output


def test_account_create_makes_the_first_administrator(
    configured: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINLI_NEW_PASSWORD", "first-admin-password")
    made = runner.invoke(
        app, ["account", "create", "--username", "boss", "--role", "admin", "--civil-affairs"]
    )
    assert made.exit_code == 0, made.output
    assert made.output.startswith("account usr_") and "(boss, admin) created" in made.output
    with read_only() as session:
        from marketplace.accounts import service as accounts_service

        account = accounts_service.authenticate(session, "boss", "first-admin-password")
        assert account.civil_affairs
    monkeypatch.setenv("LINLI_NEW_PASSWORD", "short")
    refused = runner.invoke(app, ["account", "create", "--username", "boss2", "--role", "admin"])
    assert refused.exit_code != 0 and "--password" in str(refused.exception)
