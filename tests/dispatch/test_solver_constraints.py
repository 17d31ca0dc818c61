"""One test pair per constraint: satisfied (planned as the rule allows) and violated (refused).

Each instance has 3–5 stops; solves stop on a solution count, not the clock.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from dispatch.problem import (
    Break,
    JobKind,
    Priority,
    ReasonCode,
    Solution,
    Weights,
    Window,
)
from dispatch.solver import SolveParams, solve
from tests.dispatch.tiny import H, job, problem, worker

FAST = SolveParams(time_limit_s=10, metaheuristic="GREEDY_DESCENT")


def _where(solution: Solution) -> dict[str, str]:
    return {s.job_id: r.worker_id for r in solution.routes for s in r.stops}


def _reason(solution: Solution, job_id: str) -> ReasonCode:
    (u,) = [u for u in solution.unassigned if u.job_id == job_id]
    return u.reasons[0].code


class TestTimeWindows:
    def test_service_starts_inside_the_window(self) -> None:
        s = solve(problem([worker()], [job("a", 2, 10, 10.5)]), FAST)
        (stop,) = s.routes[0].stops
        assert 10 * H <= stop.start <= 10.5 * H

    def test_window_that_cannot_be_reached_is_refused(self) -> None:
        # Window 08:00–08:05 at 5 km: 50 minutes away by e-bike.
        s = solve(problem([worker()], [job("a", 5, 8, 8 + 5 / 60)]), FAST)
        assert s.routes == ()
        assert _reason(s, "a") == ReasonCode.UNREACHABLE

    def test_second_window_used_when_first_is_taken(self) -> None:
        j = replace(job("b", 1), windows=(Window(9 * H, 9 * H), Window(13 * H, 14 * H)))
        s = solve(problem([worker()], [job("a", 1, 9, 9), j]), FAST)
        starts = {st.job_id: st.start for st in s.routes[0].stops}
        assert starts["a"] == 9 * H
        assert 13 * H <= starts["b"] <= 14 * H

    def test_soft_lateness_allowed_costs_but_plans(self) -> None:
        late_ok = job("b", 1, 9, 9, max_lateness_seconds=2 * H, lateness_cost_per_second=1)
        s = solve(problem([worker()], [job("a", 1, 9, 9), late_ok]), FAST)
        stops = {st.job_id: st for st in s.routes[0].stops}
        assert stops["b"].lateness == H
        strict = solve(problem([worker()], [job("a", 1, 9, 9), job("b", 1, 9, 9)]), FAST)
        assert len(strict.unassigned) == 1


class TestSkillsAndCertificates:
    def test_skilled_worker_gets_the_job(self) -> None:
        w = worker(skills={"plumbing": 3})
        s = solve(problem([w], [job("a", 1, skills=frozenset({"plumbing"}))]), FAST)
        assert _where(s) == {"a": "w1"}

    def test_missing_skill_is_refused(self) -> None:
        s = solve(problem([worker()], [job("a", 1, skills=frozenset({"plumbing"}))]), FAST)
        assert _reason(s, "a") == ReasonCode.NO_SKILL

    def test_certificate_valid_that_day_is_needed(self) -> None:
        certified = worker("w2", certificates=frozenset({"electrician"}))
        j = job("a", 1, certificates=frozenset({"electrician"}))
        assert _where(solve(problem([worker(), certified], [j]), FAST)) == {"a": "w2"}
        s = solve(problem([worker()], [j]), FAST)
        assert _reason(s, "a") == ReasonCode.NO_CERTIFICATE


class TestShiftsAndLimits:
    def test_job_inside_shift(self) -> None:
        assert _where(solve(problem([worker()], [job("a", 1, 15.5, 15.5)]), FAST)) == {"a": "w1"}

    def test_job_outside_shift_is_refused(self) -> None:
        s = solve(problem([worker()], [job("a", 1, 18, 19)]), FAST)
        assert _reason(s, "a") == ReasonCode.NO_SHIFT

    def test_route_ends_back_within_shift(self) -> None:
        # A one-hour job starting 16:00 at 2 km: back at 17:20 > 17:00.
        s = solve(problem([worker()], [job("a", 2, 16, 16)]), FAST)
        assert _reason(s, "a") == ReasonCode.UNREACHABLE

    def test_daily_working_time_limit(self) -> None:
        jobs = [job("a", 1, 9, 9), job("b", 1, 15, 15)]
        assert len(solve(problem([worker()], jobs), FAST).unassigned) == 0
        limited = worker(max_work_seconds=4 * H)
        s = solve(problem([limited], jobs), FAST)
        route = s.routes[0]
        assert len(s.unassigned) == 1
        assert route.end - route.start <= 4 * H

    def test_break_is_taken_in_its_range_and_not_during_service(self) -> None:
        w = worker(breaks=(Break(12 * H, 13 * H, H // 2),))
        jobs = [job("a", 1, 11.5, 11.5), job("b", 1, 12.5, 13.5)]
        s = solve(problem([w], jobs), FAST)
        (brk,) = s.routes[0].breaks
        assert 12 * H <= brk.start <= 13 * H
        assert brk.end - brk.start == H // 2
        for stop in s.routes[0].stops:
            assert stop.end <= brk.start or stop.start >= brk.end

    def test_break_that_leaves_no_room_drops_a_job(self) -> None:
        w = worker(shift=Window(8 * H, 10 * H + 1200), breaks=(Break(9 * H, 9 * H, H),))
        # Two one-hour jobs at 1 km need 2 h + 20 min travel; a 1 h break leaves no room.
        s = solve(problem([w], [job("a", 1), job("b", 1)]), FAST)
        assert len(s.unassigned) == 2 - len(s.routes[0].stops) if s.routes else True
        assert len(s.unassigned) >= 1


class TestTravelAndService:
    def test_per_worker_travel_mode(self) -> None:
        # 7 km and back with a one-hour job inside a 2-hour shift: only the car makes it.
        ebike = worker("bike", shift=Window(8 * H, 10 * H))
        car = worker("car", shift=Window(8 * H, 10 * H), travel_mode="car")
        s = solve(problem([ebike, car], [job("far", 7)]), FAST)
        assert _where(s) == {"far": "car"}
        s = solve(problem([ebike], [job("far", 7)]), FAST)
        assert _reason(s, "far") == ReasonCode.UNREACHABLE

    def test_service_time_depends_on_skill_level(self) -> None:
        j = job("a", 1, skills=frozenset({"personal_care"}), main_skill="personal_care")
        expert = solve(problem([worker(skills={"personal_care": 5})], [j]), FAST)
        novice = solve(problem([worker(skills={"personal_care": 1})], [j]), FAST)
        (e,), (n,) = expert.routes[0].stops, novice.routes[0].stops
        assert e.end - e.start == H * 80 // 100
        assert n.end - n.start == H * 125 // 100


class TestMeals:
    def _pair(self, ride: int | None, *, demand: int = 1) -> list:  # type: ignore[type-arg]
        pick = job("p", 3, 11, 11.5, kind=JobKind.PICKUP, pair="d", demand=demand)
        pick = replace(pick, service_seconds=120)
        drop = job("d", 6, 11, 12.5, kind=JobKind.DELIVERY, pair="p", demand=-demand)
        return [pick, replace(drop, service_seconds=60, max_ride_seconds=ride)]

    def test_pickup_then_delivery_on_one_courier_within_ride_time(self) -> None:
        couriers = [worker("c1", capacity=4), worker("c2", capacity=4)]
        s = solve(problem(couriers, self._pair(ride=40 * 60)), FAST)
        where = _where(s)
        assert where["p"] == where["d"]
        stops = {st.job_id: st for r in s.routes for st in r.stops}
        assert stops["p"].end <= stops["d"].start
        assert stops["d"].start - stops["p"].end <= 40 * 60

    def test_ride_time_too_short_for_the_distance_is_refused(self) -> None:
        # 3 km by e-bike is 30 minutes; the food may ride only 20.
        s = solve(problem([worker("c1", capacity=4)], self._pair(ride=20 * 60)), FAST)
        assert {u.job_id for u in s.unassigned} == {"p", "d"}

    def test_capacity(self) -> None:
        s = solve(problem([worker("c1", capacity=4)], self._pair(ride=None, demand=3)), FAST)
        assert s.unassigned == ()
        s = solve(problem([worker("c1", capacity=2)], self._pair(ride=None, demand=3)), FAST)
        assert _reason(s, "p") == ReasonCode.CAPACITY


class TestPeople:
    @pytest.mark.parametrize(
        ("field", "value", "worker_kw"),
        [
            ("required_gender", "female", {"gender": "female"}),
            ("required_language", "cdo", {"languages": frozenset({"cdo", "zh"})}),
        ],
    )
    def test_gender_and_language_are_hard(
        self, field: str, value: str, worker_kw: dict[str, object]
    ) -> None:
        overrides: dict[str, Any] = {field: value}
        j = replace(job("a", 1), **overrides)
        matching = worker("match", **worker_kw)
        s = solve(problem([worker("other"), matching], [j]), FAST)
        assert _where(s) == {"a": "match"}
        s = solve(problem([worker("other")], [j]), FAST)
        assert _reason(s, "a") == ReasonCode.NO_MATCHING_WORKER

    def test_blocked_worker_is_never_sent(self) -> None:
        j = job("a", 1, blocked_workers=frozenset({"w1"}))
        s = solve(
            problem([worker("w1"), worker("w2", start_location=7, end_location=7)], [j]), FAST
        )
        assert _where(s) == {"a": "w2"}
        assert _reason(solve(problem([worker("w1")], [j]), FAST), "a") == (
            ReasonCode.NO_MATCHING_WORKER
        )

    def test_preferred_worker_wins_when_otherwise_equal(self) -> None:
        workers = [worker("w1"), worker("w2")]
        for preferred in ("w1", "w2"):
            j = job("a", 1, preferred_workers=(preferred,), preference_weight=5000)
            assert _where(solve(problem(workers, [j]), FAST)) == {"a": preferred}

    def test_preference_is_soft(self) -> None:
        j = job("a", 1, preferred_workers=("absent",), preference_weight=5000)
        assert _where(solve(problem([worker("w1")], [j]), FAST)) == {"a": "w1"}


class TestPriorityBalancePins:
    def test_protected_and_urgent_are_dropped_last(self) -> None:
        jobs = [
            job("normal", 1, 9, 9),
            job("protected", 2, 9, 9, priority=Priority.PROTECTED),
            job("urgent", 3, 9, 9, priority=Priority.URGENT),
        ]
        s = solve(problem([worker()], jobs), FAST)
        assert _where(s) == {"urgent": "w1"}
        s = solve(problem([worker()], jobs[:2]), FAST)
        assert _where(s) == {"protected": "w1"}
        assert _reason(s, "normal") == ReasonCode.DROPPED_FOR_COST

    def test_balance_spreads_the_work(self) -> None:
        near, far = worker("near"), worker("far", start_location=3, end_location=3)
        jobs = [job(f"j{i}", 1) for i in range(4)]
        lazy = solve(problem([near, far], jobs), FAST)
        assert sorted(_where(lazy).values()) == ["near"] * 4
        balanced = solve(problem([near, far], jobs, weights=Weights(balance_per_second=10)), FAST)
        assert sorted(_where(balanced).values()) == ["far", "far", "near", "near"]

    def test_pinned_job_stays_on_its_worker(self) -> None:
        near, far = worker("near"), worker("far", start_location=5, end_location=5)
        free = solve(problem([near, far], [job("a", 1)]), FAST)
        assert _where(free) == {"a": "near"}
        pinned = solve(problem([near, far], [job("a", 1, pinned_worker="far")]), FAST)
        assert _where(pinned) == {"a": "far"}

    def test_pinned_rank_keeps_the_order(self) -> None:
        jobs = [
            job("x", 3, pinned_worker="w1", pinned_rank=0),
            job("y", 1, pinned_worker="w1", pinned_rank=1),
        ]
        s = solve(problem([worker()], jobs), FAST)
        assert s.routes[0].job_ids == ["x", "y"]

    def test_pinned_stops_that_no_longer_fit_in_order_still_give_a_plan(self) -> None:
        # Pinned x before y, but x is fixed at 10:00 and y at 09:00: that order cannot be kept,
        # so the pinned start is refused and the solver starts from scratch, dropping one.
        jobs = [
            job("x", 1, 10, 10, pinned_worker="w1", pinned_rank=0),
            job("y", 2, 9, 9, pinned_worker="w1", pinned_rank=1),
            job("free", 3, 13, 16),
        ]
        s = solve(problem([worker()], jobs), FAST)
        assert s.stats["warm_start"] == "routes refused; solved from scratch"
        assert "free" in s.assigned_job_ids
        assert len({"x", "y"} & s.assigned_job_ids) == 1
        assert all(u.reasons[0].code != ReasonCode.NO_SOLUTION for u in s.unassigned)


def test_same_problem_and_limits_give_the_same_plan() -> None:
    jobs = [job(f"j{i}", 1 + i % 6, 8 + i % 5, 12 + i % 4) for i in range(5)]
    p = problem([worker("w1"), worker("w2", travel_mode="car")], jobs)
    params = SolveParams(time_limit_s=30, solution_limit=50)
    first, second = solve(p, params), solve(p, params)
    assert first.routes == second.routes
    assert first.objective == second.objective


def test_too_many_service_classes_fall_back_to_the_slowest_and_stay_feasible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dispatch.check import check
    from dispatch.solver import model

    j = [
        job(
            f"c{i}",
            1 + i % 5,
            8 + i,
            9 + i,
            skills=frozenset({"personal_care"}),
            main_skill="personal_care",
        )
        for i in range(4)
    ]
    workers = [
        worker("fast", skills={"personal_care": 5}),
        worker("slow", skills={"personal_care": 1}),
    ]
    p = problem(workers, j)
    assert solve(p, FAST).stats["service_model"] == "by-skill-level"
    monkeypatch.setattr(model, "TRANSIT_MATRIX_BUDGET_BYTES", 1)
    s = solve(p, FAST)
    assert s.stats["service_model"] == "slowest-per-mode"
    assert len(s.assigned_job_ids) == 4
    assert [v for v in check(p, s) if v.hard] == []


def test_hybrid_is_reproducible_with_iteration_and_solution_limits() -> None:
    jobs = [job(f"j{i}", 1 + i % 7, 8 + i % 3, 11 + i % 3) for i in range(7)]
    p = problem([worker("w1"), worker("w2", start_location=7, end_location=7)], jobs)
    params = SolveParams(
        time_limit_s=30, solution_limit=3, pyvrp_share=0.5, pyvrp_iterations=300, seed=3
    )
    first, second = solve(p, params), solve(p, params)
    assert first.stats["warm_start"] == "pyvrp"
    assert first.routes == second.routes
    assert first.objective == second.objective
