"""The ``sluiceway`` command: exit codes and messages for good and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml


def _sluiceway(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SLUICEWAY_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run([sys.executable, "-m", "sluiceway.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def _pipeline(tmp_path: Path, body: dict[str, Any]) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(body))
    return str(path)


def test_run_json_summary_and_second_run_is_incremental(
    tmp_path: Path, pg_database: dict[str, Any], pg_conn: Any
) -> None:
    pg_conn.execute("CREATE TABLE items (id int PRIMARY KEY, v text)")
    pg_conn.execute("INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 50) g")
    p = _pipeline(tmp_path, {
        "source": {"connector": "postgres", "config": pg_database},
        "destination": {"connector": "postgres", "config": dict(pg_database, schema="out")},
        "streams": [{"name": "items", "sync_mode": "incremental", "cursor_field": ["id"],
                     "destination_sync_mode": "append_dedup", "primary_key": [["id"]]}],
    })
    first = _sluiceway(tmp_path, "run", p, "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["status"] == "succeeded"
    assert summary["streams"][0]["records"] == 50
    assert set(summary["streams"][0]) >= {"records", "bytes", "seconds"}
    pg_conn.execute("INSERT INTO items VALUES (51, 'new')")
    second = json.loads(_sluiceway(tmp_path, "run", p, "--json").stdout)
    assert second["streams"][0]["records"] == 2  # the checkpoint's row again, and the new one
    assert pg_conn.execute("SELECT count(*) FROM out.items").fetchone()[0] == 51


def test_config_breaking_the_spec_exits_2_naming_each_field(tmp_path: Path) -> None:
    p = _pipeline(tmp_path, {
        "source": {"connector": "postgres", "config": {"host": "h", "port": "5432"}},
        "destination": {"connector": "postgres", "config": {"host": "h"}},
    })
    done = _sluiceway(tmp_path, "run", p)
    assert done.returncode == 2
    assert "source.config.port" in done.stderr
    assert "source.config.database" in done.stderr
    assert "Traceback" not in done.stderr


def test_refused_database_exits_2_with_host_port_and_reason(tmp_path: Path) -> None:
    cfg = {"host": "127.0.0.1", "port": 1, "database": "d", "username": "u",
           "password": "do-not-print-me"}
    p = _pipeline(tmp_path, {"source": {"connector": "postgres", "config": cfg},
                             "destination": {"connector": "postgres", "config": cfg}})
    done = _sluiceway(tmp_path, "run", p)
    assert done.returncode == 2
    assert "127.0.0.1:1" in done.stderr
    assert "refused" in done.stderr.lower()
    assert "do-not-print-me" not in done.stderr + done.stdout


def test_unknown_stream_exits_2_listing_available_streams(
    tmp_path: Path, pg_database: dict[str, Any], pg_conn: Any
) -> None:
    pg_conn.execute("CREATE TABLE real_one (id int)")
    p = _pipeline(tmp_path, {
        "source": {"connector": "postgres", "config": pg_database},
        "destination": {"connector": "postgres", "config": pg_database},
        "streams": [{"name": "no_such_table"}],
    })
    done = _sluiceway(tmp_path, "run", p)
    assert done.returncode == 2
    assert "no_such_table" in done.stderr
    assert "real_one" in done.stderr


def test_spec_check_and_discover_commands(
    tmp_path: Path, pg_database: dict[str, Any], pg_conn: Any
) -> None:
    pg_conn.execute("CREATE TABLE t (id int)")
    spec = _sluiceway(tmp_path, "spec", "postgres")
    assert spec.returncode == 0
    assert json.loads(spec.stdout)["connectionSpecification"]["properties"]["password"][
        "airbyte_secret"] is True
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(pg_database))
    assert _sluiceway(tmp_path, "check", "postgres", str(cfg)).returncode == 0
    discovered = json.loads(_sluiceway(tmp_path, "discover", "postgres", str(cfg)).stdout)
    assert [s["name"] for s in discovered["streams"]] == ["t"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dict(pg_database, port=1)))
    refused = _sluiceway(tmp_path, "check", "postgres", str(bad))
    assert refused.returncode == 2
    assert "127.0.0.1:1" in refused.stderr


def test_malformed_csv_row_exits_2_with_file_and_line_and_keeps_the_old_table(
    tmp_path: Path,
) -> None:
    import duckdb

    data = tmp_path / "in"
    data.mkdir()
    good = "id,amount\n" + "".join(f"{i},{i}.50\n" for i in range(1, 2001))
    (data / "orders.csv").write_text(good)
    db = tmp_path / "out.duckdb"
    p = _pipeline(tmp_path, {
        "source": {"connector": "file", "config": {"path": str(data / "orders.csv"),
                                                  "file_columns": False}},
        "destination": {"connector": "duckdb", "config": {"path": str(db)}},
    })
    assert _sluiceway(tmp_path, "run", p).returncode == 0
    # line 1502 gets a third field: the file is malformed there
    lines = good.splitlines(keepends=True)
    lines[1501] = "1501,1501.50,surprise\n"
    (data / "orders.csv").write_text("".join(lines))
    done = _sluiceway(tmp_path, "run", p)
    assert done.returncode == 2, done.stderr
    assert "orders.csv" in done.stderr
    assert "line 1502" in done.stderr
    assert "Traceback" not in done.stderr
    with duckdb.connect(str(db)) as con:
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (2000,)
