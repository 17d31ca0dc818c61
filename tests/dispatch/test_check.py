"""The independent checker: each rule satisfied on a small plan, then broken."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest

from dispatch.check import Code, Violation, check, is_feasible
from dispatch.problem import (
    Break,
    BreakTaken,
    DispatchProblem,
    Job,
    JobKind,
    Route,
    Solution,
    Stop,
    Travel,
    Unassigned,
    Window,
    Worker,
    service_seconds_for,
)

H = 3600
KM = 600  # seconds per km by e-bike
N = 6


def _problem(workers: Sequence[Worker], jobs: Sequence[Job]) -> DispatchProblem:
    """Locations 0..5 on a line, 1 km apart."""
    durations = tuple(tuple(abs(i - j) * KM for j in range(N)) for i in range(N))
    distances = tuple(tuple(abs(i - j) * 1000 for j in range(N)) for i in range(N))
    return DispatchProblem(
        "check",
        "2026-12-01T00:00:00+08:00",
        tuple((26.0 + i * 0.009, 119.3) for i in range(N)),
        tuple(workers),
        tuple(jobs),
        Travel({"ebike": durations}, {"ebike": distances}),
    )


def _worker(wid: str = "w1", **kw: Any) -> Worker:
    return replace(Worker(wid, 0, 0, Window(8 * H, 17 * H)), **kw)


def _job(jid: str, loc: int, start_h: float = 8, end_h: float = 17, **kw: Any) -> Job:
    return replace(Job(jid, loc, (Window(int(start_h * H), int(end_h * H)),), H), **kw)


def _plan(
    problem: DispatchProblem,
    orders: Mapping[str, Sequence[str]],
    *,
    breaks_after: Mapping[str, int] | None = None,
) -> Solution:
    """Schedule each worker's jobs as early as possible (a break of n s after a named stop)."""
    breaks_after = breaks_after or {}
    assert problem.travel is not None
    routes = []
    for wid, job_ids in orders.items():
        w = problem.worker(wid)
        dur = problem.travel.durations[w.travel_mode]
        dist = problem.travel.distances[w.travel_mode]
        t, loc = w.shift.start, w.start_location
        stops: list[Stop] = []
        taken: list[BreakTaken] = []
        ts = tm = ss = 0
        for jid in job_ids:
            j = problem.job(jid)
            arrival = t + dur[loc][j.location]
            window = next((w for w in j.windows if w.end >= arrival), j.windows[-1])
            start = max(arrival, window.start)
            end = start + service_seconds_for(j, w)
            stops.append(
                Stop(
                    jid,
                    j.location,
                    arrival,
                    start,
                    end,
                    dur[loc][j.location],
                    dist[loc][j.location],
                )
            )
            ts += dur[loc][j.location]
            tm += dist[loc][j.location]
            ss += end - start
            t, loc = end, j.location
            if jid in breaks_after:
                taken.append(BreakTaken(t, t + breaks_after[jid]))
                t += breaks_after[jid]
        ts += dur[loc][w.end_location]
        tm += dist[loc][w.end_location]
        end = t + dur[loc][w.end_location]
        routes.append(Route(wid, w.shift.start, end, tuple(stops), tuple(taken), ts, tm, ss))
    placed = {j for ids in orders.values() for j in ids}
    unassigned = tuple(Unassigned(j.id, ()) for j in problem.jobs if j.id not in placed)
    return Solution(problem.name, tuple(routes), unassigned, 0)


def _edit_stop(solution: Solution, job_id: str, **kw: Any) -> Solution:
    routes = tuple(
        replace(r, stops=tuple(replace(s, **kw) if s.job_id == job_id else s for s in r.stops))
        for r in solution.routes
    )
    return replace(solution, routes=routes)


def _edit_route(solution: Solution, wid: str, **kw: Any) -> Solution:
    routes = tuple(replace(r, **kw) if r.worker_id == wid else r for r in solution.routes)
    return replace(solution, routes=routes)


def _codes(problem: DispatchProblem, solution: Solution) -> set[Code]:
    return {v.code for v in check(problem, solution) if v.hard}


BASE_JOBS = [_job("a", 1), _job("b", 2), _job("c", 3)]


def test_clean_plan_has_no_violation() -> None:
    p = _problem([_worker()], BASE_JOBS)
    s = _plan(p, {"w1": ["a", "b", "c"]})
    assert check(p, s) == []
    assert is_feasible(p, s)
    r = s.routes[0]
    assert r.travel_seconds == 6 * KM
    assert r.end == 8 * H + 6 * KM + 3 * H


