"""Task statistics of the Alumio face (#110, #111, #127-129).

Tasks are the per-entity ledger of routes, which this installation does not keep yet: there
is no task table, so every count is 0, the true number, while the shapes, the checks of the
parameters, the routes named and the policy are those of the real answers. The log part of
#110 counts the error lines of the jobs run for a route (jobs whose scope is the route's
identifier) in the window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from sluiceway.core.errors import FieldError, InvalidInput, NotFound
from sluiceway.services import criteria, policy
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Attempt, AttemptLog, Configuration, Job

STATUSES = ("new", "processing", "finished", "failed", "skipped")
AGGREGATIONS = ("daily", "weekly", "monthly", "yearly")
ROUTE_TYPE = "route-configuration"
#: the fields a statistics filter may name (those of the task ledger)
COLUMNS: dict[str, criteria.Column] = {
    "identifier": criteria.Column(None, criteria.as_text),
    "route": criteria.Column(None, criteria.as_text),
    "status": criteria.Column(None, criteria.as_text),
    "date": criteria.Column(None, criteria.as_time),
    "createdAt": criteria.Column(None, criteria.as_time),
    "updatedAt": criteria.Column(None, criteria.as_time),
}


@dataclass(frozen=True)
class RouteStats:
    identifier: str
    name: str
    tasks: dict[str, int]
    log_errors: int


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
    return dict.fromkeys(STATUSES, 0)


def _routes(p: Platform, workspace_id: str, wanted: list[str] | None,
            ) -> list[tuple[str, str]]:
    with p.db.session() as s:
        q = select(Configuration.identifier, Configuration.name).where(
            Configuration.workspace_id == workspace_id, Configuration.type == ROUTE_TYPE)
        if wanted is not None:
            q = q.where(Configuration.identifier.in_(wanted))
        found = [(i, n) for i, n in s.execute(q.order_by(Configuration.identifier))]
    missing = sorted(set(wanted or ()) - {i for i, _ in found})
    if missing:
        raise NotFound(f"route {missing[0]} not found", missing[0])
    return found


def _errors(p: Platform, workspace_id: str, route: str, start: float | None,
            end: float | None) -> int:
    with p.db.session() as s:
        q = (select(func.count(AttemptLog.id))
             .join(Attempt, Attempt.id == AttemptLog.attempt_id)
             .join(Job, Job.id == Attempt.job_id)
             .where(Job.workspace_id == workspace_id, Job.scope == route,
                    func.upper(AttemptLog.level) == "ERROR"))
        if start is not None:
            q = q.where(AttemptLog.at >= start)
        if end is not None:
            q = q.where(AttemptLog.at <= end)
        return int(s.scalar(q) or 0)


def routes_window(p: Platform, caller: Caller, workspace_id: str, start: str, end: str,
                  identifiers: list[str]) -> list[RouteStats]:
    """#110: per named route, its task counts and its jobs' error lines in the window."""
    policy.require(caller, policy.READ, workspace_id)
    a, b = window(start, end)
    if a is None or b is None:
        raise _bad("from" if a is None else "to", "is required (an ISO-8601 date-time)")
    if not identifiers:
        raise _bad("routeIdentifiers", "must name at least one route")
    return [RouteStats(i, n, zero(), _errors(p, workspace_id, i, a, b))
            for i, n in _routes(p, workspace_id, list(dict.fromkeys(identifiers)))]


def routes(p: Platform, caller: Caller, workspace_id: str, start: str | None,
           end: str | None, route: str | None) -> list[RouteStats]:
    """#111: task counts per route of the space (or of one)."""
    policy.require(caller, policy.READ, workspace_id)
    window(start, end)
    return [RouteStats(i, n, zero(), 0)
            for i, n in _routes(p, workspace_id, [route] if route else None)]


def totals(p: Platform, caller: Caller, workspace_id: str, c: criteria.Criteria,
           date_from: str | None, date_to: str | None) -> dict[str, int]:
    """#129: task totals of the space by status."""
    policy.require(caller, policy.READ, workspace_id)
    window(date_from, date_to, ("dateFrom", "dateTo"))
    return zero()


@dataclass(frozen=True)
class DailyStats:
    identifier: str
    space: str
    date: dt.date
    counts: dict[str, int]


def daily(p: Platform, caller: Caller, workspace_id: str,
          c: criteria.Criteria) -> tuple[list[DailyStats], int]:
    """#127: task counts per route and day (no tasks: no rows)."""
    policy.require(caller, policy.READ, workspace_id)
    return [], 0


def series(p: Platform, caller: Caller, c: criteria.Criteria | None,
           aggregation: str) -> list[tuple[str, dict[str, int]]]:
    """#128: the installation's task counts per period, for system administrators."""
    policy.require(caller, policy.SYSTEM)
    if c is None:
        raise _bad("filter", "is required (a JSON filter such as {})")
    if aggregation not in AGGREGATIONS:
        raise _bad("aggregation", f"must be one of {', '.join(AGGREGATIONS)}", aggregation)
    return []
