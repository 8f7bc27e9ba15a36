"""MySQL / MariaDB source and destination against the real server (and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from sluiceway.connectors import registry
from sluiceway.connectors.memory.connector import DATASETS, MemorySource
from sluiceway.connectors.mysql.destination import MySQLDestination
from sluiceway.connectors.mysql.source import MySQLSource
from sluiceway.connectors.mysql.types import MYSQL_TYPE_KEY
from sluiceway.connectors.testing.canonical import comparable, type_table
from sluiceway.core.errors import ConfigInvalid, Fatal, RecordRejected, Retryable
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.protocol import arrow_types as at
from sluiceway.protocol.catalog import DestinationSyncMode as D
from sluiceway.protocol.catalog import SyncMode as S
from sluiceway.protocol.messages import Log, RecordBatch, State
from tests.helpers import sync

LONG = "long text ✓ 日本 " * 350_000  # about 6 MB in one value
TYPES_DDL = """
CREATE TABLE `Typed ü` (
  `order` BIGINT NOT NULL, `by` VARCHAR(20) NOT NULL, amount DECIMAL(12,2),
  huge DECIMAL(65,30), u64 BIGINT UNSIGNED, flag TINYINT(1), small TINYINT, f FLOAT,
  d DOUBLE, day DATE, clock TIME(6), ts DATETIME(6), stamp TIMESTAMP(6) NULL, txt LONGTEXT,
  bin VARBINARY(64), doc JSON, mood ENUM('sad','ok'), yr YEAR, `we``ird col` INT,
  PRIMARY KEY (`by`, `order`))
