"""Jobs as faces show them: the job, its attempts with stats, and each attempt's log.

:func:`get` and :func:`cancel` answer for the jobs of a connection (sync and reset): any
other job (an export, a dump, a backup) does not exist for them, as the face that shows
connection jobs has no way to show it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sluiceway.core.errors import NotFound
from sluiceway.jobs import ledger
from sluiceway.services import audit, policy, scope
from sluiceway.services.auth import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Attempt, AttemptLog, Connection, Job

#: the kinds of job that belong to a connection
CONNECTION_JOBS = ("sync", "reset_connection")


@dataclass(frozen=True)
class JobRecord:
    """A job as it leaves the services: ``status`` and ``config_type`` are the ledger's."""

    id: int
    workspace_id: str
    config_type: str
    scope: str
    status: str
    priority: int
    unicity: str | None
    progress: float
    error: str | None
    #: what the job's kind answered (a copy)
    output: dict[str, Any] | None
    scheduled_at: float
    created_at: float
    updated_at: float


def record(j: Job) -> JobRecord:
    return JobRecord(id=j.id, workspace_id=j.workspace_id, config_type=j.config_type,
                     scope=j.scope, status=j.status, priority=j.priority, unicity=j.unicity,
                     progress=float(j.progress or 0.0), error=j.error,
                     output=dict(j.output) if j.output is not None else None,
                     scheduled_at=j.scheduled_at, created_at=j.created_at,
                     updated_at=j.updated_at)


@dataclass(frozen=True)
class AttemptRecord:
    number: int
    status: str
    records_synced: int
    bytes_synced: int
    created_at: float
    updated_at: float
    ended_at: float | None


def _attempt(a: Attempt) -> AttemptRecord:
    return AttemptRecord(number=a.number, status=a.status,
                         records_synced=int(a.records_synced or 0),
                         bytes_synced=int(a.bytes_synced or 0), created_at=a.created_at,
                         updated_at=a.updated_at, ended_at=a.ended_at)


@dataclass(frozen=True)
class AttemptView:
    attempt: AttemptRecord
    log_lines: list[str]


@dataclass(frozen=True)
class JobView:
    job: JobRecord
    attempts: list[AttemptView]


def _view(s: Session, job: Job, with_logs: bool) -> JobView:
    attempts = list(s.scalars(select(Attempt).where(Attempt.job_id == job.id)
                              .order_by(Attempt.number)))
    views = []
    for a in attempts:
        lines: list[str] = []
        if with_logs:
            lines = [f"{_iso(log.at)} {log.level} {log.line}" for log in s.scalars(
                select(AttemptLog).where(AttemptLog.attempt_id == a.id).order_by(AttemptLog.id))]
        views.append(AttemptView(_attempt(a), lines))
    return JobView(record(job), views)


