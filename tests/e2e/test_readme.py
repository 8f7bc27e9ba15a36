"""The README's examples run as written, top to bottom, in one bash, against a real
``sluiceway serve`` and a real PostgreSQL: every ```sh block after the first screen, with
``set -euo pipefail``, so an example that breaks fails this test.

The examples read ``PORT`` and ``DB`` (defaults 8000 and crm); here they are a free port and
a random database name, with the data directory in a temporary folder."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.conftest import PG_HOST, PG_PORT, PG_USER, random_name
from tests.e2e.server import _free_port

ROOT = Path(__file__).resolve().parents[2]


def readme_examples(text: str) -> list[str]:
    """The ```sh blocks after the first screen (which ends at the first ``---`` line)."""
    _, sep, rest = text.partition("\n---\n")
    assert sep, "README.md has no '---' after its first screen"
    return re.findall(r"^```sh\n(.*?)^```", rest, flags=re.S | re.M)


def test_readme_examples_are_found() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_screen = text.partition("\n---\n")[0]
    assert len(re.findall(r"^```sh\n", first_screen, flags=re.M)) == 2  # install+run, tests
    blocks = readme_examples(text)
    assert len(blocks) >= 6
    assert "sluiceway serve &" in blocks[0]


@pytest.fixture
def database() -> Iterator[str]:
    """A database name for the examples to create; dropped afterwards."""
    import psycopg

    if shutil.which("psql") is None or shutil.which("createdb") is None:
        pytest.skip("the PostgreSQL client programs (psql, createdb) are not installed")
    if shutil.which("jq") is None or shutil.which("curl") is None:
        pytest.skip("jq and curl are needed by the README's examples")
    name = random_name("sw_readme")
    admin = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres"
    try:
        psycopg.connect(admin, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("SLUICEWAY_REQUIRE_SERVICES") == "1":
            pytest.fail(f"PostgreSQL is not reachable: {exc}")
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    try:
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.timeout(600)
def test_readme_examples_run_as_written(tmp_path: Path, database: str) -> None:
    work = tmp_path / "work"
    (work / ".venv" / "bin").mkdir(parents=True)
    wrapper = work / ".venv" / "bin" / "sluiceway"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m sluiceway.cli.main "$@"\n')
    wrapper.chmod(0o755)
    (work / "examples").symlink_to(ROOT / "examples")
    script = "set -euo pipefail\n" + "\n".join(
        readme_examples((ROOT / "README.md").read_text(encoding="utf-8")))
    (work / "readme.sh").write_text(script)
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLUICEWAY_", "PG"))}
    env.update(PORT=str(_free_port()), DB=database, SLUICEWAY_DATA_DIR=str(data),
               PGPORT=str(PG_PORT), PGHOST=PG_HOST, PGUSER=PG_USER)
    log = tmp_path / "readme.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(["bash", "readme.sh"], cwd=work, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout=540)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)  # the server the examples started, its workers
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    shown = log.read_text(errors="replace")
    assert code == 0, shown[-6000:]

    with duckdb.connect(str(data / "files" / "lake.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM customers").fetchone() == (2000,)
        assert con.execute("SELECT name FROM customers WHERE id = 7").fetchone() == ("renamed",)
        assert con.execute("SELECT count(*) FROM people").fetchone() == (2,)
    assert pq.read_table(work / "customers.parquet").num_rows == 1000
    assert (work / "backup.zip").stat().st_size > 0
    with duckdb.connect(str(work / "quickstart.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (100_000,)
