"""``dump``: the steps of a dump config, in order, over one source; every record of every
step written as a JSON line ``{"step": <id>, "record": {...}}`` into the dump's artifact.

Each step reads one stream with its columns, ``where.<column>`` equalities and row filter,
whose values may be global parameters or the distinct values an earlier step read in a
column (an ``in`` filter). Only the values later steps and the output need are kept in
memory, bounded per column. The artifact row records phase, size, SHA-256, ``meta.output``
(output key -> values; ``meta.labels``: key -> label), ``meta.started`` and ``meta.ended``.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from sluiceway.artifacts import ArtifactStore
from sluiceway.artifacts.formats import open_writer
from sluiceway.core.errors import FieldError, InvalidInput
from sluiceway.engine.plan import StreamChoice, configure
from sluiceway.jobs.context import AttemptContext
from sluiceway.jobs.kinds.actors import load_actor, reader
from sluiceway.jobs.kinds.artifact_rows import marking_failure, note
from sluiceway.jobs.kinds.to_artifact import copy, filtering, into
from sluiceway.store.db import now
from sluiceway.transforms.filter import MAX_IN_VALUES, RowFilter, compile_filter, select_columns

MAX_OUTPUT_VALUES = 10_000
MAX_REFERENCE_VALUES = 100_000
_WHERE = "where."


def run(ctx: AttemptContext) -> dict[str, Any]:
    note(ctx.db, str(ctx.input["artifact_id"]),
         meta={"started": now(), "ended": None, "output": None, "truncated": None})
    return marking_failure(ctx, _run, failed_meta=lambda: {"ended": now()},
                           describe=_message)


def _message(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


# --- references -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Ref:
    """A value that is not literal: a global parameter, or what an earlier step read."""

    source: str  # parameters | steps
    name: str  # parameter name, or step id
    column: str | None = None


_PARAM_REF = re.compile(r"^\$param:(?P<name>.+)$")
_STEP_REF = re.compile(r"^\$step:(?P<step>[^.]+)\.(?P<column>.+)$")


def parse_ref(value: object) -> Ref | None:
    """The reference ``value`` is, or None for a literal (a malformed one raises ValueError).

    ``"$param:<name>"`` or ``{"source": "parameters", "key": <name>}``; ``"$step:<stepId>.
    <column>"`` or ``{"source": "steps", "id": <stepId>, "key": <column>}`` (``variable``
    for ``key`` as CRAFTS query steps have it).
    """
    if isinstance(value, str):
        m = _PARAM_REF.match(value)
        if m:
            return Ref("parameters", m["name"])
        m = _STEP_REF.match(value)
        if m:
            return Ref("steps", m["step"], m["column"])
        if value.startswith(("$param:", "$step:")):
            raise ValueError("write a reference as '$param:<name>' or '$step:<stepId>.<column>'")
        return None
    if isinstance(value, dict):
        src = value.get("source")
        if src == "parameters":
            extra = set(value) - {"source", "key"}
            if extra or not isinstance(value.get("key"), str) or not value["key"]:
                raise ValueError("a parameter reference is {source: 'parameters', key: <name>}")
            return Ref("parameters", value["key"])
        if src == "steps":
            extra = set(value) - {"source", "id", "key", "variable"}
            column = value.get("key", value.get("variable"))
            if (extra or not isinstance(value.get("id"), str) or not isinstance(column, str)
                    or not column):
                raise ValueError("a step reference is {source: 'steps', id: <stepId>, "
                                 "key: <column>}")
            return Ref("steps", value["id"], column)
        raise ValueError("a reference object has source 'parameters' or 'steps'")
    return None


def _ref(value: object) -> Ref | None:
    """``parse_ref`` in the job (the config was checked when posted): malformed is literal."""
    try:
        return parse_ref(value)
    except ValueError:
        return None


@dataclass
class _Values:
    """Distinct JSON values of one column, in first-seen order, up to ``limit``."""

    limit: int
    seen: dict[str, Any] = field(default_factory=dict)
    truncated: bool = False

    def add(self, value: Any) -> None:
        if value is None:
            return
        key = json.dumps(value, sort_keys=True)
        if key in self.seen:
            return
        if len(self.seen) >= self.limit:
            self.truncated = True
            return
        self.seen[key] = value

    @property
    def values(self) -> list[Any]:
        return list(self.seen.values())


@dataclass(frozen=True)
class _Need:
    """A column of a step whose values are needed, and where (for errors)."""

    limit: int
    path: str


class _Dump:
    def __init__(self, ctx: AttemptContext, config: dict[str, Any]) -> None:
        self.ctx = ctx
        self.params: dict[str, Any] = dict(config.get("parameters") or {})
        self.steps: list[dict[str, Any]] = list(config["steps"])
        self.output: list[dict[str, Any]] = list(config.get("output") or [])
        #: (step id, column) -> what needs its values
        self.needs: dict[tuple[str, str], _Need] = {}
        self.collected: dict[tuple[str, str], _Values] = {}
        self._plan_needs()

    def _plan_needs(self) -> None:
        def need(step: str, column: str, limit: int, path: str) -> None:
            old = self.needs.get((step, column))
            if old is None or old.limit < limit:
                self.needs[(step, column)] = _Need(limit, old.path if old else path)

        for i, step in enumerate(self.steps):
            for key, value in (step.get("parameters") or {}).items():
                base = f"steps[{i}].parameters.{key}"
                for path, v in _leaves(value, base):
                    r = _ref(v)
                    if r is not None and r.source == "steps" and r.column:
                        need(r.name, r.column, MAX_REFERENCE_VALUES, path)
        for i, item in enumerate(self.output):
            if item.get("source") == "steps":
                need(str(item["id"]), str(item["key"]), MAX_OUTPUT_VALUES, f"output[{i}].key")

    # value resolution

    def resolve(self, value: Any, path: str) -> Any:
        r = _ref(value)
        if r is None:
            return value
        if r.source == "parameters":
            if r.name not in self.params:
                raise InvalidInput("invalid dump configuration", [FieldError(
                    path, f"unknown parameter {r.name!r}")])
            return self.params[r.name]
        values = self.collected.get((r.name, str(r.column)))
        if values is None:
            raise InvalidInput("invalid dump configuration", [FieldError(
                path, f"step {r.name!r} has not run before this step")])
        if values.truncated:
            raise InvalidInput("too many values", [FieldError(path, (
                f"step {r.name!r} read more than {MAX_REFERENCE_VALUES:,} distinct values "
                f"in column {r.column!r}; narrow that step with a filter"))])
        return values.values

    def resolve_deep(self, value: Any, path: str) -> Any:
        """References inside a filter spec replaced by their values."""
        if isinstance(value, list):
            return [self.resolve_deep(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict) and _ref(value) is None:
            if "value" in value and "column" in value:
                return {**value, "value": self.resolve_list(value["value"], f"{path}.value")}
            return {k: self.resolve_deep(v, f"{path}.{k}") for k, v in value.items()}
        return value

    def resolve_list(self, value: Any, path: str) -> Any:
        if isinstance(value, list):
            out: list[Any] = []
            for i, v in enumerate(value):
                got = self.resolve(v, f"{path}[{i}]")
                out.extend(got if isinstance(got, list) and _ref(v) is not None else [got])
            return out
        return self.resolve(value, path)


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    elif isinstance(value, dict) and _ref(value) is None:
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}")
    else:
        yield path, value


def _in_condition(column: str, values: list[Any]) -> dict[str, Any]:
    """``column in values``, split into groups the filter language accepts."""
    chunks = [values[i:i + MAX_IN_VALUES] for i in range(0, len(values), MAX_IN_VALUES)]
    if len(chunks) == 1:
        return {"column": column, "op": "in", "value": chunks[0]}
    return {"any": [{"column": column, "op": "in", "value": c} for c in chunks]}


def _and(a: RowFilter | None, b: RowFilter) -> RowFilter:
    if a is None or a.expression is None:
        return b
    if b.expression is None:
        return a
    return RowFilter(a.expression & b.expression)


def _columns(value: Any, path: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        names = [c.strip() for c in value.split(",") if c.strip()]
    elif isinstance(value, list) and all(isinstance(c, str) for c in value):
        names = [c.strip() for c in value]
    else:
        raise InvalidInput("invalid column selection", [FieldError(
            path, "expected column names: 'a,b' or ['a', 'b']", None)])
    return names


def _run(ctx: AttemptContext, artifact_id: str) -> dict[str, Any]:
    inp = ctx.input
    dump = _Dump(ctx, dict(inp["config"]))
    actor = load_actor(ctx, str(inp["actor_id"]))
    source, config = reader(actor, roots=ctx.settings.allowed_roots)
    catalog = source.discover(config)
    note(ctx.db, artifact_id, phase="writing", error=None)
    ctx.log("INFO", f"dump of {actor.connector} source: {len(dump.steps)} step(s)")
    total = 0
    per_step: list[dict[str, Any]] = []
    files = ArtifactStore(ctx.settings.artifacts_dir)
    with files.writer(artifact_id) as w:
        for i, step in enumerate(dump.steps):
            n = _step(ctx, dump, catalog, source, config, i, step, w.write, total)
            per_step.append({"id": step["id"], "records": n})
            total += n
    output: dict[str, list[Any]] = {}
    labels: dict[str, str] = {}
    truncated: list[str] = []
    for item in dump.output:
        label = str(item["key"])  # the output maps each output key to its values
        labels.setdefault(label, str(item.get("label") or label))
        values = output.setdefault(label, [])
        if item.get("source") == "parameters":
            v = dump.params.get(str(item["key"]))
            values.extend(v if isinstance(v, list) else [v])
        else:
            got = dump.collected[(str(item["id"]), str(item["key"]))]
            known = {json.dumps(v, sort_keys=True) for v in values}
            for v in got.values[:MAX_OUTPUT_VALUES]:
                if json.dumps(v, sort_keys=True) not in known:
                    values.append(v)
            if (got.truncated or len(got.values) > MAX_OUTPUT_VALUES) and label not in truncated:
                truncated.append(label)
    for label in truncated:
        ctx.log("WARN", f"output {label!r} holds the first {MAX_OUTPUT_VALUES:,} distinct "
                        "values only")
    note(ctx.db, artifact_id, meta={"output": output, "labels": labels,
                               "truncated": truncated or None,
                               "steps": per_step, "ended": now()},
            phase="completed", size=w.size, sha256=w.sha256, updated_at=now())
    ctx.progress(total, w.size)
    ctx.log("INFO", f"dump written: {total} records, {w.size} bytes, sha256 {w.sha256}")
    return {"artifact_id": artifact_id, "records": total, "steps": per_step, "size": w.size,
            "sha256": w.sha256}


def _filter_columns(spec: Any) -> list[str]:
    """Every column a (compiled, hence valid) filter spec names."""
    if isinstance(spec, list):
        return [c for item in spec for c in _filter_columns(item)]
    if isinstance(spec, dict):
        found = [str(spec["column"])] if "column" in spec else []
        for group in ("any", "all"):
            found += _filter_columns(spec.get(group) or [])
        return found
    return []


def _step(ctx: AttemptContext, dump: _Dump, catalog: Any, source: Any, config: Any, i: int,
          step: dict[str, Any], write: Any, done: int) -> int:
    sid = str(step["id"])
    sp: dict[str, Any] = dict(step.get("parameters") or {})
    base = f"steps[{i}].parameters"
    name = dump.resolve(sp.get("stream"), f"{base}.stream")
    stream = catalog.get(str(name)) if isinstance(name, str) else None
    if stream is None:
        shown = ", ".join(sorted(s.name for s in catalog.streams)[:20]) or "none"
        raise InvalidInput("unknown stream", [FieldError(
            f"{base}.stream", f"{name!r} is not a stream of this API; streams are: {shown}",
            name)])
    schema: pa.Schema = stream.schema
    columns = _columns(dump.resolve(sp.get("columns"), f"{base}.columns"), f"{base}.columns")
    chosen = select_columns(columns, schema, where=f"{base}.columns")
    needed = [(col, need) for (s_, col), need in dump.needs.items() if s_ == sid]
    for col, need in needed:
        if col not in schema.names:
            raise InvalidInput("unknown column", [FieldError(need.path, (
                f"step {sid!r} reads stream {stream.name!r}, which has no column {col!r}; "
                f"columns are: {', '.join(schema.names)}"), col)])
    flt: RowFilter | None = None
    filter_cols: list[str] = []
    for key, value in sp.items():
        if not key.startswith(_WHERE):
            continue
        col, path = key[len(_WHERE):], f"{base}.{key}"
        if col not in schema.names:
            raise InvalidInput("unknown column", [FieldError(path, (
                f"stream {stream.name!r} has no column {col!r}; columns are: "
                f"{', '.join(schema.names)}"), col)])
        resolved = dump.resolve_list(value, path)
        if isinstance(resolved, list):
            if not resolved:
                ctx.log("INFO", f"step {sid!r}: {key} matches nothing (no values): skipped")
                return 0
            spec: Any = _in_condition(col, resolved)
        else:
            spec = {"column": col, "op": "eq", "value": resolved}
        flt = _and(flt, compile_filter(spec, schema, where=path))
        filter_cols.append(col)
    if sp.get("filter") is not None:
        spec = dump.resolve_deep(sp["filter"], f"{base}.filter")
        flt = _and(flt, compile_filter(spec, schema, where=f"{base}.filter"))
        filter_cols.extend(_filter_columns(spec))
    # read what is written, what later steps and outputs need, and what the filters test
    read_cols = list(dict.fromkeys(chosen + [c for c, _ in needed] + filter_cols))
    configured = configure(catalog, [StreamChoice(stream.name, columns=tuple(read_cols))])
    read_schema = configured.streams[0].stream.schema
    out_schema = pa.schema([read_schema.field(c) for c in chosen])
    need_schema = pa.schema([read_schema.field(c) for c, _ in needed])
    for col, need in needed:
        dump.collected[(sid, col)] = _Values(need.limit)
    ctx.log("INFO", f"step {sid!r}: stream {stream.name!r}, columns {chosen}"
                    + (", filtered" if flt is not None else ""))
    sink = _StepLines(ctx, dump, sid, chosen, out_schema, needed, need_schema, write, done)
    copy(ctx, "dump", source, config, configured, into(sink),
         transform=filtering(flt))
    rows = sink.rows
    ctx.log("INFO", f"step {sid!r}: {rows} records")
    return rows


class _StepLines:
    """The sink of one step: its rows as ``{"step": <id>, "record": {...}}`` lines, and the
    values of the columns later steps and the output need."""

    def __init__(self, ctx: AttemptContext, dump: _Dump, sid: str, chosen: list[str],
                 out_schema: pa.Schema, needed: list[tuple[str, Any]],
                 need_schema: pa.Schema, write: Callable[[bytes], object], done: int) -> None:
        self.ctx, self.dump, self.sid, self.chosen = ctx, dump, sid, chosen
        self.out_schema, self.need_schema = out_schema, need_schema
        self.needed = [c for c, _ in needed]
        self.write_line, self.done, self.rows = write, done, 0
        self.prefix = ('{"step":' + json.dumps(sid) + ',"record":').encode()

    def write(self, batch: pa.RecordBatch) -> None:
        for line in _json_lines(batch.select(self.chosen), self.out_schema):
            self.write_line(self.prefix + line + b"}\n")
        if self.needed:
            for line in _json_lines(batch.select(self.needed), self.need_schema):
                record = json.loads(line)
                for c in self.needed:
                    self.dump.collected[(self.sid, c)].add(record.get(c))
        self.rows += batch.num_rows
        self.ctx.progress(self.done + self.rows, 0)

    def close(self) -> None:
        """The lines go into the dump's one file, which the job closes."""


def _json_lines(batch: pa.RecordBatch, schema: pa.Schema) -> list[bytes]:
    """The rows as JSON objects, as the ``jsonl`` export format writes them."""
    buf = io.BytesIO()
    writer = open_writer("jsonl", buf, schema)
    writer.write(batch)
    writer.close()
    return [line for line in buf.getvalue().split(b"\n") if line]
