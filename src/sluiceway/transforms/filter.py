"""A safe row-filter language over Arrow: conditions as data, compiled to compute expressions.

A spec is a list of conditions that must all hold, or a group::

    [{"column": "status", "op": "in", "value": ["paid", "shipped"]},
     {"any": [{"column": "total", "op": "gte", "value": "100.00"},
              {"column": "vip", "op": "eq", "value": true}]}]

A condition is ``{"column", "op", "value"}``; a group is ``{"any": [...]}`` (OR) or
``{"all": [...]}`` (AND), nesting at most ``MAX_DEPTH`` levels (the outer list is the first).

=====================  ===================================================================
op                     applies to
=====================  ===================================================================
eq, ne, in, not_in     every column with a scalar type (binary values as base64 text)
lt, lte, gt, gte       numbers, decimals, text, dates, times, timestamps
contains, starts_with  text (and json documents, as their text); case-sensitive
is_null, not_null      every column; they take no value
=====================  ===================================================================

Values are cast to the column's type: integers and floats from numbers or their text,
decimals exactly from text or numbers (a value must fit the column's precision and scale),
booleans from ``true``/``false``, dates, times and timestamps from ISO-8601 text (a
timestamp without an offset is UTC for a column with a time zone; a value with an offset is
refused for a column without one). NULL never matches a comparison, ``ne`` or ``not_in``
(SQL semantics): select NULLs with ``is_null``.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Context, Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.protocol.arrow_types import is_json, is_numeric_text, is_uuid, type_name

OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "is_null", "not_null",
       "contains", "starts_with")
MAX_DEPTH = 5
MAX_IN_VALUES = 10_000

_COMPARE = {"eq": pc.equal, "ne": pc.not_equal, "lt": pc.less, "lte": pc.less_equal,
            "gt": pc.greater, "gte": pc.greater_equal}
_ORDERED = {"lt", "lte", "gt", "gte"}
_EQUALITY = {"eq", "ne", "in", "not_in"}
_TEXT_OPS = {"contains", "starts_with"}
_NULL_OPS = {"is_null", "not_null"}
_INT = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class RowFilter:
    """A compiled filter: call it on a record batch to keep the matching rows.

    ``expression`` is ``None`` when the spec keeps every row.
    """

    expression: pc.Expression | None

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self.expression is None:
            return batch
        return batch.filter(self.expression)


def compile_filter(spec: object, schema: pa.Schema, where: str = "filter") -> RowFilter:
    """Validate ``spec`` against ``schema`` and compile it; ``None`` or ``[]`` keeps all rows.

    Raises ``InvalidInput`` listing every problem, each at its path under ``where``.
    """
    if spec is None:
        return RowFilter(None)
    compiler = _Compiler(schema)
    if isinstance(spec, list):
        expr = compiler.group("all", spec, where, depth=1, allow_empty=True)
    else:
        expr = compiler.node(spec, where, depth=1)
    if compiler.errors:
        raise InvalidInput("invalid filter", compiler.errors)
    return RowFilter(expr)


def select_columns(columns: list[str] | None, schema: pa.Schema,
                   where: str = "columns") -> list[str]:
    """The columns to keep, in the order given (``None``: all of them), each one checked."""
    if columns is None:
        return list(schema.names)
    if not isinstance(columns, list):
        raise InvalidInput("invalid column selection",
                           [FieldError(where, "expected a list of column names", columns)])
    if not columns:
        raise InvalidInput("invalid column selection",
                           [FieldError(where, "choose at least one column", columns)])
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, name in enumerate(columns):
        path = f"{where}[{i}]"
        if not isinstance(name, str):
            errors.append(FieldError(path, "expected a column name (text)", name))
        elif name not in schema.names:
            errors.append(FieldError(path, _unknown_column(name, schema), name))
        elif name in seen:
            errors.append(FieldError(path, f"{name!r} is listed twice", name))
        else:
            seen.add(name)
    if errors:
        raise InvalidInput("invalid column selection", errors)
    return list(columns)


def _unknown_column(name: str, schema: pa.Schema) -> str:
    names = list(schema.names)
    shown = ", ".join(names[:50]) + (f", ... ({len(names) - 50} more)" if len(names) > 50 else "")
    return f"unknown column {name!r}; columns are: {shown or 'none'}"


class _Bad(Exception):
    """A value that does not fit; carries the reason."""


class _Compiler:
    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.errors: list[FieldError] = []

    def fail(self, path: str, reason: str, value: object = None) -> None:
        self.errors.append(FieldError(path, reason, value))

    def node(self, spec: object, path: str, depth: int) -> pc.Expression | None:
        if isinstance(spec, dict) and ("any" in spec or "all" in spec):
            if len(spec) != 1:
                self.fail(path, "a group has exactly one key, 'any' or 'all'", sorted(spec))
                return None
            if depth > MAX_DEPTH:
                self.fail(path, f"groups nest at most {MAX_DEPTH} levels deep")
                return None
            kind, items = next(iter(spec.items()))
            return self.group(kind, items, f"{path}.{kind}", depth, allow_empty=False)
        if isinstance(spec, dict):
            return self.condition(spec, path)
        self.fail(path, "expected a condition {column, op, value} or a group "
                  "{any: [...]} / {all: [...]}", spec)
        return None

    def group(self, kind: str, items: object, path: str, depth: int,
              allow_empty: bool) -> pc.Expression | None:
        if not isinstance(items, list):
            self.fail(path, "expected a list of conditions", items)
            return None
        if not items and not allow_empty:
            self.fail(path, f"'{kind}' needs at least one condition")
            return None
        parts = [self.node(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(items)]
        exprs = [p for p in parts if p is not None]
        if not exprs or len(exprs) != len(parts):
            return None
        out = exprs[0]
        for e in exprs[1:]:
            out = (out | e) if kind == "any" else (out & e)
        return out

    def condition(self, spec: dict[Any, Any], path: str) -> pc.Expression | None:
        for key in spec:
            if key not in ("column", "op", "value"):
                self.fail(f"{path}.{key}", "unknown key; a condition has column, op and value")
        name, op = spec.get("column"), spec.get("op")
        errors_before = len(self.errors)
        if not isinstance(name, str):
            self.fail(f"{path}.column", "expected a column name (text)", name)
        elif name not in self.schema.names:
            self.fail(f"{path}.column", _unknown_column(name, self.schema), name)
        if op not in OPS:
            self.fail(f"{path}.op", f"{op!r} is not an operator; operators are: "
                      f"{', '.join(OPS)}", op)
        if len(self.errors) > errors_before:
            return None
        assert isinstance(name, str)
        assert isinstance(op, str)
        f = self.schema.field(name)
        kind = _kind(f)
        allowed = _allowed(kind)
        if op not in allowed:
            self.fail(f"{path}.op", f"{op!r} does not apply to column {name!r} "
                      f"({type_name(f)}); it takes: {', '.join(o for o in OPS if o in allowed)}",
                      op)
            return None
        col = _column(f)
        vpath = f"{path}.value"
        if op in _NULL_OPS:
            if spec.get("value") is not None:
                self.fail(vpath, f"{op} takes no value", spec["value"])
                return None
            return col.is_null() if op == "is_null" else col.is_valid()
        if "value" not in spec:
            self.fail(vpath, "missing")
            return None
        value = spec["value"]
        if op in ("in", "not_in"):
            values = self.values(value, f, kind, vpath)
            if values is None:
                return None
            matched = col.isin(values)
            return matched if op == "in" else (~matched & col.is_valid())
        scalar = self.scalar(value, f, kind, vpath)
        if scalar is None:
            return None
        if op == "contains":
            return pc.match_substring(col, pattern=scalar.as_py())
        if op == "starts_with":
            return pc.starts_with(col, pattern=scalar.as_py())
        result: pc.Expression = _COMPARE[op](col, scalar)
        return result

    def scalar(self, value: object, f: pa.Field, kind: str, path: str) -> pa.Scalar | None:
        if value is None:
            self.fail(path, "null never matches a comparison; use op is_null or not_null")
            return None
        if isinstance(value, list | dict):
            self.fail(path, f"expected one value for {type_name(f)}", value)
            return None
        try:
            return _cast(value, f, kind)
        except _Bad as bad:
            self.fail(path, str(bad), value)
            return None

    def values(self, value: object, f: pa.Field, kind: str, path: str) -> pa.Array | None:
        if not isinstance(value, list) or not value:
            self.fail(path, "expected a non-empty list of values", value)
            return None
        if len(value) > MAX_IN_VALUES:
            self.fail(path, f"at most {MAX_IN_VALUES:,} values; got {len(value):,}")
            return None
        before = len(self.errors)
        scalars = [self.scalar(v, f, kind, f"{path}[{i}]") for i, v in enumerate(value)]
        if len(self.errors) > before:
            return None
        return pa.array([s.as_py() for s in scalars if s is not None], _compare_type(f))


# --- column kinds -------------------------------------------------------------------------

def _value_type(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def _kind(f: pa.Field) -> str:
    t = _value_type(f.type)
    if is_uuid(t):
        return "uuid"
    if is_json(t):
        return "json"
    if is_numeric_text(f):
        return "numeric_text"
    checks: list[tuple[str, Callable[[pa.DataType], bool]]] = [
        ("bool", pa.types.is_boolean), ("int", pa.types.is_integer),
        ("float", pa.types.is_floating), ("decimal", pa.types.is_decimal),
        ("text", lambda t: bool(pa.types.is_string(t) or pa.types.is_large_string(t)
                                or pa.types.is_string_view(t))),
        ("date", pa.types.is_date), ("time", pa.types.is_time),
        ("timestamp", pa.types.is_timestamp),
        ("binary", lambda t: bool(pa.types.is_binary(t) or pa.types.is_large_binary(t)
                                  or pa.types.is_fixed_size_binary(t))),
    ]
    for kind, check in checks:
        if check(t):
            return kind
    return "other"


def _allowed(kind: str) -> set[str]:
    if kind in ("int", "float", "decimal", "date", "time", "timestamp"):
        return _EQUALITY | _ORDERED | _NULL_OPS
    if kind == "text":
        return _EQUALITY | _ORDERED | _TEXT_OPS | _NULL_OPS
    if kind in ("numeric_text", "json"):
        return _EQUALITY | _TEXT_OPS | _NULL_OPS
    if kind in ("bool", "uuid", "binary"):
        return _EQUALITY | _NULL_OPS
    return set(_NULL_OPS)


def _compare_type(f: pa.Field) -> pa.DataType:
    """The type a column is compared in (extension types by their storage)."""
    t = _value_type(f.type)
    return t.storage_type if isinstance(t, pa.BaseExtensionType) else t


def _column(f: pa.Field) -> pc.Expression:
    col = pc.field(f.name)
    if pa.types.is_dictionary(f.type) or isinstance(f.type, pa.BaseExtensionType):
        col = col.cast(_compare_type(f))
    return col


# --- values -------------------------------------------------------------------------------

def _invalid(value: object, f: pa.Field) -> _Bad:
    return _Bad(f"{value!r} is not a valid {type_name(f)}")


def _cast(value: object, f: pa.Field, kind: str) -> pa.Scalar:
    t = _compare_type(f)
    if kind in ("text", "json", "numeric_text"):
        if not isinstance(value, str):
            raise _invalid(value, f)
        return pa.scalar(value, t)
    if kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool):
            raise _invalid(value, f)
        return pa.scalar(value, t)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid(value, f)
    if kind == "int":
        return _int(value, f, t)
    if kind == "float":
        try:
            return pa.scalar(float(value), t)
        except (ValueError, OverflowError, pa.ArrowInvalid):
            raise _invalid(value, f) from None
    if kind == "decimal":
        return pa.scalar(_decimal(value, f, t), t)
    if not isinstance(value, str):
        raise _invalid(value, f)
    if kind == "uuid":
        try:
            return pa.scalar(uuid.UUID(value).bytes, t)
        except ValueError:
            raise _invalid(value, f) from None
    if kind == "binary":
        try:
            return pa.scalar(base64.b64decode(value, validate=True), t)
        except (binascii.Error, ValueError, pa.ArrowInvalid):
            raise _Bad(f"{value!r} is not valid base64 for {type_name(f)}") from None
    return _temporal(value, f, kind, t)


def _int(value: str | int | float, f: pa.Field, t: pa.DataType) -> pa.Scalar:
    if isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            raise _invalid(value, f)
        number = int(value)
    elif isinstance(value, str):
        if not _INT.fullmatch(value.strip()):
            raise _invalid(value, f)
        number = int(value.strip())
    else:
        number = value
    try:
        return pa.scalar(number, t)
    except (OverflowError, pa.ArrowInvalid):
        raise _Bad(f"{value!r} is out of range for {type_name(f)}") from None


_WIDE = Context(prec=200)


def _decimal(value: str | int | float, f: pa.Field, t: pa.DataType) -> Decimal:
    try:
        d = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise _invalid(value, f) from None
    if not d.is_finite():
        raise _invalid(value, f)
    _, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    while exp < 0 and len(digits) > 1 and digits[-1] == 0:
        digits, exp = digits[:-1], exp + 1
    places = max(0, -exp)
    whole = max(0, len(digits) + exp) if any(digits) else 0
    if places > t.scale:
        raise _Bad(f"{value!r} has more than {t.scale} decimal places for {type_name(f)}")
    if whole > t.precision - t.scale:
        raise _Bad(f"{value!r} is out of range for {type_name(f)}")
    return _WIDE.quantize(d, Decimal(1).scaleb(-t.scale, _WIDE))


def _temporal(value: str, f: pa.Field, kind: str, t: pa.DataType) -> pa.Scalar:
    try:
        if kind == "date":
            return pa.scalar(date.fromisoformat(value.strip()), t)
        if kind == "time":
            parsed_time = time.fromisoformat(value.strip())
            if parsed_time.tzinfo is not None:
                raise _invalid(value, f)
            return pa.scalar(parsed_time, pa.time64("us")).cast(t)
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _invalid(value, f) from None
    except pa.ArrowInvalid:
        raise _Bad(f"{value!r} is more precise than {type_name(f)} ({t})") from None
    if t.tz is None and parsed.tzinfo is not None:
        raise _Bad(f"{value!r} has a time-zone offset, but column {f.name!r} is a "
                   "timestamp without time zone")
    if t.tz is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return pa.scalar(parsed, pa.timestamp("us", t.tz)).cast(t)
    except pa.ArrowInvalid:
        raise _Bad(f"{value!r} is more precise than {type_name(f)} ({t})") from None
