"""DuckDB destination: each Arrow batch is registered with DuckDB (read zero-copy) and
inserted with ``INSERT INTO t (cols) SELECT cols FROM batch``.

Transactions are explicit (``BEGIN`` ... ``COMMIT``); the template commits at every State,
and each State is recorded in ``_sluiceway_state`` in the same transaction. Dedup staging
tables carry ``SEQ_COLUMN``, filled here with a running load number (resumed from the
staging table's maximum), so the merge keeps the row loaded last per key without a sequence
object to clean up and without relying on ``rowid`` (which a column named ``rowid`` hides).
The schema and the state table are created before any transaction: DuckDB fails one of two
transactions that create the same catalog entry, and streams start together.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pyarrow as pa

from sluiceway.connectors.base import Capabilities
from sluiceway.connectors.duckdb.errors import translate
from sluiceway.connectors.duckdb.source import connect
from sluiceway.connectors.duckdb.spec import DESTINATION_SPEC, database_path
from sluiceway.connectors.duckdb.types import (
    NUMERIC_COMMENT,
    DuckColumn,
    duck_type,
    quote_ident,
    quote_literal,
    to_arrow,
)
from sluiceway.connectors.sqlbase import SEQ_COLUMN, SqlDestination, StreamTarget
from sluiceway.core.errors import RecordRejected, Retryable
from sluiceway.protocol import arrow_types as at
from sluiceway.protocol.catalog import DestinationSyncMode
from sluiceway.protocol.spec import ConnectorSpec, validate_config

#: the table where States are recorded with the data they cover (see ``save_state``)
STATE_TABLE = "_sluiceway_state"


#: DuckDB's buffer pool must hold, for each column of a table being loaded, the blocks of its
#: open row group and of the commit: about 1 MB a column at 100k rows a commit (11 columns
#: load in 12 MB, 50 need 48 MB, 200 need 192 MB; a fixed 32 MB refused 50 columns and more,
#: "could not allocate block"). The limit is this much per column plus a base, and never
#: below the 32 MB a connection starts with (a merge or a swap needs its own room).
POOL_BASE_MB = 8.0
POOL_COLUMN_MB = 1.25
POOL_MIN_MB = 32.0


class _Pools:
    """The memory limit of each database file this process loads into. Connections to one
    file share one DuckDB instance and so one limit: it is the sum of what each open
    session's widest table needs, set whenever that sum changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._needs: dict[str, dict[int, float]] = {}

    def need(self, session: _Session, columns: int) -> None:
        mb = max(POOL_MIN_MB, POOL_BASE_MB + POOL_COLUMN_MB * columns)
        with self._lock:
            needs = self._needs.setdefault(session.path, {})
            if needs.get(id(session), 0.0) >= mb:
                return
            needs[id(session)] = mb
            self._set(session, sum(needs.values()))

    def release(self, session: _Session) -> None:
        with self._lock:
            needs = self._needs.get(session.path, {})
            if needs.pop(id(session), None) is None:
                return
            if needs:
                self._set(session, max(POOL_MIN_MB, sum(needs.values())))
            else:
                del self._needs[session.path]

    @staticmethod
    def _set(session: _Session, mb: float) -> None:
        with contextlib.suppress(duckdb.Error):  # a closed or failed session: nothing to size
            session.con.execute(f"SET memory_limit = '{int(mb + 0.999)}MB'")


_POOLS = _Pools()


def _load_threads() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 2
    return max(1, cores - 1)


