"""DuckDB <-> Arrow type mapping (the README's type table is this file in prose).

Reading, every column becomes one of ``protocol.arrow_types``: types with an exact Arrow twin
are read as they are, narrower or unsigned integers are cast up in SQL, integers wider than
decimal128 (HUGEINT, UHUGEINT, BIGNUM) become tagged numeric text, STRUCT / MAP / UNION become
JSON documents (``to_json``), and anything else (ENUM, INTERVAL, BIT, TIMETZ, TIMESTAMP_NS,
user types) is read as its text. Writing, each Arrow type becomes the DuckDB type it names;
numeric text goes to a VARCHAR column whose comment marks it as numeric, so it reads back as
numeric text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

from sluiceway.protocol import arrow_types as at

#: field-metadata key: the column's DuckDB type as duckdb_columns() prints it
DUCK_TYPE_KEY = b"sluiceway.duckdb_type"
#: column comment that marks a VARCHAR column as exact numeric text
NUMERIC_COMMENT = "sluiceway:numeric"

_PLAIN: dict[str, pa.DataType] = {
    "BOOLEAN": pa.bool_(),
    "SMALLINT": pa.int16(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "FLOAT": pa.float32(),
    "DOUBLE": pa.float64(),
    "VARCHAR": pa.string(),
    "BLOB": pa.binary(),
    "DATE": pa.date32(),
    "TIME": at.TIME,
    "TIMESTAMP": at.TIMESTAMP,
    "TIMESTAMP WITH TIME ZONE": at.TIMESTAMP_TZ,
    "UUID": at.UUID,
    "JSON": at.JSON,
}
#: types read through a SQL cast into a type that has an Arrow twin
_CAST: dict[str, tuple[str, pa.DataType]] = {
    "TINYINT": ("SMALLINT", pa.int16()),
    "UTINYINT": ("SMALLINT", pa.int16()),
    "USMALLINT": ("INTEGER", pa.int32()),
    "UINTEGER": ("BIGINT", pa.int64()),
    "UBIGINT": ("DECIMAL(20,0)", pa.decimal128(20, 0)),
    "TIMESTAMP_S": ("TIMESTAMP", at.TIMESTAMP),
    "TIMESTAMP_MS": ("TIMESTAMP", at.TIMESTAMP),
}
_NUMERIC_TEXT = {"HUGEINT", "UHUGEINT", "BIGNUM", "VARINT"}
_NESTED = ("STRUCT(", "MAP(", "UNION(")
_DECIMAL = re.compile(r"^(?:DECIMAL|NUMERIC)\((\d+),\s*(\d+)\)$")
_ARRAY = re.compile(r"^(.*)\[(\d*)\]$", re.DOTALL)


@dataclass(frozen=True)
class DuckColumn:
    name: str
    data_type: str  # duckdb_columns().data_type, e.g. DECIMAL(10,2), INTEGER[]
    nullable: bool = True
    comment: str | None = None


@dataclass(frozen=True)
class _Read:
    """How one DuckDB type is read: the Arrow type and the SQL around the column."""

    arrow: pa.DataType
    cast: str | None = None  # CAST(col AS <cast>)
    kind: str = "plain"  # plain | text | json | numeric


def _read(data_type: str) -> _Read:
    t = data_type.strip()
    u = t.upper()
    if u in _PLAIN:
        return _Read(_PLAIN[u])
    if u in _CAST:
        duck, arrow = _CAST[u]
        return _Read(arrow, duck)
    if u in _NUMERIC_TEXT:
        return _Read(pa.string(), "VARCHAR", "numeric")
    m = _DECIMAL.match(u)
    if m and int(m.group(1)) <= 38:
        return _Read(pa.decimal128(int(m.group(1)), int(m.group(2))))
    m = _ARRAY.match(t)
    if m:
        inner = _read(m.group(1))
        if inner.kind != "plain":
            return _Read(at.JSON, None, "json")
        cast = None
        if inner.cast is not None or m.group(2):  # fixed-size ARRAY reads as a LIST
            cast = f"{inner.cast or m.group(1)}[]"
        return _Read(pa.list_(inner.arrow), cast)
    if u.startswith(_NESTED):
        return _Read(at.JSON, None, "json")
    return _Read(pa.string(), "VARCHAR", "text")


def to_arrow(col: DuckColumn) -> pa.Field:
    """The Arrow field for a column; its metadata keeps the DuckDB type."""
    meta = {DUCK_TYPE_KEY: col.data_type.encode()}
    r = _read(col.data_type)
    if r.kind == "numeric" or (col.comment == NUMERIC_COMMENT and r.arrow == pa.string()):
        f = at.numeric_text_field(col.name, col.nullable)
        return f.with_metadata({**f.metadata, **meta})
    return pa.field(col.name, r.arrow, col.nullable, meta)


def read_expr(f: pa.Field) -> str:
    """The SELECT expression that reads column ``f`` in its Arrow type."""
    name = quote_ident(f.name)
    if not f.metadata or DUCK_TYPE_KEY not in f.metadata:
        return name
    r = _read(f.metadata[DUCK_TYPE_KEY].decode())
    if r.kind == "json":
        return f"to_json({name}) AS {name}"
    if r.cast is not None:
        return f"CAST({name} AS {r.cast}) AS {name}"
    return name


def duck_type(f: pa.Field) -> str:
    """The DuckDB column type for an Arrow field (numeric text: VARCHAR)."""
    if at.is_numeric_text(f):
        return "VARCHAR"
    return _duck(f.type)


def _duck(t: pa.DataType) -> str:
    if at.is_uuid(t):
        return "UUID"
    if at.is_json(t):
        return "JSON"
    if pa.types.is_dictionary(t):
        return _duck(t.value_type)
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_integer(t):
        signed = {8: "TINYINT", 16: "SMALLINT", 32: "INTEGER", 64: "BIGINT"}[t.bit_width]
        return signed if pa.types.is_signed_integer(t) else "U" + signed
    if pa.types.is_floating(t):
        return "DOUBLE" if t.bit_width == 64 else "FLOAT"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})" if t.precision <= 38 else "VARCHAR"
    if pa.types.is_timestamp(t):
        if t.tz:
            return "TIMESTAMPTZ"
        return {"s": "TIMESTAMP_S", "ms": "TIMESTAMP_MS", "ns": "TIMESTAMP_NS"}.get(
            t.unit, "TIMESTAMP")
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_time(t):
        return "TIME"
    if pa.types.is_duration(t) or pa.types.is_interval(t):
        return "INTERVAL"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "BLOB"
    if (pa.types.is_list(t) or pa.types.is_large_list(t)
            or pa.types.is_fixed_size_list(t)):
        return _duck(t.value_type) + "[]"
    return "VARCHAR"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
