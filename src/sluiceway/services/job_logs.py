"""The log search of the Alumio face (#73-75) over Sluiceway's own structured logs: the
lines every attempt of a job of the space wrote (level, time, job, attempt, kind), and the
log lines of the space's tasks (kind ``task``, with their task and route; the newest
:data:`TASK_SCAN` tasks that have lines are looked at).

A search is ``{prototype: "query", parameters: {query, from, to, size}}``: ``query`` is
words that must all appear in a line (any case) and ``field:value`` terms (``level:error``,
``job:12``, ``attempt:2``, ``kind:sync``, ``kind:task``, ``task:7``, ``route:orders``);
``from`` and ``to`` bound the time (ISO-8601 or
epoch seconds); ``size`` is how many lines come back (newest first; 1 to 1000, default 50).
There is no Elasticsearch: an index name is accepted and ignored.

Viewers of a space read its job logs; nothing of another space is found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, cast, func, select
from sqlalchemy.orm import Session

from sluiceway.core.errors import FieldError, InvalidInput, NotFound
from sluiceway.services import criteria, policy
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Attempt, AttemptLog, Configuration, Job, Task, Workspace

PROTOTYPE = "query"
DEFAULT_SIZE, MAX_SIZE = 50, 1000
_TERM = re.compile(r"^([A-Za-z]+):(.+)$")
_PARAMETERS = ("query", "from", "to", "size")
#: the newest tasks with log lines a search looks at
TASK_SCAN = 10_000
#: the kind of a task's log line
TASK_KIND = "task"


@dataclass(frozen=True)
class LogSearch:
    words: tuple[str, ...] = ()
    level: str | None = None
    job: int | None = None
    attempt: int | None = None
    kind: str | None = None
    start: float | None = None
    end: float | None = None
    size: int = DEFAULT_SIZE
    task: int | None = None
    route: str | None = None


@dataclass(frozen=True)
class LogEntry:
    #: a job log line's number, or ``t<task>.<line>`` for a task's line
    id: str
    at: float
    level: str
    message: str
    job_id: int
    attempt: int
    kind: str
    space: str
    task: int | None = None
    route: str | None = None


def _bad(path: str, reason: str, value: Any = None) -> InvalidInput:
    return InvalidInput("invalid log search", [FieldError(path, reason, value)])


def _number(value: str, path: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise _bad(path, "must be a whole number of at most 18 digits", value[:100])
    return int(value)


def parse(prototype: Any, parameters: Any) -> LogSearch:
    """A search from the body's ``prototype`` and ``parameters``; 400 naming what is wrong."""
    if prototype not in (None, PROTOTYPE):
        raise _bad("prototype", f"must be {PROTOTYPE!r}", str(prototype)[:100])
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, Mapping):
        raise _bad("parameters", "must be an object {query, from, to, size}")
    unknown = sorted(set(parameters) - set(_PARAMETERS))
    if unknown:
        raise _bad(f"parameters.{unknown[0]}", f"is not known; use {', '.join(_PARAMETERS)}")
    text = parameters.get("query") or ""
    if not isinstance(text, str) or len(text) > 2000:
        raise _bad("parameters.query", "must be text of at most 2000 characters")
    found: dict[str, Any] = {}
    words = []
    for word in text.split():
        term = _TERM.match(word)
        if term is None:
            words.append(word)
            continue
        name, value = term.group(1).lower(), term.group(2)
        if name in ("job", "attempt", "task"):
            found[name] = _number(value, "parameters.query")
        elif name in ("level", "kind", "route"):
            found[name] = value.upper() if name == "level" else value
        else:
            raise _bad("parameters.query", f"unknown term {name!r}; terms are level, job, "
                       "attempt, kind, task and route", word)
    times = {}
    for key in ("from", "to"):
        if parameters.get(key) is not None:
            try:
                times[key] = criteria.as_time(parameters[key])
            except (TypeError, ValueError):
                raise _bad(f"parameters.{key}", "must be an ISO-8601 time or epoch seconds",
                           str(parameters[key])[:100]) from None
    size = parameters.get("size", DEFAULT_SIZE)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_SIZE:
        raise _bad("parameters.size", f"must be a whole number from 1 to {MAX_SIZE}", size)
    return LogSearch(tuple(words), found.get("level"), found.get("job"), found.get("attempt"),
                     found.get("kind"), times.get("from"), times.get("to"), size,
                     found.get("task"), found.get("route"))


def _query(workspace_id: str, q: LogSearch) -> Select[AttemptLog, int, int, str, str]:
    where: list[ColumnElement[bool]] = [Job.workspace_id == workspace_id]
    if q.task is not None or q.kind == TASK_KIND:
        where.append(Job.id.is_(None))  # task lines only
    if q.route is not None:  # the runs of that route (their scope is its configuration id)
        where += [Job.config_type == "route", Job.scope.in_(
            select(Configuration.id).where(Configuration.workspace_id == workspace_id,
                                           Configuration.type == "route-configuration",
                                           Configuration.identifier == q.route))]
    where += [func.lower(AttemptLog.line).contains(w.lower(), autoescape=True)
              for w in q.words]
    if q.level is not None:
        where.append(func.upper(AttemptLog.level) == q.level)
    if q.job is not None:
        where.append(Job.id == q.job)
    if q.attempt is not None:
        where.append(Attempt.number == q.attempt)
    if q.kind is not None:
        where.append(Job.config_type == q.kind)
    if q.start is not None:
        where.append(AttemptLog.at >= q.start)
    if q.end is not None:
        where.append(AttemptLog.at <= q.end)
    return (select(AttemptLog, Attempt.number, Job.id, Job.config_type, Workspace.slug)
            .join(Attempt, Attempt.id == AttemptLog.attempt_id)
            .join(Job, Job.id == Attempt.job_id)
            .join(Workspace, Workspace.id == Job.workspace_id)
            .where(*where))


