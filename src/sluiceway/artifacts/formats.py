"""Export formats: stream Arrow record batches into a binary file, one batch at a time.

``open_writer(fmt, out, schema)`` returns a :class:`BatchWriter`; ``write`` each batch and
``close`` it. Memory stays bounded by one batch: nothing collects the whole table. The file
object ``out`` belongs to the caller and is left open.

How values look in each format (canonical types of ``protocol.arrow_types``):

=========  ================================================================================
format     values
=========  ================================================================================
csv, tsv   header row; pyarrow's CSV writer (text quoted, NULL an empty unquoted cell,
           timestamps ``2024-01-02 03:04:05.000006Z``, floats ``nan``/``inf``); decimals in
           plain notation; lists, structs and maps as JSON text; binary as base64; uuid as
           its canonical text; json as its text
jsonl      one object per line; decimals as strings (exact digits); dates, times and
json       timestamps ISO-8601 (UTC ones end in ``Z``); binary base64; uuid text; json
           documents embedded; NaN/+-Infinity as the strings ``"NaN"``, ``"Infinity"``,
           ``"-Infinity"`` (JSON has none). ``json`` is one array of those objects
parquet    the Arrow schema as it is
xlsx       one sheet with a header row; numbers as numbers while Excel holds them exactly
           (15 significant digits), else as text; dates and timestamps as ISO text; at most
           1,048,575 data rows. NULL is a missing cell, an empty string an empty text cell
=========  ================================================================================
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from sluiceway.core.errors import Fatal, FieldError, InvalidInput
from sluiceway.protocol.arrow_types import is_json, is_uuid


@dataclass(frozen=True)
class Format:
    """An export format: its name, what it is served as, and what it holds."""

    name: str
    mime_type: str
    extension: str  #: file-name extension, without the dot
    modality: str
    description: str


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("csv", "text/csv", "csv", "tabular",
           "Comma-separated values with a header row"),
    Format("tsv", "text/tab-separated-values", "tsv", "tabular",
           "Tab-separated values with a header row"),
    Format("jsonl", "application/x-ndjson", "jsonl", "tabular",
           "JSON lines: one object per row"),
    Format("json", "application/json", "json", "tabular",
           "One JSON array of objects, one per row"),
    Format("parquet", "application/vnd.apache.parquet", "parquet", "tabular",
           "Apache Parquet, columnar and typed"),
    Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx",
           "tabular", "Excel workbook with one sheet (at most 1,048,575 rows)"),
)}

XLSX_MAX_ROWS = 1_048_575  # data rows; the header takes the sheet's 1,048,576th
XLSX_MAX_COLUMNS = 16_384
XLSX_MAX_TEXT = 32_767
_EXACT_IN_EXCEL = 15  # significant digits an Excel number keeps


def formats_for(modalities: list[str]) -> list[Format]:
    """The formats that export data of any of ``modalities``, in ``FORMATS`` order."""
    known = sorted({f.modality for f in FORMATS.values()})
    unknown = [m for m in modalities if m not in known]
    if unknown:
        raise InvalidInput("unknown modality", [FieldError(
            "modalities", f"{unknown[0]!r} is not a modality; known: {', '.join(known)}",
            unknown[0])])
    return [f for f in FORMATS.values() if f.modality in modalities]


class BatchWriter(ABC):
    """Writes record batches of one schema to a binary file object, one batch at a time."""

    def __init__(self, out: BinaryIO, schema: pa.Schema) -> None:
        self.out = out
        self.schema = schema
        self.rows_written = 0
        self._closed = False

    def write(self, batch: pa.RecordBatch) -> None:
        """Append the rows of ``batch``, which must have the writer's schema."""
        if self._closed:
            raise Fatal("the export writer is already closed")
        if not batch.schema.equals(self.schema, check_metadata=False):
            raise Fatal(f"a batch does not match the export's schema: expected "
                        f"{self.schema.to_string(show_schema_metadata=False)}, got "
                        f"{batch.schema.to_string(show_schema_metadata=False)}")
        self._write(batch)
        self.rows_written += batch.num_rows

    def close(self) -> None:
        """Finish the file (footer, closing bracket, zip directory). ``out`` stays open."""
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @abstractmethod
    def _write(self, batch: pa.RecordBatch) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...


