"""PostgreSQL source: catalog from pg_catalog, rows through ADBC's binary COPY into Arrow.

Full refresh reads the table in ``ctid`` page ranges inside one REPEATABLE READ snapshot and
checkpoints after each range, so a stopped read resumes at the next range. Incremental reads
``cursor >= last`` ordered by the cursor, so rows sharing the checkpoint's cursor value are
read again rather than lost (dedup merges them; append keeps the copies).

Rows still uncommitted when the read's snapshot is taken are invisible to it, and they may
hold cursor values below ones it reads (two writers, the slower one committing last). So
before the snapshot an incremental read *settles*: it notes the cursor's maximum and the
transactions then writing to the table (their locks), and waits for those to end. Every row
whose cursor lies below that maximum is then committed or gone, and the checkpoint never
passes it: rows committed during the read are read again next time, never lost. If a writer
outlasts ``settle_seconds``, the checkpoint does not move past the previous one.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from typing import Any, ClassVar

import adbc_driver_postgresql.dbapi as adbc
import pyarrow as pa
import pyarrow.compute as pc
from adbc_driver_postgresql import StatementOptions

from sluiceway.connectors.base import Capabilities, Settled, Source
from sluiceway.connectors.postgres.errors import translate
from sluiceway.connectors.postgres.spec import SOURCE_SPEC, checked_conninfo
from sluiceway.connectors.postgres.types import (
    PG_TYPE_KEY,
    PgColumn,
    quote_ident,
    quote_literal,
    read_as_text,
    to_arrow,
)
from sluiceway.core.errors import RecordRejected
from sluiceway.protocol import arrow_types as at
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

BATCH_SIZE_HINT = StatementOptions.BATCH_SIZE_HINT_BYTES.value

_COLUMNS_SQL = """
SELECT n.nspname, c.relname, a.attname, t.typname, a.atttypmod,
       format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       coalesce(pk.pos, 0)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN LATERAL (
    SELECT array_position(i.indkey::int2[], a.attnum) + 1 AS pos
    FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary
) pk ON true
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY({schemas})
  AND has_table_privilege(c.oid, 'SELECT')
  AND c.relname <> '_sluiceway_state' AND NOT starts_with(c.relname, '_sw_stage_')
