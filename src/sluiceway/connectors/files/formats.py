"""CSV, JSON lines and Parquet: types, Arrow's streaming readers, text forms.

Types: :func:`canonical` maps what a file holds onto the canonical Arrow types,
:func:`infer_text` refines a sample of text values (dates, times, timestamps, exact decimals)
and :func:`convert` casts a column into its stream type. Reading: ``*_sample`` gives a file's
schema from its first block (or Parquet footer), ``*_batches`` its record batches, skipping
rows an earlier attempt sent. Writing: :func:`csv_column` and :func:`json_column` give each
canonical type its documented text form (see the package doc), vectorised with Arrow compute.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq

from sluiceway.connectors.files.errors import csv_error, jsonl_error
from sluiceway.core.errors import RecordRejected
from sluiceway.protocol import arrow_types as at

_DECIMAL_RE = r"^[+-]?\d+(\.\d+)?$"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_TIME_RE = r"^\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"
_TS_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
_TZ_RE = r"(Z|[+-]\d{2}:?\d{2})$"
CSV_NATIVE = (pa.types.is_boolean, pa.types.is_integer, pa.types.is_floating,
               pa.types.is_decimal, pa.types.is_date, pa.types.is_time,
               pa.types.is_timestamp, pa.types.is_string)
JSON_NATIVE = (pa.types.is_boolean, pa.types.is_integer, pa.types.is_floating,
                pa.types.is_decimal, pa.types.is_string)
_HEX2 = pa.array([b"%02x" % i for i in range(256)], pa.binary(2))
_CONTROL = {i: f"\\u{i:04x}" for i in range(32)} | {
    8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}
_SIMPLE = {"integer": pa.int64(), "bigint": pa.int64(), "int": pa.int32(),
           "smallint": pa.int16(), "number": pa.float64(), "float": pa.float64(),
           "double": pa.float64(), "string": pa.string(), "boolean": pa.bool_(),
           "date": pa.date32(), "time": at.TIME, "timestamp": at.TIMESTAMP,
           "timestamptz": at.TIMESTAMP_TZ, "json": at.JSON, "uuid": at.UUID,
           "binary": pa.binary()}


def parse_type(name: str) -> pa.DataType:
    """A ``schema`` override type name (validated by the spec's pattern) as an Arrow type."""
    text = name.strip().lower()
    if text in _SIMPLE:
        return _SIMPLE[text]
    found = re.fullmatch(r"decimal\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", text)
    if not found:
        raise ValueError(f"unknown type {name!r}")
    precision, scale = int(found.group(1)), int(found.group(2))
    if not 1 <= precision <= 38 or scale > precision:
        raise ValueError(f"{name!r}: precision must be 1..38 and scale at most precision")
    return pa.decimal128(precision, scale)


def canonical(f: pa.Field) -> pa.Field:
    """The canonical field for a column as a file holds it (types Arrow reads or infers)."""
    t = f.type
    if at.is_uuid(t) or at.is_json(t) or at.is_numeric_text(f):
        return f
    if isinstance(t, pa.DictionaryType):
        return canonical(f.with_type(t.value_type))
    if pa.types.is_decimal(t) and t.precision > 38:
        return at.numeric_text_field(f.name, f.nullable)
    return f.with_type(_canonical_type(t))


def _canonical_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(t):
        return at.TIMESTAMP_TZ if t.tz else at.TIMESTAMP
    if pa.types.is_null(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t) or (
            pa.types.is_fixed_size_binary(t)):
        return pa.binary()
    if pa.types.is_unsigned_integer(t) or pa.types.is_int8(t):
        widths = {8: pa.int16(), 16: pa.int32(), 32: pa.int64()}
        return widths.get(t.bit_width, pa.decimal128(20, 0))
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_decimal(t):
        return pa.decimal128(t.precision, t.scale)
    if pa.types.is_date(t):
        return pa.date32()
    if pa.types.is_time(t):
        return at.TIME
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        inner = canonical(t.value_field)
        if pa.types.is_struct(inner.type) or at.is_json(inner.type):
            return at.JSON
        return pa.list_(inner.type)
    if pa.types.is_struct(t) or pa.types.is_map(t) or pa.types.is_union(t):
        return at.JSON
    return t


def infer_text(values: pa.Array, inferred: pa.DataType) -> pa.DataType:
    """Refine a type Arrow inferred from a sample, given the sample as text.

    Plain decimal literals become ``decimal128(38, s)`` (s: the sample's widest scale) rather
    than float64; numbers with leading zeros stay text; ISO dates, times and timestamps (with
    an offset: timestamptz) are typed.
    """
    valid = values.drop_null() if values.null_count else values
    if len(valid) == 0:
        return pa.string() if pa.types.is_null(inferred) else inferred

    def every(regex: str) -> bool:
        return bool(pc.all(pc.match_substring_regex(valid, regex)).as_py())

    numeric = pa.types.is_integer(inferred) or pa.types.is_floating(inferred)
    if numeric and pc.any(pc.match_substring_regex(valid, r"^[+-]?0\d")).as_py():
        return pa.string()  # leading zeros (codes, zip codes) are text, not numbers
    if pa.types.is_floating(inferred) and every(_DECIMAL_RE):
        digits = pc.utf8_length(pc.replace_substring_regex(valid, r"[^0-9]", ""))
        scale = pc.utf8_length(pc.replace_substring_regex(valid, r"^[^.]*\.?", ""))
        ints = pc.max(pc.subtract(digits, scale)).as_py() or 0
        widest = pc.max(scale).as_py() or 0
        if ints + widest <= 38:
            return pa.decimal128(38, widest)
        return inferred
    if not (pa.types.is_string(inferred) or pa.types.is_timestamp(inferred)
            or pa.types.is_date(inferred)):
        return inferred
    if every(_DATE_RE):
        candidate: pa.DataType = pa.date32()
    elif every(_TIME_RE):
        candidate = at.TIME
    elif every(_TS_RE + _TZ_RE):
        candidate = at.TIMESTAMP_TZ
    elif every(_TS_RE + "$"):
        candidate = at.TIMESTAMP
    else:
        return pa.string()
    try:
        convert(valid, candidate)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.string()
    return candidate


def convert(col: pa.Array, target: pa.DataType) -> pa.Array:
    """Cast ``col`` to ``target`` exactly (raises ArrowInvalid when a value does not fit)."""
    t = col.type
    if t == target:
        return col
    if isinstance(t, pa.BaseExtensionType) and not at.is_json(target):
        return convert(col.storage, target)
    if at.is_json(target):
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return pa.ExtensionArray.from_storage(at.JSON, col.cast(pa.string()))
        if at.is_json(t):
            return col
        return pa.ExtensionArray.from_storage(at.JSON, _python_json(col))
    if at.is_uuid(target):
        if pa.types.is_fixed_size_binary(t) and t.byte_width == 16:
            return pa.ExtensionArray.from_storage(at.UUID, col)
        raw = [None if v is None else uuid.UUID(v).bytes for v in col.cast(pa.string()).to_pylist()]
        return pa.ExtensionArray.from_storage(at.UUID, pa.array(raw, pa.binary(16)))
    is_text = pa.types.is_string(t) or pa.types.is_large_string(t)
    if is_text and pa.types.is_binary(target):
        try:
            raw = [None if v is None else base64.b64decode(v, validate=True)
                   for v in col.to_pylist()]
        except binascii.Error as exc:
            raise pa.ArrowInvalid(f"not base64: {exc}") from exc
        return pa.array(raw, pa.binary())
    if is_text and pa.types.is_time(target):
        stamped = pc.binary_join_element_wise("1970-01-01T", col, "")
        return stamped.cast(at.TIMESTAMP).cast(pa.int64()).cast(at.TIME)
    if is_text and pa.types.is_timestamp(target) and target.tz:
        col = pc.replace_substring_regex(col, r"([+-]\d{2})(\d{2})$", r"\1:\2")
    return at.cast_exact(col, target)


def _python_json(col: pa.Array) -> pa.Array:
    """Nested values (struct, map, list of struct) as JSON text; keys holding null dropped."""
    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if x is not None}
        if isinstance(v, list):
            if v and all(isinstance(p, tuple) and len(p) == 2 for p in v):
                return {str(k): clean(x) for k, x in v}  # a map's (key, value) pairs
            return [clean(x) for x in v]
        return v

    return pa.array([None if v is None else json.dumps(clean(v), default=str,
                                                       ensure_ascii=False)
                     for v in col.to_pylist()], pa.string())


