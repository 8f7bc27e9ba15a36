"""Routes (#109, #112) and their runs through the queue (#100-108, legacy #96-99).

A route is a ``route-configuration``; running it is a Job of kind ``route`` in the job system
(so the local and the Celery executors run it). A *process* is an attempt of any job of the
space, seen through the queue's names: a sync started elsewhere shows up here too, and a
process killed here cancels that job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from sluiceway.core.errors import FieldError, InvalidInput, NotFound
from sluiceway.jobs import ledger
from sluiceway.services import audit, configurations, criteria, policy
from sluiceway.services.caller import Caller
from sluiceway.services.jobs import JobRecord, record
from sluiceway.services.platform import Platform
from sluiceway.store.models import Attempt, Configuration, Job, Workspace

ROUTE = "route-configuration"
COMMANDS = ("incoming:run", "outgoing:run", "route:run")
#: attempt status -> process status
_PROCESS_STATUS = {ledger.QUEUED: "scheduled", "running": "running",
                   "succeeded": "finished", "failed": "failed", "cancelled": "killed"}
_ATTEMPT_STATUS: dict[str, tuple[str, ...]] = {
    "scheduled": (ledger.QUEUED,), "running": ("running",), "finished": ("succeeded",),
    "failed": ("failed",), "killed": ("cancelled",), "stopped": ("cancelled",),
    "skipped": ("cancelled",)}


@dataclass(frozen=True)
class RouteView:
    identifier: str
    name: str
    type: str
    space: str
    disabled: bool
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class ProcessView:
    identifier: int
    job_id: int
    priority: int
    command: str
    arguments: dict[str, Any]
    status: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    flags: tuple[str, ...] = field(default=())


def list_routes(p: Platform, caller: Caller, workspace_id: str,
                c: criteria.Criteria) -> tuple[list[RouteView], int]:
    views, total = configurations.list_configurations(p, caller, workspace_id, c, ROUTE)
    return [RouteView(v.identifier, v.name, v.type, "", v.disabled, v.created_at,
                      v.updated_at) for v in views], total


def list_all_spaces(p: Platform, caller: Caller,
                    c: criteria.Criteria) -> tuple[list[RouteView], int]:
    """The routes of every space (a system administrator's view)."""
    policy.require(caller, policy.SYSTEM)
    if not c.order:
        c = criteria.Criteria(c.where, (("identifier", False),), c.limit, c.skip)
    with p.db.session() as s:
        rows, total = criteria.apply(s, select(Configuration).where(Configuration.type == ROUTE),
                                     configurations.COLUMNS, c, Configuration.id)
        slugs = dict(s.execute(select(Workspace.id, Workspace.slug).where(
            Workspace.id.in_({r.workspace_id for r in rows}))).all())
        return [RouteView(r.identifier, r.name, r.type, slugs.get(r.workspace_id, ""),
                          r.disabled, r.created_at, r.updated_at) for r in rows], total


def _route(s: Session, workspace_id: str, identifier: str) -> Configuration:
    c = s.scalars(select(Configuration).where(
        Configuration.workspace_id == workspace_id, Configuration.type == ROUTE,
        Configuration.identifier == identifier)).first()
    if c is None:
        raise NotFound(f"route {identifier!r} not found", identifier)
    return c


def enqueue_run(s: Session, p: Platform, workspace_id: str, route: str, *, mode: str = "run",
                priority: int = 0, entities: list[Any] | None = None) -> Job:
    """A job that runs ``route`` (``mode`` ``retry``: its tasks in status retry; with
    ``entities``: those instead of the incoming's stream) in the caller's transaction; the
    route must exist and be enabled."""
    c = _route(s, workspace_id, route)
    if c.disabled:
        raise InvalidInput("the route is disabled", [FieldError("route", "is disabled", route)])
    return ledger.enqueue(s, workspace_id=workspace_id, config_type="route", scope=c.id,
                          input={"workspace_id": workspace_id, "route": route,
                                 **({"mode": "entities", "entities": entities}
                                    if entities is not None else {"mode": mode})},
                          max_attempts=p.settings.job_attempts, priority=priority)


def routes_of(s: Session, workspace_id: str, end: str, identifier: str) -> list[str]:
    rows = s.scalars(select(Configuration).where(
        Configuration.workspace_id == workspace_id, Configuration.type == ROUTE,
        Configuration.disabled.is_(False)))
    found = [r.identifier for r in rows
             if dict(dict(r.object).get("parameters") or {}).get(end) == identifier]
    if not found:
        raise NotFound(f"no enabled route takes the {end} {identifier!r}", identifier)
    return found


def publish(p: Platform, caller: Caller, workspace_id: str,
            commands: Sequence[Mapping[str, Any]], priority: int = 0) -> list[JobRecord]:
    """Queue the commands (#100): ``route:run`` runs a route; ``incoming:run`` runs the
    enabled routes that take that incoming; ``outgoing:run`` those that write to that
    outgoing. One job per route; the jobs, in order."""
    policy.require(caller, policy.CHANGE, workspace_id)
    if not commands:
        raise InvalidInput("nothing to publish", [FieldError("job.commands",
                                                             "must not be empty")])
    with p.db.claim() as s:
        routes: list[str] = []
        for i, cmd in enumerate(commands):
            name, args = cmd.get("command"), dict(cmd.get("arguments") or {})
            where = f"job.commands[{i}]"
            if name not in COMMANDS:
                raise InvalidInput("unknown command", [FieldError(
                    f"{where}.command", "one of " + ", ".join(COMMANDS), name)])
            key = {"route:run": "route", "incoming:run": "incoming",
                   "outgoing:run": "outgoing"}[str(name)]
            target = args.get(key)
            if not isinstance(target, str) or not target:
                raise InvalidInput("a command names what it runs", [FieldError(
                    f"{where}.arguments.{key}", "is required")])
            routes += [target] if key == "route" else routes_of(s, workspace_id, key, target)
        jobs = [enqueue_run(s, p, workspace_id, r, priority=priority) for r in routes]
        audit.record(s, caller, "queue.publish", "route",
                     f"published {len(jobs)} route run(s): {', '.join(routes)}",
                     request={"commands": list(commands), "priority": priority},
                     workspace_id=workspace_id)
        return [record(j) for j in jobs]


# --- processes -------------------------------------------------------------------------------

PROCESS_COLUMNS: dict[str, criteria.Column] = {
    "identifier": criteria.Column(Attempt.id, criteria.as_row_id),
    "jobId": criteria.Column(Attempt.job_id, criteria.as_row_id),
    "status": criteria.Column(Attempt.status, lambda v: _ATTEMPT_STATUS.get(
        str(v), (str(v),))[0]),
    "priority": criteria.Column(Job.priority, criteria.as_row_id),
    "createdAt": criteria.Column(Attempt.created_at, criteria.as_time),
    "startedAt": criteria.Column(Attempt.heartbeat_at, criteria.as_time),
    "finishedAt": criteria.Column(Attempt.ended_at, criteria.as_time),
}


def _command(job: Job) -> tuple[str, dict[str, Any]]:
    if job.config_type == "route":
        return "route:run", {"route": str(job.input.get("route")),
                             "mode": str(job.input.get("mode") or "run")}
    return f"{job.config_type}:run", {"scope": job.scope}


#: how a queue action ends a job (see ledger.request_cancel): kill at once, stop after the
#: batch in hand; skip takes only queued processes
_MODE = {"kill": "kill", "stop": "stop", "skip": "cancel"}


def _process(a: Attempt, job: Job) -> ProcessView:
    command, arguments = _command(job)
    status = _PROCESS_STATUS.get(a.status, a.status)
    if a.status == "cancelled" and job.cancel_mode == "stop":
        status = "stopped"
    flags: tuple[str, ...] = ()
    if a.ended_at is None and job.cancel_requested:
        flags = ("cancel-requested",)
    elif a.ended_at is None and job.cancel_mode == "stop":
        flags = ("stop-requested",)
    started = a.created_at if a.status != ledger.QUEUED else None
    return ProcessView(a.id, job.id, job.priority, command, arguments, status, a.created_at,
                       started, a.ended_at, flags)


def _processes(workspace_id: str) -> Select[Any]:
    return cast(Select[Any], select(Attempt, Job).join(Job, Job.id == Attempt.job_id)
            .where(Job.workspace_id == workspace_id))


def list_processes(p: Platform, caller: Caller, workspace_id: str, c: criteria.Criteria,
                   job_id: int | None = None) -> tuple[list[ProcessView], int]:
    policy.require(caller, policy.READ, workspace_id)
    q = _processes(workspace_id)
    if job_id is not None:
        q = q.where(Attempt.job_id == job_id)
    if not c.order:
        c = criteria.Criteria(c.where, (("identifier", True),), c.limit, c.skip)
    with p.db.session() as s:
        if job_id is not None and s.scalar(q.with_only_columns(Job.id).limit(1)) is None:
            raise NotFound(f"job {job_id} not found", str(job_id))
        q = q.where(criteria.where_clause(c, PROCESS_COLUMNS))
        total = int(s.scalar(select(func.count()).select_from(
            q.with_only_columns(Attempt.id).subquery())) or 0)
        rows = s.execute(q.order_by(*criteria.order_by(c, PROCESS_COLUMNS), Attempt.id)
                         .limit(c.limit).offset(c.skip)).all()
        return [_process(a, j) for a, j in rows], total


def get_process(p: Platform, caller: Caller, workspace_id: str, identifier: int) -> ProcessView:
    policy.require(caller, policy.READ, workspace_id)
    with p.db.session() as s:
        row = s.execute(_processes(workspace_id).where(Attempt.id == identifier)).first()
        if row is None:
            raise NotFound(f"process {identifier} not found", str(identifier))
        return _process(*row)


def first_process(p: Platform, job_id: int) -> int:
    with p.db.session() as s:
        return int(s.scalars(select(Attempt.id).where(Attempt.job_id == job_id)
                             .order_by(Attempt.number).limit(1)).one())


def cancel_processes(p: Platform, caller: Caller, workspace_id: str, c: criteria.Criteria,
                     how: str, *, only_queued: bool = False) -> list[int]:
    """End the jobs of the processes ``c`` selects (``how``: kill ends a running attempt at
    once, its uncommitted chunk lost and its tasks retryable; stop lets a route finish and
    commit its chunk in hand; skip); ``only_queued`` takes only processes no worker has
    started. The process identifiers acted on."""
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.claim() as s:
        q = _processes(workspace_id).where(criteria.where_clause(c, PROCESS_COLUMNS))
        q = q.where(Attempt.status.in_((ledger.QUEUED,) if only_queued
                                       else (ledger.QUEUED, "running")))
        rows = s.execute(q.order_by(Attempt.id).limit(c.limit)).all()
        ledger.request_cancel_all(s, [job for _, job in rows], _MODE.get(how, "cancel"))
        ids = [a.id for a, _ in rows]
        audit.record(s, caller, f"queue.{how}", "route",
                     f"{how} {len(ids)} process(es)", request={"processes": ids},
                     workspace_id=workspace_id)
        return ids


def cancel_process(p: Platform, caller: Caller, workspace_id: str, identifier: int,
                   how: str) -> ProcessView:
    view = get_process(p, caller, workspace_id, identifier)
    policy.require(caller, policy.CHANGE, workspace_id)
    with p.db.claim() as s:
        job = s.get_one(Job, view.job_id)
        ledger.request_cancel(s, job, _MODE.get(how, "cancel"))
        audit.record(s, caller, f"queue.{how}", "route", f"{how} process {identifier}",
                     request={"process": identifier}, workspace_id=workspace_id)
    return get_process(p, caller, workspace_id, identifier)
