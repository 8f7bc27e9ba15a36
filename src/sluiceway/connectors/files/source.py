"""File source: CSV, JSON lines and Parquet, read in bounded blocks by Arrow's streaming readers.

One config is one stream: every file the path matches (a file, a directory's files of a known
format, or a glob), in name order. Column types are inferred from each file's first block
(CSV/JSON lines) or read from its footer (Parquet), united over the files, then fixed for the
whole read; ``schema`` overrides them per column.

Full refresh checkpoints after every file and every ``checkpoint_rows`` rows inside one
(``{"files_done": [...], "file": name, "rows": n, "mtime_ns": m}``); a resumed read skips
finished files and the rows already sent (whole row groups in Parquet, read-and-drop in the
text formats) and ends with ``{"complete": True}``. Incremental syncs go by file modification
time: the state maps each file read to its mtime, and a later sync reads the files that are
new or whose mtime changed (a changed file is read again in full).
"""

from __future__ import annotations

import codecs
import glob
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.json as pjson
import pyarrow.parquet as pq

from sluiceway.connectors.base import Capabilities, Source
from sluiceway.connectors.files import formats
from sluiceway.connectors.files.errors import jsonl_error, translate
from sluiceway.connectors.files.spec import SOURCE_SPEC
from sluiceway.core.errors import (
    ConfigInvalid,
    Fatal,
    FieldError,
    InvalidInput,
    RecordRejected,
    UnknownStream,
)
from sluiceway.core.paths import within
from sluiceway.protocol import arrow_types as at
from sluiceway.protocol.catalog import (
    Catalog,
    ConfiguredStream,
    Stream,
    SyncMode,
)
from sluiceway.protocol.messages import Message, RecordBatch, Rejected, State
from sluiceway.protocol.spec import ConnectorSpec, validate_config

URL_COLUMN = "_ab_source_file_url"
MODIFIED_COLUMN = "_ab_source_file_last_modified"
EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
              ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
COMPRESSED = (".gz", ".bz2", ".zst", ".lz4")


@dataclass(frozen=True)
class FileInfo:
    path: Path
    name: str  # relative to the root of the path (POSIX separators): the state's key
    mtime_ns: int


@dataclass(frozen=True)
class Plan:
    """What a config points at: the files (name order), their format and the stream name."""

    cfg: dict[str, Any]
    files: list[FileInfo]
    fmt: str
    stream: str
    overrides: dict[str, pa.DataType]


