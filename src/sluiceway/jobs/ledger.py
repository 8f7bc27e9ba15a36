"""The job ledger: every long action is a Job, every try of it an Attempt.

A job is made with its first attempt, ``queued`` (no worker, no lease), so that a client that
reads the job it has just started finds an attempt to look at; the worker that claims the job
takes that attempt and makes it ``running``. A retry is a new attempt, made by its claim.
Only ``running`` attempts have leases, so the reaper never touches a queued one.

Functions here are the only writers of job and attempt status. Read-modify-write happens in
``db.claim()``: on SQLite that is ``BEGIN IMMEDIATE`` (the single writer), on PostgreSQL an
ordinary transaction whose rows are locked with ``FOR UPDATE`` (``SKIP LOCKED`` when picking
a job to run), so one job is never handed to two workers.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Table, exists, func, insert, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from sluiceway.core.settings import Settings
from sluiceway.jobs import run_days
from sluiceway.store.db import Database, now
from sluiceway.store.models import Attempt, AttemptLog, Job, Task, Workspace

#: job statuses in which a job still holds its unicity key
ACTIVE = ("pending", "running", "incomplete")
#: job statuses a worker may pick up (when ``scheduled_at`` has come)
RUNNABLE = ("pending", "incomplete")
#: the status of a job's first attempt until a worker claims the job
QUEUED = "queued"
#: job statuses that never change again
FINAL = ("failed", "succeeded", "cancelled")
OUTCOMES = ("succeeded", "failed", "cancelled")

_M = TypeVar("_M", Job, Attempt)


def _is_pg(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def enqueue(
    s: Session,
    *,
    workspace_id: str,
    config_type: str,
    scope: str,
    input: dict[str, Any] | None = None,
    max_attempts: int,
    priority: int = 0,
    unicity: str | None = None,
    scheduled_at: float | None = None,
) -> Job:
    """A new pending job, or the active job that already holds ``unicity``.

    On PostgreSQL a transaction-scoped advisory lock on the key serialises two enqueuers of
    the same key; on SQLite call this inside ``db.claim()`` (see :func:`enqueue_in`).
    """
    job, _created = enqueue_new(
        s, workspace_id=workspace_id, config_type=config_type, scope=scope, input=input,
        max_attempts=max_attempts, priority=priority, unicity=unicity,
        scheduled_at=scheduled_at)
    return job


def enqueue_new(
    s: Session,
    *,
    workspace_id: str,
    config_type: str,
    scope: str,
    input: dict[str, Any] | None = None,
    max_attempts: int,
    priority: int = 0,
    unicity: str | None = None,
    scheduled_at: float | None = None,
) -> tuple[Job, bool]:
    """Like :func:`enqueue`, and whether the job was made now (False: an active one)."""
    [(job_id, made)] = enqueue_many(s, [NewJob(
        workspace_id=workspace_id, config_type=config_type, scope=scope, input=input,
        max_attempts=max_attempts, priority=priority, unicity=unicity,
        scheduled_at=scheduled_at)])
    return s.get_one(Job, job_id), made


@dataclass(frozen=True)
class NewJob:
    """What :func:`enqueue_many` makes a job of (the arguments of :func:`enqueue`)."""

    workspace_id: str
    config_type: str
    scope: str
    max_attempts: int
    input: dict[str, Any] | None = None
    priority: int = 0
    unicity: str | None = None
    scheduled_at: float | None = None


def enqueue_many(s: Session, items: Sequence[NewJob]) -> list[tuple[int, bool]]:
    """:func:`enqueue_new` of many jobs in a few statements, whatever their number: one lock
    of their unicity keys, one read of the active jobs holding them, one insert of the jobs
    and one of their first attempts. Returns (job id, made now) in the order of ``items``;
    an item whose key an earlier item took gets that job (not made now).

    On PostgreSQL the keys' advisory locks are taken in one order (sorted), so two batches
    never wait for each other in a circle; on SQLite call this inside ``db.claim()``.
    """
    keys = sorted({i.unicity for i in items if i.unicity is not None})
    holders: dict[str, int] = {}
    if keys:
        if _is_pg(s):
            s.execute(text("SELECT count(pg_advisory_xact_lock(h)) FROM (SELECT DISTINCT "
                           "hashtext(k) AS h FROM unnest(CAST(:keys AS text[])) AS k "
                           "ORDER BY h) AS sorted_keys"), {"keys": keys})
        for job_id, key in s.execute(select(Job.id, Job.unicity)
                                     .where(Job.unicity.in_(keys), Job.status.in_(ACTIVE))
                                     .order_by(Job.id.desc())):
            holders[str(key)] = int(job_id)  # the oldest holder is the answer
    t = now()
    rows: list[dict[str, Any]] = []
    taken = set(holders)
    for item in items:
        if item.unicity is None or item.unicity not in taken:
            if item.unicity is not None:
                taken.add(item.unicity)
            rows.append({"workspace_id": item.workspace_id,
                         "config_type": item.config_type, "scope": item.scope,
                         "status": "pending", "priority": item.priority,
                         "unicity": item.unicity, "input": dict(item.input or {}),
                         "max_attempts": item.max_attempts, "cancel_requested": False,
                         "progress": 0.0,
                         "scheduled_at": t if item.scheduled_at is None else item.scheduled_at,
                         "created_at": t, "updated_at": t})
    ids: list[int] = []
    if rows:  # core inserts: a unit of work of a thousand jobs costs more than the database
        jobs, attempts = _table(Job), _table(Attempt)
        ids = [int(i) for i in s.scalars(
            insert(jobs).returning(jobs.c.id, sort_by_parameter_order=True), rows)]
        s.execute(insert(attempts), [
            {"job_id": job_id, "number": 1, "status": QUEUED, "records_synced": 0,
             "bytes_synced": 0, "created_at": t, "updated_at": t} for job_id in ids])
    out: list[tuple[int, bool]] = []
    made = iter(ids)  # in the order of rows: the items that make a job, as above
    for item in items:
        key = item.unicity
        if key is not None and key in holders:
            out.append((holders[key], False))
            continue
        job_id = next(made)
        if key is not None:
            holders[key] = job_id
        out.append((job_id, True))
    return out


def _table(model: type[Job] | type[Attempt]) -> Table:
    return cast(Table, model.__table__)


def enqueue_in(db: Database, **kw: Any) -> Job:
    """:func:`enqueue` in its own transaction (the write lock on SQLite)."""
    with db.claim() as s:
        return enqueue(s, **kw)


#: job kinds that touch a connection's destination: at most one of them runs per connection
EXCLUSIVE = ("sync", "reset_connection")


def _runnable_now(s: Session, t: float) -> Any:
    """Jobs a worker may start at ``t``: due, not cancelled, their connection not busy with
    another sync or reset, their space below its worker allocation."""
    other = aliased(Job)
    busy = exists().where(other.scope == Job.scope, other.status == "running",
                          other.config_type.in_(EXCLUSIVE))
    return (select(Job)
            .where(Job.status.in_(RUNNABLE), Job.scheduled_at <= t,
                   Job.cancel_requested.is_(False),
                   or_(Job.config_type.not_in(EXCLUSIVE), ~busy),
                   Job.workspace_id.not_in(_full_spaces(s)))
            .order_by(Job.priority.desc(), Job.id))


def claim(db: Database, worker: str, pid: int | None, lease_seconds: float, *,
          job_id: int | None = None, host: str | None = None) -> Attempt | None:
    """Start the next attempt of the most urgent due job, or None when none is due.

    Highest ``priority`` first, then the oldest job. The job becomes ``running``. With
    ``job_id`` only that job is considered (a broker message named it): None then also when
    it runs already, has ended, is not due yet, or its space or connection is busy.
    ``host`` (default: this machine's name), ``worker`` and ``pid`` are recorded on the
    attempt.
    """
    with db.claim() as s:
        t = now()
        q = _runnable_now(s, t).limit(1)
        if job_id is not None:
            q = q.where(Job.id == job_id)
        if _is_pg(s):
            q = q.with_for_update(skip_locked=True)
        job = s.scalars(q).first()
        if job is None:
            return None
        if job.config_type in EXCLUSIVE and _is_pg(s):
            # two claimers may each have picked a job of the same connection: one wins
            s.execute(select(func.pg_advisory_xact_lock(func.hashtext("scope:" + job.scope))))
            if s.scalar(select(exists().where(Job.scope == job.scope, Job.status == "running",
                                              Job.config_type.in_(EXCLUSIVE)))):
                return None
        if _is_pg(s) and not _room_after_lock(s, job.workspace_id):
            return None
        attempt = s.scalars(select(Attempt).where(Attempt.job_id == job.id,
                                                  Attempt.status == QUEUED)
                            .order_by(Attempt.number).limit(1)).first()
        if attempt is None:  # a retry (or a job enqueued before attempts were queued)
            last = s.scalar(select(func.max(Attempt.number)).where(Attempt.job_id == job.id))
            attempt = Attempt(job_id=job.id, number=int(last or 0) + 1, records_synced=0,
                              bytes_synced=0, created_at=t)
            s.add(attempt)
        attempt.status = "running"
        attempt.worker, attempt.pid = worker, pid
        attempt.host = host or socket.gethostname()
        attempt.heartbeat_at, attempt.lease_until = t, t + lease_seconds
        attempt.updated_at = t
        job.status = "running"
        s.flush()
        return attempt


def take_publishable(db: Database, republish_before: float, limit: int = 500,
                     ) -> list[Job]:
    """The jobs a distributed executor should hand to its broker now, most urgent first,
    marked published (``published_at``) in the same transaction.

    A job is publishable when a worker could claim it now (see :func:`claim`) and no message
    of it is known to wait: never published, published before it became due again (a retry),
    handed back by a worker that could not start it (:func:`unpublish`), or published before
    ``republish_before`` (the broker may have lost the message). Publish, and on a failure
    :func:`unpublish` what was not sent.
    """
    with db.claim() as s:
        t = now()
        q = (_runnable_now(s, t)
             .where(or_(Job.published_at.is_(None), Job.published_at < Job.scheduled_at,
                        Job.published_at < republish_before))
             .limit(limit))
        if _is_pg(s):
            q = q.with_for_update(skip_locked=True, of=Job)
        jobs = list(s.scalars(q))
        for job in jobs:
            job.published_at = t
        s.flush()
        return jobs


def unpublish(db: Database, job_ids: Sequence[int]) -> None:
    """No message of these jobs waits any more (not sent, or consumed by a worker that could
    not start the job): the next :func:`take_publishable` looks at them again."""
    if not job_ids:
        return
    with db.claim() as s:
        s.execute(update(Job).where(Job.id.in_(list(job_ids)), Job.status.in_(RUNNABLE))
                  .values(published_at=None).execution_options(synchronize_session=False))


def cancel_requested(db: Database, job_id: int) -> bool:
    """Whether a stop of the job was asked (a cheap read between two heartbeats)."""
    with db.session() as s:
        return bool(s.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def requested(db: Database, job_id: int) -> str | None:
    """What the job was asked (a cheap read between two heartbeats): ``cancel`` (end now;
    also a kill), ``stop`` (end after the batch in hand commits) or None."""
    with db.session() as s:
        row = s.execute(select(Job.cancel_requested, Job.cancel_mode)
                        .where(Job.id == job_id)).first()
    if row is None or row[0]:
        return "cancel"
    return "stop" if row[1] == "stop" else None


def _full_spaces(s: Session) -> list[str]:
    """Spaces that run as many jobs as their worker allocation allows (no allocation: no
    cap, never full)."""
    running = (select(func.count()).where(Job.workspace_id == Workspace.id,
                                          Job.status == "running")
               .correlate(Workspace).scalar_subquery())
    return list(s.scalars(select(Workspace.id).where(Workspace.workers.is_not(None),
                                                     Workspace.workers <= running)))


def _room_after_lock(s: Session, workspace_id: str) -> bool:
    """On PostgreSQL two claimers may each have picked a job of a capped space: one at a
    time counts again (SQLite claims are serialised already)."""
    cap = s.scalar(select(Workspace.workers).where(Workspace.id == workspace_id))
    if cap is None:
        return True
    s.execute(select(func.pg_advisory_xact_lock(func.hashtext("space:" + workspace_id))))
    running = s.scalar(select(func.count()).where(Job.workspace_id == workspace_id,
                                                  Job.status == "running"))
    return int(running or 0) < cap


def set_pid(db: Database, attempt_id: int, pid: int | None) -> None:
    """Record the process that runs an attempt."""
    with db.claim() as s:
        attempt = s.get(Attempt, attempt_id)
        if attempt is not None:
            attempt.pid = pid


def heartbeat(
    db: Database,
    attempt_id: int,
    lease_seconds: float,
    *,
    records: int | None = None,
    bytes_: int | None = None,
    progress: float | None = None,
) -> bool:
    """Push the attempt's lease forward; True means stop: the job's cancel was requested,
    or the attempt no longer runs (it was reaped or finished elsewhere)."""
    with db.claim() as s:
        attempt = _locked(s, Attempt, attempt_id)
        if attempt is None or attempt.status != "running":
            return True
        job = _locked(s, Job, attempt.job_id)
        t = now()
        attempt.heartbeat_at = t
        attempt.lease_until = t + lease_seconds
        if records is not None:
            attempt.records_synced = records
        if bytes_ is not None:
            attempt.bytes_synced = bytes_
        if job is None:
            return True
        if progress is not None:
            job.progress = progress
        return bool(job.cancel_requested)


def _locked(s: Session, model: type[_M], key: Any) -> _M | None:
    return s.get(model, key, with_for_update=_is_pg(s), populate_existing=True)


def finish(
    db: Database,
    attempt_id: int,
    outcome: str,
    *,
    error: str | None = None,
    retryable: bool = False,
    stats: dict[str, Any] | None = None,
    settings: Settings,
    output: dict[str, Any] | None = None,
    records: int | None = None,
    bytes_: int | None = None,
) -> str | None:
    """End an attempt and move its job on; returns the job's new status.

    ``succeeded`` and ``cancelled`` end the job so. ``failed`` retries (job ``incomplete``,
    due after ``retry_backoff_seconds * 2 ** (n - 1)``) when ``retryable`` and attempts
    remain, else fails the job. A failure of a job whose cancel was requested cancels it.
    Idempotent: an attempt that already ended is left alone (returns None).
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    with db.claim() as s:
        attempt = _locked(s, Attempt, attempt_id)
        if attempt is None or attempt.status != "running":
            return None
        return _finish(s, attempt, outcome, error=error, retryable=retryable, stats=stats,
                       settings=settings, output=output, records=records, bytes_=bytes_)


def _finish(
    s: Session,
    attempt: Attempt,
    outcome: str,
    *,
    error: str | None,
    retryable: bool,
    stats: dict[str, Any] | None,
    settings: Settings,
    output: dict[str, Any] | None = None,
    records: int | None = None,
    bytes_: int | None = None,
) -> str | None:
    job = _locked(s, Job, attempt.job_id)
    t = now()
    attempt.status = outcome
    attempt.ended_at = t
    attempt.error = error
    if stats is not None:
        attempt.stats = stats
    if records is not None:
        attempt.records_synced = records
    if bytes_ is not None:
        attempt.bytes_synced = bytes_
    if job is None:
        return None
    if job.config_type == run_days.KIND:  # the overview's per-day figures
        run_days.add(s, job.workspace_id, began=attempt.created_at, ended=t,
                     records=attempt.records_synced, bytes_=attempt.bytes_synced,
                     failed=attempt.status == "failed")
    if outcome == "failed" and (job.cancel_requested or job.cancel_mode == "stop"):
        outcome = "cancelled"
    if outcome == "cancelled" and job.cancel_mode == "kill":
        # the attempt may have seen the kill as a cancel and ended before its process was
        # killed: it was killed all the same
        error = attempt.error = "killed"
    if outcome == "cancelled":
        _abandon_tasks(s, job, error)
    if outcome == "succeeded":
        job.status, job.error, job.progress = "succeeded", None, 1.0
        job.output = output
    elif outcome == "cancelled":
        job.status = "cancelled"
        job.error = error or "cancelled"
        if output is not None:
            job.output = output
    elif retryable and attempt.number < job.max_attempts:
        job.status = "incomplete"
        job.error = error
        job.scheduled_at = t + settings.retry_backoff_seconds * 2 ** (attempt.number - 1)
    else:
        job.status = "failed"
        job.error = error
        if output is not None:
            job.output = output
    return job.status


#: how a job may be asked to end (see :func:`request_cancel`)
CANCEL_MODES = ("cancel", "kill", "stop")


def _abandon_tasks(s: Session, job: Job, error: str | None) -> None:
    """A cancelled route run's tasks still ``processing`` (their chunk's write never
    committed: the worker was killed) become ``failed``, to be retried."""
    if job.config_type != "route" or not job.input.get("route"):
        return
    s.execute(update(Task).where(Task.workspace_id == job.workspace_id,
                                 Task.route == str(job.input["route"]),
                                 Task.status == "processing", Task.job_id == job.id)
              .values(status="failed", updated_at=now(),
                      error=f"{error or 'cancelled'}: the entity was not written; retry it")
              .execution_options(synchronize_session=False))


def request_cancel_all(s: Session, jobs: Sequence[Job], how: str = "cancel") -> list[Job]:
    """:func:`request_cancel` of several jobs in one transaction. On PostgreSQL every job
    row is locked first, in id order: cancelling one job may add to its space's
    ``run_days`` row, which an attempt that ends meanwhile adds to after locking its own
    job; taking the jobs one by one would hold that row while waiting for such a job."""
    ordered = sorted({j.id: j for j in jobs}.values(), key=lambda j: j.id)
    if ordered and _is_pg(s):
        s.execute(select(Job.id).where(Job.id.in_([j.id for j in ordered]))
                  .order_by(Job.id).with_for_update())
    return [request_cancel(s, job, how) for job in ordered]


def request_cancel(s: Session, job: Job, how: str = "cancel") -> Job:
    """End a job: at once when no attempt runs, else by asking its worker. ``how``:
    ``cancel`` (the worker stops at its next look and is terminated after a grace),
    ``kill`` (the worker's process is ended at once: its uncommitted batch is lost and
    its tasks stay retryable) or ``stop`` (the worker ends after the batch in hand
    commits; it is never terminated).

    Each step is one conditional UPDATE, so a claim that races with it either sees the job
    cancelled or leaves it running with ``cancel_requested`` set. On SQLite, calling it
    inside ``db.claim()`` avoids a busy error when the session read before it writes.
    """
    if how not in CANCEL_MODES:
        raise ValueError(f"unknown way to end a job: {how!r}")
    s.flush()
    t = now()
    waiting = cast(CursorResult[Any], s.execute(
        update(Job).where(Job.id == job.id, Job.status.in_(RUNNABLE))
        .values(status="cancelled", cancel_requested=True, cancel_mode=how,
                error="cancelled", updated_at=t)
        .execution_options(synchronize_session=False)))
    if waiting.rowcount == 0:
        # a kill or a cancel outranks a stop asked before; a stop does not soften them
        values: dict[str, Any] = ({"cancel_mode": "stop"} if how == "stop"
                                  else {"cancel_requested": True, "cancel_mode": how})
        s.execute(update(Job).where(Job.id == job.id, Job.status == "running",
                                    *((Job.cancel_requested.is_(False),)
                                      if how == "stop" else ()))
                  .values(updated_at=t, **values)
                  .execution_options(synchronize_session=False))
    else:  # no worker will take its queued attempt now
        if job.config_type == run_days.KIND:  # it ends now: the overview counts it
            for began, records, bytes_ in s.execute(
                    select(Attempt.created_at, Attempt.records_synced, Attempt.bytes_synced)
                    .where(Attempt.job_id == job.id, Attempt.status == QUEUED)).all():
                run_days.add(s, job.workspace_id, began=began, ended=t, records=records,
                             bytes_=bytes_, failed=False)
        s.execute(update(Attempt).where(Attempt.job_id == job.id, Attempt.status == QUEUED)
                  .values(status="cancelled", ended_at=t, updated_at=t)
                  .execution_options(synchronize_session=False))
    s.refresh(job)
    return job


def reap(db: Database, settings: Settings) -> list[int]:
    """Fail (retryably) every running attempt whose lease ran out; returns their ids."""
    with db.session() as s:
        t = now()
        ids = list(s.scalars(select(Attempt.id).where(
            Attempt.status == "running", Attempt.lease_until < t)).all())
    reaped: list[int] = []
    for attempt_id in ids:
        with db.claim() as s:
            attempt = _locked(s, Attempt, attempt_id)
            t = now()
            if (attempt is None or attempt.status != "running"
                    or attempt.lease_until is None or attempt.lease_until >= t):
                continue  # it heartbeat or ended in between
            seen = attempt.heartbeat_at or attempt.created_at
            when = dt.datetime.fromtimestamp(seen, dt.UTC).isoformat(timespec="seconds")
            _finish(s, attempt, "failed", error=f"worker lost: no heartbeat since {when}",
                    retryable=True, stats=None, settings=settings)
            reaped.append(attempt_id)
    return reaped


def append_logs(db: Database, attempt_id: int, lines: Sequence[tuple[str, str]]) -> None:
    """Store log lines of an attempt (already redacted by the caller)."""
    if not lines:
        return
    t = now()
    with db.session() as s:
        s.add_all([AttemptLog(attempt_id=attempt_id, at=t, level=level, line=line)
                   for level, line in lines])


def logs(db: Database, attempt_id: int) -> list[tuple[str, str]]:
    """The log lines of an attempt, in order: (level, line)."""
    with db.session() as s:
        rows = s.execute(select(AttemptLog.level, AttemptLog.line)
                         .where(AttemptLog.attempt_id == attempt_id)
                         .order_by(AttemptLog.id)).all()
    return [(r[0], r[1]) for r in rows]
