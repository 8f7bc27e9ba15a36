"""PostgreSQL source: catalog from pg_catalog, rows through ADBC's binary COPY into Arrow.

A full refresh of a table with a primary key reads it as key ranges, several at once (that
many connections), all in one snapshot, with ``parallel_readers`` set above 1, or, when it is
unset, with one reader per available core once the table holds ``auto_min_rows`` rows (by
its statistics) and the destination takes rows in any order (see
``Capabilities.ordered_load``): a
coordinating connection exports its REPEATABLE READ snapshot (``pg_export_snapshot()``) and
holds it open while each reader imports it (``SET TRANSACTION SNAPSHOT``). Each range is read
in key order, and checkpoints name the key ranges still to read, each from the key after its
last row sent (see ``connectors.partitioned``), so a stopped read resumes in a new snapshot
re-reading nothing it committed. Otherwise (the default, and a table without a primary key)
one connection reads ``ctid`` page ranges, checkpointed after each. Incremental reads
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

import contextlib
import time
from collections.abc import Generator, Iterator
from typing import Any, ClassVar

import adbc_driver_postgresql.dbapi as adbc
import pyarrow as pa
import pyarrow.compute as pc
from adbc_driver_postgresql import StatementOptions

from sluiceway.connectors.base import Capabilities, Settled, Source
from sluiceway.connectors.partitioned import (
    Fan,
    KeyRange,
    available_cores,
    default_readers,
    fan_in,
    ranges_from_state,
    split,
)
from sluiceway.connectors.postgres import raw as raw_copy
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
from sluiceway.core.errors import Fatal, RecordRejected
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
        incremental=True, resumable_full_refresh=True, partitioned_reads=True,
        raw_formats=(raw_copy.FORMAT,))
    #: rows between two checkpoints (approximate for a keyless table: whole page ranges)
    checkpoint_rows: int = 500_000
    #: the size ADBC aims at for one record batch; small batches keep memory flat
    batch_bytes: int = 4 * 1024 * 1024
    #: how long an incremental read waits for the table's open writers (see the module doc)
    settle_seconds: float = 10.0
    #: key ranges per reader (more, smaller ranges even out the readers' shares)
    ranges_per_reader: int = 4
    #: fewer rows than this per range, and the table is read in fewer ranges
    min_range_rows: int = 100_000
    #: with ``parallel_readers`` unset, a table this big (estimated) gets a reader per core;
    #: measured on 2 cores (``bench.run --readers 2,stream``, postgres -> parquet): no gain
    #: at 300,000 and 1,000,000 rows, 5-10 % at 2,000,000
    auto_min_rows: int = 1_500_000
    #: a raw read (see ``raw``) of several key ranges hands each range over whole, so a
    #: range is cut to about this much of the table's heap (what a reader holds at once)
    raw_range_bytes: int = 8 * 1024 * 1024
    #: the size of one block of raw rows
    raw_block_bytes: int = 1024 * 1024

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
        raw = self.raw_format == raw_copy.FORMAT and cs.sync_mode is SyncMode.full_refresh
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
            elif ((key := _range_key(cs)) and "next_page" not in (state or {})
                  and ("ranges" in (state or {}) or cfg.get("parallel_readers")
                       or self._readers(cfg, cur, table) > 1)):
                yield from self._key_ranges(cfg, cur, cs, table, select, state, key,
                                            self._readers(cfg, cur, table), raw)
            else:
                yield from self._full_refresh(cfg, cur, cs, table, select, state, raw)
            cur.close()
            conn.rollback()

    def _readers(self, cfg: dict[str, Any], cur: Any, table: str) -> int:
        """``parallel_readers``, else a reader per core for a big enough table (one when
        the destination loads best in key order)."""
        if cfg.get("parallel_readers"):
            return int(cfg["parallel_readers"])
        if not self.auto_readers or available_cores() < 2:
            return 1
        pages, per_page = self._size(cur, table)
        return default_readers(int(pages * per_page), self.auto_min_rows)

    def _size(self, cur: Any, table: str) -> tuple[int, float]:
        """The table's pages and its rows per page (estimated, from the statistics)."""
        regclass = quote_literal(table) + "::regclass"
        cur.execute(f"SELECT pg_relation_size({regclass}) / current_setting('block_size')"
                    f"::bigint, (SELECT reltuples FROM pg_class WHERE oid = {regclass})")
        (pages, tuples), = cur.fetchall()
        pages = int(pages or 0)
        per_page = max(1.0, float(tuples or 0) / pages) if pages and (tuples or 0) > 0 else 50.0
        return pages, per_page

    def _key_ranges(self, cfg: dict[str, Any], cur: Any, cs: ConfiguredStream,
                    table: str, select: str, state: dict[str, Any] | None,
                    key: list[pa.Field], wanted: int, raw: bool) -> Iterator[Message]:
        """Full refresh in key ranges, by several readers in this connection's snapshot.

        A raw read's readers are connections of their own (even one reader), each range
        read whole before it is handed over: raw rows carry no key to checkpoint inside
        a range by, so a State may only follow ranges sent to their end."""
        if state and state.get("complete"):
            yield State(cs.name, state)
            return
        names = [f.name for f in key]
        ranges = ranges_from_state(cs.name, names, state)
        if ranges is None:
            pages, per_page = self._size(cur, table)
            rows = int(pages * per_page)
            if rows:
                yield Estimate(cs.name, rows)
            count = max(1, min(wanted * self.ranges_per_reader, rows // self.min_range_rows))
            if raw and wanted > 1:  # ranges held whole in memory (see fan_in): small
                size = self._bytes(cur, table)
                count = max(count, min(size // self.raw_range_bytes, rows))
            ranges = split(self._bounds(cur, cs, table, key, rows, count))
        readers = min(wanted, len(ranges))
        snapshot = None
        if raw or readers > 1:  # a raw read's one reader is a connection of its own too
            snapshot = yield from self._export_snapshot(
                cur, cs, "its rows go through Arrow" if raw else "one reader reads the table")
            if snapshot is None:
                raw, readers = False, 1
        yield Log("INFO", f"stream {cs.name!r}: {len(ranges)} key range(s) of {table}, "
                  f"{readers} reader(s) in one snapshot"
                  + (", rows passed through as binary COPY tuples" if raw else ""))
        raw_select = raw_copy.select_list(cs.stream.schema)
        order = ", ".join(f"{table}.{quote_ident(f.name)}" for f in key)
        row = f"({order})" if len(key) > 1 else order
        # the readers' batches in flight together weigh about what one reader's would
        share = max(self.batch_bytes // readers, min(self.batch_bytes, 1024 * 1024))

        def literal(values: list[Any]) -> str:
            lits = [_literal(f, v) for f, v in zip(key, values, strict=True)]
            return f"({', '.join(lits)})" if len(key) > 1 else lits[0]

        def open_reader() -> Any:
            if snapshot is None:
                return None  # the one reader is this connection
            if raw:
                return raw_copy.connect_in_snapshot(cfg, snapshot)
            reader = _connect(cfg)
            with translate(cfg):
                rcur = reader.cursor()
                rcur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                rcur.execute(f"SET TRANSACTION SNAPSHOT {quote_literal(snapshot)}")
            return reader, rcur

        def read(context: Any, rng: KeyRange) -> Generator[pa.RecordBatch, None, None]:
            conds = ([f"{row} > {literal(rng.after)}"] if rng.after is not None else []) + (
                [f"{row} <= {literal(rng.upto)}"] if rng.upto is not None else [])
            where = (" WHERE " + " AND ".join(conds)) if conds else ""
            if raw:  # whole ranges: any order (the server may scan the heap in its order)
                yield from raw_copy.copy_out(context, cfg, cs.name,
                                             f"SELECT {raw_select} FROM {table}{where}",
                                             cs.stream.schema, self.raw_block_bytes)
                return
            sql = f"SELECT {select} FROM {table}{where} ORDER BY {order}"
            with translate(cfg):
                for msg in self._query(cur if context is None else context[1], cs, sql,
                                       share):
                    yield msg.batch

        def close(context: Any) -> None:
            if raw and context is not None:
                context.close()  # psycopg's close never raises
            elif context is not None:
                with contextlib.suppress(adbc.Error):
                    context[1].close()
                    context[0].rollback()
                with contextlib.suppress(adbc.Error):
                    context[0].close()

        yield from fan_in(cs.name, names, ranges, Fan(open_reader, read, close), readers,
                          self.checkpoint_rows, whole_ranges=raw)

    def _bytes(self, cur: Any, table: str) -> int:
        """The table's size on disk, its TOASTed values included (not its indexes)."""
        cur.execute(f"SELECT pg_table_size({quote_literal(table)}::regclass)")
        (size,), = cur.fetchall()
        return int(size or 0)

    def _bounds(self, cur: Any, cs: ConfiguredStream, table: str, key: list[pa.Field],
                rows: int, count: int) -> list[list[Any]]:
        """Up to ``count - 1`` key values that cut the table into ranges of similar size."""
        if count <= 1:
            return []
        cols = [f"{table}.{quote_ident(f.name)}" for f in key]
        if len(key) == 1 and pa.types.is_integer(key[0].type):
            cur.execute(f"SELECT min({cols[0]}), max({cols[0]}) FROM {table}")
            (lo, hi), = cur.fetchall()
            if lo is None or hi <= lo:
                return []
            step = (int(hi) - int(lo)) / count
            steps = sorted({int(lo) + int(step * i) for i in range(1, count)})
            return [[c] for c in steps if lo <= c < hi]
        # a page sample of some hundred keys per range, cut at its quantiles
        percent = min(100.0, max(0.001, 100.0 * 200 * count / max(rows, 1)))
        cur.execute(f"SELECT {', '.join(_select_expr(f) for f in key)} FROM {table} "
                    f"TABLESAMPLE SYSTEM ({percent:.6f}) ORDER BY {', '.join(cols)}")
        sample = cur.fetch_arrow_table()
        if sample.num_rows < count:
            return []
        batch = _conform(cs.name, sample.combine_chunks().to_batches()[0], pa.schema(key))
        cuts: list[list[Any]] = []
        for i in range(1, count):
            at_row = sample.num_rows * i // count
            cut = [state_value(batch.column(j)[at_row].as_py()) for j in range(len(key))]
            if not cuts or cuts[-1] != cut:
                cuts.append(cut)
        return cuts

    def _export_snapshot(self, cur: Any, cs: ConfiguredStream, otherwise: str,
                         ) -> Generator[Message, None, str | None]:
        """This read's snapshot, exported for other connections (None: it cannot be, the
        log says so and what happens ``otherwise``, and the read goes on in a new
        REPEATABLE READ transaction of its own connection)."""
        try:
            cur.execute("SELECT pg_export_snapshot()")
            (snapshot,), = cur.fetchall()
        except adbc.Error as exc:  # a standby before 10, or a server that forbids it
            yield Log("WARN", f"stream {cs.name!r}: cannot share this read's snapshot "
                      f"({exc}); {otherwise}")
            cur.connection.rollback()
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return None
        return str(snapshot)

    def _full_refresh(self, cfg: dict[str, Any], cur: Any, cs: ConfiguredStream, table: str,
                      select: str, state: dict[str, Any] | None,
                      raw: bool) -> Iterator[Message]:
        if state and state.get("complete"):
            yield State(cs.name, state)
            return
        if state and "ranges" in state:  # read without it, they would come twice
            raise Fatal(f"stream {cs.name!r}: the saved position names ranges of key "
                        f"{state.get('key')!r}, which the stream no longer has; reset the "
                        "stream's state")
        pages, per_page = self._size(cur, table)
        if pages:
            yield Estimate(cs.name, int(pages * per_page))
        step = max(1, int(self.checkpoint_rows / per_page))
        page = int((state or {}).get("next_page", 0))
        reader = None
        if raw:
            snapshot = yield from self._export_snapshot(cur, cs, "its rows go through Arrow")
            if snapshot is not None:
                reader = raw_copy.connect_in_snapshot(cfg, snapshot)
                select = raw_copy.select_list(cs.stream.schema)
        try:  # from here on, a read closed at any yield closes the reader with it
            if reader is not None:
                yield Log("INFO", f"stream {cs.name!r}: rows passed through as binary COPY "
                          "tuples")
            while True:
                last = page + step >= pages
                where = f"ctid >= '({page},0)'::tid" + (
                    "" if last else f" AND ctid < '({page + step},0)'::tid")
                sql = f"SELECT {select} FROM {table} WHERE {where}"
                if reader is not None:
                    yield from raw_copy.copy_out(reader, cfg, cs.name, sql, cs.stream.schema,
                                                 self.raw_block_bytes)
                else:
                    yield from self._query(cur, cs, sql)
                page += step
                if last:
                    break
                yield State(cs.name, {"next_page": page})
        finally:
            if reader is not None:
                reader.close()
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

    def _query(self, cur: Any, cs: ConfiguredStream, sql: str,
               batch_bytes: int | None = None) -> Iterator[RecordBatch]:
        schema = cs.stream.schema
        size = batch_bytes or self.batch_bytes
        cur.adbc_statement.set_options(**{BATCH_SIZE_HINT: str(size)})
        cur.execute(sql)
        reader = cur.fetch_record_batch()
        for batch in reader:
            if batch.num_rows:
                yield RecordBatch(cs.name, _conform(cs.name, batch, schema))


def _range_key(cs: ConfiguredStream) -> list[pa.Field] | None:
    """The table's primary key, when a read can be split and resumed on it: every column
    selected, of a type whose value survives the trip through a State (not bytes, JSON,
    arrays)."""
    key = cs.stream.source_defined_primary_key
    names = cs.stream.schema.names
    if not key or any(len(k) != 1 or k[0] not in names for k in key):
        return None
    fields = [cs.stream.schema.field(k[0]) for k in key]
    for f in fields:
        t = f.type
        if (pa.types.is_binary(t) or pa.types.is_large_binary(t) or at.is_json(t)
                or pa.types.is_nested(t) or pa.types.is_dictionary(t)):
            return None
    return fields


def _literal(f: pa.Field, value: Any) -> str:
    """A saved key value as SQL of the column's own type (the server compares)."""
    declared = f.metadata[PG_TYPE_KEY].decode() if f.metadata and PG_TYPE_KEY in f.metadata else (
        "text")
    return f"{quote_literal(str(value))}::{declared}"


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
