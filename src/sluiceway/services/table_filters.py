"""Table filters a user saved: each user's own, never seen by anyone else (another user's
filter is not found, whoever asks). Each change leaves one audit entry."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluiceway.core.errors import FieldError, InvalidInput, NotFound
from sluiceway.services import audit, criteria
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import TableFilter

MAX_TEXT = 255
#: what one saved filter may weigh, as compact JSON
MAX_FILTER = 64 * 1024


@dataclass(frozen=True)
class FilterView:
    id: str
    user: str
    table_key: str
    name: str
    filter: dict[str, Any]
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class FilterInput:
    table_key: str
    name: str
    filter: Mapping[str, Any]


COLUMNS: dict[str, criteria.Column] = {
    "identifier": criteria.Column(TableFilter.id, criteria.as_text),
    "tableKey": criteria.Column(TableFilter.table_key, criteria.as_text),
    "name": criteria.Column(TableFilter.name, criteria.as_text),
    "createdAt": criteria.Column(TableFilter.created_at, criteria.as_time),
    "updatedAt": criteria.Column(TableFilter.updated_at, criteria.as_time),
}


def _checked(given: FilterInput) -> FilterInput:
    errors = []
    for name, value in (("tableKey", given.table_key), ("name", given.name)):
        if not value.strip() or len(value) > MAX_TEXT:
            errors.append(FieldError(name, f"must be 1 to {MAX_TEXT} characters", value))
    size = len(json.dumps(dict(given.filter), separators=(",", ":")).encode())
    if size > MAX_FILTER:
        errors.append(FieldError("filter", f"takes {size} bytes as JSON; at most {MAX_FILTER}"))
    if errors:
        raise InvalidInput("invalid table filter", errors)
    return given


def _view(f: TableFilter, user: str) -> FilterView:
    return FilterView(f.id, user, f.table_key, f.name, dict(f.filter or {}), f.created_at,
                      f.updated_at)


def _own(s: Session, caller: Caller, filter_id: str) -> TableFilter:
    f = s.get(TableFilter, filter_id)
    if f is None or f.user_id != caller.user_id:
        raise NotFound(f"table filter {filter_id} not found", filter_id)
    return f


def list_own(p: Platform, caller: Caller, c: criteria.Criteria) -> tuple[list[FilterView], int]:
    with p.db.session() as s:
        base = select(TableFilter).where(TableFilter.user_id == caller.user_id)
        order = c if c.order else criteria.Criteria(c.where, (("tableKey", False),
                                                             ("name", False)), c.limit, c.skip)
        rows, total = criteria.apply(s, base, COLUMNS, order, TableFilter.id)
        return [_view(f, caller.username) for f in rows], total


def create(p: Platform, caller: Caller, given: FilterInput) -> FilterView:
    given = _checked(given)
    with p.db.session() as s:
        f = TableFilter(user_id=caller.user_id, table_key=given.table_key, name=given.name,
                        filter=dict(given.filter))
        s.add(f)
        s.flush()
        audit.record(s, caller, "table_filter.create", "user",
                     f"table filter {given.name!r} of table {given.table_key!r} saved",
                     request={"identifier": f.id, "tableKey": given.table_key,
                              "name": given.name, "filter": dict(given.filter)})
        return _view(f, caller.username)


def update(p: Platform, caller: Caller, filter_id: str, given: FilterInput) -> FilterView:
    given = _checked(given)
    with p.db.session() as s:
        f = _own(s, caller, filter_id)
        f.table_key, f.name, f.filter = given.table_key, given.name, dict(given.filter)
        audit.record(s, caller, "table_filter.update", "user",
                     f"table filter {given.name!r} of table {given.table_key!r} updated",
                     request={"identifier": f.id, "tableKey": given.table_key,
                              "name": given.name, "filter": dict(given.filter)})
        s.flush()
        return _view(f, caller.username)


def delete(p: Platform, caller: Caller, filter_id: str) -> None:
    with p.db.session() as s:
        f = _own(s, caller, filter_id)
        s.delete(f)
        audit.record(s, caller, "table_filter.delete", "user",
                     f"table filter {f.name!r} of table {f.table_key!r} deleted",
                     request={"identifier": filter_id})