# --- time windows and lateness ------------------------------------------------------------


def test_start_within_one_of_several_windows() -> None:
    windows = (Window(8 * H, 8 * H + 60), Window(10 * H, 11 * H))
    p = _problem([_worker()], [_job("a", 1), replace(_job("b", 2), windows=windows)])
    s = _plan(p, {"w1": ["a", "b"]})  # b reached at 09:20, waits for the second window
    assert s.routes[0].stops[1].start == 10 * H
    assert is_feasible(p, s)


def test_start_after_every_window_is_a_violation() -> None:
    p = _problem([_worker()], [_job("a", 1), _job("b", 2, 8, 9)])
    s = _plan(p, {"w1": ["a", "b"]})  # b starts at 09:20
    assert _codes(p, s) == {Code.TIME_WINDOW}
    v = next(v for v in check(p, s) if v.code is Code.TIME_WINDOW)
    assert (v.job_id, v.worker_id) == ("b", "w1")


def test_start_before_every_window_is_a_violation() -> None:
    p = _problem([_worker()], [_job("a", 1, 12, 13)])
    s = _edit_stop(_plan(p, {"w1": ["a"]}), "a", start=8 * H + KM, end=9 * H + KM)
    assert Code.TIME_WINDOW in _codes(p, s)


def test_lateness_within_allowance_is_soft_and_reported() -> None:
    late_b = _job("b", 2, 8, 9, max_lateness_seconds=H, lateness_cost_per_second=1)
    p = _problem([_worker()], [_job("a", 1), late_b])
    s = _edit_stop(_plan(p, {"w1": ["a", "b"]}), "b", lateness=20 * 60)
    out = check(p, s)
    assert [(v.code, v.hard) for v in out] == [(Code.LATE, False)]
    assert "1200 s late" in out[0].detail
    assert is_feasible(p, s)


def test_lateness_only_past_the_last_window() -> None:
    windows = (Window(8 * H, 9 * H), Window(14 * H, 15 * H))
    b = replace(_job("b", 2, max_lateness_seconds=H), windows=windows)
    p = _problem([_worker()], [_job("a", 1), b])
    s = _plan(p, {"w1": ["a", "b"]})
    assert s.routes[0].stops[1].start == 14 * H and is_feasible(p, s)
    between = 9 * H + 20 * 60  # arrival; 20 min after the first window
    gap = _edit_stop(s, "b", start=between, end=between + H, lateness=20 * 60)
    assert _codes(p, gap) == {Code.TIME_WINDOW}
    late = _edit_stop(s, "b", start=15 * H + 60, end=16 * H + 60, lateness=60)
    late = _edit_route(late, "w1", end=16 * H + 60 + 2 * KM)
    assert [v.code for v in check(p, late)] == [Code.LATE]


def test_lateness_beyond_allowance_or_misreported() -> None:
    late_b = _job("b", 2, 8, 9, max_lateness_seconds=10 * 60)
    p = _problem([_worker()], [_job("a", 1), late_b])
    s = _plan(p, {"w1": ["a", "b"]})
    assert _codes(p, s) == {Code.TIME_WINDOW}
    allowed = _problem([_worker()], [_job("a", 1), replace(late_b, max_lateness_seconds=H)])
    assert _codes(allowed, s) == {Code.LATENESS_MISMATCH}  # reported 0, is 20 min


# --- schedule -------------------------------------------------------------------------------


def test_arrival_must_follow_the_previous_end_and_travel() -> None:
    p = _problem([_worker()], BASE_JOBS)
    s = _plan(p, {"w1": ["a", "b", "c"]})
    b = s.routes[0].stops[1]
    assert b.arrival == s.routes[0].stops[0].end + KM
    assert _codes(p, _edit_stop(s, "b", arrival=b.arrival - 1)) == {Code.ARRIVAL}
    assert _codes(p, _edit_stop(s, "b", arrival=b.arrival + 1)) == {Code.ARRIVAL, Code.EARLY_START}


def test_start_not_before_arrival() -> None:
    p = _problem([_worker()], [_job("a", 1), _job("b", 2, 10, 12)])
    s = _plan(p, {"w1": ["a", "b"]})
    b = s.routes[0].stops[1]
    assert b.start > b.arrival  # waiting is fine
    early = _edit_stop(s, "b", start=b.arrival - 60, end=b.arrival - 60 + H)
    assert Code.EARLY_START in _codes(p, early)


