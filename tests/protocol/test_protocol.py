"""Spec validation, type widening and schema evolution rules."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sluiceway.core.errors import ConfigInvalid, SchemaChangeError
from sluiceway.protocol import arrow_types as at
from sluiceway.protocol.evolve import plan_evolution
from sluiceway.protocol.spec import MASK, ConnectorSpec, mask_secrets, validate_config

SPEC = ConnectorSpec({
    "type": "object", "required": ["host", "password"], "additionalProperties": False,
    "properties": {"host": {"type": "string"}, "port": {"type": "integer", "default": 5},
                   "password": {"type": "string", "airbyte_secret": True, "minLength": 8}},
})


def test_validate_fills_defaults() -> None:
    assert validate_config(SPEC, {"host": "h", "password": "12345678"})["port"] == 5


def test_validate_names_every_bad_field_and_never_echoes_a_secret() -> None:
    with pytest.raises(ConfigInvalid) as info:
        validate_config(SPEC, {"port": "x", "password": "short", "extra": 1})
    paths = {e.path for e in info.value.errors}
    assert {"host", "port", "password"} <= paths
    assert "short" not in str(info.value)


def test_mask_secrets_replaces_secret_fields_only() -> None:
    assert mask_secrets(SPEC, {"host": "h", "password": "p"}) == {"host": "h", "password": MASK}


@pytest.mark.parametrize(("old", "new", "expected"), [
    (pa.int16(), pa.int64(), pa.int64()),
    (pa.int64(), pa.int32(), pa.int64()),
    (pa.int64(), pa.uint32(), pa.int64()),
    (pa.int32(), pa.uint32(), None),
    (pa.float32(), pa.float64(), pa.float64()),
    (pa.float64(), pa.int32(), pa.float64()),
    (pa.decimal128(12, 2), pa.decimal128(14, 4), pa.decimal128(14, 4)),
    (pa.decimal128(10, 0), pa.int64(), None),
    (pa.int64(), pa.string(), None),
    (pa.string(), pa.large_string(), pa.string()),
    (at.TIMESTAMP, at.TIMESTAMP_TZ, None),
    (at.UUID, pa.string(), None),
])
def test_widen(old: pa.DataType, new: pa.DataType, expected: pa.DataType | None) -> None:
    assert at.widen(pa.field("c", old), pa.field("c", new)) == expected


def test_evolution_adds_new_columns_and_widens() -> None:
    old = pa.schema([("id", pa.int32()), ("gone", pa.string())])
    new = pa.schema([("id", pa.int64()), ("added", pa.bool_())])
    evo = plan_evolution("s", old, new)
    assert [f.name for f in evo.add] == ["added"]
    assert [(f.name, t) for f, t in evo.widen] == [("id", pa.int64())]


def test_incompatible_change_names_stream_column_and_both_types() -> None:
    with pytest.raises(SchemaChangeError) as info:
        plan_evolution("orders", pa.schema([("amount", pa.decimal128(12, 2))]),
                       pa.schema([("amount", pa.string())]))
    err = info.value
    assert (err.stream, err.column, err.old_type, err.new_type) == (
        "orders", "amount", "decimal(12,2)", "string")
    assert "orders" in str(err)
    assert "amount" in str(err)


def test_json_schema_marks_types_as_the_airbyte_protocol_does() -> None:
    schema = at.schema_to_json_schema(pa.schema([
        pa.field("ts", at.TIMESTAMP_TZ), pa.field("n", pa.decimal128(5, 2), False)]))
    assert schema["properties"]["ts"]["airbyte_type"] == "timestamp_with_timezone"
    assert schema["properties"]["n"] == {"type": "number"}


@pytest.mark.parametrize(("text", "target", "expected"), [
    ("123456789012.123456789000000000000000000000", pa.decimal128(38, 26),
     "123456789012.12345678900000000000000000"),
    ("-0.010", pa.decimal128(5, 3), "-0.010"),
    ("1E-10", pa.decimal128(20, 10), "1E-10"),
    ("123456789012.123456789000000000000000000001", pa.decimal128(38, 26), None),
    ("1234567890123", pa.decimal128(38, 26), None),
    ("0.001", pa.decimal128(5, 2), None),
])
def test_cast_exact_parses_decimal_text_or_refuses(
    text: str, target: pa.DataType, expected: str | None
) -> None:
    if expected is None:
        with pytest.raises(pa.ArrowInvalid):
            at.cast_exact(pa.array([text]), target)
    else:
        assert str(at.cast_exact(pa.array([text]), target)[0].as_py()) == expected
