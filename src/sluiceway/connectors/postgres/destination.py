"""PostgreSQL destination: Arrow batches encoded by pgpq into binary ``COPY FROM STDIN``."""

from __future__ import annotations

from typing import Any, ClassVar

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from pgpq import ArrowToPostgresBinaryEncoder
from pgpq import encoders as pgpq_encoders
from pgpq import schema as pgpq_schema

from sluiceway.connectors.base import Capabilities, Upserts
from sluiceway.connectors.postgres import raw as raw_copy
from sluiceway.connectors.postgres.errors import translate
from sluiceway.connectors.postgres.spec import DESTINATION_SPEC, checked_conninfo
from sluiceway.connectors.postgres.types import PgColumn, quote_ident, to_arrow, to_pg
from sluiceway.connectors.postgres.writer import QueuedWriter
from sluiceway.connectors.sqlbase import SEQ_COLUMN, SqlDestination, StreamTarget
from sluiceway.core.errors import Fatal
from sluiceway.protocol import arrow_types as at
from sluiceway.protocol.catalog import DestinationSyncMode
from sluiceway.protocol.evolve import plan_evolution
from sluiceway.protocol.messages import RawRows
from sluiceway.protocol.spec import ConnectorSpec, validate_config

#: where each stream's committed States are recorded (see SqlDestination.save_state)
STATE_TABLE = "_sluiceway_state"


class _Session:
    def __init__(self, conn: psycopg.Connection[Any], config: dict[str, Any]) -> None:
        self.conn = conn
        self.config = config
        self.schema: str = config.get("schema") or "public"
        # table -> (context manager, copy, encoder; None for raw rows)
        self.copies: dict[str, Any] = {}
        # table -> (landing table, INSERT ... SELECT from it) of raw rows whose types differ
        self.landing: dict[str, tuple[str, str]] = {}
        self.stored: dict[str, int] = {}  # table -> rows the server said its COPYs stored

    def q(self, table: str) -> str:
        if table.startswith("pg_temp."):  # a temporary table, named as it is
            return table
        return f"{quote_ident(self.schema)}.{quote_ident(table)}"