def test_service_time_is_the_workers() -> None:
    skilled = _worker(skills={"clean": 5})
    p = _problem([skilled], [_job("a", 1, main_skill="clean", skills=frozenset({"clean"}))])
    s = _plan(p, {"w1": ["a"]})
    st = s.routes[0].stops[0]
    assert st.end - st.start == H * 80 // 100
    assert is_feasible(p, s)
    nominal = _edit_stop(s, "a", end=st.start + H)
    assert Code.SERVICE_TIME in _codes(p, nominal)


def test_route_within_shift() -> None:
    back = 10 * H + 40 * 60  # b ends at 10:20, 20 min from home
    p = _problem([_worker(shift=Window(8 * H, back))], BASE_JOBS[:2])
    s = _plan(p, {"w1": ["a", "b"]})
    assert is_feasible(p, s)
    tight = _problem([_worker(shift=Window(8 * H, back - 1))], BASE_JOBS[:2])
    assert _codes(tight, s) == {Code.SHIFT}
    early = _edit_route(s, "w1", start=7 * H)
    assert Code.SHIFT in _codes(p, early)


def test_route_end_includes_travel_back() -> None:
    p = _problem([_worker()], BASE_JOBS)
    s = _plan(p, {"w1": ["a", "b", "c"]})
    last = s.routes[0].stops[-1].end
    assert _codes(p, _edit_route(s, "w1", end=last + 3 * KM)) == set()
    assert _codes(p, _edit_route(s, "w1", end=last)) == {Code.ROUTE_END}


# --- breaks and working time ----------------------------------------------------------------


LUNCH = Break(10 * H, 12 * H, 30 * 60)


def test_break_taken_in_its_window_between_visits() -> None:
    p = _problem([_worker(breaks=(LUNCH,))], BASE_JOBS)
    s = _plan(p, {"w1": ["a", "b", "c"]}, breaks_after={"b": 30 * 60})
    assert s.routes[0].breaks[0] == BreakTaken(10 * H + 20 * 60, 10 * H + 50 * 60)
    assert check(p, s) == []


def test_break_missing_or_outside_its_window() -> None:
    p = _problem([_worker(breaks=(LUNCH,))], BASE_JOBS)
    assert _codes(p, _plan(p, {"w1": ["a", "b", "c"]})) == {Code.BREAK}
    early = _plan(p, {"w1": ["a", "b", "c"]}, breaks_after={"a": 30 * 60})  # at 09:10
    assert _codes(p, early) == {Code.BREAK}


def test_break_must_not_overlap_service() -> None:
    p = _problem([_worker(breaks=(LUNCH,))], BASE_JOBS)
    s = _plan(p, {"w1": ["a", "b", "c"]})
    c = s.routes[0].stops[2]
    during = _edit_route(s, "w1", breaks=(BreakTaken(c.start + 60, c.start + 60 + 30 * 60),))
    out = [v for v in check(p, during) if v.code is Code.BREAK]
    assert len(out) == 1 and "overlaps service" in out[0].detail


def test_break_needs_time_in_the_gap() -> None:
    # b ends 10:20, c opens 10:55: a 30 min break and 10 min of travel need 40 min.
    jobs = [*BASE_JOBS[:2], _job("c", 3, 10 + 55 / 60, 17)]
    p = _problem([_worker(breaks=(LUNCH,))], jobs)
    s = _plan(p, {"w1": ["a", "b", "c"]})
    b_end = s.routes[0].stops[1].end
    fits = _edit_route(s, "w1", breaks=(BreakTaken(b_end, b_end + 25 * 60),))
    assert _codes(p, fits) == {Code.BREAK}  # too short, but the schedule holds
    squeezed = _edit_route(s, "w1", breaks=(BreakTaken(b_end, b_end + 30 * 60),))
    assert _codes(p, squeezed) == {Code.EARLY_START}


def test_working_time_limit() -> None:
    # Out 08:00-12:30, the 30 min break included.
    limit = 4 * H + 30 * 60
    p = _problem([_worker(breaks=(LUNCH,), max_work_seconds=limit)], BASE_JOBS)
    s = _plan(p, {"w1": ["a", "b", "c"]}, breaks_after={"b": 30 * 60})
    assert check(p, s) == []
    p2 = _problem([_worker(breaks=(LUNCH,), max_work_seconds=limit - 1)], BASE_JOBS)
    assert _codes(p2, s) == {Code.WORK_TIME}


