"""The realistic demo day: deterministic, complete, consistent, solvable; and its command."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from core.errors import Validation
from dispatch import jsonio
from dispatch.check import check
from dispatch.demo_problem import (
    DELIVERY_WINDOW,
    EPOCH,
    MAX_RIDE,
    PICKUP_WINDOW,
    apportion,
    realistic_day,
    realistic_day_with_travel,
)
from dispatch.eligibility import eligible
from dispatch.problem import DispatchProblem, JobKind, Priority
from dispatch.solver import SolveParams, solve
from marketplace.catalog import reference

DAY = 24 * 3600
ITEMS = {spec.code: spec for spec in reference.ITEMS}


@pytest.fixture(scope="module")
def big() -> DispatchProblem:
    """The size the issue asks for (no travel: generating it is quick)."""
    return realistic_day(2000, 300, seed=7)


def test_same_seed_same_problem() -> None:
    assert realistic_day(300, 45, seed=3) == realistic_day(300, 45, seed=3)


def test_another_seed_another_problem() -> None:
    a, b = realistic_day(300, 45, seed=3), realistic_day(300, 45, seed=4)
    assert a.locations != b.locations
    assert a.jobs != b.jobs


def test_sizes_and_epoch(big: DispatchProblem) -> None:
    assert len(big.workers) == 300
    assert len({j.order_ref for j in big.jobs}) == 2000
    assert big.epoch == EPOCH
    assert big.travel is None
    kinds = Counter(j.kind for j in big.jobs)
    assert kinds[JobKind.PICKUP] == kinds[JobKind.DELIVERY]
    # Meals are a meaningful share of the orders.
    assert 0.3 <= kinds[JobKind.PICKUP] / 2000 <= 0.4


def test_every_constraint_type_appears(big: DispatchProblem) -> None:
    jobs, workers = big.jobs, big.workers
    assert any(len(j.windows) > 1 for j in jobs)
    assert any(j.max_lateness_seconds and j.lateness_cost_per_second for j in jobs)
    assert all(j.skills and j.main_skill in j.skills for j in jobs)
    assert any(j.certificates for j in jobs)
    assert len({w.shift for w in workers}) >= 3
    # Some daily limits bind: shorter than the shift less its breaks.
    assert any(
        w.max_work_seconds is not None
        and w.max_work_seconds < w.shift.end - w.shift.start - sum(b.duration for b in w.breaks)
        for w in workers
    )
    assert any(b.earliest == b.latest for w in workers for b in w.breaks)
    assert any(b.earliest < b.latest for w in workers for b in w.breaks)
    assert {w.travel_mode for w in workers} == {"walk", "ebike", "car"}
    assert len({level for w in workers for level in w.skills.values()}) >= 4
    assert any(j.max_ride_seconds == MAX_RIDE for j in jobs if j.kind is JobKind.DELIVERY)
    assert {w.capacity for w in workers if w.capacity} <= set(range(6, 13))
    assert any(j.required_gender for j in jobs)
    assert any(j.required_language == "cdo" for j in jobs)
    assert any(j.blocked_workers for j in jobs)
    assert any(j.preferred_workers and j.preference_weight > 0 for j in jobs)
    assert any(j.pinned_worker for j in jobs)
    priorities = Counter(j.priority for j in jobs)
    assert priorities[Priority.PROTECTED] and priorities[Priority.URGENT]
    assert big.weights.balance_per_second > 0


def test_care_visits_are_as_described(big: DispatchProblem) -> None:
    care = [j for j in big.jobs if j.id.endswith("-care")]
    assert all(45 * 60 <= j.service_seconds <= 120 * 60 for j in care)
    assert all(1 <= len(j.windows) <= 2 for j in care)
    assert all(3600 <= w.end - w.start <= 3 * 3600 for j in care for w in j.windows)
    protected = sum(j.priority == Priority.PROTECTED for j in care) / len(care)
    assert 0.15 <= protected <= 0.25


def test_meals_are_pairs_from_the_kitchen(big: DispatchProblem) -> None:
    jobs = {j.id: j for j in big.jobs}
    couriers = {w.provider: w.start_location for w in big.workers if w.capacity}
    for pickup in (j for j in big.jobs if j.kind is JobKind.PICKUP):
        assert pickup.pair is not None
        delivery = jobs[pickup.pair]
        assert delivery.pair == pickup.id and delivery.kind is JobKind.DELIVERY
        assert pickup.windows == (PICKUP_WINDOW,) and delivery.windows == (DELIVERY_WINDOW,)
        assert (pickup.demand, delivery.demand) == (1, -1)
        assert pickup.location == couriers[pickup.provider]
        assert delivery.provider == pickup.provider


def test_jobs_fit_their_providers_workers(big: DispatchProblem) -> None:
    """Every job has a qualified worker of its provider; requests name someone who fits."""
    by_provider: dict[str | None, list[str]] = {}
    workers = {w.id: w for w in big.workers}
    for w in big.workers:
        by_provider.setdefault(w.provider, []).append(w.id)
    for job in big.jobs:
        staff = [workers[i] for i in by_provider[job.provider]]
        assert any(eligible(job, w) for w in staff), job.id
        for wid in (*job.preferred_workers, *job.blocked_workers):
            assert wid in by_provider[job.provider]
        if job.pinned_worker is not None:
            assert eligible(job, workers[job.pinned_worker])
    # Items are the catalog's, with its skills and certificates.
    for job in big.jobs:
        assert any(
            job.skills == set(s.skills) and job.certificates == set(s.certificates)
            for s in ITEMS.values()
        )


def test_times_lie_within_the_day(big: DispatchProblem) -> None:
    for job in big.jobs:
        assert all(0 <= w.start <= w.end <= DAY for w in job.windows)
    for worker in big.workers:
        assert 0 <= worker.shift.start < worker.shift.end <= DAY
        assert all(worker.shift.start <= b.earliest for b in worker.breaks)


def test_providers_work_near_home(big: DispatchProblem) -> None:
    """Workers start at their provider's base; customers live in the same district mostly."""
    starts = {w.provider: w.start_location for w in big.workers}
    assert all(w.start_location == starts[w.provider] == w.end_location for w in big.workers)
    districts = {p: p.split("-")[2] for p in starts if p is not None}
    assert len(set(districts.values())) == 6