class PostgresDestination(SqlDestination):
    name: ClassVar[str] = "postgres"
    capabilities: ClassVar[Capabilities] = Capabilities(
        destination_sync_modes=tuple(DestinationSyncMode), raw_formats=(raw_copy.FORMAT,))
    # COPY into a table without an index, then one sorted build: the server's own
    # bulk-load order (as pg_restore does), far less work than a b-tree insert per row
    keys_after_load: ClassVar[bool] = True

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return DESTINATION_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        session = self.connect(config)
        try:
            with translate(session.config):
                session.conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {session.q('_sluiceway_check')} (x int)")
                session.conn.execute(f"DROP TABLE {session.q('_sluiceway_check')}")
                session.conn.rollback()
        finally:
            self.close(session)
        return "connected; can create tables"

    def upserts(self, config: dict[str, Any], table: str,
                keys: tuple[str, ...]) -> Upserts:
        return _Upserts(self, config, table, list(keys))

    # ---- hooks -------------------------------------------------------------------------
    def connect(self, config: dict[str, Any]) -> _Session:
        cfg = validate_config(DESTINATION_SPEC, config)
        with translate(cfg, connecting=True):
            conn = psycopg.connect(checked_conninfo(cfg), autocommit=False)
        session = _Session(conn, cfg)
        with translate(cfg):
            # parallel streams connect at once: IF NOT EXISTS alone races in the catalog
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('sluiceway.destination'))")
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(session.schema)}")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {session.q(STATE_TABLE)} "
                         "(key text PRIMARY KEY, state jsonb NOT NULL, "
                         "updated_at timestamptz NOT NULL)")
            conn.execute("SET TIME ZONE 'UTC'")
            conn.commit()
        return session

    def close(self, session: _Session) -> None:
        for cm, _, _ in session.copies.values():
            try:
                cm.__exit__(RuntimeError, RuntimeError("aborted"), None)
            except Exception:  # noqa: BLE001, S110 - the connection is closing anyway
                pass
        session.copies.clear()
        session.conn.close()

    def table_schema(self, session: _Session, table: str) -> pa.Schema | None:
        with translate(session.config):
            rows = session.conn.execute(
                "SELECT a.attname, t.typname, a.atttypmod, "
                "format_type(a.atttypid, a.atttypmod), NOT a.attnotnull "
                "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 "
                "AND NOT a.attisdropped ORDER BY a.attnum",
                (session.q(table),)).fetchall()
        if not rows:
            return None
        return pa.schema([to_arrow(PgColumn(r[0], r[1], int(r[2]), r[3], bool(r[4])))
                          for r in rows if r[0] != SEQ_COLUMN])

    def list_tables(self, session: _Session, prefix: str) -> list[str]:
        with translate(session.config):
            rows = session.conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s "
                "AND starts_with(tablename, %s)", (session.schema, prefix)).fetchall()
        return [r[0] for r in rows]

    def create_table(self, session: _Session, table: str, schema: pa.Schema,
                     primary_key: list[str], *, with_seq: bool) -> None:
        cols = [f"{quote_ident(f.name)} {to_pg(f)}" for f in schema]
        if with_seq:
            cols.append(f"{quote_ident(SEQ_COLUMN)} bigint GENERATED ALWAYS AS IDENTITY")
        if primary_key:
            cols.append("PRIMARY KEY (" + ", ".join(quote_ident(c) for c in primary_key) + ")")
        with translate(session.config):
            session.conn.execute(f"CREATE TABLE {session.q(table)} ({', '.join(cols)})")

    def drop_table(self, session: _Session, table: str) -> None:
        with translate(session.config):
            session.conn.execute(f"DROP TABLE IF EXISTS {session.q(table)}")

    def add_column(self, session: _Session, table: str, field: pa.Field) -> None:
        with translate(session.config):
            session.conn.execute(f"ALTER TABLE {session.q(table)} ADD COLUMN "
                                 f"{quote_ident(field.name)} {to_pg(field)}")

    def widen_column(self, session: _Session, table: str, field: pa.Field,
                     new_type: pa.DataType) -> None:
        col = quote_ident(field.name)
        pg = to_pg(pa.field(field.name, new_type))
        with translate(session.config):
            session.conn.execute(f"ALTER TABLE {session.q(table)} ALTER COLUMN {col} "
                                 f"TYPE {pg} USING {col}::{pg}")

    def load(self, session: _Session, target: StreamTarget, batch: pa.RecordBatch) -> None:
        try:
            batch = _encodable(batch)
        except _NeedsCast:
            self.flush(session, target)
            self._load_with_casts(session, target, batch)
            return
        entry = session.copies.get(target.table)
        with translate(session.config):
            if entry is None:
                encoder = _encoder(batch.schema, self._jsonb_columns(session, target.table))
                cols = ", ".join(quote_ident(n) for n in batch.schema.names)
                cur = session.conn.cursor()
                cm = cur.copy(f"COPY {session.q(target.table)} ({cols}) "
                              "FROM STDIN (FORMAT binary)", writer=QueuedWriter(cur))
                copy = cm.__enter__()
                copy.write(encoder.write_header())
                entry = session.copies[target.table] = (cm, copy, encoder)
            _, copy, encoder = entry
            copy.write(encoder.write_batch(batch))

    def load_raw(self, session: _Session, target: StreamTarget, rows: RawRows) -> None:
        """Copy binary tuples straight into the table when each column's type is the one
        they were read as, else into a landing table of those types that the server then
        casts into the table's (at the next flush): an existing table whose column was
        widened, or declared otherwise (``text`` for ``varchar``, ``jsonb`` for ``json``)."""
        if rows.format != raw_copy.FORMAT:
            super().load_raw(session, target, rows)
        entry = session.copies.get(target.table)
        if entry is not None and entry[2] is not None:  # Arrow rows before these
            self.flush(session, target)
            entry = None
        with translate(session.config):
            if entry is None:
                into = self._raw_target(session, target.table, rows)
                cols = ", ".join(quote_ident(n) for n in rows.columns)
                cm = session.conn.cursor().copy(f"COPY {into} ({cols}) FROM STDIN "
                                                "(FORMAT binary)")
                copy = cm.__enter__()
                copy.write(raw_copy.HEADER)
                entry = session.copies[target.table] = (cm, copy, None)
            entry[1].write(rows.data)

    def _raw_target(self, session: _Session, table: str, rows: RawRows) -> str:
        """The table raw rows are copied into: ``table`` itself, or a landing table."""
        found = dict(session.conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped",
            (session.q(table),)).fetchall())
        if all(found.get(c) == t for c, t in zip(rows.columns, rows.types, strict=True)):
            session.landing.pop(table, None)
            return session.q(table)
        land = f'pg_temp."_sw_raw_{len(session.landing) + 1}"'
        decl = ", ".join(f"{quote_ident(c)} {t}"
                         for c, t in zip(rows.columns, rows.types, strict=True))
        session.conn.execute(f"DROP TABLE IF EXISTS {land}")
        session.conn.execute(f"CREATE TEMPORARY TABLE {land} ({decl}) ON COMMIT DROP")
        cols = ", ".join(quote_ident(c) for c in rows.columns)
        # the server's assignment casts, as an INSERT of values would have them: a value
        # the column cannot hold (too long for varchar(3), say) fails, never truncated
        session.landing[table] = (land, f"INSERT INTO {session.q(table)} ({cols}) "
                                        f"SELECT {cols} FROM {land}")
        return land

    def _load_with_casts(self, session: _Session, target: StreamTarget,
                         batch: pa.RecordBatch) -> None:
        """Load a batch whose exact numerics exceed decimal128 (or are NaN): COPY it into a
        temporary landing table holding those columns as text, then let the server cast."""
        texts = [f.name for f in batch.schema if at.is_numeric_text(f)]
        cols = ", ".join(quote_ident(n) for n in batch.schema.names)
        land = 'pg_temp."_sw_land"'
        casts = ", ".join(f"{quote_ident(n)}::numeric" if n in texts else quote_ident(n)
                          for n in batch.schema.names)
        plain = pa.RecordBatch.from_arrays(
            [c.storage if isinstance(c.type, pa.BaseExtensionType) else c
             for c in batch.columns],
            names=batch.schema.names)
        with translate(session.config):
            session.conn.execute(f"DROP TABLE IF EXISTS {land}")
            session.conn.execute(f"CREATE TEMP TABLE \"_sw_land\" AS SELECT {cols} FROM "
                                 f"{session.q(target.table)} WITH NO DATA")
            for n in texts:
                session.conn.execute(f"ALTER TABLE {land} ALTER COLUMN {quote_ident(n)} "
                                     "TYPE text")
            encoder = _encoder(plain.schema, self._jsonb_columns(session, land))
            with session.conn.cursor().copy(f"COPY {land} ({cols}) FROM STDIN "
                                            "(FORMAT binary)") as copy:
                copy.write(encoder.write_header())
                copy.write(encoder.write_batch(plain))
                copy.write(encoder.finish())
            moved = session.conn.execute(f"INSERT INTO {session.q(target.table)} ({cols}) "
                                         f"SELECT {casts} FROM {land}").rowcount
            session.stored[target.table] = session.stored.get(target.table, 0) + moved
            session.conn.execute(f"DROP TABLE {land}")

    def _jsonb_columns(self, session: _Session, table: str) -> set[str]:
        rows = session.conn.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) "
            "AND a.atttypid = 'jsonb'::regtype AND NOT a.attisdropped",
            (table if table.startswith("pg_temp.") else session.q(table),)).fetchall()
        return {r[0] for r in rows}

    def flush(self, session: _Session, target: StreamTarget) -> None:
        entry = session.copies.pop(target.table, None)
        if entry is None:
            return
        cm, copy, encoder = entry
        with translate(session.config):
            copy.write(raw_copy.TRAILER if encoder is None else encoder.finish())
            cm.__exit__(None, None, None)
            # the server's own count of the rows this COPY stored ("COPY n")
            stored = max(copy.cursor.rowcount, 0)
            landing = session.landing.pop(target.table, None) if encoder is None else None
            if landing is not None:  # raw rows of other types: the server casts them
                land, insert = landing
                stored = max(session.conn.execute(insert).rowcount, 0)
                session.conn.execute(f"DROP TABLE {land}")
            session.stored[target.table] = session.stored.get(target.table, 0) + stored

    def commit(self, session: _Session) -> None:
        with translate(session.config):
            session.conn.commit()

    def add_primary_key(self, session: _Session, table: str, primary_key: list[str]) -> None:
        keys = ", ".join(quote_ident(c) for c in primary_key)
        with translate(session.config):
            if self._primary_key_name(session, table) is not None:
                return  # a staging table made with its key (by an earlier version)
            try:
                session.conn.execute(f"ALTER TABLE {session.q(table)} ADD PRIMARY KEY ({keys})")
            except psycopg.errors.UniqueViolation as exc:
                detail = (exc.diag.message_detail or "").strip()
                raise Fatal(f"the source sent one primary key ({', '.join(primary_key)}) "
                            f"more than once: {detail or exc}; the previous data is left "
                            "in place") from exc

    def _primary_key_name(self, session: _Session, table: str) -> str | None:
        row = session.conn.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s) "
            "AND contype = 'p'", (session.q(table),)).fetchone()
        return str(row[0]) if row else None

    def swap(self, session: _Session, staging: str, target: str, primary_key: list[str]) -> None:
        with translate(session.config):
            session.conn.execute(f"DROP TABLE IF EXISTS {session.q(target)}")
            session.conn.execute(f"ALTER TABLE {session.q(staging)} RENAME TO "
                                 f"{quote_ident(target)}")
            # the key keeps the staging table's name; give it the one PostgreSQL would
            key = self._primary_key_name(session, target)
            conventional = f"{target}_pkey"
            if key is not None and len(conventional.encode()) <= 63:
                free = session.conn.execute("SELECT to_regclass(%s) IS NULL",
                                            (session.q(conventional),)).fetchone()
                if free and free[0]:
                    session.conn.execute(f"ALTER TABLE {session.q(target)} RENAME "
                                         f"CONSTRAINT {quote_ident(key)} TO "
                                         f"{quote_ident(conventional)}")

    def save_state(self, session: _Session, key: str, state: str) -> None:
        with translate(session.config):
            session.conn.execute(
                f"INSERT INTO {session.q(STATE_TABLE)} VALUES (%s, %s, now()) "
                "ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state, "
                "updated_at = EXCLUDED.updated_at", (key, state))

    def load_state(self, session: _Session, key: str) -> str | None:
        with translate(session.config):
            row = session.conn.execute(f"SELECT state::text FROM {session.q(STATE_TABLE)} "
                                       "WHERE key = %s", (key,)).fetchone()
        return str(row[0]) if row else None

    def clear_states(self, session: _Session, prefix: str) -> None:
        with translate(session.config):
            session.conn.execute(f"DELETE FROM {session.q(STATE_TABLE)} "
                                 "WHERE starts_with(key, %s)", (prefix,))

    def count_rows(self, session: _Session, table: str) -> int | None:
        """What the server reported storing in ``table`` during this session (no scan)."""
        return session.stored.get(table, 0)

    def merge(self, session: _Session, staging: str, target: str, columns: list[str],
              primary_key: list[str]) -> None:
        cols = ", ".join(quote_ident(c) for c in columns)
        keys = ", ".join(quote_ident(c) for c in primary_key)
        match = " AND ".join(f"t.{quote_ident(c)} = s.{quote_ident(c)}" for c in primary_key)
        with translate(session.config):
            session.conn.execute(f"DELETE FROM {session.q(target)} t USING "
                                 f"{session.q(staging)} s WHERE {match}")
            session.conn.execute(
                f"INSERT INTO {session.q(target)} ({cols}) SELECT DISTINCT ON ({keys}) {cols} "
                f"FROM {session.q(staging)} ORDER BY {keys}, {quote_ident(SEQ_COLUMN)} DESC")