# ---- reading ---------------------------------------------------------------------------
def csv_options(cfg: dict[str, Any], block: int, names: list[str] | None = None,
                 types: dict[str, pa.DataType] | None = None, include: list[str] | None = None,
                 invalid_row: Any = None,
                 ) -> tuple[pcsv.ReadOptions, pcsv.ParseOptions, pcsv.ConvertOptions]:
    """Strict CSV options: serial (so errors carry row numbers), only an empty unquoted
    field is NULL (a quoted "" is an empty string), quoted values may span lines."""
    return (pcsv.ReadOptions(use_threads=False, block_size=block, encoding=cfg["encoding"],
                             column_names=names,
                             autogenerate_column_names=names is None and not cfg["header"]),
            pcsv.ParseOptions(delimiter=cfg["delimiter"], quote_char=cfg["quote_char"],
                              newlines_in_values=True, invalid_row_handler=invalid_row),
            pcsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True,
                                quoted_strings_can_be_null=False, include_columns=include,
                                include_missing_columns=True))


def csv_reader(path: Path, name: str, cfg: dict[str, Any], options: tuple[Any, ...]) -> Any:
    try:
        return pcsv.open_csv(str(path), *options)
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return None
        raise _csv_rejected(exc, path, name, cfg) from exc


def _csv_rejected(exc: pa.ArrowInvalid, path: Path, name: str, cfg: dict[str, Any]) -> Exception:
    return csv_error(exc, path, name, encoding=cfg["encoding"], delimiter=cfg["delimiter"],
                     quote_char=cfg["quote_char"])


