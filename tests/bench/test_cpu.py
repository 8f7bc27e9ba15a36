"""The benchmark's CPU figures: a run's own process tree, and the PostgreSQL backends that
served the databases it names."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from bench.data import run_pipeline
from bench.measure import BackendCpu

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="process CPU is read from /proc (Linux)")

# a grandchild that burns 0.6 CPU-seconds: its parent waits for it, so it is counted
BURN = ("import time\nstart = time.process_time()\n"
        "while time.process_time() - start < 0.6:\n    pass\n")
PARENT = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {BURN!r}], check=True)"


def test_a_runs_cpu_counts_its_grandchildren_and_nothing_of_an_earlier_run() -> None:
    busy = run_pipeline([[sys.executable, "-c", PARENT]])
    idle = run_pipeline([[sys.executable, "-c", "pass"]])
    assert busy.ok
    assert idle.ok
    assert busy.cpu_s is not None
    assert idle.cpu_s is not None
    assert busy.cpu_s >= 0.6
    assert idle.cpu_s < 0.5  # an interpreter's start, not the 0.6 s of the run before


def _backend_cpu(pid: int) -> float:
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@linux_only
def test_backend_cpu_counts_the_backends_of_its_databases_only(
        pg_conn: Any, pg_database: dict[str, Any]) -> None:
    if not Path(f"/proc/{pg_conn.info.backend_pid}/stat").exists():
        pytest.skip("the PostgreSQL server's processes are not visible here")
    ours = BackendCpu([pg_database["database"]])
    other = BackendCpu([pg_database["database"] + "_other"])
    pg_conn.execute("SELECT sum(x * 2) FROM generate_series(1, 3000000) x").fetchone()
    seen, elsewhere = ours.stop(), other.stop()  # the backend is still there: sampled last
    spent = _backend_cpu(pg_conn.info.backend_pid)
    assert seen is not None
    assert elsewhere is not None
    assert spent > 0
    assert seen == pytest.approx(spent, abs=0.02)
    assert elsewhere == 0