def test_json_round_trip() -> None:
    problem = realistic_day(120, 20, seed=5)
    assert jsonio.problem_from_dict(jsonio.problem_to_dict(problem)) == problem


def test_with_travel_fills_every_mode() -> None:
    problem = realistic_day_with_travel(60, 12, seed=1)
    assert problem.travel is not None
    assert problem.travel.modes == problem.modes


def test_small_day_is_solvable() -> None:
    problem = realistic_day_with_travel(60, 12, seed=6)
    assert any(j.pinned_worker for j in problem.jobs)  # placed, or check() would say so
    # A solution count, not a clock, ends the search: the plan is reproducible.
    params = SolveParams(time_limit_s=30, solution_limit=100, seed=1)
    solution = solve(problem, params)
    assert len(solution.assigned_job_ids) >= 0.75 * len(problem.jobs)
    assert not [v for v in check(problem, solution) if v.hard]
    assert solve(problem, params).routes == solution.routes


@pytest.mark.parametrize(("orders", "workers"), [(0, 10), (10, 3), (10**6, 10)])
def test_refuses_impossible_sizes(orders: int, workers: int) -> None:
    with pytest.raises(Validation):
        realistic_day(orders, workers, seed=1)


def test_apportion() -> None:
    assert apportion(10, [1, 1, 2]) == [3, 2, 5]  # ties go to the earlier part
    assert sum(apportion(7, [0.2, 0.5, 0.3])) == 7
    assert apportion(3, [100, 1, 1], minimum=1) == [1, 1, 1]
    assert apportion(5, [0, 1]) == [0, 5]


# --- linli demo problem ------------------------------------------------------------------


def test_cli_writes_the_problem(tmp_path: Path) -> None:
    out = tmp_path / "day.json"
    args = ["demo", "problem", "--orders", "40", "--workers", "8", "--seed", "9"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert jsonio.load_problem(out) == realistic_day(40, 8, seed=9)


def test_cli_writes_to_stdout() -> None:
    args = ["demo", "problem", "--orders", "40", "--workers", "8", "--seed", "9"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert jsonio.problem_from_dict(json.loads(result.stdout)) == realistic_day(40, 8, seed=9)


def test_cli_with_travel(tmp_path: Path) -> None:
    out = tmp_path / "day.json"
    args = ["demo", "problem", "--orders", "20", "--workers", "6", "--with-travel"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert jsonio.load_problem(out).travel is not None


def test_cli_error_is_one_line() -> None:
    command = [sys.executable, "-m", "api.cli", "demo", "problem", "--orders", "0"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert done.stderr.startswith("error: orders must be between 1")