def read_next(reader: Any, path: Path, name: str, cfg: dict[str, Any]) -> pa.RecordBatch | None:
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None
    except pa.ArrowInvalid as exc:
        raise _csv_rejected(exc, path, name, cfg) from exc


def csv_sample(path: Path, name: str, cfg: dict[str, Any], size: int) -> pa.Schema:
    """Types Arrow infers from a CSV file's first block, refined on the same values as text."""
    # when bad rows are skipped, a malformed row in the sample is skipped too
    skip = (lambda _row: "skip") if cfg.get("bad_rows") == "skip" else None
    reader = csv_reader(path, name, cfg, csv_options(cfg, size, invalid_row=skip))
    if reader is None:
        return pa.schema([])
    first, schema = read_next(reader, path, name, cfg), reader.schema
    text = None
    if first is not None:
        strings = csv_options(cfg, size, types={n: pa.string() for n in schema.names},
                              invalid_row=skip)
        text = read_next(csv_reader(path, name, cfg, strings), path, name, cfg)
    if text is None:  # a header without rows: names only, types unknown (null)
        return pa.schema([pa.field(f.name if cfg["header"] else f"column_{i + 1}", pa.null())
                          for i, f in enumerate(schema)])
    return pa.schema([canonical(pa.field(f.name if cfg["header"] else f"column_{i + 1}",
                                         infer_text(text.column(i), f.type)))
                      for i, f in enumerate(schema)])


def json_input(path: Path, cfg: dict[str, Any]) -> Any:
    stream = pa.input_stream(str(path), compression="detect")
    if codecs.lookup(cfg["encoding"]).name != "utf-8":
        stream = pa.transcoding_input_stream(stream, cfg["encoding"], "utf-8")
    return stream


