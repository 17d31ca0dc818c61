"""The versioned JSON form of dispatch problems and solutions (docs/dispatch-json.md).

Reading validates against the JSON Schema in ``dispatch/schemas`` and then the rules a schema
cannot state (unique ids, location indices, windows, pairs, square matrices); any failure is a
``core.errors.Validation`` whose one-line message names the JSON path of the first error.
Writing is canonical: problem fields holding their default are left out and sets are sorted, so
``problem_to_dict(problem_from_dict(d)) == d`` for every file Linli writes.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from core.errors import Validation
from dispatch.problem import (
    SCHEMA_VERSION,
    Break,
    BreakTaken,
    DispatchProblem,
    Job,
    JobKind,
    Matrix,
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

PROBLEM_SCHEMA: Final = "dispatch-problem.schema.json"
SOLUTION_SCHEMA: Final = "dispatch-solution.schema.json"
_MAJOR: Final = SCHEMA_VERSION.split(".")[0]
_MAX_MESSAGE: Final = 160
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

Json = dict[str, Any]
T = TypeVar("T")


def schema(name: str) -> Json:
    """A packaged JSON Schema by file name (``PROBLEM_SCHEMA`` or ``SOLUTION_SCHEMA``)."""
    return copy.deepcopy(_schema(name))


@functools.cache
def _schema(name: str) -> Json:
    text = resources.files("dispatch.schemas").joinpath(name).read_text(encoding="utf-8")
    loaded: Json = json.loads(text)
    return loaded


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(_schema(name))


# ---------------------------------------------------------------------------------------------
# Problem


_WRITTEN_APART: Final = frozenset(
    {"version", "name", "epoch", "locations", "workers", "jobs", "weights", "travel"}
)


def problem_to_dict(problem: DispatchProblem) -> Json:
    """The canonical JSON form of ``problem`` (defaults left out, sets sorted)."""
    out: Json = {"version": problem.version, "name": problem.name, "epoch": problem.epoch}
    out.update(_changed(problem, skip=_WRITTEN_APART))
    out["locations"] = [[lat, lon] for lat, lon in problem.locations]
    out["workers"] = [_changed(w) for w in problem.workers]
    out["jobs"] = [_changed(j) for j in problem.jobs]
    weights = _changed(problem.weights)
    if weights:
        out["weights"] = weights
    if problem.travel is not None:
        out["travel"] = {
            "durations": {m: _matrix_list(v) for m, v in sorted(problem.travel.durations.items())},
            "distances": {m: _matrix_list(v) for m, v in sorted(problem.travel.distances.items())},
        }
    return out


def problem_from_dict(data: Any) -> DispatchProblem:
    """A problem from its JSON form; raises ``Validation`` naming the path of the first error."""
    _check_version(data, "dispatch problem")
    travel = data.get("travel") if isinstance(data, dict) else None
    if isinstance(travel, dict):
        # Matrices are checked with numpy below: jsonschema needs ~20 s for one 2,300² matrix.
        data = {**data, "travel": {k: _without_matrices(v) for k, v in travel.items()}}
    _validate(data, PROBLEM_SCHEMA, "dispatch problem")
    n = len(data["locations"])
    workers = tuple(_worker(w, f"$.workers[{i}]", n) for i, w in enumerate(data["workers"]))
    jobs = tuple(_job(j, f"$.jobs[{i}]", n) for i, j in enumerate(data["jobs"]))
    _check_unique([w.id for w in workers], "$.workers", "worker")
    _check_unique([j.id for j in jobs], "$.jobs", "job")
    _check_pairs(jobs)
    fields = _ints({k: data[k] for k in ("version", "name", "epoch", "horizon") if k in data})
    try:
        return DispatchProblem(
            **fields,
            locations=tuple((float(lat), float(lon)) for lat, lon in data["locations"]),
            workers=workers,
            jobs=jobs,
            weights=Weights(**{k: int(v) for k, v in data.get("weights", {}).items()}),
            travel=_travel(travel, n) if isinstance(travel, dict) else None,
        )
    except ValueError as exc:
        raise _invalid("dispatch problem", "$", str(exc)) from exc


def load_problem(path: str | os.PathLike[str]) -> DispatchProblem:
    """Read a problem file (travel matrices stay ``None`` when the file has none)."""
    return _load(path, problem_from_dict)


def dump_problem(
    problem: DispatchProblem, path: str | os.PathLike[str], indent: int | None = None
) -> None:
    """Write a problem file (compact by default: matrices make indented files huge)."""
    _dump(problem_to_dict(problem), path, indent)


def _changed(obj: Any, skip: frozenset[str] | set[str] = frozenset()) -> Json:
    """A dataclass's fields that differ from their defaults, in JSON form."""
    out: Json = {}
    for f in dataclasses.fields(obj):
        if f.name in skip:
            continue
        value = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING and value == f.default:
            continue
        if f.default_factory is not dataclasses.MISSING and value == f.default_factory():
            continue
        out[f.name] = _plain(value)
    return out