def open_writer(fmt: str, out: BinaryIO, schema: pa.Schema) -> BatchWriter:
    """A writer of format ``fmt`` (a key of ``FORMATS``) into ``out``."""
    factory = _WRITERS.get(fmt)
    if factory is None:
        raise InvalidInput("unknown export format", [FieldError(
            "format", f"{fmt!r} is not a format; known: {', '.join(FORMATS)}", fmt)])
    return factory(out, schema)


# --- value conversions, per column --------------------------------------------------------

_JSON_FLOATS = {"nan": '"NaN"', "inf": '"Infinity"', "-inf": '"-Infinity"'}
_XLSX_FLOATS = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _strings(values: list[str | None]) -> pa.Array:
    return pa.array(values, pa.string())


def _decimal_text(col: pa.Array) -> pa.Array:
    """Decimals as plain digits (Arrow writes small ones as ``1.000E-7``)."""
    text = pc.cast(col, pa.string())
    if pc.any(pc.match_substring(text, "E")).as_py():
        text = _strings([None if v is None else format(v, "f") for v in col.to_pylist()])
    return text


def _iso_text(col: pa.Array) -> pa.Array:
    """Dates, times and timestamps as ISO-8601 text; UTC timestamps end in ``Z``."""
    t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            col = col.cast(pa.timestamp(t.unit, "UTC"))
        text = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S")
        return pc.binary_join_element_wise(text, "Z", "") if t.tz is not None else text
    return pc.cast(col, pa.string())


def _b64(v: bytes) -> str:
    return base64.b64encode(v).decode("ascii")


def _plain(v: Any) -> Any:
    """A Python value from ``as_py`` made JSON-safe (nested lists and dicts kept)."""
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else _XLSX_FLOATS[repr(v)]
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, datetime):
        if v.tzinfo is not None:
            utc = v.astimezone(UTC).replace(tzinfo=None)
            return utc.isoformat(timespec="microseconds") + "Z"
        return v.isoformat(timespec="microseconds")
    if isinstance(v, date | time):
        return v.isoformat()
    if isinstance(v, bytes):
        return _b64(v)
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, timedelta):
        return v.total_seconds()
    return str(v)  # uuid.UUID and anything else that has a text form


def json_safe(v: Any) -> Any:
    """A value read from Arrow (``as_py``) as the exports write it in JSON: decimals and
    times as text, bytes as Base64 (route entities take the same form)."""
    return _plain(v)


