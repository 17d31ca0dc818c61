"""The dispatch command line: solve a problem file, plan a day from the database."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from core.db import unit_of_work
from marketplace.demo import seed as demo
from tests.workers import clean_env, log_text, running_worker

runner = CliRunner()


def test_problem_file_to_plan_file(tmp_path: Path) -> None:
    problem = tmp_path / "day.json"
    plan = tmp_path / "plan.json"
    made = runner.invoke(
        app, ["demo", "problem", "--orders", "30", "--workers", "6", "--out", str(problem)]
    )
    assert made.exit_code == 0, made.output
    solved = runner.invoke(
        app,
        [
            "dispatch",
            "solve",
            str(problem),
            "--time-limit",
            "2",
            "--pyvrp-share",
            "0",
            "--out",
            str(plan),
        ],
    )
    assert solved.exit_code == 0, solved.output
    body = json.loads(plan.read_text())
    jobs = {j["id"] for j in json.loads(problem.read_text())["jobs"]}
    planned = {s["job_id"] for r in body["routes"] for s in r["stops"]}
    left_out = {u["job_id"] for u in body["unassigned"]}
    assert planned | left_out == jobs
    assert not planned & left_out


def test_bad_problem_file_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "1.0"}')
    result = runner.invoke(app, ["dispatch", "solve", str(bad)])
    assert result.exit_code != 0
    assert "is required" in str(result.exception) or "is required" in result.output


def test_run_a_day_from_the_database(configured: str) -> None:
    with unit_of_work() as session:
        demo.seed_demo(
            session, seed=5, households=50, start_date=date(2026, 11, 23), progress=False
        )
    result = runner.invoke(
        app, ["dispatch", "run", "--date", "2026-11-24", "--time-limit", "2", "--wait"]
    )
    assert result.exit_code == 0, result.output
    assert "plan v1 for 2026-11-24 (all)" in result.output


def test_run_a_day_in_parallel_parts_through_a_worker(configured: str, tmp_path: Path) -> None:
    with unit_of_work() as session:
        demo.seed_demo(
            session, seed=5, households=50, start_date=date(2026, 11, 23), progress=False
        )
    env = clean_env(tmp_path / "var", database_url=configured)
    log = tmp_path / "worker.log"
    with running_worker(tmp_path, env, log):
        result = runner.invoke(
            app,
            [
                *("dispatch", "run", "--date", "2026-11-24", "--time-limit", "3"),
                *("--wait", "--parallel", "2"),
            ],
        )
    assert result.exit_code == 0, result.output + log_text(log)
    assert "done: plan v1 for 2026-11-24 (all)" in result.output
    assert "dispatch.solve_part[" in log_text(log)
