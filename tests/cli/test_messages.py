"""What the ``sluiceway`` command prints for a new user: errors as they are (brackets, YAML
marks), a suggestion for a misspelt connector, and a ``--help`` that imports no heavy library."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

#: typer itself brings pydantic; these are ours to avoid
HEAVY = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "pyarrow", "pydantic_settings",
         "duckdb", "psycopg", "adbc_driver_postgresql", "pymysql")


def _sluiceway(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SLUICEWAY_DATA_DIR=str(tmp_path / "data"), COLUMNS="80")
    return subprocess.run([sys.executable, "-m", "sluiceway.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("args", [["--help"], ["version"], ["run", "--help"],
                                  ["serve", "--help"], ["jobs", "logs", "--help"]])
def test_help_imports_no_server_database_or_arrow_library(args: list[str]) -> None:
    code = (
        "import json, sys\n"
        f"sys.argv = ['sluiceway', *{args!r}]\n"
        "from sluiceway.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "typer" in loaded  # the probe saw the command run
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_connection_error_is_printed_whole(tmp_path: Path) -> None:
    port = _closed_port()
    config = tmp_path / "pg.json"
    config.write_text(json.dumps({"host": "127.0.0.1", "port": port,
                                  "database": "x", "username": "postgres", "password": ""}))
    done = _sluiceway(tmp_path, "check", "postgres", str(config))
    assert done.returncode == 2
    assert f"cannot connect to PostgreSQL at 127.0.0.1:{port}: connection refused" in \
        done.stderr, done.stderr


def test_error_of_our_own_keeps_brackets_and_is_not_rewrapped(tmp_path: Path) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(yaml.safe_dump({
        "source": {"connector": "sample", "config": {"rows": 10}},
        "destination": {"connector": "duckdb", "config": {"path": str(tmp_path / "o.duckdb")}},
        "streams": [{"name": "[bold]events[/bold] and a name long enough to pass the edge "
                             "of an eighty-column terminal"}]}))
    done = _sluiceway(tmp_path, "run", str(pipeline))
    assert done.returncode == 2
    assert ("'[bold]events[/bold] and a name long enough to pass the edge of an "
            "eighty-column terminal' does not exist") in done.stderr, done.stderr


def test_yaml_error_shows_the_line_with_a_caret_under_the_column(tmp_path: Path) -> None:
    pipeline = tmp_path / "bad.yaml"
    pipeline.write_text("source:\n  connector: postgres: oops\n")
    done = _sluiceway(tmp_path, "run", str(pipeline))
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert f'in "{pipeline}", line 2, column 22' in done.stderr, done.stderr
    quoted = next(i for i, line in enumerate(lines) if "connector: postgres: oops" in line)
    caret = lines[quoted + 1]
    assert caret.strip() == "^"
    assert lines[quoted][caret.index("^")] == ":"  # the second colon, where YAML stopped
    assert lines[quoted].index("postgres: oops") + len("postgres") == caret.index("^")


@pytest.mark.parametrize(("args", "expected"), [
    (["spec", "postgresql"], "unknown source connector 'postgresql'; known: duckdb, file, "
                             "memory, mysql, postgres, sample, sqlite; did you mean 'postgres'?"),
    (["spec", "duck", "--destination"], "did you mean 'duckdb'?"),
    (["spec", "oracle"], "unknown source connector 'oracle'; known: "),
])
def test_unknown_connector_lists_the_known_ones_and_the_close_match(
    tmp_path: Path, args: list[str], expected: str,
) -> None:
    done = _sluiceway(tmp_path, *args)
    assert done.returncode == 2
    assert expected in done.stderr, done.stderr
    assert "source.connector" not in done.stderr
    if args[1] == "oracle":
        assert "did you mean" not in done.stderr
