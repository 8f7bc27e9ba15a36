"""SQLite <-> Arrow type mapping (the README's type table is this file in prose).

SQLite stores each value as NULL, INTEGER, REAL, TEXT or BLOB; a column's declared type only
gives it an *affinity* (https://www.sqlite.org/datatype3.html section 3.1), which converts
some values on insert. Reading, a declared type that names a logical type (BOOLEAN, DATE,
DATETIME/TIMESTAMP, TIMESTAMPTZ, TIME, UUID, JSON, DECIMAL(p,s)) maps to that Arrow type and
the stored values are parsed into it; any other declared type maps by its affinity (INTEGER
-> int64, REAL -> float64, TEXT -> string, BLOB -> binary; no type or another NUMERIC name ->
the value's text). A value that does not fit its column's type is rejected, never guessed.

Writing, logical types are stored as text in a canonical form and declared so the source
maps them back. Two SQLite behaviours shape the declared names:

* NUMERIC affinity (``DECIMAL(p,s)``, ``JSON``) turns text that looks like a number into a
  REAL, keeping 15 significant digits. Exact numerics and JSON documents are therefore
  declared ``DECIMAL_TEXT(p,s)``, ``NUMERIC_TEXT`` and ``JSON_TEXT``: TEXT affinity, stored
  as written.
* SQLite stores NaN as NULL. A NaN is stored as the text ``'NaN'`` in its REAL column and
  read back as NaN (+/-Infinity are stored as REAL values).

Lists are stored as JSON arrays in a column declared ``LIST_<element>`` (``LIST_INT32``,
``LIST_DECIMAL(10,2)``, ``LIST_LIST_STRING``), so they read back as the same list type.
"""

from __future__ import annotations

import decimal
import json
import math
import re
import uuid
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sluiceway.protocol import arrow_types as at

#: field-metadata key: the column's declared type as PRAGMA table_info prints it
SQLITE_TYPE_KEY = b"sluiceway.sqlite_type"

_DECLARED = re.compile(r"^(.*?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$", re.DOTALL)
_LOGICAL: dict[str, pa.DataType] = {
    "BOOLEAN": pa.bool_(), "BOOL": pa.bool_(), "DATE": pa.date32(),
    "DATETIME": at.TIMESTAMP, "TIMESTAMP": at.TIMESTAMP,
    "TIMESTAMPTZ": at.TIMESTAMP_TZ, "TIMESTAMP WITH TIME ZONE": at.TIMESTAMP_TZ,
    "TIME": at.TIME, "UUID": at.UUID, "JSON": at.JSON, "JSONB": at.JSON, "JSON_TEXT": at.JSON,
}
_EXACT = {"DECIMAL", "NUMERIC", "DECIMAL_TEXT", "NUMERIC_TEXT"}
#: list element tokens, both ways
_ELEMENTS: dict[str, pa.DataType] = {
    "BOOL": pa.bool_(), "INT8": pa.int8(), "INT16": pa.int16(), "INT32": pa.int32(),
    "INT64": pa.int64(), "FLOAT32": pa.float32(), "FLOAT64": pa.float64(),
    "STRING": pa.string(), "BINARY": pa.binary(), "DATE": pa.date32(), "TIME": at.TIME,
    "TIMESTAMP": at.TIMESTAMP, "TIMESTAMPTZ": at.TIMESTAMP_TZ, "UUID": at.UUID,
    "JSON": at.JSON,
}
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf,
               "Inf": math.inf, "-Inf": -math.inf}


def affinity(declared: str) -> str:
    """SQLite's column affinity for a declared type (rules of datatype3.html, in order)."""
    u = declared.upper()
    if "INT" in u:
        return "INTEGER"
    if "CHAR" in u or "CLOB" in u or "TEXT" in u:
        return "TEXT"
    if "BLOB" in u or not u.strip():
        return "BLOB"
    if "REAL" in u or "FLOA" in u or "DOUB" in u:
        return "REAL"
    return "NUMERIC"


def _parse(declared: str) -> tuple[str, int | None, int]:
    m = _DECLARED.match(declared.strip())
    assert m is not None  # the pattern matches any text
    base = " ".join(m.group(1).upper().split())
    return base, (int(m.group(2)) if m.group(2) else None), int(m.group(3) or 0)


