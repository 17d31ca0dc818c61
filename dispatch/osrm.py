"""OSRM as the road engine: the ``/table`` service of ``osrm-routed`` over HTTP.

One ``osrm-routed`` serves one prepared map for one profile, so each profile (``car``,
``foot``, ``bicycle``) usually has its own base URL. ``make osrm`` builds a Python 3.12 venv
whose ``osrm-bindings`` package ships the OSRM tools and profiles; docs/dispatch-json.md shows
how to prepare a map and start the services.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Any, Final, Self

import httpx
import numpy as np
import numpy.typing as npt

from core.errors import Validation
from dispatch.problem import Travel

Location = tuple[float, float]
IntMatrix = npt.NDArray[np.int64]

DEFAULT_PROFILES: Final[Mapping[str, str]] = MappingProxyType(
    {"walk": "foot", "ebike": "bicycle", "car": "car"}
)
# What a pair with no route costs: far beyond any shift, yet safe to add up in int64.
UNREACHABLE: Final = 1_000_000_000


class OsrmError(RuntimeError):
    """The OSRM service could not be reached or refused the request."""


class OsrmTravel:
    """Travel matrices from ``osrm-routed`` table services, one per profile."""

    def __init__(
        self,
        base_urls: str | Mapping[str, str] = "http://127.0.0.1:5000",
        *,
        profiles: Mapping[str, str] = DEFAULT_PROFILES,
        max_table_size: int = 100,
        timeout: float = 60.0,
        unreachable: int = UNREACHABLE,
        client: httpx.Client | None = None,
    ) -> None:
        """``base_urls`` is one URL for every profile or a URL per profile name.

        ``max_table_size`` must not exceed the server's ``--max-table-size`` (100 by default):
        larger tables are fetched in blocks of that many sources by that many destinations.
        """
        if max_table_size < 1:
            raise ValueError("max_table_size must be positive")
        self.base_urls = base_urls
        self.profiles = dict(profiles)
        self.max_table_size = max_table_size
        self.unreachable = unreachable
        self._own_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)

    def url_for(self, profile: str) -> str:
        """The base URL serving ``profile``."""
        if isinstance(self.base_urls, str):
            return self.base_urls.rstrip("/")
        try:
            return self.base_urls[profile].rstrip("/")
        except KeyError:
            raise Validation(f"no OSRM URL configured for profile {profile!r}") from None

    def profile_for(self, mode: str) -> str:
        """The OSRM profile that models travel ``mode``."""
        try:
            return self.profiles[mode]
        except KeyError:
            known = ", ".join(sorted(self.profiles))
            raise Validation(f"no OSRM profile for travel mode {mode!r} (known: {known})") from None

    def matrices(self, locations: Sequence[Location], modes: Iterable[str]) -> Travel:
        """Road seconds and metres per mode; unroutable pairs cost ``unreachable``."""
        wanted = sorted(set(modes))
        tables: dict[tuple[str, str], tuple[IntMatrix, IntMatrix]] = {}
        durations: dict[str, IntMatrix] = {}
        distances: dict[str, IntMatrix] = {}
        for mode in wanted:
            profile = self.profile_for(mode)
            key = (profile, self.url_for(profile))
            if key not in tables:
                tables[key] = self.table(profile, locations)
            durations[mode], distances[mode] = tables[key]
        return Travel.from_arrays(durations, distances)

    def table(self, profile: str, locations: Sequence[Location]) -> tuple[IntMatrix, IntMatrix]:
        """Durations (s) and distances (m) between all ``locations`` for one profile."""
        n = len(locations)
        seconds = np.zeros((n, n), dtype=np.float64)
        metres = np.zeros((n, n), dtype=np.float64)
        if n > 1:
            step = self.max_table_size
            for src in range(0, n, step):
                for dst in range(0, n, step):
                    rows = range(src, min(src + step, n))
                    cols = range(dst, min(dst + step, n))
                    block_s, block_m = self._block(profile, locations, rows, cols)
                    seconds[rows.start : rows.stop, cols.start : cols.stop] = block_s
                    metres[rows.start : rows.stop, cols.start : cols.stop] = block_m
        return self._integers(seconds), self._integers(metres)

    def _integers(self, values: npt.NDArray[np.float64]) -> IntMatrix:
        missing = ~np.isfinite(values)
        out = np.rint(np.where(missing, 0.0, values)).astype(np.int64)
        out[missing] = self.unreachable
        np.fill_diagonal(out, 0)
        return out

    def _block(
        self, profile: str, locations: Sequence[Location], rows: range, cols: range
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        query = "annotations=duration,distance&skip_waypoints=true"
        if rows == cols:
            points = [locations[i] for i in rows]
        else:
            points = [locations[i] for i in rows] + [locations[j] for j in cols]
            sources = ";".join(str(k) for k in range(len(rows)))
            targets = ";".join(str(len(rows) + k) for k in range(len(cols)))
            query += f"&sources={sources}&destinations={targets}"
        coords = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)
        base = self.url_for(profile)
        body = self._get(f"{base}/table/v1/{profile}/{coords}?{query}", profile, base)
        try:
            return (
                np.array(body["durations"], dtype=np.float64),
                np.array(body["distances"], dtype=np.float64),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise OsrmError(f"OSRM {profile} at {base} sent no duration/distance table") from exc

    def _get(self, url: str, profile: str, base: str) -> dict[str, Any]:
        try:
            response = self._client.get(url)
        except httpx.TransportError as exc:
            raise OsrmError(
                f"OSRM table service for profile {profile!r} is unreachable at {base}: {exc} "
                "(is osrm-routed running with that profile's map?)"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise OsrmError(
                f"OSRM {profile} at {base} answered HTTP {response.status_code} without JSON"
            )
        if response.status_code != httpx.codes.OK or body.get("code") != "Ok":
            hint = (
                " (lower max_table_size to the server's --max-table-size)"
                if body.get("code") == "TooBig"
                else ""
            )
            raise OsrmError(
                f"OSRM {profile} at {base} refused the table request: "
                f"{body.get('code')}: {body.get('message')}{hint}"
            )
        return body

    def close(self) -> None:
        """Close the HTTP client if this object made it."""
        if self._own_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