class _Session:
    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, schema: str) -> None:
        self.con = con
        self.path = str(path)
        self.schema = schema
        self.next_seq: dict[str, int] = {}  # dedup staging table -> next SEQ_COLUMN value

    def q(self, table: str) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(table)}"

    def run(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with translate(self.path):
            return self.con.execute(sql, params).fetchall()


class DuckDBDestination(SqlDestination):
    name: ClassVar[str] = "duckdb"
    # Commits come at the sync's checkpoints: an open transaction's rows do not stay in
    # memory. DuckDB writes each full row group of a transaction to the file as it fills
    # (compressed), so a commit holds at most about one row group; commits at checkpoints
    # (``checkpoint_rows``, 500k by default) rather than every 100k spare the WAL and the
    # rewriting of the last, partial row group at each checkpoint (see ``load`` for what
    # once held the rows: 2M rows in one transaction now peak at 166 MB)
    capabilities: ClassVar[Capabilities] = Capabilities(
        ordered_load=True, destination_sync_modes=tuple(DestinationSyncMode))

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return DESTINATION_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        session = self._open(config, bookkeeping=False)
        try:
            session.run(f"CREATE TABLE {session.q('_sluiceway_check')} (x INTEGER)")
            session.run("ROLLBACK")
        finally:
            self.close(session)
        return f"opened {session.path}; can create tables"

    # ---- hooks -------------------------------------------------------------------------
    def connect(self, config: dict[str, Any]) -> _Session:
        return self._open(config, bookkeeping=True)

    def _open(self, config: dict[str, Any], *, bookkeeping: bool) -> _Session:
        cfg = validate_config(DESTINATION_SPEC, config)
        path = database_path(cfg, must_exist=False, roots=self.roots)
        session = _Session(connect(path, write=True), path, cfg["schema"])
        try:
            # one core stays with the reader feeding the load (on 2 cores: 1 thread, which
            # took postgres -> duckdb from 12.1 to 10 CPU-seconds and 10.2 to 9 s at 2M rows)
            session.run(f"SET threads = {_load_threads()}")
            _ensure(session, "schema", session.schema,
                    f"CREATE SCHEMA IF NOT EXISTS {quote_ident(session.schema)}")
            if bookkeeping:  # made here, before any transaction, so streams never race
                _ensure(session, "table", STATE_TABLE,
                        f"CREATE TABLE IF NOT EXISTS {session.q(STATE_TABLE)} "
                        "(key VARCHAR PRIMARY KEY, state VARCHAR NOT NULL)")
            session.run("BEGIN TRANSACTION")
        except BaseException:
            session.con.close()
            raise
        return session

    def close(self, session: _Session) -> None:
        _POOLS.release(session)
        try:
            session.con.execute("ROLLBACK")
        except duckdb.Error:  # no transaction open
            pass
        session.con.close()

    def table_schema(self, session: _Session, table: str) -> pa.Schema | None:
        rows = session.run(
            "SELECT column_name, data_type, is_nullable, comment FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = $s "
            "AND table_name = $t ORDER BY column_index", {"s": session.schema, "t": table})
        if not rows:
            return None
        return pa.schema([to_arrow(DuckColumn(r[0], r[1], bool(r[2]), r[3]))
                          for r in rows if r[0] != SEQ_COLUMN])

    def list_tables(self, session: _Session, prefix: str) -> list[str]:
        rows = session.run(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = $s AND starts_with(table_name, $p)",
            {"s": session.schema, "p": prefix})
        return [r[0] for r in rows]

    def create_table(self, session: _Session, table: str, schema: pa.Schema,
                     primary_key: list[str], *, with_seq: bool) -> None:
        cols = [f"{quote_ident(f.name)} {duck_type(f)}" for f in schema]
        if with_seq:
            cols.append(f"{quote_ident(SEQ_COLUMN)} BIGINT NOT NULL")
        # no PRIMARY KEY constraint: DuckDB keeps its index (ART) in memory, which makes a
        # load's memory grow with the table (20M rows ran out of a 128 MB budget) and slows
        # it; dedup merges on the key without one
        session.run(f"CREATE TABLE {session.q(table)} ({', '.join(cols)})")
        for f in schema:
            self._mark_numeric(session, table, f)

    def _mark_numeric(self, session: _Session, table: str, field: pa.Field) -> None:
        if at.is_numeric_text(field):
            session.run(f"COMMENT ON COLUMN {session.q(table)}.{quote_ident(field.name)} "
                        f"IS {quote_literal(NUMERIC_COMMENT)}")

    def drop_table(self, session: _Session, table: str) -> None:
        session.run(f"DROP TABLE IF EXISTS {session.q(table)}")

    def add_column(self, session: _Session, table: str, field: pa.Field) -> None:
        session.run(f"ALTER TABLE {session.q(table)} ADD COLUMN "
                    f"{quote_ident(field.name)} {duck_type(field)}")
        self._mark_numeric(session, table, field)

    def widen_column(self, session: _Session, table: str, field: pa.Field,
                     new_type: pa.DataType) -> None:
        """ALTER COLUMN TYPE, except for a primary-key column, which DuckDB cannot alter:
        then the table is rebuilt with the wider type, in the open transaction."""
        new = duck_type(pa.field(field.name, new_type, metadata=field.metadata))
        pk = _primary_key(session, table)
        if field.name not in pk:
            session.run(f"ALTER TABLE {session.q(table)} ALTER COLUMN "
                        f"{quote_ident(field.name)} TYPE {new}")
            return
        columns = session.run(
            "SELECT column_name, data_type, comment FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = $s "
            "AND table_name = $t ORDER BY column_index", {"s": session.schema, "t": table})
        tmp = f"{table}_sw_widen"
        defs = [f"{quote_ident(n)} {new if n == field.name else t}" for n, t, _ in columns]
        defs.append("PRIMARY KEY (" + ", ".join(quote_ident(c) for c in pk) + ")")
        session.run(f"CREATE TABLE {session.q(tmp)} ({', '.join(defs)})")
        names = ", ".join(quote_ident(n) for n, _, _ in columns)
        session.run(f"INSERT INTO {session.q(tmp)} ({names}) "
                    f"SELECT {names} FROM {session.q(table)}")
        session.run(f"DROP TABLE {session.q(table)}")
        session.run(f"ALTER TABLE {session.q(tmp)} RENAME TO {quote_ident(table)}")
        for name, _, comment in columns:
            if comment:
                session.run(f"COMMENT ON COLUMN {session.q(table)}.{quote_ident(name)} "
                            f"IS {quote_literal(comment)}")

    def load(self, session: _Session, target: StreamTarget, batch: pa.RecordBatch) -> None:
        batch = _loadable(batch)
        names = list(batch.schema.names)
        _POOLS.need(session, len(names) + 1)
        if _has_seq(target):
            start = session.next_seq.get(target.table)
            if start is None:
                (start,), = session.run(f"SELECT coalesce(max({quote_ident(SEQ_COLUMN)}), 0) "
                                        f"+ 1 FROM {session.q(target.table)}")
                start = int(start)
            seq = pa.array(range(start, start + batch.num_rows), pa.int64())
            batch = batch.append_column(SEQ_COLUMN, seq)
            session.next_seq[target.table] = start + batch.num_rows
            names.append(SEQ_COLUMN)
        cols = ", ".join(quote_ident(n) for n in names)
        # the batch as a relation named for this one statement, not a view registered on
        # the connection: a registered (even unregistered) batch stays referenced until the
        # transaction ends, so a commit every 500k rows held ~90 MB of Arrow batches. The
        # name is random: a table of that name in the default schema would be read instead
        view = f"_sw_batch_{uuid.uuid4().hex}"
        with translate(session.path):
            try:
                session.con.from_arrow(batch).query(
                    view, f"INSERT INTO {session.q(target.table)} ({cols}) "
                          f"SELECT {cols} FROM {quote_ident(view)}")
            except (duckdb.ConversionException, duckdb.ConstraintException,
                    duckdb.OutOfRangeException) as exc:
                raise RecordRejected(f"DuckDB refused a row: {exc}",
                                     location=target.stream.name) from exc

    def flush(self, session: _Session, target: StreamTarget) -> None:
        """Nothing is buffered: every batch is inserted when it arrives."""

    def commit(self, session: _Session) -> None:
        session.run("COMMIT")
        session.run("BEGIN TRANSACTION")

    def swap(self, session: _Session, staging: str, target: str, primary_key: list[str]) -> None:
        session.run(f"DROP TABLE IF EXISTS {session.q(target)}")
        session.run(f"ALTER TABLE {session.q(staging)} RENAME TO {quote_ident(target)}")

    def count_rows(self, session: _Session, table: str) -> int | None:
        return int(session.run(f"SELECT count(*) FROM {session.q(table)}")[0][0])

    def save_state(self, session: _Session, key: str, state: str) -> None:
        session.run(f"INSERT INTO {session.q(STATE_TABLE)} VALUES ($k, $s) ON CONFLICT (key) "
                    "DO UPDATE SET state = excluded.state", {"k": key, "s": state})

    def load_state(self, session: _Session, key: str) -> str | None:
        if self.table_schema(session, STATE_TABLE) is None:
            return None
        rows = session.run(f"SELECT state FROM {session.q(STATE_TABLE)} WHERE key = $k",
                           {"k": key})
        return str(rows[0][0]) if rows else None

    def clear_states(self, session: _Session, prefix: str) -> None:
        if self.table_schema(session, STATE_TABLE) is not None:
            session.run(f"DELETE FROM {session.q(STATE_TABLE)} WHERE starts_with(key, $p)",
                        {"p": prefix})

    def merge(self, session: _Session, staging: str, target: str, columns: list[str],
              primary_key: list[str]) -> None:
        cols = ", ".join(quote_ident(c) for c in columns)
        keys = ", ".join(quote_ident(c) for c in primary_key)
        match = " AND ".join(f"t.{quote_ident(c)} = s.{quote_ident(c)}" for c in primary_key)
        session.run(f"DELETE FROM {session.q(target)} AS t USING {session.q(staging)} AS s "
                    f"WHERE {match}")
        session.run(f"INSERT INTO {session.q(target)} ({cols}) SELECT {cols} "
                    f"FROM {session.q(staging)} QUALIFY row_number() OVER "
                    f"(PARTITION BY {keys} ORDER BY {quote_ident(SEQ_COLUMN)} DESC) = 1")


def _ensure(session: _Session, kind: str, name: str, create: str) -> None:
    """Run ``create`` (autocommit) unless the schema or table ``name`` exists. Streams that
    start together may race to create it (a write-write conflict): the loser finds it made."""
    exists_sql = {
        "schema": "SELECT count(*) FROM duckdb_schemas() WHERE database_name = "
                  "current_database() AND schema_name = $n",
        "table": "SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                 "current_database() AND schema_name = $s AND table_name = $n",
    }[kind]
    params = {"n": name} if kind == "schema" else {"n": name, "s": session.schema}

    def exists() -> bool:
        return bool(session.run(exists_sql, params)[0][0])

    for attempt in range(20):
        if exists():
            return
        try:
            session.run(create)
            return
        except Retryable:  # the other creator may not have committed yet: look again
            if attempt == 19:
                raise
            time.sleep(0.05)


def _primary_key(session: _Session, table: str) -> list[str]:
    rows = session.run(
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE database_name = current_database() AND schema_name = $s AND table_name = $t "
        "AND constraint_type = 'PRIMARY KEY'", {"s": session.schema, "t": table})
    return list(rows[0][0]) if rows else []


def _has_seq(target: StreamTarget) -> bool:
    return target.staged and (
        target.stream.destination_sync_mode is DestinationSyncMode.append_dedup)


def _loadable(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Columns as DuckDB's Arrow scan should see them: json as its text (the JSON column
    parses it on insert), dictionaries decoded; everything else is read zero-copy."""
    cols, changed = [], False
    for col in batch.columns:
        if at.is_json(col.type):
            col, changed = col.storage, True
        elif pa.types.is_dictionary(col.type):
            col, changed = col.dictionary_decode(), True
        cols.append(col)
    if not changed:
        return batch
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names)
