"""MySQL / MariaDB destination: Arrow batches encoded into ``LOAD DATA LOCAL INFILE`` text.

pyarrow.compute turns a batch into MySQL's escaped text, no Python object per row: backslash,
tab, newline, CR and NUL escaped, ``\\N`` for NULL (an empty string stays empty), bytes as hex
for ``UNHEX()``, fields joined by tabs, rows ended by newlines. The text goes to a temporary
file; every ``load_bytes`` of it is sent by one ``LOAD DATA LOCAL INFILE`` from a background
thread while the next batches encode, and a checkpoint loads the rest before its commit.
``LOAD DATA LOCAL`` turns bad values and duplicate keys into warnings (as IGNORE would), so
any warning fails the load with RecordRejected.

NaN and +/-Infinity have no MySQL FLOAT/DOUBLE twin: they are rejected (RecordRejected naming
stream and column), not stored as NULL. A timestamp with a time zone is stored as its UTC
time in DATETIME(6), tagged ``sluiceway:timestamptz`` (TIMESTAMP only spans 1970-2038). Text
uses a NO PAD binary collation, so keys compare as in the source ('a' <> 'A' <> 'a ').
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pymysql

from sluiceway.connectors.base import Capabilities
from sluiceway.connectors.mysql.errors import translate
from sluiceway.connectors.mysql.source import connect, load_tables
from sluiceway.connectors.mysql.spec import DESTINATION_SPEC
from sluiceway.connectors.mysql.types import (
    TAG_PREFIX,
    column_sql,
    hex_text,
    key_bytes,
    quote_ident,
    to_arrow,
    uuid_text,
)
from sluiceway.connectors.sqlbase import SEQ_COLUMN, SqlDestination, StreamTarget, staging_prefix
from sluiceway.core.errors import DataLossError, RecordRejected
from sluiceway.protocol import arrow_types as at
from sluiceway.protocol.catalog import ConfiguredStream, DestinationSyncMode, Stream
from sluiceway.protocol.spec import ConnectorSpec, validate_config

NULL_TEXT = "\\N"
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"), ("\x00", "\\0"))
_NEEDS_ESCAPE = "[\\\\\t\n\r\x00]"
_JSON_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"),
                 ("\b", "\\b"), ("\f", "\\f"))
_COLLATIONS = ("utf8mb4_0900_bin", "utf8mb4_nopad_bin", "utf8mb4_bin")
#: a batch is encoded in slices of about this many Arrow bytes (string offsets are 32-bit)
_SLICE_BYTES = 256 * 1024 * 1024


#: where each stream's committed States are recorded (see SqlDestination.save_state)
STATE_TABLE = "_sluiceway_state"


@dataclass
class _Pending:
    """Text waiting in a temporary file for one ``LOAD DATA`` into one table."""

    table: str
    stream: str
    schema: pa.Schema
    path: str
    fh: IO[bytes]
    rows: int = 0


class _Session:
    """A connection, plus one background thread running LOAD DATA while the next batches
    are encoded. Whatever uses the connection first waits for that load (:meth:`wait`)."""

    def __init__(self, conn: Any, config: dict[str, Any], collation: str) -> None:
        self.conn = conn
        self.config = config
        self.database: str = config["database"]
        self.collation = collation
        self.pending: dict[str, _Pending] = {}
        self.running: Future[None] | None = None
        self.loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mysql-load")

    def q(self, table: str) -> str:
        return f"{quote_ident(self.database)}.{quote_ident(table)}"

    def wait(self) -> None:
        """Let the LOAD running in the background finish; raise its error, if any."""
        running, self.running = self.running, None
        if running is not None:
            running.result()

    def execute(self, sql: str, args: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
        self.wait()
        with translate(self.config), self.conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())


class MySQLDestination(SqlDestination):
    name: ClassVar[str] = "mysql"
    capabilities: ClassVar[Capabilities] = Capabilities(
        ordered_load=True,
        destination_sync_modes=tuple(DestinationSyncMode))
    #: text per LOAD DATA statement; it runs in the background while the next text encodes
    load_bytes: int = 32 * 1024 * 1024

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return DESTINATION_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        session = self.connect(config)
        try:
            table = "_sluiceway_check"
            session.execute(f"DROP TABLE IF EXISTS {session.q(table)}")
            schema = pa.schema([pa.field("x", pa.int32())])
            self.create_table(session, table, schema, [], with_seq=False)
            target = StreamTarget(_check_stream(schema), table, False, schema)
            self.load(session, target, pa.record_batch([pa.array([1], pa.int32())],
                                                       schema=schema))
            self.flush(session, target)
            session.execute(f"DROP TABLE {session.q(table)}")
        finally:
            self.close(session)
        return "connected; can create tables and LOAD DATA LOCAL INFILE"

    # ---- hooks -------------------------------------------------------------------------
    def connect(self, config: dict[str, Any]) -> _Session:
        cfg = validate_config(DESTINATION_SPEC, config)
        conn = connect(cfg, local_infile=True)
        session = _Session(conn, cfg, _COLLATIONS[-1])
        try:
            session.execute("SET SESSION sql_mode = "
                            "REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')")
            found = {r[0] for r in session.execute(
                "SELECT COLLATION_NAME FROM information_schema.COLLATIONS "
                "WHERE COLLATION_NAME IN (%s, %s)", _COLLATIONS[:2])}
            session.collation = next(c for c in _COLLATIONS if c in found or c == _COLLATIONS[-1])
            # DDL commits on its own in MySQL, so the table exists before any load begins
            session.execute(f"CREATE TABLE IF NOT EXISTS {session.q(STATE_TABLE)} (`key` "
                            f"VARCHAR(700) COLLATE {session.collation} PRIMARY KEY, "
                            "state LONGTEXT NOT NULL) ENGINE=InnoDB")
        except BaseException:
            conn.close()
            raise
        return session

    def close(self, session: _Session) -> None:
        with contextlib.suppress(Exception):
            session.wait()
        session.loader.shutdown(wait=True)
        for pending in session.pending.values():
            _discard(pending)
        session.pending.clear()
        with contextlib.suppress(pymysql.err.Error):
            session.conn.rollback()
        with contextlib.suppress(pymysql.err.Error):
            session.conn.close()

    def table_schema(self, session: _Session, table: str) -> pa.Schema | None:
        session.wait()
        with translate(session.config):
            info = load_tables(session.conn, session.database, table).get(table)
        if info is None:
            return None
        return pa.schema([to_arrow(c, lists=True) for c in info.columns if c.name != SEQ_COLUMN])

    def list_tables(self, session: _Session, prefix: str) -> list[str]:
        rows = session.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
            "AND LEFT(TABLE_NAME, CHAR_LENGTH(%s)) = %s", (session.database, prefix, prefix))
        return [r[0] for r in rows if str(r[0]).startswith(prefix)]

    def create_table(self, session: _Session, table: str, schema: pa.Schema,
                     primary_key: list[str], *, with_seq: bool) -> None:
        sizes = key_bytes(schema, primary_key)
        cols = [_column_def(f, f.name in primary_key, sizes.get(f.name)) for f in schema]
        if with_seq:
            cols.append(f"{quote_ident(SEQ_COLUMN)} BIGINT NOT NULL AUTO_INCREMENT")
            cols.append(f"PRIMARY KEY ({quote_ident(SEQ_COLUMN)})")
        elif primary_key:
            cols.append("PRIMARY KEY (" + ", ".join(quote_ident(c) for c in primary_key) + ")")
        session.execute(f"CREATE TABLE {session.q(table)} ({', '.join(cols)}) ENGINE=InnoDB "
                        f"DEFAULT CHARSET=utf8mb4 COLLATE={session.collation}")

    def drop_table(self, session: _Session, table: str) -> None:
        session.execute(f"DROP TABLE IF EXISTS {session.q(table)}")

    def add_column(self, session: _Session, table: str, field: pa.Field) -> None:
        session.execute(f"ALTER TABLE {session.q(table)} ADD COLUMN "
                        f"{_column_def(field, False, None)}")

    def widen_column(self, session: _Session, table: str, field: pa.Field,
                     new_type: pa.DataType) -> None:
        rows = session.execute(
            "SELECT IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
            "AND TABLE_NAME = %s AND COLUMN_NAME = %s", (session.database, table, field.name))
        not_null = bool(rows) and rows[0][0] == "NO"
        wider = pa.field(field.name, new_type, field.nullable)
        session.execute(f"ALTER TABLE {session.q(table)} MODIFY COLUMN "
                        f"{_column_def(wider, not_null, None)}")

    def load(self, session: _Session, target: StreamTarget, batch: pa.RecordBatch) -> None:
        pending = session.pending.get(target.table)
        if pending is None:
            fd, path = tempfile.mkstemp(prefix="sluiceway-mysql-", suffix=".tsv")
            pending = _Pending(target.table, target.stream.name, batch.schema, path,
                               os.fdopen(fd, "wb"))
            session.pending[target.table] = pending
        step = max(1, int(batch.num_rows * _SLICE_BYTES / max(batch.nbytes, 1)))
        for start in range(0, batch.num_rows, step):
            part = batch.slice(start, step)
            pending.fh.write(encode(target.stream.name, part))
            pending.rows += part.num_rows
        if pending.fh.tell() >= self.load_bytes:  # load it while the next batches encode
            del session.pending[target.table]
            pending.fh.close()
            session.wait()
            session.running = session.loader.submit(_load_file, session, pending)

    def flush(self, session: _Session, target: StreamTarget) -> None:
        pending = session.pending.pop(target.table, None)
        session.wait()
        if pending is not None:
            pending.fh.close()
            if pending.rows:
                _load_file(session, pending)
            else:
                _discard(pending)

    def commit(self, session: _Session) -> None:
        session.wait()
        with translate(session.config):
            session.conn.commit()

    def swap(self, session: _Session, staging: str, target: str, primary_key: list[str]) -> None:
        old = staging_prefix(target) + "old"
        session.execute(f"DROP TABLE IF EXISTS {session.q(old)}")
        if self.table_schema(session, target) is None:
            session.execute(f"RENAME TABLE {session.q(staging)} TO {session.q(target)}")
            return
        # one RENAME of several tables is atomic: readers see the old table or the new one
        session.execute(f"RENAME TABLE {session.q(target)} TO {session.q(old)}, "
                        f"{session.q(staging)} TO {session.q(target)}")
        session.execute(f"DROP TABLE {session.q(old)}")

    def save_state(self, session: _Session, key: str, state: str) -> None:
        session.execute(f"INSERT INTO {session.q(STATE_TABLE)} (`key`, state) VALUES (%s, %s) "
                        "ON DUPLICATE KEY UPDATE state = VALUES(state)", (key, state))

    def load_state(self, session: _Session, key: str) -> str | None:
        rows = session.execute(f"SELECT state FROM {session.q(STATE_TABLE)} "
                               "WHERE `key` = %s", (key,))
        return str(rows[0][0]) if rows else None

    def clear_states(self, session: _Session, prefix: str) -> None:
        session.execute(f"DELETE FROM {session.q(STATE_TABLE)} "
                        "WHERE LEFT(`key`, CHAR_LENGTH(%s)) = %s", (prefix, prefix))

    def merge(self, session: _Session, staging: str, target: str, columns: list[str],
              primary_key: list[str]) -> None:
        cols = ", ".join(quote_ident(c) for c in columns)
        picked = ", ".join(f"s.{quote_ident(c)}" for c in columns)
        keys = ", ".join(quote_ident(c) for c in primary_key)
        match = " AND ".join(f"t.{quote_ident(c)} = s.{quote_ident(c)}" for c in primary_key)
        seq = quote_ident(SEQ_COLUMN)
        session.execute(f"DELETE t FROM {session.q(target)} t "
                        f"JOIN {session.q(staging)} s ON {match}")
        session.execute(
            f"INSERT INTO {session.q(target)} ({cols}) SELECT {picked} FROM {session.q(staging)} s "
            f"JOIN (SELECT MAX({seq}) AS last_seq FROM {session.q(staging)} GROUP BY {keys}) m "
            f"ON s.{seq} = m.last_seq")


def _check_stream(schema: pa.Schema) -> ConfiguredStream:
    return ConfiguredStream(Stream("_sluiceway_check", schema))


def _column_def(f: pa.Field, in_key: bool, size: int | None) -> str:
    sql, tag = column_sql(f, key_bytes=size if in_key else None)
    out = f"{quote_ident(f.name)} {sql} {'NOT NULL' if in_key else 'NULL'}"
    if tag:
        out += " COMMENT '" + (TAG_PREFIX + tag).replace("\\", "\\\\").replace("'", "''") + "'"
    return out


def _load_file(session: _Session, pending: _Pending) -> None:
    """LOAD DATA one file (then delete it); any warning refuses the load."""
    targets, sets = [], []
    for i, f in enumerate(pending.schema):
        if _is_binary(f.type):
            targets.append(f"@v{i}")
            sets.append(f"{quote_ident(f.name)} = UNHEX(@v{i})")
        else:
            targets.append(quote_ident(f.name))
    statement = (
        f"LOAD DATA LOCAL INFILE {session.conn.escape(pending.path)} INTO TABLE "
        f"{session.q(pending.table)} CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' "
        f"ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({', '.join(targets)})"
        + (" SET " + ", ".join(sets) if sets else ""))
    try:
        with translate(session.config), session.conn.cursor() as cur:
            with session.conn.sending(pending.path):
                cur.execute(statement)
            loaded, warnings = cur.rowcount, cur.warning_count
            if warnings:
                cur.execute("SHOW WARNINGS LIMIT 5")
                shown = "; ".join(f"{r[0]} {r[1]}: {r[2]}" for r in cur.fetchall())
                raise RecordRejected(
                    f"loading {pending.rows} rows into {pending.table!r} raised {warnings} "
                    f"warning(s), so the load is refused: {shown}",
                    location=f"stream {pending.stream!r}")
    finally:
        _discard(pending)
    if loaded != pending.rows:
        raise DataLossError(f"stream {pending.stream!r}: LOAD DATA into {pending.table!r} "
                            f"stored {loaded} of {pending.rows} rows")


def _discard(pending: _Pending) -> None:
    pending.fh.close()
    with contextlib.suppress(OSError):
        os.unlink(pending.path)


def _is_binary(t: pa.DataType) -> bool:
    return bool(pa.types.is_binary(t) or pa.types.is_large_binary(t)
                or pa.types.is_fixed_size_binary(t)) and not at.is_uuid(t)


# ---- Arrow -> LOAD DATA text -----------------------------------------------------------
def encode(stream: str, batch: pa.RecordBatch) -> memoryview:
    """The batch as LOAD DATA text: tab-separated escaped fields, one line per row."""
    cols = [_text(stream, f, col) for f, col in zip(batch.schema, batch.columns, strict=True)]
    rows = pc.binary_join_element_wise(*cols, "\t")
    rows = pc.binary_join_element_wise(rows, pa.scalar(""), "\n")
    end = pc.sum(pc.binary_length(rows)).as_py() or 0
    return memoryview(rows.buffers()[2])[:end]


def _text(stream: str, f: pa.Field, col: pa.Array) -> pa.Array:
    text = _value_text(stream, f.name, col)
    return pc.fill_null(text, NULL_TEXT)


def _value_text(stream: str, name: str, col: pa.Array, *, escape: bool = True) -> pa.Array:
    """Each value as text, LOAD DATA escaped unless ``escape`` is False."""
    t = col.type
    esc = _escape if escape else (lambda a: a)
    if at.is_uuid(t):
        return uuid_text(col)
    if isinstance(t, pa.BaseExtensionType):
        return esc(pc.cast(col.storage, pa.string()))
    if pa.types.is_dictionary(t):
        return _value_text(stream, name, col.dictionary_decode(), escape=escape)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return esc(_json_list(stream, name, col))
    if _is_binary(t):
        return hex_text(col)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return esc(pc.cast(col, pa.string()))
    return _scalar_text(stream, name, col)


def _scalar_text(stream: str, name: str, col: pa.Array) -> pa.Array:
    """Text of numbers, booleans, dates and times: nothing in it needs escaping."""
    t = col.type
    if pa.types.is_boolean(t):
        col = pc.cast(col, pa.int8())
    elif pa.types.is_floating(t):
        _reject_non_finite(stream, name, col)
        col = pc.cast(col, pa.float64())  # float32 printed through float64 stays exact
    elif pa.types.is_timestamp(t):
        col = _cast(stream, name, col, pa.timestamp("us"))  # a zoned value: its UTC time
    elif pa.types.is_time(t):
        col = _cast(stream, name, col, at.TIME)
    elif pa.types.is_date64(t):
        col = pc.cast(col, pa.date32())
    elif pa.types.is_null(t):
        return pa.nulls(len(col), pa.string())
    return _cast(stream, name, col, pa.string())


def _cast(stream: str, name: str, col: pa.Array, t: pa.DataType) -> pa.Array:
    try:
        return pc.cast(col, t)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise RecordRejected(f"column {name!r}: cannot write {col.type} as MySQL text: {exc}",
                             location=f"stream {stream!r}") from exc


def _reject_non_finite(stream: str, name: str, col: pa.Array) -> None:
    bad = pc.or_(pc.is_nan(col), pc.is_inf(col))
    if pc.any(bad).as_py():
        where = pc.index(bad, True).as_py()
        raise RecordRejected(
            f"column {name!r} holds {col[where].as_py()} (row {where} of a batch), which "
            "MySQL's FLOAT/DOUBLE cannot store", location=f"stream {stream!r}")


def _escape(text: pa.Array) -> pa.Array:
    if not pc.any(pc.match_substring_regex(text, _NEEDS_ESCAPE)).as_py():
        return text
    for raw, escaped in _ESCAPES:
        text = pc.replace_substring(text, raw, escaped)
    return text


def _json_list(stream: str, name: str, col: pa.Array) -> pa.Array:
    """Arrow lists as JSON array text (stored in a JSON column)."""
    if pa.types.is_large_list(col.type):
        col = pc.cast(col, pa.list_(col.type.value_type))
    if col.offset:  # a sliced batch: rebuild from offset 0 (ListArray takes no sliced mask)
        col = pa.concat_arrays([col])
    offsets = pa.Array.from_buffers(pa.int32(), len(col) + 1, [None, col.buffers()[1]],
                                    offset=col.offset)
    items = pc.fill_null(_json_scalar(stream, name, col.values), "null")
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, items, mask=pc.is_null(col)), ",")
    return pc.binary_join_element_wise(pa.scalar("["), joined, pa.scalar("]"), "")


def _json_scalar(stream: str, name: str, values: pa.Array) -> pa.Array:
    t = values.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _json_list(stream, name, values)
    if at.is_json(t):
        return pc.cast(values.storage, pa.string())
    if pa.types.is_boolean(t):
        return pc.cast(values, pa.string())
    if pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_floating(t):
        return _scalar_text(stream, name, values)
    text = _value_text(stream, name, values, escape=False)
    for raw, escaped in _JSON_ESCAPES:
        text = pc.replace_substring(text, raw, escaped)
    if pc.any(pc.match_substring_regex(text, "[\\x00-\\x1f]")).as_py():
        for code in range(0x20):
            text = pc.replace_substring(text, chr(code), f"\\u{code:04x}")
    return pc.binary_join_element_wise(pa.scalar('"'), text, pa.scalar('"'), "")
