"""The progress line of ``sluiceway run``: phases the engine reports, and the figures shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluiceway.cli.progress import figures
from sluiceway.core.settings import Settings
from sluiceway.services import pipeline_file, pipelines


@pytest.mark.parametrize(("phase", "rows", "nbytes", "estimate", "seconds", "expected"), [
    # the first batch, microseconds after the start: no absurd speed
    ("reading", 65536, 8_000_000, None, 0.0001,
     {"pct": "", "mbs": "", "eta": ""}),
    ("reading", 500_000, 40_000_000, None, 2.0,
     {"pct": "", "mbs": "20.0 MB/s", "eta": ""}),
    # a quarter of the estimate in 10 s: 30 s to go
    ("reading", 250_000, 10_000_000, 1_000_000, 10.0,
     {"pct": "25%", "mbs": "1.0 MB/s", "eta": "eta 0:30"}),
    # more rows than estimated: never 100% before the end, no time left
    ("reading", 1_200_000, 10_000_000, 1_000_000, 10.0,
     {"pct": "99%", "eta": ""}),
    # the destination merges: the percentage stays, no time left is guessed
    ("merging", 1_000_000, 10_000_000, 1_000_000, 10.0,
     {"phase": "merging", "pct": "99%", "eta": ""}),
    ("succeeded", 1_000_000, 10_000_000, 1_000_000, 12.0,
     {"phase": "succeeded", "pct": "100%", "eta": ""}),
    ("failed", 10, 100, 1_000_000, 12.0, {"phase": "failed", "pct": "0%"}),
])
def test_progress_figures(phase: str, rows: int, nbytes: int, estimate: int | None,
                          seconds: float, expected: dict[str, object]) -> None:
    got = figures(phase, rows, nbytes, estimate, seconds)
    assert got["rows"] == rows
    assert {k: got[k] for k in expected} == expected


@pytest.mark.parametrize(("mode", "middle"), [("overwrite", "loading"),
                                              ("append_dedup", "merging")])
def test_a_sync_reports_reading_then_loading_or_merging_then_its_outcome(
    tmp_path: Path, mode: str, middle: str,
) -> None:
    p = pipeline_file.parse({
        "source": {"connector": "sample", "config": {"rows": 3000, "batch_size": 1000}},
        "destination": {"connector": "duckdb", "config": {"path": str(tmp_path / "o.duckdb")}},
        "streams": [{"name": "events", "destination_sync_mode": mode,
                     "primary_key": [["id"]]}]})
    phases: list[str] = []
    estimates: list[int] = []
    rows: list[int] = []
    result = pipelines.run(p, Settings(data_dir=tmp_path / "data"),
                           lambda _s, r, _b: rows.append(r),
                           estimate=lambda _s, n: estimates.append(n),
                           phase=lambda _s, ph: phases.append(ph))
    assert result.ok, result.first_error()
    assert phases == ["reading", middle, "succeeded"]
    assert estimates == [3000]
    assert rows == [1000, 2000, 3000]