class _Upserts(Upserts):
    """A route's chunks upserted into one table over one connection: each chunk is copied
    into a temporary staging table (made once per column set, emptied at each commit), then
    merged into the table on the key (the row loaded last wins), as the ``append_dedup``
    sync mode does, without a table created and dropped per chunk."""

    def __init__(self, dest: PostgresDestination, config: dict[str, Any], table: str,
                 keys: list[str]) -> None:
        self.dest, self.table, self.keys = dest, table, keys
        self.session = dest.connect(config)
        self.schema: pa.Schema | None = None  # the last chunk's (the table fits it)
        self.staging: dict[tuple[tuple[str, str], ...], str] = {}
        self.made = 0
        self.columns: pa.Schema | None = None  # the table's, read when a chunk needs them

    def _typed(self, table: pa.Table) -> pa.Table:
        """A column null in every row of the chunk (Arrow gives it no type) takes the
        table's type for it, so the rows it replaces get NULL there too; a column the table
        does not have yet is left out (nothing says what type to add it with)."""
        nulls = [i for i, f in enumerate(table.schema) if pa.types.is_null(f.type)]
        if not nulls:
            return table
        if self.columns is None:
            self.columns = self.dest.table_schema(self.session, self.table) or pa.schema([])
        for i in reversed(nulls):
            name = table.schema.field(i).name
            at = self.columns.get_field_index(name)
            if at < 0:
                table = table.remove_column(i)
            else:
                column = self.columns.field(at).with_nullable(True)  # its type as stored
                table = table.set_column(i, column, pa.nulls(table.num_rows, column.type))
        return table

    def write(self, table: Any) -> None:
        dest, session = self.dest, self.session
        with translate(session.config):
            table = self._typed(table)
            schema: pa.Schema = table.schema
            if self.schema is None or not schema.equals(self.schema):
                existing = dest.table_schema(session, self.table)
                if existing is None:
                    dest.create_table(session, self.table, schema, self.keys, with_seq=False)
                else:
                    evo = plan_evolution(self.table, existing, schema)
                    for f in evo.add:
                        dest.add_column(session, self.table, f)
                    for old, new_type in evo.widen:
                        dest.widen_column(session, self.table, old, new_type)
                self.schema, self.columns = schema, None
            signature = tuple((f.name, to_pg(f)) for f in schema)
            staging = self.staging.get(signature)
            if staging is None:
                self.made += 1  # never a name used before (one made in a rolled back
                # transaction is gone, one made before it is not)
                staging = f'pg_temp."_sw_upsert_{self.made}"'
                cols = [f"{quote_ident(n)} {t}" for n, t in signature]
                cols.append(f"{quote_ident(SEQ_COLUMN)} bigint GENERATED ALWAYS AS IDENTITY")
                session.conn.execute(f"CREATE TEMPORARY TABLE {staging} ({', '.join(cols)}) "
                                     "ON COMMIT DELETE ROWS")
                self.staging[signature] = staging
            target = StreamTarget(None, staging, True, schema)  # type: ignore[arg-type]
            for batch in table.to_batches():
                dest.load(session, target, batch)
            dest.flush(session, target)
            # a chunk is small beside the table: its keys are looked up in the table's key
            # index one by one (a merge or hash join would read the whole table each chunk)
            session.conn.execute("SELECT set_config('enable_mergejoin', 'off', true), "
                                 "set_config('enable_hashjoin', 'off', true)")
            dest.merge(session, staging, self.table, schema.names, self.keys)

    def commit(self) -> None:
        self.dest.commit(self.session)

    def rollback(self) -> None:
        """Undo the open chunk (and what it made: its staging table, new columns)."""
        for cm, _, _ in self.session.copies.values():
            try:
                cm.__exit__(RuntimeError, RuntimeError("aborted"), None)
            except Exception:  # noqa: BLE001, S110 - the transaction is rolled back anyway
                pass
        self.session.copies.clear()
        self.schema = self.columns = None
        self.staging.clear()
        if self.session.conn.closed:  # lost: nothing of the chunk was committed
            return
        with translate(self.session.config):
            self.session.conn.rollback()
        self.schema = None
        self.staging.clear()

    def close(self) -> None:
        self.dest.close(self.session)