def to_arrow(name: str, declared: str, nullable: bool = True) -> pa.Field:
    """The Arrow field for a column; its metadata keeps the declared type."""
    meta = {SQLITE_TYPE_KEY: declared.encode()}
    base, precision, scale = _parse(declared)
    if base.startswith("LIST_"):
        t = _list_type(base, precision, scale)
        return pa.field(name, t if t is not None else at.JSON, nullable, meta)
    if base in _LOGICAL:
        return pa.field(name, _LOGICAL[base], nullable, meta)
    if base in _EXACT:
        if precision is not None and precision <= 38:
            return pa.field(name, pa.decimal128(precision, scale), nullable, meta)
        f = at.numeric_text_field(name, nullable)
        return f.with_metadata({**f.metadata, **meta})
    kind = affinity(declared)
    t = {"INTEGER": pa.int64(), "REAL": pa.float64(), "TEXT": pa.string()}.get(kind)
    if t is None:
        t = pa.binary() if "BLOB" in base else pa.string()
    return pa.field(name, t, nullable, meta)


def _list_type(base: str, precision: int | None, scale: int) -> pa.DataType | None:
    elem = base[len("LIST_"):]
    if elem.startswith("LIST_"):
        inner = _list_type(elem, precision, scale)
        return None if inner is None else pa.list_(inner)
    if elem == "DECIMAL" and precision is not None:
        return pa.list_(pa.decimal128(precision, scale))
    return pa.list_(_ELEMENTS[elem]) if elem in _ELEMENTS else None


def sqlite_type(f: pa.Field) -> str:
    """The declared SQLite type for an Arrow field."""
    if at.is_numeric_text(f):
        return "NUMERIC_TEXT"
    t = f.type
    if pa.types.is_dictionary(t):
        return sqlite_type(pa.field(f.name, t.value_type))
    if at.is_uuid(t):
        return "UUID"
    if at.is_json(t):
        return "JSON_TEXT"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_uint64(t):
        return "DECIMAL_TEXT(20,0)"
    if pa.types.is_integer(t):
        return "INTEGER"
    if pa.types.is_floating(t):
        return "REAL"
    if pa.types.is_decimal(t):
        return f"DECIMAL_TEXT({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_time(t):
        return "TIME"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "BLOB"
    if _is_list(t):
        return "LIST_" + _element_token(t.value_type)
    return "TEXT"


def _element_token(t: pa.DataType) -> str:
    if _is_list(t):
        return "LIST_" + _element_token(t.value_type)
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    for name, known in _ELEMENTS.items():
        if known == t:
            return name
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "STRING"
    if pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "BINARY"
    return "JSON"


def _is_list(t: pa.DataType) -> bool:
    return bool(pa.types.is_list(t) or pa.types.is_large_list(t)
                or pa.types.is_fixed_size_list(t))


# ---- Arrow -> SQLite values ---------------------------------------------------------------
def sqlite_values(col: pa.Array, f: pa.Field) -> list[Any]:
    """Python values to bind for column ``f`` (the canonical stored form of each type)."""
    t = col.type
    if pa.types.is_dictionary(t):
        return sqlite_values(col.dictionary_decode(), pa.field(f.name, t.value_type))
    if _is_list(t):
        return [None if v is None else json.dumps(v, ensure_ascii=False)
                for v in _json_ready(col)]
    values = _plain(col)
    if pa.types.is_floating(t) and pc.any(pc.is_nan(col)).as_py():
        return ["NaN" if v is not None and math.isnan(v) else v for v in values]
    return values


def _plain(col: pa.Array) -> list[Any]:
    """Values as Python scalars: text for the logical types, numbers, bytes."""
    t = col.type
    if at.is_uuid(t):
        return [None if b is None else _uuid_text(b.hex()) for b in col.storage.to_pylist()]
    if at.is_json(t):
        return list(col.storage.to_pylist())
    if pa.types.is_timestamp(t):
        if t.tz:
            utc = pc.cast(col, pa.timestamp(t.unit, "UTC"))
            return list(pc.strftime(utc, format="%Y-%m-%d %H:%M:%S+00:00").to_pylist())
        return list(pc.strftime(col, format="%Y-%m-%d %H:%M:%S").to_pylist())
    if pa.types.is_decimal(t):  # Arrow writes 0 at scale 10 as 0E-10: spell it out
        return [s if s is None or "E" not in s else format(decimal.Decimal(s), "f")
                for s in pc.cast(col, pa.string()).to_pylist()]
    if pa.types.is_date(t) or pa.types.is_time(t) or pa.types.is_uint64(t):
        return list(pc.cast(col, pa.string()).to_pylist())
    return list(col.to_pylist())


def _json_ready(col: pa.Array) -> list[Any]:
    """List values as nested Python lists of JSON-able items (bytes as hex text)."""
    if not pa.types.is_list(col.type):
        col = pc.cast(col, pa.list_(col.type.value_type))
    offsets = col.offsets.to_pylist()  # into col.values, which ignores a slice's offset
    start = offsets[0]
    inner = col.values.slice(start, offsets[-1] - start)
    items = _json_ready(inner) if _is_list(inner.type) else _plain(inner)
    if pa.types.is_binary(inner.type) or pa.types.is_large_binary(inner.type):
        items = [None if b is None else b.hex() for b in items]
    valid = col.is_valid().to_pylist()
    return [items[offsets[i] - start:offsets[i + 1] - start] if valid[i] else None
            for i in range(len(col))]


