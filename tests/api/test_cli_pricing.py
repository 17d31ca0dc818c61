"""The policy and ledger commands: list and add policy versions, verify the ledger, statements."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, time
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from core.db import get_engine, unit_of_work
from core.timeutil import local_datetime
from marketplace.households.models import ProtectedCategory
from marketplace.orders import service as orders_service
from marketplace.orders.schemas import OrderCreate
from pricing.policy import policy_to_dict, reference_policy
from tests import factories as f

runner = CliRunner()
ORDERED = local_datetime(date(2026, 11, 20), time(10))


def _policy_file(tmp_path: Path, **changes: object) -> Path:
    data = policy_to_dict(reference_policy())
    data.update(version="fz-2030.1", effective_from="2030-01-01")
    data.update(changes)
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _served_order() -> tuple[str, str]:
    """A 低保 member's cleaning, confirmed and completed; (provider public id, order ref)."""
    with unit_of_work() as session:
        household, _ = f.make_household(session)
        member = f.add_member(session, household)
        f.grant_status(session, member, ProtectedCategory.DIBAO)
        provider = f.make_provider(session)
        worker = f.make_worker(session, provider=provider)
        item = f.item(session, "domestic.cleaning")
        assert member.id and provider.id and item.id and household.id and worker.id
        order = orders_service.create_order(
            session,
            OrderCreate(
                household_id=household.id,
                recipient_member_id=member.id,
                provider_id=provider.id,
                item_id=item.id,
                service_date=f.DAY,
                windows=[f.window(f.DAY, time(9), time(12))],
                duration_minutes=120,
            ),
            actor="household",
            now=ORDERED,
        )
        order = orders_service.confirm(session, order, actor="provider")
        nine = local_datetime(f.DAY, time(9))
        order = orders_service.schedule(session, order, worker_id=worker.id, start=nine, actor="d")
        order = orders_service.start_service(session, order, actor="w")
        order = orders_service.complete(session, order, actor="w")
        return provider.public_id, order.public_id


def test_policy_list_and_add(configured: str, tmp_path: Path) -> None:
    listed = runner.invoke(app, ["policy", "list"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [f"fz-2026.1\tfrom 2026-01-01\t{reference_policy().title}"]
    added = runner.invoke(app, ["policy", "add", str(_policy_file(tmp_path))])
    assert added.exit_code == 0, added.output
    assert "policy fz-2030.1 stored, in force for orders quoted from 2030-01-01" in added.output
    listed = runner.invoke(app, ["policy", "list"])
    assert [line.split("\t")[0] for line in listed.output.splitlines()] == [
        "fz-2026.1",
        "fz-2030.1",
    ]
    again = runner.invoke(app, ["policy", "add", str(_policy_file(tmp_path))])
    assert again.exit_code != 0
    assert "already stored" in str(again.exception)


def test_a_bad_policy_file_is_a_one_line_error_naming_the_path(
    configured: str, tmp_path: Path
) -> None:
    rules = policy_to_dict(reference_policy())["rules"]
    rules["dibao"]["domestic"] = {"kind": "share", "percent": 180}
    bad = _policy_file(tmp_path, rules=rules)
    # Through the console script's entry point, as a user runs it.
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "policy", "add", str(bad)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: $.rules.dibao.domestic.percent: must be between 1 and 100"
    ]


def test_ledger_verify_ok_then_broken(configured: str) -> None:
    empty = runner.invoke(app, ["ledger", "verify"])
    assert (empty.exit_code, empty.output) == (0, "ledger ok: 0 entries\n")
    _served_order()
    ok = runner.invoke(app, ["ledger", "verify"])
    assert (ok.exit_code, ok.output) == (0, "ledger ok: 4 entries\n")

    engine = get_engine()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE ledger_entry DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER ledger_entry_no_update"))
            conn.execute(text("DROP TRIGGER ledger_entry_no_delete"))
        conn.execute(text("UPDATE ledger_entry SET amount_fen = 1 WHERE id = 3"))
    broken = runner.invoke(app, ["ledger", "verify"])
    assert broken.exit_code == 1
    assert broken.output == "ledger broken at entry 3: entry 3's content does not match its hash\n"


def test_ledger_statement(configured: str) -> None:
    provider, order_ref = _served_order()
    result = runner.invoke(
        app, ["ledger", "statement", "--provider", provider, "--month", "2026-12"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"statement of {provider} (")
    assert lines[2].split() == [order_ref, "¥64.00", "¥16.00", "¥0.00", "¥80.00"]
    assert lines[3].split()[-4:] == ["¥64.00", "¥16.00", "¥0.00", "¥80.00"]
    assert lines[-1] == "reconciles with the ledger: yes"

    unknown = runner.invoke(
        app, ["ledger", "statement", "--provider", "prv_nobody", "--month", "2026-12"]
    )
    assert unknown.exit_code != 0
    bad_month = runner.invoke(
        app, ["ledger", "statement", "--provider", provider, "--month", "2026-13"]
    )
    assert bad_month.exit_code != 0


def test_statement_of_another_month_is_empty(configured: str) -> None:
    provider, _ = _served_order()
    result = runner.invoke(
        app, ["ledger", "statement", "--provider", provider, "--month", "2027-01"]
    )
    assert result.exit_code == 0, result.output
    assert "total (0 orders)" in result.output


def test_tariff_set_and_list_then_quotes_use_it(configured: str) -> None:
    with unit_of_work() as session:
        provider = f.make_provider(session)
        f.item(session, "domestic.cleaning")
        public_id = provider.public_id
    empty = runner.invoke(app, ["tariff", "list", "--provider", public_id])
    assert empty.output == f"{public_id} sells at the reference prices\n"
    done = runner.invoke(
        app,
        [
            *("tariff", "set", "--provider", public_id, "--item", "domestic.cleaning"),
            *("--price", "45.50", "--night", "20", "--radius-m", "3000", "--per-km", "1.50"),
        ],
    )
    assert (done.exit_code, done.output) == (0, f"{public_id} domestic.cleaning: ¥45.50 per hour\n")
    listed = runner.invoke(app, ["tariff", "list", "--provider", public_id])
    fields = listed.output.rstrip("\n").split("\t")
    assert fields[0:2] == ["domestic.cleaning", "¥45.50/hour"]
    assert fields[3:] == ["night 20% holiday 0% urgent 0%", "¥1.50/km beyond 3000 m"]


def test_tariff_set_refuses_bad_input_in_one_line(configured: str) -> None:
    with unit_of_work() as session:
        public_id = f.make_provider(session).public_id
        f.item(session, "domestic.cleaning")
    for args, message in [
        (["--price", "12.345"], "amount has more than 2 decimal places"),
        (["--price", "0"], "the unit price must be positive"),
        (["--price", "10", "--night", "400"], "night"),
    ]:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "api.cli", "tariff", "set", "--provider", public_id),
                *("--item", "domestic.cleaning", *args),
            ],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            timeout=120,
            check=False,
        )
        assert done.returncode != 0 and done.stdout == ""
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
