"""Connections: what to sync between a source and a destination, when; and triggering it."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from sluiceway.core import frozen
from sluiceway.core.errors import FieldError, InvalidInput, SluicewayError
from sluiceway.jobs import ledger, scheduler
from sluiceway.services import actors, audit, catalogs, jobs, policy, scope
from sluiceway.services.auth import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Actor, Connection, ConnectorDefinition, Job

TIME_UNITS = ("minutes", "hours", "days", "weeks", "months")
#: the longest time between two runs of a schedule, in days (about a century)
MAX_SCHEDULE_DAYS = 36_525
_DAYS = {"minutes": 1 / 1440, "hours": 1 / 24, "days": 1, "weeks": 7, "months": 31}
STATUSES = ("active", "inactive", "deprecated")
ACTIVE_JOB = ("pending", "running", "incomplete")
#: ids per IN (...) list (SQLite allows 999 variables in old builds)
CHUNK = 500
_T = TypeVar("_T")


def chunks(items: Sequence[_T], size: int = CHUNK) -> Iterator[Sequence[_T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


@dataclass(frozen=True)
class Schedule:
    units: int
    time_unit: str


@dataclass(frozen=True)
class CronSchedule:
    """Runs at the times of a cron expression (five fields) read in an IANA time zone."""

    expression: str
    timezone: str = "UTC"


#: what a connection runs by: an interval, cron times, or nothing (only when started)
AnySchedule = Schedule | CronSchedule | None
CRON_PATH = "scheduleData.cron"


def _check_cron(schedule: CronSchedule) -> None:
    errors = []
    expression = schedule.expression.strip()
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        errors.append(FieldError(f"{CRON_PATH}.cronExpression", "must be a cron expression "
                                 "of five fields (minute hour day month weekday), like "
                                 "'0 6 * * 1-5'", schedule.expression))
    try:
        ZoneInfo(schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(FieldError(f"{CRON_PATH}.cronTimeZone", "must be an IANA time zone, "
                                 "like 'UTC' or 'Europe/Amsterdam'", schedule.timezone))
    if errors:
        raise InvalidInput("invalid schedule", errors)


def next_runs(schedule: AnySchedule, count: int = 5, after: float | None = None
              ) -> list[float]:
    """The next ``count`` times a schedule runs after ``after`` (default now), checked first;
    none for a connection that runs only when started."""
    _check_schedule(schedule)
    t = time.time() if after is None else after
    if isinstance(schedule, CronSchedule):
        return scheduler.cron_times(schedule.expression.strip(), schedule.timezone, t, count)
    if schedule is None:
        return []
    out: list[float] = []
    for _ in range(count):
        t = scheduler.next_slot(t, schedule.units, schedule.time_unit, t)
        out.append(t)
    return out


@dataclass(frozen=True, slots=True)
class ConnectionView:
    """A stored connection as the services hand it out (``catalog`` a read-only deep copy
    of the stored one, ``{"streams": [...]}``, see :class:`~sluiceway.store.models.Connection`;
    :func:`~sluiceway.core.frozen.thaw` gives a changeable copy)."""

    id: str
    workspace_id: str
    source_id: str
    destination_id: str
    name: str
    sync_mode: str
    catalog: Mapping[str, Any]
    schedule_units: int | None
    schedule_time_unit: str | None
    schedule_cron: str | None
    schedule_timezone: str | None
    status: str
    next_run_at: float | None
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class ConnectionStamp:
    """A connection of a listing, without its catalog: what tells whether a rendering kept
    since (by ``id`` and ``updated_at``) is still the connection's, and its actors."""

    id: str
    updated_at: float
    source_id: str
    destination_id: str


def view_of(c: Connection) -> ConnectionView:
    return ConnectionView(
        id=c.id, workspace_id=c.workspace_id, source_id=c.source_id,
        destination_id=c.destination_id, name=c.name, sync_mode=c.sync_mode,
        catalog=frozen.freeze(c.catalog), schedule_units=c.schedule_units,
        schedule_time_unit=c.schedule_time_unit, schedule_cron=c.schedule_cron,
        schedule_timezone=c.schedule_timezone, status=c.status, next_run_at=c.next_run_at,
        created_at=c.created_at, updated_at=c.updated_at)


