"""DuckDB source: catalog from ``duckdb_columns()``, rows streamed as Arrow record batches.

The source never writes (``connect`` says how it opens the file). Every stream is read in
one transaction, so all its batches come from one snapshot. Full refresh reads a table in
``rowid`` ranges of ``checkpoint_rows`` rows and checkpoints after each range
(``{"after_rowid": n}``), so a stopped read resumes at the next range; a view (or a table
with a column named ``rowid``, which hides the pseudo-column) is read in one pass.
Incremental reads ``cursor >= last`` ordered by the cursor and checkpoints every
``checkpoint_rows`` rows; rows sharing the checkpoint's cursor value are read again rather
than lost."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from sluiceway.connectors.base import Capabilities, Source
from sluiceway.connectors.duckdb.errors import translate
from sluiceway.connectors.duckdb.spec import SOURCE_SPEC, database_path
from sluiceway.connectors.duckdb.types import (
    DUCK_TYPE_KEY,
    DuckColumn,
    quote_ident,
    read_expr,
    to_arrow,
)
from sluiceway.core.errors import Fatal, RecordRejected
from sluiceway.protocol import arrow_types as at
from sluiceway.protocol.catalog import (
    Catalog,
    ConfiguredStream,
    Stream,
    SyncMode,
)
from sluiceway.protocol.messages import Message, RecordBatch, State, state_value
from sluiceway.protocol.spec import ConnectorSpec, validate_config

_COLUMNS_SQL = """
SELECT c.schema_name, c.table_name, c.column_name, c.data_type, c.is_nullable, c.comment
FROM duckdb_columns() c
WHERE c.database_name = current_database() AND NOT c.internal
  AND NOT starts_with(c.table_name, '_sw_stage_') AND c.table_name <> '_sluiceway_state'
ORDER BY c.schema_name, c.table_name, c.column_index
"""
_PK_SQL = """
SELECT schema_name, table_name, constraint_column_names FROM duckdb_constraints()
WHERE database_name = current_database() AND constraint_type = 'PRIMARY KEY'
"""
_ROWID_SQL = """
SELECT (SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()
        AND schema_name = $schema AND table_name = $table),
       (SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database()
        AND schema_name = $schema AND table_name = $table AND lower(column_name) = 'rowid')
