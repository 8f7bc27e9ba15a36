"""PostgreSQL source and destination against the real server."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from sluiceway.connectors import registry
from sluiceway.core.errors import ConfigInvalid
from sluiceway.engine.checkpoint import MemoryStateStore
from sluiceway.engine.plan import StreamChoice
from sluiceway.protocol.catalog import DestinationSyncMode as D
from sluiceway.protocol.catalog import SyncMode as S
from tests.helpers import row_checksum, sync

TYPES_DDL = """
CREATE TABLE "Mixed Case ü" (
  "order" bigint PRIMARY KEY, "by" text, u uuid, n numeric(12,2), big numeric,
  ts timestamptz, t timestamp, d date, tm time, j jsonb, js json, b bytea, arr int[],
  tarr text[], f float8, r real, bo boolean, vc varchar(10), i2 smallint, iv interval
);
INSERT INTO "Mixed Case ü" VALUES
 (1, 'héllo wörld ✓', 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6', 12.34,
  123456789012345678901234.123456789, '2024-02-29 23:59:59.123456+05:30',
  '2001-01-01 00:00:00.000001', '1999-12-31', '12:34:56.654321', '{"b": 1, "a": [1, 2]}',
  '{"z": 1,  "a": 2}', '\\x00ff10', '{1,NULL,3}', '{"a b","c"}', 'NaN', 'Infinity', true,
  'x', -3, '1 day 02:00:00'),
 (2, '', NULL, -0.01, 0, NULL, NULL, NULL, NULL, 'null', '[]', '\\x', '{}', '{}',
  '-Infinity', -1.5, false, '', 32767, NULL),
 (3, NULL, '00000000-0000-0000-0000-000000000000', NULL, NULL, '1970-01-01 00:00:00+00',
  NULL, '0001-01-01', '00:00:00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL),
 (4, repeat('long text ', 400000), NULL, 9999999999.99, -1e-20, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, 1e308, NULL, NULL, NULL, NULL, NULL);
"""


def _rows(conn: Any, table: str, schema: str = "public") -> list[tuple[Any, ...]]:
    cols = conn.execute(
        "SELECT string_agg(quote_ident(attname) || '::text', ', ' ORDER BY attnum) "
        "FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
        "AND NOT attisdropped", (f'"{schema}"."{table}"',)).fetchone()[0]
    return conn.execute(f'SELECT {cols} FROM "{schema}"."{table}"').fetchall()


def test_discover_maps_types_and_primary_key(pg_database: dict[str, Any], pg_conn: Any) -> None:
    pg_conn.execute(TYPES_DDL)
    catalog = registry.source("postgres").discover(pg_database)
    stream = catalog.get("Mixed Case ü")
    assert stream is not None
    assert stream.source_defined_primary_key == (("order",),)
    types = {f.name: f.type for f in stream.schema}
    assert types["order"] == pa.int64()
    assert types["n"] == pa.decimal128(12, 2)
    assert types["ts"] == pa.timestamp("us", tz="UTC")
    assert types["u"] == pa.uuid()
    assert types["j"] == pa.json_()
    assert types["arr"] == pa.list_(pa.int32())
    props = stream.json_schema["properties"]
    assert props["order"]["type"] == "integer"  # a primary key is NOT NULL
    assert props["by"]["type"] == ["null", "string"]


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "arrow"])
@pytest.mark.parametrize("mode", [D.overwrite, D.append, D.append_dedup])
def test_postgres_to_postgres_keeps_every_value_and_identifier(
    pg_database: dict[str, Any], pg_conn: Any, mode: D, raw: bool
) -> None:
    pg_conn.execute(TYPES_DDL)
    dst = dict(pg_database, schema="copy")
    result = sync("postgres", pg_database, "postgres", dst,
                  [StreamChoice("Mixed Case ü", destination_sync_mode=mode)], raw=raw)
    assert result.ok, result.streams
    assert result.streams[0].records == 4
    src_rows, dst_rows = _rows(pg_conn, "Mixed Case ü"), _rows(pg_conn, "Mixed Case ü", "copy")
    assert row_checksum(dst_rows) == row_checksum(src_rows)
    types = dict(pg_conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = '\"copy\".\"Mixed Case ü\"'::regclass AND attnum > 0").fetchall())
    assert types["n"] == "numeric(12,2)"
    assert types["ts"] == "timestamp with time zone"
    assert types["u"] == "uuid"
    assert types["j"] == "jsonb"
    assert types["js"] == "json"
    assert types["vc"] == "character varying(10)"


def test_overwrite_failure_leaves_previous_table_intact(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, v numeric(10,2))")
    pg_conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 100) g")
    dst = dict(pg_database, schema="copy")
    assert sync("postgres", pg_database, "postgres", dst).ok
    # a value the stream's Arrow type cannot hold (NaN in numeric(10,2)) fails the sync
    # through Arrow (raw rows carry it: tests/connectors/test_postgres_raw.py)
    pg_conn.execute("INSERT INTO t VALUES (101, 'NaN')")
    result = sync("postgres", pg_database, "postgres", dst, raw=False)
    assert not result.ok
    assert "column 'v'" in (result.streams[0].error or "")
    assert pg_conn.execute("SELECT count(*) FROM copy.t").fetchone()[0] == 100


def test_overwrite_builds_the_primary_key_after_the_load_under_its_usual_name(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    pg_conn.execute("CREATE TABLE t (a int, b text, v text, PRIMARY KEY (b, a))")
    pg_conn.execute("INSERT INTO t SELECT g % 7, 'k' || (g / 7), 'v' "
                    "FROM generate_series(1, 500) g")
    dst = dict(pg_database, schema="copy")
    for _ in range(2):  # the second sync replaces a table that already has that key name
        result = sync("postgres", pg_database, "postgres", dst, checkpoint_rows=100)
        assert result.ok, result.streams
    keys = pg_conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'copy.t'::regclass AND contype = 'p'").fetchall()
    assert keys == [("t_pkey", "PRIMARY KEY (b, a)")]
    assert pg_conn.execute("SELECT count(*) FROM copy.t").fetchone()[0] == 500
    leftovers = pg_conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'copy' "
                                "AND tablename LIKE '\\_sw\\_stage%'").fetchone()[0]
    assert leftovers == 0


def test_overwrite_with_a_repeated_primary_key_fails_and_keeps_the_previous_table(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    pg_conn.execute("CREATE TABLE t (id int, v text)")  # no key: the user names one
    pg_conn.execute("INSERT INTO t SELECT g, 'first' FROM generate_series(1, 50) g")
    dst = dict(pg_database, schema="copy")
    choice = [StreamChoice("t", primary_key=(("id",),))]
    assert sync("postgres", pg_database, "postgres", dst, choice).ok
    pg_conn.execute("UPDATE t SET v = 'second'")
    pg_conn.execute("INSERT INTO t VALUES (7, 'again')")
    result = sync("postgres", pg_database, "postgres", dst, choice)
    assert not result.ok
    error = result.streams[0].error or ""
    assert "primary key (id) more than once" in error
    assert "(id)=(7)" in error
    rows = pg_conn.execute("SELECT count(*), min(v), max(v) FROM copy.t").fetchone()
    assert rows == (50, "first", "first")


def test_incremental_never_loses_rows_sharing_the_cursor_value(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    pg_conn.execute("CREATE TABLE ev (id int PRIMARY KEY, ts int NOT NULL, v text)")
    pg_conn.execute("INSERT INTO ev SELECT g, g / 10, 'a' FROM generate_series(1, 95) g")
    dst = dict(pg_database, schema="copy")
    store = MemoryStateStore()
    choice = [StreamChoice("ev", sync_mode=S.incremental, cursor_field=("ts",),
                           destination_sync_mode=D.append_dedup, primary_key=(("id",),))]
    assert sync("postgres", pg_database, "postgres", dst, choice, store, checkpoint_rows=7).ok
    assert store.load()["ev"]["state"]["cursor"] == 9
    # rows sharing the last cursor value (9) arrive after the sync, and one is updated
    pg_conn.execute("INSERT INTO ev SELECT g, 9, 'late' FROM generate_series(96, 99) g")
    pg_conn.execute("UPDATE ev SET v = 'changed', ts = 10 WHERE id = 5")
    second = sync("postgres", pg_database, "postgres", dst, choice, store, checkpoint_rows=7)
    assert second.ok
    assert second.streams[0].records < 20  # incremental: only rows with ts >= 9
    assert row_checksum(_rows(pg_conn, "ev", "copy")) == row_checksum(_rows(pg_conn, "ev"))


def test_append_adds_new_columns_and_rejects_incompatible_change(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    pg_conn.execute("CREATE TABLE t (id int, a smallint)")
    pg_conn.execute("INSERT INTO t VALUES (1, 1)")
    dst = dict(pg_database, schema="copy")
    choice = [StreamChoice("t", destination_sync_mode=D.append)]
    assert sync("postgres", pg_database, "postgres", dst, choice).ok
    pg_conn.execute("ALTER TABLE t ADD COLUMN b text, ALTER COLUMN a TYPE bigint")
    assert sync("postgres", pg_database, "postgres", dst, choice).ok
    cols = dict(pg_conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'copy' AND table_name = 't'").fetchall())
    assert cols == {"id": "integer", "a": "bigint", "b": "text"}
    pg_conn.execute("ALTER TABLE t ALTER COLUMN a TYPE text")
    result = sync("postgres", pg_database, "postgres", dst, choice)
    assert not result.ok
    assert "column 'a' changed from int64 to string" in (result.streams[0].error or "")
    assert pg_conn.execute("SELECT count(*) FROM copy.t").fetchone()[0] == 2


def test_check_reports_host_port_and_reason_for_refused_server() -> None:
    cfg = {"host": "127.0.0.1", "port": 1, "database": "x", "username": "u",
           "password": "hunter2-secret"}
    result = registry.source("postgres").check(cfg)
    assert not result.ok
    assert "127.0.0.1:1: connection refused" in result.message
    assert "127.0.0.1:1" in result.message
    assert "hunter2-secret" not in result.message


def test_invalid_config_names_each_field() -> None:
    with pytest.raises(ConfigInvalid) as info:
        registry.source("postgres").discover({"host": "", "port": "x"})
    paths = {e.path for e in info.value.errors}
    assert {"host", "port", "database", "username"} <= paths


def test_rows_committed_while_an_incremental_read_runs_arrive_next_sync(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    import threading

    import psycopg

    pg_conn.execute("CREATE TABLE ev (id bigserial PRIMARY KEY, ts timestamptz "
                    "DEFAULT clock_timestamp(), v text)")
    pg_conn.execute("INSERT INTO ev (v) SELECT repeat('x', 200) FROM generate_series(1, 200000)")
    dst = dict(pg_database, schema="copy")
    store = MemoryStateStore()
    choice = [StreamChoice("ev", sync_mode=S.incremental, cursor_field=("ts",),
                           destination_sync_mode=D.append_dedup, primary_key=(("id",),))]
    stop = threading.Event()

    def writer() -> None:
        with psycopg.connect(host=pg_database["host"], port=pg_database["port"],
                             user=pg_database["username"], dbname=pg_database["database"],
                             autocommit=True) as conn:
            while not stop.is_set():
                conn.execute("INSERT INTO ev (v) VALUES ('during')")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        first = sync("postgres", pg_database, "postgres", dst, choice, store,
                     checkpoint_rows=20000)
    finally:
        stop.set()
        thread.join()
    assert first.ok, first.streams
    during = pg_conn.execute("SELECT count(*) FROM ev WHERE v = 'during'").fetchone()[0]
    assert during > 0
    assert sync("postgres", pg_database, "postgres", dst, choice, store).ok
    assert row_checksum(_rows(pg_conn, "ev", "copy")) == row_checksum(_rows(pg_conn, "ev"))


def _late_writer_setup(pg_database: dict[str, Any], pg_conn: Any) -> Any:
    """A table of 100 rows (ts 1..100 s) and an open transaction that has written a row with
    ts 50 s: below every cursor value a read would checkpoint."""
    import psycopg

    pg_conn.execute("CREATE TABLE ev (id bigint PRIMARY KEY, ts timestamptz NOT NULL, v text)")
    pg_conn.execute("INSERT INTO ev SELECT g, 'epoch'::timestamptz + g * interval '1 s', 'x' "
                    "FROM generate_series(1, 100) g")
    late = psycopg.connect(host=pg_database["host"], port=pg_database["port"],
                           user=pg_database["username"], dbname=pg_database["database"])
    late.execute("INSERT INTO ev VALUES (1000, 'epoch'::timestamptz + interval '50.5 s', "
                 "'late')")
    return late


def _incremental(pg_database: dict[str, Any], store: MemoryStateStore, settle: float,
                 logs: list[str]) -> Any:
    from sluiceway.engine.pipeline import Options, run
    from sluiceway.engine.plan import configure

    src = registry.source("postgres")
    src.settle_seconds = settle  # type: ignore[attr-defined]
    choice = [StreamChoice("ev", sync_mode=S.incremental, cursor_field=("ts",),
                           destination_sync_mode=D.append_dedup)]
    catalog = configure(src.discover(pg_database), choice)
    return run(catalog, src, pg_database, registry.destination("postgres"),
               dict(pg_database, schema="copy"), store,
               Options(log=lambda level, msg: logs.append(f"{level} {msg}")))


def test_an_incremental_read_waits_for_an_open_writer_with_a_lower_cursor_value(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    import threading

    late = _late_writer_setup(pg_database, pg_conn)
    timer = threading.Timer(0.5, late.commit)
    timer.start()
    try:
        logs: list[str] = []
        result = _incremental(pg_database, MemoryStateStore(), 30.0, logs)
    finally:
        timer.join()
        late.close()
    assert result.ok, result.streams
    assert result.streams[0].records == 101  # the late row is in this very sync
    assert pg_conn.execute("SELECT v FROM copy.ev WHERE id = 1000").fetchone() == ("late",)
    assert not logs


def test_a_writer_open_past_the_settle_time_keeps_the_checkpoint_and_its_row_comes_next(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    late = _late_writer_setup(pg_database, pg_conn)
    store = MemoryStateStore()
    logs: list[str] = []
    try:
        first = _incremental(pg_database, store, 0.2, logs)
        assert first.ok, first.streams
        assert first.streams[0].records == 100
        assert any(line.startswith("WARN") and "stayed open" in line for line in logs)
        late.commit()
    finally:
        late.close()
    # without the hold the checkpoint would be ts 100 s and the row at 50.5 s lost for good
    second = _incremental(pg_database, store, 0.2, logs)
    assert second.ok, second.streams
    assert pg_conn.execute("SELECT v FROM copy.ev WHERE id = 1000").fetchone() == ("late",)
    assert row_checksum(_rows(pg_conn, "ev", "copy")) == row_checksum(_rows(pg_conn, "ev"))
    pg_conn.execute("INSERT INTO ev VALUES (1001, 'epoch'::timestamptz + interval '200 s', "
                    "'y')")
    third = _incremental(pg_database, store, 0.2, logs)
    assert third.ok
    # nothing open: the checkpoint had moved to 100 s (read again, as ties are) -> 200 s
    assert third.streams[0].records == 2


@pytest.mark.parametrize("cursor", ["u", "n", "b", "d"])
def test_incremental_cursors_of_any_orderable_type_settle_and_resume(
    pg_database: dict[str, Any], pg_conn: Any, cursor: str
) -> None:
    pg_conn.execute("CREATE TABLE ev (id int PRIMARY KEY, u uuid, n numeric(12,2), b boolean, "
                    "d date)")
    dst = dict(pg_database, schema="copy")
    store = MemoryStateStore()
    choice = [StreamChoice("ev", sync_mode=S.incremental, cursor_field=(cursor,),
                           destination_sync_mode=D.append_dedup)]
    empty = sync("postgres", pg_database, "postgres", dst, choice, store)
    assert empty.ok, empty.streams
    assert empty.streams[0].records == 0
    pg_conn.execute("INSERT INTO ev SELECT g, md5(g::text)::uuid, g / 4.0, g % 2 = 0, "
                    "'2024-01-01'::date + g FROM generate_series(1, 40) g")
    first = sync("postgres", pg_database, "postgres", dst, choice, store)
    assert first.ok, first.streams
    assert first.streams[0].records == 40
    again = sync("postgres", pg_database, "postgres", dst, choice, store)
    assert again.ok
    top = pg_conn.execute(f"SELECT count(*) FROM ev WHERE {cursor} = (SELECT {cursor} "
                          f"FROM ev ORDER BY {cursor} DESC LIMIT 1)").fetchone()[0]
    assert again.streams[0].records == top  # only the rows tied with the checkpoint
    assert row_checksum(_rows(pg_conn, "ev", "copy")) == row_checksum(_rows(pg_conn, "ev"))


class _StopAfter(MemoryStateStore):
    """A state store that dies on its n-th save: the destination has committed a
    checkpoint the engine never wrote down (a crash between the two)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.left = n

    def save(self, stream: str, record: dict[str, Any] | None) -> None:
        self.left -= 1
        if self.left < 0:
            raise KeyboardInterrupt("stopped between the destination's commit and our save")
        super().save(stream, record)


@pytest.mark.parametrize("mode", [D.overwrite, D.append])
def test_resume_trusts_the_destinations_committed_checkpoint(
    pg_database: dict[str, Any], pg_conn: Any, mode: D
) -> None:
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    pg_conn.execute("INSERT INTO t SELECT g, repeat('v', 100) FROM generate_series(1, 50000) g")
    dst = dict(pg_database, schema="copy")
    store = _StopAfter(3)  # the starting record, one checkpoint, then dies on the second
    choice = [StreamChoice("t", destination_sync_mode=mode)]
    with pytest.raises(KeyboardInterrupt):
        sync("postgres", pg_database, "postgres", dst, choice, store, checkpoint_rows=5000)
    behind = store.load()["t"]
    resumed = MemoryStateStore({"t": behind})
    result = sync("postgres", pg_database, "postgres", dst, choice, resumed,
                  checkpoint_rows=5000)
    assert result.ok, result.streams
    assert result.streams[0].resumed
    assert row_checksum(_rows(pg_conn, "t", "copy")) == row_checksum(_rows(pg_conn, "t"))
    records = pg_conn.execute("SELECT state FROM copy._sluiceway_state").fetchall()
    assert [r[0]["final"] for r in records] == [True]  # kept until the next sync starts


def test_a_stop_after_the_swap_but_before_the_engine_saves_keeps_the_new_data(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    pg_conn.execute("INSERT INTO t SELECT g, 'v' FROM generate_series(1, 1000) g")
    dst = dict(pg_database, schema="copy")
    store = MemoryStateStore()
    assert sync("postgres", pg_database, "postgres", dst, None, store).ok
    final = store.load()["t"]
    # the engine's copy as a stop right after the destination's final commit leaves it:
    # the sync still pending at its last echoed State
    store.save("t", {"state": final["state"], "pending": {"sync_id": "0" * 32}})
    sync_id = pg_conn.execute("SELECT split_part(key, E'\\n', 2) FROM copy._sluiceway_state"
                              ).fetchone()[0]
    store.save("t", {"state": final["state"], "pending": {"sync_id": sync_id}})
    again = sync("postgres", pg_database, "postgres", dst, None, store)
    assert again.ok
    assert again.streams[0].resumed is False  # the finished sync is recognised, not redone
    assert again.streams[0].records == 1000
    assert pg_conn.execute("SELECT count(*) FROM copy.t").fetchone()[0] == 1000


def test_reading_postgres_into_files_does_not_import_psycopg() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom sluiceway.connectors import registry\n"
            "registry.source('postgres'); registry.destination('file')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'psycopg'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_psycopg_errors_are_translated_once_psycopg_is_loaded() -> None:
    import psycopg

    from sluiceway.connectors.postgres.errors import translate
    from sluiceway.core.errors import ConnectionFailed, Fatal, Retryable

    cfg = {"host": "db.example", "port": 5432, "password": "s3cret"}
    with pytest.raises(Retryable, match=r"server closed the connection"), translate(cfg):
        raise psycopg.OperationalError("server closed the connection")
    with pytest.raises(Retryable), translate(cfg):
        raise psycopg.errors.SerializationFailure("could not serialize access")
    hidden = r"PostgreSQL: relation \"\*{10}\" does not exist"  # the password never shows
    with pytest.raises(Fatal, match=hidden) as fatal, translate(cfg):
        raise psycopg.errors.UndefinedTable('relation "s3cret" does not exist')
    assert not isinstance(fatal.value, Retryable)
    with pytest.raises(ConnectionFailed, match=r"connection refused"), translate(
            cfg, connecting=True):
        raise psycopg.OperationalError("connection refused")


def test_a_route_upsert_of_a_column_null_in_every_row_sets_it_null(
        pg_database: dict[str, Any], pg_conn: Any) -> None:
    """A chunk in which a column is null in every entity (Arrow gives it no type) still
    replaces the stored values with NULL, in the table's own column types (jsonb, numeric,
    timestamptz); a column the table does not have is not added from such a chunk. An
    entity replaces its row: what it lacks is NULL after (row 2)."""
    dest = registry.destination("postgres")
    ups = dest.upserts(pg_database, "items", ("id",))
    assert ups is not None
    try:
        ups.write(pa.Table.from_pylist([{"id": 1, "note": "first", "n": 5, "tags": None},
                                        {"id": 2, "note": "second", "n": 6, "tags": None}]))
        ups.commit()
        pg_conn.execute("ALTER TABLE items ADD COLUMN doc jsonb, ADD COLUMN amount "
                        "numeric(12, 2), ADD COLUMN seen timestamptz")
        pg_conn.execute("UPDATE items SET doc = '{\"a\": 1}', amount = 9.5, seen = now()")
        ups.write(pa.Table.from_pylist([
            {"id": 1, "note": None, "n": None, "doc": None, "amount": None, "seen": None,
             "tags": None}]))
        ups.commit()
        ups.write(pa.Table.from_pylist([{"id": 2, "note": "second again", "n": 7}]))
        ups.commit()
    finally:
        ups.close()
    rows = pg_conn.execute("SELECT id, note, n, doc, amount, seen IS NULL FROM items "
                           "ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [(1, None, None, None, None, True),
                                        (2, "second again", 7, None, None, True)]
    columns = {r[0] for r in pg_conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'items'")}
    assert "tags" not in columns
