"""The type table: a small Arrow table holding every canonical type and its edge values."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

import pyarrow as pa

from sluiceway.protocol import arrow_types as at

UTC = dt.UTC
LONG_TEXT = "long text ✓ " * 300_000  # several MB in one value


def _naive(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
           micro: int = 0) -> dt.datetime:
    """A timestamp without time zone (wall-clock value, as the ``timestamp`` type holds)."""
    return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC).replace(
        tzinfo=None)


def type_table() -> pa.Table:
    """Rows: typical values, extremes, empties (distinct from NULL), and all NULLs."""
    d = decimal.Decimal
    cols: dict[str, tuple[pa.Field, list[object]]] = {
        "order": (pa.field("order", pa.int64(), False), [1, 2, 3, 4]),
        "by": (pa.field("by", pa.string()), ["héllo wörld ✓ 日本", "", None, LONG_TEXT]),
        "Mixed Case": (pa.field("Mixed Case", pa.int32()), [-2147483648, 0, None, 2147483647]),
        "naïve col": (pa.field("naïve col", pa.int16()), [-32768, 7, None, 32767]),
        "big": (pa.field("big", pa.int64()),
                [-9223372036854775808, 0, None, 9223372036854775807]),
        "f64": (pa.field("f64", pa.float64()), [float("nan"), float("inf"), None,
                                                 float("-inf")]),
        "f64_plain": (pa.field("f64_plain", pa.float64()),
                      [1.5e308, -0.0, None, 3.141592653589793]),
        "amount": (pa.field("amount", pa.decimal128(12, 2)),
                   [d("1234567890.12"), d("-0.01"), None, d("0.00")]),
        "wide": (pa.field("wide", pa.decimal128(38, 10)),
                 [d("1234567890123456789012345678.0123456789"), d("0E-10"), None,
                  d("-0.0000000001")]),
        "flag": (pa.field("flag", pa.bool_()), [True, False, None, True]),
        "blob": (pa.field("blob", pa.binary()), [b"\x00\xff\x10\n\t\\", b"", None, b"x" * 1000]),
        "day": (pa.field("day", pa.date32()), [dt.date(2024, 2, 29), dt.date(1, 1, 1), None,
                                               dt.date(9999, 12, 31)]),
        "clock": (pa.field("clock", at.TIME), [dt.time(23, 59, 59, 999999), dt.time(0), None,
                                               dt.time(12, 0, 0, 1)]),
        "ts": (pa.field("ts", at.TIMESTAMP), [_naive(2001, 1, 1, 0, 0, 0, 1),
                                              _naive(1970, 1, 1), None,
                                              _naive(2099, 12, 31, 23, 59, 59, 999999)]),
        "tstz": (pa.field("tstz", at.TIMESTAMP_TZ),
                 [dt.datetime(2024, 2, 29, 18, 29, 59, 123456, tzinfo=UTC),
                  dt.datetime(1970, 1, 1, tzinfo=UTC), None,
                  dt.datetime(2038, 1, 19, 3, 14, 8, 1, tzinfo=UTC)]),
        "uid": (pa.field("uid", at.UUID), [uuid.UUID("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),
                                           uuid.UUID("00000000-0000-0000-0000-000000000000"),
                                           None,
                                           uuid.UUID("c232ab00-9414-11ec-3000-000000000001")]),
        "arr": (pa.field("arr", pa.list_(pa.int32())), [[1, None, -3], [], None, [2**31 - 1]]),
        "doc": (pa.field("doc", at.JSON), [json.dumps({"a": [1, 2], "b": {"c": None}}), "[]",
                                           None, '"text"']),
    }
    arrays = []
    for f, values in cols.values():
        if at.is_uuid(f.type):
            storage = pa.array([v.bytes if v else None for v in values],  # type: ignore[attr-defined]
                               pa.binary(16))
            arrays.append(pa.ExtensionArray.from_storage(f.type, storage))
        elif at.is_json(f.type):
            arrays.append(pa.ExtensionArray.from_storage(f.type, pa.array(values, pa.string())))
        else:
            arrays.append(pa.array(values, f.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema([f for f, _ in cols.values()]))


def comparable(table: pa.Table) -> dict[str, list[object]]:
    """Column -> Python values, with NaN made comparable and json parsed."""
    out: dict[str, list[object]] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        values = col.to_pylist()
        if at.is_json(col.type) or (table.schema.field(name).name == "doc"
                                    and pa.types.is_string(col.type)):
            values = [json.loads(v) if v is not None else None for v in values]
        out[name] = ["NaN" if isinstance(v, float) and v != v else v for v in values]
    return out
