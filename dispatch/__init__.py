"""Dispatch: problem, travel times, solver, explanations, plans and solve runs."""
