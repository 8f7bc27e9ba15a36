"""Dataset exports (a stream of a source or destination into a file) and the job queue view
of seed 004. Exports are artifacts made by ``export`` jobs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from sluiceway.artifacts import hash_password
from sluiceway.artifacts.formats import FORMATS, Format, formats_for
from sluiceway.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sluiceway.jobs import ledger
from sluiceway.services import artifacts, audit, listing, policy, scope
from sluiceway.services.auth import Caller
from sluiceway.services.jobs import JobRecord, record
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import Actor, Artifact, Attempt, Job

__all__ = ["FORMATS", "Format", "formats_for"]

# --- exports ------------------------------------------------------------------------------------

#: the fields an export listing filters and sorts by
EXPORT_FIELDS: dict[str, listing.Field] = {
    "id": listing.Field(Artifact.id, listing.as_text, frozenset({"eq", "in"})),
    "job_id": listing.Field(Artifact.job_id, listing.as_int, frozenset({"eq", "in"})),
    "workspace_id": listing.Field(Artifact.workspace_id, listing.as_text,
                                  frozenset({"eq", "in"})),
    "created_by": listing.Field(Artifact.created_by, listing.as_text, frozenset({"eq", "in"})),
    "filename": listing.Field(Artifact.filename, listing.as_text, frozenset({"eq", "in"})),
    "mime_type": listing.Field(Artifact.mime_type, listing.as_text, frozenset({"eq", "in"})),
    "size": listing.Field(Artifact.size, listing.as_int, frozenset({"eq", "gte", "lte"})),
    "created_at": listing.Field(Artifact.created_at, listing.as_time,
                                frozenset({"eq", "gte", "lte"})),
}


@dataclass(frozen=True)
class ExportRequest:
    workspace_id: str
    source_id: str | None
    destination_id: str | None
    stream: str
    columns: list[str] | None
    filter: Any
    format: str
    filename: str | None = None
    #: an AES-encrypted ZIP of the file when given; only its scrypt hash is kept
    password: str | None = None
    #: the job's place in the queue: higher runs first; not before ``scheduled_at``; a
    #: ``unicity`` key held by an active export returns that export instead of a new one
    priority: int = 0
    scheduled_at: str | None = None
    unicity: str | None = None


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _filename(stream: str, fmt: Format, given: str | None) -> str:
    base = given or stream
    if "/" in base or "\\" in base or base.startswith("."):
        raise InvalidInput("invalid export", [FieldError(
            "filename", "must be a plain file name (no folders, no leading dot)", base)])
    base = _SAFE_NAME.sub("_", base).strip("_") or "export"
    return base if base.endswith(f".{fmt.extension}") else f"{base}.{fmt.extension}"


def create_export(p: Platform, caller: Caller, req: ExportRequest
                  ) -> tuple[artifacts.ArtifactView, JobRecord]:
    errors = []
    if (req.source_id is None) == (req.destination_id is None):
        errors.append(FieldError("source_id", "give exactly one of source_id or destination_id"))
    fmt = FORMATS.get(req.format)
    if fmt is None:
        errors.append(FieldError("format", f"unknown format {req.format!r}; formats are: "
                                 + ", ".join(sorted(FORMATS)), req.format))
    if not req.stream:
        errors.append(FieldError("stream", "is required"))
    if req.columns is not None and (not isinstance(req.columns, list) or not all(
            isinstance(c, str) and c for c in req.columns)):
        errors.append(FieldError("columns", "must be a list of column names"))
    if req.password is not None and (not isinstance(req.password, str)
                                     or len(req.password) < 8):
        errors.append(FieldError("password", "must be at least 8 characters"))
    if not -1000 <= req.priority <= 1000:
        errors.append(FieldError("priority", "must be between -1000 and 1000", req.priority))
    when = None
    if req.scheduled_at is not None:
        try:
            when = listing.as_time(req.scheduled_at)
        except ValueError:
            errors.append(FieldError("scheduled_at", "must be an ISO-8601 time or epoch "
                                     "seconds between the years 1 and 9999",
                                     req.scheduled_at))
    if req.unicity is not None and not 0 < len(req.unicity) <= 200:
        errors.append(FieldError("unicity", "must be 1 to 200 characters", req.unicity))
    if errors:
        raise InvalidInput("invalid export", errors)
    assert fmt is not None
    kind, actor_id = (("source", req.source_id) if req.source_id
                      else ("destination", req.destination_id))
    assert actor_id is not None
    filename = _filename(req.stream, fmt, req.filename)
    inner, mime = filename, fmt.mime_type
    if req.password:
        filename, mime = f"{filename}.zip", "application/zip"
    with p.db.claim() as s:
        ws = scope.workspace(s, caller, req.workspace_id)
        actor: Actor = scope.actor(s, caller, kind, actor_id)
        if actor.workspace_id != ws.id:
            raise NotFound(f"{kind} {actor_id} not found in project {ws.id}", actor_id)
        policy.require(caller, policy.CHANGE, ws.id)
        art = Artifact(workspace_id=ws.id, kind="export", format=fmt.name,
                       mime_type=mime, filename=filename, created_by=caller.user_id,
                       password_hash=hash_password(req.password) if req.password else None,
                       phase="pending", expires_at=now() + p.settings.artifact_ttl_seconds,
                       meta={"source_id": req.source_id, "destination_id": req.destination_id,
                             "stream": req.stream, "columns": req.columns,
                             "filter": req.filter})
        s.add(art)
        s.flush()
        job, made = ledger.enqueue_new(
            s, workspace_id=ws.id, config_type="export", scope=art.id,
            max_attempts=p.settings.job_attempts, priority=req.priority, scheduled_at=when,
            unicity=f"export:{ws.id}:{req.unicity}" if req.unicity else None, input={
                                 "artifact_id": art.id, "actor_id": actor_id,
                                 "stream": req.stream, "columns": req.columns,
                                 "filter": req.filter, "format": fmt.name,
                                 "inner_name": inner, "protected": bool(req.password),
                                 "password": p.cipher.encrypt(req.password)
                                 if req.password else None})
        if not made:  # an active export holds the unicity key: that one is the answer
            s.delete(art)
            return artifacts.view(s.get_one(Artifact, job.scope)), record(job)
        art.job_id = job.id
        audit.record(s, caller, "export.create", "export",
                     f"export of {kind} {actor.name!r} stream {req.stream!r} requested",
                     request={"id": art.id, f"{kind}Id": actor_id, "stream": req.stream,
                              "format": fmt.name, "columns": req.columns,
                              "filter": req.filter, "password": req.password},
                     workspace_id=ws.id)
        s.flush()
        return artifacts.view(art), record(job)


def list_exports(p: Platform, caller: Caller, query: listing.Query
                 ) -> tuple[list[artifacts.ArtifactView], int | None]:
    return _list_artifacts(p, caller, "export", query)


def list_imports(p: Platform, caller: Caller, query: listing.Query
                 ) -> tuple[list[artifacts.ArtifactView], int | None]:
    """The uploaded imports the caller can see, newest first (the same fields as exports)."""
    return _list_artifacts(p, caller, "import", query)


def _list_artifacts(p: Platform, caller: Caller, kind: str, query: listing.Query
                    ) -> tuple[list[artifacts.ArtifactView], int | None]:
    with p.db.session() as s:
        base = select(Artifact).where(Artifact.kind == kind,
                                      Artifact.workspace_id.in_(caller.workspace_ids))
        rows, total = listing.run(s, base, EXPORT_FIELDS, query, Artifact.created_at.desc())
        return [artifacts.view(a) for a in rows], total


def delete_file(p: Platform, caller: Caller, artifact_id: str, kind: str) -> None:
    """Delete an export's or an import's file and row; refused while its job has not ended
    (cancel the job first)."""
    with p.db.claim() as s:
        a = s.get(Artifact, artifact_id)
        if a is None or a.kind != kind or not caller.can_see(a.workspace_id):
            raise NotFound(f"{kind} {artifact_id} not found", artifact_id)
        policy.require(caller, policy.CHANGE, a.workspace_id)
        job = s.get(Job, a.job_id) if a.job_id is not None else None
        # a completed export is final (its job only logs and returns after saying so), so it
        # may go while that job is still ending; an import's file is read by its job
        final = kind == "export" and a.phase == "completed"
        if not final and ((a.phase == "writing" and a.job_id is None) or (
                job is not None and job.status in ("pending", "incomplete", "running"))):
            raise Conflict(f"{kind} {artifact_id} is still being made; wait for its job to "
                           "end or cancel it")
        artifacts.store(p).delete(a.id)
        s.delete(a)
        audit.record(s, caller, f"{kind}.delete", kind, f"{kind} {a.id} ({a.filename}) deleted",
                     request={"id": a.id}, workspace_id=a.workspace_id)


# --- jobs ---------------------------------------------------------------------------------------

def _retry_count() -> Any:
    n = (select(func.count(Attempt.id)).where(Attempt.job_id == Job.id)
         .correlate(Job).scalar_subquery())
    return case((n > 1, n - 1), else_=0)


#: the fields a job listing filters and sorts by
JOB_FIELDS: dict[str, listing.Field] = {
    "id": listing.Field(Job.id, listing.as_int, frozenset({"eq", "in"})),
    "config_type": listing.Field(Job.config_type, listing.as_text, frozenset({"eq", "in"})),
    "priority": listing.Field(Job.priority, listing.as_int, frozenset({"eq", "gte", "lte"})),
    # the ledger's statuses
    "status": listing.Field(Job.status, listing.as_text, frozenset({"eq", "in"})),
    "progress": listing.Field(Job.progress, listing.as_float, frozenset({"eq"})),
    "retry_count": listing.Field(_retry_count(), listing.as_int,
                                 frozenset({"eq", "gte", "lte"})),
    "error": listing.Field(Job.error, listing.as_text, frozenset({"eq"})),
    "unicity": listing.Field(Job.unicity, listing.as_text, frozenset({"eq"})),
    "scheduled_at": listing.Field(Job.scheduled_at, listing.as_time,
                                  frozenset({"eq", "gte", "lte"})),
    "created_at": listing.Field(Job.created_at, listing.as_time,
                                frozenset({"eq", "gte", "lte"})),
    "updated_at": listing.Field(Job.updated_at, listing.as_time,
                                frozenset({"eq", "gte", "lte"})),
}


@dataclass(frozen=True)
class JobRow:
    job: JobRecord
    retry_count: int


def _rows(s: Session, jobs: list[Job]) -> list[JobRow]:
    if not jobs:
        return []
    counts = dict(s.execute(select(Attempt.job_id, func.count(Attempt.id))
                            .where(Attempt.job_id.in_([j.id for j in jobs]))
                            .group_by(Attempt.job_id)).all())
    return [JobRow(record(j), max(int(counts.get(j.id, 0)) - 1, 0)) for j in jobs]


def list_jobs(p: Platform, caller: Caller, query: listing.Query
              ) -> tuple[list[JobRow], int | None]:
    with p.db.session() as s:
        base: Select[Any] = select(Job).where(Job.workspace_id.in_(caller.workspace_ids))
        jobs, total = listing.run(s, base, JOB_FIELDS, query, Job.id.desc())
        return _rows(s, jobs), total


def get_job(p: Platform, caller: Caller, job_id: int) -> JobRow:
    with p.db.session() as s:
        return _rows(s, [scope.job(s, caller, job_id)])[0]


def delete_job(p: Platform, caller: Caller, job_id: int, wait_seconds: float = 15.0) -> None:
    """Cancel the job if it is running (waiting for its attempt to stop), then delete it."""
    import time

    with p.db.claim() as s:
        job = scope.job(s, caller, job_id)
        policy.require(caller, policy.CHANGE, job.workspace_id)
        ledger.request_cancel(s, job)
        audit.record(s, caller, "job.delete", "job", f"job {job.id} deleted",
                     request={"id": job.id}, workspace_id=job.workspace_id)
    deadline = time.monotonic() + wait_seconds
    while True:
        with p.db.claim() as s:
            job = scope.job(s, caller, job_id)
            if job.status not in ("running",):
                s.delete(job)
                return
        if time.monotonic() > deadline:
            raise Conflict(f"job {job_id} is still stopping; try again in a moment")
        time.sleep(0.2)


# --- imports ------------------------------------------------------------------------------------

IMPORT_FORMATS = {"csv": "text/csv", "jsonl": "application/x-ndjson",
                  "parquet": "application/vnd.apache.parquet"}
_TABLE = re.compile(r"^[^\x00/\\]{1,120}$")


@dataclass(frozen=True)
class ImportRequest:
    workspace_id: str
    destination_id: str
    table: str
    mode: str
    format: str | None
    filename: str | None
    #: CSV rows that do not parse: skipped and reported (skip), or the import fails (fail)
    bad_rows: str = "skip"
    max_bad_rows: int = 1000


class Upload:
    """An import's file as it arrives: streamed into the artifact store, then queued."""

    def __init__(self, p: Platform, caller: Caller, req: ImportRequest) -> None:
        fmt = req.format or (req.filename or "").rsplit(".", 1)[-1].lower()
        errors = []
        if fmt not in IMPORT_FORMATS:
            errors.append(FieldError("format", f"{fmt or 'nothing'!r} cannot be imported; "
                                     "formats are: " + ", ".join(IMPORT_FORMATS), fmt))
        if req.mode not in ("append", "replace"):
            errors.append(FieldError("mode", "must be append or replace", req.mode))
        if req.bad_rows not in ("skip", "fail"):
            errors.append(FieldError("bad_rows", "must be skip or fail", req.bad_rows))
        if not 0 <= req.max_bad_rows <= 1_000_000:
            errors.append(FieldError("max_bad_rows", "must be between 0 and 1000000",
                                     req.max_bad_rows))
        if req.filename is not None and not 0 < len(req.filename) <= 200:
            errors.append(FieldError("filename", "must be 1 to 200 characters", req.filename))
        if not _TABLE.match(req.table or ""):
            errors.append(FieldError("table", "must be a table name (1-120 characters, no "
                                     "slashes)", req.table))
        if errors:
            raise InvalidInput("invalid import", errors)
        self.p, self.caller, self.req, self.format = p, caller, req, fmt
        with p.db.claim() as s:
            ws = scope.workspace(s, caller, req.workspace_id)
            actor = scope.actor(s, caller, "destination", req.destination_id)
            if actor.workspace_id != ws.id:
                raise NotFound(f"destination {req.destination_id} not found in project "
                               f"{ws.id}", req.destination_id)
            policy.require(caller, policy.CHANGE, ws.id)
            art = Artifact(workspace_id=ws.id, kind="import", format=fmt,
                           mime_type=IMPORT_FORMATS[fmt],
                           filename=_filename(req.table, FORMATS.get(fmt) or FORMATS["csv"],
                                              None) if not req.filename
                           else _SAFE_NAME.sub("_", req.filename.rsplit("/", 1)[-1]),
                           created_by=caller.user_id, phase="writing",
                           expires_at=now() + p.settings.artifact_ttl_seconds,
                           meta={"destination_id": req.destination_id, "table": req.table,
                                 "mode": req.mode})
            s.add(art)
            s.flush()
            self.artifact_id = art.id
            audit.record(s, caller, "import.create", "import",
                         f"import into table {req.table!r} started",
                         request={"id": art.id, "destinationId": req.destination_id,
                                  "table": req.table, "mode": req.mode, "format": fmt},
                         workspace_id=ws.id)
        self._ctx = artifacts.store(p).writer(self.artifact_id)
        self._writer = self._ctx.__enter__()

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    def abort(self) -> None:
        self._ctx.__exit__(RuntimeError, RuntimeError("upload aborted"), None)
        with self.p.db.claim() as s:
            a = s.get(Artifact, self.artifact_id)
            if a is not None:
                s.delete(a)

    def finish(self) -> tuple[artifacts.ArtifactView, JobRecord]:
        self._ctx.__exit__(None, None, None)
        with self.p.db.claim() as s:
            a = s.get_one(Artifact, self.artifact_id)
            a.size, a.sha256, a.phase = self._writer.size, self._writer.sha256, "completed"
            if not a.size:
                raise InvalidInput("invalid import", [FieldError("body", "the file is empty")])
            job = ledger.enqueue(s, workspace_id=a.workspace_id, config_type="import",
                                 scope=a.id, max_attempts=self.p.settings.job_attempts,
                                 input={"artifact_id": a.id, "format": self.format,
                                        "destination_id": self.req.destination_id,
                                        "table": self.req.table, "mode": self.req.mode,
                                        "bad_rows": self.req.bad_rows,
                                        "max_bad_rows": self.req.max_bad_rows,
                                        "filename": a.filename})
            a.job_id = job.id
            s.flush()
            return artifacts.view(a), record(job)


def get_import(p: Platform, caller: Caller, import_id: str) -> artifacts.ArtifactView:
    with p.db.session() as s:
        a = s.get(Artifact, import_id)
        if a is None or a.kind != "import" or not caller.can_see(a.workspace_id):
            raise NotFound(f"import {import_id} not found", import_id)
        return artifacts.view(a)
