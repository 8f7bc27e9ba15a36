"""Rows passed from PostgreSQL to PostgreSQL as binary COPY tuples, undecoded (``raw``).

Each case runs against the real server; the Arrow path (``raw=False``) is the reference.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Generator
from typing import Any

import pytest

from sluiceway.connectors import registry
from sluiceway.connectors.postgres import raw as raw_copy
from sluiceway.engine.checkpoint import MemoryStateStore
from sluiceway.engine.pipeline import Options, run
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.protocol.catalog import DestinationSyncMode as D
from sluiceway.protocol.catalog import SyncMode as S
from sluiceway.protocol.messages import Log, RawRows
from tests.conftest import PG_HOST, PG_PORT, PG_USER
from tests.helpers import row_checksum, sync, wait_until


def _logged_sync(src_cfg: dict[str, Any], dst_cfg: dict[str, Any],
                 streams: list[StreamChoice] | None = None,
                 **options: Any) -> tuple[Any, list[str]]:
    lines: list[str] = []
    src = registry.source("postgres")
    catalog = configure(src.discover(src_cfg), streams)
    result = run(catalog, src, src_cfg, registry.destination("postgres"), dst_cfg,
                 MemoryStateStore(), Options(log=lambda _level, line: lines.append(line),
                                             **options))
    return result, lines


def test_values_the_arrow_path_refuses_pass_through_exactly(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, v numeric(10,2), "
                    "w numeric(60,20), d date, ts timestamp)")
    pg_conn.execute("INSERT INTO t VALUES (1, 'NaN', 12345678901234567890123456789012345678."
                    "5, 'infinity', '-infinity'), (2, 1.5, NULL, '4713-01-01 BC', "
                    "'294276-12-31 23:59:59')")
    dst = dict(pg_database, schema="copy")
    result, lines = _logged_sync(pg_database, dst)
    assert result.ok, result.streams
    assert result.streams[0].records == 2
    assert any("binary COPY tuples" in line for line in lines)
    query = "SELECT id, v::text, w::text, d::text, ts::text FROM {}.t ORDER BY id"
    assert (pg_conn.execute(query.format("copy")).fetchall()
            == pg_conn.execute(query.format("public")).fetchall())
    # through Arrow the same rows fail the sync, naming the column
    arrow = sync("postgres", pg_database, "postgres", dst, raw=False)
    assert not arrow.ok


def test_a_transform_between_the_two_sends_rows_through_arrow(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    pg_conn.execute("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 50) g")
    seen: list[int] = []

    def keep_even(_stream: str, batch: Any) -> Any:
        seen.append(batch.num_rows)
        import pyarrow.compute as pc
        return batch.filter(pc.equal(pc.bit_wise_and(batch.column("id"), 1), 0))

    result, lines = _logged_sync(pg_database, dict(pg_database, schema="copy"),
                                 transform=keep_even)
    assert result.ok, result.streams
    assert sum(seen) == 50
    assert not any("binary COPY tuples" in line for line in lines)
    assert pg_conn.execute("SELECT count(*), min(id) FROM copy.t").fetchone() == (25, 2)


def test_an_existing_table_of_other_types_gets_the_rows_cast_by_the_server(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, name varchar(10), doc json, "
                    "n smallint)")
    pg_conn.execute("""INSERT INTO t VALUES (1, 'ada', '{"a": 1}', 7), (2, NULL, NULL, -1)""")
    pg_conn.execute("CREATE SCHEMA copy")
    pg_conn.execute("CREATE TABLE copy.t (id bigint, name text, doc jsonb, n numeric, "
                    "kept text DEFAULT 'default')")
    pg_conn.execute("INSERT INTO copy.t VALUES (0, 'before', '{}', 0, 'old')")
    result = sync("postgres", pg_database, "postgres", dict(pg_database, schema="copy"),
                  [StreamChoice("t", destination_sync_mode=D.append)])
    assert result.ok, result.streams
    rows = pg_conn.execute("SELECT id, name, doc::text, n::text, kept FROM copy.t "
                           "ORDER BY id").fetchall()
    assert rows == [(0, "before", "{}", "0", "old"), (1, "ada", '{"a": 1}', "7", "default"),
                    (2, None, None, "-1", "default")]
    types = dict(pg_conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'copy.t'::regclass AND attnum > 0").fetchall())
    assert types["doc"] == "jsonb"  # the table keeps its types
    assert types["id"] == "bigint"


def test_rows_the_table_cannot_take_fail_the_sync_and_change_nothing(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, code varchar(20))")
    pg_conn.execute("INSERT INTO t VALUES (1, 'abc'), (2, 'twelve chars')")
    pg_conn.execute("CREATE SCHEMA copy")
    pg_conn.execute("CREATE TABLE copy.t (id int, code varchar(3))")
    pg_conn.execute("INSERT INTO copy.t VALUES (0, 'old')")
    result = sync("postgres", pg_database, "postgres", dict(pg_database, schema="copy"),
                  [StreamChoice("t", destination_sync_mode=D.append)])
    assert not result.ok
    # the server's own reason; never a value cut to fit
    assert "too long" in (result.streams[0].error or "")
    assert pg_conn.execute("SELECT id, code FROM copy.t").fetchall() == [(0, "old")]


@pytest.fixture
def latin1_database() -> Any:
    import psycopg

    name = f"sw_test_latin1_{uuid.uuid4().hex[:10]}"
    admin = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} ENCODING 'LATIN1' TEMPLATE template0 "
                     "LC_COLLATE 'C' LC_CTYPE 'C'")
    try:
        yield {"host": PG_HOST, "port": PG_PORT, "database": name, "username": PG_USER,
               "password": "", "ssl_mode": "disable"}
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_text_crosses_databases_of_different_encodings(
    latin1_database: dict[str, Any], pg_database: dict[str, Any], pg_conn: Any
) -> None:
    import psycopg

    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER,
                         dbname=latin1_database["database"], autocommit=True,
                         client_encoding="UTF8") as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, name text, tags text[])")
        conn.execute("INSERT INTO t VALUES (1, 'Ærø café', '{\"Zürich\",\"Malmö\"}')")
    for raw in (True, False):
        result = sync("postgres", latin1_database, "postgres",
                      dict(pg_database, schema=f"copy_{int(raw)}"), raw=raw)
        assert result.ok, result.streams
        assert pg_conn.execute(f"SELECT name, tags FROM copy_{int(raw)}.t").fetchone() == (
            "Ærø café", ["Zürich", "Malmö"])


@pytest.mark.parametrize("readers", [None, 2])
def test_a_big_table_read_raw_in_ranges_or_pages_arrives_whole(
    pg_database: dict[str, Any], pg_conn: Any, readers: int | None
) -> None:
    pg_conn.execute("CREATE TABLE t (id bigint PRIMARY KEY, k int, v text, at timestamptz)")
    pg_conn.execute("INSERT INTO t SELECT g, g % 13, repeat('x', g % 50), "
                    "'2024-01-01'::timestamptz + g * interval '1 second' "
                    "FROM generate_series(1, 30000) g")
    pg_conn.execute("ANALYZE t")
    src_cfg = dict(pg_database, **({"parallel_readers": readers} if readers else {}))
    src = registry.source("postgres")
    src.checkpoint_rows = 2_000
    src.raw_range_bytes = 64 * 1024  # type: ignore[attr-defined]
    src.raw_block_bytes = 16 * 1024  # type: ignore[attr-defined]
    dst = dict(pg_database, schema="copy")
    catalog = configure(src.discover(src_cfg), [StreamChoice("t", sync_mode=S.full_refresh)])
    lines: list[str] = []
    result = run(catalog, src, src_cfg, registry.destination("postgres"), dst,
                 MemoryStateStore(), Options(log=lambda _l, line: lines.append(line)))
    assert result.ok, result.streams
    assert result.streams[0].records == 30_000
    assert any("binary COPY tuples" in line for line in lines)
    if readers:
        assert any("key range(s)" in line and "2 reader(s)" in line for line in lines)
    query = "SELECT id, k, v, at FROM {}.t"
    assert row_checksum(pg_conn.execute(query.format("copy")).fetchall()) == row_checksum(
        pg_conn.execute(query.format("public")).fetchall())


@pytest.mark.parametrize("readers", [None, 2])
def test_a_server_that_exports_no_snapshot_still_gets_its_rows_read_through_arrow(
    pg_database: dict[str, Any], pg_conn: Any, readers: int | None
) -> None:
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    pg_conn.execute("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 5000) g")
    # a function of the same name found before pg_catalog's: exporting fails as it would
    # on a server that forbids it
    pg_conn.execute("CREATE SCHEMA shadow")
    pg_conn.execute("CREATE FUNCTION shadow.pg_export_snapshot() RETURNS text LANGUAGE plpgsql "
                    "AS $$ BEGIN RAISE EXCEPTION 'snapshots are not exported here'; END $$")
    pg_conn.execute(f'ALTER DATABASE "{pg_database["database"]}" '
                    "SET search_path = shadow, pg_catalog, public")
    src_cfg = dict(pg_database, **({"parallel_readers": readers} if readers else {}))
    result, lines = _logged_sync(src_cfg, dict(pg_database, schema="copy"))
    assert result.ok, result.streams
    assert any("cannot share this read's snapshot" in line for line in lines)
    assert not any("binary COPY tuples" in line for line in lines)
    assert pg_conn.execute("SELECT count(*), sum(id) FROM copy.t").fetchone() == (
        5000, 5000 * 5001 // 2)


def test_a_raw_read_keeps_no_python_object_per_row(
    pg_database: dict[str, Any], pg_conn: Any
) -> None:
    """Each row arrives as a message of its own; holding those messages (memoryviews, which
    the garbage collector tracks) until a block is cut made collections a quarter of a raw
    sync's CPU. When a block is handed on, no row's message may still be alive."""
    import gc

    import psycopg

    from sluiceway.connectors.postgres import raw
    from sluiceway.connectors.postgres.spec import checked_conninfo

    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    pg_conn.execute("INSERT INTO t SELECT g, repeat('v', g % 40) FROM generate_series(1, 20000) g")
    src = registry.source("postgres")
    stream = next(s for s in src.discover(pg_database).streams if s.name == "t")

    def live_views() -> int:
        return sum(1 for o in gc.get_objects() if isinstance(o, memoryview))

    views_at_each_block: list[int] = []
    rows = 0
    with psycopg.connect(checked_conninfo(pg_database), autocommit=False) as conn:
        before = live_views()  # what the process holds anyway (other tests, libraries)
        blocks = raw.copy_out(conn, pg_database, "t",
                              f"SELECT {raw.select_list(stream.schema)} FROM public.t",
                              stream.schema, block_bytes=64 * 1024)
        for block in blocks:
            rows += block.rows
            views_at_each_block.append(live_views() - before)
    assert rows == 20_000
    assert len(views_at_each_block) > 5  # several blocks, each of many rows
    assert max(views_at_each_block) < 50, views_at_each_block


@pytest.mark.parametrize("stop_after", ["binary COPY tuples", "first block"])
def test_a_raw_read_closed_at_any_message_closes_its_snapshot_connection(
    pg_database: dict[str, Any], pg_conn: Any, stop_after: str
) -> None:
    """A destination that fails at the read's first messages makes the engine close the
    read there: the connection reading in the shared snapshot ends with it, at once (a
    connection left to the garbage collector stays open, inside its transaction, until a
    collection happens to find it)."""
    pg_conn.execute("CREATE TABLE t (id int, v text)")
    pg_conn.execute("INSERT INTO t SELECT g, repeat('v', 100) FROM generate_series(1, 50000) g")
    src = registry.source("postgres")
    src.raw_format = raw_copy.FORMAT
    catalog = configure(src.discover(pg_database), [StreamChoice("t")])

    def readers() -> int:
        return int(pg_conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()").fetchone()[0])

    def reached(msg: object) -> bool:
        if stop_after == "first block":
            return isinstance(msg, RawRows)
        return isinstance(msg, Log) and stop_after in msg.message

    gc.disable()  # what closes the connection must be the read, not a collection
    try:
        messages = src.read(pg_database, catalog, None)
        assert isinstance(messages, Generator)
        for msg in messages:
            if reached(msg):
                break
        else:
            pytest.fail(f"the read ended before {stop_after!r}")
        assert readers() == 2  # the read's own connection and the one in its snapshot
        messages.close()
        wait_until(lambda: readers() == 0, timeout=10, what="the read's connections to end")
    finally:
        gc.enable()
