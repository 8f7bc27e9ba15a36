"""Dumps (seed 000, CRAFTS): a multi-step read of one source ("API") into one JSON lines
artifact, run as a ``dump`` job, with values collected into a labelled ``output`` map.

A dump is an :class:`Artifact` of kind ``dump``; its ``meta`` holds the source (``api_id``),
the posted ``config``, the ``output`` and the ``started`` / ``ended`` times. Its id is a
UUID5 of the source id and the config's canonical JSON, so posting the same config again
finds the same dump: it is returned as it is, unless it failed (or expired), when it runs
again.

A config is ``{parameters, steps, output}``. Each step reads one stream of the source::

    {"id": "buyers", "type": "resources",
     "parameters": {"stream": "events", "columns": "user_id,event_type",
                    "where.event_type": "$param:kind",
                    "filter": [{"column": "id", "op": "lte", "value": 100}]}}

``stream``, ``columns`` (a comma list or a list), ``filter`` (the row filter language of
:mod:`sluiceway.transforms.filter`) and ``where.<column>`` (equality, or ``in`` for a list).
A value may be a literal, a global parameter (``"$param:<name>"`` or
``{"source": "parameters", "key": <name>}``) or the distinct values an earlier step read in a
column (``"$step:<stepId>.<column>"`` or ``{"source": "steps", "id": <stepId>, "key":
<column>}``). ``output`` items are ``{"source": "parameters", "key", "label"}`` or
``{"source": "steps", "id": <stepId>, "key": <column>, "label"}``: the dump's ``output`` maps
each label to the values collected. Names of streams and columns are checked by the job
against the discovered schema.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sluiceway.core.errors import Conflict, FieldError, InvalidInput, NotFound
from sluiceway.jobs import ledger
from sluiceway.jobs.kinds.dump import parse_ref
from sluiceway.services import artifacts, audit, policy, scope
from sluiceway.services.auth import Caller
from sluiceway.services.platform import Platform
from sluiceway.store.db import now
from sluiceway.store.models import Artifact, Job

#: the namespace of dump ids (uuid5 of source id + canonical config)
NAMESPACE = uuid.UUID("5d0f3b8e-1c2a-5e47-9b6d-7a1e2c3f4d5b")
STEP_TYPES = ("resource", "resources", "query")
OUTPUT_SOURCES = ("parameters", "steps")
MIME_TYPE = "application/x-ndjson"

#: the statuses of a dump that ran and did not succeed (it runs again when asked again)
FAILED = ("failed", "cancelled")

_STEP_KEYS = ("stream", "columns", "filter")
_WHERE = "where."


def _is_scalar(v: object) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def dump_id(api_id: str, config: dict[str, Any]) -> str:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(uuid.uuid5(NAMESPACE, f"{api_id}\n{canonical}"))


# --- config validation ----------------------------------------------------------------------

class _Checker:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, path: str, reason: str, value: object = None) -> None:
        self.errors.append(FieldError(path, reason, value if _is_scalar(value) else None))

    def ref(self, value: object, path: str, params: dict[str, Any], earlier: list[str],
            all_steps: list[str], allow_steps: bool = True) -> None:
        try:
            ref = parse_ref(value)
        except ValueError as exc:
            self.fail(path, str(exc), value)
            return
        if ref is None:
            return
        if ref.source == "parameters":
            if ref.name not in params:
                known = ", ".join(sorted(params)) or "none"
                self.fail(path, f"refers to parameter {ref.name!r}, which is not in "
                          f"body.parameters (parameters: {known})", value)
        elif not allow_steps:
            self.fail(path, "a step's values cannot be used here; use a literal or a "
                      "parameter", value)
        elif ref.name not in earlier:
            where = ("a later step" if ref.name in all_steps else "no step")
            self.fail(path, f"refers to step {ref.name!r}, which is {where}; a step can use "
                      f"the values of an earlier step only", value)

    def values_in(self, value: object, path: str, params: dict[str, Any], earlier: list[str],
                  all_steps: list[str], allow_steps: bool = True) -> None:
        """Check a parameter value: a literal, a list of literals or a reference."""
        if isinstance(value, list):
            for i, item in enumerate(value):
                if not _is_scalar(item) or item is None:
                    self.fail(f"{path}[{i}]", "expected a string, number or boolean", item)
                else:
                    self.ref(item, f"{path}[{i}]", params, earlier, all_steps, allow_steps)
            return
        if isinstance(value, dict) or (_is_scalar(value) and value is not None):
            self.ref(value, path, params, earlier, all_steps, allow_steps)
            return
        self.fail(path, "expected a string, number, boolean, list or reference", value)

    def filter_refs(self, spec: object, path: str, params: dict[str, Any], earlier: list[str],
                    all_steps: list[str], depth: int = 0) -> None:
        """References inside a filter (its structure is checked against the schema later)."""
        if depth > 10:
            return
        if isinstance(spec, list):
            for i, item in enumerate(spec):
                self.filter_refs(item, f"{path}[{i}]", params, earlier, all_steps, depth + 1)
        elif isinstance(spec, dict):
            if "any" in spec or "all" in spec:
                for k, v in spec.items():
                    self.filter_refs(v, f"{path}.{k}", params, earlier, all_steps, depth + 1)
            elif "value" in spec:
                v = spec["value"]
                if isinstance(v, list | dict) or _is_scalar(v):
                    if v is not None:
                        self.values_in(v, f"{path}.value", params, earlier, all_steps)
        else:
            self.fail(path, "expected a list of conditions or a condition", spec)


def validate_config(config: object) -> dict[str, Any]:
    """The config when it is well formed; else :class:`InvalidInput` naming each field."""
    c = _Checker()
    if not isinstance(config, dict):
        raise InvalidInput("invalid dump configuration", [FieldError(
            "body", "expected a JSON object {parameters, steps, output}")])
    for key in config:
        if key not in ("parameters", "steps", "output"):
            c.fail(f"body.{key}", "unknown field; a dump config has parameters, steps and "
                   "output")
    params = config.get("parameters", {})
    if not isinstance(params, dict):
        c.fail("body.parameters", "expected an object of named values")
        params = {}
    for name, value in params.items():
        ok = _is_scalar(value) and value is not None or (
            isinstance(value, list) and all(_is_scalar(v) and v is not None for v in value))
        if not ok:
            c.fail(f"body.parameters.{name}", "expected a string, number, boolean or a list "
                   "of them", value)
    steps = config.get("steps")
    step_ids: list[str] = []
    if not isinstance(steps, list) or not steps:
        c.fail("body.steps", "is required: a non-empty list of steps")
        steps = []
    all_ids = [s.get("id") for s in steps if isinstance(s, dict) and isinstance(s.get("id"), str)]
    for i, step in enumerate(steps):
        path = f"body.steps[{i}]"
        if not isinstance(step, dict):
            c.fail(path, "expected an object {id, type, parameters}")
            continue
        for key in step:
            if key not in ("id", "type", "parameters"):
                c.fail(f"{path}.{key}", "unknown field; a step has id, type and parameters")
        sid = step.get("id")
        if not isinstance(sid, str) or not sid or "." in sid:
            c.fail(f"{path}.id", "is required: a non-empty text without dots", sid)
        elif sid in step_ids:
            c.fail(f"{path}.id", f"{sid!r} is the id of an earlier step; step ids are unique",
                   sid)
        if step.get("type") not in STEP_TYPES:
            c.fail(f"{path}.type", f"must be one of: {', '.join(STEP_TYPES)}", step.get("type"))
        sp = step.get("parameters")
        if not isinstance(sp, dict):
            c.fail(f"{path}.parameters", "is required: an object with at least 'stream'")
        else:
            _check_step_parameters(c, sp, f"{path}.parameters", params, list(step_ids),
                                   [str(x) for x in all_ids])
        if isinstance(sid, str) and sid:
            step_ids.append(sid)
    output = config.get("output")
    if not isinstance(output, list):
        c.fail("body.output", "is required: a list of output items (it may be empty)")
        output = []
    for i, item in enumerate(output):
        _check_output(c, item, f"body.output[{i}]", params, step_ids)
    if c.errors:
        raise InvalidInput("invalid dump configuration", c.errors)
    return config


def _check_step_parameters(c: _Checker, sp: dict[str, Any], path: str, params: dict[str, Any],
                           earlier: list[str], all_steps: list[str]) -> None:
    if "stream" not in sp:
        c.fail(f"{path}.stream", "is required: the stream (resource) this step reads")
    for key, value in sp.items():
        p = f"{path}.{key}"
        if key == "stream":
            if isinstance(value, str) and not value:
                c.fail(p, "must not be empty")
            elif not isinstance(value, str | dict):
                c.fail(p, "expected a stream name or a parameter reference", value)
            else:
                c.ref(value, p, params, earlier, all_steps, allow_steps=False)
        elif key == "columns":
            if isinstance(value, list):
                if not value or not all(isinstance(v, str) and v for v in value):
                    c.fail(p, "expected a non-empty list of column names")
            elif isinstance(value, str | dict):
                c.ref(value, p, params, earlier, all_steps, allow_steps=False)
            else:
                c.fail(p, "expected column names: 'a,b' or ['a', 'b']", value)
        elif key == "filter":
            c.filter_refs(value, p, params, earlier, all_steps)
        elif key.startswith(_WHERE) and len(key) > len(_WHERE):
            c.values_in(value, p, params, earlier, all_steps)
        else:
            c.fail(p, "unknown step parameter; parameters are: stream, columns, filter and "
                   "where.<column>")


def _check_output(c: _Checker, item: object, path: str, params: dict[str, Any],
                  step_ids: list[str]) -> None:
    if not isinstance(item, dict):
        c.fail(path, "expected an object {source, id, key, label}")
        return
    for key in item:
        if key not in ("source", "id", "key", "label"):
            c.fail(f"{path}.{key}", "unknown field; an output item has source, id, key and "
                   "label")
    label = item.get("label")
    if not isinstance(label, str) or not label:
        c.fail(f"{path}.label", "is required: the name of this item in the dump's output",
               label)
    src = item.get("source")
    if src == "parameters":
        key = item.get("key")
        if not isinstance(key, str) or key not in params:
            known = ", ".join(sorted(params)) or "none"
            c.fail(f"{path}.key", f"must name a parameter of body.parameters ({known})", key)
    elif src == "steps":
        sid, key = item.get("id"), item.get("key")
        if not isinstance(sid, str) or sid not in step_ids:
            c.fail(f"{path}.id", f"must name a step ({', '.join(step_ids) or 'none'})", sid)
        if not isinstance(key, str) or not key:
            c.fail(f"{path}.key", "is required: the column whose values to collect", key)
    else:
        c.fail(f"{path}.source", f"must be one of: {', '.join(OUTPUT_SOURCES)}", src)


# --- dumps ----------------------------------------------------------------------------------

def _source(s: Session, caller: Caller, api_id: str) -> Any:
    try:
        return scope.actor(s, caller, "source", api_id)
    except NotFound:
        raise NotFound(f"API not found: {api_id!r} is not a source of your workspaces",
                       api_id) from None


def _lock(s: Session, key: str) -> None:
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})


def _expired(a: Artifact) -> bool:
    return a.phase == "expired" or (a.expires_at is not None and a.expires_at < now())


def create(p: Platform, caller: Caller, api_id: str, config: object
           ) -> tuple[artifacts.ArtifactView, bool]:
    """The dump of ``config`` on source ``api_id``, and whether a job was queued now (a new
    dump, or one that failed or expired and runs again)."""
    cfg = validate_config(config)
    did = dump_id(api_id, cfg)
    with p.db.claim() as s:
        src = _source(s, caller, api_id)
        policy.require(caller, policy.CHANGE, src.workspace_id)
        _lock(s, f"dump:{did}")
        a = s.get(Artifact, did)
        if a is not None and (a.kind != "dump" or a.workspace_id != src.workspace_id):
            raise Conflict(f"dump {did} clashes with another object")  # pragma: no cover
        if a is not None and _status(s, a) not in FAILED and not _expired(a):
            return artifacts.view(a), False
        if a is None:
            a = Artifact(id=did, workspace_id=src.workspace_id, kind="dump", format="jsonl",
                         mime_type=MIME_TYPE, filename=f"dump-{did}.jsonl",
                         created_by=caller.user_id)
            s.add(a)
        else:
            artifacts.store(p).delete(did)
            a.created_at = now()
        a.phase, a.error, a.size, a.sha256 = "pending", None, None, None
        a.expires_at = now() + p.settings.artifact_ttl_seconds
        a.meta = {"api_id": api_id, "config": cfg}
        s.flush()
        job = ledger.enqueue(s, workspace_id=src.workspace_id, config_type="dump", scope=did,
                             max_attempts=p.settings.job_attempts, unicity=f"dump:{did}",
                             input={"artifact_id": did, "actor_id": api_id, "config": cfg})
        a.job_id = job.id
        audit.record(s, caller, "dump.create", "dump", f"dump {did} of {src.name!r} queued",
                     request={"id": did, "apiId": api_id, "config": cfg},
                     workspace_id=src.workspace_id)
        s.flush()
        return artifacts.view(a), True


def _status(s: Session, a: Artifact) -> str:
    """The dump's job's status (the ledger's); once the job is gone, ``succeeded`` or
    ``failed`` by its file."""
    job = s.get(Job, a.job_id) if a.job_id is not None else None
    if job is not None:
        return job.status
    return "succeeded" if a.phase == "completed" else "failed"


@dataclass(frozen=True)
class Dump:
    """A dump: its file, the source it read, its job's status as the ledger names it
    (``pending``, ``incomplete``, ``running``, ``succeeded``, ``failed``, ``cancelled``) and
    why it failed."""

    artifact: artifacts.ArtifactView
    api_id: str
    status: str
    error: str | None

    @property
    def id(self) -> str:
        return self.artifact.id

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.artifact.meta or {})


def _view(s: Session, a: Artifact) -> Dump:
    status = _status(s, a)
    error = None
    if status in FAILED:
        job = s.get(Job, a.job_id) if a.job_id is not None else None
        error = a.error or (job.error if job is not None else None) or "the dump's job is gone"
    return Dump(artifacts.view(a), str((a.meta or {}).get("api_id", "")), status, error)


def _get(s: Session, caller: Caller, api_id: str, did: str) -> Artifact:
    _source(s, caller, api_id)
    a = s.get(Artifact, did)
    if (a is None or a.kind != "dump" or not caller.can_see(a.workspace_id)
            or (a.meta or {}).get("api_id") != api_id):
        raise NotFound(f"dump not found: {did!r} is not a dump of API {api_id!r}", did)
    return a


def get(p: Platform, caller: Caller, api_id: str, did: str) -> Dump:
    with p.db.session() as s:
        return _view(s, _get(s, caller, api_id, did))


def view(p: Platform, a: Artifact) -> Dump:
    with p.db.session() as s:
        return _view(s, a)


def list_dumps(p: Platform, caller: Caller, api_id: str) -> list[Dump]:
    with p.db.session() as s:
        src = _source(s, caller, api_id)
        rows = s.scalars(select(Artifact).where(
            Artifact.kind == "dump", Artifact.workspace_id == src.workspace_id)
            .order_by(Artifact.created_at.desc(), Artifact.id))
        return [_view(s, a) for a in rows if (a.meta or {}).get("api_id") == api_id]


def delete(p: Platform, caller: Caller, api_id: str, did: str,
           wait_seconds: float = 15.0) -> None:
    """Cancel the dump's job if it runs (waiting for it to stop), then delete file and row."""
    with p.db.claim() as s:
        a = _get(s, caller, api_id, did)
        policy.require(caller, policy.CHANGE, a.workspace_id)
        job = s.get(Job, a.job_id) if a.job_id is not None else None
        if job is not None:
            ledger.request_cancel(s, job)
    deadline = time.monotonic() + wait_seconds
    while True:
        with p.db.claim() as s:
            a = _get(s, caller, api_id, did)
            job = s.get(Job, a.job_id) if a.job_id is not None else None
            if job is None or job.status != "running":
                artifacts.store(p).delete(did)
                s.delete(a)
                audit.record(s, caller, "dump.delete", "dump", f"dump {did} deleted",
                             request={"id": did, "apiId": api_id},
                             workspace_id=a.workspace_id)
                return
        if time.monotonic() > deadline:
            raise Conflict(f"dump {did} is still stopping; try again in a moment")
        time.sleep(0.2)


def for_download(p: Platform, caller: Caller | None, api_id: str, did: str,
                 expires: int | None, signature: str | None) -> artifacts.ArtifactView:
    """The dump's artifact, for a caller or for the ``expires`` + ``signature`` of a link."""
    if signature is not None or expires is not None:
        a = artifacts.by_signature(p, did, expires, signature, kind="dump",
                                   field="query.signature")
        if a.meta.get("api_id") != api_id:
            raise NotFound("this download link is invalid or has expired", did)
        return a
    if caller is None:  # pragma: no cover - the route authenticates first
        raise NotFound(f"dump {did} not found", did)
    with p.db.session() as s:
        return artifacts.view(_get(s, caller, api_id, did))