"""


#: DuckDB's buffer pool; by default it may take 80 % of the machine's memory, and a sync's
#: memory must stay flat whatever the table's size (DuckDB spills to the database file)
MEMORY_LIMIT = "32MB"


def connect(path: Path, *, write: bool) -> duckdb.DuckDBPyConnection:
    """Open ``path``. DuckDB lets a process open a file with one configuration only, so a
    reader opens it read-write like the destination does (a sync can read a file another
    sync is loading) and only falls back to read-only where that is refused: a read-only
    file system, or another process holding the file read-only."""
    settings: dict[str, str | bool | int | float | list[str]] = {"memory_limit": MEMORY_LIMIT}
    with translate(str(path), connecting=True):
        try:
            return duckdb.connect(str(path), config=settings)
        except (duckdb.IOException, duckdb.ConnectionException):
            if write:
                raise
            return duckdb.connect(str(path), read_only=True, config=settings)


def arrow_reader(con: duckdb.DuckDBPyConnection, sql: str, params: Any,
                 batch_rows: int) -> pa.RecordBatchReader:
    """Stream a query's result as Arrow batches of at most ``batch_rows`` rows.

    The method is ``to_arrow_reader`` since DuckDB 1.5, ``fetch_record_batch`` in 1.4 and
    ``record_batch`` before; the result of ``con.execute`` is not used because DuckDB 2
    copies it once more on the way to Arrow (and warns)."""
    rel = con.sql(sql, params=params)
    for method in ("to_arrow_reader", "fetch_record_batch", "record_batch"):
        make = getattr(rel, method, None)
        if make is not None:
            reader: pa.RecordBatchReader = make(batch_rows)
            return reader
    raise Fatal(f"DuckDB {duckdb.__version__} has no Arrow reader on relations")


class DuckDBSource(Source):
    name: ClassVar[str] = "duckdb"
    capabilities: ClassVar[Capabilities] = Capabilities(
        incremental=True, resumable_full_refresh=True)
    #: rows between two checkpoints
    checkpoint_rows: int = 500_000
    #: rows per Arrow record batch
    batch_rows: int = 65_536

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return SOURCE_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        cfg = validate_config(SOURCE_SPEC, config)
        path = database_path(cfg, must_exist=True, roots=self.roots)
        con = connect(path, write=False)
        try:
            with translate(str(path), connecting=True):
                con.execute("SELECT count(*) FROM duckdb_tables()").fetchall()
        finally:
            con.close()
        return f"opened {path}"

    def discover(self, config: dict[str, Any]) -> Catalog:
        cfg = validate_config(SOURCE_SPEC, config)
        path = database_path(cfg, must_exist=True, roots=self.roots)
        con = connect(path, write=False)
        try:
            with translate(str(path)):
                rows = con.execute(_COLUMNS_SQL).fetchall()
                pks = con.execute(_PK_SQL).fetchall()
        finally:
            con.close()
        keys = {(s, t): list(cols) for s, t, cols in pks}
        tables: dict[tuple[str, str], list[pa.Field]] = {}
        for nsp, rel, col, data_type, nullable, comment in rows:
            field = to_arrow(DuckColumn(col, data_type, bool(nullable), comment))
            tables.setdefault((nsp, rel), []).append(field)
        streams = []
        for (nsp, rel), fields in tables.items():
            streams.append(Stream(
                name=stream_name(nsp, rel),
                namespace=nsp,
                schema=pa.schema(fields),
                supported_sync_modes=(SyncMode.full_refresh, SyncMode.incremental),
                source_defined_primary_key=tuple((c,) for c in keys.get((nsp, rel), [])),
            ))
        return Catalog(tuple(streams))

    def read_context(self, config: dict[str, Any]) -> Path:
        return database_path(validate_config(SOURCE_SPEC, config), must_exist=True,
                             roots=self.roots)

    def read_stream(self, path: Path, cs: ConfiguredStream,
                     state: dict[str, Any] | None) -> Iterator[Message]:
        nsp = cs.stream.namespace or "main"
        rel = table_name(cs.stream)
        table = f"{quote_ident(nsp)}.{quote_ident(rel)}"
        select = ", ".join(read_expr(f) for f in cs.stream.schema)
        con = connect(path, write=False)
        try:
            with translate(str(path)):
                try:  # uuid and json as Arrow's canonical extension types
                    con.execute("SET arrow_lossless_conversion = true")
                except duckdb.Error:  # pragma: no cover - older DuckDB: cast after reading
                    pass
                con.execute("BEGIN TRANSACTION")
                if cs.sync_mode is SyncMode.incremental:
                    yield from self._incremental(con, cs, table, select, state)
                else:
                    (is_table, shadowed), = con.execute(
                        _ROWID_SQL, {"schema": nsp, "table": rel}).fetchall()
                    by_rowid = bool(is_table) and not shadowed
                    yield from self._full_refresh(con, cs, table, select, state, by_rowid)
                con.execute("ROLLBACK")
        finally:
            con.close()

    def _full_refresh(self, con: duckdb.DuckDBPyConnection, cs: ConfiguredStream, table: str,
                      select: str, state: dict[str, Any] | None,
                      by_rowid: bool) -> Iterator[Message]:
        if state and state.get("complete"):
            yield State(cs.name, state)
            return
        if not by_rowid:
            yield from self._query(con, cs, f"SELECT {select} FROM {table}", None)
            yield State(cs.name, {"complete": True})
            return
        (top,), = con.execute(f"SELECT max(rowid) FROM {table}").fetchall()
        top = -1 if top is None else int(top)
        after = int((state or {}).get("after_rowid", -1))
        while after < top:
            upto = after + self.checkpoint_rows
            yield from self._query(
                con, cs, f"SELECT {select} FROM {table} WHERE rowid > $lo AND rowid <= $hi",
                {"lo": after, "hi": upto})
            after = upto
            if after < top:
                yield State(cs.name, {"after_rowid": after})
        yield State(cs.name, {"complete": True})

    def _incremental(self, con: duckdb.DuckDBPyConnection, cs: ConfiguredStream, table: str,
                     select: str, state: dict[str, Any] | None) -> Iterator[Message]:
        cursor = cs.cursor
        assert cursor is not None
        field = cs.stream.schema.field(cursor)
        col = f"_t.{quote_ident(cursor)}"  # qualified: never an output alias
        last = (state or {}).get("cursor")
        where = f"{col} IS NOT NULL"
        params: dict[str, Any] | None = None
        if last is not None:
            where += f" AND {col} >= {_bound(field)}"
            params = {"last": last}
        sql = f"SELECT {select} FROM {table} AS _t WHERE {where} ORDER BY {col}"
        rows_since = 0
        for msg in self._query(con, cs, sql, params):
            yield msg
            values = msg.batch.column(cursor)
            last = state_value(values[len(values) - 1].as_py())
            rows_since += msg.num_rows
            if rows_since >= self.checkpoint_rows:
                rows_since = 0
                yield State(cs.name, {"cursor": last, "cursor_field": cursor})
        yield State(cs.name, {"cursor": last, "cursor_field": cursor})

    def _query(self, con: duckdb.DuckDBPyConnection, cs: ConfiguredStream, sql: str,
               params: dict[str, Any] | None) -> Iterator[RecordBatch]:
        schema = cs.stream.schema
        for batch in arrow_reader(con, sql, params, self.batch_rows):
            if batch.num_rows:
                yield RecordBatch(cs.name, conform(cs.name, batch, schema))


def stream_name(schema: str, table: str) -> str:
    return table if schema == "main" else f"{schema}.{table}"


def table_name(stream: Stream) -> str:
    nsp = stream.namespace or "main"
    return stream.name if nsp == "main" else stream.name[len(nsp) + 1:]


def _bound(f: pa.Field) -> str:
    """The parameter ``$last`` in the cursor column's DuckDB type."""
    duck = f.metadata.get(DUCK_TYPE_KEY, b"").decode() if f.metadata else ""
    if not duck:
        return "$last"
    if duck.upper() == "BLOB":
        return "unhex($last)"
    return f"CAST($last AS {duck})"


