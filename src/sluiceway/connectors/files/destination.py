"""File destination: per stream and sync, a set of part files, a manifest and a pointer.

Layout (``{path}`` is the configured folder, ``{stream}`` the stream's target name)::

    {path}/{stream}/_latest.json                   the complete sets, oldest first
    {path}/{stream}/{sync_id}/part-00000.parquet   one part per checkpoint (.csv, .jsonl)
    {path}/{stream}/{sync_id}/manifest.json        parts, rows, sha256, schema, modes

A part is written under a hidden temporary name, fsync'd, renamed to ``part-NNNNN.ext`` and
recorded in ``_progress.json`` (the commit point) before the State after it is echoed. At the
end the manifest is written, then ``_latest.json`` (both atomically: temp file, fsync,
rename). ``overwrite`` then removes the stream's older sets, so readers of ``_latest.json``
see the previous set until the new one is complete; ``append`` keeps them and lists every
set in ``_latest.json["syncs"]``, oldest first (each set's own manifest has its schema).
``append_dedup`` is not offered: files cannot be merged on a key in place.

A resumed sync (``ConfiguredStream.resume``) keeps the parts recorded in ``_progress.json``,
deletes anything else in its folder (temporary or unrecorded parts) and numbers on.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from sluiceway.connectors.base import Capabilities, Destination
from sluiceway.connectors.files import formats
from sluiceway.connectors.files.errors import translate
from sluiceway.connectors.files.spec import DESTINATION_SPEC
from sluiceway.core.errors import Fatal, FieldError, InvalidInput, RecordRejected
from sluiceway.core.paths import confine
from sluiceway.protocol import arrow_types as at
from sluiceway.protocol.catalog import ConfiguredCatalog, ConfiguredStream, DestinationSyncMode
from sluiceway.protocol.messages import Message, RecordBatch, State
from sluiceway.protocol.spec import ConnectorSpec, validate_config

LATEST = "_latest.json"
MANIFEST = "manifest.json"
PROGRESS = "_progress.json"
EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}
_PART = re.compile(r"^part-(\d{5,})\.\w+$")
_JSON_ROWS = 16_384  # rows encoded at once into JSON lines (keeps text under 2 GiB)


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` by ``data`` so that readers see the old or the new file, whole."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def _seal(path: Path) -> tuple[str, int]:
    """fsync a finished file and return its sha256 and size."""
    digest, size = hashlib.sha256(), 0
    with open(path, "r+b") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        os.fsync(fh.fileno())
    return digest.hexdigest(), size


def _safe(name: str, what: str) -> str:
    if not name or name in (".", "..") or any(c in name for c in "/\\\x00"):
        raise InvalidInput("file destination: unusable name", [FieldError(
            what, f"{name!r} cannot be a folder name (no '/', '\\\\', NUL, '.' or '..')", name)])
    return name


def schema_record(schema: pa.Schema) -> dict[str, Any]:
    """The manifest's schema: readable columns plus the exact Arrow schema (IPC, base64)."""
    return {
        "columns": [{"name": f.name, "type": at.type_name(f), "arrow": str(f.type),
                     "nullable": f.nullable} for f in schema],
        "arrow_ipc_base64": base64.b64encode(schema.serialize().to_pybytes()).decode("ascii"),
    }


#: in-memory size of the batches gathered into one Parquet row group. 16 MiB (about 65,000
#: rows of the benchmark's 11 columns) rather than 32: postgres -> parquet at 20M rows
#: peaked at 215 MB against 234-248 MB, at the same speed (34.7 against 37.2 s)
ROW_GROUP_BYTES = 16 * 1024 * 1024


def dictionary_columns(batch: pa.RecordBatch) -> list[str]:
    """Text and binary columns whose first batch repeats values (< 30 % distinct): the only
    ones where Parquet's dictionary encoding pays. Trying it on unique values (ids, uuids,
    free text) costs about a third of the write time and is then abandoned anyway."""
    out = []
    for f, col in zip(batch.schema, batch.columns, strict=True):
        values = col.storage if isinstance(col.type, pa.BaseExtensionType) else col
        if (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
                or pa.types.is_binary(values.type)) and len(values):
            if pc.count_distinct(values).as_py() < 0.3 * len(values):
                out.append(f.name)
    return out


