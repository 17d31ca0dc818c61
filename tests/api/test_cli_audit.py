"""The audit commands: run the rules over a month, list findings, review one."""

from __future__ import annotations

import os
import subprocess
import sys

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


def test_bad_input_is_a_one_line_error(configured: str) -> None:
    for args, message in [
        (["run", "--month", "2026-13"], "month must be YYYY-MM"),
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