# ---- SQLite values -> Arrow ---------------------------------------------------------------
class BadValue(ValueError):
    """A stored value does not fit the column's Arrow type."""


def arrow_values(values: Sequence[Any], f: pa.Field) -> pa.Array:
    """Build column ``f`` from the Python values sqlite3 returned (raises BadValue)."""
    try:
        if at.is_numeric_text(f):
            return pa.array([_num_text(v) for v in values], pa.string())
        return _build(values, f.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError,
            ValueError, OverflowError, json.JSONDecodeError) as exc:
        if isinstance(exc, BadValue):
            raise
        raise BadValue(f"cannot read a stored value as {at.type_name(f)}: {exc}") from exc


def _build(values: Sequence[Any], t: pa.DataType, hex_bytes: bool = False) -> pa.Array:
    if _is_list(t):
        return _list(values, t)
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        arr = pa.array(values)  # inferred: a REAL or TEXT among integers is refused below
        if not (pa.types.is_integer(arr.type) or pa.types.is_boolean(arr.type)
                or pa.types.is_null(arr.type)):
            raise BadValue(f"holds {_example(values, int)} where an integer was expected")
        if pa.types.is_null(arr.type):
            return pa.nulls(len(arr), t)
        return pc.not_equal(arr, 0) if pa.types.is_boolean(t) else pc.cast(arr, t)
    if pa.types.is_floating(t):
        if any(isinstance(v, str) for v in values):
            values = [_NON_FINITE.get(v, v) if isinstance(v, str) else v for v in values]
        return pa.array(values, t)
    if pa.types.is_decimal(t):
        return at.cast_exact(pa.array([_num_text(v) for v in values], pa.string()), t)
    if pa.types.is_binary(t):
        if hex_bytes:
            values = [bytes.fromhex(v) if isinstance(v, str) else v for v in values]
        return pa.array(values, t)
    if at.is_uuid(t):
        raw = [v if v is None or isinstance(v, bytes) else _uuid_bytes(v) for v in values]
        return pa.ExtensionArray.from_storage(t, pa.array(raw, pa.binary(16)))
    text = _text(values)
    if at.is_json(t):
        return pa.ExtensionArray.from_storage(t, text)
    if pa.types.is_timestamp(t) and t.tz:  # text without an offset (SQLite's own
        zoned = pc.match_substring_regex(text, r"(Z|[+-]\d\d:?\d\d)$")  # datetime()) is UTC
        text = pc.if_else(zoned, text, pc.binary_join_element_wise(text, "+00:00", ""))
        return pc.cast(text, t)
    if pa.types.is_time(t):
        day = pc.binary_join_element_wise("1970-01-01 ", text, "")
        return pc.cast(pc.cast(day, pa.timestamp("us")), t)
    return pc.cast(text, t) if t != pa.string() else text


def _list(values: Sequence[Any], t: pa.DataType) -> pa.Array:
    offsets, mask = [0], []
    flat: list[Any] = []
    for v in values:
        items = json.loads(v) if isinstance(v, str) else v
        if items is not None and not isinstance(items, list):
            raise BadValue(f"holds {str(v)[:40]!r} where a JSON array was expected")
        mask.append(items is None)
        flat.extend(items or ())
        offsets.append(len(flat))
    inner = _build(flat, t.value_type, hex_bytes=True)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), inner, type=t,
                                    mask=pa.array(mask, pa.bool_()))


def _text(values: Sequence[Any]) -> pa.Array:
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    out = []
    for v in values:
        if isinstance(v, bytes):
            raise BadValue(f"holds a BLOB ({len(v)} bytes) where text was expected")
        out.append(v if v is None or isinstance(v, str) else _num_text(v))
    return pa.array(out, pa.string())


def _uuid_text(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _uuid_bytes(text: str) -> bytes:
    """The 16 bytes of a uuid's text; the common 8-4-4-4-12 form without building objects."""
    if len(text) == 36 and text.count("-") == 4:
        try:
            raw = bytes.fromhex(text.replace("-", ""))
        except ValueError:
            raw = b""
        if len(raw) == 16:
            return raw
    return uuid.UUID(text).bytes


def _num_text(v: Any) -> str | None:
    """The exact decimal text of a stored number (repr: a float's shortest round trip)."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool | int | float):
        return repr(int(v) if isinstance(v, bool) else v)
    raise BadValue(f"holds {type(v).__name__} where a number was expected")


def _example(values: Sequence[Any], want: type) -> str:
    bad = next((v for v in values if v is not None and not isinstance(v, want)), None)
    return f"{type(bad).__name__} {str(bad)[:40]!r}"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