#: how DuckDB's Arrow export spells 'infinity' and '-infinity' of DATE and TIMESTAMP
_INFINITE = {32: (2**31 - 1, -(2**31 - 1)), 64: (2**63 - 1, -(2**63 - 1))}


def conform(stream: str, batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast what DuckDB produced into the stream's canonical Arrow types."""
    cols = []
    for f, col in zip(schema, batch.columns, strict=True):
        if col.type != f.type:
            try:
                col = _cast(col, f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
                raise RecordRejected(f"column {f.name!r}: cannot represent value as "
                                     f"{at.type_name(f)}: {exc}", location=stream) from exc
        if pa.types.is_date32(col.type) or pa.types.is_timestamp(col.type):
            _refuse_infinity(stream, f, col)
        cols.append(col)
    return pa.RecordBatch.from_arrays(cols, schema=schema)


def _refuse_infinity(stream: str, f: pa.Field, col: pa.Array) -> None:
    bits = col.type.bit_width
    ends = pc.min_max(col.view(pa.int32() if bits == 32 else pa.int64()))
    if {ends["min"].as_py(), ends["max"].as_py()} & set(_INFINITE[bits]):
        raise RecordRejected(f"column {f.name!r}: 'infinity' has no {at.type_name(f)} "
                             "value", location=stream)


def _cast(col: pa.Array, to: pa.DataType) -> pa.Array:
    if at.is_uuid(to) and pa.types.is_string(col.type):  # DuckDB without lossless Arrow
        raw = [None if v is None else uuid.UUID(v).bytes for v in col.to_pylist()]
        return pa.ExtensionArray.from_storage(to, pa.array(raw, pa.binary(16)))
    try:
        return at.cast_exact(col, to)
    except pa.ArrowNotImplementedError:
        if isinstance(col.type, pa.BaseExtensionType):
            return pc.cast(col.storage, to)
        raise