def schedule_of(c: Connection | ConnectionView) -> AnySchedule:
    """The schedule a stored connection runs by."""
    if c.schedule_cron:
        return CronSchedule(c.schedule_cron, c.schedule_timezone or "UTC")
    if c.schedule_units is not None and c.schedule_time_unit is not None:
        return Schedule(c.schedule_units, c.schedule_time_unit)
    return None


def _check_schedule(schedule: AnySchedule) -> None:
    if schedule is None:
        return
    if isinstance(schedule, CronSchedule):
        _check_cron(schedule)
        return
    errors = []
    if schedule.units < 1:
        errors.append(FieldError("schedule.units", "must be at least 1", schedule.units))
    elif schedule.units * _DAYS.get(schedule.time_unit, 0) > MAX_SCHEDULE_DAYS:
        errors.append(FieldError("schedule.units", f"runs may be at most {MAX_SCHEDULE_DAYS} "
                                 f"days apart ({schedule.units} {schedule.time_unit} is more)",
                                 schedule.units))
    if schedule.time_unit not in TIME_UNITS:
        errors.append(FieldError("schedule.timeUnit", f"must be one of {list(TIME_UNITS)}",
                                 schedule.time_unit))
    if errors:
        raise InvalidInput("invalid schedule", errors)


def _apply_schedule(c: Connection, schedule: AnySchedule) -> None:
    basic = (schedule.units, schedule.time_unit) if isinstance(schedule, Schedule) else (
        None, None)
    cron = (schedule.expression.strip(), schedule.timezone) if isinstance(
        schedule, CronSchedule) else (None, None)
    if (c.schedule_units, c.schedule_time_unit) != basic or (
            c.schedule_cron, c.schedule_timezone) != cron:
        c.schedule_units, c.schedule_time_unit = basic
        c.schedule_cron, c.schedule_timezone = cron
        c.next_run_at = None  # the scheduler starts the new series


def _discovered(p: Platform, caller: Caller, source_id: str) -> dict[str, Any] | None:
    try:
        return catalogs.from_discovered(actors.discover(p, caller, source_id))
    except SluicewayError:
        return None  # the source is down: the selection is checked on its own terms


def create(p: Platform, caller: Caller, *, source_id: str, destination_id: str,
           name: str | None, sync_mode: str, streams: list[dict[str, Any]] | None,
           schedule: AnySchedule, status: str, where: str = "streams",
           paths: Mapping[str, str] = catalogs.SEED_PATHS) -> ConnectionView:
    """``where`` and ``paths`` say how the client wrote the streams (for error paths)."""
    with p.db.session() as s:
        src = scope.actor(s, caller, "source", source_id)
        dst = scope.actor(s, caller, "destination", destination_id)
        if src.workspace_id != dst.workspace_id:
            raise InvalidInput("invalid connection", [FieldError(
                "destination_id", "is in another workspace than the source",
                destination_id)])
        policy.require(caller, policy.CHANGE, src.workspace_id)
        default_name = f"{src.name} → {dst.name}"
    if status == "deprecated":
        raise InvalidInput("invalid connection",
                           [FieldError("status", "a new connection cannot be deprecated")])
    _check_schedule(schedule)
    if streams is None:  # every stream the source has (its failure is the answer)
        catalog = catalogs.from_discovered(actors.discover(p, caller, source_id))
    else:
        catalog = catalogs.validate(catalogs.merge_declared(
            streams, _discovered(p, caller, source_id), where, paths), where, paths)
    with p.db.claim() as s:
        c = Connection(workspace_id=src.workspace_id, source_id=source_id,
                       destination_id=destination_id, name=name or default_name,
                       sync_mode=sync_mode, catalog=catalog, status=status)
        _apply_schedule(c, schedule)
        s.add(c)
        s.flush()
        audit.record(s, caller, "connection.create", "connection",
                     f"connection {c.name!r} created",
                     request={"id": c.id, "sourceId": source_id,
                              "destinationId": destination_id, "status": status,
                              "streams": [st.get("name") for st in catalog.get("streams", [])]},
                     workspace_id=c.workspace_id)
        s.flush()  # created_at and updated_at
        return view_of(c)


def get(p: Platform, caller: Caller, connection_id: str) -> ConnectionView:
    with p.db.session() as s:
        return view_of(scope.connection(s, caller, connection_id))


_STAMP = (Connection.id, Connection.updated_at, Connection.source_id,
          Connection.destination_id)


