"""The worker's day as an SVG map: stops projected from latitude and longitude into a box (no
tiles: none are reachable offline), joined in order by a polyline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
HEIGHT = 400
MARGIN = 32


@dataclass(frozen=True, slots=True)
class Point:
    """A stop on the map: its number and where it is drawn."""

    sequence: int
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class RouteMap:
    """The drawn stops and the polyline through them."""

    width: int
    height: int
    points: list[Point]

    @property
    def polyline(self) -> str:
        """The ``points`` attribute of the route's polyline."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def project(
    stops: Sequence[tuple[int, float, float]],
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    margin: int = MARGIN,
) -> RouteMap:
    """Stops ``(sequence, lat, lon)`` drawn in a ``width`` × ``height`` box: an
    equirectangular projection at the stops' mean latitude (east right, north up), one scale
    for both axes so distances keep their proportions, centred; a single stop sits in the
    middle."""
    if not stops:
        return RouteMap(width, height, [])
    mean_lat = sum(lat for _, lat, _ in stops) / len(stops)
    shrink = math.cos(math.radians(mean_lat))
    xs = [lon * shrink for _, _, lon in stops]
    ys = [lat for _, lat, _ in stops]
    span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
    inner_w, inner_h = width - 2 * margin, height - 2 * margin
    spans = [s for s in (span_x / inner_w, span_y / inner_h) if s > 0]
    scale = 1 / max(spans) if spans else 0.0
    mid_x, mid_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    points = [
        Point(seq, width / 2 + (x - mid_x) * scale, height / 2 - (y - mid_y) * scale)
        for (seq, _, _), x, y in zip(stops, xs, ys, strict=True)
    ]
    return RouteMap(width, height, points)
