"""DuckDB source and destination against real database files (and PostgreSQL as a source)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from sluiceway.connectors import registry
from sluiceway.connectors.duckdb.destination import DuckDBDestination
from sluiceway.connectors.duckdb.source import DuckDBSource
from sluiceway.connectors.memory.connector import DATASETS
from sluiceway.connectors.testing import suite
from sluiceway.connectors.testing.canonical import comparable, type_table
from sluiceway.core.errors import ConfigInvalid, RecordRejected, SchemaChangeError
from sluiceway.engine.checkpoint import MemoryStateStore
from sluiceway.engine.pipeline import Options, run
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.protocol import arrow_types as at
from sluiceway.protocol.catalog import ConfiguredCatalog, ConfiguredStream, Stream
from sluiceway.protocol.catalog import DestinationSyncMode as D
from sluiceway.protocol.catalog import SyncMode as S
from sluiceway.protocol.messages import Message, RecordBatch, State

UTC = dt.UTC


def _db(path: Path, *sql: str) -> dict[str, Any]:
    con = duckdb.connect(str(path))
    try:
        for stmt in sql:
            con.execute(stmt)
    finally:
        con.close()
    return {"path": str(path)}


def _read(src: DuckDBSource, cfg: dict[str, Any], choice: StreamChoice,
          state: dict[str, Any] | None = None) -> tuple[pa.Table | None, list[dict[str, Any]]]:
    catalog = configure(src.discover(cfg), [choice])
    msgs = list(src.read(cfg, catalog, {choice.name: state} if state else None))
    batches = [m.batch for m in msgs if isinstance(m, RecordBatch)]
    states = [m.data for m in msgs if isinstance(m, State)]
    return (pa.Table.from_batches(batches) if batches else None), states


def _sync(src: str, src_cfg: dict[str, Any], dst_cfg: dict[str, Any],
          choices: list[StreamChoice] | None, store: MemoryStateStore | None = None,
          **options: Any) -> Any:
    source = registry.source(src)
    catalog = configure(source.discover(src_cfg), choices)
    return run(catalog, source, src_cfg, DuckDBDestination(), dst_cfg,
               store or MemoryStateStore(), Options(**options))


def _rows(cfg: dict[str, Any], sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(cfg["path"], read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ---- config and check -----------------------------------------------------------------
def test_check_fails_cleanly_for_missing_file_bad_directory_and_non_database(
    tmp_path: Path,
) -> None:
    src, dst = DuckDBSource(), DuckDBDestination()
    missing = src.check({"path": str(tmp_path / "nope.duckdb")})
    assert not missing.ok
    assert "path" in missing.message
    assert "does not exist" in missing.message
    no_dir = dst.check({"path": str(tmp_path / "no" / "such" / "x.duckdb")})
    assert not no_dir.ok
    assert "path" in no_dir.message
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    assert not src.check({"path": str(text)}).ok
    assert not src.check({"path": 7}).ok


def test_check_succeeds_and_leaves_no_trace(tmp_path: Path) -> None:
    cfg = {"path": str(tmp_path / "new.duckdb")}
    assert DuckDBDestination().check(cfg).ok
    assert DuckDBSource().check(cfg).ok  # the destination's check created the file
    assert _rows(cfg, "SELECT count(*) FROM duckdb_tables()") == [(0,)]


@pytest.mark.parametrize(("config", "field", "words"), [
    ({"path": ""}, "path", "non-empty"),
    ({"path": "   "}, "path", "non-empty"),
    ({"path": ":memory:"}, "path", "in-memory"),
    ({}, "path", "required"),
    ({"path": "x.duckdb", "bogus": 1}, "", "bogus"),
    ({"path": "x.duckdb", "schema": ""}, "schema", "non-empty"),
])
def test_config_errors_name_the_field(tmp_path: Path, config: dict[str, Any], field: str,
                                      words: str) -> None:
    with pytest.raises(ConfigInvalid) as info:
        DuckDBDestination().connect(config)
    assert [e.path for e in info.value.errors] == [field]
    assert words in str(info.value)


def test_paths_name_the_missing_file_or_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid, match="path: file .*absent.duckdb does not exist"):
        DuckDBSource().discover({"path": str(tmp_path / "absent.duckdb")})
    with pytest.raises(ConfigInvalid, match="path: directory .*nodir does not exist"):
        DuckDBDestination().connect({"path": str(tmp_path / "nodir" / "a.duckdb")})
    with pytest.raises(ConfigInvalid, match="is a directory"):
        DuckDBDestination().connect({"path": str(tmp_path)})


# ---- discover and read ----------------------------------------------------------------
def test_discover_maps_types_primary_key_views_and_schemas(tmp_path: Path) -> None:
    cfg = _db(tmp_path / "d.duckdb", """
        CREATE TABLE "Order Ü" ("by" VARCHAR, "select" INTEGER, u UUID, j JSON,
          d DECIMAL(10,3), h HUGEINT, tz TIMESTAMPTZ, ts TIMESTAMP_MS, tm TIME, b BLOB,
          l INTEGER[], a SMALLINT[3], e ENUM('x', 'y'), iv INTERVAL, st STRUCT(k INTEGER),
          ti TINYINT, ub UBIGINT, f FLOAT, bo BOOLEAN, PRIMARY KEY ("select", "by"))""",
        'CREATE VIEW v AS SELECT "by", d FROM "Order Ü"',
        "CREATE SCHEMA other", "CREATE TABLE other.t (id BIGINT)")
    catalog = DuckDBSource().discover(cfg)
    assert sorted(s.name for s in catalog.streams) == ["Order Ü", "other.t", "v"]
    stream = catalog.get("Order Ü")
    assert stream is not None
    assert stream.source_defined_primary_key == (("select",), ("by",))
    types = {f.name: f.type for f in stream.schema}
    assert types == {
        "by": pa.string(), "select": pa.int32(), "u": at.UUID, "j": at.JSON,
        "d": pa.decimal128(10, 3), "h": pa.string(), "tz": at.TIMESTAMP_TZ,
        "ts": at.TIMESTAMP, "tm": at.TIME, "b": pa.binary(), "l": pa.list_(pa.int32()),
        "a": pa.list_(pa.int16()), "e": pa.string(), "iv": pa.string(), "st": at.JSON,
        "ti": pa.int16(), "ub": pa.decimal128(20, 0), "f": pa.float32(), "bo": pa.bool_()}
    assert at.is_numeric_text(stream.schema.field("h"))
    assert not stream.schema.field("by").nullable
    other = catalog.get("other.t")
    assert other is not None
    assert other.namespace == "other"


def test_values_needing_a_cast_read_exactly(tmp_path: Path) -> None:
    cfg = _db(tmp_path / "c.duckdb",
              "CREATE TABLE t (h HUGEINT, ub UBIGINT, a SMALLINT[2], e ENUM('x', 'y'), "
              "st STRUCT(k INTEGER, s VARCHAR), ts TIMESTAMP_S, tz TIMESTAMPTZ)",
              "INSERT INTO t VALUES (-170141183460469231731687303715884105728, "
              "18446744073709551615, [1, NULL], 'y', {'k': 1, 's': 'ü'}, "
              "'2001-02-03 04:05:06', '2024-02-29 23:59:59.123456+05:30')")
    table, states = _read(DuckDBSource(), cfg, StreamChoice("t"))
    assert table is not None
    assert states == [{"complete": True}]
    row = table.to_pylist()[0]
    assert row["h"] == "-170141183460469231731687303715884105728"
    assert row["ub"] == decimal.Decimal("18446744073709551615")
    assert row["a"] == [1, None]
    assert row["e"] == "y"
    assert json.loads(row["st"]) == {"k": 1, "s": "ü"}
    assert row["ts"] == dt.datetime(2001, 2, 3, 4, 5, 6)
    assert row["tz"] == dt.datetime(2024, 2, 29, 18, 29, 59, 123456, tzinfo=UTC)


@pytest.mark.parametrize("column", ["d DATE", "ts TIMESTAMP", "tz TIMESTAMPTZ"])
def test_infinite_dates_are_rejected_naming_the_column(tmp_path: Path, column: str) -> None:
    cfg = _db(tmp_path / "inf.duckdb", f"CREATE TABLE t (id INTEGER, {column})",
              "INSERT INTO t VALUES (1, '2024-01-01'), (2, NULL), (3, '-infinity')")
    name = column.split()[0]
    with pytest.raises(RecordRejected, match=f"t: column '{name}': 'infinity' has no"):
        _read(DuckDBSource(), cfg, StreamChoice("t"))


def test_full_refresh_checkpoints_by_rowid_and_resumes_from_a_state(tmp_path: Path) -> None:
    cfg = _db(tmp_path / "f.duckdb", "CREATE TABLE t (id INTEGER, v VARCHAR)",
              "INSERT INTO t SELECT i, 'v' || i FROM range(10) r(i)")
    src = DuckDBSource()
    src.checkpoint_rows = 3
    table, states = _read(src, cfg, StreamChoice("t"))
    assert table is not None
    assert sorted(table.column("id").to_pylist()) == list(range(10))
    assert states == [{"after_rowid": 2}, {"after_rowid": 5}, {"after_rowid": 8},
                      {"complete": True}]
    rest, states = _read(src, cfg, StreamChoice("t"), {"after_rowid": 5})
    assert rest is not None
    assert sorted(rest.column("id").to_pylist()) == [6, 7, 8, 9]
    assert states == [{"after_rowid": 8}, {"complete": True}]
    done, states = _read(src, cfg, StreamChoice("t"), {"complete": True})
    assert done is None
    assert states == [{"complete": True}]


def test_views_and_tables_with_a_rowid_column_are_read_in_one_pass(tmp_path: Path) -> None:
    cfg = _db(tmp_path / "v.duckdb", "CREATE TABLE t (rowid INTEGER, v VARCHAR)",
              "INSERT INTO t SELECT 100 - i, 'x' FROM range(7) r(i)",
              "CREATE VIEW w AS SELECT * FROM t WHERE rowid > 95")
    src = DuckDBSource()
    src.checkpoint_rows = 2
    table, states = _read(src, cfg, StreamChoice("t"))
    assert table is not None
    assert sorted(table.column("rowid").to_pylist()) == list(range(94, 101))
    assert states == [{"complete": True}]
    view, states = _read(src, cfg, StreamChoice("w"))
    assert view is not None
    assert view.num_rows == 5
    assert states == [{"complete": True}]


def test_incremental_checkpoints_and_resumes_from_the_cursor(tmp_path: Path) -> None:
    cfg = _db(tmp_path / "i.duckdb", "CREATE TABLE ev (id INTEGER, \"at\" TIMESTAMPTZ)",
              "INSERT INTO ev SELECT i, TIMESTAMPTZ '2024-01-01 00:00:00+00' "
              "+ to_microseconds(i // 2) FROM range(1, 8) r(i)",
              "INSERT INTO ev VALUES (99, NULL)")
    src = DuckDBSource()
    src.checkpoint_rows, src.batch_rows = 2, 2
    choice = StreamChoice("ev", sync_mode=S.incremental, cursor_field=("at",))
    table, states = _read(src, cfg, choice)
    assert table is not None
    assert sorted(table.column("id").to_pylist()) == list(range(1, 8))
    base = "2024-01-01T00:00:00.00000"
    assert [s["cursor"] for s in states] == [f"{base}1+00:00", f"{base}2+00:00",
                                            f"{base}3+00:00", f"{base}3+00:00"]
    assert all(s["cursor_field"] == "at" for s in states)
    # resuming at the second checkpoint re-reads the rows sharing its cursor value
    rest, _ = _read(src, cfg, choice, states[1])
    assert rest is not None
    assert sorted(rest.column("id").to_pylist()) == [4, 5, 6, 7]


def test_a_file_held_read_only_by_another_process_is_still_read(tmp_path: Path) -> None:
    cfg = _db(tmp_path / "held.duckdb", "CREATE TABLE t AS SELECT range AS i FROM range(5)")
    code = ("import sys, duckdb; con = duckdb.connect(sys.argv[1], read_only=True); "
            "print('held', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", code, cfg["path"]], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.IOException):  # a writer is locked out ...
            duckdb.connect(cfg["path"])
        table, _ = _read(DuckDBSource(), cfg, StreamChoice("t"))  # ... the source is not
        assert table is not None
        assert sorted(table.column("i").to_pylist()) == [0, 1, 2, 3, 4]
    finally:
        holder.communicate("", timeout=30)


def test_a_file_is_copied_into_another_schema_of_itself(tmp_path: Path) -> None:
    cfg = _db(tmp_path / "self.duckdb",
              "CREATE TABLE a AS SELECT range AS i FROM range(50000)",
              "CREATE TABLE b AS SELECT range::VARCHAR AS s FROM range(50000)")
    result = _sync("duckdb", cfg, dict(cfg, schema="copy"), None, parallel_streams=2)
    assert result.ok, result.streams
    assert _rows(cfg, "SELECT (SELECT count(*) FROM copy.a), (SELECT count(*) FROM copy.b)"
                 ) == [(50000, 50000)]


# ---- destination ----------------------------------------------------------------------
def _extended_type_table() -> pa.Table:
    """The shared type table plus what DuckDB adds: lists, numeric text, float32."""
    t = type_table()
    lists = pa.array([[1, None, 3], [], None, [2147483647]], pa.list_(pa.int32()))
    words = pa.array([["a", "é"], None, [], [""]], pa.list_(pa.string()))
    money = pa.array([[decimal.Decimal("1.50")], None, [None], []],
                     pa.list_(pa.decimal128(5, 2)))
    nested = pa.array([[[1], []], None, [None], []], pa.list_(pa.list_(pa.int64())))
    t = t.append_column(pa.field("ints", lists.type), lists)
    t = t.append_column(pa.field("words", words.type), words)
    t = t.append_column(pa.field("money", money.type), money)
    t = t.append_column(pa.field("nested", nested.type), nested)
    t = t.append_column(at.numeric_text_field("huge"), pa.array(
        ["123456789012345678901234567890123456789012.5", "-1", None, "0"]))
    return t.append_column(pa.field("f32", pa.float32()), pa.array(
        [1.5, float("nan"), None, -3.25], pa.float32()))


@pytest.mark.parametrize("mode", [D.overwrite, D.append, D.append_dedup])
def test_type_table_round_trips_exactly_with_types(tmp_path: Path, mode: D) -> None:
    cfg = {"path": str(tmp_path / "dir ü" / "type table #1.duckdb")}
    (tmp_path / "dir ü").mkdir()
    sent = _extended_type_table()
    got = suite.round_trip(sent, "type table", "duckdb", cfg, cfg, mode).sort_by("order")
    assert comparable(got) == comparable(sent)
    assert [(f.name, f.type) for f in got.schema] == [(f.name, f.type) for f in sent.schema]
    assert at.is_numeric_text(got.schema.field("huge"))
    columns = dict(_rows(cfg, "SELECT column_name, data_type FROM duckdb_columns() "
                              "WHERE table_name = 'type table'"))
    assert columns["uid"] == "UUID"
    assert columns["doc"] == "JSON"
    assert columns["tstz"] == "TIMESTAMP WITH TIME ZONE"
    assert columns["wide"] == "DECIMAL(38,10)"
    assert columns["huge"] == "VARCHAR"
    assert columns["nested"] == "BIGINT[][]"


@pytest.fixture
def memory() -> Iterator[dict[str, pa.Table]]:
    """The tables of a fresh memory dataset, to sync from with ``_from_memory``."""
    name = f"duckdb_{uuid.uuid4().hex[:8]}"
    tables: dict[str, pa.Table] = {}
    DATASETS[name] = tables
    try:
        yield tables
    finally:
        DATASETS.pop(name, None)


def _from_memory(tables: dict[str, pa.Table], cfg: dict[str, Any],
                 choices: list[StreamChoice] | None) -> Any:
    (name,) = [k for k, v in DATASETS.items() if v is tables]
    return _sync("memory", {"dataset": name}, cfg, choices)


def test_dedup_keeps_the_row_loaded_last_for_each_key(
    tmp_path: Path, memory: dict[str, pa.Table]
) -> None:
    cfg = {"path": str(tmp_path / "dd.duckdb"), "schema": "Dest Schema"}
    choice = [StreamChoice("s", destination_sync_mode=D.append_dedup,
                           primary_key=(("k",),))]
    memory["s"] = pa.table({"k": [1, 2, 1, 3, 1], "v": ["a", "b", "c", "d", "e"]})
    assert _from_memory(memory, cfg, choice).ok
    memory["s"] = pa.table({"k": [3, 4], "v": ["z", "y"]})
    assert _from_memory(memory, cfg, choice).ok
    rows = _rows(cfg, 'SELECT k, v FROM "Dest Schema".s ORDER BY k')
    assert rows == [(1, "e"), (2, "b"), (3, "z"), (4, "y")]
    staged = "SELECT count(*) FROM duckdb_tables() WHERE starts_with(table_name, '_sw_')"
    assert _rows(cfg, staged) == [(0,)]


def test_schema_evolution_adds_columns_widens_and_rejects_incompatible_types(
    tmp_path: Path, memory: dict[str, pa.Table]
) -> None:
    cfg = {"path": str(tmp_path / "ev.duckdb")}
    choice = [StreamChoice("s", destination_sync_mode=D.append)]
    memory["s"] = pa.table({"id": pa.array([1], pa.int32()), "a": ["x"]})
    assert _from_memory(memory, cfg, choice).ok
    memory["s"] = pa.table({"id": pa.array([2], pa.int64()), "a": ["y"],
                            "n": pa.array([decimal.Decimal("1.25")], pa.decimal128(6, 2))})
    assert _from_memory(memory, cfg, choice).ok
    assert _rows(cfg, "SELECT id, a, n FROM s ORDER BY id") == [
        (1, "x", None), (2, "y", decimal.Decimal("1.25"))]
    assert dict(_rows(cfg, "SELECT column_name, data_type FROM duckdb_columns() "
                           "WHERE table_name = 's'"))["id"] == "BIGINT"
    memory["s"] = pa.table({"id": pa.array([3], pa.int64()), "a": [1.5]})
    result = _from_memory(memory, cfg, choice)
    assert not result.ok
    error = result.first_error()
    assert isinstance(error, SchemaChangeError)
    assert (error.stream, error.column) == ("s", "a")
    assert _rows(cfg, "SELECT count(*) FROM s") == [(2,)]


def test_widening_a_key_column_keeps_rows_and_column_comments(
    tmp_path: Path, memory: dict[str, pa.Table]
) -> None:
    cfg = {"path": str(tmp_path / "pk.duckdb")}
    choice = [StreamChoice("s", destination_sync_mode=D.append_dedup,
                           primary_key=(("id",),))]

    def table(ids: pa.Array, amounts: list[str]) -> pa.Table:
        schema = pa.schema([pa.field("id", ids.type), at.numeric_text_field("n")])
        return pa.Table.from_arrays([ids, pa.array(amounts)], schema=schema)

    memory["s"] = table(pa.array([1, 2], pa.int32()), ["1", "1"])
    assert _from_memory(memory, cfg, choice).ok
    memory["s"] = table(pa.array([2, 2**40], pa.int64()), ["2", "3"])
    assert _from_memory(memory, cfg, choice).ok
    assert _rows(cfg, "SELECT id, n FROM s ORDER BY id") == [(1, "1"), (2, "2"), (2**40, "3")]
    stream = DuckDBSource().discover(cfg).get("s")
    assert stream is not None
    assert stream.source_defined_primary_key == ()  # no constraint: its index lives in RAM
    assert stream.schema.field("id").type == pa.int64()
    assert at.is_numeric_text(stream.schema.field("n"))  # the column comment survived


def test_overwrite_leaves_the_previous_table_until_the_new_one_is_complete(
    tmp_path: Path,
) -> None:
    cfg = {"path": str(tmp_path / "ow.duckdb")}
    dst = DuckDBDestination()
    schema = pa.schema([pa.field("id", pa.int64(), False)])
    stream = ConfiguredStream(Stream("s", schema), primary_key=(("id",),))

    def attempt(sync_id: str, messages: Iterable[Message], resume: bool = False) -> None:
        cs = stream.with_(sync_id=sync_id * 32, resume=resume)
        list(dst.write(cfg, ConfiguredCatalog((cs,)), messages))

    def rows(*ids: int) -> RecordBatch:
        return RecordBatch("s", pa.record_batch([pa.array(ids, pa.int64())], schema=schema))

    def failing() -> Iterator[Message]:
        yield rows(7)
        yield State("s", {"n": 2})
        raise RuntimeError("source died")

    attempt("a", [rows(1, 2), State("s", {"n": 1})])
    with pytest.raises(RuntimeError):
        attempt("b", failing())
    assert _rows(cfg, "SELECT id FROM s ORDER BY id") == [(1,), (2,)]
    # the retry resumes the same sync: the committed staged row is kept, not loaded twice
    attempt("b", [rows(8), State("s", {"n": 3})], resume=True)
    assert _rows(cfg, "SELECT id FROM s ORDER BY id") == [(7,), (8,)]


def test_a_cancelled_full_refresh_resumes_where_it_stopped(tmp_path: Path) -> None:
    src_cfg = _db(tmp_path / "src.duckdb",
                  "CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR)",
                  "INSERT INTO t SELECT range, 'v' || range FROM range(10000)")
    dst_cfg = {"path": str(tmp_path / "dst.duckdb")}
    src = DuckDBSource()
    src.checkpoint_rows = src.batch_rows = 1000
    catalog = configure(src.discover(src_cfg), [StreamChoice("t")])
    store = MemoryStateStore()
    cancel = threading.Event()

    def stop_midway(stream: str, records: int, size: int) -> None:
        if records >= 4500:
            cancel.set()

    first = run(catalog, src, src_cfg, DuckDBDestination(), dst_cfg, store,
                Options(progress=stop_midway, cancel=cancel))
    assert first.status == "cancelled"
    assert store.load()["t"]["state"]["after_rowid"] >= 2999
    second = run(catalog, src, src_cfg, DuckDBDestination(), dst_cfg, store, Options())
    assert second.ok, second.streams
    assert second.streams[0].resumed
    assert second.streams[0].records < 8000
    assert _rows(dst_cfg, "SELECT count(*), count(DISTINCT id), max(id) FROM t") == [
        (10000, 10000, 9999)]
    assert store.load()["t"] == {"state": {"complete": True}}


def test_states_are_recorded_with_the_data_and_hidden_from_discover(tmp_path: Path) -> None:
    cfg = {"path": str(tmp_path / "st.duckdb"), "schema": "s p"}
    dst = DuckDBDestination()
    session = dst.connect(cfg)
    try:
        dst.create_table(session, "_sw_stage_0123456789_abc", pa.schema([("x", pa.int8())]),
                         [], with_seq=True)
        dst.save_state(session, "t\nsync", '{"cursor": 1}')
        dst.save_state(session, "t\nsync", '{"cursor": 2}')
        dst.commit(session)
    finally:
        dst.close(session)
    session = dst.connect(cfg)
    try:
        assert dst.load_state(session, "t\nsync") == '{"cursor": 2}'
        assert dst.load_state(session, "other") is None
        dst.clear_states(session, "t\n")
        assert dst.load_state(session, "t\nsync") is None
    finally:
        dst.close(session)  # not committed: the clear is rolled back
    assert DuckDBSource().discover({"path": cfg["path"]}).streams == ()
    assert _rows(cfg, 'SELECT state FROM "s p"._sluiceway_state') == [('{"cursor": 2}',)]


# ---- PostgreSQL -> DuckDB -------------------------------------------------------------
PG_DDL = """
CREATE TABLE "Mixed Case ü" (
  "order" bigint PRIMARY KEY, "by" text, u uuid, n numeric(12,2), big numeric,
  ts timestamptz, t timestamp, d date, tm time, j jsonb, b bytea, arr int[], f float8,
  bo boolean, i2 smallint
);
INSERT INTO "Mixed Case ü" VALUES
 (1, 'héllo wörld ✓', 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6', 12.34,
  123456789012345678901234.123456789, '2024-02-29 23:59:59.123456+05:30',
  '2001-01-01 00:00:00.000001', '1999-12-31', '12:34:56.654321', '{"b": 1, "a": [1, 2]}',
  '\\x00ff10', '{1,NULL,3}', 'NaN', true, -3),
 (2, '', NULL, -0.01, 0, NULL, NULL, NULL, NULL, 'null', '\\x', '{}', '-Infinity', false,
  32767),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"""
PG_EXPECTED = {
    1: ("héllo wörld ✓", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "12.34",
        "123456789012345678901234.123456789", "2024-02-29 18:29:59.123456+00",
        "2001-01-01 00:00:00.000001", "1999-12-31", "12:34:56.654321",
        '{"a":[1,2],"b":1}', "\\x00ff10", "[1, NULL, 3]", "nan", "true", "-3"),
    2: ("", None, "-0.01", "0", None, None, None, None, "null", "\\x", "[]", "-inf",
        "false", "32767"),
    3: (None,) * 14,
}
_COLS = ("by", "u", "n", "big", "ts", "t", "d", "tm", "j", "b", "arr", "f", "bo", "i2")


def _duck_text(cfg: dict[str, Any]) -> dict[int, tuple[Any, ...]]:
    """Each row of the copied table as text, keyed by "order" (json re-serialised)."""
    exprs = ", ".join("'\\x' || lower(hex(b))" if c == "b" else f'CAST("{c}" AS VARCHAR)'
                      for c in _COLS)
    con = duckdb.connect(cfg["path"], read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(f'SELECT "order", {exprs} FROM "Mixed Case ü"').fetchall()
    finally:
        con.close()
    out: dict[int, tuple[Any, ...]] = {}
    for key, *values in rows:
        doc = values[8]
        if doc is not None:
            values[8] = json.dumps(json.loads(doc), separators=(",", ":"), sort_keys=True)
        out[key] = tuple(values)
    return out


@pytest.mark.parametrize("mode", [D.overwrite, D.append, D.append_dedup])
def test_postgres_to_duckdb_keeps_every_value(pg_database: dict[str, Any], pg_conn: Any,
                                              tmp_path: Path, mode: D) -> None:
    pg_conn.execute(PG_DDL)
    cfg = {"path": str(tmp_path / "pg.duckdb")}
    choice = [StreamChoice("Mixed Case ü", destination_sync_mode=mode)]
    first = _sync("postgres", pg_database, cfg, choice)
    assert first.ok, first.streams
    assert _duck_text(cfg) == PG_EXPECTED
    pg_conn.execute("""UPDATE "Mixed Case ü" SET "by" = 'changed' WHERE "order" = 2""")
    assert _sync("postgres", pg_database, cfg, choice).ok
    versions = _rows(cfg, 'SELECT "by" FROM "Mixed Case ü" WHERE "order" = 2 ORDER BY 1')
    total = _rows(cfg, 'SELECT count(*) FROM "Mixed Case ü"')[0][0]
    if mode is D.append:
        assert (versions, total) == ([("",), ("changed",)], 6)
    else:
        assert (versions, total) == ([("changed",)], 3)


def test_postgres_incremental_dedup_into_duckdb_follows_updates(
    pg_database: dict[str, Any], pg_conn: Any, tmp_path: Path
) -> None:
    pg_conn.execute("CREATE TABLE ev (id int PRIMARY KEY, at timestamptz NOT NULL, v text)")
    pg_conn.execute("INSERT INTO ev SELECT g, '2024-01-01'::timestamptz + g * interval '1s', "
                    "'a' FROM generate_series(1, 50) g")
    cfg = {"path": str(tmp_path / "inc.duckdb")}
    store = MemoryStateStore()
    choice = [StreamChoice("ev", sync_mode=S.incremental, cursor_field=("at",),
                           destination_sync_mode=D.append_dedup)]
    assert _sync("postgres", pg_database, cfg, choice, store).ok
    pg_conn.execute("UPDATE ev SET v = 'b', at = '2030-01-01' WHERE id = 7")
    pg_conn.execute("INSERT INTO ev VALUES (51, '2030-01-02', 'new')")
    second = _sync("postgres", pg_database, cfg, choice, store)
    assert second.ok
    assert second.streams[0].records == 3
    assert _rows(cfg, "SELECT count(*), count(DISTINCT id) FROM ev") == [(51, 51)]
    assert _rows(cfg, "SELECT v FROM ev WHERE id IN (7, 51) ORDER BY id") == [("b",), ("new",)]


def test_a_wide_table_loads_although_a_fixed_pool_would_refuse_it(tmp_path: Path) -> None:
    # 80 columns at 20k rows a commit need ~80 MB of DuckDB's pool; a fixed 32 MB failed
    # with "could not allocate block"
    columns, rows = 80, 20_000
    schema = pa.schema([pa.field(f"c{i}", pa.int64() if i % 2 else pa.string())
                        for i in range(columns)])
    ints = pa.array(range(rows), pa.int64())
    texts = pa.array([f"value {j} of a wide row" for j in range(rows)])
    batch = pa.record_batch([ints if i % 2 else texts for i in range(columns)], schema=schema)
    cs = ConfiguredStream(Stream("wide", schema), sync_id="w" * 32)
    cfg = {"path": str(tmp_path / "wide.duckdb")}
    messages: list[Message] = [RecordBatch("wide", batch), State("wide", {"n": 1}),
                               RecordBatch("wide", batch), State("wide", {"n": 2})]
    echoed = list(DuckDBDestination().write(cfg, ConfiguredCatalog((cs,)), messages))
    assert [m.data for m in echoed if isinstance(m, State)] == [{"n": 1}, {"n": 2}]
    assert _rows(cfg, "SELECT count(*), sum(c1), count(DISTINCT c0) FROM wide") == [
        (2 * rows, 2 * sum(range(rows)), rows)]


def test_an_open_transaction_holds_no_loaded_batch(tmp_path: Path) -> None:
    # DuckDB keeps a batch registered on a connection referenced until the transaction ends,
    # even once unregistered: loading that way, a commit every 500k rows held ~90 MB of
    # batches. Loaded as a relation, each batch is freed once its INSERT is done.
    rows, batches = 50_000, 8
    schema = pa.schema([pa.field("id", pa.int64()), pa.field("note", pa.string())])
    note = "a note long enough to make each batch weigh a few megabytes " * 2

    def batch(i: int) -> pa.RecordBatch:
        return pa.record_batch([pa.array(range(i * rows, (i + 1) * rows), pa.int64()),
                                pa.array([note] * rows)], schema=schema)

    one = batch(0).nbytes
    held: list[int] = []

    def messages() -> Iterator[Message]:
        base = pa.total_allocated_bytes()
        for i in range(batches):  # no State in between: one transaction
            yield RecordBatch("s", batch(i))
            held.append(pa.total_allocated_bytes() - base)
        yield State("s", {"n": 1})

    cs = ConfiguredStream(Stream("s", schema), sync_id="h" * 32)
    cfg = {"path": str(tmp_path / "held.duckdb")}
    echoed = list(DuckDBDestination().write(cfg, ConfiguredCatalog((cs,)), messages()))
    assert [m.data for m in echoed if isinstance(m, State)] == [{"n": 1}]
    assert _rows(cfg, "SELECT count(*), sum(id) FROM s") == [
        (rows * batches, sum(range(rows * batches)))]
    # the destination's loop still holds the batch it last loaded when it asks for the next
    assert len(held) == batches
    assert max(held) <= 2 * one, (held, one)


def test_a_table_named_like_the_loads_batch_is_not_read_instead(tmp_path: Path) -> None:
    # each batch is inserted as a relation with a name of its own; DuckDB resolves a name
    # to a table of the default schema before such a relation, so a fixed name could load
    # that table's rows in place of the batch
    cfg = _db(tmp_path / "named.duckdb", "CREATE TABLE _sw_batch (id BIGINT)",
              "INSERT INTO _sw_batch VALUES (-1)")
    schema = pa.schema([pa.field("id", pa.int64())])
    cs = ConfiguredStream(Stream("s", schema), sync_id="n" * 32)
    batch = pa.record_batch([pa.array([1, 2, 3], pa.int64())], schema=schema)
    list(DuckDBDestination().write(cfg, ConfiguredCatalog((cs,)),
                                   [RecordBatch("s", batch), State("s", {"n": 1})]))
    assert _rows(cfg, "SELECT id FROM s ORDER BY id") == [(1,), (2,), (3,)]
    assert _rows(cfg, "SELECT id FROM _sw_batch") == [(-1,)]