# --- eligibility ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "job_kw", "good", "bad"),
    [
        (Code.SKILL, {"skills": frozenset({"care"})}, {"skills": {"care": 2}}, {"skills": {}}),
        (
            Code.CERTIFICATE,
            {"certificates": frozenset({"nurse"})},
            {"certificates": frozenset({"nurse", "food"})},
            {"certificates": frozenset({"food"})},
        ),
        (Code.GENDER, {"required_gender": "F"}, {"gender": "F"}, {"gender": "M"}),
        (
            Code.LANGUAGE,
            {"required_language": "fuzhou"},
            {"languages": frozenset({"zh", "fuzhou"})},
            {"languages": frozenset({"zh"})},
        ),
        (Code.PROVIDER, {"provider": "p1"}, {"provider": "p1"}, {"provider": "p2"}),
    ],
)
def test_eligibility(
    code: Code, job_kw: dict[str, Any], good: dict[str, Any], bad: dict[str, Any]
) -> None:
    jobs = [_job("a", 1), _job("b", 2, **job_kw), _job("c", 3)]
    ok = _problem([_worker(**good)], jobs)
    s = _plan(ok, {"w1": ["a", "b", "c"]})
    assert check(ok, s) == []
    no = _problem([_worker(**bad)], jobs)
    out = [v for v in check(no, s) if v.hard]
    assert [(v.code, v.job_id, v.worker_id) for v in out] == [(code, "b", "w1")]


def test_blocked_worker() -> None:
    jobs = [_job("a", 1), _job("b", 2, blocked_workers=frozenset({"w2"}))]
    p = _problem([_worker("w1"), _worker("w2")], jobs)
    assert is_feasible(p, _plan(p, {"w1": ["a", "b"]}))
    assert _codes(p, _plan(p, {"w2": ["a", "b"]})) == {Code.BLOCKED}


# --- load, pairs and ride time --------------------------------------------------------------


def _meals(capacity: int, ride: int | None = None) -> DispatchProblem:
    jobs = [
        _job("p1", 1, kind=JobKind.PICKUP, pair="d1", demand=2, max_ride_seconds=ride),
        _job("d1", 3, kind=JobKind.DELIVERY, pair="p1", demand=-2),
        _job("p2", 2, kind=JobKind.PICKUP, pair="d2", demand=1),
        _job("d2", 4, kind=JobKind.DELIVERY, pair="p2", demand=-1),
    ]
    jobs = [replace(j, service_seconds=300) for j in jobs]
    return _problem([_worker(capacity=capacity), _worker("w2", capacity=capacity)], jobs)


def test_capacity_along_the_route() -> None:
    order = {"w1": ["p1", "p2", "d1", "d2"]}  # carries 3 between p2 and d1
    assert check(_meals(3), _plan(_meals(3), order)) == []
    out = [v for v in check(_meals(2), _plan(_meals(2), order)) if v.hard]
    assert [(v.code, v.job_id) for v in out] == [(Code.CAPACITY, "p2")]
    one_at_a_time = {"w1": ["p1", "d1", "p2", "d2"]}
    assert check(_meals(2), _plan(_meals(2), one_at_a_time)) == []


def test_service_demand_counts_against_capacity() -> None:
    jobs = [_job("a", 1, demand=3), _job("b", 2, demand=4)]
    ok = _problem([_worker(capacity=7)], jobs)
    assert is_feasible(ok, _plan(ok, {"w1": ["a", "b"]}))
    small = _problem([_worker(capacity=6)], jobs)
    assert _codes(small, _plan(small, {"w1": ["a", "b"]})) == {Code.CAPACITY}


def test_pickup_before_its_delivery() -> None:
    p = _meals(3)
    s = _plan(p, {"w1": ["p1", "d1", "p2", "d2"]})
    assert is_feasible(p, s)
    wrong = _plan(p, {"w1": ["d1", "p1", "p2", "d2"]})
    assert _codes(p, wrong) == {Code.PAIR, Code.NEGATIVE_LOAD}


def test_pair_on_one_route_or_neither() -> None:
    p = _meals(3)
    assert is_feasible(p, _plan(p, {"w1": ["p2", "d2"]}))  # p1/d1 both unassigned
    split = _plan(p, {"w1": ["p1", "p2", "d2"], "w2": ["d1"]})
    assert Code.PAIR in _codes(p, split)
    half = _plan(p, {"w1": ["p1", "p2", "d2"]})
    assert Code.PAIR in _codes(p, half)