class _NeedsCast(Exception):
    """A batch holds values the binary path cannot carry; the server must cast them."""


def _encodable(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Make every column one that pgpq encodes as the target column's binary format."""
    cols, fields = [], []
    changed = False
    for f, col in zip(batch.schema, batch.columns, strict=True):
        t = col.type
        if at.is_numeric_text(f):
            col = _numeric_text_to_decimal(col)
        elif isinstance(t, pa.BaseExtensionType):
            col = col.storage  # uuid: 16 bytes (uuid's binary form); json: text (as jsonb)
        elif pa.types.is_large_string(t) or pa.types.is_string_view(t):
            col = col.cast(pa.string())
        elif pa.types.is_large_binary(t):
            col = col.cast(pa.binary())
        if col is not batch.column(f.name):
            changed = True
        fields.append(pa.field(f.name, col.type, f.nullable, f.metadata))
        cols.append(col)
    if not changed:
        return batch
    return pa.RecordBatch.from_arrays(cols, schema=pa.schema(fields))


def _numeric_text_to_decimal(col: pa.Array) -> pa.Array:
    """Exact numerics held as text go to the wire as decimal128 with the batch's scale."""
    frac = pc.utf8_length(pc.replace_substring_regex(col, r"^[^.]*\.?", ""))
    scale = int(pc.max(frac).as_py() or 0)
    if scale > 38:
        raise _NeedsCast
    try:
        return at.cast_exact(col, pa.decimal128(38, scale))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise _NeedsCast from exc


def _encoder(schema: pa.Schema, jsonb: set[str]) -> ArrowToPostgresBinaryEncoder:
    """pgpq encoders by column; text bound for a jsonb column gets jsonb's binary form."""
    encoders: dict[str, Any] = {}
    for f in schema:
        if f.name in jsonb and pa.types.is_string(f.type):
            encoders[f.name] = pgpq_encoders.StringEncoderBuilder.new_with_output(
                f, pgpq_schema.Jsonb())
        else:
            encoders[f.name] = ArrowToPostgresBinaryEncoder.infer_encoder(f)
    return ArrowToPostgresBinaryEncoder.new_with_encoders(schema, encoders)
