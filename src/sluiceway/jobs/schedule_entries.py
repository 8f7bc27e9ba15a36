"""Fire scheduler entries: configurations of type ``scheduler-entry`` (prototype ``cron``)
whose commands (``route:run``, ``incoming:run``, ``outgoing:run``) run at the times of a cron
expression in the entry's time zone.

Each tick looks at every enabled entry: the last slot of its expression at or before now is
due when it came after the entry was last saved and at most :data:`GRACE` seconds ago (a
server that was down longer skips the missed slots rather than fire a backlog). Firing
inserts the slot's key (space, entry, slot time) into ``schedule_slots``, unique, in the same
transaction as the enqueue of the route runs: of two schedulers, or a scheduler and its
restart, only the one whose insert went through enqueues. A disabled entry, or a disabled
route, is not run. An expression (or time zone) that is a ``${NAME}`` reference to a plain
variable of the entry's space is resolved each time the entries are loaded (a changed
variable moves the schedule); a reference to a variable that is missing or encrypted (saving
such an entry is refused) leaves the entry unscheduled, with a warning in the log.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sluiceway.core.errors import FieldError
from sluiceway.core.settings import Settings
from sluiceway.jobs import ledger
from sluiceway.secrets import variables as refs
from sluiceway.store.db import Database
from sluiceway.store.models import Configuration, EnvironmentVariable, ScheduleSlot

log = logging.getLogger(__name__)

TYPE = "scheduler-entry"
ROUTE = "route-configuration"
#: seconds after its time a slot may still be fired (a longer outage skips it)
GRACE = 300.0
_ENDS = {"route:run": "route", "incoming:run": "incoming", "outgoing:run": "outgoing"}


@dataclass(frozen=True)
class Entry:
    workspace_id: str
    identifier: str
    expression: str
    timezone: str
    commands: tuple[tuple[str, str], ...]
    priority: int
    saved_at: float

    def last_slot(self, t: float) -> float:
        """The last time of the expression at or before ``t``."""
        it = croniter(self.expression, dt.datetime.fromtimestamp(t + 1, ZoneInfo(self.timezone)))
        slot = float(it.get_prev(float))
        while slot > t:
            slot = float(it.get_prev(float))
        return slot

    def next_slot(self, t: float) -> float:
        it = croniter(self.expression, dt.datetime.fromtimestamp(t, ZoneInfo(self.timezone)))
        return float(it.get_next(float))


def resolved_timing(params: dict[str, Any], variables: dict[str, refs.Variable],
                    ) -> tuple[str, str] | str:
    """The entry's expression and time zone, ``${NAME}`` references resolved; or why they
    cannot be used (a missing or an encrypted variable, not a cron expression, not a time
    zone)."""
    timing = {"expression": params.get("expression"),
              "timezone": params.get("timezone") or "UTC"}
    used = refs.names(timing)
    if used:
        secret = sorted(n for n in used if n in variables and variables[n].encrypted)
        resolved, missing = refs.resolve(timing, {n: v for n, v in variables.items()
                                                  if not v.encrypted})
        if secret or missing:
            return "; ".join([f"${{{n}}} is encrypted (a schedule takes plain variables "
                              "only)" for n in secret]
                             + [f"{e.path} {e.reason}" for e in missing])
        timing = resolved
    expression, zone = timing["expression"], timing["timezone"]
    if not isinstance(expression, str) or not croniter.is_valid(expression):
        return f"its expression {expression!r} is not a cron expression"
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return f"{zone!r} is not a time zone"
    return expression, str(zone)


def _timing(c: Configuration, params: dict[str, Any],
            variables: dict[str, refs.Variable]) -> tuple[str, str] | None:
    """:func:`resolved_timing`, ``None`` (logged when it came from variables) when it
    cannot be used."""
    timing = resolved_timing(params, variables)
    if isinstance(timing, str):
        if refs.names([params.get("expression"), params.get("timezone")]):
            log.warning("scheduler entry %r is not scheduled: %s", c.identifier, timing)
        return None
    return timing


def _entry(c: Configuration, variables: dict[str, refs.Variable] | None = None,
           ) -> Entry | None:
    params = dict(dict(c.object).get("parameters") or {})
    timing = _timing(c, params, variables or {})
    if timing is None:
        return None
    expression, zone = timing
    commands = tuple((str(cmd.get("command")), str(dict(cmd.get("arguments") or {}).get(
        _ENDS.get(str(cmd.get("command")), ""), "")))
        for cmd in params.get("commands") or () if isinstance(cmd, dict))
    return Entry(c.workspace_id, c.identifier, expression, zone, commands,
                 int(params.get("priority") or 0), float(c.updated_at or c.created_at or 0))


def _variables(s: Session, workspace_ids: set[str]) -> dict[str, dict[str, refs.Variable]]:
    """The variables of each space (an encrypted one without its value: it is refused)."""
    out: dict[str, dict[str, refs.Variable]] = {w: {} for w in workspace_ids}
    if not workspace_ids:
        return out
    for v in s.scalars(select(EnvironmentVariable).where(
            EnvironmentVariable.workspace_id.in_(sorted(workspace_ids)))):
        out[v.workspace_id][v.name] = refs.Variable(v.name, "" if v.encrypted else v.value,
                                                    bool(v.encrypted), None)
    return out


def load(s: Session) -> list[Entry]:
    """The enabled scheduler entries of every space that can be scheduled."""
    rows = list(s.scalars(select(Configuration).where(
        Configuration.type == TYPE, Configuration.disabled.is_(False))
        .order_by(Configuration.workspace_id, Configuration.identifier)))
    variables = _variables(s, {c.workspace_id for c in rows if refs.names(
        dict(dict(c.object).get("parameters") or {}).get("expression"))
        or refs.names(dict(dict(c.object).get("parameters") or {}).get("timezone"))})
    return [e for e in (_entry(c, variables.get(c.workspace_id)) for c in rows)
            if e is not None]


@dataclass(frozen=True)
class Target:
    """What one command of an entry runs: its target configuration, whether it exists,
    and the enabled routes the command would run."""

    command: str
    target: str
    exists: bool
    routes: tuple[str, ...]


@dataclass(frozen=True)
class Preview:
    """An entry as the scheduler would take it now (for a test, nothing is written)."""

    expression: str | None
    timezone: str | None
    #: the next run times, in the entry's time zone
    times: tuple[dt.datetime, ...]
    targets: tuple[Target, ...]
    #: why the entry is not scheduled, if it is not
    problem: str | None = None


_TARGET_TYPES = {"route": ROUTE, "incoming": "incoming-configuration",
                 "outgoing": "outgoing-configuration"}


def preview(s: Session, workspace_id: str, parameters: dict[str, Any], t: float,
            count: int = 5) -> Preview:
    """The next ``count`` times of an entry's ``parameters`` after ``t`` in its time zone
    (variables resolved) and, for each command, whether its target exists and which
    enabled routes it would run."""
    timing = resolved_timing(parameters, _variables(s, {workspace_id})[workspace_id])
    expression: str | None = None
    zone: str | None = None
    times: tuple[dt.datetime, ...] = ()
    problem: str | None = None
    if isinstance(timing, str):
        problem = timing
    else:
        expression, zone = timing
        it = croniter(expression, dt.datetime.fromtimestamp(t, ZoneInfo(zone)))
        times = tuple(it.get_next(dt.datetime) for _ in range(count))
    targets = []
    for cmd in parameters.get("commands") or ():
        if not isinstance(cmd, dict):
            continue
        command = str(cmd.get("command"))
        end = _ENDS.get(command, "")
        target = str(dict(cmd.get("arguments") or {}).get(end, ""))
        exists = end in _TARGET_TYPES and s.scalar(select(Configuration.id).where(
            Configuration.workspace_id == workspace_id,
            Configuration.type == _TARGET_TYPES[end],
            Configuration.identifier == target)) is not None
        one = Entry(workspace_id, "", "", "UTC", ((command, target),), 0, 0.0)
        targets.append(Target(command, target, bool(exists),
                              tuple(r.identifier for r in _routes(s, one))))
    return Preview(expression, zone, times, tuple(targets), problem)


def encrypted_references(s: Session, workspace_id: str, parameters: dict[str, Any],
                         ) -> list[FieldError]:
    """A violation for each ``${NAME}`` of an entry's expression or time zone that names an
    encrypted variable of the space (a schedule is no secret: plain variables only)."""
    out = []
    for key in ("expression", "timezone"):
        used = refs.names(parameters.get(key))
        if not used:
            continue
        secret = sorted(s.scalars(select(EnvironmentVariable.name).where(
            EnvironmentVariable.workspace_id == workspace_id,
            EnvironmentVariable.name.in_(sorted(used)), EnvironmentVariable.encrypted)))
        out += [FieldError(f"object.parameters.{key}", f"refers to the encrypted variable "
                           f"${{{n}}}; a schedule takes plain variables only", parameters[key])
                for n in secret]
    return out


def load_space(s: Session, workspace_id: str) -> list[Entry]:
    """The enabled scheduler entries of one space that can be scheduled."""
    rows = list(s.scalars(select(Configuration).where(
        Configuration.workspace_id == workspace_id, Configuration.type == TYPE,
        Configuration.disabled.is_(False)).order_by(Configuration.identifier)))
    return [e for e in (_entry(c) for c in rows) if e is not None]


def entries(db: Database) -> list[Entry]:
    with db.session() as s:
        return load(s)


def next_due(db: Database, t: float) -> float | None:
    """The earliest next slot of the enabled entries after ``t``."""
    slots = [e.next_slot(t) for e in entries(db)]
    return min(slots) if slots else None


def _routes(s: Session, e: Entry) -> list[Configuration]:
    """The enabled routes the entry's commands run, in order, each once."""
    rows = list(s.scalars(select(Configuration).where(
        Configuration.workspace_id == e.workspace_id, Configuration.type == ROUTE,
        Configuration.disabled.is_(False)).order_by(Configuration.identifier)))
    found: dict[str, Configuration] = {}
    for command, target in e.commands:
        end = _ENDS.get(command)
        for r in rows:
            params = dict(dict(r.object).get("parameters") or {})
            if (r.identifier == target) if end == "route" else (params.get(end) == target):
                found.setdefault(r.identifier, r)
    return list(found.values())


