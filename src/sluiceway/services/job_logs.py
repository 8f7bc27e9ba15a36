"""The log search of the Alumio face (#73-75) over Sluiceway's own structured job logs: the
lines every attempt of a job of the space wrote (level, time, job, attempt, kind).

A search is ``{prototype: "query", parameters: {query, from, to, size}}``: ``query`` is
words that must all appear in a line (any case) and ``field:value`` terms (``level:error``,
``job:12``, ``attempt:2``, ``kind:sync``); ``from`` and ``to`` bound the time (ISO-8601 or
epoch seconds); ``size`` is how many lines come back (newest first; 1 to 1000, default 50).
There is no Elasticsearch: an index name is accepted and ignored.

Viewers of a space read its job logs; nothing of another space is found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from sluiceway.core.errors import FieldError, InvalidInput, NotFound
from sluiceway.services import criteria, policy
from sluiceway.services.caller import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.models import Attempt, AttemptLog, Job, Workspace

PROTOTYPE = "query"
DEFAULT_SIZE, MAX_SIZE = 50, 1000
_TERM = re.compile(r"^([A-Za-z]+):(.+)$")
_PARAMETERS = ("query", "from", "to", "size")


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


@dataclass(frozen=True)
class LogEntry:
    id: int
    at: float
    level: str
    message: str
    job_id: int
    attempt: int
    kind: str
    space: str


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
        if name in ("job", "attempt"):
            found[name] = _number(value, "parameters.query")
        elif name in ("level", "kind"):
            found[name] = value.upper() if name == "level" else value
        else:
            raise _bad("parameters.query", f"unknown term {name!r}; terms are level, job, "
                       "attempt and kind", word)
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
                     found.get("kind"), times.get("from"), times.get("to"), size)


def _query(workspace_id: str, q: LogSearch) -> Select[AttemptLog, int, int, str, str]:
    where: list[ColumnElement[bool]] = [Job.workspace_id == workspace_id]
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


def search(p: Platform, caller: Caller, workspace_id: str,
           q: LogSearch) -> tuple[list[LogEntry], int]:
    """The newest ``q.size`` matching lines and how many match in all."""
    policy.require(caller, policy.READ, workspace_id)
    with p.db.session() as s:
        base = _query(workspace_id, q)
        total = int(s.scalar(select(func.count()).select_from(base.subquery())) or 0)
        rows = s.execute(base.order_by(AttemptLog.at.desc(), AttemptLog.id.desc())
                         .limit(q.size)).all()
    return [LogEntry(log.id, log.at, log.level, log.line, job, number, kind, slug)
            for log, number, job, kind, slug in rows], total


def count(p: Platform, caller: Caller, workspace_id: str, q: LogSearch) -> int:
    policy.require(caller, policy.READ, workspace_id)
    with p.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(
            _query(workspace_id, q).subquery())) or 0)


def entry(p: Platform, caller: Caller, workspace_id: str, entry_id: str) -> LogEntry:
    """One line of the space's job logs by its id."""
    policy.require(caller, policy.READ, workspace_id)
    if not entry_id.isascii() or not entry_id.isdigit() or len(entry_id) > 18:
        raise NotFound(f"log entry {entry_id} not found", entry_id[:100])
    with p.db.session() as s:
        row = s.execute(_query(workspace_id, LogSearch()).where(
            AttemptLog.id == int(entry_id))).first()
    if row is None:
        raise NotFound(f"log entry {entry_id} not found", entry_id)
    log, number, job, kind, slug = row
    return LogEntry(log.id, log.at, log.level, log.line, job, number, kind, slug)


def apply_templates(caller: Caller) -> list[dict[str, Any]]:
    """#76: there is no Elasticsearch index template to apply (logs live in the metadata
    database): no template, for a system administrator, whether or not a dry run."""
    policy.require(caller, policy.SYSTEM)
    return []
