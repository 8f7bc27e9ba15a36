"""Task statistics of the Alumio face (#110, #111, #127-129).

Tasks are the per-entity ledger of route runs (:mod:`sluiceway.services.tasks`); these
count them by status, by route and by day of their creation. The log part of #110 counts the
error lines of the jobs run for a route in the window, and its memory is the bytes the
route's log and task data take in the metadata database: its jobs' log lines written in the
window, and the entity data and log lines of its tasks changed in the window. #111 (per
route, without a window body) is served with the tasks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import LargeBinary, Text, cast, func, select

from sluiceway.core.errors import FieldError, InvalidInput, NotFound
from sluiceway.services import criteria, policy
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.services.tasks import STATS
from sluiceway.store.models import Attempt, AttemptLog, Configuration, Job, Task

AGGREGATIONS = ("daily", "weekly", "monthly", "yearly")
ROUTE_TYPE = "route-configuration"
#: the fields a statistics filter may name (those of the task ledger)
COLUMNS: dict[str, criteria.Column] = {
    "identifier": criteria.Column(Task.route, criteria.as_text),
    "route": criteria.Column(Task.route, criteria.as_text),
    "status": criteria.Column(Task.status, criteria.as_text),
    "date": criteria.Column(Task.created_at, criteria.as_time),
    "createdAt": criteria.Column(Task.created_at, criteria.as_time),
    "updatedAt": criteria.Column(Task.updated_at, criteria.as_time),
}


@dataclass(frozen=True)
class RouteStats:
    identifier: str
    name: str
    tasks: dict[str, int]
    log_errors: int
    #: bytes of the route's job log lines and task data in the window
    memory_bytes: int = 0


def _bad(field: str, reason: str, value: object = None) -> InvalidInput:
    return InvalidInput("invalid statistics request", [FieldError(field, reason, value)])


def moment(value: str | None, field: str) -> float | None:
    """Epoch seconds of an ISO-8601 date or time (UTC unless it says otherwise)."""
    if value is None or value == "":
        return None
    try:
        return criteria.as_time(value)
    except (TypeError, ValueError):
        raise _bad(field, "must be an ISO-8601 date or date-time", value[:100]) from None


def window(start: str | None, end: str | None, names: tuple[str, str] = ("from", "to"),
           ) -> tuple[float | None, float | None]:
    a, b = moment(start, names[0]), moment(end, names[1])
    if a is not None and b is not None and a > b:
        raise _bad(names[1], f"must not be before {names[0]}", end)
    return a, b


def zero() -> dict[str, int]:
    return dict.fromkeys(STATS, 0)


def _counts(p: Platform, workspace_id: str | None, *, route: str | None = None,
            start: float | None = None, end: float | None = None,
            c: criteria.Criteria | None = None) -> dict[str, int]:
    """Tasks by status (of one space, or of the installation with ``None``)."""
    q = select(Task.status, func.count(Task.id)).group_by(Task.status)
    if workspace_id is not None:
        q = q.where(Task.workspace_id == workspace_id)
    if route is not None:
        q = q.where(Task.route == route)
    if start is not None:
        q = q.where(Task.created_at >= start)
    if end is not None:
        q = q.where(Task.created_at <= end)
    if c is not None:
        q = q.where(criteria.where_clause(c, COLUMNS))
    out = zero()
    with p.db.session() as s:
        for status, n in s.execute(q):
            if status in out:
                out[status] = int(n)
    return out


def _per_day(p: Platform, workspace_id: str | None, c: criteria.Criteria | None
             ) -> list[tuple[str, str, dt.date, str, int]]:
    """(space, route, day, status, count) of the tasks, by the UTC day they were made."""
    q = select(Task.workspace_id, Task.route, Task.created_at, Task.status)
    if workspace_id is not None:
        q = q.where(Task.workspace_id == workspace_id)
    if c is not None:
        q = q.where(criteria.where_clause(c, COLUMNS))
    counted: dict[tuple[str, str, dt.date, str], int] = {}
    with p.db.session() as s:
        for space, route, made, status in s.execute(q):
            day = dt.datetime.fromtimestamp(made, dt.UTC).date()
            key = (space, route, day, status)
            counted[key] = counted.get(key, 0) + 1
    return [(*k, n) for k, n in sorted(counted.items())]


def _routes(p: Platform, workspace_id: str, wanted: list[str] | None,
            ) -> list[tuple[str, str, str]]:
    """The routes (identifier, name, configuration id) named, in identifier order."""
    with p.db.session() as s:
        q = select(Configuration.identifier, Configuration.name, Configuration.id).where(
            Configuration.workspace_id == workspace_id, Configuration.type == ROUTE_TYPE)
        if wanted is not None:
            q = q.where(Configuration.identifier.in_(wanted))
        found = [(i, n, c) for i, n, c in s.execute(q.order_by(Configuration.identifier))]
    missing = sorted(set(wanted or ()) - {i for i, _, _ in found})
    if missing:
        raise NotFound(f"route {missing[0]} not found", missing[0])
    return found


def _route_lines(workspace_id: str, config_id: str, start: float | None,
                 end: float | None) -> Any:
    """The conditions of the log lines of a route's jobs (their scope is the route's
    configuration id) in the window."""
    where = [Job.workspace_id == workspace_id, Job.config_type == "route",
             Job.scope == config_id]
    if start is not None:
        where.append(AttemptLog.at >= start)
    if end is not None:
        where.append(AttemptLog.at <= end)
    return where


def _errors(p: Platform, workspace_id: str, config_id: str, start: float | None,
            end: float | None) -> int:
    with p.db.session() as s:
        q = (select(func.count(AttemptLog.id))
             .join(Attempt, Attempt.id == AttemptLog.attempt_id)
             .join(Job, Job.id == Attempt.job_id)
             .where(*_route_lines(workspace_id, config_id, start, end),
                    func.upper(AttemptLog.level) == "ERROR"))
        return int(s.scalar(q) or 0)


def _octets(p: Platform, column: Any) -> Any:
    """The bytes of a column's text (JSON as its text) in the database's own encoding."""
    text = cast(column, Text)
    if p.db.is_sqlite:
        return func.length(cast(text, LargeBinary))
    return func.octet_length(text)


def _memory(p: Platform, workspace_id: str, route: str, config_id: str,
            start: float | None, end: float | None) -> int:
    """Bytes of the route's job log lines and of its tasks' entity data and log lines."""
    with p.db.session() as s:
        lines = s.scalar(
            select(func.sum(_octets(p, AttemptLog.line) + _octets(p, AttemptLog.level)))
            .join(Attempt, Attempt.id == AttemptLog.attempt_id)
            .join(Job, Job.id == Attempt.job_id)
            .where(*_route_lines(workspace_id, config_id, start, end)))
        q = select(func.sum(func.coalesce(_octets(p, Task.entity), 0)
                            + func.coalesce(_octets(p, Task.log), 0)
                            + func.coalesce(_octets(p, Task.error), 0))).where(
            Task.workspace_id == workspace_id, Task.route == route)
        if start is not None:
            q = q.where(Task.updated_at >= start)
        if end is not None:
            q = q.where(Task.updated_at <= end)
        tasks = s.scalar(q)
    return int(lines or 0) + int(tasks or 0)


def routes_window(p: Platform, caller: Caller, workspace_id: str, start: str, end: str,
                  identifiers: list[str]) -> list[RouteStats]:
    """#110: per named route, its task counts and its jobs' error lines in the window."""
    policy.require(caller, policy.READ, workspace_id)
    a, b = window(start, end)
    if a is None or b is None:
        raise _bad("from" if a is None else "to", "is required (an ISO-8601 date-time)")
    if not identifiers:
        raise _bad("routeIdentifiers", "must name at least one route")
    return [RouteStats(i, n, _counts(p, workspace_id, route=i, start=a, end=b),
                       _errors(p, workspace_id, c, a, b),
                       _memory(p, workspace_id, i, c, a, b))
            for i, n, c in _routes(p, workspace_id, list(dict.fromkeys(identifiers)))]


