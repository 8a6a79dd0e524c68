"""Helpers shared by the test-suite and the benchmarks (kept in the package so both import them)."""
