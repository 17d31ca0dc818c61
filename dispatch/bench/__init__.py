"""Benchmarks: VRPTW instances as dispatch problems, and other engines to compare against."""