def _json_head(path: Path, name: str, cfg: dict[str, Any], size: int,
               strings: list[str] | None = None) -> pa.RecordBatch | None:
    """The first block of a JSON lines file (``strings``: columns to read as text)."""
    parse = pjson.ParseOptions(explicit_schema=pa.schema(
        [pa.field(n, pa.string()) for n in strings or []]))
    read = pjson.ReadOptions(use_threads=False, block_size=size)
    try:
        reader = pjson.open_json(json_input(path, cfg), read_options=read, parse_options=parse)
        return next(iter(reader), None)
    except pa.ArrowInvalid as exc:
        if "Empty JSON stream" in str(exc):
            return None
        raise jsonl_error(exc, path, name, encoding=cfg["encoding"], rows_before=0) from exc


def jsonl_sample(path: Path, name: str, cfg: dict[str, Any], size: int) -> pa.Schema:
    """Types Arrow infers from a JSON lines file's first block; text columns refined."""
    first = _json_head(path, name, cfg, size)
    if first is None:
        return pa.schema([])
    textual = [f.name for f in first.schema
               if pa.types.is_string(f.type) or pa.types.is_timestamp(f.type)]
    text = _json_head(path, name, cfg, size, textual) if textual else first
    assert text is not None
    return pa.schema([canonical(pa.field(f.name, infer_text(text.column(f.name), f.type)
                                         if f.name in textual else f.type))
                      for f in first.schema])


def parquet_sample(path: Path, name: str) -> pa.Schema:
    try:
        schema = pq.ParquetFile(str(path), arrow_extensions_enabled=True).schema_arrow
    except pa.ArrowInvalid as exc:
        raise RecordRejected(f"cannot read Parquet: {exc}", location=name) from exc
    return pa.schema([canonical(f) for f in schema])


# ---- writing ---------------------------------------------------------------------------
def uuid_text(col: pa.Array) -> pa.Array:
    """uuid (or 16-byte binary) -> canonical 8-4-4-4-12 lower-case text."""
    st = col.storage if isinstance(col, pa.ExtensionArray) else col
    n = len(st)
    if n == 0:
        return pa.array([], pa.string())
    raw = pa.Array.from_buffers(pa.uint8(), 16 * n, [None, st.buffers()[1]],
                                offset=st.offset * 16)
    digits = pc.take(_HEX2, raw).buffers()[1]
    offsets = pa.arange(0, 32 * (n + 1), 32).cast(pa.int32()).buffers()[1]
    text = pa.Array.from_buffers(pa.string(), n, [None, offsets, digits])
    parts = [pc.utf8_slice_codeunits(text, a, b)
             for a, b in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))]
    out = pc.binary_join_element_wise(*parts, "-")
    if st.null_count:
        out = pc.if_else(st.is_valid(), out, pa.scalar(None, pa.string()))
    return out


def timestamp_text(col: pa.Array) -> pa.Array:
    """ISO 8601 with microseconds; ``+00:00`` for timestamps with a time zone (in UTC)."""
    t = col.type
    if t.unit in ("s", "ms"):
        col = col.cast(pa.timestamp("us", t.tz))
    if t.tz:
        col = col.cast(pa.timestamp(col.type.unit, "UTC"))
        return pc.strftime(col, format="%Y-%m-%dT%H:%M:%S+00:00")
    return pc.strftime(col, format="%Y-%m-%dT%H:%M:%S")


def decimal_text(col: pa.Array) -> pa.Array:
    """Exact plain decimal text with all ``scale`` digits ("0.0000000001", never "1E-10")."""
    scale = col.type.scale
    if scale < 0 or not pa.types.is_decimal128(col.type):
        return col.cast(pa.string())
    raw = pa.Array.from_buffers(pa.decimal128(38, 0), len(col), col.buffers(),
                                offset=col.offset).cast(pa.string())
    if scale == 0:
        return raw
    padded = pc.utf8_lpad(pc.utf8_ltrim(raw, "-"), width=scale + 1, padding="0")
    text = pc.binary_join_element_wise(pc.utf8_slice_codeunits(padded, 0, -scale),
                                       pc.utf8_slice_codeunits(padded, -scale), ".")
    return pc.if_else(pc.starts_with(raw, "-"), pc.binary_join_element_wise("-", text, ""),
                      text)