class _Part:
    """One part file being written under its temporary name."""

    def __init__(self, fmt: str, folder: Path, index: int, schema: pa.Schema,
                 compression: str) -> None:
        self.fmt = fmt
        self.name = f"part-{index:05d}.{EXTENSIONS[fmt]}"
        self.tmp = folder / f".{self.name}.tmp"
        self.rows = 0
        self.schema = schema
        self.compression = compression
        self._writer: Any = None
        self._fh: Any = None
        self._pending: list[pa.RecordBatch] = []  # parquet: batches of the next row group
        self._pending_bytes = 0
        if fmt == "jsonl":
            self._fh = open(self.tmp, "wb")  # closed in close()

    def _write_parquet(self, batch: pa.RecordBatch | None) -> None:
        """Gather batches into row groups of ``ROW_GROUP_BYTES``; the writer is opened on the
        first batch, with dictionary encoding only for columns it would shrink."""
        if batch is not None:
            if self._writer is None:
                self._writer = pq.ParquetWriter(str(self.tmp), self.schema,
                                                compression=self.compression,
                                                use_dictionary=dictionary_columns(batch))
            self._pending.append(batch)
            self._pending_bytes += batch.nbytes
            if self._pending_bytes < ROW_GROUP_BYTES:
                return
        if self._pending:
            self._writer.write_table(pa.Table.from_batches(self._pending, schema=self.schema))
            self._pending, self._pending_bytes = [], 0

    def write(self, batch: pa.RecordBatch) -> None:
        if self.fmt == "parquet":
            self._write_parquet(batch)
        elif self.fmt == "csv":
            text = pa.RecordBatch.from_arrays(
                [formats.csv_column(c, f) for f, c in zip(batch.schema, batch.columns,
                                                          strict=True)],
                names=batch.schema.names)
            if self._writer is None:
                self._writer = pcsv.CSVWriter(str(self.tmp), text.schema)
            self._writer.write_batch(text)
        else:
            for start in range(0, batch.num_rows, _JSON_ROWS):
                lines = formats.json_lines(batch.slice(start, _JSON_ROWS))
                offsets = memoryview(lines.buffers()[1]).cast("i")
                first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
                self._fh.write(memoryview(lines.buffers()[2])[first:last])
        self.rows += batch.num_rows

    def close(self) -> None:
        if self.fmt == "parquet":
            if self._writer is None:  # no rows: still a valid, empty file
                self._writer = pq.ParquetWriter(str(self.tmp), self.schema,
                                                compression=self.compression)
            self._write_parquet(None)
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class _StreamSet:
    """Where one stream of one sync is being written."""

    def __init__(self, root: Path, cfg: dict[str, Any], cs: ConfiguredStream,
                 roots: Sequence[Path] | None = None) -> None:
        self.cs = cs
        self.fmt: str = cfg["format"]
        self.compression: str = cfg["compression"]
        self.schema = cs.stream.schema
        field = f"streams.{cs.name}.destination_name"
        # a stream folder that is a symlink must not lead the writes (or rmtree) elsewhere
        self.stream_dir = confine(root / _safe(cs.target, field), roots, field)
        sync_id = cs.sync_id or uuid.uuid4().hex
        if sync_id.startswith((".", "_")):
            raise InvalidInput("file destination: unusable sync id",
                               [FieldError("sync_id", "must not start with '.' or '_'", sync_id)])
        self.sync_id = _safe(sync_id, "sync_id")
        self.folder = self.stream_dir / self.sync_id
        self.parts: list[dict[str, Any]] = []
        self.part: _Part | None = None
        with translate(str(self.folder)):
            self._prepare()

    def _live(self) -> list[str]:
        latest = _read_json(self.stream_dir / LATEST) or {}
        return [str(s) for s in latest.get("syncs") or []]

    def _prepare(self) -> None:
        self.stream_dir.mkdir(parents=True, exist_ok=True)
        live = set(self._live())
        for child in self.stream_dir.iterdir():  # leftovers of failed syncs (no manifest)
            if (child.is_dir() and child.name != self.sync_id and child.name not in live
                    and not (child / MANIFEST).exists()):
                shutil.rmtree(child)
        if self.folder.exists() and not self.cs.resume:
            shutil.rmtree(self.folder)
        self.folder.mkdir(exist_ok=True)
        if self.cs.resume:
            record = _read_json(self.folder / PROGRESS) or _read_json(self.folder / MANIFEST)
            self.parts = list((record or {}).get("parts") or [])
            keep = {str(p["file"]) for p in self.parts}
            for child in self.folder.iterdir():
                if child.name not in keep and child.name != PROGRESS:
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
            missing = sorted(keep - {c.name for c in self.folder.iterdir()})
            if missing:
                raise Fatal(f"{self.folder.name}: committed parts {missing} are missing; reset "
                            f"the stream {self.cs.name!r} to start over")

    def write(self, batch: pa.RecordBatch) -> None:
        batch = self._conform(batch)
        with translate(f"{self.cs.name} ({self.fmt})"):
            if self.part is None:
                numbers = [int(m.group(1)) for p in self.parts if (m := _PART.match(p["file"]))]
                self.part = _Part(self.fmt, self.folder, max(numbers, default=-1) + 1,
                                  self.schema, self.compression)
            self.part.write(batch)

    def _conform(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if batch.schema.equals(self.schema):
            return batch
        cols = []
        for f in self.schema:
            i = batch.schema.get_field_index(f.name)
            col = batch.column(i) if i >= 0 else pa.nulls(batch.num_rows, f.type)
            try:
                cols.append(formats.convert(col, f.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
                raise RecordRejected(f"column {f.name!r}: cannot write as "
                                     f"{at.type_name(f)}: {exc}", location=self.cs.name) from exc
        return pa.RecordBatch.from_arrays(cols, schema=self.schema)

    def commit(self) -> None:
        """Make the open part durable and record it (the State after it may be echoed)."""
        if self.part is None:
            return
        part, self.part = self.part, None
        with translate(part.name):
            part.close()
            digest, size = _seal(part.tmp)
            os.replace(part.tmp, self.folder / part.name)
            _fsync_dir(self.folder)
            self.parts.append({"file": part.name, "rows": part.rows, "bytes": size,
                               "sha256": digest})
            write_json_atomic(self.folder / PROGRESS, {"sync_id": self.sync_id,
                                                      "parts": self.parts})

    def finish(self) -> None:
        """Write the manifest, point ``_latest.json`` at this set, drop what it replaces."""
        self.commit()
        cs = self.cs
        overwrite = cs.destination_sync_mode is DestinationSyncMode.overwrite
        manifest = {
            "stream": cs.name, "sync_id": self.sync_id, "format": self.fmt,
            "compression": self.compression if self.fmt == "parquet" else None,
            "sync_mode": cs.sync_mode.value,
            "destination_sync_mode": cs.destination_sync_mode.value,
            "completed_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            "rows": sum(int(p["rows"]) for p in self.parts),
            "parts": self.parts, "schema": schema_record(self.schema),
        }
        with translate(str(self.folder)):
            write_json_atomic(self.folder / MANIFEST, manifest)
            previous = [] if overwrite else [
                s for s in self._live()
                if s != self.sync_id and (self.stream_dir / s / MANIFEST).exists()]
            syncs = [*previous, self.sync_id]
            write_json_atomic(self.stream_dir / LATEST, {
                "stream": cs.name, "sync_id": self.sync_id,
                "manifest": f"{self.sync_id}/{MANIFEST}", "format": self.fmt,
                "syncs": syncs})
            (self.folder / PROGRESS).unlink(missing_ok=True)
            for child in self.stream_dir.iterdir():
                if child.is_dir() and child.name not in syncs:
                    shutil.rmtree(child)

    def abort(self) -> None:
        """Drop the part being written (a failed sync leaves only committed parts)."""
        part, self.part = self.part, None
        if part is not None:
            with contextlib.suppress(Exception):  # keep the error that made us abort
                part.close()
            with contextlib.suppress(OSError):
                part.tmp.unlink(missing_ok=True)


class FileDestination(Destination):
    name: ClassVar[str] = "file"
    capabilities: ClassVar[Capabilities] = Capabilities(
        destination_sync_modes=(DestinationSyncMode.overwrite, DestinationSyncMode.append))

    @classmethod
    def spec(cls) -> ConnectorSpec:
        return DESTINATION_SPEC

    def probe(self, config: dict[str, Any]) -> str:
        root = _root(validate_config(DESTINATION_SPEC, config), self.roots)
        with translate(str(root)):
            root.mkdir(parents=True, exist_ok=True)
            probe = root / f".sluiceway-check-{uuid.uuid4().hex}"
            probe.write_bytes(b"ok")
            probe.unlink()
        return "folder is writable"

    def write(
        self,
        config: dict[str, Any],
        catalog: ConfiguredCatalog,
        messages: Iterable[Message],
    ) -> Iterator[State]:
        cfg = validate_config(DESTINATION_SPEC, config)
        for cs in catalog.streams:
            if cs.destination_sync_mode not in self.capabilities.destination_sync_modes:
                raise InvalidInput("file destination: unsupported sync mode", [FieldError(
                    f"streams.{cs.name}.destination_sync_mode",
                    f"stream {cs.name!r}: {cs.destination_sync_mode.value} is not supported by "
                    "files (use overwrite or append)", cs.destination_sync_mode.value)])
        root = _root(cfg, self.roots)
        sets: dict[str, _StreamSet] = {}
        try:
            for cs in catalog.streams:
                sets[cs.name] = _StreamSet(root, cfg, cs, self.roots)
            for msg in messages:
                if isinstance(msg, RecordBatch):
                    target = sets.get(msg.stream)
                    if target is not None and msg.num_rows:
                        target.write(msg.batch)
                elif isinstance(msg, State):
                    if msg.stream in sets:
                        sets[msg.stream].commit()
                    yield msg
            for target in sets.values():
                target.finish()
        except BaseException:
            for target in sets.values():
                target.abort()
            raise


def _root(cfg: dict[str, Any], roots: Sequence[Path] | None) -> Path:
    return confine(Path(os.path.expanduser(cfg["path"])), roots, "path", cfg["path"])
