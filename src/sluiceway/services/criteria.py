"""Search criteria as a typed tree, applied in SQL: ``where`` conditions joined by ``and`` /
``or``, an order, a limit and an offset.

:func:`parse` reads the JSON-encoded form (``{"where": {...}, "order": "field dir",
"limit": n, "skip": n}``) with the operators ``eq`` (a plain value), ``neq gt gte lt lte inq
nin like ilike between``; an unknown field or operator, or a value of the wrong kind, is a
:class:`~sluiceway.services.listing.BadQuery` naming it (``filter.where.<field>``).
:func:`apply` turns the tree into a select over one model through a map of public field
names to :class:`Column` entries; the total before limit and offset comes with the page.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from sluiceway.core.errors import FieldError
from sluiceway.services.listing import BadQuery

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
T = TypeVar("T")
OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "inq", "nin", "like", "ilike", "between")


@dataclass(frozen=True)
class Column:
    """A public field: its SQL column and how a value sent for it is read."""

    column: Any
    parse: Callable[[Any], Any] = lambda v: v
    #: the column as the value compared with it needs it (a JSON value read as text, number
    #: or boolean); None: ``column`` whatever the value
    typed: Callable[[Any], Any] | None = None


def as_text(value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise TypeError("must be text")
    return str(value)


def as_row_id(value: Any) -> int:
    """A 64-bit row identifier (an integer, or its text)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError("must be an integer")
    number = int(value)
    if not 0 <= number < 2**63:
        raise ValueError("is out of range")
    return number