def csv_column(col: pa.Array, f: pa.Field) -> pa.Array:
    """A column the Arrow CSV writer prints as the documented text (NULL stays NULL)."""
    t = col.type
    if at.is_uuid(t):
        return uuid_text(col)
    if at.is_json(t):
        return col.storage.cast(pa.string())
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return col.cast(pa.string())
    if pa.types.is_timestamp(t):
        return timestamp_text(col)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return pa.array([None if v is None else base64.b64encode(v).decode("ascii")
                         for v in col.to_pylist()], pa.string())
    if pa.types.is_time(t):
        return col.cast(at.TIME)
    if pa.types.is_decimal(t):
        return decimal_text(col)
    if (pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
            or pa.types.is_date(t) or pa.types.is_string(t)):
        return col
    return json_column(col, f)


def _quoted(col: pa.Array) -> pa.Array:
    """Text -> JSON string literals (escaped, quoted); NULL stays NULL."""
    s = col.cast(pa.string())
    s = pc.replace_substring(s, "\\", "\\\\")
    s = pc.replace_substring(s, '"', '\\"')
    if pc.any(pc.match_substring_regex(s, r"[\x00-\x1f]")).as_py():
        for code, escape in _CONTROL.items():
            s = pc.replace_substring(s, chr(code), escape)
    return pc.binary_join_element_wise('"', s, '"', "")


def json_column(col: pa.Array, f: pa.Field) -> pa.Array:
    """Each value as JSON text (NULL stays NULL, to become ``null``)."""
    t = col.type
    if at.is_numeric_text(f):
        return col.cast(pa.string())  # exact decimal text, as a JSON number
    if pa.types.is_decimal(t):
        return decimal_text(col)
    if pa.types.is_boolean(t) or pa.types.is_integer(t):
        return col.cast(pa.string())
    if pa.types.is_floating(t):
        text = col.cast(pa.string())
        text = pc.if_else(pc.is_nan(col), '"NaN"', text)
        text = pc.if_else(pc.and_(pc.is_inf(col), pc.greater(col, 0)), '"Infinity"', text)
        return pc.if_else(pc.and_(pc.is_inf(col), pc.less(col, 0)), '"-Infinity"', text)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        col = col.cast(pa.list_(t.value_type))
        inner = pc.fill_null(json_column(col.values, t.value_field), "null")
        joined = pc.binary_join(pa.ListArray.from_arrays(col.offsets, inner,
                                                         mask=col.is_null()), ",")
        return pc.binary_join_element_wise("[", joined, "]", "")
    if (pa.types.is_struct(t) or pa.types.is_map(t) or pa.types.is_union(t)
            or pa.types.is_dictionary(t)):
        return _python_json(col)
    if at.is_uuid(t) or at.is_json(t) or pa.types.is_timestamp(t) or pa.types.is_binary(t) or (
            pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)):
        return _quoted(csv_column(col, f))
    if pa.types.is_time(t) or pa.types.is_date(t):
        return _quoted(col.cast(at.TIME if pa.types.is_time(t) else pa.date32()))
    return _quoted(col)


def json_lines(batch: pa.RecordBatch) -> pa.Array:
    """One JSON object per row, each ending in a newline (a string array without NULLs)."""
    pieces: list[Any] = []
    for i, (f, col) in enumerate(zip(batch.schema, batch.columns, strict=True)):
        key = ("{" if i == 0 else ",") + json.dumps(f.name, ensure_ascii=False) + ":"
        pieces += [key, pc.fill_null(json_column(col, f), "null")]
    if not pieces:
        return pa.array(["{}\n"] * batch.num_rows, pa.string())
    pieces.append("}\n")
    return pc.binary_join_element_wise(*pieces, "")
