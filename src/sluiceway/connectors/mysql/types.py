"""MySQL / MariaDB <-> Arrow type mapping (the README's type table is this file in prose).

Reading, every column becomes one of ``protocol.arrow_types``; the SELECT expression of a
column (:func:`select_expr`) is chosen so both readers (connectorx's binary protocol and
PyMySQL's text protocol) hand back values :func:`conform` turns into that type exactly:
DECIMAL travels as its text (connectorx would round it to 28 digits), TIME as microseconds,
FLOAT widened to DOUBLE. Zero and invalid dates ('0000-00-00', '2024-02-00') are read as
NULL, since no calendar date matches them; a TIME outside 00:00..24:00 or a TINYINT(1) other
than 0/1 is rejected rather than bent.

Writing, an Arrow type becomes the MySQL type it came from (``MYSQL_TYPE_KEY`` metadata) or
the type of :func:`column_sql`. Logical types MySQL has no twin for are stored in a plain
type and named in the column COMMENT (``sluiceway:uuid``, ``sluiceway:timestamptz``,
``sluiceway:list<int64>``), which the reverse mapping reads back.
"""

from __future__ import annotations

import binascii
import datetime as dt
import decimal
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sluiceway.core.errors import RecordRejected
from sluiceway.protocol import arrow_types as at

#: field-metadata key: the column's MySQL type as information_schema.COLUMN_TYPE shows it
MYSQL_TYPE_KEY = b"sluiceway.mysql_type"
#: field-metadata key present when a column of a type with no Arrow twin is read as text
MYSQL_AS_TEXT_KEY = b"sluiceway.mysql_as_text"
TAG_PREFIX = "sluiceway:"

_INTS: dict[str, tuple[pa.DataType, pa.DataType]] = {  # (signed, unsigned)
    "tinyint": (pa.int16(), pa.int16()),
    "smallint": (pa.int16(), pa.int32()),
    "mediumint": (pa.int32(), pa.int32()),
    "int": (pa.int32(), pa.int64()),
    "bigint": (pa.int64(), pa.decimal128(20, 0)),
    "year": (pa.int16(), pa.int16()),
}
_TEXT = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"}
_BLOB = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
_GEOMETRY = {"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
             "multipolygon", "geometrycollection", "geomcollection"}
#: MySQL types a column may keep on the way MySQL -> MySQL (from its field metadata)
_KEEP = set(_INTS) | _TEXT | _BLOB | _GEOMETRY | {"decimal", "float", "double", "date",
                                                   "datetime", "timestamp", "time"}
_NAMED: dict[str, pa.DataType] = {
    "bool": pa.bool_(), "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(),
    "int64": pa.int64(), "uint8": pa.uint8(), "uint16": pa.uint16(), "uint32": pa.uint32(),
    "uint64": pa.uint64(), "float": pa.float32(), "double": pa.float64(),
    "string": pa.string(), "binary": pa.binary(), "date32[day]": pa.date32(),
    "time64[us]": at.TIME, "timestamp": at.TIMESTAMP, "timestamptz": at.TIMESTAMP_TZ,
    "uuid": at.UUID, "json": at.JSON,
}
_DECIMAL = re.compile(r"decimal\((\d+),(\d+)\)")
DAY_US = 86_400_000_000
#: InnoDB's index key limit (DYNAMIC rows), split between a table's string/binary key columns
KEY_BYTES = 3072


@dataclass(frozen=True)
class MyColumn:
    name: str
    data_type: str  # information_schema.COLUMNS.DATA_TYPE, lower case: int, varchar, ...
    column_type: str  # COLUMN_TYPE: int(11) unsigned, decimal(12,2), enum('a','b'), ...
    nullable: bool = True
    precision: int | None = None
    scale: int | None = None
    comment: str = ""
    json: bool = False  # MariaDB's JSON: a LONGTEXT with a json_valid() check

    @property
    def tag(self) -> str | None:
        return self.comment[len(TAG_PREFIX):] if self.comment.startswith(TAG_PREFIX) else None

    @property
    def unsigned(self) -> bool:
        return "unsigned" in self.column_type


def parse_tag(tag: str | None) -> pa.DataType | None:
    """The Arrow type a ``sluiceway:<type name>`` column comment names, if any."""
    if not tag:
        return None
    if tag in _NAMED:
        return _NAMED[tag]
    if m := _DECIMAL.fullmatch(tag):
        p, s = int(m.group(1)), int(m.group(2))
        return pa.decimal128(p, s) if p <= 38 else pa.decimal256(p, s)
    if tag.startswith("list<") and tag.endswith(">"):
        inner = parse_tag(tag[5:-1])
        return pa.list_(inner) if inner is not None else None
    return None