def as_time(value: Any) -> float:
    """An ISO-8601 time (UTC unless it names an offset) or epoch seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        raise TypeError("must be an ISO-8601 time")
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


@dataclass(frozen=True)
class Cond:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Group:
    kind: str  # and | or
    parts: tuple[Cond | Group, ...]


@dataclass(frozen=True)
class Criteria:
    where: Group = Group("and", ())
    order: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    limit: int = DEFAULT_LIMIT
    skip: int = 0


def _bad(path: str, reason: str, value: object = None) -> BadQuery:
    return BadQuery("invalid filter", [FieldError(path, reason, value)])


def parse(text: str | None, columns: Mapping[str, Column], param: str = "filter") -> Criteria:
    if text is None or not text.strip():
        return Criteria()
    try:
        raw = json.loads(text)
    except ValueError:
        raise _bad(param, "must be a JSON object such as "
                   '{"where": {"action": "create"}, "order": "createdAt desc", '
                   '"limit": 50, "skip": 0}') from None
    if not isinstance(raw, dict):
        raise _bad(param, "must be a JSON object")
    unknown = set(raw) - {"where", "order", "limit", "skip"}
    if unknown:
        name = sorted(unknown)[0]
        raise _bad(f"{param}.{name}", "is not known; use where, order, limit or skip")
    where = _group("and", raw.get("where") or {}, columns, f"{param}.where")
    order = _order(raw.get("order"), columns, f"{param}.order")
    limit = _count(raw.get("limit", DEFAULT_LIMIT), f"{param}.limit", 1, MAX_LIMIT)
    skip = _count(raw.get("skip", 0), f"{param}.skip", 0, 10**9)
    return Criteria(where, order, limit, skip)


def _count(value: Any, path: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(path, f"must be a whole number from {low} to {high}", value)
    return value


def _order(raw: Any, columns: Mapping[str, Column], path: str) -> tuple[tuple[str, bool], ...]:
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if not isinstance(item, str) or not item.split():
            raise _bad(path, 'must be "field asc" or "field desc"', item)
        name, *rest = item.split()
        if name not in columns:
            raise _bad(path, f"unknown field {name!r}; fields are: {', '.join(columns)}", name)
        direction = (rest[0] if rest else "asc").lower()
        if len(rest) > 1 or direction not in ("asc", "desc"):
            raise _bad(path, 'must be "field asc" or "field desc"', item)
        out.append((name, direction == "desc"))
    return tuple(out)


def _group(kind: str, raw: Any, columns: Mapping[str, Column], path: str) -> Group:
    if not isinstance(raw, dict):
        raise _bad(path, "must be an object of conditions")
    parts: list[Cond | Group] = []
    for name, value in raw.items():
        if name in ("and", "or"):
            if not isinstance(value, list):
                raise _bad(f"{path}.{name}", "must be a list of conditions")
            parts.append(Group(name, tuple(_group("and", v, columns, f"{path}.{name}")
                                           for v in value)))
            continue
        if name not in columns:
            raise _bad(f"{path}.{name}", f"unknown field; fields are: {', '.join(columns)}",
                       name)
        parts.append(_cond(name, value, columns[name], f"{path}.{name}"))
    return Group(kind, tuple(parts))


def _cond(name: str, value: Any, column: Column, path: str) -> Cond:
    if isinstance(value, dict):
        if len(value) != 1:
            raise _bad(path, "must hold one operator")
        ((op, operand),) = value.items()
        if op not in OPERATORS:
            raise _bad(f"{path}.{op}", f"unknown operator; one of {', '.join(OPERATORS)}", op)
    else:
        op, operand = "eq", value
    where = f"{path}.{op}" if op != "eq" else path
    if op in ("inq", "nin", "between") and (
            not isinstance(operand, list) or (op == "between" and len(operand) != 2)):
        raise _bad(where, "must be a list" + (" of two values" if op == "between" else ""))
    try:
        if op in ("inq", "nin", "between"):
            parsed: Any = [column.parse(v) for v in operand]
        elif op in ("like", "ilike"):
            parsed = as_text(operand)
        else:
            parsed = column.parse(operand)
    except (ValueError, TypeError) as exc:
        raise _bad(where, str(exc), operand) from None
    return Cond(name, op, parsed)


def _like(pattern: str) -> str:
    """LoopBack patterns use SQL wildcards already; a plain word matches anywhere."""
    return pattern if "%" in pattern or "_" in pattern else f"%{pattern}%"


def _clause(node: Cond | Group, columns: Mapping[str, Column]) -> ColumnElement[bool]:
    if isinstance(node, Group):
        inner = [_clause(p, columns) for p in node.parts]
        if not inner:
            return true() if node.kind == "and" else false()
        return and_(*inner) if node.kind == "and" else or_(*inner)
    column = columns[node.field]
    v = node.value
    sample = v[0] if isinstance(v, list | tuple) and v else v
    col = column.typed(sample) if column.typed is not None else column.column
    ops: dict[str, Callable[[], ColumnElement[bool]]] = {
        "eq": lambda: col.is_(None) if v is None else col == v,
        "neq": lambda: col.is_not(None) if v is None else col != v,
        "gt": lambda: col > v, "gte": lambda: col >= v,
        "lt": lambda: col < v, "lte": lambda: col <= v,
        "inq": lambda: col.in_(v), "nin": lambda: col.not_in(v),
        "like": lambda: col.like(_like(v)),
        "ilike": lambda: func.lower(col).like(_like(v).lower()),
        "between": lambda: col.between(v[0], v[1]),
    }
    return ops[node.op]()


def apply(s: Session, base: Select[Any], columns: Mapping[str, Column], c: Criteria,
          tie: Any) -> tuple[list[Any], int]:
    """The page of rows ``c`` selects from ``base`` (ordered, then by ``tie``) and the total
    that matched before limit and skip."""
    q = base.where(_clause(c.where, columns))
    total = s.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
    order = [columns[name].column.desc() if desc else columns[name].column.asc()
             for name, desc in c.order]
    rows = list(s.scalars(q.order_by(*order, tie).limit(c.limit).offset(c.skip)))
    return rows, int(total)


def where_clause(c: Criteria, columns: Mapping[str, Column]) -> ColumnElement[bool]:
    return _clause(c.where, columns)


def order_by(c: Criteria, columns: Mapping[str, Column]) -> list[Any]:
    return [columns[name].column.desc() if desc else columns[name].column.asc()
            for name, desc in c.order]


def _holds(node: Cond | Group, values: Mapping[str, Any]) -> bool:
    if isinstance(node, Group):
        parts = [_holds(p, values) for p in node.parts]
        return all(parts) if node.kind == "and" else any(parts)
    v, want = values.get(node.field), node.value
    try:
        if node.op in ("like", "ilike"):
            pattern = _like(want).replace("%", "*").replace("_", "?")
            text = "" if v is None else str(v)
            if node.op == "ilike":
                pattern, text = pattern.lower(), text.lower()
            return fnmatch.fnmatchcase(text, pattern)
        checks: dict[str, Callable[[], bool]] = {
            "eq": lambda: v == want, "neq": lambda: v != want,
            "gt": lambda: v is not None and v > want, "gte": lambda: v is not None and v >= want,
            "lt": lambda: v is not None and v < want, "lte": lambda: v is not None and v <= want,
            "inq": lambda: v in want, "nin": lambda: v not in want,
            "between": lambda: v is not None and want[0] <= v <= want[1],
        }
        return bool(checks[node.op]())
    except TypeError:
        return False


def _sort_key(value: Any) -> tuple[bool, bool, float, str]:
    """Numbers by size (not as text: 9 before 10), then text; None last."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return (value is None, not number, float(value) if number else 0.0,
            "" if number else str(value))


def select_from(items: Sequence[T], values: Callable[[T], Mapping[str, Any]],
                c: Criteria) -> tuple[list[T], int]:
    """:func:`apply` over a list in memory (a catalogue): the page and the total."""
    found = [item for item in items if _holds(c.where, values(item))]
    for name, desc in reversed(c.order):
        found.sort(key=lambda item: _sort_key(values(item).get(name)), reverse=desc)
    return found[c.skip:c.skip + c.limit], len(found)
