"""The shared conformance suite, run against every registered connector.

A connector joins the round-trip part by adding a harness below: a fixture factory giving
a destination config and the source config that reads the same place back, and the columns
of the type table whose values it refuses (with the reason); every other column must come
back exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from sluiceway.connectors import registry
from sluiceway.connectors.testing import suite
from sluiceway.connectors.testing.canonical import comparable, type_table
from sluiceway.protocol.catalog import DestinationSyncMode

ALL = registry.entries()


@pytest.mark.parametrize("entry", ALL, ids=lambda e: f"{e.kind}:{e.name}")
def test_spec_is_valid_json_schema_with_secrets_marked(entry: registry.Entry) -> None:
    suite.check_spec(entry.load_spec())


@pytest.mark.parametrize("entry", ALL, ids=lambda e: f"{e.kind}:{e.name}")
def test_check_answers_cleanly_for_a_config_that_breaks_the_spec(entry: registry.Entry) -> None:
    connector = (registry.source(entry.name) if entry.kind == "source"
                 else registry.destination(entry.name))
    suite.check_rejects_bad_config(connector)


def test_listing_specs_imports_no_driver() -> None:
    code = ("import sys\nfrom sluiceway.connectors import registry\n"
            "[e.load_spec() for e in registry.entries()]\n"
            "bad = [m for m in ('psycopg', 'pymysql', 'duckdb', 'adbc_driver_postgresql', "
            "'connectorx', 'pgpq', 'sqlite3') if m in sys.modules]\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ))
    assert out.stdout.strip() == ""


Harness = Callable[[pytest.FixtureRequest], tuple[dict[str, Any], dict[str, Any]]]


def _postgres(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    db = request.getfixturevalue("pg_database")
    return dict(db, schema="conformance"), dict(db, schemas=["conformance"])


def _mysql(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    db = request.getfixturevalue("mysql_database")
    return dict(db), dict(db)


def _database_file(suffix: str) -> Harness:
    def harness(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, Any]]:
        path = str(request.getfixturevalue("tmp_path") / f"conformance.{suffix}")
        return {"path": path}, {"path": path}
    return harness


def _parquet(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    folder = request.getfixturevalue("tmp_path") / "files"
    return ({"path": str(folder), "format": "parquet"},
            {"path": str(folder / "type table" / "*" / "*.parquet"), "stream_name": "type table",
             "file_columns": False})


#: connector -> (harness, {column: why its values are refused, so it is left out})
HARNESSES: dict[str, tuple[Harness, dict[str, str]]] = {
    "postgres": (_postgres, {}),
    "mysql": (_mysql, {"f64": "MySQL's DOUBLE has no NaN or Infinity: such a load is refused "
                              "(RecordRejected), never stored as something else"}),
    "duckdb": (_database_file("duckdb"), {}),
    "sqlite": (_database_file("db"), {}),
    "file": (_parquet, {}),
}


@pytest.mark.parametrize("mode", [DestinationSyncMode.overwrite,
                                  DestinationSyncMode.append_dedup])
@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_type_table_survives_a_round_trip(
    request: pytest.FixtureRequest, name: str, mode: DestinationSyncMode
) -> None:
    harness, refused = HARNESSES[name]
    if mode not in registry.destination(name).capabilities.destination_sync_modes:
        pytest.skip(f"{name} does not offer {mode}")
    dst_cfg, src_cfg = harness(request)
    sent = type_table().drop_columns(list(refused))
    got = suite.round_trip(sent, "type table", name, dst_cfg, src_cfg, mode)
    want, have = comparable(sent), comparable(got.sort_by("order"))
    assert set(have) == set(want)
    wrong = {c: (want[c], have[c]) for c in want if want[c] != have[c]}
    assert not wrong, {c: (w[:2], h[:2]) for c, (w, h) in wrong.items()}
