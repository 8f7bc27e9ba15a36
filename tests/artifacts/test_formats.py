from __future__ import annotations

import io
import json
import math
import uuid
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.json as pj
import pyarrow.parquet as pq
import pytest

from sluiceway.artifacts.formats import (
    FORMATS,
    XLSX_MAX_ROWS,
    BatchWriter,
    Format,
    formats_for,
    open_writer,
)
from sluiceway.core.errors import Fatal, InvalidInput

BIG = Decimal("12345678901234567890.0123456789")
TEXT = 'héllo, "wörld"\n\ttab → 😀'

TABLE = pa.table({
    "i": pa.array([1, -(2**63), None, 2**62, 0], pa.int64()),
    "d": pa.array([BIG, Decimal("-0.0000000001"), None, Decimal("0"), Decimal("1.5")],
                  pa.decimal128(38, 10)),
    "ts": pa.array([datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
                    datetime(1970, 1, 1, tzinfo=UTC), None,
                    datetime(1, 1, 1, tzinfo=UTC),
                    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)],
                   pa.timestamp("us", "UTC")),
    "day": pa.array([date(2024, 1, 31), date(1, 1, 1), None, date(9999, 12, 31),
                     date(1970, 1, 1)], pa.date32()),
    "ok": pa.array([True, False, None, True, False]),
    "s": pa.array([TEXT, "", None, "plain", "=1+1"]),
    "f": pa.array([math.nan, math.inf, None, -math.inf, 0.1]),
    "l": pa.array([[1, 2], [], None, [None], [3]], pa.list_(pa.int64())),
})

# what JSON lines and JSON hold for TABLE, row by row
JSON_ROWS: list[dict[str, Any]] = [
    {"i": 1, "d": "12345678901234567890.0123456789", "ts": "2024-02-29T23:59:59.123456Z",
     "day": "2024-01-31", "ok": True, "s": TEXT, "f": "NaN", "l": [1, 2]},
    {"i": -(2**63), "d": "-0.0000000001", "ts": "1970-01-01T00:00:00.000000Z",
     "day": "0001-01-01", "ok": False, "s": "", "f": "Infinity", "l": []},
    {"i": None, "d": None, "ts": None, "day": None, "ok": None, "s": None, "f": None,
     "l": None},
    {"i": 2**62, "d": "0.0000000000", "ts": "0001-01-01T00:00:00.000000Z",
     "day": "9999-12-31", "ok": True, "s": "plain", "f": "-Infinity", "l": [None]},
    {"i": 0, "d": "1.5000000000", "ts": "9999-12-31T23:59:59.999999Z", "day": "1970-01-01",
     "ok": False, "s": "=1+1", "f": 0.1, "l": [3]},
]


def _export(fmt: str, table: pa.Table, chunk: int | None = None) -> bytes:
    out = io.BytesIO()
    writer = open_writer(fmt, out, table.schema)
    for batch in table.to_batches(max_chunksize=chunk):
        writer.write(batch)
    writer.close()
    assert not out.closed
    return out.getvalue()


def _nan_safe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: ("NaN" if isinstance(v, float) and math.isnan(v) else v)
             for k, v in row.items()} for row in rows]


def _read_csv(data: bytes, delimiter: str) -> pa.Table:
    types = dict(zip(TABLE.schema.names, TABLE.schema.types, strict=True), l=pa.string())
    return pcsv.read_csv(
        io.BytesIO(data),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                        ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(column_types=types, null_values=[""],
                                            strings_can_be_null=True,
                                            quoted_strings_can_be_null=False))


def _sheet_cells(data: bytes) -> dict[str, tuple[str | None, str]]:
    """Cell reference -> (cell type, text) of the first worksheet."""
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    cells = {}
    for c in ElementTree.fromstring(xml).iterfind(".//m:c", ns):
        v = c.find("m:v", ns)
        t = c.find("m:is/m:t", ns)
        text = v.text if v is not None else (t.text if t is not None else None)
        cells[c.attrib["r"]] = (c.attrib.get("t"), text or "")
    return cells


def test_formats_are_described() -> None:
    assert list(FORMATS) == ["csv", "tsv", "jsonl", "json", "parquet", "xlsx"]
    assert FORMATS["parquet"] == Format("parquet", "application/vnd.apache.parquet", "parquet",
                                        "tabular", FORMATS["parquet"].description)
    assert FORMATS["jsonl"].mime_type == "application/x-ndjson"
    assert FORMATS["xlsx"].mime_type == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@pytest.mark.parametrize(("modalities", "expected"), [
    (["tabular"], ["csv", "tsv", "jsonl", "json", "parquet", "xlsx"]),
    ([], []),
])
def test_formats_for_lists_the_formats_of_a_modality(modalities: list[str],
                                                     expected: list[str]) -> None:
    assert [f.name for f in formats_for(modalities)] == expected