ORDER BY n.nspname, c.relname, a.attnum
"""


def _connect(config: dict[str, Any]) -> adbc.Connection:
    with translate(config, connecting=True):
        return adbc.connect(checked_conninfo(config))


class PostgresSource(Source):
    name: ClassVar[str] = "postgres"
    capabilities: ClassVar[Capabilities] = Capabilities(
        incremental=True, resumable_full_refresh=True)
    #: rows between two checkpoints (approximate for full refresh: whole page ranges)
    checkpoint_rows: int = 500_000
    #: the size ADBC aims at for one record batch; small batches keep memory flat
    batch_bytes: int = 4 * 1024 * 1024
    #: how long an incremental read waits for the table's open writers (see the module doc)
    settle_seconds: float = 10.0

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return SOURCE_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        cfg = validate_config(SOURCE_SPEC, config)
        conn = _connect(cfg)
        with translate(cfg), conn:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchall()
            cur.close()
        return "connected"

    def discover(self, config: dict[str, Any]) -> Catalog:
        cfg = validate_config(SOURCE_SPEC, config)
        schemas = cfg.get("schemas") or ["public"]
        sql = _COLUMNS_SQL.format(
            schemas="ARRAY[" + ",".join(quote_literal(s) for s in schemas) + "]::name[]")
        conn = _connect(cfg)
        with translate(cfg), conn:
            cur = conn.cursor()
            cur.execute(sql)
            rows = cur.fetchall()
            cur.close()
        tables: dict[tuple[str, str], list[tuple[PgColumn, int]]] = {}
        for nsp, rel, att, typname, typmod, formatted, nullable, pkpos in rows:
            col = PgColumn(att, typname, int(typmod), formatted, bool(nullable))
            tables.setdefault((nsp, rel), []).append((col, int(pkpos or 0)))
        single = len(schemas) == 1
        streams = []
        for (nsp, rel), cols in tables.items():
            fields = [to_arrow(c) for c, _ in cols]
            pk = tuple((c.name,) for c, pos in sorted(cols, key=lambda x: x[1]) if pos)
            streams.append(Stream(
                name=rel if single else f"{nsp}.{rel}",
                namespace=nsp,
                schema=pa.schema(fields),
                supported_sync_modes=(SyncMode.full_refresh, SyncMode.incremental),
                source_defined_primary_key=pk,
            ))
        return Catalog(tuple(streams))

    def read_stream(self, cfg: dict[str, Any], cs: ConfiguredStream,
                     state: dict[str, Any] | None) -> Iterator[Message]:
        stream = cs.stream
        nsp = stream.namespace or (cfg.get("schemas") or ["public"])[0]
        table = f"{quote_ident(nsp)}.{quote_ident(stream.name.split('.')[-1])}"
        select = ", ".join(_select_expr(f) for f in stream.schema)
        conn = _connect(cfg)
        with translate(cfg), conn:
            cur = conn.cursor()
            hold: Settled | None = None
            if cs.sync_mode is SyncMode.incremental:
                hold = yield from self._settle(cur, cs, table)
                conn.rollback()
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute(f"SELECT count(*) FROM {table} WHERE false")
            cur.fetchall()
            if hold is not None:
                yield from self._incremental(cur, cs, table, select, state, hold)
            else:
                yield from self._full_refresh(cur, cs, table, select, state)
            cur.close()
            conn.rollback()

    def _full_refresh(self, cur: Any, cs: ConfiguredStream, table: str, select: str,
                      state: dict[str, Any] | None) -> Iterator[Message]:
        if state and state.get("complete"):
            yield State(cs.name, state)
            return
        cur.execute(
            f"SELECT pg_relation_size('{table.replace(chr(39), chr(39) * 2)}'::regclass) / "
            "current_setting('block_size')::bigint, "
            "(SELECT reltuples FROM pg_class WHERE oid = "
            f"'{table.replace(chr(39), chr(39) * 2)}'::regclass)")
        (pages, tuples), = cur.fetchall()
        if tuples and tuples > 0:
            yield Estimate(cs.name, int(tuples))
        pages = int(pages or 0)
        per_page = max(1.0, float(tuples or 0) / pages) if pages and (tuples or 0) > 0 else 50.0
        step = max(1, int(self.checkpoint_rows / per_page))
        page = int((state or {}).get("next_page", 0))
        while True:
            last = page + step >= pages
            where = f"ctid >= '({page},0)'::tid" + ("" if last else
                                                    f" AND ctid < '({page + step},0)'::tid")
            yield from self._query(cur, cs, f"SELECT {select} FROM {table} WHERE {where}")
            page += step
            if last:
                break
            yield State(cs.name, {"next_page": page})
        yield State(cs.name, {"complete": True})

    def _settle(self, cur: Any, cs: ConfiguredStream,
                table: str) -> Generator[Message, None, Settled]:
        """Wait for the table's open writers; the highest cursor value a checkpoint may take."""
        cursor = cs.cursor
        assert cursor is not None
        field = cs.stream.schema.field(cursor)
        regclass = quote_literal(table) + "::regclass"
        # first the maximum, then the writers: a row below the maximum that this statement
        # could not see belongs to a transaction still holding its lock at the next one
        # (ORDER BY, not max(): every type a read can order by, uuid and boolean too)
        col = quote_ident(cursor)
        top = self._one(cur, field, f"SELECT {_select_expr(field)} FROM {table} WHERE {col} "
                        f"IS NOT NULL ORDER BY {table}.{col} DESC LIMIT 1")
        cur.execute("SELECT coalesce(array_agg(DISTINCT virtualtransaction), '{}') "
                    "FROM pg_locks WHERE locktype = 'relation' AND granted "
                    "AND pid <> pg_backend_pid() AND mode IN ('RowExclusiveLock', "
                    "'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock') "
                    f"AND (relation = {regclass} OR relation IN "
                    f"(SELECT relid FROM pg_partition_tree({regclass})))")
        (writers,), = cur.fetchall()
        deadline = time.monotonic() + self.settle_seconds
        while writers:
            still = quote_literal("{" + ",".join(writers) + "}")
            cur.execute("SELECT coalesce(array_agg(DISTINCT virtualtransaction), '{}') "
                        f"FROM pg_locks WHERE virtualtransaction = ANY({still}::text[])")
            (writers,), = cur.fetchall()
            if writers and time.monotonic() >= deadline:
                yield Log("WARN", f"stream {cs.name!r}: {len(writers)} transaction(s) writing "
                          f"to {table} stayed open over {self.settle_seconds:g}s; rows they "
                          "commit later may hold cursor values below this read's, so the "
                          "checkpoint stays where it was and the next sync reads them again")
                return Settled(None, stay=True)
            if writers:
                time.sleep(0.02)
        return Settled(top, stay=top is None)

    def _one(self, cur: Any, field: pa.Field, sql: str) -> Any:
        """The first value a one-column query returns, as the stream's type (None: no row)."""
        cur.execute(sql)
        table = cur.fetch_arrow_table()
        if not table.num_rows:
            return None
        batch = table.combine_chunks().to_batches()[0]
        return _conform("settle", batch, pa.schema([field])).column(0)[0].as_py()

    def _incremental(self, cur: Any, cs: ConfiguredStream, table: str, select: str,
                     state: dict[str, Any] | None, hold: Settled) -> Iterator[Message]:
        cursor = cs.cursor
        assert cursor is not None
        field = cs.stream.schema.field(cursor)
        col = quote_ident(cursor)
        pg_type = field.metadata[PG_TYPE_KEY].decode() if field.metadata else "text"

        def value(v: Any) -> str:
            return f"{quote_literal(str(v))}::{pg_type}"

        last = (state or {}).get("cursor")
        where = f"{col} IS NOT NULL" + (f" AND {col} >= {value(last)}" if last is not None
                                        else "")
        rows_since = 0
        for extra, advance in hold.ranges(col, lambda top: value(state_value(top))):
            cond = where + (f" AND {extra}" if extra else "")
            # ordered by the table's column, not the output of the same name (which is text
            # for a column read as text: '10.00' < '9.75')
            sql = f"SELECT {select} FROM {table} WHERE {cond} ORDER BY {table}.{col}"
            for whole in self._query(cur, cs, sql):
                # checkpoints fall inside large batches too: rows arrive ordered by the cursor
                for offset in range(0, whole.num_rows, self.checkpoint_rows):
                    msg = RecordBatch(cs.name, whole.batch.slice(offset, self.checkpoint_rows))
                    yield msg
                    if advance:
                        last = state_value(msg.batch.column(cursor)[-1].as_py())
                    rows_since += msg.num_rows
                    if rows_since >= self.checkpoint_rows:
                        rows_since = 0
                        yield State(cs.name, {"cursor": last, "cursor_field": cursor})
        yield State(cs.name, {"cursor": last, "cursor_field": cursor})

    def _query(self, cur: Any, cs: ConfiguredStream, sql: str) -> Iterator[RecordBatch]:
        schema = cs.stream.schema
        cur.adbc_statement.set_options(**{BATCH_SIZE_HINT: str(self.batch_bytes)})
        cur.execute(sql)
        reader = cur.fetch_record_batch()
        for batch in reader:
            if batch.num_rows:
                yield RecordBatch(cs.name, _conform(cs.name, batch, schema))


def _select_expr(f: pa.Field) -> str:
    name = quote_ident(f.name)
    # numeric: ADBC turns the binary digits into the same text the server would send, at
    # more cost: at 2M rows, 0.7 CPU-seconds more for client and server together
    as_text = read_as_text(f) or pa.types.is_decimal(f.type)
    return f"{name}::text AS {name}" if as_text else name


def _conform(stream: str, batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast what ADBC produced into the stream's canonical Arrow types."""
    cols = []
    for f, col in zip(schema, batch.columns, strict=True):
        if col.type != f.type:
            if isinstance(col.type, pa.BaseExtensionType) and not (
                at.is_uuid(col.type) or at.is_json(col.type)
            ):
                col = col.storage
            try:
                # numeric(p,s) text from the server holds at most p digits and s decimals,
                # so Arrow's plain cast is exact here (and much cheaper than cast_exact)
                col = col if col.type == f.type else pc.cast(col, f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise RecordRejected(f"column {f.name!r}: cannot represent value as "
                                     f"{at.type_name(f)}: {exc}", location=stream) from exc
        cols.append(col)
    return pa.RecordBatch.from_arrays(cols, schema=schema)
