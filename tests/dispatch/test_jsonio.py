"""The JSON form of problems and solutions: exact round trips, the schema, clear refusals."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from core.errors import Validation
from dispatch import jsonio
from dispatch.problem import (
    Break,
    BreakTaken,
    DispatchProblem,
    Job,
    JobKind,
    Priority,
    Reason,
    ReasonCode,
    Route,
    Solution,
    Stop,
    Travel,
    Unassigned,
    Weights,
    Window,
    Worker,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "dispatch-json.md"
H = 3600


def make_problem(*, travel: bool = True) -> DispatchProblem:
    """A problem with every field set to something other than its default."""
    locations = ((26.0822, 119.2965), (26.0846, 119.2915), (26.079, 119.301))
    matrix = ((0, 180, 200), (170, 0, 350), (210, 340, 0))
    metres = ((0, 736, 745), (736, 0, 1475), (745, 1475, 0))
    workers = (
        Worker(
            id="w1",
            start_location=0,
            end_location=2,
            shift=Window(8 * H, 17 * H),
            travel_mode="car",
            breaks=(Break(12 * H, 13 * H, 1800),),
            max_work_seconds=8 * H,
            skills={"cleaning": 4, "elderly_care": 2},
            certificates=frozenset({"b", "a"}),
            gender="female",
            languages=frozenset({"zh", "fzh"}),
            capacity=4,
            fixed_cost=100,
            provider="p1",
        ),
        Worker(id="w2", start_location=1, end_location=1, shift=Window(9 * H, 12 * H)),
    )
    jobs = (
        Job(
            id="j1",
            location=1,
            windows=(Window(9 * H, 10 * H), Window(15 * H, 16 * H)),
            service_seconds=3600,
            skills=frozenset({"elderly_care"}),
            main_skill="elderly_care",
            certificates=frozenset({"caregiver"}),
            required_gender="female",
            required_language="fzh",
            blocked_workers=frozenset({"w9", "w3"}),
            preferred_workers=("w2", "w1"),
            preference_weight=500,
            priority=Priority.PROTECTED,
            drop_penalty=123,
            lateness_cost_per_second=2,
            max_lateness_seconds=600,
            provider="p1",
            pinned_worker="w1",
            pinned_rank=0,
            order_ref="ord-1",
        ),
        Job("p", 2, (Window(11 * H, 11 * H + 900),), 60, kind=JobKind.PICKUP, pair="d", demand=1),
        Job(
            "d",
            0,
            (Window(11 * H, 12 * H),),
            120,
            kind=JobKind.DELIVERY,
            pair="p",
            demand=-1,
            max_ride_seconds=1200,
        ),
    )
    return DispatchProblem(
        name="t",
        epoch="2026-11-27T00:00:00+08:00",
        locations=locations,
        workers=workers,
        jobs=jobs,
        travel=Travel({"car": matrix, "ebike": matrix}, {"car": metres, "ebike": metres})
        if travel
        else None,
        weights=Weights(travel_second=2, lateness_scale=3, preference=4, balance_per_second=5),
        horizon=20 * H,
    )


def make_solution() -> Solution:
    stop = Stop("j1", 1, 32000, 32400, 36000, 180, 736, lateness=0)
    late = Stop("p", 2, 39800, 39800, 39860, 340, 1475, lateness=200)
    return Solution(
        problem_name="t",
        routes=(
            Route("w1", 31820, 40100, (stop, late), (BreakTaken(36000, 37800),), 760, 2956, 3660),
            Route("w2", 32400, 32400, ()),
        ),
        unassigned=(
            Unassigned(
                "d", (Reason(ReasonCode.UNREACHABLE, "too far", ("w1",)),), penalty=1_000_000
            ),
        ),
        objective=1_000_760,
        stats={"solver": "ortools", "seed": 7, "wall_seconds": 1.25},
    )


def minimal() -> dict[str, Any]:
    return {
        "version": "1.0",
        "name": "m",
        "epoch": "2026-11-27T00:00:00+08:00",
        "locations": [[26.08, 119.29], [26.09, 119.3]],
        "workers": [
            {"id": "w", "start_location": 0, "end_location": 0, "shift": {"start": 0, "end": 9}}
        ],
        "jobs": [
            {"id": "j", "location": 1, "windows": [{"start": 0, "end": 5}], "service_seconds": 3}
        ],
    }


def doc_example(name: str) -> dict[str, Any]:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- example: {name} -->\s*```json\n(.*?)\n```", text, re.S)
    assert match, f"{DOC.name} has no example block marked {name}"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def refused(data: Any, *, solution: bool = False) -> str:
    with pytest.raises(Validation) as info:
        (jsonio.solution_from_dict if solution else jsonio.problem_from_dict)(data)
    message = str(info.value)
    assert "\n" not in message
    assert info.value.extra["path"] in message
    return message


class TestProblemRoundTrip:
    def test_object_dict_object(self) -> None:
        p = make_problem()
        assert jsonio.problem_from_dict(jsonio.problem_to_dict(p)) == p

    def test_dict_object_dict_is_exact(self) -> None:
        d = jsonio.problem_to_dict(make_problem())
        assert jsonio.problem_to_dict(jsonio.problem_from_dict(copy.deepcopy(d))) == d

    def test_minimal_dict_is_canonical(self) -> None:
        d = minimal()
        p = jsonio.problem_from_dict(d)
        assert p.travel is None
        assert p.horizon == 24 * H
        assert p.workers[0].travel_mode == "ebike"
        assert jsonio.problem_to_dict(p) == d

    def test_defaults_left_out_sets_sorted_and_times_integers(self) -> None:
        d = jsonio.problem_to_dict(make_problem())
        assert d["workers"][1] == {
            "id": "w2",
            "start_location": 1,
            "end_location": 1,
            "shift": {"start": 9 * H, "end": 12 * H},
        }
        assert d["workers"][0]["certificates"] == ["a", "b"]
        assert d["jobs"][0]["blocked_workers"] == ["w3", "w9"]
        assert d["jobs"][0]["preferred_workers"] == ["w2", "w1"]  # an order, not a set
        assert type(d["travel"]["durations"]["car"][0][1]) is int

    def test_file_round_trip_is_byte_exact(self, tmp_path: Path) -> None:
        first, second = tmp_path / "a.json", tmp_path / "b.json"
        jsonio.dump_problem(make_problem(), first)
        loaded = jsonio.load_problem(first)
        assert loaded == make_problem()
        jsonio.dump_problem(loaded, second)
        assert first.read_bytes() == second.read_bytes()

    def test_array_travel_is_written_as_lists(self) -> None:
        p = make_problem()
        assert p.travel is not None
        arrays = Travel.from_arrays(
            {m: np.array(v) for m, v in p.travel.durations.items()},
            {m: np.array(v) for m, v in p.travel.distances.items()},
        )
        q = DispatchProblem(
            name=p.name,
            epoch=p.epoch,
            locations=p.locations,
            workers=p.workers,
            jobs=p.jobs,
            travel=arrays,
            weights=p.weights,
            horizon=p.horizon,
        )
        assert q == p
        assert jsonio.problem_to_dict(q) == jsonio.problem_to_dict(p)

    def test_whole_floats_are_read_as_integers(self) -> None:
        d = minimal()
        d["jobs"][0]["service_seconds"] = 3.0
        d["travel"] = {
            "durations": {"ebike": [[0, 1.0], [1, 0]]},
            "distances": {"ebike": [[0, 5], [5, 0]]},
        }
        p = jsonio.problem_from_dict(d)
        assert type(p.jobs[0].service_seconds) is int
        assert p.travel is not None and p.travel.duration("ebike", 0, 1) == 1

    def test_large_matrices_load_quickly_as_arrays(self) -> None:
        n = 400
        d = minimal()
        d["locations"] = [[26.0 + i * 1e-4, 119.3] for i in range(n)]
        grid = np.add.outer(np.arange(n), np.arange(n)).tolist()
        d["travel"] = {"durations": {"ebike": grid}, "distances": {"ebike": grid}}
        p = jsonio.problem_from_dict(d)
        assert p.travel is not None
        assert isinstance(p.travel.durations["ebike"], np.ndarray)
        assert p.travel.duration("ebike", 3, 5) == 8
        assert jsonio.problem_to_dict(p) == d


class TestSolutionRoundTrip:
    def test_object_dict_object(self) -> None:
        s = make_solution()
        assert jsonio.solution_from_dict(jsonio.solution_to_dict(s)) == s

    def test_dict_object_dict_is_exact(self) -> None:
        d = jsonio.solution_to_dict(make_solution())
        assert jsonio.solution_to_dict(jsonio.solution_from_dict(copy.deepcopy(d))) == d

    def test_every_field_is_written(self) -> None:
        d = jsonio.solution_to_dict(make_solution())
        assert d["routes"][1] == {
            "worker_id": "w2",
            "start": 32400,
            "end": 32400,
            "stops": [],
            "breaks": [],
            "travel_seconds": 0,
            "travel_metres": 0,
            "service_seconds": 0,
        }
        assert d["unassigned"][0]["reasons"][0]["code"] == "unreachable_in_time"

    def test_file_round_trip(self, tmp_path: Path) -> None:
        path = tmp_path / "plan.json"
        jsonio.dump_solution(make_solution(), path)
        assert jsonio.load_solution(path) == make_solution()
        assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]  # no temporary left


class TestDocumentation:
    @pytest.mark.parametrize("name", ["dispatch-problem", "dispatch-solution"])
    def test_docs_schema_is_the_packaged_schema(self, name: str) -> None:
        docs = (ROOT / "docs" / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")
        packaged = (ROOT / "dispatch" / "schemas" / f"{name}.schema.json").read_text("utf-8")
        assert docs == packaged, f"copy dispatch/schemas/{name}.schema.json to docs/schemas/"

    @pytest.mark.parametrize("name", [jsonio.PROBLEM_SCHEMA, jsonio.SOLUTION_SCHEMA])
    def test_schema_is_valid_and_describes_every_field(self, name: str) -> None:
        schema = jsonio.schema(name)
        Draft202012Validator.check_schema(schema)
        undescribed: list[str] = []

        def walk(node: Any, path: str) -> None:
            if isinstance(node, dict):
                for field, sub in node.get("properties", {}).items():
                    if "description" not in sub:
                        undescribed.append(f"{path}.{field}")
                for key, sub in node.items():
                    if key != "if":  # a condition, not a field
                        walk(sub, f"{path}/{key}")
            elif isinstance(node, list):
                for i, sub in enumerate(node):
                    walk(sub, f"{path}[{i}]")

        walk(schema, "#")
        assert undescribed == []

    def test_problem_example_is_valid_and_canonical(self) -> None:
        data = doc_example("dispatch-problem")
        Draft202012Validator(
            json.loads((ROOT / "docs/schemas/dispatch-problem.schema.json").read_text())
        ).validate(data)
        problem = jsonio.problem_from_dict(data)
        assert problem.travel is not None and problem.travel.modes == problem.modes
        assert jsonio.problem_to_dict(problem) == data

    def test_solution_example_is_valid_and_fits_the_problem(self) -> None:
        data = doc_example("dispatch-solution")
        Draft202012Validator(
            json.loads((ROOT / "docs/schemas/dispatch-solution.schema.json").read_text())
        ).validate(data)
        solution = jsonio.solution_from_dict(data)
        assert jsonio.solution_to_dict(solution) == data
        problem = jsonio.problem_from_dict(doc_example("dispatch-problem"))
        assert solution.problem_name == problem.name
        assert solution.assigned_job_ids | {u.job_id for u in solution.unassigned} == {
            j.id for j in problem.jobs
        }
        assert problem.travel is not None
        for route in solution.routes:
            worker = problem.worker(route.worker_id)
            previous = worker.start_location
            for stop in route.stops:
                assert stop.location == problem.job(stop.job_id).location
                assert stop.travel_seconds == problem.travel.duration(
                    worker.travel_mode, previous, stop.location
                )
                previous = stop.location

    def test_documented_messages_are_real(self) -> None:
        text = DOC.read_text(encoding="utf-8")
        data = doc_example("dispatch-problem")
        data["jobs"][0]["service_seconds"] = -60
        assert refused(data) in text
        data = doc_example("dispatch-problem")
        del data["workers"][1]["shift"]
        assert refused(data) in text
        data = doc_example("dispatch-problem")
        data["jobs"][2]["pair"] = "j-repair-1"
        assert refused(data) in text


class TestProblemRefusals:
    @pytest.mark.parametrize(
        ("where", "field", "path"),
        [
            ((), "name", "$.name"),
            ((), "version", "$.version"),
            (("workers", 0), "shift", "$.workers[0].shift"),
            (("jobs", 0), "windows", "$.jobs[0].windows"),
            (("jobs", 0, "windows", 0), "end", "$.jobs[0].windows[0].end"),
        ],
    )
    def test_missing_field_is_named(self, where: tuple[Any, ...], field: str, path: str) -> None:
        d = minimal()
        node: Any = d
        for step in where:
            node = node[step]
        del node[field]
        assert refused(d) == f"dispatch problem is invalid at {path}: is required"

    @pytest.mark.parametrize(
        ("field", "path"),
        [
            ("service_seconds", "$.jobs[0].service_seconds"),
            ("location", "$.jobs[0].location"),
        ],
    )
    def test_negative_seconds_and_indices(self, field: str, path: str) -> None:
        d = minimal()
        d["jobs"][0][field] = -5
        assert refused(d) == (
            f"dispatch problem is invalid at {path}: -5 is less than the minimum of 0"
        )

    def test_negative_window(self) -> None:
        d = minimal()
        d["jobs"][0]["windows"][0]["start"] = -1
        assert "$.jobs[0].windows[0].start: -1 is less than the minimum of 0" in refused(d)

    def test_unknown_major_version(self) -> None:
        d = minimal()
        d["version"] = "2.0"
        assert refused(d) == (
            "dispatch problem is invalid at $.version: "
            "unsupported version '2.0': this Linli reads version 1.x"
        )

    def test_newer_minor_version_is_read(self) -> None:
        d = minimal()
        d["version"] = "1.3"
        assert jsonio.problem_from_dict(d).version == "1.3"

    def test_malformed_version(self) -> None:
        d = minimal()
        d["version"] = "one"
        assert "$.version" in refused(d)

    def test_pair_not_pointing_back(self) -> None:
        d = minimal()
        d["jobs"] = [
            {**d["jobs"][0], "id": "p", "kind": "pickup", "pair": "d"},
            {**d["jobs"][0], "id": "d", "kind": "delivery", "pair": "x"},
            {**d["jobs"][0], "id": "x", "kind": "pickup", "pair": "d"},
        ]
        assert refused(d) == (
            "dispatch problem is invalid at $.jobs[0].pair: pair 'd' does not point back to 'p'"
        )

    def test_pair_to_missing_job(self) -> None:
        d = minimal()
        d["jobs"][0].update(kind="pickup", pair="nope")
        assert (
            refused(d) == "dispatch problem is invalid at $.jobs[0].pair: pair 'nope' is not a job"
        )

    def test_pickup_without_pair(self) -> None:
        d = minimal()
        d["jobs"][0]["kind"] = "delivery"
        assert refused(d) == "dispatch problem is invalid at $.jobs[0].pair: is required"

    def test_pickup_paired_with_pickup(self) -> None:
        d = minimal()
        d["jobs"] = [
            {**d["jobs"][0], "id": "a", "kind": "pickup", "pair": "b"},
            {**d["jobs"][0], "id": "b", "kind": "pickup", "pair": "a"},
        ]
        assert "a pickup must pair with a delivery, not a pickup" in refused(d)

    def test_service_with_a_pair(self) -> None:
        d = minimal()
        d["jobs"][0]["pair"] = "j"
        assert refused(d) == (
            "dispatch problem is invalid at $.jobs[0].pair: only pickups and deliveries have a pair"
        )

    def test_unknown_field(self) -> None:
        d = minimal()
        d["workers"][0]["skils"] = {}
        assert (
            refused(d) == "dispatch problem is invalid at $.workers[0].skils: is not a known field"
        )

    def test_wrong_type(self) -> None:
        d = minimal()
        d["jobs"][0]["service_seconds"] = "an hour"
        assert refused(d) == (
            "dispatch problem is invalid at $.jobs[0].service_seconds: "
            "'an hour' is not of type 'integer'"
        )

    def test_skill_level_out_of_range(self) -> None:
        d = minimal()
        d["workers"][0]["skills"] = {"cleaning": 6}
        assert "$.workers[0].skills.cleaning: 6 is greater than the maximum of 5" in refused(d)

    def test_location_out_of_range(self) -> None:
        d = minimal()
        d["workers"][0]["end_location"] = 2
        assert refused(d) == (
            "dispatch problem is invalid at $.workers[0].end_location: "
            "location 2 does not exist (2 locations)"
        )

    def test_latitude_out_of_range(self) -> None:
        d = minimal()
        d["locations"][1] = [126.0, 119.3]
        assert "$.locations[1][0]: 126.0 is greater than the maximum of 90" in refused(d)

    def test_window_backwards(self) -> None:
        d = minimal()
        d["workers"][0]["shift"] = {"start": 10, "end": 9}
        assert refused(d) == (
            "dispatch problem is invalid at $.workers[0].shift: ends before it starts (9 < 10)"
        )

    def test_duplicate_ids(self) -> None:
        d = minimal()
        d["jobs"].append(dict(d["jobs"][0]))
        assert refused(d) == "dispatch problem is invalid at $.jobs[1].id: duplicate job id 'j'"

    def test_not_an_object(self) -> None:
        assert refused([1, 2]) == "dispatch problem is invalid at $: [1, 2] is not of type 'object'"

    @pytest.mark.parametrize(
        ("durations", "path", "says"),
        [
            ([[0, 1]], "$.travel.durations.ebike", "must be 2×2"),
            ([[0, 1], [1]], "$.travel.durations.ebike[1]", "must be a row of 2 integers"),
            ([[0, 1], [-1, 0]], "$.travel.durations.ebike[1][0]", "-1 is less than the minimum"),
            ([[0, 1.5], [1, 0]], "$.travel.durations.ebike[0][1]", "1.5 is not of type 'integer'"),
            ([[0, "x"], [1, 0]], "$.travel.durations.ebike[0][1]", "'x' is not of type"),
            ([[False, True], [True, False]], "$.travel.durations.ebike[0][0]", "False is not"),
        ],
    )
    def test_bad_matrix(self, durations: Any, path: str, says: str) -> None:
        d = minimal()
        d["travel"] = {"durations": {"ebike": durations}, "distances": {"ebike": [[0, 1], [1, 0]]}}
        message = refused(d)
        assert f"at {path}: " in message and says in message

    def test_travel_modes_must_match(self) -> None:
        d = minimal()
        d["travel"] = {"durations": {"ebike": [[0, 1], [1, 0]]}, "distances": {}}
        assert refused(d) == (
            "dispatch problem is invalid at $.travel.distances: no matrix for mode 'ebike'"
        )

    def test_travel_needs_both_tables(self) -> None:
        d = minimal()
        d["travel"] = {"durations": {"ebike": [[0, 1], [1, 0]]}}
        assert refused(d) == "dispatch problem is invalid at $.travel.distances: is required"

    def test_file_errors_name_the_file(self, tmp_path: Path) -> None:
        bad = tmp_path / "day.json"
        bad.write_text("{", encoding="utf-8")
        with pytest.raises(Validation, match=r"day\.json: not JSON: line 1 column 2"):
            jsonio.load_problem(bad)
        d = minimal()
        d["version"] = "9.1"
        bad.write_text(json.dumps(d), encoding="utf-8")
        with pytest.raises(
            Validation, match=r"day\.json: dispatch problem is invalid at \$\.version"
        ):
            jsonio.load_problem(bad)


class TestSolutionRefusals:
    def test_missing_field(self) -> None:
        d = jsonio.solution_to_dict(make_solution())
        del d["routes"][0]["stops"][1]["lateness"]
        assert refused(d, solution=True) == (
            "dispatch solution is invalid at $.routes[0].stops[1].lateness: is required"
        )

    def test_negative_seconds(self) -> None:
        d = jsonio.solution_to_dict(make_solution())
        d["routes"][0]["travel_seconds"] = -1
        assert "$.routes[0].travel_seconds: -1 is less than the minimum of 0" in refused(
            d, solution=True
        )

    def test_unknown_major_version(self) -> None:
        d = jsonio.solution_to_dict(make_solution())
        d["version"] = "0.9"
        assert "at $.version: unsupported version '0.9'" in refused(d, solution=True)

    def test_unknown_reason(self) -> None:
        d = jsonio.solution_to_dict(make_solution())
        d["unassigned"][0]["reasons"][0]["code"] = "bad_luck"
        assert "$.unassigned[0].reasons[0].code" in refused(d, solution=True)

    def test_job_twice(self) -> None:
        d = jsonio.solution_to_dict(make_solution())
        d["unassigned"][0]["job_id"] = "j1"
        assert refused(d, solution=True) == (
            "dispatch solution is invalid at $.unassigned[0].job_id: job 'j1' appears twice"
        )

    def test_service_before_arrival(self) -> None:
        d = jsonio.solution_to_dict(make_solution())
        d["routes"][0]["stops"][0]["start"] = 100
        assert refused(d, solution=True) == (
            "dispatch solution is invalid at $.routes[0].stops[0].start: "
            "service starts before arrival"
        )
