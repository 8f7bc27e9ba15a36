"""Jobs as faces show them: the job, its attempts with stats, and each attempt's log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sluiceway.jobs import ledger
from sluiceway.services import scope
from sluiceway.services.auth import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Attempt, AttemptLog, Job


@dataclass(frozen=True)
class AttemptView:
    attempt: Attempt
    log_lines: list[str]


@dataclass(frozen=True)
class JobView:
    job: Job
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
        views.append(AttemptView(a, lines))
    return JobView(job, views)


def _iso(at: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def get(p: Platform, caller: Caller, job_id: int) -> JobView:
    with p.db.session() as s:
        return _view(s, scope.job(s, caller, job_id), with_logs=True)


def view(p: Platform, job: Job) -> JobView:
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
                 Job.workspace_id.in_(caller.workspace_ids))
        jobs = list(s.scalars(select(Job).where(*where)
                              .order_by(Job.created_at.desc(), Job.id.desc())
                              .limit(limit).offset(offset)))
        total = int(s.scalar(select(func.count(Job.id)).where(*where)) or 0)
        attempts: dict[int, list[AttemptView]] = {j.id: [] for j in jobs}
        if jobs:
            for a in s.scalars(select(Attempt).where(Attempt.job_id.in_(list(attempts)))
                               .order_by(Attempt.job_id, Attempt.number)):
                attempts[a.job_id].append(AttemptView(a, []))
        return [JobView(j, attempts[j.id]) for j in jobs], total


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
        job = scope.job(s, caller, job_id)
        ledger.request_cancel(s, job)
    return get(p, caller, job_id)
