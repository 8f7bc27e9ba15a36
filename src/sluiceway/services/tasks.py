"""Tasks (#134-144) and their statistics per route (#111): the entities routes handled, each
with its status, entity data and log.

Bulk changes take the filter grammar of :mod:`~sluiceway.services.criteria`; setting tasks to
``retry`` also queues one run per route that runs just those entities again. Every change
writes one audit entry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Select, and_, delete, func, select, update
from sqlalchemy.orm import Session

from sluiceway.core.errors import FieldError, InvalidInput, NotFound
from sluiceway.services import audit, criteria, policy, routes
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import Configuration, Job, Task

STATUSES = ("new", "processing", "finished", "failed", "skipped", "retry", "resolved",
            "waiting")
STATS = ("new", "processing", "skipped", "finished", "failed")
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}


def _status(value: Any) -> str:
    text = criteria.as_text(value)
    if text not in STATUSES:
        raise ValueError("one of " + ", ".join(STATUSES))
    return text


COLUMNS: dict[str, criteria.Column] = {
    "identifier": criteria.Column(Task.id, criteria.as_row_id),
    "route": criteria.Column(Task.route, criteria.as_text),
    "status": criteria.Column(Task.status, _status),
    "entityType": criteria.Column(Task.entity_type, criteria.as_text),
    "entityIdentifier": criteria.Column(Task.entity_identifier, criteria.as_text),
    "attempts": criteria.Column(Task.attempts, criteria.as_row_id),
    "createdAt": criteria.Column(Task.created_at, criteria.as_time),
    "updatedAt": criteria.Column(Task.updated_at, criteria.as_time),
}


@dataclass(frozen=True)
class TaskView:
    identifier: int
    route: str
    entity_type: str
    entity_identifier: str | None
    status: str
    entity: Any
    error: str | None
    log: list[dict[str, Any]]
    attempts: int
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class DetailedTask:
    task: TaskView
    #: the route's configuration and its two ends, as identifiers and prototypes
    route: dict[str, Any] | None
    incoming: dict[str, Any] | None
    outgoing: dict[str, Any] | None


@dataclass(frozen=True)
class RouteStats:
    identifier: str
    name: str
    stats: dict[str, int]


def _view(t: Task) -> TaskView:
    return TaskView(t.id, t.route, t.entity_type, t.entity_identifier, t.status, t.entity,
                    t.error, list(t.log or []), t.attempts, t.created_at, t.updated_at)


def _base(workspace_id: str) -> Select[Any]:
    return select(Task).where(Task.workspace_id == workspace_id)


def list_tasks(p: Platform, caller: Caller, workspace_id: str,
               c: criteria.Criteria) -> tuple[list[TaskView], int]:
    policy.require(caller, policy.READ, workspace_id)
    if not c.order:
        c = criteria.Criteria(c.where, (("identifier", True),), c.limit, c.skip)
    with p.db.session() as s:
        rows, total = criteria.apply(s, _base(workspace_id), COLUMNS, c, Task.id)
        return [_view(t) for t in rows], total


def _task(s: Session, workspace_id: str, identifier: int) -> Task:
    t = s.get(Task, identifier)
    if t is None or t.workspace_id != workspace_id:
        raise NotFound(f"task {identifier} not found", str(identifier))
    return t


def _end(s: Session, workspace_id: str, type_: str, identifier: Any) -> dict[str, Any] | None:
    if not isinstance(identifier, str):
        return None
    c = s.scalars(select(Configuration).where(
        Configuration.workspace_id == workspace_id, Configuration.type == type_,
        Configuration.identifier == identifier)).first()
    if c is None:
        return None
    return {"type": c.type, "identifier": c.identifier, "name": c.name,
            "prototype": c.prototype}


def get_task(p: Platform, caller: Caller, workspace_id: str, identifier: int) -> DetailedTask:
    policy.require(caller, policy.READ, workspace_id)
    with p.db.session() as s:
        t = _task(s, workspace_id, identifier)
        route = _end(s, workspace_id, routes.ROUTE, t.route)
        params: dict[str, Any] = {}
        if route is not None:
            c = s.scalars(select(Configuration).where(
                Configuration.workspace_id == workspace_id, Configuration.type == routes.ROUTE,
                Configuration.identifier == t.route)).one()
            params = dict(dict(c.object).get("parameters") or {})
        return DetailedTask(
            _view(t), route,
            _end(s, workspace_id, "incoming-configuration", params.get("incoming")),
            _end(s, workspace_id, "outgoing-configuration", params.get("outgoing")))


def entity_data(p: Platform, caller: Caller, workspace_id: str, identifier: int) -> Any:
    policy.require(caller, policy.READ, workspace_id)
    with p.db.session() as s:
        return _task(s, workspace_id, identifier).entity


def _matching(s: Session, workspace_id: str, c: criteria.Criteria,
              statuses: Sequence[str] | None = None) -> list[Task]:
    q = _base(workspace_id).where(criteria.where_clause(c, COLUMNS))
    if statuses is not None:
        q = q.where(Task.status.in_(statuses))
    return list(s.scalars(q.order_by(Task.id)))


def set_status(p: Platform, caller: Caller, workspace_id: str, c: criteria.Criteria,
               new_status: str, *, only: Sequence[str] | None = None) -> int:
    """Set ``new_status`` on the tasks ``c`` selects (of the statuses ``only``, when given);
    ``retry`` also queues a run of each route concerned. How many tasks changed."""
    policy.require(caller, policy.CHANGE, workspace_id)
    t = now()
    with p.db.claim() as s:
        tasks = [x for x in _matching(s, workspace_id, c, only) if x.status != new_status
                 and x.status != "processing"]
        for x in tasks:
            x.status, x.updated_at = new_status, t
            x.log = [*(x.log or []), {"level": "info", "message": f"set to {new_status} by "
                                      f"{caller.username}", "at": t}]
        if new_status == "retry":
            for route in sorted({x.route for x in tasks}):
                routes.enqueue_run(s, p, workspace_id, route, mode="retry")
        audit.record(s, caller, f"task.{new_status}", "task",
                     f"{len(tasks)} task(s) set to {new_status}",
                     request={"tasks": [x.id for x in tasks][:1000]}, workspace_id=workspace_id)
        return len(tasks)


def transition(p: Platform, caller: Caller, workspace_id: str,
               items: Sequence[tuple[Sequence[int], str, Sequence[tuple[str, str]]]],
               ) -> tuple[int, dict[str, list[int]]]:
    """Move waiting tasks to ``finished`` or ``failed`` with log messages (#144)."""
    policy.require(caller, policy.CHANGE, workspace_id)
    t = now()
    updated: dict[str, list[int]] = {"finished": [], "failed": []}
    with p.db.claim() as s:
        for ids, status, messages in items:
            for x in s.scalars(_base(workspace_id).where(Task.id.in_(list(ids)),
                                                         Task.status == "waiting")):
                x.status, x.updated_at = status, t
                x.log = [*(x.log or []), *({"level": level, "message": message, "at": t}
                                           for level, message in messages)]
                updated[status].append(x.id)
        count = sum(len(v) for v in updated.values())
        audit.record(s, caller, "task.transition", "task", f"{count} waiting task(s) moved",
                     request={"updatedTasks": updated}, workspace_id=workspace_id)
    return count, updated


def delete_tasks(p: Platform, caller: Caller, workspace_id: str, c: criteria.Criteria) -> int:
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.claim() as s:
        ids = [x.id for x in _matching(s, workspace_id, c)]
        if ids:
            s.execute(delete(Task).where(Task.id.in_(ids)))
        audit.record(s, caller, "task.delete", "task", f"{len(ids)} task(s) deleted",
                     request={"tasks": ids[:1000]}, workspace_id=workspace_id)
        return len(ids)


def age_seconds(text: str, field: str) -> float:
    """``"<n> <unit>"`` (second, minute, hour, day or week, singular or plural)."""
    m = re.fullmatch(r"\s*(\d+)\s+([a-z]+?)s?\s*", text or "")
    if m is None or m.group(2) not in _UNITS:
        raise InvalidInput("invalid age", [FieldError(
            field, 'must be "<n> <unit>" with unit second, minute, hour, day or week', text)])
    return int(m.group(1)) * _UNITS[m.group(2)]


def prune(p: Platform, caller: Caller, workspace_id: str, max_age: str, max_count: int,
          c: criteria.Criteria) -> tuple[int, int]:
    """Delete the tasks ``c`` selects that are older than ``max_age``, then those beyond the
    newest ``max_count``: (expired, excess)."""
    policy.require(caller, policy.CHANGE, workspace_id)
    if max_count < 0:
        raise InvalidInput("invalid maxCount", [FieldError("maxCount", "must be 0 or more",
                                                           max_count)])
    cutoff = now() - age_seconds(max_age, "maxAge")
    where = and_(Task.workspace_id == workspace_id, criteria.where_clause(c, COLUMNS))
    with p.db.claim() as s:
        expired = cast(CursorResult[Any], s.execute(
            delete(Task).where(where, Task.created_at < cutoff))).rowcount
        keep = select(Task.id).where(where).order_by(Task.created_at.desc(), Task.id.desc()
                                                     ).limit(max_count).scalar_subquery()
        excess = cast(CursorResult[Any], s.execute(
            delete(Task).where(where, Task.id.not_in(keep)))).rowcount
        audit.record(s, caller, "task.prune", "task",
                     f"{expired} expired and {excess} excess task(s) deleted",
                     request={"maxAge": max_age, "maxCount": max_count},
                     workspace_id=workspace_id)
    return int(expired), int(excess)


def repair(p: Platform, caller: Caller, workspace_id: str, age: str, new_status: str,
           c: criteria.Criteria) -> int:
    """Set ``new_status`` on the tasks stuck in ``processing`` for ``age`` or longer whose
    route run is over (#143)."""
    policy.require(caller, policy.CHANGE, workspace_id)
    if new_status not in STATUSES:
        raise InvalidInput("invalid newStatus", [FieldError(
            "newStatus", "one of " + ", ".join(STATUSES), new_status)])
    cutoff = now() - age_seconds(age, "age")
    running = select(Job.id).where(Job.status.in_(("pending", "running", "incomplete")))
    with p.db.claim() as s:
        count = cast(CursorResult[Any], s.execute(
            update(Task).where(Task.workspace_id == workspace_id, Task.status == "processing",
                               Task.updated_at <= cutoff, criteria.where_clause(c, COLUMNS),
                               (Task.job_id.is_(None)) | Task.job_id.not_in(running))
            .values(status=new_status, updated_at=now())
            .execution_options(synchronize_session=False))).rowcount
        audit.record(s, caller, "task.repair", "task",
                     f"{count} stuck task(s) set to {new_status}",
                     request={"age": age, "newStatus": new_status}, workspace_id=workspace_id)
    return int(count)


def statistics(p: Platform, caller: Caller, workspace_id: str, since: float | None,
               until: float | None, route: str | None) -> list[RouteStats]:
    """Tasks per route and status (#111), of the tasks made between ``since`` and ``until``;
    every route of the space (or the one named) is listed, with zeros when it has none."""
    policy.require(caller, policy.READ, workspace_id)
    with p.db.session() as s:
        q = (select(Task.route, Task.status, func.count(Task.id))
             .where(Task.workspace_id == workspace_id).group_by(Task.route, Task.status))
        if since is not None:
            q = q.where(Task.created_at >= since)
        if until is not None:
            q = q.where(Task.created_at <= until)
        if route is not None:
            q = q.where(Task.route == route)
        counts: dict[str, dict[str, int]] = {}
        for r, status, n in s.execute(q):
            counts.setdefault(r, dict.fromkeys(STATS, 0))
            if status in STATS:
                counts[r][status] = int(n)
        names = dict(s.execute(select(Configuration.identifier, Configuration.name).where(
            Configuration.workspace_id == workspace_id,
            Configuration.type == routes.ROUTE)).all())
        for r in names if route is None else [route] if route in names else []:
            counts.setdefault(r, dict.fromkeys(STATS, 0))  # a route with no task yet: zeros
        return [RouteStats(r, names.get(r, r), counts[r]) for r in sorted(counts)]
