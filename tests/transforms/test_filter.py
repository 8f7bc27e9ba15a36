from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from sluiceway.core.errors import InvalidInput
from sluiceway.transforms.filter import MAX_DEPTH, compile_filter, select_columns

U0 = uuid.UUID("12345678-1234-5678-1234-567812345678")
BIG = Decimal("12345678901234567890.0123456789")

TABLE = pa.table({
    "id": pa.array([0, 1, 2, 3, 4], pa.int64()),
    "n": pa.array([1, 5, None, -3, 10], pa.int64()),
    "small": pa.array([1, 2, None, 3, 4], pa.int8()),
    "x": pa.array([1.5, float("nan"), None, float("-inf"), 2.0]),
    "amt": pa.array([BIG, Decimal("1.5"), None, Decimal("-0.0000000001"), Decimal("0")],
                    pa.decimal128(38, 10)),
    "s": pa.array(["apple", "Banana", None, "", "apricot"]),
    "day": pa.array([date(2024, 1, 31), date(1999, 12, 31), None, date(2024, 2, 1),
                     date(1, 1, 1)], pa.date32()),
    "ts": pa.array([datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
                    datetime(1970, 1, 1, tzinfo=UTC), None,
                    datetime(2024, 3, 1, tzinfo=UTC), datetime(1969, 12, 31, 23, tzinfo=UTC)],
                   pa.timestamp("us", "UTC")),
    "naive": pa.array([datetime(2024, 1, 1), None, None, datetime(2024, 1, 1, 12),
                       datetime(2023, 1, 1)], pa.timestamp("us")),
    "ok": pa.array([True, False, None, True, False]),
    "u": pa.ExtensionArray.from_storage(pa.uuid(), pa.array(
        [U0.bytes, uuid.UUID(int=1).bytes, None, uuid.UUID(int=2).bytes, U0.bytes],
        pa.binary(16))),
    "bin": pa.array([b"\x00\xff", b"", None, b"abc", b"\x00\xff"]),
    "j": pa.ExtensionArray.from_storage(pa.json_(), pa.array(
        ['{"a": 1}', "[]", None, '{"b": 2}', '"a"'])),
    "cat": pa.array(["red", "green", None, "red", "blue"]).dictionary_encode(),
    "tags": pa.array([["a"], [], None, ["b", "c"], None], pa.list_(pa.string())),
})
COLUMNS = ", ".join(TABLE.schema.names)


def _c(column: str, op: str, value: Any = None, **more: Any) -> dict[str, Any]:
    cond: dict[str, Any] = {"column": column, "op": op, **more}
    if value is not None:
        cond["value"] = value
    return cond


def _ids(spec: object) -> list[int]:
    batch = TABLE.to_batches()[0]
    return list(compile_filter(spec, TABLE.schema)(batch)["id"].to_pylist())


