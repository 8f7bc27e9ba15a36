"""SQLite source: catalog from ``PRAGMA table_info``; rows fetched in chunks and built into
Arrow arrays column by column (SQLite has no bulk Arrow path).

The file is opened read-only. Full refresh reads a rowid table ordered by ``rowid`` and
checkpoints every ``checkpoint_rows`` rows (``{"after_rowid": n}``), so a stopped read
resumes after that row; views and WITHOUT ROWID tables are read in one pass. Incremental
reads ``cursor >= last`` ordered by the cursor and checkpoints every ``checkpoint_rows`` rows;
the checkpoint keeps the cursor value as SQLite stored it, so the next read compares like
with like.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from sluiceway.connectors.base import Capabilities, Source
from sluiceway.connectors.sqlite.errors import translate
from sluiceway.connectors.sqlite.spec import SOURCE_SPEC, database_path
from sluiceway.connectors.sqlite.types import BadValue, arrow_values, quote_ident, to_arrow
from sluiceway.core.errors import RecordRejected
from sluiceway.protocol.catalog import (
    Catalog,
    ConfiguredStream,
    Stream,
    SyncMode,
)
from sluiceway.protocol.messages import Message, RecordBatch, State
from sluiceway.protocol.spec import ConnectorSpec, validate_config

#: tables and views, without SQLite's own and a Sluiceway destination's bookkeeping
_TABLES_SQL = ("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
               "AND name NOT LIKE 'sqlite^_%' ESCAPE '^' AND name NOT LIKE '^_sw^_stage^_%' "
               "ESCAPE '^' AND name <> '_sluiceway_state' ORDER BY name")
_COLUMNS_SQL = 'SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid'


def connect(path: Path) -> sqlite3.Connection:
    """Open ``path`` read-only and make sure it is a SQLite database."""
    with translate(str(path), connecting=True):
        con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchall()
        except BaseException:
            con.close()
            raise
    return con


class SQLiteSource(Source):
    name: ClassVar[str] = "sqlite"
    capabilities: ClassVar[Capabilities] = Capabilities(
        incremental=True, resumable_full_refresh=True)
    #: rows between two checkpoints
    checkpoint_rows: int = 500_000
    #: rows fetched (and built into one Arrow batch) at a time
    batch_rows: int = 20_000

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return SOURCE_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        cfg = validate_config(SOURCE_SPEC, config)
        path = database_path(cfg, must_exist=True, roots=self.roots)
        connect(path).close()
        return f"opened {path}"

    def discover(self, config: dict[str, Any]) -> Catalog:
        cfg = validate_config(SOURCE_SPEC, config)
        path = database_path(cfg, must_exist=True, roots=self.roots)
        con = connect(path)
        streams = []
        try:
            with translate(str(path)):
                for table, _kind in con.execute(_TABLES_SQL).fetchall():
                    cols = con.execute(_COLUMNS_SQL, (table,)).fetchall()
                    fields = [to_arrow(name, decl or "", not notnull)
                              for name, decl, notnull, _ in cols]
                    pk = tuple((name,) for name, *_, pos in sorted(
                        (c for c in cols if c[3]), key=lambda c: int(c[3])))
                    streams.append(Stream(
                        name=table, namespace="main", schema=pa.schema(fields),
                        supported_sync_modes=(SyncMode.full_refresh, SyncMode.incremental),
                        source_defined_primary_key=pk,
                    ))
        finally:
            con.close()
        return Catalog(tuple(streams))

    def read_context(self, config: dict[str, Any]) -> Path:
        return database_path(validate_config(SOURCE_SPEC, config), must_exist=True,
                             roots=self.roots)

    def read_stream(self, path: Path, cs: ConfiguredStream,
                     state: dict[str, Any] | None) -> Iterator[Message]:
        table = quote_ident(cs.stream.name)
        select = ", ".join(quote_ident(n) for n in cs.stream.schema.names)
        con = connect(path)
        try:
            with translate(str(path)):
                con.execute("BEGIN")  # one snapshot for the whole stream
                if cs.sync_mode is SyncMode.incremental:
                    yield from self._incremental(con, cs, table, select, state)
                else:
                    yield from self._full_refresh(con, cs, table, select, state)
                con.execute("COMMIT")
        finally:
            con.close()

    def _full_refresh(self, con: sqlite3.Connection, cs: ConfiguredStream, table: str,
                      select: str, state: dict[str, Any] | None) -> Iterator[Message]:
        if state and state.get("complete"):
            yield State(cs.name, state)
            return
        alias = _rowid_alias(con, cs.stream.name)
        if alias is None:
            for batch, _, _ in self._chunks(cs, con.execute(f"SELECT {select} FROM {table}"),
                                            None):
                yield RecordBatch(cs.name, batch)
            yield State(cs.name, {"complete": True})
            return
        after = (state or {}).get("after_rowid")
        where = "" if after is None else f" WHERE {alias} > ?"
        cur = con.execute(f"SELECT {select}, {alias} FROM {table}{where} ORDER BY {alias}",
                          () if after is None else (int(after),))
        for batch, rowid, due in self._chunks(cs, cur, len(cs.stream.schema)):
            yield RecordBatch(cs.name, batch)
            if due:
                yield State(cs.name, {"after_rowid": rowid})
        yield State(cs.name, {"complete": True})

    def _incremental(self, con: sqlite3.Connection, cs: ConfiguredStream, table: str,
                     select: str, state: dict[str, Any] | None) -> Iterator[Message]:
        cursor = cs.cursor
        assert cursor is not None
        binary = pa.types.is_binary(cs.stream.schema.field(cursor).type)
        col = quote_ident(cursor)
        last = (state or {}).get("cursor")
        where, params = f"{col} IS NOT NULL", []
        if last is not None:
            where += f" AND {col} >= ?"
            params = [bytes.fromhex(last) if binary else last]
        cur = con.execute(f"SELECT {select} FROM {table} WHERE {where} ORDER BY {col}", params)
        index = cs.stream.schema.get_field_index(cursor)
        for batch, value, due in self._chunks(cs, cur, index):
            yield RecordBatch(cs.name, batch)
            last = value.hex() if isinstance(value, bytes) else value
            if due:
                yield State(cs.name, {"cursor": last, "cursor_field": cursor})
        yield State(cs.name, {"cursor": last, "cursor_field": cursor})

    def _chunks(self, cs: ConfiguredStream, cur: sqlite3.Cursor,
                key: int | None) -> Iterator[tuple[pa.RecordBatch, Any, bool]]:
        """Batches of the rows of ``cur``, each with the value of column ``key`` in its last
        row (the rowid, or the cursor as stored) and whether a checkpoint is due after it."""
        size = max(1, min(self.batch_rows, self.checkpoint_rows))
        since = 0
        while rows := cur.fetchmany(size):
            since += len(rows)
            due = since >= self.checkpoint_rows
            if due:
                since = 0
            last = rows[-1][key] if key is not None else None
            yield _to_batch(cs.name, cs.stream.schema, rows), last, due


def _to_batch(stream: str, schema: pa.Schema, rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True))
    arrays = []
    for i, f in enumerate(schema):
        try:
            arrays.append(arrow_values(columns[i], f))
        except BadValue as exc:
            raise RecordRejected(f"column {f.name!r}: {exc}", location=stream) from exc
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _rowid_alias(con: sqlite3.Connection, table: str) -> str | None:
    """A name that reads the rowid of ``table`` (None: a view or WITHOUT ROWID table)."""
    kind = con.execute("SELECT type FROM sqlite_master WHERE name = ?", (table,)).fetchall()
    if kind != [("table",)]:
        return None
    names = {r[0].lower() for r in con.execute(_COLUMNS_SQL, (table,)).fetchall()}
    for alias in ("rowid", "_rowid_", "oid"):
        if alias not in names:
            try:
                con.execute(f"SELECT {alias} FROM {quote_ident(table)} LIMIT 0").fetchall()
            except sqlite3.OperationalError:
                return None
            return alias
    return None
