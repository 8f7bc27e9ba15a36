"""Transformers over an Arrow batch of entities at once, giving what the per-entity
transformers of :mod:`~sluiceway.transforms.entities` give each entity of it.

Enters: the steps of a chain as (prototype, parameters) with their per-entity transformers,
then record batches (one entity a row, as a route's incoming reads them). Leaves, for each
row in order: the transformed entity (a JSON object), a :class:`entities.Skipped`, or the
error a transformer raised for it.

A step runs over the whole batch with ``pyarrow.compute`` when it allows it: ``rename``,
``set`` (of JSON scalars), ``remove``, ``copy`` and ``move`` on top-level keys; ``filter`` on
top-level keys whose column is an integer, float, text or boolean compared with a value of
the same kind; ``jsonata`` with a top-level ``target`` whose expression is text built from
top-level keys of text or integer columns without nulls (``name``, ``"literal"``, ``&``,
``$uppercase``, ``$lowercase``, ``$string``; non-ASCII text excepted). From the first step
that does not, for this batch, the rest runs per entity. Either way the results are equal:
a step only runs vectorised where its per-entity semantics (missing keys, nulls, Python
comparisons) give the same answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonata
import pyarrow as pa
import pyarrow.compute as pc

from sluiceway.core.errors import SluicewayError
from sluiceway.transforms import entities

#: a step over a table: the new table and the reasons of the rows it dropped (by position
#: in the table given), or None when it cannot run on this table
Step = Callable[[pa.Table], tuple[pa.Table, dict[int, str]] | None]
Outcome = Any  # an entity, an entities.Skipped, or the SluicewayError it raised


@dataclass(frozen=True)
class Spec:
    """One transformer of a chain: its prototype and (resolved) parameters."""

    prototype: str
    parameters: Mapping[str, Any]


def _top(key: Any) -> str | None:
    """``key`` when it names a top-level key (no dots), else None."""
    return key if isinstance(key, str) and key and "." not in key else None


def _with(table: pa.Table, name: str, column: pa.Array | pa.ChunkedArray) -> pa.Table:
    """``name`` set to ``column``: in its place when it is there, else last."""
    i = table.schema.get_field_index(name)
    if i >= 0:
        return table.set_column(i, name, column)
    return table.append_column(name, column)


def _drop(table: pa.Table, names: Sequence[str]) -> pa.Table:
    present = [n for n in names if table.schema.get_field_index(n) >= 0]
    return table.drop_columns(present) if present else table


_SCALARS = (str, int, float, bool)


def _constant(value: Any, n: int) -> pa.Array | None:
    if value is None:
        return pa.nulls(n)
    if not isinstance(value, _SCALARS) or (isinstance(value, float)
                                           and value != value):  # noqa: PLR0124 - NaN
        return None
    return pa.array([value] * n) if n else pa.array([value]).slice(0, 0)


def _rename(p: Mapping[str, Any]) -> Step | None:
    mapping = dict(p["mapping"])
    if not all(_top(k) and _top(v) for k, v in mapping.items()):
        return None

    def step(table: pa.Table) -> tuple[pa.Table, dict[int, str]]:
        moved = {new: table.column(old) for old, new in mapping.items()
                 if table.schema.get_field_index(old) >= 0}
        table = _drop(table, list(mapping))
        for new, column in moved.items():
            table = _with(table, new, column)
        return table, {}
    return step


def _set(p: Mapping[str, Any]) -> Step | None:
    values = dict(p["values"])
    if not all(_top(k) for k in values):
        return None
    probe = [_constant(v, 0) for v in values.values()]
    if any(c is None for c in probe):
        return None

    def step(table: pa.Table) -> tuple[pa.Table, dict[int, str]]:
        for key, value in values.items():
            column = _constant(value, table.num_rows)
            assert column is not None
            table = _with(table, key, column)
        return table, {}
    return step


def _remove(p: Mapping[str, Any]) -> Step | None:
    keys = list(p["keys"])
    if not all(_top(k) for k in keys):
        return None
    return lambda table: (_drop(table, keys), {})


def _copy_or_move(p: Mapping[str, Any], move: bool) -> Step | None:
    source, target = _top(p["source"]), _top(p["target"])
    if source is None or target is None:
        return None

    def step(table: pa.Table) -> tuple[pa.Table, dict[int, str]]:
        if table.schema.get_field_index(source) < 0:
            return table, {}
        column = table.column(source)
        if move and source != target:
            table = _drop(table, [source])
        return _with(table, target, column), {}
    return step


# --- filter ----------------------------------------------------------------------------------

def _kind(t: pa.DataType) -> str | None:
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "str"
    return None


def _operand_kind(v: Any) -> str | None:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    return None


def _fits(column_kind: str, operand: Any) -> bool:
    kind = _operand_kind(operand)
    if column_kind in ("int", "float"):
        return kind in ("int", "float") and not (column_kind == "int" and kind == "float"
                                                 and not float(operand).is_integer())
    return kind == column_kind


def _holds(table: pa.Table, c: Mapping[str, Any]) -> pa.Array | None:
    """Whether condition ``c`` holds on each row (False where the value is null), as
    :func:`entities._holds` says; None when it cannot be told over the column."""
    key, op, operand = _top(c["key"]), c["op"], c.get("value")
    if key is None:
        return None
    n = table.num_rows
    if table.schema.get_field_index(key) < 0:
        if op in ("is_null", "not_null"):
            return pa.array([op == "is_null"] * n, pa.bool_())
        return pa.array([False] * n, pa.bool_())
    column = table.column(key)
    if op == "is_null":
        return pc.is_null(column)
    if op == "not_null":
        return pc.is_valid(column)
    kind = _kind(column.type)
    if kind is None:
        return None
    if kind == "float" and pc.any(pc.is_nan(column)).as_py():
        return None
    if op in ("contains", "starts_with"):
        if kind != "str":
            return None
        text = str(operand)
        got = (pc.starts_with(column, text) if op == "starts_with"
               else pc.match_substring(column, text))
    elif op in ("in", "not_in"):
        items = list(operand) if isinstance(operand, list) else None
        if items is None or not all(_fits(kind, x) for x in items):
            return None
        target = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(),
                  "bool": pa.bool_()}[kind]
        values = pa.array([int(x) if kind == "int" else x for x in items], target)
        got = pc.is_in(column, value_set=values)
        if op == "not_in":
            got = pc.invert(got)
    elif op in ("eq", "ne", "lt", "lte", "gt", "gte"):
        if not _fits(kind, operand):
            return None
        if kind == "bool" and op not in ("eq", "ne"):
            return None
        value = int(operand) if kind == "int" and operand is not None else operand
        fn = {"eq": pc.equal, "ne": pc.not_equal, "lt": pc.less, "lte": pc.less_equal,
              "gt": pc.greater, "gte": pc.greater_equal}[op]
        got = fn(column, pa.scalar(value))
    else:
        return None
    return pc.and_(pc.is_valid(column), pc.fill_null(got, False))


def _reason(c: Mapping[str, Any]) -> str:
    shown = "" if c["op"] in ("is_null", "not_null") else f" {c.get('value')!r}"
    return f"filtered out: {c['key']} {c['op']}{shown} does not hold"


def _filter(p: Mapping[str, Any]) -> Step | None:
    conditions = list(p["conditions"])
    keep_any = p.get("match", "all") == "any"
    if not conditions or not all(_top(c["key"]) for c in conditions):
        return None

    def step(table: pa.Table) -> tuple[pa.Table, dict[int, str]] | None:
        held = [_holds(table, c) for c in conditions]
        if any(h is None for h in held):
            return None
        keep = held[0]
        for h in held[1:]:
            keep = pc.or_(keep, h) if keep_any else pc.and_(keep, h)
        dropped: dict[int, str] = {}
        for c, h in zip(conditions, held, strict=True):  # the first failing one says why
            failing = pc.indices_nonzero(pc.and_(pc.invert(keep), pc.invert(h)))
            for i in failing.to_pylist():
                dropped.setdefault(i, _reason(c))
        return table.filter(keep), dropped
    return step


# --- jsonata ---------------------------------------------------------------------------------

Text = Callable[[pa.Table], pa.ChunkedArray | str | None]


def _text_of(node: Any) -> Text | None:
    """A compiled expression giving a text column (or a text constant) over a table whose
    referenced columns are text or integers without nulls; None when the expression is
    outside that subset. At run time it gives None when the table does not allow it."""
    kind = getattr(node, "type", None)
    if kind == "string" and isinstance(node.value, str):
        value = str(node.value)
        return lambda table: value
    if kind == "path" and node.steps and len(node.steps) == 1:
        step = node.steps[0]
        if (step.type != "name" or not isinstance(step.value, str) or step.predicate
                or step.stages or step.group or step.tuple or step.focus or step.index
                or step.keep_array):
            return None
        return _column_text(str(step.value))
    if kind == "function" and node.procedure is not None and len(node.arguments or []) == 1:
        name = node.procedure.value if node.procedure.type == "variable" else None
        inner = _text_of(node.arguments[0])
        if inner is None or name not in ("uppercase", "lowercase", "string"):
            return None
        return _cased(inner, str(name))
    if kind == "binary" and node.value == "&":
        left, right = _text_of(node.lhs), _text_of(node.rhs)
        if left is None or right is None:
            return None
        return _joined(left, right)
    return None


def _column_text(name: str) -> Text:
    def run(table: pa.Table) -> pa.ChunkedArray | None:
        if table.schema.get_field_index(name) < 0:
            return None
        column = table.column(name)
        if column.null_count:
            return None
        if pa.types.is_integer(column.type):
            return pc.cast(column, pa.string())
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            return column
        return None
    return run


def _cased(inner: Text, name: str) -> Text:
    def run(table: pa.Table) -> pa.ChunkedArray | str | None:
        value = inner(table)
        if value is None or name == "string":
            return value
        if isinstance(value, str):
            return value.upper() if name == "uppercase" else value.lower()
        if not pc.all(pc.string_is_ascii(value)).as_py():
            return None  # Python's case mapping beyond ASCII is not Arrow's
        return pc.ascii_upper(value) if name == "uppercase" else pc.ascii_lower(value)
    return run


def _joined(left: Text, right: Text) -> Text:
    def run(table: pa.Table) -> pa.ChunkedArray | str | None:
        a, b = left(table), right(table)
        if a is None or b is None:
            return None
        if isinstance(a, str) and isinstance(b, str):
            return a + b
        return pc.binary_join_element_wise(a, b, "")
    return run


def _jsonata(p: Mapping[str, Any]) -> Step | None:
    target = _top(p.get("target"))
    if target is None:
        return None
    try:
        expression = _text_of(jsonata.Jsonata(p["expression"]).ast)
    except Exception:  # noqa: BLE001 - the library's parse errors: the per-entity path says
        return None
    if expression is None:
        return None

    def step(table: pa.Table) -> tuple[pa.Table, dict[int, str]] | None:
        value = expression(table)
        if value is None:
            return None
        if isinstance(value, str):
            value = pa.array([value] * table.num_rows, pa.string())
        return _with(table, target, value), {}
    return step


_MAKERS: dict[str, Callable[[Mapping[str, Any]], Step | None]] = {
    "rename": _rename, "set": _set, "remove": _remove, "filter": _filter,
    "jsonata": _jsonata, "copy": lambda p: _copy_or_move(p, False),
    "move": lambda p: _copy_or_move(p, True),
}


def compile_step(spec: Spec) -> Step | None:
    """The vectorised form of one transformer, or None when it has none."""
    maker = _MAKERS.get(spec.prototype)
    try:
        return maker(spec.parameters) if maker is not None else None
    except (KeyError, TypeError, ValueError):
        return None


class Plan:
    """A chain of transformers run over record batches: vectorised steps first, the rest
    (from the first step that cannot run over the batch) per entity."""

    def __init__(self, specs: Sequence[Spec], per_entity: Sequence[entities.Transformer],
                 ) -> None:
        if len(specs) != len(per_entity):
            raise ValueError("one per-entity transformer per step")
        self.steps = [compile_step(s) for s in specs]
        self.per_entity = list(per_entity)

    @property
    def vectorised(self) -> int:
        """How many leading steps have a vectorised form."""
        n = 0
        for step in self.steps:
            if step is None:
                break
            n += 1
        return n

    def run(self, table: pa.Table | pa.RecordBatch,
            prepare: Callable[[Any], Any] = lambda row: row) -> list[Outcome]:
        """The outcome of each row of ``table``, in order; ``prepare`` turns a row read from
        Arrow into the entity the per-entity transformers take (and the result given)."""
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        n = table.num_rows
        outcomes: list[Outcome] = [None] * n
        rows = pa.array(range(n), pa.int64())  # each row's position in the batch given
        done = 0
        for step in self.steps:
            got = step(table) if step is not None else None
            if got is None:
                break
            table, dropped = got
            if dropped:
                positions = rows.to_pylist()
                for i, reason in dropped.items():
                    outcomes[positions[i]] = entities.Skipped(reason)
                keep = pc.invert(pc.is_in(pa.array(range(len(positions)), pa.int64()),
                                          value_set=pa.array(list(dropped), pa.int64())))
                rows = pc.filter(rows, keep)
            done += 1
        tail = self.per_entity[done:]
        for position, entity in zip(rows.to_pylist(), table.to_pylist(), strict=True):
            outcomes[position] = run_entity(tail, prepare(entity))
        return outcomes


def run_entity(steps: Sequence[entities.Transformer], entity: Any) -> Outcome:
    """``entity`` through ``steps`` one after the other (the per-entity way)."""
    out: Any = entity
    try:
        for step in steps:
            out = step(out)
            if isinstance(out, entities.Skipped):
                return out
    except SluicewayError as exc:
        return exc
    return out