@pytest.mark.parametrize(("spec", "expected"), [
    # no filter
    (None, [0, 1, 2, 3, 4]),
    ([], [0, 1, 2, 3, 4]),
    # integers; NULL never matches a comparison, ne or not_in
    ([_c("n", "eq", 5)], [1]),
    ([_c("n", "eq", "5")], [1]),
    ([_c("n", "eq", 5.0)], [1]),
    ([_c("n", "ne", 5)], [0, 3, 4]),
    ([_c("n", "lt", 1)], [3]),
    ([_c("n", "lte", 1)], [0, 3]),
    ([_c("n", "gt", 5)], [4]),
    ([_c("n", "gte", " 5 ")], [1, 4]),
    ([_c("n", "in", [1, "10"])], [0, 4]),
    ([_c("n", "not_in", [1, 5])], [3, 4]),
    ([_c("n", "is_null")], [2]),
    ([_c("n", "not_null")], [0, 1, 3, 4]),
    ([_c("small", "gte", 3)], [3, 4]),
    # floats: NaN equals nothing and orders with nothing
    ([_c("x", "gt", 1)], [0, 4]),
    ([_c("x", "lt", "0")], [3]),
    ([_c("x", "eq", "-inf")], [3]),
    ([_c("x", "eq", "NaN")], []),
    ([_c("x", "ne", 1.5)], [1, 3, 4]),
    ([_c("x", "is_null")], [2]),
    # decimals, exactly
    ([_c("amt", "eq", "12345678901234567890.0123456789")], [0]),
    ([_c("amt", "gt", "12345678901234567890.0123456788")], [0]),
    ([_c("amt", "eq", 1.5)], [1]),
    ([_c("amt", "eq", "1.500000000000000")], [1]),
    ([_c("amt", "lt", 0)], [3]),
    ([_c("amt", "gte", "-0.0000000001")], [0, 1, 3, 4]),
    ([_c("amt", "in", ["0", 1.5])], [1, 4]),
    # text
    ([_c("s", "eq", "")], [3]),
    ([_c("s", "ne", "apple")], [1, 3, 4]),
    ([_c("s", "lt", "a")], [1, 3]),
    ([_c("s", "contains", "an")], [1]),
    ([_c("s", "contains", "")], [0, 1, 3, 4]),
    ([_c("s", "starts_with", "ap")], [0, 4]),
    ([_c("s", "starts_with", "AP")], []),
    ([_c("s", "in", ["apple", ""])], [0, 3]),
    ([_c("s", "not_in", ["apple", ""])], [1, 4]),
    # dates and timestamps from ISO text
    ([_c("day", "eq", "2024-01-31")], [0]),
    ([_c("day", "gte", "2024-01-01")], [0, 3]),
    ([_c("day", "lt", "0002-01-01")], [4]),
    ([_c("ts", "eq", "2024-02-29T23:59:59.123456Z")], [0]),
    ([_c("ts", "eq", "2024-03-01T00:59:59.123456+01:00")], [0]),
    ([_c("ts", "eq", "1970-01-01T00:00:00")], [1]),  # no offset: UTC
    ([_c("ts", "lt", "1970-01-01")], [4]),
    ([_c("ts", "in", ["2024-03-01T00:00:00Z", "1970-01-01T00:00:00Z"])], [1, 3]),
    ([_c("naive", "gte", "2024-01-01T00:00:00")], [0, 3]),
    ([_c("naive", "eq", "2024-01-01 12:00")], [3]),
    # booleans, uuids, binary (base64), json text, dictionary-encoded text
    ([_c("ok", "eq", True)], [0, 3]),
    ([_c("ok", "eq", "false")], [1, 4]),
    ([_c("ok", "ne", True)], [1, 4]),
    ([_c("u", "eq", str(U0))], [0, 4]),
    ([_c("u", "ne", str(U0))], [1, 3]),
    ([_c("u", "in", [str(uuid.UUID(int=1)), str(uuid.UUID(int=2)).upper()])], [1, 3]),
    ([_c("bin", "eq", "AP8=")], [0, 4]),
    ([_c("bin", "eq", "")], [1]),
    ([_c("j", "contains", '"a"')], [0, 4]),
    ([_c("j", "starts_with", "{")], [0, 3]),
    ([_c("cat", "eq", "red")], [0, 3]),
    ([_c("cat", "starts_with", "b")], [4]),
    ([_c("cat", "not_in", ["red"])], [1, 4]),
    ([_c("tags", "is_null")], [2, 4]),
    ([_c("tags", "not_null")], [0, 1, 3]),
    # a list is AND; groups are OR (any) and AND (all), nested
    ([_c("n", "gt", 0), _c("s", "starts_with", "ap")], [0, 4]),
    ({"any": [_c("n", "eq", 5), _c("s", "eq", "")]}, [1, 3]),
    ({"all": [_c("n", "gt", 0), _c("ok", "eq", False)]}, [1, 4]),
    ([{"any": [_c("n", "is_null"), {"all": [_c("n", "gt", 1), _c("x", "gt", 1)]}]}], [2, 4]),
    ([_c("ok", "eq", True), {"any": [_c("n", "lt", 0), _c("s", "eq", "apple")]}], [0, 3]),
    # NULL in a group: any() still matches through another branch, never through NULL
    ([{"any": [_c("n", "ne", 1), _c("s", "eq", "zzz")]}], [1, 3, 4]),
    ([{"any": [_c("n", "ne", 1), _c("s", "is_null")]}], [1, 2, 3, 4]),
    # groups nest MAX_DEPTH levels deep (the outer list is the first)
    ([{"any": [{"all": [{"any": [{"all": [_c("n", "eq", 10)]}]}]}]}], [4]),
])
def test_filter_keeps_matching_rows(spec: object, expected: list[int]) -> None:
    assert _ids(spec) == expected