def _iso(at: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _connection_job(s: Session, caller: Caller, job_id: int) -> Job:
    """A sync or reset job of a connection the caller sees; NotFound for any other."""
    job = scope.job(s, caller, job_id)
    conn = s.get(Connection, job.scope) if job.config_type in CONNECTION_JOBS else None
    if conn is None or not caller.can_see(conn.workspace_id):
        raise NotFound(f"job {job_id} not found", str(job_id))
    return job


def get(p: Platform, caller: Caller, job_id: int) -> JobView:
    with p.db.session() as s:
        return _view(s, _connection_job(s, caller, job_id), with_logs=True)


def view(p: Platform, job: JobRecord) -> JobView:
    """The view of a job the caller was just handed (for instance by a trigger)."""
    with p.db.session() as s:
        return _view(s, s.get_one(Job, job.id), with_logs=True)


def list_for(p: Platform, caller: Caller, config_types: list[str], scope_id: str,
             limit: int = 500) -> list[JobView]:
    """Jobs of an object, newest first; the object must be visible to the caller."""
    return page(p, caller, config_types, scope_id, limit=limit, offset=0)[0]


def page(p: Platform, caller: Caller, config_types: list[str], scope_id: str, *,
         limit: int, offset: int) -> tuple[list[JobView], int]:
    """A page of an object's jobs, newest first, with their attempts (no logs), and how many
    jobs there are in all; the object must be visible to the caller."""
    with p.db.session() as s:
        _check_scope(s, caller, config_types, scope_id)
        where = (Job.scope == scope_id, Job.config_type.in_(config_types),
                 scope.visible(caller, Job.workspace_id))
        jobs = list(s.scalars(select(Job).where(*where)
                              .order_by(Job.created_at.desc(), Job.id.desc())
                              .limit(limit).offset(offset)))
        total = int(s.scalar(select(func.count(Job.id)).where(*where)) or 0)
        attempts: dict[int, list[AttemptView]] = {j.id: [] for j in jobs}
        if jobs:
            for a in s.scalars(select(Attempt).where(Attempt.job_id.in_(list(attempts)))
                               .order_by(Attempt.job_id, Attempt.number)):
                attempts[a.job_id].append(AttemptView(_attempt(a), []))
        return [JobView(record(j), attempts[j.id]) for j in jobs], total


@dataclass(frozen=True)
class JobFilter:
    """Which connection jobs a listing shows: any field left ``None`` does not filter."""

    connection_id: str | None = None
    workspace_ids: tuple[str, ...] = ()
    config_types: tuple[str, ...] = CONNECTION_JOBS
    status: str | None = None
    created_from: float | None = None
    created_to: float | None = None
    updated_from: float | None = None
    updated_to: float | None = None
    #: ``created_at`` or ``updated_at``, and whether the newest come first
    order_by: str = "created_at"
    descending: bool = True


def connection_jobs(p: Platform, caller: Caller, f: JobFilter, *, limit: int,
                    offset: int) -> list[JobView]:
    """A page of the sync and reset jobs of the connections the caller sees, filtered by
    ``f``, with their attempts (no logs). A named connection or workspace the caller does
    not see is not found."""
    with p.db.session() as s:
        where = [Job.config_type.in_([t for t in f.config_types if t in CONNECTION_JOBS]),
                 scope.visible(caller, Job.workspace_id)]
        if f.connection_id is not None:
            scope.connection(s, caller, f.connection_id)
            where.append(Job.scope == f.connection_id)
        for workspace_id in f.workspace_ids:
            scope.workspace(s, caller, workspace_id)
        if f.workspace_ids:
            where.append(Job.workspace_id.in_(list(f.workspace_ids)))
        if f.status is not None:
            where.append(Job.status == f.status)
        for column, low, high in ((Job.created_at, f.created_from, f.created_to),
                                  (Job.updated_at, f.updated_from, f.updated_to)):
            if low is not None:
                where.append(column >= low)
            if high is not None:
                where.append(column <= high)
        column = Job.updated_at if f.order_by == "updated_at" else Job.created_at
        order = (column.desc(), Job.id.desc()) if f.descending else (column.asc(), Job.id.asc())
        found = list(s.scalars(select(Job).where(*where).order_by(*order)
                               .limit(limit).offset(offset)))
        attempts: dict[int, list[AttemptView]] = {j.id: [] for j in found}
        if found:
            for a in s.scalars(select(Attempt).where(Attempt.job_id.in_(list(attempts)))
                               .order_by(Attempt.job_id, Attempt.number)):
                attempts[a.job_id].append(AttemptView(_attempt(a), []))
        return [JobView(record(j), attempts[j.id]) for j in found]


_SCOPES = {"sync": "connection", "reset_connection": "connection",
           "check_connection_source": "source", "discover_schema": "source",
           "check_connection_destination": "destination"}


def _check_scope(s: Session, caller: Caller, config_types: list[str], scope_id: str) -> None:
    """The object the jobs belong to must exist for the caller (404 otherwise)."""
    kinds = {_SCOPES.get(t) for t in config_types} - {None}
    for kind in kinds:
        if kind == "connection":
            scope.connection(s, caller, scope_id)
        elif kind in ("source", "destination"):
            scope.actor(s, caller, kind, scope_id)


def cancel(p: Platform, caller: Caller, job_id: int) -> JobView:
    with p.db.claim() as s:
        job = _connection_job(s, caller, job_id)
        policy.require(caller, policy.CHANGE, job.workspace_id)
        ledger.request_cancel(s, job)
        audit.record(s, caller, "job.cancel", "job", f"job {job.id} cancelled",
                     request={"id": job.id}, workspace_id=job.workspace_id)
    return get(p, caller, job_id)


@dataclass(frozen=True)
class LogLine:
    id: int
    attempt: int
    at: float
    level: str
    line: str

    def __str__(self) -> str:
        return f"{_iso(self.at)} {self.level} [attempt {self.attempt}] {self.line}"


@dataclass(frozen=True)
class JobLog:
    job_id: int
    status: str
    lines: list[LogLine]

    @property
    def finished(self) -> bool:
        return self.status in ledger.FINAL


def log_since(p: Platform, job_id: int, after: int = 0) -> JobLog:
    """A job's status and its log lines (every attempt's, in order) with ids above
    ``after``. For the operator's command line, which holds the metadata database itself
    (as ``users create`` does): no caller to scope by."""
    with p.db.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found", str(job_id))
        rows = s.execute(select(AttemptLog, Attempt.number)
                         .join(Attempt, Attempt.id == AttemptLog.attempt_id)
                         .where(Attempt.job_id == job_id, AttemptLog.id > after)
                         .order_by(AttemptLog.id)).all()
        return JobLog(job.id, job.status, [LogLine(log.id, number, log.at, log.level, log.line)
                                           for log, number in rows])


def log_of(p: Platform, caller: Caller, job_id: int, after: int = 0) -> JobLog:
    """:func:`log_since` for a caller: a job of any kind in a space the caller reads (a
    member's viewer role is enough); a job elsewhere is not found."""
    with p.db.session() as s:
        policy.require(caller, policy.READ, scope.job(s, caller, job_id).workspace_id)
    return log_since(p, job_id, after)


def log_for(p: Platform, caller: Caller, job_id: int, after: int = 0) -> JobLog:
    """:func:`log_since` for a caller: the job must be a sync or reset of a connection the
    caller sees."""
    with p.db.session() as s:
        _connection_job(s, caller, job_id)
    return log_since(p, job_id, after)
