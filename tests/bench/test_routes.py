"""A small run of the route benchmark (``python -m bench.routes``): both runs succeed, the
filter drops every tenth order, and the second run finds every entity it would send
unchanged. No timing is asserted."""

from __future__ import annotations

from typing import Any

from bench import routes


def test_the_route_benchmark_runs_twice_and_the_second_run_sends_nothing(
        pg_database: dict[str, Any]) -> None:  # pg_database: skips when no PostgreSQL
    got = routes.main(["--rows", "3000"])
    first, second = got["first"]["output"], got["second"]["output"]
    assert (first["read"], first["finished"], first["skipped"], first["unchanged"]) == (
        3000, 2700, 300, 0)
    assert got["first"]["tasks"] == 3000
    assert (second["read"], second["finished"], second["skipped"], second["unchanged"]) == (
        3000, 0, 300, 2700)
    assert got["second"]["tasks"] == 300  # the filtered ones: recorded as skipped again
    assert got["rows_out"] == 2700
