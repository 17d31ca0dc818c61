"""A small, generated road map for routing tests: a square grid of streets near Fuzhou.

Nodes sit ``spacing_m`` apart on a ``size`` × ``size`` grid. Every street is
``highway=residential``; one east–west street is one-way (eastbound) and one north–south link
is missing, so a road engine must detour where a straight-line model would not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from core.geo import EARTH_RADIUS_M

Cell = tuple[int, int]


@dataclass(frozen=True, slots=True)
class GridMap:
    """A ``size`` × ``size`` street grid; cell ``(row, col)`` grows north and east."""

    size: int = 6
    spacing_m: float = 200.0
    origin: tuple[float, float] = (26.070, 119.290)  # (lat, lon), south-west corner, 鼓楼
    oneway_row: int = 2
    missing_link: tuple[Cell, Cell] = ((3, 4), (4, 4))

    @property
    def _dlat(self) -> float:
        return math.degrees(self.spacing_m / EARTH_RADIUS_M)

    @property
    def _dlon(self) -> float:
        return self._dlat / math.cos(math.radians(self.origin[0]))

    def coord(self, cell: Cell) -> tuple[float, float]:
        """The (lat, lon) of a grid node."""
        row, col = cell
        return (self.origin[0] + row * self._dlat, self.origin[1] + col * self._dlon)

    def node_id(self, cell: Cell) -> int:
        """The OSM node id of a grid node."""
        return 1 + cell[0] * self.size + cell[1]

    def cells(self) -> list[Cell]:
        """Every node, row by row."""
        return [(r, c) for r in range(self.size) for c in range(self.size)]

    def grid_metres(self, a: Cell, b: Cell) -> float:
        """The Manhattan street distance between two nodes, ignoring one-ways and gaps."""
        return (abs(a[0] - b[0]) + abs(a[1] - b[1])) * self.spacing_m

    def _ways(self) -> list[tuple[list[Cell], dict[str, str]]]:
        ways: list[tuple[list[Cell], dict[str, str]]] = []
        for row in range(self.size):
            tags = {"highway": "residential", "name": f"东{row}路"}
            if row == self.oneway_row:
                tags["oneway"] = "yes"
            ways.append(([(row, c) for c in range(self.size)], tags))
        gap = set(self.missing_link)
        for col in range(self.size):
            tags = {"highway": "residential", "name": f"北{col}街"}
            run: list[Cell] = [(0, col)]
            for row in range(1, self.size):
                if {run[-1], (row, col)} == gap:
                    ways.append((run, tags))
                    run = []
                run.append((row, col))
            ways.append((run, tags))
        return [(nodes, tags) for nodes, tags in ways if len(nodes) > 1]

    def to_xml(self) -> bytes:
        """The map as OSM XML."""
        root = ET.Element("osm", version="0.6", generator="linli-tests")
        for cell in self.cells():
            lat, lon = self.coord(cell)
            ET.SubElement(
                root,
                "node",
                id=str(self.node_id(cell)),
                version="1",
                lat=f"{lat:.7f}",
                lon=f"{lon:.7f}",
            )
        for i, (nodes, tags) in enumerate(self._ways(), start=1):
            way = ET.SubElement(root, "way", id=str(1000 + i), version="1")
            for cell in nodes:
                ET.SubElement(way, "nd", ref=str(self.node_id(cell)))
            for k, v in tags.items():
                ET.SubElement(way, "tag", k=k, v=v)
        return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))

    def write(self, path: Path) -> Path:
        """Write the map as ``.osm`` XML and return the path."""
        path.write_bytes(self.to_xml())
        return path