def _format_of(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSED:
        suffixes = suffixes[:-1]
    return EXTENSIONS.get(suffixes[-1]) if suffixes else None


def _stem(name: str) -> str:
    base = name
    while Path(base).suffix.lower() in (*EXTENSIONS, *COMPRESSED):
        base = Path(base).stem
    return base


def _bad(field: str, reason: str, value: object = None) -> ConfigInvalid:
    return ConfigInvalid("invalid file source config", [FieldError(field, reason, value)])


def plan(config: dict[str, Any], roots: Sequence[Path] | None = None) -> Plan:
    """Validate the config and list the files it points at (ConfigInvalid when none)."""
    cfg = validate_config(SOURCE_SPEC, config)
    try:
        codecs.lookup(cfg["encoding"])
    except LookupError:
        raise _bad("encoding", f"unknown encoding {cfg['encoding']!r}", cfg["encoding"]) from None
    overrides: dict[str, pa.DataType] = {}
    for column, name in (cfg.get("schema") or {}).items():
        try:
            overrides[column] = formats.parse_type(name)
        except ValueError as exc:
            raise _bad(f"schema.{column}", str(exc), name) from None
    raw = cfg["path"]
    given = Path(os.path.expanduser(raw))
    with translate(raw):
        if glob.has_magic(raw):
            parts = given.parts
            cut = next(i for i, p in enumerate(parts) if glob.has_magic(p))
            root = Path(*parts[:cut]).resolve() if cut else Path.cwd()
            found = [p for p in root.glob(str(Path(*parts[cut:])))
                     if p.is_file() and not p.name.startswith((".", "_"))]
            word = re.split(r"[*?\[]", parts[-1])[0]
            default = _stem(word).strip("_-. ") or root.name
        elif given.is_dir():
            root = given.resolve()
            want = cfg.get("format")
            found = [p for p in root.iterdir() if p.is_file() and _format_of(p)
                     and (not want or _format_of(p) == want)
                     and not p.name.startswith((".", "_"))]
            default = root.name
        elif given.is_file():
            root = given.resolve().parent
            found = [given.resolve()]
            default = _stem(given.name)
        else:
            raise _bad("path", f"{raw!r} does not exist", raw)
        if roots is not None:  # a match may lead out through a symlink
            outside = [p for p in found if not within(p, roots)]
            if outside:
                raise ConfigInvalid("path outside the allowed folders", [FieldError(
                    "path", f"{outside[0].relative_to(root).as_posix()!r} (matched by "
                    f"{raw!r}) leads outside the allowed folders (symlinks are followed; "
                    "see SLUICEWAY_FILE_ROOTS)", raw)])
        infos = [FileInfo(p, p.relative_to(root).as_posix(), p.stat().st_mtime_ns)
                 for p in sorted(found)]
    if not infos:
        raise _bad("path", f"{raw!r} matches no file", raw)
    fmts = {cfg.get("format") or _format_of(f.path) for f in infos}
    if None in fmts:
        odd = next(f.name for f in infos if _format_of(f.path) is None)
        raise _bad("format", f"cannot tell the format of {odd!r} from its name; set format")
    if len(fmts) > 1:
        shown = ", ".join(sorted(map(str, fmts)))
        raise _bad("path", f"matches files of several formats ({shown}); narrow the path or "
                   "set format", raw)
    return Plan(cfg, infos, str(fmts.pop()), cfg.get("stream_name") or default or "file",
                overrides)


def _merge(a: pa.Field, b: pa.Field, text: bool, where: str) -> pa.Field:
    """One field for a column two files hold; inferred text types fall back to string."""
    nullable = a.nullable or b.nullable
    if a.type == b.type or pa.types.is_null(b.type):
        return a.with_nullable(nullable)
    if pa.types.is_null(a.type):
        return b.with_nullable(nullable)
    if text and pa.types.is_decimal(a.type) and pa.types.is_decimal(b.type):
        return a.with_type(pa.decimal128(38, max(a.type.scale, b.type.scale)))
    wider = at.widen(a, b) or at.widen(b, a)
    if wider is not None:
        return a.with_type(wider).with_nullable(nullable)
    if text:
        return a.with_type(pa.string()).with_nullable(nullable)
    raise ConfigInvalid("files of one stream disagree", [FieldError(
        "path", f"column {a.name!r} is {at.type_name(a)} in one file but {at.type_name(b)} "
        f"in {where}; narrow the path or set `schema`")])


def stream_schema(p: Plan, sample_bytes: int) -> pa.Schema:
    """The union of the files' columns (first-seen order), with overrides and file columns."""
    fields: dict[str, pa.Field] = {}
    seen = 0
    for info in p.files:
        with translate(info.name):
            if p.fmt == "csv":
                schema = formats.csv_sample(info.path, info.name, p.cfg, sample_bytes)
            elif p.fmt == "jsonl":
                schema = formats.jsonl_sample(info.path, info.name, p.cfg, sample_bytes)
            else:
                schema = formats.parquet_sample(info.path, info.name)
        for f in schema:
            old = fields.get(f.name)
            fields[f.name] = (f.with_nullable(f.nullable or seen > 0) if old is None
                              else _merge(old, f, p.fmt != "parquet", info.name))
        for name in set(fields) - set(schema.names):
            fields[name] = fields[name].with_nullable(True)
        seen += 1
    for column, t in p.overrides.items():
        if column not in fields:
            raise ConfigInvalid("invalid file source config", [FieldError(
                f"schema.{column}", f"no column {column!r} in the files; columns: "
                + ", ".join(list(fields)[:20]))])
        fields[column] = pa.field(column, t, fields[column].nullable)
    for name, f in fields.items():
        if pa.types.is_null(f.type):  # only empty files had the column
            fields[name] = f.with_type(pa.string())
    if p.cfg["file_columns"]:
        fields.pop(URL_COLUMN, None)
        fields.pop(MODIFIED_COLUMN, None)
        fields[URL_COLUMN] = pa.field(URL_COLUMN, pa.string(), False)
        fields[MODIFIED_COLUMN] = pa.field(MODIFIED_COLUMN, at.TIMESTAMP_TZ, False)
    return pa.schema(list(fields.values()))


def _conform(batch: pa.RecordBatch, schema: pa.Schema, info: FileInfo) -> pa.RecordBatch:
    n = batch.num_rows
    cols = []
    for f in schema:
        if f.name == URL_COLUMN:
            cols.append(pa.repeat(pa.scalar(info.name, pa.string()), n))
            continue
        if f.name == MODIFIED_COLUMN:
            cols.append(pa.repeat(pa.scalar(info.mtime_ns // 1000, pa.int64()), n)
                        .cast(at.TIMESTAMP_TZ))
            continue
        i = batch.schema.get_field_index(f.name)
        col = batch.column(i) if i >= 0 else pa.nulls(n, f.type)
        try:
            cols.append(formats.convert(col, f.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
            raise RecordRejected(f"column {f.name!r}: cannot read as {at.type_name(f)}: {exc}",
                                 location=info.name) from exc
    return pa.RecordBatch.from_arrays(cols, schema=schema)


def _failing(col: pa.Array, target: pa.DataType, offset: int) -> list[int]:
    """Rows of ``col`` that do not convert, found by halving (a few bad rows in a large batch
    cost a few dozen conversions, not one per row)."""
    try:
        formats.convert(col, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        if len(col) == 1:
            return [offset]
        half = len(col) // 2
        return (_failing(col.slice(0, half), target, offset)
                + _failing(col.slice(half), target, offset + half))
    return []


def _conform_rows(batch: pa.RecordBatch, schema: pa.Schema, info: FileInfo, first_row: int,
                  ) -> tuple[pa.RecordBatch, list[tuple[str, str]]]:
    """Like :func:`_conform`, but a row whose value does not fit its column is left out and
    reported (``file:row N`` counting data rows from 1, and why) instead of failing all."""
    try:
        return _conform(batch, schema, info), []
    except RecordRejected:
        pass
    reasons: dict[int, str] = {}
    for f in schema:
        i = batch.schema.get_field_index(f.name)
        if i < 0:
            continue
        col = batch.column(i)
        try:
            formats.convert(col, f.type)
            continue
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
            pass
        for row in _failing(col, f.type, 0):
            reasons.setdefault(row, f"column {f.name!r}: {col[row].as_py()!r} is not a valid "
                                    f"{at.type_name(f)}")
    keep = pa.array([r not in reasons for r in range(batch.num_rows)])
    rejected = [(f"{info.name}:row {first_row + r}", why) for r, why in sorted(reasons.items())]
    return _conform(batch.filter(keep), schema, info), rejected


def _native(t: pa.DataType, tests: tuple[Any, ...]) -> pa.DataType | None:
    """``t`` if the reader converts text to it directly (else it is read as text)."""
    if pa.types.is_list(t) and tests is formats.JSON_NATIVE:
        inner = _native(t.value_type, tests)
        return pa.list_(inner) if inner is not None else None
    if isinstance(t, pa.BaseExtensionType) or pa.types.is_list(t):
        return None
    return t if any(test(t) for test in tests) else None


def _skip(batches: Iterator[pa.RecordBatch], skip: int) -> Iterator[pa.RecordBatch]:
    """Drop the first ``skip`` rows (sent by an earlier attempt)."""
    for batch in batches:
        if skip >= batch.num_rows:
            skip -= batch.num_rows
            continue
        yield batch.slice(skip) if skip else batch
        skip = 0


def _csv_batches(path: Path, name: str, cfg: dict[str, Any], fields: list[pa.Field],
                 block: int, skip: int, bad: list[tuple[str, str]] | None = None,
                 ) -> Iterator[pa.RecordBatch]:
    """The file's rows; with ``bad`` (skipping bad rows), every column is read as text (it is
    converted row-safely later) and a malformed row is left out and noted in ``bad``."""
    names = None
    if not cfg["header"]:  # this file's width, from the first block
        first = formats.csv_reader(path, name, cfg, formats.csv_options(cfg, block))
        names = [f"column_{i + 1}" for i in range(len(first.schema) if first else 0)]
    types = {f.name: (_native(f.type, formats.CSV_NATIVE) if bad is None else None)
             or pa.string() for f in fields}

    def malformed(row: Any) -> str:
        assert bad is not None
        where = f"{name}:{row.number}" if row.number is not None else name
        bad.append((where, f"{row.text[:200]!r}: expected {row.expected_columns} fields, "
                           f"found {row.actual_columns}"))
        return "skip"

    options = formats.csv_options(cfg, block, names, types, [f.name for f in fields],
                                  invalid_row=malformed if bad is not None else None)
    reader = formats.csv_reader(path, name, cfg, options)
    if reader is not None:
        yield from _skip(iter(lambda: formats.read_next(reader, path, name, cfg), None), skip)


def _json_read_type(t: pa.DataType) -> pa.DataType | None:
    """What the JSON reader is asked for (None: inferred, for json and nested lists)."""
    native = _native(t, formats.JSON_NATIVE)
    if native is not None or at.is_json(t) or pa.types.is_list(t):
        return native
    return pa.string()  # dates, times, timestamps, uuid, binary: converted from text


def _jsonl_batches(path: Path, name: str, cfg: dict[str, Any], fields: list[pa.Field],
                   block: int, skip: int) -> Iterator[pa.RecordBatch]:
    wanted = [pa.field(f.name, t) for f in fields if (t := _json_read_type(f.type))]
    parse = pjson.ParseOptions(explicit_schema=pa.schema(wanted),
                               unexpected_field_behavior="infer")
    read = pjson.ReadOptions(use_threads=False, block_size=block)
    done = 0
    try:
        for batch in pjson.open_json(formats.json_input(path, cfg), read_options=read,
                                     parse_options=parse):
            done += batch.num_rows
            if done > skip:
                yield batch.slice(max(0, skip - done + batch.num_rows))
    except pa.ArrowInvalid as exc:
        if "Empty JSON stream" not in str(exc):
            raise jsonl_error(exc, path, name, encoding=cfg["encoding"],
                              rows_before=done) from exc


def _parquet_batches(path: Path, fields: list[pa.Field], rows: int,
                     skip: int) -> Iterator[pa.RecordBatch]:
    """Batches of whole row groups; the row groups an earlier attempt sent are not read."""
    pf = pq.ParquetFile(str(path), arrow_extensions_enabled=True)
    have = set(pf.schema_arrow.names)
    columns = [f.name for f in fields if f.name in have]
    for group in range(pf.num_row_groups):
        size = pf.metadata.row_group(group).num_rows
        if skip >= size:
            skip -= size
            continue
        yield from _skip(iter(pf.iter_batches(batch_size=rows, row_groups=[group],
                                              columns=columns)), skip)
        skip = 0


def _data_fields(schema: pa.Schema) -> list[pa.Field]:
    return [f for f in schema if f.name not in (URL_COLUMN, MODIFIED_COLUMN)]


# ---- the source ------------------------------------------------------------------------
class FileSource(Source):
    name: ClassVar[str] = "file"
    capabilities: ClassVar[Capabilities] = Capabilities(
        incremental=True, resumable_full_refresh=True)
    #: rows between two checkpoints inside one file (at batch boundaries)
    checkpoint_rows: int = 500_000
    #: bytes of a CSV / JSON lines block: one record batch (a row must fit in one block)
    block_size: int = 16 << 20
    #: bytes of the first block types are inferred from
    sample_bytes: int = 1 << 20
    #: rows of a Parquet record batch
    batch_rows: int = 65_536

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return SOURCE_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        p = plan(config, self.roots)
        stream_schema(Plan(p.cfg, p.files[:1], p.fmt, p.stream, {}), self.sample_bytes)
        return f"{len(p.files)} {p.fmt} file(s) found"

    def discover(self, config: dict[str, Any]) -> Catalog:
        p = plan(config, self.roots)
        with_cursor = bool(p.cfg["file_columns"])
        return Catalog((Stream(
            name=p.stream,
            schema=stream_schema(p, self.sample_bytes),
            supported_sync_modes=(SyncMode.full_refresh, SyncMode.incremental) if with_cursor
            else (SyncMode.full_refresh,),
            source_defined_cursor=with_cursor,
            default_cursor_field=(MODIFIED_COLUMN,) if with_cursor else (),
        ),))

    def read_context(self, config: dict[str, Any]) -> Plan:
        return plan(config, self.roots)

    def read_stream(self, p: Plan, cs: ConfiguredStream,
                     state: dict[str, Any] | None) -> Iterator[Message]:
        if cs.name != p.stream:
            raise UnknownStream(cs.name, [p.stream])
        state = state or {}
        incremental = cs.sync_mode is SyncMode.incremental
        if incremental and cs.cursor != MODIFIED_COLUMN:
            raise InvalidInput("file source: unsupported cursor", [FieldError(
                "cursor_field", f"incremental file syncs go by file modification time: use "
                f"{MODIFIED_COLUMN!r}, not {cs.cursor!r}", cs.cursor)])
        if not incremental and state.get("complete"):
            yield State(cs.name, state)
            return
        done: list[str] = list(state.get("files_done") or [])
        listed = {f.name for f in p.files}
        seen: dict[str, int] = {k: int(v) for k, v in (state.get("files") or {}).items()
                                if k in listed}
        files = sorted(p.files, key=lambda f: (f.mtime_ns, f.name)) if incremental else p.files
        rejected = good = 0
        for info in files:
            if (seen.get(info.name) == info.mtime_ns) if incremental else (info.name in done):
                continue
            base: dict[str, Any] = {"files": dict(seen)} if incremental else {
                "files_done": list(done)}
            skip = 0
            if state.get("file") == info.name:
                if int(state.get("mtime_ns", -1)) != info.mtime_ns:
                    raise Fatal(f"{info.name}: the file changed while a sync of it was under "
                                "way; reset the stream's state to read it again from the start")
                skip = int(state.get("rows") or 0)
            rows, since = skip, 0
            lenient = p.fmt == "csv" and p.cfg.get("bad_rows") == "skip"
            bad: list[tuple[str, str]] | None = [] if lenient else None
            for batch in self._batches(p, info, cs.stream.schema, skip, bad):
                if bad is not None:
                    out, wrong = _conform_rows(batch, cs.stream.schema, info, rows + 1)
                    bad.extend(wrong)
                    rejected += len(bad)
                    for where, why in bad:
                        yield Rejected(cs.name, where, why)
                    bad.clear()
                    if rejected > int(p.cfg.get("max_bad_rows", 1000)):
                        raise RecordRejected(
                            f"more than {p.cfg.get('max_bad_rows', 1000)} bad rows (the "
                            "max_bad_rows setting); nothing more is read", location=info.name)
                else:
                    out = _conform(batch, cs.stream.schema, info)
                if out.num_rows:
                    good += out.num_rows
                    yield RecordBatch(cs.name, out)
                rows += batch.num_rows
                since += batch.num_rows
                if since >= self.checkpoint_rows:
                    since = 0
                    yield State(cs.name, dict(base, file=info.name, rows=rows,
                                              mtime_ns=info.mtime_ns))
            if bad:  # malformed rows after the last batch (or in a file with no good row)
                rejected += len(bad)
                for where, why in bad:
                    yield Rejected(cs.name, where, why)
                bad.clear()
            seen[info.name] = info.mtime_ns
            done.append(info.name)
            yield State(cs.name, {"files": dict(seen)} if incremental else {
                "files_done": list(done)})
        if rejected and not good:  # skipping may not turn a wholly bad file into "no rows"
            raise RecordRejected(f"every one of the {rejected} rows was bad; nothing is loaded",
                                 location=p.stream)
        yield State(cs.name, {"files": dict(seen)} if incremental else {"complete": True})

    def _batches(self, p: Plan, info: FileInfo, schema: pa.Schema, skip: int,
                 bad: list[tuple[str, str]] | None = None) -> Iterator[pa.RecordBatch]:
        with translate(info.name):
            fields = _data_fields(schema)
            if p.fmt == "csv":
                yield from _csv_batches(info.path, info.name, p.cfg, fields, self.block_size,
                                        skip, bad)
            elif p.fmt == "jsonl":
                yield from _jsonl_batches(info.path, info.name, p.cfg, fields, self.block_size,
                                          skip)
            else:
                yield from _parquet_batches(info.path, fields, self.batch_rows, skip)