OK = _c("n", "eq", 1)


@pytest.mark.parametrize(("spec", "path", "reason"), [
    ([_c("nope", "eq", 1)], "filter[0].column",
     f"unknown column 'nope'; columns are: {COLUMNS}"),
    ([{"op": "eq", "value": 1}], "filter[0].column", "expected a column name (text)"),
    ([OK, _c("n", "like", 1)], "filter[1].op",
     "'like' is not an operator; operators are: eq, ne, lt, lte, gt, gte, in, not_in, "
     "is_null, not_null, contains, starts_with"),
    ([{"column": "n", "value": 1}], "filter[0].op", "None is not an operator"),
    ([_c("n", "contains", "1")], "filter[0].op",
     "'contains' does not apply to column 'n' (int64); it takes: eq, ne, lt, lte, gt, gte, "
     "in, not_in, is_null, not_null"),
    ([_c("ok", "lt", True)], "filter[0].op", "'lt' does not apply to column 'ok' (bool)"),
    ([_c("u", "gt", str(U0))], "filter[0].op", "'gt' does not apply to column 'u' (uuid)"),
    ([_c("tags", "eq", "a")], "filter[0].op",
     "'eq' does not apply to column 'tags' (list<string>); it takes: is_null, not_null"),
    ([_c("j", "lt", "a")], "filter[0].op", "'lt' does not apply to column 'j' (json)"),
    ([_c("n", "eq")], "filter[0].value", "missing"),
    ([OK, OK, _c("n", "eq", "abc")], "filter[2].value", "'abc' is not a valid int64"),
    ([_c("n", "eq", 1.5)], "filter[0].value", "1.5 is not a valid int64"),
    ([_c("n", "eq", True)], "filter[0].value", "True is not a valid int64"),
    ([_c("n", "eq", [1])], "filter[0].value", "expected one value for int64"),
    ([_c("small", "lt", 300)], "filter[0].value", "300 is out of range for int8"),
    ([_c("n", "eq", str(2**63))], "filter[0].value", "is out of range for int64"),
    ([_c("x", "gt", "big")], "filter[0].value", "'big' is not a valid double"),
    ([_c("amt", "eq", "1.00000000001")], "filter[0].value",
     "'1.00000000001' has more than 10 decimal places for decimal(38,10)"),
    ([_c("amt", "lt", "1" * 29)], "filter[0].value", "is out of range for decimal(38,10)"),
    ([_c("amt", "eq", "abc")], "filter[0].value", "'abc' is not a valid decimal(38,10)"),
    ([_c("amt", "eq", "NaN")], "filter[0].value", "'NaN' is not a valid decimal(38,10)"),
    ([_c("s", "eq", 5)], "filter[0].value", "5 is not a valid string"),
    ([_c("ok", "eq", "yes")], "filter[0].value", "'yes' is not a valid bool"),
    ([_c("day", "eq", "2024-13-01")], "filter[0].value", "'2024-13-01' is not a valid date32"),
    ([_c("ts", "gt", "yesterday")], "filter[0].value", "'yesterday' is not a valid timestamptz"),
    ([_c("naive", "eq", "2024-01-01T00:00:00Z")], "filter[0].value",
     "has a time-zone offset, but column 'naive' is a timestamp without time zone"),
    ([_c("u", "eq", "not-a-uuid")], "filter[0].value", "'not-a-uuid' is not a valid uuid"),
    ([_c("bin", "eq", "***")], "filter[0].value", "'***' is not valid base64 for binary"),
    ([{"column": "n", "op": "eq", "value": None}], "filter[0].value",
     "null never matches a comparison; use op is_null or not_null"),
    ([_c("n", "is_null", 1)], "filter[0].value", "is_null takes no value"),
    ([_c("n", "in", 1)], "filter[0].value", "expected a non-empty list of values"),
    ([_c("n", "in", [])], "filter[0].value", "expected a non-empty list of values"),
    ([_c("n", "in", [1, "x"])], "filter[0].value[1]", "'x' is not a valid int64"),
    ([_c("n", "not_in", [None])], "filter[0].value[0]", "null never matches"),
    ([_c("n", "eq", 1, valu=2)], "filter[0].valu",
     "unknown key; a condition has column, op and value"),
    (["n"], "filter[0]", "expected a condition"),
    ("n = 1", "filter", "expected a condition"),
    ([[OK]], "filter[0]", "expected a condition"),
    ({"any": []}, "filter.any", "'any' needs at least one condition"),
    ({"all": OK}, "filter.all", "expected a list of conditions"),
    ([{"any": [OK], "all": [OK]}], "filter[0]", "a group has exactly one key, 'any' or 'all'"),
    ([{"any": [OK, {"all": [_c("zz", "eq", 1)]}]}], "filter[0].any[1].all[0].column",
     "unknown column 'zz'"),
    # a sixth level: list, any, all, any, all, any
    ([{"any": [{"all": [{"any": [{"all": [{"any": [OK]}]}]}]}]}],
     "filter[0].any[0].all[0].any[0].all[0]", f"groups nest at most {MAX_DEPTH} levels deep"),
])
def test_filter_names_the_offending_spot(spec: object, path: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as err:
        compile_filter(spec, TABLE.schema)
    assert [e.path for e in err.value.errors] == [path]
    assert reason in err.value.errors[0].reason


def test_filter_reports_every_problem_under_the_callers_prefix() -> None:
    spec = [_c("nope", "eq", 1), OK, _c("n", "bad"), _c("n", "gt", "x")]
    with pytest.raises(InvalidInput) as err:
        compile_filter(spec, TABLE.schema, where="export.filter")
    assert [e.path for e in err.value.errors] == [
        "export.filter[0].column", "export.filter[2].op", "export.filter[3].value"]
    assert "export.filter[3].value: 'x' is not a valid int64" in str(err.value)


def test_filter_keeps_row_order_across_a_large_batch() -> None:
    n = 300_000
    batch = pa.record_batch({"i": pa.array(range(n), pa.int64())})
    kept = compile_filter([_c("i", "gte", 10)], batch.schema)(batch)["i"]
    assert kept.to_pylist() == list(range(10, n))


def test_filter_expression_is_exposed_for_pushdown() -> None:
    assert compile_filter(None, TABLE.schema).expression is None
    assert compile_filter([OK], TABLE.schema).expression is not None


@pytest.mark.parametrize(("columns", "expected"), [
    (None, list(TABLE.schema.names)),
    (["s", "n"], ["s", "n"]),
    (["id"], ["id"]),
])
def test_select_columns_keeps_the_order_given(columns: list[str] | None,
                                              expected: list[str]) -> None:
    assert select_columns(columns, TABLE.schema) == expected


@pytest.mark.parametrize(("columns", "paths", "reason"), [
    (["n", "zz"], ["columns[1]"], f"unknown column 'zz'; columns are: {COLUMNS}"),
    (["n", "s", "n"], ["columns[2]"], "'n' is listed twice"),
    ([], ["columns"], "choose at least one column"),
    ("n", ["columns"], "expected a list of column names"),
    ([1, "nope"], ["columns[0]", "columns[1]"], "expected a column name (text)"),
])
def test_select_columns_refuses_bad_names(columns: Any, paths: list[str], reason: str) -> None:
    with pytest.raises(InvalidInput) as err:
        select_columns(columns, TABLE.schema)
    assert [e.path for e in err.value.errors] == paths
    assert reason in err.value.errors[0].reason
