"""Solver parameters: limits, seed and strategy, all explicit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SolveParams:
    """How long and how to search. A solution limit (not a clock) makes a solve reproducible."""

    time_limit_s: float = 10.0
    solution_limit: int | None = None
    seed: int = 0
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    initial_routes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    log_search: bool = False
    # Share of the time limit given to PyVRP's warm start (0 disables it).
    pyvrp_share: float = 0.0
    # Stop PyVRP after this many iterations instead of on the clock (reproducible runs).
    pyvrp_iterations: int | None = None