"""
TYPES_ROWS = [
    (1, "a", "1234567890.12", "-12345678901234567890123456789012345.123456789012345678901234567891",
     18446744073709551615, 1, -128, 1.2345678, 0.1, "2024-02-29", "23:59:59.999999",
     "2024-02-29 23:59:59.999999", "2038-01-19 03:14:07.999999", "héllo wörld ✓ 日本 😀",
     b"\x00\xff\n\t\\\r", '{"a": [1, 2], "b": null}', "ok", 2155, 7),
    (2, "A", "-0.01", "0", 0, 0, 127, -0.0, 1.5e308, "1000-01-01", "00:00:00",
     "1970-01-01 00:00:00", "1970-01-01 00:00:01", "", b"", "[]", "sad", 1901, None),
    (3, "a ", None, None, None, None, None, None, None, None, None, None, None, None, None, None,
     None, None, None),
    (4, "\\N", "9999999999.99", "1e-30", 1, 1, 0, 3.0, -2.5, "9999-12-31", "12:00:00.000001",
     "0001-01-01 00:00:00", None, LONG, b"x" * 64, '"text"', None, None, -1),
]


def _create_typed(conn: Any) -> None:
    with conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")  # TIMESTAMP values below are UTC
        cur.execute(TYPES_DDL)
        cur.executemany("INSERT INTO `Typed ü` VALUES (" + ", ".join(["%s"] * 19) + ")",
                        TYPES_ROWS)


def _rows(conn: Any, table: str) -> list[tuple[Any, ...]]:
    """Rows as exact Python values (FLOAT widened: the text protocol prints 6 digits)."""
    with conn.cursor() as cur:
        cur.execute("SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s "
                    "ORDER BY ORDINAL_POSITION", (table,))
        cols = [(n, t) for n, t in cur.fetchall() if n != "_sluiceway_seq"]
        exprs = ", ".join(("`{0}` + 0e0" if t == "float" else "`{0}`").format(
            n.replace("`", "``")) for n, t in cols)
        cur.execute(f"SELECT {exprs} FROM `{table}` ORDER BY 1, 2")
        return list(cur.fetchall())


def _column_types(conn: Any, table: str) -> dict[str, tuple[str, str]]:
    with conn.cursor() as cur:
        cur.execute("SELECT COLUMN_NAME, COLUMN_TYPE, COLUMN_COMMENT FROM "
                    "information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = %s", (table,))
        return {n: (t, c) for n, t, c in cur.fetchall()}


def _read(cfg: dict[str, Any], choice: StreamChoice, state: dict[str, Any] | None = None,
          checkpoint_rows: int = 500_000, fast: bool = True) -> list[RecordBatch | State]:
    src = MySQLSource()
    src.checkpoint_rows = checkpoint_rows
    src.use_connectorx = fast
    catalog = configure(src.discover(cfg), [choice])
    states = {choice.name: state} if state is not None else None
    return [m for m in src.read(cfg, catalog, states) if isinstance(m, RecordBatch | State)]


def _values(messages: list[RecordBatch | State], column: str) -> list[Any]:
    return [v for m in messages if isinstance(m, RecordBatch)
            for v in m.batch.column(column).to_pylist()]


def _states(messages: list[RecordBatch | State]) -> list[dict[str, Any]]:
    return [m.data for m in messages if isinstance(m, State)]


@pytest.fixture
def memory_dataset() -> Iterator[str]:
    name = f"mem_{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        DATASETS.pop(name, None)


# ---- config, check --------------------------------------------------------------------
def test_invalid_config_names_each_bad_field() -> None:
    with pytest.raises(ConfigInvalid) as info:
        registry.source("mysql").discover({"host": "", "port": "x", "ssl_mode": "sometimes",
                                           "password": 5, "schema": "public"})
    paths = {e.path for e in info.value.errors}
    assert {"host", "port", "database", "username", "ssl_mode", "password"} <= paths
    assert "schema" in str(info.value)  # additionalProperties: false
    assert "5" not in [str(e.value) for e in info.value.errors if e.path == "password"]


def test_check_succeeds_for_source_and_destination(mysql_database: dict[str, Any]) -> None:
    assert registry.source("mysql").check(mysql_database).ok
    result = registry.destination("mysql").check(mysql_database)
    assert result.ok, result.message


@pytest.mark.parametrize("kind", ["source", "destination"])
def test_check_reports_host_port_and_reason_without_the_password(kind: str) -> None:
    cfg = {"host": "127.0.0.1", "port": 1, "database": "x", "username": "u",
           "password": "hunter2-secret"}
    connector = registry.source("mysql") if kind == "source" else registry.destination("mysql")
    result = connector.check(cfg)
    assert not result.ok
    assert "127.0.0.1:1" in result.message
    assert "connection refused" in result.message
    assert "hunter2-secret" not in result.message
    assert "Traceback" not in result.message


def test_check_reports_a_refused_login_without_the_password(
    mysql_database: dict[str, Any]
) -> None:
    cfg = dict(mysql_database, username="sw_nobody", password="hunter2-secret")
    result = registry.source("mysql").check(cfg)
    assert not result.ok
    assert "Access denied" in result.message
    assert "sw_nobody" in result.message
    assert "hunter2-secret" not in result.message


# ---- source ---------------------------------------------------------------------------
def test_discover_maps_types_keys_and_views(mysql_database: dict[str, Any],
                                            mysql_conn: Any) -> None:
    _create_typed(mysql_conn)
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE VIEW v AS SELECT `order`, amount FROM `Typed ü`")
    catalog = registry.source("mysql").discover(mysql_database)
    stream = catalog.get("Typed ü")
    assert stream is not None
    assert stream.namespace == mysql_database["database"]
    assert stream.source_defined_primary_key == (("by",), ("order",))  # key order
    fields = {f.name: f for f in stream.schema}
    types = {name: f.type for name, f in fields.items()}
    assert types["order"] == pa.int64()
    assert types["small"] == pa.int16()
    assert types["amount"] == pa.decimal128(12, 2)
    assert at.is_numeric_text(fields["huge"])  # DECIMAL(65,30) is wider than decimal128
    assert types["u64"] == pa.decimal128(20, 0)
    assert types["flag"] == pa.bool_()
    assert types["yr"] == pa.int16()
    assert (types["f"], types["d"]) == (pa.float32(), pa.float64())
    assert types["day"] == pa.date32()
    assert types["clock"] == at.TIME
    assert types["ts"] == at.TIMESTAMP
    assert types["stamp"] == at.TIMESTAMP_TZ
    assert types["txt"] == pa.string()
    assert types["mood"] == pa.string()
    assert types["bin"] == pa.binary()
    assert at.is_json(types["doc"])  # MariaDB's JSON is a LONGTEXT with a json_valid check
    assert fields["amount"].metadata[MYSQL_TYPE_KEY] == b"decimal(12,2)"
    assert not fields["order"].nullable
    assert fields["amount"].nullable
    view = catalog.get("v")
    assert view is not None
    assert view.source_defined_primary_key == ()


@pytest.mark.parametrize("fast", [True, False], ids=["connectorx", "pymysql"])
def test_both_readers_return_the_same_exact_values(
    mysql_database: dict[str, Any], mysql_conn: Any, fast: bool
) -> None:
    _create_typed(mysql_conn)
    messages = _read(mysql_database, StreamChoice("Typed ü"), fast=fast)
    got = pa.Table.from_batches([m.batch for m in messages if isinstance(m, RecordBatch)])
    rows = {r["order"]: r for r in got.to_pylist()}
    first = rows[1]
    assert first["by"] == "a"
    assert rows[3]["by"] == "a "
    assert rows[4]["by"] == "\\N"
    assert first["amount"] == decimal.Decimal("1234567890.12")
    assert first["huge"] == TYPES_ROWS[0][3]
    assert first["u64"] == decimal.Decimal(18446744073709551615)
    assert first["flag"] is True
    assert first["small"] == -128
    assert first["f"] == pytest.approx(1.2345678, rel=1e-7)
    assert first["d"] == 0.1
    assert first["clock"] == dt.time(23, 59, 59, 999999)
    assert first["ts"] == dt.datetime(2024, 2, 29, 23, 59, 59, 999999)
    assert first["stamp"] == dt.datetime(2038, 1, 19, 3, 14, 7, 999999, tzinfo=dt.UTC)
    assert first["bin"] == b"\x00\xff\n\t\\\r"
    assert rows[2]["bin"] == b""
    assert json.loads(first["doc"]) == {"a": [1, 2], "b": None}
    assert first["txt"] == "héllo wörld ✓ 日本 😀"
    assert rows[2]["txt"] == ""
    assert rows[3]["txt"] is None
    assert rows[4]["txt"] == LONG
    assert rows[4]["ts"] == dt.datetime(1, 1, 1)
    assert rows[4]["day"] == dt.date(9999, 12, 31)
    assert first["we`ird col"] == 7


@pytest.mark.parametrize("fast", [True, False], ids=["connectorx", "pymysql"])
def test_full_refresh_checkpoints_by_key_and_resumes_after_the_last_one(
    mysql_database: dict[str, Any], mysql_conn: Any, fast: bool
) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE t (a INT, b VARCHAR(5), v TEXT, PRIMARY KEY (a, b))")
        cur.execute("INSERT INTO t SELECT seq DIV 3, CHAR(65 + seq % 3), 'x' FROM seq_0_to_29")
    messages = _read(mysql_database, StreamChoice("t", columns=("v",)), checkpoint_rows=4,
                     fast=fast)
    states = _states(messages)
    assert len(_values(messages, "v")) == 30
    assert states[-1] == {"complete": True}
    afters = [s["after"] for s in states[:-1]]
    assert len(afters) >= 6
    assert afters == sorted(afters)
    resumed = _read(mysql_database, StreamChoice("t"), state={"after": [6, "A"]},
                    checkpoint_rows=4, fast=fast)
    keys = list(zip(_values(resumed, "a"), _values(resumed, "b"), strict=True))
    assert keys[0] == (6, "B")
    assert len(keys) == 30 - 19
    done = _read(mysql_database, StreamChoice("t"), state={"complete": True})
    assert done == [State("t", {"complete": True})]


def test_a_table_keyed_by_an_enum_is_read_whole(mysql_database: dict[str, Any],
                                                mysql_conn: Any) -> None:
    # ORDER BY an ENUM follows its list ('z' first) while > compares text: no keyset there
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE e (k ENUM('z', 'a', 'm') PRIMARY KEY, v INT)")
        cur.execute("INSERT INTO e VALUES ('z', 1), ('a', 2), ('m', 3)")
    messages = _read(mysql_database, StreamChoice("e"), checkpoint_rows=1)
    assert sorted(_values(messages, "k")) == ["a", "m", "z"]


def test_table_without_key_is_read_in_one_pass(mysql_database: dict[str, Any],
                                               mysql_conn: Any) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE heap (v INT)")
        cur.execute("INSERT INTO heap SELECT seq FROM seq_1_to_50")
    for fast in (True, False):
        messages = _read(mysql_database, StreamChoice("heap"), checkpoint_rows=7, fast=fast)
        assert sorted(_values(messages, "v")) == list(range(1, 51))
        assert _states(messages) == [{"complete": True}]


@pytest.mark.parametrize("indexed", [True, False], ids=["chunked", "streamed"])
def test_incremental_checkpoints_and_rereads_rows_sharing_the_cursor(
    mysql_database: dict[str, Any], mysql_conn: Any, indexed: bool
) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE ev (id INT PRIMARY KEY, ts DATETIME(6), v TEXT"
                    + (", KEY (ts))" if indexed else ")"))
        cur.execute("INSERT INTO ev SELECT seq, TIMESTAMP'2024-01-01 00:00:00' + INTERVAL "
                    "(seq DIV 4) SECOND + INTERVAL 5 MICROSECOND, 'x' FROM seq_1_to_40")
        cur.execute("INSERT INTO ev VALUES (41, NULL, 'no cursor')")
    choice = StreamChoice("ev", sync_mode=S.incremental, cursor_field=("ts",))
    messages = _read(mysql_database, choice, checkpoint_rows=6)
    assert sorted(_values(messages, "id")) == list(range(1, 41))  # NULL cursor: skipped
    states = _states(messages)
    assert len(states) >= 6
    cursors = [s["cursor"] for s in states]
    assert cursors == sorted(cursors)
    assert states[-1] == {"cursor": "2024-01-01T00:00:10.000005", "cursor_field": "ts"}
    again = _read(mysql_database, choice, state=states[-1])
    assert sorted(_values(again, "id")) == [40]  # rows at the last cursor value come again
    assert _states(again)[-1] == states[-1]


@pytest.mark.parametrize("indexed", [True, False], ids=["chunked", "streamed"])
def test_a_decimal_cursor_is_ordered_as_a_number_not_as_its_text(
    mysql_database: dict[str, Any], mysql_conn: Any, indexed: bool
) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE ev (id INT PRIMARY KEY, n DECIMAL(12,2)"
                    + (", KEY (n))" if indexed else ")"))
        # as text '10.00' < '9.75': read in text order, the checkpoint would fall back
        cur.execute("INSERT INTO ev SELECT seq, seq / 4 FROM seq_1_to_40")
    choice = StreamChoice("ev", sync_mode=S.incremental, cursor_field=("n",))
    messages = _read(mysql_database, choice, checkpoint_rows=6)
    assert _values(messages, "n") == [decimal.Decimal(i) / 4 for i in range(1, 41)]
    assert _states(messages)[-1] == {"cursor": "10.00", "cursor_field": "n"}
    again = _read(mysql_database, choice, state=_states(messages)[-1])
    assert _values(again, "id") == [40]


def _late_writer(mysql_database: dict[str, Any], mysql_conn: Any) -> Any:
    """Rows with ts 1..40 s, and an open transaction that has written a row at 10.5 s."""
    import pymysql

    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE ev (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL, v TEXT, "
                    "KEY (ts))")
        cur.execute("INSERT INTO ev SELECT seq, TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq "
                    "SECOND, 'x' FROM seq_1_to_40")
    late = pymysql.connect(host=mysql_database["host"], port=mysql_database["port"],
                           user=mysql_database["username"], password=mysql_database["password"],
                           database=mysql_database["database"], autocommit=False)
    with late.cursor() as cur:
        cur.execute("INSERT INTO ev VALUES (1000, '2024-01-01 00:00:10.5', 'late')")
    return late


def _read_settling(cfg: dict[str, Any], settle: float, state: dict[str, Any] | None,
                   logs: list[str]) -> list[RecordBatch | State]:
    src = MySQLSource()
    src.settle_seconds = settle
    choice = StreamChoice("ev", sync_mode=S.incremental, cursor_field=("ts",))
    catalog = configure(src.discover(cfg), [choice])
    out: list[RecordBatch | State] = []
    for m in src.read(cfg, catalog, {"ev": state} if state else None):
        if isinstance(m, RecordBatch | State):
            out.append(m)
        elif isinstance(m, Log):
            logs.append(f"{m.level} {m.message}")
    return out


def test_an_incremental_read_waits_for_an_open_writer_with_a_lower_cursor_value(
    mysql_database: dict[str, Any], mysql_conn: Any
) -> None:
    import threading

    late = _late_writer(mysql_database, mysql_conn)
    timer = threading.Timer(0.5, late.commit)
    timer.start()
    try:
        logs: list[str] = []
        messages = _read_settling(mysql_database, 30.0, None, logs)
    finally:
        timer.join()
        late.close()
    assert sorted(_values(messages, "id")) == [*range(1, 41), 1000]
    assert _states(messages)[-1]["cursor"] == "2024-01-01T00:00:40"
    assert not logs


def test_a_writer_open_past_the_settle_time_keeps_the_checkpoint(
    mysql_database: dict[str, Any], mysql_conn: Any
) -> None:
    late = _late_writer(mysql_database, mysql_conn)
    logs: list[str] = []
    try:
        first = _read_settling(mysql_database, 0.2, None, logs)
        late.commit()
    finally:
        late.close()
    assert sorted(_values(first, "id")) == list(range(1, 41))
    assert any(line.startswith("WARN") and "stayed open" in line for line in logs)
    assert _states(first)[-1]["cursor"] is None  # no checkpoint yet: the next read is whole
    second = _read_settling(mysql_database, 0.2, _states(first)[-1], logs)
    assert 1000 in _values(second, "id")
    third = _read_settling(mysql_database, 0.2, _states(second)[-1], logs)
    assert _values(third, "id") == [40]  # nothing open: the checkpoint moved on


def test_without_the_process_privilege_the_read_warns_and_still_reads(
    mysql_database: dict[str, Any], mysql_conn: Any
) -> None:
    user = f"sw_np_{uuid.uuid4().hex[:8]}"
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE ev (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL)")
        cur.execute("INSERT INTO ev SELECT seq, TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq "
                    "SECOND FROM seq_1_to_10")
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'")
        cur.execute(f"GRANT SELECT ON `{mysql_database['database']}`.* TO '{user}'@'%'")
    try:
        logs: list[str] = []
        cfg = dict(mysql_database, username=user, password="pw")
        messages = _read_settling(cfg, 1.0, None, logs)
        assert sorted(_values(messages, "id")) == list(range(1, 11))
        assert any("cannot see open transactions" in line for line in logs), logs
        assert _states(messages)[-1]["cursor"] == "2024-01-01T00:00:10"
    finally:
        with mysql_conn.cursor() as cur:
            cur.execute(f"DROP USER '{user}'@'%'")


@pytest.mark.parametrize("fast", [True, False], ids=["connectorx", "pymysql"])
def test_zero_dates_are_read_as_null(mysql_database: dict[str, Any], mysql_conn: Any,
                                     fast: bool) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")  # lets legacy zero dates in
        cur.execute("CREATE TABLE zd (id INT PRIMARY KEY, d DATE, t DATETIME(6))")
        cur.execute("INSERT INTO zd VALUES (1, '0000-00-00', '2024-02-00 10:00:00'), "
                    "(2, '2024-01-31', '2024-01-31 10:00:00.5')")
    messages = _read(mysql_database, StreamChoice("zd"), fast=fast)
    assert _values(messages, "d") == [None, dt.date(2024, 1, 31)]
    assert _values(messages, "t") == [None, dt.datetime(2024, 1, 31, 10, 0, 0, 500000)]


def test_a_boolean_other_than_0_or_1_is_rejected(mysql_database: dict[str, Any],
                                                 mysql_conn: Any) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE b (id INT PRIMARY KEY, flag BOOLEAN)")
        cur.execute("INSERT INTO b VALUES (1, 1), (2, 2)")
    with pytest.raises(RecordRejected, match="column 'flag'.*only 0 and 1"):
        _read(mysql_database, StreamChoice("b"))


def test_required_tls_fails_cleanly_on_a_server_without_it(
    mysql_database: dict[str, Any], mysql_conn: Any
) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute("SHOW VARIABLES LIKE 'have_ssl'")
        row = cur.fetchone()
    if row and row[1] == "YES":
        pytest.skip("this server offers TLS")
    result = registry.source("mysql").check(dict(mysql_database, ssl_mode="required"))
    assert not result.ok
    assert "SSL is required" in result.message


# ---- destination ----------------------------------------------------------------------
@pytest.mark.parametrize("checkpoint_rows", [500_000, 1])
def test_mysql_to_mysql_copies_every_value_type_and_identifier_exactly(
    mysql_database: dict[str, Any], mysql_conn: Any, checkpoint_rows: int
) -> None:
    _create_typed(mysql_conn)
    choice = [StreamChoice("Typed ü", destination_name="copy ü")]
    result = sync("mysql", mysql_database, "mysql", mysql_database, choice,
                  checkpoint_rows=checkpoint_rows)  # 1: every batch is a slice of a chunk
    assert result.ok, result.streams
    assert _rows(mysql_conn, "copy ü") == _rows(mysql_conn, "Typed ü")
    types = _column_types(mysql_conn, "copy ü")
    source_types = _column_types(mysql_conn, "Typed ü")
    for name in ("amount", "huge", "u64", "flag", "mood", "yr", "clock", "ts", "stamp", "bin"):
        assert types[name][0] == source_types[name][0], name
    assert types["by"][0] == "varchar(20)"


@pytest.mark.parametrize(("mode", "load_bytes"), [(D.overwrite, None), (D.append_dedup, None),
                                                 (D.overwrite, 1)])
def test_canonical_type_table_survives_a_round_trip(
    mysql_database: dict[str, Any], mode: D, load_bytes: int | None,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from sluiceway.connectors.testing import suite

    if load_bytes is not None:  # one LOAD DATA per row, from the background thread
        monkeypatch.setattr(MySQLDestination, "load_bytes", load_bytes)
        monkeypatch.setattr(MemorySource, "checkpoint_rows", 1)
    sent = type_table().drop_columns(["f64"])  # NaN/Infinity: refused, see the next test
    got = suite.round_trip(sent, "type table", "mysql", mysql_database, mysql_database, mode)
    assert comparable(got.sort_by("order")) == comparable(sent)
    assert got.schema.field("uid").type == at.UUID
    assert got.schema.field("tstz").type == at.TIMESTAMP_TZ


def test_a_uuid_that_mariadbs_uuid_type_may_refuse_survives(
    mysql_database: dict[str, Any], mysql_conn: Any, memory_dataset: str
) -> None:
    # variant bits 0b00x: older MariaDB UUID columns refuse it, so uuids live in CHAR(36)
    odd = uuid.UUID("c232ab00-9414-11ec-3000-000000000001")
    uids = pa.ExtensionArray.from_storage(at.UUID, pa.array([odd.bytes], pa.binary(16)))
    DATASETS[memory_dataset] = {"u": pa.table({"id": [1], "uid": uids})}
    assert sync("memory", {"dataset": memory_dataset}, "mysql", mysql_database).ok
    assert _column_types(mysql_conn, "u")["uid"] == ("char(36)", "sluiceway:uuid")
    assert _rows(mysql_conn, "u") == [(1, str(odd))]
    back = _read(mysql_database, StreamChoice("u"))
    assert _values(back, "uid") == [odd]


def test_nan_is_rejected_naming_stream_and_column(mysql_database: dict[str, Any],
                                                  memory_dataset: str) -> None:
    DATASETS[memory_dataset] = {"floats": pa.table({"id": [1, 2],
                                                    "x": [1.0, float("nan")]})}
    result = sync("memory", {"dataset": memory_dataset}, "mysql", mysql_database)
    assert not result.ok
    assert "stream 'floats'" in (result.streams[0].error or "")
    assert "column 'x' holds nan" in (result.streams[0].error or "")


@pytest.mark.parametrize("background", [False, True], ids=["at-checkpoint", "background"])
def test_load_with_warnings_is_rejected(mysql_database: dict[str, Any], mysql_conn: Any,
                                        memory_dataset: str, background: bool,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    if background:  # every batch is loaded by the background thread
        monkeypatch.setattr(MySQLDestination, "load_bytes", 1)
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE narrow (id INT PRIMARY KEY, s VARCHAR(3))")
    DATASETS[memory_dataset] = {"narrow": pa.table({
        "id": pa.array([1, 2], pa.int32()), "s": ["abc", "abcd"]})}
    result = sync("memory", {"dataset": memory_dataset}, "mysql", mysql_database,
                  [StreamChoice("narrow", destination_sync_mode=D.append,
                                primary_key=(("id",),))])
    assert not result.ok
    error = result.streams[0].error or ""
    assert "stream 'narrow'" in error
    assert "Data truncated for column 's'" in error
    with mysql_conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM narrow")
        assert cur.fetchone()[0] == 0  # the refused load was rolled back


def test_dedup_keeps_the_row_loaded_last_per_key(mysql_database: dict[str, Any],
                                                 mysql_conn: Any, memory_dataset: str) -> None:
    DATASETS[memory_dataset] = {"k": pa.table({"id": ["a", "A", "a", "b"],
                                               "v": [1, 2, 3, 4]})}
    choice = [StreamChoice("k", destination_sync_mode=D.append_dedup,
                           primary_key=(("id",),))]
    assert sync("memory", {"dataset": memory_dataset}, "mysql", mysql_database, choice).ok
    DATASETS[memory_dataset] = {"k": pa.table({"id": ["b", "c"], "v": [5, 6]})}
    assert sync("memory", {"dataset": memory_dataset}, "mysql", mysql_database, choice).ok
    with mysql_conn.cursor() as cur:
        cur.execute("SELECT id, v FROM k ORDER BY BINARY id")
        assert cur.fetchall() == (("A", 2), ("a", 3), ("b", 5), ("c", 6))


def test_append_adds_and_widens_columns(mysql_database: dict[str, Any], mysql_conn: Any,
                                        memory_dataset: str) -> None:
    DATASETS[memory_dataset] = {"t": pa.table({"id": pa.array([1], pa.int16())})}
    choice = [StreamChoice("t", destination_sync_mode=D.append)]
    assert sync("memory", {"dataset": memory_dataset}, "mysql", mysql_database, choice).ok
    DATASETS[memory_dataset] = {"t": pa.table({"id": pa.array([70000], pa.int32()),
                                               "u": pa.array([uuid.uuid4().bytes], pa.binary())})}
    assert sync("memory", {"dataset": memory_dataset}, "mysql", mysql_database, choice).ok
    types = _column_types(mysql_conn, "t")
    assert types["id"][0] == "int(11)"
    assert types["u"][0] == "longblob"
    assert sorted(r[0] for r in _rows(mysql_conn, "t")) == [1, 70000]


def test_overwrite_failure_leaves_previous_table_intact(
    mysql_database: dict[str, Any], mysql_conn: Any
) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, clock TIME)")
        cur.execute("INSERT INTO t SELECT seq, '12:00:00' FROM seq_1_to_100")
    assert sync("mysql", mysql_database, "mysql", mysql_database,
                [StreamChoice("t", destination_name="copy")]).ok
    with mysql_conn.cursor() as cur:  # a TIME that is a duration has no Arrow twin
        cur.execute("INSERT INTO t VALUES (101, '-01:00:00')")
    result = sync("mysql", mysql_database, "mysql", mysql_database,
                  [StreamChoice("t", destination_name="copy")])
    assert not result.ok
    assert "column 'clock'" in (result.streams[0].error or "")
    assert len(_rows(mysql_conn, "copy")) == 100


# ---- across PostgreSQL ----------------------------------------------------------------
PG_DDL = """
CREATE TABLE ev (
  id bigint PRIMARY KEY, "by" text, u uuid, n numeric(12,2), big numeric, ts timestamptz,
  t timestamp, d date, tm time, j jsonb, b bytea, arr int[], tarr text[], f float8, r real,
  bo boolean, vc varchar(10), i2 smallint);