def _all_fields(obj: Any) -> Json:
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _all_fields(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _matrix_list(matrix: Matrix) -> list[list[int]]:
    rows: list[list[int]] = np.asarray(matrix, dtype=np.int64).tolist()
    return rows


def _without_matrices(value: Any) -> Any:
    if isinstance(value, dict):
        return {mode: [] for mode in value}
    return value


def _window(d: Json, path: str) -> Window:
    if d["end"] < d["start"]:
        raise _invalid(
            "dispatch problem", path, f"ends before it starts ({d['end']} < {d['start']})"
        )
    return Window(int(d["start"]), int(d["end"]))


def _break(d: Json, path: str) -> Break:
    if d["latest"] < d["earliest"]:
        raise _invalid("dispatch problem", path, "latest start is before the earliest")
    return Break(int(d["earliest"]), int(d["latest"]), int(d["duration"]))


def _location(value: int, path: str, n: int) -> int:
    if value >= n:
        raise _invalid("dispatch problem", path, f"location {value} does not exist ({n} locations)")
    return int(value)


def _worker(d: Json, path: str, n: int) -> Worker:
    kwargs = _ints(d)
    kwargs["start_location"] = _location(d["start_location"], f"{path}.start_location", n)
    kwargs["end_location"] = _location(d["end_location"], f"{path}.end_location", n)
    kwargs["shift"] = _window(d["shift"], f"{path}.shift")
    if "breaks" in d:
        kwargs["breaks"] = tuple(
            _break(b, f"{path}.breaks[{k}]") for k, b in enumerate(d["breaks"])
        )
    if "skills" in d:
        kwargs["skills"] = {s: int(level) for s, level in d["skills"].items()}
    for name in ("certificates", "languages"):
        if name in d:
            kwargs[name] = frozenset(d[name])
    return Worker(**kwargs)


def _job(d: Json, path: str, n: int) -> Job:
    kwargs = _ints(d)
    kwargs["location"] = _location(d["location"], f"{path}.location", n)
    kwargs["windows"] = tuple(
        _window(w, f"{path}.windows[{k}]") for k, w in enumerate(d["windows"])
    )
    if "kind" in d:
        kwargs["kind"] = JobKind(d["kind"])
    for name in ("skills", "certificates", "blocked_workers"):
        if name in d:
            kwargs[name] = frozenset(d[name])
    if "preferred_workers" in d:
        kwargs["preferred_workers"] = tuple(d["preferred_workers"])
    return Job(**kwargs)


def _ints(d: Json) -> Json:
    """A copy of ``d`` with whole floats (JSON ``5.0`` is an integer too) made ``int``."""
    return {k: int(v) if isinstance(v, float) else v for k, v in d.items()}


def _check_unique(ids: list[str], path: str, what: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(ids):
        if item in seen:
            raise _invalid("dispatch problem", f"{path}[{i}].id", f"duplicate {what} id {item!r}")
        seen.add(item)


_PARTNER: Final = {JobKind.PICKUP: JobKind.DELIVERY, JobKind.DELIVERY: JobKind.PICKUP}


def _check_pairs(jobs: tuple[Job, ...]) -> None:
    by_id = {j.id: j for j in jobs}
    for i, job in enumerate(jobs):
        if job.pair is None:
            continue
        path = f"$.jobs[{i}].pair"
        partner = _PARTNER.get(job.kind)
        if partner is None:
            raise _invalid("dispatch problem", path, "only pickups and deliveries have a pair")
        other = by_id.get(job.pair)
        if other is None:
            raise _invalid("dispatch problem", path, f"pair {job.pair!r} is not a job")
        if other.pair != job.id:
            raise _invalid(
                "dispatch problem", path, f"pair {job.pair!r} does not point back to {job.id!r}"
            )
        if other.kind != partner:
            raise _invalid(
                "dispatch problem",
                path,
                f"a {job.kind.value} must pair with a {partner.value}, not a {other.kind.value}",
            )


def _travel(travel: Json, n: int) -> Travel:
    durations, distances = travel["durations"], travel["distances"]
    for path, mine, theirs in (
        ("$.travel.distances", distances, durations),
        ("$.travel.durations", durations, distances),
    ):
        missing = sorted(set(theirs) - set(mine))
        if missing:
            raise _invalid("dispatch problem", path, f"no matrix for mode {missing[0]!r}")
    return Travel.from_arrays(
        {m: _matrix(v, f"$.travel.durations{_key(m)}", n) for m, v in durations.items()},
        {m: _matrix(v, f"$.travel.distances{_key(m)}", n) for m, v in distances.items()},
    )


def _matrix(value: Any, path: str, n: int) -> npt.NDArray[np.int64]:
    """The schema's ``matrix`` rule, checked with numpy, plus being n×n; as int64."""
    if not isinstance(value, list) or len(value) != n:
        raise _invalid("dispatch problem", path, f"must be {n}×{n}: one row per location")
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != n:
            raise _invalid("dispatch problem", f"{path}[{i}]", f"must be a row of {n} integers")
    array = np.array(value, dtype=object if n == 0 else None)
    if array.dtype.kind not in "iu" or array.ndim != 2:
        for i, row in enumerate(value):
            for j, x in enumerate(row):
                whole = isinstance(x, float) and x.is_integer()
                if isinstance(x, bool) or not (isinstance(x, int) or whole):
                    raise _invalid(
                        "dispatch problem", f"{path}[{i}][{j}]", f"{x!r} is not of type 'integer'"
                    )
    try:
        ints = array.astype(np.int64).reshape(n, n)
    except OverflowError as exc:
        raise _invalid("dispatch problem", path, "an entry does not fit in 64 bits") from exc
    negative = np.argwhere(ints < 0)
    if len(negative):
        i, j = (int(k) for k in negative[0])
        raise _invalid(
            "dispatch problem", f"{path}[{i}][{j}]", f"{ints[i, j]} is less than the minimum of 0"
        )
    return ints


# ---------------------------------------------------------------------------------------------
# Solution


def solution_to_dict(solution: Solution) -> Json:
    """The JSON form of ``solution`` (every field written)."""
    return {
        "version": solution.version,
        "problem_name": solution.problem_name,
        "objective": solution.objective,
        "routes": [_plain(r) for r in solution.routes],
        "unassigned": [_plain(u) for u in solution.unassigned],
        "stats": dict(solution.stats),
    }


def solution_from_dict(data: Any) -> Solution:
    """A solution from its JSON form; raises ``Validation`` naming the path of the first error."""
    _check_version(data, "dispatch solution")
    _validate(data, SOLUTION_SCHEMA, "dispatch solution")
    routes = tuple(_route(r, f"$.routes[{i}]") for i, r in enumerate(data["routes"]))
    unassigned = tuple(
        Unassigned(
            job_id=u["job_id"],
            reasons=tuple(
                Reason(ReasonCode(r["code"]), r["detail"], tuple(r["workers"]))
                for r in u["reasons"]
            ),
            penalty=int(u["penalty"]),
        )
        for u in data["unassigned"]
    )
    _check_once(data)
    return Solution(
        problem_name=data["problem_name"],
        routes=routes,
        unassigned=unassigned,
        objective=int(data["objective"]),
        stats=dict(data["stats"]),
        version=data["version"],
    )


def load_solution(path: str | os.PathLike[str]) -> Solution:
    """Read a solution file."""
    return _load(path, solution_from_dict)


def dump_solution(solution: Solution, path: str | os.PathLike[str], indent: int | None = 2) -> None:
    """Write a solution file (atomically: readers never see half a plan)."""
    _dump(solution_to_dict(solution), path, indent)


def _route(d: Json, path: str) -> Route:
    stops = []
    for k, s in enumerate(d["stops"]):
        here = f"{path}.stops[{k}]"
        if s["start"] < s["arrival"]:
            raise _invalid("dispatch solution", f"{here}.start", "service starts before arrival")
        if s["end"] < s["start"]:
            raise _invalid("dispatch solution", f"{here}.end", "service ends before it starts")
        stops.append(Stop(**_ints(s)))
    if d["end"] < d["start"]:
        raise _invalid("dispatch solution", f"{path}.end", "route ends before it starts")
    for k, b in enumerate(d["breaks"]):
        if b["end"] < b["start"]:
            raise _invalid("dispatch solution", f"{path}.breaks[{k}].end", "ends before it starts")
    return Route(
        worker_id=d["worker_id"],
        start=int(d["start"]),
        end=int(d["end"]),
        stops=tuple(stops),
        breaks=tuple(BreakTaken(int(b["start"]), int(b["end"])) for b in d["breaks"]),
        travel_seconds=int(d["travel_seconds"]),
        travel_metres=int(d["travel_metres"]),
        service_seconds=int(d["service_seconds"]),
    )


def _check_once(data: Json) -> None:
    workers: set[str] = set()
    jobs: set[str] = set()
    for i, r in enumerate(data["routes"]):
        if r["worker_id"] in workers:
            raise _invalid(
                "dispatch solution",
                f"$.routes[{i}].worker_id",
                f"{r['worker_id']!r} has two routes",
            )
        workers.add(r["worker_id"])
    places = [
        (f"$.routes[{i}].stops[{k}].job_id", s["job_id"])
        for i, r in enumerate(data["routes"])
        for k, s in enumerate(r["stops"])
    ]
    places += [(f"$.unassigned[{i}].job_id", u["job_id"]) for i, u in enumerate(data["unassigned"])]
    for path, job_id in places:
        if job_id in jobs:
            raise _invalid("dispatch solution", path, f"job {job_id!r} appears twice")
        jobs.add(job_id)


# ---------------------------------------------------------------------------------------------
# Shared


def _check_version(data: Any, what: str) -> None:
    version = data.get("version") if isinstance(data, dict) else None
    if isinstance(version, str) and version.split(".")[0] != _MAJOR:
        raise _invalid(
            what,
            "$.version",
            f"unsupported version {version!r}: this Linli reads version {_MAJOR}.x",
        )


def _validate(data: Any, schema_name: str, what: str) -> None:
    error = best_match(_validator(schema_name).iter_errors(data))
    if error is not None:
        path, message = _describe(error)
        raise _invalid(what, path, message)


def _describe(error: ValidationError) -> tuple[str, str]:
    """Where an error is and what it says, naming the missing or unknown field itself."""
    path = error.json_path
    instance = error.instance
    required = error.validator_value
    if error.validator == "required" and isinstance(instance, dict) and isinstance(required, list):
        missing = [k for k in required if k not in instance]
        if missing:
            return path + _key(missing[0]), "is required"
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        extra = [k for k in instance if k not in known]
        if extra:
            return path + _key(extra[0]), "is not a known field"
    message = " ".join(error.message.split())
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    return path, message


def _key(name: str) -> str:
    return f".{name}" if _IDENTIFIER.match(name) else f"[{json.dumps(name, ensure_ascii=False)}]"


def _invalid(what: str, path: str, message: str) -> Validation:
    return Validation(f"{what} is invalid at {path}: {message}", path=path)


def _load(path: str | os.PathLike[str], parse: Callable[[Any], T]) -> T:
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Validation(
            f"{os.fspath(path)}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    try:
        return parse(data)
    except Validation as exc:
        raise Validation(f"{os.fspath(path)}: {exc.detail}", **exc.extra) from exc


def _dump(data: Json, path: str | os.PathLike[str], indent: int | None) -> None:
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"{target}: the folder {target.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=indent)
            out.write("\n")
        # mkstemp creates 0600; a plan file is an ordinary file for its readers.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
