"""Travel times and distances between locations: the provider protocol, haversine and caching.

Locations are ``(lat, lon)`` in WGS84 degrees, as in ``DispatchProblem.locations``. Every
provider returns integer seconds and integer metres, one square matrix per travel mode. A real
road engine is in ``dispatch.osrm``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from core.errors import Validation
from core.geo import EARTH_RADIUS_M
from dispatch.problem import DispatchProblem, Matrix, Travel

Location = tuple[float, float]
IntMatrix = npt.NDArray[np.int64]

DEFAULT_SPEEDS_KMH: Final[Mapping[str, float]] = MappingProxyType(
    {"walk": 4.5, "ebike": 15.0, "car": 25.0}
)


@runtime_checkable
class TravelTimeProvider(Protocol):
    """Anything that turns locations into travel matrices per mode."""

    def matrices(self, locations: Sequence[Location], modes: Iterable[str]) -> Travel:
        """Square duration (s) and distance (m) matrices over ``locations`` for each mode."""
        ...


def _coordinates(locations: Sequence[Location]) -> npt.NDArray[np.float64]:
    coords = np.asarray(locations, dtype=np.float64).reshape(-1, 2)
    lat, lon = coords[:, 0], coords[:, 1]
    if not (np.all(np.abs(lat) <= 90.0) and np.all(np.abs(lon) <= 180.0)):
        raise Validation("a location is not a (lat, lon) pair in degrees")
    return coords


def haversine_matrix(locations: Sequence[Location]) -> npt.NDArray[np.float64]:
    """Great-circle metres between every pair of locations (float, exactly symmetric)."""
    rad = np.radians(_coordinates(locations))
    lat, lon = rad[:, 0], rad[:, 1]
    cos_lat = np.cos(lat)
    # Chord lengths between unit vectors: only products and one arcsin per pair, in place
    # (n² trigonometry and temporaries cost more than the arithmetic for thousands of places).
    axes = (cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat))
    chord: npt.NDArray[np.float64] = np.subtract.outer(axes[0], axes[0])
    chord *= chord
    term = np.empty_like(chord)
    for axis in axes[1:]:
        np.subtract.outer(axis, axis, out=term)
        term *= term
        chord += term
    del term
    np.sqrt(chord, out=chord)
    chord *= 0.5
    np.clip(chord, 0.0, 1.0, out=chord)
    np.arcsin(chord, out=chord)
    chord *= 2.0 * EARTH_RADIUS_M
    return chord


def _frozen(values: npt.NDArray[np.float64]) -> IntMatrix:
    out = np.rint(values).astype(np.int64)
    out.flags.writeable = False
    return out


class HaversineTravel:
    """Straight-line distance times a road factor, at a fixed speed per mode."""

    def __init__(
        self,
        road_factor: float = 1.3,
        speeds_kmh: Mapping[str, float] = DEFAULT_SPEEDS_KMH,
        min_seconds: int = 0,
    ) -> None:
        if road_factor < 1.0:
            raise ValueError("road_factor must be at least 1")
        if any(v <= 0 for v in speeds_kmh.values()):
            raise ValueError("speeds must be positive")
        if min_seconds < 0:
            raise ValueError("min_seconds must not be negative")
        self.road_factor = road_factor
        self.speeds_kmh = dict(speeds_kmh)
        self.min_seconds = min_seconds

    def matrices(self, locations: Sequence[Location], modes: Iterable[str]) -> Travel:
        """Road metres and seconds per mode; the diagonal is zero."""
        wanted = sorted(set(modes))
        unknown = [m for m in wanted if m not in self.speeds_kmh]
        if unknown:
            known = ", ".join(sorted(self.speeds_kmh))
            raise Validation(f"unknown travel mode {unknown[0]!r} (known: {known})")
        road = haversine_matrix(locations)
        road *= self.road_factor
        metres = _frozen(road)
        scratch = np.empty_like(road)
        durations: dict[str, Matrix] = {}
        for mode in wanted:
            np.multiply(road, 3.6 / self.speeds_kmh[mode], out=scratch)
            if self.min_seconds:
                np.maximum(scratch, self.min_seconds, out=scratch)
                np.fill_diagonal(scratch, 0.0)
            durations[mode] = _frozen(scratch)
        return Travel(durations=durations, distances=dict.fromkeys(wanted, metres))


class CachedTravel:
    """Remembers ``inner``'s matrices by (locations, mode), so each is computed once."""

    def __init__(self, inner: TravelTimeProvider, maxsize: int = 16) -> None:
        self.inner = inner
        self.maxsize = maxsize
        self._cache: OrderedDict[tuple[tuple[Location, ...], str], tuple[Matrix, Matrix]]
        self._cache = OrderedDict()
        self._lock = threading.Lock()

    def matrices(self, locations: Sequence[Location], modes: Iterable[str]) -> Travel:
        """The inner provider's matrices, computing only the modes not seen for these places."""
        key_locations = tuple((float(lat), float(lon)) for lat, lon in locations)
        wanted = sorted(set(modes))
        found: dict[str, tuple[Matrix, Matrix]] = {}
        with self._lock:
            for mode in wanted:
                hit = self._cache.get((key_locations, mode))
                if hit is not None:
                    self._cache.move_to_end((key_locations, mode))
                    found[mode] = hit
        missing = [m for m in wanted if m not in found]
        if missing:
            fresh = self.inner.matrices(key_locations, missing)
            with self._lock:
                for mode in missing:
                    entry = (fresh.durations[mode], fresh.distances[mode])
                    found[mode] = entry
                    self._cache[(key_locations, mode)] = entry
                while len(self._cache) > self.maxsize:
                    self._cache.popitem(last=False)
        return Travel(
            durations={m: found[m][0] for m in wanted},
            distances={m: found[m][1] for m in wanted},
        )

    def clear(self) -> None:
        """Forget every cached matrix."""
        with self._lock:
            self._cache.clear()


def with_travel(problem: DispatchProblem, provider: TravelTimeProvider) -> DispatchProblem:
    """``problem`` with matrices for every mode its workers use; present modes are kept."""
    have = problem.travel.modes if problem.travel is not None else frozenset()
    missing = sorted(problem.modes - have)
    if not missing:
        return problem
    fresh = provider.matrices(problem.locations, missing)
    durations: dict[str, Matrix] = {}
    distances: dict[str, Matrix] = {}
    if problem.travel is not None:
        durations.update(problem.travel.durations)
        distances.update(problem.travel.distances)
    for mode in missing:
        durations[mode] = fresh.durations[mode]
        distances[mode] = fresh.distances[mode]
    return dataclasses.replace(problem, travel=Travel(durations=durations, distances=distances))