def test_ride_time() -> None:
    order = {"w1": ["p1", "p2", "d1", "d2"]}
    # p1 ends 08:15, d1 starts 08:15 + 10 min + 5 min + 10 min = 08:40.
    assert check(_meals(3, ride=25 * 60), _plan(_meals(3, ride=25 * 60), order)) == []
    out = check(_meals(3, ride=25 * 60 - 1), _plan(_meals(3, ride=25 * 60 - 1), order))
    assert [(v.code, v.job_id) for v in out] == [(Code.RIDE_TIME, "d1")]


# --- pinned jobs and coverage ---------------------------------------------------------------


def test_pinned_job_on_its_worker_in_rank_order() -> None:
    jobs = [
        _job("a", 1, pinned_worker="w1", pinned_rank=0),
        _job("b", 2, pinned_worker="w1", pinned_rank=1),
        _job("c", 3),
    ]
    p = _problem([_worker("w1"), _worker("w2")], jobs)
    assert check(p, _plan(p, {"w1": ["a", "b"], "w2": ["c"]})) == []
    assert _codes(p, _plan(p, {"w1": ["a"], "w2": ["b", "c"]})) == {Code.PINNED}
    assert _codes(p, _plan(p, {"w1": ["b", "a", "c"]})) == {Code.PINNED}
    assert _codes(p, _plan(p, {"w1": ["a", "c"]})) == {Code.PINNED}  # b unassigned


def test_every_job_exactly_once() -> None:
    p = _problem([_worker()], BASE_JOBS)
    s = _plan(p, {"w1": ["a", "b"]})
    assert [u.job_id for u in s.unassigned] == ["c"]
    assert is_feasible(p, s)
    missing = replace(s, unassigned=())
    assert _codes(p, missing) == {Code.MISSING_JOB}
    both = replace(s, unassigned=(*s.unassigned, Unassigned("a", ())))
    assert _codes(p, both) == {Code.DUPLICATE_JOB}
    twice = _plan(p, {"w1": ["a", "b", "a", "c"]})
    assert Code.DUPLICATE_JOB in _codes(p, twice)
    ghost = replace(s, unassigned=(*s.unassigned, Unassigned("zz", ())))
    assert _codes(p, ghost) == {Code.UNKNOWN_JOB}


def test_routes_belong_to_known_workers_once() -> None:
    p = _problem([_worker("w1"), _worker("w2")], BASE_JOBS)
    s = _plan(p, {"w1": ["a"], "w2": ["b", "c"]})
    assert is_feasible(p, s)
    assert _codes(p, _edit_route(s, "w2", worker_id="w9")) == {Code.UNKNOWN_WORKER}
    assert Code.DUPLICATE_ROUTE in _codes(p, _edit_route(s, "w2", worker_id="w1"))
    unused = replace(s, routes=(*s.routes, Route("w3", 0, 0, ())))
    assert _codes(p, unused) == {Code.UNKNOWN_WORKER}
    idle = _problem([_worker("w1"), _worker("w2"), _worker("w3", end_location=5)], BASE_JOBS)
    assert is_feasible(idle, replace(s, routes=(*s.routes, Route("w3", 0, 0, ()))))


# --- reported travel ------------------------------------------------------------------------


def test_reported_travel_matches_the_matrix() -> None:
    p = _problem([_worker()], BASE_JOBS)
    s = _plan(p, {"w1": ["a", "b", "c"]})
    assert sum(st.travel_metres for st in s.routes[0].stops) + 3000 == s.total_travel_metres
    assert _codes(p, _edit_route(s, "w1", travel_metres=5000)) == {Code.TOTALS}
    assert _codes(p, _edit_route(s, "w1", travel_seconds=0)) == {Code.TOTALS}
    assert _codes(p, _edit_stop(s, "b", travel_metres=999)) == {Code.TRAVEL}
    assert _codes(p, _edit_stop(s, "b", location=4)) == {Code.LOCATION}


def test_problem_without_travel() -> None:
    p = replace(_problem([_worker()], BASE_JOBS), travel=None)
    assert check(p, Solution(p.name, (), (), 0)) == [
        Violation(Code.NO_TRAVEL, "the problem has no travel matrices")
    ]