def test_formats_for_refuses_an_unknown_modality() -> None:
    with pytest.raises(InvalidInput) as err:
        formats_for(["tabular", "video"])
    assert [e.path for e in err.value.errors] == ["modalities"]
    assert "'video'" in err.value.message
    assert "tabular" in err.value.errors[0].reason


def test_open_writer_refuses_an_unknown_format() -> None:
    with pytest.raises(InvalidInput) as err:
        open_writer("xml", io.BytesIO(), TABLE.schema)
    assert [e.path for e in err.value.errors] == ["format"]
    assert "csv, tsv, jsonl, json, parquet, xlsx" in err.value.errors[0].reason


@pytest.mark.parametrize(("fmt", "delimiter"), [("csv", ","), ("tsv", "\t")])
def test_csv_round_trips_every_type(fmt: str, delimiter: str) -> None:
    data = _export(fmt, TABLE)
    assert data.splitlines()[0] == delimiter.join(
        f'"{n}"' for n in TABLE.schema.names).encode()
    back = _read_csv(data, delimiter)
    expected = TABLE.set_column(7, "l", pa.array(
        ["[1,2]", "[]", None, "[null]", "[3]"], pa.string()))
    assert back.schema == expected.schema
    assert _nan_safe(back.to_pylist()) == _nan_safe(expected.to_pylist())


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_json_formats_hold_json_safe_values(fmt: str) -> None:
    data = _export(fmt, TABLE)
    if fmt == "jsonl":
        lines = data.decode().splitlines()
        assert len(lines) == len(JSON_ROWS)
        rows = [json.loads(line) for line in lines]
    else:
        rows = json.loads(data)
    assert rows == JSON_ROWS


def test_jsonl_reads_back_with_pyarrow() -> None:
    schema = pa.schema([("i", pa.int64()), ("d", pa.string()),
                        ("ts", pa.timestamp("us", "UTC")), ("day", pa.string()),
                        ("ok", pa.bool_()), ("s", pa.string()), ("l", pa.list_(pa.int64()))])
    back = pj.read_json(io.BytesIO(_export("jsonl", TABLE)), parse_options=pj.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior="ignore"))
    assert back.select(["i", "ts", "ok", "s", "l"]).equals(
        TABLE.select(["i", "ts", "ok", "s", "l"]))
    assert back["day"].cast(pa.date32()).equals(TABLE["day"])
    assert [None if v is None else Decimal(v) for v in back["d"].to_pylist()] == (
        TABLE["d"].to_pylist())


def test_parquet_round_trips_every_type() -> None:
    back = pq.read_table(io.BytesIO(_export("parquet", TABLE)))
    assert back.schema.equals(TABLE.schema, check_metadata=False)
    assert _nan_safe(back.to_pylist()) == _nan_safe(TABLE.to_pylist())


@pytest.mark.parametrize(("cell", "expected"), [
    ("A1", ("inlineStr", "i")),
    ("H1", ("inlineStr", "l")),
    ("A2", (None, "1")),
    ("A3", ("inlineStr", "-9223372036854775808")),  # beyond Excel's 15 digits: text
    ("A6", (None, "0")),
    ("B2", ("inlineStr", "12345678901234567890.0123456789")),
    ("B3", (None, "-1E-10")),
    ("B6", (None, "1.5")),
    ("C2", ("inlineStr", "2024-02-29T23:59:59.123456Z")),
    ("D3", ("inlineStr", "0001-01-01")),
    ("E2", ("b", "1")),
    ("E3", ("b", "0")),
    ("F2", ("inlineStr", TEXT)),
    ("F6", ("inlineStr", "=1+1")),  # text, never a formula
    ("G2", ("inlineStr", "NaN")),
    ("G3", ("inlineStr", "Infinity")),
    ("G5", ("inlineStr", "-Infinity")),
    ("G6", (None, "0.1")),
    ("H2", ("inlineStr", "[1,2]")),
    ("H5", ("inlineStr", "[null]")),
])
def test_xlsx_holds_each_value(cell: str, expected: tuple[str | None, str]) -> None:
    assert _sheet_cells(_export("xlsx", TABLE))[cell] == expected


def test_xlsx_leaves_nulls_out_and_has_no_formulas() -> None:
    data = _export("xlsx", TABLE)
    cells = _sheet_cells(data)
    assert not [ref for ref in cells if ref.endswith("4") and len(ref) == 2]  # the NULL row
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert len(cells) == 8 + 4 * 8  # header + four rows of eight values, NULL row empty


