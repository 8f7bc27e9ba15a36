"""A space at a glance: its connections and routes with their last run and next run, failing
ones first, and what the syncs moved per day.

What enters: the caller, a space, a page. What leaves: :class:`Overview` views (no rows of the
store). Each page costs a few queries: the latest job per connection is one short index
walk back from its newest job (``ix_jobs_scope_id``), attempts are summed for the page's
jobs only, and the days are a month of rows of ``run_days`` (see
:mod:`sluiceway.jobs.run_days`), one per day that had runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, true
from sqlalchemy.orm import Session, aliased

from sluiceway.jobs import run_days, schedule_entries
from sluiceway.services import policy
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Actor, Attempt, Configuration, Connection, Job

RUNS = ("sync", "reset_connection")
ACTIVE = ("pending", "running", "incomplete")
DAYS = 30
_DAY = 86_400


@dataclass(frozen=True)
class ConnectionSummary:
    id: str
    name: str
    status: str  # active | inactive
    source: str
    destination: str
    next_run_at: float | None
    #: the latest sync or reset: its job id, status, start, duration (s), rows and bytes
    job_id: int | None
    job_status: str | None
    started_at: float | None
    seconds: float | None
    rows: int | None
    bytes: int | None

    @property
    def failing(self) -> bool:
        return self.job_status == "failed"

    @property
    def running(self) -> bool:
        return self.job_status in ACTIVE


@dataclass(frozen=True)
class RouteSummary:
    identifier: str
    name: str
    disabled: bool
    incoming: str
    outgoing: str
    #: the earliest next time a scheduler entry of the space runs it (None: run by hand)
    next_run_at: float | None
    #: its latest run: job id, status, start, duration (s), and what became of its entities
    job_id: int | None
    job_status: str | None
    started_at: float | None
    seconds: float | None
    read: int | None
    finished: int | None
    failed: int | None

    @property
    def failing(self) -> bool:
        return self.job_status == "failed" or bool(self.failed)

    @property
    def running(self) -> bool:
        return self.job_status in ACTIVE


@dataclass(frozen=True)
class Day:
    start: float  # epoch s of the day's midnight (UTC)
    rows: int
    seconds: float
    runs: int
    failed: int


@dataclass(frozen=True)
class Overview:
    connections: list[ConnectionSummary]
    total: int
    page: int
    size: int
    days: list[Day]
    #: the space's routes (at most :data:`ROUTES_SHOWN`), failing first
    routes: tuple[RouteSummary, ...] = ()

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def overview(p: Platform, caller: Caller, workspace_id: str, *, page: int = 1,
             size: int = 50, search: str = "") -> Overview:
    """The space's connections (``search`` in their names), failing first, then running,
    then by name; ``page`` counts from 1."""
    policy.require(caller, policy.READ, workspace_id)
    page, size = max(1, page), min(max(1, size), 500)
    src, dst = aliased(Actor), aliased(Actor)
    where = [Connection.workspace_id == workspace_id, Connection.status != "deprecated"]
    if search:
        where.append(func.lower(Connection.name).contains(search.lower(), autoescape=True))
    # the latest sync or reset of each connection (the sort needs it for every one): a short
    # backward walk of ix_jobs_scope_id from its newest job, a LATERAL join on PostgreSQL
    # (whose planner would otherwise hash the whole jobs table), a correlated lookup on SQLite
    runs = (Job.scope == Connection.id, Job.config_type.in_(RUNS))
    rank_of = {"failed": 0, **dict.fromkeys(ACTIVE, 1)}
    if p.db.dialect == "postgresql":
        job = (select(Job.id, Job.status, Job.created_at, Job.updated_at).where(*runs)
               .order_by(Job.id.desc()).limit(1).correlate(Connection).lateral("latest"))
        cols: tuple[Any, ...] = (job.c.id, job.c.status, job.c.created_at, job.c.updated_at)
    else:
        cols = (Job.id, Job.status, Job.created_at, Job.updated_at)
    q = (select(Connection.id, Connection.name, Connection.status, Connection.next_run_at,
                src.name, dst.name, *cols).select_from(Connection)
         .join(src, src.id == Connection.source_id)
         .join(dst, dst.id == Connection.destination_id))
    if p.db.dialect == "postgresql":
        q = q.outerjoin(job, true())
    else:
        q = q.outerjoin(Job, Job.id == select(Job.id).where(*runs).order_by(Job.id.desc())
                        .limit(1).correlate(Connection).scalar_subquery())
    rank = case(*((cols[1] == k, v) for k, v in rank_of.items()), else_=2)
    q = (q.where(*where).order_by(rank, Connection.name, Connection.id)
         .limit(size).offset((page - 1) * size))
    with p.db.session() as s:
        total = s.scalar(select(func.count()).select_from(Connection).where(*where)) or 0
        rows = s.execute(q).all()
        job_ids = [r[6] for r in rows if r[6] is not None]
        stats: dict[int, tuple[float | None, float | None, int, int]] = {}
        if job_ids:
            for jid, began, ended, n, b in s.execute(
                    select(Attempt.job_id, func.min(Attempt.created_at),
                           func.max(Attempt.ended_at), func.sum(Attempt.records_synced),
                           func.sum(Attempt.bytes_synced))
                    .where(Attempt.job_id.in_(job_ids)).group_by(Attempt.job_id)):
                stats[jid] = (began, ended, int(n or 0), int(b or 0))
        days = _days(s, workspace_id)
        routes = _routes(s, workspace_id, search)
    out = []
    for cid, name, status, next_run, sname, dname, job_id, jstatus, created, updated in rows:
        first, last, n, b = stats.get(job_id, (None, None, 0, 0)) if job_id else (
            None, None, 0, 0)
        started: float | None = first if first is not None else created
        end: float | None = time.time() if jstatus in ACTIVE else (last or updated)
        seconds = (end - started) if started is not None and end is not None else None
        out.append(ConnectionSummary(
            cid, name, status, sname, dname, next_run, job_id, jstatus, started, seconds,
            n if job_id else None, b if job_id else None))
    return Overview(out, int(total), page, size, days, routes)


#: routes an overview lists (a space with more finds the others on the configurations page)
ROUTES_SHOWN = 100


def _routes(s: Session, workspace_id: str, search: str) -> tuple[RouteSummary, ...]:
    """The space's routes with their latest run and next scheduled run: failing first, then
    running, then by name."""
    where = [Configuration.workspace_id == workspace_id,
             Configuration.type == schedule_entries.ROUTE]
    if search:
        where.append(func.lower(Configuration.name).contains(search.lower(), autoescape=True))
    routes = list(s.execute(select(Configuration.id, Configuration.identifier,
                                   Configuration.name, Configuration.disabled,
                                   Configuration.object).where(*where)
                            .order_by(Configuration.identifier).limit(ROUTES_SHOWN)))
    if not routes:
        return ()
    ids = [r[0] for r in routes]
    latest = dict(s.execute(select(Job.scope, func.max(Job.id)).where(
        Job.workspace_id == workspace_id, Job.config_type == "route", Job.scope.in_(ids))
        .group_by(Job.scope)).all())
    jobs = {j.id: j for j in s.scalars(select(Job).where(Job.id.in_(list(latest.values()))))}
    spans: dict[int, tuple[float | None, float | None, dict[str, Any]]] = {}
    for a in s.scalars(select(Attempt).where(Attempt.job_id.in_(list(jobs)))
                       .order_by(Attempt.number)):
        first = spans.get(a.job_id, (a.created_at, None, {}))[0]
        spans[a.job_id] = (first, a.ended_at, dict(a.stats or {}))
    t = time.time()
    next_runs: dict[str, float] = {}
    for e in schedule_entries.load_space(s, workspace_id):
        for command, target in e.commands:
            if command == "route:run" and target:
                slot = e.next_slot(t)
                next_runs[target] = min(slot, next_runs.get(target, slot))
    out = []
    for cid, ident, name, disabled, obj in routes:
        params = dict(dict(obj or {}).get("parameters") or {})
        job = jobs.get(latest.get(cid, -1))
        began, ended, stats = spans.get(job.id, (None, None, {})) if job else (None, None, {})
        started = began if began is not None else (job.created_at if job else None)
        end = t if job is not None and job.status in ACTIVE else (
            ended or (job.updated_at if job else None))
        seconds = (end - started) if started is not None and end is not None else None

        def figure(name: str, job: Job | None = job, stats: dict[str, Any] = stats,
                   ) -> int | None:
            return int(stats.get(name) or 0) if job is not None else None

        out.append(RouteSummary(
            ident, name, bool(disabled), str(params.get("incoming") or ""),
            str(params.get("outgoing") or ""),
            None if disabled else next_runs.get(ident), job.id if job else None,
            job.status if job else None, started, seconds, figure("read"),
            figure("finished"), figure("failed")))
    out.sort(key=lambda r: (0 if r.failing else 1 if r.running else 2, r.name, r.identifier))
    return tuple(out)


def _days(s: Session, workspace_id: str) -> list[Day]:
    """Rows moved, run time, runs and failed runs per UTC day over the last :data:`DAYS`
    days (every day listed, empty ones too), from the syncs' attempts by the day they
    ended: at most 30 rows of ``run_days``, which ending an attempt adds to."""
    today = run_days.day_of(time.time())
    first = today - DAYS + 1
    found = run_days.read(s, workspace_id, first, today)
    return [Day(float(d * _DAY), *_day(found.get(d))) for d in range(first, today + 1)]


def _day(row: tuple[int, int, float, int, int] | None) -> tuple[int, float, int, int]:
    if row is None:
        return 0, 0.0, 0, 0
    records, _bytes, seconds, runs, failed = row
    return records, seconds, runs, failed
