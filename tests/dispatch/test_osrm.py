"""OSRM as the road engine: the client on a fake service, then real osrm-routed on a made map.

The real half builds a 6 × 6 street grid with the tools of ``.venv-osrm`` (``make osrm``; it is
built here when missing) and fails if they cannot be had. Set ``LINLI_TEST_OSRM=0`` to leave the
real half out on purpose.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest

from core.errors import Validation
from dispatch.osrm import UNREACHABLE, OsrmError, OsrmTravel
from tests.dispatch.osm_grid import Cell, GridMap

ROOT = Path(__file__).resolve().parents[2]
OSRM_VENV = ROOT / ".venv-osrm"
SERVER_TABLE_LIMIT = 10  # small, so that the 36-node grid needs blocks


# ---------------------------------------------------------------------------------------------
# The client against a fake table service


def fake_service(
    *, limit: int = 100, unreachable: frozenset[tuple[int, int]] = frozenset()
) -> tuple[httpx.Client, list[str]]:
    """A table service whose metres are 1,000 × |Δlat| + |Δlon| in micro-degrees, 1 s per 10 m."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        parts = urlsplit(str(request.url))
        coords = [tuple(map(float, c.split(","))) for c in parts.path.split("/")[-1].split(";")]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        src = [int(i) for i in query["sources"].split(";")] if "sources" in query else None
        dst = (
            [int(i) for i in query["destinations"].split(";")] if "destinations" in query else None
        )
        rows = src if src is not None else list(range(len(coords)))
        cols = dst if dst is not None else list(range(len(coords)))
        if len(rows) * len(cols) > limit * limit:
            return httpx.Response(400, json={"code": "TooBig", "message": "Too many"})
        metres = [
            [
                None
                if (round(coords[a][1] * 1e3), round(coords[b][1] * 1e3)) in unreachable
                else 1e6 * (abs(coords[a][0] - coords[b][0]) + abs(coords[a][1] - coords[b][1]))
                for b in cols
            ]
            for a in rows
        ]
        durations = [[None if m is None else m / 10 for m in row] for row in metres]
        return httpx.Response(200, json={"code": "Ok", "durations": durations, "distances": metres})

    return httpx.Client(transport=httpx.MockTransport(handle)), seen


def line(n: int) -> list[tuple[float, float]]:
    """Points 0.001° of latitude apart (1,000 fake metres)."""
    return [(26.0 + i * 1e-3, 119.3) for i in range(n)]