def test_xlsx_refuses_more_rows_than_a_sheet_holds() -> None:
    schema = pa.schema([("x", pa.int8())])
    writer = open_writer("xlsx", io.BytesIO(), schema)
    writer.write(pa.record_batch([pa.nulls(XLSX_MAX_ROWS, pa.int8())], schema=schema))
    with pytest.raises(InvalidInput) as err:
        writer.write(pa.record_batch([pa.array([1], pa.int8())], schema=schema))
    assert [e.path for e in err.value.errors] == ["format"]
    assert "xlsx holds at most 1,048,576 rows; choose csv or parquet" in err.value.message
    writer.close()


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "json", "parquet"])
def test_many_batches_make_the_same_file_as_one(fmt: str) -> None:
    one, many = _export(fmt, TABLE), _export(fmt, TABLE, chunk=1)
    if fmt == "parquet":
        back_one, back_many = (pq.read_table(io.BytesIO(d)) for d in (one, many))
        assert _nan_safe(back_many.to_pylist()) == _nan_safe(back_one.to_pylist())
    else:
        assert many == one


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "json", "parquet"])
def test_each_batch_reaches_the_file_when_written(fmt: str) -> None:
    out = io.BytesIO()
    writer = open_writer(fmt, out, TABLE.schema)
    sizes = []
    for batch in TABLE.to_batches(max_chunksize=2):
        writer.write(batch)
        sizes.append(len(out.getvalue()))
    writer.close()
    assert sizes == sorted(set(sizes)), sizes  # the output grew with every batch
    assert writer.rows_written == TABLE.num_rows


@pytest.mark.parametrize(("fmt", "expected"), [
    ("csv", b'"i","s"\n'),
    ("jsonl", b""),
    ("json", b"[\n]\n"),
])
def test_an_empty_export_is_a_valid_file(fmt: str, expected: bytes) -> None:
    schema = pa.schema([("i", pa.int64()), ("s", pa.string())])
    assert _export(fmt, schema.empty_table()) == expected


def test_parquet_and_xlsx_exports_without_rows_open() -> None:
    schema = pa.schema([("i", pa.int64())])
    assert pq.read_table(io.BytesIO(_export("parquet", schema.empty_table()))).num_rows == 0
    assert _sheet_cells(_export("xlsx", schema.empty_table())) == {"A1": ("inlineStr", "i")}


_U = uuid.UUID("12345678-1234-5678-1234-567812345678")
EXTRA = pa.table({
    "u": pa.ExtensionArray.from_storage(pa.uuid(), pa.array([_U.bytes, None], pa.binary(16))),
    "j": pa.ExtensionArray.from_storage(pa.json_(), pa.array(['{"a":\n [1, 2.50]}', "not json"])),
    "bin": pa.array([b"\x00\xff", None]),
    "st": pa.array([{"x": Decimal("1.20"), "y": "z"}, None],
                   pa.struct([("x", pa.decimal128(5, 2)), ("y", pa.string())])),
    "tiny": pa.array([Decimal("0.0000001"), None], pa.decimal128(12, 10)),
})


@pytest.mark.parametrize(("fmt", "expected"), [
    ("csv", '"u","j","bin","st","tiny"\n'
            '"12345678-1234-5678-1234-567812345678","{""a"":\n [1, 2.50]}","AP8=",'
            '"{""x"":""1.20"",""y"":""z""}","0.0000001000"\n'
            ',"not json",,,\n'),
    ("jsonl", '{"u":"12345678-1234-5678-1234-567812345678","j":{"a":  [1, 2.50]},'
              '"bin":"AP8=","st":{"x":"1.20","y":"z"},"tiny":"0.0000001000"}\n'
              '{"u":null,"j":"not json","bin":null,"st":null,"tiny":null}\n'),
])
def test_extension_binary_and_nested_values_become_text(fmt: str, expected: str) -> None:
    assert _export(fmt, EXTRA).decode() == expected


def test_extension_values_in_xlsx() -> None:
    cells = _sheet_cells(_export("xlsx", EXTRA))
    assert cells["A2"] == ("inlineStr", str(_U))
    assert cells["C2"] == ("inlineStr", "AP8=")
    assert cells["D2"] == ("inlineStr", '{"x":"1.20","y":"z"}')
    assert cells["E2"] == (None, "1E-07")


def test_a_batch_of_another_schema_is_refused() -> None:
    writer: BatchWriter = open_writer("csv", io.BytesIO(), TABLE.schema)
    with pytest.raises(Fatal, match="does not match"):
        writer.write(pa.record_batch({"x": pa.array([1])}))


def test_writer_is_a_context_manager_that_closes_once() -> None:
    out = io.BytesIO()
    with open_writer("json", out, TABLE.schema) as writer:
        writer.write(TABLE.to_batches()[0])
    writer.close()
    assert json.loads(out.getvalue()) == JSON_ROWS
    with pytest.raises(Fatal, match="closed"):
        writer.write(TABLE.to_batches()[0])
