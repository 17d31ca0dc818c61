"""Travel matrices: the haversine model, caching and filling a problem's travel."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np
import pytest

from core.errors import Validation
from core.geo import Point, haversine_m
from dispatch.problem import DispatchProblem, Job, Travel, Window, Worker
from dispatch.travel import (
    CachedTravel,
    HaversineTravel,
    TravelTimeProvider,
    haversine_matrix,
    with_travel,
)

GULOU = (26.082, 119.296)  # 鼓楼区, as in the demo city
MAWEI = (25.995, 119.455)  # 马尾区


def random_places(n: int, seed: int = 1) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(25.95, 26.12, n)
    lon = rng.uniform(119.20, 119.46, n)
    return list(zip(lat.tolist(), lon.tolist(), strict=True))


class Counting:
    """A provider that counts what it is asked for."""

    def __init__(self) -> None:
        self.inner = HaversineTravel()
        self.calls: list[tuple[int, tuple[str, ...]]] = []

    def matrices(self, locations: Sequence[tuple[float, float]], modes: Iterable[str]) -> Travel:
        wanted = tuple(sorted(modes))
        self.calls.append((len(locations), wanted))
        return self.inner.matrices(locations, wanted)


def day(modes: Sequence[str], travel: Travel | None = None) -> DispatchProblem:
    workers = tuple(
        Worker(f"w{i}", 0, 0, Window(0, 36_000), travel_mode=m) for i, m in enumerate(modes)
    )
    return DispatchProblem(
        name="d",
        epoch="2026-11-27T00:00:00+08:00",
        locations=(GULOU, MAWEI, (26.06, 119.31)),
        workers=workers,
        jobs=(Job("j", 1, (Window(0, 36_000),), 600),),
        travel=travel,
    )


class TestHaversine:
    def test_gulou_to_mawei(self) -> None:
        straight = haversine_matrix([GULOU, MAWEI])[0, 1]
        assert 17_000 < straight < 19_500
        assert abs(straight - haversine_m(Point(*GULOU), Point(*MAWEI))) < 1
        travel = HaversineTravel().matrices([GULOU, MAWEI], ["car"])
        road = travel.distance("car", 0, 1)
        assert road == round(straight * 1.3)
        assert travel.duration("car", 0, 1) == round(road / (25 / 3.6))  # about 58 minutes

    def test_walk_slower_than_ebike_slower_than_car(self) -> None:
        t = HaversineTravel().matrices([GULOU, MAWEI], ["walk", "ebike", "car"])
        assert t.duration("walk", 0, 1) > t.duration("ebike", 0, 1) > t.duration("car", 0, 1)
        assert t.distance("walk", 0, 1) == t.distance("car", 0, 1)

    def test_square_symmetric_integer_zero_diagonal(self) -> None:
        places = random_places(50)
        t = HaversineTravel().matrices(places, ["ebike"])
        for matrix in (t.duration_matrix("ebike"), t.distance_matrix("ebike")):
            assert matrix.shape == (50, 50)
            assert matrix.dtype == np.int64
            assert np.array_equal(matrix, matrix.T)
            assert not matrix.diagonal().any()
            assert (matrix[~np.eye(50, dtype=bool)] > 0).all()
        assert isinstance(t.duration("ebike", 1, 2), int)

    def test_matches_the_scalar_formula(self) -> None:
        places = random_places(30, seed=5)
        matrix = haversine_matrix(places)
        for a, b in [(0, 1), (3, 17), (29, 4)]:
            assert abs(matrix[a, b] - haversine_m(Point(*places[a]), Point(*places[b]))) < 0.51

    def test_min_seconds_applies_off_the_diagonal(self) -> None:
        same = [GULOU, GULOU, MAWEI]
        t = HaversineTravel(min_seconds=60).matrices(same, ["walk"])
        assert t.duration("walk", 0, 1) == 60
        assert t.duration("walk", 0, 0) == 0
        assert t.distance("walk", 0, 1) == 0

    def test_matrices_are_read_only(self) -> None:
        t = HaversineTravel().matrices([GULOU, MAWEI], ["car"])
        with pytest.raises(ValueError, match="read-only"):
            t.duration_matrix("car")[0, 1] = 5

    def test_unknown_mode(self) -> None:
        with pytest.raises(Validation, match=r"unknown travel mode 'boat' \(known: car, ebike"):
            HaversineTravel().matrices([GULOU], ["boat"])

    def test_bad_coordinates(self) -> None:
        with pytest.raises(Validation, match=r"\(lat, lon\)"):
            HaversineTravel().matrices([(119.3, 26.08)], ["car"])

    def test_empty(self) -> None:
        t = HaversineTravel().matrices([], ["car"])
        assert t.duration_matrix("car").shape == (0, 0)

    def test_is_a_provider(self) -> None:
        assert isinstance(HaversineTravel(), TravelTimeProvider)
        assert isinstance(CachedTravel(HaversineTravel()), TravelTimeProvider)

    def test_2300_locations_well_under_a_second_per_mode(self) -> None:
        places = random_places(2300)
        provider = HaversineTravel()
        best = float("inf")
        for _ in range(3):  # the best of three, so a busy machine does not decide
            start = time.perf_counter()
            t = provider.matrices(places, ["car"])
            best = min(best, time.perf_counter() - start)
        assert t.duration_matrix("car").shape == (2300, 2300)
        assert best < 0.5, f"{best:.3f} s for one mode"


class TestCachedTravel:
    def test_computes_each_matrix_once(self) -> None:
        inner = Counting()
        cached = CachedTravel(inner)
        places = random_places(20)
        first = cached.matrices(places, ["car", "walk"])
        second = cached.matrices(tuple(places), ["walk", "car"])
        assert inner.calls == [(20, ("car", "walk"))]
        assert second == first
        assert second.durations["car"] is first.durations["car"]

    def test_computes_only_missing_modes(self) -> None:
        inner = Counting()
        cached = CachedTravel(inner)
        places = random_places(10)
        cached.matrices(places, ["car"])
        both = cached.matrices(places, ["car", "ebike"])
        assert inner.calls == [(10, ("car",)), (10, ("ebike",))]
        assert both.modes == {"car", "ebike"}

    def test_other_locations_are_another_entry(self) -> None:
        inner = Counting()
        cached = CachedTravel(inner)
        cached.matrices(random_places(10, seed=1), ["car"])
        cached.matrices(random_places(10, seed=2), ["car"])
        assert len(inner.calls) == 2

    def test_evicts_the_least_recent(self) -> None:
        inner = Counting()
        cached = CachedTravel(inner, maxsize=2)
        a, b, c = (random_places(5, seed=s) for s in (1, 2, 3))
        for places in (a, b, a, c, a, b):
            cached.matrices(places, ["car"])
        # a stays (recently used), b is evicted by c and computed again.
        assert len(inner.calls) == 4

    def test_clear(self) -> None:
        inner = Counting()
        cached = CachedTravel(inner)
        cached.matrices([GULOU, MAWEI], ["car"])
        cached.clear()
        cached.matrices([GULOU, MAWEI], ["car"])
        assert len(inner.calls) == 2


class TestWithTravel:
    def test_fills_only_the_modes_workers_use(self) -> None:
        inner = Counting()
        problem = with_travel(day(["walk", "car", "walk"]), inner)
        assert inner.calls == [(3, ("car", "walk"))]
        assert problem.travel is not None
        assert problem.travel.modes == {"car", "walk"}
        assert problem.travel.duration("walk", 0, 1) > problem.travel.duration("car", 0, 1)

    def test_keeps_present_modes_and_adds_missing(self) -> None:
        given = ((0, 7, 7), (7, 0, 7), (7, 7, 0))
        inner = Counting()
        problem = with_travel(day(["car", "ebike"], Travel({"car": given}, {"car": given})), inner)
        assert inner.calls == [(3, ("ebike",))]
        assert problem.travel is not None
        assert problem.travel.durations["car"] is given
        assert problem.travel.modes == {"car", "ebike"}

    def test_complete_problem_is_returned_as_is(self) -> None:
        inner = Counting()
        full = with_travel(day(["car"]), inner)
        assert with_travel(full, inner) is full
        assert len(inner.calls) == 1

    def test_cached_provider_computes_once_per_solve(self) -> None:
        inner = Counting()
        cached = CachedTravel(inner)
        problem = day(["ebike"])
        assert with_travel(problem, cached) == with_travel(problem, cached)
        assert len(inner.calls) == 1


class TestTravelModel:
    def test_tuple_and_array_forms_are_equal(self) -> None:
        rows = ((0, 5), (6, 0))
        as_tuples = Travel({"car": rows}, {"car": rows})
        as_arrays = Travel.from_arrays({"car": np.array(rows)}, {"car": rows})
        assert as_tuples == as_arrays
        assert as_arrays.duration("car", 1, 0) == 6
        assert as_tuples.duration_matrix("car").tolist() == [[0, 5], [6, 0]]
        assert as_tuples != Travel({"car": ((0, 5), (7, 0))}, {"car": rows})

    def test_from_arrays_copies_and_checks(self) -> None:
        source = np.array([[0, 1], [1, 0]])
        t = Travel.from_arrays({"car": source}, {"car": source})
        source[0, 1] = 99
        assert t.duration("car", 0, 1) == 1
        with pytest.raises(ValueError, match="not square"):
            Travel.from_arrays({"car": np.zeros((2, 3))}, {"car": np.zeros((2, 3))})
        with pytest.raises(ValueError, match="same modes"):
            Travel.from_arrays({"car": source}, {"walk": source})

    def test_problem_checks_array_shape(self) -> None:
        wrong = Travel.from_arrays({"ebike": np.zeros((2, 2))}, {"ebike": np.zeros((2, 2))})
        with pytest.raises(ValueError, match="not 3×3"):
            day(["ebike"], wrong)