def to_arrow(col: MyColumn, *, lists: bool = False) -> pa.Field:
    """The Arrow field of a column; metadata keeps the MySQL type. A JSON column that holds
    an Arrow list (tagged) is the list with ``lists``, else json (as the source reads it)."""
    meta = {MYSQL_TYPE_KEY: col.column_type.encode()}
    tagged = parse_tag(col.tag)
    if tagged is not None:
        if pa.types.is_list(tagged) and not lists:
            tagged = at.JSON
        return pa.field(col.name, tagged, col.nullable, meta)
    d = col.data_type
    if d == "decimal":
        p, s = col.precision or 10, col.scale or 0
        if p <= 38:
            return pa.field(col.name, pa.decimal128(p, s), col.nullable, meta)
        f = at.numeric_text_field(col.name, col.nullable)
        return f.with_metadata({**f.metadata, **meta})
    if d == "tinyint" and col.column_type.startswith("tinyint(1)") and not col.unsigned:
        t: pa.DataType = pa.bool_()
    elif d == "bit":
        t = pa.bool_() if col.column_type == "bit(1)" else (
            pa.int64() if (col.precision or 64) < 64 else pa.decimal128(20, 0))
    elif d in _INTS:
        t = _INTS[d][1 if col.unsigned else 0]
    elif d in ("float", "double"):
        t = pa.float32() if d == "float" else pa.float64()
    elif d == "json" or col.json:
        t = at.JSON
    elif d == "uuid":
        t = at.UUID
    elif d in _TEXT:
        t = pa.string()
    elif d in _BLOB or d in _GEOMETRY:
        t = pa.binary()
    elif d == "date":
        t = pa.date32()
    elif d == "time":
        t = at.TIME
    elif d == "datetime":
        t = at.TIMESTAMP
    elif d == "timestamp":
        t = at.TIMESTAMP_TZ
    else:
        return pa.field(col.name, pa.string(), col.nullable, {**meta, MYSQL_AS_TEXT_KEY: b"1"})
    return pa.field(col.name, t, col.nullable, meta)


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def select_expr(col: MyColumn, f: pa.Field, *, guard_dates: bool = True) -> str:
    """What to SELECT for a column so that :func:`conform` can make ``f.type`` of it.

    ``guard_dates=False`` selects dates as they are stored, leaving out the per-row guard that
    turns zero and invalid dates into NULL (about an eighth of the server's work on a table
    with two timestamps): only for connectorx, which refuses such a value instead of
    misreading it, so that its reader can retry the statement with the guard."""
    c, t, d = quote_ident(col.name), f.type, col.data_type
    if f.metadata and MYSQL_AS_TEXT_KEY in f.metadata:
        return f"CAST({c} AS CHAR)"
    if at.is_uuid(t):
        return f"UNHEX(REPLACE(CAST({c} AS CHAR), '-', ''))"
    if d == "decimal" and at.is_numeric_text(f) and col.scale:  # no trailing zeros
        return f"TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST({c} AS CHAR)))"
    if d == "decimal" or (d == "json" and at.is_json(t)):
        return f"CAST({c} AS CHAR)"
    if d in _GEOMETRY:  # its internal form: SRID then WKB
        return f"CAST({c} AS BINARY)"
    if d == "bit":
        return f"({c} + 0)" if pa.types.is_boolean(t) else f"CAST({c} AS UNSIGNED)"
    if d == "float":
        return f"({c} + 0e0)"  # exact as DOUBLE; the text protocol prints FLOAT to 6 digits
    if d in ("date", "datetime", "timestamp") and guard_dates:
        # zero/invalid dates (no calendar day): NULL
        return f"IF(DAYOFMONTH({c}) BETWEEN 1 AND DAYOFMONTH(LAST_DAY({c})), {c}, NULL)"
    if d == "time":
        return (f"(HOUR({c}) * 3600000000 + MINUTE({c}) * 60000000 + SECOND({c}) * 1000000 "
                f"+ MICROSECOND({c})) * IF({c} < 0, -1, 1)")
    return c


def wire_is_binary(f: pa.Field) -> bool:
    """Whether :func:`select_expr` yields bytes (else text, for PyMySQL's text protocol)."""
    t = at.storage(f.type)
    return bool(pa.types.is_binary(t) or pa.types.is_large_binary(t)
                or pa.types.is_fixed_size_binary(t))