class TestClient:
    def test_one_request_when_it_fits(self) -> None:
        client, seen = fake_service()
        travel = OsrmTravel(client=client).matrices(line(4), ["car"])
        assert len(seen) == 1
        assert "/table/v1/car/119.300000,26.000000;" in seen[0]
        assert travel.distance("car", 0, 3) == 3000
        assert travel.duration("car", 3, 0) == 300

    def test_blocks_cover_the_whole_table(self) -> None:
        client, seen = fake_service(limit=3)
        travel = OsrmTravel(client=client, max_table_size=3).matrices(line(8), ["car"])
        assert len(seen) == 9  # 3 × 3 blocks of at most 3 × 3
        expected = 1000 * np.abs(np.subtract.outer(np.arange(8), np.arange(8)))
        assert np.array_equal(travel.distance_matrix("car"), expected)
        assert np.array_equal(travel.duration_matrix("car"), expected // 10)

    def test_modes_map_to_profiles_and_share_a_table(self) -> None:
        client, seen = fake_service()
        osrm = OsrmTravel(client=client, profiles={"car": "car", "van": "car", "walk": "foot"})
        travel = osrm.matrices(line(3), ["car", "van", "walk"])
        assert sorted(u.split("/")[5] for u in seen) == ["car", "foot"]
        assert travel.modes == {"car", "van", "walk"}

    def test_url_per_profile(self) -> None:
        client, seen = fake_service()
        urls = {"car": "http://cars:5000/", "foot": "http://feet:5001"}
        OsrmTravel(urls, client=client).matrices(line(2), ["car", "walk"])
        assert sorted(u.split("/table")[0] for u in seen) == [
            "http://cars:5000",
            "http://feet:5001",
        ]
        with pytest.raises(Validation, match="no OSRM URL configured for profile 'bicycle'"):
            OsrmTravel(urls, client=client).matrices(line(2), ["ebike"])

    def test_unknown_mode(self) -> None:
        client, _ = fake_service()
        with pytest.raises(Validation, match="no OSRM profile for travel mode 'boat'"):
            OsrmTravel(client=client).matrices(line(2), ["boat"])

    def test_no_route_costs_unreachable(self) -> None:
        client, _ = fake_service(unreachable=frozenset({(26000, 26002)}))
        travel = OsrmTravel(client=client).matrices(line(3), ["car"])
        assert travel.duration("car", 0, 2) == UNREACHABLE
        assert travel.distance("car", 0, 2) == UNREACHABLE
        assert travel.duration("car", 2, 0) == 200

    def test_refusal_is_explained(self) -> None:
        client, _ = fake_service(limit=2)
        with pytest.raises(OsrmError, match=r"TooBig: Too many.*lower max_table_size"):
            OsrmTravel(client=client, max_table_size=5).matrices(line(5), ["car"])

    def test_one_or_no_location_needs_no_service(self) -> None:
        client, seen = fake_service()
        assert OsrmTravel(client=client).matrices(line(1), ["car"]).duration("car", 0, 0) == 0
        assert OsrmTravel(client=client).matrices([], ["car"]).modes == {"car"}
        assert seen == []

    def test_unreachable_service(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # nothing listens once it is closed
        with (
            OsrmTravel(f"http://127.0.0.1:{port}", timeout=5) as osrm,
            pytest.raises(
                OsrmError, match=rf"profile 'car' is unreachable at http://127.0.0.1:{port}"
            ),
        ):
            osrm.matrices(line(2), ["car"])


# ---------------------------------------------------------------------------------------------
# Real osrm-routed on a generated street grid


@dataclass(frozen=True)
class Tools:
    """The OSRM executables and profiles of ``.venv-osrm``."""

    bin: Path
    profiles: Path

    def run(self, tool: str, *args: str | Path, cwd: Path) -> None:
        done = subprocess.run(
            [str(self.bin / f"osrm-{tool}"), *map(str, args)],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"osrm-{tool} failed ({done.returncode}):\n{done.stderr[-2000:]}")


@pytest.fixture(scope="module")
def osrm_tools() -> Tools:
    """The tools, building ``.venv-osrm`` with ``make osrm`` if needed; a failure fails."""
    if os.environ.get("LINLI_TEST_OSRM") == "0":
        pytest.skip("LINLI_TEST_OSRM=0: real OSRM left out on purpose")
    python = OSRM_VENV / "bin" / "python"
    if not (OSRM_VENV / ".stamp").exists():
        built = subprocess.run(
            ["make", "osrm"], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
        )
        if built.returncode != 0:
            pytest.fail(
                "could not build .venv-osrm (`make osrm`); set LINLI_TEST_OSRM=0 to leave the "
                f"OSRM tests out on purpose:\n{built.stdout[-1000:]}\n{built.stderr[-2000:]}"
            )
    found = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.util as u; print(u.find_spec('osrm').submodule_search_locations[0])",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if found.returncode != 0:
        pytest.fail(f".venv-osrm has no usable osrm package: {found.stderr[-1000:]}")
    package = Path(found.stdout.strip())
    return Tools(bin=package / "bin", profiles=package / "share" / "profiles")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def grid() -> GridMap:
    return GridMap()


@pytest.fixture(scope="module")
def serve(
    osrm_tools: Tools, grid: GridMap, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], str]]:
    """Start (once each) ``osrm-routed`` for a profile on the grid; gives its base URL."""
    servers: dict[str, str] = {}
    processes: list[subprocess.Popen[bytes]] = []

    def start(profile: str) -> str:
        if profile in servers:
            return servers[profile]
        work = tmp_path_factory.mktemp(f"osrm-{profile}")
        osm = grid.write(work / "grid.osm")
        base = work / "grid.osrm"
        osrm_tools.run("extract", "-p", osrm_tools.profiles / f"{profile}.lua", osm, cwd=work)
        if profile == "car":
            osrm_tools.run("contract", base, cwd=work)
            algorithm = "CH"
        else:
            osrm_tools.run("partition", base, cwd=work)
            osrm_tools.run("customize", base, cwd=work)
            algorithm = "MLD"
        port = free_port()
        log = (work / "routed.log").open("wb")
        process = subprocess.Popen(
            [
                str(osrm_tools.bin / "osrm-routed"),
                *("-i", "127.0.0.1", "-p", str(port), "-a", algorithm),
                *("--max-table-size", str(SERVER_TABLE_LIMIT), str(base)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        lat, lon = grid.coord((0, 0))
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"osrm-routed {profile} exited: {(work / 'routed.log').read_text()}")
            try:
                if httpx.get(f"{url}/nearest/v1/{profile}/{lon},{lat}", timeout=2).is_success:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"osrm-routed {profile} did not answer within 30 s")
            time.sleep(0.1)
        servers[profile] = url
        return url

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def places(grid: GridMap) -> list[tuple[float, float]]:
    return [grid.coord(c) for c in grid.cells()]


def index(grid: GridMap, cell: Cell) -> int:
    return grid.cells().index(cell)


@pytest.fixture(scope="module")
def car(serve: Callable[[str], str], grid: GridMap) -> tuple[np.ndarray, np.ndarray]:
    """Car seconds and metres over all 36 grid nodes, fetched in 10 × 10 blocks."""
    with OsrmTravel(serve("car"), max_table_size=SERVER_TABLE_LIMIT) as osrm:
        travel = osrm.matrices(places(grid), ["car"])
    return travel.duration_matrix("car"), travel.distance_matrix("car")


class TestRealOsrm:
    def test_whole_grid_in_blocks(self, car: tuple[np.ndarray, np.ndarray], grid: GridMap) -> None:
        seconds, metres = car
        n = grid.size**2
        assert seconds.shape == metres.shape == (n, n)
        assert not seconds.diagonal().any()
        assert (seconds[~np.eye(n, dtype=bool)] > 0).all()
        assert (seconds < UNREACHABLE).all()  # the grid is connected

    def test_too_big_a_table_is_refused_clearly(
        self, serve: Callable[[str], str], grid: GridMap
    ) -> None:
        with (
            OsrmTravel(serve("car"), max_table_size=36) as osrm,
            pytest.raises(OsrmError, match=r"TooBig.*lower max_table_size"),
        ):
            osrm.matrices(places(grid), ["car"])

    def test_distances_are_grid_metres_away_from_the_oneway_and_the_gap(
        self, car: tuple[np.ndarray, np.ndarray], grid: GridMap
    ) -> None:
        _, metres = car
        plain = [(r, c) for r in (0, 1) for c in range(grid.size)]
        for a in plain:
            for b in plain:
                expected = grid.grid_metres(a, b)
                got = metres[index(grid, a), index(grid, b)]
                assert abs(got - expected) <= 0.02 * expected + 5, (a, b, got, expected)

    def test_symmetric_where_the_streets_are(
        self, car: tuple[np.ndarray, np.ndarray], grid: GridMap
    ) -> None:
        seconds, metres = car
        plain = [index(grid, (r, c)) for r in (0, 1) for c in range(grid.size)]
        sub_m = metres[np.ix_(plain, plain)]
        sub_s = seconds[np.ix_(plain, plain)]
        assert np.abs(sub_m - sub_m.T).max() <= 5
        # Left and right turns cost differently, so seconds agree only to about one turn.
        assert np.abs(sub_s - sub_s.T).max() <= 15

    def test_durations_grow_with_grid_distance(
        self, car: tuple[np.ndarray, np.ndarray], grid: GridMap
    ) -> None:
        seconds, metres = car
        origin = index(grid, (0, 0))
        along = [index(grid, (0, c)) for c in range(grid.size)]
        assert np.all(np.diff(seconds[origin, along]) > 0)
        assert np.all(np.diff(metres[origin, along]) > 0)
        diagonal = [index(grid, (k, k)) for k in range(grid.size)]
        assert np.all(np.diff(seconds[origin, diagonal]) > 0)
        # About residential car speed: 200 m in well under a minute, 2 km in a few minutes.
        assert 10 < seconds[origin, along[1]] < 60
        assert 100 < seconds[origin, diagonal[-1]] < 900

    def test_oneway_street_makes_a_to_b_differ_from_b_to_a(
        self, car: tuple[np.ndarray, np.ndarray], grid: GridMap
    ) -> None:
        seconds, metres = car
        a = index(grid, (grid.oneway_row, 2))
        b = index(grid, (grid.oneway_row, 3))  # east of a, the one-way direction
        assert abs(metres[a, b] - grid.spacing_m) <= 5
        assert metres[b, a] >= 3 * grid.spacing_m - 10  # around the block
        assert seconds[b, a] > 2 * seconds[a, b]

    def test_missing_link_forces_a_detour(
        self, car: tuple[np.ndarray, np.ndarray], grid: GridMap
    ) -> None:
        _, metres = car
        a, b = (index(grid, cell) for cell in grid.missing_link)
        assert metres[a, b] >= 3 * grid.spacing_m - 10
        assert metres[b, a] >= 3 * grid.spacing_m - 10

    def test_modes_use_their_profiles(self, serve: Callable[[str], str], grid: GridMap) -> None:
        urls = {profile: serve(profile) for profile in ("car", "foot", "bicycle")}
        with OsrmTravel(urls, max_table_size=SERVER_TABLE_LIMIT) as osrm:
            travel = osrm.matrices(places(grid), ["walk", "ebike", "car"])
        far = (index(grid, (0, 0)), index(grid, (grid.size - 1, grid.size - 1)))
        walk, ebike, car = (travel.duration(m, *far) for m in ("walk", "ebike", "car"))
        assert walk > ebike > car
        # 2 km on foot at about 5 km/h.
        assert 1_200 < walk < 1_800
        # One-way streets bind cars, not pedestrians.
        a = index(grid, (grid.oneway_row, 2))
        b = index(grid, (grid.oneway_row, 3))
        assert abs(travel.distance("walk", b, a) - grid.spacing_m) <= 5
        assert json.dumps(travel.duration_matrix("walk").tolist())  # plain integers
