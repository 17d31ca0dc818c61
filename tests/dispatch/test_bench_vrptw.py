"""VRPTW benchmark: reading, DIMACS conversion, best-known solutions re-checked, other engines."""

from __future__ import annotations

import csv
import os
from dataclasses import replace
from pathlib import Path

import pytest

from dispatch.bench import engines
from dispatch.bench.engines import UnsupportedProblem, schedule, solve_pyvrp, vroom_engine
from dispatch.bench.vrptw import (
    SCALE,
    default_data_dir,
    dimacs_matrix,
    format_summary,
    format_table,
    gap,
    load_bks,
    read,
    read_solution,
    run,
    run_one,
    solution_distance,
    summarize,
    write_csv,
)
from dispatch.check import Code, check, is_feasible
from dispatch.problem import DispatchProblem, Solution

DATA = default_data_dir()

# The instances live in shared/ beside the repository, not in it. CI always has them, so there
# a missing folder fails the tests instead of skipping them.
pytestmark = pytest.mark.skipif(
    not DATA.is_dir() and os.environ.get("CI") != "true", reason=f"no benchmark data at {DATA}"
)

C101 = DATA / "solomon" / "C101.vrp"


@pytest.fixture(scope="module")
def c101() -> DispatchProblem:
    return read(C101)


def test_dimacs_arcs_are_truncated_tenths() -> None:
    m = dimacs_matrix([(0, 0), (3, 4), (1, 1), (0, 0.5)])
    assert m[0][1] == m[1][0] == 50
    assert m[0][2] == 14  # 1.414… → 1.4
    assert m[1][2] == 36  # √13 = 3.605… → 3.6
    assert m[0][3] == 5
    assert all(m[i][i] == 0 for i in range(4))


def test_read_c101(c101: DispatchProblem) -> None:
    assert c101.name == "C101"
    assert len(c101.locations) == 101
    assert len(c101.jobs) == 100
    assert len(c101.workers) == 25
    assert {w.capacity for w in c101.workers} == {200}
    assert {(w.start_location, w.end_location) for w in c101.workers} == {(0, 0)}
    assert c101.workers[0].shift.end == 12360  # depot due 1236, ×10
    first = c101.job("1")
    assert (first.windows[0].start, first.windows[0].end) == (9120, 9670)
    assert first.service_seconds == 900
    assert first.demand == 10
    assert c101.modes == {"bench"}
    assert c101.travel is not None
    assert c101.travel.durations["bench"] == c101.travel.distances["bench"]


def test_bks_table_uses_distance_only_rows() -> None:
    bks = load_bks(DATA / "bks.csv")
    assert bks["C101"] == 827.3
    assert bks["RC101"] == 1619.8
    assert len(bks) == 116
    assert gap(835.573, 827.3) == pytest.approx(0.01)


def test_best_known_c101_is_feasible_at_its_distance(c101: DispatchProblem) -> None:
    sol = read_solution(c101, C101.with_suffix(".sol"))
    assert check(c101, sol) == []
    assert sol.objective == solution_distance(c101, sol) == 8273
    assert sol.total_travel_metres == 8273
    assert len(sol.routes) == 10


def test_swapping_two_stops_breaks_a_window(c101: DispatchProblem) -> None:
    sol = read_solution(c101, C101.with_suffix(".sol"))
    orders = {r.worker_id: r.job_ids for r in sol.routes}
    first = orders["v01"]
    first[0], first[-1] = first[-1], first[0]
    broken = schedule(c101, orders)
    violations = [v for v in check(c101, broken) if v.hard]
    assert not is_feasible(c101, broken)
    assert Code.TIME_WINDOW in {v.code for v in violations}
    assert {v.worker_id for v in violations} == {"v01"}