def list_for(p: Platform, caller: Caller, workspace_id: str) -> list[ConnectionStamp]:
    """The workspace's connections, oldest first, without their catalogs: a face that
    keeps rendered connections by ``(id, updated_at)`` loads only those it has not
    rendered yet, with :func:`by_ids`."""
    with p.db.session() as s:
        scope.workspace(s, caller, workspace_id)
        return [ConnectionStamp(*row) for row in s.execute(select(*_STAMP).where(
            Connection.workspace_id == workspace_id, Connection.status != "deprecated")
            .order_by(Connection.created_at, Connection.id))]


def _sync_state() -> tuple[Any, Any]:
    """Per connection row of a query: when its last sync succeeded, and whether one runs
    (correlated lookups, each an index lookup on the jobs)."""
    syncs = (Job.config_type == "sync", Job.scope == Connection.id)
    last = (select(func.max(Job.updated_at)).where(*syncs, Job.status == "succeeded")
            .correlate(Connection).scalar_subquery())
    running = exists().where(*syncs, Job.status == "running").correlate(Connection)
    return last, running


@dataclass(frozen=True, slots=True)
class Listed:
    """A connection of a long listing: what its rendering and its actors' renderings depend
    on (each actor's ``updated_at``, definition id and definition name), and its sync
    state (when its last sync succeeded, epoch s, and whether one runs)."""

    id: str
    updated_at: float
    source_id: str
    destination_id: str
    source_stamp: tuple[float, str, str]
    destination_stamp: tuple[float, str, str]
    last_sync: float | None
    running: bool


def listing(p: Platform, caller: Caller, workspace_id: str) -> list[Listed]:
    """The workspace's connections, oldest first, in one query: their stamps, their
    actors' stamps and their sync state (``web_backend/connections/list`` renders
    the rest from what it kept)."""
    src, dst = aliased(Actor), aliased(Actor)
    src_def, dst_def = aliased(ConnectorDefinition), aliased(ConnectorDefinition)
    last, running = _sync_state()
    query = (select(Connection.id, Connection.updated_at, Connection.source_id,
                    Connection.destination_id, src.updated_at, src.definition_id, src_def.name,
                    dst.updated_at, dst.definition_id, dst_def.name, last, running)
             .join(src, src.id == Connection.source_id)
             .join(src_def, src_def.id == src.definition_id)
             .join(dst, dst.id == Connection.destination_id)
             .join(dst_def, dst_def.id == dst.definition_id)
             .where(Connection.workspace_id == workspace_id, Connection.status != "deprecated")
             .order_by(Connection.created_at, Connection.id))
    with p.db.session() as s:
        scope.workspace(s, caller, workspace_id)
        return [Listed(cid, updated, source_id, destination_id, (s_at, s_def, s_name),
                       (d_at, d_def, d_name), float(at) if at is not None else None,
                       bool(busy))
                for (cid, updated, source_id, destination_id, s_at, s_def, s_name, d_at,
                     d_def, d_name, at, busy) in s.execute(query)]


def by_ids(p: Platform, caller: Caller, connection_ids: Sequence[str]
           ) -> dict[str, ConnectionView]:
    """Connections the caller can see, catalogs included, by id."""
    out: dict[str, ConnectionView] = {}
    with p.db.session() as s:
        for ids in chunks(connection_ids):
            out.update((c.id, view_of(c)) for c in s.scalars(select(Connection).where(
                Connection.id.in_(ids))) if caller.can_see(c.workspace_id))
    return out


def page_for(p: Platform, caller: Caller, workspace_ids: Sequence[str], *, limit: int,
             offset: int, include_deleted: bool = False) -> list[ConnectionStamp]:
    """A page of the connections of several workspaces, oldest first, without their
    catalogs (as for :func:`list_for`)."""
    with p.db.session() as s:
        for workspace_id in workspace_ids:
            scope.workspace(s, caller, workspace_id)
        q = select(*_STAMP).where(Connection.workspace_id.in_(list(workspace_ids)))
        if not include_deleted:
            q = q.where(Connection.status != "deprecated")
        return [ConnectionStamp(*row) for row in s.execute(
            q.order_by(Connection.created_at, Connection.id).limit(limit).offset(offset))]


