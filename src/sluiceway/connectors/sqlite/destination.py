"""SQLite destination: each Arrow batch becomes one ``executemany`` INSERT, fed from the
columns converted to Python lists one column at a time (the type table is in ``types``).

The database runs in WAL mode with ``synchronous=FULL``, so a commit (and the State echoed
after it) survives a power loss. Write transactions are ``BEGIN IMMEDIATE``, opened by the
first write after a commit: SQLite has one writer at a time, so streams loading into the same
file take turns, waiting up to ``busy_timeout`` seconds for the lock. Each State is recorded
in ``_sluiceway_state`` in the transaction that commits the rows before it. Dedup staging
tables carry ``SEQ_COLUMN``, filled here with a running load number.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from sluiceway.connectors.base import Capabilities
from sluiceway.connectors.sqlbase import SEQ_COLUMN, SqlDestination, StreamTarget
from sluiceway.connectors.sqlite.errors import translate
from sluiceway.connectors.sqlite.spec import DESTINATION_SPEC, database_path
from sluiceway.connectors.sqlite.types import quote_ident, sqlite_type, sqlite_values, to_arrow
from sluiceway.core.errors import RecordRejected
from sluiceway.protocol.catalog import DestinationSyncMode
from sluiceway.protocol.spec import ConnectorSpec, validate_config

#: the table where States are recorded with the data they cover (see ``save_state``)
STATE_TABLE = "_sluiceway_state"


class _Session:
    def __init__(self, con: sqlite3.Connection, path: Path) -> None:
        self.con = con
        self.path = str(path)
        self.next_seq: dict[str, int] = {}  # dedup staging table -> next SEQ_COLUMN value

    def run(self, sql: str, params: Any = ()) -> list[Any]:
        with translate(self.path):
            return self.con.execute(sql, params).fetchall()

    def write(self, sql: str, params: Any = ()) -> None:
        """Run a statement that changes the database, in the open write transaction."""
        with translate(self.path):
            if not self.con.in_transaction:
                self.con.execute("BEGIN IMMEDIATE")
            self.con.execute(sql, params)


class SQLiteDestination(SqlDestination):
    name: ClassVar[str] = "sqlite"
    capabilities: ClassVar[Capabilities] = Capabilities(
        ordered_load=True,
        destination_sync_modes=tuple(DestinationSyncMode))
    #: seconds a writer waits for another connection's write lock
    busy_timeout: float = 600.0

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return DESTINATION_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        session = self.connect(config)
        try:
            session.write(f"CREATE TABLE {quote_ident('_sluiceway_check')} (x INTEGER)")
            session.run("ROLLBACK")
        finally:
            self.close(session)
        return f"opened {session.path}; can create tables"

    # ---- hooks -------------------------------------------------------------------------
    def connect(self, config: dict[str, Any]) -> _Session:
        cfg = validate_config(DESTINATION_SPEC, config)
        path = database_path(cfg, must_exist=False, roots=self.roots)
        with translate(str(path), connecting=True):
            con = sqlite3.connect(str(path), timeout=self.busy_timeout, isolation_level=None)
        session = _Session(con, path)
        try:
            with translate(str(path), connecting=True):
                (mode,), = con.execute("PRAGMA journal_mode").fetchall()
                if str(mode).lower() != "wal":
                    con.execute("PRAGMA journal_mode = WAL").fetchall()
            session.run("PRAGMA synchronous = FULL")
            # a view over a replaced table must not stop the rename that replaces it
            session.run("PRAGMA legacy_alter_table = ON")
        except BaseException:
            con.close()
            raise
        return session

    def close(self, session: _Session) -> None:
        if session.con.in_transaction:
            session.con.execute("ROLLBACK")
        session.con.close()

    def table_schema(self, session: _Session, table: str) -> pa.Schema | None:
        rows = session.run('SELECT name, type, "notnull" FROM pragma_table_info(?) '
                           "ORDER BY cid", (table,))
        if not rows:
            return None
        return pa.schema([to_arrow(name, decl or "", not notnull)
                          for name, decl, notnull in rows if name != SEQ_COLUMN])

    def list_tables(self, session: _Session, prefix: str) -> list[str]:
        rows = session.run("SELECT name FROM sqlite_master WHERE type = 'table' "
                           "AND substr(name, 1, ?) = ?", (len(prefix), prefix))
        return [r[0] for r in rows]

    def create_table(self, session: _Session, table: str, schema: pa.Schema,
                     primary_key: list[str], *, with_seq: bool) -> None:
        columns = [(f.name, sqlite_type(f)) for f in schema]
        if with_seq:
            columns.append((SEQ_COLUMN, "INTEGER NOT NULL"))
        self._create(session, table, columns, primary_key)

    def _create(self, session: _Session, table: str, columns: list[tuple[str, str]],
                primary_key: list[str]) -> None:
        cols = [f"{quote_ident(name)} {decl}".rstrip() for name, decl in columns]
        if primary_key:
            cols.append("PRIMARY KEY (" + ", ".join(quote_ident(c) for c in primary_key) + ")")
        session.write(f"CREATE TABLE {quote_ident(table)} ({', '.join(cols)})")

    def drop_table(self, session: _Session, table: str) -> None:
        session.write(f"DROP TABLE IF EXISTS {quote_ident(table)}")

    def add_column(self, session: _Session, table: str, field: pa.Field) -> None:
        session.write(f"ALTER TABLE {quote_ident(table)} ADD COLUMN "
                      f"{quote_ident(field.name)} {sqlite_type(field)}")

    def widen_column(self, session: _Session, table: str, field: pa.Field,
                     new_type: pa.DataType) -> None:
        """SQLite cannot change a declared type in place: when the declared type changes
        (a wider decimal), the table is rebuilt with it, in the open transaction."""
        new = sqlite_type(pa.field(field.name, new_type, metadata=field.metadata))
        rows = session.run('SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid',
                           (table,))
        if all(name != field.name or decl == new for name, decl, _ in rows):
            return
        columns = [(name, new if name == field.name else decl) for name, decl, _ in rows]
        pk = [name for name, _, pos in sorted((r for r in rows if r[2]), key=lambda r: r[2])]
        tmp = f"{table}_sw_widen"
        self._create(session, tmp, columns, pk)
        names = ", ".join(quote_ident(name) for name, _ in columns)
        session.write(f"INSERT INTO {quote_ident(tmp)} ({names}) "
                      f"SELECT {names} FROM {quote_ident(table)}")
        session.write(f"DROP TABLE {quote_ident(table)}")
        session.write(f"ALTER TABLE {quote_ident(tmp)} RENAME TO {quote_ident(table)}")

    def load(self, session: _Session, target: StreamTarget, batch: pa.RecordBatch) -> None:
        names = list(batch.schema.names)
        columns: list[Any] = [sqlite_values(col, f) for f, col in zip(batch.schema,
                                                                      batch.columns,
                                                                      strict=True)]
        if target.staged and (
                target.stream.destination_sync_mode is DestinationSyncMode.append_dedup):
            start = session.next_seq.get(target.table)
            if start is None:
                (top,), = session.run(f"SELECT coalesce(max({quote_ident(SEQ_COLUMN)}), 0) "
                                      f"FROM {quote_ident(target.table)}")
                start = int(top) + 1
            columns.append(range(start, start + batch.num_rows))
            session.next_seq[target.table] = start + batch.num_rows
            names.append(SEQ_COLUMN)
        sql = (f"INSERT INTO {quote_ident(target.table)} "
               f"({', '.join(quote_ident(n) for n in names)}) "
               f"VALUES ({', '.join('?' for _ in names)})")
        with translate(session.path):
            if not session.con.in_transaction:
                session.con.execute("BEGIN IMMEDIATE")
            try:
                session.con.executemany(sql, zip(*columns, strict=True))
            except OverflowError as exc:
                raise RecordRejected(f"an integer does not fit SQLite's 64 bits: {exc}",
                                     location=target.stream.name) from exc
            except sqlite3.IntegrityError as exc:
                raise RecordRejected(f"SQLite refused a row: {exc}",
                                     location=target.stream.name) from exc

    def flush(self, session: _Session, target: StreamTarget) -> None:
        """Nothing is buffered: every batch is inserted when it arrives."""

    def commit(self, session: _Session) -> None:
        if session.con.in_transaction:
            session.run("COMMIT")

    def swap(self, session: _Session, staging: str, target: str, primary_key: list[str]) -> None:
        session.write(f"DROP TABLE IF EXISTS {quote_ident(target)}")
        session.write(f"ALTER TABLE {quote_ident(staging)} RENAME TO {quote_ident(target)}")

    def count_rows(self, session: _Session, table: str) -> int | None:
        return int(session.run(f"SELECT count(*) FROM {quote_ident(table)}")[0][0])

    def save_state(self, session: _Session, key: str, state: str) -> None:
        session.write(f"CREATE TABLE IF NOT EXISTS {quote_ident(STATE_TABLE)} "
                      "(key TEXT PRIMARY KEY, state TEXT NOT NULL)")
        session.write(f"INSERT INTO {quote_ident(STATE_TABLE)} VALUES (?, ?) ON CONFLICT (key) "
                      "DO UPDATE SET state = excluded.state", (key, state))

    def load_state(self, session: _Session, key: str) -> str | None:
        if self.table_schema(session, STATE_TABLE) is None:
            return None
        rows = session.run(f"SELECT state FROM {quote_ident(STATE_TABLE)} WHERE key = ?",
                           (key,))
        return str(rows[0][0]) if rows else None

    def clear_states(self, session: _Session, prefix: str) -> None:
        if self.table_schema(session, STATE_TABLE) is not None:
            session.write(f"DELETE FROM {quote_ident(STATE_TABLE)} "
                          "WHERE substr(key, 1, length(?1)) = ?1", (prefix,))

    def merge(self, session: _Session, staging: str, target: str, columns: list[str],
              primary_key: list[str]) -> None:
        cols = ", ".join(quote_ident(c) for c in columns)
        keys = ", ".join(quote_ident(c) for c in primary_key)
        seq = quote_ident(SEQ_COLUMN)
        session.write(f"DELETE FROM {quote_ident(target)} WHERE ({keys}) IN "
                      f"(SELECT {keys} FROM {quote_ident(staging)})")
        session.write(f"INSERT INTO {quote_ident(target)} ({cols}) SELECT {cols} "
                      f"FROM {quote_ident(staging)} WHERE {seq} IN "
                      f"(SELECT max({seq}) FROM {quote_ident(staging)} GROUP BY {keys})")