def test_swapped_stops_without_rescheduling_are_caught(c101: DispatchProblem) -> None:
    sol = read_solution(c101, C101.with_suffix(".sol"))
    r = sol.routes[0]
    stops = list(r.stops)
    stops[1], stops[2] = stops[2], stops[1]
    bad = replace(sol, routes=(replace(r, stops=tuple(stops)), *sol.routes[1:]))
    codes = {v.code for v in check(c101, bad)}
    assert {Code.TRAVEL, Code.ARRIVAL} <= codes


def test_every_best_known_solution_checks_out() -> None:
    """All 56 Solomon and 60 GH200 .sol files: feasible, and at the listed distance."""
    bks = load_bks(DATA / "bks.csv")
    files = sorted((DATA / "solomon").glob("*.vrp")) + sorted(
        (DATA / "homberger" / "GH200").glob("*.vrp")
    )
    assert len(files) == 116
    for f in files:
        p = read(f)
        sol = read_solution(p, f.with_suffix(".sol"))
        assert [v for v in check(p, sol) if v.hard] == [], p.name
        assert solution_distance(p, sol) == round(bks[p.name] * SCALE), p.name


def test_pyvrp_on_c101_within_one_percent(c101: DispatchProblem) -> None:
    sol = solve_pyvrp(c101, 2.0, 1)
    assert check(c101, sol) == []
    assert not sol.unassigned
    assert gap(solution_distance(c101, sol) / SCALE, 827.3) < 0.01


def test_vroom_on_c101_within_five_percent(c101: DispatchProblem) -> None:
    sol = vroom_engine(1)(c101, 2.0, 1)
    assert check(c101, sol) == []
    assert not sol.unassigned
    assert gap(solution_distance(c101, sol) / SCALE, 827.3) < 0.05


def test_engines_refuse_what_they_cannot_model(c101: DispatchProblem) -> None:
    skilled = replace(c101, jobs=(replace(c101.jobs[0], skills=frozenset({"x"})), *c101.jobs[1:]))
    with pytest.raises(UnsupportedProblem):
        solve_pyvrp(skilled, 0.1, 1)
    with pytest.raises(UnsupportedProblem):
        vroom_engine(1)(skilled, 0.1, 1)
    res = run_one(skilled, "vroom", 0.1, 1, 827.3)
    assert res.error is not None and not res.ok


def test_run_with_a_registered_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def best_known(problem: DispatchProblem, time_limit_s: float, seed: int) -> Solution:
        return read_solution(problem, C101.with_suffix(".sol"))

    def drops_one(problem: DispatchProblem, time_limit_s: float, seed: int) -> Solution:
        sol = best_known(problem, time_limit_s, seed)
        orders = {r.worker_id: r.job_ids for r in sol.routes}
        orders["v01"] = orders["v01"][1:]
        return schedule(problem, orders)

    monkeypatch.setitem(engines.ENGINES, "bks", best_known)
    engines.register_engine("drops", drops_one)
    monkeypatch.setitem(engines.ENGINES, "drops", drops_one)  # removed again after the test
    results = run([C101], ["bks", "drops", "vroom"], 1.0, 1, vroom_exploration=1)
    by_engine = {r.engine: r for r in results}
    assert by_engine["bks"].ok and by_engine["bks"].gap == 0.0
    assert by_engine["bks"].distance == 827.3 and by_engine["bks"].vehicles == 10
    assert by_engine["drops"].feasible and by_engine["drops"].dropped == 1
    assert not by_engine["drops"].ok
    assert by_engine["vroom"].ok
    table = format_table(results)
    assert "C101" in table and "DROP 1" in table
    summary = summarize(results)
    assert [s.engine for s in summary] == ["bks", "drops", "vroom"]
    assert summary[0].mean_gap == 0.0 and summary[0].within_0_1 == 1
    assert summary[1].mean_gap is None and summary[1].failed == 1
    assert "mean gap 0.00 %" in format_summary(summary)
    out = tmp_path / "r.csv"
    write_csv(results, out)
    rows = list(csv.DictReader(out.open()))
    assert [r["engine"] for r in rows] == ["bks", "drops", "vroom"]
    assert rows[0]["gap"] == "0.0" and rows[1]["ok"] == "False"
