"""PostgreSQL <-> Arrow type mapping (the README's type table is this file in prose).

Reading, every column becomes one of ``protocol.arrow_types``; a type with no Arrow twin
(interval, inet, money, enums, timetz, ranges, ...) is read as its text (``::text``).
Writing, each Arrow type becomes the PostgreSQL type it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from sluiceway.protocol import arrow_types as at

#: field-metadata key: the column's PostgreSQL type as ``format_type`` printed it
PG_TYPE_KEY = b"sluiceway.pg_type"
#: field-metadata key present when the column is read as its text (``::text``)
PG_AS_TEXT_KEY = b"sluiceway.pg_as_text"

_SCALARS: dict[str, pa.DataType] = {
    "bool": pa.bool_(),
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "text": pa.string(),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "name": pa.string(),
    "citext": pa.string(),
    "bytea": pa.binary(),
    "date": pa.date32(),
    "time": at.TIME,
    "timestamp": at.TIMESTAMP,
    "timestamptz": at.TIMESTAMP_TZ,
    "uuid": at.UUID,
    "json": at.JSON,
    "jsonb": at.JSON,
}
_ARRAY_ELEMENTS = {"bool", "int2", "int4", "int8", "float4", "float8", "text", "varchar",
                   "date", "timestamp", "timestamptz", "uuid"}


@dataclass(frozen=True)
class PgColumn:
    name: str
    typname: str  # pg_type.typname, e.g. int4, _int4, numeric
    typmod: int
    formatted: str  # format_type(), e.g. numeric(12,2), character varying(10)
    nullable: bool = True


def numeric_precision(typmod: int) -> tuple[int, int] | None:
    if typmod < 4:
        return None
    return ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF


def to_arrow(col: PgColumn) -> pa.Field:
    """The Arrow field for a column; its metadata keeps the PostgreSQL type and says
    whether the column is read as its text."""
    meta = {PG_TYPE_KEY: col.formatted.encode()}
    text = {**meta, PG_AS_TEXT_KEY: b"1"}
    t = col.typname
    if t == "numeric":
        ps = numeric_precision(col.typmod)
        if ps and ps[0] <= 38:
            return pa.field(col.name, pa.decimal128(*ps), col.nullable, meta)
        f = at.numeric_text_field(col.name, col.nullable)
        return f.with_metadata({**f.metadata, **text})
    if t in _SCALARS:
        return pa.field(col.name, _SCALARS[t], col.nullable, meta)
    if t.startswith("_") and t[1:] in _ARRAY_ELEMENTS:
        return pa.field(col.name, pa.list_(_SCALARS[t[1:]]), col.nullable, meta)
    return pa.field(col.name, pa.string(), col.nullable, text)


def read_as_text(f: pa.Field) -> bool:
    return bool(f.metadata) and PG_AS_TEXT_KEY in f.metadata


def to_pg(f: pa.Field) -> str:
    """The PostgreSQL column type for an Arrow field.

    A column that came from PostgreSQL keeps its declared type (``varchar(10)``,
    ``numeric(12,2)``), except one read as text from a type with no Arrow twin: it is
    written as ``text``, because such types (enums, extensions) may not exist on the
    destination server.
    """
    if at.is_numeric_text(f):
        return "numeric"
    if f.metadata and PG_TYPE_KEY in f.metadata and not read_as_text(f):
        return str(f.metadata[PG_TYPE_KEY].decode())
    return _pg_type(f.type)


def _pg_type(t: pa.DataType) -> str:
    if at.is_uuid(t):
        return "uuid"
    if at.is_json(t):
        return "jsonb"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return "smallint"
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return "integer"
    if pa.types.is_int64(t) or pa.types.is_uint32(t):
        return "bigint"
    if pa.types.is_uint64(t):
        return "numeric(20,0)"
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return "real"
    if pa.types.is_float64(t):
        return "double precision"
    if pa.types.is_decimal(t):
        return f"numeric({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "bytea"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _pg_type(t.value_type) + "[]"
    return "text"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
