"""MySQL / MariaDB source: catalog from information_schema, rows into Arrow.

Two readers make the same Arrow batches (see ``types.select_expr`` / ``types.conform``):

* connectorx (the default on unencrypted sessions): the binary protocol decoded in Rust,
  no Python object per row. Each call is its own connection and statement, and connectorx
  buffers a whole result, so a table is read in keyset chunks (``WHERE key > last ORDER BY
  key LIMIT n``, sized to about ``chunk_bytes``) on its primary key (else a NOT NULL unique
  key). Each chunk is one consistent read; the table as a whole is not one snapshot, but
  every row that exists for the whole read is read exactly once. A keyless base table up
  to ``max_unchunked_bytes`` is read in one statement.
* PyMySQL, unbuffered (TLS sessions, views, large keyless tables, and an incremental cursor
  without an index): one ``START TRANSACTION WITH CONSISTENT SNAPSHOT`` and one streaming
  statement, held in memory one batch at a time. Slower (Python objects per row).

Full refresh checkpoints ``{"after": [key values]}`` every ``checkpoint_rows`` rows, so a
stopped read resumes after the last committed key; a keyless table is one pass.

With ``parallel_readers`` set, a full refresh on a single-column integer key reads key
ranges at once in one consistent snapshot (unset: one connectorx stream, see
``auto_readers``): a coordinating session takes ``FLUSH TABLES t WITH READ LOCK`` (the
RELOAD and LOCK TABLES privileges; writers to that table wait), every reader starts ``START
TRANSACTION WITH CONSISTENT SNAPSHOT``, then the lock is released. Readers stream through
PyMySQL (connectorx cannot hold a transaction), so their gain is the server's work spread
over cores; unset ``parallel_readers`` keeps the faster connectorx path above.
Without the privileges (or when the lock waits past ``lock_seconds``) one reader reads, and
the log says why. Checkpoints name the key ranges still to read (``connectors.partitioned``).

Incremental reads ``cursor >= last`` ordered by the cursor (rows sharing the checkpoint's
cursor value are read again rather than lost) and skips rows whose cursor is NULL; it settles
first (see ``MySQLSource._settle``), so a row committed late below the checkpoint is not lost
either.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

import pyarrow as pa
import pymysql
import pymysql.converters
import pymysql.cursors

from sluiceway.connectors import network
from sluiceway.connectors.base import Capabilities, Settled, Source
from sluiceway.connectors.mysql.errors import translate
from sluiceway.connectors.mysql.infile import GuardedConnection
from sluiceway.connectors.mysql.spec import (
    SOURCE_SPEC,
    checked_addresses,
    connectorx_uri,
    pymysql_kwargs,
)
from sluiceway.connectors.mysql.types import (
    MyColumn,
    conform,
    literal,
    quote_ident,
    select_expr,
    text_expr,
    to_arrow,
    wire_is_binary,
)
from sluiceway.connectors.partitioned import (
    Fan,
    KeyRange,
    available_cores,
    default_readers,
    fan_in,
    ranges_from_state,
    split,
)
from sluiceway.core.errors import Fatal
from sluiceway.protocol.catalog import (
    Catalog,
    ConfiguredStream,
    Stream,
    SyncMode,
)
from sluiceway.protocol.messages import (
    Estimate,
    Log,
    Message,
    RecordBatch,
    State,
    state_value,
)
from sluiceway.protocol.spec import ConnectorSpec, validate_config

_ONLY = " AND TABLE_NAME = %s"
_TABLES_SQL = ("SELECT TABLE_NAME, TABLE_TYPE, COALESCE(DATA_LENGTH, 0), "
               "COALESCE(AVG_ROW_LENGTH, 0) FROM information_schema.TABLES "
               "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE IN ('BASE TABLE', 'VIEW', "
               "'SYSTEM VERSIONED') AND TABLE_NAME <> '_sluiceway_state' "
               "AND LEFT(TABLE_NAME, 10) <> '_sw_stage_'")
_COLUMNS_SQL = ("SELECT TABLE_NAME, COLUMN_NAME, LOWER(DATA_TYPE), LOWER(COLUMN_TYPE), "
                "IS_NULLABLE, NUMERIC_PRECISION, NUMERIC_SCALE, COLUMN_COMMENT "
                "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s{only} "
                "ORDER BY TABLE_NAME, ORDINAL_POSITION")
_INDEXES_SQL = ("SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, NULLABLE "
                "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s{only} "
                "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX")
_CHECKS_SQL = ("SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
               "WHERE CONSTRAINT_SCHEMA = %s{only}")
_JSON_CHECK = re.compile(r"json_valid\(`((?:[^`]|``)+)`\)", re.IGNORECASE)
#: pymysql converters without decoders: every value arrives as its text (or bytes)
_ENCODERS = {k: v for k, v in pymysql.converters.conversions.items() if not isinstance(k, int)}
log = logging.getLogger(__name__)

_SESSION = ["SET NAMES utf8mb4", "SET time_zone = '+00:00'"]


@dataclass
class TableInfo:
    name: str
    kind: str
    data_length: int = 0
    avg_row_length: int = 0
    columns: list[MyColumn] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)
    #: a key to read in order and chunk by: the primary key, else a NOT NULL unique key
    chunk_key: list[str] = field(default_factory=list)
    #: columns that lead some index (an ordered scan on them needs no sort)
    leading: set[str] = field(default_factory=set)

    def column(self, name: str) -> MyColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise Fatal(f"column {name!r} no longer exists in table {self.name!r}; "
                    "discover the source again")


def connect(cfg: dict[str, Any], **extra: Any) -> GuardedConnection:
    """A connection to the first checked address of the host that takes it (the next is
    tried when one refuses or cannot be reached). The handshake has a read timeout;
    afterwards reads wait as long as the policy says (for ever in a sync: a statement
    may be silent for long). It refuses the server's LOCAL INFILE requests but the one
    its own load offers (see infile)."""
    addresses = checked_addresses(cfg)
    with translate(cfg, connecting=True):
        for i, address in enumerate(addresses):
            try:
                conn = GuardedConnection(**pymysql_kwargs(cfg, address), **extra)
            except pymysql.err.OperationalError as exc:
                if i + 1 < len(addresses) and exc.args[:1] == (2003,):
                    continue
                raise
            conn._read_timeout = network.policy().read_timeout  # no public setter
            return conn
    raise AssertionError("check_target returns at least one address")


def load_tables(conn: pymysql.Connection[Any], database: str,
                table: str | None = None) -> dict[str, TableInfo]:
    """Tables and views of ``database`` (or just ``table``) with columns and keys."""
    args: tuple[str, ...] = (database, table) if table is not None else (database,)
    only = _ONLY if table is not None else ""
    cur = conn.cursor()
    cur.execute(_TABLES_SQL + only, args)
    tables = {r[0]: TableInfo(r[0], r[1], int(r[2]), int(r[3])) for r in cur.fetchall()}
    json_cols: set[tuple[str, str]] = set()
    if "mariadb" in str(conn.get_server_info()).lower():  # its JSON is a checked LONGTEXT
        cur.execute(_CHECKS_SQL.format(only=only), args)
        for tname, clause in cur.fetchall():
            if m := _JSON_CHECK.fullmatch(str(clause).strip()):
                json_cols.add((tname, m.group(1).replace("``", "`")))
    cur.execute(_COLUMNS_SQL.format(only=only), args)
    for tname, name, dtype, ctype, nullable, prec, scale, comment in cur.fetchall():
        if tname in tables:
            tables[tname].columns.append(MyColumn(
                name, dtype, ctype, nullable == "YES", None if prec is None else int(prec),
                None if scale is None else int(scale), comment or "",
                (tname, name) in json_cols))
    cur.execute(_INDEXES_SQL.format(only=only), args)
    indexes: dict[tuple[str, str], list[tuple[bool, str, bool]]] = {}
    for tname, index, non_unique, col, sub_part, nullable in cur.fetchall():
        indexes.setdefault((tname, index), []).append(
            (not int(non_unique), col, sub_part is None and not nullable))
    cur.close()
    for (tname, index), cols in sorted(indexes.items()):
        info = tables.get(tname)
        if info is None:
            continue
        info.leading.add(cols[0][1])
        names = [c for _, c, _ in cols]
        # an ENUM/SET sorts by its list but compares as text: no keyset over it
        orderable = not any(c.data_type in ("enum", "set") for c in info.columns
                            if c.name in names)
        if index == "PRIMARY":
            info.primary_key = names
            info.chunk_key = names if orderable else []
        elif not info.chunk_key and orderable and all(u and whole for u, _, whole in cols):
            info.chunk_key = names
    return tables


def is_encrypted(conn: pymysql.Connection[Any]) -> bool:
    cur = conn.cursor()
    cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    row = cur.fetchone()
    cur.close()
    return bool(row and row[1])


class MySQLSource(Source):
    name: ClassVar[str] = "mysql"
    capabilities: ClassVar[Capabilities] = Capabilities(
        incremental=True, resumable_full_refresh=True, partitioned_reads=True)
    #: rows between two checkpoints (and the most rows one chunk holds)
    checkpoint_rows: int = 500_000
    #: Arrow bytes a chunk aims at (its row count follows the table's row size)
    chunk_bytes: int = 8 * 1024 * 1024
    #: a keyless base table up to this size is read by connectorx in one statement
    max_unchunked_bytes: int = 256 * 1024 * 1024
    #: False reads everything through PyMySQL in one snapshot (slower)
    use_connectorx: bool = True
    #: how long an incremental read waits for open writing transactions (see _settle);
    #: shorter than PostgreSQL's, as InnoDB's writers may be writing to any table
    settle_seconds: float = 3.0
    #: key ranges per reader, and the fewest rows a range is cut to (see PostgresSource)
    ranges_per_reader: int = 4
    min_range_rows: int = 100_000
    #: off: with ``parallel_readers`` unset one connectorx stream reads. The readers stream
    #: through PyMySQL in threads (one core's worth of Python between them): a 1,000,000
    #: row table took 10 s with 2 readers against 1.1-1.4 s for connectorx alone. When
    #: on, a table of ``auto_min_rows`` gets a reader per core.
    auto_readers: bool = False
    auto_min_rows: int = 1_500_000
    #: how long the read lock that lines up the readers' snapshots may wait for writers
    lock_seconds: int = 10

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return SOURCE_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        cfg = validate_config(SOURCE_SPEC, config)
        conn = connect(cfg)
        try:
            with translate(cfg):
                cur = conn.cursor()
                cur.execute("SELECT 1")
                cur.fetchall()
                tls = is_encrypted(conn)
        finally:
            conn.close()
        return "connected" + (" (TLS)" if tls else "")

    def discover(self, config: dict[str, Any]) -> Catalog:
        cfg = validate_config(SOURCE_SPEC, config)
        conn = connect(cfg)
        try:
            with translate(cfg):
                tables = load_tables(conn, cfg["database"])
        finally:
            conn.close()
        return Catalog(tuple(
            Stream(name=t.name, namespace=cfg["database"],
                   schema=pa.schema([to_arrow(c) for c in t.columns]),
                   supported_sync_modes=(SyncMode.full_refresh, SyncMode.incremental),
                   source_defined_primary_key=tuple((k,) for k in t.primary_key))
            for t in tables.values()))

    def read_stream(self, cfg: dict[str, Any], cs: ConfiguredStream,
                     state: dict[str, Any] | None) -> Iterator[Message]:
        if cs.sync_mode is SyncMode.full_refresh and state and state.get("complete"):
            yield State(cs.name, state)
            return
        conn = connect(cfg)
        try:
            with translate(cfg):
                info = load_tables(conn, cfg["database"], cs.name).get(cs.name)
                tls = is_encrypted(conn)
        finally:
            conn.close()
        if info is None:
            raise Fatal(f"table {cs.name!r} no longer exists in database {cfg['database']!r}")
        reader = _Reader(self, cfg, cs, info, fast=self.use_connectorx and not tls)
        if cs.sync_mode is SyncMode.incremental:
            settled = yield from self._settle(cfg, cs, info, reader.table)
            yield from self._incremental(reader, cs, info, state, settled)
        elif info.chunk_key and set(info.chunk_key) <= set(cs.stream.schema.names) and (
                cfg.get("parallel_readers") or "ranges" in (state or {})
                or self._readers(cfg, info) > 1) and (
                "after" not in (state or {})):  # a resume goes on as it began
            yield from self._key_ranges(reader, cs, info, state, self._readers(cfg, info))
        else:
            yield from self._full_refresh(reader, cs, info, state)

    def _readers(self, cfg: dict[str, Any], info: TableInfo) -> int:
        """``parallel_readers``, else a reader per core for a table of ``auto_min_rows``
        rows on a single-column integer key (one when the destination loads best in key
        order)."""
        if cfg.get("parallel_readers"):
            return int(cfg["parallel_readers"])
        key = info.chunk_key
        if (not self.auto_readers or available_cores() < 2 or len(key) != 1
                or "int" not in info.column(key[0]).data_type):
            return 1
        rows = info.data_length // info.avg_row_length if info.avg_row_length else 0
        return default_readers(rows, self.auto_min_rows)

    def _key_ranges(self, reader: _Reader, cs: ConfiguredStream, info: TableInfo,
                    state: dict[str, Any] | None, wanted: int) -> Iterator[Message]:
        """Full refresh in key ranges, by several readers in one consistent snapshot."""
        cfg, key = reader.cfg, info.chunk_key
        ranges = ranges_from_state(cs.name, key, state)
        coordinator = connect(cfg)
        sessions: list[pymysql.Connection[Any]] = []
        try:
            with translate(cfg):
                cur = coordinator.cursor()
                if ranges is None:
                    rows = info.data_length // info.avg_row_length if info.avg_row_length else 0
                    if rows:
                        yield Estimate(cs.name, rows)
                    count = max(1, min(wanted * self.ranges_per_reader,
                                       rows // self.min_range_rows))
                    ranges = split(self._bounds(cur, reader.table, info, count))
                readers, why = min(wanted, len(ranges)), ""
                if readers > 1:
                    why = self._lock(cur, reader.table)
                    readers = 1 if why else readers
                for _ in range(readers):
                    sessions.append(reader.session())
                if readers > 1:
                    cur.execute("UNLOCK TABLES")
                cur.close()
        except BaseException:
            for session in sessions:
                session.close()
            raise
        finally:
            coordinator.close()
        if why:
            yield Log("WARN", f"stream {cs.name!r}: one reader reads {reader.table} ({why})")
        yield Log("INFO", f"stream {cs.name!r}: {len(ranges)} key range(s) of "
                  f"{reader.table}, {readers} reader(s) in one snapshot")

        def close(session: pymysql.Connection[Any]) -> None:
            try:
                session.close()
            except pymysql.err.Error:  # already closed by the server
                pass

        fan = Fan(sessions.pop, reader.range_batches, close)
        yield from fan_in(cs.name, key, ranges, fan, readers, self.checkpoint_rows)

    def _bounds(self, cur: Any, table: str, info: TableInfo, count: int) -> list[list[Any]]:
        """Cuts of an integer key's span into ``count`` ranges (other keys: none)."""
        key = info.chunk_key
        if count <= 1 or len(key) != 1 or "int" not in info.column(key[0]).data_type:
            return []
        col = quote_ident(key[0])
        cur.execute(f"SELECT MIN({col}), MAX({col}) FROM {table}")
        lo, hi = cur.fetchone()
        if lo is None or int(hi) <= int(lo):
            return []
        step = (int(hi) - int(lo)) / count
        return [[c] for c in sorted({int(lo) + int(step * i) for i in range(1, count)})
                if int(lo) <= c < int(hi)]

    def _lock(self, cur: Any, table: str) -> str:
        """Hold writers to ``table`` off while the readers' snapshots begin; "" once held,
        else why not (the readers' snapshots could differ, so one reader reads)."""
        cur.execute(f"SET SESSION lock_wait_timeout = {int(self.lock_seconds)}")
        try:
            cur.execute(f"FLUSH TABLES {table} WITH READ LOCK")
        except pymysql.err.MySQLError as exc:
            if exc.args[:1] in ((1227,), (1142,), (1044,), (1045,)):  # access denied
                return ("lining up several readers' snapshots needs the RELOAD and LOCK "
                        f"TABLES privileges: {exc.args[-1]}")
            if exc.args[:1] == (1205,):  # lock wait timeout
                return (f"a writer held {table} over {self.lock_seconds}s, so several "
                        "readers' snapshots could not be lined up")
            raise
        return ""

    def _full_refresh(self, reader: _Reader, cs: ConfiguredStream, info: TableInfo,
                      state: dict[str, Any] | None) -> Iterator[Message]:
        key = info.chunk_key
        if state and "ranges" in state:  # read without it, they would come twice
            raise Fatal(f"stream {cs.name!r}: the saved position names ranges of key "
                        f"{state.get('key')!r}, which the table no longer offers; reset the "
                        "stream's state")
        after = (state or {}).get("after")
        if after is not None and len(after) != len(key):
            raise Fatal(f"stream {cs.name!r}: the saved position {after!r} does not match the "
                        f"table's key {key!r}; reset the stream's state")
        if info.data_length > 0 and info.avg_row_length > 0:
            yield Estimate(cs.name, info.data_length // info.avg_row_length)
        rows = 0
        for batch, last in reader.scan([], key, after, chunkable=bool(key)):
            yield RecordBatch(cs.name, batch)
            rows += batch.num_rows
            if key and rows >= self.checkpoint_rows:
                rows = 0
                yield State(cs.name, {"after": last})
        yield State(cs.name, {"complete": True})

    def _settle(self, cfg: dict[str, Any], cs: ConfiguredStream, info: TableInfo,
                table: str) -> Generator[Message, None, Settled]:
        """Note the cursor's maximum, then wait for the transactions writing at that moment:
        once they end, every row whose cursor lies below the maximum is committed or gone,
        and the checkpoint never passes it (rows committed during the read come again next
        sync, none is lost). InnoDB does not say which table a transaction writes, so this
        waits for every writing transaction; one open past ``settle_seconds`` keeps the
        previous checkpoint. The maximum comes as text."""
        cursor = cs.cursor
        assert cursor is not None
        col = quote_ident(cursor)
        conn = connect(cfg)
        try:
            with translate(cfg):
                cur = conn.cursor()
                cur.execute(f"SELECT {text_expr(info.column(cursor))} FROM {table} WHERE {col} "
                            f"IS NOT NULL ORDER BY {table}.{col} DESC LIMIT 1")
                row = cur.fetchone()
                top = None if row is None else row[0]
                try:
                    cur.execute("SELECT trx_id FROM information_schema.INNODB_TRX "
                                "WHERE trx_rows_modified > 0 "
                                "AND trx_mysql_thread_id <> CONNECTION_ID()")
                except pymysql.err.MySQLError as exc:
                    if exc.args[:1] not in ((1227,), (1142,), (1044,)):  # access denied
                        raise
                    yield Log("WARN", f"stream {cs.name!r}: cannot see open transactions "
                              f"({exc.args[-1]}); a row committed during this read with a "
                              "cursor value below the checkpoint would be missed")
                    return Settled(top, stay=top is None)
                writers = {r[0] for r in cur.fetchall()}
                deadline = time.monotonic() + self.settle_seconds
                while writers:
                    cur.execute("SELECT trx_id FROM information_schema.INNODB_TRX")
                    writers &= {r[0] for r in cur.fetchall()}
                    if writers and time.monotonic() >= deadline:
                        yield Log("WARN", f"stream {cs.name!r}: {len(writers)} writing "
                                  f"transaction(s) stayed open over {self.settle_seconds:g}s; "
                                  "rows they commit later may hold cursor values below this "
                                  "read's, so the checkpoint stays where it was and the next "
                                  "sync reads them again")
                        return Settled(None, stay=True)
                    if writers:
                        # InnoDB refreshes what INNODB_TRX shows only when it was last read
                        # over 0.1 s ago: polling faster would keep seeing the same rows
                        time.sleep(0.15)
                return Settled(top, stay=top is None)
        finally:
            conn.close()

    def _incremental(self, reader: _Reader, cs: ConfiguredStream, info: TableInfo,
                     state: dict[str, Any] | None, settled: Settled) -> Iterator[Message]:
        cursor = cs.cursor
        assert cursor is not None
        col = info.column(cursor)
        last = (state or {}).get("cursor")
        where = [f"{quote_ident(cursor)} IS NOT NULL"]
        if last is not None:
            where.append(f"{quote_ident(cursor)} >= {_literal(cs.name, col, last)}")
        # chunks need an index on the cursor; InnoDB's secondary indexes end in the primary key
        chunkable = (bool(info.chunk_key) and info.chunk_key == info.primary_key
                     and cursor in info.leading and col.data_type not in ("enum", "set"))
        key = [cursor] + ([k for k in info.primary_key if k != cursor] if chunkable else [])
        rows = 0
        for extra, advance in settled.ranges(quote_ident(cursor),
                                             lambda top: _literal(cs.name, col, top)):
            conds = [*where, extra] if extra else where
            for batch, last_key in reader.scan(conds, key, None, chunkable=chunkable):
                yield RecordBatch(cs.name, batch)
                if advance:
                    last = last_key[0]
                rows += batch.num_rows
                if rows >= self.checkpoint_rows:
                    rows = 0
                    yield State(cs.name, {"cursor": last, "cursor_field": cursor})
        yield State(cs.name, {"cursor": last, "cursor_field": cursor})


def _literal(stream: str, col: MyColumn, value: Any) -> str:
    try:
        return literal(col, value)
    except (TypeError, ValueError) as exc:
        raise Fatal(f"stream {stream!r}: saved value {value!r} of column {col.name!r} is not "
                    f"a {col.column_type}: {exc}") from exc


class _Reader:
    """Reads one stream's rows in key order, through connectorx or PyMySQL."""

    def __init__(self, source: MySQLSource, cfg: dict[str, Any], cs: ConfiguredStream,
                 info: TableInfo, *, fast: bool) -> None:
        self.source, self.cfg, self.cs, self.info, self.fast = source, cfg, cs, info, fast
        self.table = f"{quote_ident(cfg['database'])}.{quote_ident(info.name)}"
        #: whether connectorx statements carry the zero-date guard (set on the first refusal)
        self.guard_dates = False

    def scan(self, where: list[str], key: list[str], after: list[Any] | None, *,
             chunkable: bool) -> Iterator[tuple[pa.RecordBatch, list[Any]]]:
        """Batches in ``key`` order (after ``after``) with the key values of their last row."""
        schema = self.cs.stream.schema
        extra = [k for k in key if k not in schema.names]
        fields = [*schema, *(to_arrow(self.info.column(k)) for k in extra)]
        read_schema = pa.schema(fields, metadata=schema.metadata)
        def select(guard_dates: bool) -> str:
            return ", ".join(f"{select_expr(self.info.column(f.name), f, guard_dates=guard_dates)}"
                             f" AS {quote_ident(f.name)}" for f in read_schema)

        key_cols = [self.info.column(k) for k in key]
        # the table's columns, not the outputs of the same names (a DECIMAL read as text
        # would order as text, and an expression hides the index)
        order = (" ORDER BY " + ", ".join(f"{self.table}.{quote_ident(k)}" for k in key)
                 if key else "")

        def sql(after_vals: list[Any] | None, limit: int | None,
                guard_dates: bool = True) -> str:
            conds = list(where)
            if after_vals is not None:
                conds.append(self._after(key_cols, after_vals))
            text = f"SELECT {select(guard_dates)} FROM {self.table}"
            text += (" WHERE " + " AND ".join(conds)) if conds else ""
            return text + order + (f" LIMIT {limit}" if limit else "")

        def emit(raw: pa.RecordBatch) -> tuple[pa.RecordBatch, list[Any]]:
            batch = conform(self.cs.name, raw, read_schema)
            last = [state_value(batch.column(k)[-1].as_py()) for k in key]
            return (batch.select(schema.names) if extra else batch), last

        size = self.info.avg_row_length * 2 or 512
        if self.fast and chunkable:
            while True:
                limit = self._rows(size)
                table = self._connectorx(partial(sql, after, limit))
                for raw in table.to_batches():
                    if raw.num_rows:
                        batch, after = emit(raw)
                        yield batch, after
                if table.num_rows < limit:
                    return
                size = table.nbytes / table.num_rows
        if self.fast and self.info.kind != "VIEW" and (
                self.info.data_length <= self.source.max_unchunked_bytes):
            raws: Iterator[pa.RecordBatch] = iter(
                self._connectorx(partial(sql, after, None)).to_batches())
        else:
            raws = self._stream(sql(after, None), read_schema, min(65_536, self._rows(size)))
        step = self.source.checkpoint_rows
        for raw in raws:  # sliced, so a one-statement read still checkpoints
            for start in range(0, raw.num_rows, step):
                yield emit(raw.slice(start, step))

    def session(self) -> pymysql.Connection[Any]:
        """A streaming session in its own consistent snapshot, begun now."""
        conn = connect(self.cfg, cursorclass=pymysql.cursors.SSCursor, conv=_ENCODERS)
        try:
            with translate(self.cfg):
                cur = conn.cursor()
                for stmt in ("SET SESSION net_write_timeout = 7200",
                             "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                             "START TRANSACTION WITH CONSISTENT SNAPSHOT"):
                    cur.execute(stmt)
                cur.close()
        except BaseException:
            conn.close()
            raise
        return conn

    def range_batches(self, conn: pymysql.Connection[Any],
                      rng: KeyRange) -> Generator[pa.RecordBatch, None, None]:
        """The rows of one key range, in key order, through ``conn``'s snapshot."""
        schema = self.cs.stream.schema
        key_cols = [self.info.column(k) for k in self.info.chunk_key]
        conds = [self._after(key_cols, rng.after)] if rng.after is not None else []
        if rng.upto is not None:
            conds.append(f"NOT {self._after(key_cols, rng.upto)}")
        select = ", ".join(f"{select_expr(self.info.column(f.name), f)} AS {quote_ident(f.name)}"
                           for f in schema)
        order = ", ".join(f"{self.table}.{quote_ident(c.name)}" for c in key_cols)
        sql = (f"SELECT {select} FROM {self.table}"
               + ((" WHERE " + " AND ".join(conds)) if conds else "") + f" ORDER BY {order}")
        size = self.info.avg_row_length * 2 or 512
        with translate(self.cfg):
            cur = conn.cursor()
            try:
                for raw in self._fetch(cur, sql, schema, min(65_536, self._rows(size))):
                    yield conform(self.cs.name, raw, schema)
            finally:
                cur.close()

    def _after(self, key_cols: list[MyColumn], values: list[Any]) -> str:
        """``(k1, k2) > (v1, v2)`` spelled out, which every optimizer turns into a range."""
        lits = [_literal(self.cs.name, c, v) for c, v in zip(key_cols, values, strict=True)]
        ors = []
        for i, col in enumerate(key_cols):
            terms = [f"{quote_ident(c.name)} = {v}" for c, v in zip(key_cols[:i], lits[:i],
                                                                    strict=True)]
            terms.append(f"{quote_ident(col.name)} > {lits[i]}")
            ors.append("(" + " AND ".join(terms) + ")")
        return "(" + " OR ".join(ors) + ")"

    def _rows(self, bytes_per_row: float) -> int:
        rows = int(self.source.chunk_bytes / max(bytes_per_row, 1.0))
        return max(1, min(self.source.checkpoint_rows, rows))

    def _connectorx(self, sql: Callable[[bool], str]) -> pa.Table:
        """``sql(guard_dates)``'s rows: first without the zero-date guard (connectorx refuses a
        zero or invalid date with a panic rather than misread it); once a statement meets
        one, that statement and every later one of this read carry the guard."""
        import connectorx as cx

        uri = connectorx_uri(self.cfg, checked_addresses(self.cfg)[0])
        with translate(self.cfg):
            if not self.guard_dates:
                try:
                    return cx.read_sql(uri, sql(False), return_type="arrow",
                                       pre_execution_query=_SESSION)
                except BaseException as exc:  # pyo3's PanicException is a BaseException
                    if not _refused_date(exc):
                        raise
                    log.info("%s holds zero or invalid dates: reading it with the date guard",
                             self.table)
                    self.guard_dates = True
            return cx.read_sql(uri, sql(True), return_type="arrow",
                               pre_execution_query=_SESSION)

    def _fetch(self, cur: Any, sql: str, schema: pa.Schema,
               batch_rows: int) -> Iterator[pa.RecordBatch]:
        """``sql``'s rows from an unbuffered cursor, as raw Arrow batches (text or bytes)."""
        wires = [pa.binary() if wire_is_binary(f) else pa.string() for f in schema]
        cur.execute(sql)
        while rows := cur.fetchmany(batch_rows):
            cols = list(zip(*rows, strict=True))
            yield pa.RecordBatch.from_arrays(
                [pa.array(c, w) for c, w in zip(cols, wires, strict=True)],
                names=schema.names)

    def _stream(self, sql: str, schema: pa.Schema, batch_rows: int) -> Iterator[pa.RecordBatch]:
        conn = self.session()
        try:
            with translate(self.cfg):
                cur = conn.cursor()
                yield from self._fetch(cur, sql, schema, batch_rows)
                cur.close()
                conn.rollback()
        finally:
            try:
                conn.close()
            except pymysql.err.Error:  # already closed by the server
                pass


def _refused_date(exc: BaseException) -> bool:
    """Whether connectorx gave up on a date it cannot represent (a zero or invalid date)."""
    return type(exc).__name__ == "PanicException" and "convert the value `Date(" in str(exc)