def update(p: Platform, caller: Caller, connection_id: str, *,
           streams: list[dict[str, Any]] | None, schedule: AnySchedule, status: str,
           sync_mode: str | None = None, where: str = "streams",
           paths: Mapping[str, str] = catalogs.SEED_PATHS) -> ConnectionView:
    """``streams`` None keeps the stored selection."""
    with p.db.session() as s:
        c = scope.connection(s, caller, connection_id)
        policy.require(caller, policy.CHANGE, c.workspace_id)
        if c.status == "deprecated" and status != "deprecated":
            raise InvalidInput("invalid connection update", [FieldError(
                "status", "a deprecated connection cannot be re-activated", status)])
        stored = c.catalog
    _check_schedule(schedule)
    catalog = stored if streams is None else catalogs.validate(
        catalogs.merge_declared(streams, stored, where, paths), where, paths)
    with p.db.claim() as s:
        c = scope.connection(s, caller, connection_id)
        c.catalog = catalog
        c.status = status
        if sync_mode is not None:
            c.sync_mode = sync_mode
        _apply_schedule(c, schedule)
        if status != "active":
            c.next_run_at = None
        audit.record(s, caller, "connection.update", "connection",
                     f"connection {c.name!r} updated",
                     request={"id": c.id, "status": status, "syncMode": sync_mode,
                              "streams": None if streams is None
                              else [st.get("name") for st in streams]},
                     workspace_id=c.workspace_id)
        s.flush()  # updated_at
        return view_of(c)


def delete(p: Platform, caller: Caller, connection_id: str) -> None:
    """Deprecate: the connection stops being scheduled and waiting jobs are cancelled."""
    with p.db.claim() as s:
        c = scope.connection(s, caller, connection_id)
        policy.require(caller, policy.CHANGE, c.workspace_id)
        c.status = "deprecated"
        c.next_run_at = None
        audit.record(s, caller, "connection.delete", "connection",
                     f"connection {c.name!r} deleted", request={"id": c.id},
                     workspace_id=c.workspace_id)
        ledger.request_cancel_all(s, s.scalars(select(Job).where(
            Job.scope == c.id, Job.status.in_(("pending", "incomplete")))).all())


def _trigger(p: Platform, caller: Caller, connection_id: str,
             config_type: str) -> jobs.JobRecord:
    # claim(): on SQLite a plain session that reads first cannot become the writer of its
    # audit row once another write (a job's heartbeat) committed in between
    with p.db.claim() as s:
        c = scope.connection(s, caller, connection_id)
        policy.require(caller, policy.CHANGE, c.workspace_id)
        if c.status == "deprecated":
            raise InvalidInput(f"cannot {config_type}", [FieldError(
                "connection_id", "the connection is deprecated (deleted)", connection_id)])
        workspace_id = c.workspace_id
        audit.record(s, caller, f"connection.{config_type}", "connection",
                     f"{config_type} of connection {c.name!r} requested",
                     request={"id": c.id}, workspace_id=c.workspace_id)
    return jobs.record(ledger.enqueue_in(
        p.db, workspace_id=workspace_id, config_type=config_type, scope=connection_id,
        max_attempts=p.settings.job_attempts,
        unicity=f"{'sync' if config_type == 'sync' else 'reset'}:{connection_id}"))


def sync(p: Platform, caller: Caller, connection_id: str) -> jobs.JobRecord:
    """Queue a sync, or return the one already queued or running for this connection."""
    return _trigger(p, caller, connection_id, "sync")


def reset(p: Platform, caller: Caller, connection_id: str) -> jobs.JobRecord:
    """Queue a reset: clear the connection's state and empty its destination tables."""
    return _trigger(p, caller, connection_id, "reset_connection")


def last_sync_and_running(p: Platform, connection_ids: list[str]
                          ) -> dict[str, tuple[float | None, bool]]:
    """Per connection: when its last sync succeeded (epoch s) and whether one is running;
    one query per few hundred connections, each answer an index lookup on the jobs."""
    last, running = _sync_state()
    out: dict[str, tuple[float | None, bool]] = {}
    with p.db.session() as s:
        for ids in chunks(connection_ids):
            for cid, at, busy in s.execute(select(Connection.id, last, running)
                                           .where(Connection.id.in_(ids))):
                out[cid] = (float(at) if at is not None else None, bool(busy))
    return {cid: out.get(cid, (None, False)) for cid in connection_ids}