def totals(p: Platform, caller: Caller, workspace_id: str, c: criteria.Criteria,
           date_from: str | None, date_to: str | None) -> dict[str, int]:
    """#129: task totals of the space by status."""
    policy.require(caller, policy.READ, workspace_id)
    a, b = window(date_from, date_to, ("dateFrom", "dateTo"))
    return _counts(p, workspace_id, start=a, end=b, c=c)


@dataclass(frozen=True)
class DailyStats:
    identifier: str
    space: str
    date: dt.date
    counts: dict[str, int]


def daily(p: Platform, caller: Caller, workspace_id: str,
          c: criteria.Criteria) -> tuple[list[DailyStats], int]:
    """#127: task counts per route and day, newest day first, paged by ``c``."""
    policy.require(caller, policy.READ, workspace_id)
    days: dict[tuple[str, str, dt.date], dict[str, int]] = {}
    for space, route, day, status, n in _per_day(p, workspace_id, c):
        counts = days.setdefault((route, space, day), zero())
        if status in counts:
            counts[status] = n
    rows = [DailyStats(route, space, day, counts)
            for (route, space, day), counts in sorted(days.items(), key=lambda kv: (
                kv[0][2], kv[0][0]), reverse=True)]
    return rows[c.skip:c.skip + c.limit], len(rows)


def series(p: Platform, caller: Caller, c: criteria.Criteria | None,
           aggregation: str) -> list[tuple[str, dict[str, int]]]:
    """#128: the installation's task counts per period, for system administrators."""
    policy.require(caller, policy.SYSTEM)
    if c is None:
        raise _bad("filter", "is required (a JSON filter such as {})")
    if aggregation not in AGGREGATIONS:
        raise _bad("aggregation", f"must be one of {', '.join(AGGREGATIONS)}", aggregation)
    periods: dict[str, dict[str, int]] = {}
    for _, _, day, status, n in _per_day(p, None, c):
        period = {"daily": day.isoformat(),
                  "weekly": (day - dt.timedelta(days=day.weekday())).isoformat(),
                  "monthly": day.strftime("%Y-%m"), "yearly": str(day.year)}[aggregation]
        counts = periods.setdefault(period, zero())
        if status in counts:
            counts[status] += n
    return sorted(periods.items())
