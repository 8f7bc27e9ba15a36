"""Listing queries shared by the faces: filters, sort and pages applied in SQL.

A face parses its own query syntax into a :class:`Query`; :func:`run` applies it to a
select over one model through a map of public field names to columns.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from sluiceway.core.errors import FieldError, InvalidInput

MAX_PAGE_SIZE = 10_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: the times a value can name: 0001-01-01 to 9999-12-31 (what ISO-8601 can write)
MIN_TIME, MAX_TIME = -62_135_596_800.0, 253_402_300_799.0


class BadQuery(InvalidInput):
    """A listing parameter (filter, sort, page, fields) is wrong: each error's path is the
    parameter as the caller wrote it."""


@dataclass(frozen=True)
class Filter:
    field: str
    op: str  # eq, in, gte, lte
    value: Any
    param: str  # the parameter as the caller wrote it (for error messages)


@dataclass(frozen=True)
class Query:
    page_number: int = 1
    page_size: int = 1000
    sort: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    count: bool = False
    filters: tuple[Filter, ...] = ()
    fields: frozenset[str] | None = None


@dataclass(frozen=True)
class Field:
    """A public field: its column, how a filter value is parsed, and the ops it allows."""

    column: Any
    parse: Callable[[str], Any]
    ops: frozenset[str] = field(default_factory=lambda: frozenset({"eq"}))


def as_int(text: str) -> int:
    """A 64-bit integer (what the columns hold); a ValueError past that."""
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{text} does not fit in 64 bits")
    return value


def as_float(text: str) -> float:
    """A finite number; NaN and infinities are a ValueError."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def as_text(text: str) -> str:
    return text


def as_time(text: str) -> float:
    """Epoch seconds from epoch seconds or an ISO-8601 time (UTC when no zone is given),
    between the years 1 and 9999; a ValueError otherwise."""
    try:
        value = float(text)
    except ValueError:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        try:
            value = when.timestamp()
        except OverflowError:
            raise ValueError(f"{text} is out of range") from None
    if not MIN_TIME <= value <= MAX_TIME:  # also false for NaN
        raise ValueError(f"{text} is not a time between the years 1 and 9999")
    return value


def parse_value(f: Field, flt: Filter) -> Any:
    try:
        if flt.op == "in":
            return [f.parse(v) for v in flt.value]
        return f.parse(flt.value)
    except (ValueError, TypeError, OverflowError):
        raise BadQuery("invalid filter", [FieldError(
            flt.param, f"{flt.value!r} is not a valid value for {flt.field}", flt.value)],
        ) from None


def check(query: Query, fields: Mapping[str, Field]) -> None:
    """Every filter, sort and sparse field must name a known field with an allowed op."""
    errors = []
    for flt in query.filters:
        f = fields.get(flt.field)
        if f is None:
            errors.append(FieldError(flt.param, f"unknown filter field {flt.field!r}; filters are:"
                                     f" {', '.join(sorted(fields))}", flt.field))
        elif flt.op not in f.ops:
            errors.append(FieldError(flt.param, f"{flt.field} does not allow __{flt.op}; it "
                                     f"allows: {', '.join(sorted(f.ops))}"))
    for name, _ in query.sort:
        if name not in fields:
            errors.append(FieldError("sort", f"cannot sort by {name!r}; sortable fields are: "
                                     f"{', '.join(sorted(fields))}", name))
    if errors:
        raise BadQuery("invalid query", errors)


def run(s: Session, base: Select[Any], fields: Mapping[str, Field], query: Query,
        default_order: ColumnElement[Any]) -> tuple[list[Any], int | None]:
    """Rows of the page (and the total when ``count`` was asked)."""
    check(query, fields)
    stmt = base
    for flt in query.filters:
        f = fields[flt.field]
        value = parse_value(f, flt)
        col = f.column
        if flt.op == "eq":
            stmt = stmt.where(col == value)
        elif flt.op == "in":
            stmt = stmt.where(col.in_(value))
        elif flt.op == "gte":
            stmt = stmt.where(col >= value)
        elif flt.op == "lte":
            stmt = stmt.where(col <= value)
    total = None
    if query.count:
        total = int(s.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    order = [fields[n].column.desc() if desc else fields[n].column.asc()
             for n, desc in query.sort] or [default_order]
    stmt = stmt.order_by(*order).limit(query.page_size).offset(
        (query.page_number - 1) * query.page_size)
    return list(s.scalars(stmt)), total