def fire(settings: Settings, db: Database, t: float,
         found: list[Entry] | None = None) -> list[int]:
    """Fire the entries due at ``t`` (of ``found``, else of the database); the ids of the
    jobs enqueued."""
    fired: list[int] = []
    for e in entries(db) if found is None else found:
        slot = e.last_slot(t)
        if slot <= e.saved_at or t - slot > GRACE:
            continue
        fired.extend(_fire_one(settings, db, e, slot))
    return fired


def _fire_one(settings: Settings, db: Database, e: Entry, slot: float) -> list[int]:
    with db.claim() as s:
        if s.scalar(select(ScheduleSlot.id).where(
                ScheduleSlot.workspace_id == e.workspace_id, ScheduleSlot.entry == e.identifier,
                ScheduleSlot.slot == slot)) is not None:
            return []
        row = ScheduleSlot(workspace_id=e.workspace_id, entry=e.identifier, slot=slot,
                           jobs=[])
        try:
            with s.begin_nested():
                s.add(row)
                s.flush()
        except IntegrityError:  # another scheduler fired this slot meanwhile
            return []
        jobs: list[Any] = []
        for r in _routes(s, e):
            job = ledger.enqueue(s, workspace_id=e.workspace_id, config_type="route",
                                 scope=r.id, input={"workspace_id": e.workspace_id,
                                                    "route": r.identifier, "mode": "run",
                                                    "scheduler": e.identifier},
                                 max_attempts=settings.job_attempts, priority=e.priority)
            jobs.append(job.id)
        row.jobs = jobs
    if not jobs:
        log.warning("scheduler entry %r fired but runs no enabled route", e.identifier)
    return [int(j) for j in jobs]