def conform(stream: str, batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast what a reader produced into the stream's canonical Arrow types, exactly."""
    cols = []
    for f, col in zip(schema, batch.columns, strict=True):
        try:
            cols.append(_conform(f, col))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
            raise RecordRejected(f"column {f.name!r}: cannot represent value as "
                                 f"{at.type_name(f)}: {exc}", location=stream) from exc
    return pa.RecordBatch.from_arrays(cols, schema=schema)


def _conform(f: pa.Field, col: pa.Array) -> pa.Array:
    t = f.type
    if col.type == t:
        return col
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        if pa.types.is_boolean(t) or pa.types.is_time(t):
            col = pc.cast(col, pa.int64())
        elif pa.types.is_timestamp(t):
            col = pc.cast(col, at.TIMESTAMP)
        elif pa.types.is_floating(t):
            col = pc.cast(col, pa.float64())
    if pa.types.is_boolean(t):
        lo, hi = pc.min_max(col).values()
        if (lo.is_valid and lo.as_py() < 0) or (hi.is_valid and hi.as_py() > 1):
            raise ValueError(f"values range from {lo} to {hi}; only 0 and 1 are booleans")
        return pc.not_equal(col, pa.scalar(0, col.type))
    if pa.types.is_time(t):
        col = pc.cast(col, pa.int64())
        lo, hi = pc.min_max(col).values()
        if (lo.is_valid and lo.as_py() < 0) or (hi.is_valid and hi.as_py() >= DAY_US):
            raise ValueError("a TIME value lies outside 00:00:00..23:59:59.999999 "
                             "(a duration, which has no Arrow time-of-day twin)")
        return pc.cast(col, t)
    if at.is_uuid(t):
        return pa.ExtensionArray.from_storage(t, pc.cast(col, pa.binary(16)))
    if at.is_json(t):
        return pa.ExtensionArray.from_storage(t, pc.cast(col, pa.string()))
    # DECIMAL(p,s) text from the server has at most p digits and exactly s decimals, so
    # Arrow's plain cast is exact here (cast_exact guards text of unknown shape)
    return pc.cast(col, t)


def text_expr(col: MyColumn) -> str:
    """An expression that selects ``col`` as text :func:`literal` turns back into a value."""
    c = quote_ident(col.name)
    return f"HEX({c})" if col.data_type in _BLOB else f"CAST({c} AS CHAR)"


def literal(col: MyColumn, value: Any) -> str:
    """A SQL literal, compared with ``col``, for a value ``state_value`` put in a State."""
    d = col.data_type
    if value is None:
        return "NULL"
    if parse_tag(col.tag) == at.UUID or d == "uuid":
        return f"'{uuid.UUID(str(value))}'"
    if d in _INTS or d == "bit":
        return str(int(value))
    if d == "decimal":
        num = decimal.Decimal(str(value))
        if not num.is_finite():
            raise ValueError(f"not a number: {value!r}")
        return str(num)
    if d in ("float", "double"):
        return repr(float(value))
    if d == "date":
        return f"'{dt.date.fromisoformat(str(value)).isoformat()}'"
    if d in ("datetime", "timestamp"):
        ts = dt.datetime.fromisoformat(str(value))
        if ts.tzinfo is not None:
            ts = ts.astimezone(dt.UTC).replace(tzinfo=None)
        return f"'{ts.strftime('%Y-%m-%d %H:%M:%S.%f')}'"
    if d == "time":
        return f"'{dt.time.fromisoformat(str(value)).isoformat()}'"
    if d in _BLOB:
        return f"X'{bytes.fromhex(str(value)).hex()}'"
    return f"_utf8mb4 X'{str(value).encode().hex()}'"


def column_sql(f: pa.Field, *, key_bytes: int | None = None) -> tuple[str, str | None]:
    """The MySQL type for an Arrow field and the tag its COMMENT carries (if any).

    ``key_bytes`` is set for a primary-key column: MySQL indexes no TEXT/BLOB without a
    prefix, so key strings become VARCHAR and key bytes VARBINARY of that many bytes.
    """
    t = f.type
    kept = _kept_type(f, key_bytes)
    if kept:
        return kept, None
    if at.is_numeric_text(f):
        return "DECIMAL(65,30)", None
    if at.is_uuid(t):
        return "CHAR(36) CHARACTER SET ascii COLLATE ascii_bin", "uuid"
    if at.is_json(t):
        return "JSON", None
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return "JSON", at.type_name(t)
    if pa.types.is_timestamp(t):
        return "DATETIME(6)", ("timestamptz" if t.tz else None)
    if pa.types.is_decimal(t):
        if t.scale > 30 or t.precision > 65 or t.scale < 0:
            return "LONGTEXT", f"decimal({t.precision},{t.scale})"
        return f"DECIMAL({t.precision},{t.scale})", None
    if pa.types.is_dictionary(t):
        return column_sql(pa.field(f.name, t.value_type), key_bytes=key_bytes)
    return _plain_sql(t, key_bytes), None


def _kept_type(f: pa.Field, key_bytes: int | None) -> str | None:
    """The MySQL type a column read from MySQL had, when it still fits its Arrow type."""
    meta = f.metadata or {}
    kept, t = meta.get(MYSQL_TYPE_KEY), f.type
    if not kept or MYSQL_AS_TEXT_KEY in meta or at.is_numeric_text(f) or at.is_uuid(t) or (
            at.is_json(t) or pa.types.is_list(t) or pa.types.is_large_list(t)):
        return None
    mysql_type = str(kept.decode())
    base = re.split(r"[\s(]", mysql_type, maxsplit=1)[0]
    if base not in _KEEP or (key_bytes and base.endswith(("text", "blob"))):
        return None
    if pa.types.is_timestamp(t) and (base == "timestamp") != bool(t.tz):
        return None
    if pa.types.is_decimal(t) and base not in ("decimal", "bigint"):
        return None
    return mysql_type


def _plain_sql(t: pa.DataType, key_bytes: int | None) -> str:
    if pa.types.is_boolean(t):
        return "TINYINT(1)"
    if pa.types.is_integer(t):
        name = {8: "TINYINT", 16: "SMALLINT", 32: "INT", 64: "BIGINT"}[t.bit_width]
        return name + ("" if pa.types.is_signed_integer(t) else " UNSIGNED")
    if pa.types.is_floating(t):
        return "DOUBLE" if t.bit_width == 64 else "FLOAT"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_time(t):
        return "TIME(6)"
    if pa.types.is_fixed_size_binary(t) and t.byte_width <= 255:
        return f"BINARY({t.byte_width})"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return f"VARBINARY({key_bytes})" if key_bytes else "LONGBLOB"
    return f"VARCHAR({max(1, key_bytes // 4)})" if key_bytes else "LONGTEXT"


def key_bytes(schema: pa.Schema, primary_key: list[str]) -> dict[str, int]:
    """Bytes each string/binary key column may take so the key fits InnoDB's limit."""
    variable = [k for k in primary_key if _is_variable(schema.field(k).type)]
    if not variable:
        return {}
    share = (KEY_BYTES - 16 * (len(primary_key) - len(variable))) // len(variable)
    return {k: max(4, share - share % 4) for k in variable}


def _is_variable(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
                or pa.types.is_large_binary(t) or pa.types.is_dictionary(t))


# ---- text forms of bytes (LOAD DATA sends them through UNHEX / as uuid text) -------------
def hex_text(col: pa.Array) -> pa.Array:
    """Binary values as hex text, the whole buffer at once (UNHEX() undoes it)."""
    if pa.types.is_fixed_size_binary(col.type):
        col = pc.cast(col, pa.binary())
    elif pa.types.is_large_binary(col.type):
        col = pc.cast(col, pa.binary())
    offsets = pa.Array.from_buffers(pa.int32(), len(col) + 1, [None, col.buffers()[1]],
                                    offset=col.offset)
    start, end = offsets[0].as_py(), offsets[-1].as_py()
    data = col.buffers()[2]
    hexed = binascii.hexlify(memoryview(data)[start:end]) if data is not None else b""
    doubled = pc.multiply(pc.subtract(offsets, pa.scalar(start, pa.int32())),
                          pa.scalar(2, pa.int32()))
    text = pa.Array.from_buffers(pa.string(), len(col),
                                 [None, doubled.buffers()[1], pa.py_buffer(hexed)])
    return pc.if_else(pc.is_valid(col), text, pa.scalar(None, pa.string()))


def uuid_text(col: pa.Array) -> pa.Array:
    """uuid (16 bytes) as its canonical 8-4-4-4-12 lower-case text."""
    storage = col.storage
    n = len(storage)
    raw = memoryview(storage.buffers()[1])[storage.offset * 16:(storage.offset + n) * 16]
    hexed = pa.Array.from_buffers(pa.binary(32), n, [None, pa.py_buffer(binascii.hexlify(raw))])
    flat = pc.cast(hexed, pa.binary())
    parts = [pc.binary_slice(flat, a, b) for a, b in ((0, 8), (8, 12), (12, 16), (16, 20),
                                                        (20, 32))]
    text = pc.cast(pc.binary_join_element_wise(*parts, b"-"), pa.string())
    return pc.if_else(pc.is_valid(storage), text, pa.scalar(None, pa.string()))