def _dumps(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _json_doc(text: str) -> str:
    """A json column's text embedded as it is when valid (raw newlines are whitespace)."""
    try:
        json.loads(text)
    except ValueError:
        return _dumps(text)
    return text.replace("\r", " ").replace("\n", " ")


def _csv_native(t: pa.DataType) -> bool:
    """Whether pyarrow's CSV writer writes ``t`` as it should be (decimals it does not)."""
    return bool(pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
                or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_date(t)
                or pa.types.is_time(t) or pa.types.is_timestamp(t) or pa.types.is_null(t))


def _to_text(col: pa.Array) -> pa.Array:
    """A column that pyarrow's CSV writer cannot write (see ``_csv_native``) as text."""
    t = col.type
    if is_uuid(t):
        return _strings([None if v is None else str(uuid.UUID(bytes=v))
                         for v in col.storage.to_pylist()])
    if is_json(t):
        return pc.cast(col.storage, pa.string())
    if pa.types.is_dictionary(t):
        decoded = col.dictionary_decode()
        return pc.cast(decoded, pa.string()) if _csv_native(decoded.type) else _to_text(decoded)
    if pa.types.is_decimal(t):
        return _decimal_text(col)
    if pa.types.is_string_view(t):
        return pc.cast(col, pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return _strings([None if v is None else _b64(v) for v in col.to_pylist()])
    return _strings([None if v is None else _dumps(_plain(v)) for v in col.to_pylist()])


def _json_fragments(col: pa.Array) -> list[str]:
    """Each value of ``col`` as JSON text (``null`` for NULL)."""
    t = col.type
    if pa.types.is_dictionary(t):
        return _json_fragments(col.dictionary_decode())
    if pa.types.is_null(t):
        return ["null"] * len(col)
    if pa.types.is_boolean(t) or pa.types.is_integer(t):
        return [("null" if v is None else v) for v in pc.cast(col, pa.string()).to_pylist()]
    if pa.types.is_floating(t):
        return [("null" if v is None else _JSON_FLOATS.get(v, v))
                for v in pc.cast(col, pa.string()).to_pylist()]
    if is_json(t):
        return [("null" if v is None else _json_doc(v)) for v in col.storage.to_pylist()]
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return [("null" if v is None else _dumps(v)) for v in col.to_pylist()]
    if pa.types.is_date(t) or pa.types.is_time(t) or pa.types.is_timestamp(t):
        text = _iso_text(col)
    elif pa.types.is_decimal(t) or is_uuid(t) or pa.types.is_binary(t) or (
            pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)):
        text = _to_text(col)
    else:
        return [("null" if v is None else _dumps(_plain(v))) for v in col.to_pylist()]
    # ISO text, decimal digits, base64 and uuid text never need escaping inside quotes
    return [("null" if v is None else f'"{v}"') for v in text.to_pylist()]


# --- csv / tsv ----------------------------------------------------------------------------

class _CsvWriter(BatchWriter):
    def __init__(self, out: BinaryIO, schema: pa.Schema, delimiter: str) -> None:
        import pyarrow.csv as pcsv

        super().__init__(out, schema)
        self._convert = [i for i, f in enumerate(schema) if not _csv_native(f.type)]
        text_schema = schema
        for i in self._convert:
            text_schema = text_schema.set(i, pa.field(schema[i].name, pa.string()))
        self._text_schema = text_schema
        self._writer = pcsv.CSVWriter(out, text_schema, write_options=pcsv.WriteOptions(
            include_header=True, delimiter=delimiter))

    def _write(self, batch: pa.RecordBatch) -> None:
        if self._convert:
            cols = list(batch.columns)
            for i in self._convert:
                cols[i] = _to_text(cols[i])
            batch = pa.RecordBatch.from_arrays(cols, schema=self._text_schema)
        self._writer.write_batch(batch)

    def _close(self) -> None:
        self._writer.close()


# --- json lines / json array --------------------------------------------------------------

class _JsonWriter(BatchWriter):
    def __init__(self, out: BinaryIO, schema: pa.Schema, array: bool) -> None:
        super().__init__(out, schema)
        self._keys = [_dumps(f.name) + ":" for f in schema]
        self._array = array
        if array:
            out.write(b"[")

    def _write(self, batch: pa.RecordBatch) -> None:
        cols = [_json_fragments(c) for c in batch.columns]
        keys = self._keys
        lines = ["{" + ",".join(k + c[r] for k, c in zip(keys, cols, strict=True)) + "}"
                 for r in range(batch.num_rows)]
        if not lines:
            return
        if self._array:
            lead = ",\n" if self.rows_written else "\n"
            text = lead + ",\n".join(lines)
        else:
            text = "\n".join(lines) + "\n"
        self.out.write(text.encode("utf-8"))

    def _close(self) -> None:
        if self._array:
            self.out.write(b"\n]\n")


# --- parquet ------------------------------------------------------------------------------

class _ParquetWriter(BatchWriter):
    def __init__(self, out: BinaryIO, schema: pa.Schema) -> None:
        import pyarrow.parquet as pq

        super().__init__(out, schema)
        self._writer = pq.ParquetWriter(out, schema)

    def _write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self._writer.write_batch(batch)

    def _close(self) -> None:
        self._writer.close()


# --- xlsx ---------------------------------------------------------------------------------

def _exact_in_excel(d: Decimal) -> bool:
    if not d.is_finite():
        return False
    digits = d.normalize().as_tuple().digits
    return len(digits) <= _EXACT_IN_EXCEL


class _XlsxWriter(BatchWriter):
    def __init__(self, out: BinaryIO, schema: pa.Schema) -> None:
        import xlsxwriter

        if len(schema) > XLSX_MAX_COLUMNS:
            raise InvalidInput("too many columns for xlsx", [FieldError(
                "format", f"xlsx holds at most {XLSX_MAX_COLUMNS:,} columns, this export has "
                f"{len(schema):,}; choose csv or parquet", "xlsx")])
        super().__init__(out, schema)
        # constant_memory streams each finished row to a temporary file (in_memory must be
        # off for that); the zip is written to ``out`` on close
        self._book = xlsxwriter.Workbook(out, {
            "constant_memory": True, "in_memory": False,
            "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False,
        })
        self._sheet = self._book.add_worksheet()
        bold = self._book.add_format({"bold": True})
        for c, f in enumerate(schema):
            self._sheet.write_string(0, c, f.name, bold)

    def _write(self, batch: pa.RecordBatch) -> None:
        if self.rows_written + batch.num_rows > XLSX_MAX_ROWS:
            raise InvalidInput("too many rows for xlsx", [FieldError(
                "format", "xlsx holds at most 1,048,576 rows; choose csv or parquet", "xlsx")])
        top = self.rows_written + 1
        cols = [self._cells(c) for c in batch.columns]
        for r in range(batch.num_rows):
            row = top + r
            for c, (values, put) in enumerate(cols):
                v = values[r]
                if v is not None and put(row, c, v) == -2:
                    raise InvalidInput("a value is too long for xlsx", [FieldError(
                        "format", f"column {self.schema[c].name!r}, row {row}: xlsx cells "
                        f"hold at most {XLSX_MAX_TEXT:,} characters; choose csv or parquet",
                        "xlsx")])

    def _cells(self, col: pa.Array) -> tuple[list[Any], Callable[[int, int, Any], int]]:
        """The values of a column and the call that writes one of them."""
        t = col.type
        sheet = self._sheet
        if pa.types.is_dictionary(t):
            return self._cells(col.dictionary_decode())
        if pa.types.is_boolean(t):
            return col.to_pylist(), sheet.write_boolean
        if pa.types.is_integer(t):
            limit = 10 ** _EXACT_IN_EXCEL
            return ([None if v is None else (v if -limit < v < limit else str(v))
                     for v in col.to_pylist()], self._number_or_text)
        if pa.types.is_floating(t):
            return ([None if v is None else (v if math.isfinite(v) else _XLSX_FLOATS[repr(v)])
                     for v in col.to_pylist()], self._number_or_text)
        if pa.types.is_decimal(t):
            return ([None if v is None else (float(v) if _exact_in_excel(v) else format(v, "f"))
                     for v in col.to_pylist()], self._number_or_text)
        if pa.types.is_date(t) or pa.types.is_time(t) or pa.types.is_timestamp(t):
            return _iso_text(col).to_pylist(), sheet.write_string
        text = col if _csv_native(t) else _to_text(col)
        return text.to_pylist(), sheet.write_string

    def _number_or_text(self, row: int, col: int, v: float | int | str) -> int:
        if isinstance(v, str):
            return int(self._sheet.write_string(row, col, v))
        return int(self._sheet.write_number(row, col, v))

    def _close(self) -> None:
        self._book.close()


_WRITERS: dict[str, Callable[[BinaryIO, pa.Schema], BatchWriter]] = {
    "csv": lambda out, schema: _CsvWriter(out, schema, ","),
    "tsv": lambda out, schema: _CsvWriter(out, schema, "\t"),
    "jsonl": lambda out, schema: _JsonWriter(out, schema, array=False),
    "json": lambda out, schema: _JsonWriter(out, schema, array=True),
    "parquet": _ParquetWriter,
    "xlsx": _XlsxWriter,
}