def _task_lines(s: Session, workspace_id: str, q: LogSearch, slug: str,
                task: int | None = None) -> list[LogEntry]:
    """The task log lines that match, newest first (of the newest :data:`TASK_SCAN` tasks
    that have lines; ``task``: of that one)."""
    if q.attempt is not None or q.kind not in (None, TASK_KIND):
        return []
    text = cast(Task.log, Text)
    where: list[ColumnElement[bool]] = [Task.workspace_id == workspace_id,
                                        Task.log.is_not(None), text != "[]"]
    for wanted, column in ((task if task is not None else q.task, Task.id),
                           (q.job, Task.job_id), (q.route, Task.route)):
        if wanted is not None:
            where.append(column == wanted)
    if q.start is not None:  # a task's lines are all written by its last change
        where.append(Task.updated_at >= q.start)
    where += [func.lower(text).contains(w.lower(), autoescape=True) for w in q.words
              if w.isascii()]
    rows = s.execute(select(Task.id, Task.route, Task.job_id, Task.log).where(*where)
                     .order_by(Task.updated_at.desc(), Task.id.desc()).limit(TASK_SCAN))
    words = [w.lower() for w in q.words]
    found = []
    for task_id, route, job_id, lines in rows:
        for i, line in enumerate(lines or ()):
            if not isinstance(line, dict):
                continue
            level = str(line.get("level") or "info").upper()
            message, at = str(line.get("message") or ""), float(line.get("at") or 0)
            if ((q.level is not None and level != q.level)
                    or (q.start is not None and at < q.start)
                    or (q.end is not None and at > q.end)
                    or any(w not in message.lower() for w in words)):
                continue
            found.append(LogEntry(f"t{task_id}.{i}", at, level, message, int(job_id or 0), 0,
                                  TASK_KIND, slug, int(task_id), route))
    found.sort(key=lambda e: e.at, reverse=True)
    return found


def _slug(s: Session, workspace_id: str) -> str:
    return str(s.scalar(select(Workspace.slug).where(Workspace.id == workspace_id)) or "")


def search(p: Platform, caller: Caller, workspace_id: str,
           q: LogSearch) -> tuple[list[LogEntry], int]:
    """The newest ``q.size`` matching lines (job and task lines) and how many match in
    all."""
    policy.require(caller, policy.READ, workspace_id)
    with p.db.session() as s:
        base = _query(workspace_id, q)
        total = int(s.scalar(select(func.count()).select_from(base.subquery())) or 0)
        rows = s.execute(base.order_by(AttemptLog.at.desc(), AttemptLog.id.desc())
                         .limit(q.size)).all()
        tasks = _task_lines(s, workspace_id, q, _slug(s, workspace_id))
    lines = [LogEntry(str(log.id), log.at, log.level, log.line, job, number, kind, slug)
             for log, number, job, kind, slug in rows] + tasks
    lines.sort(key=lambda e: e.at, reverse=True)
    return lines[:q.size], total + len(tasks)


def count(p: Platform, caller: Caller, workspace_id: str, q: LogSearch) -> int:
    policy.require(caller, policy.READ, workspace_id)
    with p.db.session() as s:
        jobs = int(s.scalar(select(func.count()).select_from(
            _query(workspace_id, q).subquery())) or 0)
        return jobs + len(_task_lines(s, workspace_id, q, ""))


_TASK_LINE = re.compile(r"^t([0-9]{1,18})\.([0-9]{1,6})$")


def entry(p: Platform, caller: Caller, workspace_id: str, entry_id: str) -> LogEntry:
    """One line of the space's logs by its id (a task's line: ``t<task>.<line>``)."""
    policy.require(caller, policy.READ, workspace_id)
    task_line = _TASK_LINE.match(entry_id)
    if task_line is not None:
        with p.db.session() as s:
            lines = _task_lines(s, workspace_id, LogSearch(), _slug(s, workspace_id),
                                int(task_line.group(1)))
        for line in lines:
            if line.id == entry_id:
                return line
        raise NotFound(f"log entry {entry_id} not found", entry_id)
    if not entry_id.isascii() or not entry_id.isdigit() or len(entry_id) > 18:
        raise NotFound(f"log entry {entry_id} not found", entry_id[:100])
    with p.db.session() as s:
        row = s.execute(_query(workspace_id, LogSearch()).where(
            AttemptLog.id == int(entry_id))).first()
    if row is None:
        raise NotFound(f"log entry {entry_id} not found", entry_id)
    log, number, job, kind, slug = row
    return LogEntry(str(log.id), log.at, log.level, log.line, job, number, kind, slug)


def apply_templates(caller: Caller) -> list[dict[str, Any]]:
    """#76: there is no Elasticsearch index template to apply (logs live in the metadata
    database): no template, for a system administrator, whether or not a dry run."""
    policy.require(caller, policy.SYSTEM)
    return []
