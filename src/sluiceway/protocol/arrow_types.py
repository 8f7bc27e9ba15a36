"""The Arrow types records travel in, and how they map to JSON Schema.

Every source maps its column types onto this small canonical set, and every destination
maps from it (README's type table lists both sides per connector):

==========================  ==============================================================
Arrow type                  meaning
==========================  ==============================================================
bool                        boolean
int16 / int32 / int64       integers of that width
float32 / float64           IEEE floats (NaN and +/-Infinity preserved)
decimal128(p, s)            exact numeric with precision p <= 38 and scale s
string + ``numeric`` tag    exact numeric wider than decimal128 (kept as its decimal text)
string / large_string       unicode text (also enums, char, varchar)
binary / large_binary       bytes
date32                      calendar date
time64[us]                  time of day, microseconds
timestamp[us]               timestamp without time zone
timestamp[us, tz=UTC]       timestamp with time zone, normalised to UTC
arrow.uuid                  uuid (16 bytes)
arrow.json                  json / jsonb document, as its text
list<T>                     array of T
==========================  ==============================================================
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

#: field-metadata key holding a logical type that Arrow itself does not distinguish
LOGICAL_KEY = b"sluiceway.logical"
NUMERIC_TAG = b"numeric"

UUID = pa.uuid()
JSON = pa.json_()
TIMESTAMP_TZ = pa.timestamp("us", tz="UTC")
TIMESTAMP = pa.timestamp("us")
TIME = pa.time64("us")


def numeric_text_field(name: str, nullable: bool = True) -> pa.Field:
    """A field for exact numerics too wide for decimal128: decimal text, tagged."""
    return pa.field(name, pa.string(), nullable, metadata={LOGICAL_KEY: NUMERIC_TAG})


def is_numeric_text(f: pa.Field) -> bool:
    return bool(f.metadata) and f.metadata.get(LOGICAL_KEY) == NUMERIC_TAG


def is_uuid(t: pa.DataType) -> bool:
    return isinstance(t, pa.BaseExtensionType) and t.extension_name == "arrow.uuid"


def is_json(t: pa.DataType) -> bool:
    return isinstance(t, pa.BaseExtensionType) and t.extension_name == "arrow.json"


def storage(t: pa.DataType) -> pa.DataType:
    """The physical type of ``t`` (an extension type's storage)."""
    return t.storage_type if isinstance(t, pa.BaseExtensionType) else t


def type_name(f: pa.Field | pa.DataType) -> str:
    """A short readable name used in messages and the type table."""
    t = f.type if isinstance(f, pa.Field) else f
    if isinstance(f, pa.Field) and is_numeric_text(f):
        return "numeric"
    if is_uuid(t):
        return "uuid"
    if is_json(t):
        return "json"
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{type_name(t.value_type)}>"
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_large_binary(t):
        return "binary"
    return str(t)


def _json_type(f: pa.Field) -> dict[str, Any]:
    t = f.type
    if is_numeric_text(f):
        return {"type": "number", "airbyte_type": "big_number"}
    if is_uuid(t):
        return {"type": "string", "format": "uuid"}
    if is_json(t):
        return {"type": "object"}
    if pa.types.is_boolean(t):
        return {"type": "boolean"}
    if pa.types.is_integer(t):
        return {"type": "integer"}
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return {"type": "number"}
    if pa.types.is_timestamp(t):
        kind = "timestamp_with_timezone" if t.tz else "timestamp_without_timezone"
        return {"type": "string", "format": "date-time", "airbyte_type": kind}
    if pa.types.is_date(t):
        return {"type": "string", "format": "date"}
    if pa.types.is_time(t):
        return {"type": "string", "format": "time", "airbyte_type": "time_without_timezone"}
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return {"type": "string", "contentEncoding": "base64"}
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return {"type": "array", "items": _json_type(t.value_field)}
    return {"type": "string"}


def schema_to_json_schema(schema: pa.Schema) -> dict[str, Any]:
    """JSON Schema (draft-07 style, as the Airbyte protocol uses) for a stream's records."""
    props: dict[str, Any] = {}
    for f in schema:
        js = _json_type(f)
        if f.nullable:
            js = dict(js, type=["null", js["type"]])
        props[f.name] = js
    return {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
            "properties": props}


_INT_ORDER = {8: 0, 16: 1, 32: 2, 64: 3}


def widen(old: pa.Field, new: pa.Field) -> pa.DataType | None:
    """The type a column of type ``old`` must become to also hold ``new`` values.

    Returns ``old.type`` when no change is needed, the wider type when a lossless widening
    exists, and ``None`` when the change is incompatible.
    """
    a, b = old.type, new.type
    if is_numeric_text(old) and (is_numeric_text(new) or pa.types.is_decimal(b)
                                 or pa.types.is_integer(b)):
        return a
    if a == b or (storage(a) == storage(b) and type_name(a) == type_name(b)):
        return a
    if is_numeric_text(new) and (pa.types.is_decimal(a) or pa.types.is_integer(a)):
        return None
    if pa.types.is_integer(a) and pa.types.is_integer(b):
        if pa.types.is_signed_integer(a) == pa.types.is_signed_integer(b):
            return a if a.bit_width >= b.bit_width else b
        if pa.types.is_signed_integer(a) and a.bit_width > b.bit_width:
            return a  # a signed column wider than the unsigned values holds them all
        return None
    if pa.types.is_floating(a) and pa.types.is_floating(b):
        return a if a.bit_width >= b.bit_width else b
    if pa.types.is_floating(a) and pa.types.is_integer(b) and a.bit_width == 64:
        return a if b.bit_width <= 32 else None
    if pa.types.is_decimal(a) and pa.types.is_integer(b):
        digits = {8: 3, 16: 5, 32: 10, 64: 19}[b.bit_width]
        return a if a.precision - a.scale >= digits else None
    if pa.types.is_decimal(a) and pa.types.is_decimal(b):
        ints = max(a.precision - a.scale, b.precision - b.scale)
        scale = max(a.scale, b.scale)
        if ints + scale > 38:
            return None
        return pa.decimal128(ints + scale, scale)
    string_like = (pa.types.is_string(a) or pa.types.is_large_string(a))
    if string_like and (pa.types.is_string(b) or pa.types.is_large_string(b)):
        return a
    return None


def cast_exact(col: pa.Array, target: pa.DataType) -> pa.Array:
    """``pc.cast``, except that decimal text is parsed exactly or refused (``pa.ArrowInvalid``).

    Arrow's own string -> decimal cast overflows silently when a value has more than 38
    significant digits (``'123456789012.123456789000000000000000000000'`` becomes
    ``-65710180.17...``), so digits are counted first and trailing fractional zeros dropped.
    """
    if isinstance(col, pa.ChunkedArray):
        return pa.chunked_array([cast_exact(c, target) for c in col.chunks], target)
    if isinstance(col.type, pa.BaseExtensionType):
        col = col.storage
    if not pa.types.is_decimal(target) or not (
            pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return pc.cast(col, target)
    if pc.any(pc.match_substring_regex(col, r"[eE]")).as_py():
        import decimal

        return pa.array([None if v is None else decimal.Decimal(v) for v in col.to_pylist()],
                        target)
    text = pc.utf8_trim_whitespace(col)
    sign = pc.if_else(pc.starts_with(text, "-"), "-", "")
    body = pc.replace_substring_regex(text, r"^[+-]?0*", "")
    ints = pc.replace_substring_regex(body, r"\..*$", "")
    frac = pc.replace_substring_regex(pc.replace_substring_regex(body, r"^[^.]*\.?", ""),
                                      r"0+$", "")
    if (pc.max(pc.utf8_length(ints)).as_py() or 0) > target.precision - target.scale or (
            pc.max(pc.utf8_length(frac)).as_py() or 0) > target.scale:
        raise pa.ArrowInvalid(f"a value does not fit {type_name(target)}")
    ints = pc.if_else(pc.equal(ints, ""), "0", ints)
    clean = pc.binary_join_element_wise(sign, ints, pc.if_else(
        pc.equal(frac, ""), "", pc.binary_join_element_wise(".", frac, "")), "")
    return pc.cast(clean, target)
