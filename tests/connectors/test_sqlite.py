"""SQLite source and destination against real database files (and PostgreSQL as a source)."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from sluiceway.connectors import registry
from sluiceway.connectors.memory.connector import DATASETS
from sluiceway.connectors.sqlite.destination import SQLiteDestination
from sluiceway.connectors.sqlite.source import SQLiteSource
from sluiceway.connectors.testing import suite
from sluiceway.connectors.testing.canonical import comparable, type_table
from sluiceway.core.errors import ConfigInvalid, RecordRejected, SchemaChangeError
from sluiceway.engine.checkpoint import MemoryStateStore
from sluiceway.engine.pipeline import Options, SyncResult, run
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.protocol import arrow_types as at
from sluiceway.protocol.catalog import DestinationSyncMode as D
from sluiceway.protocol.catalog import SyncMode as S
from sluiceway.protocol.messages import RecordBatch, State

UTC = dt.UTC


def _db(path: Path, *sql: str) -> dict[str, Any]:
    con = sqlite3.connect(path)
    try:
        for stmt in sql:
            con.execute(stmt)
        con.commit()
    finally:
        con.close()
    return {"path": str(path)}


def _rows(cfg: dict[str, Any], sql: str) -> list[Any]:
    con = sqlite3.connect(cfg["path"])
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _read(src: SQLiteSource, cfg: dict[str, Any], choice: StreamChoice,
          state: dict[str, Any] | None = None) -> tuple[pa.Table | None, list[dict[str, Any]]]:
    catalog = configure(src.discover(cfg), [choice])
    msgs = list(src.read(cfg, catalog, {choice.name: state} if state else None))
    batches = [m.batch for m in msgs if isinstance(m, RecordBatch)]
    states = [m.data for m in msgs if isinstance(m, State)]
    return (pa.Table.from_batches(batches) if batches else None), states


def _sync(src: str, src_cfg: dict[str, Any], dst_cfg: dict[str, Any],
          choices: list[StreamChoice] | None, store: MemoryStateStore | None = None,
          **options: Any) -> SyncResult:
    source = registry.source(src)
    catalog = configure(source.discover(src_cfg), choices)
    return run(catalog, source, src_cfg, SQLiteDestination(), dst_cfg,
               store or MemoryStateStore(), Options(**options))


@pytest.fixture
def memory() -> Iterator[dict[str, Any]]:
    """A memory dataset to sync from: fill ``DATASETS[cfg["dataset"]]``."""
    name = f"sqlite_{uuid.uuid4().hex[:8]}"
    DATASETS[name] = {}
    try:
        yield {"dataset": name}
    finally:
        DATASETS.pop(name, None)


# ---- config and check -----------------------------------------------------------------
def test_check_fails_cleanly_for_missing_file_bad_directory_and_non_database(
    tmp_path: Path,
) -> None:
    src, dst = SQLiteSource(), SQLiteDestination()
    missing = src.check({"path": str(tmp_path / "nope.db")})
    assert not missing.ok
    assert "path" in missing.message
    assert "does not exist" in missing.message
    no_dir = dst.check({"path": str(tmp_path / "no" / "such" / "x.db")})
    assert not no_dir.ok
    assert "path" in no_dir.message
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    bad = src.check({"path": str(text)})
    assert not bad.ok
    assert "not a database" in bad.message
    assert not dst.check({"path": str(text)}).ok


def test_check_succeeds_and_leaves_no_trace(tmp_path: Path) -> None:
    cfg = {"path": str(tmp_path / "new.db")}
    assert SQLiteDestination().check(cfg).ok
    assert SQLiteSource().check(cfg).ok
    assert _rows(cfg, "SELECT name FROM sqlite_master") == []


@pytest.mark.parametrize(("config", "field", "words"), [
    ({"path": ""}, "path", "non-empty"),
    ({"path": " "}, "path", "non-empty"),
    ({"path": ":memory:"}, "path", "in-memory"),
    ({"path": "file:x.db?mode=memory"}, "path", "URI"),
    ({}, "path", "required"),
    ({"path": "x.db", "schema": "main"}, "", "schema"),
])
def test_config_errors_name_the_field(config: dict[str, Any], field: str, words: str) -> None:
    for attempt in (SQLiteSource().discover, SQLiteDestination().connect):
        with pytest.raises(ConfigInvalid) as info:
            attempt(config)
        assert [e.path for e in info.value.errors] == [field]
        assert words in str(info.value)


def test_paths_name_the_missing_file_or_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid, match="path: file .*absent.db does not exist"):
        SQLiteSource().discover({"path": str(tmp_path / "absent.db")})
    with pytest.raises(ConfigInvalid, match="path: directory .*nodir does not exist"):
        SQLiteDestination().connect({"path": str(tmp_path / "nodir" / "a.db")})


# ---- discover and read ----------------------------------------------------------------
def test_discover_maps_declared_types_by_affinity_and_primary_key_order(
    tmp_path: Path,
) -> None:
    cfg = _db(tmp_path / "d.db", """
        CREATE TABLE "Order Ü" ("by" VARCHAR(20) NOT NULL, "select" INT, n DECIMAL(10,2),
          x NUMERIC, fp "FLOATING POINT", dp DOUBLE PRECISION, b BLOB, untyped,
          bo BOOLEAN, d DATE, ts DATETIME, tz TIMESTAMPTZ, tm TIME, u UUID, j JSON,
          cl CLOB, PRIMARY KEY ("select", "by"))""",
        'CREATE VIEW v AS SELECT "by", n FROM "Order Ü"')
    catalog = SQLiteSource().discover(cfg)
    assert sorted(s.name for s in catalog.streams) == ["Order Ü", "v"]
    stream = catalog.get("Order Ü")
    assert stream is not None
    assert stream.source_defined_primary_key == (("select",), ("by",))
    types = {f.name: f.type for f in stream.schema}
    assert types == {
        "by": pa.string(), "select": pa.int64(), "n": pa.decimal128(10, 2),
        "x": pa.string(), "fp": pa.int64(),  # "FLOATING POINT" contains INT: integer
        "dp": pa.float64(), "b": pa.binary(), "untyped": pa.string(), "bo": pa.bool_(),
        "d": pa.date32(), "ts": at.TIMESTAMP, "tz": at.TIMESTAMP_TZ, "tm": at.TIME,
        "u": at.UUID, "j": at.JSON, "cl": pa.string()}
    assert at.is_numeric_text(stream.schema.field("x"))
    assert not stream.schema.field("by").nullable


def test_values_written_by_other_tools_read_exactly_or_are_rejected(tmp_path: Path) -> None:
    cfg = _db(tmp_path / "o.db",
              "CREATE TABLE t (n DECIMAL(10,2), x NUMERIC, d DATETIME, tz TIMESTAMPTZ, "
              "bo BOOLEAN, anything, f REAL)",
              "INSERT INTO t VALUES ('12.50', 123456789012345678901234567890, "
              "'2024-01-02 03:04:05', '2024-01-02 03:04:05', 1, 42, 7)",
              "INSERT INTO t VALUES (0.1, '1e5', '2024-01-02T03:04', "
              "'2024-01-02 03:04:05+02:00', 0, 'x', NULL)",
              "CREATE TABLE bad (i INTEGER)", "INSERT INTO bad VALUES (1), ('one')")
    table, _ = _read(SQLiteSource(), cfg, StreamChoice("t"))
    assert table is not None
    rows = table.to_pylist()
    assert [r["n"] for r in rows] == [decimal.Decimal("12.50"), decimal.Decimal("0.10")]
    assert [r["x"] for r in rows] == ["1.2345678901234568e+29", "100000"]
    assert [r["d"] for r in rows] == [dt.datetime(2024, 1, 2, 3, 4, 5),
                                      dt.datetime(2024, 1, 2, 3, 4)]
    assert [r["tz"] for r in rows] == [dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
                                       dt.datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)]
    assert [r["bo"] for r in rows] == [True, False]
    assert [r["f"] for r in rows] == [7.0, None]
    assert [r["anything"] for r in rows] == ["42", "x"]
    with pytest.raises(RecordRejected, match="bad: column 'i': .*'one'"):
        _read(SQLiteSource(), cfg, StreamChoice("bad"))


def test_full_refresh_checkpoints_by_rowid_and_resumes_from_a_state(tmp_path: Path) -> None:
    cfg = _db(tmp_path / "f.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
              "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 10) "
              "INSERT INTO t SELECT i, 'v' || i FROM r")
    src = SQLiteSource()
    src.checkpoint_rows = 3
    table, states = _read(src, cfg, StreamChoice("t"))
    assert table is not None
    assert table.column("id").to_pylist() == list(range(1, 11))
    assert states == [{"after_rowid": 3}, {"after_rowid": 6}, {"after_rowid": 9},
                      {"complete": True}]
    rest, states = _read(src, cfg, StreamChoice("t"), {"after_rowid": 6})
    assert rest is not None
    assert rest.column("id").to_pylist() == [7, 8, 9, 10]
    assert states == [{"after_rowid": 9}, {"complete": True}]
    done, states = _read(src, cfg, StreamChoice("t"), {"complete": True})
    assert done is None
    assert states == [{"complete": True}]


def test_rowid_named_columns_views_and_without_rowid_tables_are_read_whole(
    tmp_path: Path,
) -> None:
    cfg = _db(tmp_path / "w.db", "CREATE TABLE shadow (rowid TEXT, v INTEGER)",
              "INSERT INTO shadow VALUES ('a', 1), ('b', 2), ('c', 3)",
              "CREATE TABLE wr (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID",
              "INSERT INTO wr VALUES ('a', 1), ('b', 2), ('c', 3)",
              "CREATE VIEW vw AS SELECT k FROM wr")
    src = SQLiteSource()
    src.checkpoint_rows = 2
    shadow, states = _read(src, cfg, StreamChoice("shadow"))  # resumable through _rowid_
    assert shadow is not None
    assert shadow.column("rowid").to_pylist() == ["a", "b", "c"]
    assert states == [{"after_rowid": 2}, {"complete": True}]
    for name in ("wr", "vw"):
        table, states = _read(src, cfg, StreamChoice(name))
        assert table is not None
        assert table.num_rows == 3
        assert states == [{"complete": True}]


def test_incremental_checkpoints_and_resumes_from_the_stored_cursor(tmp_path: Path) -> None:
    cfg = _db(tmp_path / "i.db", 'CREATE TABLE ev (id INTEGER, "at" TIMESTAMP)',
              "INSERT INTO ev VALUES (1, '2024-01-01 00:00:01'), (2, '2024-01-01 00:00:02'), "
              "(3, '2024-01-01 00:00:02'), (4, '2024-01-01 00:00:03'), "
              "(5, '2024-01-01 00:00:04'), (6, NULL)")
    src = SQLiteSource()
    src.checkpoint_rows = 2
    choice = StreamChoice("ev", sync_mode=S.incremental, cursor_field=("at",))
    table, states = _read(src, cfg, choice)
    assert table is not None
    assert sorted(table.column("id").to_pylist()) == [1, 2, 3, 4, 5]
    assert [s["cursor"] for s in states] == ["2024-01-01 00:00:02", "2024-01-01 00:00:03",
                                            "2024-01-01 00:00:04"]
    rest, _ = _read(src, cfg, choice, states[0])  # ties with the checkpoint are read again
    assert rest is not None
    assert sorted(rest.column("id").to_pylist()) == [2, 3, 4, 5]


# ---- destination ----------------------------------------------------------------------
def _extended_type_table() -> pa.Table:
    """The shared type table plus lists and numeric text."""
    t = type_table()
    extra = {
        "ints": pa.array([[1, None, 3], [], None, [2147483647]], pa.list_(pa.int64())),
        "money": pa.array([[decimal.Decimal("1.50")], None, [None], []],
                          pa.list_(pa.decimal128(5, 2))),
        "times": pa.array([[dt.datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC)], None, [], [None]],
                          pa.list_(at.TIMESTAMP_TZ)),
        "nested": pa.array([[["a"], []], None, [None], []], pa.list_(pa.list_(pa.string()))),
        "bytes": pa.array([[b"\x00\xff", b""], None, [], [None]], pa.list_(pa.binary())),
    }
    for name, values in extra.items():
        t = t.append_column(pa.field(name, values.type), values)
    return t.append_column(at.numeric_text_field("huge"), pa.array(
        ["123456789012345678901234567890123456789012.5", "-1", None, "0"]))


@pytest.mark.parametrize("mode", [D.overwrite, D.append, D.append_dedup])
def test_type_table_round_trips_exactly(tmp_path: Path, mode: D) -> None:
    cfg = {"path": str(tmp_path / "dir ü" / "type table #1.db")}
    (tmp_path / "dir ü").mkdir()
    sent = _extended_type_table()
    got = suite.round_trip(sent, "type table", "sqlite", cfg, cfg, mode).sort_by("order")
    assert comparable(got) == comparable(sent)
    widened = {"Mixed Case", "naïve col"}  # every SQLite integer reads back as int64
    assert [(f.name, f.type) for f in got.schema if f.name not in widened] == [
        (f.name, f.type) for f in sent.schema if f.name not in widened]
    assert at.is_numeric_text(got.schema.field("huge"))
    stored = _rows(cfg, 'SELECT "wide", typeof("wide"), "f64", typeof("f64"), "tstz", '
                        '"uid", "doc" FROM "type table" ORDER BY "order"')
    assert stored[0][:4] == ("1234567890123456789012345678.0123456789", "text", "NaN", "text")
    assert stored[1][:4] == ("0.0000000000", "text", math.inf, "real")
    assert stored[0][4:] == ("2024-02-29 18:29:59.123456+00:00",
                             "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
                             '{"a": [1, 2], "b": {"c": null}}')


def test_batches_sliced_from_one_array_store_their_own_lists(
    tmp_path: Path, memory: dict[str, Any]
) -> None:
    cfg = {"path": str(tmp_path / "sl.db")}
    lists = pa.array([[i] * (i % 3) for i in range(10)], pa.list_(pa.int64()))
    table = pa.table({"i": list(range(10)), "l": lists})
    DATASETS[memory["dataset"]]["s"] = pa.Table.from_batches(table.to_batches(max_chunksize=3))
    assert _sync("memory", memory, cfg, None).ok
    assert _rows(cfg, "SELECT i, l FROM s ORDER BY i") == [
        (i, "[" + ", ".join([str(i)] * (i % 3)) + "]") for i in range(10)]


def test_dedup_keeps_the_row_loaded_last_for_each_key(tmp_path: Path,
                                                      memory: dict[str, Any]) -> None:
    cfg = {"path": str(tmp_path / "dd.db")}
    choice = [StreamChoice("s", destination_sync_mode=D.append_dedup,
                           primary_key=(("k",),))]
    DATASETS[memory["dataset"]]["s"] = pa.table({"k": [1, 2, 1, 3, 1],
                                                "v": ["a", "b", "c", "d", "e"]})
    assert _sync("memory", memory, cfg, choice).ok
    DATASETS[memory["dataset"]]["s"] = pa.table({"k": [3, 4], "v": ["z", "y"]})
    assert _sync("memory", memory, cfg, choice).ok
    assert _rows(cfg, "SELECT k, v FROM s ORDER BY k") == [(1, "e"), (2, "b"), (3, "z"),
                                                          (4, "y")]
    assert _rows(cfg, "SELECT count(*) FROM sqlite_master WHERE name LIKE '\\_sw%' "
                      "ESCAPE '\\'") == [(0,)]
    assert _rows(cfg, "PRAGMA journal_mode") == [("wal",)]


def test_schema_evolution_adds_columns_widens_and_rejects_incompatible_types(
    tmp_path: Path, memory: dict[str, Any]
) -> None:
    cfg = {"path": str(tmp_path / "ev.db")}
    choice = [StreamChoice("s", destination_sync_mode=D.append)]
    data = DATASETS[memory["dataset"]]
    data["s"] = pa.table({"id": [1], "n": pa.array([decimal.Decimal("1.25")],
                                                   pa.decimal128(6, 2))})
    assert _sync("memory", memory, cfg, choice).ok
    data["s"] = pa.table({"id": [2], "n": pa.array([decimal.Decimal("12345.678")],
                                                   pa.decimal128(9, 3)), "a": ["new"]})
    assert _sync("memory", memory, cfg, choice).ok
    declared = {r[1]: r[2] for r in _rows(cfg, "PRAGMA table_info(s)")}
    assert declared == {"id": "INTEGER", "n": "DECIMAL_TEXT(9,3)", "a": "TEXT"}
    table, _ = _read(SQLiteSource(), cfg, StreamChoice("s"))
    assert table is not None
    assert table.to_pylist() == [
        {"id": 1, "n": decimal.Decimal("1.250"), "a": None},
        {"id": 2, "n": decimal.Decimal("12345.678"), "a": "new"}]
    data["s"] = pa.table({"id": [3], "a": [dt.date(2024, 1, 1)]})
    result = _sync("memory", memory, cfg, choice)
    assert not result.ok
    error = result.first_error()
    assert isinstance(error, SchemaChangeError)
    assert (error.stream, error.column) == ("s", "a")
    assert _rows(cfg, "SELECT count(*) FROM s") == [(2,)]


def test_overwrite_replaces_a_table_that_a_view_reads(tmp_path: Path,
                                                      memory: dict[str, Any]) -> None:
    cfg = {"path": str(tmp_path / "ow.db")}
    DATASETS[memory["dataset"]]["Order"] = pa.table({"by": [1, 2]})
    assert _sync("memory", memory, cfg, None).ok
    _db(Path(cfg["path"]), 'CREATE VIEW "see order" AS SELECT "by" FROM "Order"')
    DATASETS[memory["dataset"]]["Order"] = pa.table({"by": [3]})
    assert _sync("memory", memory, cfg, None).ok
    assert _rows(cfg, 'SELECT "by" FROM "see order"') == [(3,)]


def test_streams_loading_one_file_in_parallel_take_turns(tmp_path: Path,
                                                         memory: dict[str, Any]) -> None:
    cfg = {"path": str(tmp_path / "par.db")}
    for name in ("a", "b", "c"):
        DATASETS[memory["dataset"]][name] = pa.table({"i": list(range(20_000))})
    result = _sync("memory", memory, cfg, None, parallel_streams=3)
    assert result.ok, result.streams
    assert _rows(cfg, "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b), "
                      "(SELECT count(*) FROM c)") == [(20_000, 20_000, 20_000)]


def test_a_cancelled_full_refresh_resumes_where_it_stopped(tmp_path: Path) -> None:
    src_cfg = _db(tmp_path / "src.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
                  "WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r "
                  "WHERE i < 9999) INSERT INTO t SELECT i, 'v' || i FROM r")
    dst_cfg = {"path": str(tmp_path / "dst.db")}
    src = SQLiteSource()
    src.checkpoint_rows = src.batch_rows = 1000
    catalog = configure(src.discover(src_cfg), [StreamChoice("t")])
    store = MemoryStateStore()
    cancel = threading.Event()

    def stop_midway(stream: str, records: int, size: int) -> None:
        if records >= 4500:
            cancel.set()

    first = run(catalog, src, src_cfg, SQLiteDestination(), dst_cfg, store,
                Options(progress=stop_midway, cancel=cancel))
    assert first.status == "cancelled"
    assert store.load()["t"]["state"]["after_rowid"] >= 2999
    second = run(catalog, src, src_cfg, SQLiteDestination(), dst_cfg, store, Options())
    assert second.ok, second.streams
    assert second.streams[0].resumed
    assert second.streams[0].records < 8000
    assert _rows(dst_cfg, "SELECT count(*), count(DISTINCT id), max(id) FROM t") == [
        (10000, 10000, 9999)]
    assert store.load()["t"] == {"state": {"complete": True}}


def test_states_are_recorded_with_the_data_and_hidden_from_discover(tmp_path: Path) -> None:
    cfg = {"path": str(tmp_path / "st.db")}
    dst = SQLiteDestination()
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
    assert SQLiteSource().discover(cfg).streams == ()
    assert _rows(cfg, "SELECT state FROM _sluiceway_state") == [('{"cursor": 2}',)]


# ---- PostgreSQL -> SQLite -------------------------------------------------------------
PG_DDL = """
CREATE TABLE "Mixed Case ü" (
  "order" bigint PRIMARY KEY, "by" text, u uuid, n numeric(12,2), big numeric,
  ts timestamptz, t timestamp, d date, tm time, j jsonb, b bytea, arr int[], f float8,
  bo boolean
);
INSERT INTO "Mixed Case ü" VALUES
 (1, 'héllo wörld ✓', 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6', 12.34,
  123456789012345678901234.123456789, '2024-02-29 23:59:59.123456+05:30',
  '2001-01-01 00:00:00.000001', '1999-12-31', '12:34:56.654321', '{"b": 1, "a": [1, 2]}',
  '\\x00ff10', '{1,NULL,3}', 'NaN', true),
 (2, '', NULL, -0.01, 0, NULL, NULL, NULL, NULL, 'null', '\\x', '{}', '-Infinity', false),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"""
PG_STORED = [
    (1, "héllo wörld ✓", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "12.34",
     "123456789012345678901234.123456789", "2024-02-29 18:29:59.123456+00:00",
     "2001-01-01 00:00:00.000001", "1999-12-31", "12:34:56.654321", '{"a": [1, 2], "b": 1}',
     b"\x00\xff\x10", "[1, null, 3]", "NaN", 1),
    (2, "", None, "-0.01", "0", None, None, None, None, "null", b"", "[]", -math.inf, 0),
    (3, None, None, None, None, None, None, None, None, None, None, None, None, None),
]


@pytest.mark.parametrize("mode", [D.overwrite, D.append, D.append_dedup])
def test_postgres_to_sqlite_keeps_every_value(pg_database: dict[str, Any], pg_conn: Any,
                                              tmp_path: Path, mode: D) -> None:
    pg_conn.execute(PG_DDL)
    cfg = {"path": str(tmp_path / "pg.db")}
    choice = [StreamChoice("Mixed Case ü", destination_sync_mode=mode)]
    first = _sync("postgres", pg_database, cfg, choice)
    assert first.ok, first.streams
    assert _rows(cfg, 'SELECT * FROM "Mixed Case ü" ORDER BY "order"') == PG_STORED
    declared = {r[1]: r[2] for r in _rows(cfg, 'PRAGMA table_info("Mixed Case ü")')}
    assert (declared["n"], declared["big"], declared["j"], declared["arr"]) == (
        "DECIMAL_TEXT(12,2)", "NUMERIC_TEXT", "JSON_TEXT", "LIST_INT32")
    pg_conn.execute("""UPDATE "Mixed Case ü" SET "by" = 'changed' WHERE "order" = 2""")
    assert _sync("postgres", pg_database, cfg, choice).ok
    versions = _rows(cfg, 'SELECT "by" FROM "Mixed Case ü" WHERE "order" = 2 ORDER BY 1')
    total = _rows(cfg, 'SELECT count(*) FROM "Mixed Case ü"')[0][0]
    if mode is D.append:
        assert (versions, total) == ([("",), ("changed",)], 6)
    else:
        assert (versions, total) == ([("changed",)], 3)


def test_postgres_incremental_dedup_into_sqlite_follows_updates(
    pg_database: dict[str, Any], pg_conn: Any, tmp_path: Path
) -> None:
    pg_conn.execute("CREATE TABLE ev (id int PRIMARY KEY, at timestamptz NOT NULL, v text)")
    pg_conn.execute("INSERT INTO ev SELECT g, '2024-01-01'::timestamptz + g * interval '1s', "
                    "'a' FROM generate_series(1, 50) g")
    cfg = {"path": str(tmp_path / "inc.db")}
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
    assert _rows(cfg, "SELECT v, at FROM ev WHERE id IN (7, 51) ORDER BY id") == [
        ("b", "2030-01-01 00:00:00.000000+00:00"), ("new", "2030-01-02 00:00:00.000000+00:00")]