INSERT INTO ev VALUES
 (1, 'héllo ✓', 'c232ab00-9414-11ec-3000-000000000001', 12.34, 123456789012.123456789,
  '2024-02-29 23:59:59.123456+05:30', '2001-01-01 00:00:00.000001', '1999-12-31',
  '12:34:56.654321', '{"b": 1, "a": [1, 2]}', '\\x00ff0a09', '{1,NULL,3}',
  '{"a \\"b\\"","c\\\\d"}', 1e308, 1.5, true, 'x', -3),
 (2, '', '00000000-0000-0000-0000-000000000000', -0.01, 0, '1970-01-01 00:00:00+00', NULL,
  NULL, NULL, '[]', '\\x', '{}', '{}', -0.5, NULL, false, '', 32767),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL);
"""


def _pg_rows(pg_conn: Any, table: str) -> list[dict[str, Any]]:
    """Rows as psycopg's Python values: a list read back from MySQL's JSON equals the
    array it came from; numerics compare by value."""
    cur = pg_conn.execute(f"SELECT * FROM {table} ORDER BY id")
    names = [d.name for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@pytest.mark.parametrize("mode", [D.overwrite, D.append, D.append_dedup])
def test_postgres_to_mysql_and_back_keeps_every_value(
    pg_database: dict[str, Any], pg_conn: Any, mysql_database: dict[str, Any],
    mysql_conn: Any, mode: D
) -> None:
    pg_conn.execute(PG_DDL)
    choice = [StreamChoice("ev", destination_sync_mode=mode)]
    assert sync("postgres", pg_database, "mysql", mysql_database, choice).ok
    types = _column_types(mysql_conn, "ev")
    assert types["u"] == ("char(36)", "sluiceway:uuid")  # MariaDB's UUID type refuses row 1's
    assert types["ts"] == ("datetime(6)", "sluiceway:timestamptz")
    assert types["big"][0] == "decimal(65,30)"
    assert types["arr"][1] == "sluiceway:list<int32>"
    with mysql_conn.cursor() as cur:
        cur.execute("SELECT u, ts, arr, tarr FROM ev WHERE id = 1")
        assert cur.fetchone() == ("c232ab00-9414-11ec-3000-000000000001",
                                  dt.datetime(2024, 2, 29, 18, 29, 59, 123456), "[1,null,3]",
                                  '["a \\"b\\"","c\\\\d"]')
    if mode is D.overwrite:
        pg_conn.execute("DELETE FROM ev WHERE id = 3")
    elif mode is D.append_dedup:
        pg_conn.execute("UPDATE ev SET \"by\" = 'changed' WHERE id = 2")
    if mode is not D.append:
        assert sync("postgres", pg_database, "mysql", mysql_database, choice).ok
    back = dict(pg_database, schema="back")
    assert sync("mysql", mysql_database, "postgres", back, choice).ok
    assert _pg_rows(pg_conn, "back.ev") == _pg_rows(pg_conn, "public.ev")


# ---- errors ---------------------------------------------------------------------------
def test_a_lock_wait_timeout_is_retryable(mysql_database: dict[str, Any],
                                          mysql_conn: Any) -> None:
    from sluiceway.connectors.mysql.errors import translate
    from sluiceway.connectors.mysql.source import connect

    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE l (id INT PRIMARY KEY, v INT)")
        cur.execute("INSERT INTO l VALUES (1, 0)")
        cur.execute("BEGIN")
        cur.execute("SELECT v FROM l WHERE id = 1 FOR UPDATE")
    other = connect(mysql_database)
    try:
        with other.cursor() as cur:
            cur.execute("SET SESSION innodb_lock_wait_timeout = 1")

            def update() -> None:
                with translate(mysql_database):
                    cur.execute("UPDATE l SET v = 1 WHERE id = 1")

            with pytest.raises(Retryable, match="Lock wait timeout"):
                update()
    finally:
        other.close()
        mysql_conn.rollback()


def test_a_table_dropped_after_discover_fails_the_read(mysql_database: dict[str, Any],
                                                      mysql_conn: Any) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE gone (id INT PRIMARY KEY)")
    src = MySQLSource()
    catalog = configure(src.discover(mysql_database), [StreamChoice("gone")])
    with mysql_conn.cursor() as cur:
        cur.execute("DROP TABLE gone")
    with pytest.raises(Fatal, match="'gone' no longer exists"):
        list(src.read(mysql_database, catalog, None))
