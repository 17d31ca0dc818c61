"""Solvers: pure functions from a dispatch problem (and parameters) to a solution."""

from dispatch.solver.ortools_solver import solve
from dispatch.solver.params import SolveParams

__all__ = ["SolveParams", "solve"]
